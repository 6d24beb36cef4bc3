/*
 * helper-model.c: see helper-model.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "helper-model.h"
#include "macro.h"

char *test_strdup(const char *s) {
        char *c;
        if (!s)
                return NULL;
        c = strdup(s);
        assert_non_null(c);
        return c;
}

char **test_strv_split(const char *csv) {
        _cleanup_free_ char *copy = NULL;
        char **l = NULL, *save = NULL;

        if (isempty(csv))
                return NULL;
        copy = test_strdup(csv);
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                assert_int_equal(strv_extend(&l, t), 0);
        return l;
}

void test_sql_exec(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        char *err = NULL;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

int64_t test_sql_int(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        int64_t v;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}
