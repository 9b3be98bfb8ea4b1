/* sla's private parts, shared by its own files only. */
#ifndef HOTLINE_SLA_INTERNAL_H
#define HOTLINE_SLA_INTERNAL_H

#include "sla.h"

/* A step due while sla is behind dispatch waits and is looked at again this much later; with no
 * word from dispatch at all (down), steps wait at most this long after start-up. */
#define SLA_WAIT_RETRY_MS 1000
#define SLA_FEED_GRACE_MS 10000

/* A followed feed as must_wait watches it: its newest event time, and since when unchanged. */
typedef struct sla_feed_watch {
    int64_t newest_ms;
    uint64_t since_ns;
} sla_feed_watch_t;

struct sla {
    store_t *store;
    evlog_t *log;
    hclock_t *clock;
    const Hotline__SlaConfig *cfg; /* borrowed from the service configuration */
    calendar_t *cal;
    MDB_dbi clocks, tickets, due, meta;
    scheduler_t *steps;  /* the warnings and breaches (the service's, or sla's own) */
    bool own_steps;      /* made here (no service): sla_stop stops it, sla_destroy frees it */
    bool dirty;          /* a transaction changed clocks or steps: gauges follow its commit */
    uint32_t policy_version; /* the policy table's edition, stamped on every clock */
    Hotline__SlaConfig *edition; /* a loaded edition in use (owned); NULL: the configuration's */
    MDB_dbi editions;            /* policy_editions */
    bool editions_dirty;         /* a load committed: adopt it after the commit */
    service_t *svc;              /* NULL in tests without a service */
    uint64_t created_ns;         /* monotonic, at sla_create: the feed's grace starts there */
    sla_feed_watch_t watch[2];   /* dispatch's feed, callback's */
    metric_t *m_held;            /* hotline_sla_steps_held_total: steps held back while sla
                                  * caught up with dispatch (each look counted) */
    metric_t *m_running; /* hotline_sla_running_clocks{clock} */
    metric_t *m_pending; /* hotline_sla_pending_timers */
};

/* sla_store.c: the clock life cycle inside a write transaction. */
typedef struct sla_round_in {
    const char *ticket_id;
    uint32_t round;
    int64_t start_ms;
    const char *unit;
    const char *category;
    Hotline__Urgency urgency;
    Hotline__AppealType appeal_type;
    Hotline__Channel channel;
    bool keep; /* kept as the ticket's inputs (a dispatch, a reopen, an unlink) */
} sla_round_in_t;

/* Start the SIGN, REPLY (a rework round: the policy's rework limit) and, when the policy has
 * one, RESPONSE clocks of a round (each only if not started before). */
int sla_store_start_round(sla_t *self, MDB_txn *txn, const sla_round_in_t *in);
/* Start a round's CALLBACK clock from in->start_ms (the reply), when the policy has one. */
int sla_store_start_callback(sla_t *self, MDB_txn *txn, const sla_round_in_t *in);
/* Stop one clock at at_ms if it is running; HL_ENOTFOUND when there is no such clock. */
int sla_store_stop(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                   Hotline__SlaClock clock, int64_t at_ms);
/* Move a running clock's deadline by working_days working days (an approved extension): its
 * record, due index and steps, and SlaClockExtended. A warning not yet given moves with it;
 * a breach already raised stays in the log, and the clock's verdict follows the new deadline.
 * HL_ENOTFOUND (no such clock), HL_ECONFLICT (it has stopped). */
int sla_store_extend(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                     Hotline__SlaClock clock, uint32_t working_days);
/* Pause a running clock at at_ms (the ticket went on hold): its next step is taken off the
 * scheduler, SlaClockPaused. Resume it at at_ms: the deadline and every step not yet given
 * move by the pause (working days for a working-day limit, else its length), SlaClockResumed.
 * Each is a no-op on a clock already so, or stopped. HL_ENOTFOUND: no such clock. */
int sla_store_pause(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                    Hotline__SlaClock clock, int64_t at_ms);
int sla_store_resume(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                     Hotline__SlaClock clock, int64_t at_ms);
/* Stop one clock without a verdict or an event (the ticket joined an incident). */
int sla_store_suspend(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                      Hotline__SlaClock clock, int64_t at_ms);
/* Start a round's clocks afresh from in->start_ms where they were suspended (or never
 * started); running or judged clocks are left alone. */
int sla_store_restart_round(sla_t *self, MDB_txn *txn, const sla_round_in_t *in);
/* Start one clock of in (only if not started before), with the policy start_round would pick:
 * an incident's clock is a REPLY clock alone (sla_incident.c). */
int sla_store_start_clock(sla_t *self, MDB_txn *txn, const sla_round_in_t *in,
                          Hotline__SlaClock clock);
/* The steps' scheduler_fire_fn (ctx is the sla_t): a warning or breach for a clock still
 * running, its event appended and its flag set in the pass's transaction. */
