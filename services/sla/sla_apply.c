/* sla_apply: the dispatch feed, applied inside the transaction that also stores the feed cursor.
 * Every clock instant comes from the event's own time (Event.time_ms, dispatch's clock), never
 * from when sla happens to read it, so a backlog read late still yields the right due times and
 * the right on-time verdicts. Loop thread. */
#include "sla_record.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

#define EVENT_TIME_MIN_MS 946684800000LL  /* 2000-01-01T00:00:00Z */
#define EVENT_TIME_MAX_MS 7258118400000LL /* 2200-01-01T00:00:00Z */

/* The event's own time; one missing or outside 2000..2200 (a bad producer clock; arithmetic on
 * it could overflow) is replaced by sla's, and said. */
static int64_t event_time(sla_t *self, const Hotline__Event *ev)
{
    if (ev->time_ms >= EVENT_TIME_MIN_MS && ev->time_ms <= EVENT_TIME_MAX_MS)
        return ev->time_ms;
    SLOG_WARN("sla_event_time_unusable", "ticket=%s seq=%llu time_ms=%lld next=\"using sla's "
              "clock\"", ev->ticket_id, (unsigned long long)ev->seq, (long long)ev->time_ms);
    return hclock_now_ms(self->clock);
}

static int on_dispatched(sla_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    const Hotline__TicketDispatched *d = ev->ticket_dispatched;
    sla_round_in_t in = {
        .ticket_id = ev->ticket_id,
        .round = d->round,
        .start_ms = event_time(self, ev),
        .unit = d->unit,
        .category = d->category_code,
        .urgency = d->urgency,
        .appeal_type = d->appeal_type,
        .channel = d->channel,
        .keep = true,
    };
    return sla_store_start_round(self, txn, &in);
}

static int on_reopened(sla_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    const Hotline__TicketReopened *r = ev->ticket_reopened;
    sla_inputs_t t;
    int rc = sla_inputs_get(self, txn, ev->ticket_id, &t);
    if (rc)
        return rc;
    if (!t.known)
        SLOG_WARN("sla_reopened_unknown", "ticket=%s round=%u reason=\"never saw it dispatched "
                  "(trimmed before sla followed?)\" next=\"catch-all policy\"", ev->ticket_id,
                  r->round);
    const char *unit = r->unit && *r->unit ? r->unit : t.unit;
    sla_round_in_t in = {
        .ticket_id = ev->ticket_id,
        .round = r->round,
        .start_ms = event_time(self, ev),
        .unit = unit,
        .category = t.category,
        .urgency = t.urgency,
        .appeal_type = t.appeal_type,
        .channel = t.channel,
        .keep = true,
    };
    return sla_store_start_round(self, txn, &in);
}

/* Stop a clock; one that never started (a round sla did not see) is logged, not an error. */
static int stop(sla_t *self, MDB_txn *txn, const Hotline__Event *ev, uint32_t round,
                Hotline__SlaClock clock, bool quiet)
{
    int rc = sla_store_stop(self, txn, ev->ticket_id, round, clock, event_time(self, ev));
    if (rc == HL_ENOTFOUND) {
        if (!quiet)
            SLOG_INFO("sla_stop_without_clock", "ticket=%s round=%u clock=%s "
                      "next=\"ignored\"", ev->ticket_id, round, sla_clock_label(clock));
        return 0;
    }
    return rc;
}

/* The round's clocks stop without a verdict: the ticket joined an incident (the incident is
 * what the caller waits for, and its clock judges the ticket's reply), or a supervisor
 * approved its termination. */
static int suspend_round(sla_t *self, MDB_txn *txn, const Hotline__Event *ev, uint32_t round)
{
    int64_t at = event_time(self, ev);
    static const Hotline__SlaClock clocks[SLA_NROUND_CLOCKS] = SLA_ROUND_CLOCKS;
    for (int i = 0; i < SLA_NROUND_CLOCKS; i++) {
        int rc = sla_store_suspend(self, txn, ev->ticket_id, round, clocks[i], at);
        if (rc && rc != HL_ENOTFOUND)
            return rc;
    }
    return 0;
}

/* A position in dispatch's log applied once: key "<tag>/<ticket>\0" -> the last seq applied
 * (BE64). False when seq is not newer (an old cursor read it again): skip it. */
static int newer_once(sla_t *self, MDB_txn *txn, char tag, const Hotline__Event *ev, bool *newer)
{
    uint8_t key[2 + SLA_TICKET_ID_MAX + 1];
    size_t tlen = strlen(ev->ticket_id);
    key[0] = (uint8_t)tag;
    key[1] = '/';
    memcpy(key + 2, ev->ticket_id, tlen + 1);
    MDB_val v;
    int rc = store_get(txn, self->meta, key, tlen + 3, &v);
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    *newer = rc == HL_ENOTFOUND || v.mv_size != 8 || store_be64_get(v.mv_data) < ev->seq;
    if (!*newer)
        return 0;
    uint8_t seq[8];
    store_be64_put(seq, ev->seq);
    return store_put(txn, self->meta, key, tlen + 3, seq, sizeof seq, 0);
}

