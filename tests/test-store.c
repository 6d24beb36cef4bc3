/*
 * test-store.c: the SQLite store (daemon/store.c) against real database
 * files in a fresh temporary folder per test.
 *
 * The opening tests build hostile files (garbage, another program's
 * database, a database of a newer callrole, an unreadable file or folder)
 * and check that each is refused with a message naming it and is left byte
 * for byte as it was.  Permission tests run as an unprivileged user: in a
 * forked child that drops to nobody when the suite runs as root (root
 * ignores file modes), directly otherwise.
 *
 * The change tests apply every store_apply() type, then each refusal, and
 * compare a text dump of store_load() before and after: inside the
 * transaction (the store's savepoint must have undone the refused change),
 * after rolling back, and after committing.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "callrole-wire.h"
#include "helper-model.h"
#include "macro.h"
#include "model.h"
#include "store.h"

#define NOBODY 65534

typedef struct Fixture {
        char dir[1024];
        char path[PATH_MAX];
        Store *store;
} Fixture;

/* ---- files ---------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        (void) chmod(p, 0700);   /* a test may have taken permissions away */
        return remove(p) < 0 ? -1 : 0;
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        const char *tmp = getenv("TMPDIR");

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "%s/test-store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/roles.db", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        store_free(f->store);
        (void) chmod(f->dir, 0700);
        (void) nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static char *read_file(const char *path, size_t *ret_size) {
        FILE *fp = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0, cap = 0;

        assert_non_null(fp);
        for (;;) {
                if (n == cap) {
                        cap = cap ? cap * 2 : 4096;
                        buf = realloc(buf, cap);
                        assert_non_null(buf);
                }
                size_t k = fread(buf + n, 1, cap - n, fp);
                n += k;
                if (k == 0)
                        break;
        }
        fclose(fp);
        *ret_size = n;
        return buf;
}

static void write_file(const char *path, const void *data, size_t size) {
        FILE *fp = fopen(path, "we");
        assert_non_null(fp);
        assert_int_equal(fwrite(data, 1, size, fp), size);
        assert_int_equal(fclose(fp), 0);
}

static bool exists(const char *dir, const char *path, const char *suffix) {
        char p[PATH_MAX + 16];
        (void) dir;
        snprintf(p, sizeof(p), "%s%s", path, suffix);
        return access(p, F_OK) == 0;
}

static void assert_file_unchanged(const char *path, const char *before, size_t before_size) {
        size_t n;
        char *now = read_file(path, &n);

        assert_int_equal(n, before_size);
        assert_memory_equal(now, before, n);
        free(now);
        assert_false(exists(NULL, path, "-wal"));
        assert_false(exists(NULL, path, "-shm"));
        assert_false(exists(NULL, path, "-journal"));
}

static void assert_contains(const char *haystack, const char *needle) {
        if (!needle)
                return;
        if (!haystack || !strstr(haystack, needle))
                fail_msg("message \"%s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
}

/* ---- records and dumps -------------------------------------------------------- */

/* rec("name", "alice", "groups[]", "g1,g2", NULL): a key ending in "[]" is a
 * list given comma-separated ("" is an explicitly empty list). */
static struct cr_record *rec(const char *key, ...) {
        struct cr_record *r = cr_record_new();
        va_list ap;

        assert_non_null(r);
        va_start(ap, key);
        for (const char *k = key; k; k = va_arg(ap, const char *)) {
                const char *v = va_arg(ap, const char *);
                size_t n = strlen(k);

                if (n > 2 && strcmp(k + n - 2, "[]") == 0) {
                        char name[64], *copy = strdup(v), *save = NULL;
                        snprintf(name, sizeof(name), "%.*s", (int) (n - 2), k);
                        assert_int_equal(cr_record_add_empty(r, name), 0);
                        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                                assert_int_equal(cr_record_add(r, name, t), 0);
                        free(copy);
                } else
                        assert_int_equal(cr_record_add(r, k, v), 0);
        }
        va_end(ap);
        return r;
}

static void put_strv(FILE *fp, const char *label, char **l) {
        assert_non_null(l);   /* the store hands out empty lists, never NULL */
        fprintf(fp, " %s=", label);
        for (char **i = l; *i; i++)
                fprintf(fp, "%s%s", i == l ? "" : ",", *i);
}

/* The lists of schema 2 (notifications), written only when not empty so
 * the expectations of the tests before them stay as they are: an absent
 * label still means a present, empty list. */
static void put_strv_if_any(FILE *fp, const char *label, char **l) {
        assert_non_null(l);
        if (*l)
                put_strv(fp, label, l);
}

static char *dump_model(const Model *m) {
        char *buf = NULL;
        size_t size = 0;
        FILE *fp = open_memstream(&buf, &size);

        assert_non_null(fp);
        for (size_t i = 0; i < m->n_permissions; i++)
                fprintf(fp, "permission %s \"%s\"%s\n", m->permissions[i].name,
                        m->permissions[i].description ? m->permissions[i].description : "(null)",
                        m->permissions[i].builtin ? " builtin" : "");
        for (size_t i = 0; i < m->n_plans; i++) {
                fprintf(fp, "plan %s", m->plans[i].name);
                put_strv(fp, "features", m->plans[i].features);
                fputc('\n', fp);
        }
        for (size_t i = 0; i < m->n_accounts; i++) {
                const ModelAccount *a = &m->accounts[i];
                fprintf(fp, "account %s parent=%s plan=%s seats=%lld", a->name, a->parent ? a->parent : "-",
                        a->plan ? a->plan : "-", (long long) a->seats);
                put_strv(fp, "hidden", a->hidden);
                put_strv(fp, "attrs", a->attrs);
                put_strv_if_any(fp, "notifications", a->notifications);
                fputc('\n', fp);
        }
        for (size_t i = 0; i < m->n_roles; i++) {
                const ModelRole *r = &m->roles[i];
                fprintf(fp, "role %s/%s \"%s\" rank=%lld%s grants=", r->account, r->id, r->title, (long long) r->rank,
                        r->agency_only ? " agency-only" : "");
                for (size_t j = 0; j < r->n_grants; j++) {
                        char *g = grant_format(&r->grants[j]);
                        assert_non_null(g);
                        fprintf(fp, "%s%s", j ? "," : "", g);
                        free(g);
                }
                fputc('\n', fp);
        }
        for (size_t i = 0; i < m->n_rules; i++)
                fprintf(fp, "rule %s: %s requires %s\n", m->rules[i].account, m->rules[i].if_pattern,
                        m->rules[i].requires_pattern);
        for (size_t i = 0; i < m->n_users; i++) {
                const ModelUser *u = &m->users[i];
                fprintf(fp, "user %s \"%s\" %s\n", u->name, u->display_name ? u->display_name : "(null)",
                        u->enabled ? "enabled" : "disabled");
                for (size_t j = 0; j < u->n_memberships; j++) {
                        const ModelMembership *mm = &u->memberships[j];
                        fprintf(fp, "  in %s role=%s/%s", mm->account, mm->role_account, mm->role);
                        put_strv(fp, "groups", mm->groups);
                        put_strv(fp, "ivrs", mm->ivrs);
                        put_strv(fp, "acg", mm->acg);
                        put_strv(fp, "only", mm->only);
                        put_strv_if_any(fp, "notify", mm->notify);
                        fputc('\n', fp);
                }
        }
        assert_int_equal(fclose(fp), 0);
        return buf;
}

/* The dump without the 30 built-in permission lines, for readable
 * expectations. */
static char *dump(Store *s) {
        Model *m = NULL;
        char *err = NULL, *text, *out, *o;

        if (store_load(s, &m, &err) < 0)
                fail_msg("store_load: %s", err);
        text = dump_model(m);
        model_free(m);
        out = malloc(strlen(text) + 1);
        assert_non_null(out);
        o = out;
        for (char *line = text; *line;) {
                char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line + 1) : strlen(line);
                if (!(strncmp(line, "permission ", 11) == 0 && strstr(line, "\" builtin\n") == line + n - 10)) {
                        memcpy(o, line, n);
                        o += n;
                }
                line += n;
        }
        *o = 0;
        free(text);
        return out;
}

