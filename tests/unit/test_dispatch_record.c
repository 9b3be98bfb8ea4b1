/* dispatch: the stored assignment record (its byte layout, versions, damage) and the JSON
 * the API shows of it, and the state names. No store needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dispatch.h"
#include "hl_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1764028800000LL /* 2025-11-25T00:00:00Z */

static void test_record_format(void **state)
{
    (void)state;
    dispatch_assignment_t a = {
        .ticket_id = "20251125-1-000001",
        .unit = "repair-crew",
        .category_code = "W0401",
        .district = "鼓楼区",
        .route = "W04 -> repair-crew",
        .result = "",
        .reason = NULL, /* unset strings come back as "" */
        .state = HOTLINE__TICKET_STATUS__TICKET_REWORK,
        .urgency = HOTLINE__URGENCY__URGENCY_URGENT,
        .round = 70000,
        .resolved = true,
        .received_ms = T0,
        .dispatched_ms = T0 + 1,
        .signed_ms = -5,
        .contacted_ms = T0 + 3,
        .notes = 70001,
        .designated = true,
        .updated_ms = T0 + 9,
        .street = "Main Rd",
        .community = NULL, /* "" when read back */
    };
    size_t n = dispatch_assignment_size(&a);
    uint8_t *buf = malloc(n + 4);
    dispatch_assignment_encode(&a, buf);
    dispatch_assignment_t b;
    assert_int_equal(dispatch_assignment_decode(buf, n, &b), 0);
    assert_string_equal(b.ticket_id, a.ticket_id);
    assert_string_equal(b.unit, a.unit);
    assert_string_equal(b.district, "鼓楼区");
    assert_string_equal(b.route, a.route);
    assert_string_equal(b.reason, "");
    assert_int_equal(b.state, a.state);
    assert_int_equal(b.urgency, a.urgency);
    assert_int_equal(b.round, 70000);
    assert_true(b.resolved);
    assert_int_equal(b.received_ms, T0);
    assert_int_equal(b.dispatched_ms, T0 + 1);
    assert_int_equal(b.signed_ms, -5);
    assert_int_equal(b.updated_ms, T0 + 9);
    assert_int_equal(b.contacted_ms, T0 + 3);
    assert_int_equal(b.notes, 70001);
    assert_true(b.designated);
    assert_false(b.confidential);
    assert_string_equal(b.street, "Main Rd");
    assert_string_equal(b.community, "");
    /* A version 3 record (no street and community: "Main Rd" NUL and NUL after the tail)
     * still reads, with both "". */
    size_t v4 = strlen("Main Rd") + 2;
    buf[0] = 3;
    assert_int_equal(dispatch_assignment_decode(buf, n - v4, &b), 0);
    assert_string_equal(b.street, "");
    assert_int_equal(b.notes, 70001);
    buf[0] = 4;
    assert_int_equal(dispatch_assignment_decode(buf, n - 1, &b), HL_ECORRUPT);
    n -= v4; /* what follows reads the record as the older versions it starts like */
    /* A version 2 record (no contact, no notes: the 12 bytes after the strings) still reads,
     * with those 0; version 3 without them is damage. */
    buf[0] = 2;
    assert_int_equal(dispatch_assignment_decode(buf, n - 12, &b), 0);
    assert_int_equal(b.contacted_ms, 0);
    assert_int_equal(b.notes, 0);
    assert_string_equal(b.reason, "");
    buf[0] = 3;
    assert_int_equal(dispatch_assignment_decode(buf, n - 12, &b), HL_ECORRUPT);
    /* Bytes appended by a later version are ignored. */
    n += v4;
    buf[0] = 4;
    memcpy(buf + n, "new", 4);
    assert_int_equal(dispatch_assignment_decode(buf, n + 4, &b), 0);
    /* Damage is detected, not read past. */
    assert_int_equal(dispatch_assignment_decode(buf, n - 1, &b), HL_ECORRUPT);
    assert_int_equal(dispatch_assignment_decode(buf, 63, &b), HL_ECORRUPT);
    buf[0] = 9;
    assert_int_equal(dispatch_assignment_decode(buf, n, &b), HL_ECORRUPT);
    /* A version 1 record (no caller, no incident) still reads, with those empty. */
    buf[0] = 1;
    assert_int_equal(dispatch_assignment_decode(buf, n - 3, &b), 0);
    assert_string_equal(b.incident_id, "");
    assert_string_equal(b.caller_phone, "");
    buf[1] = 0;
    assert_int_equal(dispatch_assignment_decode(buf, n, &b), HL_ECORRUPT);
    free(buf);

    /* The API's view of it. */
    json_t *j = dispatch_assignment_json(&a, true);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "TICKET_REWORK");
    assert_string_equal(json_string_value(json_object_get(j, "urgency")), "URGENCY_URGENT");
    assert_string_equal(json_string_value(json_object_get(j, "receivedMs")), "1764028800000");
    assert_int_equal(json_integer_value(json_object_get(j, "round")), 70000);
    assert_null(json_object_get(j, "repliedMs"));
    assert_null(json_object_get(j, "result"));
    json_decref(j);
}

static void test_state_names(void **state)
{
    (void)state;
    Hotline__TicketStatus s;
    assert_int_equal(dispatch_state_parse("signed", &s), 0);
    assert_int_equal(s, HOTLINE__TICKET_STATUS__TICKET_SIGNED);
    assert_int_equal(dispatch_state_parse("TICKET_REWORK", &s), 0);
    assert_int_equal(s, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    assert_int_equal(dispatch_state_parse("Closed", &s), 0);
    assert_int_equal(s, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    assert_int_equal(dispatch_state_parse("lost", &s), HL_EINVAL);
    assert_int_equal(dispatch_state_parse("", &s), HL_EINVAL);
    assert_string_equal(dispatch_state_name(HOTLINE__TICKET_STATUS__TICKET_DISPATCHED),
                        "DISPATCHED");
    assert_string_equal(dispatch_state_name((Hotline__TicketStatus)42), "UNSPECIFIED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_format),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
