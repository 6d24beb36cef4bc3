/*
 * test-snapshot.c: unit tests of the snapshot compiler (daemon/snapshot.c).
 *
 * Builds Models by hand, compiles them and checks the flat buffer directly
 * through snapshot-layout.h: the header, the lookups, that every offset and
 * index in the buffer stays inside it (walking every table), bitsets wider
 * than one word, that the bytes are position-independent and deterministic,
 * and that models the store should never produce are refused with -EINVAL.
 *
 * Patches (snapshot_patch_user) are checked against the compiler itself: a
 * seeded random walk of user changes, after each of which the patched
 * snapshot must keep every invariant and answer every check, listing,
 * export and description exactly as a snapshot compiled from scratch, and
 * undo must give back the very bytes.
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

#include "helper-model.h"
#include "macro.h"
#include "model.h"
#include "policy.h"
#include "snapshot-layout.h"
#include "snapshot.h"

/* ---- building models ---------------------------------------------------- */

static void add_permission(Model *m, const char *name) {
        ModelPermission *p = TEST_GROW(m->permissions, m->n_permissions);
        p->name = test_strdup(name);
        p->builtin = true;
}

static ModelAccount *add_account(Model *m, const char *name, const char *parent, const char *plan, int64_t seats) {
        ModelAccount *a = TEST_GROW(m->accounts, m->n_accounts);
        a->name = test_strdup(name);
        a->parent = test_strdup(parent);
        a->plan = test_strdup(plan);
        a->seats = seats;
        return a;
}

static ModelRole *add_role(Model *m, const char *account, const char *id, int64_t rank, const char *grants) {
        ModelRole *r = TEST_GROW(m->roles, m->n_roles);
        _cleanup_strv_free_ char **l = test_strv_split(grants);

        r->account = test_strdup(account);
        r->id = test_strdup(id);
        r->title = test_strdup(id);
        r->rank = rank;
        for (char **g = l; g && *g; g++) {
                ModelGrant *mg = TEST_GROW(r->grants, r->n_grants);
                char *err = NULL;
                assert_int_equal(grant_parse(*g, mg, &err), 0);
        }
        return r;
}

static ModelUser *add_user(Model *m, const char *name) {
        ModelUser *u = TEST_GROW(m->users, m->n_users);
        u->name = test_strdup(name);
        u->enabled = true;
        return u;
}

static ModelMembership *add_membership(ModelUser *u, const char *account, const char *role) {
        ModelMembership *mm = TEST_GROW(u->memberships, u->n_memberships);
        mm->account = test_strdup(account);
        mm->role = test_strdup(role);
        return mm;
}

/* Everything of the populated model but its users. */
static Model *structure_model(void) {
        Model *m = model_new();
        ModelPlan *plan;

        assert_non_null(m);
        add_permission(m, "login");
        add_permission(m, "calls.view");
        add_permission(m, "calls.export");
        add_permission(m, "users.view");
        add_permission(m, "billing.invoices.view");

        plan = TEST_GROW(m->plans, m->n_plans);
        plan->name = test_strdup("basic");
        plan->features = test_strv_split("login,calls.*");

        add_account(m, "default", NULL, NULL, -1);
        add_account(m, "acme", NULL, "basic", -1)->hidden = test_strv_split("calls.export");
        add_account(m, "sub", "acme", NULL, 10)->attrs = test_strv_split("billing=customer");

        add_role(m, "default", "agent", 10, "login,calls.view@assigned");
        add_role(m, "default", "admin", 70, "login,calls.view,calls.export,users.view,"
                                             "billing.invoices.view/no-role=partner");
        add_role(m, "acme", "admin", 90, "login,calls.view,calls.export");
        add_role(m, "default", "partner", 80, "login");

        {
                ModelRule *r = TEST_GROW(m->rules, m->n_rules);
                r->account = test_strdup("default");
                r->if_pattern = test_strdup("calls.export");
                r->requires_pattern = test_strdup("calls.view");
        }
        return m;
}

static Model *populated_model(void) {
        Model *m = structure_model();
        ModelUser *u;

        u = add_user(m, "zoe");
        add_membership(u, "default", "agent")->groups = test_strv_split("g1,g2");
        u = add_user(m, "alice");
        u->display_name = test_strdup("Alice A.");
        add_membership(u, "default", "admin");
        add_membership(u, "sub", "admin")->only = test_strv_split("login,calls.*");
        u = add_user(m, "nobody");
        u = add_user(m, "mike");
        add_membership(u, "acme", "admin");
        return m;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Model *, model_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Snapshot *, snapshot_free);

/* ---- walking the buffer ------------------------------------------------- */

typedef struct Walk {
        const Snapshot *s;
        size_t size;
} Walk;

static void check_string(const Walk *w, uint32_t off, bool may_be_none) {
        if (off == SNAP_NONE) {
                assert_true(may_be_none);
                return;
        }
        assert_true(off >= w->s->data);
        assert_true(off < w->size);
        assert_non_null(memchr((const char *) w->s + off, 0, w->size - off));
}

static void check_list(const Walk *w, uint32_t off, bool of_strings, uint32_t index_limit) {
        uint32_t n;

        assert_int_not_equal(off, SNAP_NONE);
        assert_true(off < w->size);
        assert_int_equal(off % 4, 0);
        assert_true(w->size - off >= 4);
        n = snap_list_n(w->s, off);
        assert_true((w->size - off) / 4 >= (size_t) n + 1);
        for (uint32_t i = 0; i < n; i++) {
                if (of_strings)
                        check_string(w, snap_list_item(w->s, off, i), false);
                else
                        assert_true(snap_list_item(w->s, off, i) < index_limit);
        }
}

