/*
 * store.c: the SQLite implementation of store.h, the only file of callrole
 * that speaks SQL.
 *
 * callroled owns its database alone, so the connection takes SQLite's file
 * lock once and keeps it (locking_mode=EXCLUSIVE, set before WAL so no
 * shared-memory index is used); every later statement then skips the
 * per-statement fcntl/fstat round that dominates small queries here (see
 * /work/shared/notes/measured-here.md).  synchronous=FULL makes an
 * acknowledged commit survive power loss.
 *
 * Opening is careful not to damage what it did not create: the file is
 * checked (type, access, SQLite header) with plain system calls before
 * SQLite sees it, and the schema version and application id are read before
 * anything is written (switching to WAL rewrites the header), so a garbage
 * file, another program's database or a database of a newer callrole is
 * refused and left byte for byte as it was.
 *
 * The schema moves forward by numbered migrations (PRAGMA user_version),
 * one transaction each.  Changes arrive as wire records (store_apply); each
 * is resolved name by name with SQL and applied inside a savepoint, so a
 * refused change leaves the caller's transaction exactly as it was.
 *
 * Invariants:
 *   1. Every cached statement is reset and its bindings cleared when the
 *      function that used it returns (_cleanup_stmt_), so no statement
 *      holds a read cursor or a pointer to a caller's string afterwards.
 *   2. No function uses a cached statement while the same statement is
 *      already in use further up the stack.
 *   3. A store_apply() that fails has rolled back to its savepoint: the
 *      open transaction holds only the changes that succeeded before it.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "store.h"

/* "CRol": lets a callrole database be told apart from other SQLite files. */
#define STORE_APPLICATION_ID 0x43526f6c
#define STORE_BUSY_TIMEOUT_MS 5000
/* Agencies nest; the bound only stops a damaged database from looping. */
#define ACCOUNT_DEPTH_MAX 64
#define DEFAULT_ACCOUNT "default"

enum {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_SAVEPOINT,
        STMT_CHANGE_SAVEPOINT,
        STMT_CHANGE_RELEASE,
        STMT_CHANGE_ROLLBACK_TO,
        STMT_LOAD_USER,
        STMT_LOAD_USER_MEMBERSHIPS,
        STMT_LOAD_USER_SETS,
        STMT_LOAD_USER_NOTIFY,
        STMT_RELEASE,
        STMT_ROLLBACK_TO,

        STMT_PERMISSION_EXISTS,
        STMT_PERMISSION_INSERT,
        STMT_PLAN_EXISTS,
        STMT_PLAN_INSERT,
        STMT_PLAN_FEATURES_CLEAR,
        STMT_PLAN_FEATURE_INSERT,
        STMT_ACCOUNT_ID,
        STMT_ACCOUNT_INSERT,
        STMT_ACCOUNT_SET_PLAN,
        STMT_ACCOUNT_SET_SEATS,
        STMT_HIDDEN_INSERT,
        STMT_HIDDEN_DELETE,
        STMT_ATTR_UPSERT,
        STMT_ATTR_DELETE,
        STMT_ROLE_ID,
        STMT_ROLE_RESOLVE,
        STMT_ROLE_INSERT,
        STMT_ROLE_HOLDERS,
        STMT_ROLE_DELETE,
        STMT_GRANT_INSERT,
        STMT_RULE_EXISTS,
        STMT_RULE_INSERT,
        STMT_USER_ID,
        STMT_USER_INSERT,
        STMT_USER_SET_DISPLAY,
        STMT_USER_SET_ENABLED,
        STMT_USER_DELETE,
        STMT_MEMBERSHIP_ROLE,
        STMT_MEMBERSHIP_ACCOUNTS,
        STMT_MEMBERSHIP_INSERT,
        STMT_MEMBERSHIP_SET_ROLE,
        STMT_MEMBERSHIP_DELETE,
        STMT_SET_CLEAR,
        STMT_SET_INSERT,
        STMT_AUDIT_INSERT,
        STMT_AUDIT_READ,

        STMT_LOAD_PERMISSIONS,
        STMT_LOAD_PLANS,
        STMT_LOAD_ACCOUNTS,
        STMT_LOAD_HIDDEN,
        STMT_LOAD_ATTRS,
        STMT_LOAD_ROLES,
        STMT_LOAD_GRANTS,
        STMT_LOAD_RULES,
        STMT_LOAD_USERS,
        STMT_LOAD_MEMBERSHIPS,
        STMT_LOAD_SETS,
        STMT_LOAD_ACCOUNT_IDS,
        STMT_LOAD_ROLE_IDS,

        /* schema 2 */
        STMT_NOTIFICATION_UPSERT,
        STMT_NOTIFICATION_DELETE,
        STMT_NOTIFY_ON,
        STMT_NOTIFY_OFF,
        STMT_NOTIFY_CLEAR,
        STMT_LOAD_NOTIFICATIONS,
        STMT_LOAD_NOTIFY,
        _STMT_MAX,
};

static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_SAVEPOINT] = "SAVEPOINT store_apply",
        [STMT_RELEASE] = "RELEASE store_apply",
        [STMT_ROLLBACK_TO] = "ROLLBACK TO store_apply",
        [STMT_CHANGE_SAVEPOINT] = "SAVEPOINT store_change",
        [STMT_CHANGE_RELEASE] = "RELEASE store_change",
        [STMT_CHANGE_ROLLBACK_TO] = "ROLLBACK TO store_change",
        /* One user, as load_users() reads everyone: the same orders. */
        [STMT_LOAD_USER] = "SELECT id, name, display_name, enabled FROM users WHERE name = ?1",
        [STMT_LOAD_USER_MEMBERSHIPS] = "SELECT a.name, ra.name, r.name FROM memberships m "
                                       "JOIN accounts a ON a.id = m.account JOIN roles r ON r.id = m.role "
                                       "JOIN accounts ra ON ra.id = r.account WHERE m.user = ?1 ORDER BY a.name",
        [STMT_LOAD_USER_SETS] = "SELECT a.name, s.kind, s.value FROM membership_sets s "
                                "JOIN accounts a ON a.id = s.account WHERE s.user = ?1 "
                                "ORDER BY s.account, s.kind, s.value",
        [STMT_LOAD_USER_NOTIFY] = "SELECT a.name, n.name FROM membership_notifications n "
                                  "JOIN accounts a ON a.id = n.account WHERE n.user = ?1 ORDER BY n.account, n.name",

        [STMT_PERMISSION_EXISTS] = "SELECT 1 FROM permissions WHERE name = ?1",
        [STMT_PERMISSION_INSERT] = "INSERT INTO permissions (name, description, builtin) VALUES (?1, ?2, ?3)",
        [STMT_PLAN_EXISTS] = "SELECT 1 FROM plans WHERE name = ?1",
        [STMT_PLAN_INSERT] = "INSERT OR IGNORE INTO plans (name) VALUES (?1)",
        [STMT_PLAN_FEATURES_CLEAR] = "DELETE FROM plan_features WHERE plan = ?1",
        [STMT_PLAN_FEATURE_INSERT] = "INSERT OR IGNORE INTO plan_features (plan, pattern) VALUES (?1, ?2)",
        [STMT_ACCOUNT_ID] = "SELECT id FROM accounts WHERE name = ?1",
        [STMT_ACCOUNT_INSERT] = "INSERT INTO accounts (name, parent, plan, seats) VALUES (?1, ?2, ?3, ?4)",
        [STMT_ACCOUNT_SET_PLAN] = "UPDATE accounts SET plan = ?2 WHERE id = ?1",
        [STMT_ACCOUNT_SET_SEATS] = "UPDATE accounts SET seats = ?2 WHERE id = ?1",
        [STMT_HIDDEN_INSERT] = "INSERT OR IGNORE INTO account_hidden (account, pattern) VALUES (?1, ?2)",
        [STMT_HIDDEN_DELETE] = "DELETE FROM account_hidden WHERE account = ?1 AND pattern = ?2",
        [STMT_ATTR_UPSERT] = "INSERT INTO account_attrs (account, key, value) VALUES (?1, ?2, ?3) "
                             "ON CONFLICT (account, key) DO UPDATE SET value = excluded.value",
        [STMT_ATTR_DELETE] = "DELETE FROM account_attrs WHERE account = ?1 AND key = ?2",
        [STMT_ROLE_ID] = "SELECT id FROM roles WHERE account = ?1 AND name = ?2",
        /* The role named ?2 in account ?1 or the nearest agency above it. */
        [STMT_ROLE_RESOLVE] = "WITH RECURSIVE chain (id, depth) AS ("
                              "  SELECT ?1, 0"
                              "  UNION ALL"
                              "  SELECT a.parent, c.depth + 1 FROM accounts a JOIN chain c ON a.id = c.id"
                              "  WHERE a.parent IS NOT NULL AND c.depth < ?3) "
                              "SELECT r.id FROM chain c JOIN roles r ON r.account = c.id AND r.name = ?2 "
                              "ORDER BY c.depth LIMIT 1",
        [STMT_ROLE_INSERT] = "INSERT INTO roles (account, name, title, rank, agency_only) VALUES (?1, ?2, ?3, ?4, ?5)",
        [STMT_ROLE_HOLDERS] = "SELECT count(*) FROM memberships WHERE role = ?1",
        [STMT_ROLE_DELETE] = "DELETE FROM roles WHERE id = ?1",
        [STMT_GRANT_INSERT] = "INSERT INTO grants (role, permission, scopes, cond, cond_key, cond_value) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [STMT_RULE_EXISTS] = "SELECT 1 FROM rules WHERE account = ?1 AND if_pattern = ?2 AND requires_pattern = ?3",
        [STMT_RULE_INSERT] = "INSERT INTO rules (account, if_pattern, requires_pattern) VALUES (?1, ?2, ?3)",
        [STMT_USER_ID] = "SELECT id FROM users WHERE name = ?1",
        [STMT_USER_INSERT] = "INSERT INTO users (name, display_name, enabled) VALUES (?1, ?2, ?3)",
        [STMT_USER_SET_DISPLAY] = "UPDATE users SET display_name = ?2 WHERE id = ?1",
        [STMT_USER_SET_ENABLED] = "UPDATE users SET enabled = ?2 WHERE id = ?1",
        [STMT_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
        [STMT_MEMBERSHIP_ROLE] = "SELECT role FROM memberships WHERE user = ?1 AND account = ?2",
        [STMT_MEMBERSHIP_ACCOUNTS] = "SELECT m.account, a.name FROM memberships m JOIN accounts a ON a.id = m.account "
                                     "WHERE m.user = ?1 ORDER BY a.name",
        [STMT_MEMBERSHIP_INSERT] = "INSERT INTO memberships (user, account, role) VALUES (?1, ?2, ?3)",
        [STMT_MEMBERSHIP_SET_ROLE] = "UPDATE memberships SET role = ?3 WHERE user = ?1 AND account = ?2",
        [STMT_MEMBERSHIP_DELETE] = "DELETE FROM memberships WHERE user = ?1 AND account = ?2",
        [STMT_SET_CLEAR] = "DELETE FROM membership_sets WHERE user = ?1 AND account = ?2 AND kind = ?3",
        [STMT_SET_INSERT] = "INSERT OR IGNORE INTO membership_sets (user, account, kind, value) VALUES (?1, ?2, ?3, ?4)",
        [STMT_AUDIT_INSERT] = "INSERT INTO audit (time, peer_uid, peer_user, as_user, action, target, \"before\", \"after\") "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        [STMT_AUDIT_READ] = "SELECT id, time, peer_uid, peer_user, as_user, action, target, \"before\", \"after\" "
                            "FROM audit WHERE time >= ?1 AND id > ?2 ORDER BY id LIMIT ?3",

        [STMT_LOAD_PERMISSIONS] = "SELECT name, description, builtin FROM permissions ORDER BY name",
        [STMT_LOAD_PLANS] = "SELECT p.name, f.pattern FROM plans p LEFT JOIN plan_features f ON f.plan = p.name "
                            "ORDER BY p.name, f.pattern",
        [STMT_LOAD_ACCOUNTS] = "SELECT a.name, p.name, a.plan, a.seats FROM accounts a "
                               "LEFT JOIN accounts p ON p.id = a.parent ORDER BY a.name",
        [STMT_LOAD_HIDDEN] = "SELECT a.name, h.pattern FROM account_hidden h JOIN accounts a ON a.id = h.account "
                             "ORDER BY a.name, h.pattern",
        [STMT_LOAD_ATTRS] = "SELECT a.name, t.key, t.value FROM account_attrs t JOIN accounts a ON a.id = t.account "
                            "ORDER BY a.name, t.key",
        [STMT_LOAD_ROLES] = "SELECT a.name, r.name, r.title, r.rank, r.agency_only FROM roles r "
                            "JOIN accounts a ON a.id = r.account ORDER BY a.name, r.name",
        [STMT_LOAD_GRANTS] = "SELECT a.name, r.name, g.permission, g.scopes, g.cond, g.cond_key, g.cond_value "
                             "FROM grants g JOIN roles r ON r.id = g.role JOIN accounts a ON a.id = r.account "
                             "ORDER BY a.name, r.name, g.permission, g.rowid",
        [STMT_LOAD_RULES] = "SELECT a.name, r.if_pattern, r.requires_pattern FROM rules r "
                            "JOIN accounts a ON a.id = r.account ORDER BY a.name, r.if_pattern, r.requires_pattern",
        /* The user tables are read in their primary-key order, which is
         * user id order for all of them: no joins and no sorting, so a
         * million users load as fast as SQLite can scan (load_users()). */
        [STMT_LOAD_USERS] = "SELECT id, name, display_name, enabled FROM users ORDER BY id",
        /* In the table's own order: ordered by its primary key, SQLite
         * would walk the index and look each row's role up in the table. */
        [STMT_LOAD_MEMBERSHIPS] = "SELECT user, account, role FROM memberships",
        [STMT_LOAD_SETS] = "SELECT user, account, kind, value FROM membership_sets ORDER BY user, account, kind, value",
        [STMT_LOAD_ACCOUNT_IDS] = "SELECT id, name FROM accounts ORDER BY id",
        [STMT_LOAD_ROLE_IDS] = "SELECT r.id, a.name, r.name FROM roles r JOIN accounts a ON a.id = r.account ORDER BY r.id",

        [STMT_NOTIFICATION_UPSERT] = "INSERT INTO account_notifications (account, name, permission) VALUES (?1, ?2, ?3) "
                                     "ON CONFLICT (account, name) DO UPDATE SET permission = excluded.permission",
        [STMT_NOTIFICATION_DELETE] = "DELETE FROM account_notifications WHERE account = ?1 AND name = ?2",
        [STMT_NOTIFY_ON] = "INSERT OR IGNORE INTO membership_notifications (user, account, name) VALUES (?1, ?2, ?3)",
        [STMT_NOTIFY_OFF] = "DELETE FROM membership_notifications WHERE user = ?1 AND account = ?2 AND name = ?3",
        [STMT_NOTIFY_CLEAR] = "DELETE FROM membership_notifications WHERE user = ?1 AND account = ?2",
        [STMT_LOAD_NOTIFICATIONS] = "SELECT a.name, n.name, n.permission FROM account_notifications n "
                                    "JOIN accounts a ON a.id = n.account ORDER BY a.name, n.name",
        [STMT_LOAD_NOTIFY] = "SELECT user, account, name FROM membership_notifications ORDER BY user, account, name",
};

