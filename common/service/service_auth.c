/* service_auth: the skeleton's door. Who is calling (a bearer token on HTTP or on the bus, a
 * CURVE key the ZAP handler admitted) and whether the service's access table lets them; the
 * token registry is reloaded when its file changes; the service's own credentials for the
 * producers it follows. Loop thread. */
#include "service_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct service_auth {
    service_t *svc;
    bool disabled;
    char tokens_path[1024];        /* "" when disabled */
    auth_registry_t *reg;          /* the current snapshot */
    uv_fs_poll_t poll;             /* watches tokens_path (stat every reload_ms: the fallback) */
    uv_fs_event_t watch;           /* inotify on its directory: a rename is seen at once */
    bool polling, watching;
    bus_cred_t own;                /* token and CURVE secret shown to producers */
    char curve_secret[41];         /* "" = plain bus */
    const Hotline__CurveConfig *curve; /* the allow-list (inside the configuration) */
    zsock_t *zap;                  /* the ZAP handler when CURVE is on */
    metric_t *refusals;            /* hotline_auth_refusals_total{reason} */
    metric_t *tokens;              /* hotline_auth_tokens */
    slog_limit_t zap_log;          /* ZAP denials are logged at most once a second */
};

static const char *const VERDICT_NAMES[] = {
    [AUTH_OK] = "ok",           [AUTH_MISSING] = "missing", [AUTH_UNKNOWN] = "unknown",
    [AUTH_EXPIRED] = "expired", [AUTH_REVOKED] = "revoked",
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the registry and its reloads ---- */

static void reload(service_auth_t *a, bool at_start)
{
    char err[600];
    auth_registry_t *reg;
    int rc = auth_registry_load(&reg, a->tokens_path, true, err, sizeof err);
    if (rc) {
        SLOG_ERROR("token_registry_not_loaded", "reason=%s next=\"%s\"", SLOG_Q(err),
                   at_start ? "refusing every token until the file is mended"
                            : "keeping the tokens loaded before");
        return;
    }
    auth_registry_destroy(&a->reg);
    a->reg = reg;
    metric_set(a->tokens, NULL, (double)auth_registry_count(reg));
    SLOG_INFO("token_registry_loaded", "path=%s tokens_count=%zu", SLOG_Q(a->tokens_path),
              auth_registry_count(reg));
}

static void on_registry_change(uv_fs_poll_t *h, int status, const uv_stat_t *prev,
                               const uv_stat_t *curr)
{
    (void)prev;
    (void)curr;
    service_auth_t *a = h->data;
    if (status < 0 && status != UV_ENOENT)
        SLOG_WARN("token_registry_unreadable", "path=%s reason=%s", SLOG_Q(a->tokens_path),
                  SLOG_Q(uv_strerror(status)));
    reload(a, false);
}

static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    (void)events;
    service_auth_t *a = h->data;
    const char *base = strrchr(a->tokens_path, '/');
    base = base ? base + 1 : a->tokens_path;
    if (status == 0 && filename && strcmp(filename, base) == 0)
        reload(a, false);
}

/* ---- CURVE: the ZAP handler ---- */

static const Hotline__CurveClient *curve_client(const service_auth_t *a, const char *key)
{
    for (size_t i = 0; a->curve && key && i < a->curve->n_clients; i++)
        if (strcmp(a->curve->clients[i]->public_key, key) == 0)
            return a->curve->clients[i];
    return NULL;
}

/* ZAP (RFC 27): [version][request id][domain][address][identity][mechanism][credentials...]
 * -> [version][request id][status code][status text][user id][metadata]. The user id is the
 * client's public key; the bus looks it up in the allow-list again for each request. */