static void assert_dump(Store *s, const char *expected) {
        char *d = dump(s);
        if (strcmp(d, expected) != 0)
                fail_msg("model differs.\n--- expected\n%s--- got\n%s", expected, d);
        free(d);
}

static void assert_dump_contains(Store *s, const char *needle) {
        char *d = dump(s);
        assert_contains(d, needle);
        free(d);
}

/* Applies one change in its own transaction and commits it. */
static void apply_ok(Store *s, int type, struct cr_record *r) {
        char *err = NULL;
        int k;

        assert_int_equal(store_begin(s, &err), 0);
        k = store_apply(s, type, r, &err);
        if (k < 0)
                fail_msg("%s refused: %s (%s)", cr_msg_type_to_string(type), err ? err : "(no message)",
                         strerror(-k));
        assert_null(err);
        assert_int_equal(store_commit(s, &err), 0);
        cr_record_free(r);
}

/* Applies a change that must be refused with error and a message holding
 * the needles, and checks that the model did not move: in the transaction,
 * after a rollback, and after committing a transaction in which only the
 * refused change was tried. */
static void refuse(Store *s, int type, struct cr_record *r, int error, const char *needle1, const char *needle2) {
        char *before = dump(s), *during, *after, *err = NULL;
        int k;

        for (int round = 0; round < 2; round++) {
                assert_int_equal(store_begin(s, NULL), 0);
                k = store_apply(s, type, r, &err);
                if (k != error)
                        fail_msg("%s: expected %s, got %s: %s", cr_msg_type_to_string(type), strerror(-error),
                                 k < 0 ? strerror(-k) : "success", err ? err : "(no message)");
                assert_non_null(err);
                assert_contains(err, needle1);
                assert_contains(err, needle2);
                free(err);
                err = NULL;
                during = dump(s);
                assert_string_equal(during, before);
                free(during);
                if (round == 0)
                        assert_int_equal(store_rollback(s), 0);
                else
                        assert_int_equal(store_commit(s, NULL), 0);
                after = dump(s);
                assert_string_equal(after, before);
                free(after);
        }
        free(before);
        cr_record_free(r);
}

/* store_apply() inside the caller's transaction; frees the record. */
static int apply_in(Store *s, int type, struct cr_record *r) {
        int k = store_apply(s, type, r, NULL);
        cr_record_free(r);
        return k;
}

static Store *open_ok(Fixture *f) {
        char *err = NULL;
        Store *s = NULL;
        int r = store_open(f->path, &s, &err);

        if (r < 0)
                fail_msg("store_open: %s", err);
        assert_null(err);
        return s;
}

/* ---- opening ---------------------------------------------------------------- */

static void test_create_seeds(void **state) {
        Fixture *f = *state;
        Model *m = NULL;
        char *err = NULL;

        f->store = open_ok(f);
        assert_string_equal(store_path(f->store), f->path);
        assert_int_equal(store_load(f->store, &m, &err), 0);
        assert_int_equal(m->n_permissions, 30);
        for (size_t i = 0; i < m->n_permissions; i++) {
                assert_true(m->permissions[i].builtin);
                assert_non_null(m->permissions[i].description);
                assert_true(strlen(m->permissions[i].description) > 5);
                if (i > 0)
                        assert_true(strcmp(m->permissions[i - 1].name, m->permissions[i].name) < 0);
        }
        assert_string_equal(m->permissions[0].name, "agency.accounts.create");
        assert_string_equal(m->permissions[29].name, "users.view");
        assert_int_equal(m->n_accounts, 1);
        assert_int_equal(m->n_roles + m->n_users + m->n_plans + m->n_rules, 0);
        model_free(m);
        assert_dump(f->store, "account default parent=- plan=- seats=-1 hidden= attrs=\n");

        f->store = store_free(f->store);
        /* The log is checkpointed and removed on close; the file is ours. */
        assert_false(exists(NULL, f->path, "-wal"));
        assert_false(exists(NULL, f->path, "-shm"));
        assert_int_equal(test_sql_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        assert_int_equal(test_sql_int(f->path, "PRAGMA application_id"), 0x43526f6c);
        /* WAL is recorded in the header (bytes 18 and 19 are 2). */
        size_t n;
        char *bytes = read_file(f->path, &n);
        assert_true(n >= 100);
        assert_int_equal(bytes[18], 2);
        assert_int_equal(bytes[19], 2);
        free(bytes);
}

static void test_reopen_persists(void **state) {
        Fixture *f = *state;
        char *before, *after;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_ROLE_ADD,
                 rec("role", "agent", "rank", "10", "grants[]", "login,calls.view@assigned", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "alice", "role", "agent", "groups[]", "g1", NULL));
        before = dump(f->store);
        /* The exclusive lock was taken before WAL: no shared-memory index. */
        assert_false(exists(NULL, f->path, "-shm"));
        f->store = store_free(f->store);

        f->store = open_ok(f);
        assert_false(exists(NULL, f->path, "-shm"));
        after = dump(f->store);
        assert_string_equal(after, before);
        assert_contains(after, "user alice \"(null)\" enabled\n  in default role=default/agent groups=g1");
        free(before);
        free(after);

        /* A third open of an up-to-date database migrates nothing. */
        f->store = store_free(f->store);
        f->store = open_ok(f);
        assert_dump(f->store, "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                              "role default/agent \"agent\" rank=10 grants=calls.view@assigned,login\n"
                              "user alice \"(null)\" enabled\n"
                              "  in default role=default/agent groups=g1 ivrs= acg= only=\n");
}

