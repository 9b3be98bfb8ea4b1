/* form: application/x-www-form-urlencoded decoding, strict, with errors naming the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "form.h"
#include "hl_error.h"

#include <stdlib.h>
#include <string.h>

static form_t *parse_ok(const char *body)
{
    form_t *f = NULL;
    form_error_t err;
    int rc = form_parse(&f, body, strlen(body), NULL, &err);
    if (rc)
        fail_msg("\"%s\" refused: %s: %s", body, err.key, err.message);
    return f;
}

/* Parse expecting failure rc; returns the key the error named (static buffer). */
static const char *parse_fail(const char *body, size_t len, const form_limits_t *lim, int rc)
{
    static form_error_t err;
    form_t *f = (form_t *)1;
    assert_int_equal(form_parse(&f, body, len, lim, &err), rc);
    assert_null(f);
    assert_true(strlen(err.message) > 10); /* a message a person can act on */
    return err.key;
}

static void test_pairs_and_decoding(void **state)
{
    (void)state;
    form_t *f = parse_ok("service_code=W01&description=no+water%21&lat=26.08&x=%E6%B0%B4");
    assert_int_equal(form_count(f), 4);
    assert_string_equal(form_name(f, 0), "service_code");
    assert_string_equal(form_value(f, 0), "W01");
    assert_string_equal(form_get(f, "description"), "no water!");
    assert_string_equal(form_get(f, "x"), "\xE6\xB0\xB4"); /* U+6C34 */
    assert_null(form_get(f, "long"));
    assert_null(form_name(f, 4));
    form_destroy(&f);
    assert_null(f);
    form_destroy(&f); /* twice is harmless */
}

static void test_empty_pieces_and_bare_names(void **state)
{
    (void)state;
    form_t *f = parse_ok("&&a=1&&b&c=&");
    assert_int_equal(form_count(f), 3);
    assert_string_equal(form_get(f, "a"), "1");
    assert_string_equal(form_get(f, "b"), ""); /* a name without '=' has the value "" */
    assert_string_equal(form_get(f, "c"), "");
    form_destroy(&f);
    f = parse_ok("");
    assert_int_equal(form_count(f), 0);
    form_destroy(&f);
    /* Not NUL-terminated: only len bytes count. */
    form_error_t err;
    assert_int_equal(form_parse(&f, "a=12345", 3, NULL, &err), 0);
    assert_string_equal(form_get(f, "a"), "1");
    form_destroy(&f);
    /* A value may hold '=' and encoded '&'. */
    f = parse_ok("q=a=b%26c");
    assert_string_equal(form_get(f, "q"), "a=b&c");
    form_destroy(&f);
}

static void test_repeated_keys(void **state)
{
    (void)state;
    form_t *f = parse_ok("attribute%5Bk%5D%5B%5D=a&attribute[k][]=b&service_code=W01&"
                         "service_code=W02");
    assert_int_equal(form_count_of(f, "attribute[k][]"), 2);
    assert_string_equal(form_value(f, 0), "a");
    assert_string_equal(form_value(f, 1), "b");
    assert_int_equal(form_count_of(f, "service_code"), 2);
    assert_string_equal(form_get(f, "service_code"), "W01"); /* the first wins */
    assert_int_equal(form_count_of(f, "nothing"), 0);
    form_destroy(&f);
}

static void test_malformed(void **state)
{
    (void)state;
    assert_string_equal(parse_fail("a=1&desc=100%", 13, NULL, HL_EINVAL), "desc");
    assert_string_equal(parse_fail("desc=%zz", 8, NULL, HL_EINVAL), "desc");
    assert_string_equal(parse_fail("desc=%4", 7, NULL, HL_EINVAL), "desc");
    assert_string_equal(parse_fail("desc=a%00b", 10, NULL, HL_EINVAL), "desc");
    assert_string_equal(parse_fail("de%00sc=a", 9, NULL, HL_EINVAL), "de%00sc");
    assert_string_equal(parse_fail("=value", 6, NULL, HL_EINVAL), "=value");
    /* Not UTF-8: a lone byte, an overlong '/', a surrogate, past U+10FFFF, cut short. */
    assert_string_equal(parse_fail("name=%FF", 8, NULL, HL_EINVAL), "name");
    assert_string_equal(parse_fail("name=%C0%AF", 11, NULL, HL_EINVAL), "name");
    assert_string_equal(parse_fail("name=%ED%A0%80", 14, NULL, HL_EINVAL), "name");
    assert_string_equal(parse_fail("name=%F4%90%80%80", 17, NULL, HL_EINVAL), "name");
    assert_string_equal(parse_fail("name=%E6%B0", 11, NULL, HL_EINVAL), "name");
    /* A name that is not UTF-8 is quoted back with '?' for what cannot be shown. */
    assert_string_equal(parse_fail("n%FFm=1", 7, NULL, HL_EINVAL), "n?m");
    /* Raw bytes are judged the same way as encoded ones. */
    assert_string_equal(parse_fail("x=\xff", 3, NULL, HL_EINVAL), "x");
}

static void test_limits(void **state)
{
    (void)state;
    form_limits_t lim = {.max_pairs = 3, .max_name_bytes = 8, .max_value_bytes = 5};
    assert_string_equal(parse_fail("a=1&b=2&c=3&d=4", 15, &lim, HL_ETOOBIG), "d");
    assert_string_equal(parse_fail("a=123456", 8, &lim, HL_ETOOBIG), "a");
    assert_string_equal(parse_fail("abcdefghi=1", 11, &lim, HL_ETOOBIG), "abcdefghi");
    /* At the limits exactly: fine. Encoded bytes count decoded. */
    form_t *f;
    form_error_t err;
    const char *ok = "a=%41%42%43%44%45&abcdefgh=1&c=";
    assert_int_equal(form_parse(&f, ok, strlen(ok), &lim, &err), 0);
    assert_string_equal(form_get(f, "a"), "ABCDE");
    form_destroy(&f);
    /* The default limit on pairs (100). */
    char big[1200] = "";
    for (int i = 0; i < 101; i++)
        strcat(big, "k=v&");
    assert_string_equal(parse_fail(big, strlen(big), NULL, HL_ETOOBIG), "k");
}

static void test_key_split(void **state)
{
    (void)state;
    form_key_t k;
    assert_int_equal(form_key_split("attribute[side_of_meter]", &k), 0);
    assert_int_equal(k.base_len, 9);
    assert_memory_equal(k.base, "attribute", 9);
    assert_int_equal(k.sub_len, 13);
    assert_memory_equal(k.sub, "side_of_meter", 13);
    assert_false(k.list);
    assert_int_equal(form_key_split("attribute[colour][]", &k), 0);
    assert_memory_equal(k.sub, "colour", 6);
    assert_int_equal(k.sub_len, 6);
    assert_true(k.list);
    assert_int_equal(form_key_split("lat", &k), 0);
    assert_int_equal(k.base_len, 3);
    assert_null(k.sub);
    assert_false(k.list);
    assert_int_equal(form_key_split("tags[]", &k), 0);
    assert_null(k.sub);
    assert_true(k.list);
    static const char *const bad[] = {"attribute[", "attribute[x", "[x]",     "a[b]c", "a[b][c]",
                                      "a[][b]",     "a]",          "a[b[c]]", "",      "a[b][]x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (form_key_split(bad[i], &k) != HL_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_and_decoding),
        cmocka_unit_test(test_empty_pieces_and_bare_names),
        cmocka_unit_test(test_repeated_keys),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_key_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
