/* xmlw: well-formed output by construction: escaping, nesting, names, sticky errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "xmlw.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DECL "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

/* A small well-formedness check: after the declaration, tags balance, names match, text
 * holds no raw '<', every '&' starts a known reference, one root, nothing after it. */
static bool well_formed(const char *doc)
{
    if (strncmp(doc, DECL, strlen(DECL)) != 0)
        return false;
    const char *p = doc + strlen(DECL);
    char stack[XMLW_MAX_DEPTH + 1][130];
    int depth = 0, roots = 0;
    while (*p && !(depth == 0 && roots == 1)) {
        if (*p == '<') {
            bool closing = p[1] == '/';
            const char *name = p + (closing ? 2 : 1);
            size_t n = strcspn(name, " />");
            const char *end = strchr(name, '>');
            if (!end || n == 0 || n >= sizeof stack[0])
                return false;
            bool empty = end[-1] == '/';
            if (closing) {
                if (depth == 0 || strlen(stack[depth - 1]) != n ||
                    strncmp(stack[depth - 1], name, n) != 0)
                    return false;
                depth--;
            } else {
                if (depth == 0 && roots++)
                    return false;
                /* attribute values are quoted and hold no '<' or raw quote */
                for (const char *q = name + n; q < end; q++)
                    if (*q == '<')
                        return false;
                if (!empty) {
                    if (depth == XMLW_MAX_DEPTH)
                        return false;
                    memcpy(stack[depth], name, n);
                    stack[depth++][n] = '\0';
                }
            }
            p = end + 1;
        } else if (*p == '&') {
            static const char *const refs[] = {"&amp;",  "&lt;",  "&gt;",  "&quot;",
                                               "&apos;", "&#13;", "&#10;", "&#9;"};
            bool known = false;
            for (size_t i = 0; i < sizeof refs / sizeof *refs && !known; i++)
                known = strncmp(p, refs[i], strlen(refs[i])) == 0;
            if (!known || depth == 0)
                return false;
            p++;
        } else {
            if (depth == 0)
                return false; /* text outside the root */
            p++;
        }
    }
    return depth == 0 && roots == 1 && strcmp(p, "\n") == 0;
}

static char *finish(xmlw_t *w)
{
    char *out;
    size_t len;
    assert_int_equal(xmlw_finish(w, &out, &len), 0);
    assert_int_equal(strlen(out), len);
    assert_true(well_formed(out));
    return out;
}

static void test_nesting(void **state)
{
    (void)state;
    xmlw_t *w;
    assert_int_equal(xmlw_new(&w), 0);
    assert_int_equal(xmlw_open(w, "service_requests"), 0);
    assert_int_equal(xmlw_open(w, "request"), 0);
    assert_int_equal(xmlw_element(w, "service_request_id", "20261125-1-000001"), 0);
    assert_int_equal(xmlw_elementf(w, "lat", "%.2f", 26.08), 0);
    assert_int_equal(xmlw_element(w, "media_url", NULL), 0);
    assert_int_equal(xmlw_close(w), 0);
    char *out = finish(w); /* closes service_requests */
    assert_string_equal(out, DECL "<service_requests><request><service_request_id>"
                                  "20261125-1-000001</service_request_id><lat>26.08</lat>"
                                  "<media_url/></request></service_requests>\n");
    free(out);
    xmlw_destroy(&w);
    assert_null(w);
    xmlw_destroy(&w);
}

static void test_escaping(void **state)
{
    (void)state;
    xmlw_t *w;
    assert_int_equal(xmlw_new(&w), 0);
    xmlw_open(w, "a");
    assert_int_equal(xmlw_attr(w, "note", "say \"hi\" & 'bye'\t<x>\n"), 0);
    xmlw_text(w, "1 < 2 && 3 > 2, \"quoted\" it's\r\n]]>");
    xmlw_close(w);
    char *out = finish(w);
    assert_string_equal(out, DECL "<a note=\"say &quot;hi&quot; &amp; &apos;bye&apos;&#9;"
                                  "&lt;x&gt;&#10;\">1 &lt; 2 &amp;&amp; 3 &gt; 2, \"quoted\" "
                                  "it's&#13;\n]]&gt;</a>\n");
    free(out);
    xmlw_destroy(&w);
}

