/* sla: the deadline watcher. For every ticket dispatch (and every rework round) it starts two
 * clocks, SIGN (签收) and REPLY (handling), with due times computed once from the most specific
 * policy and the working-day calendar; it stops them when the unit signs or replies (on time or
 * late, judged by the event's own time), and climbs each running clock's escalation ladder:
 * reminder, yellow card, overdue, red card, supervision notice, each exactly once, at its
 * instant on the service clock (sla_ladder.c).
 *
 * State (one LMDB environment, sub-databases):
 *   sla_tickets  ticket -> the ticket record: what a rework round needs (policy inputs) and
 *                the latest round's clocks (sla_record.h; sla_round.c)
 *   sla_clocks   ticket \0 round(BE32) clock(u8) -> clock record: older rounds' clocks, and
 *                those of the releases before until they change (sla_record.h)
 *   sla_due      due_ms(BE64) ticket \0 round(BE32) -> "": rounds with running clocks (not
 *                paused) by the earliest due among them (the /v1/due view: breached clocks
 *                still running included); the releases before keyed each clock, ticket \0
 *                round(BE32) clock(u8), and their clocks keep those keys until they stop
 *   sla_meta     "running.sign" / "running.reply" -> BE64 counts of running clocks;
 *                "steps.waiting" -> BE64 count of clocks with a ladder step waiting
 *                (sla_round_save keeps it; hotline_sched_pending_sla_steps);
 *                "f/" ticket \0 round(BE32) -> flags, incident id: the incident a linked
 *                ticket's round follows (sla_incident.c)
 *   sla_steps.*  the shared scheduler's entries (common/scheduler.h), one per (ticket, round)
 *                with a running clock: id ticket \0 round(BE32), no payload, due at the earliest
 *                pending ladder step of the round's clocks (sla_fire.c). Entries of the releases
 *                before, one per running clock, id ticket \0 clock(u8) round(BE32) step(u8),
 *                still fire: their clock then joins its round's entry
 * Every change and the events it produces commit in one transaction (a feed apply, or a
 * scheduler pass that fires a step and removes its entry together).
 *
 * When sla is behind dispatch (a backlog; a restart not yet heard from dispatch, for at most
 * SLA_FEED_GRACE_MS), a step whose instant is later than the newest dispatch event read waits a
 * second and is looked at again: a sign or reply still in the backlog would have stopped the
 * clock, and a card once given cannot be taken back. Verdicts are judged by the events' own
 * times, so they are right however late sla reads them.
 *
 * Decisions: a warning that would fall at or before the clock's start (a 1-working-day limit
 * started on a weekend, warned 1 working day before) is not raised (warn_ms 0); a reminder at or
 * after the yellow card is dropped; a breached clock keeps running (and climbing) until the sign
 * / reply stops it (late); a reply also stops a sign clock left running. An incident has a clock
 * of its own (a REPLY clock keyed by the incident id, round 0, from its declaration to its
 * close, one ladder for the whole incident); a ticket linked to it has its own clocks suspended
 * and its reply judged against the incident's deadline (sla_incident.c). Not yet: a new sign
 * clock for a re-dispatch within a round; an incident's ETA update moving its clock.
 *
 * Files: sla.c (service descriptor, configuration, start, stop and gauges), sla_policy.c
 * (policy table: validation, matching, JSON), sla_ladder.c (the ladder's plan and order),
 * sla_store.c (indexes, start / stop), sla_round.c (a round's clocks loaded and saved; the
 * layouts in sla_record.h), sla_record.c (their codecs), sla_move.c
 * (extensions, holds), sla_fire.c (the ladder's steps), sla_views.c (JSON), sla_editions.c
 * (loaded policy tables), sla_incident.c (incident clocks, linked tickets), sla_apply.c
 * (dispatch and callback feed events), sla_http.c (routes). Loop thread only. */
#ifndef HOTLINE_SLA_H
#define HOTLINE_SLA_H

#include "calendar.h"
#include "service.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

extern const service_desc_t sla_service;

/* ---- policy table (sla_policy.c) ---- */

#define SLA_POLICY_NAME_MAX 64
#define SLA_PREFIX_MAX 16
#define SLA_MAX_SPAN_DAYS 3650 /* calendar_add's own limit */

