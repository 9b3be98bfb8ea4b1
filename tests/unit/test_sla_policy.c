/* sla policy table: the embedded defaults (docs/domain.md), which row applies to a ticket (longest
 * prefix, then a named urgency over "any"), and validation errors that name the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "pbjson.h"
#include "sla.h"

#include <stdio.h>
#include <string.h>

static Hotline__SlaConfig *decode(const char *json)
{
    ProtobufCMessage *msg = NULL;
    pbjson_error_t err;
    int rc = pbjson_decode(&hotline__sla_config__descriptor, json, strlen(json), NULL, &msg,
                           &err);
    if (rc)
        fprintf(stderr, "decode: %s: %s\n", err.field, err.message);
    assert_int_equal(rc, 0);
    return (Hotline__SlaConfig *)msg;
}

static void cfg_free(Hotline__SlaConfig *cfg)
{
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
}

static const char *match(const Hotline__SlaConfig *cfg, const char *cat, Hotline__Urgency u)
{
    const Hotline__SlaPolicy *p = sla_policy_match(cfg, cat, u);
    return p ? p->name : "(none)";
}

#define U_ANY HOTLINE__URGENCY__URGENCY_UNSPECIFIED
#define U_NORMAL HOTLINE__URGENCY__URGENCY_NORMAL
#define U_URGENT HOTLINE__URGENCY__URGENCY_URGENT
#define U_VERY HOTLINE__URGENCY__URGENCY_VERY_URGENT

static void test_defaults_are_valid_and_match(void **state)
{
    (void)state;
    Hotline__SlaConfig *cfg = decode(sla_service.default_config_json);
    char err[512] = "";
    assert_int_equal(sla_policies_validate(cfg, err, sizeof err), 0);
    assert_int_equal(cfg->n_policies, 4);
    /* Water faults by urgency; everything else, and normal water tickets, the catch-all. */
    assert_string_equal(match(cfg, "W0402", U_VERY), "water-very-urgent");
    assert_string_equal(match(cfg, "W01", U_URGENT), "water-urgent");
    assert_string_equal(match(cfg, "W01", U_NORMAL), "default");
    assert_string_equal(match(cfg, "W01", U_ANY), "default");
    assert_string_equal(match(cfg, "P01", U_VERY), "default");
    assert_string_equal(match(cfg, "", U_ANY), "default");
    /* W08 is the longer prefix: it beats the urgency rows of "W". */
    assert_string_equal(match(cfg, "W08", U_VERY), "water-service-complaint");
    assert_string_equal(match(cfg, "W0801", U_NORMAL), "water-service-complaint");
    /* The limits docs/domain.md gives. */
    const Hotline__SlaPolicy *p = sla_policy_match(cfg, "W08", U_NORMAL);
    assert_int_equal(p->reply->value, 15);
    assert_int_equal(p->reply->unit, HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS);
    p = sla_policy_match(cfg, "X", U_NORMAL);
    assert_int_equal(p->sign->value, 1);
    assert_int_equal(p->reply->value, 5);
    assert_int_equal(p->warn_before->value, 1);
    p = sla_policy_match(cfg, "W04", U_URGENT);
    assert_int_equal(p->sign->value, 1);
    assert_int_equal(p->sign->unit, HOTLINE__DURATION_UNIT__DURATION_HOURS);
    assert_int_equal(p->reply->value, 24);
    assert_int_equal(p->warn_before->value, 30);
    assert_int_equal(p->warn_before->unit, HOTLINE__DURATION_UNIT__DURATION_MINUTES);
    p = sla_policy_match(cfg, "W04", U_VERY);
    assert_int_equal(p->sign->value, 20);
    assert_int_equal(p->sign->unit, HOTLINE__DURATION_UNIT__DURATION_MINUTES);
    assert_int_equal(p->reply->value, 24);
    assert_int_equal(p->warn_before->value, 10);
    cfg_free(cfg);
}

#define LIM(v, u) "{\"value\": " #v ", \"unit\": \"DURATION_" #u "\"}"
#define ROW(name, prefix, urg)                                                                  \
    "{\"name\": \"" name "\", \"categoryPrefix\": \"" prefix "\", \"urgency\": \"" urg "\","    \
    " \"sign\": " LIM(1, HOURS) ", \"reply\": " LIM(2, HOURS) "}"

