/* dispatch: the service object: embedded configuration (with the demo water-utility
 * catalogue of docs/domain.md), start-up (catalogue check, sub-databases, routes, feeds), the
 * per-unit gauges, and orderly release. Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ports for base 8080 (README): HTTP 8081, bus 8091; follows intake (8090), sla (8092),
 * callback (8093) and analytics (8094: hotspots, kept as suggestions by default); intake,
 * sla, callback and analytics follow dispatch, so the log is kept for them.
 * The catalogue is the demo water utility's: one unit per W subtree, the street-main burst
 * (W0402) to the mains crew, and leaks in two districts to their own crews. */
static const char DEFAULTS[] =
    "{\"runtime\": {"
    "  \"name\": \"dispatch\", \"dataDir\": \"var/dispatch\", \"logLevel\": \"info\","
    "  \"busEndpoint\": \"tcp://127.0.0.1:8091\","
    "  \"http\": {\"listen\": \"127.0.0.1\", \"port\": 8081, \"maxBodyBytes\": 1048576,"
    "    \"idleTimeoutMs\": 60000, \"requestTimeoutMs\": 30000, \"maxConnections\": 4096},"
    "  \"store\": {\"mapSizeMb\": 64, \"maxMapSizeMb\": 65536, \"sync\": \"SYNC_FULL\"},"
    "  \"eventLog\": {\"retentionHours\": 168, \"trimIntervalMs\": 10000,"
    "    \"consumers\": [\"intake\", \"sla\", \"callback\", \"analytics\"],"
    "    \"fetchMaxEvents\": 1000, \"fetchMaxBytes\": 4194304},"
    "  \"feeds\": ["
    "    {\"name\": \"intake\", \"endpoint\": \"tcp://127.0.0.1:8090\","
    "     \"waitMs\": 1000},"
    "    {\"name\": \"callback\", \"endpoint\": \"tcp://127.0.0.1:8093\","
    "     \"waitMs\": 1000},"
    "    {\"name\": \"sla\", \"endpoint\": \"tcp://127.0.0.1:8092\","
    "     \"waitMs\": 1000},"
    "    {\"name\": \"analytics\", \"endpoint\": \"tcp://127.0.0.1:8094\","
    "     \"waitMs\": 1000}],"
    "  \"idempotencyHours\": 24, \"maxBatch\": 10000},"
    " \"routes\": ["
    "  {\"categoryPrefix\": \"W01\", \"unit\": \"water-supply\"},"
    "  {\"categoryPrefix\": \"W02\", \"unit\": \"water-supply\"},"
    "  {\"categoryPrefix\": \"W03\", \"unit\": \"water-quality\"},"
    "  {\"categoryPrefix\": \"W04\", \"unit\": \"repair-crew\"},"
    "  {\"categoryPrefix\": \"W04\", \"district\": \"Gulou\", \"unit\": \"repair-crew-north\"},"
    "  {\"categoryPrefix\": \"W04\", \"district\": \"Cangshan\", \"unit\": \"repair-crew-south\"},"
    "  {\"categoryPrefix\": \"W0402\", \"unit\": \"repair-crew-mains\"},"
    "  {\"categoryPrefix\": \"W05\", \"unit\": \"meter-service\"},"
    "  {\"categoryPrefix\": \"W06\", \"unit\": \"billing\"},"
    "  {\"categoryPrefix\": \"W07\", \"unit\": \"network-works\"},"
    "  {\"categoryPrefix\": \"W08\", \"unit\": \"customer-service\"},"
    "  {\"categoryPrefix\": \"W09\", \"unit\": \"drainage\"}],"
    " \"fallbackUnit\": \"dispatch-desk\","
    " \"units\": ["
    "  {\"id\": \"water-supply\", \"name\": \"Water supply control room\"},"
    "  {\"id\": \"water-quality\", \"name\": \"Water quality laboratory\"},"
    "  {\"id\": \"repair-crew\", \"name\": \"Repair crews, central\"},"
    "  {\"id\": \"repair-crew-north\", \"name\": \"Repair crews, north (Gulou)\"},"
    "  {\"id\": \"repair-crew-south\", \"name\": \"Repair crews, south (Cangshan)\"},"
    "  {\"id\": \"repair-crew-mains\", \"name\": \"Mains burst crew\"},"
    "  {\"id\": \"meter-service\", \"name\": \"Meter service\"},"
    "  {\"id\": \"billing\", \"name\": \"Billing office\"},"
    "  {\"id\": \"network-works\", \"name\": \"Connections and network works\"},"
    "  {\"id\": \"customer-service\", \"name\": \"Customer service quality\"},"
    "  {\"id\": \"drainage\", \"name\": \"Drainage\"},"
    "  {\"id\": \"dispatch-desk\", \"name\": \"Dispatch desk (routes by hand)\"}],"
    " \"calendar\": {\"utcOffsetMinutes\": 480},"
    " \"returnWindow\": {\"value\": 2, \"unit\": \"DURATION_WORKING_DAYS\"},"
    " \"extensionMaxWorkingDays\": 10,"
    " \"incidentLimits\": {\"minPrefixChars\": 2, \"districtAloneIsWide\": true,"
    "  \"closeChunk\": 5000},"
    " \"hotspots\": {\"mode\": \"suggest\"}}";