struct Store {
        sqlite3 *db;
        char *path;
        sqlite3_stmt *stmts[_STMT_MAX];   /* prepared on first use */
};

static void store_freep_internal(Store **s) {
        store_free(*s);
}

static void model_freep_internal(Model **m) {
        model_free(*m);
}

/* ---- errors ------------------------------------------------------------- */

static int errorf(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int errorf(char **ret_error, int r, const char *fmt, ...) {
        if (ret_error) {
                va_list ap;
                char *s;

                va_start(ap, fmt);
                if (vasprintf(&s, fmt, ap) < 0)
                        s = NULL;
                va_end(ap);
                *ret_error = s;
        }
        return r;
}

/* Names that failed validation are echoed in messages, so make them safe to
 * print: control bytes become '?', and long ones are cut. */
static const char *printable(const char *s, char *buf, size_t size) {
        size_t i = 0;

        if (!s)
                return "(null)";
        for (; s[i] && i + 4 < size; i++)
                buf[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        if (s[i] && i >= 3) {
                memcpy(buf + i - 3, "...", 3);
        }
        buf[i] = 0;
        return buf;
}

static int errno_from_sqlite(sqlite3 *db, int rc, bool deleting) {
        switch (rc & 0xff) {
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_IOERR:
                return rc == SQLITE_IOERR_NOMEM ? -ENOMEM : -EIO;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CANTOPEN: {
                int e = db ? sqlite3_system_errno(db) : 0;
                if (e == ENOENT || e == ENOTDIR)
                        return -ENOENT;
                if (e == EROFS)
                        return -EROFS;
                return -EACCES;
        }
        case SQLITE_CONSTRAINT:
                switch (rc) {
                case SQLITE_CONSTRAINT_UNIQUE:
                case SQLITE_CONSTRAINT_PRIMARYKEY:
                        return -EEXIST;
                case SQLITE_CONSTRAINT_FOREIGNKEY:
                        /* Deleting something still referred to, or
                         * referring to something that is not there. */
                        return deleting ? -EBUSY : -ENOENT;
                default:
                        return -EINVAL;
                }
        case SQLITE_TOOBIG:
        case SQLITE_RANGE:
        case SQLITE_MISMATCH:
                return -EINVAL;
        default:
                return -EIO;
        }
}

static const char *errno_hint(int r) {
        switch (r) {
        case -ENOSPC:
                return "; free some disk space and retry";
        case -EROFS:
                return "; the database or its file system is read-only";
        case -EIO:
                return "; check the disk and the kernel log";
        case -EBADMSG:
                return "; the file is damaged or not a callrole database: restore it from a backup";
        case -EACCES:
                return "; check the owner and mode of the file and its folder";
        case -EBUSY:
                return "; another process holds the database (is another callroled running?)";
        default:
                return "";
        }
}

/* Turns a failed SQLite call into -errno and a message naming the file. */
static int sql_fail(Store *s, int rc, sqlite3_stmt *st, const char *ctx, char **ret_error) {
        const char *sql = st ? sqlite3_sql(st) : NULL;
        bool deleting = sql && strncasecmp(sql, "DELETE", 6) == 0;
        int r = errno_from_sqlite(s->db, rc, deleting);

        return errorf(ret_error, r, "database %s: %s: %s%s", s->path, ctx,
                      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), errno_hint(r));
}

static int oom(Store *s, char **ret_error) {
        return errorf(ret_error, -ENOMEM, "database %s: out of memory", s->path);
}

/* ---- statements ----------------------------------------------------------- */

static void stmt_donep(sqlite3_stmt **st) {
        if (*st) {
                (void) sqlite3_reset(*st);
                (void) sqlite3_clear_bindings(*st);
        }
}
#define _cleanup_stmt_ _cleanup_(stmt_donep)

static int stmt_get(Store *s, int id, sqlite3_stmt **ret, char **ret_error) {
        int rc;

        if (!s->stmts[id]) {
                rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL);
                if (rc != SQLITE_OK) {
                        s->stmts[id] = NULL;
                        return sql_fail(s, rc, NULL, "preparing a statement", ret_error);
                }
        }
        *ret = s->stmts[id];
        return 0;
}

/* Binds arguments described by types: 't' text (const char *, NULL binds
 * NULL), 'i' int64_t, 'j' int64_t where a negative value binds NULL. */
static int stmt_bindv(Store *s, sqlite3_stmt *st, const char *ctx, char **ret_error, const char *types, va_list ap) {
        int idx = 1, rc = SQLITE_OK;

        for (const char *t = types; *t && rc == SQLITE_OK; t++, idx++) {
                switch (*t) {
                case 't': {
                        const char *v = va_arg(ap, const char *);
                        rc = v ? sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
                        break;
                }
                case 'i':
                        rc = sqlite3_bind_int64(st, idx, va_arg(ap, int64_t));
                        break;
                case 'j': {
                        int64_t v = va_arg(ap, int64_t);
                        rc = v < 0 ? sqlite3_bind_null(st, idx) : sqlite3_bind_int64(st, idx, v);
                        break;
                }
                default:
                        rc = SQLITE_MISUSE;
                }
        }
        return rc == SQLITE_OK ? 0 : sql_fail(s, rc, st, ctx, ret_error);
}

static int stmt_bind(Store *s, sqlite3_stmt *st, const char *ctx, char **ret_error, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = stmt_bindv(s, st, ctx, ret_error, types, ap);
        va_end(ap);
        return r;
}

/* 1 with a row, 0 when done, or -errno. */
static int stmt_step(Store *s, sqlite3_stmt *st, const char *ctx, char **ret_error) {
        int rc = sqlite3_step(st);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return sql_fail(s, rc, st, ctx, ret_error);
}

/* Gets cached statement id into *st, binds the arguments and takes the
 * first step: 1 with a row, 0 when done, or -errno.  *st belongs to the
 * caller's _cleanup_stmt_ variable, which resets it (invariant 1). */
static int stmt_runv(Store *s, int id, const char *ctx, char **ret_error, sqlite3_stmt **st, const char *types,
                     va_list ap) {
        int r;

        r = stmt_get(s, id, st, ret_error);
        if (r < 0)
                return r;
        r = stmt_bindv(s, *st, ctx, ret_error, types, ap);
        if (r < 0)
                return r;
        return stmt_step(s, *st, ctx, ret_error);
}

/* Runs a statement that returns no rows; returns the rows it changed. */
static int sql_exec(Store *s, int id, const char *ctx, char **ret_error, const char *types, ...) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = stmt_runv(s, id, ctx, ret_error, &st, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db);
}

/* Runs a query for one integer: 1 and *ret when a row came back, 0 if none. */
static int sql_int(Store *s, int id, const char *ctx, char **ret_error, int64_t *ret, const char *types, ...) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = stmt_runv(s, id, ctx, ret_error, &st, types, ap);
        va_end(ap);
        if (r <= 0)
                return r;
        if (ret)
                *ret = sqlite3_column_int64(st, 0);
        return 1;
}

/* Runs fixed SQL text, possibly several statements, ignoring rows.  Only
 * for constant schema text and PRAGMAs, which take no parameters. */
static int sql_script(Store *s, const char *sql, const char *ctx, char **ret_error) {
        const char *tail = sql;

        while (tail && *tail) {
                sqlite3_stmt *st = NULL;
                int rc;

                rc = sqlite3_prepare_v2(s->db, tail, -1, &st, &tail);
                if (rc != SQLITE_OK)
                        return sql_fail(s, rc, NULL, ctx, ret_error);
                if (!st)   /* whitespace or a comment */
                        continue;
                do
                        rc = sqlite3_step(st);
                while (rc == SQLITE_ROW);
                if (rc != SQLITE_DONE) {
                        int r = sql_fail(s, rc, st, ctx, ret_error);
                        sqlite3_finalize(st);
                        return r;
                }
                sqlite3_finalize(st);
        }
        return 0;
}

/* Runs one constant PRAGMA or query and returns its first column. */
static int sql_once(Store *s, const char *sql, const char *ctx, char **ret_error, int64_t *ret_int, char **ret_text) {
        sqlite3_stmt *st = NULL;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_fail(s, rc, NULL, ctx, ret_error);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                if (ret_int)
                        *ret_int = sqlite3_column_int64(st, 0);
                if (ret_text) {
                        const unsigned char *t = sqlite3_column_text(st, 0);
                        *ret_text = strdup(t ? (const char *) t : "");
                        if (!*ret_text)
                                r = oom(s, ret_error);
                }
        } else if (rc == SQLITE_DONE) {
                if (ret_int)
                        *ret_int = 0;
                if (ret_text)
                        *ret_text = NULL;
        } else
                r = sql_fail(s, rc, st, ctx, ret_error);
        sqlite3_finalize(st);
        return r;
}

/* ---- schema ------------------------------------------------------------- */

static const char schema_1[] =
        "CREATE TABLE permissions ("
        "  name TEXT PRIMARY KEY NOT NULL,"
        "  description TEXT,"
        "  builtin INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)));"
        "CREATE TABLE plans ("
        "  name TEXT PRIMARY KEY NOT NULL);"
        "CREATE TABLE plan_features ("
        "  plan TEXT NOT NULL REFERENCES plans (name) ON DELETE CASCADE,"
        "  pattern TEXT NOT NULL,"
        "  PRIMARY KEY (plan, pattern));"
        "CREATE TABLE accounts ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  parent INTEGER REFERENCES accounts (id) ON DELETE RESTRICT,"
        "  plan TEXT REFERENCES plans (name) ON DELETE RESTRICT,"
        "  seats INTEGER CHECK (seats IS NULL OR seats >= 0));"
        "CREATE INDEX accounts_parent ON accounts (parent);"
        "CREATE INDEX accounts_plan ON accounts (plan);"
        "CREATE TABLE account_hidden ("
        "  account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,"
        "  pattern TEXT NOT NULL,"
        "  PRIMARY KEY (account, pattern));"
        "CREATE TABLE account_attrs ("
        "  account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,"
        "  key TEXT NOT NULL,"
        "  value TEXT NOT NULL,"
        "  PRIMARY KEY (account, key));"
        "CREATE TABLE roles ("
        "  id INTEGER PRIMARY KEY,"
        "  account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,"
        "  name TEXT NOT NULL,"
        "  title TEXT NOT NULL,"
        "  rank INTEGER NOT NULL,"
        "  UNIQUE (account, name));"
        "CREATE TABLE grants ("
        "  role INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,"
        "  permission TEXT NOT NULL REFERENCES permissions (name) ON DELETE RESTRICT,"
        "  scopes INTEGER NOT NULL DEFAULT 0,"
        "  cond INTEGER NOT NULL DEFAULT 0,"
        "  cond_key TEXT,"
        "  cond_value TEXT);"
        "CREATE INDEX grants_role ON grants (role);"
        "CREATE INDEX grants_permission ON grants (permission);"
        "CREATE TABLE rules ("
        "  id INTEGER PRIMARY KEY,"
        "  account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,"
        "  if_pattern TEXT NOT NULL,"
        "  requires_pattern TEXT NOT NULL,"
        "  UNIQUE (account, if_pattern, requires_pattern));"
        "CREATE TABLE users ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  display_name TEXT,"
        "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)));"
        "CREATE TABLE memberships ("
        "  user INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
        "  account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,"
        "  role INTEGER NOT NULL REFERENCES roles (id) ON DELETE RESTRICT,"
        "  PRIMARY KEY (user, account));"
        "CREATE INDEX memberships_account ON memberships (account);"
        "CREATE INDEX memberships_role ON memberships (role);"
        "CREATE TABLE membership_sets ("
        "  user INTEGER NOT NULL,"
        "  account INTEGER NOT NULL,"
        "  kind TEXT NOT NULL CHECK (kind IN ('group', 'ivr', 'acg', 'only')),"
        "  value TEXT NOT NULL,"
        "  PRIMARY KEY (user, account, kind, value),"
        "  FOREIGN KEY (user, account) REFERENCES memberships (user, account) ON DELETE CASCADE);"
        "CREATE TABLE audit ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  time INTEGER NOT NULL,"
        "  peer_uid INTEGER NOT NULL,"
        "  peer_user TEXT,"
        "  as_user TEXT,"
        "  action TEXT NOT NULL,"
        "  target TEXT NOT NULL,"
        "  \"before\" TEXT,"
        "  \"after\" TEXT);"
        "CREATE INDEX audit_time ON audit (time);"
        "PRAGMA application_id = 1129475948;"; /* STORE_APPLICATION_ID */

