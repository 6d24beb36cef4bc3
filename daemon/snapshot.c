/*
 * snapshot.c: compiles a Model into the flat Snapshot that checks are
 * answered from (layout in snapshot-layout.h).
 *
 * Everything that can be worked out once per generation is worked out here,
 * so a check costs a few hash lookups and bit tests: names are resolved to
 * indices, each role's grants become a permission bitset, each account gets
 * the bitset of its effective plan (own plan, else the nearest agency's,
 * else everything) and of the permissions its ancestors hide, and each
 * membership's `only` patterns become a bitset.  fnmatch(3) runs only here.
 * Accounts learn whether they are agencies, and the notifications they
 * define are resolved to permission indices.
 *
 * The buffer is grown with realloc while it is filled, so the builder never
 * keeps a pointer into it across an append: entries are assembled in a
 * local struct and copied in once their strings and lists exist.
 *
 * A model that cannot be compiled (a duplicate name, an unknown parent,
 * role or permission, a cycle of agencies, two memberships of one user in
 * one account) gives -EINVAL: the store refuses such data, so this only
 * guards against a store bug or a hand-edited database.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "snapshot-layout.h"

typedef struct Builder {
        uint8_t *buf;
        size_t size, cap;
        int error;
        /* string deduplication: offsets of strings already in buf */
        uint32_t *dedup;
        size_t dedup_size, dedup_n;
        bool patching;          /* appending to a compiled snapshot: no deduplication */
} Builder;

#define AT(b, off, type) ((type *) (void *) ((b)->buf + (off)))
#define HDR(b) ((Snapshot *) (void *) (b)->buf)

/* Reserves n zeroed bytes aligned to align; SNAP_NONE once anything failed.
 * Offsets must fit 32 bits with SNAP_NONE to spare. */
static uint32_t b_alloc(Builder *b, size_t n, size_t align) {
        size_t start, end;

        if (b->error < 0)
                return SNAP_NONE;
        start = (b->size + align - 1) & ~(align - 1);
        if (n > (size_t) UINT32_MAX - 1 || start > (size_t) UINT32_MAX - 1 - n) {
                b->error = -E2BIG;
                return SNAP_NONE;
        }
        end = start + n;
        if (end > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                uint8_t *nb;
                while (cap < end)
                        cap *= 2;
                nb = realloc(b->buf, cap);
                if (!nb) {
                        b->error = -ENOMEM;
                        return SNAP_NONE;
                }
                b->buf = nb;
                b->cap = cap;
        }
        memset(b->buf + b->size, 0, end - b->size);
        b->size = end;
        return (uint32_t) start;
}

static int dedup_grow(Builder *b) {
        size_t size = b->dedup_size ? b->dedup_size * 2 : 1024;
        uint32_t *d = malloc(size * sizeof(uint32_t));

        if (!d)
                return -ENOMEM;
        memset(d, 0xff, size * sizeof(uint32_t));
        for (size_t i = 0; i < b->dedup_size; i++) {
                uint32_t off = b->dedup[i];
                size_t j;
                if (off == SNAP_NONE)
                        continue;
                for (j = snap_hash_str((const char *) b->buf + off) & (size - 1); d[j] != SNAP_NONE;
                     j = (j + 1) & (size - 1))
                        ;
                d[j] = off;
        }
        free(b->dedup);
        b->dedup = d;
        b->dedup_size = size;
        return 0;
}

/* A string's offset, appending it unless an equal one is there already.
 * NULL gives SNAP_NONE. */
static uint32_t b_str(Builder *b, const char *s) {
        size_t j, len;
        uint32_t off;

        if (!s || b->error < 0)
                return SNAP_NONE;
        if (b->patching) {
                len = strlen(s);
                off = b_alloc(b, len + 1, 1);
                if (off != SNAP_NONE)
                        memcpy(b->buf + off, s, len + 1);
                return off;
        }
        if ((b->dedup_n + 1) * 2 > b->dedup_size) {
                int r = dedup_grow(b);
                if (r < 0) {
                        b->error = r;
                        return SNAP_NONE;
                }
        }
        for (j = snap_hash_str(s) & (b->dedup_size - 1); b->dedup[j] != SNAP_NONE; j = (j + 1) & (b->dedup_size - 1))
                if (strcmp((const char *) b->buf + b->dedup[j], s) == 0)
                        return b->dedup[j];
        len = strlen(s);
        off = b_alloc(b, len + 1, 1);
        if (off == SNAP_NONE)
                return SNAP_NONE;
        memcpy(b->buf + off, s, len + 1);
        b->dedup[j] = off;
        b->dedup_n++;
        return off;
}

/* A string known to be unlike every other (a user's name): appended
 * without the deduplication table, which a million names would only fill. */
static uint32_t b_str_unique(Builder *b, const char *s) {
        size_t len = strlen(s);
        uint32_t off = b_alloc(b, len + 1, 1);

        if (off != SNAP_NONE)
                memcpy(b->buf + off, s, len + 1);
        return off;
}

/* A list of strings; the shared empty list for NULL or empty. */
static uint32_t b_strv(Builder *b, char *const *l) {
        size_t n = strv_length(l);
        uint32_t off;

        if (n == 0)
                return HDR(b)->empty_list;
        if (n > UINT32_MAX / 8) {
                b->error = -E2BIG;
                return SNAP_NONE;
        }
        off = b_alloc(b, (n + 1) * sizeof(uint32_t), 4);
        if (off == SNAP_NONE)
                return SNAP_NONE;
        AT(b, off, uint32_t)[0] = (uint32_t) n;
        for (size_t i = 0; i < n; i++) {
                uint32_t so = b_str(b, l[i]);   /* may move buf: AT() is taken again */
                if (so == SNAP_NONE)
                        return SNAP_NONE;
                AT(b, off, uint32_t)[1 + i] = so;
        }
        return off;
}

