/*
 * model.c: lifetime of a Model and the grant grammar
 *
 *   PERMISSION[@SCOPE[+SCOPE]...][/CONDITION]
 *
 * which people type on the command line, profiles are written in, and the
 * audit shows.  Parsing and formatting live together so that what
 * grant_format() writes, grant_parse() reads back unchanged.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "macro.h"
#include "model.h"

static const struct {
        uint32_t bit;
        const char *name;
} scope_names[] = {
        { SCOPE_ASSIGNED, "assigned" },
        { SCOPE_INBOUND, "direction=inbound" },
        { SCOPE_OUTBOUND, "direction=outbound" },
        { SCOPE_GROUPS, "groups" },
        { SCOPE_IVRS, "ivrs" },
        { SCOPE_ACG, "acg" },
};

Model *model_new(void) {
        return calloc(1, sizeof(Model));
}

/* The pool: strings in chunks of at least POOL_CHUNK bytes, freed only
 * with the model.  A million users loaded one malloc per string cost a
 * second in malloc and free alone, and glibc keeps the freed pages. */
#define POOL_CHUNK (1u << 20)

typedef struct PoolChunk {
        struct PoolChunk *next;
        size_t used, size;
        char data[];
} PoolChunk;

struct ModelPool {
        PoolChunk *chunks;
};

/* The one empty list every pooled model shares: never freed. */
static char *shared_empty[1];

static void pool_free(ModelPool *p) {
        if (!p)
                return;
        for (PoolChunk *c = p->chunks, *next; c; c = next) {
                next = c->next;
                free(c);
        }
        free(p);
}

int model_use_pool(Model *m) {
        if (!m || m->pool || m->n_users > 0)
                return -EINVAL;
        m->pool = calloc(1, sizeof(ModelPool));
        return m->pool ? 0 : -ENOMEM;
}

char *model_pool_strdup(Model *m, const char *s) {
        size_t len;
        PoolChunk *c;
        char *out;

        if (!m || !m->pool || !s)
                return NULL;
        len = strlen(s) + 1;
        c = m->pool->chunks;
        if (!c || c->size - c->used < len) {
                size_t size = len > POOL_CHUNK ? len : POOL_CHUNK;
                c = malloc(sizeof(PoolChunk) + size);
                if (!c)
                        return NULL;
                *c = (PoolChunk) { .next = m->pool->chunks, .size = size };
                m->pool->chunks = c;
        }
        out = c->data + c->used;
        memcpy(out, s, len);
        c->used += len;
        return out;
}

char **model_pool_empty_strv(void) {
        return shared_empty;
}

