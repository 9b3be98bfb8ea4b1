/* analytics: counters by local day / unit / category / district from synthetic events, KPI
 * rates with zero denominators, the satisfaction policy switch, period boundaries in UTC+8,
 * exactly-once on replayed events, the timeline order across sources (with personal data
 * masked), query parsing, and the business metrics read back from the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analytics_fixture.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- tests ---- */

static void test_counts_by_day_unit_category(void **state)
{
    fixture_t *f = *state;
    int64_t t = utc_ms(2026, 11, 25, 2, 0), day = day_of(2026, 11, 25);
    received(f, 1, t, "T1", "W0402", "North");
    received(f, 2, t + 1000, "T2", "W01", "South");
    dispatched(f, 1, t + 2000, "T1", "crew-north", "W0402", 0);
    dispatched(f, 2, t + 3000, "T2", "water-south", "W01", 0);
    signed_(f, 3, t + 4000, "T1", "crew-north");

    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_RECEIVED), 2);
    assert_int_equal(counter(f, ANALYTICS_ALL_TIME, ANALYTICS_DIM_ALL, "", ANALYTICS_RECEIVED), 2);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_CATEGORY, "W0402", ANALYTICS_RECEIVED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_DISTRICT, "South", ANALYTICS_RECEIVED), 1);
    /* No unit is known when a ticket is received: it stays out of the unit breakdown. */
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "crew-north", ANALYTICS_RECEIVED), 0);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_DISPATCHED), 2);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "crew-north", ANALYTICS_DISPATCHED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "water-south", ANALYTICS_DISPATCHED), 1);
    /* The signing carries its unit; its category and district come from the ticket record. */
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "crew-north", ANALYTICS_SIGNED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_CATEGORY, "W0402", ANALYTICS_SIGNED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_DISTRICT, "North", ANALYTICS_SIGNED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_CATEGORY, "W01", ANALYTICS_SIGNED), 0);
    assert_int_equal(counter(f, day + 1, ANALYTICS_DIM_ALL, "", ANALYTICS_RECEIVED), 0);

    /* Re-dispatch to another unit: counted as redispatched, and later events without a unit
     * of their own follow the ticket to its new unit. */
    dispatched(f, 4, t + 5000, "T1", "crew-east", "W0402", 0);
    clock_stopped(f, 1, t + 6000, "T1", HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, true);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_DISPATCHED), 2);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_REDISPATCHED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "crew-east", ANALYTICS_SIGNED_ON_TIME), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "crew-north", ANALYTICS_SIGNED_ON_TIME),
                     0);
}

static void test_period_boundary_utc8(void **state)
{
    fixture_t *f = *state;
    /* 16:30Z on the 24th is 00:30 on the 25th in UTC+8; 15:59:59.999Z is still the 24th. */
    received(f, 1, utc_ms(2026, 11, 24, 16, 30), "T1", "W01", "North");
    received(f, 2, utc_ms(2026, 11, 24, 16, 0) - 1, "T2", "W01", "North");
    assert_int_equal(counter(f, day_of(2026, 11, 25), ANALYTICS_DIM_ALL, "", ANALYTICS_RECEIVED),
                     1);
    assert_int_equal(counter(f, day_of(2026, 11, 24), ANALYTICS_DIM_ALL, "", ANALYTICS_RECEIVED),
                     1);
    json_t *doc = kpis(f, "from=2026-11-25&to=2026-11-25", day_of(2026, 11, 25));
    assert_int_equal(jint(json_object_get(doc, "totals"), "received"), 1);
    json_decref(doc);
    doc = kpis(f, "from=2026-11-24&to=2026-11-25", day_of(2026, 11, 25));
    assert_int_equal(jint(json_object_get(doc, "totals"), "received"), 2);
    json_decref(doc);
    /* With no from / to the period is today, by the service clock in the centre's zone. */
    hclock_set_ms(f->clock, utc_ms(2026, 11, 24, 17, 0));
    assert_int_equal(analytics_today(f->an), day_of(2026, 11, 25));
}

static void test_exactly_once(void **state)
{
    fixture_t *f = *state;
    int64_t t = utc_ms(2026, 11, 25, 3, 0), day = day_of(2026, 11, 25);
    Hotline__TicketSigned s = HOTLINE__TICKET_SIGNED__INIT;
    s.unit = "u1";
    Hotline__Event ev = envelope("dispatch", 7, t, "T1");
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_SIGNED;
    ev.ticket_signed = &s;
    /* The same event twice within one transaction (one batch), then again in another. */
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(analytics_apply(f->an, txn, &ev), 0);
    assert_int_equal(analytics_apply(f->an, txn, &ev), 0);
    assert_int_equal(analytics_batch_end(f->an, txn), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    apply_one(f, &ev);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_SIGNED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "u1", ANALYTICS_SIGNED), 1);
    assert_int_equal(counter(f, ANALYTICS_ALL_TIME, ANALYTICS_DIM_ALL, "", ANALYTICS_SIGNED), 1);
    /* A rolled-back transaction leaves nothing: the retried batch counts once. */
    ev.seq = 8;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(analytics_apply(f->an, txn, &ev), 0);
    assert_int_equal(analytics_batch_end(f->an, txn), 0); /* the batch ended, its commit failed */
    store_write_abort(&txn);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_SIGNED), 1);
    apply_one(f, &ev);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_SIGNED), 2);
    /* A different event (another seq) of the same kind is a new fact... */
    ev.seq = 9;
    apply_one(f, &ev);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_SIGNED), 3);
    /* ...but a ticket is received and first dispatched once, whatever is repeated. */
    received(f, 1, t, "T2", "W01", "North");
    received(f, 2, t + 1, "T2", "W01", "North");
    dispatched(f, 10, t + 2, "T2", "u1", "W01", 0);
    dispatched(f, 10, t + 2, "T2", "u1", "W01", 0);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_RECEIVED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_DISPATCHED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_REDISPATCHED), 0);
    /* Events about no ticket change nothing. */
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    Hotline__Event tev = envelope("intake", 99, t, "");
    tev.body_case = HOTLINE__EVENT__BODY_TEST;
    tev.test = &te;
    apply_one(f, &tev);
    json_t *doc = kpis(f, "", day);
    assert_int_equal(jint(json_object_get(doc, "totals"), "received"), 1);
    json_decref(doc);
}

