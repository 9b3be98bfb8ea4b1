/* dispatch_crew: the crews[] configuration is checked before anything opens, each mistake
 * named by its field and rule; the secret comes only from a file of mode 0600 (or stricter)
 * or an environment variable, at least 16 bytes; defaults are written in for --print-config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dispatch_internal.h"
#include "hl_error.h"
#include "pbjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char key_file[96];
static char open_file[96];

static Hotline__DispatchConfig *cfg_from_json(const char *json)
{
    ProtobufCMessage *msg = NULL;
    pbjson_error_t err;
    /* The embedded catalogue, then the crews over it. */
    int rc = pbjson_decode(&hotline__dispatch_config__descriptor, dispatch_service.default_config_json,
                           strlen(dispatch_service.default_config_json), NULL, &msg, &err);
    if (rc)
        fail_msg("defaults do not decode: %s: %s", err.field, err.message);
    json_t *o = NULL;
    rc = pbjson_parse(json, strlen(json), &o, &err);
    if (!rc)
        rc = pbjson_merge(msg, o, NULL, &err);
    json_decref(o);
    if (rc)
        fail_msg("test config does not decode: %s: %s", err.field, err.message);
    return (Hotline__DispatchConfig *)msg;
}

/* Check crews JSON ("{...}, {...}"): the code, and err. */
static int check(const char *crews, char *err, size_t err_size)
{
    char json[2048];
    snprintf(json, sizeof json, "{\"crews\": [%s]}", crews);
    Hotline__DispatchConfig *cfg = cfg_from_json(json);
    dispatch_catalogue_t *cat;
    assert_int_equal(dispatch_catalogue_create(&cat, cfg, err, err_size), 0);
    err[0] = '\0';
    dispatch_crews_fill_defaults(cfg);
    int rc = dispatch_crews_check(cfg, cat, err, err_size);
    dispatch_catalogue_destroy(&cat);
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
    return rc;
}

