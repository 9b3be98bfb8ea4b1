/* service: the skeleton's life cycle: configure, open, run, stop after a last commit. */
#include "service_internal.h"

#include "hl_error.h"
#include "pbjson.h"
#include "slog.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define MIB ((uint64_t)1 << 20)

/* The bounds of the runtime part, the same for every service (0 is "the default" wherever a
 * default exists). A service's own table adds its own keys. */
static const config_bound_t RUNTIME_BOUNDS[] = {
    {"runtime.http.port", 0, 65535},
    {"runtime.http.instancePort", 0, 65535},
    {"runtime.http.maxBodyBytes", 0, 64.0 * 1024 * 1024},
    {"runtime.http.idleTimeoutMs", 0, 3600000},
    {"runtime.http.requestTimeoutMs", 0, 600000},
    {"runtime.http.maxConnections", 0, 1000000},
    {"runtime.http.maxConnectionsPerAddress", 0, 1000000},
    {"runtime.store.mapSizeMb", 0, 1048576},
    {"runtime.store.maxMapSizeMb", 0, 16777216},
    {"runtime.eventLog.retentionHours", 0, 87600},
    {"runtime.eventLog.trimIntervalMs", 0, 3600000},
    {"runtime.eventLog.fetchMaxEvents", 0, 100000},
    {"runtime.eventLog.fetchMaxBytes", 0, 256.0 * 1024 * 1024},
    {"runtime.idempotencyHours", 0, 8760},
    {"runtime.maxBatch", 0, 100000},
    {"runtime.auth.reloadMs", 0, 3600000},
};
#define NRUNTIME_BOUNDS (sizeof RUNTIME_BOUNDS / sizeof *RUNTIME_BOUNDS)

/* The runtime's rows, then the service's, NULL-terminated (malloc). */
static config_bound_t *all_bounds(const config_bound_t *own)
{
    size_t n = 0;
    while (own && own[n].path)
        n++;
    config_bound_t *all = calloc(NRUNTIME_BOUNDS + n + 1, sizeof *all);
    if (!all)
        return NULL;
    memcpy(all, RUNTIME_BOUNDS, sizeof RUNTIME_BOUNDS);
    if (n)
        memcpy(all + NRUNTIME_BOUNDS, own, n * sizeof *own);
    return all;
}

static int load_config(service_t *svc, const service_args_t *args, int argc, char **argv)
{
    (void)argc;
    char err[512];
    config_bound_t *bounds = all_bounds(svc->desc->bounds);
    if (!bounds)
        return HL_ENOMEM;
    config_source_t src = {
        .defaults_json = svc->desc->default_config_json,
        .file_path = args->config_file,
        .envp = environ,
        .env_prefix = "HOTLINE_",
        .bounds = bounds,
    };
    int rc = config_load(svc->desc->config_desc, &src, &svc->config, err, sizeof err);
    free(bounds);
    if (rc) {
        fprintf(stderr, "%s: configuration: %s\n", argv[0], err);
        return rc;
    }
    /* Feeds named on the command line replace the endpoint of the feed of that name (or add
     * one); everything else on the command line is merged as is. */
    json_t *rt_over = json_object_get(args->overrides, "runtime");
    json_t *feeds = json_incref(json_object_get(rt_over, "feeds"));
    json_object_del(rt_over, "feeds");
    pbjson_error_t perr;
    rc = pbjson_merge(svc->config, args->overrides, NULL, &perr);
    if (rc) {
        fprintf(stderr, "%s: command line: %s: %s\n", argv[0], perr.field, perr.message);
        json_decref(feeds);
        return rc;
    }
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(svc->desc->config_desc, "runtime");
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) {
        fprintf(stderr, "%s: internal: configuration has no runtime section\n", argv[0]);
        json_decref(feeds);
        return HL_EINTERNAL;
    }
    Hotline__RuntimeConfig **rtp = (Hotline__RuntimeConfig **)((char *)svc->config + f->offset);
    if (!*rtp) {
        *rtp = malloc(sizeof **rtp);
        hotline__runtime_config__init(*rtp);
    }
    svc->rt = *rtp;
    size_t i;
    json_t *jf;
    json_array_foreach(feeds, i, jf) {
        const char *name = json_string_value(json_object_get(jf, "name"));
        const char *ep = json_string_value(json_object_get(jf, "endpoint"));
        Hotline__FeedSource *dst = NULL;
        for (size_t k = 0; k < svc->rt->n_feeds; k++)
            if (strcmp(svc->rt->feeds[k]->name, name) == 0)
                dst = svc->rt->feeds[k];
        if (!dst) {
            Hotline__FeedSource **grown =
                realloc(svc->rt->feeds, (svc->rt->n_feeds + 1) * sizeof *grown);
            dst = malloc(sizeof *dst);
            if (!grown || !dst) {
                free(dst);
                json_decref(feeds);
                return HL_ENOMEM;
            }
            hotline__feed_source__init(dst);
            dst->name = strdup(name);
            svc->rt->feeds = grown;
            svc->rt->feeds[svc->rt->n_feeds++] = dst;
        }
        if (dst->endpoint != protobuf_c_empty_string)
            free(dst->endpoint);
        dst->endpoint = strdup(ep);
    }
    json_decref(feeds);
    rc = service_runtime_defaults(svc->rt, svc->desc->name);
    if (rc) {
        fprintf(stderr, "%s: configuration: runtime defaults: %s\n", argv[0], hl_strerror(rc));
        return rc;
    }
    if (args->port_file)
        snprintf(svc->port_file, sizeof svc->port_file, "%s", args->port_file);
    return 0;
}