static void test_rates(void **state)
{
    fixture_t *f = *state;
    int64_t day = day_of(2026, 11, 25);
    /* Empty store: every count 0, every rate null (no denominator), groups empty. */
    json_t *doc = kpis(f, "by=unit", day);
    json_t *tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "received"), 0);
    assert_int_equal(jint(tot, "satisfied"), 0);
    const char *rates[] = {"onTimeSignRate",   "onTimeReplyRate", "callbackRate",
                           "satisfactionRate", "resolutionRate",  "reworkRate"};
    for (size_t i = 0; i < 6; i++)
        assert_true(json_is_null(jrate(tot, rates[i])));
    assert_int_equal(json_array_size(json_object_get(doc, "groups")), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "by")), "unit");
    json_decref(doc);

    int64_t t = utc_ms(2026, 11, 25, 1, 0);
    const Hotline__SlaClock SIGN = HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN,
                            REPLY = HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY;
    received(f, 1, t, "A", "W01", "North");
    received(f, 2, t, "B", "W02", "North");
    dispatched(f, 1, t, "A", "u1", "W01", 0);
    dispatched(f, 2, t, "B", "u2", "W02", 0);
    clock_started(f, 1, t, "A", SIGN, "u1", "W01");
    clock_started(f, 2, t, "B", SIGN, "u2", "W02");
    clock_stopped(f, 3, t + 60000, "A", SIGN, true);
    clock_stopped(f, 4, t + 60000, "B", SIGN, false);
    warned(f, 5, t + 60000, "B", SIGN, "u2");
    breached(f, 6, t + 60000, "B", SIGN, "u2");
    clock_started(f, 7, t + 60000, "A", REPLY, "u1", "W01");
    clock_started(f, 8, t + 60000, "B", REPLY, "u2", "W02");
    clock_stopped(f, 9, t + 120000, "A", REPLY, true);
    signed_(f, 3, t + 60000, "A", "u1");
    signed_(f, 4, t + 60000, "B", "u2");
    replied(f, 5, t + 120000, "A", "u1");
    replied(f, 6, t + 120000, "B", "u2");
    scheduled(f, 1, t + 130000, "A", "u1");
    scheduled(f, 2, t + 130000, "B", "u2");
    attempted(f, 3, t + 140000, "B");
    rated(f, 4, t + 150000, "A", "u1", HOTLINE__RATING__RATING_BASICALLY_SATISFIED, true);
    closed(f, 5, t + 150000, "A");
    reopened(f, 7, t + 160000, "A", "u1");

    doc = kpis(f, "by=unit", day);
    tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "signDue"), 2);
    assert_int_equal(jint(tot, "signedOnTime"), 1);
    assert_int_equal(jint(tot, "signedLate"), 1);
    assert_int_equal(jint(tot, "warnings"), 1);
    assert_int_equal(jint(tot, "breached"), 1);
    assert_int_equal(jint(tot, "unreachable"), 1);
    assert_int_equal(jint(tot, "closed"), 1);
    assert_true(json_real_value(jrate(tot, "onTimeSignRate")) == 0.5);
    /* B's reply clock runs and is not due: it counts nowhere yet (A's alone decides). */
    assert_int_equal(jint(tot, "replyStarted"), 2);
    assert_int_equal(jint(tot, "replyDue"), 1);
    assert_true(json_real_value(jrate(tot, "onTimeReplyRate")) == 1.0);
    assert_true(json_real_value(jrate(tot, "callbackRate")) == 0.5);
    /* Basically satisfied counts under the default policy. */
    assert_int_equal(jint(tot, "satisfied"), 1);
    assert_true(json_real_value(jrate(tot, "satisfactionRate")) == 1.0);
    assert_true(json_real_value(jrate(tot, "resolutionRate")) == 1.0);
    assert_true(json_real_value(jrate(tot, "reworkRate")) == 0.5);
    /* Groups, sorted by key, each with its own rates. */
    json_t *groups = json_object_get(doc, "groups");
    assert_int_equal(json_array_size(groups), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(groups, 0), "key")), "u1");
    json_t *u1 = group(doc, "u1"), *u2 = group(doc, "u2");
    assert_true(json_real_value(jrate(u1, "onTimeSignRate")) == 1.0);
    assert_true(json_real_value(jrate(u2, "onTimeSignRate")) == 0.0);
    assert_true(json_is_null(jrate(u2, "satisfactionRate"))); /* u2 was never rated */
    assert_int_equal(jint(u2, "unreachable"), 1); /* the attempt follows the ticket's unit */
    assert_true(json_real_value(jrate(u1, "reworkRate")) == 1.0);
    json_decref(doc);

    /* The period is respected: the next day has none of it. */
    doc = kpis(f, "from=2026-11-26&to=2026-11-30&by=category", day);
    assert_int_equal(jint(json_object_get(doc, "totals"), "signDue"), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "groups")), 0);
    json_decref(doc);
    doc = kpis(f, "from=2026-11-01&to=2026-11-30&by=category", day);
    assert_int_equal(jint(group(doc, "W01"), "signDue"), 1);
    assert_int_equal(jint(group(doc, "W02"), "signedLate"), 1);
    json_decref(doc);
}

