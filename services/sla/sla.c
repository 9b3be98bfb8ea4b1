/* sla: service descriptor, embedded configuration, start-up and stop, and the gauges. Loop
 * thread. */
#include "sla_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* Urgent water faults run a ladder in hours: a working day late is far too late for a burst
 * main. Red card 1 hour after due, supervision notice 1 hour after that: Hotline's choice (no
 * published rule; the crew-on-site limit, Qingdao, is 1 hour). */
#define URGENT_LADDER                                                                     \
    "{\"redAfter\": {\"value\": 1, \"unit\": \"DURATION_HOURS\"},"                          \
    " \"supervisionAfter\": {\"value\": 1, \"unit\": \"DURATION_HOURS\"}}"

/* The demo water utility's defaults (docs/domain.md "Default time limits"), one policy per row.
 * The most specific row wins: longest categoryPrefix, then a named urgency over "any". */
static const char DEFAULTS[] =
    "{\"runtime\": {"
    "  \"name\": \"sla\", \"dataDir\": \"var/sla\","
    "  \"busEndpoint\": \"tcp://127.0.0.1:8092\", \"http\": {\"port\": 8082},"
    "  \"eventLog\": {\"consumers\": [\"intake\", \"dispatch\", \"analytics\"]},"
    "  \"feeds\": [{\"name\": \"dispatch\", \"endpoint\": \"tcp://127.0.0.1:8091\","
    "              \"waitMs\": 1000},"
    "             {\"name\": \"callback\", \"endpoint\": \"tcp://127.0.0.1:8093\","
    "              \"waitMs\": 1000}]},"
    " \"calendar\": {\"utcOffsetMinutes\": 480},"
    " \"policies\": ["
    /* Catch-all. Sign-for 1 working day: Bengbu rules. Handling 5 working days: Jinan and
     * Weifang regulations, Shandong 2020. Yellow card 1 working day before due: the Shandong
     * provincial line's supervision ladder. */
    "  {\"name\": \"default\", \"categoryPrefix\": \"\","
    "   \"sign\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"},"
    "   \"reply\": {\"value\": 5, \"unit\": \"DURATION_WORKING_DAYS\"},"
    "   \"warnBefore\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"},"
    /* The callback the working day after the reply (local rules, Beijing); a return asked
     * within 2 working days (Shandong 2020); extensions up to 10 working days (Shandong). */
    "   \"callback\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"},"
    "   \"returnWindow\": {\"value\": 2, \"unit\": \"DURATION_WORKING_DAYS\"},"
    "   \"extensionMaxWorkingDays\": 10},"
    /* W08 service complaint: handled in 15 working days, Guangdong 2022's limit for
     * complaints (handling by type); sign-for and yellow card as the catch-all. Being the
     * longer prefix, it also wins over the urgent water rows below. */
    "  {\"name\": \"water-service-complaint\", \"categoryPrefix\": \"W08\","
    "   \"sign\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"},"
    "   \"reply\": {\"value\": 15, \"unit\": \"DURATION_WORKING_DAYS\"},"
    "   \"warnBefore\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"}},"
    /* Urgent water faults. Sign-for (crew responds) within 1 hour: Qingdao regulation, crew on
     * site within 1 hour of a report of public-facility damage. Reply (repair done) within
     * 24 hours: Shanghai regulation on water repair completion (Hangzhou: 12 hours). Warning
     * 30 minutes before due: Hotline's choice (half the sign-for limit; no published rule). */
    "  {\"name\": \"water-urgent\", \"categoryPrefix\": \"W\", \"urgency\": \"URGENCY_URGENT\","
    "   \"sign\": {\"value\": 1, \"unit\": \"DURATION_HOURS\"},"
    "   \"reply\": {\"value\": 24, \"unit\": \"DURATION_HOURS\"},"
    "   \"warnBefore\": {\"value\": 30, \"unit\": \"DURATION_MINUTES\"}, \"ladder\": " URGENT_LADDER "},"
    /* Very urgent water faults (street main burst, suspected contamination). Sign-for within
     * 20 minutes: Bengbu, urgent utility fault feedback (10 minutes for a major emergency).
     * Reply within 24 hours: Shanghai (a city following Hangzhou sets 12). Warning 10 minutes
     * before due: Hotline's choice (half the sign-for limit). */
    "  {\"name\": \"water-very-urgent\", \"categoryPrefix\": \"W\","
    "   \"urgency\": \"URGENCY_VERY_URGENT\","
    "   \"sign\": {\"value\": 20, \"unit\": \"DURATION_MINUTES\"},"
    "   \"reply\": {\"value\": 24, \"unit\": \"DURATION_HOURS\"},"
    "   \"warnBefore\": {\"value\": 10, \"unit\": \"DURATION_MINUTES\"}, \"ladder\": " URGENT_LADDER "}"
    " ],"
    /* The escalation ladder (Shandong provincial line): yellow card 1 working day before due
     * (warnBefore above), red card 1 working day after, supervision notice after that (1 more
     * working day: Hotline's reading of "after that"). The reminder at half the limit is
     * Hotline's choice. */
    " \"ladder\": {\"reminderPercent\": 50,"
    "   \"redAfter\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"},"
    "   \"supervisionAfter\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"}}"
    "}";

