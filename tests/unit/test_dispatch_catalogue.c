/* The routing catalogue file: a good file routes by category, area (district / street /
 * community) and urgency to a lead unit with assisting units; a bad one is refused with the
 * line at fault named; a rendered catalogue parses back to the same rules; a diff names what
 * changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dispatch.h"
#include "hl_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char GOOD[] =
    "# a small centre\n"
    "version | 2026-12 rev 3\n"
    "unit | water-supply | Water supply control room\n"
    "unit | repair-crew | Repair crews\n"
    "unit | repair-crew-north | Repair crews, north\n"
    "unit | mains | Mains burst crew\n"
    "unit | drainage | Drainage\n"
    "unit | roads | Roads office\n"
    "unit | desk | Dispatch desk\n"
    "unit | desk-north | Dispatch desk, north\n"
    "\n"
    "route | W01 | * | water-supply\n"                                   /* line 12 */
    "route | W04 | * | repair-crew\n"                                    /* 13 */
    "route | W04 | Gulou | repair-crew-north | drainage\n"               /* 14 */
    "route | W04 | Gulou/Wuyi Road | repair-crew-north | drainage, roads\n" /* 15 */
    "route | W0402 | * | repair-crew\n"                                  /* 16 */
    "route | W0402 | * | mains | roads | urgent\n"                       /* 17 */
    "  fallback | Gulou | desk-north  \r\n"                              /* 18 */
    "fallback | * | desk\n";                                             /* 19 */

static dispatch_catalogue_t *parse_ok(const char *text)
{
    dispatch_catalogue_t *cat;
    char err[512] = "";
    int rc = dispatch_catalogue_parse(&cat, text, strlen(text), err, sizeof err);
    if (rc)
        fail_msg("the file was refused: %s", err);
    return cat;
}

static dispatch_where_t at(const char *category, const char *district, const char *street,
                           bool urgent)
{
    dispatch_where_t w = {.category = category, .district = district, .street = street,
                          .urgent = urgent};
    return w;
}

static void expect(const dispatch_catalogue_t *cat, dispatch_where_t w, const char *unit,
                   unsigned line, const char *assist)
{
    dispatch_match_t m;
    dispatch_catalogue_route(cat, &w, &m);
    char got[200] = "";
    for (size_t i = 0; i < m.nassist; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "", m.assist[i]);
    if (strcmp(m.unit, unit) != 0 || m.line != line || strcmp(got, assist) != 0)
        fail_msg("%s in %s/%s/%s%s went to %s (line %u, assisting '%s'), expected %s (line %u, "
                 "assisting '%s')",
                 w.category, w.district ? w.district : "", w.street ? w.street : "",
                 w.community ? w.community : "", w.urgent ? " urgent" : "", m.unit, m.line, got,
                 unit, line, assist);
}

static void test_routes_by_area_and_urgency(void **state)
{
    (void)state;
    dispatch_catalogue_t *cat = parse_ok(GOOD);
    assert_string_equal(cat->label, "2026-12 rev 3");
    assert_int_equal(cat->nrules, 7); /* the district fallback is a rule with no category */
    expect(cat, at("W0103", "Taijiang", NULL, false), "water-supply", 12, "");
    expect(cat, at("W0401", "Taijiang", NULL, false), "repair-crew", 13, "");
    expect(cat, at("W0401", "gulou", NULL, false), "repair-crew-north", 14, "drainage");
    expect(cat, at("W0401", "Gulou", "Wuyi Road", false), "repair-crew-north", 15,
           "drainage,roads");
    expect(cat, at("W0401", "Gulou", "Other Road", false), "repair-crew-north", 14,
           "drainage");
    /* A longer prefix beats a narrower area; an urgent-only rule takes urgent tickets only. */
    expect(cat, at("W0402", "Gulou", "Wuyi Road", false), "repair-crew", 16, "");
    expect(cat, at("W0402", "Gulou", NULL, true), "mains", 17, "roads");
    /* Nothing covers P01: the district's desk, then the catch-all. */
    expect(cat, at("P01", "Gulou", NULL, false), "desk-north", 18, "");
    expect(cat, at("P01", "Cangshan", NULL, false), "desk", 19, "");
    expect(cat, at("P01", NULL, NULL, false), "desk", 19, "");
    assert_string_equal(dispatch_catalogue_unit_name(cat, "mains"), "Mains burst crew");
    assert_null(dispatch_catalogue_unit_name(cat, "nobody"));
    dispatch_catalogue_destroy(&cat);
}

/* A file that must be refused, the message starting with want. */
static void refused(const char *text, const char *want, const char *also)
{
    dispatch_catalogue_t *cat = NULL;
    char err[512] = "";
    int rc = dispatch_catalogue_parse(&cat, text, strlen(text), err, sizeof err);
    if (rc != HL_EINVAL)
        fail_msg("accepted (rc %d), expected a refusal starting \"%s\"", rc, want);
    assert_null(cat);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("error does not start with \"%s\": %s", want, err);
    if (also && !strstr(err, also))
        fail_msg("error lacks \"%s\": %s", also, err);
}

#define UNITS "unit | a | A\nunit | b | B\nunit | desk | Desk\n" /* lines 1-3 */