/* On hold / resumed: the round's clocks pause / run on, each hold event applied once and in
 * order however often dispatch's feed is read. */
static int on_hold(sla_t *self, MDB_txn *txn, const Hotline__Event *ev, uint32_t round,
                   bool resume)
{
    bool newer;
    int rc = newer_once(self, txn, 'h', ev, &newer);
    if (rc || !newer)
        return rc;
    int64_t at = event_time(self, ev);
    static const Hotline__SlaClock clocks[SLA_NROUND_CLOCKS] = SLA_ROUND_CLOCKS;
    for (int i = 0; i < SLA_NROUND_CLOCKS; i++) {
        rc = resume ? sla_store_resume(self, txn, ev->ticket_id, round, clocks[i], at)
                    : sla_store_pause(self, txn, ev->ticket_id, round, clocks[i], at);
        if (rc && rc != HL_ENOTFOUND)
            return rc;
    }
    return 0;
}

/* A reply stops the round's clocks and starts its callback clock (when the policy has one). A
 * reply is also a sign-for and a contact: a unit that replied without signing or calling must
 * not be breached on clocks left running. */
static int on_replied(sla_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    uint32_t round = ev->ticket_replied->round;
    int rc = stop(self, txn, ev, round, HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, true);
    if (!rc)
        rc = stop(self, txn, ev, round, HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE, true);
    if (!rc)
        rc = stop(self, txn, ev, round, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY, false);
    /* A linked ticket (its own clocks suspended) is judged by its incident's clock. */
    if (!rc)
        rc = sla_incident_judge(self, txn, ev->ticket_id, round, event_time(self, ev));
    sla_inputs_t t;
    if (rc || (rc = sla_inputs_get(self, txn, ev->ticket_id, &t)) != 0 || !t.known)
        return rc; /* a ticket sla never saw dispatched: no policy to time the callback by */
    const char *unit = ev->ticket_replied->unit;
    sla_round_in_t in = {
        .ticket_id = ev->ticket_id,
        .round = round,
        .start_ms = event_time(self, ev),
        .unit = unit && *unit ? unit : t.unit,
        .category = t.category,
        .urgency = t.urgency,
        .appeal_type = t.appeal_type,
        .channel = t.channel,
    };
    return sla_store_start_callback(self, txn, &in);
}

/* The ticket closed (callback's outcome, or any other end): its callback clock stops. */
static int on_closed(sla_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    sla_inputs_t t;
    int rc = sla_inputs_get(self, txn, ev->ticket_id, &t);
    if (rc || !t.known)
        return rc;
    return stop(self, txn, ev, t.round, HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK, true);
}

/* Out of the incident, back at a unit: it no longer follows the incident's clock, and the
 * round's clocks start again from now. */
static int on_unlinked(sla_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    const Hotline__TicketUnlinked *u = ev->ticket_unlinked;
    sla_inputs_t t; /* the appeal type and channel, which the unlink lacks */
    int rc = sla_incident_unfollow(self, txn, ev->ticket_id, u->round);
    if (!rc)
        rc = sla_inputs_get(self, txn, ev->ticket_id, &t);
    if (rc)
        return rc;
    sla_round_in_t in = {
        .ticket_id = ev->ticket_id,
        .round = u->round,
        .start_ms = event_time(self, ev),
        .unit = u->unit,
        .category = u->category_code,
        .urgency = u->urgency,
        .appeal_type = t.known ? t.appeal_type : HOTLINE__APPEAL_TYPE__APPEAL_TYPE_UNSPECIFIED,
        .channel = t.known ? t.channel : HOTLINE__CHANNEL__CHANNEL_UNSPECIFIED,
        .keep = true,
    };
    return sla_store_restart_round(self, txn, &in);
}

