/* sla_http: read-only routes over sla's store and policy table. Each reads LMDB in a short read
 * transaction and answers JSON; every input error is a 400 naming the parameter. Loop thread.
 *
 *   GET /v1/clocks/{ticketId}          every clock of a ticket (404 when it has none)
 *   GET /v1/policies                   the policy table and how a row is chosen
 *   GET /v1/policies/match?categoryCode=W0402&urgency=URGENCY_VERY_URGENT
 *                                      the row that would apply to such a ticket
 *   GET /v1/due?before=MS&limit=N      running clocks due before MS (default: now), earliest
 *                                      first, N from 1 to 1000 (default 100), for supervisors */
#include "sla_internal.h"

#include "hl_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DUE_LIMIT_MAX 1000

static void on_clocks(httpd_req_t *req, void *ctx)
{
    sla_t *self = ctx;
    char id[SLA_TICKET_ID_MAX + 1], extra[8];
    int n = service_path_segment(req, 2, id, sizeof id);
    if (n == HL_ETOOBIG) {
        service_http_error(req, 400, "ticketId", "longer than %d characters",
                           SLA_TICKET_ID_MAX);
        return;
    }
    if (n <= 0) {
        service_http_error(req, 400, "ticketId", "give the ticket id: GET /v1/clocks/{ticketId}");
        return;
    }
    if (service_path_segment(req, 3, extra, sizeof extra) != HL_ENOTFOUND) {
        service_http_error(req, 404, NULL, "no such resource: GET /v1/clocks/{ticketId}");
        return;
    }
    MDB_txn *txn;
    json_t *body = NULL;
    int rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = sla_clocks_json(self, txn, id, &body);
        store_read_end(&txn);
    }
    const auth_principal_t *who = service_req_principal(req);
    if (!rc && who->role == HOTLINE__ROLE__ROLE_UNIT) {
        /* A unit reads the clocks of the tickets it holds: the latest clock's unit. */
        json_t *clocks = json_object_get(body, "clocks");
        json_t *last = json_array_get(clocks, json_array_size(clocks) - 1);
        const char *unit = json_string_value(json_object_get(last, "unit"));
        if (!unit || strcmp(unit, who->subject) != 0) {
            json_decref(body);
            service_http_error(req, 403, "ticketId", "ticket %s is not with unit %s: a unit "
                               "reads only the clocks of the tickets it holds", id,
                               who->subject);
            return;
        }
    }
    if (rc == HL_ENOTFOUND)
        service_http_error(req, 404, "ticketId", "no clocks for ticket %s: it was never "
                           "dispatched, or dispatch has not been read yet", id);
    else if (rc)
        service_http_error(req, 500, NULL, "cannot read clocks: %s", hl_strerror(rc));
    else
        service_http_json(req, 200, body);
}

static void on_policies(httpd_req_t *req, void *ctx)
{
    sla_t *self = ctx;
    json_t *body = sla_policies_json(sla_table(self), self->cfg->calendar);
    json_object_set_new(body, "version", json_integer(sla_table_version(self)));
    service_http_json(req, 200, body);
}

/* A query parameter naming an enum value, by its full name or without prefix ("urgent",
 * "complaint", "wechat"), in any case; absent leaves *out at 0 ("any"). Answers 400 naming the
 * parameter and returns false on a bad value. */
static bool query_enum(httpd_req_t *req, const char *name, const ProtobufCEnumDescriptor *d,
                       const char *prefix, int *out)
{
    char text[48] = "";
    int n = httpd_query_param(httpd_req_query(req), name, text, sizeof text);
    *out = 0;
    if (n == HL_ENOTFOUND || n == 0)
        return true;
    for (unsigned i = 0; n > 0 && i < d->n_values; i++) {
        const char *v = d->values[i].name;
        if (strcasecmp(text, v) == 0 ||
            (strncmp(v, prefix, strlen(prefix)) == 0 && strcasecmp(text, v + strlen(prefix)) == 0)) {
            *out = d->values[i].value;
            return true;
        }
    }
    char names[512] = "";
    for (unsigned i = 1; i < d->n_values; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i > 1 ? ", " : "",
                 d->values[i].name);
    service_http_error(req, 400, name, "must be one of %s (or absent: any)", names);
    return false;
}

/* GET /v1/policies/match?categoryCode=&urgency=&appealType=&channel=: the row a ticket gets,
 * and why: every row, whether it applies, its score or what ruled it out. */
