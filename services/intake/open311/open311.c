/* open311: Open311 GeoReport v2 under /open311/v2/ (docs/open311.md): life cycle, the router, and
 * the catalogue endpoints (discovery, services, services/{code}). The other endpoints are in
 * open311_post.c, open311_tokens.c and open311_query.c (map in open311.h).
 *
 * Configuration is IntakeConfig.open311: apiKeysSha256 (hex SHA-256 of each accepted key:
 * with none, every POST is refused with 403), services (empty = the embedded water-utility
 * defaults, open311_catalog.c), batchBacklogMark (0 = never answer with tokens),
 * jurisdictionId (empty = any), and the discovery texts. Loop thread only. */
#include "open311.h"

#include "hl_error.h"
#include "slog.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* When the embedded catalogue last changed (discovery's changeset when none is configured). */
#define DEFAULT_CHANGESET "2026-11-25T00:00:00+08:00"

static bool str_set(const char *s)
{
    return s && *s;
}

/* The configured jurisdiction_id, when a query names another one. */
static bool jurisdiction_wrong(const open311_t *self, const char *given)
{
    return self->cfg && str_set(self->cfg->jurisdiction_id) && str_set(given) &&
           strcmp(self->cfg->jurisdiction_id, given) != 0;
}

/* ---- discovery, services ---- */

/* The public URL of /open311/v2: configured, or from the Host header this request came to. */
static json_t *base_url(const open311_t *self, httpd_req_t *req)
{
    if (self->cfg && str_set(self->cfg->base_url))
        return json_string(self->cfg->base_url);
    const char *host = httpd_req_header(req, "Host");
    bool ok = str_set(host) && strlen(host) <= 255;
    for (const char *p = host; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr(".-:[]", *p);
    char url[300];
    snprintf(url, sizeof url, "http://%s/open311/v2", ok ? host : "127.0.0.1");
    return json_string(url);
}

static void get_discovery(open311_t *self, httpd_req_t *req, open311_fmt_t fmt)
{
    const Hotline__Open311Config *c = self->cfg;
    const char *changeset = c && str_set(c->changeset) ? c->changeset : DEFAULT_CHANGESET;
    json_t *endpoint = json_pack("{s:s, s:o, s:s, s:s, s:[s, s]}", "specification", OPEN311_SPEC,
                                 "url", base_url(self, req), "changeset", changeset, "type",
                                 "production", "formats", "application/json", "text/xml");
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:[o]}", "changeset", changeset, "contact",
        c && str_set(c->contact) ? c->contact : "The hotline's operations desk", "key_service",
        c && str_set(c->key_service) ? c->key_service
                                     : "Ask the hotline's operations desk for an api_key",
        "endpoints", endpoint);
    open311_respond(req, fmt, 200, doc, "discovery", NULL);
}

static void get_services(open311_t *self, httpd_req_t *req, open311_fmt_t fmt)
{
    open311_respond(req, fmt, 200, open311_services_json(&self->catalog), "services", "service");
}

static void get_definition(open311_t *self, httpd_req_t *req, open311_fmt_t fmt, const char *code)
{
    const Hotline__Open311Service *s = open311_catalog_find(&self->catalog, code);
    if (!s) {
        char q[40];
        open311_fail(req, fmt, 404, 404,
                     "service_code: no service %s here: see services.%s "
                     "for the codes",
                     open311_quote(q, sizeof q, code), fmt == OPEN311_XML ? "xml" : "json");
        return;
    }
    open311_respond(req, fmt, 200, open311_definition_json(s), "service_definition", NULL);
}

/* ---- the router ---- */

typedef enum {
    R_DISCOVERY,
    R_SERVICES,
    R_SERVICE,
    R_REQUESTS,
    R_REQUEST,
    R_TOKEN,
    R_UPDATES
} resource_t;

static const struct {
    const char *name;
    bool with_id;      /* name/{id} */
    const char *allow; /* methods */
    resource_t r;
} ROUTES[] = {
    {"discovery", false, "GET", R_DISCOVERY},
    {"services", false, "GET", R_SERVICES},
    {"services", true, "GET", R_SERVICE},
    {"requests", false, "GET, POST", R_REQUESTS},
    {"requests", true, "GET", R_REQUEST},
    {"tokens", true, "GET", R_TOKEN},
    {"servicerequestupdates", false, "GET", R_UPDATES},
};