int model_pool_strv_push(Model *m, char ***l, const char *value) {
        size_t n = *l == shared_empty ? 0 : strv_length(*l);
        char *v = model_pool_strdup(m, value), **nl;

        if (!v)
                return -ENOMEM;
        nl = realloc(*l == shared_empty ? NULL : *l, (n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        nl[n] = v;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

/* A pooled model's strings belong to its pool; its lists are arrays of
 * its own, or the shared empty one. */
static void strv_release(char **l, bool pooled) {
        if (l == shared_empty)
                return;
        if (pooled)
                free(l);
        else
                strv_free(l);
}

static void str_release(char *s, bool pooled) {
        if (!pooled)
                free(s);
}

void grant_done(ModelGrant *g) {
        if (!g)
                return;
        free(g->permission);
        free(g->cond_key);
        free(g->cond_value);
        *g = (ModelGrant) {};
}

static void membership_done(ModelMembership *m, bool pooled) {
        str_release(m->account, pooled);
        str_release(m->role_account, pooled);
        str_release(m->role, pooled);
        strv_release(m->groups, pooled);
        strv_release(m->ivrs, pooled);
        strv_release(m->acg, pooled);
        strv_release(m->only, pooled);
        strv_release(m->notify, pooled);
}

ModelUser *model_user_free(ModelUser *u) {
        if (!u)
                return NULL;
        free(u->name);
        free(u->display_name);
        for (size_t j = 0; j < u->n_memberships; j++)
                membership_done(&u->memberships[j], false);
        free(u->memberships);
        free(u);
        return NULL;
}

Model *model_free(Model *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_permissions; i++) {
                free(m->permissions[i].name);
                free(m->permissions[i].description);
        }
        for (size_t i = 0; i < m->n_plans; i++) {
                free(m->plans[i].name);
                strv_free(m->plans[i].features);
        }
        for (size_t i = 0; i < m->n_accounts; i++) {
                ModelAccount *a = &m->accounts[i];
                free(a->name);
                free(a->parent);
                free(a->plan);
                strv_free(a->hidden);
                strv_free(a->attrs);
                strv_free(a->notifications);
        }
        for (size_t i = 0; i < m->n_roles; i++) {
                ModelRole *r = &m->roles[i];
                free(r->account);
                free(r->id);
                free(r->title);
                for (size_t j = 0; j < r->n_grants; j++)
                        grant_done(&r->grants[j]);
                free(r->grants);
        }
        for (size_t i = 0; i < m->n_rules; i++) {
                free(m->rules[i].account);
                free(m->rules[i].if_pattern);
                free(m->rules[i].requires_pattern);
        }
        for (size_t i = 0; i < m->n_users; i++) {
                ModelUser *u = &m->users[i];
                str_release(u->name, m->pool);
                str_release(u->display_name, m->pool);
                for (size_t j = 0; j < u->n_memberships; j++)
                        membership_done(&u->memberships[j], m->pool);
                free(u->memberships);
        }
        free(m->permissions);
        free(m->plans);
        free(m->accounts);
        free(m->roles);
        free(m->rules);
        free(m->users);
        pool_free(m->pool);
        free(m);
        return NULL;
}

static int fail(char **ret_error, const char *whole, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, const char *whole, const char *fmt, ...) {
        if (ret_error) {
                char msg[256], *s = NULL;
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(msg, sizeof(msg), fmt, ap);
                va_end(ap);
                if (asprintf(&s, "invalid grant '%s': %s", whole, msg) < 0)
                        s = NULL;
                *ret_error = s;
        }
        return -EINVAL;
}

/* Attribute keys and values in conditions share the name alphabet; '=' is
 * the separator, so neither side may contain one. */
static int parse_condition(const char *c, ModelGrant *g, const char *whole, char **ret_error) {
        const char *eq;

        if (strncmp(c, "no-role=", 8) == 0) {
                if (name_is_valid(c + 8) < 0)
                        return fail(ret_error, whole, "'%s' is not a valid role id after 'no-role='", c + 8);
                g->cond = COND_NO_ROLE;
                g->cond_key = strdup(c + 8);
                return g->cond_key ? 0 : -ENOMEM;
        }
        if (strncmp(c, "account.", 8) == 0 && (eq = strchr(c + 8, '='))) {
                _cleanup_free_ char *key = strndup(c + 8, (size_t) (eq - (c + 8)));
                if (!key)
                        return -ENOMEM;
                if (name_is_valid(key) < 0 || name_is_valid(eq + 1) < 0)
                        return fail(ret_error, whole, "condition '%s' must be account.KEY=VALUE with plain names", c);
                g->cond = COND_ACCOUNT_ATTR;
                g->cond_key = TAKE_PTR(key);
                g->cond_value = strdup(eq + 1);
                return g->cond_value ? 0 : -ENOMEM;
        }
        return fail(ret_error, whole, "unknown condition '%s'; use no-role=ROLE or account.KEY=VALUE", c);
}

int grant_parse(const char *s, ModelGrant *ret, char **ret_error) {
        _cleanup_free_ char *copy = NULL;
        ModelGrant g = {};
        char *cond, *scopes;
        int r;

        if (!s || !ret)
                return -EINVAL;
        if (strnlen(s, 512) >= 512)
                return fail(ret_error, "(too long)", "%s", "longer than 511 bytes");
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        cond = strchr(copy, '/');
        if (cond)
                *cond++ = 0;
        scopes = strchr(copy, '@');
        if (scopes)
                *scopes++ = 0;
        if (name_is_valid(copy) < 0)
                return fail(ret_error, s, "'%s' is not a valid permission name", copy);
        if (scopes) {
                char *save = NULL;
                if (!*scopes)
                        return fail(ret_error, s, "%s", "empty scope after '@'");
                for (char *tok = strtok_r(scopes, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
                        uint32_t bit = 0;
                        for (size_t i = 0; i < ELEMENTSOF(scope_names); i++)
                                if (strcmp(tok, scope_names[i].name) == 0)
                                        bit = scope_names[i].bit;
                        if (!bit)
                                return fail(ret_error, s, "unknown scope '%s'; use assigned, direction=inbound, "
                                            "direction=outbound, groups, ivrs or acg", tok);
                        g.scopes |= bit;
                }
                if ((g.scopes & SCOPE_INBOUND) && (g.scopes & SCOPE_OUTBOUND))
                        return fail(ret_error, s, "%s", "a grant cannot be limited to both directions; give two grants");
        }
        g.permission = strdup(copy);
        if (!g.permission)
                return -ENOMEM;
        if (cond) {
                r = parse_condition(cond, &g, s, ret_error);
                if (r < 0) {
                        grant_done(&g);
                        return r;
                }
        }
        *ret = g;
        return 0;
}

char *scopes_format(uint32_t scopes) {
        char *s = strdup("");
        if (!s)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(scope_names); i++) {
                char *n;
                if (!(scopes & scope_names[i].bit))
                        continue;
                if (asprintf(&n, "%s%s%s", s, *s ? "+" : "", scope_names[i].name) < 0) {
                        free(s);
                        return NULL;
                }
                free(s);
                s = n;
        }
        return s;
}

char *grant_format(const ModelGrant *g) {
        _cleanup_free_ char *sc = NULL;
        char *s;
        int k;

        if (!g || !g->permission)
                return NULL;
        sc = scopes_format(g->scopes);
        if (!sc)
                return NULL;
        switch (g->cond) {
        case COND_NO_ROLE:
                k = asprintf(&s, "%s%s%s/no-role=%s", g->permission, *sc ? "@" : "", sc, g->cond_key);
                break;
        case COND_ACCOUNT_ATTR:
                k = asprintf(&s, "%s%s%s/account.%s=%s", g->permission, *sc ? "@" : "", sc, g->cond_key,
                             g->cond_value);
                break;
        default:
                k = asprintf(&s, "%s%s%s", g->permission, *sc ? "@" : "", sc);
        }
        return k < 0 ? NULL : s;
}