static void test_satisfaction_policy(void **state)
{
    fixture_t *f = *state;
    int64_t t = utc_ms(2026, 11, 25, 1, 0), day = day_of(2026, 11, 25);
    rated(f, 1, t, "A", "u1", HOTLINE__RATING__RATING_VERY_SATISFIED, true);
    rated(f, 2, t, "B", "u1", HOTLINE__RATING__RATING_BASICALLY_SATISFIED, false);
    rated(f, 3, t, "C", "u1", HOTLINE__RATING__RATING_DISSATISFIED, false);
    rated(f, 4, t, "D", "u1", HOTLINE__RATING__RATING_VERY_DISSATISFIED, false);
    json_t *doc = kpis(f, "", day);
    json_t *tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "rated"), 4);
    assert_int_equal(jint(tot, "ratedBasicallySatisfied"), 1);
    assert_int_equal(jint(tot, "satisfied"), 2);
    assert_true(json_real_value(jrate(tot, "satisfactionRate")) == 0.5);
    assert_true(json_real_value(jrate(tot, "resolutionRate")) == 0.25);
    json_decref(doc);
    /* The switch off: the same stored counts read differently, for every past period too. */
    analytics_close(&f->an);
    f->basically = false;
    assert_int_equal(open_analytics(f), 0);
    doc = kpis(f, "", day);
    tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "satisfied"), 1);
    assert_true(json_real_value(jrate(tot, "satisfactionRate")) == 0.25);
    json_decref(doc);
}

static void eligibility(fixture_t *f, uint64_t seq, int64_t t, const char *id, const char *unit,
                        Hotline__Rating rating, bool resolved, int64_t rated_at, bool eligible)
{
    Hotline__KpiEligibilityChanged k = HOTLINE__KPI_ELIGIBILITY_CHANGED__INIT;
    k.unit = (char *)unit;
    k.rating = rating;
    k.resolved = resolved;
    k.rated_ms = rated_at;
    k.eligible = eligible;
    k.reason_code = "not-our-remit";
    Hotline__Event ev = envelope("callback", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_KPI_ELIGIBILITY_CHANGED;
    ev.kpi_eligibility_changed = &k;
    apply_one(f, &ev);
}

/* An upheld appeal in December takes a November rating out of November's satisfaction and
 * resolution (the rating's own day, unit and category), and leaves December alone; the raw
 * rating stays counted in the all-time totals /metrics reads. A replay changes nothing. */
static void test_appeal_moves_past_period(void **state)
{
    fixture_t *f = *state;
    int64_t nov = utc_ms(2026, 11, 30, 3, 0), dec = utc_ms(2026, 12, 2, 3, 0);
    received(f, 1, nov - 3600000, "A", "W06", "Gulou");
    received(f, 2, nov - 3600000, "B", "W06", "Gulou");
    rated(f, 3, nov, "A", "billing", HOTLINE__RATING__RATING_SATISFIED, true);
    rated(f, 4, nov, "B", "billing", HOTLINE__RATING__RATING_DISSATISFIED, true);
    const char *month = "from=2026-11-01&to=2026-11-30&by=unit";
    json_t *doc = kpis(f, month, day_of(2026, 12, 2));
    json_t *tot = json_object_get(doc, "totals");
    assert_true(json_real_value(jrate(tot, "satisfactionRate")) == 0.5);
    json_decref(doc);

    eligibility(f, 5, dec, "B", "billing", HOTLINE__RATING__RATING_DISSATISFIED, true, nov, false);
    eligibility(f, 5, dec, "B", "billing", HOTLINE__RATING__RATING_DISSATISFIED, true, nov, false);
    doc = kpis(f, month, day_of(2026, 12, 2));
    tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "rated"), 1);
    assert_int_equal(jint(tot, "ratedDissatisfied"), 0);
    assert_int_equal(jint(tot, "resolved"), 1);
    assert_int_equal(jint(tot, "ratingsExcluded"), 1);
    assert_true(json_real_value(jrate(tot, "satisfactionRate")) == 1.0);
    json_t *g = group(doc, "billing");
    assert_int_equal(jint(g, "rated"), 1);
    assert_true(json_real_value(jrate(g, "satisfactionRate")) == 1.0);
    json_decref(doc);
    assert_int_equal(counter(f, day_of(2026, 11, 30), ANALYTICS_DIM_CATEGORY, "W06", ANALYTICS_RATED),
                     1);
    /* December itself has no rating and none taken away. */
    doc = kpis(f, "from=2026-12-01&to=2026-12-31", day_of(2026, 12, 2));
    assert_int_equal(jint(json_object_get(doc, "totals"), "rated"), 0);
    assert_int_equal(jint(json_object_get(doc, "totals"), "ratingsExcluded"), 0);
    json_decref(doc);
    assert_int_equal(counter(f, ANALYTICS_ALL_TIME, ANALYTICS_DIM_ALL, "", ANALYTICS_RATED), 2);
    /* Back in (eligible again): November as it was. */
    eligibility(f, 6, dec, "B", "billing", HOTLINE__RATING__RATING_DISSATISFIED, true, nov, true);
    doc = kpis(f, month, day_of(2026, 12, 2));
    tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "rated"), 2);
    assert_int_equal(jint(tot, "ratingsExcluded"), 0);
    assert_true(json_real_value(jrate(tot, "satisfactionRate")) == 0.5);
    json_decref(doc);
}

