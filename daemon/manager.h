/*
 * manager.h: the one struct that owns callroled's state: configuration, the
 * store, the current policy snapshot, the listening socket, the connections
 * and the counters.  main() builds one Manager, runs its event loop, and
 * frees it; nothing else in the daemon keeps state of its own.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "callrole-wire.h"
#include "policy.h"
#include "snapshot.h"
#include "store.h"

#define MANAGER_ADMIN_UIDS_MAX 64
#define MANAGER_CONNECTIONS_MAX_DEFAULT 1024
#define MANAGER_CONNECTIONS_PER_UID_MAX_DEFAULT 32   /* administrators (root: PAM) are exempt */
#define MANAGER_ADMIN_RESERVED_CONNECTIONS 64        /* beyond the total, for administrators only */
#define MANAGER_IDLE_TIMEOUT_USEC_DEFAULT (120ULL * 1000000ULL)  /* no request at all */
#define MANAGER_IO_TIMEOUT_USEC_DEFAULT (10ULL * 1000000ULL)     /* a frame half-read or a reply half-written */
/* A connection gets its next frame dispatched only while less than this is
 * waiting to be written, so a peer that never reads holds at most one
 * reply (≤ CR_REPLY_MAX) and this much. */
#define MANAGER_OUTPUT_HIGH_WATER (64u * 1024u)
/* Frames served from one connection before the others get a turn. */
#define MANAGER_FRAMES_PER_TURN 8u
/* User changes committed together at most (group commit, change.c): past
 * this a group is committed at once, so held replies stay bounded. */
#define MANAGER_GROUP_MAX 256u

typedef struct Connection Connection;

typedef struct Config {
        char *socket_path;
        char *db_path;
        char *profile_dir;
        char *config_path;
        uid_t admin_uids[MANAGER_ADMIN_UIDS_MAX];
        size_t n_admin_uids;
        size_t n_admin_uids_cmdline;   /* the first n came from the command line */
        char *query_group;
        gid_t query_gid;               /* (gid_t) -1: none */
        unsigned max_connections;
        unsigned max_connections_per_uid;
        uint64_t idle_timeout_usec;
        uint64_t io_timeout_usec;
        int log_level;
} Config;

typedef struct Manager {
        Config config;
        sd_event *event;
        sd_event_source *listen_source;
        int listen_fd;
        bool listen_fd_from_systemd;
        bool listen_fd_bound_here;       /* we created the socket file: unlink it at exit */

        Store *store;
        Snapshot *snapshot;
        dev_t db_dev;                    /* the file the store has open */
        ino_t db_ino;

        Connection *connections;         /* doubly linked list */
        unsigned n_connections;

        uint64_t started_usec;
        uint64_t requests;
        uint64_t changes;
        uint64_t refused_connections;
        uint64_t last_limit_log_usec;    /* rate limit of "too many connections" (and EMFILE) */
        uint64_t last_uid_limit_log_usec;   /* ... and of "too many from this uid" */
        sd_event_source *accept_retry_source;   /* re-enables accepting after EMFILE */
        bool exiting;

        /* change.c: the open group of user changes (group commit) */
        bool group_open;                 /* a transaction holds the group's changes */
        SnapshotUndo undo;               /* how to take the group's patches back */
        struct GroupMember *group;       /* whose replies wait for the COMMIT */
        size_t n_group, group_cap;
        sd_event_source *group_source;   /* commits at the end of each round of the loop */
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
int manager_load_config(Manager *m, bool initial);
int manager_parse_uid(const char *s, uid_t *ret);   /* "1000" or a user name */
int manager_open_store(Manager *m);
int manager_reload(Manager *m);
bool manager_db_replaced(Manager *m);
int manager_start(Manager *m);            /* socket + event sources */
int manager_run(Manager *m);
void manager_notify_status(Manager *m);

/* server.c */
int server_open_socket(Manager *m);
void server_close_all(Manager *m);
bool manager_uid_is_admin(const Manager *m, uid_t uid);

/* The connection the dispatcher is serving: what it may know of its peer. */
typedef struct Request {
        uint8_t type;
        uint32_t id;
        uint32_t flags;
        char *as_user;
        struct cr_cursor payload;     /* after the prefix */
        uid_t uid;
        gid_t gid;
        const char *unix_name;
        bool query_member;
        Connection *connection;       /* whose reply a grouped change holds */
        bool reply_held;              /* out: the reply waits for the group's COMMIT */
} Request;

/* dispatch.c: handles one complete frame and appends exactly one reply
 * frame to out.  Returns 0, or <0 when the connection must be closed after
 * the reply (malformed frame). */
int dispatch_request(Manager *m, Request *req, struct cr_buf *out);
/* Is there a handler for this request type?  Lets the server refuse a
 * frame from its header alone, before buffering a payload it would drop. */
bool dispatch_type_known(uint8_t type);
int dispatch_error_reply(struct cr_buf *out, uint32_t id, int error, const char *message);

/* change.c: the change pipeline (authorise, apply, validate, audit, commit).
 * A user change made through a connection joins the open group: it is
 * applied and validated at once but committed by manager_group_flush(),
 * and *ret_held says its reply must wait for that (the server holds it). */
int manager_apply_change(Manager *m, const Peer *peer, int type, const struct cr_record *params, bool dry_run,
                         Connection *connection, bool *ret_held, struct cr_records *ret_effect, char **ret_error);
/* Commits the open group (if any) and releases its held replies, or on
 * failure takes every change of the group back and replaces the replies
 * with the error. */
int manager_group_flush(Manager *m);     /* the COMMIT's result (0: nothing to commit) */
/* A connection closing while its reply is held. */
void manager_group_forget(Manager *m, Connection *c);
void manager_group_done(Manager *m);
/* Compiles a new snapshot from the store (reload, or after enough patches). */
int manager_compile_from_store(Manager *m, bool bump_generation, char **ret_error);

/* server.c: a held reply may go (error 0) or is replaced by an error. */
void server_release_reply(Connection *c, int error, const char *message);

/* profile.c */
typedef struct ProfileChange {
        int type;
        struct cr_record params;
        unsigned line;
} ProfileChange;
typedef struct Profile {
        char *name, *title;
        ProfileChange *changes;
        size_t n_changes;
        size_t n_roles;
} Profile;
Profile *profile_free(Profile *p);
/* Parses profile text (untrusted: bounded, fuzzed).  account is where roles,
 * rules and hidden features go. */
int profile_parse(const char *name, const char *text, size_t len, const char *account, Profile **ret,
                  char **ret_error);
int profile_load_file(const char *dir, const char *name, const char *account, Profile **ret, char **ret_error);
int profile_list(const char *dir, struct cr_records *ret, char **ret_error);
/* The roles of profile NAME as role.list records (fields of role.list plus
 * profile), read from its file: loaded or not. */
int profile_role_records(const char *dir, const char *name, struct cr_records *ret, char **ret_error);
