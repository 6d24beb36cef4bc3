/*
 * test-csv.c: unit tests of callrolectl's CSV reader and writer
 * (tools/ctl-csv.c), the parser of the untrusted files `callrolectl import`
 * reads.
 *
 * The Makefile links tests with the daemon and client archives only, so the
 * parser's source is compiled into this test directly.
 *
 * Every refusal is checked twice: the error (code, and a message that names
 * the line and says what to do) and that nothing was taken: the parser's
 * position is where it was, and csv_import_parse() left *ret alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../tools/ctl-csv.c"

/* ---- helpers ----------------------------------------------------------- */

/* Parses all records of data; returns how many, fields of the last in
 * *ret_last (may be NULL). */
static int parse_all(const char *data, size_t len, unsigned long *lines, size_t max, char ***ret_last) {
        CsvParser ps;
        char **last = NULL;
        int n = 0, r;

        csv_parser_init(&ps, data, len);
        for (;;) {
                char **f = NULL;
                unsigned long line;
                r = csv_parser_next(&ps, &f, &line);
                if (r <= 0)
                        break;
                if ((size_t) n < max && lines)
                        lines[n] = line;
                strv_free(last);
                last = f;
                n++;
        }
        csv_parser_done(&ps);
        if (ret_last)
                *ret_last = last;
        else
                strv_free(last);
        return r < 0 ? r : n;
}

/* Expects csv_parser_next() to fail with error after `skip` good records,
 * with a message mentioning each of the given words, and to have consumed
 * nothing of the bad record (also on a second call). */
static void expect_parser_error(const char *data, size_t len, int skip, int error, const char *line_text,
                                const char *words) {
        CsvParser ps;
        char **f = NULL;
        unsigned long line;
        const char *p_before;
        size_t left_before;
        unsigned long line_before;

        csv_parser_init(&ps, data, len);
        for (int i = 0; i < skip; i++) {
                assert_int_equal(csv_parser_next(&ps, &f, &line), 1);
                f = strv_free(f);
        }
        p_before = ps.p;
        left_before = ps.left;
        line_before = ps.line;

        assert_int_equal(csv_parser_next(&ps, &f, &line), error);
        assert_null(f);
        assert_ptr_equal(ps.p, p_before);
        assert_int_equal(ps.left, left_before);
        assert_int_equal(ps.line, line_before);
        assert_non_null(ps.message);
        assert_non_null(strstr(ps.message, line_text));
        assert_non_null(strstr(ps.message, words));

        /* Sticky: the same answer again, still nothing consumed. */
        assert_int_equal(csv_parser_next(&ps, &f, &line), error);
        assert_null(f);
        assert_ptr_equal(ps.p, p_before);
        csv_parser_done(&ps);
}

/* Expects csv_import_parse() to refuse data with error, a message that
 * contains each of the NULL-terminated words, and *ret untouched. */
static void expect_import_error(const char *data, size_t len, int error, ...) {
        CsvImport *sentinel = (CsvImport *) (uintptr_t) 0x1, *imp = sentinel;
        char *msg = NULL;
        va_list ap;

        assert_int_equal(csv_import_parse(data, len, &imp, &msg), error);
        assert_ptr_equal(imp, sentinel);
        assert_non_null(msg);
        va_start(ap, error);
        for (const char *w = va_arg(ap, const char *); w; w = va_arg(ap, const char *)) {
                if (!strstr(msg, w))
                        fail_msg("message '%s' lacks '%s'", msg, w);
        }
        va_end(ap);
        /* No raw control byte may reach the administrator's terminal. */
        for (const char *c = msg; *c; c++)
                assert_true((unsigned char) *c >= 0x20 && (unsigned char) *c != 0x7f);
        free(msg);
}

static CsvImport *import_ok(const char *data) {
        CsvImport *imp = NULL;
        char *msg = NULL;
        int r = csv_import_parse(data, strlen(data), &imp, &msg);

        if (r < 0)
                fail_msg("import refused (%d): %s", r, msg ? msg : "(no message)");
        assert_null(msg);
        assert_non_null(imp);
        return imp;
}

/* ---- the record parser ------------------------------------------------- */

static void test_simple_records(void **state) {
        unsigned long lines[4] = {};
        char **last = NULL;

        assert_int_equal(parse_all("a,b,c\nd,e,f\n", 12, lines, 4, &last), 2);
        assert_int_equal(lines[0], 1);
        assert_int_equal(lines[1], 2);
        assert_int_equal(strv_length(last), 3);
        assert_string_equal(last[0], "d");
        assert_string_equal(last[2], "f");
        strv_free(last);

        /* The last record may have no line end. */
        assert_int_equal(parse_all("a,b", 3, NULL, 0, &last), 1);
        assert_int_equal(strv_length(last), 2);
        assert_string_equal(last[1], "b");
        strv_free(last);

        /* Nothing at all: no record. */
        assert_int_equal(parse_all("", 0, NULL, 0, NULL), 0);
}

static void test_crlf(void **state) {
        unsigned long lines[4] = {};
        char **last = NULL;

        assert_int_equal(parse_all("a,b\r\nc,d\r\n", 10, lines, 4, &last), 2);
        assert_int_equal(lines[1], 2);
        assert_string_equal(last[0], "c");
        assert_string_equal(last[1], "d");   /* no stray \r */
        strv_free(last);
}

