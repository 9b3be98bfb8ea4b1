/* sla's incident clock (issue 10; sla_fixture.h drives sla in-process): an incident declared
 * gets one REPLY clock of its own, which climbs the ladder once for the whole incident; its
 * linked tickets follow it, and when the close replies them each is judged on time or late by
 * the incident's deadline (SlaClockStopped with incident_id); an unlinked ticket runs on its
 * own fresh clocks; every event applied twice changes nothing. */
#include "sla_fixture.h"

#define INC_A "INC-20261125-001"
#define INC_B "INC-20261125-002"

/* One dispatch event about ticket (NULL: an incident's, which names none). */
static void feed(fx_t *f, const char *ticket, int64_t at, Hotline__Event__BodyCase kind,
                 void *body)
{
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "dispatch";
    ev.time_ms = at;
    if (ticket)
        ev.ticket_id = (char *)ticket;
    ev.body_case = kind;
    ev.ticket_received = body; /* the oneof members share one pointer */
    apply(f, &ev);
}

static void declared(fx_t *f, const char *incident, int64_t at)
{
    Hotline__IncidentArea area = HOTLINE__INCIDENT_AREA__INIT;
    area.district = "Gulou";
    Hotline__IncidentDeclared d = HOTLINE__INCIDENT_DECLARED__INIT;
    d.incident_id = (char *)incident;
    d.category_prefix = "W01";
    d.area = &area;
    d.summary = "main burst";
    d.unit = "crew-north";
    feed(f, NULL, at, HOTLINE__EVENT__BODY_INCIDENT_DECLARED, &d);
}

static void closed(fx_t *f, const char *incident, int64_t at)
{
    Hotline__IncidentClosed c = HOTLINE__INCIDENT_CLOSED__INIT;
    c.incident_id = (char *)incident;
    c.resolution = "main repaired";
    feed(f, NULL, at, HOTLINE__EVENT__BODY_INCIDENT_CLOSED, &c);
}

static void link_to(fx_t *f, const char *ticket, const char *incident, int64_t at)
{
    Hotline__TicketLinked l = HOTLINE__TICKET_LINKED__INIT;
    l.incident_id = (char *)incident;
    l.unit = "crew-north";
    l.from_unit = "water-north";
    l.how = "rule";
    feed(f, ticket, at, HOTLINE__EVENT__BODY_TICKET_LINKED, &l);
}

static void unlink_from(fx_t *f, const char *ticket, const char *incident, int64_t at)
{
    Hotline__TicketUnlinked u = HOTLINE__TICKET_UNLINKED__INIT;
    u.incident_id = (char *)incident;
    u.unit = "water-north";
    u.category_code = "W0101";
    u.urgency = HOTLINE__URGENCY__URGENCY_NORMAL;
    feed(f, ticket, at, HOTLINE__EVENT__BODY_TICKET_UNLINKED, &u);
}

/* The close's reply of one linked ticket (TicketReplied with the incident's id). */
static void replied_by(fx_t *f, const char *ticket, const char *incident, int64_t at)
{
    Hotline__TicketReplied r = HOTLINE__TICKET_REPLIED__INIT;
    r.unit = "crew-north";
    r.result = "main repaired";
    r.resolved = true;
    r.incident_id = (char *)incident;
    feed(f, ticket, at, HOTLINE__EVENT__BODY_TICKET_REPLIED, &r);
}

/* The one REPLY SlaClockStopped of ticket: its verdict and the incident it names ("" for
 * none). */
static Hotline__SlaClockStopped verdict(fx_t *f, const char *ticket, char *incident,
                                        size_t size)
{
    collected_t c;
    collect(f, 0, &c);
    Hotline__SlaClockStopped out = HOTLINE__SLA_CLOCK_STOPPED__INIT;
    size_t n = 0;
    for (size_t i = 0; i < c.n; i++) {
        const Hotline__Event *ev = c.ev[i];
        if (ev->body_case != K_STOPPED || strcmp(ev->ticket_id, ticket) != 0 ||
            ev->sla_clock_stopped->clock != REPLY)
            continue;
        out = *ev->sla_clock_stopped;
        snprintf(incident, size, "%s", ev->sla_clock_stopped->incident_id);
        n++;
    }
    collected_free(&c);
    out.incident_id = NULL;
    assert_int_equal(n, 1);
    return out;
}

/* Events of kind (0: any ladder card) about one id. */
static size_t count_of(fx_t *f, Hotline__Event__BodyCase kind, const char *ticket)
{
    collected_t c;
    collect(f, 0, &c);
    size_t n = 0;
    for (size_t i = 0; i < c.n; i++) {
        Hotline__Event__BodyCase k = c.ev[i]->body_case;
        bool card = k == K_WARNING || k == K_BREACHED || k == K_ESCALATED;
        n += (kind ? k == kind : card) && strcmp(c.ev[i]->ticket_id, ticket) == 0;
    }
    collected_free(&c);
    return n;
}

