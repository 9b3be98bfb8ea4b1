/* dispatch's incidents (dispatch_fixture.h drives the state machine in-process): tickets
 * joined at the door and by hand or rule, unlinked, the close fan-out (in one transaction and
 * in chunks on the scheduler) and incident ids dated in the centre's zone. */
#include "dispatch_fixture.h"

/* A ticket intake joined to an incident: LINKED while the incident is open, dispatched like
 * any other when the incident is unknown or already closed (intake had not heard yet). */
static void incident_ticket(fixture_t *f, const char *id, const char *incident)
{
    received_in(f, id, "W01", "Riverside", incident);
}

static answer_t incident_cmd(fixture_t *f, uint32_t body_case, ProtobufCMessage *body)
{
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = body_case;
    cmd.declare_incident = (Hotline__DeclareIncident *)body; /* the one-of shares one pointer */
    return run(f, &cmd);
}

static answer_t declare_riverside(fixture_t *f)
{
    Hotline__IncidentArea area = HOTLINE__INCIDENT_AREA__INIT;
    area.community = "Riverside";
    Hotline__DeclareIncident d = HOTLINE__DECLARE_INCIDENT__INIT;
    d.category_prefix = "W01";
    d.area = &area;
    d.summary = "main repair";
    return incident_cmd(f, HOTLINE__COMMAND__BODY_DECLARE_INCIDENT, &d.base);
}

