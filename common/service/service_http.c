/* service_http: the routes and metrics every service has. Loop thread. */
#include "service_internal.h"

#include "hl_error.h"
#include "pbjson.h"
#include "slog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EVENTS_PAGE_MAX 1000

void service_http_json(httpd_req_t *req, int http_status, json_t *body)
{
    /* Most answers are small: written into the stack, no allocation (json_dumps grew a buffer
     * and the newline took a second one). */
    char small[4096];
    size_t n = body ? json_dumpb(body, small, sizeof small - 1, JSON_COMPACT) : 0;
    if (n > 0 && n < sizeof small - 1) {
        json_decref(body);
        small[n++] = '\n'; /* a trailing newline keeps curl output readable */
        httpd_respond(req, http_status, "application/json; charset=utf-8", small, n);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        httpd_respond(req, 500, "application/json", "{\"error\":{\"status\":500}}", 24);
        return;
    }
    size_t len = strlen(text);
    text[len] = '\0';
    /* A trailing newline keeps curl output readable. */
    char *withnl = realloc(text, len + 2);
    if (withnl) {
        withnl[len] = '\n';
        withnl[len + 1] = '\0';
        text = withnl;
        len++;
    }
    httpd_respond(req, http_status, "application/json; charset=utf-8", text, len);
    free(text);
}

void service_http_error(httpd_req_t *req, int http_status, const char *field, const char *fmt,
                        ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:i, s:s}", "status", http_status, "message", msg);
    if (field && *field)
        json_object_set_new(err, "field", json_string(field));
    service_http_json(req, http_status, json_pack("{s:o}", "error", err));
}

void service_http_message(httpd_req_t *req, int http_status, const ProtobufCMessage *msg)
{
    json_t *body = pbjson_encode(msg, false);
    if (!body) {
        service_http_error(req, 500, NULL, "out of memory");
        return;
    }
    service_http_json(req, http_status, body);
}

int service_path_segment(httpd_req_t *req, unsigned n, char *out, size_t out_size)
{
    const char *p = httpd_req_path(req);
    for (unsigned i = 0;; i++) {
        while (*p == '/')
            p++;
        if (!*p)
            return HL_ENOTFOUND;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (i == n) {
            if (len >= out_size)
                return HL_ETOOBIG;
            memcpy(out, p, len);
            out[len] = '\0';
            return (int)len;
        }
        p += len;
    }
}

/* A JSON body must say so (or say nothing): a form or XML body sent to a JSON route is a
 * client mistake better named than parsed. Answers 415 itself. */
static bool json_content_type(httpd_req_t *req, size_t body_len)
{
    const char *ct = httpd_req_header(req, "Content-Type");
    if (!ct || !*ct || body_len == 0)
        return true;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    service_http_error(req, 415, "Content-Type",
                       "this route takes JSON: send 'Content-Type: application/json' (got "
                       "'%.*s')", (int)(n < 80 ? n : 80), ct);
    return false;
}

ProtobufCMessage *service_http_body(httpd_req_t *req, const ProtobufCMessageDescriptor *desc)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    if (!json_content_type(req, len))
        return NULL;
    if (len == 0) {
        body = "{}";
        len = 2;
    }
    ProtobufCMessage *msg;
    pbjson_error_t err;
    if (pbjson_decode(desc, body, len, NULL, &msg, &err) != 0) {
        service_http_error(req, 400, err.field, "%s", err.message);
        return NULL;
    }
    return msg;
}

Hotline__Command *service_command_new(uint32_t body_case, ProtobufCMessage *body)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&hotline__command__descriptor, body_case);
    Hotline__Command *cmd = malloc(sizeof *cmd);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || !cmd ||
        (body && body->descriptor != f->descriptor)) {
        free(cmd);
        if (body)
            protobuf_c_message_free_unpacked(body, NULL);
        return NULL;
    }
    hotline__command__init(cmd);
    *(ProtobufCMessage **)((char *)cmd + f->offset) = body;
    *(uint32_t *)((char *)cmd + f->quantifier_offset) = body_case;
    return cmd;
}

static void on_healthz(httpd_req_t *req, void *ctx)
{
    service_t *svc = ctx;
    service_http_json(req, 200, json_pack("{s:s, s:s}", "status", "ok", "service",
                                          svc->desc->name));
}

