/* callback_promise: callbacks at a time agreed with the citizen ("call me back after 18:00
 * tomorrow"). PromiseCallback, from the operator who took the citizen's call, the agent who
 * called them or a supervisor, moves the ticket's pending callback to that instant: the
 * promise wins over the policy's time, earlier or later, since the citizen asked for it. The
 * task goes back on the shared scheduler for the instant (out of the queue, its claim
 * released) and is not subject to the anti-fatigue cap.
 *
 * Before the unit replies there is no task: the promise is kept in `promises` (ticket id ->
 * at_ms (be64) + by NUL note) and taken when the reply schedules the callback, if its instant
 * is still after the reply (else the policy's time applies: the citizen's "after" has passed
 * and the next working day's call hour is the centre's usual time). A pending callback
 * cancelled by a reopening hands its promise on to the next round the same way. The caller's
 * one call about an incident takes a promise given on any of the tickets it covers, before the
 * reply (kept, then moved onto the call when the ticket joins it) or after.
 *
 * Instants are refused in the past or more than CALLBACK_PROMISE_MAX_DAYS ahead. The time is
 * atMs (UTC ms) or at (RFC 3339: "2026-12-08T18:00:00+08:00", "2026-12-08T10:00:00Z"). The
 * note goes whole to the agent handed the call; in events, views and the command's answer its
 * phone numbers are masked. Runs in the command's transaction. Loop thread. */
#include "callback_survey.h"

#include "hl_error.h"
#include "mask.h"
#include "slog.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

/* ---- RFC 3339 ---- */

/* n decimal digits at *p (moved past them); -1 when they are not there. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

static bool take(const char **p, const char *set)
{
    if (!**p || !strchr(set, **p))
        return false;
    (*p)++;
    return true;
}

/* "YYYY-MM-DDTHH:MM[:SS[.fff...]]" then "Z" or "+HH:MM" / "-HH:MM" to UTC ms. */
static bool rfc3339_parse(const char *s, int64_t *out)
{
    const char *p = s;
    int y = digits(&p, 4), mo = take(&p, "-") ? digits(&p, 2) : -1;
    int d = take(&p, "-") ? digits(&p, 2) : -1;
    int h = take(&p, "Tt ") ? digits(&p, 2) : -1;
    int mi = take(&p, ":") ? digits(&p, 2) : -1, sec = 0, ms = 0;
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59)
        return false;
    if (take(&p, ":") && ((sec = digits(&p, 2)) < 0 || sec > 59))
        return false;
    if (take(&p, ".")) {
        int scale = 100, n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++, scale /= 10)
            ms += (*p - '0') * scale;
        if (n == 0)
            return false;
    }
    int off = 0;
    if (!take(&p, "Zz")) {
        int sign = *p == '-' ? -1 : 1;
        int oh = take(&p, "+-") ? digits(&p, 2) : -1, om = take(&p, ":") ? digits(&p, 2) : -1;
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return false;
        off = sign * (oh * 60 + om);
    }
    int64_t day = calendar_day_from_ymd(y, mo, d);
    int cy, cm, cd;
    calendar_ymd_from_day(day, &cy, &cm, &cd);
    if (*p || cy != y || cm != mo || cd != d) /* 2026-02-30 */
        return false;
    *out = ((day * 86400 + h * 3600 + mi * 60 + sec) * 1000 + ms) - (int64_t)off * 60000;
    return true;
}

/* ---- the command ---- */