#define cards(f, ticket) count_of(f, 0, ticket)

static bool has_clock(fx_t *f, const char *ticket, Hotline__SlaClock clock)
{
    sla_clock_t c;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    int rc = sla_clock_get(f->sla, txn, ticket, 0, clock, &c);
    store_read_end(&txn);
    assert_true(rc == 0 || rc == HL_ENOTFOUND);
    return rc == 0;
}

static const char *const TICKETS[] = {"T1", "T2", "T3"};

/* Declared, three tickets linked, one ladder for the incident, closed before its due: three
 * on-time verdicts naming it. Everything applied again changes nothing. */
static void test_incident_clock_judges_linked_tickets_on_time(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0); /* a Wednesday */
    for (int i = 0; i < 3; i++)
        dispatched(f, TICKETS[i], "W0101", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    assert_int_equal(count_kind(f, K_STARTED), 6);
    declared(f, INC_A, t0 + MIN_MS);
    /* One REPLY clock for the incident: the catch-all at normal urgency (W01 is not urgent),
     * held by its unit, with its ladder; no sign clock. */
    assert_int_equal(count_kind(f, K_STARTED), 7);
    sla_clock_t inc = get_clock(f, INC_A, 0, REPLY);
    assert_false(has_clock(f, INC_A, SIGN));
    assert_string_equal(inc.policy, "default");
    assert_string_equal(inc.unit, "crew-north");
    assert_string_equal(inc.category, "W01");
    assert_int_equal(inc.start_ms, t0 + MIN_MS);
    expect_local(f, inc.due_ms, "2026-12-02 23:59 +08:00");  /* 5 working days */
    expect_local(f, inc.warn_ms, "2026-12-01 23:59 +08:00"); /* yellow card */
    expect_local(f, inc.reminder_ms, "2026-11-27 23:59 +08:00");
    assert_true(inc.red_ms > inc.due_ms && inc.supervision_ms > inc.red_ms);
    json_t *view = clocks_json(f, INC_A); /* GET /v1/clocks/INC-... */
    assert_int_equal(json_array_size(json_object_get(view, "clocks")), 1);
    assert_null(json_object_get(view, "followsIncident"));
    json_decref(view);
    for (int i = 0; i < 3; i++)
        link_to(f, TICKETS[i], INC_A, t0 + 2 * MIN_MS);
    assert_int_equal(running(f, SIGN), 0);
    assert_int_equal(running(f, REPLY), 1); /* the incident's */
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 1);
    view = clocks_json(f, "T2");
    assert_string_equal(json_string_value(json_object_get(view, "followsIncident")), INC_A);
    assert_null(json_object_get(view, "incidentOnTime"));
    json_decref(view);
    /* The ladder fires once, for the incident: reminder, then yellow card. */
    assert_int_equal(fire(f, inc.reminder_ms + MIN_MS), 1);
    assert_int_equal(fire(f, inc.warn_ms + MIN_MS), 1);
    assert_int_equal(cards(f, INC_A), 2);
    assert_int_equal(count_kind(f, K_ESCALATED) + count_kind(f, K_WARNING), 2);
    /* Closed before its due, then the close replies every linked ticket. */
    int64_t t_close = inc.due_ms - 2 * HOUR_MS;
    closed(f, INC_A, t_close);
    char named[64];
    Hotline__SlaClockStopped v = verdict(f, INC_A, named, sizeof named);
    assert_true(v.on_time);
    assert_string_equal(named, "");
    for (int i = 0; i < 3; i++)
        replied_by(f, TICKETS[i], INC_A, t_close + MIN_MS);
    for (int i = 0; i < 3; i++) {
        v = verdict(f, TICKETS[i], named, sizeof named);
        assert_int_equal(v.clock, REPLY);
        assert_true(v.on_time);
        assert_int_equal(v.due_ms, inc.due_ms);
        assert_int_equal(v.round, 0);
        assert_string_equal(named, INC_A);
        /* its own clocks stay suspended */
        assert_true(get_clock(f, TICKETS[i], 0, REPLY).suspended);
        assert_true(get_clock(f, TICKETS[i], 0, SIGN).suspended);
    }
    assert_int_equal(count_kind(f, K_STOPPED), 4);
    view = clocks_json(f, "T3");
    assert_string_equal(json_string_value(json_object_get(view, "followsIncident")), INC_A);
    assert_true(json_is_true(json_object_get(view, "incidentOnTime")));
    json_decref(view);
    assert_int_equal(running(f, REPLY), 0);
    /* Replays: every event again changes nothing. */
    uint64_t h = head(f);
    declared(f, INC_A, t0 + MIN_MS);
    for (int i = 0; i < 3; i++)
        link_to(f, TICKETS[i], INC_A, t0 + 2 * MIN_MS);
    closed(f, INC_A, t_close);
    for (int i = 0; i < 3; i++)
        replied_by(f, TICKETS[i], INC_A, t_close + MIN_MS);
    assert_int_equal(head(f), h);
    /* Each reply started the ticket's callback clock; callback's outcomes stop them. */
    assert_int_equal(running(f, CALLBACK), 3);
    for (int i = 0; i < 3; i++)
        rated(f, TICKETS[i], 0, t_close + HOUR_MS);
    assert_int_equal(fire(f, inc.supervision_ms + 24 * HOUR_MS), 0); /* nothing left to climb */
    assert_int_equal(running(f, REPLY), 0);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 0);
}

