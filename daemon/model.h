/*
 * model.h: the role model as plain C data, exactly as the store holds it.
 *
 * A Model is the hand-over between the store and the policy engine: the
 * store fills one from SQLite (store_load), snapshot_compile() turns it into
 * the flat, read-only Snapshot that checks are answered from, and then the
 * Model is dropped.  Nothing here knows SQL or the wire.
 *
 * All strings are owned by the model; arrays of strings are NULL-terminated
 * strv.  Names are those accepted by name_is_valid().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Scope bits of a grant: every bit set must hold (AND).  Several grants of
 * one permission are alternatives (OR). */
enum {
        SCOPE_ASSIGNED = 1u << 0, /* resource's assignee is the user */
        SCOPE_INBOUND = 1u << 1,  /* direction=inbound */
        SCOPE_OUTBOUND = 1u << 2, /* direction=outbound */
        SCOPE_GROUPS = 1u << 3,   /* resource's group in membership's groups */
        SCOPE_IVRS = 1u << 4,     /* resource's IVR in membership's ivrs */
        SCOPE_ACG = 1u << 5,      /* resource's acg in membership's acg, if it lists any */
        _SCOPE_ALL = (1u << 6) - 1,
};

/* Account conditions on a grant. */
enum {
        COND_NONE = 0,
        COND_NO_ROLE = 1,      /* "no-role=ROLE": nobody in the account, or in an agency above it
                                * (whose roles apply here), holds ROLE */
        COND_ACCOUNT_ATTR = 2, /* "account.KEY=VALUE": the account's attribute KEY is VALUE */
};

typedef struct ModelPermission {
        char *name;
        char *description;     /* may be NULL */
        bool builtin;
} ModelPermission;

typedef struct ModelPlan {
        char *name;
        char **features;       /* fnmatch(3) patterns of permissions the plan includes */
} ModelPlan;

typedef struct ModelAccount {
        char *name;
        char *parent;          /* agency, or NULL */
        char *plan;            /* NULL: inherits the agency's; none at all: every feature */
        int64_t seats;         /* users allowed; -1 unlimited */
        char **hidden;         /* patterns the account hides from all its sub-accounts */
        char **attrs;          /* "key=value" */
        char **notifications;  /* "name=permission": notifications defined here, usable in the
                                * account and its sub-accounts (the nearest definition wins) */
} ModelAccount;

typedef struct ModelGrant {
        char *permission;
        uint32_t scopes;       /* SCOPE_* */
        int cond;              /* COND_* */
        char *cond_key;        /* COND_NO_ROLE: role id; COND_ACCOUNT_ATTR: key */
        char *cond_value;      /* COND_ACCOUNT_ATTR: value */
} ModelGrant;

typedef struct ModelRole {
        char *account;         /* the account the role belongs to */
        char *id;              /* "call-agent" */
        char *title;           /* "Call Agent" */
        int64_t rank;          /* higher outranks lower */
        bool agency_only;      /* may be held only in an agency (see policy_validate()) */
        ModelGrant *grants;
        size_t n_grants;
} ModelRole;

/* "Every role of ACCOUNT (and its sub-accounts) that holds a permission
 * matching if_pattern must hold one matching requires_pattern." */
typedef struct ModelRule {
        char *account;
        char *if_pattern;
        char *requires_pattern;
} ModelRule;

typedef struct ModelMembership {
        char *account;
        char *role_account;    /* account the role belongs to (account or an ancestor) */
        char *role;
        char **groups, **ivrs, **acg;
        char **only;           /* if non-empty: patterns narrowing the role's permissions */
        char **notify;         /* names of the notifications the user has switched on here */
} ModelMembership;

typedef struct ModelUser {
        char *name;
        char *display_name;    /* may be NULL */
        bool enabled;
        ModelMembership *memberships;
        size_t n_memberships;
} ModelUser;

typedef struct ModelPool ModelPool;

typedef struct Model {
        ModelPermission *permissions; size_t n_permissions;
        ModelPlan *plans; size_t n_plans;
        ModelAccount *accounts; size_t n_accounts;
        ModelRole *roles; size_t n_roles;
        ModelRule *rules; size_t n_rules;
        ModelUser *users; size_t n_users;
        /* When set (model_use_pool()), the strings of users and their
         * memberships come from the pool, their lists are arrays of pooled
         * strings or model_pool_empty_strv(), and model_free() releases the
         * pool at once.  How the store loads a large database. */
        ModelPool *pool;
} Model;

Model *model_new(void);
Model *model_free(Model *m);
ModelUser *model_user_free(ModelUser *u);   /* one user of its own, not in a model */
int model_use_pool(Model *m);     /* before any user is added */
char *model_pool_strdup(Model *m, const char *s);        /* NULL on ENOMEM */
char **model_pool_empty_strv(void);
int model_pool_strv_push(Model *m, char ***l, const char *value);

/* Grammar of a grant as typed by people and stored in profiles:
 *   PERMISSION[@SCOPE[+SCOPE]...][/CONDITION]
 *   SCOPE     := assigned | direction=inbound | direction=outbound | groups | ivrs | acg
 *   CONDITION := no-role=ROLE | account.KEY=VALUE
 * grant_parse() fills *ret (owned strings) or returns -EINVAL with a
 * message in *ret_error saying what was wrong. */
int grant_parse(const char *s, ModelGrant *ret, char **ret_error);
char *grant_format(const ModelGrant *g);  /* NULL on ENOMEM */
void grant_done(ModelGrant *g);
/* "assigned+direction=inbound" for scope bits, "" for none; static storage
 * is not used: returns malloc'ed string or NULL. */
char *scopes_format(uint32_t scopes);