_Static_assert(STORE_APPLICATION_ID == 1129475948, "schema_1 spells the application id in decimal");

static const struct {
        const char *name;
        const char *description;
} builtin_permissions[] = {
        { "login", "Log in to the host" },
        { "softphone.use", "Make and take calls with the softphone" },
        { "calls.view", "See calls in the call log" },
        { "calls.listen", "Listen to call recordings" },
        { "calls.export", "Export calls and recordings" },
        { "texts.view", "See text messages" },
        { "texts.send", "Send text messages" },
        { "reports.view_tab", "Open the reports tab" },
        { "reports.missed_opportunities.view", "See the missed-opportunities report" },
        { "reports.edit", "Create and change reports" },
        { "numbers.view", "See tracking numbers" },
        { "numbers.purchase", "Buy numbers" },
        { "numbers.request", "Request numbers" },
        { "numbers.port", "Port numbers in from another carrier" },
        { "users.view", "See users" },
        { "users.create", "Create users" },
        { "users.edit", "Change users and their roles" },
        { "users.delete", "Delete users" },
        { "billing.invoices.view", "See invoices" },
        { "billing.payment.edit", "Change payment details" },
        { "recordings.configure", "Configure call recording" },
        { "integrations.edit", "Change integrations" },
        { "settings.edit", "Change account settings" },
        { "agency.settings.edit", "Change agency settings" },
        { "agency.accounts.create", "Create sub-accounts of an agency" },
        { "agency.cancel", "Cancel the agency" },
        { "call_monitor.join", "Join live calls (listen, whisper, barge)" },
        { "campaigns.manage", "Manage campaigns" },
        { "contacts.edit", "Change contacts" },
        { "analytics.view", "See analytics" },
};

static int migrate_1(Store *s, char **ret_error) {
        const char *ctx = "creating the schema";
        int r;

        r = sql_script(s, schema_1, ctx, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(builtin_permissions); i++) {
                r = sql_exec(s, STMT_PERMISSION_INSERT, ctx, ret_error, "tti", builtin_permissions[i].name,
                             builtin_permissions[i].description, (int64_t) 1);
                if (r < 0)
                        return r;
        }
        r = sql_exec(s, STMT_ACCOUNT_INSERT, ctx, ret_error, "tjtj", DEFAULT_ACCOUNT, (int64_t) -1, (const char *) NULL,
                     (int64_t) -1);
        return r < 0 ? r : 0;
}

/*
 * Schema 2: what the shipped profiles need beyond schema 1.
 *   - roles.agency_only: a role that may be held only in an agency (an
 *     account with sub-accounts, or marked kind=agency);
 *   - account_notifications: notifications an account defines ("name" needs
 *     "permission" to be switched on), usable in its sub-accounts too;
 *   - membership_notifications: the notifications a user has switched on in
 *     an account.  They go with the membership (deleting it deletes them)
 *     and are validated against the membership's role by the policy engine.
 * Existing roles become ordinary (agency_only 0); nobody has a notification.
 */
static const char schema_2[] =
        "ALTER TABLE roles ADD COLUMN agency_only INTEGER NOT NULL DEFAULT 0 CHECK (agency_only IN (0, 1));"
        "CREATE TABLE account_notifications ("
        "  account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,"
        "  name TEXT NOT NULL,"
        "  permission TEXT NOT NULL REFERENCES permissions (name) ON DELETE RESTRICT,"
        "  PRIMARY KEY (account, name));"
        "CREATE INDEX account_notifications_permission ON account_notifications (permission);"
        "CREATE TABLE membership_notifications ("
        "  user INTEGER NOT NULL,"
        "  account INTEGER NOT NULL,"
        "  name TEXT NOT NULL,"
        "  PRIMARY KEY (user, account, name),"
        "  FOREIGN KEY (user, account) REFERENCES memberships (user, account) ON DELETE CASCADE);";

static int migrate_2(Store *s, char **ret_error) {
        return sql_script(s, schema_2, "adding agency-only roles and notifications", ret_error);
}

/* migrations[v] moves schema version v to v + 1.  A migration, once
 * released, is never edited: a database at version v has run exactly
 * migrations[0..v-1] as they were then. */
static int (*const migrations[])(Store *s, char **ret_error) = {
        migrate_1,
        migrate_2,
};
_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION, "one migration per schema version");

static int migrate(Store *s, int64_t from, char **ret_error) {
        for (int64_t v = from; v < STORE_SCHEMA_VERSION; v++) {
                char ctx[64], pragma[64];
                int r;

                snprintf(ctx, sizeof(ctx), "migrating the schema to version %" PRId64, v + 1);
                r = sql_exec(s, STMT_BEGIN, ctx, ret_error, "");
                if (r < 0)
                        return r;
                r = migrations[v](s, ret_error);
                if (r >= 0) {
                        /* PRAGMA takes no parameters; v is our own counter. */
                        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %" PRId64, v + 1);
                        r = sql_script(s, pragma, ctx, ret_error);
                }
                if (r >= 0)
                        r = sql_exec(s, STMT_COMMIT, ctx, ret_error, "");
                if (r < 0) {
                        (void) sql_exec(s, STMT_ROLLBACK, ctx, NULL, "");
                        return r;
                }
        }
        return 0;
}

/* ---- opening ------------------------------------------------------------ */

static const char *access_hint(int e) {
        if (e == EROFS)
                return "the file system is mounted read-only";
        if (e == EACCES || e == EPERM)
                return "check the file's owner and mode";
        return "check the path";
}

/* The folder must exist and be writable: SQLite creates the database and
 * its write-ahead log there. */
static int check_folder(const char *path, bool creating, char **ret_error) {
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(path, '/');
        struct stat st;

        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        if (stat(dir, &st) < 0) {
                int e = errno;
                if (e == ENOENT || e == ENOTDIR)
                        return errorf(ret_error, -ENOENT,
                                      "cannot %s database %s: folder %s does not exist; create it or give another path",
                                      creating ? "create" : "open", path, dir);
                return errorf(ret_error, -e, "cannot %s database %s: cannot reach folder %s: %s; %s",
                              creating ? "create" : "open", path, dir, strerror(e), access_hint(e));
        }
        if (!S_ISDIR(st.st_mode))
                return errorf(ret_error, -ENOTDIR, "cannot %s database %s: %s is not a folder",
                              creating ? "create" : "open", path, dir);
        if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
                int e = errno;
                return errorf(ret_error, -e,
                              "cannot %s database %s: folder %s is not writable (%s), and SQLite keeps its "
                              "write-ahead log beside the database; %s",
                              creating ? "create" : "open", path, dir, strerror(e),
                              e == EROFS ? "the file system is mounted read-only"
                                         : "check the folder's owner and mode");
        }
        return 0;
}

/* Checks an existing file before SQLite opens it, so that problems get a
 * clear message and a file that is not a SQLite database is never written. */
static int check_file(const char *path, char **ret_error) {
        static const char magic[16] = "SQLite format 3";   /* with its NUL */
        _cleanup_close_ int fd = -1;
        struct stat st;
        char header[100];
        ssize_t n;

        if (stat(path, &st) < 0) {
                int e = errno;
                if (e == ENOENT)
                        return check_folder(path, true, ret_error);
                return errorf(ret_error, -e, "cannot open database %s: %s; %s", path, strerror(e), access_hint(e));
        }
        if (S_ISDIR(st.st_mode))
                return errorf(ret_error, -EISDIR, "cannot open database %s: it is a folder; give the path of a file",
                              path);
        if (!S_ISREG(st.st_mode))
                return errorf(ret_error, -EINVAL, "cannot open database %s: it is not a regular file", path);

        fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;
                return errorf(ret_error, -e, "cannot open database %s: %s; %s (callroled runs as uid %u)", path,
                              strerror(e), access_hint(e), (unsigned) geteuid());
        }
        if (st.st_size > 0) {
                /* An empty file is a new database; anything else must start
                 * with SQLite's 100-byte header. */
                n = pread(fd, header, sizeof(header), 0);
                if (n < 0) {
                        int e = errno;
                        return errorf(ret_error, -e, "cannot read database %s: %s", path, strerror(e));
                }
                if ((size_t) n < sizeof(header) || memcmp(header, magic, sizeof(magic)) != 0)
                        return errorf(ret_error, -EBADMSG,
                                      "database %s is not a SQLite database; it was left untouched: move it "
                                      "away or give another path",
                                      path);
        }
        return check_folder(path, false, ret_error);
}

static int configure(Store *s, char **ret_error) {
        _cleanup_free_ char *mode = NULL;
        int64_t app_id, version, objects, fk;
        int r;

        /* Before WAL, so the lock is taken once and no -shm index is made. */
        r = sql_once(s, "PRAGMA locking_mode = EXCLUSIVE", "setting the locking mode", ret_error, NULL, NULL);
        if (r < 0)
                return r;

        /* Read-only inspection first: nothing is written to a file we
         * refuse.  Reading the header here is also what fails on a damaged
         * file. */
        r = sql_once(s, "PRAGMA application_id", "reading the application id", ret_error, &app_id, NULL);
        if (r < 0)
                return r;
        r = sql_once(s, "PRAGMA user_version", "reading the schema version", ret_error, &version, NULL);
        if (r < 0)
                return r;
        r = sql_once(s, "SELECT count(*) FROM sqlite_schema", "reading the schema", ret_error, &objects, NULL);
        if (r < 0)
                return r;

        if (app_id != 0 && app_id != STORE_APPLICATION_ID)
                return errorf(ret_error, -EBADMSG,
                              "database %s belongs to another application (application id 0x%08" PRIx64
                              "); it was left untouched: give another path",
                              s->path, (uint64_t) app_id);
        if (version == 0 && objects > 0)
                return errorf(ret_error, -EBADMSG,
                              "database %s is a SQLite database but not a callrole one (it has tables and no "
                              "schema version); it was left untouched: give another path",
                              s->path);
        if (version < 0 || version > STORE_SCHEMA_VERSION)
                return errorf(ret_error, -EPROTONOSUPPORT,
                              "database %s has schema version %" PRId64
                              ", this callroled supports up to %d; upgrade callrole",
                              s->path, version, STORE_SCHEMA_VERSION);

        r = sql_once(s, "PRAGMA journal_mode = WAL", "switching to WAL", ret_error, NULL, &mode);
        if (r < 0)
                return r;
        if (!mode || strcasecmp(mode, "wal") != 0)
                return errorf(ret_error, -EIO, "database %s: cannot switch to WAL journal mode (got '%s')", s->path,
                              mode ? mode : "nothing");
        r = sql_once(s, "PRAGMA synchronous = FULL", "setting synchronous", ret_error, NULL, NULL);
        if (r < 0)
                return r;
        r = sql_once(s, "PRAGMA foreign_keys = ON", "enabling foreign keys", ret_error, NULL, NULL);
        if (r < 0)
                return r;
        r = sql_once(s, "PRAGMA foreign_keys", "enabling foreign keys", ret_error, &fk, NULL);
        if (r < 0)
                return r;
        if (fk != 1)
                return errorf(ret_error, -EOPNOTSUPP,
                              "database %s: this SQLite library cannot enforce foreign keys", s->path);

        return migrate(s, version, ret_error);
}

int store_open(const char *path, Store **ret, char **ret_error) {
        _cleanup_(store_freep_internal) Store *s = NULL;
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        int rc, r;

        if (isempty(path) || !ret)
                return -EINVAL;

        r = check_file(path, ret_error);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;

#ifdef SQLITE_OPEN_EXRESCODE
        flags |= SQLITE_OPEN_EXRESCODE;
#endif
        rc = sqlite3_open_v2(path, &s->db, flags, NULL);
        if (rc != SQLITE_OK) {
                r = errno_from_sqlite(s->db, rc, false);
                return errorf(ret_error, r, "cannot open database %s: %s%s", path,
                              s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), errno_hint(r));
        }
        (void) sqlite3_extended_result_codes(s->db, 1);
        (void) sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

        r = configure(s, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(s->stmts[i]);
        /* An open transaction is rolled back by closing; with WAL and the
         * exclusive lock, closing also checkpoints and removes the log. */
        if (s->db)
                (void) sqlite3_close_v2(s->db);
        free(s->path);
        free(s);
        return NULL;
}

const char *store_path(const Store *s) {
        return s ? s->path : NULL;
}

/* ---- transactions ----------------------------------------------------------- */

int store_check_writable(Store *s, char **ret_error) {
        _cleanup_free_ char *wal = NULL;

        if (!s)
                return -EINVAL;
        if (asprintf(&wal, "%s-wal", s->path) < 0)
                return -ENOMEM;
        for (int i = 0; i < 2; i++) {
                const char *p = i == 0 ? s->path : wal;
                if (faccessat(AT_FDCWD, p, W_OK, AT_EACCESS) < 0 && errno != ENOENT) {
                        int e = errno;
                        return errorf(ret_error, -EROFS,
                                      "database %s cannot be written (%s: %s); nothing was changed: make it writable "
                                      "again (checks are still answered)",
                                      s->path, p, strerror(e));
                }
        }
        return 0;
}