static void check_bits(const Walk *w, uint32_t off) {
        assert_int_not_equal(off, SNAP_NONE);
        assert_true(off < w->size);
        assert_int_equal(off % 8, 0);
        assert_true(w->size - off >= (size_t) w->s->n_words * 8);
        /* No bit beyond the last permission. */
        for (uint32_t p = w->s->n_permissions; p < w->s->n_words * 64; p++)
                assert_false(snap_bit(w->s, off, p));
}

static void check_table(const Walk *w, uint32_t off, uint32_t n, size_t stride) {
        assert_true(off < w->size);
        assert_int_equal(off % 8, 0);
        assert_true((w->size - off) / stride >= n);
}

static void check_hash(const Walk *w, uint32_t off, uint32_t slots, uint32_t entries) {
        uint32_t used = 0;
        assert_true(slots >= 2);
        assert_int_equal(slots & (slots - 1), 0);
        assert_true(slots >= 2 * entries);
        assert_int_equal(off % 4, 0);
        assert_true(off < w->size);
        assert_true((w->size - off) / 4 >= slots);
        for (uint32_t i = 0; i < slots; i++) {
                uint32_t idx = snap_u32(w->s, off)[i];
                if (idx == SNAP_NONE)
                        continue;
                assert_true(idx < entries);
                used++;
        }
        assert_int_equal(used, entries);
}

/* The user hash after patches: every live user found under its name, every
 * other slot empty or a tombstone, at most half the slots in use. */
static void check_user_hash(const Walk *w) {
        const Snapshot *s = w->s;
        uint32_t live = 0, slots = s->user_hash_size, used = 0;

        assert_int_equal(slots & (slots - 1), 0);
        assert_true((w->size - s->user_hash) / 4 >= slots);
        for (uint32_t i = 0; i < slots; i++) {
                uint32_t idx = snap_u32(s, s->user_hash)[i];
                if (idx == SNAP_NONE)
                        continue;
                used++;
                if (idx == SNAP_TOMB)
                        continue;
                assert_false(snap_users(s, idx)->flags & SNAP_USER_DELETED);
                live++;
        }
        assert_int_equal(used, s->user_hash_used);
        assert_true((size_t) used * 2 <= slots);
        assert_int_equal(live, s->n_live_users);
        SNAP_FOREACH_USER(s, u, pos)
                assert_int_equal(snap_find_user(s, snap_str(s, snap_users(s, u)->name)), u);
}