static void test_empty_file_migrates(void **state) {
        Fixture *f = *state;

        write_file(f->path, "", 0);
        f->store = open_ok(f);
        assert_dump(f->store, "account default parent=- plan=- seats=-1 hidden= attrs=\n");
        f->store = store_free(f->store);
        assert_int_equal(test_sql_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        assert_int_equal(test_sql_int(f->path, "SELECT count(*) FROM permissions WHERE builtin = 1"), 30);
}

static void expect_open_refused(Fixture *f, int error, const char *needle1, const char *needle2) {
        char *err = NULL;
        Store *s = NULL;
        int r = store_open(f->path, &s, &err);

        if (r != error)
                fail_msg("store_open: expected %s, got %s: %s", strerror(-error), r < 0 ? strerror(-r) : "success",
                         err ? err : "(no message)");
        assert_null(s);
        assert_contains(err, needle1);
        assert_contains(err, needle2);
        free(err);
}

/* The same, and the file must be left byte for byte as it was. */
static void expect_open_refused_untouched(Fixture *f, int error, const char *needle1, const char *needle2) {
        size_t n;
        char *before = read_file(f->path, &n);

        expect_open_refused(f, error, needle1, needle2);
        assert_file_unchanged(f->path, before, n);
        free(before);
}

static void test_newer_schema_refused(void **state) {
        Fixture *f = *state;
        char sql[128], needle[64], *before;
        size_t n;

        snprintf(sql, sizeof(sql), "CREATE TABLE future (x); PRAGMA user_version = %d;", STORE_SCHEMA_VERSION + 1);
        test_sql_exec(f->path, sql);
        before = read_file(f->path, &n);

        snprintf(needle, sizeof(needle), "has schema version %d, this callroled supports up to %d",
                 STORE_SCHEMA_VERSION + 1, STORE_SCHEMA_VERSION);
        expect_open_refused(f, -EPROTONOSUPPORT, needle, "upgrade callrole");
        expect_open_refused(f, -EPROTONOSUPPORT, f->path, NULL);
        assert_file_unchanged(f->path, before, n);
        assert_int_equal(test_sql_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
        free(before);
}

static void test_garbage_refused(void **state) {
        Fixture *f = *state;
        char garbage[8192];

        /* Text, a few bytes, and a forged header over garbage pages. */
        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = (char) ((i * 7919u + 13u) >> 3);
        write_file(f->path, garbage, sizeof(garbage));
        expect_open_refused_untouched(f, -EBADMSG, f->path, "not a SQLite database");

        write_file(f->path, "hello\n", 6);
        expect_open_refused_untouched(f, -EBADMSG, f->path, "not a SQLite database");

        memcpy(garbage, "SQLite format 3", 16);
        write_file(f->path, garbage, sizeof(garbage));
        expect_open_refused_untouched(f, -EBADMSG, f->path, NULL);
}

static void test_foreign_database_refused(void **state) {
        Fixture *f = *state;

        test_sql_exec(f->path, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');");
        expect_open_refused_untouched(f, -EBADMSG, f->path, "not a callrole one");

        (void) unlink(f->path);
        test_sql_exec(f->path, "PRAGMA application_id = 1234; PRAGMA user_version = 1;");
        expect_open_refused_untouched(f, -EBADMSG, f->path, "another application");
}

static void test_missing_folder(void **state) {
        Fixture *f = *state;
        char sub[2048];

        snprintf(sub, sizeof(sub), "%s/nope", f->dir);
        snprintf(f->path, sizeof(f->path), "%s/roles.db", sub);
        expect_open_refused(f, -ENOENT, f->path, "folder");
        expect_open_refused(f, -ENOENT, sub, "does not exist");
        assert_int_equal(access(sub, F_OK), -1);
}

static void test_path_is_folder(void **state) {
        Fixture *f = *state;

        snprintf(f->path, sizeof(f->path), "%s", f->dir);
        expect_open_refused(f, -EISDIR, f->path, "folder");
}

/* Runs expect_open_refused() as an unprivileged user: in a child that
 * drops to nobody when we are root (root ignores modes), else directly. */
static void open_refused_unprivileged(Fixture *f, int error, const char *needle1, const char *needle2) {
        pid_t pid;
        int status;

        if (geteuid() != 0) {
                expect_open_refused(f, error, needle1, needle2);
                return;
        }
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *err = NULL;
                Store *s = NULL;
                int r;

                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(10);
                r = store_open(f->path, &s, &err);
                if (r != error) {
                        fprintf(stderr, "child: got %d: %s\n", r, err ? err : "(null)");
                        _exit(11);
                }
                if (!err || !strstr(err, needle1) || (needle2 && !strstr(err, needle2))) {
                        fprintf(stderr, "child: message: %s\n", err ? err : "(null)");
                        _exit(12);
                }
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_unreadable_file(void **state) {
        Fixture *f = *state;
        char *before;
        size_t n;

        f->store = open_ok(f);
        f->store = store_free(f->store);
        before = read_file(f->path, &n);
        assert_int_equal(chmod(f->dir, 0777), 0);
        assert_int_equal(chmod(f->path, 0000), 0);
        open_refused_unprivileged(f, -EACCES, f->path, "Permission denied; check the file's owner and mode");
        assert_int_equal(chmod(f->path, 0600), 0);
        assert_file_unchanged(f->path, before, n);
        free(before);
}

static void test_unwritable_folder(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        f->store = store_free(f->store);
        assert_int_equal(chmod(f->path, 0666), 0);
        assert_int_equal(chmod(f->dir, 0555), 0);
        open_refused_unprivileged(f, -EACCES, f->dir, "write-ahead log");
        /* And a new database in a folder nobody may write to. */
        snprintf(f->path, sizeof(f->path), "%s/new.db", f->dir);
        open_refused_unprivileged(f, -EACCES, "cannot create database", "is not writable");
        assert_int_equal(chmod(f->dir, 0700), 0);
        assert_int_equal(access(f->path, F_OK), -1);
}

/* Run as a child with a tiny file-size limit: SQLite's writes fail, and the
 * store reports an error naming the database, and the change is not
 * there after reopening. */
static void test_write_failure(void **state) {
        Fixture *f = *state;
        pid_t pid;
        int status;
        size_t n;

        f->store = open_ok(f);
        f->store = store_free(f->store);
        free(read_file(f->path, &n));   /* its size is the limit */

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl = { .rlim_cur = (rlim_t) n, .rlim_max = RLIM_INFINITY };
                struct cr_record *r = cr_record_new();
                char *err = NULL, desc[2048];
                Store *s = NULL;
                int k = 0;

                signal(SIGXFSZ, SIG_IGN);
                if (store_open(f->path, &s, &err) < 0)
                        _exit(20);
                if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
                        _exit(21);
                memset(desc, 'x', sizeof(desc) - 1);
                desc[sizeof(desc) - 1] = 0;
                if (store_begin(s, &err) < 0)
                        _exit(22);
                /* More than the page cache holds, so pages spill to the
                 * log during the transaction, or at the latest at commit. */
                for (int i = 0; i < 4000 && k >= 0; i++) {
                        char name[32];
                        cr_record_clear(r);
                        snprintf(name, sizeof(name), "p%d.x", i);
                        cr_record_add(r, "name", name);
                        cr_record_add(r, "description", desc);
                        k = store_apply(s, CR_MSG_PERMISSION_ADD, r, &err);
                }
                if (k >= 0)
                        k = store_commit(s, &err);
                else
                        (void) store_rollback(s);
                if (k >= 0) {
                        fprintf(stderr, "child: the change got past the file size limit\n");
                        _exit(23);
                }
                if (k != -EIO && k != -ENOSPC) {
                        fprintf(stderr, "child: %d %s\n", k, err);
                        _exit(24);
                }
                if (!err || !strstr(err, f->path)) {
                        fprintf(stderr, "child: message: %s\n", err ? err : "(null)");
                        _exit(25);
                }
                fprintf(stderr, "child (expected): %s\n", err);
                store_free(s);
                cr_record_free(r);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        f->store = open_ok(f);
        assert_dump(f->store, "account default parent=- plan=- seats=-1 hidden= attrs=\n");
}

/* ---- changes ------------------------------------------------------------------ */

static void test_permission_add(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_PERMISSION_ADD, rec("name", "fax.send", "description", "Send faxes", NULL));
        apply_ok(f->store, CR_MSG_PERMISSION_ADD, rec("name", "fax.view", NULL));
        assert_dump(f->store, "permission fax.send \"Send faxes\"\n"
                              "permission fax.view \"(null)\"\n"
                              "account default parent=- plan=- seats=-1 hidden= attrs=\n");

        refuse(f->store, CR_MSG_PERMISSION_ADD, rec("name", "login", NULL), -EEXIST, "permission 'login'",
               "already exists");
        refuse(f->store, CR_MSG_PERMISSION_ADD, rec("name", "fax.send", NULL), -EEXIST, "'fax.send'", NULL);
        refuse(f->store, CR_MSG_PERMISSION_ADD, rec("name", "bad name", NULL), -EINVAL, "'bad name'",
               "invalid permission name");
        refuse(f->store, CR_MSG_PERMISSION_ADD, rec("name", "a\x01z", NULL), -EINVAL, "'a?z'", NULL);
        refuse(f->store, CR_MSG_PERMISSION_ADD, rec("description", "x", NULL), -EINVAL, "needs the field 'name'",
               NULL);
        refuse(f->store, CR_MSG_PERMISSION_ADD, rec("name", "x.y", "colour", "red", NULL), -EINVAL, "'colour'",
               NULL);
        refuse(f->store, CR_MSG_PERMISSION_ADD, rec("name", "x.y", "description", "a\nb", NULL), -EINVAL,
               "control characters", NULL);
}

static void test_plan_set(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_PLAN_SET, rec("name", "basic", "features[]", "login,calls.*,calls.view", NULL));
        apply_ok(f->store, CR_MSG_PLAN_SET, rec("name", "empty", "features[]", "", NULL));
        assert_dump(f->store, "plan basic features=calls.*,calls.view,login\n"
                              "plan empty features=\n"
                              "account default parent=- plan=- seats=-1 hidden= attrs=\n");
        /* Replaces. */
        apply_ok(f->store, CR_MSG_PLAN_SET, rec("name", "basic", "features[]", "softphone.use,login", NULL));
        assert_dump(f->store, "plan basic features=login,softphone.use\n"
                              "plan empty features=\n"
                              "account default parent=- plan=- seats=-1 hidden= attrs=\n");

        refuse(f->store, CR_MSG_PLAN_SET, rec("name", "basic", NULL), -EINVAL, "'features'", NULL);
        refuse(f->store, CR_MSG_PLAN_SET, rec("name", "basic", "features[]", "calls view", NULL), -EINVAL,
               "'calls view'", NULL);
        refuse(f->store, CR_MSG_PLAN_SET, rec("name", "none", "features[]", "login", NULL), -EINVAL, "'none'", NULL);
        refuse(f->store, CR_MSG_PLAN_SET, rec("name", "b/c", "features[]", "login", NULL), -EINVAL, "'b/c'", NULL);
}

static void test_account_add(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_PLAN_SET, rec("name", "pro", "features[]", "*", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD,
                 rec("name", "agency", "plan", "pro", "seats", "50", "attrs[]", "tier=gold,region=eu", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "shop", "parent", "agency", "seats", "unlimited", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "zero", "seats", "0", "plan", "", NULL));
        const char *expected = "plan pro features=*\n"
                               "account agency parent=- plan=pro seats=50 hidden= attrs=region=eu,tier=gold\n"
                               "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                               "account shop parent=agency plan=- seats=-1 hidden= attrs=\n"
                               "account zero parent=- plan=- seats=0 hidden= attrs=\n";
        assert_dump(f->store, expected);

        refuse(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "default", NULL), -EEXIST, "account 'default'",
               "already exists");
        refuse(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "x", "parent", "ghost", NULL), -ENOENT,
               "unknown parent account 'ghost'", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "x", "plan", "gold", NULL), -ENOENT, "unknown plan 'gold'",
               NULL);
        refuse(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "x", "seats", "-1", NULL), -EINVAL, "'-1'", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "x", "seats", "12x", NULL), -EINVAL, "'12x'", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "x", "attrs[]", "tier", NULL), -EINVAL, "'tier'",
               "KEY=VALUE");
        refuse(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "x", "attrs[]", "a=1,a=2", NULL), -EINVAL,
               "attribute 'a'", "twice");
        refuse(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "x", "attrs[]", "a=", NULL), -EINVAL, "'a'", "no value");
        refuse(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "", NULL), -EINVAL, "invalid account name", NULL);
        assert_dump(f->store, expected);
}

