/*
 * helper-profile.c: see helper-profile.h.  Everything goes through the
 * public client library (callrole.h) or the real callrolectl, as host
 * software and administrators do.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper-profile.h"

#define PT_TIMEOUT_USEC (10ULL * 1000000ULL)

TestDaemon pt_daemon;

int pt_start(void) {
        int r = test_daemon_start(&pt_daemon, NULL);
        if (r < 0) {
                fprintf(stderr, "cannot start callroled (%s); see %s\n", strerror(-r), pt_daemon.log);
                return -1;
        }
        return 0;
}

void pt_stop(void) {
        test_daemon_cleanup(&pt_daemon);
}

callrole *pt_start_admin(void) {
        return pt_start() < 0 ? NULL : pt_client(NULL);
}

int pt_stop_admin(callrole **admin) {
        *admin = callrole_free(*admin);
        pt_stop();
        return 0;
}

callrole *pt_client(const char *as_user) {
        callrole *c = NULL;

        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_set_socket(c, pt_daemon.socket), 0);
        assert_int_equal(callrole_set_timeout(c, PT_TIMEOUT_USEC), 0);
        if (as_user)
                assert_int_equal(callrole_set_as_user(c, as_user), 0);
        return c;
}

static int vcall(callrole *c, callrole_reply **ret, const char *method, va_list ap) {
        callrole_record *p = NULL;
        const char *key;
        int r;

        assert_int_equal(callrole_record_new(&p), 0);
        while ((key = va_arg(ap, const char *))) {
                const char *value = va_arg(ap, const char *);
                assert_int_equal(callrole_record_add(p, key, value), 0);
        }
        r = callrole_call(c, method, p, ret);
        callrole_record_free(p);
        return r;
}

int pt_call(callrole *c, callrole_reply **ret, const char *method, ...) {
        va_list ap;
        int r;

        va_start(ap, method);
        r = vcall(c, ret, method, ap);
        va_end(ap);
        return r;
}

void pt_must_at(const char *file, int line, callrole *c, const char *method, ...) {
        callrole_reply *rep = NULL;
        va_list ap;
        int r;

        va_start(ap, method);
        r = vcall(c, &rep, method, ap);
        va_end(ap);
        if (r < 0)
                fail_msg("%s:%d: %s failed: %s (%s)", file, line, method, strerror(-r),
                         callrole_last_error(c) ? callrole_last_error(c) : "no message");
        callrole_reply_free(rep);
}

void pt_check_at(const char *file, int line, callrole *c, const char *user, const char *perm, const char *account,
                 const char *attrs, bool want_allowed, callrole_reason want_reason, const char *detail_has) {
        callrole_attr av[16];
        char buf[512];
        size_t n = 0;
        callrole_decision *d = NULL;
        const char *detail;
        int r;

        if (attrs) {
                char *save = NULL;
                assert_true(strlen(attrs) < sizeof(buf));
                snprintf(buf, sizeof(buf), "%s", attrs);
                for (char *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
                        char *eq = strchr(t, '=');
                        assert_non_null(eq);
                        assert_true(n < 16);
                        *eq = 0;
                        av[n++] = (callrole_attr) { .key = t, .value = eq + 1 };
                }
        }
        r = callrole_check(c, user, perm, account, av, n, &d);
        if (r < 0)
                fail_msg("%s:%d: check %s %s: error %s (%s)", file, line, user, perm, strerror(-r),
                         callrole_last_error(c) ? callrole_last_error(c) : "no message");
        detail = callrole_decision_detail(d);
        if ((r == 1) != want_allowed)
                fail_msg("%s:%d: check %s %s%s%s%s%s: expected %s, got %s: %s (%s)", file, line, user, perm,
                         account ? " in " : "", account ? account : "", attrs ? " with " : "", attrs ? attrs : "",
                         want_allowed ? "allow" : "deny", r == 1 ? "allow" : "deny",
                         callrole_reason_to_string(callrole_decision_reason(d)), detail);
        if (!want_allowed && callrole_decision_reason(d) != want_reason)
                fail_msg("%s:%d: check %s %s: expected reason %s, got %s (%s)", file, line, user, perm,
                         callrole_reason_to_string(want_reason),
                         callrole_reason_to_string(callrole_decision_reason(d)), detail);
        if (detail_has && !strstr(detail, detail_has))
                fail_msg("%s:%d: check %s %s: the detail '%s' does not say '%s'", file, line, user, perm, detail,
                         detail_has);
        callrole_decision_free(d);

        /* Batches are decided by a leaner path that formats no detail: the
         * same question in a batch (between two others, so its answer must
         * land in its own place) gets the same answer and reason. */
        {
                callrole_check_item items[3] = {
                        { .user = user, .permission = "login", .account = account },
                        { .user = user, .permission = perm, .account = account, .attrs = av, .n_attrs = n },
                        { .user = user, .permission = "login", .account = account },
                };
                int allowed[3] = { -1, -1, -1 };
                callrole_reason reasons[3];

                r = callrole_check_batch(c, items, 3, allowed, reasons);
                if (r < 0)
                        fail_msg("%s:%d: batch check %s %s: error %s (%s)", file, line, user, perm, strerror(-r),
                                 callrole_last_error(c) ? callrole_last_error(c) : "no message");
                if ((allowed[1] == 1) != want_allowed || (!want_allowed && reasons[1] != want_reason))
                        fail_msg("%s:%d: batch check %s %s: expected %s (%s), got %s (%s)", file, line, user, perm,
                                 want_allowed ? "allow" : "deny", callrole_reason_to_string(want_reason),
                                 allowed[1] == 1 ? "allow" : "deny", callrole_reason_to_string(reasons[1]));
                if (allowed[0] != allowed[2] || reasons[0] != reasons[2])
                        fail_msg("%s:%d: batch check %s login: the same question answered twice differently", file,
                                 line, user);
        }
}

