/* dispatch_ladder: sla's escalation ladder told to the crew that owns the clock. dispatch follows
 * sla's feed; each step of a clock held by a configured crew (the yellow card, overdue, and the
 * reminder, red card and supervision notice) goes out through that crew's connector, signed and
 * durable like a work order, in the transaction that applies the event. Keyed
 * "<ticket>.sla.<clock>.<round>.<step>": a feed batch applied again, or the same step read
 * twice, is not sent twice, and receivers dedupe by that key. Units without a connector get
 * nothing here: their cards are in the ticket's timeline. Loop thread. */
#include "dispatch_internal.h"
#include "dispatch_workorder.h"

#include "hl_error.h"

#include <stdio.h>
#include <string.h>

/* The name of an enum value without its prefix: "SLA_STEP_RED_CARD" -> "RED_CARD". */
static const char *enum_short(const ProtobufCEnumDescriptor *d, int v, const char *prefix)
{
    const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(d, v);
    if (!e)
        return "UNSPECIFIED";
    size_t n = strlen(prefix);
    return strncmp(e->name, prefix, n) == 0 ? e->name + n : e->name;
}

/* One ladder step, whichever event carried it. */
typedef struct ladder_step {
    Hotline__SlaClock clock;
    Hotline__SlaStep step;
    uint32_t round;
    int64_t due_ms, at_ms;
    const char *unit, *policy;
} ladder_step_t;

static bool step_of(const Hotline__Event *ev, ladder_step_t *s)
{
    *s = (ladder_step_t){0};
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_SLA_WARNING:
        if (!ev->sla_warning)
            return false;
        *s = (ladder_step_t){ev->sla_warning->clock, HOTLINE__SLA_STEP__SLA_STEP_YELLOW_CARD,
                             ev->sla_warning->round, ev->sla_warning->due_ms, 0,
                             ev->sla_warning->unit, ""};
        return true;
    case HOTLINE__EVENT__BODY_SLA_BREACHED:
        if (!ev->sla_breached)
            return false;
        *s = (ladder_step_t){ev->sla_breached->clock, HOTLINE__SLA_STEP__SLA_STEP_OVERDUE,
                             ev->sla_breached->round, ev->sla_breached->due_ms,
                             ev->sla_breached->due_ms, ev->sla_breached->unit, ""};
        return true;
    case HOTLINE__EVENT__BODY_SLA_ESCALATED:
        if (!ev->sla_escalated)
            return false;
        *s = (ladder_step_t){ev->sla_escalated->clock, ev->sla_escalated->step,
                             ev->sla_escalated->round, ev->sla_escalated->due_ms,
                             ev->sla_escalated->at_ms, ev->sla_escalated->unit,
                             ev->sla_escalated->policy};
        return true;
    default:
        return false;
    }
}

int dispatch_ladder_notify(dispatch_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    ladder_step_t s;
    if (!step_of(ev, &s))
        return 0;
    connector_t *conn = dispatch_crew_connector(self, s.unit);
    const char *id = ev->ticket_id ? ev->ticket_id : "";
    if (!conn || !*id || strlen(id) > DISPATCH_TICKET_ID_MAX)
        return 0;
    const char *clock = enum_short(&hotline__sla_clock__descriptor, (int)s.clock, "SLA_CLOCK_");
    const char *step = enum_short(&hotline__sla_step__descriptor, (int)s.step, "SLA_STEP_");
    char due[24], at[24], fired[24];
    snprintf(due, sizeof due, "%lld", (long long)s.due_ms);
    snprintf(at, sizeof at, "%lld", (long long)(s.at_ms ? s.at_ms : ev->time_ms));
    snprintf(fired, sizeof fired, "%lld", (long long)ev->time_ms);
    /* Ids, names and instants only: no caller data leaves with a card. */
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "kind",
                             "sla.step", "ticketId", id, "clock", clock, "step", step, "round",
                             (int)s.round, "dueMs", due, "atMs", at, "firedMs", fired, "unit",
                             s.unit ? s.unit : "", "policy", s.policy ? s.policy : "");
    if (!body)
        return HL_ENOMEM;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    if (!text)
        return HL_ENOMEM;
    char key[DISPATCH_TICKET_ID_MAX + 64];
    int n = snprintf(key, sizeof key, "%s.sla.%s.%u.%s", id, clock, (unsigned)s.round, step);
    int rc = connector_enqueue(conn, txn, key, (size_t)n, text, strlen(text), "application/json");
    free(text);
    return rc == HL_EEXIST ? 0 : rc;
}