/* An instance name (runtime.name, feed names): it is a log field, an event's source and a
 * cursor key, so short and plain. */
static bool plain_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > SERVICE_NAME_MAX)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int check_runtime(service_t *svc, const char *prog)
{
    const Hotline__RuntimeConfig *rt = svc->rt;
    if (!plain_name(rt->name)) {
        fprintf(stderr, "%s: configuration: runtime.name: '%s' must be 1 to %d letters, digits, "
                "'.', '_' or '-'\n", prog, rt->name ? rt->name : "", SERVICE_NAME_MAX);
        return HL_EINVAL;
    }
    slog_level_t lvl;
    if (slog_level_parse(rt->log_level, &lvl)) {
        fprintf(stderr, "%s: configuration: runtime.logLevel: '%s' is not one of error, warn, "
                "info, debug\n", prog, rt->log_level);
        return HL_EINVAL;
    }
    slog_init(rt->name, lvl);
    if (!rt->data_dir || !*rt->data_dir) {
        fprintf(stderr, "%s: configuration: runtime.dataDir is empty: give --data-dir DIR\n",
                prog);
        return HL_EINVAL;
    }
    if (!rt->bus_endpoint || !*rt->bus_endpoint) {
        fprintf(stderr, "%s: configuration: runtime.busEndpoint is empty: give --bus "
                "tcp://127.0.0.1:PORT\n", prog);
        return HL_EINVAL;
    }
    for (size_t i = 0; i < rt->n_feeds; i++) {
        if (!plain_name(rt->feeds[i]->name)) {
            fprintf(stderr, "%s: configuration: runtime.feeds[%zu].name: '%s' must be 1 to %d "
                    "letters, digits, '.', '_' or '-'\n", prog, i,
                    rt->feeds[i]->name ? rt->feeds[i]->name : "", SERVICE_NAME_MAX);
            return HL_EINVAL;
        }
        if (!rt->feeds[i]->endpoint || !*rt->feeds[i]->endpoint) {
            fprintf(stderr, "%s: configuration: runtime.feeds[%zu] (%s) has no endpoint\n", prog,
                    i, rt->feeds[i]->name);
            return HL_EINVAL;
        }
        int32_t linger = rt->feeds[i]->linger_ms;
        if (linger < -1 || linger > SERVICE_FEED_LINGER_MAX_MS) {
            fprintf(stderr, "%s: configuration: runtime.feeds[%zu].lingerMs (%s): %d is not 1 to "
                    "%d ms, or -1 (never linger)\n", prog, i, rt->feeds[i]->name, (int)linger,
                    SERVICE_FEED_LINGER_MAX_MS);
            return HL_EINVAL;
        }
    }
    return 0;
}

static void write_port_file(service_t *svc)
{
    if (!svc->port_file[0])
        return;
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", svc->port_file);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        SLOG_WARN("port_file_not_written", "path=%s", SLOG_Q(svc->port_file));
        return;
    }
    fprintf(f, "{\"http\": %u, \"instanceHttp\": %u, \"bus\": \"%s\", \"pid\": %d}\n",
            httpd_port(svc->http), httpd_instance_port(svc->http), bus_endpoint(svc->bus),
            (int)getpid());
    fclose(f);
    rename(tmp, svc->port_file); /* readers never see half a file */
}

