/* service: the shared skeleton every Hotline service (and test process) runs on.
 *
 * service_main() parses the command line, loads the configuration (embedded defaults, file,
 * environment, then command-line overrides), sets up logging, opens the store and the event
 * log, binds the bus (ZeroMQ ROUTER: commands and feed fetches) and the HTTP port, calls the
 * service's init(), follows the feeds it asked for, and runs the loop until SIGINT / SIGTERM.
 * Shutdown is orderly: intake stops, what is waiting is committed and answered (the last
 * commit), then everything closes.
 *
 * Every service gets, on its HTTP port (who may call each: the built-in access table):
 *   GET  /healthz            the process is alive                            anyone
 *   GET  /readyz             the service can take work (503 and why)         anyone
 *   GET  /metrics            Prometheus text format                          anyone
 *   POST /v1/commands        a hotline.Command as JSON; the reply as JSON    per command
 *   GET  /v1/events          its own log: ?after=SEQ&limit=N                 service
 *   GET  /v1/status          runtime figures: log head, feeds, commits       admin, supervisor,
 *                                                                            service
 *   GET  /v1/access          this service's access table                     any role
 *   POST /admin/clock        move the test clock (only with --test-clock)    admin
 *
 * Access (docs/architecture.md): every HTTP route and every command is in a table of the
 * roles that may call it, checked here before any handler runs: no credentials or unknown /
 * expired / revoked ones get 401 (UNAUTHENTICATED), a role not in the table 403 (FORBIDDEN);
 * both name what is needed. Handlers then see who is calling (service_req_principal, Command.by) and narrow
 * further by data: a unit token reads and acts only on its own tickets.
 *
 * A service's main.c fills a service_desc_t and calls service_main(). Loop thread only. */
#ifndef HOTLINE_SERVICE_H
#define HOTLINE_SERVICE_H

#include "auth.h"
#include "cmdexec.h"
#include "config.h"
#include "evlog.h"
#include "feed_client.h"
#include "hclock.h"
#include "httpd.h"
#include "metrics.h"
#include "scheduler.h"
#include "store.h"
#include "txq.h"

#include "hotline/config.pb-c.h"

#include <jansson.h>

typedef struct service service_t;

/* One row of a service's access table for commands: who may run it (over the bus, through
 * POST /v1/commands, or through a route that builds it). */
typedef struct service_command_rule {
    uint32_t body_case; /* the Command's one-of field number (HOTLINE__COMMAND__BODY_...) */
    uint32_t roles;     /* AUTH_* bits */
} service_command_rule_t;

/* One row of a service's HTTP access table: a route, who may call it, and its handler. */
typedef struct service_route {
    const char *method;       /* "GET", "POST"; NULL = any */
    const char *path;         /* as httpd_route: a trailing '*' matches any rest */
    uint32_t roles;           /* AUTH_* bits; AUTH_PUBLIC = no credentials needed */
    httpd_handler_fn handler;
} service_route_t;

typedef struct service_desc {
    const char *name;     /* "intake": log name, event source, default consumer name */
    const char *summary;  /* one line for --help */
    const ProtobufCMessageDescriptor *config_desc; /* has "runtime" (hotline.RuntimeConfig) */
    const char *default_config_json;               /* embedded defaults */
    const config_bound_t *bounds;                  /* the service's own keys (the runtime.*
                                                    * bounds are the skeleton's), NULL-path
                                                    * terminated; may be NULL */
    /* Check the service's own configuration before anything opens (catalogue, policies):
     * return 0, or fill err with one line naming the key and the rule (exit code 2). NULL:
     * nothing beyond the bounds table. */
    int (*check_config)(const ProtobufCMessage *cfg, char *err, size_t err_size);
    /* Open sub-databases, add HTTP routes, follow feeds. *state is passed to the others. */
    int (*init)(service_t *svc, void **state);
    /* Commands from the bus and POST /v1/commands. NULL: the service takes none. cmd->by is
     * who asks (set by the skeleton from the credentials; NULL only when auth is off). */
    int (*command)(void *state, MDB_txn *txn, const Hotline__Command *cmd, cmd_reply_t *reply);
    /* Who may run which command: rows ending with body_case 0. A command not listed is
     * refused (NOT_FOUND) before it reaches command(). */
    const service_command_rule_t *commands;
    /* Shutdown has begun: close the service's own handles (timers) so the loop can end.
     * Commands and feeds have stopped; the last commit follows. NULL: nothing to close. */
    void (*stop)(void *state);
    /* After the last commit, before the store closes. */
    void (*fini)(void *state);
} service_desc_t;

/* Run a service; returns the process exit code (0 clean stop, 1 runtime failure,
 * 2 bad arguments or configuration). */
int service_main(int argc, char **argv, const service_desc_t *desc);