static void on_readyz(httpd_req_t *req, void *ctx)
{
    service_t *svc = ctx;
    if (svc->stopping)
        service_http_error(req, 503, NULL, "shutting down");
    else if (txq_full(svc->txq))
        service_http_error(req, 503, NULL, "the store cannot write (disk full or failing, or "
                           "at its size limit: map %zu of at most %zu bytes, "
                           "runtime.store.maxMapSizeMb): refusing new work until writes succeed "
                           "again", store_map_size(svc->store), store_max_map_size(svc->store));
    else
        service_http_json(req, 200, json_pack("{s:s, s:s}", "status", "ready", "service",
                                              svc->desc->name));
}

static void on_metrics(httpd_req_t *req, void *ctx)
{
    service_t *svc = ctx;
    service_metrics_refresh(svc);
    char *text;
    size_t len;
    if (metrics_render(svc->metrics, &text, &len) != 0) {
        service_http_error(req, 500, NULL, "could not render metrics");
        return;
    }
    httpd_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

/* ---- commands over HTTP ---- */

static void http_command_done(void *origin, const Hotline__CommandReply *reply)
{
    httpd_req_t *req = origin;
    const ProtobufCEnumValue *sv =
        protobuf_c_enum_descriptor_get_value(&hotline__status__descriptor, reply->status);
    const char *code = sv ? sv->name : "UNKNOWN";
    int http = cmd_http_status(reply->status);
    if (reply->status != HOTLINE__STATUS__OK) {
        /* Refusals look like every other HTTP error: {"error": {status, code, field,
         * message}}, so a client reads errors one way. */
        json_t *err = json_pack("{s:i, s:s, s:s}", "status", http, "code", code, "message",
                                reply->message ? reply->message : "");
        if (reply->field && *reply->field)
            json_object_set_new(err, "field", json_string(reply->field));
        service_http_json(req, http, json_pack("{s:o}", "error", err));
        return;
    }
    json_t *body = pbjson_encode(&reply->base, false);
    if (!body) {
        httpd_respond(req, 500, "application/json", "{\"error\":{\"status\":500}}", 24);
        return;
    }
    /* Status always present, even though OK is the default value. */
    json_object_set_new(body, "status", json_string(code));
    service_http_json(req, http, body);
}

void service_http_command(service_t *svc, httpd_req_t *req, Hotline__Command *cmd)
{
    const char *key = httpd_req_header(req, "Idempotency-Key");
    if (key && *key && (!cmd->idempotency_key || !*cmd->idempotency_key)) {
        if (cmd->idempotency_key != protobuf_c_empty_string)
            free(cmd->idempotency_key);
        cmd->idempotency_key = strdup(key);
    }
    service_command(svc, service_req_principal(req), cmd, http_command_done, req);
}

static void on_commands(httpd_req_t *req, void *ctx)
{
    service_t *svc = ctx;
    size_t len;
    const char *body = httpd_req_body(req, &len);
    ProtobufCMessage *msg;
    pbjson_error_t err;
    static const char *const invalid[] = {"INVALID"};
    if (!json_content_type(req, len))
        return;
    if (pbjson_decode(&hotline__command__descriptor, body, len, NULL, &msg, &err) != 0) {
        metric_inc(svc->m.commands, invalid); /* refused at the door, counted all the same */
        service_http_error(req, 400, err.field, "%s", err.message);
        return;
    }
    Hotline__Command *cmd = (Hotline__Command *)msg;
    if (cmd->body_case == HOTLINE__COMMAND__BODY__NOT_SET) {
        metric_inc(svc->m.commands, invalid);
        hotline__command__free_unpacked(cmd, NULL);
        service_http_error(req, 400, "body", "the command names no action: add one of its "
                           "fields (see proto/hotline/command.proto)");
        return;
    }
    service_http_command(svc, req, cmd);
}

/* ---- the service's own log ---- */

typedef struct events_page {
    json_t *events;
    int rc;
} events_page_t;

static int page_event(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    (void)seq;
    events_page_t *p = ctx;
    Hotline__Event *ev = hotline__event__unpack(NULL, len, bytes);
    if (!ev)
        return HL_ECORRUPT;
    json_t *j = pbjson_encode(&ev->base, false);
    hotline__event__free_unpacked(ev, NULL);
    if (!j)
        return HL_ENOMEM;
    json_array_append_new(p->events, j);
    return 0;
}

static int query_u64(httpd_req_t *req, const char *name, uint64_t def, uint64_t max,
                     uint64_t *out)
{
    char buf[32];
    int n = httpd_query_param(httpd_req_query(req), name, buf, sizeof buf);
    if (n == HL_ENOTFOUND || n == 0) {
        *out = def;
        return 0;
    }
    char *end;
    unsigned long long v = n > 0 ? strtoull(buf, &end, 10) : 0;
    if (n < 0 || *end || buf[0] == '-' || v > max) {
        service_http_error(req, 400, name, "must be a whole number from 0 to %llu",
                           (unsigned long long)max);
        return HL_EINVAL;
    }
    *out = v;
    return 0;
}

static void on_events(httpd_req_t *req, void *ctx)
{
    service_t *svc = ctx;
    uint64_t after, limit;
    if (query_u64(req, "after", 0, UINT64_MAX - 1, &after) ||
        query_u64(req, "limit", 100, EVENTS_PAGE_MAX, &limit))
        return;
    events_page_t page = {json_array(), 0};
    MDB_txn *txn;
    int rc = store_read_begin(svc->store, &txn);
    if (!rc) {
        rc = evlog_read(svc->log, txn, after, limit, 16u << 20, page_event, &page);
        store_read_end(&txn);
    }
    if (rc < 0) {
        json_decref(page.events);
        service_http_error(req, 500, NULL, "could not read the event log: %s", hl_strerror(rc));
        return;
    }
    char head[24], first[24];
    snprintf(head, sizeof head, "%llu", (unsigned long long)evlog_head(svc->log));
    snprintf(first, sizeof first, "%llu", (unsigned long long)evlog_first(svc->log));
    service_http_json(req, 200, json_pack("{s:s, s:s, s:s, s:o}", "source", svc->desc->name,
                                          "headSeq", head, "firstSeq", first, "events",
                                          page.events));
}

static void on_status(httpd_req_t *req, void *ctx)
{
    service_t *svc = ctx;
    const txq_stats_t *ts = txq_stats(svc->txq);
    json_t *feeds = json_array();
    for (int i = 0; i < svc->nfeeds; i++) {
        if (!svc->feeds_in[i])
            continue;
        const feed_client_stats_t *fs = feed_client_stats(svc->feeds_in[i]);
        json_array_append_new(
            feeds, json_pack("{s:s, s:I, s:I, s:I, s:I}", "producer",
                             feed_client_producer(svc->feeds_in[i]), "cursor",
                             (json_int_t)fs->cursor, "head", (json_int_t)fs->head, "applied",
                             (json_int_t)fs->events_applied, "reconnects",
                             (json_int_t)fs->reconnects));
    }
    json_t *body = json_pack(
        "{s:s, s:I, s:I, s:{s:I, s:I, s:i, s:i, s:I}, s:{s:I, s:I, s:b}, s:o, s:I}", "service",
        svc->desc->name, "headSeq", (json_int_t)evlog_head(svc->log), "firstSeq",
        (json_int_t)evlog_first(svc->log), "commits", "count", (json_int_t)ts->commits,
        "items", (json_int_t)ts->items, "lastBatch", (int)ts->last_batch, "maxBatch",
        (int)ts->max_batch_seen, "safeReruns", (json_int_t)ts->safe_reruns, "store", "mapBytes", (json_int_t)store_map_size(svc->store),
        "usedBytes", (json_int_t)store_used_bytes(svc->store), "full", txq_full(svc->txq),
        "feeds", feeds, "nowMs", (json_int_t)hclock_now_ms(svc->clock));
    service_http_json(req, 200, body);
}

static void on_clock(httpd_req_t *req, void *ctx)
{
    service_t *svc = ctx;
    if (!hclock_settable(svc->clock)) {
        service_http_error(req, 403, NULL, "the clock is real; start with --test-clock to move "
                           "it");
        return;
    }
    size_t len;
    const char *body = httpd_req_body(req, &len);
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        service_http_error(req, 400, NULL, "body must be a JSON object like {\"nowMs\": "
                           "1764028800000} or {\"advanceMs\": 86400000}");
        return;
    }
    json_t *now = json_object_get(j, "nowMs"), *adv = json_object_get(j, "advanceMs");
    int rc = 0;
    if (json_is_integer(now))
        rc = hclock_set_ms(svc->clock, json_integer_value(now));
    else if (json_is_integer(adv))
        rc = hclock_advance_ms(svc->clock, json_integer_value(adv));
    else
        rc = HL_EINVAL;
    json_decref(j);
    if (rc) {
        service_http_error(req, 400, "nowMs", "give nowMs or advanceMs as an integer "
                           "(milliseconds)");
        return;
    }
    service_http_json(req, 200, json_pack("{s:I}", "nowMs",
                                          (json_int_t)hclock_now_ms(svc->clock)));
}

