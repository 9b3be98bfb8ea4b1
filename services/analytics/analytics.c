/* analytics: the service's life cycle: embedded defaults and bounds, opening its
 * sub-databases, following the four feeds, and keeping /metrics in step after each commit.
 * Loop thread. */
#include "analytics_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stdlib.h>
#include <string.h>

/* Ports for base 8080 (README): HTTP 8084, bus 8094; it follows the four other services'
 * buses. Dispatch follows analytics' log (HotspotDetected), so the log is kept for it.
 * Hotspot defaults from docs/domain.md's surge figures: a 30-minute window, at least 8 new
 * reports and 4x the key's usual rate (a week's half-life), one raise per 6 hours per key,
 * 500 m cells for tickets with a point. */
static const char DEFAULTS[] =
    "{\"runtime\": {\"name\": \"analytics\", \"dataDir\": \"var/analytics\","
    " \"busEndpoint\": \"tcp://127.0.0.1:8094\", \"http\": {\"port\": 8084},"
    " \"eventLog\": {\"consumers\": [\"dispatch\"]},"
    " \"feeds\": ["
    "  {\"name\": \"intake\", \"endpoint\": \"tcp://127.0.0.1:8090\","
    "   \"waitMs\": 1000},"
    "  {\"name\": \"dispatch\", \"endpoint\": \"tcp://127.0.0.1:8091\","
    "   \"waitMs\": 1000},"
    "  {\"name\": \"sla\", \"endpoint\": \"tcp://127.0.0.1:8092\","
    "   \"waitMs\": 1000},"
    "  {\"name\": \"callback\", \"endpoint\": \"tcp://127.0.0.1:8093\","
    "   \"waitMs\": 1000}]},"
    " \"calendar\": {\"utcOffsetMinutes\": 480},"
    " \"basicallySatisfiedCounts\": true,"
    " \"hotspots\": {\"enabled\": true, \"windowMinutes\": 30, \"minCount\": 8,"
    "  \"factor\": 4, \"baselineHalfLifeHours\": 168, \"cooldownMinutes\": 360,"
    "  \"gridMeters\": 500, \"prefixChars\": 3}}";

/* One row per numeric key. 0 means "the runtime's default" for the runtime keys, so it is
 * always allowed; the maxima keep a typo from asking for the impossible. */
static const config_bound_t BOUNDS[] = {
    {"calendar.utcOffsetMinutes", -840, 840},
    {NULL, 0, 0},
};

/* The producers analytics follows, each with the same apply (events say their source). */
static const char *const PRODUCERS[] = {"intake", "dispatch", "sla", "callback"};

int analytics_open(analytics_t **out, store_t *store, const analytics_opts_t *opts, char *err,
                   size_t err_size)
{
    *out = NULL;
    if (!opts->clock) {
        snprintf(err, err_size, "analytics needs a clock");
        return HL_EINVAL;
    }
    analytics_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->store = store;
    self->clock = opts->clock;
    self->basically_satisfied = opts->basically_satisfied_counts;
    self->rec = calloc(1, sizeof *self->rec);
    if (!self->rec) {
        free(self);
        return HL_ENOMEM;
    }
    int rc = calendar_load(&self->cal, opts->calendar, err, err_size);
    if (!rc)
        rc = store_db(store, "tickets", 0, &self->tickets);
    if (!rc)
        rc = store_db(store, "counters", 0, &self->counters);
    if (!rc)
        rc = store_db(store, "timeline", 0, &self->timeline);
    if (!rc)
        rc = store_db(store, "verdicts", 0, &self->verdicts);
    if (!rc)
        rc = store_db(store, "meta", 0, &self->meta);
    if (!rc)
        rc = analytics_layout_check(self, opts->rebuild);
    if (!rc)
        rc = analytics_hotspot_open(self, opts->hotspots, opts->log);
    if (rc) {
        analytics_close(&self);
        return rc;
    }
    *out = self;
    return 0;
}

void analytics_close(analytics_t **self)
{
    if (!self || !*self)
        return;
    calendar_destroy(&(*self)->cal);
    analytics_pending_fini(*self);
    tl_rec_fini((*self)->rec);
    free((*self)->rec);
    free(*self);
    *self = NULL;
}

static void after_commit(void *ctx)
{
    int rc = analytics_metrics_refresh(ctx);
    if (rc)
        SLOG_WARN("metrics_refresh_failed",
                  "reason=\"%s\" next=\"retry after the next "
                  "commit\"",
                  hl_strerror(rc));
}

static int init(service_t *svc, void **state)
{
    const Hotline__AnalyticsConfig *cfg = (const Hotline__AnalyticsConfig *)service_config(svc);
    analytics_opts_t opts = {
        .calendar = cfg->calendar,
        .basically_satisfied_counts = cfg->basically_satisfied_counts,
        .clock = service_clock(svc),
        .rebuild = cfg->rebuild_on_start,
        .hotspots = cfg->hotspots,
        .log = service_log(svc),
    };
    char err[256] = "";
    analytics_t *self;
    int rc = analytics_open(&self, service_store(svc), &opts, err, sizeof err);
    if (rc) {
        SLOG_ERROR("analytics_open_failed", "reason=\"%s\" detail=\"%s\"", hl_strerror(rc), err);
        return rc;
    }
    *state = self;
    for (size_t i = 0; !rc && i < sizeof PRODUCERS / sizeof *PRODUCERS; i++)
        rc = service_follow_batched(svc, PRODUCERS[i], analytics_apply, analytics_batch_end,
                                    self);
    if (!rc)
        rc = analytics_http_routes(self, svc);
    if (!rc)
        rc = analytics_metrics_attach(self, service_metrics(svc));
    if (!rc)
        rc = txq_on_commit(service_txq(svc), after_commit, self);
    if (!rc)
        SLOG_INFO("analytics_ready", "utc_offset_minutes=%d basically_satisfied_counts=%s",
                  calendar_offset_minutes(self->cal), self->basically_satisfied ? "yes" : "no");
    return rc;
}

static int check_config(const ProtobufCMessage *msg, char *err, size_t err_size)
{
    return analytics_hotspot_check(((const Hotline__AnalyticsConfig *)msg)->hotspots, err,
                                   err_size);
}

static void fini(void *state)
{
    analytics_t *self = state;
    analytics_close(&self);
}

const service_desc_t analytics_service = {
    .name = "analytics",
    .summary = "Hotline analytics: KPIs by period, unit, category and district, every "
               "ticket's timeline, and hotspots for dispatch, from the intake, dispatch, sla "
               "and callback feeds.",
    .config_desc = &hotline__analytics_config__descriptor,
    .default_config_json = DEFAULTS,
    .bounds = BOUNDS,
    .check_config = check_config,
    .init = init,
    .fini = fini,
};