/* Check pc; *at gets the instant. 1 = valid, else 0 having refused (or an error). */
static int check(callback_t *self, const Hotline__PromiseCallback *pc, int64_t now, int64_t *at,
                 cmd_reply_t *reply)
{
    if (!callback_id_ok(pc->ticket_id))
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "ticketId",
                          "the ticket id is required (as quoted to the citizen, e.g. "
                          "20261125-1-000123), at most %d characters",
                          CALLBACK_ID_MAX);
    bool text = pc->at && *pc->at;
    const char *field = text ? "at" : "atMs";
    if (text && pc->at_ms)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "at",
                          "give the agreed time once: atMs (UTC milliseconds) or at (RFC "
                          "3339), not both");
    if (!text && !pc->at_ms)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "atMs",
                          "the time agreed with the citizen is required: atMs (UTC "
                          "milliseconds) or at (RFC 3339, e.g. 2026-12-08T18:00:00+08:00)");
    if (text && !rfc3339_parse(pc->at, at))
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "at",
                          "\"%.40s\" is not an RFC 3339 time: write it as "
                          "2026-12-08T18:00:00+08:00 (or ...Z for UTC)",
                          pc->at);
    if (!text)
        *at = pc->at_ms;
    char when[48], limit[48];
    calendar_format_local(self->cal, *at, when, sizeof when);
    if (*at < now) {
        calendar_format_local(self->cal, now, limit, sizeof limit);
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field,
                          "%s is in the past (it is %s now): give the time ahead that was agreed",
                          when, limit);
    }
    if (*at > now + CALLBACK_PROMISE_MAX_DAYS * DAY_MS) {
        calendar_format_local(self->cal, now + CALLBACK_PROMISE_MAX_DAYS * DAY_MS, limit,
                              sizeof limit);
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field,
                          "%s is more than %d days ahead (after %s): agree on a nearer time", when,
                          CALLBACK_PROMISE_MAX_DAYS, limit);
    }
    long chars = utf8_chars(pc->note ? pc->note : "");
    if (chars < 0)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "note", "must be valid UTF-8");
    if (chars > CALLBACK_NOTE_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "note",
                          "at most %d characters (got %ld): shorten it", CALLBACK_NOTE_MAX, chars);
    return 1;
}

/* CallbackPromised about ticket_id, its note masked. */
static int promised_event(callback_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                          int64_t at, const char *by, const char *note, bool before_reply)
{
    char *masked = mask_phones_dup(note);
    if (!masked)
        return HL_ENOMEM;
    Hotline__CallbackPromised cp = HOTLINE__CALLBACK_PROMISED__INIT;
    cp.round = round;
    cp.at_ms = at;
    cp.by = (char *)by;
    cp.note = masked;
    cp.before_reply = before_reply;
    int rc =
        callback_event_append(self, txn, ticket_id, HOTLINE__EVENT__BODY_CALLBACK_PROMISED, &cp);
    free(masked);
    if (!rc)
        SLOG_DEBUG("callback_promised", "ticket=%s round=%u at_ms=%lld by=%s before_reply=%s",
                   ticket_id, (unsigned)round, (long long)at, by, before_reply ? "true" : "false");
    return rc;
}

/* The pending task t falls due at `at` from now on: off the queue and its claim released,
 * on the scheduler for the instant. */
static int apply(callback_t *self, MDB_txn *txn, task_t *t, int64_t at, const char *by,
                 const char *note)
{
    uint8_t old_state = t->state;
    int64_t old_due = t->due_ms;
    int rc = callback_claim_release(self, txn, t);
    if (!rc)
        rc = callback_task_set(&t->promised_by, by);
    if (!rc)
        rc = callback_task_set(&t->promise_note, note);
    if (rc)
        return rc;
    t->due_ms = t->promised_ms = at;
    if ((rc = callback_task_save(self, txn, old_state, old_due, t)))
        return rc;
    return promised_event(self, txn, t->ticket_id, t->round, at, by, note, false);
}

/* The promise kept for ticket_id: at (be64), by NUL, note. */
static int kept_put(callback_t *self, MDB_txn *txn, const char *ticket_id, int64_t at,
                    const char *by, const char *note)
{
    size_t bl = strlen(by), nl = strlen(note), len = 8 + bl + 1 + nl;
    void *v = NULL;
    int rc = store_put_reserve(txn, self->promises, ticket_id, strlen(ticket_id), len, 0, &v);
    if (rc)
        return rc;
    uint8_t *p = v;
    store_be64_put(p, (uint64_t)at);
    memcpy(p + 8, by, bl + 1);
    memcpy(p + 8 + bl + 1, note, nl);
    return 0;
}

