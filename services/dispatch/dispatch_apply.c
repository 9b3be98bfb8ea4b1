/* dispatch_apply: the events dispatch follows, applied inside the transaction that also
 * stores the feed cursor.
 *
 * The cursor already makes each event apply once; every transition is still guarded by the
 * state it starts from (a ticket is dispatched only if it has no assignment, a rework only
 * for a REPLIED ticket in the round that was rated), so replaying a feed from an old cursor
 * can never dispatch, reopen or close anything twice. An event that cannot apply is logged
 * and skipped, never returned as an error: an error would roll the batch back and retry it
 * forever, stopping the feed behind one bad event. Only store failures are returned.
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* Read the ticket's assignment for a follow-up event. Returns 0 (found), 1 (skip: logged),
 * or a store error. */
static int load_for_event(dispatch_t *self, MDB_txn *txn, const Hotline__Event *ev,
                          const char *what, dispatch_assignment_t *out)
{
    const char *id = str_or_empty(ev->ticket_id);
    int rc = dispatch_assignment_get(self, txn, id, out);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT) {
        SLOG_WARN("event_ignored",
                  "kind=%s ticket=%s source=%s seq=%llu reason=\"%s\" "
                  "next=\"skipped\"",
                  what, id, str_or_empty(ev->source), (unsigned long long)ev->seq,
                  rc == HL_ENOTFOUND ? "no assignment for this ticket" : "assignment unreadable");
        return 1;
    }
    return rc;
}

