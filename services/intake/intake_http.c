/* intake_http: the native JSON API.
 *   POST /v1/tickets          a hotline.Ticket as JSON -> {"submitTicket": {"ticketId", ...}}
 *   GET  /v1/tickets/{id}     the status view (hotline.TicketView)
 *   GET  /v1/tickets?status=TICKET_DISPATCHED&limit=50&beforeMs=...   newest first
 *   GET  /v1/exports/requests.csv?from=YYYY-MM-DD&to=YYYY-MM-DD[&status=][&service_code=]
 *                             the requests of a range of days as CSV (intake_export.c)
 */
#include "intake_internal.h"

#include "intake_export.h"
#include "intake_status.h"

#include "hl_error.h"
#include "mask.h"
#include "pbjson.h"

#include <stdlib.h>
#include <string.h>

#define LIST_MAX 500

static void on_submit(httpd_req_t *req, void *ctx)
{
    ProtobufCMessage *t = service_http_body(req, &hotline__ticket__descriptor);
    if (!t)
        return;
    Hotline__SubmitTicket *st = malloc(sizeof *st);
    if (!st) {
        protobuf_c_message_free_unpacked(t, NULL);
        service_http_error(req, 503, NULL, "out of memory; retry");
        return;
    }
    hotline__submit_ticket__init(st);
    st->ticket = (Hotline__Ticket *)t;
    Hotline__Command *cmd =
        service_command_new(HOTLINE__COMMAND__BODY_SUBMIT_TICKET, &st->base);
    if (!cmd) {
        service_http_error(req, 503, NULL, "out of memory; retry");
        return;
    }
    intake_t *self = ctx;
    service_http_command(self->svc, req, cmd);
}

static void on_get(httpd_req_t *req, void *ctx)
{
    intake_t *self = ctx;
    char id[64];
    if (service_path_segment(req, 2, id, sizeof id) <= 0) {
        service_http_error(req, 400, "id", "give a ticket id: /v1/tickets/20261125-1-000123");
        return;
    }
    MDB_txn *txn;
    int rc = store_read_begin(service_store(self->svc), &txn);
    if (rc) {
        service_http_error(req, 503, NULL, "store unavailable: %s", hl_strerror(rc));
        return;
    }
    arena_reset(self->scratch);
    Hotline__TicketView *v;
    rc = intake_view_get(self, txn, id, self->scratch, &v);
    if (rc == 0) /* the incident's ETA as it is now, not as it was when the ticket joined */
        rc = intake_view_incident(self, txn, v, self->scratch);
    const auth_principal_t *who = service_req_principal(req);
    if (rc == 0 && !who->trusted && who->role != HOTLINE__ROLE__ROLE_OPERATOR) {
        /* Only operators see the caller; everyone else the masked view (docs/architecture.md). */
        mask_message(&v->base);
    }
    if (rc == 0)
        service_http_message(req, 200, &v->base);
    else if (rc == HL_ENOTFOUND)
        service_http_error(req, 404, "id", "no ticket %s", id);
    else
        service_http_error(req, 500, NULL, "cannot read ticket %s: %s", id, hl_strerror(rc));
    store_read_end(&txn);
}

/* One list row: enough to scan a queue; GET /v1/tickets/{id} has the rest. */
static json_t *row(const Hotline__TicketView *v)
{
    json_t *j = json_object();
    json_object_set_new(j, "ticketId", json_string(v->ticket->id));
    const ProtobufCEnumValue *s =
        protobuf_c_enum_descriptor_get_value(&hotline__ticket_status__descriptor, v->status);
    json_object_set_new(j, "status", json_string(s ? s->name : "?"));
    json_object_set_new(j, "categoryCode", json_string(v->ticket->category_code));
    if (v->unit && *v->unit)
        json_object_set_new(j, "unit", json_string(v->unit));
    char ms[24];
    snprintf(ms, sizeof ms, "%lld", (long long)v->ticket->received_ms);
    json_object_set_new(j, "receivedMs", json_string(ms));
    if (v->reply_due_ms) {
        snprintf(ms, sizeof ms, "%lld", (long long)v->reply_due_ms);
        json_object_set_new(j, "replyDueMs", json_string(ms));
    }
    return j;
}

