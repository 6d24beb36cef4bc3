/*
 * helper-model.h: building role models by hand for the daemon's unit tests
 * (tests/test-policy.c, tests/test-snapshot.c), and reading or changing a
 * store's database file behind the store's back with plain SQLite
 * (tests/test-store.c, tests/test-profile-format.c).
 *
 * Every failure is a cmocka assertion, so these are for test bodies, not
 * for group setups.
 */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* strdup() that must succeed; NULL stays NULL. */
char *test_strdup(const char *s);

/* A strv from a comma-separated list; NULL or "" gives NULL (no list). */
char **test_strv_split(const char *csv);

/* Appends one zeroed element to the array arr of n elements (both lvalues,
 * n is incremented) and evaluates to a pointer to it.  Needs cmocka.h. */
#define TEST_GROW(arr, n)                                                        \
        ({                                                                       \
                __typeof__(arr) _g = realloc((arr), ((n) + 1) * sizeof(*(arr))); \
                assert_non_null(_g);                                             \
                (arr) = _g;                                                      \
                memset(&(arr)[(n)], 0, sizeof(*(arr)));                          \
                &(arr)[(n)++];                                                   \
        })

/* Runs sql (one or more statements) on the database file at path, which
 * must not be open in a Store. */
void test_sql_exec(const char *path, const char *sql);
/* The first column of the first row of a query, read-only. */
int64_t test_sql_int(const char *path, const char *sql);