int sla_store_fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e);
/* sla_round.c: the clocks with a ladder step waiting (one scheduler entry per round stands
 * for its clocks' steps), kept in sla_meta with the records: the steps scheduler's pending
 * gauge (ctx is the sla_t). sla_waiting_open counts them from the records once, at start-up,
 * in a store of an earlier release that kept no count. */
int sla_waiting_count(void *ctx, MDB_txn *txn, uint64_t *n);
int sla_waiting_open(sla_t *self);

/* sla_editions.c: the policy table in use (a loaded edition, else the configuration's) and
 * its version; open / adopt after commit / free; the LoadPolicies command. */
const Hotline__SlaConfig *sla_table(const sla_t *self);
uint32_t sla_table_version(const sla_t *self);
int sla_editions_open(sla_t *self);
void sla_editions_after_commit(sla_t *self);
void sla_editions_free(sla_t *self);
int sla_load_policies(sla_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                      cmd_reply_t *reply);

/* sla_incident.c: an incident's clock and the tickets that follow it. Inside the feed apply's
 * write transaction; each guarded by stored state, so an event applied twice changes nothing.
 * Ids are checked by the caller (a ticket id of 1 to SLA_TICKET_ID_MAX bytes); an incident id
 * out of those bounds is logged and skipped. */
/* IncidentDeclared: the incident's REPLY clock (its id as the ticket id, round 0) from at_ms,
 * the policy of its category prefix at normal urgency, held by its unit. */
int sla_incident_start(sla_t *self, MDB_txn *txn, const Hotline__IncidentDeclared *d,
                       int64_t at_ms);
/* IncidentClosed: the incident's clock stops with a verdict; an incident without one (declared
 * before sla kept incident clocks) is logged, its linked tickets get no verdict. */
int sla_incident_stop(sla_t *self, MDB_txn *txn, const char *incident_id, int64_t at_ms);
/* TicketLinked: (ticket, round) follows incident_id (sla_meta "f/" ticket \0 round(BE32)).
 * TicketUnlinked: it no longer does. */
int sla_incident_follow(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                        const char *incident_id);
int sla_incident_unfollow(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round);
/* TicketReplied: a ticket that follows an incident gets its REPLY verdict against the
 * incident clock's deadline (SlaClockStopped with incident_id), once. */
int sla_incident_judge(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                       int64_t at_ms);
/* GET /v1/clocks: "followsIncident" (and once judged "incidentOnTime") for the ticket's
 * latest round, added to body (sla_clocks_json's answer). */
int sla_incident_clocks_json(sla_t *self, MDB_txn *txn, const char *ticket_id, json_t *body);

/* sla_supervision.c: a second unsatisfied result (callback's SupervisionRequested, round r)
 * puts the ticket under supervision (督办): the supervision notice of round r + 1's reply clock
 * (the rework round) goes out at once, SlaEscalated SUPERVISION with at_ms the request's time,
 * and the ladder does not give it again. When that clock has not started yet (sla is behind
 * dispatch), the request waits in sla_meta ("v/" ticket \0 round) and the notice goes out when
 * the clock starts (sla_supervision_started, called by every REPLY clock start). */
int sla_supervision_requested(sla_t *self, MDB_txn *txn, const Hotline__Event *ev);
int sla_supervision_started(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round);

/* sla_ladder.c: the escalation ladder. */
typedef struct sla_ladder {
    uint32_t reminder_percent; /* 0: no reminder */
    Hotline__Limit red_after, supervision_after;
} sla_ladder_t;

typedef struct sla_plan {
    int64_t reminder_ms, red_ms, supervision_ms; /* 0: no such step */
} sla_plan_t;

/* The ladder a policy's clocks run: its own keys over the service's over the defaults (a
 * reminder at 50 %, red card 1 working day after due, supervision 1 working day later). */
void sla_ladder_effective(const Hotline__SlaConfig *cfg, const Hotline__SlaPolicy *p,
                          sla_ladder_t *out);
/* Check one ladder block; err names key ("ladder", "policies[2].ladder") and the rule. */
int sla_ladder_validate(const Hotline__SlaLadder *l, const char *key, char *err,
                        size_t err_size);
/* The reminder, red card and supervision instants of a clock started at start_ms with limit
 * (the yellow card and overdue are its warn_ms and due_ms). */
void sla_ladder_plan(const calendar_t *cal, const sla_ladder_t *l, const Hotline__Limit *limit,
                     int64_t start_ms, int64_t due_ms, int64_t warn_ms, sla_plan_t *out);
/* The next step a running clock has to give (SLA_STEP_*), 0 when none is left. */
int sla_ladder_next(const sla_clock_t *c);
int64_t sla_step_at(const sla_clock_t *c, int step);
bool sla_step_given(const sla_clock_t *c, int step);
Hotline__SlaStep sla_step_kind(int step);
const char *sla_step_label(int step); /* "red card" */



#endif