static void test_empty_fields(void **state) {
        char **last = NULL;

        assert_int_equal(parse_all(",,\n", 3, NULL, 0, &last), 1);
        assert_int_equal(strv_length(last), 3);
        for (int i = 0; i < 3; i++)
                assert_string_equal(last[i], "");
        strv_free(last);

        /* A trailing comma is one more, empty, field. */
        assert_int_equal(parse_all("a,", 2, NULL, 0, &last), 1);
        assert_int_equal(strv_length(last), 2);
        assert_string_equal(last[1], "");
        strv_free(last);
}

static void test_quoted_fields(void **state) {
        const char *data = "\"x,y\",\"he said \"\"hi\"\"\",\"two\nlines\",\"\"\nnext,row\n";
        unsigned long lines[4] = {};
        CsvParser ps;
        char **f = NULL;
        unsigned long line;

        csv_parser_init(&ps, data, strlen(data));
        assert_int_equal(csv_parser_next(&ps, &f, &line), 1);
        assert_int_equal(line, 1);
        assert_int_equal(strv_length(f), 4);
        assert_string_equal(f[0], "x,y");
        assert_string_equal(f[1], "he said \"hi\"");
        assert_string_equal(f[2], "two\nlines");
        assert_string_equal(f[3], "");
        f = strv_free(f);
        /* The line break inside the quotes counts: the next record is on 3. */
        assert_int_equal(csv_parser_next(&ps, &f, &line), 1);
        assert_int_equal(line, 3);
        assert_string_equal(f[0], "next");
        f = strv_free(f);
        assert_int_equal(csv_parser_next(&ps, &f, &line), 0);
        csv_parser_done(&ps);

        /* A quoted field at the very end of the data, no line end. */
        assert_int_equal(parse_all("a,\"b\"\"\"", 7, lines, 4, &f), 1);
        assert_string_equal(f[1], "b\"");
        strv_free(f);
}

static void test_unterminated_quote(void **state) {
        const char *data = "a,b\nc,\"open\nstill open\n";

        /* Reported on the line where the quote opened. */
        expect_parser_error(data, strlen(data), 1, -EBADMSG, "line 2:", "never closed");
}

static void test_stray_quote(void **state) {
        const char *data = "name,role\nab\"c,x\n";

        expect_parser_error(data, strlen(data), 1, -EBADMSG, "line 2:", "enclose the whole field in double quotes");
}

static void test_text_after_closing_quote(void **state) {
        const char *data = "\"a\"b,c\n";

        expect_parser_error(data, strlen(data), 0, -EBADMSG, "line 1:", "after the closing");
}

static void test_bare_cr(void **state) {
        const char *data = "a,b\rc,d\r";

        expect_parser_error(data, strlen(data), 0, -EBADMSG, "line 1:", "carriage return");
}

static void test_nul_byte(void **state) {
        static const char bare[] = "a,b\nc\0d,e\n";
        static const char quoted[] = "a,b\n\n\"c\0d\",e\n";
        static const char after_quote[] = "\"c\"\0,e\n";

        expect_parser_error(bare, sizeof(bare) - 1, 1, -EBADMSG, "line 2:", "NUL byte");
        expect_parser_error(quoted, sizeof(quoted) - 1, 2, -EBADMSG, "line 3:", "UTF-8");
        expect_parser_error(after_quote, sizeof(after_quote) - 1, 0, -EBADMSG, "line 1:", "NUL byte");
}

static void test_record_length_limit(void **state) {
        size_t n = CSV_RECORD_MAX + 16;
        char *buf = malloc(n + 1);
        char **f = NULL;
        CsvParser ps;
        unsigned long line;

        assert_non_null(buf);

        /* Exactly CSV_RECORD_MAX bytes with its line end: accepted. */
        memset(buf, 'x', CSV_RECORD_MAX - 1);
        buf[CSV_RECORD_MAX - 1] = '\n';
        memcpy(buf + CSV_RECORD_MAX, "y\n", 2);
        csv_parser_init(&ps, buf, CSV_RECORD_MAX + 2);
        assert_int_equal(csv_parser_next(&ps, &f, &line), 1);
        assert_int_equal(strlen(f[0]), CSV_RECORD_MAX - 1);
        f = strv_free(f);
        assert_int_equal(csv_parser_next(&ps, &f, &line), 1);
        assert_string_equal(f[0], "y");
        f = strv_free(f);
        csv_parser_done(&ps);

        /* One byte more: refused, whether bare, quoted or CRLF-ended. */
        memset(buf, 'x', CSV_RECORD_MAX);
        buf[CSV_RECORD_MAX] = '\n';
        expect_parser_error(buf, CSV_RECORD_MAX + 1, 0, -EMSGSIZE, "line 1:", "longer than");

        buf[0] = '"';
        memset(buf + 1, 'x', CSV_RECORD_MAX);
        buf[CSV_RECORD_MAX + 1] = '"';
        buf[CSV_RECORD_MAX + 2] = '\n';
        expect_parser_error(buf, CSV_RECORD_MAX + 3, 0, -EMSGSIZE, "line 1:", "longer than");

        memset(buf, 'x', CSV_RECORD_MAX - 1);
        memcpy(buf + CSV_RECORD_MAX - 1, "\r\n", 2);
        expect_parser_error(buf, CSV_RECORD_MAX + 1, 0, -EMSGSIZE, "line 1:", "longer than");

        /* A long record that does end within the limit in a later line is
         * still found as the first record being too long. */
        memset(buf, 'x', n);
        expect_parser_error(buf, n, 0, -EMSGSIZE, "line 1:", "longer than");
        free(buf);
}

