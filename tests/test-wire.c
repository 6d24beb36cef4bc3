/*
 * test-wire.c: the wire codec (lib/wire.c) on good and hostile bytes.
 * Every getter must refuse short input without consuming anything, every
 * length must be checked against what is left, and what the encoders write
 * the decoders must read back unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "callrole-wire.h"
#include "macro.h"

static void test_header_roundtrip(void **state) {
        uint8_t h[CR_HEADER_SIZE];
        struct cr_header d;

        cr_header_encode(h, CR_MSG_CHECK, 0xdeadbeef, 1234);
        assert_int_equal(cr_header_decode(h, sizeof(h), CR_REQUEST_MAX, &d), 0);
        assert_int_equal(d.type, CR_MSG_CHECK);
        assert_int_equal(d.id, 0xdeadbeef);
        assert_int_equal(d.length, 1234);
        assert_int_equal(d.version, CR_WIRE_VERSION);
}

static void test_header_refusals(void **state) {
        uint8_t h[CR_HEADER_SIZE];
        struct cr_header d = { .type = 99 };

        /* Each refusal leaves *ret as it was (type stays 99). */
        cr_header_encode(h, CR_MSG_CHECK, 1, 10);
        assert_int_equal(cr_header_decode(h, CR_HEADER_SIZE - 1, CR_REQUEST_MAX, &d), -EBADMSG);
        assert_int_equal(d.type, 99);
        h[0] = 'X';
        assert_int_equal(cr_header_decode(h, sizeof(h), CR_REQUEST_MAX, &d), -EBADMSG);
        assert_int_equal(d.type, 99);
        cr_header_encode(h, CR_MSG_CHECK, 1, 10);
        h[2] = 2;
        assert_int_equal(cr_header_decode(h, sizeof(h), CR_REQUEST_MAX, &d), -EPROTONOSUPPORT);
        assert_int_equal(d.type, 99);
        /* 4 GiB announced: refused before anyone could allocate it. */
        cr_header_encode(h, CR_MSG_CHECK, 1, 0xffffffffu);
        assert_int_equal(cr_header_decode(h, sizeof(h), CR_REQUEST_MAX, &d), -EMSGSIZE);
        assert_int_equal(d.type, 99);
        cr_header_encode(h, CR_MSG_CHECK, 1, CR_REQUEST_MAX + 1);
        assert_int_equal(cr_header_decode(h, sizeof(h), CR_REQUEST_MAX, &d), -EMSGSIZE);
        assert_int_equal(d.type, 99);
        cr_header_encode(h, CR_MSG_CHECK, 1, CR_REQUEST_MAX);
        assert_int_equal(cr_header_decode(h, sizeof(h), CR_REQUEST_MAX, &d), 0);
        assert_int_equal(d.type, CR_MSG_CHECK);
}

static void test_integers_short_input(void **state) {
        const uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
        struct cr_cursor c;
        uint8_t u8;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;

        cr_cursor_init(&c, b, 0);
        assert_int_equal(cr_get_u8(&c, &u8), -EBADMSG);
        cr_cursor_init(&c, b, 1);
        assert_int_equal(cr_get_u16(&c, &u16), -EBADMSG);
        assert_int_equal(c.left, 1);
        cr_cursor_init(&c, b, 3);
        assert_int_equal(cr_get_u32(&c, &u32), -EBADMSG);
        assert_int_equal(c.left, 3);
        cr_cursor_init(&c, b, 7);
        assert_int_equal(cr_get_u64(&c, &u64), -EBADMSG);
        assert_int_equal(c.left, 7);
        cr_cursor_init(&c, b, 8);
        assert_int_equal(cr_get_u64(&c, &u64), 0);
        assert_true(u64 == 0x0102030405060708ULL);
        assert_int_equal(cr_cursor_end(&c), 0);
}

