/*
 * snapshot-layout.h: the bytes of a compiled Snapshot, shared by the
 * compiler (snapshot.c) and its one reader (policy.c).  Internal to the
 * daemon; nothing outside daemon/ may depend on it.
 *
 * The buffer, in order (every table starts 8-aligned):
 *
 *   struct Snapshot          the header: magic, version, sizes, table offsets
 *   SnapPermission[n]        name, description, builtin
 *   SnapPlan[n]              name, features (string list of fnmatch patterns)
 *   SnapAccount[n]           name, parent index, plan, effective plan and its
 *                            bitset, hidden-by-ancestors bitset, ...
 *   SnapRole[n]              account index, id, title, rank, permission bitset,
 *                            its run of grants
 *   SnapGrant[n]             grouped by role
 *   SnapRule[n]
 *   SnapNotification[n]      grouped by account, in the account order
 *   SnapUser[n]              sorted by name (user.list pages by name)
 *   SnapMembership[n]        grouped by user, in the user order
 *   hash tables              u32 slots, SNAP_NONE when empty: users, permissions
 *                            and accounts by name, roles by (account, id)
 *   data                     u64 bitsets (8-aligned), lists (u32 count then
 *                            u32 items, 4-aligned) and NUL-terminated strings
 *                            (deduplicated), interleaved as the compiler
 *                            appended them
 *
 * Every reference is a u32: an index into a table (SNAP_NONE for "none") or
 * an offset from the start of the buffer (SNAP_NONE for a NULL string).
 * Lists are never SNAP_NONE: an empty list points at the shared empty list.
 * A bitset has hdr->n_words u64 words; bit i is permission index i.
 *
 * Patches.  A user change does not recompile the buffer: snapshot_patch_user()
 * appends the user's new records after `heap` and repoints what refers to
 * them, so a change costs what the user is, not what the model is.  Records
 * appended for a table are placed at a whole number of strides from the
 * table's start, so they are addressed by index like the table's own: a
 * user index ≥ n_users, a membership index ≥ n_memberships, is in the heap.
 * An existing user keeps its index (its SnapUser is rewritten in place); a
 * new one is appended and listed in extra_users; a deleted one is flagged
 * and its hash slot becomes SNAP_TOMB.  What patches replaced is garbage
 * until the next full compile.  Walk users and memberships only with
 * snap_next_user() and SNAP_FOREACH_*: the tables hold garbage too.
 *
 * Invariants (checked by tests/test-snapshot.c):
 *   1. Every offset is < size and aligned for what it names; every index is
 *      < its table's count or SNAP_NONE.
 *   2. Hash tables have a power-of-two number of slots, at least twice the
 *      entries, so probing always meets an empty slot.
 *   3. Account parents form a forest (no cycles): walking parents ends
 *      within n_accounts steps.
 *   4. Each user has at most one membership per account, and every
 *      membership's role exists.  An account's n_members and held_roles
 *      counts are exactly what its live memberships hold.
 *   5. An account's notifications are the run [first_notification,
 *      first_notification + n_notifications) of the notification table,
 *      with distinct names, each naming an existing permission.
 *   6. Required strings are never SNAP_NONE: the names of permissions,
 *      plans, accounts, users and notifications, role ids and titles,
 *      grant texts, rule patterns, every item of a string list, a grant's
 *      cond_key unless cond is COND_NONE and its cond_value when cond is
 *      COND_ACCOUNT_ATTR (notification names: by construction in
 *      compile_notifications()).  Read them with snap_name(); snap_str()
 *      is for the optional ones (descriptions, display names, plans).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "snapshot.h"

#define SNAP_NONE UINT32_MAX

struct Snapshot {
        char magic[8];
        uint32_t version;
        uint32_t header_size;
        uint64_t generation;
        uint64_t size;

        uint32_t n_words;               /* u64 words per permission bitset, ≥ 1 */
        uint32_t n_permissions, n_plans, n_accounts, n_roles, n_grants, n_rules, n_users, n_memberships;
        uint32_t permissions, plans, accounts, roles, grants, rules, users, memberships; /* table offsets */

        uint32_t user_hash, user_hash_size;
        uint32_t permission_hash, permission_hash_size;
        uint32_t account_hash, account_hash_size;
        uint32_t role_hash, role_hash_size;

        uint32_t all_bits;              /* bitset with every permission set */
        uint32_t empty_list;            /* the shared empty list */
        uint32_t data;                  /* start of the data area */
        uint32_t _pad;

        /* version 2 */
        uint32_t n_notifications;
        uint32_t notifications;         /* table offset */

        /* version 3: users patched in place (snapshot_patch_user(); see
         * "Patches" above) */
        uint32_t heap;                  /* end of the compiled part; patches are appended after it */
        uint32_t n_live_users;          /* users that exist: the table's, less deleted, plus extra */
        uint32_t extra_users;           /* u32 array of the users added since compiled, or SNAP_NONE */
        uint32_t n_extra_users, extra_users_cap;
        uint32_t user_hash_used;        /* user hash slots not empty (tombstones included) */
        uint64_t garbage;               /* bytes no longer referenced */
        uint64_t capacity;              /* bytes allocated for the buffer (≥ size) */
        uint32_t users_view;            /* index of users.view (asked of every check), or SNAP_NONE */
        uint32_t _pad3;
};