PtState pt_state(void) {
        callrole *c = pt_client(NULL);
        callrole_reply *st = NULL, *au = NULL;
        PtState s = {};
        size_t n;

        assert_int_equal(callrole_status(c, &st), 0);
        snprintf(s.generation, sizeof(s.generation), "%s",
                 callrole_record_get(callrole_reply_record(st, 0), "generation"));
        callrole_reply_free(st);
        assert_int_equal(pt_call(c, &au, "audit", "limit", "100000", NULL), 0);
        n = callrole_reply_n_records(au);
        s.n_audit = n;
        snprintf(s.last_audit_id, sizeof(s.last_audit_id), "%s",
                 n ? callrole_record_get(callrole_reply_record(au, n - 1), "id") : "0");
        callrole_reply_free(au);
        callrole_free(c);
        return s;
}

void pt_assert_unchanged_at(const char *file, int line, const PtState *before) {
        PtState now = pt_state();

        if (strcmp(now.generation, before->generation) != 0 || now.n_audit != before->n_audit ||
            strcmp(now.last_audit_id, before->last_audit_id) != 0)
                fail_msg("%s:%d: something changed: generation %s -> %s, audit records %zu -> %zu", file, line,
                         before->generation, now.generation, before->n_audit, now.n_audit);
}

void pt_refused_at(const char *file, int line, callrole *c, int error, const char *needle, const char *method, ...) {
        PtState before = pt_state();
        callrole_reply *rep = NULL;
        const char *msg;
        va_list ap;
        int r;

        va_start(ap, method);
        r = vcall(c, &rep, method, ap);
        va_end(ap);
        callrole_reply_free(rep);
        msg = callrole_last_error(c);
        if (r != error)
                fail_msg("%s:%d: %s: expected %s, got %s (%s)", file, line, method, strerror(-error),
                         r < 0 ? strerror(-r) : "success", msg ? msg : "no message");
        /* A refusal without the expected message checks too little: the
         * needle (naming the rule, permission or role) is required. */
        if (!needle)
                fail_msg("%s:%d: %s: REFUSED() needs the message it expects", file, line, method);
        if (!msg || !strstr(msg, needle))
                fail_msg("%s:%d: %s: the message '%s' does not say '%s'", file, line, method, msg ? msg : "(none)",
                         needle);
        pt_assert_unchanged_at(file, line, &before);
}

bool pt_user_visible(callrole *c, const char *user) {
        callrole_reply *rep = NULL;
        int r = callrole_user_get(c, user, &rep);

        callrole_reply_free(rep);
        if (r == -ENOENT)
                return false;
        if (r < 0)
                fail_msg("user.get %s: %s (%s)", user, strerror(-r),
                         callrole_last_error(c) ? callrole_last_error(c) : "");
        return true;
}

bool pt_user_listed(callrole *c, const char *user) {
        callrole_reply *rep = NULL;
        bool found = false;
        int r = callrole_user_list(c, NULL, NULL, &rep);

        if (r < 0)
                fail_msg("user.list: %s (%s)", strerror(-r), callrole_last_error(c) ? callrole_last_error(c) : "");
        for (size_t i = 0; i < callrole_reply_n_records(rep); i++) {
                const char *name = callrole_record_get(callrole_reply_record(rep, i), "name");
                if (name && strcmp(name, user) == 0)
                        found = true;
        }
        callrole_reply_free(rep);
        return found;
}

