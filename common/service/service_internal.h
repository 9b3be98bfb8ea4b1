/* The service skeleton's private parts, shared by service*.c only. */
#ifndef HOTLINE_SERVICE_INTERNAL_H
#define HOTLINE_SERVICE_INTERNAL_H

#include "bus.h"
#include "feed_server.h"
#include "service.h"

#define SERVICE_MAX_FEEDS 32
#define SERVICE_NAME_MAX 40 /* runtime.name and feed names */
#define SERVICE_FEED_LINGER_MAX_MS 1000 /* feeds[].lingerMs: at most a second per hop */
#define SERVICE_MAX_SCHEDS 8

/* The version every binary reports (--version, hotline_build_info): the project's version in
 * CMakeLists.txt. */
#define SERVICE_VERSION "0.1.0"

typedef struct service_auth service_auth_t;

/* A route behind the access check (service_routes); the httpd keeps a pointer to it. */
typedef struct service_guard {
    struct service_guard *next;
    service_t *svc;
    const service_route_t *route;
    void *ctx;
} service_guard_t;

/* A followed feed as the skeleton sees it: the service's apply, wrapped to note the events on
 * their way in, for hotline_feed_lag_seconds (service_metrics.c). */
typedef struct service_feed {
    service_t *svc;
    int index;           /* in feeds_in */
    feed_apply_fn apply; /* the service's own */
    feed_batch_end_fn end; /* the service's own, or NULL */
    void *ctx;
    uint64_t oldest_seq; /* first event of the batch being applied: not applied while it is
                          * above the committed cursor */
    int64_t oldest_ms;   /* its time (the producer's clock) */
    uint64_t newest_seq; /* last event handed to apply */
    int64_t newest_ms;
} service_feed_t;

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
    service_feed_t feeds_seen[SERVICE_MAX_FEEDS]; /* beside feeds_in, same index */
    int nfeeds;
    httpd_t *http;
    metrics_t *metrics;
    service_auth_t *auth;             /* who is calling: tokens, CURVE keys */
    service_guard_t *guards;          /* every route added, newest first */
    scheduler_t *scheds[SERVICE_MAX_SCHEDS]; /* durable timers (service_scheduler) */
    int nscheds;
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
        metric_t *feed_batches, *feed_lingers;
        metric_t *store_map, *store_limit, *store_used, *store_full, *bus_malformed, *bus_unroutable;
        metric_t *fetches, *events_sent, *trimmed, *http_requests, *events, *addr_refused;
        metric_t *http_seconds, *feed_lag_seconds;
        uint64_t last_addr_refused;
        uint64_t last_commits, last_malformed, last_unroutable, last_fetches, last_sent;
        uint64_t last_reconnects[SERVICE_MAX_FEEDS], last_skipped[SERVICE_MAX_FEEDS];
        uint64_t last_gaps[SERVICE_MAX_FEEDS];
        uint64_t last_batches[SERVICE_MAX_FEEDS], last_lingers[SERVICE_MAX_FEEDS];
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

/* service_auth.c: credentials and the access check. */
int service_auth_open(service_t *svc);   /* before the bus binds: the ZAP handler first */
void service_auth_stop(service_t *svc);  /* close its handles (shutdown) */
void service_auth_destroy(service_t *svc);
const char *service_auth_curve_secret(service_t *svc); /* NULL: a plain bus */
/* This service's credentials for a producer (server_key "" = the producer is plain). */
void service_auth_feed_cred(service_t *svc, const char *server_key, bus_cred_t *out);
/* Who holds token; on a refusal why says what is needed (roles) and the refusal is counted. */
auth_verdict_t service_auth_token(service_t *svc, const char *token, size_t len, uint32_t roles,
                                  auth_principal_t *who, char *why, size_t why_size);
/* Who sent a bus request: its token, else its CURVE key. */
auth_verdict_t service_auth_bus(service_t *svc, const bus_caller_t *caller, uint32_t roles,
                                auth_principal_t *who, char *why, size_t why_size);
/* A 403's message: "role unit:x may not <what>: it needs ..."; counted. */
void service_auth_forbidden(service_t *svc, const auth_principal_t *who, uint32_t roles,
                            const char *what, char *why, size_t why_size);
/* The HTTP door: false when the request was answered 401 / 403. */
bool service_auth_http(service_t *svc, httpd_req_t *req, uint32_t roles, auth_principal_t *who);

/* service_defaults.c: fill every runtime key no layer set with its effective default (the one
 * table of them), so --print-config shows what runs. Errors: HL_ENOMEM, HL_EINTERNAL (a bad
 * row in the table). */
int service_runtime_defaults(Hotline__RuntimeConfig *rt, const char *service_name);

/* service_http.c: the built-in routes. */
int service_http_start(service_t *svc);

/* service_metrics.c: the runtime's metrics. */
void service_metrics_init(service_t *svc);
void service_metrics_refresh(service_t *svc);
/* httpd's answer observer (httpd_on_answer): requests by route and status, durations. */
void service_metrics_http_answer(void *ctx, const char *method, const char *route, int status,
                                 double seconds);
/* The feed_apply_fn given to the feed client: notes the event, then runs the service's apply
 * (ctx: the feed's service_feed_t). */
int service_feed_apply(void *ctx, MDB_txn *txn, const Hotline__Event *ev);
/* The feed_batch_end_fn given to the feed client when the service has one: runs it. */
int service_feed_batch_end(void *ctx, MDB_txn *txn);

#endif