static void test_account_set(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_PLAN_SET, rec("name", "pro", "features[]", "*", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_SET,
                 rec("name", "default", "plan", "pro", "seats", "5", "hide[]", "billing.*,numbers.port", "attrs[]",
                     "partner=none,tier=gold", NULL));
        assert_dump(f->store, "plan pro features=*\n"
                              "account default parent=- plan=pro seats=5 hidden=billing.*,numbers.port "
                              "attrs=partner=none,tier=gold\n");
        apply_ok(f->store, CR_MSG_ACCOUNT_SET,
                 rec("name", "default", "plan", "none", "seats", "unlimited", "unhide[]", "billing.*", "hide[]",
                     "numbers.port", "attrs[]", "tier=,partner=acme", NULL));
        const char *expected = "plan pro features=*\n"
                               "account default parent=- plan=- seats=-1 hidden=numbers.port attrs=partner=acme\n";
        assert_dump(f->store, expected);

        refuse(f->store, CR_MSG_ACCOUNT_SET, rec("name", "ghost", "seats", "1", NULL), -ENOENT,
               "unknown account 'ghost'", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_SET, rec("name", "default", NULL), -EINVAL, "changes nothing", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_SET, rec("name", "default", "unhide[]", "calls.*", NULL), -ENOENT,
               "does not hide 'calls.*'", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_SET, rec("name", "default", "plan", "gold", NULL), -ENOENT, "'gold'", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_SET, rec("name", "default", "seats", "many", NULL), -EINVAL, "'many'", NULL);
        /* A refusal late in the change undoes its earlier parts. */
        refuse(f->store, CR_MSG_ACCOUNT_SET,
               rec("name", "default", "seats", "3", "hide[]", "texts.*", "unhide[]", "ghost.*", NULL), -ENOENT,
               "'ghost.*'", NULL);
        assert_dump(f->store, expected);
}

static void test_role_add(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_ROLE_ADD,
                 rec("role", "call-agent", "rank", "10", "title", "Call Agent", "grants[]",
                     "login,calls.view@assigned,calls.view@direction=inbound+groups,billing.invoices.view/no-role=partner,"
                     "numbers.request/account.tier=gold",
                     NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "no-access", "rank", "-5", NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "boss", "rank", "+100", "grants[]", "", NULL));
        const char *expected =
                "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                "role default/boss \"boss\" rank=100 grants=\n"
                "role default/call-agent \"Call Agent\" rank=10 grants=billing.invoices.view/no-role=partner,"
                "calls.view@assigned,calls.view@direction=inbound+groups,login,numbers.request/account.tier=gold\n"
                "role default/no-access \"no-access\" rank=-5 grants=\n";
        assert_dump(f->store, expected);

        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "call-agent", "rank", "1", NULL), -EEXIST,
               "role 'call-agent' already exists in account 'default'", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "abc", NULL), -EINVAL, "rank of role 'x'", "'abc'");
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "1.5", NULL), -EINVAL, "'1.5'", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", " 5", NULL), -EINVAL, "' 5'", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "5 ", NULL), -EINVAL, "'5 '", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "", NULL), -EINVAL, "rank", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "99999999999999999999", NULL), -EINVAL,
               "'99999999999999999999'", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", NULL), -EINVAL, "'rank'", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "1", "grants[]", "calls.view@nowhere", NULL),
               -EINVAL, "unknown scope 'nowhere'", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "1", "grants[]", "fax.send", NULL), -ENOENT,
               "unknown permission 'fax.send'", "callrolectl permission add fax.send");
        /* The bad grant comes after a good one and the role row: all undone. */
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "1", "grants[]", "login,calls.view,fax.send", NULL),
               -ENOENT, "'fax.send'", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "1", "account", "ghost", NULL), -ENOENT,
               "unknown account 'ghost'", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x", "rank", "1", "title", "bad\ttitle", NULL), -EINVAL,
               "title", NULL);
        refuse(f->store, CR_MSG_ROLE_ADD, rec("role", "x@y", "rank", "1", NULL), -EINVAL, "invalid role name 'x@y'",
               NULL);
        assert_dump(f->store, expected);
}

static void test_role_delete(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "shop", "parent", "default", NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "agent", "rank", "1", "grants[]", "login", NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "spare", "rank", "1", "grants[]", "login", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "alice", "role", "agent", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "bob", "role", "agent", "account", "shop", NULL));

        refuse(f->store, CR_MSG_ROLE_DELETE, rec("role", "agent", NULL), -EBUSY,
               "role 'agent' in account 'default' is held by 2 users", NULL);
        refuse(f->store, CR_MSG_ROLE_DELETE, rec("role", "ghost", NULL), -ENOENT, "unknown role 'ghost'", NULL);
        /* An agency's role is not the sub-account's to delete. */
        refuse(f->store, CR_MSG_ROLE_DELETE, rec("role", "spare", "account", "shop", NULL), -ENOENT,
               "unknown role 'spare' in account 'shop'", NULL);

        apply_ok(f->store, CR_MSG_ROLE_DELETE, rec("role", "spare", NULL));
        apply_ok(f->store, CR_MSG_USER_DELETE, rec("name", "bob", NULL));
        refuse(f->store, CR_MSG_ROLE_DELETE, rec("role", "agent", "account", "default", NULL), -EBUSY,
               "held by 1 user;", NULL);
        apply_ok(f->store, CR_MSG_USER_DELETE, rec("name", "alice", NULL));
        apply_ok(f->store, CR_MSG_ROLE_DELETE, rec("role", "agent", NULL));
        assert_dump(f->store, "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                              "account shop parent=default plan=- seats=-1 hidden= attrs=\n");
}

