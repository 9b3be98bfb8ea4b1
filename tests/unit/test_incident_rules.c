/* incident and phone (common/domain): what an incident covers, when it is wide, and which
 * numbers are one caller. Pure functions, so plain tables of cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "incident.h"
#include "phone.h"

#include <string.h>

static Hotline__IncidentDeclared incident(const char *prefix, Hotline__IncidentArea *area,
                                          const char *district, const char *street,
                                          const char *community)
{
    hotline__incident_area__init(area);
    area->district = (char *)district;
    area->street = (char *)street;
    area->community = (char *)community;
    Hotline__IncidentDeclared inc = HOTLINE__INCIDENT_DECLARED__INIT;
    inc.category_prefix = (char *)prefix;
    inc.area = area;
    return inc;
}

static void test_covers(void **state)
{
    (void)state;
    Hotline__IncidentArea a;
    Hotline__IncidentDeclared inc = incident("W01", &a, "Gulou", "Main St", "");
    incident_place_t in = {"W0102", "gulou", "MAIN ST", "Sunshine"};
    assert_true(incident_covers(&inc, &in)); /* prefix, any community, case of the area */
    incident_place_t other_street = {"W01", "Gulou", "Side St", NULL};
    assert_false(incident_covers(&inc, &other_street));
    incident_place_t no_street = {"W01", "Gulou", NULL, NULL};
    assert_false(incident_covers(&inc, &no_street)); /* the ticket must say the street */
    incident_place_t other_category = {"W06", "Gulou", "Main St", NULL};
    assert_false(incident_covers(&inc, &other_category));
    incident_place_t lower_code = {"w01", "Gulou", "Main St", NULL};
    assert_false(incident_covers(&inc, &lower_code)); /* codes are checked upper case at intake */
    inc.area = NULL;
    assert_true(incident_covers(&inc, &other_street));
}

static void test_wide(void **state)
{
    (void)state;
    Hotline__IncidentLimits l = HOTLINE__INCIDENT_LIMITS__INIT;
    l.min_prefix_chars = 2;
    l.district_alone_is_wide = true;
    Hotline__IncidentArea a = HOTLINE__INCIDENT_AREA__INIT;
    char why[160];
    a.district = "Gulou";
    assert_true(incident_is_wide(&l, "W01", &a, why, sizeof why));
    assert_non_null(strstr(why, "whole district Gulou"));
    a.street = "Main St";
    assert_false(incident_is_wide(&l, "W01", &a, why, sizeof why));
    assert_true(incident_is_wide(&l, "W", &a, why, sizeof why));
    assert_non_null(strstr(why, "shorter than 2"));
    a.street = "";
    a.community = "Sunshine";
    assert_false(incident_is_wide(&l, "W0", &a, why, sizeof why));
    /* A street without its district would catch that street name in every district. */
    a.district = "";
    a.community = "";
    a.street = "Zhongshan Rd";
    assert_true(incident_is_wide(&l, "W01", &a, why, sizeof why));
    assert_non_null(strstr(why, "without its district"));
    a.street = "";
    a.district = "Gulou";
    l.district_alone_is_wide = false;
    assert_false(incident_is_wide(&l, "W01", &a, why, sizeof why));
    assert_false(incident_is_wide(NULL, "W", &a, why, sizeof why)); /* no limits: none wide */
}

static void test_phone_key(void **state)
{
    (void)state;
    char k[PHONE_KEY_MAX + 1];
    const char *same[] = {"13812345678", "+86 138-1234-5678", "0086 138 1234 5678",
                          "(86)138.1234.5678"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        assert_int_equal(phone_key(same[i], k), 11);
        assert_string_equal(k, "13812345678");
    }
    assert_int_equal(phone_key("010-6552-8899", k), 11);
    assert_string_equal(k, "01065528899");
    assert_int_equal(phone_key(NULL, k), 0);
    assert_int_equal(phone_key("none", k), 0);
    assert_int_equal(phone_key("1234567890123456789012345678901", k), PHONE_KEY_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_covers),
        cmocka_unit_test(test_wide),
        cmocka_unit_test(test_phone_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