typedef struct SnapPermission {
        uint32_t name;                  /* first field: found by name */
        uint32_t description;           /* string or SNAP_NONE */
        uint32_t builtin;
} SnapPermission;

typedef struct SnapPlan {
        uint32_t name;
        uint32_t features;              /* list of strings */
} SnapPlan;

typedef struct SnapAccount {
        uint32_t name;
        uint32_t parent;                /* account index or SNAP_NONE */
        uint32_t plan;                  /* own plan name, or SNAP_NONE: inherited */
        uint32_t eff_plan;              /* plan in force (own or nearest ancestor's), SNAP_NONE: none, all allowed */
        uint32_t plan_bits;             /* bitset: permissions the plan in force allows */
        uint32_t hidden_bits;           /* bitset: permissions hidden by an ancestor */
        uint32_t hidden;                /* list of own patterns (hidden from sub-accounts) */
        uint32_t attrs;                 /* list of "key=value" */
        uint32_t held_roles;            /* list of (role index, members holding it) pairs: n pairs,
                                         * 2n items; a count may be 0 after a patch */
        uint32_t n_members;             /* users with a direct membership */
        int64_t seats;                  /* < 0: unlimited */
        uint32_t flags;                 /* SNAP_ACCOUNT_* */
        uint32_t first_notification, n_notifications; /* its own definitions */
        uint32_t _pad;
} SnapAccount;

/* An agency: has sub-accounts, or its own attributes say kind=agency (not
 * inherited: a sub-account of an agency is not one). */
#define SNAP_ACCOUNT_AGENCY 0x1u

typedef struct SnapRole {
        uint32_t id;
        uint32_t account;               /* account index */
        uint32_t title;
        uint32_t bits;                  /* bitset of permissions held by any grant */
        uint32_t first_grant, n_grants;
        int64_t rank;
        uint32_t flags;                 /* SNAP_ROLE_* */
        uint32_t _pad;
} SnapRole;

#define SNAP_ROLE_AGENCY_ONLY 0x1u      /* may be held only in an agency */

typedef struct SnapGrant {
        uint32_t permission;            /* permission index */
        uint32_t scopes;                /* SCOPE_* */
        uint32_t cond;                  /* COND_* */
        uint32_t cond_key, cond_value;  /* strings or SNAP_NONE */
        uint32_t text;                  /* as grant_format() writes it */
} SnapGrant;

typedef struct SnapRule {
        uint32_t account;
        uint32_t if_pattern, requires_pattern;
} SnapRule;

/* "name needs permission": a notification an account defines for itself
 * and its sub-accounts. */
typedef struct SnapNotification {
        uint32_t account;               /* account index */
        uint32_t name;
        uint32_t permission;            /* permission index */
} SnapNotification;

typedef struct SnapUser {
        uint32_t name;
        uint32_t display_name;          /* string or SNAP_NONE */
        uint32_t enabled;
        uint32_t first_membership, n_memberships;
        uint32_t flags;                 /* SNAP_USER_* */
} SnapUser;

#define SNAP_USER_DELETED 0x1u          /* deleted by a patch: in no hash slot, in no iteration */

