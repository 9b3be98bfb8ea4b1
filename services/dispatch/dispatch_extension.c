/* dispatch_extension: a unit asks for more time to reply (延期), a supervisor rules on it.
 *
 *   POST /v1/tickets/{id}/extension  {"workingDays", "reason"}   the holding unit
 *   GET  /v1/extensions                                          the pending requests
 *   POST /v1/extensions/{id}         {"approve", "note"}         a supervisor's ruling
 *
 * The holding unit asks before it replies and before the reply is due, for 1 or more working
 * days; a round's approved extensions add up to at most extensionMaxWorkingDays (10). The
 * deadline is sla's: dispatch follows sla's feed for it ("reply_due": ticket id -> the round,
 * its reply due time, the working days granted in it and its policy's limits; record layouts
 * at due_get), so a request after the deadline is
 * refused at once. When sla has not yet told dispatch the deadline (it lags), the request is
 * taken and sla still moves only a running clock. An approved extension is an
 * ExtensionReviewed event; sla moves the reply deadline by the days asked (SlaClockExtended),
 * which comes back here as the new due. Pending requests wait in "extensions" (ticket id ->
 * packed ExtensionRequested). Loop thread. */
#include "dispatch_internal.h"

#include "arena.h"
#include "bytes.h"
#include "hl_error.h"
#include "mask.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUE_BYTES_V1 16 /* BE32 round, BE64 due ms, BE32 days granted */
#define DUE_BYTES_V2 28 /* and BE64 return window end, BE32 extension limit */
#define DUE_V3 0xff     /* first byte of version 3 (a version 1 or 2 round never starts so:
                         * rounds are small): then varints, round, due, days granted, the
                         * return window end as a zigzag difference from due, the limit */

/* Per ticket, from sla's feed: the round's reply deadline and what its policy allows. A record
 * of 16 bytes (before policies said) has no policy part. */
typedef struct reply_due {
    uint32_t round;
    int64_t due_ms; /* 0: not known yet */
    uint32_t granted; /* working days approved in this round */
    int64_t return_until_ms;      /* the policy's return window ends (0: dispatch's own) */
    uint32_t extension_max_days;  /* the policy's extension limit (0: dispatch's own) */
} reply_due_t;

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The ticket's reply deadline as dispatch knows it; {0} when it knows none. Versions 1 and 2
 * are fixed-width (DUE_BYTES_V1, DUE_BYTES_V2); version 3 (DUE_V3) is compact. */
static int due_get(dispatch_t *self, MDB_txn *txn, const char *id, reply_due_t *out)
{
    *out = (reply_due_t){0};
    MDB_val v;
    int rc = store_get(txn, self->reply_due, id, strlen(id), &v);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    const uint8_t *p = v.mv_data, *end = p + v.mv_size;
    if (v.mv_size > 0 && p[0] == DUE_V3) {
        uint64_t f[5];
        p++;
        for (int i = 0; i < 5; i++)
            if (varint_get(&p, end, &f[i]))
                return HL_ECORRUPT;
        if (f[0] > UINT32_MAX || f[2] > UINT32_MAX || f[4] > UINT32_MAX)
            return HL_ECORRUPT;
        *out = (reply_due_t){.round = (uint32_t)f[0],
                             .due_ms = (int64_t)f[1],
                             .granted = (uint32_t)f[2],
                             .return_until_ms = f[3] ? zigzag_undiff((int64_t)f[1], f[3] - 1) : 0,
                             .extension_max_days = (uint32_t)f[4]};
        return 0;
    }
    if (v.mv_size != DUE_BYTES_V2 && v.mv_size != DUE_BYTES_V1)
        return HL_ECORRUPT;
    out->round = be32_get(p);
    out->due_ms = (int64_t)store_be64_get(p + 4);
    out->granted = be32_get(p + 12);
    if (v.mv_size == DUE_BYTES_V2) {
        out->return_until_ms = (int64_t)store_be64_get(p + 16);
        out->extension_max_days = be32_get(p + 24);
    }
    return 0;
}

static int due_put(dispatch_t *self, MDB_txn *txn, const char *id, const reply_due_t *d)
{
    uint8_t buf[1 + 5 * VARINT_MAX];
    size_t n = 0;
    buf[n++] = DUE_V3;
    /* The return window end, 0 when the policy sets none; else 1 + its distance from due. */
    uint64_t until = d->return_until_ms ? zigzag_diff(d->due_ms, d->return_until_ms) : 0;
    const uint64_t f[5] = {d->round, (uint64_t)d->due_ms, d->granted,
                           until && until < UINT64_MAX ? until + 1 : 0, d->extension_max_days};
    for (int i = 0; i < 5; i++)
        n += varint_put(buf + n, f[i]);
    return store_put(txn, self->reply_due, id, strlen(id), buf, n, 0);
}

/* ---- sla's feed: the reply deadlines ----------------------------------------------------- */

