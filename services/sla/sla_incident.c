/* sla_incident: an incident's linked tickets follow the incident's clock (issue 10).
 *
 * IncidentDeclared starts one REPLY clock for the incident itself: the incident id is its
 * ticket id, round 0, from the event's time, with the policy of the incident's category prefix
 * at normal urgency, held by the incident's unit. It climbs the ladder like any clock, so the
 * incident gets one set of cards, not one per caller; IncidentClosed stops it (on time or late).
 *
 * A ticket linked to the incident (TicketLinked) has its own clocks suspended (sla_apply.c) and
 * is remembered as following it, in sla_meta:
 *   "f/" ticket \0 round(BE32) -> [0] FOLLOW_* flags, [1..] the incident id
 * When it is replied (the close replies every linked ticket), its REPLY verdict is the incident
 * clock's: SlaClockStopped for the ticket, on time when replied by the incident's due, due_ms
 * the incident's, incident_id naming it; the record is marked judged, so a replay gives no
 * second verdict, and the suspended own clock stays so. TicketUnlinked drops the record (the
 * round's own clocks start afresh). An incident sla has no clock for (declared before this
 * release) leaves its tickets as before: no verdict, logged once at its close. Loop thread. */
#include "sla_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <string.h>

enum { FOLLOW_JUDGED = 1, FOLLOW_ON_TIME = 2 };

#define FOLLOW_KEY_MAX (2 + SLA_TICKET_ID_MAX + 1 + 4)

static size_t follow_key(uint8_t *out, const char *ticket, uint32_t round)
{
    size_t n = strlen(ticket);
    out[0] = 'f';
    out[1] = '/';
    memcpy(out + 2, ticket, n + 1);
    n += 3;
    for (int shift = 24; shift >= 0; shift -= 8)
        out[n++] = (uint8_t)(round >> shift);
    return n;
}

static bool incident_id_ok(const char *id, const char *what)
{
    size_t n = id ? strlen(id) : 0;
    if (n > 0 && n <= SLA_TICKET_ID_MAX)
        return true;
    SLOG_WARN("sla_incident_skipped", "kind=%s reason=\"incident id empty or longer than %d "
              "bytes\"", what, SLA_TICKET_ID_MAX);
    return false;
}

/* A ticket's follow record: its flags and incident id (NUL-terminated into incident), or
 * HL_ENOTFOUND (none, or one unreadable: logged, and the ticket follows nothing). */
typedef struct follow {
    uint8_t flags;
    char incident[SLA_TICKET_ID_MAX + 1];
} follow_t;

static int follow_get(sla_t *self, MDB_txn *txn, const char *ticket, uint32_t round,
                      follow_t *out)
{
    uint8_t key[FOLLOW_KEY_MAX];
    MDB_val v;
    int rc = store_get(txn, self->meta, key, follow_key(key, ticket, round), &v);
    if (rc)
        return rc;
    if (v.mv_size < 2 || v.mv_size > 1 + SLA_TICKET_ID_MAX) {
        SLOG_WARN("sla_follow_corrupt", "ticket=%s round=%u bytes=%zu next=\"ignored\"",
                  ticket, round, v.mv_size);
        return HL_ENOTFOUND;
    }
    out->flags = *(const uint8_t *)v.mv_data;
    memcpy(out->incident, (const uint8_t *)v.mv_data + 1, v.mv_size - 1);
    out->incident[v.mv_size - 1] = '\0';
    return 0;
}

static int follow_put(sla_t *self, MDB_txn *txn, const char *ticket, uint32_t round,
                      const follow_t *f)
{
    uint8_t key[FOLLOW_KEY_MAX], val[1 + SLA_TICKET_ID_MAX];
    size_t n = strlen(f->incident);
    val[0] = f->flags;
    memcpy(val + 1, f->incident, n);
    return store_put(txn, self->meta, key, follow_key(key, ticket, round), val, 1 + n, 0);
}