/* Invariant 1 of snapshot-layout.h, for every table entry. */
static void walk_snapshot(const Snapshot *s) {
        Walk w = { s, snapshot_size(s) };

        assert_int_equal(w.size % 8, 0);
        assert_int_equal(s->header_size, sizeof(Snapshot));
        assert_true(s->data < w.size);
        assert_true(s->n_words >= 1);
        assert_true((uint64_t) s->n_words * 64 >= s->n_permissions);
        check_table(&w, s->permissions, s->n_permissions, sizeof(SnapPermission));
        check_table(&w, s->plans, s->n_plans, sizeof(SnapPlan));
        check_table(&w, s->accounts, s->n_accounts, sizeof(SnapAccount));
        check_table(&w, s->roles, s->n_roles, sizeof(SnapRole));
        check_table(&w, s->grants, s->n_grants, sizeof(SnapGrant));
        check_table(&w, s->rules, s->n_rules, sizeof(SnapRule));
        check_table(&w, s->users, s->n_users, sizeof(SnapUser));
        check_table(&w, s->memberships, s->n_memberships, sizeof(SnapMembership));
        check_user_hash(&w);
        assert_true(s->heap <= w.size);
        assert_true(s->capacity >= w.size);
        check_hash(&w, s->permission_hash, s->permission_hash_size, s->n_permissions);
        check_hash(&w, s->account_hash, s->account_hash_size, s->n_accounts);
        check_hash(&w, s->role_hash, s->role_hash_size, s->n_roles);
        check_list(&w, s->empty_list, true, 0);
        assert_int_equal(snap_list_n(s, s->empty_list), 0);
        check_bits(&w, s->all_bits);

        for (uint32_t i = 0; i < s->n_permissions; i++) {
                check_string(&w, snap_permissions(s, i)->name, false);
                check_string(&w, snap_permissions(s, i)->description, true);
                assert_true(snap_bit(s, s->all_bits, i));
        }
        for (uint32_t i = 0; i < s->n_plans; i++) {
                check_string(&w, snap_plans(s, i)->name, false);
                check_list(&w, snap_plans(s, i)->features, true, 0);
        }
        for (uint32_t i = 0; i < s->n_accounts; i++) {
                const SnapAccount *a = snap_accounts(s, i);
                uint32_t steps = 0;
                check_string(&w, a->name, false);
                check_string(&w, a->plan, true);
                check_string(&w, a->eff_plan, true);
                assert_true(a->parent == SNAP_NONE || a->parent < s->n_accounts);
                for (uint32_t p = a->parent; p != SNAP_NONE; p = snap_accounts(s, p)->parent)
                        assert_true(++steps <= s->n_accounts);
                check_bits(&w, a->plan_bits);
                check_bits(&w, a->hidden_bits);
                check_list(&w, a->hidden, true, 0);
                check_list(&w, a->attrs, true, 0);
                /* held_roles: (role, count) pairs, counts exact (invariant 4). */
                assert_true(a->held_roles < w.size);
                for (uint32_t k = 0; k < snap_list_n(s, a->held_roles); k++) {
                        uint32_t r = snap_list_item(s, a->held_roles, 2 * k), count = 0;
                        assert_true(r < s->n_roles);
                        SNAP_FOREACH_MEMBERSHIP(s, m, pos, j)
                                count += snap_memberships(s, m)->account == i && snap_memberships(s, m)->role == r;
                        assert_int_equal(snap_list_item(s, a->held_roles, 2 * k + 1), count);
                }
                {
                        uint32_t members = 0;
                        SNAP_FOREACH_MEMBERSHIP(s, m, pos, j) {
                                const SnapMembership *sm = snap_memberships(s, m);
                                members += sm->account == i;
                                if (sm->account == i)
                                        assert_true(snap_account_holds(s, i, sm->role));
                        }
                        assert_int_equal(a->n_members, members);
                }
        }
        for (uint32_t i = 0; i < s->n_roles; i++) {
                const SnapRole *r = snap_roles(s, i);
                check_string(&w, r->id, false);
                check_string(&w, r->title, false);
                assert_true(r->account < s->n_accounts);
                check_bits(&w, r->bits);
                assert_true(r->first_grant <= s->n_grants && r->n_grants <= s->n_grants - r->first_grant);
                for (uint32_t g = 0; g < r->n_grants; g++)
                        assert_true(snap_bit(s, r->bits, snap_grants(s, r->first_grant + g)->permission));
        }
        for (uint32_t i = 0; i < s->n_grants; i++) {
                const SnapGrant *g = snap_grants(s, i);
                assert_true(g->permission < s->n_permissions);
                assert_int_equal(g->scopes & ~(uint32_t) _SCOPE_ALL, 0);
                assert_true(g->cond <= COND_ACCOUNT_ATTR);
                check_string(&w, g->cond_key, g->cond == COND_NONE);
                check_string(&w, g->cond_value, g->cond != COND_ACCOUNT_ATTR);
                check_string(&w, g->text, false);
        }
        for (uint32_t i = 0; i < s->n_rules; i++) {
                assert_true(snap_rules(s, i)->account < s->n_accounts);
                check_string(&w, snap_rules(s, i)->if_pattern, false);
                check_string(&w, snap_rules(s, i)->requires_pattern, false);
        }
        /* Users in the table are sorted; every live user (table or heap)
         * has its memberships pointing back at it. */
        for (uint32_t i = 1; i < s->n_users; i++)
                assert_true(strcmp(snap_str(s, snap_users(s, i - 1)->name), snap_str(s, snap_users(s, i)->name)) < 0);
        SNAP_FOREACH_USER(s, i, pos) {
                const SnapUser *u = snap_users(s, i);
                assert_true(i < s->n_users || (size_t) s->users + (size_t) (i + 1) * sizeof(SnapUser) <= w.size);
                check_string(&w, u->name, false);
                check_string(&w, u->display_name, true);
                for (uint32_t j = 0; j < u->n_memberships; j++) {
                        uint32_t mi = u->first_membership + j;
                        const SnapMembership *m = snap_memberships(s, mi);
                        assert_true((size_t) s->memberships + (size_t) (mi + 1) * sizeof(SnapMembership) <= w.size);
                        assert_int_equal(m->user, i);
                        assert_true(m->account < s->n_accounts);
                        assert_true(m->role < s->n_roles);
                        for (uint32_t k = 0; k < j; k++)
                                assert_int_not_equal(snap_memberships(s, u->first_membership + k)->account, m->account);
                        check_list(&w, m->groups, true, 0);
                        check_list(&w, m->ivrs, true, 0);
                        check_list(&w, m->acg, true, 0);
                        check_list(&w, m->only, true, 0);
                        check_list(&w, m->notify, true, 0);
                        if (m->only_bits != SNAP_NONE)
                                check_bits(&w, m->only_bits);
                }
        }
}

/* ---- tests -------------------------------------------------------------- */

static void test_empty(void **state) {
        _cleanup_(model_freep) Model *m = model_new();
        _cleanup_(snapshot_freep) Snapshot *s = NULL;

        assert_non_null(m);
        assert_int_equal(snapshot_compile(m, 7, &s), 0);
        assert_non_null(s);
        assert_memory_equal(snapshot_data(s), SNAPSHOT_MAGIC, 8);
        assert_int_equal(s->version, SNAPSHOT_VERSION);
        assert_int_equal(snapshot_generation(s), 7);
        assert_int_equal(s->size, snapshot_size(s));
        assert_true(snapshot_size(s) >= sizeof(Snapshot));
        assert_int_equal(snapshot_n_users(s), 0);
        assert_int_equal(snapshot_n_roles(s), 0);
        assert_int_equal(snapshot_n_accounts(s), 0);
        assert_int_equal(snapshot_n_permissions(s), 0);
        assert_int_equal(snap_find_user(s, "alice"), SNAP_NONE);
        assert_int_equal(snap_find_account(s, "default"), SNAP_NONE);
        assert_int_equal(snap_find_permission(s, "login"), SNAP_NONE);
        walk_snapshot(s);
}

