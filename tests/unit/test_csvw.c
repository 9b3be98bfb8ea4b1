/* csvw: RFC 4180 quoting (commas, quotes, CR, LF, CRLF), UTF-8 kept and invalid bytes
 * replaced, empty and absent fields, CRLF record ends, formatted fields of any length, the
 * counts, and errors that stick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "csvw.h"
#include "hl_error.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The document of one record holding the fields (NULL-ended), as text (caller frees). */
static char *record(const char *const *fields)
{
    csvw_t *w;
    assert_int_equal(csvw_new(&w), 0);
    for (size_t i = 0; fields[i]; i++)
        assert_int_equal(csvw_field(w, fields[i]), 0);
    assert_int_equal(csvw_end(w), 0);
    char *text;
    size_t len;
    assert_int_equal(csvw_finish(w, &text, &len), 0);
    assert_int_equal(len, strlen(text));
    csvw_destroy(&w);
    return text;
}

static void expect_field(const char *field, const char *want)
{
    char *got = record((const char *const[]){field, NULL});
    char line[512];
    snprintf(line, sizeof line, "%s\r\n", want);
    if (strcmp(got, line) != 0)
        fail_msg("field [%s] became [%s], expected [%s]", field, got, line);
    free(got);
}

static void test_quoting(void **state)
{
    (void)state;
    expect_field("plain", "plain");
    expect_field("", "");
    expect_field("a,b", "\"a,b\"");
    expect_field("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect_field("\"", "\"\"\"\"");
    expect_field("line\nbreak", "\"line\nbreak\"");
    expect_field("cr\rhere", "\"cr\rhere\"");
    expect_field("crlf\r\nhere", "\"crlf\r\nhere\"");
    expect_field("all, \"of\"\nthem", "\"all, \"\"of\"\"\nthem\"");
    /* Spaces, semicolons, tabs and apostrophes need no quotes in RFC 4180. */
    expect_field(" padded ; it's\tfine ", " padded ; it's\tfine ");
    /* Leading signs stay as they are: the data is the data. */
    expect_field("=1+2", "=1+2");
}

static void test_utf8(void **state)
{
    (void)state;
    expect_field("停水了，请尽快", "停水了，请尽快"); /* a full-width comma is not a comma */
    expect_field("水管, \"爆了\"", "\"水管, \"\"爆了\"\"\"");
    expect_field("emoji 🚰 ok", "emoji 🚰 ok");
    /* Bytes that start no sequence become U+FFFD; a quote after them is still doubled. */
    expect_field("bad \xff byte", "bad \xEF\xBF\xBD byte");
    expect_field("cut \xe6\xb0", "cut \xEF\xBF\xBD\xEF\xBF\xBD");
    expect_field("\xc0\"", "\"\xEF\xBF\xBD\"\"\"");
    char *text = record((const char *const[]){"\xfe\xff", "水", NULL});
    assert_true(utf8_valid(text, strlen(text)));
    free(text);
}

static void test_records(void **state)
{
    (void)state;
    csvw_t *w;
    assert_int_equal(csvw_new(&w), 0);
    csvw_field(w, "id");
    csvw_field(w, "text");
    csvw_field(w, "lat");
    csvw_end(w);
    csvw_field(w, "1");
    csvw_field(w, NULL); /* absent: empty */
    csvw_fieldf(w, "%.*g", 10, 26.08);
    csvw_end(w);
    /* A formatted field longer than any small buffer, with a comma in it. */
    char long_text[300];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    long_text[150] = ',';
    csvw_fieldf(w, "%s", long_text);
    csvw_field(w, "");
    csvw_field(w, "");
    assert_int_equal(csvw_records(w), 2);
    size_t before = csvw_bytes(w);
    assert_true(before > 300);
    char *text;
    size_t len;
    assert_int_equal(csvw_finish(w, &text, &len), 0); /* ends the open record */
    assert_int_equal(len, before + 2);
    csvw_destroy(&w);
    char want[512];
    snprintf(want, sizeof want, "id,text,lat\r\n1,,26.08\r\n\"%s\",,\r\n", long_text);
    assert_string_equal(text, want);
    free(text);
}

static void test_empty_and_destroy(void **state)
{
    (void)state;
    csvw_t *w;
    assert_int_equal(csvw_new(&w), 0);
    char *text;
    size_t len;
    assert_int_equal(csvw_finish(w, &text, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
    csvw_destroy(&w);
    assert_null(w);
    csvw_destroy(&w); /* a no-op */
    csvw_destroy(NULL);
    /* Destroyed without finishing: nothing leaks (ASan says). */
    assert_int_equal(csvw_new(&w), 0);
    csvw_field(w, "left behind");
    csvw_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_empty_and_destroy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