static void test_specificity(void **state)
{
    (void)state;
    Hotline__SlaConfig *cfg = decode(
        "{\"policies\": [" ROW("any", "", "URGENCY_UNSPECIFIED") ","
        ROW("any-urgent", "", "URGENCY_URGENT") ","
        ROW("w", "W", "URGENCY_UNSPECIFIED") ","
        ROW("w-urgent", "W", "URGENCY_URGENT") ","
        ROW("w-normal", "W", "URGENCY_NORMAL") ","
        ROW("w04", "W04", "URGENCY_UNSPECIFIED") ","
        ROW("w0402-very", "W0402", "URGENCY_VERY_URGENT") "]}");
    char err[512] = "";
    assert_int_equal(sla_policies_validate(cfg, err, sizeof err), 0);
    /* The longer prefix wins even against a named urgency on a shorter one. */
    assert_string_equal(match(cfg, "W0402", U_URGENT), "w04");
    assert_string_equal(match(cfg, "W0401", U_URGENT), "w04");
    /* At the same prefix a named urgency beats "any". */
    assert_string_equal(match(cfg, "W01", U_URGENT), "w-urgent");
    assert_string_equal(match(cfg, "W01", U_VERY), "w");
    assert_string_equal(match(cfg, "P01", U_URGENT), "any-urgent");
    assert_string_equal(match(cfg, "P01", U_VERY), "any");
    /* A ticket with no urgency counts as normal. */
    assert_string_equal(match(cfg, "W01", U_ANY), "w-normal");
    assert_string_equal(match(cfg, "W0402", U_VERY), "w0402-very");
    assert_string_equal(match(cfg, "W0402", U_NORMAL), "w04");
    /* Category codes compare case-insensitively; NULL is "". */
    assert_string_equal(match(cfg, "w0402", U_VERY), "w0402-very");
    assert_string_equal(match(cfg, NULL, U_URGENT), "any-urgent");
    /* Order in the table does not matter. */
    Hotline__SlaPolicy *tmp = cfg->policies[0];
    cfg->policies[0] = cfg->policies[6];
    cfg->policies[6] = tmp;
    assert_string_equal(match(cfg, "W0402", U_VERY), "w0402-very");
    assert_string_equal(match(cfg, "P", U_NORMAL), "any");
    cfg_free(cfg);
}

/* Validate a table and expect an error that starts with want. */
static void expect_invalid(const char *json, const char *want)
{
    Hotline__SlaConfig *cfg = decode(json);
    char err[512] = "";
    assert_int_equal(sla_policies_validate(cfg, err, sizeof err), HL_EINVAL);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, want);
    cfg_free(cfg);
}

#define CATCH_ALL "{\"name\": \"d\", \"sign\": " LIM(1, WORKING_DAYS) ", \"reply\": " \
                  LIM(5, WORKING_DAYS) "}"

static void test_validation_errors(void **state)
{
    (void)state;
    /* The brief's example: a reply limit of 0 in the third row. */
    expect_invalid("{\"policies\": [" CATCH_ALL "," ROW("a", "W", "URGENCY_URGENT") ","
                   "{\"name\": \"b\", \"categoryPrefix\": \"P\", \"sign\": " LIM(1, HOURS)
                   ", \"reply\": " LIM(0, HOURS) "}]}",
                   "policies[2].reply.value: must be at least 1");
    expect_invalid("{\"policies\": [" ROW("a", "W", "URGENCY_URGENT") "]}",
                   "policies: no catch-all policy");
    expect_invalid("{\"policies\": []}", "policies: no catch-all policy");
    expect_invalid("{\"policies\": [" CATCH_ALL ", {\"name\": \"x\", \"categoryPrefix\": \"W\","
                   " \"reply\": " LIM(1, HOURS) "}]}",
                   "policies[1].sign: missing");
    expect_invalid("{\"policies\": [" CATCH_ALL ", {\"name\": \"x\", \"categoryPrefix\": \"W\","
                   " \"sign\": {\"value\": 3}, \"reply\": " LIM(1, HOURS) "}]}",
                   "policies[1].sign.unit: must be one of DURATION_MINUTES");
    expect_invalid("{\"policies\": [{\"name\": \"d\", \"sign\": " LIM(1, HOURS)
                   ", \"reply\": " LIM(4000, WORKING_DAYS) "}]}",
                   "policies[0].reply.value: 4000 is longer than 3650 days");
    expect_invalid("{\"policies\": [{\"name\": \"d\", \"sign\": " LIM(100000, HOURS)
                   ", \"reply\": " LIM(1, HOURS) "}]}",
                   "policies[0].sign.value: 100000 is longer");
    expect_invalid("{\"policies\": [{\"name\": \"d\", \"sign\": " LIM(1, HOURS)
                   ", \"reply\": " LIM(1, HOURS) ", \"warnBefore\": {\"value\": 2}}]}",
                   "policies[0].warnBefore.unit: must be one of");
    expect_invalid("{\"policies\": [" CATCH_ALL ", {\"sign\": " LIM(1, HOURS)
                   ", \"reply\": " LIM(1, HOURS) "}]}",
                   "policies[1].name: must be 1 to 64 characters");
    expect_invalid("{\"policies\": [" CATCH_ALL "," ROW("d", "W", "URGENCY_URGENT") "]}",
                   "policies[1].name: \"d\" is already the name of policies[0]");
    expect_invalid("{\"policies\": [" CATCH_ALL "," ROW("a", "W", "URGENCY_URGENT") ","
                   ROW("b", "w", "URGENCY_URGENT") "]}",
                   "policies[2]: same categoryPrefix \"w\", urgency, appealType and channel as "
                   "policies[1]");
    expect_invalid("{\"policies\": [" CATCH_ALL "," ROW("a", "W-1", "URGENCY_UNSPECIFIED") "]}",
                   "policies[1].categoryPrefix: \"W-1\" may hold only letters and digits");
    expect_invalid("{\"policies\": [" CATCH_ALL "," ROW("a", "W01234567890123456", "URGENCY_UNSPECIFIED") "]}",
                   "policies[1].categoryPrefix: longer than 16");

    /* The ladder, the service's and a policy's own. */
    expect_invalid("{\"ladder\": {\"reminderPercent\": 101}, \"policies\": [" CATCH_ALL "]}",
                   "ladder.reminderPercent: 101 is over 100");
    expect_invalid("{\"policies\": [" CATCH_ALL ", {\"name\": \"x\", \"categoryPrefix\": \"W\","
                   " \"sign\": " LIM(1, HOURS) ", \"reply\": " LIM(1, HOURS) ", \"ladder\": "
                   "{\"redAfter\": {\"value\": 2}}}]}",
                   "policies[1].ladder.redAfter: needs a value of at least 1 and a unit");
    expect_invalid("{\"ladder\": {\"supervisionAfter\": " LIM(5000, NATURAL_DAYS) "},"
                   " \"policies\": [" CATCH_ALL "]}",
                   "ladder.supervisionAfter.value: 5000 is too long");

    /* warnBefore absent or 0: no warning, and valid. */
    Hotline__SlaConfig *cfg = decode(
        "{\"policies\": [{\"name\": \"d\", \"sign\": " LIM(1, HOURS) ", \"reply\": "
        LIM(1, HOURS) ", \"warnBefore\": {\"value\": 0, \"unit\": \"DURATION_HOURS\"}}]}");
    char err[512] = "";
    assert_int_equal(sla_policies_validate(cfg, err, sizeof err), 0);
    cfg_free(cfg);
}