static void test_arguments(void **state) {
        _cleanup_(model_freep) Model *m = model_new();
        Snapshot *s = NULL;

        assert_int_equal(snapshot_compile(NULL, 1, &s), -EINVAL);
        assert_int_equal(snapshot_compile(m, 1, NULL), -EINVAL);
        assert_null(s);
        assert_null(snapshot_free(NULL));
        assert_int_equal(snapshot_size(NULL), 0);
        assert_int_equal(snapshot_generation(NULL), 0);
}

static void test_populated(void **state) {
        _cleanup_(model_freep) Model *m = populated_model();
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        uint32_t u, a, r, p;
        const SnapUser *su;
        const SnapMembership *sm;

        assert_int_equal(snapshot_compile(m, 42, &s), 0);
        walk_snapshot(s);
        assert_int_equal(snapshot_generation(s), 42);
        assert_int_equal(snapshot_n_users(s), 4);
        assert_int_equal(snapshot_n_roles(s), 4);
        assert_int_equal(snapshot_n_accounts(s), 3);
        assert_int_equal(snapshot_n_permissions(s), 5);
        assert_int_equal(s->n_memberships, 4);
        assert_int_equal(s->n_grants, 2 + 5 + 3 + 1);

        /* Users sorted by name, found by name. */
        assert_string_equal(snap_str(s, snap_users(s, 0)->name), "alice");
        assert_string_equal(snap_str(s, snap_users(s, 3)->name), "zoe");
        u = snap_find_user(s, "alice");
        assert_int_equal(u, 0);
        su = snap_users(s, u);
        assert_string_equal(snap_str(s, su->display_name), "Alice A.");
        assert_int_equal(su->n_memberships, 2);
        assert_int_equal(snap_find_user(s, "alicia"), SNAP_NONE);
        assert_int_equal(snap_users(s, snap_find_user(s, "nobody"))->n_memberships, 0);
        assert_int_equal(snap_users(s, snap_find_user(s, "nobody"))->display_name, SNAP_NONE);

        /* Roles by (account, id): two accounts each have their own admin. */
        a = snap_find_account(s, "default");
        r = snap_find_role(s, a, "admin");
        assert_int_not_equal(r, SNAP_NONE);
        assert_int_equal(snap_roles(s, r)->rank, 70);
        r = snap_find_role(s, snap_find_account(s, "acme"), "admin");
        assert_int_equal(snap_roles(s, r)->rank, 90);
        assert_int_equal(snap_find_role(s, snap_find_account(s, "sub"), "admin"), SNAP_NONE);
        assert_int_equal(snap_find_role(s, a, "nope"), SNAP_NONE);

        /* A membership names the role of the nearest account that has it:
         * alice's admin in sub is acme's. */
        sm = snap_memberships(s, su->first_membership + 1);
        assert_int_equal(sm->account, snap_find_account(s, "sub"));
        assert_int_equal(sm->role, snap_find_role(s, snap_find_account(s, "acme"), "admin"));
        p = snap_find_permission(s, "calls.export");
        assert_int_not_equal(sm->only_bits, SNAP_NONE);
        assert_true(snap_bit(s, sm->only_bits, p));
        assert_false(snap_bit(s, sm->only_bits, snap_find_permission(s, "users.view")));
        assert_true(snap_bit(s, sm->only_bits, snap_find_permission(s, "calls.view")));
        assert_true(snap_bit(s, sm->only_bits, snap_find_permission(s, "login")));
        assert_int_equal(snap_memberships(s, su->first_membership)->only_bits, SNAP_NONE);

        /* zoe's groups */
        sm = snap_memberships(s, snap_users(s, snap_find_user(s, "zoe"))->first_membership);
        assert_int_equal(snap_list_n(s, sm->groups), 2);
        assert_string_equal(snap_list_str(s, sm->groups, 1), "g2");
        assert_int_equal(sm->ivrs, s->empty_list);

        /* Plans: default has none (everything), acme's is basic, sub
         * inherits it; acme hides calls.export from sub only. */
        {
                const SnapAccount *def = snap_accounts(s, a), *acme = snap_accounts(s, snap_find_account(s, "acme")),
                                  *sub = snap_accounts(s, snap_find_account(s, "sub"));
                assert_int_equal(def->eff_plan, SNAP_NONE);
                assert_int_equal(def->plan_bits, s->all_bits);
                assert_string_equal(snap_str(s, acme->eff_plan), "basic");
                assert_string_equal(snap_str(s, sub->eff_plan), "basic");
                assert_int_equal(sub->plan, SNAP_NONE);
                assert_true(snap_bit(s, sub->plan_bits, snap_find_permission(s, "calls.export")));
                assert_false(snap_bit(s, sub->plan_bits, snap_find_permission(s, "users.view")));
                assert_false(snap_bit(s, acme->hidden_bits, p));
                assert_true(snap_bit(s, sub->hidden_bits, p));
                assert_false(snap_bit(s, def->hidden_bits, p));
                assert_int_equal(sub->parent, snap_find_account(s, "acme"));
                assert_int_equal(sub->seats, 10);
                assert_int_equal(def->seats, -1);
                assert_int_equal(def->n_members, 2);
                assert_int_equal(sub->n_members, 1);
                assert_int_equal(snap_list_n(s, def->held_roles), 2);   /* pairs */
                assert_string_equal(snap_list_str(s, sub->attrs, 0), "billing=customer");
        }

        /* Grants keep their text and condition. */
        r = snap_find_role(s, a, "admin");
        {
                const SnapRole *sr = snap_roles(s, r);
                const SnapGrant *g = snap_grants(s, sr->first_grant + 4);
                assert_int_equal(sr->n_grants, 5);
                assert_int_equal(g->cond, COND_NO_ROLE);
                assert_string_equal(snap_str(s, g->cond_key), "partner");
                assert_string_equal(snap_str(s, g->text), "billing.invoices.view/no-role=partner");
                /* Roles keep the model's order: role 0 is agent. */
                assert_int_equal(snap_grants(s, snap_roles(s, 0)->first_grant + 1)->scopes, SCOPE_ASSIGNED);
        }
}