/* ---- commands from the bus ---- */

typedef struct bus_origin {
    service_t *svc;
    bus_peer_t peer;
} bus_origin_t;

static void bus_command_done(void *origin, const Hotline__CommandReply *reply)
{
    bus_origin_t *o = origin;
    Hotline__BusReply r = HOTLINE__BUS_REPLY__INIT;
    r.body_case = HOTLINE__BUS_REPLY__BODY_COMMAND;
    r.command = (Hotline__CommandReply *)reply;
    if (o->svc->bus)
        bus_reply(o->svc->bus, &o->peer, &r);
    free(o);
}

/* The access table's row for a command, or NULL: the service's rows, then the runtime's own
 * (TestAppend, for the runtime's test producer, is listed by it). */
static const service_command_rule_t *command_rule(const service_t *svc, uint32_t body_case)
{
    for (const service_command_rule_t *r = svc->desc->commands; r && r->body_case; r++)
        if (r->body_case == body_case)
            return r;
    return NULL;
}

static void on_bus_command(void *ctx, const bus_peer_t *peer, const bus_caller_t *caller,
                           Hotline__Command *cmd)
{
    service_t *svc = ctx;
    bus_origin_t *o = malloc(sizeof *o);
    if (!o) {
        hotline__command__free_unpacked(cmd, NULL);
        return; /* the client times out and retries */
    }
    o->svc = svc;
    o->peer = *peer;
    const service_command_rule_t *rule = command_rule(svc, cmd->body_case);
    auth_principal_t who;
    char why[1024];
    if (service_auth_bus(svc, caller, rule ? rule->roles : AUTH_ANY_ROLE, &who, why,
                         sizeof why) != AUTH_OK) {
        cmd_answer(cmd, bus_command_done, o, HOTLINE__STATUS__UNAUTHENTICATED, "token", why);
        return;
    }
    service_command(svc, &who, cmd, bus_command_done, o);
}

static void on_bus_fetch(void *ctx, const bus_peer_t *peer, const bus_caller_t *caller,
                         const Hotline__FeedFetch *fetch)
{
    service_t *svc = ctx;
    auth_principal_t who;
    char why[1024];
    if (service_auth_bus(svc, caller, AUTH_SERVICE, &who, why, sizeof why) != AUTH_OK) {
        bus_reply_error(svc->bus, peer, HOTLINE__STATUS__UNAUTHENTICATED, why);
        return;
    }
    if (!auth_allows(AUTH_SERVICE, &who)) {
        service_auth_forbidden(svc, &who, AUTH_SERVICE, "fetch this service's feed", why,
                               sizeof why);
        bus_reply_error(svc->bus, peer, HOTLINE__STATUS__FORBIDDEN, why);
        return;
    }
    feed_server_fetch(svc->feeds_out, peer, fetch);
}

/* Commands go to the service's handler with its own state (known only after init). */
static int dispatch_command(void *ctx, MDB_txn *txn, const Hotline__Command *cmd,
                            cmd_reply_t *reply)
{
    service_t *svc = ctx;
    if (!svc->desc->command)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "",
                          "this service takes no commands");
    return svc->desc->command(svc->state, txn, cmd, reply);
}

/* Every command's answer is counted by status on its way back, whatever brought it. */
typedef struct counted {
    service_t *svc;
    cmd_done_fn done;
    void *origin;
} counted_t;

static void counted_done(void *ctx, const Hotline__CommandReply *reply)
{
    counted_t *c = ctx;
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&hotline__status__descriptor, reply->status);
    metric_inc(c->svc->m.commands, (const char *const[]){v ? v->name : "UNKNOWN"});
    c->done(c->origin, reply);
    free(c);
}