static void test_string_refusals(void **state) {
        struct cr_cursor c;
        char *s = NULL;
        const uint8_t nul[] = { 0, 3, 'a', 0, 'b' };
        const uint8_t longer[] = { 0, 10, 'a', 'b' };
        const uint8_t huge[] = { 0xff, 0xff, 'a' };
        const uint8_t ok[] = { 0, 3, 'a', 'b', 'c', 'x' };

        cr_cursor_init(&c, nul, sizeof(nul));
        assert_int_equal(cr_get_str(&c, CR_STR_MAX, &s), -EBADMSG);
        assert_int_equal(c.left, sizeof(nul));   /* nothing consumed */
        assert_null(s);
        cr_cursor_init(&c, longer, sizeof(longer));
        assert_int_equal(cr_get_str(&c, CR_STR_MAX, &s), -EBADMSG);
        assert_int_equal(c.left, sizeof(longer));
        cr_cursor_init(&c, huge, sizeof(huge));
        assert_int_equal(cr_get_str(&c, CR_STR_MAX, &s), -EBADMSG);
        cr_cursor_init(&c, ok, sizeof(ok));
        assert_int_equal(cr_get_str(&c, 2, &s), -EBADMSG);   /* above the caller's max */
        assert_int_equal(cr_get_str(&c, CR_STR_MAX, &s), 0);
        assert_string_equal(s, "abc");
        assert_int_equal(cr_cursor_end(&c), -EBADMSG);       /* 'x' left over */
        free(s);
}

static void test_buffer_cap(void **state) {
        struct cr_buf b;
        char big[CR_STR_MAX + 2];

        cr_buf_init(&b, 16);
        cr_put_u64(&b, 1);
        cr_put_u64(&b, 2);
        assert_int_equal(cr_buf_error(&b), 0);
        cr_put_u8(&b, 3);
        assert_int_equal(cr_buf_error(&b), -EMSGSIZE);
        assert_int_equal(b.len, 16);
        cr_buf_done(&b);

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        cr_buf_init(&b, 1 << 20);
        cr_put_str(&b, big);
        assert_int_equal(cr_buf_error(&b), -E2BIG);
        cr_buf_done(&b);
}

static void test_record_roundtrip(void **state) {
        struct cr_record r = {}, back = {};
        struct cr_records l = {}, lback = {};
        struct cr_buf b;
        struct cr_cursor c;

        assert_int_equal(cr_record_add(&r, "name", "alice"), 0);
        assert_int_equal(cr_record_add(&r, "groups", "g1"), 0);
        assert_int_equal(cr_record_add(&r, "groups", "g2"), 0);
        assert_int_equal(cr_record_add_empty(&r, "ivrs"), 0);
        assert_int_equal(cr_record_addf(&r, "rank", "%d", 42), 0);

        cr_buf_init(&b, CR_REPLY_MAX);
        cr_put_record(&b, &r);
        assert_int_equal(cr_buf_error(&b), 0);
        cr_cursor_init(&c, b.data, b.len);
        assert_int_equal(cr_get_record(&c, &back), 0);
        assert_int_equal(cr_cursor_end(&c), 0);
        assert_int_equal(back.n_fields, 4);
        assert_string_equal(cr_record_get(&back, "name"), "alice");
        assert_int_equal(cr_record_field(&back, "groups")->n_values, 2);
        assert_string_equal(cr_record_field(&back, "groups")->values[1], "g2");
        assert_non_null(cr_record_field(&back, "ivrs"));
        assert_null(cr_record_get(&back, "ivrs"));
        assert_string_equal(cr_record_get(&back, "rank"), "42");
        assert_null(cr_record_get(&back, "missing"));

        /* A list of two records. */
        assert_int_equal(cr_record_add(cr_records_append(&l), "a", "1"), 0);
        assert_int_equal(cr_record_add(cr_records_append(&l), "b", "2"), 0);
        b.len = 0;
        cr_put_records(&b, &l);
        cr_cursor_init(&c, b.data, b.len);
        assert_int_equal(cr_get_records(&c, &lback), 0);
        assert_int_equal(lback.n, 2);
        assert_string_equal(cr_record_get(&lback.items[1], "b"), "2");

        cr_records_clear(&l);
        cr_records_clear(&lback);
        cr_record_clear(&r);
        cr_record_clear(&back);
        cr_buf_done(&b);
}

