/* connector_secret: what both ends of a signed request share. The signature against a value
 * computed by another implementation (Python's hmac); a receiver's check: good, a wrong key, a
 * tampered body, a tampered timestamp, a stale timestamp either way, none, a malformed
 * signature; the secret read from a file (mode 0600 only, trailing newline dropped) or the
 * environment, exactly one of them, at least 16 bytes, each refusal naming the field; and the
 * url rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "connector.h"
#include "hl_error.h"
#include "unit.h"

#include <sodium.h>
#include <sys/stat.h>

#define KEY "survey-secret-0123456789"
#define TS "1795572000000"
#define NOW 1795572000000LL
#define BODY "{\"rating\":\"RATING_SATISFIED\",\"resolved\":true}"
/* python3: hmac.new(KEY, TS + "." + BODY, hashlib.sha256).hexdigest() */
#define WANT "sha256=ece76b18125eb95fe41a4d4a570b3c9fa524f45cb84737af6da634cea4e6cd8f"

static connector_sig_t check(const char *key, const char *ts, const char *sig, const char *body,
                             int64_t now)
{
    int64_t skew;
    return connector_verify(key, strlen(key), ts, sig, body, strlen(body), now, CONNECTOR_SKEW_MS,
                            &skew);
}

static void test_sign_matches_another_implementation(void **state)
{
    (void)state;
    char sig[CONNECTOR_SIGNATURE_MAX];
    connector_sign(KEY, strlen(KEY), TS, BODY, strlen(BODY), sig);
    assert_string_equal(sig, WANT);
}

static void test_verify_good(void **state)
{
    (void)state;
    assert_int_equal(check(KEY, TS, WANT, BODY, NOW), CONNECTOR_SIG_OK);
    /* within five minutes either way */
    assert_int_equal(check(KEY, TS, WANT, BODY, NOW + CONNECTOR_SKEW_MS), CONNECTOR_SIG_OK);
    assert_int_equal(check(KEY, TS, WANT, BODY, NOW - CONNECTOR_SKEW_MS), CONNECTOR_SIG_OK);
}

static void test_verify_bad_key(void **state)
{
    (void)state;
    assert_int_equal(check("another-secret-0123456789", TS, WANT, BODY, NOW),
                     CONNECTOR_SIG_MISMATCH);
}

static void test_verify_tampered(void **state)
{
    (void)state;
    /* the body changed on the way (a rating raised), or the timestamp moved to look fresh */
    assert_int_equal(
        check(KEY, TS, WANT, "{\"rating\":\"RATING_VERY_SATISFIED\",\"resolved\":true}", NOW),
        CONNECTOR_SIG_MISMATCH);
    assert_int_equal(check(KEY, TS, WANT, BODY " ", NOW), CONNECTOR_SIG_MISMATCH);
    assert_int_equal(check(KEY, "1795572000001", WANT, BODY, NOW), CONNECTOR_SIG_MISMATCH);
    char flipped[] = WANT;
    flipped[sizeof flipped - 2] = flipped[sizeof flipped - 2] == '0' ? '1' : '0';
    assert_int_equal(check(KEY, TS, flipped, BODY, NOW), CONNECTOR_SIG_MISMATCH);
}

static void test_verify_stale(void **state)
{
    (void)state;
    int64_t skew;
    assert_int_equal(connector_verify(KEY, strlen(KEY), TS, WANT, BODY, strlen(BODY),
                                      NOW + CONNECTOR_SKEW_MS + 1, CONNECTOR_SKEW_MS, &skew),
                     CONNECTOR_SIG_STALE);
    assert_int_equal(skew, CONNECTOR_SKEW_MS + 1);
    assert_int_equal(check(KEY, TS, WANT, BODY, NOW - CONNECTOR_SKEW_MS - 1), CONNECTOR_SIG_STALE);
    /* a stale request is refused before its signature is even looked at */
    assert_int_equal(check(KEY, TS, "sha256=00", BODY, NOW + 3600000), CONNECTOR_SIG_STALE);
}

