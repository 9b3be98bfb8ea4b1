/* dispatch_route: the routing catalogue. The most specific route wins (longest category
 * prefix, then a district match), no match goes to the fallback unit, and a bad catalogue is
 * refused with a message that starts with the key at fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dispatch.h"
#include "hl_error.h"
#include "pbjson.h"

#include <stdio.h>
#include <string.h>

static Hotline__DispatchConfig *cfg_from_json(const char *json)
{
    ProtobufCMessage *msg = NULL;
    pbjson_error_t err;
    int rc =
        pbjson_decode(&hotline__dispatch_config__descriptor, json, strlen(json), NULL, &msg, &err);
    if (rc)
        fail_msg("test config does not decode: %s: %s", err.field, err.message);
    return (Hotline__DispatchConfig *)msg;
}

/* Build a catalogue from JSON; returns the code and leaves the error text in err. */
static int build(const char *json, dispatch_catalogue_t **cat, char *err, size_t err_size)
{
    Hotline__DispatchConfig *cfg = cfg_from_json(json);
    err[0] = '\0';
    int rc = dispatch_catalogue_create(cat, cfg, err, err_size);
    /* The catalogue keeps copies: the configuration may go at once. */
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
    return rc;
}

static void expect_unit(const dispatch_catalogue_t *cat, const char *category, const char *district,
                        const char *unit)
{
    dispatch_match_t m;
    dispatch_catalogue_match(cat, category, district, &m);
    if (strcmp(m.unit, unit) != 0)
        fail_msg("%s in %s went to %s (route \"%s\"), expected %s", category ? category : "(none)",
                 district ? district : "(none)", m.unit, m.route, unit);
}

static void test_default_catalogue(void **state)
{
    (void)state;
    dispatch_catalogue_t *cat;
    char err[512];
    assert_int_equal(build(dispatch_service.default_config_json, &cat, err, sizeof err), 0);
    expect_unit(cat, "W01", "", "water-supply");
    expect_unit(cat, "W0103", "Taijiang", "water-supply");
    expect_unit(cat, "W02", NULL, "water-supply");
    expect_unit(cat, "W0301", "", "water-quality");
    expect_unit(cat, "W0401", "", "repair-crew");
    expect_unit(cat, "W0401", "Gulou", "repair-crew-north");
    expect_unit(cat, "W0401", "gulou", "repair-crew-north"); /* ASCII case does not matter */
    expect_unit(cat, "w0401", "Cangshan", "repair-crew-south");
    expect_unit(cat, "W0402", "Gulou", "repair-crew-mains"); /* longer prefix beats district */
    expect_unit(cat, "W05", "", "meter-service");
    expect_unit(cat, "W06", "", "billing");
    expect_unit(cat, "W07", "", "network-works");
    expect_unit(cat, "W08", "", "customer-service");
    expect_unit(cat, "W0901", "", "drainage");
    expect_unit(cat, "P01", "Gulou", "dispatch-desk");
    expect_unit(cat, "", "", "dispatch-desk");
    expect_unit(cat, NULL, NULL, "dispatch-desk");
    expect_unit(cat, "W0", "", "dispatch-desk"); /* shorter than every prefix */

    dispatch_match_t m;
    dispatch_catalogue_match(cat, "W0401", "Gulou", &m);
    assert_string_equal(m.route, "W04 in Gulou -> repair-crew-north");
    assert_int_equal(m.index, 4);
    dispatch_catalogue_match(cat, "W0402", "", &m);
    assert_string_equal(m.route, "W0402 -> repair-crew-mains");
    dispatch_catalogue_match(cat, "Z9", "", &m);
    assert_string_equal(m.route, "fallback -> dispatch-desk");
    assert_int_equal(m.index, -1);

    assert_string_equal(dispatch_catalogue_unit_name(cat, "repair-crew-north"),
                        "Repair crews, north (Gulou)");
    assert_null(dispatch_catalogue_unit_name(cat, "no-such-unit"));
    dispatch_catalogue_destroy(&cat);
    assert_null(cat);
}

static void test_specificity(void **state)
{
    (void)state;
    /* Listed least specific last on purpose: order in the file must not matter. */
    static const char json[] =
        "{\"routes\": ["
        " {\"categoryPrefix\": \"W04\", \"district\": \"East\", \"unit\": \"w04-east\"},"
        " {\"categoryPrefix\": \"W0402\", \"unit\": \"w0402\"},"
        " {\"categoryPrefix\": \"W04\", \"unit\": \"w04\"},"
        " {\"categoryPrefix\": \"W\", \"district\": \"East\", \"unit\": \"w-east\"},"
        " {\"categoryPrefix\": \"W\", \"unit\": \"w\"},"
        " {\"categoryPrefix\": \"\", \"district\": \"East\", \"unit\": \"any-east\"},"
        " {\"categoryPrefix\": \"\", \"unit\": \"any\"}],"
        " \"fallbackUnit\": \"desk\"}";
    dispatch_catalogue_t *cat;
    char err[512];
    assert_int_equal(build(json, &cat, err, sizeof err), 0);
    expect_unit(cat, "W0402", "East", "w0402");    /* prefix length first */
    expect_unit(cat, "W0401", "East", "w04-east"); /* then the district */
    expect_unit(cat, "W0401", "West", "w04");
    expect_unit(cat, "W01", "East", "w-east");
    expect_unit(cat, "W01", "", "w");
    expect_unit(cat, "P01", "east", "any-east");
    expect_unit(cat, "P01", "West", "any"); /* a catch-all leaves the fallback unused */
    dispatch_match_t m;
    dispatch_catalogue_match(cat, "P01", "", &m);
    assert_string_equal(m.route, "any category -> any");
    dispatch_catalogue_match(cat, "P01", "East", &m);
    assert_string_equal(m.route, "any category in East -> any-east");
    /* Without a units list, route units are names of themselves. */
    assert_string_equal(dispatch_catalogue_unit_name(cat, "w04-east"), "w04-east");
    assert_string_equal(dispatch_catalogue_unit_name(cat, "desk"), "desk");
    dispatch_catalogue_destroy(&cat);
}