/* Every numeric key. The defaults above set each one, so a 0 here can only come from an
 * operator, and means a mistake rather than "use the built-in default". */
static const config_bound_t BOUNDS[] = {
    {"calendar.utcOffsetMinutes", -840, 840},
    {"returnWindow.value", 0, 1000},
    {"extensionMaxWorkingDays", 0, 60},
    {"incidentLimits.minPrefixChars", 0, 7},
    {"incidentLimits.closeChunk", 1, 100000},
    {NULL, 0, 0},
};

int dispatch_create(dispatch_t **out, store_t *store, evlog_t *log, hclock_t *clock,
                    const Hotline__DispatchConfig *cfg, char *err, size_t err_size)
{
    *out = NULL;
    dispatch_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->store = store;
    self->log = log;
    self->clock = clock;
    self->cfg = cfg;
    int rc = dispatch_catalogue_create(&self->cat, cfg, err, err_size);
    if (rc) {
        free(self);
        return rc;
    }
    rc = calendar_load(&self->cal, cfg->calendar, err, err_size);
    if (rc) {
        dispatch_destroy(&self);
        return rc;
    }
    rc = store_db(store, "assignments", 0, &self->assignments);
    if (!rc)
        rc = store_db(store, "route_texts", 0, &self->route_texts);
    if (!rc)
        rc = store_db(store, "unit_queue", 0, &self->queue);
    if (!rc)
        rc = store_db(store, "unit_counts", 0, &self->counts);
    if (!rc)
        rc = dispatch_units_open(self);
    if (!rc)
        rc = store_db(store, "incidents", 0, &self->incidents);
    if (!rc)
        rc = store_db(store, "incident_seq", 0, &self->incident_seq);
    if (!rc)
        rc = store_db(store, "returns", 0, &self->returns);
    if (!rc)
        rc = store_db(store, "extensions", 0, &self->extensions);
    if (!rc)
        rc = store_db(store, "reply_due", 0, &self->reply_due);
    if (!rc)
        rc = store_db(store, "terminations", 0, &self->terminations);
    if (!rc)
        rc = store_db(store, "holds", 0, &self->holds);
    if (!rc)
        rc = store_db(store, "assists", 0, &self->assists);
    if (!rc)
        rc = store_db(store, "assist_index", 0, &self->assist_index);
    if (!rc)
        rc = dispatch_catalogue_open(self);
    if (!rc)
        rc = store_db(store, "incident_tickets", 0, &self->incident_tickets);
    if (!rc)
        rc = store_db(store, "incident_closing", 0, &self->incident_closing);
    if (!rc)
        rc = store_db(store, "hotspots", 0, &self->hotspots);
    if (rc) {
        snprintf(err, err_size, "cannot open dispatch's sub-databases: %s", hl_strerror(rc));
        dispatch_destroy(&self);
        return rc;
    }
    *out = self;
    return 0;
}

void dispatch_destroy(dispatch_t **self)
{
    if (!self || !*self)
        return;
    dispatch_catalogue_destroy(&(*self)->cat);
    dispatch_units_destroy(*self);
    dispatch_routes_destroy(*self);
    calendar_destroy(&(*self)->cal);
    free(*self);
    *self = NULL;
}

/* ---- gauges --------------------------------------------------------------------------- */