static void test_rule_add(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_RULE_ADD, rec("if", "reports.view_tab", "requires", "reports.*.view", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "shop", NULL));
        apply_ok(f->store, CR_MSG_RULE_ADD,
                 rec("if", "reports.view_tab", "requires", "reports.*.view", "account", "shop", NULL));
        const char *expected = "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                               "account shop parent=- plan=- seats=-1 hidden= attrs=\n"
                               "rule default: reports.view_tab requires reports.*.view\n"
                               "rule shop: reports.view_tab requires reports.*.view\n";
        assert_dump(f->store, expected);

        refuse(f->store, CR_MSG_RULE_ADD, rec("if", "reports.view_tab", "requires", "reports.*.view", NULL), -EEXIST,
               "already has the rule", "'default'");
        refuse(f->store, CR_MSG_RULE_ADD, rec("if", "a", "requires", "b", "account", "ghost", NULL), -ENOENT,
               "'ghost'", NULL);
        refuse(f->store, CR_MSG_RULE_ADD, rec("if", "a b", "requires", "b", NULL), -EINVAL, "'a b'", NULL);
        refuse(f->store, CR_MSG_RULE_ADD, rec("if", "a", NULL), -EINVAL, "'requires'", NULL);
        assert_dump(f->store, expected);
}

static void base_roles(Store *s) {
        apply_ok(s, CR_MSG_ROLE_ADD, rec("role", "agent", "rank", "10", "title", "Agent", "grants[]", "login", NULL));
        apply_ok(s, CR_MSG_ROLE_ADD, rec("role", "admin", "rank", "90", "grants[]", "login,users.view", NULL));
}

static void test_user_add(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        base_roles(f->store);
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "shop", NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "clerk", "rank", "5", "account", "shop", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD,
                 rec("name", "alice", "role", "agent", "display-name", "Alice A.", "groups[]", "sales,support",
                     "ivrs[]", "main", "acg[]", "east", "only[]", "calls.*", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "zed", "role", "admin", "enabled", "no", NULL));
        /* An existing user gains a membership; the display name given is applied. */
        apply_ok(f->store, CR_MSG_USER_ADD,
                 rec("name", "alice", "role", "clerk", "account", "shop", "display-name", "Alice B.", NULL));
        const char *expected =
                "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                "account shop parent=- plan=- seats=-1 hidden= attrs=\n"
                "role default/admin \"admin\" rank=90 grants=login,users.view\n"
                "role default/agent \"Agent\" rank=10 grants=login\n"
                "role shop/clerk \"clerk\" rank=5 grants=\n"
                "user alice \"Alice B.\" enabled\n"
                "  in default role=default/agent groups=sales,support ivrs=main acg=east only=calls.*\n"
                "  in shop role=shop/clerk groups= ivrs= acg= only=\n"
                "user zed \"(null)\" disabled\n"
                "  in default role=default/admin groups= ivrs= acg= only=\n";
        assert_dump(f->store, expected);

        refuse(f->store, CR_MSG_USER_ADD, rec("name", "alice", "role", "admin", NULL), -EEXIST,
               "user 'alice' already has a role in account 'default'", NULL);
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "bob", "role", "ghost", NULL), -ENOENT,
               "unknown role 'ghost' in account 'default' or its agencies", NULL);
        /* shop's role is not usable in default (nor in a sibling). */
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "bob", "role", "clerk", NULL), -ENOENT, "unknown role 'clerk'",
               NULL);
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "bob", "role", "agent", "account", "ghost", NULL), -ENOENT,
               "unknown account 'ghost'", NULL);
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "bob", "role", "agent", "enabled", "maybe", NULL), -EINVAL,
               "'maybe'", NULL);
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "bob", "role", "agent", "groups[]", "ok,not ok", NULL), -EINVAL,
               "'not ok'", NULL);
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "bob", "role", "agent", "only[]", "calls,x/y", NULL), -EINVAL,
               "'x/y'", NULL);
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "bob", NULL), -EINVAL, "'role'", NULL);
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "bob smith", "role", "agent", NULL), -EINVAL,
               "invalid user name 'bob smith'", NULL);
        {
                struct cr_record *r = rec("name", "bob", NULL);
                assert_int_equal(cr_record_add(r, "role", "agent"), 0);
                assert_int_equal(cr_record_add(r, "role", "admin"), 0);
                refuse(f->store, CR_MSG_USER_ADD, r, -EINVAL, "'role' takes one value", NULL);
        }
        assert_dump(f->store, expected);
}

/* Agency roles are usable in sub-accounts at any depth; a sub-account's own
 * role of the same name wins; nothing flows upwards or sideways. */
static void test_agency_roles(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "agency", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "shop", "parent", "agency", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "branch", "parent", "shop", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "other", "parent", "agency", NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "agency-admin", "rank", "100", "account", "agency", NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "agent", "rank", "10", "account", "agency", NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "agent", "rank", "11", "account", "shop", NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "clerk", "rank", "5", "account", "other", NULL));

        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "ann", "role", "agency-admin", "account", "agency", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "ann", "role", "agency-admin", "account", "branch", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "bea", "role", "agent", "account", "shop", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "bea", "role", "agent", "account", "branch", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "bea", "role", "agent", "account", "other", NULL));
        assert_dump(f->store,
                    "account agency parent=- plan=- seats=-1 hidden= attrs=\n"
                    "account branch parent=shop plan=- seats=-1 hidden= attrs=\n"
                    "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                    "account other parent=agency plan=- seats=-1 hidden= attrs=\n"
                    "account shop parent=agency plan=- seats=-1 hidden= attrs=\n"
                    "role agency/agency-admin \"agency-admin\" rank=100 grants=\n"
                    "role agency/agent \"agent\" rank=10 grants=\n"
                    "role other/clerk \"clerk\" rank=5 grants=\n"
                    "role shop/agent \"agent\" rank=11 grants=\n"
                    "user ann \"(null)\" enabled\n"
                    "  in agency role=agency/agency-admin groups= ivrs= acg= only=\n"
                    "  in branch role=agency/agency-admin groups= ivrs= acg= only=\n"
                    "user bea \"(null)\" enabled\n"
                    "  in branch role=shop/agent groups= ivrs= acg= only=\n"
                    "  in other role=agency/agent groups= ivrs= acg= only=\n"
                    "  in shop role=shop/agent groups= ivrs= acg= only=\n");

        refuse(f->store, CR_MSG_USER_ADD, rec("name", "cy", "role", "clerk", "account", "shop", NULL), -ENOENT,
               "unknown role 'clerk' in account 'shop' or its agencies", NULL);
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "cy", "role", "clerk", "account", "agency", NULL), -ENOENT,
               "'clerk'", NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "ann", "account", "branch", "role", "clerk", NULL), -ENOENT,
               "unknown role 'clerk' in account 'branch'", NULL);
        /* Changing role resolves through the agencies too. */
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "ann", "account", "branch", "role", "agent", NULL));
        assert_dump_contains(f->store, "user ann \"(null)\" enabled\n"
                                       "  in agency role=agency/agency-admin groups= ivrs= acg= only=\n"
                                       "  in branch role=shop/agent groups= ivrs= acg= only=\n");
}

static void test_user_set(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        base_roles(f->store);
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "shop", "parent", "default", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD,
                 rec("name", "alice", "role", "agent", "display-name", "Alice", "groups[]", "g1,g2", "ivrs[]", "i1",
                     NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "multi", "role", "agent", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "multi", "role", "agent", "account", "shop", NULL));

        /* The only membership is meant; a present list replaces, an empty one clears. */
        apply_ok(f->store, CR_MSG_USER_SET,
                 rec("name", "alice", "role", "admin", "groups[]", "g3", "ivrs[]", "", "enabled", "no", NULL));
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "alice", "display-name", "", NULL));
        /* User-level fields need no account even with several memberships. */
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "multi", "display-name", "M. Ulti", NULL));
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "multi", "account", "shop", "acg[]", "west", NULL));
        const char *expected = "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                               "account shop parent=default plan=- seats=-1 hidden= attrs=\n"
                               "role default/admin \"admin\" rank=90 grants=login,users.view\n"
                               "role default/agent \"Agent\" rank=10 grants=login\n"
                               "user alice \"(null)\" disabled\n"
                               "  in default role=default/admin groups=g3 ivrs= acg= only=\n"
                               "user multi \"M. Ulti\" enabled\n"
                               "  in default role=default/agent groups= ivrs= acg= only=\n"
                               "  in shop role=default/agent groups= ivrs= acg=west only=\n";
        assert_dump(f->store, expected);

        refuse(f->store, CR_MSG_USER_SET, rec("name", "multi", "role", "admin", NULL), -ENOTUNIQ,
               "user 'multi' has roles in 2 accounts (default, shop)", "--account");
        refuse(f->store, CR_MSG_USER_SET, rec("name", "ghost", "enabled", "no", NULL), -ENOENT, "unknown user 'ghost'",
               NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", NULL), -EINVAL, "changes nothing", NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "role", "ghost", NULL), -ENOENT, "unknown role 'ghost'",
               NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "account", "shop", "role", "agent", NULL), -ENOENT,
               "user 'alice' has no role in account 'shop'", NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "account", "ghost", "role", "agent", NULL), -ENOENT,
               "unknown account 'ghost'", NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "enabled", "off", NULL), -EINVAL, "'off'", NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "groups[]", "a,b c", NULL), -EINVAL, "'b c'", NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "rank", "5", NULL), -EINVAL, "'rank'", NULL);
        /* A user with no membership cannot have one changed. */
        apply_ok(f->store, CR_MSG_USER_DELETE, rec("name", "alice", "account", "default", NULL));
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "role", "agent", NULL), -ENOENT,
               "user 'alice' has no role in any account", NULL);
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "alice", "enabled", "yes", NULL));
        assert_dump_contains(f->store, "user alice \"(null)\" enabled\nuser multi");
}

