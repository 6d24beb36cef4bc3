/*
 * gen-policy.h: builds the large role databases the benchmarks measure
 * (1k to 1M users), straight into a callroled database file.
 *
 * The schema is the daemon's own: the file is created and migrated by the
 * store (store_open), then filled in bulk with SQL, since going through
 * callroled's change path would measure the import, not the policy.  The
 * shape is fixed so that every benchmark (and bench/casbin) measures the
 * same policy:
 *
 *   accounts  "agency" and sub-accounts acct0001.. (parent agency)
 *   roles     r0..r9 in every account, ranks 10..100, grants in
 *             gen_policy_grants[] (scoped: assigned, direction, groups, ivrs)
 *   users     u0000001..; user i is in account i % A with role r((i*7) % 10),
 *             groups {g(i % 50)} and ivrs {ivr(i % 20)}
 */
#pragma once

#include <stddef.h>

typedef struct GenShape {
        unsigned users;
        unsigned accounts;     /* including "agency"; ≥ 1 */
} GenShape;

/* The grants of role rK, as callrolectl takes them; NULL-terminated. */
extern const char *const *const gen_policy_grants[10];

/* Creates (or replaces) the database at db.  0 or -errno, with a message
 * on stderr. */
int gen_policy(const char *db, const GenShape *shape);

/* The name of user i (1-based) and of account index a, into buf. */
void gen_user_name(unsigned i, char buf[static 16]);
void gen_account_name(unsigned a, char buf[static 16]);
unsigned gen_user_account(const GenShape *shape, unsigned i);
unsigned gen_user_role(unsigned i);