/* Check the policy table of cfg: every row named (unique), a prefix of letters and digits,
 * sign and reply limits of at least 1 with a unit and at most 3650 days, an optional
 * warnBefore (absent or value 0 = no warning), no two rows with the same prefix and urgency,
 * and a catch-all row (prefix "" and urgency any). On failure err holds one line naming the key
 * ("policies[2].reply.value: must be at least 1 ..."). Errors: HL_EINVAL. */
int sla_policies_validate(const Hotline__SlaConfig *cfg, char *err, size_t err_size);

/* The row that applies to a ticket: the longest categoryPrefix that prefixes category_code
 * (case-insensitive), then a row naming the ticket's urgency over one for any urgency
 * (URGENCY_UNSPECIFIED on a ticket counts as URGENCY_NORMAL). NULL only for a table without a
 * catch-all, which validation refuses. */
const Hotline__SlaPolicy *sla_policy_match(const Hotline__SlaConfig *cfg,
                                           const char *category_code, Hotline__Urgency urgency);

/* What a ticket's policy is matched on. */
typedef struct sla_keys {
    const char *category;
    Hotline__Urgency urgency; /* UNSPECIFIED counts as NORMAL */
    Hotline__AppealType appeal_type;
    Hotline__Channel channel;
} sla_keys_t;

/* The row for a ticket by all four keys: the longest categoryPrefix, then a row naming the
 * urgency, then the appeal type, then the channel, over rows that leave them "any". */
const Hotline__SlaPolicy *sla_policy_match_keys(const Hotline__SlaConfig *cfg,
                                                const sla_keys_t *keys);
/* Every row with whether it applies, why not, its score and which was chosen (new ref). */
json_t *sla_policy_explain(const Hotline__SlaConfig *cfg, const sla_keys_t *keys);

/* The table as JSON for GET /v1/policies (new reference). */
/* cal: the service's calendar settings (a loaded edition carries none). */
json_t *sla_policies_json(const Hotline__SlaConfig *cfg, const Hotline__CalendarConfig *cal);
json_t *sla_policy_json(const Hotline__SlaConfig *cfg, const Hotline__SlaPolicy *p);

/* ---- the core (sla.c, sla_store.c, sla_apply.c) ---- */

typedef struct sla sla_t;

#define SLA_STEPS_NAME "sla_steps" /* the scheduler holding the warnings and breaches */

typedef struct sla_opts {
    store_t *store;
    evlog_t *log;
    hclock_t *clock;
    const Hotline__SlaConfig *cfg; /* borrowed: must outlive the sla_t */
    txq_t *txq;                    /* the group commit: the gauges follow its commits */
    metrics_t *metrics;            /* NULL: no gauges */
    /* Where the warnings and breaches are scheduled. With svc, a scheduler of the service
     * (service_scheduler: the skeleton starts, stops and frees it). Without (tests), one of
     * sla's own on loop and txq, started at once, stopped by sla_stop, freed by sla_destroy. */
    service_t *svc;
    uv_loop_t *loop;
} sla_opts_t;

/* Validate the policy table, load the calendar, open the sub-databases and make the steps'
 * scheduler (start-up only). On failure err names the key or the file. Errors: HL_EINVAL
 * (configuration), HL_ENOMEM, HL_ETOOBIG (no room for another scheduler or commit listener),
 * store errors. */
int sla_create(sla_t **out, const sla_opts_t *opts, char *err, size_t err_size);

/* Close the timer of sla's own scheduler (the loop must run afterwards, before sla_destroy);
 * nothing for a service's. Idempotent. */
void sla_stop(sla_t *self);

/* Free (after sla_stop and a loop run, and after the txq). Nulls *self. */
void sla_destroy(sla_t **self);

const calendar_t *sla_calendar(const sla_t *self);
const Hotline__SlaConfig *sla_config(const sla_t *self);
store_t *sla_store(const sla_t *self);
hclock_t *sla_clock(const sla_t *self);
/* The scheduler of the warnings and breaches: its scheduler_next is the next step due. */
scheduler_t *sla_steps(const sla_t *self);

/* Feed apply for the dispatch feed (a feed_apply_fn; ctx is the sla_t): TicketDispatched and
 * TicketReopened start a round's clocks and schedule their steps, TicketSigned stops SIGN,
 * TicketReplied stops REPLY (and SIGN if the unit replied without signing); a stop cancels the
 * clock's pending steps. IncidentDeclared starts the incident's own REPLY clock and
 * IncidentClosed stops it. TicketLinked suspends the round's clocks (no warning, breach or
 * verdict of its own) and the ticket follows the incident: its reply is judged against the
 * incident clock's deadline (SlaClockStopped with incident_id); TicketUnlinked ends that and
 * starts its clocks afresh. Other events are ignored. Each start and stop happens at most once
 * per (ticket, clock, round), however often an event is applied. Returns store errors only: a
 * malformed event is logged and skipped. */