static void test_field_count_limit(void **state) {
        char buf[CSV_FIELDS_MAX * 2 + 8];
        char **f = NULL;

        /* CSV_FIELDS_MAX fields: accepted. */
        memset(buf, ',', CSV_FIELDS_MAX - 1);
        buf[CSV_FIELDS_MAX - 1] = '\n';
        assert_int_equal(parse_all(buf, CSV_FIELDS_MAX, NULL, 0, &f), 1);
        assert_int_equal(strv_length(f), CSV_FIELDS_MAX);
        strv_free(f);

        /* One more: refused. */
        memset(buf, ',', CSV_FIELDS_MAX);
        buf[CSV_FIELDS_MAX] = '\n';
        expect_parser_error(buf, CSV_FIELDS_MAX + 1, 0, -EMSGSIZE, "line 1:", "more than");
}

static void test_parser_arguments(void **state) {
        CsvParser ps;
        char **f = NULL;
        unsigned long line;

        csv_parser_init(&ps, NULL, 10);   /* no data is no data, whatever the length */
        assert_int_equal(csv_parser_next(&ps, &f, &line), 0);
        assert_int_equal(csv_parser_next(NULL, &f, &line), -EINVAL);
        assert_int_equal(csv_parser_next(&ps, NULL, &line), -EINVAL);
        assert_int_equal(csv_parser_next(&ps, &f, NULL), -EINVAL);
        csv_parser_done(&ps);
}

/* Random bytes from a small alphabet rich in the characters that matter:
 * the parser must never read out of bounds (run under SANITIZE=1), every
 * record must stay within the limits, and an error must come with a
 * message. */
static void test_random_input(void **state) {
        static const char alphabet[] = "ab,\"\r\n \0";
        uint32_t seed = 12345;
        char buf[512];

        for (int round = 0; round < 20000; round++) {
                size_t len;
                CsvParser ps;
                int r;

                seed = seed * 1103515245u + 12345u;
                len = (seed >> 8) % sizeof(buf);
                for (size_t i = 0; i < len; i++) {
                        seed = seed * 1103515245u + 12345u;
                        buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
                }
                csv_parser_init(&ps, buf, len);
                do {
                        char **f = NULL;
                        unsigned long line;
                        size_t left = ps.left;
                        r = csv_parser_next(&ps, &f, &line);
                        if (r > 0) {
                                assert_true(ps.left < left);   /* progress */
                                assert_true(strv_length(f) >= 1 && strv_length(f) <= CSV_FIELDS_MAX);
                        } else if (r < 0) {
                                assert_non_null(ps.message);
                                assert_int_equal(ps.left, left);
                        }
                        strv_free(f);
                } while (r > 0);
                csv_parser_done(&ps);

                /* The import layer on the same bytes, behind a header. */
                {
                        /* Every other round behind all the columns, so
                         * that enabled and the lists see the bytes too. */
                        const char *header = round % 2 ? "name,role,enabled,ivrs,acg\n" : "name,role\n";
                        size_t hl = strlen(header);
                        char *doc = malloc(len + 32), *msg = NULL;
                        CsvImport *imp = NULL;
                        assert_non_null(doc);
                        memcpy(doc, header, hl);
                        memcpy(doc + hl, buf, len);
                        r = csv_import_parse(doc, len + hl, &imp, &msg);
                        if (r < 0) {
                                assert_null(imp);
                                assert_true(r == -ENOMEM || msg != NULL);
                        } else
                                assert_null(msg);
                        csv_import_free(imp);
                        free(msg);
                        free(doc);
                }
        }
}

/* ---- import files ------------------------------------------------------ */

static void test_import_basic(void **state) {
        CsvImport *imp = import_ok("name,role,account,display-name,groups\n"
                                   "alice,call-agent,default,Alice A.,\"sales,support\"\n"
                                   "bob,call-manager,,\"Bob, the \"\"boss\"\"\",\n");

        assert_int_equal(imp->n_users, 2);
        assert_int_equal(imp->users[0].line, 2);
        assert_string_equal(imp->users[0].fields[CSV_NAME], "alice");
        assert_string_equal(imp->users[0].fields[CSV_ROLE], "call-agent");
        assert_string_equal(imp->users[0].fields[CSV_ACCOUNT], "default");
        assert_string_equal(imp->users[0].fields[CSV_DISPLAY_NAME], "Alice A.");
        assert_string_equal(imp->users[0].fields[CSV_GROUPS], "sales,support");
        assert_int_equal(imp->users[1].line, 3);
        assert_string_equal(imp->users[1].fields[CSV_ACCOUNT], "");
        assert_string_equal(imp->users[1].fields[CSV_DISPLAY_NAME], "Bob, the \"boss\"");
        assert_string_equal(imp->users[1].fields[CSV_GROUPS], "");
        /* Columns the file does not have: empty, and marked absent so that
         * callrolectl leaves them out of the request. */
        for (int c = CSV_ENABLED; c <= CSV_ONLY; c++) {
                assert_int_equal(imp->columns[c], -1);
                assert_string_equal(imp->users[0].fields[c], "");
        }
        csv_import_free(imp);
}

