/* callback: the service's life cycle. Embedded defaults and the bounds table, the logic object
 * (callback_create: sub-databases and calendar), and its wiring into the skeleton: the
 * scheduler that holds tasks until they are due, the survey gateway (callback_survey_init:
 * its connector and expiry scheduler), the intake and dispatch feeds, the HTTP routes, the
 * pending and due gauges and the skipped counter, the command access table. Loop thread. */
#include "callback_survey.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>

/* Ports for base 8080: callback serves HTTP on 8083 and its bus on 8093; it follows dispatch
 * (8091) and intake (8090); intake, dispatch and analytics follow it, so its log is kept for
 * them from seq 0.
 * basicallySatisfiedCounts is a proto3 bool, false when absent: the product's default policy
 * ("very satisfied + satisfied + basically satisfied" count as satisfied, docs/domain.md) is
 * therefore written here as true, and a configuration turns it off with false.
 * The anti-fatigue cap: at most 3 reached calls per caller in 30 days (fatigueMaxCalls 0: no
 * cap). */
static const char DEFAULTS[] =
    "{\"runtime\": {\"name\": \"callback\", \"dataDir\": \"var/callback\","
    " \"busEndpoint\": \"tcp://127.0.0.1:8093\", \"http\": {\"port\": 8083},"
    " \"eventLog\": {\"consumers\": [\"intake\", \"dispatch\", \"sla\", \"analytics\"]},"
    " \"feeds\": ["
    "{\"name\": \"dispatch\", \"endpoint\": \"tcp://127.0.0.1:8091\","
    " \"waitMs\": 1000},"
    "{\"name\": \"intake\", \"endpoint\": \"tcp://127.0.0.1:8090\","
    " \"waitMs\": 1000}]},"
    " \"calendar\": {\"dir\": \"\", \"utcOffsetMinutes\": 480},"
    " \"survey\": {\"url\": \"\", \"mode\": \"fallback\", \"channel\": \"sms\","
    " \"answerHours\": 72, \"maxAttempts\": 8, \"backoffFirstMs\": 1000,"
    " \"backoffCapMs\": 300000, \"timeoutMs\": 10000},"
    " \"callHour\": 9, \"retryMinutes\": 120, \"maxAttempts\": 3,"
    " \"basicallySatisfiedCounts\": true, \"claimMinutes\": 15,"
    " \"appealWindowWorkingDays\": 3, \"appealReasons\": ["
    "{\"code\": \"not-our-remit\", \"label\": \"the matter is outside the unit's remit "
    "(wrongly dispatched)\"},"
    "{\"code\": \"beyond-policy\", \"label\": \"the demand goes beyond law or policy\"},"
    "{\"code\": \"citizen-refused\", \"label\": \"the citizen refused a reasonable "
    "solution or access\"},"
    "{\"code\": \"force-majeure\", \"label\": \"natural disaster or other force "
    "majeure\"},"
    "{\"code\": \"rated-other-party\", \"label\": \"the rating is about another party or "
    "the hotline, not the unit's work\"},"
    "{\"code\": \"historical\", \"label\": \"a historical problem awaiting a decision above "
    "the unit\"},"
    "{\"code\": \"duplicate-or-malicious\", \"label\": \"a duplicate or malicious "
    "complaint\"}],"
    " \"fatigueMaxCalls\": 3, \"fatigueWindowDays\": 30}";

static const config_bound_t BOUNDS[] = {
    {"callHour", 0, 23},              /* a local hour */
    {"retryMinutes", 1, 7 * 24 * 60}, /* at most a week between attempts */
    {"maxAttempts", 1, 20},           /* 0 would close before the first call */
    {"claimMinutes", 1, 24 * 60},     /* an agent holds a task at most a day */
    {"appealWindowWorkingDays", 1, 30},
    {"fatigueMaxCalls", 0, 100},      /* 0: no cap */
    {"fatigueWindowDays", 1, 366},    /* a year at most: the call history kept per caller */
    {"survey.answerHours", 1, 720},   /* a survey waits at most 30 days for its answer */
    {"survey.maxAttempts", 1, 100},   /* deliveries to the gateway, then a dead letter */
    {"survey.backoffFirstMs", 1, 3600000},
    {"survey.backoffCapMs", 1, 86400000},
    {"survey.timeoutMs", 100, 300000},
    {"calendar.utcOffsetMinutes", -14 * 60, 14 * 60},
    {NULL, 0, 0},
};

