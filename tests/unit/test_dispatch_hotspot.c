/* dispatch_hotspot: analytics' HotspotDetected by policy. auto declares the incident and links
 * the hotspot's tickets and every open matching one; suggest keeps it for accept or dismiss; a
 * hotspot an open incident covers joins that incident; a wide one waits for a person even in
 * auto; a replayed hotspot changes nothing. */
#include "dispatch_fixture.h"

static void set_mode(fixture_t *f, const char *mode)
{
    Hotline__DispatchHotspots *h = f->cfg->hotspots;
    assert_non_null(h);
    if (h->mode != protobuf_c_empty_string)
        free(h->mode);
    h->mode = strdup(mode);
}

/* A new ticket on a street of Gulou (what the area view keys on). */
static void received_on(fixture_t *f, const char *id, const char *category, const char *street)
{
    received_where(f, id, category, "Gulou", street, "", NULL);
}

/* analytics' HotspotDetected id for W01 on street (district Gulou; street NULL: the whole
 * district, a wide area), listing tickets. */
static void hotspot(fixture_t *f, const char *id, const char *street, const char *const *tickets,
                    size_t n)
{
    Hotline__HotspotDetected hd = HOTLINE__HOTSPOT_DETECTED__INIT;
    hd.hotspot_id = (char *)id;
    hd.category_prefix = "W01";
    hd.district = "Gulou";
    hd.street = street ? (char *)street : "";
    hd.window_ms = 30 * 60000;
    hd.count = (uint32_t)n;
    hd.detected_ms = T0;
    hd.ticket_ids = (char **)tickets;
    hd.n_ticket_ids = n;
    hd.view = "area";
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "analytics";
    ev.seq = 1;
    ev.body_case = HOTLINE__EVENT__BODY_HOTSPOT_DETECTED;
    ev.hotspot_detected = &hd;
    apply(f, dispatch_apply_analytics, &ev);
}

static Hotline__Event__BodyCase kind_at(fixture_t *f, uint64_t seq)
{
    Hotline__Event *ev = event_at(f, seq);
    Hotline__Event__BodyCase k = ev->body_case;
    hotline__event__free_unpacked(ev, NULL);
    return k;
}

/* How many events of kind k the log holds. */
static unsigned events_of(fixture_t *f, Hotline__Event__BodyCase k)
{
    unsigned n = 0;
    for (uint64_t s = 1; s <= evlog_head(f->log); s++)
        n += kind_at(f, s) == k;
    return n;
}

static void expect_state(fixture_t *f, const char *id, Hotline__TicketStatus st)
{
    snap_t s;
    assert_int_equal(get(f, id, &s), 0);
    if (s.state != st)
        fail_msg("%s: state %d, expected %d", id, s.state, st);
}

static answer_t accept_hs(fixture_t *f, const char *id)
{
    Hotline__AcceptHotspot *a = calloc(1, sizeof *a);
    hotline__accept_hotspot__init(a);
    a->hotspot_id = strdup(id);
    Hotline__Command *cmd = service_command_new(HOTLINE__COMMAND__BODY_ACCEPT_HOTSPOT, &a->base);
    answer_t r = run(f, cmd);
    protobuf_c_message_free_unpacked(&cmd->base, NULL);
    return r;
}

static answer_t dismiss_hs(fixture_t *f, const char *id, const char *reason)
{
    Hotline__DismissHotspot *d = calloc(1, sizeof *d);
    hotline__dismiss_hotspot__init(d);
    d->hotspot_id = strdup(id);
    d->reason = strdup(reason);
    Hotline__Command *cmd = service_command_new(HOTLINE__COMMAND__BODY_DISMISS_HOTSPOT, &d->base);
    answer_t r = run(f, cmd);
    protobuf_c_message_free_unpacked(&cmd->base, NULL);
    return r;
}

static const char *const BURST[] = {"T1", "T2", "T3"};