/* Replace whatever the client said about who it is with who the credentials say. */
static int stamp_principal(Hotline__Command *cmd, const auth_principal_t *who)
{
    if (who->trusted)
        return 0; /* auth is off: the command says who it is, as before tokens */
    if (!cmd->by) {
        cmd->by = malloc(sizeof *cmd->by);
        if (!cmd->by)
            return HL_ENOMEM;
        hotline__principal__init(cmd->by);
    }
    char actor[AUTH_NAME_MAX * 2 + 32];
    auth_principal_format(who, actor, sizeof actor);
    char *fields[3] = {strdup(who->subject), strdup(who->name), strdup(actor)};
    if (!fields[0] || !fields[1] || !fields[2]) {
        for (int i = 0; i < 3; i++)
            free(fields[i]);
        return HL_ENOMEM;
    }
    char **slots[3] = {&cmd->by->subject, &cmd->by->name, &cmd->actor};
    for (int i = 0; i < 3; i++) {
        if (*slots[i] && *slots[i] != protobuf_c_empty_string)
            free(*slots[i]);
        *slots[i] = fields[i];
    }
    cmd->by->role = who->role;
    return 0;
}

void service_command(service_t *svc, const auth_principal_t *who, Hotline__Command *cmd,
                     cmd_done_fn done, void *origin)
{
    counted_t *c = malloc(sizeof *c);
    if (!c) {
        cmd_answer_unavailable(cmd, done, origin, "out of memory; retry later");
        return;
    }
    *c = (counted_t){svc, done, origin};
    done = counted_done;
    origin = c;
    const service_command_rule_t *rule = command_rule(svc, cmd->body_case);
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&hotline__command__descriptor, cmd->body_case);
    char why[1024], what[96];
    if (!rule) {
        snprintf(why, sizeof why, "%s takes no %s command (GET /v1/access lists the commands "
                 "it takes)", svc->desc->name, f ? f->name : "such");
        cmd_answer(cmd, done, origin, HOTLINE__STATUS__NOT_FOUND, "body", why);
        return;
    }
    if (!auth_allows(rule->roles, who)) {
        snprintf(what, sizeof what, "run %s", f ? f->name : "this command");
        service_auth_forbidden(svc, who, rule->roles, what, why, sizeof why);
        cmd_answer(cmd, done, origin,
                   who->role ? HOTLINE__STATUS__FORBIDDEN : HOTLINE__STATUS__UNAUTHENTICATED,
                   "", why);
        return;
    }
    if (stamp_principal(cmd, who) != 0) {
        cmd_answer_unavailable(cmd, done, origin, "out of memory; retry later");
        return;
    }
    if (svc->stopping) {
        cmd_answer_unavailable(cmd, done, origin, "the service is shutting down; retry shortly");
        return;
    }
    /* While the store is full, one command per loop turn still goes to the store as a probe,
     * so acceptance resumes by itself when room returns; the rest are refused at once. */
    if (txq_full(svc->txq) && txq_waiting(svc->txq) > 0) {
        cmd_answer_unavailable(cmd, done, origin,
                               "the store cannot write (disk full or failing, or at its size "
                               "limit): nothing was stored, retry later");
        return;
    }
    cmdexec_submit(svc->cmds, cmd, done, origin);
}

/* ---- commit hooks and maintenance ---- */

#define TRIM_PER_PASS 20000 /* bounded so one pass never holds the writer for long */

static void after_commit(void *ctx)
{
    service_t *svc = ctx;
    const txq_stats_t *ts = txq_stats(svc->txq);
    metric_observe(svc->m.batch_size, NULL, ts->last_batch);
    metric_observe(svc->m.commit_seconds, NULL, ts->last_commit_s);
    evlog_committed(svc->log);
    if (svc->feeds_out) /* NULL only while a failed start is being taken down */
        feed_server_notify(svc->feeds_out);
}

static void on_maintenance(uv_timer_t *h);

static int maintenance_apply(txq_item_t *item, MDB_txn *txn)
{
    service_t *svc = (service_t *)((char *)item - offsetof(service_t, maintenance_item));
    unsigned trimmed = 0, idem = 0;
    int rc = evlog_trim(svc->log, txn, TRIM_PER_PASS, &trimmed);
    if (!rc)
        rc = cmdexec_trim(svc->cmds, txn, TRIM_PER_PASS, &idem);
    svc->maintenance_trimmed = trimmed; /* counted by done() once it is committed */
    svc->maintenance_more = trimmed == TRIM_PER_PASS || idem == TRIM_PER_PASS;
    return rc;
}