static void test_import_enabled_ivrs_acg(void **state) {
        /* Any order and case in the header; yes/no in any case with blanks
         * around; lists normalised like groups; empty stays empty. */
        CsvImport *imp = import_ok("ACG,Enabled,name,IVRs,role\n"
                                   "\" west , east \",no,alice,\"ivr-1, ivr-2\",agent\n"
                                   ",\" YES \",bob,,agent\n"
                                   "north,,carol,ivr-3,agent\n"
                                   ",No,dave,,agent\n");

        assert_int_equal(imp->columns[CSV_ACG], 0);
        assert_int_equal(imp->columns[CSV_ENABLED], 1);
        assert_int_equal(imp->columns[CSV_IVRS], 3);
        assert_int_equal(imp->columns[CSV_GROUPS], -1);
        assert_int_equal(imp->n_users, 4);
        assert_string_equal(imp->users[0].fields[CSV_ENABLED], "no");
        assert_string_equal(imp->users[0].fields[CSV_IVRS], "ivr-1,ivr-2");
        assert_string_equal(imp->users[0].fields[CSV_ACG], "west,east");
        assert_string_equal(imp->users[1].fields[CSV_ENABLED], "yes");
        assert_string_equal(imp->users[1].fields[CSV_IVRS], "");
        assert_string_equal(imp->users[1].fields[CSV_ACG], "");
        assert_string_equal(imp->users[2].fields[CSV_ENABLED], "");
        assert_string_equal(imp->users[2].fields[CSV_IVRS], "ivr-3");
        assert_string_equal(imp->users[2].fields[CSV_ACG], "north");
        assert_string_equal(imp->users[3].fields[CSV_ENABLED], "no");
        csv_import_free(imp);

        /* One user in two accounts: the same state twice, or given on one
         * row and left empty on the other, is consistent. */
        imp = import_ok("name,role,account,enabled\n"
                        "erin,agent,a,no\n"
                        "erin,agent,b,no\n"
                        "frank,agent,a,\n"
                        "frank,agent,b,yes\n"
                        "gina,agent,a,no\n"
                        "gina,agent,b,\n");
        assert_int_equal(imp->n_users, 6);
        csv_import_free(imp);

        /* Header names are matched whole: "ivr" is not "ivrs". */
        expect_import_error("name,role,ivr\nalice,agent,x\n", 28, -EINVAL, "line 1:", "unknown column 'ivr'",
                            "enabled, ivrs, acg", NULL);
}

static void test_import_bad_enabled(void **state) {
        const char *maybe = "name,role,enabled\nalice,agent,yes\nbob,agent,maybe\n";
        const char *escape = "name,role,enabled\nalice,agent,\"y\x1b[2Je\"\n";
        static const char *const refused[] = { "true", "1", "y", "enabled", "no no", "yes,no", "-" };
        const char *twice = "name,role,enabled,Enabled\nalice,agent,yes,yes\n";

        expect_import_error(maybe, strlen(maybe), -EINVAL, "line 3:", "enabled is 'maybe' for user 'bob'",
                            "write yes or no", NULL);
        expect_import_error(escape, strlen(escape), -EINVAL, "line 2:", "'y\\x1b[2Je'", NULL);
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                char data[128], want[64];
                int n = snprintf(data, sizeof(data), "name,role,enabled\nalice,agent,\"%s\"\n", refused[i]);
                assert_true(n > 0 && (size_t) n < sizeof(data));
                snprintf(want, sizeof(want), "enabled is '%s'", refused[i]);
                expect_import_error(data, (size_t) n, -EINVAL, "line 2:", want, NULL);
        }
        expect_import_error(twice, strlen(twice), -EINVAL, "line 1:", "'enabled' appears twice", NULL);
}

static void test_import_enabled_conflict(void **state) {
        /* bob says yes on line 3 and no on line 5; carol's contradiction
         * only shows on line 7, so bob's is reported. */
        const char *data = "name,role,account,enabled\n"
                           "carol,agent,a,no\n"
                           "bob,agent,a,yes\n"
                           "bob,agent,b,\n"
                           "bob,agent,c,no\n"
                           "alice,agent,a,yes\n"
                           "carol,agent,b,yes\n";
        const char *later = "name,role,account,enabled\n"
                            "zed,agent,b,yes\n"
                            "zed,agent,a,yes\n"
                            "zed,agent,c,no\n";

        expect_import_error(data, strlen(data), -EINVAL, "line 5:", "user 'bob' is enabled=no here but enabled=yes on line 3",
                            "same value on every row", NULL);
        /* The earliest row of each value is named, whatever the accounts'
         * order. */
        expect_import_error(later, strlen(later), -EINVAL, "line 4:", "enabled=yes on line 2", NULL);
}

static void test_import_bad_ivrs_acg(void **state) {
        const char *ivr_empty = "name,role,ivrs\nalice,agent,\",ivr-1\"\n";
        const char *ivr_bad = "name,role,ivrs\nalice,agent,ivr-1\nbob,agent,\"ivr-1,ivr/2\"\n";
        const char *acg_empty = "name,role,acg\nalice,agent,\"west,,east\"\n";
        const char *acg_bad = "name,role,acg\nalice,agent,\"west,e st\"\n";
        const char *unquoted = "name,role,acg,ivrs\nalice,agent,west,east,ivr-1\n";

        expect_import_error(ivr_empty, strlen(ivr_empty), -EINVAL, "line 2:", "the ivrs list has an empty entry",
                            NULL);
        expect_import_error(ivr_bad, strlen(ivr_bad), -EINVAL, "line 3:", "'ivr/2' is not a valid IVR name", NULL);
        expect_import_error(acg_empty, strlen(acg_empty), -EINVAL, "line 2:", "the acg list has an empty entry",
                            NULL);
        expect_import_error(acg_bad, strlen(acg_bad), -EINVAL, "line 2:",
                            "'e st' is not a valid access-control group name", NULL);
        expect_import_error(unquoted, strlen(unquoted), -EINVAL, "line 2:", "5 fields but the header names 4",
                            "IVRs, ACGs, notifications or only patterns", NULL);
}

