/*
 * gen-policy.c: the benchmarks' policy generator (see gen-policy.h).
 *
 * Rows are produced by recursive CTEs inside SQLite, so a million users
 * take a few seconds and never pass through C strings one by one.  Grants
 * are parsed with the daemon's own grant_parse(), so the generator cannot
 * write a grant the daemon would not.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen-policy.h"
#include "macro.h"
#include "model.h"
#include "store.h"

static const char *const r0[] = { NULL };
static const char *const r1[] = { "login", "calls.view@assigned", NULL };
static const char *const r2[] = { "login", "softphone.use", "calls.view@assigned", "calls.listen@assigned", NULL };
static const char *const r3[] = { "login", "softphone.use", "calls.view@direction=inbound", NULL };
static const char *const r4[] = { "login", "calls.view@groups", "calls.listen@groups", NULL };
static const char *const r5[] = { "login", "calls.view@ivrs", "reports.view_tab", "reports.edit", NULL };
static const char *const r6[] = { "login", "calls.view@groups+ivrs", "users.view", NULL };
static const char *const r7[] = { "login", "billing.invoices.view", "billing.payment.edit", NULL };
static const char *const r8[] = { "login", "softphone.use", "calls.view", "calls.listen", "calls.export",
                                  "users.view", "users.edit", NULL };
static const char *const r9[] = { "login", "softphone.use", "calls.view", "calls.listen", "calls.export",
                                  "users.view", "users.create", "users.edit", "users.delete", "settings.edit", NULL };
const char *const *const gen_policy_grants[10] = { r0, r1, r2, r3, r4, r5, r6, r7, r8, r9 };

void gen_user_name(unsigned i, char buf[static 16]) {
        snprintf(buf, 16, "u%07u", i);
}

void gen_account_name(unsigned a, char buf[static 16]) {
        if (a == 0)
                snprintf(buf, 16, "agency");
        else
                snprintf(buf, 16, "acct%04u", a);
}

unsigned gen_user_account(const GenShape *shape, unsigned i) {
        return i % shape->accounts;
}

unsigned gen_user_role(unsigned i) {
        return (i * 7u) % 10u;
}

static int exec(sqlite3 *db, const char *sql) {
        char *err = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
                fprintf(stderr, "gen-policy: %s\n  in: %.200s\n", err ? err : "?", sql);
                sqlite3_free(err);
                return -EIO;
        }
        return 0;
}


static int execf(sqlite3 *db, const char *fmt, ...) {
        va_list ap;
        char *sql;
        int r;

        va_start(ap, fmt);
        sql = sqlite3_vmprintf(fmt, ap);
        va_end(ap);
        if (!sql)
                return -ENOMEM;
        r = exec(db, sql);
        sqlite3_free(sql);
        return r;
}

int gen_policy(const char *path, const GenShape *shape) {
        _cleanup_free_ char *err = NULL;
        Store *store = NULL;
        sqlite3 *db = NULL;
        int r;

        if (shape->accounts < 1 || shape->accounts > 9999 || shape->users < 1)
                return -EINVAL;
        (void) unlink(path);
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s%s", path, i == 0 ? "-wal" : "-shm") >= 0)
                        (void) unlink(p);
        }
        /* The daemon's store creates and migrates the schema. */
        r = store_open(path, &store, &err);
        if (r < 0) {
                fprintf(stderr, "gen-policy: %s\n", err ? err : strerror(-r));
                return r;
        }
        store_free(store);

        if (sqlite3_open(path, &db) != SQLITE_OK) {
                fprintf(stderr, "gen-policy: cannot open %s: %s\n", path, sqlite3_errmsg(db));
                sqlite3_close(db);
                return -EIO;
        }
        r = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA foreign_keys=ON; BEGIN;");
        if (r < 0)
                goto out;
        /* Accounts: ids 1000+a so they never meet the store's own rows. */
        r = execf(db,
                  "INSERT INTO accounts (id, name, parent) VALUES (1000, 'agency', NULL);"
                  "WITH RECURSIVE c(a) AS (SELECT 1 UNION ALL SELECT a + 1 FROM c WHERE a < %u) "
                  "INSERT INTO accounts (id, name, parent) SELECT 1000 + a, printf('acct%%04d', a), 1000 FROM c;",
                  shape->accounts - 1);
        if (r < 0)
                goto out;
        /* Roles: id = 100000 + account index * 10 + k. */
        r = execf(db,
                  "WITH RECURSIVE c(a) AS (SELECT 0 UNION ALL SELECT a + 1 FROM c WHERE a < %u), "
                  "k(k) AS (VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)) "
                  "INSERT INTO roles (id, account, name, title, rank) "
                  "SELECT 100000 + a * 10 + k, 1000 + a, 'r' || k, 'Role ' || k, 10 * (k + 1) FROM c, k;",
                  shape->accounts - 1);
        if (r < 0)
                goto out;
        for (unsigned k = 0; k < 10; k++)
                for (const char *const *g = gen_policy_grants[k]; *g; g++) {
                        ModelGrant mg = {};
                        _cleanup_free_ char *gerr = NULL;
                        r = grant_parse(*g, &mg, &gerr);
                        if (r < 0) {
                                fprintf(stderr, "gen-policy: %s: %s\n", *g, gerr ? gerr : strerror(-r));
                                goto out;
                        }
                        r = execf(db,
                                  "INSERT INTO grants (role, permission, scopes, cond) "
                                  "SELECT id, %Q, %u, 0 FROM roles WHERE id >= 100000 AND id %% 10 = %u;",
                                  mg.permission, mg.scopes, k);
                        grant_done(&mg);
                        if (r < 0)
                                goto out;
                }
        r = execf(db,
                  "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %u) "
                  "INSERT INTO users (id, name, display_name, enabled) "
                  "SELECT i, printf('u%%07d', i), NULL, 1 FROM c;"
                  "INSERT INTO memberships (user, account, role) "
                  "SELECT id, 1000 + id %% %u, 100000 + (id %% %u) * 10 + (id * 7) %% 10 FROM users;"
                  "INSERT INTO membership_sets (user, account, kind, value) "
                  "SELECT user, account, 'group', printf('g%%02d', user %% 50) FROM memberships;"
                  "INSERT INTO membership_sets (user, account, kind, value) "
                  "SELECT user, account, 'ivr', printf('ivr%%02d', user %% 20) FROM memberships;",
                  shape->users, shape->accounts, shape->accounts);
        if (r < 0)
                goto out;
        r = exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
out:
        sqlite3_close(db);
        /* Written with synchronous=OFF: flush it now, or the kernel's
         * writeback of a few hundred MB runs during the measurements that
         * follow (seen as a 30% slower check at 1M users). */
        if (r >= 0) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || fsync(fd) < 0)
                        r = -errno;
                if (fd >= 0)
                        close(fd);
        }
        return r;
}