int dispatch_apply_sla(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    dispatch_t *self = ctx;
    const char *id = str_or_empty(ev->ticket_id);
    uint32_t round;
    int64_t due;
    const Hotline__SlaClockStarted *started = NULL;
    if (ev->body_case == HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED && ev->sla_clock_started &&
        ev->sla_clock_started->clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY) {
        started = ev->sla_clock_started;
        round = started->round;
        due = started->due_ms;
    } else if (ev->body_case == HOTLINE__EVENT__BODY_SLA_CLOCK_EXTENDED &&
               ev->sla_clock_extended &&
               ev->sla_clock_extended->clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY) {
        round = ev->sla_clock_extended->round;
        due = ev->sla_clock_extended->due_ms;
    } else if (ev->body_case == HOTLINE__EVENT__BODY_SLA_CLOCK_RESUMED &&
               ev->sla_clock_resumed &&
               ev->sla_clock_resumed->clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY) {
        round = ev->sla_clock_resumed->round; /* a hold moved it */
        due = ev->sla_clock_resumed->due_ms;
    } else {
        return dispatch_ladder_notify(self, txn, ev); /* a card for a crew, or nothing */
    }
    if (!*id || strlen(id) > DISPATCH_TICKET_ID_MAX)
        return 0;
    reply_due_t d;
    int rc = due_get(self, txn, id, &d);
    if (rc == HL_ECORRUPT)
        d = (reply_due_t){0};
    else if (rc)
        return rc;
    if (round < d.round)
        return 0; /* an old round's clock, read late */
    if (round > d.round)
        d = (reply_due_t){.round = round};
    d.due_ms = due;
    if (started) { /* the round's policy, as sla matched it */
        d.return_until_ms = started->return_until_ms;
        d.extension_max_days = started->extension_max_working_days;
    }
    return due_put(self, txn, id, &d);
}

/* ---- pending requests ---------------------------------------------------------------------- */

static int pending_get(dispatch_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                       Hotline__ExtensionRequested **out)
{
    return dispatch_pending_get(txn, self->extensions, id,
                                &hotline__extension_requested__descriptor, arena,
                                (ProtobufCMessage **)out);
}

static int pending_put(dispatch_t *self, MDB_txn *txn, const char *id,
                       const Hotline__ExtensionRequested *r)
{
    return dispatch_pending_put(txn, self->extensions, id, &r->base);
}

/* A round's extension limit: its policy's (sla's feed), else dispatch's own setting. */
static uint32_t max_days(const dispatch_t *self, const reply_due_t *d)
{
    return d && d->extension_max_days ? d->extension_max_days
                                      : self->cfg->extension_max_working_days;
}

int dispatch_return_until(dispatch_t *self, MDB_txn *txn, const char *id, uint32_t round,
                          int64_t *until_ms)
{
    reply_due_t d;
    int rc = due_get(self, txn, id, &d);
    *until_ms = rc == 0 && d.round == round ? d.return_until_ms : 0;
    return rc == HL_ECORRUPT ? 0 : rc;
}

int dispatch_request_extension(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                               cmd_reply_t *reply)
{
    const Hotline__RequestExtension *rq = cmd->request_extension;
    const char *id = str_or_empty(rq->ticket_id), *unit = str_or_empty(rq->unit);
    const char *reason = str_or_empty(rq->reason);
    const Hotline__Status CONFLICT = HOTLINE__STATUS__CONFLICT;
    if (!dispatch_text_ok(reply, "requestExtension.reason", reason, DISPATCH_NOTE_MAX_CHARS,
                          "say why the reply needs more time"))
        return 0;
    if (rq->working_days < 1)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "requestExtension.workingDays",
                          "at least 1 working day");
    dispatch_assignment_t a;
    int rc = dispatch_load_held(self, txn, cmd, "requestExtension", id, &unit, reply, &a);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    if (a.state != HOTLINE__TICKET_STATUS__TICKET_DISPATCHED &&
        a.state != HOTLINE__TICKET_STATUS__TICKET_SIGNED &&
        a.state != HOTLINE__TICKET_STATUS__TICKET_REWORK)
        return cmd_refuse(reply, CONFLICT, "requestExtension.ticketId",
                          "ticket %s is %s: more time is asked before the reply", id,
                          dispatch_state_name(a.state));
    MDB_val v;
    rc = store_get(txn, self->extensions, id, strlen(id), &v);
    if (rc == 0)
        return cmd_refuse(reply, CONFLICT, "requestExtension.ticketId",
                          "ticket %s already waits for a supervisor's ruling on an extension",
                          id);
    if (rc != HL_ENOTFOUND)
        return rc;
    reply_due_t d;
    if ((rc = due_get(self, txn, id, &d)))
        return rc;
    if (d.round != a.round)
        d = (reply_due_t){.round = a.round}; /* sla has not started this round's clock yet */
    uint32_t most = max_days(self, &d); /* the round's policy's, else the centre's */
    if (most == 0)
        return cmd_refuse(reply, CONFLICT, "requestExtension",
                          "no extensions are granted for ticket %s (its policy's "
                          "extensionMaxWorkingDays, or the centre's, is 0)", id);
    if (rq->working_days > most)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "requestExtension.workingDays",
                          "1 to %u working days", most);
    int64_t now = hclock_now_ms(self->clock);
    if (d.due_ms && now >= d.due_ms) {
        char when[48];
        calendar_format_local(self->cal, d.due_ms, when, sizeof when);
        return cmd_refuse(reply, CONFLICT, "requestExtension.ticketId",
                          "the reply on ticket %s was due %s: an extension is asked before the "
                          "deadline", id, when);
    }
    if (d.granted + rq->working_days > most)
        return cmd_refuse(reply, CONFLICT, "requestExtension.workingDays",
                          "round %u already has %u working days granted; at most %u in all",
                          (unsigned)a.round, (unsigned)d.granted, (unsigned)most);
    Hotline__ExtensionRequested body = HOTLINE__EXTENSION_REQUESTED__INIT;
    body.unit = (char *)unit;
    body.round = a.round;
    body.working_days = rq->working_days;
    body.reason = (char *)reason;
    body.reply_due_ms = d.due_ms;
    rc = pending_put(self, txn, id, &body);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_EXTENSION_REQUESTED;
    ev.extension_requested = &body;
    if (!rc)
        rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, unit, a.state, a.round);
}