static void test_import_notify_only(void **state) {
        /* Any order and case; blanks around entries dropped; patterns keep
         * their wildcards; absent or empty stays empty. */
        CsvImport *imp = import_ok("Only,name,NOTIFY,role\n"
                                   "\" login , calls.* \",alice,\" missed-opportunities , call-alerts \",agent\n"
                                   ",bob,,agent\n"
                                   "\"reports.*.view,calls.[!x]?ew,-odd.pattern\",carol,call-alerts,agent\n");

        assert_int_equal(imp->columns[CSV_ONLY], 0);
        assert_int_equal(imp->columns[CSV_NOTIFY], 2);
        assert_int_equal(imp->columns[CSV_GROUPS], -1);
        assert_int_equal(imp->n_users, 3);
        assert_string_equal(imp->users[0].fields[CSV_ONLY], "login,calls.*");
        assert_string_equal(imp->users[0].fields[CSV_NOTIFY], "missed-opportunities,call-alerts");
        assert_string_equal(imp->users[1].fields[CSV_ONLY], "");
        assert_string_equal(imp->users[1].fields[CSV_NOTIFY], "");
        assert_string_equal(imp->users[2].fields[CSV_ONLY], "reports.*.view,calls.[!x]?ew,-odd.pattern");
        assert_string_equal(imp->users[2].fields[CSV_NOTIFY], "call-alerts");
        csv_import_free(imp);

        /* Without the columns: marked absent, so nothing is sent for them. */
        imp = import_ok("name,role,groups\nalice,agent,g1\n");
        assert_int_equal(imp->columns[CSV_NOTIFY], -1);
        assert_int_equal(imp->columns[CSV_ONLY], -1);
        assert_string_equal(imp->users[0].fields[CSV_NOTIFY], "");
        assert_string_equal(imp->users[0].fields[CSV_ONLY], "");
        csv_import_free(imp);

        /* The longest pattern the daemon takes (64 bytes) passes. */
        imp = import_ok("name,role,only\nalice,agent,"
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa*\n");
        assert_int_equal(strlen(imp->users[0].fields[CSV_ONLY]), 64);
        csv_import_free(imp);
}

static void test_import_bad_notify(void **state) {
        static const struct {
                const char *field;
                const char *words[2];
        } cases[] = {
                /* Switching is what user set does; a row only switches on. */
                { "missed-opportunities=on", { "'missed-opportunities=on' in the notify list", "name alone" } },
                { "call-alerts,missed-opportunities=off", { "'missed-opportunities=off'", "starts with all of them off" } },
                { "=on", { "'=on' in the notify list", "name alone" } },
                { "call-alerts,,missed-opportunities", { "the notify list has an empty entry", "a1,a2" } },
                { ",call-alerts", { "the notify list has an empty entry", NULL } },
                { "missed opportunities", { "'missed opportunities' is not a valid notification name", NULL } },
                { "missed-*", { "'missed-*' is not a valid notification name", NULL } },
                { "-alerts", { "'-alerts' is not a valid notification name", NULL } },
                { "a/b", { "'a/b' is not a valid notification name", NULL } },
                { "calls\x1b[2J", { "'calls\\x1b[2J'", NULL } },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char data[256];
                int n = snprintf(data, sizeof(data), "name,role,notify\nalice,agent,\n\nbob,agent,\"%s\"\n",
                                 cases[i].field);
                assert_true(n > 0 && (size_t) n < sizeof(data));
                /* Line 4: the blank line is counted. */
                expect_import_error(data, (size_t) n, -EINVAL, "line 4:", cases[i].words[0],
                                    cases[i].words[1] ? cases[i].words[1] : "line 4:", NULL);
        }
}

static void test_import_bad_only(void **state) {
        /* The entry as written in a quoted field, and as the message shows
         * it. */
        static const struct {
                const char *csv, *shown;
        } refused[] = {
                { "calls/view", "calls/view" },
                { "calls view", "calls view" },
                { "a=b", "a=b" },
                { "reports.@x", "reports.@x" },
                { "x;y", "x;y" },
                { "qu\"\"oted", "qu\"oted" },
                { "a+b", "a+b" },
                { "x|y", "x|y" },
                { "{a}", "{a}" },
                { "$x", "$x" },
                { "tab\there", "tab\\x09here" },
                /* 65 bytes: one more than a permission name. */
                { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa..." },
        };
        const char *empty = "name,role,only\nalice,agent,\"login,,calls.*\"\n";
        const char *trailing = "name,role,only\nalice,agent,\"login,\"\n";
        const char *escape = "name,role,only\nalice,agent,\"ca\x1b]0;x\x07lls\"\n";

        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                char data[256], want[128];
                int n = snprintf(data, sizeof(data), "name,role,only\nalice,agent,login\nbob,agent,\"login,%s\"\n",
                                 refused[i].csv);
                assert_true(n > 0 && (size_t) n < sizeof(data));
                snprintf(want, sizeof(want), "'%s' is not a valid permission pattern", refused[i].shown);
                expect_import_error(data, (size_t) n, -EINVAL, "line 3:", want, "wildcards * ? [ ] !", NULL);
        }
        expect_import_error(empty, strlen(empty), -EINVAL, "line 2:", "the only list has an empty entry", NULL);
        expect_import_error(trailing, strlen(trailing), -EINVAL, "line 2:", "the only list has an empty entry", NULL);
        expect_import_error(escape, strlen(escape), -EINVAL, "line 2:", "'ca\\x1b]0;x\\x07lls'", NULL);
}

/* Every field is sent as one wire string: a longer one is refused while
 * the file is checked, naming the line, the column and the user. */
static void test_import_field_size(void **state) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        CsvImport *imp;

        /* 4096 bytes of display name pass... */
        f = open_memstream(&buf, &size);
        assert_non_null(f);
        fputs("name,role,display-name\nalice,agent,", f);
        for (unsigned i = 0; i < CSV_FIELD_MAX; i++)
                fputc('x', f);
        fputc('\n', f);
        assert_int_equal(fclose(f), 0);
        imp = import_ok(buf);
        assert_int_equal(strlen(imp->users[0].fields[CSV_DISPLAY_NAME]), CSV_FIELD_MAX);
        csv_import_free(imp);
        free(buf);

        /* ...4097 do not. */
        f = open_memstream(&buf, &size);
        assert_non_null(f);
        fputs("name,role,display-name\nalice,agent,x\nbob,agent,", f);
        for (unsigned i = 0; i <= CSV_FIELD_MAX; i++)
                fputc('x', f);
        fputc('\n', f);
        assert_int_equal(fclose(f), 0);
        expect_import_error(buf, size, -EINVAL, "line 3:", "the display-name field of user 'bob' is 4097 bytes long",
                            "at most 4096", NULL);
        free(buf);

        /* A list is measured as it is sent: blanks around entries do not
         * count, the entries and their commas do.  64 notifications of 63
         * bytes and their commas are 4095 bytes; a 65th is too many. */
        for (int extra = 0; extra <= 1; extra++) {
                f = open_memstream(&buf, &size);
                assert_non_null(f);
                fputs("name,role,notify\nalice,agent,\"", f);
                for (int i = 0; i < 64 + extra; i++)
                        fprintf(f, "%s  n%062d  ", i ? "," : "", i);
                fputs("\"\n", f);
                assert_int_equal(fclose(f), 0);
                if (!extra) {
                        imp = import_ok(buf);
                        assert_int_equal(strlen(imp->users[0].fields[CSV_NOTIFY]), 64 * 63 + 63);
                        csv_import_free(imp);
                } else
                        expect_import_error(buf, size, -EINVAL, "line 2:", "the notify field of user 'alice' is 4159 bytes",
                                            NULL);
                free(buf);
        }
}