/* Notifications (schema 2): an account defines NAME=PERMISSION, a
 * membership switches names on and off; every refusal leaves the model as
 * it was, and what was applied survives a reopen. */
static void test_notifications(void **state) {
        Fixture *f = *state;
        char *before;

        f->store = open_ok(f);
        base_roles(f->store);
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "shop", "parent", "default", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_SET,
                 rec("name", "default", "notifications[]", "daily=login,weekly=users.view", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "alice", "role", "agent", "notify[]", "daily", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "bob", "role", "agent", NULL));
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "alice", "notify[]", "weekly=on", NULL));
        assert_dump_contains(f->store, "account default parent=- plan=- seats=-1 hidden= attrs= "
                                       "notifications=daily=login,weekly=users.view\n");
        assert_dump_contains(f->store, "user alice \"(null)\" enabled\n"
                                       "  in default role=default/agent groups= ivrs= acg= only= notify=daily,weekly\n");
        /* bob switched nothing on. */
        assert_dump_contains(f->store, "user bob \"(null)\" enabled\n"
                                       "  in default role=default/agent groups= ivrs= acg= only=\n");

        /* Switching off, in order: on then off is off. */
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "alice", "notify[]", "daily=off", NULL));
        assert_dump_contains(f->store, "only= notify=weekly\n");
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "bob", "notify[]", "daily=on,daily=off", NULL));
        assert_dump_contains(f->store, "user bob \"(null)\" enabled\n"
                                       "  in default role=default/agent groups= ivrs= acg= only=\n");

        /* Refusals: the error, the message, and nothing changed. */
        refuse(f->store, CR_MSG_ACCOUNT_SET, rec("name", "default", "notifications[]", "daily", NULL), -EINVAL,
               "KEY=VALUE", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_SET, rec("name", "default", "notifications[]", "daily=no.such", NULL), -ENOENT,
               "unknown permission 'no.such'", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_SET, rec("name", "shop", "notifications[]", "never=", NULL), -ENOENT,
               "defines no notification 'never'", NULL);
        refuse(f->store, CR_MSG_ACCOUNT_SET, rec("name", "ghost", "notifications[]", "daily=login", NULL), -ENOENT,
               "unknown account 'ghost'", NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "notify[]", "daily=sometimes", NULL), -EINVAL,
               "on or off", NULL);
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "notify[]", "=on", NULL), -EINVAL, "NAME=on", NULL);
        refuse(f->store, CR_MSG_USER_ADD, rec("name", "carol", "role", "agent", "notify[]", "da/ily", NULL), -EINVAL,
               "invalid notification name", NULL);
        /* A refusal late in the change undoes its earlier parts. */
        refuse(f->store, CR_MSG_USER_SET, rec("name", "alice", "notify[]", "daily=on,x=maybe", NULL), -EINVAL,
               "on or off", NULL);
        assert_dump_contains(f->store, "only= notify=weekly\n");

        /* Redefining and removing a definition. */
        apply_ok(f->store, CR_MSG_ACCOUNT_SET, rec("name", "default", "notifications[]", "daily=", NULL));
        assert_dump_contains(f->store, "attrs= notifications=weekly=users.view\n");

        /* An empty notify list switches everything off. */
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "alice", "notify[]", "", NULL));
        assert_dump_contains(f->store, "user alice \"(null)\" enabled\n"
                                       "  in default role=default/agent groups= ivrs= acg= only=\n");

        /* It is all in the file. */
        apply_ok(f->store, CR_MSG_USER_SET, rec("name", "alice", "notify[]", "weekly", NULL));
        before = dump(f->store);
        f->store = store_free(f->store);
        f->store = open_ok(f);
        {
                char *again = dump(f->store);
                assert_string_equal(again, before);
                free(again);
        }
        free(before);

        /* A membership's switches go with it (the rows are counted with the
         * store closed: it keeps the database locked while open). */
        f->store = store_free(f->store);
        assert_int_equal(test_sql_int(f->path, "SELECT count(*) FROM membership_notifications"), 1);
        assert_int_equal(test_sql_int(f->path, "SELECT count(*) FROM account_notifications"), 1);
        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_USER_DELETE, rec("name", "alice", NULL));
        f->store = store_free(f->store);
        assert_int_equal(test_sql_int(f->path, "SELECT count(*) FROM membership_notifications"), 0);
        assert_int_equal(test_sql_int(f->path, "SELECT count(*) FROM account_notifications"), 1);
}

static void test_user_delete(void **state) {
        Fixture *f = *state;

        f->store = open_ok(f);
        base_roles(f->store);
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "shop", "parent", "default", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "alice", "role", "agent", "groups[]", "g1", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "alice", "role", "admin", "account", "shop", "ivrs[]", "i", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD, rec("name", "bob", "role", "agent", NULL));

        refuse(f->store, CR_MSG_USER_DELETE, rec("name", "ghost", NULL), -ENOENT, "unknown user 'ghost'", NULL);
        refuse(f->store, CR_MSG_USER_DELETE, rec("name", "bob", "account", "shop", NULL), -ENOENT,
               "user 'bob' has no role in account 'shop'", NULL);
        refuse(f->store, CR_MSG_USER_DELETE, rec("name", "bob", "account", "ghost", NULL), -ENOENT, "'ghost'", NULL);

        apply_ok(f->store, CR_MSG_USER_DELETE, rec("name", "alice", "account", "shop", NULL));
        assert_dump(f->store, "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                              "account shop parent=default plan=- seats=-1 hidden= attrs=\n"
                              "role default/admin \"admin\" rank=90 grants=login,users.view\n"
                              "role default/agent \"Agent\" rank=10 grants=login\n"
                              "user alice \"(null)\" enabled\n"
                              "  in default role=default/agent groups=g1 ivrs= acg= only=\n"
                              "user bob \"(null)\" enabled\n"
                              "  in default role=default/agent groups= ivrs= acg= only=\n");
        apply_ok(f->store, CR_MSG_USER_DELETE, rec("name", "alice", NULL));
        f->store = store_free(f->store);
        /* Memberships and their lists went with the user. */
        assert_int_equal(test_sql_int(f->path, "SELECT count(*) FROM memberships"), 1);
        assert_int_equal(test_sql_int(f->path, "SELECT count(*) FROM membership_sets"), 0);
        assert_int_equal(test_sql_int(f->path, "SELECT count(*) FROM users"), 1);
}