static void test_bad_files_name_the_line(void **state)
{
    (void)state;
    refused(UNITS "route | W04 | * | ghost\nfallback | * | desk\n", "line 4 (lead unit)",
            "'ghost' is not declared");
    refused(UNITS "route | W04 | * | a | ghost\nfallback | * | desk\n", "line 4 (assisting unit 1)",
            "'ghost' is not declared");
    refused(UNITS "route | W04 | Gulou | a\n# a comment\nroute | W04 | GULOU | b\n"
                  "fallback | * | desk\n",
            "line 6", "same category, area and urgency as line 4");
    refused(UNITS "rout | W04 | * | a\nfallback | * | desk\n", "line 4", "not a kind of line");
    refused(UNITS "route | W4x | * | a\nfallback | * | desk\n", "line 4 (category)",
            "not a category prefix");
    refused(UNITS "route | W04 | Gulou//x | a\nfallback | * | desk\n", "line 4 (area)", NULL);
    refused(UNITS "route | W04 | * | a | | soon\nfallback | * | desk\n", "line 4 (options)",
            "not an option");
    refused(UNITS "route | W04 | * | a | a\nfallback | * | desk\n", "line 4 (assisting unit 1)",
            "lead unit");
    refused(UNITS "route | W04 | * | a\n", "file", "catch-all");
    refused(UNITS "fallback | * | desk\nfallback | * | a\n", "line 5", "second catch-all");
    refused(UNITS "unit | a | again\nfallback | * | desk\n", "line 4 (unit id)", "listed twice");
    refused("route | W04 | * | a\nfallback | * | a\n", "file", "no unit lines");
    refused(UNITS "route | W04 | * \nfallback | * | desk\n", "line 4", "a route line is");
    refused("unit | a | \xff\xfe\nfallback | * | a\n", "file", "not UTF-8");
}

static void test_render_parses_back_and_diff(void **state)
{
    (void)state;
    dispatch_catalogue_t *cat = parse_ok(GOOD);
    char *text = dispatch_catalogue_render(cat);
    assert_non_null(text);
    dispatch_catalogue_t *again = parse_ok(text);
    json_t *d = dispatch_catalogue_diff(cat, again);
    assert_int_equal(json_array_size(json_object_get(d, "rulesAdded")), 0);
    assert_int_equal(json_array_size(json_object_get(d, "rulesRemoved")), 0);
    assert_int_equal(json_array_size(json_object_get(d, "rulesChanged")), 0);
    assert_int_equal(json_integer_value(json_object_get(d, "rulesSame")), 7);
    json_decref(d);
    free(text);

    /* Change one rule's unit, drop one, add one, rename a unit. */
    char edited[sizeof GOOD + 200];
    snprintf(edited, sizeof edited, "%s", GOOD);
    char *p = strstr(edited, "route | W01 | * | water-supply");
    memcpy(p, "route | W01 | * | desk        ", 30);
    p = strstr(edited, "route | W0402 | * | repair-crew\n");
    memcpy(p, "route | W09   | * | drainage   \n", 32);
    p = strstr(edited, "Roads office");
    memcpy(p, "Roads bureau", 12);
    dispatch_catalogue_t *next = parse_ok(edited);
    d = dispatch_catalogue_diff(cat, next);
    json_t *changed = json_object_get(d, "rulesChanged");
    assert_int_equal(json_array_size(changed), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(changed, 0), "to")),
                        "line 12: W01 -> desk");
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "rulesAdded"), 0)),
                        "line 16: W09 -> drainage");
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "rulesRemoved"), 0)),
                        "W0402 -> repair-crew");
    assert_int_equal(json_array_size(json_object_get(d, "unitsRenamed")), 1);
    json_decref(d);
    dispatch_catalogue_destroy(&next);
    dispatch_catalogue_destroy(&again);
    dispatch_catalogue_destroy(&cat);
}

/* The configuration's catalogue renders to a file that loads (units it does not list are
 * declared) and routes the same. */
static void test_default_configuration_renders(void **state)
{
    (void)state;
    dispatch_catalogue_t *cat;
    char err[512];
    static const catalogue_rule_t rules[] = {
        {.prefix = "W04", .district = "East", .unit = "w04-east"},
        {.prefix = "", .district = "East", .unit = "any-east"},
    };
    catalogue_spec_t spec = {.rules = (catalogue_rule_t *)rules, .nrules = 2, .fallback = "desk"};
    assert_int_equal(dispatch_catalogue_build(&cat, &spec, err, sizeof err), 0);
    char *text = dispatch_catalogue_render(cat);
    dispatch_catalogue_t *again = parse_ok(text);
    expect(again, at("W0401", "east", NULL, false), "w04-east", 10, "");
    expect(again, at("P01", "East", NULL, false), "any-east", 11, "");
    expect(again, at("P01", "West", NULL, false), "desk", 12, "");
    free(text);
    dispatch_catalogue_destroy(&again);
    dispatch_catalogue_destroy(&cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_by_area_and_urgency),
        cmocka_unit_test(test_bad_files_name_the_line),
        cmocka_unit_test(test_render_parses_back_and_diff),
        cmocka_unit_test(test_default_configuration_renders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