static void test_fallback_only(void **state)
{
    (void)state;
    dispatch_catalogue_t *cat;
    char err[512];
    assert_int_equal(build("{\"fallbackUnit\": \"desk\"}", &cat, err, sizeof err), 0);
    expect_unit(cat, "W0402", "Gulou", "desk");
    dispatch_catalogue_destroy(&cat);
}

/* A catalogue that must be refused, with err starting with key. */
static void expect_refused(const char *json, const char *key, const char *also)
{
    dispatch_catalogue_t *cat = (dispatch_catalogue_t *)1;
    char err[512];
    int rc = build(json, &cat, err, sizeof err);
    if (rc != HL_EINVAL)
        fail_msg("accepted (rc %d): %s", rc, json);
    assert_null(cat);
    if (strncmp(err, key, strlen(key)) != 0 || err[strlen(key)] != ':')
        fail_msg("error does not start with \"%s:\": %s", key, err);
    if (also && !strstr(err, also))
        fail_msg("error lacks \"%s\": %s", also, err);
}

static void test_validation(void **state)
{
    (void)state;
    static const char units[] = "\"units\": [{\"id\": \"a\", \"name\": \"Unit A\"}, "
                                "{\"id\": \"desk\"}]";
    char json[1024];
    snprintf(json, sizeof json,
             "{\"routes\": [{\"categoryPrefix\": \"W01\", \"unit\": \"a\"},"
             " {\"categoryPrefix\": \"W02\", \"unit\": \"b\"}], \"fallbackUnit\": \"desk\", %s}",
             units);
    expect_refused(json, "routes[1].unit", "'b' is not in units");
    snprintf(json, sizeof json,
             "{\"routes\": [{\"categoryPrefix\": \"w04\", \"unit\": \"a\"}], "
             "\"fallbackUnit\": \"desk\", %s}",
             units);
    expect_refused(json, "routes[0].categoryPrefix", "'w04'");
    expect_refused("{\"routes\": [{\"categoryPrefix\": \"W04A\", \"unit\": \"a\"}], "
                   "\"fallbackUnit\": \"desk\"}",
                   "routes[0].categoryPrefix", NULL);
    expect_refused("{\"routes\": [{\"categoryPrefix\": \"04\", \"unit\": \"a\"}], "
                   "\"fallbackUnit\": \"desk\"}",
                   "routes[0].categoryPrefix", NULL);
    expect_refused("{\"routes\": [{\"categoryPrefix\": \"W01234567890123456\", \"unit\": \"a\"}],"
                   " \"fallbackUnit\": \"desk\"}",
                   "routes[0].categoryPrefix", NULL);
    expect_refused("{\"routes\": [{\"categoryPrefix\": \"W01\", \"unit\": \"a\"},"
                   " {\"categoryPrefix\": \"W02\", \"unit\": \"a\"},"
                   " {\"categoryPrefix\": \"W03\"}], \"fallbackUnit\": \"desk\"}",
                   "routes[2].unit", "required");
    expect_refused("{\"routes\": [{\"categoryPrefix\": \"W01\", \"unit\": \"repair crew\"}], "
                   "\"fallbackUnit\": \"desk\"}",
                   "routes[0].unit", "not a unit id");
    expect_refused("{\"routes\": [{\"categoryPrefix\": \"W01\", \"unit\": \"a\"}]}", "fallbackUnit",
                   "required");
    snprintf(json, sizeof json, "{\"fallbackUnit\": \"nobody\", %s}", units);
    expect_refused(json, "fallbackUnit", "not in units");
    expect_refused("{\"fallbackUnit\": \"desk\", \"units\": [{\"id\": \"desk\"}, "
                   "{\"id\": \"a\"}, {\"id\": \"desk\"}]}",
                   "units[2].id", "listed twice");
    expect_refused("{\"fallbackUnit\": \"desk\", \"units\": [{\"id\": \"\"}]}", "units[0].id",
                   NULL);
    expect_refused("{\"routes\": [{\"categoryPrefix\": \"W04\", \"unit\": \"a\"},"
                   " {\"categoryPrefix\": \"W04\", \"district\": \"Gulou\", \"unit\": \"b\"},"
                   " {\"categoryPrefix\": \"W05\", \"unit\": \"c\"},"
                   " {\"categoryPrefix\": \"W04\", \"district\": \"GULOU\", \"unit\": \"c\"}],"
                   " \"fallbackUnit\": \"desk\"}",
                   "routes[3]", "as routes[1]");
    char long_unit[100];
    memset(long_unit, 'u', 65);
    long_unit[65] = '\0';
    snprintf(json, sizeof json, "{\"fallbackUnit\": \"%s\"}", long_unit);
    expect_refused(json, "fallbackUnit", "1 to 64 characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_catalogue),
        cmocka_unit_test(test_specificity),
        cmocka_unit_test(test_fallback_only),
        cmocka_unit_test(test_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
