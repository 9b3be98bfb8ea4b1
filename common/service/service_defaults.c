/* service_defaults: the runtime's effective defaults, written into the configuration message.
 *
 * A runtime key a service's embedded JSON, the file, the environment and the command line all
 * leave at zero (or empty) takes its value from the table below, before the configuration is
 * printed (--print-config) or used. This table is the one place the runtime's defaults are
 * defined: the skeleton passes every value on to the modules explicitly, so their own
 * fallbacks (for callers outside the skeleton) never decide anything for a service, and what
 * --print-config shows is what runs. Start-up only. */
#include "service_internal.h"

#include "hl_error.h"

#include <stdlib.h>
#include <string.h>

#define MIB ((uint64_t)1 << 20)

/* One row per key: a number, or text when text is set. Paths are under runtime. */
typedef struct runtime_default {
    const char *path;
    uint64_t number;
    const char *text;
} runtime_default_t;

static const runtime_default_t RUNTIME_DEFAULTS[] = {
    {"logLevel", 0, "info"},
    {"http.listen", 0, "127.0.0.1"},
    {"http.maxBodyBytes", MIB, NULL},
    {"http.idleTimeoutMs", 60000, NULL},
    {"http.requestTimeoutMs", 30000, NULL},
    {"http.maxConnections", 4096, NULL},
    /* http.maxConnectionsPerAddress: an eighth of maxConnections, below */
    {"store.mapSizeMb", 64, NULL},
    {"store.maxMapSizeMb", 65536, NULL},
    {"eventLog.retentionHours", 168, NULL},
    {"eventLog.trimIntervalMs", 10000, NULL},
    {"eventLog.fetchMaxEvents", 1000, NULL},
    {"eventLog.fetchMaxBytes", 4 * MIB, NULL},
    {"idempotencyHours", 24, NULL},
    {"maxBatch", 10000, NULL},
    {"auth.reloadMs", 1000, NULL},
    /* feeds[].batchMax, feeds[].lingerMs: FEED_PACE (by service); feeds[].waitMs: FEED_WAIT_MS,
     * below */
};

#define FEED_WAIT_MS 1000 /* how long a fetch waits at the producer when nothing is new */

/* How a service reads its feeds in a surge: events asked for in one fetch (batchMax), and how
 * long it waits before its next fetch after a small batch while events flow (lingerMs;
 * docs/perf-findings.md, change 1 and section 10). The door's status views follow closely
 * (a caller asks how the ticket stands); the back office reads in bigger, later batches: per
 * batch costs (a commit and its flushes, a round trip on the bus, analytics' counters) are
 * shared by more events. Measured in pairs (N = 200,000): dispatch -20%, callback -45%,
 * analytics -28% CPU, the pipeline +5-10% tickets/s end to end. Any other consumer (test
 * tools) takes the first row's. An unset (0) key takes these; lingerMs -1 never lingers. */
static const struct {
    const char *service;
    unsigned batch_max, linger_ms;
} FEED_PACE[] = {
    {"intake", 500, 20},      {"dispatch", 1000, 50},   {"sla", 1000, 50},
    {"callback", 2000, 100},  {"analytics", 2000, 200},
};

static int set_text(char **slot, const char *text)
{
    if (*slot && **slot)
        return 0;
    char *copy = strdup(text);
    if (!copy)
        return HL_ENOMEM;
    if (*slot && *slot != protobuf_c_empty_string)
        free(*slot);
    *slot = copy;
    return 0;
}

static int set_number(void *slot, const ProtobufCFieldDescriptor *f, uint64_t v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_UINT32:
        if (!*(uint32_t *)slot)
            *(uint32_t *)slot = (uint32_t)v;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
        if (!*(uint64_t *)slot)
            *(uint64_t *)slot = v;
        return 0;
    default:
        return HL_EINTERNAL; /* a row naming a key of another type: fix the table */
    }
}

/* The sub-messages the table reaches into, created empty when no layer set them. */
static int ensure_sections(Hotline__RuntimeConfig *rt)
{
    if (!rt->http && (rt->http = malloc(sizeof *rt->http)) != NULL)
        hotline__http_config__init(rt->http);
    if (!rt->store && (rt->store = malloc(sizeof *rt->store)) != NULL)
        hotline__store_config__init(rt->store);
    if (!rt->event_log && (rt->event_log = malloc(sizeof *rt->event_log)) != NULL)
        hotline__event_log_config__init(rt->event_log);
    if (!rt->auth && (rt->auth = malloc(sizeof *rt->auth)) != NULL)
        hotline__auth_config__init(rt->auth);
    return rt->http && rt->store && rt->event_log && rt->auth ? 0 : HL_ENOMEM;
}

int service_runtime_defaults(Hotline__RuntimeConfig *rt, const char *service_name)
{
    int rc = ensure_sections(rt);
    if (!rc)
        rc = set_text(&rt->name, service_name);
    for (size_t i = 0; !rc && i < sizeof RUNTIME_DEFAULTS / sizeof *RUNTIME_DEFAULTS; i++) {
        const runtime_default_t *d = &RUNTIME_DEFAULTS[i];
        const ProtobufCFieldDescriptor *f;
        void *slot = config_field(&rt->base, d->path, &f);
        if (!slot)
            return HL_EINTERNAL; /* a row naming no key: fix the table */
        rc = d->text ? set_text(slot, d->text) : set_number(slot, f, d->number);
    }
    if (rc)
        return rc;
    /* So that one client address cannot hold every connection (httpd's rule, stated here). */
    if (!rt->http->max_connections_per_address)
        rt->http->max_connections_per_address =
            rt->http->max_connections / 8 ? rt->http->max_connections / 8 : 1;
    size_t pace = 0;
    for (size_t i = 0; service_name && i < sizeof FEED_PACE / sizeof *FEED_PACE; i++)
        if (strcmp(FEED_PACE[i].service, service_name) == 0)
            pace = i;
    for (size_t i = 0; i < rt->n_feeds; i++) {
        if (!rt->feeds[i]->batch_max)
            rt->feeds[i]->batch_max = FEED_PACE[pace].batch_max;
        if (!rt->feeds[i]->wait_ms)
            rt->feeds[i]->wait_ms = FEED_WAIT_MS;
        if (!rt->feeds[i]->linger_ms)
            rt->feeds[i]->linger_ms = (int32_t)FEED_PACE[pace].linger_ms;
    }
    return 0;
}