/* ---- the access check in front of every route ---- */

static const auth_principal_t NOBODY;

const auth_principal_t *service_req_principal(httpd_req_t *req)
{
    const auth_principal_t *p = httpd_req_user(req);
    return p ? p : &NOBODY;
}

static void guarded(httpd_req_t *req, void *ctx)
{
    service_guard_t *g = ctx;
    auth_principal_t who;
    if (!service_auth_http(g->svc, req, g->route->roles, &who))
        return; /* answered 401 / 403 */
    if (who.role || who.trusted) {
        auth_principal_t *copy = malloc(sizeof *copy);
        if (!copy) {
            service_http_error(req, 503, NULL, "out of memory; retry");
            return;
        }
        *copy = who;
        httpd_req_set_user(req, copy, free);
    }
    g->route->handler(req, g->ctx);
}

int service_routes(service_t *svc, const service_route_t *routes, size_t n, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        service_guard_t *g = malloc(sizeof *g);
        if (!g)
            return HL_ENOMEM;
        *g = (service_guard_t){svc->guards, svc, &routes[i], ctx};
        svc->guards = g;
        int rc = httpd_route(svc->http, routes[i].method, routes[i].path, guarded, g);
        if (rc)
            return rc;
    }
    return 0;
}

/* The roles as a JSON list of names ("public" for AUTH_PUBLIC). */
static json_t *roles_json(uint32_t roles)
{
    json_t *list = json_array();
    if (roles & AUTH_PUBLIC)
        json_array_append_new(list, json_string("public"));
    for (unsigned r = 1; r < 32; r++)
        if ((roles & AUTH_BIT(r)) && r != 31)
            json_array_append_new(list, json_string(auth_role_name((Hotline__Role)r)));
    return list;
}