static int set_gauge(void *ctx, const char *unit, Hotline__TicketStatus state, uint64_t count)
{
    dispatch_t *self = ctx;
    if (state == HOTLINE__TICKET_STATUS__TICKET_CLOSED)
        return 0; /* open tickets only: closed ones only ever grow */
    metric_set(self->open_gauge, (const char *const[]){unit, dispatch_state_name(state)},
               (double)count);
    return 0;
}

/* The gauges are read from the counts the transactions keep, so they are right after a
 * restart and never drift from the store. Reading them costs one key per unit and state. */
static void refresh_gauges(dispatch_t *self)
{
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = dispatch_counts(self, txn, set_gauge, self);
        store_read_end(&txn);
    }
    if (rc)
        SLOG_WARN("gauges_not_refreshed", "reason=\"%s\" next=\"retry after the next commit\"",
                  hl_strerror(rc));
    else
        self->counts_dirty = false;
}

static void after_commit(void *ctx)
{
    dispatch_t *self = ctx;
    if (self->counts_dirty)
        refresh_gauges(self);
    dispatch_units_after_commit(self);
    dispatch_routes_after_commit(self);
    dispatch_catalogue_after_commit(self);
}

/* ---- the service ------------------------------------------------------------------------ */

static int init(service_t *svc, void **state)
{
    const Hotline__DispatchConfig *cfg = (const Hotline__DispatchConfig *)service_config(svc);
    char err[512] = "";
    dispatch_t *self;
    int rc = dispatch_create(&self, service_store(svc), service_log(svc), service_clock(svc), cfg,
                             err, sizeof err);
    if (rc) {
        /* Said the way the skeleton says configuration errors, naming the key. */
        fprintf(stderr, "hotline-dispatch: configuration: %s\n", err);
        return rc;
    }
    *state = self;
    self->svc = svc;
    self->open_gauge =
        metrics_gauge(service_metrics(svc), "hotline_dispatch_open_tickets",
                      "Tickets a unit holds and has not closed, by state.", "unit,state");
    if (!self->open_gauge)
        return HL_EINTERNAL;
    rc = txq_on_commit(service_txq(svc), after_commit, self);
    if (!rc)
        rc = dispatch_http_routes(self, svc);
    if (!rc)
        rc = dispatch_incident_routes(self, svc);
    if (!rc && (rc = dispatch_crews_create(self, svc, err, sizeof err)) != 0)
        fprintf(stderr, "hotline-dispatch: configuration: %s\n", err);
    if (!rc)
        rc = dispatch_workorder_routes(self, svc);
    if (!rc)
        rc = dispatch_crews_start(self);
    if (!rc)
        rc = dispatch_catalogue_routes(self, svc);
    if (!rc)
        rc = dispatch_close_scheduler(self, svc);
    if (!rc)
        rc = service_follow(svc, "intake", dispatch_apply_intake, self);
    if (!rc)
        rc = service_follow(svc, "callback", dispatch_apply_callback, self);
    if (!rc)
        rc = service_follow(svc, "sla", dispatch_apply_sla, self);
    if (!rc)
        rc = service_follow(svc, "analytics", dispatch_apply_analytics, self);
    if (!rc)
        rc = dispatch_hotspot_routes(self, svc);
    if (rc)
        return rc;
    refresh_gauges(self);
    SLOG_INFO("catalogue_in_use", "version=%u label=\"%s\" rules=%zu units=%zu fallback=%s",
              self->cat->version, self->cat->label, self->cat->nrules, self->cat->nunits,
              self->cat->fallback);
    return 0;
}

static void stop(void *state)
{
    dispatch_crews_stop(state);
}

static void fini(void *state)
{
    dispatch_t *self = state;
    dispatch_crews_destroy(self);
    dispatch_destroy(&self);
}

/* The catalogue and the calendar are checked before anything opens, so a bad one stops
 * start-up with exit 2. */