/* A list of n (a, b) pairs: count n, then 2n items. */
static uint32_t b_u32_pairs(Builder *b, const uint32_t *pairs, size_t n) {
        uint32_t off;

        if (n == 0)
                return HDR(b)->empty_list;
        off = b_alloc(b, (2 * n + 1) * sizeof(uint32_t), 4);
        if (off == SNAP_NONE)
                return SNAP_NONE;
        AT(b, off, uint32_t)[0] = (uint32_t) n;
        memcpy(AT(b, off, uint32_t) + 1, pairs, 2 * n * sizeof(uint32_t));
        return off;
}

static uint32_t b_bits(Builder *b) {
        return b_alloc(b, (size_t) HDR(b)->n_words * sizeof(uint64_t), 8);
}

static void bits_set(Builder *b, uint32_t bits, uint32_t i) {
        AT(b, bits, uint64_t)[i / 64] |= UINT64_C(1) << (i % 64);
}

/* Sets in bits every permission matching one of patterns. */
static void bits_match(Builder *b, uint32_t bits, char *const *patterns) {
        const Snapshot *s = HDR(b);

        if (b->error < 0 || !patterns)
                return;
        for (uint32_t p = 0; p < s->n_permissions; p++) {
                const char *name = snap_str(s, snap_permissions(s, p)->name);
                for (char *const *i = patterns; *i; i++)
                        if (fnmatch(*i, name, 0) == 0) {
                                bits_set(b, bits, p);
                                break;
                        }
        }
}

static size_t hash_slots(size_t n) {
        size_t size = 2;
        while (size < 2 * n)
                size *= 2;
        return size;
}

static uint32_t b_table(Builder *b, size_t n, size_t stride) {
        return b_alloc(b, n * stride, 8);
}

static uint32_t b_hash(Builder *b, size_t slots) {
        uint32_t off = b_alloc(b, slots * sizeof(uint32_t), 4);
        if (off != SNAP_NONE)
                memset(b->buf + off, 0xff, slots * sizeof(uint32_t));
        return off;
}

/* Inserts idx under h; the caller has already made sure the key is new. */
static void hash_put(Builder *b, uint32_t hash, uint32_t size, uint32_t h, uint32_t idx) {
        uint32_t *slots = AT(b, hash, uint32_t);
        uint32_t i;
        for (i = h & (size - 1); slots[i] != SNAP_NONE; i = (i + 1) & (size - 1))
                ;
        slots[i] = idx;
}

static const ModelPlan *model_find_plan(const Model *m, const char *name) {
        for (size_t i = 0; i < m->n_plans; i++)
                if (streq_ptr(m->plans[i].name, name))
                        return &m->plans[i];
        return NULL;
}

typedef struct NameIndex {
        const char *name;
        uint32_t index;
} NameIndex;

static int name_index_cmp(const void *a, const void *b) {
        return strcmp(((const NameIndex *) a)->name, ((const NameIndex *) b)->name);
}

static SnapAccount *account_at(Builder *b, uint32_t i) {
        return AT(b, HDR(b)->accounts, SnapAccount) + i;
}

static int compile_permissions(Builder *b, const Model *m) {
        uint32_t all;

        for (size_t i = 0; i < m->n_permissions; i++) {
                const ModelPermission *mp = &m->permissions[i];
                SnapPermission e;

                if (!mp->name || snap_find_permission(HDR(b), mp->name) != SNAP_NONE)
                        return -EINVAL;
                e = (SnapPermission) {
                        .name = b_str(b, mp->name),
                        .description = b_str(b, mp->description),
                        .builtin = mp->builtin,
                };
                if (b->error < 0)
                        return b->error;
                AT(b, HDR(b)->permissions, SnapPermission)[i] = e;
                hash_put(b, HDR(b)->permission_hash, HDR(b)->permission_hash_size, snap_hash_str(mp->name),
                         (uint32_t) i);
        }
        /* Accounts under no plan at all share this bitset. */
        all = b_bits(b);
        if (b->error < 0)
                return b->error;
        for (uint32_t p = 0; p < m->n_permissions; p++)
                bits_set(b, all, p);
        HDR(b)->all_bits = all;
        return 0;
}

static int compile_plans(Builder *b, const Model *m) {
        for (size_t i = 0; i < m->n_plans; i++) {
                const ModelPlan *mp = &m->plans[i];
                SnapPlan e;

                if (!mp->name || model_find_plan(m, mp->name) != mp)
                        return -EINVAL;
                e = (SnapPlan) {
                        .name = b_str(b, mp->name),
                        .features = b_strv(b, mp->features),
                };
                if (b->error < 0)
                        return b->error;
                AT(b, HDR(b)->plans, SnapPlan)[i] = e;
        }
        return 0;
}

/* Names and parents; plan, hidden and membership data come later. */
static int compile_accounts(Builder *b, const Model *m) {
        uint32_t n = (uint32_t) m->n_accounts;

        for (uint32_t i = 0; i < n; i++) {
                const ModelAccount *ma = &m->accounts[i];
                SnapAccount e;

                if (!ma->name || snap_find_account(HDR(b), ma->name) != SNAP_NONE)
                        return -EINVAL;
                e = (SnapAccount) {
                        .name = b_str(b, ma->name),
                        .parent = SNAP_NONE,
                        .plan = b_str(b, ma->plan),
                        .eff_plan = SNAP_NONE,
                        .plan_bits = SNAP_NONE,
                        .hidden_bits = SNAP_NONE,
                        .hidden = b_strv(b, ma->hidden),
                        .attrs = b_strv(b, ma->attrs),
                        .held_roles = HDR(b)->empty_list,
                        .seats = ma->seats < 0 ? -1 : ma->seats,
                };
                if (b->error < 0)
                        return b->error;
                *account_at(b, i) = e;
                hash_put(b, HDR(b)->account_hash, HDR(b)->account_hash_size, snap_hash_str(ma->name), i);
        }
        for (uint32_t i = 0; i < n; i++) {
                uint32_t p;
                if (!m->accounts[i].parent)
                        continue;
                p = snap_find_account(HDR(b), m->accounts[i].parent);
                if (p == SNAP_NONE || p == i)
                        return -EINVAL;
                account_at(b, i)->parent = p;
        }
        /* Invariant 3: a walk longer than the number of accounts is a cycle. */
        for (uint32_t i = 0; i < n; i++) {
                uint32_t steps = 0;
                for (uint32_t a = account_at(b, i)->parent; a != SNAP_NONE; a = account_at(b, a)->parent)
                        if (++steps > n)
                                return -EINVAL;
        }
        return 0;
}