static void test_incident_links(void **state)
{
    fixture_t *f = *state;
    answer_t a = declare_riverside(f);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    char inc[64]; /* a copy: the answers below overwrite a */
    snprintf(inc, sizeof inc, "%s", a.incident_id);

    incident_ticket(f, "T-LINKED", inc);
    snap_t s;
    assert_int_equal(get(f, "T-LINKED", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_LINKED);
    incident_ticket(f, "T-UNKNOWN", "INC-NOPE");
    assert_int_equal(get(f, "T-UNKNOWN", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);

    Hotline__CloseIncident c = HOTLINE__CLOSE_INCIDENT__INIT;
    c.incident_id = inc;
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__INVALID); /* no resolution to tell callers */
    c.resolution = "main repaired";
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    /* The ticket joined at the door is replied with the resolution. */
    assert_int_equal(get(f, "T-LINKED", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    incident_ticket(f, "T-LATE", inc); /* joined at the door just before intake heard */
    assert_int_equal(get(f, "T-LATE", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    assert_string_equal(s.unit, "water-supply");
    /* Closing twice is refused, naming the incident. */
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__CONFLICT);
}

static answer_t link_cmd(fixture_t *f, const char *inc, char **ids, size_t n, bool matching)
{
    Hotline__LinkTickets l = HOTLINE__LINK_TICKETS__INIT;
    l.incident_id = (char *)inc;
    l.ticket_ids = ids;
    l.n_ticket_ids = n;
    l.matching = matching;
    return incident_cmd(f, HOTLINE__COMMAND__BODY_LINK_TICKETS, &l.base);
}

static answer_t unlink_cmd(fixture_t *f, const char *inc, const char *id)
{
    Hotline__UnlinkTicket u = HOTLINE__UNLINK_TICKET__INIT;
    u.incident_id = (char *)inc;
    u.ticket_id = (char *)id;
    return incident_cmd(f, HOTLINE__COMMAND__BODY_UNLINK_TICKET, &u.base);
}

/* Linking by rule takes the open tickets in the incident's category and area; by hand any
 * open ticket, and a closed or replied one is refused naming it; unlink sends a ticket back to
 * the unit it left; the close replies every linked ticket, in chunks when asked. */
static void test_incident_link_unlink_close(void **state)
{
    fixture_t *f = *state;
    answer_t a = declare_riverside(f);
    char inc[64];
    snprintf(inc, sizeof inc, "%s", a.incident_id);
    received_in(f, "R1", "W01", "Riverside", NULL);
    received_in(f, "R2", "W0102", "riverside", NULL);
    received_in(f, "R3", "W01", "Hillside", NULL);
    received_in(f, "R4", "W03", "Riverside", NULL);
    received_in(f, "R5", "W01", "Riverside", NULL);
    expect_ok(sign(f, "R2", "water-supply"), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    expect_ok(sign(f, "R5", "water-supply"), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    expect_ok(reply(f, "R5", "water-supply", "done", true), HOTLINE__TICKET_STATUS__TICKET_REPLIED,
              0);

    a = link_cmd(f, inc, NULL, 0, true);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_int_equal(a.linked, 2); /* R1 and R2: R3 elsewhere, R4 water quality, R5 replied */
    snap_t s;
    assert_int_equal(get(f, "R2", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_LINKED);
    assert_int_equal(count(f, "water-supply", HOTLINE__TICKET_STATUS__TICKET_SIGNED), 0);
    assert_int_equal(get(f, "R4", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);

    char *hand[] = {"R3"}, *replied[] = {"R5"};
    a = link_cmd(f, inc, hand, 1, false);
    assert_int_equal(a.linked, 1);
    expect_refusal(link_cmd(f, inc, replied, 1, false), HOTLINE__STATUS__CONFLICT,
                   "linkTickets.ticketIds[0]", "ticket R5 is REPLIED");
    expect_refusal(link_cmd(f, inc, hand, 1, true), HOTLINE__STATUS__INVALID,
                   "linkTickets.matching", "not both");
    expect_refusal(link_cmd(f, "INC-NOPE", hand, 1, false), HOTLINE__STATUS__NOT_FOUND,
                   "linkTickets.incidentId", "no incident INC-NOPE");

    expect_ok(unlink_cmd(f, inc, "R3"), HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, 0);
    assert_int_equal(get(f, "R3", &s), 0);
    assert_string_equal(s.unit, "water-supply");
    expect_refusal(unlink_cmd(f, inc, "R3"), HOTLINE__STATUS__CONFLICT, "unlinkTicket.ticketId",
                   "not linked");

    /* A wide incident: refused for a dispatcher, naming the rule; a supervisor may. */
    Hotline__IncidentArea area = HOTLINE__INCIDENT_AREA__INIT;
    area.district = "Gulou";
    Hotline__DeclareIncident d = HOTLINE__DECLARE_INCIDENT__INIT;
    d.category_prefix = "W04";
    d.area = &area;
    d.summary = "call 138 0013 8000";
    Hotline__Principal who = HOTLINE__PRINCIPAL__INIT;
    who.role = HOTLINE__ROLE__ROLE_DISPATCHER;
    who.name = "desk-1";
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.by = &who;
    cmd.body_case = HOTLINE__COMMAND__BODY_DECLARE_INCIDENT;
    cmd.declare_incident = &d;
    expect_refusal(run(f, &cmd), HOTLINE__STATUS__FORBIDDEN, "declareIncident.area",
                   "supervisor");
    who.role = HOTLINE__ROLE__ROLE_SUPERVISOR;
    assert_int_equal(run(f, &cmd).status, HOTLINE__STATUS__OK);

    Hotline__CloseIncident c = HOTLINE__CLOSE_INCIDENT__INIT;
    c.incident_id = inc;
    c.resolution = "main repaired; call 13800138000 with questions";
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_int_equal(get(f, "R1", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    assert_true(s.resolved);
    assert_non_null(strstr(s.result, "main repaired"));
    assert_null(strstr(s.result, "13800138000")); /* masked: callers hear it */
    assert_int_equal(get(f, "R3", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    expect_refusal(link_cmd(f, inc, hand, 1, false), HOTLINE__STATUS__CONFLICT,
                   "linkTickets.incidentId", "closed");

    /* In chunks: two, then the last one, resuming after the last ticket replied. */
    a = declare_riverside(f);
    snprintf(inc, sizeof inc, "%s", a.incident_id);
    incident_ticket(f, "C1", inc);
    incident_ticket(f, "C2", inc);
    incident_ticket(f, "C3", inc);
    MDB_txn *txn;
    unsigned n;
    bool more;
    char last[DISPATCH_TICKET_ID_MAX + 1];
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(dispatch_close_fanout(f->d, txn, inc, "fixed", NULL, 2, &n, &more, last), 0);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(last, "C2");
    assert_int_equal(dispatch_close_fanout(f->d, txn, inc, "fixed", last, 2, &n, &more, last), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(get(f, "C3", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
}

/* More than one transaction's worth: the close replies DISPATCH_CLOSE_CHUNK and marks the
 * incident closing (durably: the mark is in the store); each continuation replies the next
 * chunk and the last one removes the mark. */
static void test_incident_close_in_chunks(void **state)
{
    fixture_t *f = *state;
    answer_t a = declare_riverside(f);
    char inc[64];
    snprintf(inc, sizeof inc, "%s", a.incident_id);
    unsigned n = DISPATCH_CLOSE_CHUNK + 3;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    for (unsigned i = 0; i < n; i++) { /* joined at the door, in one transaction */
        char id[32];
        snprintf(id, sizeof id, "K%05u", i);
        Hotline__Location loc = HOTLINE__LOCATION__INIT;
        loc.community = "Riverside";
        Hotline__Ticket t = HOTLINE__TICKET__INIT;
        t.id = id;
        t.category_code = "W01";
        t.location = &loc;
        t.incident_id = inc;
        Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
        tr.ticket = &t;
        Hotline__Event ev = HOTLINE__EVENT__INIT;
        ev.source = "intake";
        ev.seq = ++f->intake_seq;
        ev.ticket_id = id;
        ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
        ev.ticket_received = &tr;
        assert_int_equal(dispatch_apply_intake(f->d, txn, &ev), 0);
    }
    assert_int_equal(store_write_commit(f->store, &txn), 0);

    Hotline__CloseIncident c = HOTLINE__CLOSE_INCIDENT__INIT;
    c.incident_id = inc;
    c.resolution = "fixed";
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_int_equal(a.replied, DISPATCH_CLOSE_CHUNK);
    assert_true(a.closing);
    snap_t s;
    assert_int_equal(get(f, "K05002", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_LINKED);
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_true(dispatch_incident_closing(f->d, txn, inc));
    bool more = true;
    assert_int_equal(dispatch_close_continue(f->d, txn, inc, &more), 0);
    assert_false(more);
    assert_false(dispatch_incident_closing(f->d, txn, inc));
    assert_int_equal(dispatch_close_continue(f->d, txn, inc, &more), 0); /* done: nothing */
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(get(f, "K05002", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    assert_int_equal(count(f, "water-supply", HOTLINE__TICKET_STATUS__TICKET_REPLIED), n);
}

/* Incident ids carry the local date in the zone of calendar.utcOffsetMinutes / utcOffset, the
 * key every service reads, not a fixed UTC+8: near midnight the two disagree. */
static void test_incident_date_in_zone(void **state)
{
    fixture_t *f = *state;
    hclock_set_ms(f->clock, T0 - 8 * 3600000 - 30 * 60000); /* 2025-11-24T15:30Z */
    /* 23:30 at the default UTC+8 */
    answer_t a = declare_riverside(f);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_string_equal(a.incident_id, "INC-20251124-001");

    /* The same instant at UTC+9 is 00:30 on the 25th: a new day, so its own sequence. */
    dispatch_destroy(&f->d);
    f->cfg->calendar->utc_offset_minutes = 540;
    char err[256];
    assert_int_equal(dispatch_create(&f->d, f->store, f->log, f->clock, f->cfg, err, sizeof err),
                     0);
    a = declare_riverside(f);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_string_equal(a.incident_id, "INC-20251125-001");

    /* At UTC-5 (written the other way, which wins over the minutes) 00:30Z on the 25th is
     * still the 24th: the 24th's second incident. */
    dispatch_destroy(&f->d);
    f->cfg->calendar->utc_offset = strdup("-05:00");
    assert_int_equal(dispatch_create(&f->d, f->store, f->log, f->clock, f->cfg, err, sizeof err),
                     0);
    hclock_set_ms(f->clock, T0 + 30 * 60000);
    a = declare_riverside(f);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_string_equal(a.incident_id, "INC-20251124-002");

    /* A zone that is no zone stops dispatch_create, naming the key. */
    dispatch_destroy(&f->d);
    free(f->cfg->calendar->utc_offset);
    f->cfg->calendar->utc_offset = strdup("+8");
    assert_int_equal(dispatch_create(&f->d, f->store, f->log, f->clock, f->cfg, err, sizeof err),
                     HL_EINVAL);
    assert_null(f->d);
    assert_non_null(strstr(err, "calendar.utcOffset"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_incident_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_link_unlink_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_close_in_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_date_in_zone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