static void test_apply_misuse(void **state) {
        Fixture *f = *state;
        struct cr_record *r;
        char *err = NULL;

        f->store = open_ok(f);
        r = rec("name", "x.y", NULL);
        /* Outside a transaction. */
        assert_int_equal(store_apply(f->store, CR_MSG_PERMISSION_ADD, r, &err), -EINVAL);
        assert_contains(err, "outside a transaction");
        free(err);
        err = NULL;
        assert_int_equal(store_begin(f->store, NULL), 0);
        assert_int_equal(store_begin(f->store, &err), -EBUSY);
        free(err);
        err = NULL;
        assert_int_equal(store_apply(f->store, CR_MSG_IMPORT, r, &err), -EOPNOTSUPP);
        assert_contains(err, "import");
        free(err);
        err = NULL;
        assert_int_equal(store_apply(f->store, CR_MSG_CHECK, r, &err), -EINVAL);
        free(err);
        err = NULL;
        assert_int_equal(store_apply(f->store, 0xff, r, &err), -EINVAL);
        free(err);
        err = NULL;
        assert_int_equal(store_apply(NULL, CR_MSG_PERMISSION_ADD, r, &err), -EINVAL);
        assert_int_equal(store_apply(f->store, CR_MSG_PERMISSION_ADD, NULL, &err), -EINVAL);
        assert_int_equal(store_rollback(f->store), 0);
        assert_int_equal(store_rollback(f->store), 0);   /* nothing open: fine */
        assert_int_equal(store_commit(f->store, &err), -EINVAL);
        free(err);
        cr_record_free(r);
        assert_int_equal(store_open(NULL, &f->store, NULL), -EINVAL);
        assert_int_equal(store_open("", &f->store, NULL), -EINVAL);
        assert_null(store_free(NULL));
        assert_null(store_path(NULL));
}

static void test_rollback_discards(void **state) {
        Fixture *f = *state;
        const char *base = "account default parent=- plan=- seats=-1 hidden= attrs=\n";
        char *inside;

        f->store = open_ok(f);
        assert_int_equal(store_begin(f->store, NULL), 0);
        assert_int_equal(apply_in(f->store, CR_MSG_ROLE_ADD, rec("role", "r", "rank", "1", NULL)), 0);
        assert_int_equal(apply_in(f->store, CR_MSG_USER_ADD, rec("name", "u", "role", "r", NULL)), 0);
        /* store_load sees the transaction's own changes. */
        inside = dump(f->store);
        assert_contains(inside, "role default/r");
        assert_contains(inside, "user u");
        free(inside);
        assert_int_equal(store_rollback(f->store), 0);
        assert_dump(f->store, base);

        /* A refused change keeps what the transaction did before it. */
        assert_int_equal(store_begin(f->store, NULL), 0);
        assert_int_equal(apply_in(f->store, CR_MSG_ROLE_ADD, rec("role", "r", "rank", "1", NULL)), 0);
        assert_int_equal(
                apply_in(f->store, CR_MSG_ROLE_ADD, rec("role", "s", "rank", "1", "grants[]", "login,nope", NULL)),
                -ENOENT);
        assert_int_equal(store_commit(f->store, NULL), 0);
        assert_dump(f->store, "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                              "role default/r \"r\" rank=1 grants=\n");

        /* Closing with a transaction open discards it. */
        assert_int_equal(store_begin(f->store, NULL), 0);
        assert_int_equal(apply_in(f->store, CR_MSG_ROLE_DELETE, rec("role", "r", NULL)), 0);
        f->store = store_free(f->store);
        f->store = open_ok(f);
        assert_dump(f->store, "account default parent=- plan=- seats=-1 hidden= attrs=\n"
                              "role default/r \"r\" rank=1 grants=\n");
}

/* ---- audit ---------------------------------------------------------------------- */

static const char *field(const struct cr_record *r, const char *key) {
        const struct cr_field *f = cr_record_field(r, key);
        assert_non_null(f);
        return f->n_values ? f->values[0] : NULL;
}

