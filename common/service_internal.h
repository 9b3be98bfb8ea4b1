/* The service skeleton's private parts, shared by service*.c only. */
#ifndef HOTLINE_SERVICE_INTERNAL_H
#define HOTLINE_SERVICE_INTERNAL_H

#include "bus.h"
#include "feed_server.h"
#include "service.h"

#define SERVICE_MAX_FEEDS 16

struct service {
    const service_desc_t *desc;
    void *state;                      /* the service's own, from init() */
    ProtobufCMessage *config;         /* whole configuration message */
    Hotline__RuntimeConfig *rt;       /* its runtime part (inside config) */
    char port_file[1024];             /* where to write the bound ports, "" = nowhere */
    uv_loop_t loop;
    void *zctx;
    hclock_t *clock;
    store_t *store;
    evlog_t *log;
    txq_t *txq;
    cmdexec_t *cmds;
    bus_t *bus;
    feed_server_t *feeds_out;
    feed_client_t *feeds_in[SERVICE_MAX_FEEDS];
    int nfeeds;
    httpd_t *http;
    metrics_t *metrics;
    uv_signal_t sigint, sigterm;
    uv_timer_t maintenance;           /* log and idempotency trimming */
    uv_timer_t stop_timer;            /* lets last answers drain before closing */
    bool maintenance_busy;
    bool maintenance_more;            /* the last pass hit its cap: run again at once */
    unsigned maintenance_trimmed;     /* events the pass being committed removed */
    unsigned maintenance_every_ms;
    txq_item_t maintenance_item;
    bool stopping;
    int exit_code;
    struct {
        metric_t *commits, *commit_seconds, *batch_size, *commands, *log_head, *log_first;
        metric_t *feed_cursor, *feed_lag, *feed_reconnects, *feed_skipped, *feed_gaps;
        metric_t *store_map, *store_used, *store_full, *bus_malformed, *bus_unroutable;
        metric_t *fetches, *events_sent, *trimmed, *http_requests, *events;
        uint64_t last_commits, last_malformed, last_unroutable, last_fetches, last_sent;
        uint64_t last_reconnects[SERVICE_MAX_FEEDS], last_skipped[SERVICE_MAX_FEEDS];
        uint64_t last_gaps[SERVICE_MAX_FEEDS];
    } m;
};

/* service_args.c: parse argv into overrides (JSON) and flags. Returns 0, 1 (--help /
 * --version printed: exit 0) or HL_EINVAL (message printed: exit 2). */
typedef struct service_args {
    const char *config_file;
    json_t *overrides;      /* RuntimeConfig fields set on the command line, as JSON */
    bool print_config;
    const char *port_file;
} service_args_t;
int service_args_parse(int argc, char **argv, const service_desc_t *desc, service_args_t *out);

/* service_http.c: the built-in routes and metrics. */
int service_http_start(service_t *svc);
void service_metrics_init(service_t *svc);
void service_metrics_refresh(service_t *svc);

#endif