static void expect_refused(const char *crews, const char *want)
{
    char err[512];
    assert_int_equal(check(crews, err, sizeof err), HL_EINVAL);
    if (!strstr(err, want))
        fail_msg("error '%s' lacks '%s'", err, want);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_dispatch_crew.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(key_file, sizeof key_file, "%s/crew.key", dir);
    snprintf(open_file, sizeof open_file, "%s/open.key", dir);
    FILE *f = fopen(key_file, "w");
    fputs("0123456789abcdef-secret\n", f);
    fclose(f);
    chmod(key_file, 0600);
    f = fopen(open_file, "w");
    fputs("0123456789abcdef-secret\n", f);
    fclose(f);
    chmod(open_file, 0644);
    setenv("CREW_KEY", "0123456789abcdef", 1);
    setenv("CREW_SHORT", "short\n", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(key_file);
    unlink(open_file);
    rmdir(dir);
    return 0;
}

static void test_good(void **state)
{
    (void)state;
    char crews[512], err[512];
    snprintf(crews, sizeof crews,
             "{\"unit\": \"repair-crew\", \"url\": \"http://127.0.0.1:9/o\", \"secretFile\": \"%s\"},"
             "{\"unit\": \"repair-crew-south\", \"url\": \"https://crews.example/o\", "
             "\"secretEnv\": \"CREW_KEY\", \"maxAttempts\": 3}",
             key_file);
    assert_int_equal(check(crews, err, sizeof err), 0);
    assert_int_equal(check("", err, sizeof err), 0); /* no crews: dispatch runs as before */
}

static void test_fields_named(void **state)
{
    (void)state;
    char crews[512], want[256];
    expect_refused("{\"url\": \"http://x/o\", \"secretEnv\": \"CREW_KEY\"}",
                   "crews[0].unit: required");
    expect_refused("{\"unit\": \"nobody\", \"url\": \"http://x/o\", \"secretEnv\": \"CREW_KEY\"}",
                   "crews[0].unit: unit 'nobody' is not in the catalogue");
    expect_refused("{\"unit\": \"repair-crew\", \"secretEnv\": \"CREW_KEY\"}",
                   "crews[0].url: required");
    expect_refused("{\"unit\": \"repair-crew\", \"url\": \"ftp://x\", \"secretEnv\": \"CREW_KEY\"}",
                   "crews[0].url: 'ftp://x' is not http:// or https://");
    expect_refused("{\"unit\": \"repair-crew\", \"url\": \"http://x/a b\", \"secretEnv\": \"CREW_KEY\"}",
                   "crews[0].url: printable ASCII without spaces");
    expect_refused("{\"unit\": \"repair-crew\", \"url\": \"http://x/o\"}",
                   "crews[0].secretFile: give exactly one of secretFile");
    expect_refused("{\"unit\": \"repair-crew\", \"url\": \"http://x/o\", \"secretEnv\": \"NO_SUCH_VAR_X\"}",
                   "crews[0].secretEnv: the environment variable NO_SUCH_VAR_X is not set");
    expect_refused("{\"unit\": \"repair-crew\", \"url\": \"http://x/o\", \"secretEnv\": \"CREW_SHORT\"}",
                   "crews[0].secretEnv: the secret is 5 bytes; at least 16");
    snprintf(crews, sizeof crews,
             "{\"unit\": \"repair-crew\", \"url\": \"http://x/o\", \"secretFile\": \"%s\"}", open_file);
    snprintf(want, sizeof want, "crews[0].secretFile: %s is open to group or others (mode 0644)",
             open_file);
    expect_refused(crews, want);
    expect_refused("{\"unit\": \"repair-crew\", \"url\": \"http://x/o\", \"secretFile\": \"/nonexistent/k\"}",
                   "crews[0].secretFile: /nonexistent/k cannot be read");
    expect_refused("{\"unit\": \"repair-crew\", \"url\": \"http://x/o\", \"secretEnv\": \"CREW_KEY\", "
                   "\"maxAttempts\": 101}",
                   "crews[0].maxAttempts: 101 is above 100");
    expect_refused("{\"unit\": \"repair-crew\", \"url\": \"http://x/o\", \"secretEnv\": \"CREW_KEY\", "
                   "\"backoffFirstMs\": 5000, \"backoffCapMs\": 1000}",
                   "crews[0].backoffCapMs: 1000 is below backoffFirstMs 5000");
    expect_refused("{\"unit\": \"repair-crew\", \"url\": \"http://x/o\", \"secretEnv\": \"CREW_KEY\"},"
                   "{\"unit\": \"repair-crew\", \"url\": \"http://x/o\", \"secretEnv\": \"CREW_KEY\"}",
                   "crews[1].unit: crew 'repair-crew' is also crews[0]");
}

/* Units whose ids differ only by '-' and '_' would share one connector (its queue and dead
 * letters): refused naming both. */
static void test_connector_names_collide(void **state)
{
    (void)state;
    Hotline__DispatchConfig *cfg = cfg_from_json(
        "{\"routes\": [], \"fallbackUnit\": \"desk\", \"units\": [{\"id\": \"desk\"},"
        " {\"id\": \"crew-a\"}, {\"id\": \"crew_a\"}], \"crews\": ["
        " {\"unit\": \"crew-a\", \"url\": \"http://x/o\", \"secretEnv\": \"CREW_KEY\"},"
        " {\"unit\": \"crew_a\", \"url\": \"http://x/p\", \"secretEnv\": \"CREW_KEY\"}]}");
    char err[512] = "";
    dispatch_catalogue_t *cat;
    assert_int_equal(dispatch_catalogue_create(&cat, cfg, err, sizeof err), 0);
    dispatch_crews_fill_defaults(cfg);
    assert_int_equal(dispatch_crews_check(cfg, cat, err, sizeof err), HL_EINVAL);
    if (!strstr(err, "crews[1].unit: crew 'crew_a' and crews[0] 'crew-a' would share connector"))
        fail_msg("error: %s", err);
    dispatch_catalogue_destroy(&cat);
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
}

static void test_defaults_written(void **state)
{
    (void)state;
    Hotline__DispatchConfig *cfg = cfg_from_json(
        "{\"crews\": [{\"unit\": \"repair-crew\", \"url\": \"http://x/o\", \"secretEnv\": "
        "\"CREW_KEY\", \"backoffFirstMs\": 400000}]}");
    dispatch_crews_fill_defaults(cfg);
    assert_int_equal(cfg->crews[0]->max_attempts, 8);
    assert_int_equal(cfg->crews[0]->backoff_first_ms, 400000);
    assert_int_equal(cfg->crews[0]->backoff_cap_ms, 400000); /* never below the first */
    assert_int_equal(cfg->crews[0]->timeout_ms, 10000);
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_fields_named),
        cmocka_unit_test(test_defaults_written),
        cmocka_unit_test(test_connector_names_collide),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