/* A role's bitset spans several words: permissions 0, 63, 64, 129 of 150. */
static void test_wide_bitset(void **state) {
        _cleanup_(model_freep) Model *m = model_new();
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        const SnapRole *r;
        char name[32];

        for (int i = 0; i < 150; i++) {
                snprintf(name, sizeof(name), "perm.p%03d", i);
                add_permission(m, name);
        }
        add_account(m, "default", NULL, NULL, -1);
        add_role(m, "default", "wide", 1, "perm.p000,perm.p063,perm.p064,perm.p129");
        assert_int_equal(snapshot_compile(m, 1, &s), 0);
        walk_snapshot(s);
        assert_int_equal(s->n_words, 3);
        r = snap_roles(s, 0);
        for (uint32_t p = 0; p < 150; p++) {
                snprintf(name, sizeof(name), "perm.p%03u", p);
                assert_int_equal(snap_find_permission(s, name), p);
                assert_int_equal(snap_bit(s, r->bits, p), p == 0 || p == 63 || p == 64 || p == 129);
                assert_true(snap_bit(s, s->all_bits, p));
        }
}

/* The same model gives the same bytes, and a copy of them at another
 * address answers the same: nothing in the buffer is a pointer. */
static void test_position_independent(void **state) {
        _cleanup_(model_freep) Model *m = populated_model();
        _cleanup_(snapshot_freep) Snapshot *s1 = NULL, *s2 = NULL;
        _cleanup_free_ void *copy = NULL;
        const Snapshot *c;

        assert_int_equal(snapshot_compile(m, 3, &s1), 0);
        assert_int_equal(snapshot_compile(m, 3, &s2), 0);
        assert_int_equal(snapshot_size(s1), snapshot_size(s2));
        assert_memory_equal(snapshot_data(s1), snapshot_data(s2), snapshot_size(s1));

        copy = malloc(snapshot_size(s1));
        assert_non_null(copy);
        memcpy(copy, snapshot_data(s1), snapshot_size(s1));
        snapshot_free(TAKE_PTR(s1));
        c = copy;
        walk_snapshot(c);
        assert_int_equal(snap_find_user(c, "zoe"), 3);
        assert_int_equal(snap_roles(c, snap_find_role(c, snap_find_account(c, "acme"), "admin"))->rank, 90);
}

static void test_strings_deduplicated(void **state) {
        _cleanup_(model_freep) Model *m = populated_model();
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        uint32_t d, acme;

        assert_int_equal(snapshot_compile(m, 1, &s), 0);
        d = snap_find_account(s, "default");
        acme = snap_find_account(s, "acme");
        /* "admin" is the id of two roles and one string. */
        assert_int_equal(snap_roles(s, snap_find_role(s, d, "admin"))->id,
                         snap_roles(s, snap_find_role(s, acme, "admin"))->id);
}

/* Each broken model is refused; the output stays untouched. */
static void expect_refused(Model *m) {
        Snapshot *s = (Snapshot *) (uintptr_t) 1;
        assert_int_equal(snapshot_compile(m, 1, &s), -EINVAL);
        assert_ptr_equal(s, (Snapshot *) (uintptr_t) 1);
        model_free(m);
}

static void test_refused(void **state) {
        Model *m;

        m = populated_model(); /* membership naming an unknown role */
        add_membership(add_user(m, "x"), "default", "ghost");
        expect_refused(m);

        m = populated_model(); /* membership in an unknown account */
        add_membership(add_user(m, "x"), "nowhere", "agent");
        expect_refused(m);

        m = populated_model(); /* role of acme used by name in default: not found upward */
        add_role(m, "sub", "subonly", 1, "login");
        add_membership(add_user(m, "x"), "default", "subonly");
        expect_refused(m);

        m = populated_model(); /* two memberships in one account */
        {
                ModelUser *u = add_user(m, "x");
                add_membership(u, "default", "agent");
                add_membership(u, "default", "admin");
        }
        expect_refused(m);

        m = populated_model(); /* duplicate user */
        add_user(m, "zoe");
        expect_refused(m);

        m = populated_model(); /* duplicate permission */
        add_permission(m, "login");
        expect_refused(m);

        m = populated_model(); /* duplicate role in one account */
        add_role(m, "default", "agent", 5, "login");
        expect_refused(m);

        m = populated_model(); /* grant of an unknown permission */
        add_role(m, "default", "odd", 5, "nope.nothing");
        expect_refused(m);

        m = populated_model(); /* unknown parent */
        add_account(m, "orphan", "ghost", NULL, -1);
        expect_refused(m);

        m = populated_model(); /* a cycle of agencies */
        free(m->accounts[1].parent);
        m->accounts[1].parent = test_strdup("sub"); /* acme under sub under acme */
        expect_refused(m);

        m = populated_model(); /* duplicate account */
        add_account(m, "acme", NULL, NULL, -1);
        expect_refused(m);

        m = populated_model(); /* rule of an unknown account */
        {
                ModelRule *r = TEST_GROW(m->rules, m->n_rules);
                r->account = test_strdup("ghost");
                r->if_pattern = test_strdup("a");
                r->requires_pattern = test_strdup("b");
        }
        expect_refused(m);
}

