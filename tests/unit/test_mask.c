/* mask: every common written form of a phone number is masked, in any text around it; ticket
 * ids, dates and addresses are not. Includes a property test over generated numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mask.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(const char *in, const char *want)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", in);
    mask_phones(buf);
    assert_string_equal(buf, want);
}

static void test_forms(void **state)
{
    (void)state;
    check("13812345678", "138****5678");
    check("call 138 0013 8000 now", "call 138 **** 8000 now");
    check("138-0013-8000", "138-****-8000");
    check("138.0013.8000", "138.****.8000");
    check("(010) 6552 8899", "(010) **** 8899");
    check("010.6552.8899", "010.****.8899");
    check("+86 138 0013 8000", "+86 138 **** 8000");
    check("+8613800138000", "+86138****8000");
    check("0086-10-65528899", "0086-**-****8899");
    check("(+86) 13800138000", "(+86) 138****8000");
    check("电话13800138000，谢谢", "电话138****8000，谢谢");
    check("6552889", "***2889");
    check("two: 13800138000 and 13900139000", "two: 138****8000 and 139****9000");
}

static void test_not_phones(void **state)
{
    (void)state;
    check("ticket 20261125-1-000123 is open", "ticket 20261125-1-000123 is open");
    check("incident=INC-20251125-001 declared", "incident=INC-20251125-001 declared");
    check("since 2026-12-04 09:00", "since 2026-12-04 09:00");
    check("on 2026.12.04 and 2026/1/4", "on 2026.12.04 and 2026/1/4");
    check("from 192.168.100.200", "from 192.168.100.200");
    check("W0402 at No. 88, 3 floors, 120 homes", "W0402 at No. 88, 3 floors, 120 homes");
    check("123456", "123456");
    check("13800138000 20261125-1-000123", "138****8000 20261125-1-000123");
    check("", "");
}

static void test_fields(void **state)
{
    (void)state;
    char out[64];
    mask_phone_field("13812345678", out, sizeof out);
    assert_string_equal(out, "138****5678");
    mask_phone_field("12345", out, sizeof out);
    assert_string_equal(out, "*2345");
    mask_name("张三", out, sizeof out);
    assert_string_equal(out, "张*");
    mask_name("Li Wei", out, sizeof out);
    assert_string_equal(out, "L*****");
    mask_name("", out, sizeof out);
    assert_string_equal(out, "");
    char *d = mask_phones_dup(NULL);
    assert_string_equal(d, "");
    free(d);
}

/* ---- property: generated numbers in every written form never come out whole ---- */

static unsigned rnd(unsigned *s, unsigned n)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) % n;
}

/* A national number: a mobile (11 digits, 1[3-9]...) or a landline (0 + 2-3 digit area code,
 * 7-8 digit subscriber), as digits and as its groups. */
static void gen_number(unsigned *s, char *digits, int groups[4], int *ngroups)
{
    int n = 0;
    if (rnd(s, 2)) {
        digits[n++] = '1';
        digits[n++] = (char)('3' + rnd(s, 7));
        while (n < 11)
            digits[n++] = (char)('0' + rnd(s, 10));
        groups[0] = 3, groups[1] = 4, groups[2] = 4, *ngroups = 3;
    } else {
        int area = 2 + (int)rnd(s, 2), sub = 7 + (int)rnd(s, 2);
        digits[n++] = '0';
        digits[n++] = (char)('1' + rnd(s, 9));
        while (n < 1 + area)
            digits[n++] = (char)('0' + rnd(s, 10));
        while (n < 1 + area + sub)
            digits[n++] = (char)('0' + rnd(s, 10));
        groups[0] = 1 + area, groups[1] = sub - 4, groups[2] = 4, *ngroups = 3;
    }
    digits[n] = '\0';
}

/* Write the number in one of the common forms into out. */
static void write_form(unsigned *s, const char *digits, const int groups[4], int ngroups,
                       char *out, size_t size)
{
    static const char *const prefixes[] = {"", "", "+86 ", "+86", "0086 ", "0086-", "(+86) "};
    static const char seps[] = {'\0', ' ', '-', '.'};
    const char *prefix = prefixes[rnd(s, sizeof prefixes / sizeof *prefixes)];
    char sep = seps[rnd(s, sizeof seps)];
    bool bracket = digits[0] == '0' && rnd(s, 3) == 0 && prefix[0] == '\0';
    size_t o = (size_t)snprintf(out, size, "%s", prefix);
    const char *d = digits;
    for (int g = 0; g < ngroups; g++) {
        if (g == 0 && bracket)
            out[o++] = '(';
        memcpy(out + o, d, (size_t)groups[g]);
        o += (size_t)groups[g];
        d += groups[g];
        if (g == 0 && bracket) {
            out[o++] = ')';
            out[o++] = ' ';
        } else if (g + 1 < ngroups && sep) {
            out[o++] = sep;
        }
    }
    out[o] = '\0';
}

/* No run of digits and separators in text holds all of digits' digits in order: the whole
 * number cannot be read back. */
static bool whole_in(const char *text, const char *digits)
{
    char run[256];
    size_t r = 0;
    for (const char *p = text;; p++) {
        if (*p >= '0' && *p <= '9') {
            if (r + 1 < sizeof run)
                run[r++] = *p;
            continue;
        }
        if (*p && strchr(" -.()+", *p))
            continue;
        run[r] = '\0';
        if (strstr(run, digits))
            return true;
        r = 0;
        if (!*p)
            return false;
    }
}

static void test_property_generated(void **state)
{
    (void)state;
    static const char *const before[] = {"", "call ", "电话：", "my number is ", "tel ",
                                         "(", "No. 8, "};
    static const char *const after[] = {"", " please", "。", ", thanks", ")", " 2026-12-04",
                                        " ticket 20261125-1-000123"};
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        char digits[16], written[64], text[256];
        int groups[4], ngroups;
        gen_number(&seed, digits, groups, &ngroups);
        write_form(&seed, digits, groups, ngroups, written, sizeof written);
        snprintf(text, sizeof text, "%s%s%s", before[rnd(&seed, 7)], written,
                 after[rnd(&seed, 7)]);
        char masked[256];
        snprintf(masked, sizeof masked, "%s", text);
        assert_true(mask_phones(masked) >= 1);
        if (strstr(masked, written) || whole_in(masked, digits))
            fail_msg("not masked: '%s' -> '%s'", text, masked);
        assert_int_equal(strlen(masked), strlen(text));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_not_phones),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_property_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