static void verdict(fixture_t *f, uint64_t seq, int64_t t, const char *id, Hotline__SlaClock clock,
                    int64_t due, int kind) /* kind: 0 stopped on time, 1 stopped late, 2 breach */
{
    Hotline__SlaClockStopped s = HOTLINE__SLA_CLOCK_STOPPED__INIT;
    Hotline__SlaBreached b = HOTLINE__SLA_BREACHED__INIT;
    Hotline__Event ev = envelope("sla", seq, t, id);
    if (kind == 2) {
        b.clock = clock;
        b.due_ms = due;
        ev.body_case = HOTLINE__EVENT__BODY_SLA_BREACHED;
        ev.sla_breached = &b;
    } else {
        s.clock = clock;
        s.due_ms = due;
        s.on_time = kind == 0;
        ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED;
        ev.sla_clock_stopped = &s;
    }
    apply_one(f, &ev);
}

static json_int_t on_day(fixture_t *f, int d, const char *key)
{
    char q[64];
    snprintf(q, sizeof q, "from=2026-11-%02d&to=2026-11-%02d", d, d);
    json_t *doc = kpis(f, q, day_of(2026, 11, 30));
    json_int_t v = jint(json_object_get(doc, "totals"), key);
    json_decref(doc);
    return v;
}

/* A clock counts once, where it was decided: a running clock not yet due nowhere; one whose
 * deadline passed on the deadline's day (breach, or a late stop with no breach seen), never
 * again when it stops later; an extension that turns a counted breach into an on-time stop
 * moves it to the stop's day. Response and callback clocks have their own rates. */
static void test_clock_counts_where_decided(void **state)
{
    fixture_t *f = *state;
    const Hotline__SlaClock SIGN = HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN;
    int64_t t25 = utc_ms(2026, 11, 25, 1, 0), due26 = utc_ms(2026, 11, 26, 15, 59);
    for (int i = 0; i < 3; i++) {
        const char *id = (const char *[]){"X", "Y", "Z"}[i];
        received(f, (uint64_t)i + 1, t25, id, "W01", "North");
        dispatched(f, (uint64_t)i + 1, t25, id, "u1", "W01", 0);
        clock_started(f, (uint64_t)i + 1, t25, id, SIGN, "u1", "W01");
    }
    /* Running, not due on the 25th: no denominator, no rate. */
    assert_int_equal(on_day(f, 25, "signStarted"), 3);
    assert_int_equal(on_day(f, 25, "signDue"), 0);
    json_t *doc = kpis(f, "from=2026-11-25&to=2026-11-25", day_of(2026, 11, 25));
    assert_true(json_is_null(jrate(json_object_get(doc, "totals"), "onTimeSignRate")));
    json_decref(doc);
    /* X breached (on the 27th, sla behind) and signed on the 28th: late once, on the 26th. */
    verdict(f, 10, utc_ms(2026, 11, 27, 2, 0), "X", SIGN, due26, 2);
    verdict(f, 11, utc_ms(2026, 11, 28, 2, 0), "X", SIGN, due26, 1);
    /* Y signed late on the 28th with no breach seen: late, on its deadline's day. */
    verdict(f, 12, utc_ms(2026, 11, 28, 3, 0), "Y", SIGN, due26, 1);
    assert_int_equal(on_day(f, 26, "signDue"), 2);
    assert_int_equal(on_day(f, 26, "signedLate"), 2);
    assert_int_equal(on_day(f, 28, "signDue"), 0);
    assert_int_equal(on_day(f, 26, "breached"), 0);
    assert_int_equal(on_day(f, 27, "breached"), 1); /* the breach event itself, as before */
    /* Z breached, then an extension moved its deadline and it was signed in time on the 29th. */
    verdict(f, 13, utc_ms(2026, 11, 27, 2, 0), "Z", SIGN, due26, 2);
    assert_int_equal(on_day(f, 26, "signedLate"), 3);
    verdict(f, 14, utc_ms(2026, 11, 29, 2, 0), "Z", SIGN, utc_ms(2026, 12, 1, 15, 59), 0);
    assert_int_equal(on_day(f, 26, "signedLate"), 2);
    assert_int_equal(on_day(f, 26, "signDue"), 2);
    assert_int_equal(on_day(f, 29, "signedOnTime"), 1);
    doc = kpis(f, "from=2026-11-01&to=2026-11-30&by=unit", day_of(2026, 11, 30));
    json_t *tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "signDue"), 3);
    assert_true(fabs(json_real_value(jrate(tot, "onTimeSignRate")) - 1.0 / 3) < 1e-9);
    assert_int_equal(jint(group(doc, "u1"), "signedLate"), 2);
    assert_int_equal(jint(group(doc, "u1"), "signDue"), 3);
    json_decref(doc);
    /* Response and callback clocks. */
    verdict(f, 15, t25, "X", HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE, due26, 0);
    verdict(f, 16, utc_ms(2026, 11, 27, 2, 0), "Y", HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE, due26,
            2);
    verdict(f, 17, t25, "Z", HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK, due26, 0);
    doc = kpis(f, "from=2026-11-01&to=2026-11-30", day_of(2026, 11, 30));
    tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "responseDue"), 2);
    assert_true(json_real_value(jrate(tot, "responseRate")) == 0.5);
    assert_true(json_real_value(jrate(tot, "onTimeCallbackRate")) == 1.0);
    json_decref(doc);
}