static void test_import_header_any_order(void **state) {
        /* BOM, CRLF, columns in another order and spelling, blank lines,
         * optional columns left out, blanks around names and groups. */
        CsvImport *imp = import_ok("\xef\xbb\xbf"
                                   "Groups, ROLE ,Name\r\n"
                                   "\r\n"
                                   "\" sales , support \",agent, carol \r\n"
                                   "   \r\n"
                                   ",agent,dave\r\n");

        assert_int_equal(imp->columns[CSV_NAME], 2);
        assert_int_equal(imp->columns[CSV_ROLE], 1);
        assert_int_equal(imp->columns[CSV_GROUPS], 0);
        assert_int_equal(imp->columns[CSV_ACCOUNT], -1);
        assert_int_equal(imp->columns[CSV_DISPLAY_NAME], -1);
        assert_int_equal(imp->n_users, 2);
        assert_int_equal(imp->users[0].line, 3);
        assert_string_equal(imp->users[0].fields[CSV_NAME], "carol");
        assert_string_equal(imp->users[0].fields[CSV_GROUPS], "sales,support");
        assert_string_equal(imp->users[0].fields[CSV_ACCOUNT], "");
        assert_string_equal(imp->users[0].fields[CSV_DISPLAY_NAME], "");
        assert_int_equal(imp->users[1].line, 5);
        assert_string_equal(imp->users[1].fields[CSV_NAME], "dave");
        csv_import_free(imp);

        imp = import_ok("display_name,name,role\n\"Eve E.\",eve,agent\n");
        assert_string_equal(imp->users[0].fields[CSV_DISPLAY_NAME], "Eve E.");
        csv_import_free(imp);
}

static void test_import_header_only(void **state) {
        CsvImport *imp = import_ok("name,role\n");

        assert_int_equal(imp->n_users, 0);
        csv_import_free(imp);
}

static void test_import_empty_file(void **state) {
        expect_import_error("", 0, -EINVAL, "no header", "name,role", NULL);
        expect_import_error("\n\n  \n", 4, -EINVAL, "no header", NULL);
}

static void test_import_bad_header(void **state) {
        const char *missing = "name,account\nalice,default\n";
        const char *unknown = "name,role,email\nalice,agent,a@example.com\n";
        const char *twice = "name,role,Role\nalice,agent,agent\n";
        const char *data_first = "alice,agent\nbob,agent\n";

        expect_import_error(missing, strlen(missing), -EINVAL, "line 1:", "no 'role' column", NULL);
        expect_import_error(unknown, strlen(unknown), -EINVAL, "line 1:", "unknown column 'email'",
                            "name, role, account, display-name, groups", NULL);
        expect_import_error(twice, strlen(twice), -EINVAL, "line 1:", "'role' appears twice", NULL);
        expect_import_error(data_first, strlen(data_first), -EINVAL, "unknown column 'alice'", "header", NULL);
}

static void test_import_field_count(void **state) {
        const char *data = "name,role,groups\nalice,agent,sales\nbob,agent,sales,support\n";

        expect_import_error(data, strlen(data), -EINVAL, "line 3:", "4 fields but the header names 3 columns",
                            "double quotes", NULL);
}