static void maintenance_done(txq_item_t *item, int rc)
{
    service_t *svc = (service_t *)((char *)item - offsetof(service_t, maintenance_item));
    svc->maintenance_busy = false;
    if (rc == 0 && svc->maintenance_trimmed)
        metric_add(svc->m.trimmed, NULL, svc->maintenance_trimmed);
    if (rc)
        SLOG_WARN("maintenance_failed", "reason=%s next=\"retry at the next interval\"",
                  SLOG_Q(hl_strerror(rc)));
    else if (svc->maintenance_more && !svc->stopping)
        /* More to trim than one pass takes: keep going, one pass per loop turn. */
        uv_timer_start(&svc->maintenance, on_maintenance, 0, svc->maintenance_every_ms);
}

static void on_maintenance(uv_timer_t *h)
{
    service_t *svc = h->data;
    if (svc->maintenance_busy || svc->stopping)
        return;
    svc->maintenance_busy = true;
    svc->maintenance_item.apply = maintenance_apply;
    svc->maintenance_item.done = maintenance_done;
    txq_submit(svc->txq, &svc->maintenance_item);
}

/* ---- start and stop ---- */

static int open_runtime(service_t *svc)
{
    const Hotline__RuntimeConfig *rt = svc->rt;
    int rc = hclock_create(&svc->clock, rt->test_clock);
    if (rc)
        return rc;
    svc->zctx = zmq_ctx_new();
    if (!svc->zctx)
        return HL_EIO;
    /* Every value below is the effective one: service_runtime_defaults filled what no layer
     * set, so the modules' own fallbacks never decide for a service. */
    const Hotline__StoreConfig *sc = rt->store;
    store_opts_t so = {
        .path = rt->data_dir,
        .map_size = sc->map_size_mb * MIB,
        .max_map_size = sc->max_map_size_mb * MIB,
        .sync = (store_sync_t)sc->sync,
    };
    rc = store_open(&svc->store, &so);
    if (rc)
        return rc;
    const Hotline__EventLogConfig *lc = rt->event_log;
    evlog_opts_t lo = {
        .source = rt->name, /* the instance: intake-2's events say so */
        .retention_ms = (int64_t)lc->retention_hours * 3600 * 1000,
        .consumers = (const char *const *)lc->consumers,
        .nconsumers = lc->n_consumers,
    };
    rc = evlog_open(&svc->log, svc->store, svc->clock, &lo);
    if (!rc)
        rc = txq_create(&svc->txq, &svc->loop, svc->store, rt->max_batch);
    if (!rc)
        rc = txq_on_commit(svc->txq, after_commit, svc);
    if (!rc)
        rc = cmdexec_create(&svc->cmds, svc->store, svc->txq, svc->clock, rt->idempotency_hours,
                            dispatch_command, svc);
    if (rc)
        return rc;
    rc = metrics_create(&svc->metrics);
    if (rc)
        return rc;
    service_metrics_init(svc);
    rc = service_auth_open(svc); /* the ZAP handler is bound before the bus */
    if (rc)
        return rc;
    bus_handlers_t bh = {.on_fetch = on_bus_fetch, .on_command = on_bus_command, .ctx = svc};
    rc = bus_create(&svc->bus, &svc->loop, svc->zctx, rt->bus_endpoint,
                    service_auth_curve_secret(svc), &bh);
    if (rc) {
        SLOG_ERROR("bus_bind_failed", "endpoint=%s reason=%s", SLOG_Q(rt->bus_endpoint),
                   SLOG_Q(hl_strerror(rc)));
        return rc;
    }
    feed_server_opts_t fo = {
        .max_events = lc->fetch_max_events,
        .max_bytes = lc->fetch_max_bytes,
    };
    rc = feed_server_create(&svc->feeds_out, &svc->loop, svc->store, svc->log, svc->bus, &fo);
    if (rc)
        return rc;
    const Hotline__HttpConfig *hc = rt->http;
    httpd_opts_t ho = {
        .listen = hc->listen,
        .port = (uint16_t)hc->port,
        .max_body_bytes = hc->max_body_bytes,
        .idle_timeout_ms = hc->idle_timeout_ms,
        .request_timeout_ms = hc->request_timeout_ms,
        .max_connections = hc->max_connections,
        .max_per_address = hc->max_connections_per_address,
        .reuse_port = hc->reuse_port,
        .instance_port = (uint16_t)hc->instance_port,
    };
    rc = httpd_create(&svc->http, &svc->loop, &ho);
    if (rc) {
        SLOG_ERROR("http_listen_failed", "address=%s port=%u reason=%s", SLOG_Q(ho.listen),
                   (unsigned)ho.port, SLOG_Q(hl_strerror(rc)));
        return rc;
    }
    return service_http_start(svc);
}