static void on_access(httpd_req_t *req, void *ctx)
{
    service_t *svc = ctx;
    json_t *routes = json_array(), *commands = json_array();
    /* The guards list is newest first: walk it into an array to print in the order added. */
    size_t n = 0;
    for (service_guard_t *g = svc->guards; g; g = g->next)
        n++;
    for (size_t i = n; i-- > 0;) {
        service_guard_t *g = svc->guards;
        for (size_t k = 0; k < i; k++)
            g = g->next;
        json_array_append_new(routes, json_pack("{s:s, s:s, s:o}", "method",
                                                g->route->method ? g->route->method : "*",
                                                "path", g->route->path, "roles",
                                                roles_json(g->route->roles)));
    }
    for (const service_command_rule_t *r = svc->desc->commands; r && r->body_case; r++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(&hotline__command__descriptor, r->body_case);
        char name[64];
        pbjson_json_name(f ? f->name : "?", name, sizeof name);
        json_array_append_new(commands, json_pack("{s:s, s:o}", "command", name, "roles",
                                                  roles_json(r->roles)));
    }
    service_http_json(req, 200, json_pack("{s:s, s:o, s:o}", "service", svc->desc->name,
                                          "routes", routes, "commands", commands));
}

/* The routes every service has, and who may call them. Commands through /v1/commands are
 * checked again against the command table. */
static const service_route_t BUILTIN_ROUTES[] = {
    {"GET", "/healthz", AUTH_PUBLIC, on_healthz},
    {"GET", "/readyz", AUTH_PUBLIC, on_readyz},
    {"GET", "/metrics", AUTH_PUBLIC, on_metrics},
    {"POST", "/v1/commands", AUTH_ANY_ROLE, on_commands},
    {"GET", "/v1/events", AUTH_SERVICE, on_events},
    {"GET", "/v1/status", AUTH_ADMIN | AUTH_SUPERVISOR | AUTH_SERVICE, on_status},
    {"GET", "/v1/access", AUTH_ANY_ROLE, on_access},
    {"POST", "/admin/clock", AUTH_ADMIN, on_clock},
};

int service_http_start(service_t *svc)
{
    httpd_on_answer(svc->http, service_metrics_http_answer, svc);
    return service_routes(svc, BUILTIN_ROUTES, sizeof BUILTIN_ROUTES / sizeof *BUILTIN_ROUTES,
                          svc);
}

bool service_take_path_id(httpd_req_t *req, char **field, const char *name, const char *id)
{
    if (*field && **field && strcmp(*field, id) != 0) {
        service_http_error(req, 400, name,
                           "the body names %.96s but the path names %s; leave %s out of the body",
                           *field, id, name);
        return false;
    }
    char *copy = strdup(id);
    if (!copy) {
        service_http_error(req, 500, NULL, "out of memory");
        return false;
    }
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return true;
}