/* A plan named but never defined allows nothing (fail closed). */
static void test_undefined_plan(void **state) {
        _cleanup_(model_freep) Model *m = populated_model();
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        const SnapAccount *a;

        add_account(m, "lost", NULL, "ghost-plan", -1);
        assert_int_equal(snapshot_compile(m, 1, &s), 0);
        a = snap_accounts(s, snap_find_account(s, "lost"));
        assert_string_equal(snap_str(s, a->eff_plan), "ghost-plan");
        for (uint32_t p = 0; p < s->n_permissions; p++)
                assert_false(snap_bit(s, a->plan_bits, p));
}

/* Many users: hash tables stay correct past a few growths. */
static void test_many_users(void **state) {
        _cleanup_(model_freep) Model *m = populated_model();
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        char name[32];

        for (int i = 0; i < 5000; i++) {
                snprintf(name, sizeof(name), "user%05d", 4999 - i);
                add_membership(add_user(m, name), "default", i % 2 ? "agent" : "partner");
        }
        assert_int_equal(snapshot_compile(m, 1, &s), 0);
        walk_snapshot(s);
        for (int i = 0; i < 5000; i++) {
                uint32_t u;
                snprintf(name, sizeof(name), "user%05d", i);
                u = snap_find_user(s, name);
                assert_int_not_equal(u, SNAP_NONE);
                assert_string_equal(snap_str(s, snap_users(s, u)->name), name);
        }
        assert_int_equal(snap_accounts(s, snap_find_account(s, "default"))->n_members, 5002);
}

/* ---- patches ------------------------------------------------------------ */

/* A user of the random walk, as plain data so a step can be taken back. */
typedef struct SpecMembership {
        int account;            /* index into spec_accounts */
        int role;               /* index into spec_roles[account] */
        unsigned groups, ivrs;  /* bit i: "g<i>", "i<i>" */
        bool only;
} SpecMembership;

typedef struct Spec {
        char name[16];
        int display;            /* 0: none */
        bool enabled;
        int n;
        SpecMembership m[2];
} Spec;

static const char *const spec_accounts[] = { "default", "acme", "sub" };
static const char *const spec_roles[3][3] = { { "agent", "admin", "partner" }, { "admin" }, { "admin" } };
static const int spec_n_roles[3] = { 3, 1, 1 };

static char **bits_strv(const char *prefix, unsigned bits) {
        char **l = NULL;
        for (unsigned i = 0; i < 3; i++)
                if (bits & (1u << i)) {
                        char v[8];
                        snprintf(v, sizeof(v), "%s%u", prefix, i);
                        assert_int_equal(strv_extend(&l, v), 0);
                }
        return l;
}

static void spec_fill(const Spec *sp, ModelUser *u) {
        char d[16];
        u->name = test_strdup(sp->name);
        snprintf(d, sizeof(d), "Name %d", sp->display);
        u->display_name = sp->display ? test_strdup(d) : NULL;
        u->enabled = sp->enabled;
        for (int j = 0; j < sp->n; j++) {
                ModelMembership *mm = add_membership(u, spec_accounts[sp->m[j].account],
                                                     spec_roles[sp->m[j].account][sp->m[j].role]);
                mm->groups = bits_strv("g", sp->m[j].groups);
                mm->ivrs = bits_strv("i", sp->m[j].ivrs);
                mm->only = sp->m[j].only ? test_strv_split("login,calls.*") : NULL;
        }
}

static Model *spec_model(const Spec *specs, size_t n) {
        Model *m = structure_model();
        /* Few seats in sub, so some steps of the walk are refused. */
        assert_string_equal(m->accounts[2].name, "sub");
        m->accounts[2].seats = 3;
        for (size_t i = 0; i < n; i++)
                spec_fill(&specs[i], TEST_GROW(m->users, m->n_users));
        return m;
}

static void spec_random(Spec *sp, uint64_t *rng) {
        #define R(n) ((int) ((*rng = *rng * 6364136223846793005ull + 1442695040888963407ull) >> 33) % (n))
        sp->display = R(3);
        sp->enabled = R(5) != 0;
        sp->n = R(3);
        for (int j = 0; j < sp->n; j++) {
                int a;
                do
                        a = R(3);
                while (j == 1 && a == sp->m[0].account);
                sp->m[j] = (SpecMembership) { .account = a, .role = R(spec_n_roles[a]), .groups = (unsigned) R(8),
                                              .ivrs = (unsigned) R(8), .only = R(4) == 0 };
        }
        #undef R
}

static char *records_text(const struct cr_records *l) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        assert_non_null(f);
        for (size_t i = 0; i < l->n; i++) {
                for (size_t k = 0; k < l->items[i].n_fields; k++) {
                        const struct cr_field *fl = &l->items[i].fields[k];
                        fprintf(f, "%s=", fl->key);
                        for (size_t j = 0; j < fl->n_values; j++)
                                fprintf(f, "%s,", fl->values[j]);
                        fprintf(f, ";");
                }
                fprintf(f, "\n");
        }
        assert_int_equal(fclose(f), 0);
        return out;
}

