/*
 * Section 7 of the callrole benchmarks: the same role checks done with
 * node-casbin's RBAC-with-domains model, the best-known general-purpose
 * peer.  It builds in memory the policy shape the C benchmarks use (see
 * bench/gen-policy.h: 1,000 accounts "agency", acct0001..acct0999, 10 roles
 * r0..r9 per account with fixed grants, N users u0000001.. each holding one
 * role in one account, the same at every size), loads it into a casbin
 * Enforcer and measures enforce() per check: p50/p99 of single calls, the
 * checks/s of a tight loop, the time to load the policy and the resident
 * memory afterwards, at 1k and 100k users (BENCH_QUICK=1: 1k only) and at
 * 1M users when that loads within the time limit and fits in memory.
 *
 * Each size runs in a child process of its own, so that its resident memory
 * is its own and a size that is too big can be stopped without losing the
 * others.  Rows go to stdout in the suite's 6-column Markdown form, section
 * "7 casbin"; the figures are a comparison, not targets, so no TARGET lines.
 * Progress and notes go to stderr.  run.sh installs casbin and starts this.
 *
 * Scopes (@assigned and the like) cannot be said in casbin's RBAC model, so
 * the policy grants the bare permission; that is the only difference from
 * the policy the C benchmarks load.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork } = require('child_process');

const SECTION = '7 casbin';
const QUICK = process.env.BENCH_QUICK === '1';
/* A size whose policy has not loaded by then is stopped and reported as not run. */
const LOAD_LIMIT_S = Number(process.env.CASBIN_LOAD_LIMIT || 60);

/* Time spent on each phase at each size (seconds): a casbin check costs
 * about 0.1 s with this policy, so the phases are bounded by time, and the
 * number of calls behind each figure is printed with it. */
const BUDGET = QUICK
        ? { warmup: 0.3, latency: 1.0, loop: 0.5, domainFirst: 0.4, minSamples: 10, maxSamples: 20000 }
        : { warmup: 1.0, latency: 8.0, loop: 4.0, domainFirst: 3.0, minSamples: 100, maxSamples: 50000 };

/* --- The policy shape: must stay the same as the C benchmarks' generator. --- */

const GRANTS = [
        [],                                                             /* r0: No Access */
        ['login', 'calls.view'],
        ['login', 'softphone.use', 'calls.view', 'calls.listen'],
        ['login', 'softphone.use', 'calls.view'],
        ['login', 'calls.view', 'calls.listen'],
        ['login', 'calls.view', 'reports.view_tab', 'reports.edit'],
        ['login', 'calls.view', 'users.view'],
        ['login', 'billing.invoices.view', 'billing.payment.edit'],
        ['login', 'softphone.use', 'calls.view', 'calls.listen', 'calls.export', 'users.view', 'users.edit'],
        ['login', 'softphone.use', 'calls.view', 'calls.listen', 'calls.export',
         'users.view', 'users.create', 'users.edit', 'users.delete', 'settings.edit'],
];
const PERMISSIONS = [...new Set(GRANTS.flat())];
const DENIED = GRANTS.map(g => PERMISSIONS.filter(p => !g.includes(p)));
/* casbin's request is (sub, dom, obj, act): the permission is the object and
 * every grant has the same action. */
const ACT = 'use';
const CHECKS = 4096;
/* Accounts at every size, as bench-scale.c gives gen_policy(): 1,000
 * accounts, 10,000 roles, 39,000 grants whatever the number of users. */
const ACCOUNTS = 1000;
const SEED = 0x7ca11e;

function accountName(k) {
        return k === 0 ? 'agency' : 'acct' + String(k).padStart(4, '0');
}

function userName(i) {
        return 'u' + String(i).padStart(7, '0');
}

function userAccount(i, accounts) {
        return i % accounts;
}

function userRole(i) {
        return (i * 7) % 10;
}

/* The policy as the CSV text a casbin adapter reads: one p line per grant of
 * each role in each account, one g line per user. */