int sla_apply(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    sla_t *self = ctx;
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_TICKET_LINKED:
    case HOTLINE__EVENT__BODY_TICKET_UNLINKED:
    case HOTLINE__EVENT__BODY_TICKET_DISPATCHED:
    case HOTLINE__EVENT__BODY_TICKET_REOPENED:
    case HOTLINE__EVENT__BODY_TICKET_SIGNED:
    case HOTLINE__EVENT__BODY_TICKET_REPLIED:
    case HOTLINE__EVENT__BODY_TICKET_HELD:
    case HOTLINE__EVENT__BODY_TICKET_RESUMED:
    case HOTLINE__EVENT__BODY_CITIZEN_CONTACTED:
    case HOTLINE__EVENT__BODY_CALLBACK_RATED:
    case HOTLINE__EVENT__BODY_SUPERVISION_REQUESTED:
    case HOTLINE__EVENT__BODY_TICKET_CLOSED:
        break;
    case HOTLINE__EVENT__BODY_EXTENSION_REVIEWED:
        if (ev->extension_reviewed && ev->extension_reviewed->approved)
            break;
        return 0; /* a rejected extension leaves the deadline as it is */
    case HOTLINE__EVENT__BODY_TERMINATION_REVIEWED:
        if (ev->termination_reviewed && ev->termination_reviewed->approved)
            break;
        return 0; /* rejected: the ticket goes on, and so do its clocks */
    /* An incident's own clock (sla_incident.c): its events name no ticket. */
    case HOTLINE__EVENT__BODY_INCIDENT_DECLARED:
        return ev->incident_declared
                   ? sla_incident_start(self, txn, ev->incident_declared, event_time(self, ev))
                   : 0;
    case HOTLINE__EVENT__BODY_INCIDENT_CLOSED:
        return ev->incident_closed ? sla_incident_stop(self, txn, ev->incident_closed->incident_id,
                                                       event_time(self, ev))
                                   : 0;
    default:
        return 0; /* not about deadlines */
    }
    /* The body's message (one union for every case): an event built without one is skipped. */
    if (!ev->ticket_dispatched)
        return 0;
    size_t tlen = ev->ticket_id ? strlen(ev->ticket_id) : 0;
    if (tlen == 0 || tlen > SLA_TICKET_ID_MAX) {
        SLOG_WARN("sla_event_skipped", "source=%s seq=%llu reason=\"ticket id empty or longer "
                  "than %d bytes\"", ev->source, (unsigned long long)ev->seq,
                  SLA_TICKET_ID_MAX);
        return 0;
    }
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_TICKET_LINKED: {
        /* The ticket follows the incident's clock: no step of its own, and its reply is
         * judged against the incident's deadline (sla_incident.c). */
        const Hotline__TicketLinked *l = ev->ticket_linked;
        if (!l)
            return 0;
        int rc = suspend_round(self, txn, ev, l->round);
        return rc ? rc : sla_incident_follow(self, txn, ev->ticket_id, l->round, l->incident_id);
    }
    case HOTLINE__EVENT__BODY_TERMINATION_REVIEWED:
        return suspend_round(self, txn, ev, ev->termination_reviewed->round);
    case HOTLINE__EVENT__BODY_TICKET_UNLINKED:
        return ev->ticket_unlinked ? on_unlinked(self, txn, ev) : 0;
    case HOTLINE__EVENT__BODY_TICKET_HELD:
        return ev->ticket_held ? on_hold(self, txn, ev, ev->ticket_held->round, false) : 0;
    case HOTLINE__EVENT__BODY_TICKET_RESUMED:
        return ev->ticket_resumed ? on_hold(self, txn, ev, ev->ticket_resumed->round, true) : 0;
    case HOTLINE__EVENT__BODY_TICKET_DISPATCHED:
        return on_dispatched(self, txn, ev);
    case HOTLINE__EVENT__BODY_TICKET_REOPENED:
        return on_reopened(self, txn, ev);
    case HOTLINE__EVENT__BODY_TICKET_SIGNED:
        return stop(self, txn, ev, ev->ticket_signed->round, HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN,
                    false);
    case HOTLINE__EVENT__BODY_CITIZEN_CONTACTED:
        /* The first contact of a round stops its response clock (a policy without one has
         * none to stop). */
        return ev->citizen_contacted
                   ? stop(self, txn, ev, ev->citizen_contacted->round,
                          HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE, true)
                   : 0;
    case HOTLINE__EVENT__BODY_CALLBACK_RATED:
        return ev->callback_rated ? stop(self, txn, ev, ev->callback_rated->round,
                                         HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK, true)
                                  : 0;
    case HOTLINE__EVENT__BODY_SUPERVISION_REQUESTED:
        return sla_supervision_requested(self, txn, ev);
    case HOTLINE__EVENT__BODY_TICKET_CLOSED:
        return on_closed(self, txn, ev);
    case HOTLINE__EVENT__BODY_EXTENSION_REVIEWED: {
        const Hotline__ExtensionReviewed *x = ev->extension_reviewed;
        /* An extension adds to the deadline, so it must apply once even if dispatch's feed
         * is read again from an old cursor: each one applied is remembered by its position
         * in dispatch's log. */
        uint8_t key[2 + SLA_TICKET_ID_MAX + 1 + 8];
        size_t klen = 0;
        key[klen++] = 'x';
        key[klen++] = '/';
        memcpy(key + klen, ev->ticket_id, tlen + 1);
        klen += tlen + 1;
        store_be64_put(key + klen, ev->seq);
        klen += 8;
        MDB_val seen;
        int rc = store_get(txn, self->meta, key, klen, &seen);
        if (rc == 0)
            return 0;
        if (rc != HL_ENOTFOUND)
            return rc;
        if ((rc = store_put(txn, self->meta, key, klen, "", 0, 0)))
            return rc;
        rc = sla_store_extend(self, txn, ev->ticket_id, x->round,
                              HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY, x->working_days);
        if (rc == HL_ENOTFOUND || rc == HL_ECONFLICT) {
            SLOG_INFO("sla_extension_not_applied", "ticket=%s round=%u reason=\"%s\" "
                      "next=\"ignored\"", ev->ticket_id, x->round,
                      rc == HL_ENOTFOUND ? "no reply clock for that round"
                                         : "the reply clock has stopped");
            return 0;
        }
        return rc;
    }
    default:
        return on_replied(self, txn, ev);
    }
}