static void test_audit(void **state) {
        Fixture *f = *state;
        struct cr_records l = {};
        char *err = NULL;
        AuditEntry e1 = { .peer_uid = 0, .action = "user.add", .target = "user alice", .after = "alice agent" };
        AuditEntry e2 = { .peer_uid = 1000,
                          .peer_user = "root-admin",
                          .as_user = "boss",
                          .action = "user.set",
                          .target = "user alice",
                          .before = "alice agent",
                          .after = "alice admin" };
        AuditEntry e3 = { .peer_uid = 1001, .action = "user.delete", .target = "user alice", .before = "" };

        f->store = open_ok(f);
        assert_int_equal(store_audit_append(f->store, &e1, &err), -EINVAL);   /* no transaction */
        assert_contains(err, "outside a transaction");
        free(err);
        assert_int_equal(store_audit_read(f->store, 0, 0, 0, &l, NULL), 0);
        assert_int_equal(l.n, 0);

        /* Rolled back with its transaction. */
        assert_int_equal(store_begin(f->store, NULL), 0);
        assert_int_equal(store_audit_append(f->store, &e1, NULL), 0);
        assert_int_equal(store_rollback(f->store), 0);
        assert_int_equal(store_audit_read(f->store, 0, 0, 0, &l, NULL), 0);
        assert_int_equal(l.n, 0);

        assert_int_equal(store_begin(f->store, NULL), 0);
        assert_int_equal(store_audit_append(f->store, &e1, NULL), 0);
        assert_int_equal(store_audit_append(f->store, &e2, NULL), 0);
        assert_int_equal(store_audit_append(f->store, &e3, NULL), 0);
        assert_int_equal(store_commit(f->store, NULL), 0);

        assert_int_equal(store_audit_read(f->store, 0, 0, 0, &l, NULL), 0);
        assert_int_equal(l.n, 3);
        const char *id1 = field(&l.items[0], "id");
        assert_string_equal(field(&l.items[0], "action"), "user.add");
        assert_string_equal(field(&l.items[0], "peer-uid"), "0");
        assert_null(field(&l.items[0], "peer-user"));
        assert_null(field(&l.items[0], "as-user"));
        assert_null(field(&l.items[0], "before"));
        assert_string_equal(field(&l.items[0], "after"), "alice agent");
        assert_string_equal(field(&l.items[1], "peer-user"), "root-admin");
        assert_string_equal(field(&l.items[1], "as-user"), "boss");
        assert_string_equal(field(&l.items[1], "peer-uid"), "1000");
        assert_string_equal(field(&l.items[1], "before"), "alice agent");
        assert_string_equal(field(&l.items[2], "before"), "");
        assert_null(field(&l.items[2], "after"));
        const char *t = field(&l.items[0], "time");
        assert_int_equal(strlen(t), 20);
        assert_true(t[4] == '-' && t[10] == 'T' && t[19] == 'Z');
        int64_t first = strtoll(id1, NULL, 10);
        assert_true(first >= 1);
        cr_records_clear(&l);

        /* after and limit page through in id order. */
        assert_int_equal(store_audit_read(f->store, 0, first, 0, &l, NULL), 0);
        assert_int_equal(l.n, 2);
        assert_string_equal(field(&l.items[0], "action"), "user.set");
        assert_int_equal(store_audit_read(f->store, 0, 0, 1, &l, NULL), 0);   /* replaces l */
        assert_int_equal(l.n, 1);
        assert_string_equal(field(&l.items[0], "action"), "user.add");
        assert_int_equal(store_audit_read(f->store, 0, first + 2, 10, &l, NULL), 0);
        assert_int_equal(l.n, 0);
        assert_int_equal(store_audit_read(f->store, -1, 0, 0, &l, NULL), -EINVAL);
        assert_int_equal(store_audit_read(f->store, 0, -1, 0, &l, NULL), -EINVAL);
        cr_records_clear(&l);

        /* since: give the records known times behind the store's back. */
        f->store = store_free(f->store);
        test_sql_exec(f->path, "UPDATE audit SET time = 1700000000 WHERE action = 'user.add';"
                         "UPDATE audit SET time = 1800000000 WHERE action = 'user.set';"
                         "UPDATE audit SET time = 1900000000 WHERE action = 'user.delete';");
        f->store = open_ok(f);
        assert_int_equal(store_audit_read(f->store, 1800000000, 0, 0, &l, NULL), 0);
        assert_int_equal(l.n, 2);
        assert_string_equal(field(&l.items[0], "time"), "2027-01-15T08:00:00Z");
        assert_string_equal(field(&l.items[1], "time"), "2030-03-17T17:46:40Z");
        assert_int_equal(store_audit_read(f->store, 1800000001, 0, 0, &l, NULL), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(field(&l.items[0], "action"), "user.delete");
        assert_int_equal(store_audit_read(f->store, 1, 0, 0, &l, NULL), 0);
        assert_int_equal(l.n, 3);
        assert_string_equal(field(&l.items[0], "time"), "2023-11-14T22:13:20Z");
        cr_records_clear(&l);
}

/* More than a page: limit 0 means CR_PAGE_DEFAULT. */
static void test_audit_page(void **state) {
        Fixture *f = *state;
        struct cr_records l = {};
        AuditEntry e = { .peer_uid = 1, .action = "user.add", .target = "user x" };

        f->store = open_ok(f);
        assert_int_equal(store_begin(f->store, NULL), 0);
        for (unsigned i = 0; i < CR_PAGE_DEFAULT + 5; i++)
                assert_int_equal(store_audit_append(f->store, &e, NULL), 0);
        assert_int_equal(store_commit(f->store, NULL), 0);
        assert_int_equal(store_audit_read(f->store, 0, 0, 0, &l, NULL), 0);
        assert_int_equal(l.n, CR_PAGE_DEFAULT);
        assert_string_equal(field(&l.items[CR_PAGE_DEFAULT - 1], "id"), "1000");
        assert_int_equal(store_audit_read(f->store, 0, 1000, 0, &l, NULL), 0);
        assert_int_equal(l.n, 5);
        cr_records_clear(&l);
}

/* ---- a whole model ---------------------------------------------------------------- */

static void test_load_contents(void **state) {
        Fixture *f = *state;
        Model *m = NULL;

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_PERMISSION_ADD, rec("name", "dialer.use", "description", "Use the dialer", NULL));
        apply_ok(f->store, CR_MSG_PLAN_SET, rec("name", "starter", "features[]", "login,calls.view", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "agency", "plan", "starter", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_SET, rec("name", "agency", "hide[]", "billing.*", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD,
                 rec("name", "acme", "parent", "agency", "seats", "3", "attrs[]", "partner=no", NULL));
        apply_ok(f->store, CR_MSG_RULE_ADD, rec("if", "calls.listen", "requires", "calls.view", "account", "agency", NULL));
        apply_ok(f->store, CR_MSG_ROLE_ADD,
                 rec("role", "manager", "rank", "50", "title", "Call Manager", "account", "agency", "grants[]",
                     "calls.view@groups,calls.listen@groups,dialer.use", NULL));
        apply_ok(f->store, CR_MSG_USER_ADD,
                 rec("name", "mia", "role", "manager", "account", "acme", "display-name", "Mia", "groups[]", "north",
                     NULL));

        char *err = NULL;
        assert_int_equal(store_load(f->store, &m, &err), 0);
        assert_int_equal(m->n_permissions, 31);
        ModelPermission *dp = NULL;
        for (size_t i = 0; i < m->n_permissions; i++)
                if (strcmp(m->permissions[i].name, "dialer.use") == 0)
                        dp = &m->permissions[i];
        assert_non_null(dp);
        assert_false(dp->builtin);
        assert_string_equal(dp->description, "Use the dialer");

        assert_int_equal(m->n_accounts, 3);
        assert_string_equal(m->accounts[0].name, "acme");
        assert_string_equal(m->accounts[0].parent, "agency");
        assert_null(m->accounts[0].plan);
        assert_int_equal(m->accounts[0].seats, 3);
        assert_string_equal(m->accounts[0].attrs[0], "partner=no");
        assert_null(m->accounts[0].attrs[1]);
        assert_string_equal(m->accounts[1].plan, "starter");
        assert_string_equal(m->accounts[1].hidden[0], "billing.*");

        assert_int_equal(m->n_roles, 1);
        ModelRole *r = &m->roles[0];
        assert_string_equal(r->account, "agency");
        assert_string_equal(r->id, "manager");
        assert_string_equal(r->title, "Call Manager");
        assert_int_equal(r->rank, 50);
        assert_int_equal(r->n_grants, 3);
        assert_string_equal(r->grants[0].permission, "calls.listen");
        assert_int_equal(r->grants[0].scopes, SCOPE_GROUPS);
        assert_int_equal(r->grants[0].cond, COND_NONE);
        assert_string_equal(r->grants[2].permission, "dialer.use");
        assert_int_equal(r->grants[2].scopes, 0);

        assert_int_equal(m->n_rules, 1);
        assert_string_equal(m->rules[0].account, "agency");

        assert_int_equal(m->n_users, 1);
        ModelUser *u = &m->users[0];
        assert_string_equal(u->name, "mia");
        assert_string_equal(u->display_name, "Mia");
        assert_true(u->enabled);
        assert_int_equal(u->n_memberships, 1);
        assert_string_equal(u->memberships[0].account, "acme");
        assert_string_equal(u->memberships[0].role_account, "agency");
        assert_string_equal(u->memberships[0].role, "manager");
        assert_string_equal(u->memberships[0].groups[0], "north");
        assert_null(u->memberships[0].ivrs[0]);
        model_free(m);

        assert_int_equal(store_load(f->store, NULL, NULL), -EINVAL);
        assert_int_equal(store_load(NULL, &m, NULL), -EINVAL);
}

/* Many users load in name order with their memberships attached. */
static void test_load_many(void **state) {
        Fixture *f = *state;
        Model *m = NULL;
        char name[32];

        f->store = open_ok(f);
        apply_ok(f->store, CR_MSG_ROLE_ADD, rec("role", "agent", "rank", "1", NULL));
        apply_ok(f->store, CR_MSG_ACCOUNT_ADD, rec("name", "b", "parent", "default", NULL));
        assert_int_equal(store_begin(f->store, NULL), 0);
        /* Inserted in an order unlike the name order. */
        for (int i = 0; i < 3000; i++) {
                int k = (i * 7919) % 3000;
                struct cr_record *r;
                snprintf(name, sizeof(name), "user%04d", k);
                r = rec("name", name, "role", "agent", "groups[]", name, NULL);
                assert_int_equal(store_apply(f->store, CR_MSG_USER_ADD, r, NULL), 0);
                cr_record_free(r);
                if (k % 3 == 0) {
                        r = rec("name", name, "role", "agent", "account", "b", NULL);
                        assert_int_equal(store_apply(f->store, CR_MSG_USER_ADD, r, NULL), 0);
                        cr_record_free(r);
                }
        }
        assert_int_equal(store_commit(f->store, NULL), 0);
        assert_int_equal(store_load(f->store, &m, NULL), 0);
        assert_int_equal(m->n_users, 3000);
        for (size_t i = 0; i < m->n_users; i++) {
                snprintf(name, sizeof(name), "user%04zu", i);
                assert_string_equal(m->users[i].name, name);
                assert_int_equal(m->users[i].n_memberships, i % 3 == 0 ? 2 : 1);
                assert_string_equal(m->users[i].memberships[i % 3 == 0 ? 1 : 0].account, "default");
                assert_string_equal(m->users[i].memberships[i % 3 == 0 ? 1 : 0].groups[0], name);
        }
        model_free(m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create_seeds, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty_file_migrates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_garbage_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_foreign_database_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_folder, setup, teardown),
                cmocka_unit_test_setup_teardown(test_path_is_folder, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unwritable_folder, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_permission_add, setup, teardown),
                cmocka_unit_test_setup_teardown(test_plan_set, setup, teardown),
                cmocka_unit_test_setup_teardown(test_account_add, setup, teardown),
                cmocka_unit_test_setup_teardown(test_account_set, setup, teardown),
                cmocka_unit_test_setup_teardown(test_role_add, setup, teardown),
                cmocka_unit_test_setup_teardown(test_role_delete, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rule_add, setup, teardown),
                cmocka_unit_test_setup_teardown(test_user_add, setup, teardown),
                cmocka_unit_test_setup_teardown(test_agency_roles, setup, teardown),
                cmocka_unit_test_setup_teardown(test_user_set, setup, teardown),
                cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
                cmocka_unit_test_setup_teardown(test_user_delete, setup, teardown),
                cmocka_unit_test_setup_teardown(test_apply_misuse, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollback_discards, setup, teardown),
                cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_audit_page, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load_contents, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load_many, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