/* Whole months are read from their month buckets, the rest day by day, and both add up to
 * the same as the days alone; a filter reads the value's own counts, and with by its pairs, in
 * either order (unit within category, category within unit). */
static void test_months_weeks_filters(void **state)
{
    fixture_t *f = *state;
    const char *cats[] = {"W01", "W04", "W06"}, *units[] = {"water-supply", "billing"};
    uint64_t seq = 1;
    /* From 20 Oct to 10 Dec 2026: a ticket a day for each category, dispatched to a unit. */
    for (int64_t d = day_of(2026, 10, 20); d <= day_of(2026, 12, 10); d++)
        for (int c = 0; c < 3; c++) {
            char id[32];
            snprintf(id, sizeof id, "M%lld-%d", (long long)d, c);
            int64_t t = d * 86400000 + 3600000 * (c + 1);
            received(f, seq, t, id, cats[c], c == 2 ? "South" : "North");
            dispatched(f, seq, t, id, units[c == 2], cats[c], 0);
            seq++;
        }
    json_t *a = kpis(f, "from=2026-10-25&to=2026-12-05&by=unit", day_of(2026, 12, 10));
    assert_int_equal(jint(json_object_get(a, "totals"), "received"), 42 * 3);
    assert_int_equal(jint(group(a, "billing"), "dispatched"), 42);
    json_decref(a);
    /* The same by summing single days (the month buckets must agree with them). */
    json_int_t sum = 0;
    for (int64_t d = day_of(2026, 10, 25); d <= day_of(2026, 12, 5); d++) {
        char q[64], ds[16];
        calendar_date_format(d, ds, sizeof ds);
        snprintf(q, sizeof q, "from=%s&to=%s", ds, ds);
        json_t *one = kpis(f, q, day_of(2026, 12, 10));
        sum += jint(json_object_get(one, "totals"), "dispatched");
        json_decref(one);
    }
    assert_int_equal(sum, 42 * 3);
    a = kpis(f, "period=2026-11", day_of(2026, 12, 10));
    assert_int_equal(jint(json_object_get(a, "totals"), "received"), 30 * 3);
    json_decref(a);
    a = kpis(f, "period=2026-W48", day_of(2026, 12, 10)); /* Mon 23 to Sun 29 Nov */
    assert_int_equal(jint(json_object_get(a, "totals"), "received"), 7 * 3);
    json_decref(a);
    /* Filters: water-supply's categories; W06's units; South's categories. */
    a = kpis(f, "period=2026-11&unit=water-supply&by=category", day_of(2026, 12, 10));
    assert_int_equal(jint(json_object_get(a, "totals"), "dispatched"), 60);
    assert_int_equal(json_array_size(json_object_get(a, "groups")), 2);
    assert_int_equal(jint(group(a, "W04"), "dispatched"), 30);
    assert_string_equal(json_string_value(json_object_get(a, "unit")), "water-supply");
    json_decref(a);
    a = kpis(f, "period=2026-11&category=W06&by=unit", day_of(2026, 12, 10));
    assert_int_equal(json_array_size(json_object_get(a, "groups")), 1);
    assert_int_equal(jint(group(a, "billing"), "dispatched"), 30);
    json_decref(a);
    a = kpis(f, "from=2026-11-28&to=2026-12-02&district=South&by=category", day_of(2026, 12, 10));
    assert_int_equal(jint(json_object_get(a, "totals"), "received"), 5);
    assert_int_equal(jint(group(a, "W06"), "received"), 5);
    json_decref(a);
    a = kpis(f, "period=2026-11&unit=nobody", day_of(2026, 12, 10));
    assert_int_equal(jint(json_object_get(a, "totals"), "received"), 0);
    json_decref(a);
}

/* A store written before month buckets (layout 1): opening it counts everything again from the
 * timeline, so month queries see the old events; a later rebuild gives the same figures. */