/* No task yet (the unit has not replied, or the ticket was sent back and will be replied
 * again): keep the promise for the reply to come. A ticket that closed with its callback, or
 * that callback has never heard of, is refused. */
static int before_reply(callback_t *self, MDB_txn *txn, const char *id, int64_t at, const char *by,
                        const char *note, cmd_reply_t *reply)
{
    task_t t;
    uint32_t next_round = 0;
    int rc = callback_task_latest(self, txn, id, &t);
    if (rc == 0) {
        bool closed = callback_task_closed_ticket(&t);
        next_round = t.round + 1;
        if (closed)
            rc = cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                            "ticket %s is closed (%s): there is no callback left to promise", id,
                            t.note[0] ? t.note : "its callback is done");
        callback_task_clear(&t);
        if (closed)
            return rc;
    } else if (rc == HL_ENOTFOUND) {
        MDB_val v;
        rc = store_get(txn, self->contacts, id, strlen(id), &v);
        if (rc == HL_ENOTFOUND)
            return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "ticketId",
                              "callback knows no ticket %s: check the id (intake tells "
                              "callback of a new ticket within moments)",
                              id);
    }
    if (rc)
        return rc;
    if ((rc = kept_put(self, txn, id, at, by, note)) ||
        (rc = promised_event(self, txn, id, next_round, at, by, note, true)))
        return rc;
    task_t answer;
    if ((rc = callback_task_init(&answer, id, next_round)))
        return rc;
    answer.promised_ms = at;
    Hotline__CallbackTask *ct;
    if (!(rc = callback_task_set(&answer.promised_by, by)) &&
        !(rc = callback_task_set(&answer.promise_note, note)) &&
        !(rc = callback_task_answer(&answer, 0, reply, &ct)))
        ct->awaiting_reply = true;
    callback_task_clear(&answer);
    return rc;
}

int callback_promise_command(callback_t *self, MDB_txn *txn, const Hotline__PromiseCallback *pc,
                             const char *by, cmd_reply_t *reply)
{
    int64_t now = hclock_now_ms(self->clock), at = 0; /* check() sets it when it returns 1 */
    int rc = check(self, pc, now, &at, reply);
    if (rc <= 0)
        return rc;
    by = by ? by : "";
    const char *note = pc->note ? pc->note : "";
    char id[CALLBACK_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", pc->ticket_id);
    uint32_t round;
    rc = callback_task_pending_round(self, txn, id, &round);
    if (rc == HL_ENOTFOUND) {
        /* One of the caller's tickets riding on their call about an incident: that call. */
        char lead[CALLBACK_ID_MAX + 1];
        int crc = callback_incident_covered_by(self, txn, id, lead);
        if (crc == HL_ENOTFOUND)
            return before_reply(self, txn, id, at, by, note, reply);
        if (crc)
            return crc;
        rc = callback_task_pending_round(self, txn, lead, &round);
        if (rc == HL_ENOTFOUND)
            return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                              "ticket %s was settled with the call about ticket %s: there is "
                              "no callback left to promise",
                              id, lead);
        snprintf(id, sizeof id, "%s", lead);
    }
    if (rc)
        return rc;
    task_t t;
    Hotline__CallbackTask *ct;
    if ((rc = callback_task_load(self, txn, id, round, &t)))
        return rc;
    if (t.state == TASK_SURVEY) { /* the gateway is asking: nothing to move */
        rc = callback_survey_refuse_record(self, txn, &t, reply);
        callback_task_clear(&t);
        return rc;
    }
    if (!(rc = apply(self, txn, &t, at, by, note)) &&
        !(rc = callback_task_answer(&t, now, reply, &ct))) {
        /* A supervisor may be the one asking: free text goes out masked. */
        mask_phones(ct->reply_text);
        mask_phones(ct->promise_note);
    }
    callback_task_clear(&t);
    return rc;
}