static bool in_transaction(Store *s) {
        return !sqlite3_get_autocommit(s->db);
}

int store_begin(Store *s, char **ret_error) {
        int r;

        if (!s)
                return -EINVAL;
        if (in_transaction(s))
                return errorf(ret_error, -EBUSY, "database %s: a transaction is already open", s->path);
        r = sql_exec(s, STMT_BEGIN, "starting a transaction", ret_error, "");
        return r < 0 ? r : 0;
}

/* A failed COMMIT may leave the transaction open (SQLITE_BUSY) or may not;
 * roll back either way, so after a failure nothing is pending and nothing
 * was changed. */
int store_commit(Store *s, char **ret_error) {
        int r;

        if (!s)
                return -EINVAL;
        if (!in_transaction(s))
                return errorf(ret_error, -EINVAL, "database %s: no transaction to commit", s->path);
        r = sql_exec(s, STMT_COMMIT, "committing", ret_error, "");
        if (r < 0) {
                (void) store_rollback(s);
                return r;
        }
        return 0;
}

int store_rollback(Store *s) {
        int r;

        if (!s)
                return -EINVAL;
        if (!in_transaction(s))
                return 0;
        r = sql_exec(s, STMT_ROLLBACK, "rolling back", NULL, "");
        return r < 0 ? r : 0;
}

int store_change_begin(Store *s, char **ret_error) {
        if (!s)
                return -EINVAL;
        if (!in_transaction(s))
                return errorf(ret_error, -EINVAL, "database %s: a change outside a transaction", s->path);
        return sql_exec(s, STMT_CHANGE_SAVEPOINT, "starting a change", ret_error, "") < 0 ? -EIO : 0;
}

int store_change_end(Store *s, bool keep, char **ret_error) {
        int r;

        if (!s)
                return -EINVAL;
        if (!keep)
                (void) sql_exec(s, STMT_CHANGE_ROLLBACK_TO, "undoing a change", NULL, "");
        r = sql_exec(s, STMT_CHANGE_RELEASE, "ending a change", ret_error, "");
        return r < 0 ? r : 0;
}

bool store_in_transaction(Store *s) {
        return s && in_transaction(s);
}

/* ---- reading change records ------------------------------------------------- */

/* A change names its fields; anything else is a mistake of the sender that
 * should not pass silently. */
static int check_fields(const struct cr_record *p, const char *method, const char *const *known,
                        char **ret_error) {
        for (size_t i = 0; i < p->n_fields; i++) {
                bool found = false;
                char buf[CR_NAME_MAX + 8];

                for (const char *const *k = known; *k; k++)
                        if (strcmp(p->fields[i].key, *k) == 0)
                                found = true;
                if (!found)
                        return errorf(ret_error, -EINVAL, "%s does not take the field '%s'", method,
                                      printable(p->fields[i].key, buf, sizeof(buf)));
        }
        return 0;
}

/* A scalar field: NULL when absent, "" when present without a value. */
static int field_scalar(const struct cr_record *p, const char *method, const char *key, bool required,
                        const char **ret, char **ret_error) {
        const struct cr_field *f = cr_record_field(p, key);

        if (!f) {
                if (required)
                        return errorf(ret_error, -EINVAL, "%s needs the field '%s'", method, key);
                *ret = NULL;
                return 0;
        }
        if (f->n_values > 1)
                return errorf(ret_error, -EINVAL, "%s: the field '%s' takes one value, not %zu", method, key,
                              f->n_values);
        *ret = f->n_values == 1 ? f->values[0] : "";
        return 0;
}

static int check_name(const char *what, const char *value, char **ret_error) {
        char buf[CR_NAME_MAX + 8];

        if (name_is_valid(value) >= 0)
                return 0;
        return errorf(ret_error, -EINVAL,
                      "invalid %s name '%s': a name is 1 to %u printable ASCII characters without spaces or "
                      "any of \"'`/@+,=\\;:|<>*?[]{}()$&#!, and does not start with '-' or '.'",
                      what, printable(value, buf, sizeof(buf)), CR_NAME_MAX);
}

/* Permission patterns (fnmatch(3)): the name alphabet plus * ? [ ] !. */
static int check_pattern(const char *what, const char *value, char **ret_error) {
        char buf[CR_NAME_MAX + 8];
        size_t n = value ? strnlen(value, CR_NAME_MAX + 1) : 0;
        bool ok = n > 0 && n <= CR_NAME_MAX;

        for (size_t i = 0; ok && i < n; i++) {
                unsigned char ch = (unsigned char) value[i];
                if (ch <= 0x20 || ch >= 0x7f || strchr("\"'`/@+,=\\;:|<>{}()$&#", ch))
                        ok = false;
        }
        if (ok)
                return 0;
        return errorf(ret_error, -EINVAL,
                      "invalid %s '%s': a pattern is 1 to %u characters of permission names and * ? [ ] !", what,
                      printable(value, buf, sizeof(buf)), CR_NAME_MAX);
}