static void test_unrepresentable_characters(void **state)
{
    (void)state;
    xmlw_t *w;
    assert_int_equal(xmlw_new(&w), 0);
    /* Control characters, U+FFFE, a lone continuation byte, an overlong form, a surrogate
     * and a cut sequence all become U+FFFD; real UTF-8 (CJK, emoji) and tab pass. */
    xmlw_element(w, "t",
                 "a\x01"
                 "b\x1f"
                 "\xEF\xBF\xBE"
                 "\x80"
                 "\xC0\xAF"
                 "\xED\xA0\x80"
                 "\xE6\xB0\xB4\xF0\x9F\x92\xA7\t\xE6\xB0");
    char *out = finish(w);
    assert_string_equal(out, DECL "<t>a\xEF\xBF\xBD"
                                  "b\xEF\xBF\xBD"
                                  "\xEF\xBF\xBD"
                                  "\xEF\xBF\xBD"
                                  "\xEF\xBF\xBD\xEF\xBF\xBD"
                                  "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                                  "\xE6\xB0\xB4\xF0\x9F\x92\xA7\t\xEF\xBF\xBD\xEF\xBF\xBD</t>\n");
    free(out);
    xmlw_destroy(&w);
}

static void test_names(void **state)
{
    (void)state;
    static const char *const good[] = {"a", "_x", "service_request_id", "a-b.c", "A9"};
    static const char *const bad[] = {"",    "9a",     "-a",  ".a",           "a b", "a<",
                                      "xml", "XmLfoo", "a&b", "\xE6\xB0\xB4", "a:b"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        xmlw_t *w;
        assert_int_equal(xmlw_new(&w), 0);
        assert_int_equal(xmlw_element(w, good[i], "x"), 0);
        xmlw_destroy(&w);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        xmlw_t *w;
        assert_int_equal(xmlw_new(&w), 0);
        if (xmlw_open(w, bad[i]) != HL_EINVAL)
            fail_msg("name \"%s\" accepted", bad[i]);
        xmlw_destroy(&w);
    }
}

static void test_errors_are_sticky(void **state)
{
    (void)state;
    xmlw_t *w;
    char *out;
    size_t len;
    /* Text or a close with nothing open. */
    assert_int_equal(xmlw_new(&w), 0);
    assert_int_equal(xmlw_text(w, "x"), HL_ECONFLICT);
    assert_int_equal(xmlw_open(w, "a"), HL_ECONFLICT); /* sticky */
    assert_int_equal(xmlw_finish(w, &out, &len), HL_ECONFLICT);
    assert_null(out);
    xmlw_destroy(&w);
    assert_int_equal(xmlw_new(&w), 0);
    assert_int_equal(xmlw_close(w), HL_ECONFLICT);
    xmlw_destroy(&w);
    /* A second root. */
    assert_int_equal(xmlw_new(&w), 0);
    assert_int_equal(xmlw_element(w, "a", NULL), 0);
    assert_int_equal(xmlw_open(w, "b"), HL_ECONFLICT);
    xmlw_destroy(&w);
    /* An attribute after content. */
    assert_int_equal(xmlw_new(&w), 0);
    xmlw_open(w, "a");
    xmlw_text(w, "t");
    assert_int_equal(xmlw_attr(w, "k", "v"), HL_ECONFLICT);
    xmlw_destroy(&w);
    /* A bad name in the middle spoils the document. */
    assert_int_equal(xmlw_new(&w), 0);
    xmlw_open(w, "a");
    xmlw_element(w, "ok", "1");
    xmlw_element(w, "not ok", "2");
    xmlw_element(w, "fine", "3");
    assert_int_equal(xmlw_finish(w, &out, &len), HL_EINVAL);
    xmlw_destroy(&w);
    /* No root at all. */
    assert_int_equal(xmlw_new(&w), 0);
    assert_int_equal(xmlw_finish(w, &out, &len), HL_ECONFLICT);
    xmlw_destroy(&w);
}

static void test_depth_and_size(void **state)
{
    (void)state;
    xmlw_t *w;
    assert_int_equal(xmlw_new(&w), 0);
    for (int i = 0; i < XMLW_MAX_DEPTH; i++)
        assert_int_equal(xmlw_open(w, "d"), 0);
    assert_int_equal(xmlw_open(w, "d"), HL_ETOOBIG);
    xmlw_destroy(&w); /* frees the open names */
    /* Deep but legal, and large text (the buffer grows). */
    assert_int_equal(xmlw_new(&w), 0);
    for (int i = 0; i < XMLW_MAX_DEPTH - 1; i++)
        xmlw_open(w, "d");
    char *big = malloc(100001);
    memset(big, '&', 100000);
    big[100000] = '\0';
    assert_int_equal(xmlw_text(w, big), 0);
    assert_int_equal(xmlw_elementf(w, "f", "%s", big), 0); /* past elementf's small buffer */
    free(big);
    char *out = finish(w);
    assert_true(strlen(out) > 1000000);
    free(out);
    xmlw_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_unrepresentable_characters),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_errors_are_sticky),
        cmocka_unit_test(test_depth_and_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