static void test_record_refusals(void **state) {
        struct cr_record r = {};
        struct cr_records l = {};
        struct cr_cursor c;
        /* Two fields with the same key. */
        const uint8_t dup[] = { 0, 2, 0, 1, 'k', 0, 0, 0, 1, 'k', 0, 0 };
        /* One field announcing 4096 values with two bytes behind it. */
        const uint8_t many[] = { 0, 1, 0, 1, 'k', 0x10, 0x00, 0, 0 };
        /* Too many fields. */
        const uint8_t fields[] = { 0xff, 0xff };
        /* Empty key. */
        const uint8_t empty[] = { 0, 1, 0, 0, 0, 0 };
        /* A list announcing a million records in six bytes. */
        const uint8_t records[] = { 0, 0x0f, 0x42, 0x40, 0, 0 };

        cr_cursor_init(&c, dup, sizeof(dup));
        assert_int_equal(cr_get_record(&c, &r), -EBADMSG);
        assert_int_equal(r.n_fields, 0);
        cr_cursor_init(&c, many, sizeof(many));
        assert_int_equal(cr_get_record(&c, &r), -EBADMSG);
        cr_cursor_init(&c, fields, sizeof(fields));
        assert_int_equal(cr_get_record(&c, &r), -EBADMSG);
        cr_cursor_init(&c, empty, sizeof(empty));
        assert_int_equal(cr_get_record(&c, &r), -EBADMSG);
        cr_cursor_init(&c, records, sizeof(records));
        assert_int_equal(cr_get_records(&c, &l), -EBADMSG);
        assert_int_equal(l.n, 0);
}

static void test_check_roundtrip(void **state) {
        const char *keys[] = { "direction", "assignee" }, *values[] = { "inbound", "bob" };
        struct cr_check k = {};
        struct cr_decision d = { .allowed = false, .reason = CR_REASON_OUT_OF_SCOPE }, back = {};
        struct cr_buf b;
        struct cr_cursor c;

        cr_buf_init(&b, CR_REQUEST_MAX);
        cr_put_check(&b, "alice", "calls.view", "", keys, values, 2);
        cr_cursor_init(&c, b.data, b.len);
        assert_int_equal(cr_get_check(&c, &k), 0);
        assert_int_equal(cr_cursor_end(&c), 0);
        assert_string_equal(k.user, "alice");
        assert_string_equal(k.account, "");
        assert_int_equal(k.n_attrs, 2);
        assert_string_equal(k.attr_values[1], "bob");
        cr_check_clear(&k);

        /* Truncated at every possible length: always refused, never a
         * partial result. */
        for (size_t n = 0; n < b.len; n++) {
                cr_cursor_init(&c, b.data, n);
                assert_int_equal(cr_get_check(&c, &k), -EBADMSG);
                assert_null(k.user);
        }

        d.role = strdup("call-agent");
        d.account = strdup("default");
        d.detail = strdup("calls.view is limited to assigned calls");
        b.len = 0;
        cr_put_decision(&b, &d);
        cr_cursor_init(&c, b.data, b.len);
        assert_int_equal(cr_get_decision(&c, &back), 0);
        assert_false(back.allowed);
        assert_int_equal(back.reason, CR_REASON_OUT_OF_SCOPE);
        assert_string_equal(back.detail, "calls.view is limited to assigned calls");
        /* allowed with a reason is contradictory. */
        b.data[0] = 1;
        cr_cursor_init(&c, b.data, b.len);
        assert_int_equal(cr_get_decision(&c, &back), -EBADMSG);
        b.data[0] = 0;
        b.data[1] = _CR_REASON_MAX;
        cr_cursor_init(&c, b.data, b.len);
        assert_int_equal(cr_get_decision(&c, &back), -EBADMSG);
        cr_decision_clear(&d);
        cr_decision_clear(&back);
        cr_buf_done(&b);
}