static void test_import_bad_names(void **state) {
        const char *space = "name,role\nalice,agent\nbad name,agent\n";
        const char *empty = "name,role\n,agent\n";
        const char *norole = "name,role\nalice,\n";
        const char *badrole = "name,role\nalice,ag/ent\n";
        const char *badaccount = "name,role,account\nalice,agent,-x\n";
        const char *escape = "name,role\n\"a\x1b[31mb\",agent\n";
        const char *toolong = "name,role\n"
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,agent\n"; /* 65 */

        expect_import_error(space, strlen(space), -EINVAL, "line 3:", "'bad name' is not a valid user name", NULL);
        expect_import_error(empty, strlen(empty), -EINVAL, "line 2:", "the name is empty", NULL);
        expect_import_error(norole, strlen(norole), -EINVAL, "line 2:", "user 'alice' has no role",
                            "fill in the role column", NULL);
        expect_import_error(badrole, strlen(badrole), -EINVAL, "line 2:", "not a valid role name", NULL);
        expect_import_error(badaccount, strlen(badaccount), -EINVAL, "line 2:", "not a valid account name", NULL);
        /* The escape sequence is shown escaped, not sent to the terminal. */
        expect_import_error(escape, strlen(escape), -EINVAL, "line 2:", "a\\x1b[31mb", NULL);
        expect_import_error(toolong, strlen(toolong), -EINVAL, "line 2:", "not a valid user name", NULL);
}

static void test_import_bad_groups(void **state) {
        const char *twice = "name,role,groups\nalice,agent,\"a,,b\"\n";
        const char *trailing = "name,role,groups\nalice,agent,\"a,\"\n";
        const char *badname = "name,role,groups\nalice,agent,\"a,b c\"\n";

        expect_import_error(twice, strlen(twice), -EINVAL, "line 2:", "the groups list has an empty entry", NULL);
        expect_import_error(trailing, strlen(trailing), -EINVAL, "line 2:", "empty entry", NULL);
        expect_import_error(badname, strlen(badname), -EINVAL, "line 2:", "'b c' is not a valid group name", NULL);
}

static void test_import_duplicates(void **state) {
        const char *dup = "name,role,account\n"
                          "alice,agent,a\n"
                          "bob,agent,a\n"
                          "carol,agent,a\n"
                          "bob,agent,b\n"      /* another account: fine */
                          "carol,manager,a\n"  /* first repeat in the file */
                          "alice,agent,a\n";
        const char *noaccount = "name,role\nzed,agent\nzed,manager\n";
        CsvImport *imp;

        expect_import_error(dup, strlen(dup), -EINVAL, "line 6:", "user 'carol' in account 'a' already appears on line 4",
                            NULL);
        expect_import_error(noaccount, strlen(noaccount), -EINVAL, "line 3:", "user 'zed' (no account given)",
                            "line 2", NULL);

        imp = import_ok("name,role,account\nbob,agent,a\nbob,agent,b\n");
        assert_int_equal(imp->n_users, 2);
        csv_import_free(imp);
}

static void test_import_syntax_errors_carry_line(void **state) {
        const char *data = "name,role\nalice,agent\n\"bob,agent\n";
        static const char nul[] = "name,role\nal\0ice,agent\n";

        expect_import_error(data, strlen(data), -EBADMSG, "line 3:", "never closed", NULL);
        expect_import_error(nul, sizeof(nul) - 1, -EBADMSG, "line 2:", "NUL byte", NULL);
}

static void test_import_utf16(void **state) {
        static const char le[] = "\xff\xfen\0a\0m\0e\0";
        static const char be[] = "\xfe\xff\0n\0a\0m\0e";

        expect_import_error(le, sizeof(le) - 1, -EINVAL, "UTF-16", "UTF-8", NULL);
        expect_import_error(be, sizeof(be) - 1, -EINVAL, "UTF-16", NULL);
}

static void test_import_arguments(void **state) {
        CsvImport *imp = NULL;
        char *msg = NULL;

        assert_int_equal(csv_import_parse(NULL, 5, &imp, &msg), -EINVAL);
        assert_int_equal(csv_import_parse("name,role\n", 10, NULL, &msg), -EINVAL);
        assert_null(imp);
        assert_null(msg);
        /* No place for a message is allowed: the error code still comes. */
        assert_int_equal(csv_import_parse("name\n", 5, &imp, NULL), -EINVAL);
        assert_null(imp);
        assert_null(csv_import_free(NULL));
}

/* ---- writing and the round trip ---------------------------------------- */

static char *write_rows(const char *const *rows, size_t n_rows, size_t n_cols) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        for (size_t i = 0; i < n_rows; i++)
                assert_int_equal(csv_write_row(f, rows + i * n_cols, n_cols), 0);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_write_field_quoting(void **state) {
        static const char *const row[] = { "plain", "a,b", "say \"hi\"", "two\nlines", " lead", "trail\t", "", NULL };
        char *out = write_rows(row, 1, ELEMENTSOF(row));

        assert_string_equal(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\" lead\",\"trail\t\",,\n");
        free(out);
        assert_int_equal(csv_write_field(NULL, "x"), -EINVAL);
        assert_int_equal(csv_write_row(NULL, row, 1), -EINVAL);
}