static int on_received(dispatch_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    const Hotline__Ticket *t = ev->ticket_received->ticket;
    const char *id = t && t->id && *t->id ? t->id : str_or_empty(ev->ticket_id);
    if (!*id || strlen(id) > DISPATCH_TICKET_ID_MAX) {
        SLOG_WARN("ticket_not_dispatched",
                  "source=%s seq=%llu reason=\"no usable ticket id "
                  "(empty or over %d bytes)\" next=\"skipped\"",
                  str_or_empty(ev->source), (unsigned long long)ev->seq, DISPATCH_TICKET_ID_MAX);
        return 0;
    }
    dispatch_assignment_t old;
    int rc = dispatch_assignment_get(self, txn, id, &old);
    if (rc == 0 || rc == HL_ECORRUPT) {
        /* Exactly once: a ticket that has an assignment is never routed again. */
        SLOG_DEBUG("ticket_already_dispatched", "ticket=%s seq=%llu", id,
                   (unsigned long long)ev->seq);
        return 0;
    }
    if (rc != HL_ENOTFOUND)
        return rc;

    if (t && t->outcome &&
        t->outcome->disposition != HOTLINE__DISPOSITION__DISPOSITION_DISPATCH) {
        /* Closed at the door (answered, referred, not accepted): nothing to route. */
        SLOG_DEBUG("ticket_closed_at_intake", "ticket=%s", id);
        return 0;
    }
    const char *category = t ? str_or_empty(t->category_code) : "";
    const Hotline__Location *loc = t ? t->location : NULL;
    const char *district = loc ? str_or_empty(loc->district) : "";
    dispatch_where_t where = {
        .category = category,
        .district = district,
        .street = loc ? loc->street : NULL,
        .community = loc ? loc->community : NULL,
        .urgent = t && dispatch_urgent(t->urgency),
    };
    dispatch_match_t m;
    dispatch_catalogue_route(self->cat, &where, &m);
    uint32_t route_no; /* the record keeps which edition and rule routed the ticket */
    if ((rc = dispatch_route_of(self, &m, &m.route, &route_no)))
        return rc;
    int64_t now = hclock_now_ms(self->clock);
    const char *incident = t ? str_or_empty(t->incident_id) : "";
    const Hotline__Contact *c = t ? t->contact : NULL;
    bool confidential = t && t->confidential;
    dispatch_assignment_t a = {
        .ticket_id = id,
        .unit = m.unit,
        .category_code = category,
        .district = district,
        .route = m.route,
        .route_no = route_no,
        .state = HOTLINE__TICKET_STATUS__TICKET_DISPATCHED,
        /* Unspecified means normal (ticket.proto): say so, so no consumer has to. */
        .urgency = t && t->urgency != HOTLINE__URGENCY__URGENCY_UNSPECIFIED
                       ? t->urgency
                       : HOTLINE__URGENCY__URGENCY_NORMAL,
        .received_ms = t && t->received_ms ? t->received_ms : ev->time_ms,
        .dispatched_ms = now,
        .updated_ms = now,
        .caller_name = confidential || !c ? "" : str_or_empty(c->name),
        .caller_phone = confidential || !c ? "" : str_or_empty(c->phone),
        .confidential = confidential,
        .incident_id = incident,
        .street = t && t->location ? str_or_empty(t->location->street) : "",
        .community = t && t->location ? str_or_empty(t->location->community) : "",
    };
    if (*incident) {
        /* Joined a known incident at the door: the incident's unit holds it; it is fixed
         * with the incident, not dispatched on its own. But intake may have joined it in
         * the moments before it learnt the incident had closed (or the record may be
         * unreadable): such a ticket is dispatched like any other, never left waiting. */
        arena_t *arena;
        if (arena_create(&arena))
            return HL_ENOMEM;
        Hotline__IncidentDeclared *inc;
        bool closed = true;
        rc = dispatch_incident_get(self, txn, incident, arena, &inc, &closed);
        if (rc && rc != HL_ENOTFOUND && rc != HL_ECORRUPT) {
            arena_destroy(&arena);
            return rc;
        }
        if (rc == 0 && !closed) {
            if (inc->unit && *inc->unit)
                a.unit = inc->unit;
            a.state = HOTLINE__TICKET_STATUS__TICKET_LINKED;
            a.route = "incident";
            a.route_no = 0;
            a.dispatched_ms = 0;
            rc = dispatch_assignment_put(self, txn, &a, NULL);
            if (!rc) /* the close replies it with the others; unlink routes it afresh */
                rc = dispatch_link_index_put(self, txn, incident, id, "");
            arena_destroy(&arena);
            return rc;
        }
        arena_destroy(&arena);
        SLOG_INFO("incident_gone_dispatching", "ticket=%s incident=%s reason=\"%s\"", id,
                  incident, rc == 0 ? "closed" : rc == HL_ENOTFOUND ? "unknown" : "unreadable");
        a.incident_id = "";
    }
    rc = dispatch_workorder_remember(self, txn, id, t); /* what a crew's work order says */
    if (!rc)
        rc = dispatch_assignment_put(self, txn, &a, NULL);
    if (!rc)
        rc = dispatch_assists_put(self, txn, id, m.assist, m.nassist);
    if (rc)
        return rc;
    Hotline__TicketDispatched td = HOTLINE__TICKET_DISPATCHED__INIT;
    td.catalogue_version = m.version;
    td.rule_line = m.line;
    td.n_assisting_units = m.nassist;
    td.assisting_units = (char **)m.assist;
    td.unit = (char *)m.unit;
    td.category_code = (char *)category;
    td.urgency = a.urgency;
    td.district = (char *)district;
    td.round = 0;
    td.route = (char *)m.route;
    td.appeal_type = t ? t->appeal_type : HOTLINE__APPEAL_TYPE__APPEAL_TYPE_UNSPECIFIED;
    td.channel = t ? t->channel : HOTLINE__CHANNEL__CHANNEL_UNSPECIFIED;
    Hotline__Event out = HOTLINE__EVENT__INIT;
    out.ticket_id = (char *)id;
    out.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
    out.ticket_dispatched = &td;
    SLOG_DEBUG("ticket_dispatched", "ticket=%s unit=%s route=\"%s\"", id, m.unit, m.route);
    return evlog_append(self->log, txn, &out);
}

int dispatch_apply_intake(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    dispatch_t *self = ctx;
    if (ev->body_case == HOTLINE__EVENT__BODY_TICKET_RECEIVED && ev->ticket_received)
        return on_received(self, txn, ev);
    return 0; /* intake's other events are not dispatch's business */
}