int sla_apply(void *ctx, MDB_txn *txn, const Hotline__Event *ev);

/* SIGN / REPLY / RESPONSE / CALLBACK -> label values "sign", "reply", .... */
const char *sla_clock_label(Hotline__SlaClock clock);
/* The enum value name, "SLA_CLOCK_SIGN". */
const char *sla_clock_name(Hotline__SlaClock clock);

/* The clocks a round runs until its reply, for walking them all (suspend on a link or a
 * termination, pause on a hold, restart on an unlink). The callback clock is not among them: it
 * starts at the reply, after which a ticket is not held, linked or terminated (an old event
 * read again must not touch it). */
#define SLA_ROUND_CLOCKS                                                                   \
    {HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY,                \
     HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE}
#define SLA_NROUND_CLOCKS 3

/* Running clocks of one kind (SIGN / REPLY), kept in the same transactions as the clocks. */
int sla_running_count(sla_t *self, MDB_txn *txn, Hotline__SlaClock clock, uint64_t *out);

/* A clock's ladder steps (a record's pending step; the last byte of an older release's entry
 * id: 1 and 2 keep the values of the first release, whose clocks put both at start). */
enum { SLA_STEP_WARN = 1,     /* yellow card */
       SLA_STEP_BREACH = 2,   /* overdue */
       SLA_STEP_REMIND = 3,   /* reminder */
       SLA_STEP_RED = 4,      /* red card */
       SLA_STEP_SUPERVISE = 5 /* supervision notice */ };

/* One clock as stored. */
typedef struct sla_clock {
    Hotline__SlaClock clock;
    uint32_t round;
    int64_t start_ms, due_ms, warn_ms; /* warn_ms 0: no warning for this clock */
    int64_t stopped_ms;                /* 0 while running */
    int64_t reminder_ms, red_ms, supervision_ms; /* the rest of the ladder; 0: none */
    bool stopped, on_time, warned, breached;
    bool reminded, red, supervised; /* the ladder's other steps given */
    uint8_t pending;                /* the step on the scheduler (SLA_STEP_*), 0: none */
    int64_t pending_at_ms;          /* when it is due there (its instant, or later: held) */
    bool pending_by_id;             /* put by an older release: cancelled by its id */
    bool on_round;                  /* pending is on the round's entry (else an entry of its
                                     * own, put by an older release) */
    bool due_on_round;              /* its due is in sla_due under its round's key (else one
                                     * of its own, put by an older release) */
    bool paused;                    /* the ticket is on hold */
    int64_t paused_ms;              /* since when (0 when not paused) */
    uint32_t limit_unit;            /* the limit's hotline.DurationUnit (0: a first-release clock) */
    uint32_t limit_value, limit_anchor; /* the rest of the limit (0: a version-1 record) */
    uint32_t policy_version;        /* the edition of the policy table that started it */
    bool suspended; /* stopped because the ticket joined an incident: no verdict */
    char policy[SLA_POLICY_NAME_MAX + 1];
    char limit[96];    /* "5 working days" */
    char unit[129];
    char category[65];
} sla_clock_t;

/* Read one clock. Errors: HL_ENOTFOUND, HL_ECORRUPT, store errors. */
int sla_clock_get(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                  Hotline__SlaClock clock, sla_clock_t *out);

/* JSON views (new references in *out). Times are UTC ms as strings plus local text.
 * sla_clocks_json: {"ticketId", "clocks": [...]}; HL_ENOTFOUND for a ticket with no clocks.
 * sla_due_json: running clocks with due < before_ms, earliest first, at most limit. */
int sla_clocks_json(sla_t *self, MDB_txn *txn, const char *ticket_id, json_t **out);
int sla_due_json(sla_t *self, MDB_txn *txn, int64_t before_ms, unsigned limit, json_t **out);

/* ---- HTTP (sla_http.c) ---- */

/* GET /v1/clocks/{ticketId}, GET /v1/policies, GET /v1/policies/match, GET /v1/due. */
int sla_http_routes(sla_t *self, service_t *svc);

#define SLA_TICKET_ID_MAX 128

#endif