int dispatch_review_extension(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                              cmd_reply_t *reply)
{
    const Hotline__ReviewExtension *rv = cmd->review_extension;
    const char *id = str_or_empty(rv->ticket_id), *note = str_or_empty(rv->note);
    if (!*id || strlen(id) > DISPATCH_TICKET_ID_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "reviewExtension.ticketId",
                          "required: the id of a ticket with a pending extension "
                          "(GET /v1/extensions lists them)");
    if (!dispatch_text_ok(reply, "reviewExtension.note", note, DISPATCH_NOTE_MAX_CHARS,
                          rv->approve ? NULL : "tell the unit why the deadline stands"))
        return 0;
    Hotline__ExtensionRequested *pending;
    int rc = pending_get(self, txn, id, reply->arena, &pending);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "reviewExtension.ticketId",
                          "ticket %s has no pending extension (GET /v1/extensions lists them)",
                          id);
    if (rc)
        return rc;
    dispatch_assignment_t a;
    if ((rc = dispatch_assignment_get(self, txn, id, &a)))
        return rc;
    bool current = a.round == pending->round && strcmp(a.unit, pending->unit) == 0 &&
                   (a.state == HOTLINE__TICKET_STATUS__TICKET_DISPATCHED ||
                    a.state == HOTLINE__TICKET_STATUS__TICKET_SIGNED ||
                    a.state == HOTLINE__TICKET_STATUS__TICKET_REWORK);
    if (rv->approve && !current)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "reviewExtension.ticketId",
                          "ticket %s is %s with unit %s now: the extension asked in round %u no "
                          "longer applies (reject it to close it)", id,
                          dispatch_state_name(a.state), a.unit, (unsigned)pending->round);
    Hotline__TicketStatus state = a.state;
    if (rv->approve) {
        reply_due_t d;
        if ((rc = due_get(self, txn, id, &d)))
            return rc;
        if (d.round != pending->round)
            d = (reply_due_t){.round = pending->round};
        d.granted += pending->working_days;
        if ((rc = due_put(self, txn, id, &d)))
            return rc;
    }
    if ((rc = store_del(txn, self->extensions, id, strlen(id))))
        return rc;
    Hotline__ExtensionReviewed body = HOTLINE__EXTENSION_REVIEWED__INIT;
    body.unit = pending->unit;
    body.round = pending->round;
    body.approved = rv->approve;
    body.working_days = pending->working_days;
    body.note = (char *)note;
    body.by = cmd->by ? cmd->by->name : (char *)str_or_empty(cmd->actor);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_EXTENSION_REVIEWED;
    ev.extension_reviewed = &body;
    rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, pending->unit, state, pending->round);
}

/* ---- the pending list ---------------------------------------------------------------------- */

static json_t *pending_json(const char *id, size_t id_len, const ProtobufCMessage *msg)
{
    const Hotline__ExtensionRequested *r = (const Hotline__ExtensionRequested *)msg;
    char due[24];
    snprintf(due, sizeof due, "%lld", (long long)r->reply_due_ms);
    return json_pack("{s:s%, s:s, s:I, s:I, s:o*, s:s}", "ticketId", id, id_len, "unit", r->unit,
                     "round", (json_int_t)r->round, "workingDays", (json_int_t)r->working_days,
                     "reason", dispatch_masked_json(r->reason), "replyDueMs", due);
}

int dispatch_extensions_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out)
{
    return dispatch_pending_list(txn, self->extensions, &hotline__extension_requested__descriptor,
                                 limit, pending_json, out);
}