static void on_request(httpd_req_t *req, void *ctx)
{
    open311_t *self = ctx;
    const char *path = httpd_req_path(req) + strlen(OPEN311_PREFIX);
    /* The format is the suffix of the last segment: requests/ID.json. */
    const char *dot = strrchr(path, '.');
    open311_fmt_t fmt = OPEN311_JSON;
    char q[88];
    if (!dot || strchr(dot, '/')) {
        open311_fail(req, fmt, 404, 404,
                     "no resource %s: add the format, .json or .xml (see "
                     "discovery.json)",
                     open311_quote(q, sizeof q, httpd_req_path(req)));
        return;
    }
    if (strcmp(dot, ".xml") == 0) {
        fmt = OPEN311_XML;
    } else if (strcmp(dot, ".json") != 0) {
        open311_fail(req, fmt, 404, 404, "format %s: not served here: use .json or .xml",
                     open311_quote(q, 24, dot));
        return;
    }
    char name[64], id[128] = "";
    size_t len = (size_t)(dot - path);
    const char *slash = memchr(path, '/', len);
    size_t nlen = slash ? (size_t)(slash - path) : len;
    size_t idlen = slash ? len - nlen - 1 : 0;
    int found = -1;
    if (nlen < sizeof name && idlen < sizeof id &&
        (!slash || (idlen && !memchr(slash + 1, '/', idlen)))) {
        memcpy(name, path, nlen);
        name[nlen] = '\0';
        if (slash)
            memcpy(id, slash + 1, idlen);
        id[idlen] = '\0';
        for (size_t i = 0; i < sizeof ROUTES / sizeof *ROUTES && found < 0; i++)
            if (strcmp(ROUTES[i].name, name) == 0 && ROUTES[i].with_id == (slash != NULL))
                found = (int)i;
    }
    if (found < 0) {
        open311_fail(req, fmt, 404, 404, "no resource %s here: see discovery.%s",
                     open311_quote(q, sizeof q, httpd_req_path(req)),
                     fmt == OPEN311_XML ? "xml" : "json");
        return;
    }
    resource_t r = ROUTES[found].r;
    const char *method = httpd_req_method(req);
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    if (!(get || (post && r == R_REQUESTS))) {
        httpd_req_add_header(req, "Allow",
                             strcmp(ROUTES[found].allow, "GET") == 0 ? "GET, HEAD"
                                                                     : "GET, HEAD, POST");
        open311_fail(req, fmt, 405, 405, "method %s not allowed here: use %s",
                     open311_quote(q, 24, method), ROUTES[found].allow);
        return;
    }
    metric_inc(self->m_requests, (const char *const[]){post ? "post_requests" : name});
    if (post) {
        open311_post_request(self, req, fmt);
        return;
    }
    char jur[160];
    int jn = httpd_query_param(httpd_req_query(req), "jurisdiction_id", jur, sizeof jur);
    if (jn == HL_ETOOBIG || jn == HL_EINVAL || (jn > 0 && jurisdiction_wrong(self, jur))) {
        open311_fail(req, fmt, 400, 400, "jurisdiction_id: this server serves only \"%s\"",
                     self->cfg && str_set(self->cfg->jurisdiction_id) ? self->cfg->jurisdiction_id
                                                                      : "its own jurisdiction");
        return;
    }
    switch (r) {
    case R_DISCOVERY: get_discovery(self, req, fmt); break;
    case R_SERVICES: get_services(self, req, fmt); break;
    case R_SERVICE: get_definition(self, req, fmt, id); break;
    case R_REQUESTS: open311_get_requests(self, req, fmt); break;
    case R_REQUEST: open311_get_request(self, req, fmt, id); break;
    case R_TOKEN: open311_tokens_get(self, req, fmt, id); break;
    case R_UPDATES: open311_get_updates(self, req, fmt); break;
    }
}

/* ---- life cycle ---- */