/* Numeric keys and their bounds; 0 means "the runtime's default" for every runtime key but
 * the port (0 = any free port). Policy limits are inside a repeated field, which the bounds
 * table cannot reach: sla_policies_validate checks them. */
static const config_bound_t BOUNDS[] = {
    {"calendar.utcOffsetMinutes", -840, 840},
    {NULL, 0, 0},
};

/* ---- the core's life cycle ---- */

/* Copy the running counts and the pending steps from LMDB into the gauges. */
static void metrics_refresh(sla_t *self)
{
    if (!self->m_running)
        return;
    MDB_txn *txn;
    if (store_read_begin(self->store, &txn) != 0)
        return;
    static const Hotline__SlaClock clocks[] = {
        HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY,
        HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE, HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK};
    for (size_t i = 0; i < sizeof clocks / sizeof *clocks; i++) {
        uint64_t n;
        if (sla_running_count(self, txn, clocks[i], &n) == 0)
            metric_set(self->m_running, (const char *const[]){sla_clock_label(clocks[i])},
                       (double)n);
    }
    uint64_t pending;
    if (scheduler_count(self->steps, txn, &pending) == 0)
        metric_set(self->m_pending, NULL, (double)pending);
    store_read_end(&txn);
}

/* After every commit (feed applies and scheduler passes alike): the gauges follow the store. */
static void after_commit(void *ctx)
{
    sla_t *self = ctx;
    sla_editions_after_commit(self);
    if (self->dirty)
        metrics_refresh(self);
    self->dirty = false;
}

/* The steps' scheduler: the service's, or (tests) one of sla's own, started at once. */
static int steps_create(sla_t *self, const sla_opts_t *opts)
{
    /* The record says when (sla_record.h); one entry per round, the gauge counts its clocks'
     * steps (sla_waiting_count). */
    scheduler_opts_t so = {.name = SLA_STEPS_NAME, .fire = sla_store_fire, .ctx = self,
                           .caller_keeps_due = true, .pending = sla_waiting_count};
    if (opts->svc)
        return service_scheduler(opts->svc, &so, &self->steps);
    so.metrics = opts->metrics;
    int rc = scheduler_create(&self->steps, opts->loop, self->store, opts->txq, self->clock, &so);
    if (rc)
        return rc;
    self->own_steps = true;
    return scheduler_start(self->steps);
}

int sla_create(sla_t **out, const sla_opts_t *opts, char *err, size_t err_size)
{
    *out = NULL;
    int rc = sla_policies_validate(opts->cfg, err, err_size);
    if (rc)
        return rc;
    sla_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->store = opts->store;
    self->log = opts->log;
    self->clock = opts->clock;
    self->cfg = opts->cfg;
    self->svc = opts->svc;
    self->created_ns = hclock_mono_ns();
    rc = calendar_load(&self->cal, opts->cfg->calendar, err, err_size);
    static const struct {
        const char *name;
        size_t offset;
    } dbs[] = {
        {"sla_clocks", offsetof(sla_t, clocks)}, {"sla_tickets", offsetof(sla_t, tickets)},
        {"sla_due", offsetof(sla_t, due)}, {"sla_meta", offsetof(sla_t, meta)},
    };
    for (size_t i = 0; !rc && i < sizeof dbs / sizeof dbs[0]; i++) {
        rc = store_db(self->store, dbs[i].name, 0, (MDB_dbi *)((char *)self + dbs[i].offset));
        if (rc)
            snprintf(err, err_size, "cannot open sub-database %s: %s", dbs[i].name,
                     hl_strerror(rc));
    }
    if (!rc && (rc = sla_editions_open(self)) != 0)
        snprintf(err, err_size, "cannot read the policy editions: %s", hl_strerror(rc));
    if (!rc && (rc = sla_waiting_open(self)) != 0)
        snprintf(err, err_size, "cannot count the ladder steps waiting: %s", hl_strerror(rc));
    /* The listener first: a scheduler of sla's own owns a handle once made. */
    if (!rc && (rc = txq_on_commit(opts->txq, after_commit, self)) != 0)
        snprintf(err, err_size, "cannot follow the group commit: %s", hl_strerror(rc));
    if (!rc && (rc = steps_create(self, opts)) != 0)
        snprintf(err, err_size, "cannot make the %s scheduler: %s", SLA_STEPS_NAME,
                 hl_strerror(rc));
    if (rc) {
        sla_destroy(&self);
        return rc;
    }
    if (opts->metrics) {
        /* Counts are kept in LMDB with the clocks (exact across crashes) and copied into the
         * gauges after each commit that changed them: no scan at scrape time. */
        self->m_running = metrics_gauge(opts->metrics, "hotline_sla_running_clocks",
                                        "Clocks started and not yet stopped, by clock (sign, "
                                        "reply); breached ones included.", "clock");
        self->m_held = metrics_counter(opts->metrics, "hotline_sla_steps_held_total",
                                       "Ladder steps held back a second because sla had not "
                                       "yet read what dispatch recorded up to their instant.",
                                       NULL);
        self->m_pending = metrics_gauge(opts->metrics, "hotline_sla_pending_timers",
                                        "Scheduler entries of the ladder: one per round with "
                                        "a step waiting, at the earliest next step of its "
                                        "clocks.",
                                        NULL);
        metrics_refresh(self);
    }
    *out = self;
    return 0;
}