int sla_incident_start(sla_t *self, MDB_txn *txn, const Hotline__IncidentDeclared *d,
                       int64_t at_ms)
{
    if (!incident_id_ok(d->incident_id, "IncidentDeclared"))
        return 0;
    sla_round_in_t in = {
        .ticket_id = d->incident_id,
        .round = 0,
        .start_ms = at_ms,
        .unit = d->unit,
        .category = d->category_prefix,
        .urgency = HOTLINE__URGENCY__URGENCY_NORMAL,
    };
    /* started once per incident: a replayed declaration finds the clock and starts nothing */
    return sla_store_start_clock(self, txn, &in, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY);
}

int sla_incident_stop(sla_t *self, MDB_txn *txn, const char *incident_id, int64_t at_ms)
{
    if (!incident_id_ok(incident_id, "IncidentClosed"))
        return 0;
    int rc = sla_store_stop(self, txn, incident_id, 0, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY,
                            at_ms);
    if (rc == HL_ENOTFOUND) {
        SLOG_INFO("sla_incident_without_clock", "incident=%s reason=\"declared before sla kept "
                  "incident clocks, or never seen\" next=\"its linked tickets get no verdict\"",
                  incident_id);
        return 0;
    }
    return rc;
}

int sla_incident_follow(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                        const char *incident_id)
{
    if (!incident_id_ok(incident_id, "TicketLinked"))
        return 0;
    follow_t f;
    int rc = follow_get(self, txn, ticket_id, round, &f);
    if (rc == 0 && strcmp(f.incident, incident_id) == 0)
        return 0; /* follows it already (a replay): a verdict given stays given */
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    f.flags = 0;
    memcpy(f.incident, incident_id, strlen(incident_id) + 1);
    return follow_put(self, txn, ticket_id, round, &f);
}

int sla_incident_unfollow(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round)
{
    uint8_t key[FOLLOW_KEY_MAX];
    int rc = store_del(txn, self->meta, key, follow_key(key, ticket_id, round));
    return rc == HL_ENOTFOUND ? 0 : rc;
}

int sla_incident_judge(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                       int64_t at_ms)
{
    follow_t f;
    int rc = follow_get(self, txn, ticket_id, round, &f);
    if (rc == HL_ENOTFOUND || (rc == 0 && (f.flags & FOLLOW_JUDGED)))
        return 0; /* follows no incident, or judged before */
    if (rc)
        return rc;
    /* A reply clock of its own that ran to a verdict is the one that counts (a link sla saw
     * after the ticket's reply): never two verdicts for one round. */
    sla_clock_t own, inc;
    rc = sla_clock_get(self, txn, ticket_id, round, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY, &own);
    if (rc == 0 && !own.suspended)
        return 0;
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    rc = sla_clock_get(self, txn, f.incident, 0, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY, &inc);
    if (rc == HL_ENOTFOUND) {
        SLOG_DEBUG("sla_incident_no_verdict", "ticket=%s incident=%s reason=\"the incident has "
                   "no clock\"", ticket_id, f.incident);
        return 0; /* logged at the incident's close */
    }
    if (rc)
        return rc;
    bool on_time = at_ms <= inc.due_ms;
    f.flags |= FOLLOW_JUDGED | (on_time ? FOLLOW_ON_TIME : 0);
    if ((rc = follow_put(self, txn, ticket_id, round, &f)))
        return rc;
    Hotline__SlaClockStopped sp = HOTLINE__SLA_CLOCK_STOPPED__INIT;
    sp.clock = HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY;
    sp.on_time = on_time;
    sp.due_ms = inc.due_ms;
    sp.round = round;
    sp.incident_id = f.incident;
    return evlog_append_body(self->log, txn, ticket_id, HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED,
                             &sp);
}

int sla_incident_clocks_json(sla_t *self, MDB_txn *txn, const char *ticket_id, json_t *body)
{
    /* clocks are in key order, by round then clock: the last one is of the latest round */
    json_t *clocks = json_object_get(body, "clocks");
    json_t *last = json_array_get(clocks, json_array_size(clocks) - 1);
    json_int_t round = json_integer_value(json_object_get(last, "round"));
    follow_t f;
    int rc = follow_get(self, txn, ticket_id, (uint32_t)round, &f);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    json_object_set_new(body, "followsIncident", json_string(f.incident));
    if (f.flags & FOLLOW_JUDGED)
        json_object_set_new(body, "incidentOnTime", json_boolean(f.flags & FOLLOW_ON_TIME));
    return 0;
}
