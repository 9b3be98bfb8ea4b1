/* analytics_http: the read-only API. Each request reads LMDB in one short read transaction
 * and answers JSON (the monthly report also CSV); nothing here writes. Loop thread.
 *
 *   GET /v1/kpis?from=YYYY-MM-DD&to=YYYY-MM-DD&by=unit|category|district
 *   GET /v1/reports/monthly?month=YYYY-MM[&format=csv|json]   (analytics_report.c)
 *   GET /v1/tickets/{id}/timeline */
#include "analytics_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Answer a failed read of the counters: rc from analytics_sum (through the KPIs or the
 * report); too_big says what to do when there were more groups than one answer holds. */
static void read_failed(httpd_req_t *req, int rc, const char *field, const char *too_big)
{
    if (rc == HL_ETOOBIG) {
        service_http_error(req, 400, field, "more groups than one answer holds; %s", too_big);
        return;
    }
    SLOG_WARN("kpi_read_failed", "reason=\"%s\"", hl_strerror(rc));
    service_http_error(req, 500, NULL, "could not read the counters: %s", hl_strerror(rc));
}

/* Answer a query that did not parse: 400 naming the parameter, or 503 when out of memory. */
static void refused(httpd_req_t *req, int rc, const analytics_error_t *err)
{
    if (rc == HL_EINVAL)
        service_http_error(req, 400, err->field, "%s", err->message);
    else
        service_http_error(req, 503, NULL, "out of memory; retry");
}

static void on_kpis(httpd_req_t *req, void *ctx)
{
    analytics_t *self = ctx;
    analytics_query_t q;
    analytics_error_t err;
    int rc = analytics_query_parse(httpd_req_query(req), analytics_today(self), &q, &err);
    if (rc) {
        refused(req, rc, &err);
        return;
    }
    MDB_txn *txn;
    json_t *doc = NULL;
    rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = analytics_kpis(self, txn, &q, &doc);
        store_read_end(&txn);
    }
    if (rc)
        read_failed(req, rc, "by", "ask for a shorter period or without by");
    else
        service_http_json(req, 200, doc);
}

static void on_report(httpd_req_t *req, void *ctx)
{
    analytics_t *self = ctx;
    analytics_report_t r;
    analytics_error_t err;
    int rc = analytics_report_parse(httpd_req_query(req), &r, &err);
    if (rc) {
        refused(req, rc, &err);
        return;
    }
    MDB_txn *txn;
    json_t *doc = NULL;
    char *csv = NULL;
    size_t len = 0;
    rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = r.format == ANALYTICS_REPORT_CSV ? analytics_report_csv(self, txn, &r, &csv, &len)
                                              : analytics_report_json(self, txn, &r, &doc);
        store_read_end(&txn);
    }
    if (rc) {
        read_failed(req, rc, "month", "ask GET /v1/kpis by unit for shorter periods");
    } else if (csv) {
        char disposition[80];
        snprintf(disposition, sizeof disposition, "attachment; filename=\"hotline-report-%s.csv\"",
                 r.month);
        httpd_req_add_header(req, "Content-Disposition", disposition);
        httpd_respond(req, 200, "text/csv; charset=utf-8", csv, len);
        free(csv);
    } else {
        service_http_json(req, 200, doc);
    }
}

static void on_ticket(httpd_req_t *req, void *ctx)
{
    analytics_t *self = ctx;
    char id[ANALYTICS_ID_MAX + 2], what[16], extra[2];
    int n = service_path_segment(req, 2, id, sizeof id);
    int w = service_path_segment(req, 3, what, sizeof what);
    if (w < 0 || strcmp(what, "timeline") != 0 ||
        service_path_segment(req, 4, extra, sizeof extra) != HL_ENOTFOUND) {
        service_http_error(req, 404, NULL,
                           "no such resource: analytics serves "
                           "GET /v1/tickets/{id}/timeline");
        return;
    }
    if (n < 0 || !analytics_ticket_id_valid(id)) {
        service_http_error(req, 400, "ticketId",
                           "a ticket id is 1 to %d characters of "
                           "A-Z a-z 0-9 . _ -, e.g. 20261125-1-000123",
                           ANALYTICS_ID_MAX);
        return;
    }
    MDB_txn *txn;
    json_t *doc = NULL;
    int rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = analytics_timeline(self, txn, id, &doc);
        store_read_end(&txn);
    }
    if (rc == HL_ENOTFOUND) {
        service_http_error(req, 404, "ticketId",
                           "no event about ticket %s has reached "
                           "analytics (check the id; a new ticket shows within a second)",
                           id);
        return;
    }
    if (rc) {
        SLOG_WARN("timeline_read_failed", "reason=\"%s\"", hl_strerror(rc));
        service_http_error(req, 500, NULL, "could not read the timeline: %s", hl_strerror(rc));
        return;
    }
    service_http_json(req, 200, doc);
}

/* Who may call what: KPIs and the monthly report for supervisors, dispatchers and admins; a
 * ticket's timeline (the caller masked) also for operators. */
#define KPI_READERS (AUTH_SUPERVISOR | AUTH_DISPATCHER | AUTH_ADMIN)
static const service_route_t ROUTES[] = {
    {"GET", "/v1/kpis", KPI_READERS, on_kpis},
    {"GET", "/v1/reports/monthly", KPI_READERS, on_report},
    {"GET", "/v1/tickets/*", KPI_READERS | AUTH_OPERATOR, on_ticket},
};

int analytics_http_routes(analytics_t *self, service_t *svc)
{
    return service_routes(svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