void sla_stop(sla_t *self)
{
    if (self && self->own_steps)
        scheduler_stop(self->steps);
}

void sla_destroy(sla_t **self)
{
    if (!self || !*self)
        return;
    if ((*self)->own_steps)
        scheduler_destroy(&(*self)->steps);
    calendar_destroy(&(*self)->cal);
    sla_editions_free(*self);
    free(*self);
    *self = NULL;
}

const calendar_t *sla_calendar(const sla_t *self) { return self->cal; }
const Hotline__SlaConfig *sla_config(const sla_t *self) { return sla_table(self); }
store_t *sla_store(const sla_t *self) { return self->store; }
hclock_t *sla_clock(const sla_t *self) { return self->clock; }
scheduler_t *sla_steps(const sla_t *self) { return self->steps; }

/* ---- the service ---- */

/* Before anything opens: a policy table or calendar that breaks a rule stops the start with
 * exit 2 and one line naming the key (the skeleton prints it). */
static int check_config(const ProtobufCMessage *msg, char *err, size_t err_size)
{
    const Hotline__SlaConfig *cfg = (const Hotline__SlaConfig *)msg;
    int rc = sla_policies_validate(cfg, err, err_size);
    if (rc)
        return rc;
    calendar_t *cal = NULL;
    rc = calendar_load(&cal, cfg->calendar, err, err_size);
    calendar_destroy(&cal);
    return rc;
}

static int init(service_t *svc, void **state)
{
    const Hotline__SlaConfig *cfg = (const Hotline__SlaConfig *)service_config(svc);
    sla_opts_t opts = {
        .store = service_store(svc),
        .log = service_log(svc),
        .clock = service_clock(svc),
        .cfg = cfg,
        .txq = service_txq(svc),
        .metrics = service_metrics(svc),
        .svc = svc,
    };
    char err[512];
    sla_t *self;
    int rc = sla_create(&self, &opts, err, sizeof err);
    if (rc) {
        SLOG_ERROR("sla_open_failed", "reason=\"%s\"", err);
        return rc;
    }
    rc = sla_http_routes(self, svc);
    if (!rc)
        rc = service_follow(svc, "dispatch", sla_apply, self);
    if (!rc) /* callback's outcomes stop the callback clocks */
        rc = service_follow(svc, "callback", sla_apply, self);
    if (rc) {
        sla_destroy(&self);
        return rc;
    }
    SLOG_INFO("sla_policies", "count=%zu calendar_utc_offset_minutes=%d", cfg->n_policies,
              calendar_offset_minutes(self->cal));
    *state = self;
    return 0;
}

static void fini(void *state)
{
    sla_t *self = state;
    sla_destroy(&self);
}

static int sla_command(void *state, MDB_txn *txn, const Hotline__Command *cmd,
                       cmd_reply_t *reply)
{
    if (cmd->body_case == HOTLINE__COMMAND__BODY_LOAD_POLICIES && cmd->load_policies)
        return sla_load_policies(state, txn, cmd, reply);
    return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, NULL, "sla takes loadPolicies only");
}

/* Who may run sla's commands: a new policy table is a supervisor's (or admin's) decision. */
static const service_command_rule_t COMMANDS[] = {
    {HOTLINE__COMMAND__BODY_LOAD_POLICIES, AUTH_SUPERVISOR | AUTH_ADMIN},
    {0, 0},
};

const service_desc_t sla_service = {
    .name = "sla",
    .summary = "Hotline sla: per-ticket deadlines (sign-for, first contact, reply, callback) "
               "from the policy table and the working-day calendar, and each clock's escalation "
               "ladder.",
    .config_desc = &hotline__sla_config__descriptor,
    .default_config_json = DEFAULTS,
    .bounds = BOUNDS,
    .check_config = check_config,
    .init = init,
    .command = sla_command,
    .commands = COMMANDS,
    .fini = fini,
};