static void test_check_too_many_attrs(void **state) {
        uint8_t p[] = { 0, 1, 'u', 0, 1, 'p', 0, 0, CR_ATTRS_MAX + 1 };
        struct cr_check k = {};
        struct cr_cursor c;

        cr_cursor_init(&c, p, sizeof(p));
        assert_int_equal(cr_get_check(&c, &k), -EBADMSG);
}

static void test_prefix(void **state) {
        struct cr_buf b;
        struct cr_cursor c;
        uint32_t flags = 0;
        char *as = NULL;

        cr_buf_init(&b, 1024);
        cr_put_prefix(&b, CR_FLAG_DRY_RUN, "alice");
        cr_cursor_init(&c, b.data, b.len);
        assert_int_equal(cr_get_prefix(&c, &flags, &as), 0);
        assert_int_equal(flags, CR_FLAG_DRY_RUN);
        assert_string_equal(as, "alice");
        free(as);
        as = NULL;

        b.len = 0;
        cr_put_prefix(&b, 0x80, "");
        cr_cursor_init(&c, b.data, b.len);
        assert_int_equal(cr_get_prefix(&c, &flags, &as), -EBADMSG);   /* unknown flag */
        assert_int_equal(c.left, b.len);
        cr_buf_done(&b);
}

static void test_frame(void **state) {
        struct cr_buf b;
        struct cr_header h;

        cr_buf_init(&b, CR_HEADER_SIZE + 64);
        cr_frame_begin(&b, CR_MSG_STATUS, 7);
        cr_put_u32(&b, 5);
        assert_int_equal(cr_frame_end(&b), 0);
        assert_int_equal(cr_header_decode(b.data, b.len, CR_REQUEST_MAX, &h), 0);
        assert_int_equal(h.length, 4);
        assert_int_equal(h.id, 7);
        cr_buf_done(&b);
}

static void test_names(void **state) {
        assert_string_equal(cr_reason_to_string(CR_REASON_OUT_OF_SCOPE), "out-of-scope");
        assert_null(cr_reason_to_string(-1));
        assert_null(cr_reason_to_string(_CR_REASON_MAX));
        assert_int_equal(cr_msg_type_from_string("user.add"), CR_MSG_USER_ADD);
        assert_string_equal(cr_msg_type_to_string(CR_MSG_PROFILE_LOAD), "profile.load");
        assert_int_equal(cr_msg_type_from_string("user.frobnicate"), -EINVAL);

        assert_int_equal(name_is_valid("call-agent"), 0);
        assert_int_equal(name_is_valid("reports.view_tab"), 0);
        assert_int_equal(name_is_valid(""), -EINVAL);
        assert_int_equal(name_is_valid("-rf"), -EINVAL);
        assert_int_equal(name_is_valid("a b"), -EINVAL);
        assert_int_equal(name_is_valid("a/b"), -EINVAL);
        assert_int_equal(name_is_valid("a@b"), -EINVAL);
        assert_int_equal(name_is_valid("x\n"), -EINVAL);
        assert_int_equal(name_is_valid("\xc3\xa9"), -EINVAL);
        char longname[CR_NAME_MAX + 2];
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        assert_int_equal(name_is_valid(longname), -EINVAL);
        longname[CR_NAME_MAX] = 0;
        assert_int_equal(name_is_valid(longname), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_roundtrip),
                cmocka_unit_test(test_header_refusals),
                cmocka_unit_test(test_integers_short_input),
                cmocka_unit_test(test_string_refusals),
                cmocka_unit_test(test_buffer_cap),
                cmocka_unit_test(test_record_roundtrip),
                cmocka_unit_test(test_record_refusals),
                cmocka_unit_test(test_check_roundtrip),
                cmocka_unit_test(test_check_too_many_attrs),
                cmocka_unit_test(test_prefix),
                cmocka_unit_test(test_frame),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