function policyText(users, accounts) {
        const lines = [];
        for (let k = 0; k < accounts; k++)
                for (let r = 0; r < GRANTS.length; r++)
                        for (const perm of GRANTS[r])
                                lines.push(`p, r${r}, ${accountName(k)}, ${perm}, ${ACT}`);
        for (let i = 1; i <= users; i++)
                lines.push(`g, ${userName(i)}, r${userRole(i)}, ${accountName(userAccount(i, accounts))}`);
        return lines.join('\n');
}

/* xorshift32: a fixed seed gives the same checks on every run. */
function prng(seed) {
        let s = seed >>> 0 || 1;
        return () => {
                s ^= s << 13; s >>>= 0;
                s ^= s >>> 17;
                s ^= s << 5; s >>>= 0;
                return s;
        };
}

/* Random users in their own account; even checks are expected allowed (a
 * permission the user's role grants), odd ones denied (one it does not). */
function makeChecks(users, accounts, count) {
        const next = prng(SEED);
        const checks = [];
        for (let j = 0; j < count; j++) {
                const allowed = j % 2 === 0;
                let i, r;
                do {
                        i = 1 + (next() % users);
                        r = userRole(i);
                } while (allowed && GRANTS[r].length === 0);
                const from = allowed ? GRANTS[r] : DENIED[r];
                checks.push({ sub: userName(i), dom: accountName(userAccount(i, accounts)),
                              obj: from[next() % from.length], allowed });
        }
        return checks;
}

/* --- Output. --- */

function row(figure, measured) {
        process.stdout.write(`| ${SECTION} | ${figure} | ${measured} | — | — | optional |\n`);
}

function note(msg) {
        process.stderr.write(`casbin: ${msg}\n`);
}

function fmtTime(ns) {
        const sig = v => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
        if (ns < 1e3) return `${ns.toFixed(0)} ns`;
        if (ns < 1e6) return `${sig(ns / 1e3)} µs`;
        if (ns < 1e9) return `${sig(ns / 1e6)} ms`;
        return `${sig(ns / 1e9)} s`;
}

/* MB of 2^20 bytes, as section 5 reports callroled's VmRSS. */
function fmtMB(bytes) {
        return `${(bytes / 1048576).toFixed(0)} MB`;
}

function fmtRate(perS) {
        return perS >= 100 ? Math.round(perS).toLocaleString('en-US') : perS.toFixed(1);
}

function sizeName(users) {
        return users >= 1e6 ? `${users / 1e6}M users` : users >= 1e3 ? `${users / 1e3}k users` : `${users} users`;
}

