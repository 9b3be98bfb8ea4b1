/* slog: phone numbers never reach the log; counters, ticket ids and times are left alone; free
 * text is quoted and escaped so every event stays one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "mask.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void quote_is(const char *in, const char *want)
{
    char out[SLOG_QUOTE_MAX];
    assert_string_equal(slog_quote(out, sizeof out, in), want);
}

static void test_quote_escapes(void **state)
{
    (void)state;
    quote_is("plain words", "\"plain words\"");
    quote_is("", "\"\"");
    quote_is(NULL, "\"\"");
    quote_is("say \"hi\"", "\"say \\\"hi\\\"\"");
    quote_is("C:\\tmp", "\"C:\\\\tmp\"");
    quote_is("one\ntwo\r\n\tend", "\"one\\ntwo\\r\\n\\tend\"");
    quote_is("bell\a del\x7f esc\x1b", "\"bell\\x07 del\\x7f esc\\x1b\"");
    quote_is("水管爆裂 at 鼓楼", "\"水管爆裂 at 鼓楼\"");
}

static void test_quote_cuts_long_values(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char out[64];
    slog_quote(out, sizeof out, big);
    assert_int_equal(strlen(out), sizeof out - 1);
    assert_int_equal(out[0], '"');
    assert_string_equal(out + strlen(out) - 4, "...\"");
    /* An escape is never cut in half. */
    memset(big, '\n', 100);
    big[100] = '\0';
    slog_quote(out, sizeof out, big);
    assert_string_equal(out + strlen(out) - 6, "\\n...\"");
    /* Nor is a UTF-8 character: 3 bytes each, so a cut lands on a boundary. */
    big[0] = '\0';
    for (int i = 0; i < 40; i++)
        strcat(big, "鼓");
    for (size_t size = 8; size < 40; size++) {
        slog_quote(out, size, big);
        size_t body = strlen(out) - 5; /* opening quote, "...", closing quote */
        assert_int_equal(body % 3, 0);
        assert_true(strlen(out) < size);
    }
    /* Too small to hold anything useful: the empty string. */
    assert_string_equal(slog_quote(out, 7, "text"), "");
}

/* Run one slog_write with stderr sent to a file; out gets what was written. */
static void capture(char *out, size_t out_size, void (*write_fn)(void))
{
    char path[] = "/tmp/hotline-slog.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    write_fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, out_size - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    out[n] = '\0';
}

static void write_quoted(void)
{
    SLOG_WARN("refused", "reason=%s seq=%llu", SLOG_Q("bad \"key\"\ncall 13812345678"),
              12345678901ULL);
}

static void write_hidden_counter(void)
{
    SLOG_WARN("refused", "reason=%s", SLOG_Q("a note seq=13812345678 inside"));
}

static void write_raw_newline(void)
{
    SLOG_WARN("refused", "reason=\"%s\" next=%s", "first\nsecond", "retry");
}

static size_t lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static void test_write_keeps_one_line(void **state)
{
    (void)state;
    slog_init("test", SLOG_INFO);
    char out[4096];
    capture(out, sizeof out, write_quoted);
    assert_int_equal(lines(out), 1);
    assert_non_null(strstr(out, " event=refused reason=\"bad \\\"key\\\"\\ncall 138****5678\" "
                                "seq=12345678901\n"));
    capture(out, sizeof out, write_hidden_counter);
    assert_non_null(strstr(out, "reason=\"a note seq=138****5678 inside\"\n"));
    capture(out, sizeof out, write_raw_newline);
    assert_int_equal(lines(out), 1);
    assert_non_null(strstr(out, "reason=\"first\\nsecond\" next=retry\n"));
}

static void test_quoted_values_end_at_their_quote(void **state)
{
    (void)state;
    check(" reason=\"x head=13812345678\" head_seq=123456789",
          " reason=\"x head=138****5678\" head_seq=123456789");
    check(" reason=\"say \\\"13812345678\\\"\" seq=123456789",
          " reason=\"say \\\"138****5678\\\"\" seq=123456789");
    /* Unterminated: the rest of the line is the value (masked rather than trusted). */
    check(" reason=\"open seq=13812345678", " reason=\"open seq=138****5678");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_phones),
        cmocka_unit_test(test_leaves_counters_and_ids),
        cmocka_unit_test(test_mask_value_for_roles),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_quote_escapes),
        cmocka_unit_test(test_quote_cuts_long_values),
        cmocka_unit_test(test_write_keeps_one_line),
        cmocka_unit_test(test_quoted_values_end_at_their_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