static int check_config(const ProtobufCMessage *msg, char *err, size_t err_size)
{
    const Hotline__DispatchConfig *cfg = (const Hotline__DispatchConfig *)msg;
    /* The last look before --print-config and init(): the crews' defaults are written into the
     * (skeleton-owned, mutable) message here, so what is printed is what runs. */
    dispatch_crews_fill_defaults((Hotline__DispatchConfig *)cfg);
    dispatch_catalogue_t *cat;
    int rc = dispatch_catalogue_create(&cat, cfg, err, err_size);
    if (rc)
        return rc;
    rc = dispatch_crews_check(cfg, cat, err, err_size);
    dispatch_catalogue_destroy(&cat);
    if (rc)
        return rc;
    calendar_t *cal;
    rc = calendar_load(&cal, cfg->calendar, err, err_size);
    calendar_destroy(&cal);
    return rc ? rc : dispatch_hotspot_check(cfg, err, err_size);
}

/* Who may run dispatch's commands: units act on their tickets, dispatchers run incidents. */
static const service_command_rule_t COMMANDS[] = {
    {HOTLINE__COMMAND__BODY_SIGN_TICKET, AUTH_UNIT},
    {HOTLINE__COMMAND__BODY_CONTACT_CITIZEN, AUTH_UNIT},
    {HOTLINE__COMMAND__BODY_ADD_TICKET_NOTE, AUTH_UNIT},
    {HOTLINE__COMMAND__BODY_REPLY_TICKET, AUTH_UNIT},
    {HOTLINE__COMMAND__BODY_REQUEST_RETURN, AUTH_UNIT},
    {HOTLINE__COMMAND__BODY_REQUEST_EXTENSION, AUTH_UNIT},
    {HOTLINE__COMMAND__BODY_REVIEW_EXTENSION, AUTH_SUPERVISOR},
    {HOTLINE__COMMAND__BODY_REQUEST_TERMINATION, AUTH_UNIT},
    {HOTLINE__COMMAND__BODY_REVIEW_TERMINATION, AUTH_SUPERVISOR},
    {HOTLINE__COMMAND__BODY_SUB_DISPATCH_TICKET, AUTH_UNIT},
    {HOTLINE__COMMAND__BODY_HOLD_TICKET, AUTH_DISPATCHER | AUTH_SUPERVISOR},
    {HOTLINE__COMMAND__BODY_REVIEW_RETURN, AUTH_DISPATCHER},
    {HOTLINE__COMMAND__BODY_REDIRECT_TICKET, AUTH_DISPATCHER},
    /* A supervisor too: only a supervisor may declare a wide incident (incidentLimits). */
    {HOTLINE__COMMAND__BODY_DECLARE_INCIDENT, AUTH_DISPATCHER | AUTH_SUPERVISOR},
    {HOTLINE__COMMAND__BODY_UPDATE_INCIDENT, AUTH_DISPATCHER},
    {HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, AUTH_DISPATCHER},
    {HOTLINE__COMMAND__BODY_LOAD_CATALOGUE, AUTH_SUPERVISOR | AUTH_ADMIN},
    {HOTLINE__COMMAND__BODY_LINK_TICKETS, AUTH_DISPATCHER},
    {HOTLINE__COMMAND__BODY_UNLINK_TICKET, AUTH_DISPATCHER},
    {HOTLINE__COMMAND__BODY_RAISE_WORK_ORDER, AUTH_DISPATCHER},
    {HOTLINE__COMMAND__BODY_CANCEL_WORK_ORDER, AUTH_DISPATCHER},
    {HOTLINE__COMMAND__BODY_UPDATE_WORK_ORDER_STATUS, AUTH_CREW},
    {HOTLINE__COMMAND__BODY_REPLAY_DEAD_LETTER, AUTH_DISPATCHER | AUTH_ADMIN},
    /* Accepting a wide hotspot still needs a supervisor (incidentLimits). */
    {HOTLINE__COMMAND__BODY_ACCEPT_HOTSPOT, AUTH_DISPATCHER | AUTH_SUPERVISOR},
    {HOTLINE__COMMAND__BODY_DISMISS_HOTSPOT, AUTH_DISPATCHER | AUTH_SUPERVISOR},
    {0, 0},
};

const service_desc_t dispatch_service = {
    .name = "dispatch",
    .summary = "Hotline dispatch: routes tickets to units by the catalogue; units sign and "
               "reply; reworks and closures come back from callback.",
    .config_desc = &hotline__dispatch_config__descriptor,
    .default_config_json = DEFAULTS,
    .bounds = BOUNDS,
    .check_config = check_config,
    .init = init,
    .command = dispatch_command,
    .commands = COMMANDS,
    .stop = stop,
    .fini = fini,
};