static void test_rebuild_from_timeline(void **state)
{
    fixture_t *f = *state;
    int64_t t = utc_ms(2026, 11, 10, 2, 0);
    received(f, 1, t, "R1", "W01", "North");
    dispatched(f, 1, t, "R1", "water-supply", "W01", 0);
    rated(f, 1, t + 3600000, "R1", "water-supply", HOTLINE__RATING__RATING_SATISFIED, true);
    json_t *before = kpis(f, "period=2026-11&by=unit", day_of(2026, 11, 30));
    /* Make it look like an old store: no layout mark, no month buckets, no counters at all. */
    MDB_txn *txn;
    MDB_dbi counters, meta;
    assert_int_equal(store_db(f->store, "counters", 0, &counters), 0);
    assert_int_equal(store_db(f->store, "meta", 0, &meta), 0);
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_clear(txn, counters), 0);
    assert_int_equal(store_clear(txn, meta), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    json_t *empty = kpis(f, "period=2026-11", day_of(2026, 11, 30));
    assert_int_equal(jint(json_object_get(empty, "totals"), "received"), 0);
    json_decref(empty);
    analytics_close(&f->an);
    assert_int_equal(open_analytics(f), 0); /* rebuilds */
    json_t *after = kpis(f, "period=2026-11&by=unit", day_of(2026, 11, 30));
    assert_true(json_equal(before, after));
    analytics_rebuild_stats_t st;
    assert_int_equal(analytics_rebuild(f->an, NULL, NULL, &st), 0);
    assert_int_equal(st.total, 3);
    assert_int_equal(st.done, 3);
    json_t *again = kpis(f, "period=2026-11&by=unit", day_of(2026, 11, 30));
    assert_true(json_equal(before, again));
    assert_int_equal(jint(group(again, "water-supply"), "rated"), 1);
    json_decref(before);
    json_decref(after);
    json_decref(again);
}

static void returned_(fixture_t *f, uint64_t seq, int64_t t, const char *id, const char *unit,
                      bool approved)
{
    Hotline__ReturnRequested rq = HOTLINE__RETURN_REQUESTED__INIT;
    rq.unit = (char *)unit;
    rq.reason = "not ours";
    Hotline__Event ev = envelope("dispatch", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_RETURN_REQUESTED;
    ev.return_requested = &rq;
    apply_one(f, &ev);
    Hotline__ReturnReviewed rv = HOTLINE__RETURN_REVIEWED__INIT;
    rv.unit = (char *)unit;
    rv.approved = approved;
    ev = envelope("dispatch", seq + 1, t + 60000, id);
    ev.body_case = HOTLINE__EVENT__BODY_RETURN_REVIEWED;
    ev.return_reviewed = &rv;
    apply_one(f, &ev);
}

/* Return rate: approved returns / dispatched (a refused return asked, not returned). On-time
 * closure: closed with no reply of any round judged late / closed. */
static void test_returns_and_closure(void **state)
{
    fixture_t *f = *state;
    const Hotline__SlaClock REPLY = HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY;
    int64_t t = utc_ms(2026, 11, 24, 2, 0), due = utc_ms(2026, 11, 24, 15, 59);
    const char *ids[] = {"C1", "C2", "C3", "C4"};
    for (int i = 0; i < 4; i++) {
        received(f, (uint64_t)i + 1, t, ids[i], "W06", "North");
        dispatched(f, (uint64_t)i + 1, t, ids[i], "billing", "W06", 0);
    }
    returned_(f, 10, t, "C3", "billing", true);
    returned_(f, 12, t, "C4", "billing", false);
    verdict(f, 20, t + 3600000, "C1", REPLY, due, 0);              /* on time */
    verdict(f, 21, utc_ms(2026, 11, 25, 2, 0), "C2", REPLY, due, 2); /* breached */
    closed(f, 22, utc_ms(2026, 11, 26, 2, 0), "C1");
    closed(f, 23, utc_ms(2026, 11, 26, 2, 0), "C2");
    json_t *doc = kpis(f, "period=2026-11&by=unit", day_of(2026, 11, 30));
    json_t *tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "returnRequests"), 2);
    assert_int_equal(jint(tot, "returned"), 1);
    assert_true(json_real_value(jrate(tot, "returnRate")) == 0.25);
    assert_int_equal(jint(tot, "closed"), 2);
    assert_int_equal(jint(tot, "closedOnTime"), 1);
    assert_true(json_real_value(jrate(tot, "onTimeClosureRate")) == 0.5);
    assert_int_equal(jint(group(doc, "billing"), "returned"), 1);
    json_decref(doc);
}