/* ---- promises kept for the next reply ---- */

/* A promise kept for a reply to come. */
typedef struct kept {
    int64_t at;
    char *by, *note; /* heap copies */
} kept_t;

/* Take (read and remove) the promise kept for ticket_id: HL_ENOTFOUND when there is none.
 * On success k's strings must be freed. A damaged record is removed and not found. */
static int kept_take(callback_t *self, MDB_txn *txn, const char *ticket_id, kept_t *k)
{
    MDB_val v;
    int rc = store_get(txn, self->promises, ticket_id, strlen(ticket_id), &v);
    if (rc)
        return rc;
    /* Copied before the delete below makes v invalid. */
    const char *p = v.mv_data, *nul = v.mv_size > 8 ? memchr(p + 8, 0, v.mv_size - 8) : NULL;
    *k = (kept_t){0};
    if (nul) {
        k->at = (int64_t)store_be64_get(p);
        k->by = strdup(p + 8);
        k->note = strndup(nul + 1, v.mv_size - (size_t)(nul + 1 - p));
    }
    rc = nul && (!k->by || !k->note) ? HL_ENOMEM : 0;
    if (!rc)
        rc = store_del(txn, self->promises, ticket_id, strlen(ticket_id));
    if (!rc && !nul)
        rc = HL_ENOTFOUND;
    if (rc) {
        free(k->by);
        free(k->note);
    }
    return rc;
}

/* The agreed time is before the reply at replied_ms: the policy's time applies. */
static bool kept_passed(const kept_t *k, const char *ticket_id, int64_t replied_ms)
{
    if (k->at > replied_ms)
        return false;
    SLOG_INFO("callback_promise_passed",
              "ticket=%s at_ms=%lld replied_ms=%lld reason=\"the agreed time passed before the "
              "reply: the policy's time applies\"",
              ticket_id, (long long)k->at, (long long)replied_ms);
    return true;
}

int callback_promise_take(callback_t *self, MDB_txn *txn, task_t *t)
{
    kept_t k;
    int rc = kept_take(self, txn, t->ticket_id, &k);
    if (rc)
        return rc == HL_ENOTFOUND ? 0 : rc;
    if (!kept_passed(&k, t->ticket_id, t->replied_ms)) {
        free(t->promised_by);
        free(t->promise_note);
        t->promised_by = k.by;
        t->promise_note = k.note;
        t->due_ms = t->promised_ms = k.at;
        return 0;
    }
    free(k.by);
    free(k.note);
    return 0;
}

int callback_promise_join(callback_t *self, MDB_txn *txn, const char *ticket_id, int64_t replied_ms)
{
    kept_t k;
    int rc = kept_take(self, txn, ticket_id, &k);
    if (rc)
        return rc == HL_ENOTFOUND ? 0 : rc;
    char lead[CALLBACK_ID_MAX + 1];
    uint32_t round;
    task_t t;
    if (!kept_passed(&k, ticket_id, replied_ms) &&
        !(rc = callback_incident_covered_by(self, txn, ticket_id, lead)) &&
        !(rc = callback_task_pending_round(self, txn, lead, &round)) &&
        !(rc = callback_task_load(self, txn, lead, round, &t))) {
        /* A call already sent to the survey gateway is not moved. */
        rc = t.state == TASK_PENDING ? apply(self, txn, &t, k.at, k.by, k.note) : 0;
        callback_task_clear(&t);
    }
    free(k.by);
    free(k.note);
    return rc == HL_ENOTFOUND ? 0 : rc; /* no call left to move: nothing to keep */
}

int callback_promise_keep(callback_t *self, MDB_txn *txn, const task_t *t)
{
    if (t->promised_ms <= hclock_now_ms(self->clock))
        return 0;
    return kept_put(self, txn, t->ticket_id, t->promised_ms, t->promised_by, t->promise_note);
}