static void on_zap(zsock_t *sock, zmq_msg_t *frames, size_t n, void *ctx)
{
    service_auth_t *a = ctx;
    char key[41] = "", addr[64] = "?";
    const char *code = "400", *text = "unknown client key";
    if (n >= 7 && zmq_msg_size(&frames[5]) == 5 &&
        memcmp(zmq_msg_data(&frames[5]), "CURVE", 5) == 0 && zmq_msg_size(&frames[6]) == 32)
        zmq_z85_encode(key, zmq_msg_data(&frames[6]), 32);
    if (n >= 4)
        snprintf(addr, sizeof addr, "%.*s", (int)(zmq_msg_size(&frames[3]) < 63
                                                      ? zmq_msg_size(&frames[3]) : 63),
                 (const char *)zmq_msg_data(&frames[3]));
    if (key[0] && curve_client(a, key)) {
        code = "200";
        text = "OK";
    } else {
        metric_inc(a->refusals, (const char *const[]){"curve_key"});
        uint64_t held;
        if (slog_limit_pass(&a->zap_log, wall_ms(), 1000, &held))
            SLOG_WARN("bus_client_refused", "address=%s key=%.8s... reason=\"CURVE key not on "
                      "runtime.auth.curve.clients\" refused_since_last_line=%llu", addr,
                      key[0] ? key : "none", (unsigned long long)held);
    }
    const char *user = code[0] == '2' ? key : "";
    const void *parts[6] = {"1.0", n >= 2 ? zmq_msg_data(&frames[1]) : "", code, text, user,
                            ""};
    size_t lens[6] = {3, n >= 2 ? zmq_msg_size(&frames[1]) : 0, 3, strlen(text),
                      strlen(user), 0};
    zsock_send(sock, parts, lens, 6);
}

static int open_curve(service_auth_t *a, const Hotline__AuthConfig *cfg)
{
    service_t *svc = a->svc;
    a->curve = cfg->curve;
    const char *file = cfg->curve->secret_key_file;
    int rc = bus_read_secret_file(file, a->curve_secret, sizeof a->curve_secret);
    char pub[41];
    if (rc || strlen(a->curve_secret) != 40 || zmq_curve_public(pub, a->curve_secret) != 0) {
        fprintf(stderr, "%s: configuration: runtime.auth.curve.secretKeyFile: %s %s (make one "
                "with `hotline keys --dir DIR NAME`)\n", svc->desc->name, file,
                rc ? "cannot be read" : "does not hold a CURVE secret key (40 Z85 characters)");
        return HL_EINVAL;
    }
    for (size_t i = 0; i < cfg->curve->n_clients; i++) {
        const Hotline__CurveClient *c = cfg->curve->clients[i];
        uint8_t bin[32];
        if (!c->public_key || strlen(c->public_key) != 40 ||
            !zmq_z85_decode(bin, c->public_key)) {
            fprintf(stderr, "%s: configuration: runtime.auth.curve.clients[%zu].publicKey: "
                    "must be a CURVE public key, 40 Z85 characters (`hotline keys`)\n",
                    svc->desc->name, i);
            return HL_EINVAL;
        }
    }
    memcpy(a->own.secret_key, a->curve_secret, sizeof a->own.secret_key);
    rc = zsock_create(&a->zap, &svc->loop, svc->zctx, ZMQ_REP, on_zap, a);
    if (!rc)
        rc = zsock_bind(a->zap, ZAP_ENDPOINT);
    if (rc)
        return rc;
    SLOG_INFO("bus_curve_on", "public_key=%s allowed_clients_count=%zu", pub,
              cfg->curve->n_clients);
    return 0;
}

/* ---- open and close ---- */