int callback_create(callback_t **out, store_t *store, evlog_t *log, hclock_t *clock,
                    calendar_t **cal, const callback_settings_t *settings)
{
    callback_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->store = store;
    self->log = log;
    self->clock = clock;
    self->cfg = *settings;
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {
        {"tasks", &self->tasks},       {"queue", &self->queue},     {"due", &self->legacy_due},
        {"done", &self->done},         {"pending", &self->pending}, {"claims", &self->claims},
        {"contacts", &self->contacts}, {"persons", &self->persons}, {"promises", &self->promises},
        {"calls", &self->calls},       {"meta", &self->meta}};
    for (size_t i = 0; i < sizeof dbs / sizeof *dbs; i++) {
        int rc = store_db(store, dbs[i].name, 0, dbs[i].dbi);
        if (rc) {
            free(self);
            return rc;
        }
    }
    int rc = callback_incident_open(self, store);
    if (!rc)
        rc = callback_appeal_open(self, store);
    if (rc) {
        free(self);
        return rc;
    }
    self->cal = *cal;
    *cal = NULL;
    *out = self;
    return 0;
}

void callback_destroy(callback_t **self)
{
    if (!self || !*self)
        return;
    callback_survey_destroy(*self);
    calendar_destroy(&(*self)->cal);
    free(*self);
    *self = NULL;
}

/* The gauges and the skipped counter are derived from LMDB after each commit (never counted
 * in handlers, which may be re-run or rolled back). */
static void refresh_pending(void *ctx)
{
    callback_t *self = ctx;
    MDB_txn *txn;
    uint64_t n = 0, due = 0, skipped = 0;
    if (store_read_begin(self->store, &txn) != 0)
        return;
    int rc = callback_pending_count(self, txn, &n);
    if (!rc)
        rc = callback_due_count(self, txn, &due);
    if (!rc)
        rc = callback_skipped_count(self, txn, &skipped);
    store_read_end(&txn);
    if (!rc) {
        metric_set(self->pending_gauge, NULL, (double)n);
        metric_set(self->due_gauge, NULL, (double)due);
        self->skipped = (double)skipped;
    }
}

static double skipped_total(void *ctx)
{
    return ((callback_t *)ctx)->skipped;
}

/* The scheduler that holds the tasks until they are due, and the tasks a queue of an earlier
 * start holds too early put back on it (before the skeleton arms it, after init). */
static int attach_scheduler(callback_t *self)
{
    scheduler_opts_t o = callback_scheduler_opts(self);
    scheduler_t *sched;
    MDB_txn *txn;
    int rc = service_scheduler(self->svc, &o, &sched);
    if (!rc)
        rc = store_write_begin(self->store, &txn);
    if (rc)
        return rc;
    rc = callback_attach(self, sched, txn);
    if (!rc)
        rc = store_write_commit(self->store, &txn);
    else
        store_write_abort(&txn);
    return rc;
}

static int on_command(void *state, MDB_txn *txn, const Hotline__Command *cmd, cmd_reply_t *reply)
{
    return callback_command(state, txn, cmd, reply);
}