static void on_handle_close(uv_handle_t *h)
{
    (void)h;
}

static void finish_stop(uv_timer_t *h)
{
    service_t *svc = h->data;
    /* The txq first: it commits anything still waiting, and its answers need the bus and
     * HTTP, its commit hook the feed server. */
    txq_destroy(&svc->txq);
    feed_server_destroy(&svc->feeds_out);
    httpd_destroy(&svc->http);
    bus_destroy(&svc->bus);
    service_auth_stop(svc);
    uv_close((uv_handle_t *)&svc->stop_timer, on_handle_close);
}

static void begin_stop(service_t *svc, const char *why)
{
    if (svc->stopping)
        return;
    svc->stopping = true;
    SLOG_INFO("stopping", "reason=%s head_seq=%llu", SLOG_Q(why),
              (unsigned long long)evlog_head(svc->log));
    bus_pause(svc->bus);
    for (int i = 0; i < svc->nfeeds; i++)
        feed_client_destroy(&svc->feeds_in[i]);
    if (svc->desc->stop && svc->state)
        svc->desc->stop(svc->state);
    for (int i = 0; i < svc->nscheds; i++)
        scheduler_stop(svc->scheds[i]);
    uv_timer_stop(&svc->maintenance);
    uv_close((uv_handle_t *)&svc->maintenance, on_handle_close);
    uv_close((uv_handle_t *)&svc->sigint, on_handle_close);
    uv_close((uv_handle_t *)&svc->sigterm, on_handle_close);
    /* The last commit: everything already accepted is stored and answered. */
    txq_flush(svc->txq);
    /* Give the answers a moment to leave the sockets before they close. */
    uv_timer_init(&svc->loop, &svc->stop_timer);
    svc->stop_timer.data = svc;
    uv_timer_start(&svc->stop_timer, finish_stop, 100, 0);
}

