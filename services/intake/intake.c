/* intake: service descriptor, configuration and start-up. */
#include "intake_internal.h"

#include "intake_export.h"
#include "intake_status.h"

#include "hl_error.h"
#include "slog.h"

#include <stdlib.h>
#include <string.h>

static const char DEFAULTS[] =
    "{\"runtime\": {"
    "  \"name\": \"intake\", \"dataDir\": \"var/intake\","
    "  \"busEndpoint\": \"tcp://127.0.0.1:8090\", \"http\": {\"port\": 8080},"
    "  \"eventLog\": {\"consumers\": [\"dispatch\", \"callback\", \"analytics\"]},"
    "  \"feeds\": ["
    "    {\"name\": \"dispatch\", \"endpoint\": \"tcp://127.0.0.1:8091\","
    "     \"waitMs\": 1000},"
    "    {\"name\": \"sla\", \"endpoint\": \"tcp://127.0.0.1:8092\","
    "     \"waitMs\": 1000},"
    "    {\"name\": \"callback\", \"endpoint\": \"tcp://127.0.0.1:8093\","
    "     \"waitMs\": 1000}]},"
    " \"repeatWindowMinutes\": 10080,"
    " \"calendar\": {\"utcOffsetMinutes\": 480}}";

static const config_bound_t BOUNDS[] = {
    {"instance", 0, 99},
    {"repeatWindowMinutes", 0, 525600},
    {"open311.batchBacklogMark", 0, 1000000},
    {"calendar.utcOffsetMinutes", -840, 840},
    {NULL, 0, 0},
};

/* Who may run intake's commands: operators, and channels acting as a service. */
static const service_command_rule_t COMMANDS[] = {
    {HOTLINE__COMMAND__BODY_SUBMIT_TICKET, AUTH_OPERATOR | AUTH_SERVICE},
    {0, 0},
};

static int on_command(void *state, MDB_txn *txn, const Hotline__Command *cmd,
                      cmd_reply_t *reply)
{
    intake_t *self = state;
    switch (cmd->body_case) {
    case HOTLINE__COMMAND__BODY_SUBMIT_TICKET:
        return intake_submit(self, txn, cmd->submit_ticket, reply);
    default:
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "body",
                          "intake takes submitTicket; unit actions go to dispatch, callbacks "
                          "to callback");
    }
}

/* The number in the middle of ticket ids: `instance`, or else the runtime name's
 * ("intake-2": 2; "intake": 1), so that naming an instance numbers it. Both given and
 * different is refused: two intakes taking one number would issue the same ids. */
static int instance_number(service_t *svc, unsigned configured, unsigned *out)
{
    const char *name = service_runtime(svc)->name;
    const char *dash = strrchr(name, '-');
    const char *digits = dash ? dash + 1 : "";
    size_t nd = strlen(digits);
    unsigned named = 0;
    if (nd > 0 && strspn(digits, "0123456789") == nd) {
        named = nd <= 2 ? (unsigned)atoi(digits) : 0;
        if (named == 0) {
            SLOG_ERROR("config_invalid", "reason=\"runtime.name '%s': an instance number must "
                       "be 1 to 99\"", name);
            return HL_EINVAL;
        }
    }
    if (configured && named && configured != named) {
        SLOG_ERROR("config_invalid", "reason=\"instance is %u but runtime.name '%s' says %u: "
                   "give one of them, or the same number in both\"", configured, name, named);
        return HL_EINVAL;
    }
    *out = configured ? configured : named ? named : 1;
    return 0;
}

static int init(service_t *svc, void **state)
{
    intake_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    *state = self;
    self->svc = svc;
    const Hotline__IntakeConfig *cfg = (const Hotline__IntakeConfig *)service_config(svc);
    int rc = instance_number(svc, cfg->instance, &self->instance);
    if (rc)
        return rc;
    self->repeat_window_ms = (int64_t)cfg->repeat_window_minutes * 60000;
    char err[256];
    rc = calendar_load(&self->cal, cfg->calendar, err, sizeof err);
    if (rc) {
        SLOG_ERROR("config_invalid", "reason=\"%s\"", err);
        return rc;
    }
    store_t *st = service_store(svc);
    rc = arena_create(&self->scratch);
    if (!rc)
        rc = store_db(st, "tickets", 0, &self->tickets);
    if (!rc)
        rc = store_db(st, "recorded", 0, &self->recorded);
    if (!rc)
        rc = store_db(st, "status", 0, &self->status);
    if (!rc)
        rc = store_db(st, "ticket_seq", 0, &self->ticket_seq);
    if (!rc)
        rc = store_db(st, "by_time", 0, &self->by_time);
    if (!rc)
        rc = store_db(st, "updates", 0, &self->updates);
    if (!rc)
        rc = store_db(st, "changed", 0, &self->changed);
    if (!rc)
        rc = intake_status_open(self);
    if (!rc)
        rc = store_db(st, "repeats", 0, &self->repeats);
    if (!rc)
        rc = store_db(st, "incidents", 0, &self->incidents);
    /* The log refers to the ticket as recorded rather than keeping a second copy. */
    if (!rc)
        rc = evlog_body_by_ref(service_log(svc), HOTLINE__EVENT__BODY_TICKET_RECEIVED,
                               self->recorded);
    if (!rc)
        rc = intake_http_init(self);
    if (!rc)
        rc = intake_open311_init(self);
    static const char *const producers[] = {"dispatch", "sla", "callback"};
    for (size_t i = 0; !rc && i < sizeof producers / sizeof *producers; i++)
        rc = service_follow(svc, producers[i], intake_apply_status, self);
    if (!rc)
        rc = service_follow_peers(svc, intake_apply_peer, self, &self->npeers);
    if (!rc && self->npeers)
        SLOG_INFO("intake_peers", "instance=%u peers=%u", self->instance, self->npeers);
    return rc;
}

static void stop(void *state)
{
    intake_open311_stop(state);
    intake_export_stop(state);
}

static void fini(void *state)
{
    intake_t *self = state;
    intake_open311_fini(self);
    calendar_destroy(&self->cal);
    arena_destroy(&self->scratch);
    free(self);
}

const service_desc_t intake_service = {
    .name = "intake",
    .summary = "Hotline intake: records tickets and keeps their status for citizens and "
               "operators.",
    .config_desc = &hotline__intake_config__descriptor,
    .default_config_json = DEFAULTS,
    .bounds = BOUNDS,
    .init = init,
    .command = on_command,
    .commands = COMMANDS,
    .stop = stop,
    .fini = fini,
};