static int load_keys(open311_t *self)
{
    const Hotline__Open311Config *c = self->cfg;
    size_t n = c ? c->n_api_keys_sha256 : 0;
    if (!n) {
        SLOG_WARN("open311_no_api_keys", "reason=\"open311.apiKeysSha256 is empty\" "
                                         "next=\"every POST requests is refused with 403\"");
        return 0;
    }
    self->keys = calloc(n, sizeof *self->keys);
    if (!self->keys)
        return HL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *hex = c->api_keys_sha256[i];
        size_t got = 0;
        if (strlen(hex) != 64 ||
            sodium_hex2bin(self->keys[i], 32, hex, 64, NULL, &got, NULL) != 0 || got != 32) {
            SLOG_ERROR("config_invalid",
                       "key=open311.apiKeysSha256[%zu] reason=\"not a "
                       "SHA-256 in hex (64 hex digits): hash the key, e.g. printf %%s KEY | "
                       "sha256sum\"",
                       i);
            return HL_EINVAL;
        }
    }
    self->nkeys = n;
    return 0;
}

/* Called by intake's stop hook as shutdown begins: group-commit items queued after the
 * skeleton's last commit would be committed after its feed server is gone, so open311 stops
 * queueing them (token POSTs, drain passes) now. */
void intake_open311_stop(intake_t *intake)
{
    open311_t *self = intake->open311;
    if (!self)
        return;
    self->stopping = true;
}

/* Open311 is the public door: anyone may read (caller data never shown) and POST needs an
 * Open311 api_key, checked by the handler as the standard says. */
static const service_route_t OPEN311_ROUTES[] = {
    {NULL, OPEN311_PREFIX "*", AUTH_PUBLIC, on_request},
};

bool intake_category_offered(const intake_t *intake, const char *code, char *allowed,
                             size_t size)
{
    const open311_t *self = intake->open311;
    if (open311_catalog_find(&self->catalog, code))
        return true;
    size_t used = 0;
    allowed[0] = '\0';
    for (size_t i = 0; i < self->catalog.n && used + 1 < size; i++) {
        int n = snprintf(allowed + used, size - used, "%s%s", i ? ", " : "",
                         self->catalog.services[i]->code);
        if (n < 0 || (size_t)n >= size - used) {
            snprintf(allowed + used, size - used, ", ...");
            break;
        }
        used += (size_t)n;
    }
    return false;
}

int intake_open311_init(intake_t *intake)
{
    open311_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    intake->open311 = self;
    self->intake = intake;
    self->svc = intake->svc;
    const Hotline__IntakeConfig *cfg = (const Hotline__IntakeConfig *)service_config(self->svc);
    self->cfg = cfg->open311;
    self->offset_min = calendar_offset_minutes(intake->cal);
    if (sodium_init() < 0)
        return HL_EINTERNAL;
    char err[300];
    int rc = open311_catalog_load(&self->catalog, self->cfg, err, sizeof err);
    if (rc) {
        SLOG_ERROR("config_invalid", "reason=\"%s\"", err);
        return rc;
    }
    rc = load_keys(self);
    if (!rc)
        rc = arena_create(&self->arena);
    if (rc)
        return rc;
    metrics_t *m = service_metrics(self->svc);
    self->m_requests = metrics_counter(m, "hotline_open311_requests_total",
                                       "Open311 requests, by endpoint.", "endpoint");
    self->m_tokens = metrics_counter(m, "hotline_open311_tokens_total",
                                     "Open311 batch-mode tokens: issued, then ticket or "
                                     "refused when the inbox drain recorded them.",
                                     "outcome");
    self->m_key_refusals = metrics_counter(m, "hotline_open311_key_refusals_total",
                                           "Open311 POSTs refused for their api_key: missing, "
                                           "wrong, or given more than once.",
                                           "outcome");
    rc = open311_tokens_init(self);
    if (!rc)
        rc = service_routes(self->svc, OPEN311_ROUTES, 1, self);
    if (!rc)
        SLOG_INFO("open311_ready",
                  "services=%zu api_keys=%zu batch_backlog_mark=%u "
                  "catalogue=%s",
                  self->catalog.n, self->nkeys, self->cfg ? self->cfg->batch_backlog_mark : 0,
                  self->catalog.owned ? "embedded" : "configured");
    return rc;
}

void intake_open311_fini(intake_t *intake)
{
    open311_t *self = intake->open311;
    if (!self)
        return;
    open311_catalog_fini(&self->catalog);
    free(self->keys);
    arena_destroy(&self->arena);
    arena_destroy(&self->drain_arena);
    free(self);
    intake->open311 = NULL;
}