static int compile_roles(Builder *b, const Model *m) {
        uint32_t next_grant = 0;

        for (size_t i = 0; i < m->n_roles; i++) {
                const ModelRole *mr = &m->roles[i];
                uint32_t account = snap_find_account(HDR(b), mr->account), bits;
                SnapRole e;

                if (!mr->id || account == SNAP_NONE || snap_find_role(HDR(b), account, mr->id) != SNAP_NONE)
                        return -EINVAL;
                if (mr->n_grants > HDR(b)->n_grants - next_grant)
                        return -EINVAL;
                bits = b_bits(b);
                e = (SnapRole) {
                        .id = b_str(b, mr->id),
                        .account = account,
                        .title = b_str(b, mr->title ? mr->title : mr->id),
                        .bits = bits,
                        .first_grant = next_grant,
                        .n_grants = (uint32_t) mr->n_grants,
                        .rank = mr->rank,
                        .flags = mr->agency_only ? SNAP_ROLE_AGENCY_ONLY : 0,
                };
                for (size_t j = 0; j < mr->n_grants; j++) {
                        const ModelGrant *g = &mr->grants[j];
                        _cleanup_free_ char *text = NULL;
                        uint32_t p = snap_find_permission(HDR(b), g->permission);
                        SnapGrant ge;

                        if (p == SNAP_NONE || (g->scopes & ~(uint32_t) _SCOPE_ALL))
                                return -EINVAL;
                        if (g->cond == COND_NO_ROLE ? !g->cond_key
                            : g->cond == COND_ACCOUNT_ATTR ? !g->cond_key || !g->cond_value
                            : g->cond != COND_NONE)
                                return -EINVAL;
                        text = grant_format(g);
                        if (!text)
                                return -ENOMEM;
                        ge = (SnapGrant) {
                                .permission = p,
                                .scopes = g->scopes,
                                .cond = (uint32_t) g->cond,
                                .cond_key = g->cond == COND_NONE ? SNAP_NONE : b_str(b, g->cond_key),
                                .cond_value = g->cond == COND_ACCOUNT_ATTR ? b_str(b, g->cond_value) : SNAP_NONE,
                                .text = b_str(b, text),
                        };
                        if (b->error < 0)
                                return b->error;
                        AT(b, HDR(b)->grants, SnapGrant)[next_grant++] = ge;
                        bits_set(b, bits, p);
                }
                if (b->error < 0)
                        return b->error;
                AT(b, HDR(b)->roles, SnapRole)[i] = e;
                hash_put(b, HDR(b)->role_hash, HDR(b)->role_hash_size, snap_hash_role(account, mr->id),
                         (uint32_t) i);
        }
        return 0;
}

/* Invariant 5: each account's "name=permission" definitions, in account
 * order. */
static int compile_notifications(Builder *b, const Model *m) {
        uint32_t next = 0;

        for (uint32_t a = 0; a < m->n_accounts; a++) {
                char *const *defs = m->accounts[a].notifications;
                uint32_t first = next;

                for (size_t i = 0; defs && defs[i]; i++) {
                        const char *eq = strchr(defs[i], '=');
                        _cleanup_free_ char *name = NULL;
                        SnapNotification e;
                        uint32_t p;

                        if (!eq || eq == defs[i] || next >= HDR(b)->n_notifications)
                                return -EINVAL;
                        name = strndup(defs[i], (size_t) (eq - defs[i]));
                        if (!name)
                                return -ENOMEM;
                        p = snap_find_permission(HDR(b), eq + 1);
                        if (p == SNAP_NONE)
                                return -EINVAL;
                        for (uint32_t k = first; k < next; k++)
                                if (strcmp(snap_str(HDR(b), AT(b, HDR(b)->notifications, SnapNotification)[k].name),
                                           name) == 0)
                                        return -EINVAL;
                        e = (SnapNotification) { .account = a, .name = b_str(b, name), .permission = p };
                        if (b->error < 0)
                                return b->error;
                        AT(b, HDR(b)->notifications, SnapNotification)[next++] = e;
                }
                account_at(b, a)->first_notification = first;
                account_at(b, a)->n_notifications = next - first;
        }
        return next == HDR(b)->n_notifications ? 0 : -EINVAL;
}

static int compile_rules(Builder *b, const Model *m) {
        for (size_t i = 0; i < m->n_rules; i++) {
                const ModelRule *mr = &m->rules[i];
                uint32_t account = snap_find_account(HDR(b), mr->account);
                SnapRule e;

                if (account == SNAP_NONE || !mr->if_pattern || !mr->requires_pattern)
                        return -EINVAL;
                e = (SnapRule) {
                        .account = account,
                        .if_pattern = b_str(b, mr->if_pattern),
                        .requires_pattern = b_str(b, mr->requires_pattern),
                };
                if (b->error < 0)
                        return b->error;
                AT(b, HDR(b)->rules, SnapRule)[i] = e;
        }
        return 0;
}

/* The role a membership names: in role_account if given, else the nearest
 * of the membership's account and its agencies that has it. */
static uint32_t membership_role(Builder *b, const ModelMembership *mm, uint32_t account) {
        if (mm->role_account)
                return snap_find_role(HDR(b), snap_find_account(HDR(b), mm->role_account), mm->role);
        for (uint32_t a = account; a != SNAP_NONE; a = account_at(b, a)->parent) {
                uint32_t r = snap_find_role(HDR(b), a, mm->role);
                if (r != SNAP_NONE)
                        return r;
        }
        return SNAP_NONE;
}

/* Per account while memberships are compiled: the distinct roles its
 * direct members hold and how many hold each (for no-role= conditions;
 * counted so that patches can keep them exact), as (role, count) pairs. */
typedef struct Held {
        uint32_t *pairs;
        size_t n;
} Held;