function percentile(sorted, p) {
        return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/* --- One size, in a child process. --- */

/* An adapter reading the CSV text like casbin's StringAdapter, but letting go
 * of the text once loaded, so resident memory counts the policy casbin keeps
 * and not our copy of its source (as with an adapter reading a file or DB). */
class TextAdapter {
        constructor(casbin, text) {
                this.casbin = casbin;
                this.text = text;
        }
        async loadPolicy(model) {
                const text = this.text;
                this.text = null;
                for (const line of text.split('\n'))
                        if (line)
                                this.casbin.Helper.loadPolicyLine(line, model);
        }
        async savePolicy() { throw new Error('read-only'); }
        async addPolicy() { throw new Error('read-only'); }
        async removePolicy() { throw new Error('read-only'); }
        async removeFilteredPolicy() { throw new Error('read-only'); }
}

function gc() {
        if (global.gc) {
                global.gc();
                global.gc();
        }
}

async function runSize(users, accounts) {
        const casbin = require('casbin');
        const size = sizeName(users);
        const modelText = fs.readFileSync(path.join(__dirname, 'model.conf'), 'utf8');
        gc();
        const rssBase = process.memoryUsage().rss;

        note(`${size}: building the policy (${accounts} accounts, ${accounts * GRANTS.flat().length} p lines, ${users} g lines)`);
        let text = policyText(users, accounts);
        const checks = makeChecks(users, accounts, CHECKS);

        if (process.send)
                process.send({ loading: true });
        const t0 = process.hrtime.bigint();
        const enforcer = await casbin.newEnforcer(casbin.newModelFromString(modelText), new TextAdapter(casbin, text));
        const loadNs = Number(process.hrtime.bigint() - t0);
        text = null;
        if (process.send)
                process.send({ loaded: true, loadNs });
        gc();
        const rss = process.memoryUsage().rss;
        const peak = process.resourceUsage().maxRSS * 1024;
        note(`${size}: loaded in ${fmtTime(loadNs)}, rss ${fmtMB(rss)} (peak ${fmtMB(peak)}, ${fmtMB(rssBase)} before the policy)`);

        let mismatches = 0, calls = 0, next = 0;
        const one = async (enforce) => {
                const c = checks[next];
                next = (next + 1) % checks.length;
                const got = await enforce(c);
                calls++;
                if (got !== c.allowed)
                        mismatches++;
        };
        const enforce = c => enforcer.enforce(c.sub, c.dom, c.obj, ACT);
        const seconds = since => Number(process.hrtime.bigint() - since) / 1e9;

        /* Warm-up: let V8 compile the matcher and enforce paths. */
        let t = process.hrtime.bigint();
        for (let n = 0; n < 3 || (n < 2000 && seconds(t) < BUDGET.warmup); n++)
                await one(enforce);

        /* Single calls, each timed on its own. */
        const samples = [];
        t = process.hrtime.bigint();
        while (samples.length < BUDGET.minSamples || (samples.length < BUDGET.maxSamples && seconds(t) < BUDGET.latency)) {
                const s = process.hrtime.bigint();
                await one(enforce);
                samples.push(Number(process.hrtime.bigint() - s));
        }
        samples.sort((a, b) => a - b);

        /* A tight loop: checks one after the other.  Reading the clock after
         * each costs tens of ns against casbin's hundreds of µs per check. */
        let loopChecks = 0;
        t = process.hrtime.bigint();
        do {
                await one(enforce);
                loopChecks++;
        } while (seconds(t) < BUDGET.loop);
        const loopS = seconds(t);

        /* The same checks with the domain compared before the role lookup: shows
         * how much of the cost is the matcher order rather than the scan over
         * every p line that casbin does for each request. */
        const domainFirst = 'r.dom == p.dom && r.obj == p.obj && r.act == p.act && g(r.sub, p.sub, r.dom)';
        const enforceDF = c => enforcer.enforceWithMatcher(domainFirst, c.sub, c.dom, c.obj, ACT);
        for (let n = 0; n < 5; n++)
                await one(enforceDF);
        const dfSamples = [];
        t = process.hrtime.bigint();
        while (dfSamples.length < BUDGET.minSamples / 2 || (dfSamples.length < BUDGET.maxSamples && seconds(t) < BUDGET.domainFirst)) {
                const s = process.hrtime.bigint();
                await one(enforceDF);
                dfSamples.push(Number(process.hrtime.bigint() - s));
        }
        dfSamples.sort((a, b) => a - b);

        row(`time to load the policy, ${size}`, fmtTime(loadNs));
        row(`resident memory after load, ${size}`,
            `${fmtMB(rss)} (peak ${fmtMB(peak)}; node and casbin alone ${fmtMB(rssBase)})`);
        row(`enforce p50, ${size}`, `${fmtTime(percentile(samples, 0.5))} (${samples.length} calls)`);
        row(`enforce p99, ${size}`, `${fmtTime(percentile(samples, 0.99))} (${samples.length} calls)`);
        row(`enforce tight loop, ${size}`, `${fmtRate(loopChecks / loopS)} checks/s`);
        row(`enforce p50, domain compared first, ${size}`,
            `${fmtTime(percentile(dfSamples, 0.5))} (${dfSamples.length} calls)`);
        if (mismatches) {
                row(`checks answered as the policy says, ${size}`, `${calls - mismatches} of ${calls}: casbin disagreed ${mismatches} times`);
                note(`${size}: ${mismatches} of ${calls} answers differ from the expected ones`);
        } else {
                note(`${size}: all ${calls} answers as expected (checks alternate allowed and denied)`);
        }
        if (process.send)
                process.send({ done: true, loadNs, rss, rssBase });
}

/* --- The parent: one child per size. --- */

function runChild(users, accounts, limitS) {
        return new Promise(resolve => {
                const heapMB = Math.max(4096, Math.ceil(users / 1e6) * 8192);
                const child = fork(__filename, ['--size', String(users), String(accounts)], {
                        execArgv: ['--expose-gc', `--max-old-space-size=${heapMB}`],
                        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
                });
                let result = { loaded: false };
                let timer = null;
                /* The limit is on loading: it starts when the child starts it. */
                child.on('message', m => {
                        result = { ...result, ...m };
                        if (m.loading && limitS)
                                timer = setTimeout(() => {
                                        if (!result.loaded) {
                                                result.timedOut = true;
                                                child.kill('SIGKILL');
                                        }
                                }, limitS * 1000);
                });
                child.on('exit', (code, signal) => {
                        if (timer)
                                clearTimeout(timer);
                        resolve({ ...result, code, signal });
                });
        });
}

async function main() {
        const casbinVersion = require('casbin/package.json').version;
        note(`node ${process.version}, casbin ${casbinVersion}, ${QUICK ? 'quick' : 'full'} run`);
        row('node-casbin version, RBAC with domains', `casbin ${casbinVersion} on node ${process.version}`);

        const sizes = QUICK ? [[1000, ACCOUNTS]] : [[1000, ACCOUNTS], [100000, ACCOUNTS]];
        let last = null;
        for (const [users, accounts] of sizes) {
                const r = await runChild(users, accounts, LOAD_LIMIT_S);
                if (r.timedOut) {
                        row(`${sizeName(users)}`, `not run: the policy did not load within ${LOAD_LIMIT_S} s`);
                } else if (r.code !== 0) {
                        row(`${sizeName(users)}`, `failed (exit ${r.code ?? r.signal})`);
                } else {
                        last = { users, ...r };
                }
        }
        if (QUICK)
                return;

        /* 1M users: only if the 100k figures say it loads within the limit and
         * fits in free memory; stopped anyway if it has not loaded in time. */
        const users = 1000000;
        if (!last || last.users !== 100000) {
                row(`${sizeName(users)}`, 'not run: the 100k run did not complete');
                return;
        }
        const scale = users / last.users;
        const estLoadS = (last.loadNs / 1e9) * scale;
        const estRss = last.rssBase + (last.rss - last.rssBase) * scale;
        const free = os.freemem();
        if (estLoadS > LOAD_LIMIT_S) {
                row(`${sizeName(users)}`, `not run: 100k users loaded in ${fmtTime(last.loadNs)}, so 1M would take about ${estLoadS.toFixed(0)} s (limit ${LOAD_LIMIT_S} s)`);
                return;
        }
        if (estRss > 0.8 * free) {
                row(`${sizeName(users)}`, `not run: would need about ${fmtMB(estRss)}, ${fmtMB(free)} free`);
                return;
        }
        note(`1M users: expecting about ${estLoadS.toFixed(0)} s to load and ${fmtMB(estRss)}`);
        const r = await runChild(users, ACCOUNTS, LOAD_LIMIT_S);
        if (r.timedOut)
                row(`${sizeName(users)}`, `not run: the policy did not load within ${LOAD_LIMIT_S} s`);
        else if (r.code !== 0)
                row(`${sizeName(users)}`, `failed (exit ${r.code ?? r.signal})`);
}

if (process.argv[2] === '--size') {
        runSize(Number(process.argv[3]), Number(process.argv[4])).catch(e => {
                note(`${e.stack || e}`);
                process.exit(1);
        });
} else {
        main().catch(e => {
                note(`${e.stack || e}`);
                process.exit(1);
        });
}