/* Everything a peer can ask of the two snapshots, answered alike. */
static void assert_same_answers(const Snapshot *patched, const Snapshot *compiled, const Spec *specs, size_t n) {
        static const char *const perms[] = { "login", "calls.view", "calls.export", "users.view",
                                             "billing.invoices.view" };
        static const char *const accounts[] = { NULL, "default", "acme", "sub" };
        Peer admin = { .uid = 0, .admin = true };
        char names[64][16];
        size_t n_names = 0;

        for (size_t i = 0; i < n && n_names < 63; i++)
                memcpy(names[n_names++], specs[i].name, sizeof(names[0]));
        snprintf(names[n_names++], sizeof(names[0]), "ghost");

        for (size_t i = 0; i < n_names; i++) {
                _cleanup_free_ char *d1 = policy_describe_user(patched, names[i]),
                                    *d2 = policy_describe_user(compiled, names[i]);
                assert_true((d1 == NULL) == (d2 == NULL));
                if (d1)
                        assert_string_equal(d1, d2);
                for (size_t p = 0; p < ELEMENTSOF(perms); p++)
                        for (size_t a = 0; a < ELEMENTSOF(accounts); a++)
                                for (int at = 0; at < 3; at++) {
                                        const char *keys[] = { at == 1 ? "assignee" : "group" };
                                        const char *values[] = { at == 1 ? names[i] : "g1" };
                                        struct cr_decision x = {}, y = {};
                                        _cleanup_free_ char *e1 = NULL, *e2 = NULL;
                                        int r1 = policy_check(patched, &admin, names[i], perms[p], accounts[a], keys,
                                                              values, at ? 1 : 0, &x, &e1);
                                        int r2 = policy_check(compiled, &admin, names[i], perms[p], accounts[a],
                                                              keys, values, at ? 1 : 0, &y, &e2);
                                        assert_int_equal(r1, r2);
                                        if (r1 >= 0) {
                                                assert_int_equal(x.allowed, y.allowed);
                                                assert_int_equal(x.reason, y.reason);
                                                assert_string_equal(x.role, y.role);
                                                assert_string_equal(x.detail, y.detail);
                                        } else
                                                assert_string_equal(e1, e2);
                                        cr_decision_clear(&x);
                                        cr_decision_clear(&y);
                                }
        }
        for (int kind = 0; kind < 3; kind++) {
                struct cr_records l1 = {}, l2 = {};
                _cleanup_free_ char *t1 = NULL, *t2 = NULL;
                if (kind == 0) {
                        assert_int_equal(policy_export_records(patched, NULL, &l1, NULL), 0);
                        assert_int_equal(policy_export_records(compiled, NULL, &l2, NULL), 0);
                } else {
                        /* Paged by name: the added users merge into the order. */
                        const char *after = kind == 2 && n > 0 ? specs[n / 2].name : NULL;
                        assert_int_equal(policy_user_list(patched, &admin, NULL, NULL, after, 5, &l1, NULL), 0);
                        assert_int_equal(policy_user_list(compiled, &admin, NULL, NULL, after, 5, &l2, NULL), 0);
                }
                t1 = records_text(&l1);
                t2 = records_text(&l2);
                assert_string_equal(t1, t2);
                cr_records_clear(&l1);
                cr_records_clear(&l2);
        }
        assert_int_equal(snapshot_n_users(patched), snapshot_n_users(compiled));
}

/* readd: new users mostly take the name of one deleted before, so the
 * walk goes through tombstones, a deleted compiled user added again as an
 * extra one, and an extra one deleted and added again. */
