/* open311_query: the public reads. GET requests (filters, the default window, pages, newest
 * first, over intake's by_time index), GET requests/{id}, and the FixMyStreet updates
 * extension GET servicerequestupdates (over intake's updates index). Items are built by
 * open311_item.c. Loop thread only. */
#include "open311.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX 1000000 /* index entries one query may walk */
#define UPDATES_MAX 1000 /* updates in one answer */
#define UPDATES_DEFAULT_MS (24LL * 3600 * 1000)
#define ID_MAX 64

/* ---- query parameters ---- */

/* A parameter's value into out: 1 present, 0 absent or empty, -1 broken (error added). */
static int param(const char *query, const char *name, char *out, size_t size,
                 open311_errors_t *errs)
{
    int n = httpd_query_param(query, name, out, size);
    if (n == HL_ENOTFOUND || n == 0)
        return 0;
    if (n < 0) {
        open311_error_add(errs, 400, 400, "%s: %s", name,
                          n == HL_ETOOBIG ? "too long" : "holds a NUL byte");
        return -1;
    }
    return 1;
}

static int param_uint(const char *query, const char *name, unsigned min, unsigned max,
                      unsigned *out, open311_errors_t *errs)
{
    char buf[16];
    int got = param(query, name, buf, sizeof buf, errs);
    if (got <= 0)
        return got;
    char *end;
    unsigned long v = strtoul(buf, &end, 10);
    if (*end || buf[0] < '0' || buf[0] > '9' || v < min || v > max) {
        open311_error_add(errs, 400, 400, "%s: must be a whole number from %u to %u", name, min,
                          max);
        return -1;
    }
    *out = (unsigned)v;
    return 1;
}

/* start_date / end_date: both, one (the other is span away) or neither (the span before
 * now); at most OPEN311_WINDOW_MS apart. */
static void parse_window(const char *query, int64_t now_ms, int offset_min, int64_t span,
                         int64_t *start, int64_t *end, open311_errors_t *errs)
{
    char sbuf[64], ebuf[64], q[44];
    int64_t s = 0, e = 0;
    int hs = param(query, "start_date", sbuf, sizeof sbuf, errs);
    int he = param(query, "end_date", ebuf, sizeof ebuf, errs);
    if (hs > 0 && open311_time_parse(sbuf, offset_min, &s)) {
        open311_error_add(errs, 400, 400,
                          "start_date: \"%s\" is not an ISO 8601 datetime "
                          "like 2026-11-25T08:00:00+08:00",
                          open311_quote(q, sizeof q, sbuf));
        hs = -1;
    }
    if (he > 0 && open311_time_parse(ebuf, offset_min, &e)) {
        open311_error_add(errs, 400, 400,
                          "end_date: \"%s\" is not an ISO 8601 datetime "
                          "like 2026-11-25T08:00:00+08:00",
                          open311_quote(q, sizeof q, ebuf));
        he = -1;
    }
    if (hs < 0 || he < 0)
        return;
    if (hs && he) {
        if (e < s)
            open311_error_add(errs, 400, 400, "end_date: before start_date");
        else if (e - s > OPEN311_WINDOW_MS)
            open311_error_add(errs, 400, 400, "end_date: at most 90 days after start_date");
    } else if (hs) {
        e = s + span;
    } else if (he) {
        s = e - span;
    } else {
        e = now_ms;
        s = now_ms - span;
    }
    *start = s;
    *end = e;
}

int open311_query_parse(const char *query, int64_t now_ms, int offset_min, open311_query_t *q,
                        open311_errors_t *errs)
{
    memset(q, 0, sizeof *q);
    size_t before = errs->n;
    q->page = 1;
    q->page_size = OPEN311_PAGE_MAX;
    if (param(query, "service_request_id", q->id_text, sizeof q->id_text, errs) > 0) {
        int n = open311_split_list(q->id_text, q->ids, (int)(sizeof q->ids / sizeof *q->ids));
        if (n < 0)
            open311_error_add(errs, 400, 400, "service_request_id: at most %zu ids",
                              sizeof q->ids / sizeof *q->ids);
        q->nids = n < 0 ? 0 : n;
        for (int i = 0; i < q->nids; i++)
            if (strlen(q->ids[i]) > ID_MAX) {
                char quoted[44];
                open311_error_add(errs, 400, 400,
                                  "service_request_id: \"%s\" is too long "
                                  "for an id",
                                  open311_quote(quoted, sizeof quoted, q->ids[i]));
                break;
            }
    }
    if (param(query, "service_code", q->code_text, sizeof q->code_text, errs) > 0) {
        int n =
            open311_split_list(q->code_text, q->codes, (int)(sizeof q->codes / sizeof *q->codes));
        if (n < 0)
            open311_error_add(errs, 400, 400, "service_code: at most %zu codes",
                              sizeof q->codes / sizeof *q->codes);
        q->ncodes = n < 0 ? 0 : n;
    }
    char st[64];
    if (param(query, "status", st, sizeof st, errs) > 0) {
        char *items[4];
        int n = open311_split_list(st, items, 4);
        for (int i = 0; i < n; i++) {
            if (strcmp(items[i], "open") == 0)
                q->want_open = true;
            else if (strcmp(items[i], "closed") == 0)
                q->want_closed = true;
            else {
                char quoted[24];
                open311_error_add(errs, 400, 400, "status: \"%s\" is not open or closed",
                                  open311_quote(quoted, sizeof quoted, items[i]));
                break;
            }
        }
        if (n < 0)
            open311_error_add(errs, 400, 400, "status: open, closed, or open,closed");
    }
    parse_window(query, now_ms, offset_min, OPEN311_WINDOW_MS, &q->start_ms, &q->end_ms, errs);
    param_uint(query, "page", 1, 1000000, &q->page, errs);
    param_uint(query, "page_size", 1, OPEN311_PAGE_MAX, &q->page_size, errs);
    char ext[8];
    if (param(query, "extensions", ext, sizeof ext, errs) > 0) {
        if (strcmp(ext, "true") == 0 || strcmp(ext, "1") == 0)
            q->extensions = true;
        else if (strcmp(ext, "false") != 0 && strcmp(ext, "0") != 0)
            open311_error_add(errs, 400, 400, "extensions: true or false");
    }
    return errs->n > before ? HL_EINVAL : 0;
}