char *pt_user_field(callrole *c, const char *user, const char *account, const char *key) {
        callrole_reply *rep = NULL;
        char *out = NULL;
        int r = callrole_user_get(c, user, &rep);

        if (r < 0)
                fail_msg("user.get %s: %s (%s)", user, strerror(-r),
                         callrole_last_error(c) ? callrole_last_error(c) : "");
        for (size_t i = 0; i < callrole_reply_n_records(rep) && !out; i++) {
                const callrole_record *rec = callrole_reply_record(rep, i);
                const char *a = callrole_record_get(rec, "account");
                if (account && (!a || strcmp(a, account) != 0))
                        continue;
                for (size_t f = 0; f < callrole_record_n_fields(rec); f++) {
                        size_t len = 0;
                        if (strcmp(callrole_record_key(rec, f), key) != 0)
                                continue;
                        out = calloc(1, 1);
                        assert_non_null(out);
                        for (size_t j = 0; j < callrole_record_n_values(rec, f); j++) {
                                const char *v = callrole_record_value(rec, f, j);
                                size_t size = len + strlen(v) + 2;
                                char *n = realloc(out, size);
                                assert_non_null(n);
                                out = n;
                                len += (size_t) snprintf(out + len, size - len, "%s%s", j ? "," : "", v);
                        }
                }
                if (!out)
                        fail_msg("user.get %s: no field '%s'", user, key);
        }
        callrole_reply_free(rep);
        return out;
}

void pt_assert_roles_at(const char *file, int line, callrole *c, const char *account, const PtRole *want, size_t n) {
        callrole_reply *rep = NULL;

        _assert_int_equal(pt_call(c, &rep, "role.list", "account", account, NULL), 0, file, line);
        _assert_int_equal(callrole_reply_n_records(rep), n, file, line);
        for (size_t i = 0; i < n; i++) {
                bool found = false;
                for (size_t j = 0; j < callrole_reply_n_records(rep); j++) {
                        const callrole_record *r = callrole_reply_record(rep, j);
                        if (strcmp(callrole_record_get(r, "role"), want[i].id) != 0)
                                continue;
                        found = true;
                        _assert_string_equal(callrole_record_get(r, "title"), want[i].title, file, line);
                        _assert_string_equal(callrole_record_get(r, "rank"), want[i].rank, file, line);
                        if (want[i].agency_only)
                                _assert_string_equal(callrole_record_get(r, "agency-only"), want[i].agency_only,
                                                     file, line);
                }
                if (!found)
                        fail_msg("%s:%d: role %s missing", file, line, want[i].id);
        }
        callrole_reply_free(rep);
}

static bool in_list(const char *const *l, const char *s) {
        for (; *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}

size_t pt_expect_exactly_at(const char *file, int line, callrole *c, const char *user, const char *account,
                            const char *const *expected) {
        callrole_reply *perms = NULL;
        size_t n_expected = 0, allowed = 0, n;

        for (const char *const *e = expected; *e; e++)
                n_expected++;
        _assert_int_equal(pt_call(c, &perms, "permission.list", NULL), 0, file, line);
        n = callrole_reply_n_records(perms);
        for (size_t i = 0; i < n; i++) {
                const char *p = callrole_record_get(callrole_reply_record(perms, i), "name");
                if (in_list(expected, p)) {
                        pt_check_at(file, line, c, user, p, account, NULL, true, CALLROLE_REASON_NONE, NULL);
                        allowed++;
                } else
                        pt_check_at(file, line, c, user, p, account, NULL, false, CALLROLE_REASON_NOT_GRANTED, NULL);
        }
        callrole_reply_free(perms);
        _assert_int_equal(allowed, n_expected, file, line);   /* every expected permission exists */
        return n;
}

int pt_ctl(char **ret_out, char **ret_err, const char *arg, ...) {
        const char *argv[25];
        size_t n = 0;
        va_list ap;

        va_start(ap, arg);
        for (const char *a = arg; a; a = va_arg(ap, const char *)) {
                assert_true(n < 24);
                argv[n++] = a;
        }
        va_end(ap);
        while (n < 25)
                argv[n++] = NULL;
        /* test_ctl takes a NULL-terminated argument list; pass a fixed
         * number of slots, the first NULL ends it. */
        return test_ctl(&pt_daemon, ret_out, ret_err, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6],
                        argv[7], argv[8], argv[9], argv[10], argv[11], argv[12], argv[13], argv[14], argv[15],
                        argv[16], argv[17], argv[18], argv[19], argv[20], argv[21], argv[22], argv[23], (char *) NULL);
}