static void patch_walk(bool readd) {
        Spec specs[40] = {}, saved[40];
        char gone[64][16], saved_gone[64][16];
        size_t n_gone = 0, n_saved_gone;
        int readds = 0;
        size_t n = 0, n_saved;
        uint64_t rng = 0x5eed;
        SnapshotUndo undo = {};
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        int next_name = 0, refused = 0, held_flips = 0;

        /* A valid start: the seats of sub not exceeded. */
        for (;;) {
                _cleanup_(model_freep) Model *m = NULL;
                for (n = 0; n < 12; n++) {
                        snprintf(specs[n].name, sizeof(specs[n].name), "u%03d", (int) n);
                        spec_random(&specs[n], &rng);
                }
                m = spec_model(specs, n);
                assert_int_equal(snapshot_compile(m, 1, &s), 0);
                if (policy_validate(s, NULL) >= 0)
                        break;
                s = snapshot_free(s);
        }
        next_name = (int) n;

        for (int step = 0; step < 400; step++) {
                _cleanup_(model_freep) Model *want = NULL;
                _cleanup_(snapshot_freep) Snapshot *fresh = NULL;
                size_t mark = snapshot_undo_mark(&undo);
                int op = (int) ((rng = rng * 6364136223846793005ull + 1) >> 33) % 4, i;
                bool held_changed = false;
                char name[16];
                ModelUser *mu = NULL;
                int k;

                memcpy(saved, specs, sizeof(specs));
                n_saved = n;
                memcpy(saved_gone, gone, sizeof(gone));
                n_saved_gone = n_gone;
                if (op == 0 && n < ELEMENTSOF(specs)) {                 /* a new user */
                        i = (int) n++;
                        if (readd && n_gone > 0 && (rng >> 37) % 4 != 0) {
                                size_t g = (size_t) ((rng >> 41) % n_gone);
                                memcpy(specs[i].name, gone[g], sizeof(specs[i].name));
                                memcpy(gone[g], gone[--n_gone], sizeof(gone[g]));
                                readds++;
                        } else
                                snprintf(specs[i].name, sizeof(specs[i].name), "u%03d", next_name++);
                        spec_random(&specs[i], &rng);
                } else if (op == 1 && n > 0) {                          /* deleted */
                        i = (int) ((rng >> 40) % n);
                        snprintf(name, sizeof(name), "%s", specs[i].name);
                        if (n_gone < ELEMENTSOF(gone))
                                memcpy(gone[n_gone++], name, sizeof(gone[0]));
                        specs[i] = specs[--n];
                        i = -1;
                } else {                                                /* changed */
                        if (n == 0)
                                continue;
                        i = (int) ((rng >> 40) % n);
                        spec_random(&specs[i], &rng);
                }
                if (i >= 0) {
                        snprintf(name, sizeof(name), "%s", specs[i].name);
                        mu = calloc(1, sizeof(ModelUser));
                        assert_non_null(mu);
                        spec_fill(&specs[i], mu);
                }
                assert_int_equal(snapshot_patch_user(&s, name, mu, &undo, &held_changed), 0);
                model_user_free(mu);
                held_flips += held_changed;
                walk_snapshot(s);

                want = spec_model(specs, n);
                assert_int_equal(snapshot_compile(want, 1, &fresh), 0);
                {
                        _cleanup_free_ char *e1 = NULL, *e2 = NULL;
                        char *one[] = { name, NULL };
                        int full = policy_validate(fresh, &e1);
                        k = policy_validate_users(s, one, held_changed, &e2);
                        /* The walk started valid, so only this change can
                         * have broken something, and both must see it. */
                        assert_int_equal(k < 0, full < 0);
                        if (k < 0) {
                                /* Refused: taken back to the very bytes. */
                                snapshot_undo(s, &undo, mark);
                                memcpy(specs, saved, sizeof(specs));
                                n = n_saved;
                                memcpy(gone, saved_gone, sizeof(gone));
                                n_gone = n_saved_gone;
                                refused++;
                                walk_snapshot(s);
                                snapshot_free(fresh);
                                model_free(want);
                                want = spec_model(specs, n);
                                assert_int_equal(snapshot_compile(want, 1, &fresh), 0);
                        }
                }
                assert_same_answers(s, fresh, specs, n);
                if (step % 50 == 49)
                        snapshot_undo_forget(&undo);
        }
        /* The walk went through the paths it is meant to test. */
        assert_true(refused > 0);
        assert_true(held_flips > 0);
        assert_true(s->garbage > 0);
        assert_true(s->n_extra_users > 0);
        assert_true(!readd || readds > 20);
        snapshot_undo_done(&undo);
}

static void test_patch_walk(void **state) {
        patch_walk(false);
}

static void test_patch_walk_readd(void **state) {
        patch_walk(true);
}

/* Undo gives back the very bytes, however much the patches grew the buffer
 * and the user hash. */
static void test_patch_undo(void **state) {
        _cleanup_(model_freep) Model *m = populated_model();
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        _cleanup_free_ uint8_t *before = NULL;
        SnapshotUndo undo = {};
        size_t size;

        assert_int_equal(snapshot_compile(m, 1, &s), 0);
        size = snapshot_size(s);
        before = malloc(size);
        assert_non_null(before);
        memcpy(before, snapshot_data(s), size);
        for (int i = 0; i < 300; i++) {
                ModelUser *mu = calloc(1, sizeof(ModelUser));
                char name[16];
                assert_non_null(mu);
                snprintf(name, sizeof(name), "new%03d", i);
                mu->name = test_strdup(name);
                mu->enabled = true;
                add_membership(mu, i % 2 ? "default" : "sub", i % 3 ? "admin" : "agent");
                if (i % 3 == 0 && i % 2 == 0) {
                        /* agent is not a role of sub or acme: refused, caller undoes */
                        size_t mark = snapshot_undo_mark(&undo);
                        assert_int_equal(snapshot_patch_user(&s, name, mu, &undo, NULL), -EINVAL);
                        snapshot_undo(s, &undo, mark);
                } else
                        assert_int_equal(snapshot_patch_user(&s, name, mu, &undo, NULL), 0);
                model_user_free(mu);
        }
        assert_int_equal(snapshot_patch_user(&s, "zoe", NULL, &undo, NULL), 0);
        assert_int_equal(snapshot_patch_user(&s, "zoe", NULL, &undo, NULL), -ENOENT);
        assert_int_equal(snapshot_set_generation(s, 99, &undo), 0);
        snapshot_undo(s, &undo, 0);
        assert_int_equal(snapshot_size(s), size);
        /* capacity alone may differ: it says how much was allocated. */
        ((Snapshot *) (void *) before)->capacity = s->capacity;
        assert_memory_equal(snapshot_data(s), before, size);
        walk_snapshot(s);
        snapshot_undo_done(&undo);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_arguments),
                cmocka_unit_test(test_populated),
                cmocka_unit_test(test_wide_bitset),
                cmocka_unit_test(test_position_independent),
                cmocka_unit_test(test_strings_deduplicated),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_undefined_plan),
                cmocka_unit_test(test_many_users),
                cmocka_unit_test(test_patch_walk),
                cmocka_unit_test(test_patch_walk_readd),
                cmocka_unit_test(test_patch_undo),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
