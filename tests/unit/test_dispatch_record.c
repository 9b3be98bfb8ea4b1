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

/* A record as versions 1 to 4 wrote it (64-byte header, big-endian, the ticket id first among
 * the strings), built byte by byte as those versions laid it out: what stores on disk hold. */
static size_t put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return (size_t)bytes;
}

static size_t put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    return n;
}

static size_t old_record(uint8_t *out, uint8_t version)
{
    uint8_t *p = out;
    p[0] = version;
    p[1] = HOTLINE__TICKET_STATUS__TICKET_REWORK;
    p[2] = HOTLINE__URGENCY__URGENCY_URGENT;
    p[3] = 1 | 4; /* resolved, designated */
    p += 4;
    p += put_be(p, 70000, 4);
    const int64_t t[7] = {T0, T0 + 1, -5, 0, 0, 0, T0 + 9};
    for (int i = 0; i < 7; i++)
        p += put_be(p, (uint64_t)t[i], 8);
    const char *s[10] = {"20251125-1-000001", "repair-crew", "W0401", "鼓楼区",
                         "catalogue 2 line 7: W04 -> repair-crew", "", "", "Li", "13800000000",
                         "INC-1"};
    for (int i = 0; i < (version == 1 ? 7 : 10); i++)
        p += put_str(p, s[i]);
    if (version >= 3) {
        p += put_be(p, (uint64_t)(T0 + 3), 8);
        p += put_be(p, 70001, 4);
    }
    if (version >= 4) {
        p += put_str(p, "Main Rd");
        p += put_str(p, "");
    }
    return (size_t)(p - out);
}

static void test_record_old_versions(void **state)
{
    (void)state;
    uint8_t buf[512];
    dispatch_assignment_t b;
    for (uint8_t v = 1; v <= 4; v++) {
        size_t n = old_record(buf, v);
        /* The id under which it is stored does not matter: these records carry their own. */
        assert_int_equal(dispatch_assignment_decode(buf, n, "other", &b), 0);
        assert_string_equal(b.ticket_id, "20251125-1-000001");
        assert_string_equal(b.unit, "repair-crew");
        assert_string_equal(b.district, "鼓楼区");
        assert_string_equal(b.route, "catalogue 2 line 7: W04 -> repair-crew");
        assert_int_equal(b.route_no, 0);
        assert_int_equal(b.state, HOTLINE__TICKET_STATUS__TICKET_REWORK);
        assert_int_equal(b.urgency, HOTLINE__URGENCY__URGENCY_URGENT);
        assert_int_equal(b.round, 70000);
        assert_true(b.resolved);
        assert_true(b.designated);
        assert_int_equal(b.received_ms, T0);
        assert_int_equal(b.dispatched_ms, T0 + 1);
        assert_int_equal(b.signed_ms, -5);
        assert_int_equal(b.updated_ms, T0 + 9);
        assert_string_equal(b.caller_phone, v >= 2 ? "13800000000" : "");
        assert_string_equal(b.incident_id, v >= 2 ? "INC-1" : "");
        assert_int_equal(b.contacted_ms, v >= 3 ? T0 + 3 : 0);
        assert_int_equal(b.notes, v >= 3 ? 70001 : 0);
        assert_string_equal(b.street, v >= 4 ? "Main Rd" : "");
        assert_string_equal(b.community, "");
        /* Cut short, it is damage, not read past. */
        assert_int_equal(dispatch_assignment_decode(buf, n - 1, "other", &b), HL_ECORRUPT);
    }
    size_t n = old_record(buf, 4);
    assert_int_equal(dispatch_assignment_decode(buf, 63, "x", &b), HL_ECORRUPT);
    buf[0] = 9;
    assert_int_equal(dispatch_assignment_decode(buf, n, "x", &b), HL_ECORRUPT);
    buf[0] = 4;
    buf[1] = 0;
    assert_int_equal(dispatch_assignment_decode(buf, n, "x", &b), HL_ECORRUPT);
}

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
        .closed_ms = INT64_MIN, /* any time round-trips, however far from received */
        .notes = 70001,
        .designated = true,
        .updated_ms = T0 + 9,
        .street = "Main Rd",
        .community = NULL, /* "" when read back */
    };
    size_t n = dispatch_assignment_size(&a);
    uint8_t *buf = malloc(n + 4);
    dispatch_assignment_encode(&a, buf);
    assert_int_equal(buf[0], 5);
    dispatch_assignment_t b;
    /* Version 5 does not repeat its key: the ticket id is the one it is read under. */
    assert_int_equal(dispatch_assignment_decode(buf, n, "20251125-1-000001", &b), 0);
    assert_string_equal(b.ticket_id, a.ticket_id);
    assert_string_equal(b.unit, a.unit); /* encode writes it by name (put, by number) */
    assert_int_equal(b.unit_no, 0);
    assert_string_equal(b.district, "鼓楼区");
    assert_string_equal(b.route, a.route);
    assert_int_equal(b.route_no, 0);
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
    assert_true(b.closed_ms == INT64_MIN);
    assert_int_equal(b.replied_ms, 0);
    assert_int_equal(b.notes, 70001);
    assert_true(b.designated);
    assert_false(b.confidential);
    assert_string_equal(b.street, "Main Rd");
    assert_string_equal(b.community, "");
    /* Bytes appended by a later version are ignored. */
    memcpy(buf + n, "new", 4);
    assert_int_equal(dispatch_assignment_decode(buf, n + 4, "t", &b), 0);
    assert_string_equal(b.route, a.route);
    /* Damage is detected, not read past: every shorter record is refused. */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(dispatch_assignment_decode(buf, k, "t", &b), HL_ECORRUPT);
    free(buf);
    /* A numbered route: the number, not the text (dispatch_assignment_get reads the text). */
    dispatch_assignment_t c = a;
    c.route_no = 300;
    n = dispatch_assignment_size(&c);
    /* less the text and its NUL, and one byte more for the number (2 bytes, not 1) */
    assert_int_equal(n, dispatch_assignment_size(&a) - strlen(a.route) - 1 + 1);
    buf = malloc(n);
    dispatch_assignment_encode(&c, buf);
    assert_int_equal(dispatch_assignment_decode(buf, n, "t", &b), 0);
    assert_int_equal(b.route_no, 300);
    assert_null(b.route);
    assert_string_equal(b.community, "");
    assert_string_equal(b.unit, a.unit);
    /* A unit by number (what put writes: 0 and the name replaced by the number). */
    size_t ulen = strlen(a.unit) + 2;
    buf[n - ulen] = 7;
    assert_int_equal(dispatch_assignment_decode(buf, n - ulen + 1, "t", &b), 0);
    assert_int_equal(b.unit_no, 7);
    assert_null(b.unit);
    assert_int_equal(b.route_no, 300);
    assert_int_equal(dispatch_assignment_decode(buf, n - ulen, "t", &b), HL_ECORRUPT);
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
        cmocka_unit_test(test_record_old_versions),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