static void test_timeline(void **state)
{
    fixture_t *f = *state;
    int64_t t = utc_ms(2026, 11, 25, 1, 0);
    /* Applied in feed order, which is not time order across sources. */
    signed_(f, 2, t + 3000, "T1", "u1");
    clock_started(f, 1, t + 2000, "T1", HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, "u1", "W01");
    received(f, 1, t, "T1", "W01", "North");
    dispatched(f, 1, t + 1000, "T1", "u1", "W01", 0);
    replied(f, 3, t + 3000, "T1", "u1");            /* same ms as the signing, later seq */
    received(f, 2, t + 500, "T10", "W01", "North"); /* "T1" must not prefix-match "T10" */
    MDB_txn *txn;
    json_t *doc = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(analytics_timeline(f->an, txn, "T1", &doc), 0);
    json_t *none = NULL;
    assert_int_equal(analytics_timeline(f->an, txn, "T2", &none), HL_ENOTFOUND);
    assert_null(none);
    assert_int_equal(analytics_timeline(f->an, txn, "bad/id", &none), HL_EINVAL);
    store_read_end(&txn);
    assert_string_equal(json_string_value(json_object_get(doc, "ticketId")), "T1");
    json_t *events = json_object_get(doc, "events");
    assert_int_equal(json_array_size(events), 5);
    const char *kinds[] = {"ticketReceived", "ticketDispatched", "slaClockStarted", "ticketSigned",
                           "ticketReplied"};
    const char *sources[] = {"intake", "dispatch", "sla", "dispatch", "dispatch"};
    for (size_t i = 0; i < 5; i++) {
        json_t *e = json_array_get(events, i);
        assert_non_null(json_object_get(e, kinds[i]));
        assert_string_equal(json_string_value(json_object_get(e, "source")), sources[i]);
    }
    /* Analytics keeps no personal data and no free text (intake owns the ticket as recorded):
     * not even masked; what the counts read and the codes are kept. */
    char *text = json_dumps(events, JSON_COMPACT);
    assert_null(strstr(text, "13812345678"));
    assert_null(strstr(text, "13987654321"));
    assert_null(strstr(text, "5678"));
    assert_null(strstr(text, "Li Ming"));
    assert_null(strstr(text, "ming@"));
    assert_null(strstr(text, "no water since 6"));
    free(text);
    json_t *tk = json_object_get(json_object_get(json_array_get(events, 0), "ticketReceived"),
                                 "ticket");
    assert_string_equal(json_string_value(json_object_get(tk, "categoryCode")), "W01");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(tk, "location"), "district")), "North");
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)t); /* 64-bit integers are JSON strings */
    assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "timeMs")), at);
    assert_string_equal(json_string_value(json_object_get(tk, "receivedMs")), at);
    json_t *d = json_object_get(json_array_get(events, 1), "ticketDispatched");
    assert_string_equal(json_string_value(json_object_get(d, "unit")), "u1");
    json_t *c = json_object_get(json_array_get(events, 2), "slaClockStarted");
    assert_string_equal(json_string_value(json_object_get(c, "clock")), "SLA_CLOCK_SIGN");
    assert_string_equal(json_string_value(json_object_get(json_array_get(events, 4), "seq")), "3");
    json_decref(doc);
    assert_true(analytics_ticket_id_valid("20261125-1-000123"));
    assert_false(analytics_ticket_id_valid(""));
    assert_false(analytics_ticket_id_valid("a b"));
}

static void test_out_of_order_feeds(void **state)
{
    fixture_t *f = *state;
    int64_t t = utc_ms(2026, 11, 25, 1, 0), day = day_of(2026, 11, 25);
    /* sla's feed is ahead of intake's and dispatch's: its own unit and category are used, and
     * they seed the ticket record for the events after it. */
    clock_started(f, 1, t + 2000, "T1", HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, "u1", "W03");
    clock_stopped(f, 2, t + 3000, "T1", HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, true);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_CATEGORY, "W03", ANALYTICS_SIGNED_ON_TIME), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "u1", ANALYTICS_SIGNED_ON_TIME), 1);
    /* Then intake's event arrives: a receipt is the centre's, counted under no unit whichever
     * feed came first (so a rebuild, reading in time order, counts it the same). */
    received(f, 1, t, "T1", "W03", "East");
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "u1", ANALYTICS_RECEIVED), 0);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_DISTRICT, "East", ANALYTICS_RECEIVED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_RECEIVED), 1);
}