static int init(service_t *svc, void **state)
{
    const Hotline__CallbackConfig *cfg = (const Hotline__CallbackConfig *)service_config(svc);
    char err[512];
    calendar_t *cal;
    int rc = callback_appeal_check_reasons((const Hotline__AppealReason *const *)cfg->appeal_reasons,
                                           cfg->n_appeal_reasons, err, sizeof err);
    if (rc) {
        SLOG_ERROR("config_invalid", "key=appealReasons reason=\"%s\"", err);
        return rc;
    }
    rc = calendar_load(&cal, cfg->calendar, err, sizeof err);
    if (rc) {
        SLOG_ERROR("calendar_not_loaded", "key=calendar.dir reason=\"%s\"", err);
        return rc;
    }
    callback_settings_t s = {
        .call_hour = cfg->call_hour,
        .retry_minutes = cfg->retry_minutes,
        .max_attempts = cfg->max_attempts,
        .claim_minutes = cfg->claim_minutes,
        .basically_satisfied_counts = cfg->basically_satisfied_counts,
        .appeal_window_working_days = cfg->appeal_window_working_days,
        .appeal_reasons = cfg->appeal_reasons,
        .n_appeal_reasons = cfg->n_appeal_reasons,
        .fatigue_max_calls = cfg->fatigue_max_calls,
        .fatigue_window_days = cfg->fatigue_window_days,
    };
    callback_t *self;
    rc = callback_create(&self, service_store(svc), service_log(svc), service_clock(svc), &cal, &s);
    if (rc) {
        calendar_destroy(&cal);
        return rc;
    }
    *state = self; /* from here fini frees it, even if the rest of init fails */
    self->svc = svc;
    self->pending_gauge =
        metrics_gauge(service_metrics(svc), "hotline_callback_pending",
                      "Callback tasks waiting for a call, due or not (claimed or not).", NULL);
    self->due_gauge =
        metrics_gauge(service_metrics(svc), "hotline_callback_due",
                      "Callback tasks due and waiting for an agent (claimed or not).", NULL);
    rc = metrics_counter_callback(service_metrics(svc), "hotline_callback_skipped_total",
                                  "Callbacks not made because the caller had been reached "
                                  "fatigueMaxCalls times in fatigueWindowDays (the ticket closed).",
                                  skipped_total, self);
    if (!rc)
        rc = attach_scheduler(self);
    if (!rc)
        rc = callback_survey_init(self);
    if (!rc)
        rc = callback_http_routes(self);
    if (!rc)
        rc = callback_appeal_routes(self);
    if (!rc)
        rc = txq_on_commit(service_txq(svc), refresh_pending, self);
    if (!rc)
        rc = service_follow(svc, "dispatch", callback_apply, self);
    if (!rc)
        rc = service_follow(svc, "intake", callback_apply, self);
    if (rc)
        return rc;
    refresh_pending(self);
    SLOG_INFO("callback_policy",
              "call_hour=%u retry_minutes=%u max_attempts=%u claim_minutes=%u "
              "basically_satisfied_counts=%s fatigue_max_calls=%u fatigue_window_days=%u "
              "utc_offset_minutes=%d appeal_window_working_days=%u appeal_reasons_count=%zu",
              s.call_hour, s.retry_minutes, s.max_attempts, s.claim_minutes,
              s.basically_satisfied_counts ? "true" : "false", s.fatigue_max_calls,
              s.fatigue_window_days, calendar_offset_minutes(self->cal),
              s.appeal_window_working_days, s.n_appeal_reasons);
    return 0;
}

static void stop(void *state)
{
    callback_survey_stop(state);
}

static void fini(void *state)
{
    callback_t *self = state;
    callback_destroy(&self);
}

/* The survey block is checked before anything opens, so a bad one stops start-up (exit 2). */
static int check_config(const ProtobufCMessage *msg, char *err, size_t err_size)
{
    return callback_survey_check_config((const Hotline__CallbackConfig *)msg, err, err_size);
}

/* Who may run callback's commands: callback agents take and record calls; a time agreed with
 * the citizen is given by whoever spoke to them: the operator who took their call, the agent
 * who called them, or a supervisor; the rated unit appeals its rating (only its own:
 * callback_appeal.c checks the token's unit) and supervisors or admins rule on appeals;
 * answerSurvey is the survey gateway's, run by POST /v1/surveys/{id}/answer once its
 * signature checked, as the principal survey-gateway (role service: like Open311's
 * submitTicket, a channel Hotline itself vouches for; over the bus only Hotline's own service
 * tokens may send it). */
static const service_command_rule_t COMMANDS[] = {
    {HOTLINE__COMMAND__BODY_NEXT_CALLBACK, AUTH_CALLBACK_AGENT},
    {HOTLINE__COMMAND__BODY_RECORD_CALLBACK, AUTH_CALLBACK_AGENT},
    {HOTLINE__COMMAND__BODY_PROMISE_CALLBACK,
     AUTH_OPERATOR | AUTH_CALLBACK_AGENT | AUTH_SUPERVISOR},
    {HOTLINE__COMMAND__BODY_FILE_APPEAL, AUTH_UNIT},
    {HOTLINE__COMMAND__BODY_REVIEW_APPEAL, AUTH_SUPERVISOR | AUTH_ADMIN},
    {HOTLINE__COMMAND__BODY_ANSWER_SURVEY, AUTH_SERVICE},
    {0, 0},
};

const service_desc_t callback_service = {
    .name = "callback",
    .summary = "Hotline callback: schedules the callback after a unit's reply (or at the time "
               "promised to the citizen), hands calls to agents by priority, records ratings "
               "(closing or sending back for rework) and unreachable attempts, skips calls "
               "past the anti-fatigue cap, and takes units' appeals of ratings; with a survey "
               "gateway, asks by SMS / IVR.",
    .config_desc = &hotline__callback_config__descriptor,
    .default_config_json = DEFAULTS,
    .bounds = BOUNDS,
    .check_config = check_config,
    .init = init,
    .command = on_command,
    .commands = COMMANDS,
    .stop = stop,
    .fini = fini,
};