static int held_add(Held *h, uint32_t role) {
        uint32_t *n;
        for (size_t i = 0; i < h->n; i++)
                if (h->pairs[2 * i] == role) {
                        h->pairs[2 * i + 1]++;
                        return 0;
                }
        n = realloc(h->pairs, (h->n + 1) * 2 * sizeof(uint32_t));
        if (!n)
                return -ENOMEM;
        n[2 * h->n] = role;
        n[2 * h->n + 1] = 1;
        h->n++;
        h->pairs = n;
        return 0;
}

/* A membership's entry, its lists and bitset appended to b. */
static int build_membership(Builder *b, const ModelMembership *mm, uint32_t user, uint32_t account, uint32_t role,
                            SnapMembership *ret) {
        SnapMembership me = {
                .user = user,
                .account = account,
                .role = role,
                .groups = b_strv(b, mm->groups),
                .ivrs = b_strv(b, mm->ivrs),
                .acg = b_strv(b, mm->acg),
                .only = b_strv(b, mm->only),
                .only_bits = SNAP_NONE,
                .notify = b_strv(b, mm->notify),
        };
        if (strv_length(mm->only) > 0) {
                me.only_bits = b_bits(b);
                bits_match(b, me.only_bits, mm->only);
        }
        if (b->error < 0)
                return b->error;
        *ret = me;
        return 0;
}

static int compile_users(Builder *b, const Model *m, Held *held) {
        _cleanup_free_ NameIndex *order = NULL;
        uint32_t next = 0;

        if (m->n_users > 0) {
                order = calloc(m->n_users, sizeof(NameIndex));
                if (!order)
                        return -ENOMEM;
        }
        bool sorted = true;
        for (size_t i = 0; i < m->n_users; i++) {
                if (!m->users[i].name)
                        return -EINVAL;
                order[i] = (NameIndex) { m->users[i].name, (uint32_t) i };
                sorted = sorted && (i == 0 || strcmp(order[i - 1].name, order[i].name) < 0);
        }
        /* The store hands users over in name order already. */
        if (m->n_users > 1 && !sorted)
                qsort(order, m->n_users, sizeof(NameIndex), name_index_cmp);

        for (uint32_t i = 0; i < m->n_users; i++) {
                const ModelUser *mu = &m->users[order[i].index];
                SnapUser e;

                if (i > 0 && strcmp(order[i - 1].name, order[i].name) == 0)
                        return -EINVAL;
                if (mu->n_memberships > HDR(b)->n_memberships - next)
                        return -EINVAL;
                e = (SnapUser) {
                        .name = b_str_unique(b, mu->name),
                        .display_name = b_str(b, mu->display_name),
                        .enabled = mu->enabled,
                        .first_membership = next,
                        .n_memberships = (uint32_t) mu->n_memberships,
                };
                for (size_t j = 0; j < mu->n_memberships; j++) {
                        const ModelMembership *mm = &mu->memberships[j];
                        uint32_t account = snap_find_account(HDR(b), mm->account), role;
                        SnapMembership me;
                        int r;

                        if (account == SNAP_NONE)
                                return -EINVAL;
                        role = membership_role(b, mm, account);
                        if (role == SNAP_NONE)
                                return -EINVAL;
                        for (uint32_t k = e.first_membership; k < next; k++)
                                if (AT(b, HDR(b)->memberships, SnapMembership)[k].account == account)
                                        return -EINVAL;
                        r = build_membership(b, mm, i, account, role, &me);
                        if (r < 0)
                                return r;
                        AT(b, HDR(b)->memberships, SnapMembership)[next++] = me;
                        account_at(b, account)->n_members++;
                        r = held_add(&held[account], role);
                        if (r < 0)
                                return r;
                }
                AT(b, HDR(b)->users, SnapUser)[i] = e;
                hash_put(b, HDR(b)->user_hash, HDR(b)->user_hash_size, snap_hash_str(mu->name), i);
        }
        return 0;
}

/* Plan in force, what ancestors hide, and who holds which role. */
static int compile_account_derived(Builder *b, const Model *m, const Held *held) {
        uint32_t zero = b_bits(b);

        for (uint32_t i = 0; i < m->n_accounts; i++) {
                uint32_t parent = account_at(b, i)->parent;
                if (parent != SNAP_NONE)
                        account_at(b, parent)->flags |= SNAP_ACCOUNT_AGENCY;
                if (strv_contains(m->accounts[i].attrs, "kind=agency"))
                        account_at(b, i)->flags |= SNAP_ACCOUNT_AGENCY;
        }
        for (uint32_t i = 0; i < m->n_accounts; i++) {
                const char *plan_name = NULL;
                uint32_t plan_bits, hidden_bits = zero, eff_plan = SNAP_NONE, held_list;
                bool hides = false;

                for (uint32_t a = i; a != SNAP_NONE && !plan_name; a = account_at(b, a)->parent)
                        plan_name = m->accounts[a].plan;
                if (plan_name) {
                        const ModelPlan *mp = model_find_plan(m, plan_name);
                        eff_plan = b_str(b, plan_name);
                        /* A plan that is named but not defined allows
                         * nothing: fail closed rather than open. */
                        plan_bits = b_bits(b);
                        if (mp)
                                bits_match(b, plan_bits, mp->features);
                } else
                        plan_bits = HDR(b)->all_bits;

                for (uint32_t a = account_at(b, i)->parent; a != SNAP_NONE; a = account_at(b, a)->parent)
                        if (strv_length(m->accounts[a].hidden) > 0)
                                hides = true;
                if (hides) {
                        hidden_bits = b_bits(b);
                        for (uint32_t a = account_at(b, i)->parent; a != SNAP_NONE; a = account_at(b, a)->parent)
                                bits_match(b, hidden_bits, m->accounts[a].hidden);
                }
                held_list = b_u32_pairs(b, held[i].pairs, held[i].n);
                if (b->error < 0)
                        return b->error;
                account_at(b, i)->eff_plan = eff_plan;
                account_at(b, i)->plan_bits = plan_bits;
                account_at(b, i)->hidden_bits = hidden_bits;
                account_at(b, i)->held_roles = held_list;
        }
        return b->error;
}