static int on_rework(dispatch_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    const Hotline__ReworkRequested *rr = ev->rework_requested;
    dispatch_assignment_t old;
    int rc = load_for_event(self, txn, ev, "rework_requested", &old);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (old.state != HOTLINE__TICKET_STATUS__TICKET_REPLIED || old.round != rr->round) {
        if (old.round > rr->round) /* this rating's rework already happened */
            SLOG_DEBUG("rework_already_applied", "ticket=%s round=%u", ev->ticket_id,
                       (unsigned)rr->round);
        else
            SLOG_WARN("event_ignored",
                      "kind=rework_requested ticket=%s round=%u state=%s "
                      "current_round=%u reason=\"only a REPLIED ticket is reworked, in the "
                      "round that was rated\" next=\"skipped\"",
                      ev->ticket_id, (unsigned)rr->round, dispatch_state_name(old.state),
                      (unsigned)old.round);
        return 0;
    }
    /* The holder gets it back, whatever unit the callback names. Copy it: the record's
     * strings are LMDB's and move with the first write. */
    char unit[DISPATCH_UNIT_ID_MAX + 1];
    snprintf(unit, sizeof unit, "%s", old.unit);
    if (rr->unit && *rr->unit && strcmp(rr->unit, unit) != 0)
        SLOG_WARN("rework_unit_differs",
                  "ticket=%s holder=%s named=%s next=\"reopened at the "
                  "holder\"",
                  ev->ticket_id, unit, rr->unit);
    int64_t now = hclock_now_ms(self->clock);
    dispatch_assignment_t a = old;
    a.state = HOTLINE__TICKET_STATUS__TICKET_REWORK;
    a.round = old.round + 1;
    a.reason = str_or_empty(rr->reason);
    a.reopened_ms = now;
    a.signed_ms = 0; /* the new round has to be signed for and replied to again */
    a.replied_ms = 0;
    a.contacted_ms = 0; /* and the citizen contacted again */
    a.updated_ms = now;
    rc = dispatch_assignment_put(self, txn, &a, &old);
    if (rc)
        return rc;
    Hotline__TicketReopened tr = HOTLINE__TICKET_REOPENED__INIT;
    tr.unit = unit;
    tr.round = a.round;
    tr.reason = (char *)str_or_empty(rr->reason);
    Hotline__Event out = HOTLINE__EVENT__INIT;
    out.ticket_id = ev->ticket_id;
    out.body_case = HOTLINE__EVENT__BODY_TICKET_REOPENED;
    out.ticket_reopened = &tr;
    return evlog_append(self->log, txn, &out);
}

static int on_closed(dispatch_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    dispatch_assignment_t old;
    int rc = load_for_event(self, txn, ev, "ticket_closed", &old);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (old.state == HOTLINE__TICKET_STATUS__TICKET_CLOSED)
        return 0;
    int64_t now = hclock_now_ms(self->clock);
    dispatch_assignment_t a = old;
    a.state = HOTLINE__TICKET_STATUS__TICKET_CLOSED;
    a.closed_ms = now;
    a.updated_ms = now;
    return dispatch_assignment_put(self, txn, &a, &old);
}

/* A second unsatisfied result: the ticket is under supervision (督办) from now on. */
static int on_supervision(dispatch_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    const char *id = ev->ticket_id ? ev->ticket_id : "";
    dispatch_assignment_t old;
    int rc = *id ? dispatch_assignment_get(self, txn, id, &old) : HL_ENOTFOUND;
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
        return 0; /* a ticket dispatch never held: nothing to mark */
    if (rc || old.supervised)
        return rc;
    dispatch_assignment_t a = old;
    a.supervised = true;
    a.updated_ms = hclock_now_ms(self->clock);
    return dispatch_assignment_put(self, txn, &a, &old);
}

int dispatch_apply_callback(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    dispatch_t *self = ctx;
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_SUPERVISION_REQUESTED:
        return ev->supervision_requested ? on_supervision(self, txn, ev) : 0;
    case HOTLINE__EVENT__BODY_REWORK_REQUESTED:
        return ev->rework_requested ? on_rework(self, txn, ev) : 0;
    case HOTLINE__EVENT__BODY_TICKET_CLOSED: return on_closed(self, txn, ev);
    default: return 0; /* scheduling, attempts and ratings change nothing at dispatch */
    }
}