static void on_match(httpd_req_t *req, void *ctx)
{
    sla_t *self = ctx;
    char category[SLA_PREFIX_MAX * 4 + 1] = "";
    int n = httpd_query_param(httpd_req_query(req), "categoryCode", category, sizeof category);
    if (n == HL_ETOOBIG || n == HL_EINVAL) {
        service_http_error(req, 400, "categoryCode", "must be a category code of at most %d "
                           "characters, e.g. W0402", SLA_PREFIX_MAX * 4);
        return;
    }
    int u, a, c;
    if (!query_enum(req, "urgency", &hotline__urgency__descriptor, "URGENCY_", &u) ||
        !query_enum(req, "appealType", &hotline__appeal_type__descriptor, "APPEAL_", &a) ||
        !query_enum(req, "channel", &hotline__channel__descriptor, "CHANNEL_", &c))
        return;
    sla_keys_t k = {.category = category, .urgency = (Hotline__Urgency)u,
                    .appeal_type = (Hotline__AppealType)a, .channel = (Hotline__Channel)c};
    const Hotline__SlaPolicy *p = sla_policy_match_keys(sla_table(self), &k);
    if (!p) {
        service_http_error(req, 500, NULL, "no policy matches (the table has no catch-all)");
        return;
    }
    service_http_json(req, 200,
                      json_pack("{s:s, s:o, s:o}", "categoryCode", category, "policy",
                                sla_policy_json(sla_table(self), p), "explain",
                                sla_policy_explain(sla_table(self), &k)));
}

/* A query integer from min to max; absent or empty gives def. Answers 400 and returns -1 on a
 * bad value. */
static int query_i64(httpd_req_t *req, const char *name, int64_t def, int64_t min, int64_t max,
                     int64_t *out)
{
    char buf[32];
    int n = httpd_query_param(httpd_req_query(req), name, buf, sizeof buf);
    if (n == HL_ENOTFOUND || n == 0) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long v = n > 0 ? strtoll(buf, &end, 10) : 0;
    if (n < 0 || !end || *end || errno || v < min || v > max) {
        service_http_error(req, 400, name, "must be a whole number from %lld to %lld",
                           (long long)min, (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

static void on_due(httpd_req_t *req, void *ctx)
{
    sla_t *self = ctx;
    int64_t before, limit;
    if (query_i64(req, "before", hclock_now_ms(self->clock), 0, INT64_MAX, &before) ||
        query_i64(req, "limit", 100, 1, DUE_LIMIT_MAX, &limit))
        return;
    MDB_txn *txn;
    json_t *body = NULL;
    int rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = sla_due_json(self, txn, before, (unsigned)limit, &body);
        store_read_end(&txn);
    }
    if (rc)
        service_http_error(req, 500, NULL, "cannot read due clocks: %s", hl_strerror(rc));
    else
        service_http_json(req, 200, body);
}

/* Who may call what: a ticket's clocks are read by the unit holding it, dispatchers,
 * supervisors and admins; the due list (every unit's deadlines) by dispatchers, supervisors
 * and admins; the policies by anyone with a role. */
/* POST /v1/policies {"policies": [...], "ladder": {...}}: load a new edition (supervisor,
 * admin), as command LoadPolicies with the body as its JSON. */
static void on_load(httpd_req_t *req, void *ctx)
{
    sla_t *self = ctx;
    size_t len;
    const char *body = httpd_req_body(req, &len);
    Hotline__LoadPolicies *lp = malloc(sizeof *lp);
    char *json = lp ? strndup(body, len) : NULL;
    if (!json) {
        free(lp);
        service_http_error(req, 500, NULL, "out of memory");
        return;
    }
    hotline__load_policies__init(lp);
    lp->json = json;
    Hotline__Command *cmd = service_command_new(HOTLINE__COMMAND__BODY_LOAD_POLICIES, &lp->base);
    if (!cmd) {
        service_http_error(req, 500, NULL, "out of memory");
        return;
    }
    service_http_command(self->svc, req, cmd);
}

static const service_route_t ROUTES[] = {
    {"GET", "/v1/clocks/*", AUTH_UNIT | AUTH_DISPATCHER | AUTH_SUPERVISOR | AUTH_ADMIN,
     on_clocks},
    {"GET", "/v1/policies/match", AUTH_ANY_ROLE, on_match},
    {"GET", "/v1/policies", AUTH_ANY_ROLE, on_policies},
    {"POST", "/v1/policies", AUTH_SUPERVISOR | AUTH_ADMIN, on_load},
    {"GET", "/v1/due", AUTH_DISPATCHER | AUTH_SUPERVISOR | AUTH_ADMIN, on_due},
};

int sla_http_routes(sla_t *self, service_t *svc)
{
    return service_routes(svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