static void test_auto_declares_and_links(void **state)
{
    fixture_t *f = *state;
    set_mode(f, "auto");
    for (size_t i = 0; i < 3; i++)
        received_on(f, BURST[i], "W0101", "Main St");
    received_on(f, "T4", "W0102", "Main St"); /* not in the hotspot, but matching: linked */
    received_on(f, "T5", "W0101", "Side St"); /* another street: not */
    received_on(f, "T6", "W06", "Main St");   /* another category: not */
    uint64_t before = evlog_head(f->log);
    hotspot(f, "HS-20251125-001", "Main St", BURST, 3);
    assert_int_equal(events_of(f, HOTLINE__EVENT__BODY_INCIDENT_DECLARED), 1);
    assert_int_equal(events_of(f, HOTLINE__EVENT__BODY_HOTSPOT_ACCEPTED), 1);
    for (size_t i = 0; i < 3; i++)
        expect_state(f, BURST[i], HOTLINE__TICKET_STATUS__TICKET_LINKED);
    expect_state(f, "T4", HOTLINE__TICKET_STATUS__TICKET_LINKED);
    expect_state(f, "T5", HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    expect_state(f, "T6", HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    Hotline__Event *ev = event_at(f, before + 1);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_INCIDENT_DECLARED);
    const Hotline__IncidentDeclared *inc = ev->incident_declared;
    assert_string_equal(inc->category_prefix, "W01");
    assert_string_equal(inc->area->street, "Main St");
    assert_string_equal(inc->area->district, "Gulou");
    assert_string_equal(inc->unit, "water-supply"); /* the catalogue's for W01 */
    assert_non_null(strstr(inc->summary, "hotspot: 3 reports of W01 in Main St in 30 min"));
    hotline__event__free_unpacked(ev, NULL);
    /* A replay of the same event changes nothing. */
    uint64_t head = evlog_head(f->log);
    hotspot(f, "HS-20251125-001", "Main St", BURST, 3);
    assert_int_equal(evlog_head(f->log), head);
}

static void test_suggest_accept_dismiss(void **state)
{
    fixture_t *f = *state; /* the default mode: suggest */
    assert_string_equal(f->cfg->hotspots->mode, "suggest");
    for (size_t i = 0; i < 3; i++)
        received_on(f, BURST[i], "W0101", "Main St");
    uint64_t head = evlog_head(f->log);
    hotspot(f, "HS-20251125-001", "Main St", BURST, 3);
    hotspot(f, "HS-20251125-002", "Side St", NULL, 0);
    assert_int_equal(evlog_head(f->log), head); /* kept, nothing declared */
    expect_state(f, "T1", HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    answer_t a = accept_hs(f, "HS-20251125-001");
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_true(strncmp(a.incident_id, "INC-", 4) == 0);
    for (size_t i = 0; i < 3; i++)
        expect_state(f, BURST[i], HOTLINE__TICKET_STATUS__TICKET_LINKED);
    expect_refusal(accept_hs(f, "HS-20251125-001"), HOTLINE__STATUS__CONFLICT,
                   "acceptHotspot.hotspotId", "is accepted with incident INC-");
    expect_refusal(accept_hs(f, "HS-none"), HOTLINE__STATUS__NOT_FOUND,
                   "acceptHotspot.hotspotId", "no hotspot HS-none");
    expect_refusal(dismiss_hs(f, "HS-20251125-002", " "), HOTLINE__STATUS__INVALID,
                   "dismissHotspot.reason", "why it is not an incident");
    answer_t d = dismiss_hs(f, "HS-20251125-002", "a planned works notice, call 13812345678");
    assert_int_equal(d.status, HOTLINE__STATUS__OK);
    Hotline__Event *ev = event_at(f, evlog_head(f->log));
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_HOTSPOT_DISMISSED);
    assert_null(strstr(ev->hotspot_dismissed->reason, "13812345678")); /* masked */
    hotline__event__free_unpacked(ev, NULL);
    expect_refusal(accept_hs(f, "HS-20251125-002"), HOTLINE__STATUS__CONFLICT,
                   "acceptHotspot.hotspotId", "is dismissed");
}

static void test_covered_by_open_incident(void **state)
{
    fixture_t *f = *state;
    set_mode(f, "auto");
    Hotline__DeclareIncident *d = calloc(1, sizeof *d);
    hotline__declare_incident__init(d);
    d->category_prefix = strdup("W01");
    d->summary = strdup("main burst on Main St");
    d->area = calloc(1, sizeof *d->area);
    hotline__incident_area__init(d->area);
    d->area->district = strdup("Gulou");
    d->area->street = strdup("Main St");
    Hotline__Command *cmd = service_command_new(HOTLINE__COMMAND__BODY_DECLARE_INCIDENT, &d->base);
    answer_t inc = run(f, cmd);
    protobuf_c_message_free_unpacked(&cmd->base, NULL);
    assert_int_equal(inc.status, HOTLINE__STATUS__OK);
    for (size_t i = 0; i < 3; i++)
        received_on(f, BURST[i], "W0101", "Main St");
    hotspot(f, "HS-20251125-001", "Main St", BURST, 3);
    assert_int_equal(events_of(f, HOTLINE__EVENT__BODY_INCIDENT_DECLARED), 1); /* not again */
    Hotline__Event *ev = event_at(f, evlog_head(f->log));
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_HOTSPOT_ACCEPTED);
    assert_string_equal(ev->hotspot_accepted->how, "covered");
    assert_string_equal(ev->hotspot_accepted->incident_id, inc.incident_id);
    assert_int_equal(ev->hotspot_accepted->linked, 3);
    hotline__event__free_unpacked(ev, NULL);
    expect_state(f, "T2", HOTLINE__TICKET_STATUS__TICKET_LINKED);
}

static void test_auto_keeps_wide_and_off_ignores(void **state)
{
    fixture_t *f = *state;
    set_mode(f, "off");
    uint64_t head = evlog_head(f->log);
    hotspot(f, "HS-20251125-002", "Main St", NULL, 0);
    assert_int_equal(evlog_head(f->log), head);
    expect_refusal(accept_hs(f, "HS-20251125-002"), HOTLINE__STATUS__CONFLICT,
                   "acceptHotspot.hotspotId", "is ignored");
    set_mode(f, "auto");
    hotspot(f, "HS-20251125-001", NULL, NULL, 0); /* the whole district: wide */
    assert_int_equal(evlog_head(f->log), head);   /* kept as a suggestion */
    /* A supervisor may accept it (no principal here: auth off, as for a supervisor). */
    answer_t a = accept_hs(f, "HS-20251125-001");
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    char err[200];
    assert_int_equal(dispatch_hotspot_check(f->cfg, err, sizeof err), 0);
    set_mode(f, "sometimes");
    assert_int_equal(dispatch_hotspot_check(f->cfg, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "hotspots.mode"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auto_declares_and_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suggest_accept_dismiss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_covered_by_open_incident, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_keeps_wide_and_off_ignores, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