int service_auth_open(service_t *svc)
{
    service_auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return HL_ENOMEM;
    a->svc = svc;
    svc->auth = a;
    a->refusals = metrics_counter(svc->metrics, "hotline_auth_refusals_total",
                                  "Requests refused at the door, by reason: missing, unknown, "
                                  "expired or revoked credentials, a role not allowed "
                                  "(forbidden), a CURVE key not on the allow-list.",
                                  "reason");
    a->tokens = metrics_gauge(svc->metrics, "hotline_auth_tokens",
                              "Tokens in the registry snapshot in use (any state).", NULL);
    const Hotline__AuthConfig *cfg = svc->rt->auth; /* always set: service_runtime_defaults */
    if (cfg->curve && cfg->curve->secret_key_file && *cfg->curve->secret_key_file) {
        int rc = open_curve(a, cfg);
        if (rc)
            return rc;
    }
    if (cfg->service_token_file && *cfg->service_token_file &&
        bus_read_secret_file(cfg->service_token_file, a->own.token, sizeof a->own.token)) {
        fprintf(stderr, "%s: configuration: runtime.auth.serviceTokenFile: cannot read %s\n",
                svc->desc->name, cfg->service_token_file);
        return HL_EINVAL;
    }
    if (cfg->disabled) {
        a->disabled = true;
        SLOG_WARN("auth_disabled", "reason=\"runtime.auth.disabled is set\" "
                  "risk=\"every caller may do and read everything; for tests of the runtime "
                  "on a closed machine only\"");
        return 0;
    }
    if (!cfg->tokens_file || !*cfg->tokens_file) {
        fprintf(stderr, "%s: configuration: runtime.auth.tokensFile is empty: give the token "
                "registry (made by `hotline token create --tokens-file FILE ...`; `hotline up` "
                "makes one), or set runtime.auth.disabled for a test of the runtime\n",
                svc->desc->name);
        return HL_EINVAL;
    }
    snprintf(a->tokens_path, sizeof a->tokens_path, "%s", cfg->tokens_file);
    reload(a, true);
    uv_fs_poll_init(&svc->loop, &a->poll);
    a->poll.data = a;
    uv_fs_poll_start(&a->poll, on_registry_change, a->tokens_path, cfg->reload_ms);
    a->polling = true;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", a->tokens_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    uv_fs_event_init(&svc->loop, &a->watch);
    a->watch.data = a;
    a->watching = uv_fs_event_start(&a->watch, on_dir_event, dir, 0) == 0;
    if (!a->watching)
        uv_close((uv_handle_t *)&a->watch, NULL);
    return 0;
}

static void on_poll_closed(uv_handle_t *h)
{
    (void)h;
}

void service_auth_stop(service_t *svc)
{
    service_auth_t *a = svc->auth;
    if (!a)
        return;
    if (a->polling) {
        uv_fs_poll_stop(&a->poll);
        uv_close((uv_handle_t *)&a->poll, on_poll_closed);
        a->polling = false;
    }
    if (a->watching) {
        uv_fs_event_stop(&a->watch);
        uv_close((uv_handle_t *)&a->watch, on_poll_closed);
        a->watching = false;
    }
    zsock_destroy(&a->zap, 0);
}

void service_auth_destroy(service_t *svc)
{
    service_auth_t *a = svc->auth;
    if (!a)
        return;
    auth_registry_destroy(&a->reg);
    free(a);
    svc->auth = NULL;
}

const char *service_auth_curve_secret(service_t *svc)
{
    return svc->auth && svc->auth->curve_secret[0] ? svc->auth->curve_secret : NULL;
}

void service_auth_feed_cred(service_t *svc, const char *server_key, bus_cred_t *out)
{
    memset(out, 0, sizeof *out);
    service_auth_t *a = svc->auth;
    if (!a)
        return;
    memcpy(out->token, a->own.token, sizeof out->token);
    if (server_key && *server_key && a->own.secret_key[0]) {
        memcpy(out->secret_key, a->own.secret_key, sizeof out->secret_key);
        snprintf(out->server_key, sizeof out->server_key, "%s", server_key);
    }
}

/* ---- who is calling ---- */