typedef struct SnapMembership {
        uint32_t user, account, role;   /* indices */
        uint32_t groups, ivrs, acg;     /* lists of strings */
        uint32_t only;                  /* list of patterns as given */
        uint32_t only_bits;             /* bitset, or SNAP_NONE: not narrowed */
        uint32_t notify;                /* list of notification names switched on */
} SnapMembership;

_Static_assert(sizeof(struct Snapshot) % 8 == 0, "header keeps tables aligned");
_Static_assert(sizeof(SnapUser) % 8 == 0, "users appended in the heap stay aligned");

/* A user hash slot whose user was deleted: probing goes on past it. */
#define SNAP_TOMB (UINT32_MAX - 1)
_Static_assert(sizeof(SnapAccount) % 8 == 0, "accounts carry an int64");
_Static_assert(sizeof(SnapRole) % 8 == 0, "roles carry an int64");

/* FNV-1a, 32 bit.  Roles mix in their account so that every account may
 * have its own "admin". */
static inline uint32_t snap_hash_str(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++) {
                h ^= (uint8_t) *s;
                h *= 16777619u;
        }
        return h;
}

static inline uint32_t snap_hash_role(uint32_t account, const char *id) {
        uint32_t h = snap_hash_str(id) ^ (account * 0x9e3779b1u);
        h ^= h >> 15;
        h *= 0x85ebca6bu;
        h ^= h >> 13;
        return h;
}

static inline const uint8_t *snap_base(const Snapshot *s) {
        return (const uint8_t *) s;
}

static inline const char *snap_str(const Snapshot *s, uint32_t off) {
        return off == SNAP_NONE ? NULL : (const char *) snap_base(s) + off;
}

/* A required string (invariant 6).  No NULL case: callers may pass it to
 * strcmp() and printf("%s") as it is, and a static analyser following
 * snap_str()'s NULL branch would otherwise report every such use. */
static inline const char *snap_name(const Snapshot *s, uint32_t off) {
        return (const char *) snap_base(s) + off;
}

/* "" for a missing string: for records and messages. */
static inline const char *snap_str_or_empty(const Snapshot *s, uint32_t off) {
        return off == SNAP_NONE ? "" : (const char *) snap_base(s) + off;
}

static inline const uint32_t *snap_u32(const Snapshot *s, uint32_t off) {
        return (const uint32_t *) (const void *) (snap_base(s) + off);
}

static inline const uint64_t *snap_bits(const Snapshot *s, uint32_t off) {
        return (const uint64_t *) (const void *) (snap_base(s) + off);
}

static inline bool snap_bit(const Snapshot *s, uint32_t bits, uint32_t i) {
        return (snap_bits(s, bits)[i / 64] >> (i % 64)) & 1;
}

static inline uint32_t snap_list_n(const Snapshot *s, uint32_t list) {
        return snap_u32(s, list)[0];
}

static inline uint32_t snap_list_item(const Snapshot *s, uint32_t list, uint32_t i) {
        return snap_u32(s, list)[1 + i];
}

static inline const char *snap_list_str(const Snapshot *s, uint32_t list, uint32_t i) {
        return snap_name(s, snap_list_item(s, list, i));
}

static inline bool snap_list_contains(const Snapshot *s, uint32_t list, const char *v) {
        uint32_t n = snap_list_n(s, list);
        for (uint32_t i = 0; i < n; i++)
                if (strcmp(snap_list_str(s, list, i), v) == 0)
                        return true;
        return false;
}

#define SNAP_TABLE(type, field, count)                                                       \
        static inline const type *snap_##field(const Snapshot *s, uint32_t i) {              \
                return (const type *) (const void *) (snap_base(s) + s->field) + i;          \
        }
SNAP_TABLE(SnapPermission, permissions, n_permissions)
SNAP_TABLE(SnapPlan, plans, n_plans)
SNAP_TABLE(SnapAccount, accounts, n_accounts)
SNAP_TABLE(SnapRole, roles, n_roles)
SNAP_TABLE(SnapGrant, grants, n_grants)
SNAP_TABLE(SnapRule, rules, n_rules)
SNAP_TABLE(SnapNotification, notifications, n_notifications)
SNAP_TABLE(SnapUser, users, n_users)
SNAP_TABLE(SnapMembership, memberships, n_memberships)
#undef SNAP_TABLE

