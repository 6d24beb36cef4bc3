/*
 * store.h: the narrow interface to the role database.
 *
 * The store owns one SQLite database (WAL, foreign keys on, synchronous=FULL
 * so an acknowledged change survives power loss).  It can (1) load the whole
 * role model, (2) apply changes inside a transaction the caller commits or
 * rolls back, and (3) append and read audit records.  Nothing above this
 * interface sees SQL, so another backend can replace it.
 *
 * Every statement is prepared with bound parameters.  Errors come back as a
 * negative errno and, where a person will read it, a malloc'ed message in
 * *ret_error naming the file or object and the cause.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "callrole-wire.h"
#include "model.h"

typedef struct Store Store;

#define STORE_SCHEMA_VERSION 2

/* Opens (creating if missing) and migrates the database at path.
 * -EACCES/-EROFS/-ENOENT/-EIO..., with ret_error like
 * "cannot open database /x/roles.db: unable to open database file". */
int store_open(const char *path, Store **ret, char **ret_error);
Store *store_free(Store *s);
const char *store_path(const Store *s);

/* Loads everything but the audit.  Inside a transaction it sees the
 * transaction's own changes.  Users come in name order, each with its
 * memberships in account-name order; the users' strings are in the
 * model's pool (model.h). */
int store_load(Store *s, Model **ret, char **ret_error);

/* Can the database still be written?  A file made read-only under a
 * running daemon (mode, immutable flag, read-only mount) would otherwise
 * only show as an I/O error half-way through a commit.  0 or -EROFS with a
 * message naming the file and the cause. */
int store_check_writable(Store *s, char **ret_error);
/* One user as store_load() would give it (strings malloc'ed: free with
 * model_user_free()); 1 and *ret, or 0 and *ret NULL when there is no such
 * user.  Inside a transaction it sees the transaction's own changes. */
int store_load_user(Store *s, const char *name, ModelUser **ret, char **ret_error);
int store_begin(Store *s, char **ret_error);   /* BEGIN IMMEDIATE */
int store_commit(Store *s, char **ret_error);
int store_rollback(Store *s);                  /* always leaves no transaction */
bool store_in_transaction(Store *s);
/* A change inside the open transaction (a savepoint): ended keeping it, or
 * undoing everything since store_change_begin() while the rest of the
 * transaction stays.  How several changes share one commit. */
int store_change_begin(Store *s, char **ret_error);
int store_change_end(Store *s, bool keep, char **ret_error);

/*
 * Applies one change inside the open transaction.  type is a CR_MSG_* change
 * (see docs/protocol.md for each one's fields); params has already been
 * authorised by the caller but not otherwise trusted: the store resolves
 * every name and refuses what does not exist (-ENOENT), already exists
 * (-EEXIST), is still in use (-EBUSY) or is malformed (-EINVAL), with a
 * message naming it.  CR_MSG_IMPORT and CR_MSG_PROFILE_LOAD are not store
 * operations: callers break them into the others.
 */
int store_apply(Store *s, int type, const struct cr_record *params, char **ret_error);

typedef struct AuditEntry {
        uid_t peer_uid;
        const char *peer_user;   /* callrole user the peer maps to, or NULL */
        const char *as_user;     /* --as USER, or NULL */
        const char *action;      /* method name: "user.add" */
        const char *target;      /* "user alice" */
        const char *before;      /* text, NULL when it did not exist */
        const char *after;       /* text, NULL when deleted */
} AuditEntry;

/* Inside the open transaction, so the record commits with the change. */
int store_audit_append(Store *s, const AuditEntry *e, char **ret_error);
/* Records with time ≥ since (unix seconds; 0 = all) and id > after_id,
 * oldest first, at most limit.  Fields: id, time (ISO 8601 UTC), peer-uid,
 * peer-user, as-user, action, target, before, after. */
int store_audit_read(Store *s, int64_t since, int64_t after_id, size_t limit,
                     struct cr_records *ret, char **ret_error);
