/* slog: phone numbers never reach the log; counters, ticket ids and times are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "mask.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

static void check(const char *in, const char *want)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", in);
    slog_mask_phones(buf);
    assert_string_equal(buf, want);
}

static void test_masks_phones(void **state)
{
    (void)state;
    check(" phone=13812345678", " phone=138****5678");
    check(" caller=+8613812345678 said", " caller=+86138****5678 said");
    check(" caller=\"+86 138 0013 8000\"", " caller=\"+86 138 **** 8000\"");
    check(" contact=021-64471234", " contact=021-****1234");
    check(" text=\"call me on 13912345678 please\"", " text=\"call me on 139****5678 please\"");
    check(" landline=64471234", " landline=****1234");
}

static void test_leaves_counters_and_ids(void **state)
{
    (void)state;
    check(" ticket=20261125-1-000123", " ticket=20261125-1-000123");
    check(" head_seq=123456789 size_bytes=67108864 elapsed_ms=1795597038008",
          " head_seq=123456789 size_bytes=67108864 elapsed_ms=1795597038008");
    check(" count=100000 port=8080", " count=100000 port=8080");
    check(" short=123456", " short=123456");
    check(" addr=127.0.0.1 peer=192.168.100.200", " addr=127.0.0.1 peer=192.168.100.200");
}

static void test_mask_value_for_roles(void **state)
{
    (void)state;
    char out[32];
    mask_phone_field("13812345678", out, sizeof out);
    assert_string_equal(out, "138****5678");
    mask_phone_field("010-6447 1234", out, sizeof out);
    assert_string_equal(out, "010-**** 1234");
    mask_phone_field("", out, sizeof out);
    assert_string_equal(out, "");
}

static void test_levels(void **state)
{
    (void)state;
    slog_level_t lvl;
    assert_int_equal(slog_level_parse("warn", &lvl), 0);
    assert_int_equal(lvl, SLOG_WARN);
    assert_int_equal(slog_level_parse("DEBUG", &lvl), 0);
    assert_int_equal(slog_level_parse("verbose", &lvl), HL_EINVAL);
    slog_init("test", SLOG_WARN);
    assert_true(slog_enabled(SLOG_ERROR));
    assert_true(slog_enabled(SLOG_WARN));
    assert_false(slog_enabled(SLOG_INFO));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_phones),
        cmocka_unit_test(test_leaves_counters_and_ids),
        cmocka_unit_test(test_mask_value_for_roles),
        cmocka_unit_test(test_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