static int parse_status(const char *text, Hotline__TicketStatus *out)
{
    for (unsigned i = 0; i < hotline__ticket_status__descriptor.n_values; i++) {
        const ProtobufCEnumValue *v = &hotline__ticket_status__descriptor.values[i];
        if (strcasecmp(text, v->name) == 0 || strcasecmp(text, v->name + 7) == 0) {
            *out = (Hotline__TicketStatus)v->value;
            return 0;
        }
    }
    return HL_EINVAL;
}

#define LIST_SCAN_MAX 100000 /* index entries one list walks at most, whatever it keeps */

typedef struct list_walk {
    intake_t *self;
    MDB_txn *txn;
    json_t *rows;
    size_t limit;
    bool by_status;
    Hotline__TicketStatus want; /* when by_status */
    unsigned scanned;
} list_walk_t;

static int list_visit(void *ctx, const store_entry_t *e)
{
    list_walk_t *w = ctx;
    if (json_array_size(w->rows) >= w->limit || w->scanned == LIST_SCAN_MAX)
        return 1;
    w->scanned++;
    char id[65];
    int64_t received_ms;
    if (intake_by_time_key(&e->key, &received_ms, id, sizeof id))
        return 0;
    arena_reset(w->self->scratch);
    Hotline__TicketView *view;
    if (intake_view_get(w->self, w->txn, id, w->self->scratch, &view) == 0 &&
        (!w->by_status || view->status == w->want))
        json_array_append_new(w->rows, row(view));
    return 0;
}

static void on_list(httpd_req_t *req, void *ctx)
{
    intake_t *self = ctx;
    const char *q = httpd_req_query(req);
    char buf[64];
    bool by_status = false;
    Hotline__TicketStatus want = 0;
    if (httpd_query_param(q, "status", buf, sizeof buf) > 0) {
        if (parse_status(buf, &want)) {
            service_http_error(req, 400, "status", "unknown status \"%s\": one of received, "
                               "dispatched, signed, replied, rework, closed", buf);
            return;
        }
        by_status = true;
    }
    long limit = 50;
    if (httpd_query_param(q, "limit", buf, sizeof buf) > 0) {
        char *end;
        limit = strtol(buf, &end, 10);
        if (*end || limit < 1 || limit > LIST_MAX) {
            service_http_error(req, 400, "limit", "must be a whole number from 1 to %d",
                               LIST_MAX);
            return;
        }
    }
    uint64_t before = UINT64_MAX;
    if (httpd_query_param(q, "beforeMs", buf, sizeof buf) > 0) {
        char *end;
        before = strtoull(buf, &end, 10);
        if (*end || buf[0] == '-') {
            service_http_error(req, 400, "beforeMs", "must be UTC milliseconds");
            return;
        }
    }
    MDB_txn *txn;
    if (store_read_begin(service_store(self->svc), &txn)) {
        service_http_error(req, 503, NULL, "store unavailable");
        return;
    }
    uint8_t key[8];
    store_be64_put(key, before);
    /* Newest first: back from the last key below before (every key is longer than 8 bytes,
     * so none equals it). */
    store_range_t r = {.from = key, .from_len = 8, .reverse = true};
    list_walk_t w = {self, txn, json_array(), (size_t)limit, by_status, want, 0};
    store_scan(txn, self->by_time, &r, list_visit, &w); /* answers with what it read */
    store_read_end(&txn);
    service_http_json(req, 200, json_pack("{s:o}", "tickets", w.rows));
}

/* Who may call what (docs/architecture.md): operators record tickets (and channels acting as a
 * service); the status views are read by operators (with the caller), dispatchers,
 * supervisors and admins (the caller masked). Units read their tickets at dispatch. */
#define READERS (AUTH_OPERATOR | AUTH_DISPATCHER | AUTH_SUPERVISOR | AUTH_ADMIN)
/* The bulk export (intake_export.c) is staff's: the rows are public-masked, but a whole month
 * of the centre's requests is not for anyone with a browser. */
#define EXPORTERS (AUTH_DISPATCHER | AUTH_SUPERVISOR | AUTH_ADMIN)
static const service_route_t ROUTES[] = {
    {"POST", "/v1/tickets", AUTH_OPERATOR | AUTH_SERVICE, on_submit},
    {"GET", "/v1/tickets", READERS, on_list},
    {"GET", "/v1/tickets/*", READERS, on_get},
    {"GET", "/v1/exports/requests.csv", EXPORTERS, intake_export_http},
};

int intake_http_init(intake_t *self)
{
    return service_routes(self->svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