static void test_query_parse(void **state)
{
    (void)state;
    int64_t today = day_of(2026, 11, 25);
    analytics_query_t q;
    analytics_error_t err;
    assert_int_equal(analytics_query_parse("", today, &q, &err), 0);
    assert_true(q.from_day == today && q.to_day == today && q.by == ANALYTICS_DIM_NONE);
    assert_int_equal(analytics_query_parse(NULL, today, &q, &err), 0);
    assert_int_equal(analytics_query_parse("from=2026-11-01&by=category", today, &q, &err), 0);
    assert_true(q.from_day == day_of(2026, 11, 1) && q.to_day == today);
    assert_int_equal(q.by, ANALYTICS_DIM_CATEGORY);
    assert_int_equal(analytics_query_parse("from=2026-12-03", today, &q, &err), 0);
    assert_true(q.from_day == day_of(2026, 12, 3) && q.to_day == q.from_day);
    assert_int_equal(analytics_query_parse("to=2026-11-03", today, &q, &err), 0);
    assert_true(q.from_day == day_of(2026, 11, 3) && q.to_day == q.from_day);
    assert_int_equal(
        analytics_query_parse("from=2028-02-29&to=2028-03-01&by=district", today, &q, &err), 0);
    assert_int_equal(q.by, ANALYTICS_DIM_DISTRICT);
    /* Five years (1830 days) is the most. */
    assert_int_equal(analytics_query_parse("from=2021-11-25&to=2026-11-25", today, &q, &err), 0);
    /* Named periods: a day, a month, an ISO week (2026-W01 starts Monday 29 Dec 2025). */
    assert_int_equal(analytics_query_parse("period=2026-02", today, &q, &err), 0);
    assert_true(q.from_day == day_of(2026, 2, 1) && q.to_day == day_of(2026, 2, 28));
    assert_int_equal(analytics_query_parse("period=2026-W01", today, &q, &err), 0);
    assert_true(q.from_day == day_of(2025, 12, 29) && q.to_day == day_of(2026, 1, 4));
    assert_int_equal(analytics_query_parse("period=2026-W53", today, &q, &err), 0); /* 53 weeks */
    assert_int_equal(analytics_query_parse("period=2026-11-25&unit=billing&by=category", today,
                                           &q, &err),
                     0);
    assert_true(q.from_day == today && q.to_day == today);
    assert_int_equal(q.filter, ANALYTICS_DIM_UNIT);
    assert_string_equal(q.filter_value, "billing");

    static const struct {
        const char *query, *field, *says;
    } bad[] = {
        {"from=2026-13-01", "from", "month 13"},
        {"from=2026-02-29", "from", "day 29"},
        {"from=26-1-1", "from", "YYYY-MM-DD"},
        {"from=", "from", "YYYY-MM-DD"},
        {"to=2026-11-31", "to", "day 31"},
        {"by=planet", "by", "allowed: unit, category, district"},
        {"by=", "by", "allowed"},
        {"from=2021-11-20&to=2026-11-25", "to", "at most 1830"},
        {"period=2026-13", "period", "month 13 is outside 01..12"},
        {"period=2027-W53", "period", "W01..W52"},
        {"period=last-month", "period", "not a period"},
        {"period=2026-11&from=2026-11-01", "period", "not both"},
        {"unit=a&category=b", "category", "one of unit, category, district at a time"},
        {"unit=a&by=unit", "by", "has one group"},
        {"unit=", "unit", "1 to 128 bytes"},
        {"from=2026-11-25&to=2026-11-24", "to", "before from"},
        {"form=2026-11-25", "form", "unknown parameter \"form\""},
        {"from=%FF%FE", "from", "\"??\" is not a date"},
        {"\xff=1", "?", "unknown parameter \"?\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (analytics_query_parse(bad[i].query, today, &q, &err) != HL_EINVAL)
            fail_msg("%s was accepted", bad[i].query);
        assert_string_equal(err.field, bad[i].field);
        if (!strstr(err.message, bad[i].says))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].query, err.message, bad[i].says);
    }
}

static void test_metrics(void **state)
{
    fixture_t *f = *state;
    metrics_t *m;
    assert_int_equal(metrics_create(&m), 0);
    assert_int_equal(analytics_metrics_attach(f->an, m), 0);
    metric_t *tickets = metrics_counter(m, "hotline_tickets_total", NULL, "stage");
    metric_t *clocks = metrics_counter(m, "hotline_sla_clocks_total", NULL, "clock,outcome");
    metric_t *ratings = metrics_counter(m, "hotline_ratings_total", NULL, "rating");
    const char *recv[] = {"received"}, *sign_late[] = {"sign", "late"}, *sat[] = {"satisfied"};
    assert_true(metric_value(tickets, recv) == 0);
    int64_t t = utc_ms(2026, 11, 25, 1, 0);
    received(f, 1, t, "A", "W01", "North");
    received(f, 2, t + 86400000, "B", "W01", "North"); /* another day: all-time adds up */
    clock_stopped(f, 1, t, "A", HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, false);
    rated(f, 1, t, "A", "u1", HOTLINE__RATING__RATING_SATISFIED, true);
    assert_int_equal(analytics_metrics_refresh(f->an), 0);
    assert_true(metric_value(tickets, recv) == 2);
    assert_true(metric_value(clocks, sign_late) == 1);
    assert_true(metric_value(ratings, sat) == 1);
    assert_int_equal(analytics_metrics_refresh(f->an), 0); /* no change, no double add */
    assert_true(metric_value(tickets, recv) == 2);
    char *text;
    size_t len;
    assert_int_equal(metrics_render(m, &text, &len), 0);
    assert_non_null(strstr(text, "hotline_tickets_total{stage=\"received\"} 2\n"));
    assert_non_null(strstr(text, "hotline_callbacks_total{outcome=\"unreachable\"} 0\n"));
    assert_non_null(strstr(text, "hotline_analytics_tickets 2\n"));
    free(text);
    metrics_destroy(&m);
    /* After a restart the counters start from the stored totals. */
    analytics_close(&f->an);
    assert_int_equal(open_analytics(f), 0);
    assert_int_equal(metrics_create(&m), 0);
    assert_int_equal(analytics_metrics_attach(f->an, m), 0);
    tickets = metrics_counter(m, "hotline_tickets_total", NULL, "stage");
    assert_true(metric_value(tickets, recv) == 2);
    metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_by_day_unit_category, setup, teardown),
        cmocka_unit_test_setup_teardown(test_period_boundary_utc8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_satisfaction_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appeal_moves_past_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_counts_where_decided, setup, teardown),
        cmocka_unit_test_setup_teardown(test_months_weeks_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_from_timeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_returns_and_closure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_feeds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