/* An incident closed after its due: overdue once for the incident, late verdicts for its
 * tickets; an unlinked ticket runs on its own fresh clocks and is judged by them. */
static void test_incident_late_and_unlinked(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    declared(f, INC_B, t0);
    sla_clock_t inc = get_clock(f, INC_B, 0, REPLY);
    for (int i = 0; i < 3; i++) {
        dispatched(f, TICKETS[i], "W0101", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
        link_to(f, TICKETS[i], INC_B, t0 + MIN_MS);
    }
    /* T3 goes back to its unit: fresh clocks from the unlink, no incident any more. */
    int64_t t_unlink = t0 + HOUR_MS;
    unlink_from(f, "T3", INC_B, t_unlink);
    sla_clock_t own = get_clock(f, "T3", 0, REPLY);
    assert_false(own.suspended);
    assert_false(own.stopped);
    assert_int_equal(own.start_ms, t_unlink);
    json_t *view = clocks_json(f, "T3");
    assert_null(json_object_get(view, "followsIncident"));
    json_decref(view);
    unlink_from(f, "T3", INC_B, t_unlink); /* a replay: starts nothing again */
    assert_int_equal(count_kind(f, K_STARTED), 1 + 6 + 2);
    /* Past the incident's due: one overdue, for the incident; none for its tickets (T3, on
     * its own clocks again, gets its own cards). */
    fire(f, inc.due_ms + MIN_MS);
    assert_int_equal(count_of(f, K_BREACHED, INC_B), 1);
    assert_int_equal(cards(f, "T1") + cards(f, "T2"), 0);
    assert_int_equal(cards(f, INC_B), 3); /* reminder, yellow card, overdue */
    assert_true(cards(f, "T3") > 0);
    int64_t t_close = inc.due_ms + 3 * HOUR_MS;
    closed(f, INC_B, t_close);
    char named[64];
    assert_false(verdict(f, INC_B, named, sizeof named).on_time);
    for (int i = 0; i < 2; i++) {
        replied_by(f, TICKETS[i], INC_B, t_close + MIN_MS);
        Hotline__SlaClockStopped v = verdict(f, TICKETS[i], named, sizeof named);
        assert_false(v.on_time);
        assert_int_equal(v.due_ms, inc.due_ms);
        assert_string_equal(named, INC_B);
    }
    view = clocks_json(f, "T1");
    assert_true(json_is_false(json_object_get(view, "incidentOnTime")));
    json_decref(view);
    /* The unlinked ticket, replied by its unit: its own verdict against its own deadline. */
    replied(f, "T3", 0, t_close + HOUR_MS);
    Hotline__SlaClockStopped v = verdict(f, "T3", named, sizeof named);
    assert_string_equal(named, "");
    assert_int_equal(v.due_ms, own.due_ms);
    assert_int_equal(v.on_time, t_close + HOUR_MS <= own.due_ms);
    assert_int_equal(count_of(f, K_STOPPED, "T3"), 2); /* its sign clock, left running, too */
}

/* An incident sla has no clock for (declared before this release): its linked tickets keep
 * the old behaviour, no verdict at all. */
static void test_incident_without_clock(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T1", "W0101", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    link_to(f, "T1", "INC-20251001-001", t0 + MIN_MS);
    closed(f, "INC-20251001-001", t0 + HOUR_MS);
    replied_by(f, "T1", "INC-20251001-001", t0 + HOUR_MS + MIN_MS);
    assert_int_equal(count_kind(f, K_STOPPED), 0);
    assert_true(get_clock(f, "T1", 0, REPLY).suspended);
    /* an incident id too long to be a key is skipped, not an error */
    char longid[SLA_TICKET_ID_MAX + 8];
    memset(longid, 'I', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    declared(f, longid, t0);
    closed(f, longid, t0 + MIN_MS);
    assert_int_equal(count_kind(f, K_STARTED), 3); /* sign, reply, and the reply's callback */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_incident_clock_judges_linked_tickets_on_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_incident_late_and_unlinked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_without_clock, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