/* ---- running a query ---- */

static bool matches(const open311_query_t *q, const Hotline__TicketView *v)
{
    if (q->want_open != q->want_closed && open311_is_closed(v->status) != q->want_closed)
        return false;
    if (!q->ncodes)
        return true;
    for (int i = 0; i < q->ncodes; i++)
        if (strcmp(q->codes[i], v->ticket->category_code) == 0)
            return true;
    return false;
}

static void append_view(const open311_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                        json_t *list, bool extensions)
{
    Hotline__TicketView *v;
    if (intake_view_get(self->intake, txn, id, arena, &v) == 0 && v->ticket)
        json_array_append_new(list, open311_request_item(self, v, extensions));
}

/* The walk of a listing over by_time: newest first, filtered, a page at a time. */
typedef struct query_walk {
    const open311_t *self;
    MDB_txn *txn;
    const open311_query_t *q;
    arena_t *arena;
    json_t *list;
    bool filtered;
    uint64_t skip; /* matching requests on earlier pages */
    unsigned scanned;
} query_walk_t;

static int query_visit(void *ctx, const store_entry_t *e)
{
    query_walk_t *w = ctx;
    const open311_query_t *q = w->q;
    if (w->scanned == SCAN_MAX || json_array_size(w->list) >= q->page_size)
        return 1;
    char id[ID_MAX + 1];
    int64_t received_ms;
    bool usable = intake_by_time_key(&e->key, &received_ms, id, sizeof id) == 0;
    if (usable && received_ms < q->start_ms)
        return 1; /* past the window's start */
    w->scanned++;
    if (!usable)
        return 0;
    arena_reset(w->arena);
    Hotline__TicketView *v = NULL;
    if (w->filtered && (intake_view_get(w->self->intake, w->txn, id, w->arena, &v) != 0 ||
                        !v->ticket || !matches(q, v)))
        return 0;
    if (w->skip) {
        w->skip--;
        return 0;
    }
    if (v)
        json_array_append_new(w->list, open311_request_item(w->self, v, q->extensions));
    else
        append_view(w->self, w->txn, id, w->arena, w->list, q->extensions);
    return 0;
}

json_t *open311_query_run(const open311_t *self, MDB_txn *txn, const open311_query_t *q,
                          arena_t *arena)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    if (q->nids) {
        for (int i = 0; i < q->nids; i++) {
            arena_reset(arena);
            append_view(self, txn, q->ids[i], arena, list, q->extensions);
        }
        return list;
    }
    query_walk_t w = {.self = self, .txn = txn, .q = q, .arena = arena, .list = list};
    w.filtered = q->ncodes || q->want_open != q->want_closed;
    w.skip = (uint64_t)(q->page - 1) * q->page_size;
    /* Newest first: from the last key up to end_ms, walk back to start_ms (every key is
     * longer than 8 bytes, so none equals end_ms + 1). */
    uint8_t from[8];
    store_be64_put(from, (uint64_t)(q->end_ms + 1 > 0 ? q->end_ms + 1 : 0));
    store_range_t r = {.from = from, .from_len = 8, .reverse = true};
    store_scan(txn, self->intake->by_time, &r, query_visit, &w); /* answers with what it read */
    if (w.scanned == SCAN_MAX)
        SLOG_WARN("open311_scan_capped",
                  "scanned=%u reason=\"the window holds more requests "
                  "than one query walks\" next=\"answered with what was found\"",
                  w.scanned);
    return list;
}

/* ---- handlers ---- */

static int read_begin(open311_t *self, httpd_req_t *req, open311_fmt_t fmt, MDB_txn **txn)
{
    int rc = store_read_begin(service_store(self->svc), txn);
    if (rc)
        open311_fail(req, fmt, 503, 503, "store unavailable: %s", hl_strerror(rc));
    return rc;
}