/* Titles, descriptions, display names: any text but control characters. */
static int check_text(const char *what, const char *value, char **ret_error) {
        char buf[80];

        for (const char *c = value; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return errorf(ret_error, -EINVAL, "invalid %s '%s': control characters are not allowed",
                                      what, printable(value, buf, sizeof(buf)));
        if (strlen(value) > CR_STR_MAX)
                return errorf(ret_error, -EINVAL, "invalid %s: longer than %u bytes", what, CR_STR_MAX);
        return 0;
}

/* A whole decimal integer: no blanks, no trailing bytes, no overflow. */
static int parse_int64(const char *s, int64_t *ret) {
        char *end = NULL;
        long long v;

        if (isempty(s) || !(s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || !end || *end != 0 || end == s)
                return -EINVAL;
        *ret = (int64_t) v;
        return 0;
}

static int parse_seats(const char *s, int64_t *ret, char **ret_error) {
        char buf[80];
        int64_t v;

        if (isempty(s) || strcmp(s, "unlimited") == 0) {
                *ret = -1;
                return 0;
        }
        if (parse_int64(s, &v) < 0 || v < 0)
                return errorf(ret_error, -EINVAL, "seats must be a non-negative integer or 'unlimited', not '%s'",
                              printable(s, buf, sizeof(buf)));
        *ret = v;
        return 0;
}

static int parse_yes_no(const char *key, const char *s, bool *ret, char **ret_error) {
        char buf[80];

        if (strcmp(s, "yes") == 0)
                *ret = true;
        else if (strcmp(s, "no") == 0)
                *ret = false;
        else
                return errorf(ret_error, -EINVAL, "%s must be 'yes' or 'no', not '%s'", key,
                              printable(s, buf, sizeof(buf)));
        return 0;
}

/* "KEY=VALUE" of an account attribute.  *ret_value is "" for "KEY=". */
static int split_attr(const char *s, char *key, size_t key_size, const char **ret_value, char **ret_error) {
        const char *eq = strchr(s, '=');
        char buf[80];
        size_t n;

        if (!eq)
                return errorf(ret_error, -EINVAL, "invalid attribute '%s': write KEY=VALUE",
                              printable(s, buf, sizeof(buf)));
        n = (size_t) (eq - s);
        if (n == 0 || n >= key_size)
                return errorf(ret_error, -EINVAL, "invalid attribute '%s': the key must be a name",
                              printable(s, buf, sizeof(buf)));
        memcpy(key, s, n);
        key[n] = 0;
        if (check_name("attribute key", key, ret_error) < 0)
                return -EINVAL;
        if (eq[1] && check_name("attribute value", eq + 1, ret_error) < 0)
                return -EINVAL;
        *ret_value = eq + 1;
        return 0;
}

/* Every value of f (NULL: no values) is a "KEY=VALUE" split_attr() takes. */
static int check_attrs(const struct cr_field *f, char **ret_error) {
        for (size_t i = 0; f && i < f->n_values; i++) {
                char key[CR_NAME_MAX + 1];
                const char *value;
                int r = split_attr(f->values[i], key, sizeof(key), &value, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The membership lists: wire field, kind in membership_sets, whether the
 * values are patterns (only) or names. */
static const struct {
        const char *field;
        const char *kind;
        bool pattern;
} set_kinds[] = {
        { "groups", "group", false },
        { "ivrs", "ivr", false },
        { "acg", "acg", false },
        { "only", "only", true },
};

static int check_sets(const struct cr_record *p, char **ret_error) {
        for (size_t k = 0; k < ELEMENTSOF(set_kinds); k++) {
                const struct cr_field *f = cr_record_field(p, set_kinds[k].field);
                char what[32];

                if (!f)
                        continue;
                snprintf(what, sizeof(what), "%s entry", set_kinds[k].field);
                for (size_t i = 0; i < f->n_values; i++) {
                        int r = set_kinds[k].pattern ? check_pattern(what, f->values[i], ret_error)
                                                     : check_name(what, f->values[i], ret_error);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static bool has_sets(const struct cr_record *p) {
        for (size_t k = 0; k < ELEMENTSOF(set_kinds); k++)
                if (cr_record_field(p, set_kinds[k].field))
                        return true;
        return false;
}

/* Each list present in p replaces the membership's list of that kind (an
 * empty field clears it); absent lists are left alone. */
static int write_sets(Store *s, int64_t user, int64_t account, const struct cr_record *p, const char *ctx,
                      char **ret_error) {
        for (size_t k = 0; k < ELEMENTSOF(set_kinds); k++) {
                const struct cr_field *f = cr_record_field(p, set_kinds[k].field);
                int r;

                if (!f)
                        continue;
                r = sql_exec(s, STMT_SET_CLEAR, ctx, ret_error, "iit", user, account, set_kinds[k].kind);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < f->n_values; i++) {
                        r = sql_exec(s, STMT_SET_INSERT, ctx, ret_error, "iitt", user, account, set_kinds[k].kind,
                                     f->values[i]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* One value of the notify field: "NAME", "NAME=on" or "NAME=off".  NAME is
 * copied to name (size bytes). */
static int parse_notify(const char *v, char *name, size_t size, bool *ret_on, char **ret_error) {
        const char *eq = strchr(v, '=');
        size_t n = eq ? (size_t) (eq - v) : strlen(v);
        char buf[80];

        if (n == 0 || n >= size)
                return errorf(ret_error, -EINVAL,
                              "invalid notification setting '%s': write NAME, NAME=on or NAME=off",
                              printable(v, buf, sizeof(buf)));
        memcpy(name, v, n);
        name[n] = 0;
        if (check_name("notification", name, ret_error) < 0)
                return -EINVAL;
        if (!eq || strcmp(eq + 1, "on") == 0)
                *ret_on = true;
        else if (strcmp(eq + 1, "off") == 0)
                *ret_on = false;
        else
                return errorf(ret_error, -EINVAL, "notification '%s' can be switched on or off, not '%s'", name,
                              printable(eq + 1, buf, sizeof(buf)));
        return 0;
}

static int check_notify(const struct cr_record *p, char **ret_error) {
        const struct cr_field *f = cr_record_field(p, "notify");

        for (size_t i = 0; f && i < f->n_values; i++) {
                char name[CR_NAME_MAX + 1];
                bool on;
                int r = parse_notify(f->values[i], name, sizeof(name), &on, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The notify field switches notifications on and off in the order given;
 * present without values, it switches all of the membership's off.  Whether
 * a notification exists and the role may have it is the policy engine's
 * question (policy_validate), asked of the whole result. */
static int write_notify(Store *s, int64_t user, int64_t account, const struct cr_record *p, const char *ctx,
                        char **ret_error) {
        const struct cr_field *f = cr_record_field(p, "notify");
        int r;

        if (!f)
                return 0;
        if (f->n_values == 0) {
                r = sql_exec(s, STMT_NOTIFY_CLEAR, ctx, ret_error, "ii", user, account);
                return r < 0 ? r : 0;
        }
        for (size_t i = 0; i < f->n_values; i++) {
                char name[CR_NAME_MAX + 1];
                bool on;

                r = parse_notify(f->values[i], name, sizeof(name), &on, ret_error);
                if (r < 0)
                        return r;
                r = sql_exec(s, on ? STMT_NOTIFY_ON : STMT_NOTIFY_OFF, ctx, ret_error, "iit", user, account, name);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- resolving names ---------------------------------------------------------- */

static int resolve_account(Store *s, const char *what, const char *name, const char *ctx, int64_t *ret,
                           char **ret_error) {
        int r;

        r = check_name(what, name, ret_error);
        if (r < 0)
                return r;
        r = sql_int(s, STMT_ACCOUNT_ID, ctx, ret_error, ret, "t", name);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(ret_error, -ENOENT, "unknown %s '%s'; add it with 'callrolectl account add %s'", what,
                              name, name);
        return 0;
}

/* The account a change names, or the default account when it names none;
 * *account becomes the name used, for the caller's messages. */
static int resolve_account_or_default(Store *s, const char **account, const char *ctx, int64_t *ret,
                                      char **ret_error) {
        if (isempty(*account))
                *account = DEFAULT_ACCOUNT;
        return resolve_account(s, "account", *account, ctx, ret, ret_error);
}

/* The role named role in the account or, failing that, the nearest agency
 * above it: agency roles are usable in sub-accounts. */
static int resolve_role(Store *s, int64_t account_id, const char *account, const char *role, const char *ctx,
                        int64_t *ret, char **ret_error) {
        int r;

        r = sql_int(s, STMT_ROLE_RESOLVE, ctx, ret_error, ret, "iti", account_id, role, (int64_t) ACCOUNT_DEPTH_MAX);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(ret_error, -ENOENT,
                              "unknown role '%s' in account '%s' or its agencies; list the roles with "
                              "'callrolectl role list --account %s'",
                              role, account, account);
        return 0;
}

static int resolve_user(Store *s, const char *name, const char *ctx, int64_t *ret, char **ret_error) {
        int r;

        r = sql_int(s, STMT_USER_ID, ctx, ret_error, ret, "t", name);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(ret_error, -ENOENT, "unknown user '%s'", name);
        return 0;
}

static int require_membership(Store *s, const char *user, int64_t user_id, const char *account,
                              int64_t account_id, const char *ctx, char **ret_error) {
        int r;

        r = sql_int(s, STMT_MEMBERSHIP_ROLE, ctx, ret_error, NULL, "ii", user_id, account_id);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(ret_error, -ENOENT,
                              "user '%s' has no role in account '%s'; give them one with "
                              "'callrolectl user add %s --role ROLE --account %s'",
                              user, account, user, account);
        return 0;
}

/* The account meant when a change of a user's membership leaves it out:
 * the user's only one. */
static int sole_membership(Store *s, const char *user, int64_t user_id, const char *ctx, int64_t *ret_id,
                           char **ret_account, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *first = NULL, *list = NULL;
        int64_t id = -1;
        size_t n = 0;
        int r;

        r = stmt_get(s, STMT_MEMBERSHIP_ACCOUNTS, &st, ret_error);
        if (r < 0)
                return r;
        r = stmt_bind(s, st, ctx, ret_error, "i", user_id);
        if (r < 0)
                return r;
        while ((r = stmt_step(s, st, ctx, ret_error)) > 0) {
                const char *name = (const char *) sqlite3_column_text(st, 1);
                char *l;

                if (!name)
                        return oom(s, ret_error);
                if (n == 0) {
                        id = sqlite3_column_int64(st, 0);
                        first = strdup(name);
                        if (!first)
                                return oom(s, ret_error);
                }
                if (n < 5) {
                        if (asprintf(&l, "%s%s%s", list ? list : "", list ? ", " : "", name) < 0)
                                return oom(s, ret_error);
                        free(list);
                        list = l;
                }
                n++;
        }
        if (r < 0)
                return r;
        if (n == 0)
                return errorf(ret_error, -ENOENT,
                              "user '%s' has no role in any account; give them one with "
                              "'callrolectl user add %s --role ROLE'",
                              user, user);
        if (n > 1)
                return errorf(ret_error, -ENOTUNIQ,
                              "user '%s' has roles in %zu accounts (%s%s); say which one with --account", user, n,
                              list, n > 5 ? ", ..." : "");
        *ret_id = id;
        *ret_account = TAKE_PTR(first);
        return 0;
}

/* ---- changes -------------------------------------------------------------- */

static int apply_permission_add(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "name", "description", NULL };
        const char *name, *description;
        int r;

        if ((r = check_fields(p, "permission.add", known, ret_error)) < 0 ||
            (r = field_scalar(p, "permission.add", "name", true, &name, ret_error)) < 0 ||
            (r = check_name("permission", name, ret_error)) < 0 ||
            (r = field_scalar(p, "permission.add", "description", false, &description, ret_error)) < 0)
                return r;
        if (description && (r = check_text("description", description, ret_error)) < 0)
                return r;

        r = sql_int(s, STMT_PERMISSION_EXISTS, ctx, ret_error, NULL, "t", name);
        if (r < 0)
                return r;
        if (r > 0)
                return errorf(ret_error, -EEXIST, "permission '%s' already exists", name);
        r = sql_exec(s, STMT_PERMISSION_INSERT, ctx, ret_error, "tti", name, isempty(description) ? NULL : description,
                     (int64_t) 0);
        return r < 0 ? r : 0;
}

/* plan: NULL/""/"none" means no plan of its own. */
static int resolve_plan(Store *s, const char *plan, const char *ctx, const char **ret, char **ret_error) {
        int r;

        if (isempty(plan) || strcmp(plan, "none") == 0) {
                *ret = NULL;
                return 0;
        }
        r = check_name("plan", plan, ret_error);
        if (r < 0)
                return r;
        r = sql_int(s, STMT_PLAN_EXISTS, ctx, ret_error, NULL, "t", plan);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(ret_error, -ENOENT, "unknown plan '%s'; define it first with plan.set", plan);
        *ret = plan;
        return 0;
}

static int apply_account_add(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "name", "parent", "plan", "seats", "attrs", NULL };
        const char *name, *parent, *plan, *seats_s;
        const struct cr_field *attrs = cr_record_field(p, "attrs");
        int64_t parent_id = -1, seats, account_id;
        int r;

        if ((r = check_fields(p, "account.add", known, ret_error)) < 0 ||
            (r = field_scalar(p, "account.add", "name", true, &name, ret_error)) < 0 ||
            (r = check_name("account", name, ret_error)) < 0 ||
            (r = field_scalar(p, "account.add", "parent", false, &parent, ret_error)) < 0 ||
            (r = field_scalar(p, "account.add", "plan", false, &plan, ret_error)) < 0 ||
            (r = field_scalar(p, "account.add", "seats", false, &seats_s, ret_error)) < 0 ||
            (r = parse_seats(seats_s, &seats, ret_error)) < 0)
                return r;
        if (attrs)
                for (size_t i = 0; i < attrs->n_values; i++) {
                        char key[CR_NAME_MAX + 1];
                        const char *value;

                        r = split_attr(attrs->values[i], key, sizeof(key), &value, ret_error);
                        if (r < 0)
                                return r;
                        if (!*value)
                                return errorf(ret_error, -EINVAL, "attribute '%s' of account '%s' has no value",
                                              key, name);
                        for (size_t j = 0; j < i; j++)
                                if (strncmp(attrs->values[j], key, strlen(key)) == 0 &&
                                    attrs->values[j][strlen(key)] == '=')
                                        return errorf(ret_error, -EINVAL,
                                                      "attribute '%s' of account '%s' is given twice", key, name);
                }

        r = sql_int(s, STMT_ACCOUNT_ID, ctx, ret_error, NULL, "t", name);
        if (r < 0)
                return r;
        if (r > 0)
                return errorf(ret_error, -EEXIST, "account '%s' already exists", name);
        if (!isempty(parent) && (r = resolve_account(s, "parent account", parent, ctx, &parent_id, ret_error)) < 0)
                return r;
        r = resolve_plan(s, plan, ctx, &plan, ret_error);
        if (r < 0)
                return r;

        r = sql_exec(s, STMT_ACCOUNT_INSERT, ctx, ret_error, "tjtj", name, parent_id, plan, seats);
        if (r < 0)
                return r;
        account_id = sqlite3_last_insert_rowid(s->db);
        if (attrs)
                for (size_t i = 0; i < attrs->n_values; i++) {
                        char key[CR_NAME_MAX + 1];
                        const char *value;

                        r = split_attr(attrs->values[i], key, sizeof(key), &value, ret_error);
                        if (r < 0)
                                return r;
                        r = sql_exec(s, STMT_ATTR_UPSERT, ctx, ret_error, "itt", account_id, key, value);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* hide adds patterns (hiding one already hidden is no change); unhide
 * removes them and refuses one that is not hidden, which is most likely a
 * typo.  attrs "KEY=VALUE" sets KEY, "KEY=" removes it. */
static int apply_account_set(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "name", "plan", "seats", "hide", "unhide", "attrs", "notifications",
                                             NULL };
        const struct cr_field *hide = cr_record_field(p, "hide"), *unhide = cr_record_field(p, "unhide"),
                              *attrs = cr_record_field(p, "attrs"), *notif = cr_record_field(p, "notifications");
        const char *name, *plan, *seats_s;
        int64_t account_id, seats = -1;
        int r;

        if ((r = check_fields(p, "account.set", known, ret_error)) < 0 ||
            (r = field_scalar(p, "account.set", "name", true, &name, ret_error)) < 0 ||
            (r = field_scalar(p, "account.set", "plan", false, &plan, ret_error)) < 0 ||
            (r = field_scalar(p, "account.set", "seats", false, &seats_s, ret_error)) < 0)
                return r;
        if (!plan && !seats_s && !hide && !unhide && !attrs && !notif)
                return errorf(ret_error, -EINVAL,
                              "account.set changes nothing; give at least one of plan, seats, hide, unhide, attrs, "
                              "notifications");
        if (seats_s && (r = parse_seats(seats_s, &seats, ret_error)) < 0)
                return r;
        for (size_t i = 0; hide && i < hide->n_values; i++)
                if ((r = check_pattern("pattern to hide", hide->values[i], ret_error)) < 0)
                        return r;
        for (size_t i = 0; unhide && i < unhide->n_values; i++)
                if ((r = check_pattern("pattern to unhide", unhide->values[i], ret_error)) < 0)
                        return r;
        /* notifications: NAME=PERMISSION defines one, NAME= removes it. */
        if ((r = check_attrs(attrs, ret_error)) < 0 || (r = check_attrs(notif, ret_error)) < 0)
                return r;

        r = resolve_account(s, "account", name, ctx, &account_id, ret_error);
        if (r < 0)
                return r;
        if (plan) {
                r = resolve_plan(s, plan, ctx, &plan, ret_error);
                if (r < 0)
                        return r;
                r = sql_exec(s, STMT_ACCOUNT_SET_PLAN, ctx, ret_error, "it", account_id, plan);
                if (r < 0)
                        return r;
        }
        if (seats_s) {
                r = sql_exec(s, STMT_ACCOUNT_SET_SEATS, ctx, ret_error, "ij", account_id, seats);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; hide && i < hide->n_values; i++) {
                r = sql_exec(s, STMT_HIDDEN_INSERT, ctx, ret_error, "it", account_id, hide->values[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; unhide && i < unhide->n_values; i++) {
                r = sql_exec(s, STMT_HIDDEN_DELETE, ctx, ret_error, "it", account_id, unhide->values[i]);
                if (r < 0)
                        return r;
                if (r == 0)
                        return errorf(ret_error, -ENOENT, "account '%s' does not hide '%s'", name,
                                      unhide->values[i]);
        }
        for (size_t i = 0; attrs && i < attrs->n_values; i++) {
                char key[CR_NAME_MAX + 1];
                const char *value;

                r = split_attr(attrs->values[i], key, sizeof(key), &value, ret_error);
                if (r < 0)
                        return r;
                if (*value)
                        r = sql_exec(s, STMT_ATTR_UPSERT, ctx, ret_error, "itt", account_id, key, value);
                else
                        r = sql_exec(s, STMT_ATTR_DELETE, ctx, ret_error, "it", account_id, key);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; notif && i < notif->n_values; i++) {
                char key[CR_NAME_MAX + 1];
                const char *perm;

                r = split_attr(notif->values[i], key, sizeof(key), &perm, ret_error);
                if (r < 0)
                        return r;
                if (!*perm) {
                        r = sql_exec(s, STMT_NOTIFICATION_DELETE, ctx, ret_error, "it", account_id, key);
                        if (r == 0)
                                r = errorf(ret_error, -ENOENT, "account '%s' defines no notification '%s'", name, key);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = sql_int(s, STMT_PERMISSION_EXISTS, ctx, ret_error, NULL, "t", perm);
                if (r == 0)
                        r = errorf(ret_error, -ENOENT,
                                   "notification '%s' of account '%s' needs the unknown permission '%s'; add it with "
                                   "'callrolectl permission add %s'",
                                   key, name, perm, perm);
                if (r < 0)
                        return r;
                r = sql_exec(s, STMT_NOTIFICATION_UPSERT, ctx, ret_error, "itt", account_id, key, perm);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int apply_plan_set(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "name", "features", NULL };
        const struct cr_field *features = cr_record_field(p, "features");
        const char *name;
        int r;

        if ((r = check_fields(p, "plan.set", known, ret_error)) < 0 ||
            (r = field_scalar(p, "plan.set", "name", true, &name, ret_error)) < 0 ||
            (r = check_name("plan", name, ret_error)) < 0)
                return r;
        if (strcmp(name, "none") == 0)
                return errorf(ret_error, -EINVAL, "'none' cannot name a plan: it means no plan");
        if (!features)
                return errorf(ret_error, -EINVAL,
                              "plan.set needs the field 'features' (permission patterns; an empty list makes a "
                              "plan without features)");
        for (size_t i = 0; i < features->n_values; i++)
                if ((r = check_pattern("feature pattern", features->values[i], ret_error)) < 0)
                        return r;

        if ((r = sql_exec(s, STMT_PLAN_INSERT, ctx, ret_error, "t", name)) < 0 ||
            (r = sql_exec(s, STMT_PLAN_FEATURES_CLEAR, ctx, ret_error, "t", name)) < 0)
                return r;
        for (size_t i = 0; i < features->n_values; i++)
                if ((r = sql_exec(s, STMT_PLAN_FEATURE_INSERT, ctx, ret_error, "tt", name, features->values[i])) < 0)
                        return r;
        return 0;
}

static int apply_role_add(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "role", "rank", "title", "account", "grants", "agency-only", NULL };
        const struct cr_field *grants = cr_record_field(p, "grants");
        const char *role, *rank_s, *title, *account, *agency_only_s;
        int64_t account_id, rank, role_id;
        bool agency_only = false;
        char buf[80];
        int r;

        if ((r = check_fields(p, "role.add", known, ret_error)) < 0 ||
            (r = field_scalar(p, "role.add", "role", true, &role, ret_error)) < 0 ||
            (r = check_name("role", role, ret_error)) < 0 ||
            (r = field_scalar(p, "role.add", "rank", true, &rank_s, ret_error)) < 0 ||
            (r = field_scalar(p, "role.add", "title", false, &title, ret_error)) < 0 ||
            (r = field_scalar(p, "role.add", "account", false, &account, ret_error)) < 0 ||
            (r = field_scalar(p, "role.add", "agency-only", false, &agency_only_s, ret_error)) < 0)
                return r;
        if (agency_only_s && (r = parse_yes_no("agency-only", agency_only_s, &agency_only, ret_error)) < 0)
                return r;
        if (parse_int64(rank_s, &rank) < 0)
                return errorf(ret_error, -EINVAL, "rank of role '%s' must be an integer, not '%s'", role,
                              printable(rank_s, buf, sizeof(buf)));
        if (isempty(title))
                title = role;
        else if ((r = check_text("title", title, ret_error)) < 0)
                return r;

        r = resolve_account_or_default(s, &account, ctx, &account_id, ret_error);
        if (r < 0)
                return r;
        r = sql_int(s, STMT_ROLE_ID, ctx, ret_error, NULL, "it", account_id, role);
        if (r < 0)
                return r;
        if (r > 0)
                return errorf(ret_error, -EEXIST, "role '%s' already exists in account '%s'", role, account);

        r = sql_exec(s, STMT_ROLE_INSERT, ctx, ret_error, "ittii", account_id, role, title, rank,
                     (int64_t) agency_only);
        if (r < 0)
                return r;
        role_id = sqlite3_last_insert_rowid(s->db);

        /* Half-written roles are undone by the caller's savepoint. */
        for (size_t i = 0; grants && i < grants->n_values; i++) {
                ModelGrant g = {};

                r = grant_parse(grants->values[i], &g, ret_error);
                if (r < 0)
                        return r;
                r = sql_int(s, STMT_PERMISSION_EXISTS, ctx, ret_error, NULL, "t", g.permission);
                if (r == 0)
                        r = errorf(ret_error, -ENOENT,
                                   "unknown permission '%s' in grant '%s' of role '%s'; add it with "
                                   "'callrolectl permission add %s'",
                                   g.permission, grants->values[i], role, g.permission);
                if (r >= 0)
                        r = sql_exec(s, STMT_GRANT_INSERT, ctx, ret_error, "itiitt", role_id, g.permission,
                                     (int64_t) g.scopes, (int64_t) g.cond, g.cond_key, g.cond_value);
                grant_done(&g);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int apply_role_delete(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "role", "account", NULL };
        const char *role, *account;
        int64_t account_id, role_id, holders = 0;
        int r;

        if ((r = check_fields(p, "role.delete", known, ret_error)) < 0 ||
            (r = field_scalar(p, "role.delete", "role", true, &role, ret_error)) < 0 ||
            (r = check_name("role", role, ret_error)) < 0 ||
            (r = field_scalar(p, "role.delete", "account", false, &account, ret_error)) < 0)
                return r;

        r = resolve_account_or_default(s, &account, ctx, &account_id, ret_error);
        if (r < 0)
                return r;
        /* Only the account's own role: an agency's role is deleted there. */
        r = sql_int(s, STMT_ROLE_ID, ctx, ret_error, &role_id, "it", account_id, role);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(ret_error, -ENOENT, "unknown role '%s' in account '%s'", role, account);
        r = sql_int(s, STMT_ROLE_HOLDERS, ctx, ret_error, &holders, "i", role_id);
        if (r < 0)
                return r;
        if (holders > 0)
                return errorf(ret_error, -EBUSY,
                              "role '%s' in account '%s' is held by %" PRId64 " user%s; give %s another role with "
                              "'callrolectl user set NAME --role ROLE' first",
                              role, account, holders, holders == 1 ? "" : "s", holders == 1 ? "them" : "each");
        r = sql_exec(s, STMT_ROLE_DELETE, ctx, ret_error, "i", role_id);
        return r < 0 ? r : 0;
}

static int apply_rule_add(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "if", "requires", "account", NULL };
        const char *if_pattern, *requires, *account;
        int64_t account_id;
        int r;

        if ((r = check_fields(p, "rule.add", known, ret_error)) < 0 ||
            (r = field_scalar(p, "rule.add", "if", true, &if_pattern, ret_error)) < 0 ||
            (r = check_pattern("'if' pattern", if_pattern, ret_error)) < 0 ||
            (r = field_scalar(p, "rule.add", "requires", true, &requires, ret_error)) < 0 ||
            (r = check_pattern("'requires' pattern", requires, ret_error)) < 0 ||
            (r = field_scalar(p, "rule.add", "account", false, &account, ret_error)) < 0)
                return r;

        r = resolve_account_or_default(s, &account, ctx, &account_id, ret_error);
        if (r < 0)
                return r;
        r = sql_int(s, STMT_RULE_EXISTS, ctx, ret_error, NULL, "itt", account_id, if_pattern, requires);
        if (r < 0)
                return r;
        if (r > 0)
                return errorf(ret_error, -EEXIST, "account '%s' already has the rule '%s requires %s'", account,
                              if_pattern, requires);
        r = sql_exec(s, STMT_RULE_INSERT, ctx, ret_error, "itt", account_id, if_pattern, requires);
        return r < 0 ? r : 0;
}

/* user.add of a user who already exists (with no role in this account)
 * adds the membership, and also applies display-name and enabled when they
 * are given: whoever adds the membership is saying what the user is now,
 * and refusing would force a second request for no benefit. */
static int apply_user_add(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "name", "role",    "account", "display-name", "groups", "ivrs",
                                             "acg",  "only",    "enabled", "notify",       NULL };
        const char *name, *role, *account, *display, *enabled_s;
        int64_t account_id, role_id, user_id;
        bool enabled = true;
        int r;

        if ((r = check_fields(p, "user.add", known, ret_error)) < 0 ||
            (r = field_scalar(p, "user.add", "name", true, &name, ret_error)) < 0 ||
            (r = check_name("user", name, ret_error)) < 0 ||
            (r = field_scalar(p, "user.add", "role", true, &role, ret_error)) < 0 ||
            (r = check_name("role", role, ret_error)) < 0 ||
            (r = field_scalar(p, "user.add", "account", false, &account, ret_error)) < 0 ||
            (r = field_scalar(p, "user.add", "display-name", false, &display, ret_error)) < 0 ||
            (r = field_scalar(p, "user.add", "enabled", false, &enabled_s, ret_error)) < 0 ||
            (r = check_sets(p, ret_error)) < 0 || (r = check_notify(p, ret_error)) < 0)
                return r;
        if (display && (r = check_text("display name", display, ret_error)) < 0)
                return r;
        if (enabled_s && (r = parse_yes_no("enabled", enabled_s, &enabled, ret_error)) < 0)
                return r;

        r = resolve_account_or_default(s, &account, ctx, &account_id, ret_error);
        if (r < 0)
                return r;
        r = resolve_role(s, account_id, account, role, ctx, &role_id, ret_error);
        if (r < 0)
                return r;

        r = sql_int(s, STMT_USER_ID, ctx, ret_error, &user_id, "t", name);
        if (r < 0)
                return r;
        if (r > 0) {
                r = sql_int(s, STMT_MEMBERSHIP_ROLE, ctx, ret_error, NULL, "ii", user_id, account_id);
                if (r < 0)
                        return r;
                if (r > 0)
                        return errorf(ret_error, -EEXIST,
                                      "user '%s' already has a role in account '%s'; change it with "
                                      "'callrolectl user set %s --role ROLE --account %s'",
                                      name, account, name, account);
                if (display &&
                    (r = sql_exec(s, STMT_USER_SET_DISPLAY, ctx, ret_error, "it", user_id,
                                  isempty(display) ? NULL : display)) < 0)
                        return r;
                if (enabled_s &&
                    (r = sql_exec(s, STMT_USER_SET_ENABLED, ctx, ret_error, "ii", user_id, (int64_t) enabled)) < 0)
                        return r;
        } else {
                r = sql_exec(s, STMT_USER_INSERT, ctx, ret_error, "tti", name, isempty(display) ? NULL : display,
                             (int64_t) enabled);
                if (r < 0)
                        return r;
                user_id = sqlite3_last_insert_rowid(s->db);
        }

        r = sql_exec(s, STMT_MEMBERSHIP_INSERT, ctx, ret_error, "iii", user_id, account_id, role_id);
        if (r < 0)
                return r;
        r = write_sets(s, user_id, account_id, p, ctx, ret_error);
        if (r < 0)
                return r;
        return write_notify(s, user_id, account_id, p, ctx, ret_error);
}

static int apply_user_set(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "name", "account", "role", "enabled", "display-name",
                                             "groups", "ivrs", "acg", "only", "notify", NULL };
        _cleanup_free_ char *sole = NULL;
        const char *name, *account, *role, *display, *enabled_s;
        int64_t user_id, account_id = -1, role_id;
        bool enabled = true, membership_change;
        int r;

        if ((r = check_fields(p, "user.set", known, ret_error)) < 0 ||
            (r = field_scalar(p, "user.set", "name", true, &name, ret_error)) < 0 ||
            (r = check_name("user", name, ret_error)) < 0 ||
            (r = field_scalar(p, "user.set", "account", false, &account, ret_error)) < 0 ||
            (r = field_scalar(p, "user.set", "role", false, &role, ret_error)) < 0 ||
            (r = field_scalar(p, "user.set", "display-name", false, &display, ret_error)) < 0 ||
            (r = field_scalar(p, "user.set", "enabled", false, &enabled_s, ret_error)) < 0 ||
            (r = check_sets(p, ret_error)) < 0 || (r = check_notify(p, ret_error)) < 0)
                return r;
        if (role && (r = check_name("role", role, ret_error)) < 0)
                return r;
        if (display && (r = check_text("display name", display, ret_error)) < 0)
                return r;
        if (enabled_s && (r = parse_yes_no("enabled", enabled_s, &enabled, ret_error)) < 0)
                return r;
        membership_change = role || has_sets(p) || cr_record_field(p, "notify");
        if (!membership_change && !display && !enabled_s)
                return errorf(ret_error, -EINVAL,
                              "user.set for '%s' changes nothing; give at least one of role, enabled, "
                              "display-name, groups, ivrs, acg, only, notify",
                              name);

        r = resolve_user(s, name, ctx, &user_id, ret_error);
        if (r < 0)
                return r;
        /* A given account always names a membership; a left-out one matters
         * only when a membership changes. */
        if (!isempty(account)) {
                if ((r = resolve_account(s, "account", account, ctx, &account_id, ret_error)) < 0 ||
                    (r = require_membership(s, name, user_id, account, account_id, ctx, ret_error)) < 0)
                        return r;
        } else if (membership_change) {
                r = sole_membership(s, name, user_id, ctx, &account_id, &sole, ret_error);
                if (r < 0)
                        return r;
                account = sole;
        }

        if (role) {
                r = resolve_role(s, account_id, account, role, ctx, &role_id, ret_error);
                if (r < 0)
                        return r;
                r = sql_exec(s, STMT_MEMBERSHIP_SET_ROLE, ctx, ret_error, "iii", user_id, account_id, role_id);
                if (r < 0)
                        return r;
        }
        if (has_sets(p) && (r = write_sets(s, user_id, account_id, p, ctx, ret_error)) < 0)
                return r;
        if ((r = write_notify(s, user_id, account_id, p, ctx, ret_error)) < 0)
                return r;
        if (display &&
            (r = sql_exec(s, STMT_USER_SET_DISPLAY, ctx, ret_error, "it", user_id, isempty(display) ? NULL : display)) <
                    0)
                return r;
        if (enabled_s &&
            (r = sql_exec(s, STMT_USER_SET_ENABLED, ctx, ret_error, "ii", user_id, (int64_t) enabled)) < 0)
                return r;
        return 0;
}

static int apply_user_delete(Store *s, const struct cr_record *p, const char *ctx, char **ret_error) {
        static const char *const known[] = { "name", "account", NULL };
        const char *name, *account;
        int64_t user_id, account_id;
        int r;

        if ((r = check_fields(p, "user.delete", known, ret_error)) < 0 ||
            (r = field_scalar(p, "user.delete", "name", true, &name, ret_error)) < 0 ||
            (r = check_name("user", name, ret_error)) < 0 ||
            (r = field_scalar(p, "user.delete", "account", false, &account, ret_error)) < 0)
                return r;

        r = resolve_user(s, name, ctx, &user_id, ret_error);
        if (r < 0)
                return r;
        if (isempty(account)) {
                /* Memberships and their lists cascade. */
                r = sql_exec(s, STMT_USER_DELETE, ctx, ret_error, "i", user_id);
                return r < 0 ? r : 0;
        }
        if ((r = resolve_account(s, "account", account, ctx, &account_id, ret_error)) < 0 ||
            (r = require_membership(s, name, user_id, account, account_id, ctx, ret_error)) < 0)
                return r;
        r = sql_exec(s, STMT_MEMBERSHIP_DELETE, ctx, ret_error, "ii", user_id, account_id);
        return r < 0 ? r : 0;
}

int store_apply(Store *s, int type, const struct cr_record *params, char **ret_error) {
        int (*fn)(Store *, const struct cr_record *, const char *, char **);
        const char *method = cr_msg_type_to_string(type), *target;
        char ctx[CR_NAME_MAX + 32], buf[CR_NAME_MAX + 8];
        int r;

        if (!s || !params)
                return -EINVAL;
        switch (type) {
        case CR_MSG_PERMISSION_ADD: fn = apply_permission_add; break;
        case CR_MSG_ACCOUNT_ADD: fn = apply_account_add; break;
        case CR_MSG_ACCOUNT_SET: fn = apply_account_set; break;
        case CR_MSG_PLAN_SET: fn = apply_plan_set; break;
        case CR_MSG_ROLE_ADD: fn = apply_role_add; break;
        case CR_MSG_ROLE_DELETE: fn = apply_role_delete; break;
        case CR_MSG_RULE_ADD: fn = apply_rule_add; break;
        case CR_MSG_USER_ADD: fn = apply_user_add; break;
        case CR_MSG_USER_SET: fn = apply_user_set; break;
        case CR_MSG_USER_DELETE: fn = apply_user_delete; break;
        case CR_MSG_IMPORT:
        case CR_MSG_PROFILE_LOAD:
                return errorf(ret_error, -EOPNOTSUPP, "%s is not a store operation: break it into single changes",
                              method);
        default:
                return errorf(ret_error, -EINVAL, "message type 0x%02x is not a change", (unsigned) type & 0xffu);
        }
        if (!in_transaction(s))
                return errorf(ret_error, -EINVAL, "database %s: %s outside a transaction", s->path, method);

        target = cr_record_get(params, "name");
        if (!target)
                target = cr_record_get(params, "role");
        if (!target)
                target = cr_record_get(params, "if");
        snprintf(ctx, sizeof(ctx), "%s '%s'", method, printable(target ? target : "", buf, sizeof(buf)));

        r = sql_exec(s, STMT_SAVEPOINT, ctx, ret_error, "");
        if (r < 0)
                return r;
        r = fn(s, params, ctx, ret_error);
        if (r < 0) {
                /* Invariant 3: undo this change only, keep the transaction. */
                (void) sql_exec(s, STMT_ROLLBACK_TO, ctx, NULL, "");
                (void) sql_exec(s, STMT_RELEASE, ctx, NULL, "");
                return r;
        }
        r = sql_exec(s, STMT_RELEASE, ctx, ret_error, "");
        return r < 0 ? r : 0;
}

/* ---- loading ------------------------------------------------------------ */

/* Appends one zeroed element.  The capacity is implicit, the next power of
 * two ≥ *n, so an array grown one by one is reallocated log2(n) times; it
 * holds only for arrays that grow through here alone. */
static void *array_append(void *array, size_t *n, size_t size) {
        void **a = array;
        char *e;

        if (*n == 0 || (*n & (*n - 1)) == 0) {
                size_t cap = *n == 0 ? 1 : *n * 2;
                void *na;

                if (cap > SIZE_MAX / size)
                        return NULL;
                na = realloc(*a, cap * size);
                if (!na)
                        return NULL;
                *a = na;
        }
        e = (char *) *a + *n * size;
        memset(e, 0, size);
        (*n)++;
        return e;
}

static char **strv_empty(void) {
        return calloc(1, sizeof(char *));
}

/* Copies a column; NULL stays NULL unless the column must not be NULL, in
 * which case the database is damaged. */
static int col_dup(sqlite3_stmt *st, int col, bool nullable, char **ret) {
        const unsigned char *t;

        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
                *ret = NULL;
                return nullable ? 0 : -EBADMSG;
        }
        t = sqlite3_column_text(st, col);
        if (!t)
                return -ENOMEM;
        *ret = strdup((const char *) t);
        return *ret ? 0 : -ENOMEM;
}

static const char *col_text(sqlite3_stmt *st, int col) {
        return (const char *) sqlite3_column_text(st, col);
}

static int load_fail(Store *s, int r, char **ret_error) {
        if (r == -ENOMEM)
                return oom(s, ret_error);
        return errorf(ret_error, r, "database %s: loading the role model: unexpected NULL or dangling row%s",
                      s->path, errno_hint(r));
}

/* The arrays are sorted by name (SQLite's BINARY collation is memcmp, the
 * same order as strcmp for these NUL-free strings), so rows of dependent
 * tables find their parent by binary search. */
static ModelAccount *find_account(Model *m, const char *name) {
        size_t lo = 0, hi = m->n_accounts;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(m->accounts[mid].name, name);
                if (c == 0)
                        return &m->accounts[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static ModelRole *find_role(Model *m, const char *account, const char *id) {
        size_t lo = 0, hi = m->n_roles;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(m->roles[mid].account, account);
                if (c == 0)
                        c = strcmp(m->roles[mid].id, id);
                if (c == 0)
                        return &m->roles[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static const char load_ctx[] = "loading the role model";

/* Opens a load query; the caller steps it. */
static int load_query(Store *s, int id, sqlite3_stmt **ret, char **ret_error) {
        return stmt_get(s, id, ret, ret_error);
}

static int load_permissions(Store *s, Model *m, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if ((r = load_query(s, STMT_LOAD_PERMISSIONS, &st, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, st, load_ctx, ret_error)) > 0) {
                ModelPermission *p = array_append(&m->permissions, &m->n_permissions, sizeof(*p));
                if (!p)
                        return oom(s, ret_error);
                if ((r = col_dup(st, 0, false, &p->name)) < 0 || (r = col_dup(st, 1, true, &p->description)) < 0)
                        return load_fail(s, r, ret_error);
                p->builtin = sqlite3_column_int(st, 2) != 0;
        }
        return r;
}

static int load_plans(Store *s, Model *m, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        ModelPlan *cur = NULL;
        int r;

        if ((r = load_query(s, STMT_LOAD_PLANS, &st, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, st, load_ctx, ret_error)) > 0) {
                const char *name = col_text(st, 0);

                if (!name)
                        return load_fail(s, -EBADMSG, ret_error);
                if (!cur || strcmp(cur->name, name) != 0) {
                        cur = array_append(&m->plans, &m->n_plans, sizeof(*cur));
                        if (!cur || !(cur->name = strdup(name)) || !(cur->features = strv_empty()))
                                return oom(s, ret_error);
                }
                if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
                        const char *f = col_text(st, 1);
                        if (!f || strv_extend(&cur->features, f) < 0)
                                return oom(s, ret_error);
                }
        }
        return r;
}

/* Rows of (account, KEY, VALUE) become "KEY=VALUE" entries of one strv of
 * each account: the one at list_offset in ModelAccount (attrs or
 * notifications). */
static int load_account_pairs(Store *s, Model *m, int id, size_t list_offset, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if ((r = load_query(s, id, &st, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, st, load_ctx, ret_error)) > 0) {
                const char *name = col_text(st, 0), *key = col_text(st, 1), *value = col_text(st, 2);
                ModelAccount *a = name ? find_account(m, name) : NULL;
                _cleanup_free_ char *kv = NULL;

                if (!a || !key || !value)
                        return load_fail(s, -EBADMSG, ret_error);
                if (asprintf(&kv, "%s=%s", key, value) < 0) {
                        kv = NULL;
                        return oom(s, ret_error);
                }
                if (strv_extend((char ***) ((char *) a + list_offset), kv) < 0)
                        return oom(s, ret_error);
        }
        return r;
}

static int load_accounts(Store *s, Model *m, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *hs = NULL;
        int r;

        if ((r = load_query(s, STMT_LOAD_ACCOUNTS, &st, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, st, load_ctx, ret_error)) > 0) {
                ModelAccount *a = array_append(&m->accounts, &m->n_accounts, sizeof(*a));
                if (!a)
                        return oom(s, ret_error);
                if ((r = col_dup(st, 0, false, &a->name)) < 0 || (r = col_dup(st, 1, true, &a->parent)) < 0 ||
                    (r = col_dup(st, 2, true, &a->plan)) < 0)
                        return load_fail(s, r, ret_error);
                a->seats = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
                if (!(a->hidden = strv_empty()) || !(a->attrs = strv_empty()) || !(a->notifications = strv_empty()))
                        return oom(s, ret_error);
        }
        if (r < 0)
                return r;

        if ((r = load_query(s, STMT_LOAD_HIDDEN, &hs, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, hs, load_ctx, ret_error)) > 0) {
                const char *name = col_text(hs, 0), *pattern = col_text(hs, 1);
                ModelAccount *a = name ? find_account(m, name) : NULL;

                if (!a || !pattern)
                        return load_fail(s, -EBADMSG, ret_error);
                if (strv_extend(&a->hidden, pattern) < 0)
                        return oom(s, ret_error);
        }
        if (r < 0)
                return r;

        if ((r = load_account_pairs(s, m, STMT_LOAD_ATTRS, offsetof(ModelAccount, attrs), ret_error)) < 0)
                return r;
        return load_account_pairs(s, m, STMT_LOAD_NOTIFICATIONS, offsetof(ModelAccount, notifications), ret_error);
}

static int load_roles(Store *s, Model *m, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *gs = NULL;
        int r;

        if ((r = load_query(s, STMT_LOAD_ROLES, &st, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, st, load_ctx, ret_error)) > 0) {
                ModelRole *role = array_append(&m->roles, &m->n_roles, sizeof(*role));
                if (!role)
                        return oom(s, ret_error);
                if ((r = col_dup(st, 0, false, &role->account)) < 0 || (r = col_dup(st, 1, false, &role->id)) < 0 ||
                    (r = col_dup(st, 2, false, &role->title)) < 0)
                        return load_fail(s, r, ret_error);
                role->rank = sqlite3_column_int64(st, 3);
                role->agency_only = sqlite3_column_int(st, 4) != 0;
        }
        if (r < 0)
                return r;

        if ((r = load_query(s, STMT_LOAD_GRANTS, &gs, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, gs, load_ctx, ret_error)) > 0) {
                const char *account = col_text(gs, 0), *id = col_text(gs, 1);
                ModelRole *role = account && id ? find_role(m, account, id) : NULL;
                ModelGrant *g;

                if (!role)
                        return load_fail(s, -EBADMSG, ret_error);
                g = array_append(&role->grants, &role->n_grants, sizeof(*g));
                if (!g)
                        return oom(s, ret_error);
                if ((r = col_dup(gs, 2, false, &g->permission)) < 0 || (r = col_dup(gs, 5, true, &g->cond_key)) < 0 ||
                    (r = col_dup(gs, 6, true, &g->cond_value)) < 0)
                        return load_fail(s, r, ret_error);
                g->scopes = (uint32_t) sqlite3_column_int64(gs, 3) & _SCOPE_ALL;
                g->cond = sqlite3_column_int(gs, 4);
        }
        return r;
}

static int load_rules(Store *s, Model *m, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if ((r = load_query(s, STMT_LOAD_RULES, &st, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, st, load_ctx, ret_error)) > 0) {
                ModelRule *rule = array_append(&m->rules, &m->n_rules, sizeof(*rule));
                if (!rule)
                        return oom(s, ret_error);
                if ((r = col_dup(st, 0, false, &rule->account)) < 0 ||
                    (r = col_dup(st, 1, false, &rule->if_pattern)) < 0 ||
                    (r = col_dup(st, 2, false, &rule->requires_pattern)) < 0)
                        return load_fail(s, r, ret_error);
        }
        return r;
}

/* Names by row id, for the user tables, which refer to accounts and roles
 * by id.  Loaded in id order, searched by bisection. */
typedef struct IdName {
        int64_t id;
        char *account;          /* accounts: the name; roles: the role's account */
        char *name;             /* roles: the role id ("call-agent") */
} IdName;

/* The strings are in the model's pool, so memberships can share them. */
typedef struct IdNames {
        IdName *items;
        size_t n;
} IdNames;

static void id_names_done(IdNames *l) {
        free(l->items);
        *l = (IdNames) {};
}

/* A column into the model's pool (see col_dup()). */
static int col_pool(Model *m, sqlite3_stmt *st, int col, bool nullable, char **ret) {
        const char *t;

        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
                if (!nullable)
                        return -EBADMSG;
                *ret = NULL;
                return 0;
        }
        t = col_text(st, col);
        if (!t)
                return -ENOMEM;
        *ret = model_pool_strdup(m, t);
        return *ret ? 0 : -ENOMEM;
}

static const IdName *id_names_find(const IdNames *l, int64_t id) {
        size_t lo = 0, hi = l->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (l->items[mid].id == id)
                        return &l->items[mid];
                if (l->items[mid].id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static int load_id_names(Store *s, Model *m, int stmt, bool roles, IdNames *ret, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if ((r = load_query(s, stmt, &st, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, st, load_ctx, ret_error)) > 0) {
                IdName *e = array_append(&ret->items, &ret->n, sizeof(*e));
                if (!e)
                        return oom(s, ret_error);
                *e = (IdName) { .id = sqlite3_column_int64(st, 0) };
                if ((r = col_pool(m, st, 1, false, &e->account)) < 0 ||
                    (roles && (r = col_pool(m, st, 2, false, &e->name)) < 0))
                        return load_fail(s, r, ret_error);
        }
        return r;
}

/* The rows of the sets and notifications come in user id order, as do the
 * users: those streams are merged against the users with a cursor that
 * only moves forward.  Memberships come in table order and are found by
 * bisection.  A row whose user is not there is a corrupt file. */
static ModelUser *user_at(Model *m, const int64_t *ids, size_t *cursor, int64_t id) {
        while (*cursor < m->n_users && ids[*cursor] < id)
                (*cursor)++;
        return *cursor < m->n_users && ids[*cursor] == id ? &m->users[*cursor] : NULL;
}

static ModelUser *user_by_id(Model *m, const int64_t *ids, int64_t id) {
        size_t lo = 0, hi = m->n_users;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ids[mid] == id)
                        return &m->users[mid];
                if (ids[mid] < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static ModelMembership *find_membership(ModelUser *u, const char *account) {
        for (size_t i = 0; i < u->n_memberships; i++)
                if (strcmp(u->memberships[i].account, account) == 0)
                        return &u->memberships[i];
        return NULL;
}

static int membership_account_cmp(const void *a, const void *b) {
        return strcmp(((const ModelMembership *) a)->account, ((const ModelMembership *) b)->account);
}

static int user_name_cmp(const void *a, const void *b) {
        return strcmp(((const ModelUser *) a)->name, ((const ModelUser *) b)->name);
}

static int load_users(Store *s, Model *m, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *ms = NULL, *ss = NULL, *ns = NULL;
        _cleanup_free_ int64_t *ids = NULL;
        _cleanup_(id_names_done) IdNames accounts = {}, roles = {};
        size_t n_ids = 0, cursor;
        int r;

        if (model_use_pool(m) < 0)
                return oom(s, ret_error);
        if ((r = load_id_names(s, m, STMT_LOAD_ACCOUNT_IDS, false, &accounts, ret_error)) < 0 ||
            (r = load_id_names(s, m, STMT_LOAD_ROLE_IDS, true, &roles, ret_error)) < 0)
                return r;

        if ((r = load_query(s, STMT_LOAD_USERS, &st, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, st, load_ctx, ret_error)) > 0) {
                ModelUser *u = array_append(&m->users, &m->n_users, sizeof(*u));
                int64_t *id = u ? array_append(&ids, &n_ids, sizeof(*id)) : NULL;
                if (!id)
                        return oom(s, ret_error);
                *id = sqlite3_column_int64(st, 0);
                *u = (ModelUser) { .enabled = sqlite3_column_int(st, 3) != 0 };
                if ((r = col_pool(m, st, 1, false, &u->name)) < 0 || (r = col_pool(m, st, 2, true, &u->display_name)) < 0)
                        return load_fail(s, r, ret_error);
        }
        if (r < 0)
                return r;

        if ((r = load_query(s, STMT_LOAD_MEMBERSHIPS, &ms, ret_error)) < 0)
                return r;
        while ((r = stmt_step(s, ms, load_ctx, ret_error)) > 0) {
                ModelUser *u = user_by_id(m, ids, sqlite3_column_int64(ms, 0));
                const IdName *a = id_names_find(&accounts, sqlite3_column_int64(ms, 1)),
                             *role = id_names_find(&roles, sqlite3_column_int64(ms, 2));
                ModelMembership *mm;

                if (!u || !a || !role)
                        return load_fail(s, -EBADMSG, ret_error);
                mm = array_append(&u->memberships, &u->n_memberships, sizeof(*mm));
                if (!mm)
                        return oom(s, ret_error);
                /* The names are the pooled ones of the id lists: shared, not copied. */
                *mm = (ModelMembership) {
                        .account = a->account,
                        .role_account = role->account,
                        .role = role->name,
                        .groups = model_pool_empty_strv(),
                        .ivrs = model_pool_empty_strv(),
                        .acg = model_pool_empty_strv(),
                        .only = model_pool_empty_strv(),
                        .notify = model_pool_empty_strv(),
                };
        }
        if (r < 0)
                return r;
        /* Memberships by account name, as every reader expects them (the
         * table gives them in the order they were made). */
        for (size_t i = 0; i < m->n_users; i++)
                if (m->users[i].n_memberships > 1)
                        qsort(m->users[i].memberships, m->users[i].n_memberships, sizeof(ModelMembership),
                              membership_account_cmp);

        if ((r = load_query(s, STMT_LOAD_SETS, &ss, ret_error)) < 0)
                return r;
        cursor = 0;
        while ((r = stmt_step(s, ss, load_ctx, ret_error)) > 0) {
                ModelUser *u = user_at(m, ids, &cursor, sqlite3_column_int64(ss, 0));
                const IdName *a = id_names_find(&accounts, sqlite3_column_int64(ss, 1));
                const char *kind = col_text(ss, 2), *value = col_text(ss, 3);
                ModelMembership *mm = u && a ? find_membership(u, a->account) : NULL;
                char ***list;

                if (!mm || !kind || !value)
                        return load_fail(s, -EBADMSG, ret_error);
                if (strcmp(kind, "group") == 0)
                        list = &mm->groups;
                else if (strcmp(kind, "ivr") == 0)
                        list = &mm->ivrs;
                else if (strcmp(kind, "acg") == 0)
                        list = &mm->acg;
                else if (strcmp(kind, "only") == 0)
                        list = &mm->only;
                else
                        return load_fail(s, -EBADMSG, ret_error);
                if (model_pool_strv_push(m, list, value) < 0)
                        return oom(s, ret_error);
        }
        if (r < 0)
                return r;

        if ((r = load_query(s, STMT_LOAD_NOTIFY, &ns, ret_error)) < 0)
                return r;
        cursor = 0;
        while ((r = stmt_step(s, ns, load_ctx, ret_error)) > 0) {
                ModelUser *u = user_at(m, ids, &cursor, sqlite3_column_int64(ns, 0));
                const IdName *a = id_names_find(&accounts, sqlite3_column_int64(ns, 1));
                const char *name = col_text(ns, 2);
                ModelMembership *mm = u && a ? find_membership(u, a->account) : NULL;

                if (!mm || !name)
                        return load_fail(s, -EBADMSG, ret_error);
                if (model_pool_strv_push(m, &mm->notify, name) < 0)
                        return oom(s, ret_error);
        }
        if (r < 0)
                return r;
        /* Users are handed over in name order (store.h); ids were only
         * needed for the merges above. */
        if (m->n_users > 1)
                qsort(m->users, m->n_users, sizeof(ModelUser), user_name_cmp);
        return 0;
}

int store_load_user(Store *s, const char *name, ModelUser **ret, char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *ms = NULL, *ss = NULL, *ns = NULL;
        ModelUser *u;
        int64_t id;
        int r;

        if (!s || !name || !ret)
                return -EINVAL;
        if ((r = stmt_get(s, STMT_LOAD_USER, &st, ret_error)) < 0 ||
            (r = stmt_bind(s, st, load_ctx, ret_error, "t", name)) < 0)
                return r;
        r = stmt_step(s, st, load_ctx, ret_error);
        if (r <= 0) {
                if (r == 0)
                        *ret = NULL;
                return r;
        }
        u = calloc(1, sizeof(ModelUser));
        if (!u)
                return oom(s, ret_error);
        id = sqlite3_column_int64(st, 0);
        u->enabled = sqlite3_column_int(st, 3) != 0;
        if ((r = col_dup(st, 1, false, &u->name)) < 0 || (r = col_dup(st, 2, true, &u->display_name)) < 0)
                goto fail;

        if ((r = stmt_get(s, STMT_LOAD_USER_MEMBERSHIPS, &ms, ret_error)) < 0 ||
            (r = stmt_bind(s, ms, load_ctx, ret_error, "i", id)) < 0)
                goto fail;
        while ((r = stmt_step(s, ms, load_ctx, ret_error)) > 0) {
                ModelMembership *mm = array_append(&u->memberships, &u->n_memberships, sizeof(*mm));
                if (!mm) {
                        r = oom(s, ret_error);
                        goto fail;
                }
                if ((r = col_dup(ms, 0, false, &mm->account)) < 0 || (r = col_dup(ms, 1, false, &mm->role_account)) < 0 ||
                    (r = col_dup(ms, 2, false, &mm->role)) < 0 || !(mm->groups = strv_empty()) ||
                    !(mm->ivrs = strv_empty()) || !(mm->acg = strv_empty()) || !(mm->only = strv_empty()) ||
                    !(mm->notify = strv_empty())) {
                        r = r < 0 ? load_fail(s, r, ret_error) : oom(s, ret_error);
                        goto fail;
                }
        }
        if (r < 0)
                goto fail;

        if ((r = stmt_get(s, STMT_LOAD_USER_SETS, &ss, ret_error)) < 0 ||
            (r = stmt_bind(s, ss, load_ctx, ret_error, "i", id)) < 0)
                goto fail;
        while ((r = stmt_step(s, ss, load_ctx, ret_error)) > 0) {
                const char *account = col_text(ss, 0), *kind = col_text(ss, 1), *value = col_text(ss, 2);
                ModelMembership *mm = account ? find_membership(u, account) : NULL;
                char ***list = NULL;

                if (mm && kind)
                        list = strcmp(kind, "group") == 0 ? &mm->groups
                               : strcmp(kind, "ivr") == 0  ? &mm->ivrs
                               : strcmp(kind, "acg") == 0  ? &mm->acg
                               : strcmp(kind, "only") == 0 ? &mm->only
                                                           : NULL;
                if (!list || !value) {
                        r = load_fail(s, -EBADMSG, ret_error);
                        goto fail;
                }
                if (strv_extend(list, value) < 0) {
                        r = oom(s, ret_error);
                        goto fail;
                }
        }
        if (r < 0)
                goto fail;

        if ((r = stmt_get(s, STMT_LOAD_USER_NOTIFY, &ns, ret_error)) < 0 ||
            (r = stmt_bind(s, ns, load_ctx, ret_error, "i", id)) < 0)
                goto fail;
        while ((r = stmt_step(s, ns, load_ctx, ret_error)) > 0) {
                const char *account = col_text(ns, 0), *n = col_text(ns, 1);
                ModelMembership *mm = account ? find_membership(u, account) : NULL;
                if (!mm || !n) {
                        r = load_fail(s, -EBADMSG, ret_error);
                        goto fail;
                }
                if (strv_extend(&mm->notify, n) < 0) {
                        r = oom(s, ret_error);
                        goto fail;
                }
        }
        if (r < 0)
                goto fail;
        *ret = u;
        return 1;

fail:
        model_user_free(u);
        return r < 0 ? r : -EIO;
}

int store_load(Store *s, Model **ret, char **ret_error) {
        _cleanup_(model_freep_internal) Model *m = NULL;
        int r;

        if (!s || !ret)
                return -EINVAL;
        m = model_new();
        if (!m)
                return oom(s, ret_error);
        if ((r = load_permissions(s, m, ret_error)) < 0 || (r = load_plans(s, m, ret_error)) < 0 ||
            (r = load_accounts(s, m, ret_error)) < 0 || (r = load_roles(s, m, ret_error)) < 0 ||
            (r = load_rules(s, m, ret_error)) < 0 || (r = load_users(s, m, ret_error)) < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* ---- audit ------------------------------------------------------------------ */

int store_audit_append(Store *s, const AuditEntry *e, char **ret_error) {
        int r;

        if (!s || !e || isempty(e->action) || !e->target)
                return -EINVAL;
        if (!in_transaction(s))
                return errorf(ret_error, -EINVAL, "database %s: audit record outside a transaction", s->path);
        r = sql_exec(s, STMT_AUDIT_INSERT, "writing the audit", ret_error, "iitttttt", (int64_t) time(NULL),
                     (int64_t) e->peer_uid, e->peer_user, e->as_user, e->action, e->target, e->before, e->after);
        return r < 0 ? r : 0;
}

/* A NULL column becomes a field without values, "" a field with "". */
static int add_text(struct cr_record *rec, const char *key, sqlite3_stmt *st, int col) {
        const char *t;

        if (sqlite3_column_type(st, col) == SQLITE_NULL)
                return cr_record_add_empty(rec, key);
        t = col_text(st, col);
        if (!t)
                return -ENOMEM;
        return cr_record_add(rec, key, t);
}

int store_audit_read(Store *s, int64_t since, int64_t after_id, size_t limit, struct cr_records *ret,
                     char **ret_error) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cr_records l = {};
        const char *ctx = "reading the audit";
        int r;

        if (!s || !ret || since < 0 || after_id < 0)
                return -EINVAL;
        if (limit == 0)
                limit = CR_PAGE_DEFAULT;
        if (limit > CR_RECORDS_MAX)
                limit = CR_RECORDS_MAX;

        if ((r = stmt_get(s, STMT_AUDIT_READ, &st, ret_error)) < 0 ||
            (r = stmt_bind(s, st, ctx, ret_error, "iii", since, after_id, (int64_t) limit)) < 0)
                return r;
        while ((r = stmt_step(s, st, ctx, ret_error)) > 0) {
                struct cr_record *rec = cr_records_append(&l);
                time_t t = (time_t) sqlite3_column_int64(st, 1);
                char when[32];
                struct tm tm;

                if (!rec) {
                        r = oom(s, ret_error);
                        break;
                }
                if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                        snprintf(when, sizeof(when), "@%" PRId64, (int64_t) sqlite3_column_int64(st, 1));
                if (cr_record_addf(rec, "id", "%" PRId64, (int64_t) sqlite3_column_int64(st, 0)) < 0 ||
                    cr_record_add(rec, "time", when) < 0 ||
                    cr_record_addf(rec, "peer-uid", "%" PRId64, (int64_t) sqlite3_column_int64(st, 2)) < 0 ||
                    add_text(rec, "peer-user", st, 3) < 0 || add_text(rec, "as-user", st, 4) < 0 ||
                    add_text(rec, "action", st, 5) < 0 || add_text(rec, "target", st, 6) < 0 ||
                    add_text(rec, "before", st, 7) < 0 || add_text(rec, "after", st, 8) < 0) {
                        r = oom(s, ret_error);
                        break;
                }
        }
        if (r < 0) {
                cr_records_clear(&l);
                return r;
        }
        /* Replaces whatever *ret held. */
        cr_records_clear(ret);
        *ret = l;
        return 0;
}