static void test_round_trip(void **state) {
        /* What `export` writes, `import` reads back unchanged. */
        static const char *const rows[] = {
                "name", "role", "account", "display-name", "groups", "enabled", "ivrs", "acg", "notify", "only",
                "alice", "call-agent", "default", "Alice \"Al\" Smith, Jr.", "sales,support", "yes", "ivr-1,ivr-2", "west",
                        "missed-opportunities,call-alerts", "login,calls.*,reports.[!a]*",
                "bob", "admin", "", " Bob\nSecond line ", "", "no", "", "", "", "",
                "carol", "agent", "sub-1", "Carol ✓ Ünïcödé", "g1", "no", "ivr-3", "east,north", "call-alerts", "login",
                "carol", "agent", "sub-2", "Carol ✓ Ünïcödé", "", "no", "", "", "", "?ogin,calls.vie?",
        };
        const size_t n_cols = _CSV_COLUMN_MAX, n_rows = ELEMENTSOF(rows) / _CSV_COLUMN_MAX;
        char *out = NULL, *again = NULL;
        CsvImport *imp;

        /* The export writes the columns in the order of CsvColumn. */
        for (size_t c = 0; c < n_cols; c++)
                assert_string_equal(rows[c], csv_column_to_string((CsvColumn) c));
        out = write_rows(rows, n_rows, n_cols);
        imp = import_ok(out);
        assert_int_equal(imp->n_users, n_rows - 1);
        for (size_t u = 0; u < n_rows - 1; u++)
                for (size_t c = 0; c < n_cols; c++)
                        assert_string_equal(imp->users[u].fields[c], rows[(u + 1) * n_cols + c]);
        /* Bob's display name has a line break: Carol starts on line 5. */
        assert_int_equal(imp->users[2].line, 5);

        /* Writing what was read gives the same bytes. */
        {
                size_t size = 0;
                FILE *f = open_memstream(&again, &size);
                assert_non_null(f);
                assert_int_equal(csv_write_row(f, rows, n_cols), 0);
                for (size_t u = 0; u < imp->n_users; u++)
                        assert_int_equal(csv_write_row(f, (const char *const *) imp->users[u].fields, n_cols), 0);
                assert_int_equal(fclose(f), 0);
        }
        assert_string_equal(again, out);
        csv_import_free(imp);
        free(again);
        free(out);
}

static void test_column_names(void **state) {
        assert_string_equal(csv_column_to_string(CSV_NAME), "name");
        assert_string_equal(csv_column_to_string(CSV_DISPLAY_NAME), "display-name");
        assert_string_equal(csv_column_to_string(CSV_GROUPS), "groups");
        assert_string_equal(csv_column_to_string(CSV_ENABLED), "enabled");
        assert_string_equal(csv_column_to_string(CSV_IVRS), "ivrs");
        assert_string_equal(csv_column_to_string(CSV_ACG), "acg");
        assert_string_equal(csv_column_to_string(CSV_NOTIFY), "notify");
        assert_string_equal(csv_column_to_string(CSV_ONLY), "only");
        assert_int_equal(_CSV_COLUMN_MAX, 10);
        assert_null(csv_column_to_string(_CSV_COLUMN_MAX));
        assert_null(csv_column_to_string((CsvColumn) -1));
}

/* A file of many users: the duplicate check must stay fast (sorting, not
 * comparing every pair) and find the repeat at the very end. */
static void test_import_many(void **state) {
        const size_t n = 100000;
        char *buf = NULL, *msg = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        CsvImport *imp = NULL;

        assert_non_null(f);
        fputs("name,role,groups\n", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "user%zu,agent,g%zu\n", i, i % 7);
        assert_int_equal(fclose(f), 0);
        imp = import_ok(buf);
        assert_int_equal(imp->n_users, n);
        assert_int_equal(imp->users[n - 1].line, n + 1);
        csv_import_free(imp);
        free(buf);

        buf = NULL;
        f = open_memstream(&buf, &size);
        assert_non_null(f);
        fputs("name,role\n", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "user%zu,agent\n", i);
        fputs("user77,agent\n", f);
        assert_int_equal(fclose(f), 0);
        imp = NULL;
        assert_int_equal(csv_import_parse(buf, size, &imp, &msg), -EINVAL);
        assert_null(imp);
        assert_non_null(strstr(msg, "already appears on line 79"));
        free(msg);
        free(buf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_simple_records),
                cmocka_unit_test(test_crlf),
                cmocka_unit_test(test_empty_fields),
                cmocka_unit_test(test_quoted_fields),
                cmocka_unit_test(test_unterminated_quote),
                cmocka_unit_test(test_stray_quote),
                cmocka_unit_test(test_text_after_closing_quote),
                cmocka_unit_test(test_bare_cr),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_record_length_limit),
                cmocka_unit_test(test_field_count_limit),
                cmocka_unit_test(test_parser_arguments),
                cmocka_unit_test(test_random_input),
                cmocka_unit_test(test_import_basic),
                cmocka_unit_test(test_import_header_any_order),
                cmocka_unit_test(test_import_header_only),
                cmocka_unit_test(test_import_empty_file),
                cmocka_unit_test(test_import_bad_header),
                cmocka_unit_test(test_import_field_count),
                cmocka_unit_test(test_import_bad_names),
                cmocka_unit_test(test_import_bad_groups),
                cmocka_unit_test(test_import_enabled_ivrs_acg),
                cmocka_unit_test(test_import_bad_enabled),
                cmocka_unit_test(test_import_enabled_conflict),
                cmocka_unit_test(test_import_bad_ivrs_acg),
                cmocka_unit_test(test_import_notify_only),
                cmocka_unit_test(test_import_bad_notify),
                cmocka_unit_test(test_import_bad_only),
                cmocka_unit_test(test_import_field_size),
                cmocka_unit_test(test_import_duplicates),
                cmocka_unit_test(test_import_syntax_errors_carry_line),
                cmocka_unit_test(test_import_utf16),
                cmocka_unit_test(test_import_arguments),
                cmocka_unit_test(test_write_field_quoting),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_column_names),
                cmocka_unit_test(test_import_many),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