static void test_verify_malformed(void **state)
{
    (void)state;
    assert_int_equal(check(KEY, NULL, WANT, BODY, NOW), CONNECTOR_SIG_NO_TIMESTAMP);
    assert_int_equal(check(KEY, "", WANT, BODY, NOW), CONNECTOR_SIG_NO_TIMESTAMP);
    assert_int_equal(check(KEY, "17955720000OO", WANT, BODY, NOW), CONNECTOR_SIG_NO_TIMESTAMP);
    assert_int_equal(check(KEY, "-1", WANT, BODY, NOW), CONNECTOR_SIG_NO_TIMESTAMP);
    assert_int_equal(check(KEY, TS, NULL, BODY, NOW), CONNECTOR_SIG_MALFORMED);
    assert_int_equal(check(KEY, TS, &WANT[7], BODY, NOW), CONNECTOR_SIG_MALFORMED);
    assert_int_equal(check(KEY, TS, "sha1=ece76b18", BODY, NOW), CONNECTOR_SIG_MALFORMED);
    char upper[] = WANT;
    upper[7] = 'x';
    assert_int_equal(check(KEY, TS, upper, BODY, NOW), CONNECTOR_SIG_MALFORMED);
    assert_int_equal(check(KEY, TS, WANT "00", BODY, NOW), CONNECTOR_SIG_MALFORMED);
    for (connector_sig_t v = CONNECTOR_SIG_OK; v <= CONNECTOR_SIG_MISMATCH; v++)
        assert_true(strlen(connector_sig_reason(v)) > 5);
    assert_non_null(strstr(connector_sig_reason(CONNECTOR_SIG_MISMATCH), "X-Hotline-Signature"));
}

/* ---- the secret ---- */

static int load(const char *file, const char *env, char *err, size_t *len)
{
    uint8_t out[CONNECTOR_SECRET_MAX];
    err[0] = '\0';
    int rc = connector_secret_load(file, env, "survey", out, len, err, 512);
    sodium_memzero(out, sizeof out);
    return rc;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_secret_sources(void **state)
{
    (void)state;
    char *dir = unit_tmpdir(), path[512], err[512];
    size_t len;
    snprintf(path, sizeof path, "%s/gateway.key", dir);
    write_file(path, KEY "\n", 0600);
    assert_int_equal(load(path, NULL, err, &len), 0);
    assert_int_equal(len, strlen(KEY)); /* the editor's newline is not part of it */

    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(load(path, "", err, &len), HL_EINVAL);
    assert_non_null(strstr(err, "survey.secretFile: "));
    assert_non_null(strstr(err, "is open to group or others (mode 0644): chmod 600 it"));

    setenv("HOTLINE_TEST_SURVEY_KEY", KEY, 1);
    assert_int_equal(load(NULL, "HOTLINE_TEST_SURVEY_KEY", err, &len), 0);
    assert_int_equal(len, strlen(KEY));
    assert_int_equal(load(path, "HOTLINE_TEST_SURVEY_KEY", err, &len), HL_EINVAL);
    assert_non_null(strstr(err, "survey.secretEnv: give exactly one of secretFile"));
    assert_int_equal(load(NULL, NULL, err, &len), HL_EINVAL);
    assert_non_null(strstr(err, "survey.secretFile: give exactly one of secretFile"));
    assert_int_equal(load(NULL, "HOTLINE_TEST_NOT_SET", err, &len), HL_EINVAL);
    assert_non_null(strstr(err, "survey.secretEnv: the environment variable HOTLINE_TEST_NOT_SET"));
    setenv("HOTLINE_TEST_SURVEY_KEY", "short", 1);
    assert_int_equal(load(NULL, "HOTLINE_TEST_SURVEY_KEY", err, &len), HL_EINVAL);
    assert_non_null(strstr(err, "survey.secretEnv: the secret is 5 bytes; at least 16"));
    snprintf(path, sizeof path, "%s/none.key", dir);
    assert_int_equal(load(path, NULL, err, &len), HL_EINVAL);
    assert_non_null(strstr(err, "cannot be read"));
    assert_int_equal(load(dir, NULL, err, &len), HL_EINVAL);
    unit_tmpdir_cleanup(dir);
}

static void test_url_rule(void **state)
{
    (void)state;
    char why[160];
    assert_int_equal(connector_url_check("https://sms.example/survey", why, sizeof why), 0);
    assert_int_equal(connector_url_check("ftp://x", why, sizeof why), HL_EINVAL);
    assert_string_equal(why, "'ftp://x' is not http:// or https://");
    assert_int_equal(connector_url_check("http://a b", why, sizeof why), HL_EINVAL);
    assert_string_equal(why, "printable ASCII without spaces only");
    assert_int_equal(connector_url_check(NULL, why, sizeof why), HL_EINVAL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_matches_another_implementation),
        cmocka_unit_test(test_verify_good),
        cmocka_unit_test(test_verify_bad_key),
        cmocka_unit_test(test_verify_tampered),
        cmocka_unit_test(test_verify_stale),
        cmocka_unit_test(test_verify_malformed),
        cmocka_unit_test(test_secret_sources),
        cmocka_unit_test(test_url_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