static void describe_refusal(auth_verdict_t v, int64_t when, uint32_t roles, char *out,
                             size_t size)
{
    char need[200], at[40] = "";
    auth_roles_describe(roles, need, sizeof need);
    if (when > 0) {
        time_t secs = (time_t)(when / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(at, sizeof at, "%Y-%m-%d %H:%M UTC", &tm);
    }
    switch (v) {
    case AUTH_MISSING:
        snprintf(out, size, "no credentials: send 'Authorization: Bearer <token>' with a token "
                 "of role %s (`hotline token create`)", need);
        break;
    case AUTH_EXPIRED:
        snprintf(out, size, "the token expired on %s: ask for a new one of role %s", at, need);
        break;
    case AUTH_REVOKED:
        snprintf(out, size, "the token was revoked on %s: ask for a new one of role %s", at,
                 need);
        break;
    default:
        snprintf(out, size, "the token is not known here (mistyped, or from another "
                 "registry): a token of role %s is needed", need);
        break;
    }
}

auth_verdict_t service_auth_token(service_t *svc, const char *token, size_t len, uint32_t roles,
                                  auth_principal_t *who, char *why, size_t why_size)
{
    service_auth_t *a = svc->auth;
    memset(who, 0, sizeof *who);
    if (a->disabled) {
        who->trusted = true;
        return AUTH_OK;
    }
    int64_t when = 0;
    auth_verdict_t v = auth_registry_check(a->reg, token, len, hclock_now_ms(svc->clock), who,
                                           &when);
    if (v != AUTH_OK) {
        memset(who, 0, sizeof *who);
        metric_inc(a->refusals, (const char *const[]){VERDICT_NAMES[v]});
        describe_refusal(v, when, roles, why, why_size);
    }
    return v;
}

auth_verdict_t service_auth_bus(service_t *svc, const bus_caller_t *caller, uint32_t roles,
                                auth_principal_t *who, char *why, size_t why_size)
{
    service_auth_t *a = svc->auth;
    if (!a->disabled && (!caller->token || !caller->token[0]) && caller->curve_user) {
        const Hotline__CurveClient *c = curve_client(a, caller->curve_user);
        memset(who, 0, sizeof *who);
        if (c) { /* admitted by ZAP: the allow-list says who it is */
            who->role = c->role ? c->role : HOTLINE__ROLE__ROLE_SERVICE;
            snprintf(who->subject, sizeof who->subject, "%s", c->subject ? c->subject : "");
            snprintf(who->name, sizeof who->name, "%s", c->name ? c->name : "");
            return AUTH_OK;
        }
    }
    const char *t = caller->token ? caller->token : "";
    return service_auth_token(svc, t, strlen(t), roles, who, why, why_size);
}

void service_auth_forbidden(service_t *svc, const auth_principal_t *who, uint32_t roles,
                            const char *what, char *why, size_t why_size)
{
    char need[200], role[100];
    auth_roles_describe(roles, need, sizeof need);
    auth_principal_format(who, role, sizeof role);
    metric_inc(svc->auth->refusals, (const char *const[]){"forbidden"});
    snprintf(why, why_size, "role %s may not %s: it needs %s", role, what, need);
}

/* The token of an "Authorization: Bearer <token>" header: *len 0 when there is none. */
static const char *bearer(httpd_req_t *req, size_t *len)
{
    const char *h = httpd_req_header(req, "Authorization");
    *len = 0;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    *len = n;
    return h;
}

bool service_auth_http(service_t *svc, httpd_req_t *req, uint32_t roles, auth_principal_t *who)
{
    memset(who, 0, sizeof *who);
    if (roles & AUTH_PUBLIC) {
        who->trusted = svc->auth->disabled;
        return true;
    }
    size_t len;
    const char *token = bearer(req, &len);
    char why[1024];
    auth_verdict_t v = service_auth_token(svc, token, len, roles, who, why, sizeof why);
    if (v != AUTH_OK) {
        httpd_req_add_header(req, "WWW-Authenticate", "Bearer realm=\"hotline\"");
        service_http_error(req, 401, "Authorization", "%s", why);
        return false;
    }
    if (!auth_allows(roles, who)) {
        char what[300];
        snprintf(what, sizeof what, "%s %s", httpd_req_method(req), httpd_req_path(req));
        service_auth_forbidden(svc, who, roles, what, why, sizeof why);
        service_http_error(req, 403, NULL, "%s", why);
        return false;
    }
    return true;
}