void open311_get_requests(open311_t *self, httpd_req_t *req, open311_fmt_t fmt)
{
    open311_query_t *q = malloc(sizeof *q);
    if (!q) {
        open311_fail(req, fmt, 503, 503, "out of memory; retry");
        return;
    }
    open311_errors_t errs;
    open311_errors_init(&errs);
    int64_t now = hclock_now_ms(service_clock(self->svc));
    MDB_txn *txn;
    if (open311_query_parse(httpd_req_query(req), now, self->offset_min, q, &errs)) {
        open311_respond_errors(req, fmt, &errs);
    } else if (read_begin(self, req, fmt, &txn) == 0) {
        json_t *list = open311_query_run(self, txn, q, self->arena);
        store_read_end(&txn);
        open311_respond(req, fmt, 200, list, "service_requests", "request");
    }
    free(q);
}

void open311_get_request(open311_t *self, httpd_req_t *req, open311_fmt_t fmt, const char *id)
{
    char ext[8];
    bool extensions = false;
    int n = httpd_query_param(httpd_req_query(req), "extensions", ext, sizeof ext);
    if (n > 0) {
        extensions = strcmp(ext, "true") == 0 || strcmp(ext, "1") == 0;
        if (!extensions && strcmp(ext, "false") != 0 && strcmp(ext, "0") != 0) {
            open311_fail(req, fmt, 400, 400, "extensions: true or false");
            return;
        }
    }
    MDB_txn *txn;
    char idq[ID_MAX + 8];
    if (strlen(id) > ID_MAX || read_begin(self, req, fmt, &txn) != 0) {
        if (strlen(id) > ID_MAX)
            open311_fail(req, fmt, 404, 404, "service_request_id: no such request");
        return;
    }
    arena_reset(self->arena);
    Hotline__TicketView *v;
    int rc = intake_view_get(self->intake, txn, id, self->arena, &v);
    json_t *item = rc == 0 && v->ticket ? open311_request_item(self, v, extensions) : NULL;
    store_read_end(&txn);
    if (item)
        open311_respond(req, fmt, 200, json_pack("[o]", item), "service_requests", "request");
    else if (rc == HL_ENOTFOUND || rc == 0)
        open311_fail(req, fmt, 404, 404, "service_request_id: no request %s",
                     open311_quote(idq, sizeof idq, id));
    else
        open311_fail(req, fmt, 500, 500, "cannot read request %s: %s",
                     open311_quote(idq, sizeof idq, id), hl_strerror(rc));
}

/* The FixMyStreet statuses (open, in_progress, fixed, closed, reopen, duplicate). */
static const char *update_status(const Hotline__TicketView *v)
{
    switch (v->status) {
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED: return "in_progress";
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED: return v->resolved ? "fixed" : "in_progress";
    case HOTLINE__TICKET_STATUS__TICKET_REWORK: return "reopen";
    case HOTLINE__TICKET_STATUS__TICKET_LINKED: return "duplicate";
    default: return open311_is_closed(v->status) ? "closed" : "open";
    }
}

typedef struct updates_ctx {
    open311_t *self;
    MDB_txn *txn;
    json_t *list;
} updates_ctx_t;

static int on_update(void *ctx, const char *id, int64_t updated_ms)
{
    updates_ctx_t *u = ctx;
    open311_t *self = u->self;
    arena_reset(self->arena);
    Hotline__TicketView *v;
    if (intake_view_get(self->intake, u->txn, id, self->arena, &v) != 0 || !v->ticket)
        return 0;
    char uid[ID_MAX + 24], when[40], notes[1200];
    snprintf(uid, sizeof uid, "%s-%lld", id, (long long)updated_ms);
    open311_time_format(updated_ms, self->offset_min, when, sizeof when);
    open311_status_notes(self, v, notes, sizeof notes);
    json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:o}", "update_id", uid, "service_request_id",
                             id, "status", update_status(v), "updated_datetime", when,
                             "description", open311_public_text(notes));
    if (item)
        json_array_append_new(u->list, item);
    return 0;
}

void open311_get_updates(open311_t *self, httpd_req_t *req, open311_fmt_t fmt)
{
    open311_errors_t errs;
    open311_errors_init(&errs);
    int64_t start = 0, end = 0;
    parse_window(httpd_req_query(req), hclock_now_ms(service_clock(self->svc)), self->offset_min,
                 UPDATES_DEFAULT_MS, &start, &end, &errs);
    if (errs.n) {
        open311_respond_errors(req, fmt, &errs);
        return;
    }
    MDB_txn *txn;
    if (read_begin(self, req, fmt, &txn))
        return;
    updates_ctx_t u = {self, txn, json_array()};
    int rc = intake_updates_scan(self->intake, txn, start, end + 1, UPDATES_MAX, on_update, &u);
    store_read_end(&txn);
    if (rc) {
        json_decref(u.list);
        open311_fail(req, fmt, 500, 500, "cannot read updates: %s", hl_strerror(rc));
        return;
    }
    open311_respond(req, fmt, 200, u.list, "service_request_updates", "request_update");
}