static bool counts_fit(const Model *m, size_t n_grants, size_t n_memberships, size_t n_notifications) {
        size_t limit = UINT32_MAX / 64; /* every index and count well inside u32 */
        return m->n_permissions < limit && m->n_plans < limit && m->n_accounts < limit && m->n_roles < limit &&
               m->n_rules < limit && m->n_users < limit && n_grants < limit && n_memberships < limit &&
               n_notifications < limit;
}

int snapshot_compile(const Model *m, uint64_t generation, Snapshot **ret) {
        Builder b = {};
        Held *held = NULL;
        size_t n_grants = 0, n_memberships = 0, n_notifications = 0;
        uint32_t off;
        int r;

        if (!m || !ret)
                return -EINVAL;
        if ((m->n_permissions && !m->permissions) || (m->n_plans && !m->plans) ||
            (m->n_accounts && !m->accounts) || (m->n_roles && !m->roles) || (m->n_rules && !m->rules) ||
            (m->n_users && !m->users))
                return -EINVAL;
        for (size_t i = 0; i < m->n_roles; i++) {
                if (m->roles[i].n_grants && !m->roles[i].grants)
                        return -EINVAL;
                n_grants += m->roles[i].n_grants;
        }
        for (size_t i = 0; i < m->n_users; i++) {
                if (m->users[i].n_memberships && !m->users[i].memberships)
                        return -EINVAL;
                n_memberships += m->users[i].n_memberships;
        }
        for (size_t i = 0; i < m->n_accounts; i++) {
                size_t n = strv_length(m->accounts[i].notifications);
                if (n > UINT32_MAX / 64 || n_notifications > UINT32_MAX / 64)
                        return -E2BIG;
                n_notifications += n;
        }
        if (!counts_fit(m, n_grants, n_memberships, n_notifications))
                return -E2BIG;

        off = b_alloc(&b, sizeof(Snapshot), 8);
        if (off == SNAP_NONE)
                return b.error;
        memcpy(HDR(&b)->magic, SNAPSHOT_MAGIC, sizeof(HDR(&b)->magic));
        HDR(&b)->version = SNAPSHOT_VERSION;
        HDR(&b)->header_size = sizeof(Snapshot);
        HDR(&b)->generation = generation;
        HDR(&b)->n_words = m->n_permissions == 0 ? 1 : (uint32_t) ((m->n_permissions + 63) / 64);
        HDR(&b)->n_permissions = (uint32_t) m->n_permissions;
        HDR(&b)->n_plans = (uint32_t) m->n_plans;
        HDR(&b)->n_accounts = (uint32_t) m->n_accounts;
        HDR(&b)->n_roles = (uint32_t) m->n_roles;
        HDR(&b)->n_grants = (uint32_t) n_grants;
        HDR(&b)->n_rules = (uint32_t) m->n_rules;
        HDR(&b)->n_users = (uint32_t) m->n_users;
        HDR(&b)->n_memberships = (uint32_t) n_memberships;
        HDR(&b)->n_notifications = (uint32_t) n_notifications;

#define TABLE(field, n, type)                                    \
        do {                                                     \
                uint32_t _o = b_table(&b, (n), sizeof(type));    \
                if (b.error >= 0)                                \
                        HDR(&b)->field = _o;                     \
        } while (0)
        TABLE(permissions, m->n_permissions, SnapPermission);
        TABLE(plans, m->n_plans, SnapPlan);
        TABLE(accounts, m->n_accounts, SnapAccount);
        TABLE(roles, m->n_roles, SnapRole);
        TABLE(grants, n_grants, SnapGrant);
        TABLE(rules, m->n_rules, SnapRule);
        TABLE(notifications, n_notifications, SnapNotification);
        TABLE(users, m->n_users, SnapUser);
        TABLE(memberships, n_memberships, SnapMembership);
#undef TABLE
#define HASH(field, n)                                           \
        do {                                                     \
                size_t _n = hash_slots(n);                       \
                uint32_t _o = b_hash(&b, _n);                    \
                if (b.error >= 0) {                              \
                        HDR(&b)->field = _o;                     \
                        HDR(&b)->field##_size = (uint32_t) _n;   \
                }                                                \
        } while (0)
        HASH(user_hash, m->n_users);
        HASH(permission_hash, m->n_permissions);
        HASH(account_hash, m->n_accounts);
        HASH(role_hash, m->n_roles);
#undef HASH
        off = b_alloc(&b, sizeof(uint32_t), 8);
        if (b.error < 0) {
                r = b.error;
                goto fail;
        }
        HDR(&b)->empty_list = off;
        HDR(&b)->data = off;

        if (m->n_accounts > 0) {
                held = calloc(m->n_accounts, sizeof(Held));
                if (!held) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        r = compile_permissions(&b, m);
        if (r >= 0)
                r = compile_plans(&b, m);
        if (r >= 0)
                r = compile_accounts(&b, m);
        if (r >= 0)
                r = compile_roles(&b, m);
        if (r >= 0)
                r = compile_notifications(&b, m);
        if (r >= 0)
                r = compile_rules(&b, m);
        if (r >= 0)
                r = compile_users(&b, m, held);
        if (r >= 0)
                r = compile_account_derived(&b, m, held);
        if (r >= 0 && b.error < 0)
                r = b.error;
        if (r < 0)
                goto fail;

        /* Round the end up so the buffer's size keeps 8-alignment. */
        (void) b_alloc(&b, 0, 8);
        if (b.error < 0) {
                r = b.error;
                goto fail;
        }
        HDR(&b)->size = b.size;
        if (b.size < b.cap) {
                uint8_t *shrunk = realloc(b.buf, b.size);
                if (shrunk) {
                        b.buf = shrunk;
                        b.cap = b.size;
                }
        }
        HDR(&b)->heap = (uint32_t) b.size;
        HDR(&b)->users_view = snap_find_permission(HDR(&b), "users.view");
        HDR(&b)->n_live_users = (uint32_t) m->n_users;
        HDR(&b)->extra_users = SNAP_NONE;
        HDR(&b)->user_hash_used = (uint32_t) m->n_users;
        HDR(&b)->capacity = b.cap;
        for (size_t i = 0; i < m->n_accounts; i++)
                free(held[i].pairs);
        free(held);
        free(b.dedup);
        *ret = (Snapshot *) (void *) b.buf;
        return 0;

fail:
        if (held)
                for (size_t i = 0; i < m->n_accounts; i++)
                        free(held[i].pairs);
        free(held);
        free(b.dedup);
        free(b.buf);
        return r;
}

Snapshot *snapshot_free(Snapshot *s) {
        free(s);
        return NULL;
}

uint64_t snapshot_generation(const Snapshot *s) {
        return s ? s->generation : 0;
}

const void *snapshot_data(const Snapshot *s) {
        return s;
}

size_t snapshot_size(const Snapshot *s) {
        return s ? (size_t) s->size : 0;
}

size_t snapshot_n_users(const Snapshot *s) {
        return s ? s->n_live_users : 0;
}

size_t snapshot_n_roles(const Snapshot *s) {
        return s ? s->n_roles : 0;
}

size_t snapshot_n_accounts(const Snapshot *s) {
        return s ? s->n_accounts : 0;
}

size_t snapshot_n_permissions(const Snapshot *s) {
        return s ? s->n_permissions : 0;
}

/* ---- patches ------------------------------------------------------------ */

/*
 * A patch appends to the buffer (records for the heap, at stride multiples
 * of their table; strings and lists) and rewrites a few words in place:
 * the user's own SnapUser, hash slots, an account's n_members and held
 * counts, header fields.  Every in-place write goes through patch_write(),
 * which logs the old bytes, so snapshot_undo() can put them back in reverse
 * order; appended bytes need no log, since restoring the header's size
 * (logged like any other write) forgets them.
 */
struct UndoEntry {
        uint32_t off, len;
        uint64_t old;
};

static int patch_write(Builder *b, SnapshotUndo *undo, uint32_t off, const void *v, uint32_t len) {
        struct UndoEntry *e;

        if (b->error < 0)
                return b->error;
        if (undo->n == undo->cap) {
                size_t cap = undo->cap ? undo->cap * 2 : 64;
                struct UndoEntry *n = realloc(undo->items, cap * sizeof(*n));
                if (!n)
                        return b->error = -ENOMEM;
                undo->items = n;
                undo->cap = cap;
        }
        e = &undo->items[undo->n++];
        *e = (struct UndoEntry) { .off = off, .len = len };
        memcpy(&e->old, b->buf + off, len);
        memcpy(b->buf + off, v, len);
        return 0;
}

#define PATCH(b, undo, off, value)                                                    \
        ({                                                                            \
                __typeof__(value) _v = (value);                                       \
                _Static_assert(sizeof(_v) == 4 || sizeof(_v) == 8, "word-sized");     \
                patch_write((b), (undo), (uint32_t) (off), &_v, (uint32_t) sizeof(_v)); \
        })
#define HDR_OFF(field) ((uint32_t) offsetof(Snapshot, field))

size_t snapshot_undo_mark(const SnapshotUndo *undo) {
        return undo ? undo->n : 0;
}

void snapshot_undo(Snapshot *s, SnapshotUndo *undo, size_t mark) {
        if (!s || !undo)
                return;
        while (undo->n > mark) {
                const struct UndoEntry *e = &undo->items[--undo->n];
                memcpy((uint8_t *) s + e->off, &e->old, e->len);
        }
}

void snapshot_undo_forget(SnapshotUndo *undo) {
        if (undo)
                undo->n = 0;
}

void snapshot_undo_done(SnapshotUndo *undo) {
        if (!undo)
                return;
        free(undo->items);
        *undo = (SnapshotUndo) {};
}

/* n records of a table, appended at a whole number of strides from the
 * table's start: their index is (offset - table) / stride. */
static uint32_t b_record(Builder *b, uint32_t table, size_t stride, size_t n, uint32_t *ret_index) {
        size_t start = (b->size + 3) & ~(size_t) 3, k;
        uint32_t off;

        if (b->error < 0)
                return SNAP_NONE;
        k = (start - table + stride - 1) / stride;
        if (k > UINT32_MAX / 2) {
                b->error = -E2BIG;
                return SNAP_NONE;
        }
        /* Pad up to the record's place, then take the records. */
        if (table + k * stride > b->size && b_alloc(b, table + k * stride - b->size, 1) == SNAP_NONE)
                return SNAP_NONE;
        off = b_alloc(b, n * stride, 4);
        if (off == SNAP_NONE)
                return SNAP_NONE;
        if (off != table + k * stride) {
                b->error = -EFAULT;     /* b_alloc() aligned differently than computed */
                return SNAP_NONE;
        }
        *ret_index = (uint32_t) k;
        return off;
}

static uint32_t list_off_item(const Builder *b, uint32_t list, uint32_t i) {
        return list + (1 + i) * (uint32_t) sizeof(uint32_t);
}

/* One more or one fewer member of account a holding role r.  Returns 1 if
 * whether anyone in a holds r changed (no-role= conditions may flip). */
static int held_adjust(Builder *b, SnapshotUndo *undo, uint32_t a, uint32_t r, int delta) {
        uint32_t acc_off = HDR(b)->accounts + a * (uint32_t) sizeof(SnapAccount);
        uint32_t held = AT(b, acc_off, SnapAccount)->held_roles, n = AT(b, held, uint32_t)[0], list;

        for (uint32_t i = 0; i < n; i++)
                if (AT(b, held, uint32_t)[1 + 2 * i] == r) {
                        uint32_t count = AT(b, held, uint32_t)[2 + 2 * i];
                        if (delta < 0 && count == 0)
                                return b->error = -EFAULT;
                        count = delta < 0 ? count - 1 : count + 1;
                        if (PATCH(b, undo, list_off_item(b, held, 2 * i + 1), count) < 0)
                                return b->error;
                        return (delta > 0 && count == 1) || (delta < 0 && count == 0);
                }
        if (delta < 0)
                return b->error = -EFAULT;
        /* A role not held here before: a longer list, the old one garbage. */
        list = b_alloc(b, (2 * (n + 1) + 1) * sizeof(uint32_t), 4);
        if (list == SNAP_NONE)
                return b->error;
        held = AT(b, acc_off, SnapAccount)->held_roles;   /* buf may have moved */
        memcpy(AT(b, list, uint32_t) + 1, AT(b, held, uint32_t) + 1, 2 * n * sizeof(uint32_t));
        AT(b, list, uint32_t)[0] = n + 1;
        AT(b, list, uint32_t)[1 + 2 * n] = r;
        AT(b, list, uint32_t)[2 + 2 * n] = 1;
        if (PATCH(b, undo, acc_off + offsetof(SnapAccount, held_roles), list) < 0 ||
            PATCH(b, undo, HDR_OFF(garbage), HDR(b)->garbage + (n ? (2 * n + 1) * sizeof(uint32_t) : 0)) < 0)
                return b->error;
        return 1;
}

static int members_adjust(Builder *b, SnapshotUndo *undo, uint32_t a, int delta) {
        uint32_t off = HDR(b)->accounts + a * (uint32_t) sizeof(SnapAccount) + (uint32_t) offsetof(SnapAccount, n_members);
        return PATCH(b, undo, off, AT(b, off, uint32_t)[0] + (uint32_t) delta);
}

/* A new table for the user hash, sized for the live users plus one, every
 * live user put in again.  The old table becomes garbage. */
static int user_hash_rebuild(Builder *b, SnapshotUndo *undo) {
        size_t slots = hash_slots((size_t) HDR(b)->n_live_users + 1) * 2;
        uint32_t old_size = HDR(b)->user_hash_size, used = 0, off;

        if (slots > UINT32_MAX / 8)
                return b->error = -E2BIG;
        off = b_hash(b, slots);
        if (off == SNAP_NONE)
                return b->error;
        SNAP_FOREACH_USER(HDR(b), u, pos) {
                hash_put(b, off, (uint32_t) slots, snap_hash_str(snap_name(HDR(b), snap_users(HDR(b), u)->name)), u);
                used++;
        }
        if (PATCH(b, undo, HDR_OFF(user_hash), off) < 0 ||
            PATCH(b, undo, HDR_OFF(user_hash_size), (uint32_t) slots) < 0 ||
            PATCH(b, undo, HDR_OFF(user_hash_used), used) < 0 ||
            PATCH(b, undo, HDR_OFF(garbage), HDR(b)->garbage + (uint64_t) old_size * sizeof(uint32_t)) < 0)
                return b->error;
        return 0;
}

static int user_hash_insert(Builder *b, SnapshotUndo *undo, const char *name, uint32_t u) {
        uint32_t mask, i;

        if (((size_t) HDR(b)->user_hash_used + 1) * 2 > HDR(b)->user_hash_size && user_hash_rebuild(b, undo) < 0)
                return b->error;
        mask = HDR(b)->user_hash_size - 1;
        for (i = snap_hash_str(name) & mask;; i = (i + 1) & mask) {
                uint32_t v = AT(b, HDR(b)->user_hash, uint32_t)[i];
                if (v == SNAP_NONE || v == SNAP_TOMB)
                        break;
        }
        if (AT(b, HDR(b)->user_hash, uint32_t)[i] == SNAP_NONE &&
            PATCH(b, undo, HDR_OFF(user_hash_used), HDR(b)->user_hash_used + 1) < 0)
                return b->error;
        return PATCH(b, undo, HDR(b)->user_hash + i * (uint32_t) sizeof(uint32_t), u);
}

static int user_hash_remove(Builder *b, SnapshotUndo *undo, const char *name, uint32_t u) {
        uint32_t mask = HDR(b)->user_hash_size - 1;

        for (uint32_t i = snap_hash_str(name) & mask;; i = (i + 1) & mask) {
                uint32_t v = AT(b, HDR(b)->user_hash, uint32_t)[i];
                if (v == SNAP_NONE)
                        return b->error = -EFAULT;
                if (v == u)
                        return PATCH(b, undo, HDR(b)->user_hash + i * (uint32_t) sizeof(uint32_t), (uint32_t) SNAP_TOMB);
        }
}

/* Lists u among the users added since the compile. */
static int extra_users_add(Builder *b, SnapshotUndo *undo, uint32_t u) {
        uint32_t n = HDR(b)->n_extra_users, cap = HDR(b)->extra_users_cap, off = HDR(b)->extra_users;

        if (n == cap) {
                uint32_t ncap = cap ? cap * 2 : 64, noff;
                if (ncap > UINT32_MAX / 8)
                        return b->error = -E2BIG;
                noff = b_alloc(b, (size_t) ncap * sizeof(uint32_t), 4);
                if (noff == SNAP_NONE)
                        return b->error;
                if (n > 0)
                        memcpy(AT(b, noff, uint32_t), AT(b, off, uint32_t), n * sizeof(uint32_t));
                if (PATCH(b, undo, HDR_OFF(extra_users), noff) < 0 ||
                    PATCH(b, undo, HDR_OFF(extra_users_cap), ncap) < 0 ||
                    PATCH(b, undo, HDR_OFF(garbage), HDR(b)->garbage + (uint64_t) cap * sizeof(uint32_t)) < 0)
                        return b->error;
                off = noff;
        }
        /* The slot is past n_extra_users: not yet part of the snapshot. */
        AT(b, off, uint32_t)[n] = u;
        return PATCH(b, undo, HDR_OFF(n_extra_users), n + 1);
}

/* Takes the memberships of user u out of the counts. */
static int user_uncount(Builder *b, SnapshotUndo *undo, uint32_t u, bool *held_changed) {
        SnapUser su = *snap_users(HDR(b), u);

        for (uint32_t i = 0; i < su.n_memberships; i++) {
                SnapMembership sm = *snap_memberships(HDR(b), su.first_membership + i);
                int k = held_adjust(b, undo, sm.account, sm.role, -1);
                if (k < 0 || members_adjust(b, undo, sm.account, -1) < 0)
                        return b->error < 0 ? b->error : k;
                if (k > 0)
                        *held_changed = true;
        }
        return PATCH(b, undo, HDR_OFF(garbage), HDR(b)->garbage + (uint64_t) su.n_memberships * sizeof(SnapMembership));
}

int snapshot_patch_user(Snapshot **sp, const char *name, const ModelUser *mu, SnapshotUndo *undo,
                        bool *ret_held_changed) {
        Builder b;
        uint32_t u, user_off, run = 0, first = 0;
        bool held_changed = false, fresh;
        SnapUser e;

        if (!sp || !*sp || !name || !undo || (mu && (!mu->name || strcmp(mu->name, name) != 0)) ||
            (mu && mu->n_memberships && !mu->memberships))
                return -EINVAL;
        b = (Builder) { .buf = (uint8_t *) *sp, .size = (*sp)->size, .cap = (*sp)->capacity, .patching = true };
        u = snap_find_user(HDR(&b), name);
        fresh = u == SNAP_NONE;
        if (fresh && !mu)
                return -ENOENT;
        if (!fresh && user_uncount(&b, undo, u, &held_changed) < 0)
                goto fail;

        if (!mu) {
                user_off = HDR(&b)->users + u * (uint32_t) sizeof(SnapUser);
                if (user_hash_remove(&b, undo, name, u) < 0 ||
                    PATCH(&b, undo, user_off + offsetof(SnapUser, flags), SNAP_USER_DELETED) < 0 ||
                    PATCH(&b, undo, user_off + offsetof(SnapUser, n_memberships), (uint32_t) 0) < 0 ||
                    PATCH(&b, undo, HDR_OFF(n_live_users), HDR(&b)->n_live_users - 1) < 0)
                        goto fail;
                goto done;
        }

        if (mu->n_memberships > UINT32_MAX / 64) {
                b.error = -E2BIG;
                goto fail;
        }
        if (fresh) {
                user_off = b_record(&b, HDR(&b)->users, sizeof(SnapUser), 1, &u);
                if (user_off == SNAP_NONE)
                        goto fail;
        }
        /* The membership entries first (their index is what the user
         * points at), filled in once their lists are appended. */
        if (mu->n_memberships > 0 &&
            b_record(&b, HDR(&b)->memberships, sizeof(SnapMembership), mu->n_memberships, &first) == SNAP_NONE)
                goto fail;
        for (size_t j = 0; j < mu->n_memberships; j++) {
                const ModelMembership *mm = &mu->memberships[j];
                uint32_t account = snap_find_account(HDR(&b), mm->account), role;
                SnapMembership me;

                if (account == SNAP_NONE || (role = membership_role(&b, mm, account)) == SNAP_NONE) {
                        b.error = -EINVAL;
                        goto fail;
                }
                for (uint32_t k = 0; k < j; k++)
                        if (snap_memberships(HDR(&b), first + k)->account == account) {
                                b.error = -EINVAL;
                                goto fail;
                        }
                if (build_membership(&b, mm, u, account, role, &me) < 0)
                        goto fail;
                *(SnapMembership *) (void *) (b.buf + HDR(&b)->memberships + (size_t) (first + j) * sizeof(SnapMembership)) = me;
                run++;
                if (members_adjust(&b, undo, account, +1) < 0)
                        goto fail;
                int k = held_adjust(&b, undo, account, role, +1);
                if (k < 0)
                        goto fail;
                if (k > 0)
                        held_changed = true;
        }

        e = (SnapUser) {
                .name = fresh ? b_str(&b, name) : snap_users(HDR(&b), u)->name,
                .display_name = b_str(&b, mu->display_name),
                .enabled = mu->enabled,
                .first_membership = first,
                .n_memberships = run,
        };
        if (b.error < 0)
                goto fail;
        user_off = HDR(&b)->users + u * (uint32_t) sizeof(SnapUser);
        if (fresh) {
                memcpy(b.buf + user_off, &e, sizeof(e));
                if (user_hash_insert(&b, undo, name, u) < 0 || extra_users_add(&b, undo, u) < 0 ||
                    PATCH(&b, undo, HDR_OFF(n_live_users), HDR(&b)->n_live_users + 1) < 0)
                        goto fail;
        } else {
                const uint32_t *w = (const uint32_t *) (const void *) &e;
                for (size_t i = 0; i < sizeof(e) / sizeof(uint32_t); i++)
                        if (PATCH(&b, undo, user_off + i * sizeof(uint32_t), w[i]) < 0)
                                goto fail;
        }

done:
        /* size last, kept 8-aligned: every append of this patch is inside it. */
        if (b_alloc(&b, 0, 8) == SNAP_NONE || PATCH(&b, undo, HDR_OFF(size), (uint64_t) b.size) < 0)
                goto fail;
        HDR(&b)->capacity = b.cap;
        *sp = (Snapshot *) (void *) b.buf;
        if (ret_held_changed)
                *ret_held_changed = held_changed;
        return 0;

fail:
        /* The caller undoes to its mark; the buffer may have moved. */
        HDR(&b)->capacity = b.cap;
        *sp = (Snapshot *) (void *) b.buf;
        return b.error < 0 ? b.error : -EINVAL;
}

int snapshot_set_generation(Snapshot *s, uint64_t generation, SnapshotUndo *undo) {
        Builder b;

        if (!s || !undo)
                return -EINVAL;
        b = (Builder) { .buf = (uint8_t *) s, .size = s->size, .cap = s->capacity, .patching = true };
        return PATCH(&b, undo, HDR_OFF(generation), generation);
}

bool snapshot_wants_compile(const Snapshot *s) {
        if (!s)
                return false;
        /* Garbage as large as what is live, or added users numerous enough
         * that sorting them for listings costs: both come after work
         * proportional to the model, so recompiling stays O(1) per change
         * amortised. */
        return (s->garbage > (16u << 20) && s->garbage > s->heap) ||
               (s->n_extra_users > 4096 && s->n_extra_users > s->n_users / 4);
}