static void test_policies_json(void **state)
{
    (void)state;
    Hotline__SlaConfig *cfg = decode(sla_service.default_config_json);
    json_t *j = sla_policies_json(cfg, cfg->calendar);
    json_t *arr = json_object_get(j, "policies");
    assert_int_equal(json_array_size(arr), 4);
    json_t *first = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "default");
    /* Defaults are written out, so the catch-all shows its empty prefix and "any" urgency. */
    assert_string_equal(json_string_value(json_object_get(first, "categoryPrefix")), "");
    assert_string_equal(json_string_value(json_object_get(first, "urgency")),
                        "URGENCY_UNSPECIFIED");
    assert_string_equal(json_string_value(json_object_get(first, "replyText")),
                        "5 working days");
    json_t *vu = json_array_get(arr, 3);
    assert_string_equal(json_string_value(json_object_get(vu, "signText")), "20 minutes");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "calendar"),
                                                        "utcOffsetMinutes")),
                     480);
    json_decref(j);
    cfg_free(cfg);
}

/* The match explained: every row, whether it applies, why not, its score, the one chosen. */
static void test_explain(void **state)
{
    (void)state;
    Hotline__SlaConfig *cfg = decode(sla_service.default_config_json);
    sla_keys_t k = {.category = "W0801", .urgency = HOTLINE__URGENCY__URGENCY_URGENT,
                    .appeal_type = HOTLINE__APPEAL_TYPE__APPEAL_COMPLAINT};
    json_t *x = sla_policy_explain(cfg, &k);
    json_t *rows = json_object_get(x, "rows");
    assert_int_equal(json_array_size(rows), cfg->n_policies);
    size_t i;
    json_t *row;
    int chosen = 0;
    json_array_foreach(rows, i, row) {
        const char *name = json_string_value(json_object_get(row, "name"));
        bool applies = json_is_true(json_object_get(row, "applies"));
        if (strcmp(name, "water-very-urgent") == 0) {
            assert_false(applies);
            assert_string_equal(json_string_value(json_object_get(row, "why")),
                                "names another urgency");
        }
        if (strcmp(name, "water-service-complaint") == 0) {
            assert_true(applies);
            assert_int_equal(json_integer_value(json_object_get(row, "score")), 3 * 8);
            assert_true(json_is_true(json_object_get(row, "chosen")));
        }
        if (strcmp(name, "water-urgent") == 0)
            assert_int_equal(json_integer_value(json_object_get(row, "score")), 8 + 4);
        chosen += json_is_true(json_object_get(row, "chosen"));
    }
    assert_int_equal(chosen, 1);
    json_decref(x);
    cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_valid_and_match),
        cmocka_unit_test(test_specificity),
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test(test_policies_json),
        cmocka_unit_test(test_explain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