static void on_signal(uv_signal_t *h, int signum)
{
    begin_stop(h->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void close_runtime(service_t *svc)
{
    if (svc->desc->fini && svc->state)
        svc->desc->fini(svc->state);
    cmdexec_destroy(&svc->cmds);
    for (int i = 0; i < svc->nscheds; i++)
        scheduler_destroy(&svc->scheds[i]);
    service_auth_destroy(svc);
    while (svc->guards) {
        service_guard_t *g = svc->guards;
        svc->guards = g->next;
        free(g);
    }
    evlog_close(&svc->log);
    if (svc->store && svc->rt->store->sync != HOTLINE__SYNC_MODE__SYNC_FULL)
        store_sync(svc->store);
    store_close(&svc->store);
    metrics_destroy(&svc->metrics);
    hclock_destroy(&svc->clock);
    if (svc->zctx)
        zmq_ctx_term(svc->zctx);
    if (svc->config)
        protobuf_c_message_free_unpacked(svc->config, NULL);
}

/* Close whatever handles a failed start left open, so the loop can end. */
static void abort_start(service_t *svc)
{
    /* The service's own stop hook first, as on a normal stop: what it made on the txq (a
     * connector, a scheduler) lets go of it before the txq goes. */
    if (svc->desc->stop && svc->state)
        svc->desc->stop(svc->state);
    for (int i = 0; i < svc->nscheds; i++)
        scheduler_stop(svc->scheds[i]);
    for (int i = 0; i < svc->nfeeds; i++)
        feed_client_destroy(&svc->feeds_in[i]);
    txq_destroy(&svc->txq); /* first: see finish_stop */
    feed_server_destroy(&svc->feeds_out);
    httpd_destroy(&svc->http);
    bus_destroy(&svc->bus);
    service_auth_stop(svc);
    uv_run(&svc->loop, UV_RUN_DEFAULT);
}

int service_main(int argc, char **argv, const service_desc_t *desc)
{
    signal(SIGPIPE, SIG_IGN);
    service_args_t args;
    int rc = service_args_parse(argc, argv, desc, &args);
    if (rc)
        return rc == 1 ? 0 : 2;
    service_t *svc = calloc(1, sizeof *svc);
    if (!svc) {
        json_decref(args.overrides);
        return 1;
    }
    svc->desc = desc;
    rc = load_config(svc, &args, argc, argv);
    json_decref(args.overrides);
    if (!rc)
        rc = check_runtime(svc, argv[0]);
    if (!rc && desc->check_config) {
        char err[512] = "";
        rc = desc->check_config(svc->config, err, sizeof err);
        if (rc)
            fprintf(stderr, "%s: configuration: %s\n", argv[0], err);
    }
    if (rc) {
        if (svc->config)
            protobuf_c_message_free_unpacked(svc->config, NULL);
        free(svc);
        return 2;
    }
    if (args.print_config) {
        char *text = pbjson_encode_string(svc->config, true);
        printf("%s\n", text ? text : "{}");
        free(text);
        protobuf_c_message_free_unpacked(svc->config, NULL);
        free(svc);
        return 0;
    }
    uv_loop_init(&svc->loop);
    int exit_code = 0;
    rc = open_runtime(svc);
    if (!rc && desc->init)
        rc = desc->init(svc, &svc->state);
    if (rc) {
        SLOG_ERROR("start_failed", "reason=%s", SLOG_Q(hl_strerror(rc)));
        abort_start(svc);
        exit_code = 1;
    } else {
        for (int i = 0; i < svc->nfeeds; i++)
            feed_client_start(svc->feeds_in[i]);
        for (int i = 0; i < svc->nscheds; i++)
            scheduler_start(svc->scheds[i]);
        uv_signal_init(&svc->loop, &svc->sigint);
        uv_signal_init(&svc->loop, &svc->sigterm);
        svc->sigint.data = svc->sigterm.data = svc;
        uv_signal_start(&svc->sigint, on_signal, SIGINT);
        uv_signal_start(&svc->sigterm, on_signal, SIGTERM);
        uv_timer_init(&svc->loop, &svc->maintenance);
        svc->maintenance.data = svc;
        unsigned every = svc->rt->event_log->trim_interval_ms;
        svc->maintenance_every_ms = every;
        uv_timer_start(&svc->maintenance, on_maintenance, every, every);
        write_port_file(svc);
        SLOG_INFO("started", "http_port=%u bus=%s data_dir=%s head_seq=%llu sync=%s",
                  httpd_port(svc->http), bus_endpoint(svc->bus), svc->rt->data_dir,
                  (unsigned long long)evlog_head(svc->log),
                  svc->rt->store->sync == 0   ? "full"
                  : svc->rt->store->sync == 1 ? "nometasync"
                                              : "nosync");
        uv_run(&svc->loop, UV_RUN_DEFAULT);
        SLOG_INFO("stopped", "head_seq=%llu", (unsigned long long)evlog_head(svc->log));
    }
    if (uv_loop_close(&svc->loop) != 0)
        SLOG_WARN("loop_not_closed", "reason=\"a handle is still open (a service forgot to close "
                  "it in its stop hook)\"");
    close_runtime(svc);
    free(svc);
    return exit_code;
}

/* ---- accessors ---- */

uv_loop_t *service_loop(service_t *svc) { return &svc->loop; }
store_t *service_store(service_t *svc) { return svc->store; }
evlog_t *service_log(service_t *svc) { return svc->log; }
txq_t *service_txq(service_t *svc) { return svc->txq; }
hclock_t *service_clock(service_t *svc) { return svc->clock; }
metrics_t *service_metrics(service_t *svc) { return svc->metrics; }
httpd_t *service_httpd(service_t *svc) { return svc->http; }
const ProtobufCMessage *service_config(service_t *svc) { return svc->config; }
const Hotline__RuntimeConfig *service_runtime(service_t *svc) { return svc->rt; }
void *service_zmq(service_t *svc) { return svc->zctx; }

int service_scheduler(service_t *svc, const scheduler_opts_t *opts, scheduler_t **out)
{
    if (svc->nscheds == SERVICE_MAX_SCHEDS)
        return HL_ETOOBIG;
    scheduler_opts_t o = *opts;
    o.metrics = svc->metrics;
    int rc = scheduler_create(out, &svc->loop, svc->store, svc->txq, svc->clock, &o);
    if (rc)
        return rc;
    svc->scheds[svc->nscheds++] = *out;
    return 0; /* armed once init() is done, with whatever init() wrote */
}