/* For init() and handlers. */
uv_loop_t *service_loop(service_t *svc);
store_t *service_store(service_t *svc);
evlog_t *service_log(service_t *svc);
txq_t *service_txq(service_t *svc);
hclock_t *service_clock(service_t *svc);
metrics_t *service_metrics(service_t *svc);
httpd_t *service_httpd(service_t *svc);
const ProtobufCMessage *service_config(service_t *svc);
const Hotline__RuntimeConfig *service_runtime(service_t *svc);
void *service_zmq(service_t *svc);

/* Follow producer's feed (its endpoint from runtime.feeds by name), and the feed of each of
 * its further instances ("intake-2", "intake-3": see service_feed_is), each with its own
 * cursor: adding an instance is adding a feed. apply runs inside the commit that also stores
 * the cursor. Errors: HL_ENOTFOUND (no such feed configured). */
int service_follow(service_t *svc, const char *producer, feed_apply_fn apply, void *ctx);

/* As service_follow, and end(ctx, txn) once per batch after its last apply, before the cursor
 * is stored, in the same transaction (feed_batch_end_fn): for a service that gathers changes
 * over a batch and writes them once. */
int service_follow_batched(service_t *svc, const char *producer, feed_apply_fn apply,
                           feed_batch_end_fn end, void *ctx);

/* Follow the other instances of this service (feeds named as the service or a further
 * instance of it, other than this instance's own runtime.name): for services that keep a copy
 * of their peers' state. *npeers: how many; none configured is not an error. */
int service_follow_peers(service_t *svc, feed_apply_fn apply, void *ctx, unsigned *npeers);

/* Whether a feed (or event source) name is producer itself or a further instance of it:
 * producer, or producer + "-" + a suffix ("intake-2"). */
bool service_feed_is(const char *name, const char *producer);

/* How far behind a followed producer this service is, as of the last fetch: *known false
 * until a fetch has told the producer's head (then *behind is 0); *behind = head - cursor;
 * *newest_ms the producer's time of the last event handed to apply (0: none yet).
 * HL_ENOTFOUND when producer is not followed. */
int service_feed_behind(service_t *svc, const char *producer, bool *known, uint64_t *behind,
                        int64_t *newest_ms);

/* A durable scheduler in this service's store, on its loop, group commit, clock and metrics
 * (opts' metrics is ignored), for init() to make. The skeleton arms it once init() is done
 * (entries init() wrote directly included), stops it when shutdown begins and frees it after
 * the last commit: the service only puts, cancels and fires entries (through the group commit
 * once the loop runs). At most 8 per service. Errors as scheduler_create, HL_ETOOBIG. */
int service_scheduler(service_t *svc, const scheduler_opts_t *opts, scheduler_t **out);

/* Run a command for who (checked against the command table; cmd->by and cmd->actor are set
 * from who); done() gets the reply after the commit, or at once when refused. */
void service_command(service_t *svc, const auth_principal_t *who, Hotline__Command *cmd,
                     cmd_done_fn done, void *origin);

/* Run a command for an HTTP request (as its caller) and answer it with the reply as JSON. */
void service_http_command(service_t *svc, httpd_req_t *req, Hotline__Command *cmd);

/* Add a service's routes, each behind the access check. The table must outlive the service
 * (static storage): GET /v1/access lists it. Errors as httpd_route. */
int service_routes(service_t *svc, const service_route_t *routes, size_t n, void *ctx);

/* Who made this request (valid in its handler until it is answered). Never NULL. */
const auth_principal_t *service_req_principal(httpd_req_t *req);

/* Answer an HTTP request with a JSON error body {"error":{"status","message","field"}}. */
void service_http_error(httpd_req_t *req, int http_status, const char *field, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

/* Answer with a JSON value (stolen reference). */
void service_http_json(httpd_req_t *req, int http_status, json_t *body);

/* Answer with a protobuf message as proto3 JSON. */
void service_http_message(httpd_req_t *req, int http_status, const ProtobufCMessage *msg);

/* The n-th segment (0-based) of the request path: for "/v1/tickets/X/sign", n = 2 gives "X".
 * Returns its length, or HL_ENOTFOUND (no such segment), HL_ETOOBIG (out too small). */
int service_path_segment(httpd_req_t *req, unsigned n, char *out, size_t out_size);

/* Put the id the path names into a decoded body's string field (its JSON name: name): refused
 * (400, answered, false) when the body names another; the field's old value is freed. */
bool service_take_path_id(httpd_req_t *req, char **field, const char *name, const char *id);

/* The request body decoded as JSON into a new message of type desc (free with
 * protobuf_c_message_free_unpacked). An empty body decodes as {}. On error the request has
 * been answered (400, naming the field and the rule; 415 for a Content-Type other than
 * application/json) and NULL is returned. */
ProtobufCMessage *service_http_body(httpd_req_t *req, const ProtobufCMessageDescriptor *desc);

/* A new hotline.Command whose one-of body is the field numbered body_case, taking ownership
 * of body (allocated as protobuf-c unpacks). NULL on ENOMEM (body is then freed). */
Hotline__Command *service_command_new(uint32_t body_case, ProtobufCMessage *body);

#endif