/* Looks name up in a hash table whose entries' first field is their name. */
static inline uint32_t snap_find_name(const Snapshot *s, uint32_t hash, uint32_t hash_size, uint32_t table,
                                      size_t stride, const char *name) {
        const uint32_t *slots = snap_u32(s, hash);
        uint32_t mask = hash_size - 1;

        if (!name)
                return SNAP_NONE;
        for (uint32_t i = snap_hash_str(name) & mask;; i = (i + 1) & mask) {
                uint32_t idx = slots[i], name_off;
                if (idx == SNAP_NONE)
                        return SNAP_NONE;
                if (idx == SNAP_TOMB)
                        continue;
                memcpy(&name_off, snap_base(s) + table + (size_t) idx * stride, sizeof(name_off));
                if (strcmp(snap_name(s, name_off), name) == 0)
                        return idx;
        }
}

static inline uint32_t snap_find_user(const Snapshot *s, const char *name) {
        return snap_find_name(s, s->user_hash, s->user_hash_size, s->users, sizeof(SnapUser), name);
}

static inline uint32_t snap_find_permission(const Snapshot *s, const char *name) {
        return snap_find_name(s, s->permission_hash, s->permission_hash_size, s->permissions,
                              sizeof(SnapPermission), name);
}

static inline uint32_t snap_find_account(const Snapshot *s, const char *name) {
        return snap_find_name(s, s->account_hash, s->account_hash_size, s->accounts, sizeof(SnapAccount), name);
}

/* The role id of exactly this account (not its agencies). */
static inline uint32_t snap_find_role(const Snapshot *s, uint32_t account, const char *id) {
        const uint32_t *slots = snap_u32(s, s->role_hash);
        uint32_t mask = s->role_hash_size - 1;

        if (!id || account == SNAP_NONE)
                return SNAP_NONE;
        for (uint32_t i = snap_hash_role(account, id) & mask;; i = (i + 1) & mask) {
                uint32_t idx = slots[i];
                const SnapRole *r;
                if (idx == SNAP_NONE)
                        return SNAP_NONE;
                r = snap_roles(s, idx);
                if (r->account == account && strcmp(snap_name(s, r->id), id) == 0)
                        return idx;
        }
}

/* Does a member of account a hold role r (for no-role= conditions)? */
static inline bool snap_account_holds(const Snapshot *s, uint32_t a, uint32_t r) {
        uint32_t held = snap_accounts(s, a)->held_roles, n = snap_list_n(s, held);
        for (uint32_t i = 0; i < n; i++)
                if (snap_list_item(s, held, 2 * i) == r)
                        return snap_list_item(s, held, 2 * i + 1) > 0;
        return false;
}

/* The users that exist, in no particular order: the compiled table's (less
 * the deleted), then the ones patches added.  *pos starts at 0; SNAP_NONE
 * at the end.  Every walk over users or memberships goes through this: the
 * tables also hold records that patches replaced. */
static inline uint32_t snap_next_user(const Snapshot *s, uint32_t *pos) {
        while (*pos < s->n_users) {
                uint32_t u = (*pos)++;
                if (!(snap_users(s, u)->flags & SNAP_USER_DELETED))
                        return u;
        }
        while (*pos - s->n_users < s->n_extra_users) {
                uint32_t u = snap_u32(s, s->extra_users)[(*pos)++ - s->n_users];
                if (!(snap_users(s, u)->flags & SNAP_USER_DELETED))
                        return u;
        }
        return SNAP_NONE;
}

#define SNAP_FOREACH_USER(s, u, pos) for (uint32_t pos = 0, u; ((u) = snap_next_user((s), &pos)) != SNAP_NONE;)

/* Every membership of every user that exists. */
#define SNAP_FOREACH_MEMBERSHIP(s, m, pos, i)                                                              \
        SNAP_FOREACH_USER(s, _u_##m, pos)                                                                   \
                for (uint32_t i = 0, m; i < snap_users((s), _u_##m)->n_memberships &&                       \
                                        ((m) = snap_users((s), _u_##m)->first_membership + i, true); i++)
