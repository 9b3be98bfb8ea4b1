/* intake_export: GET /v1/exports/requests.csv, the requests received in a range of the
 * centre's local days as one CSV file in the GeoReport bulk columns, oldest first, for staff
 * (dispatchers, supervisors, admins; the route is a row of intake_http.c's table).
 *
 * Each row is the request exactly as Open311's public reads show it (open311_item.c through
 * intake_open311_csv_row): no caller name, phone or e-mail, phone numbers in free text masked,
 * no description on a confidential ticket.
 *
 * The file is written in steps of INTAKE_EXPORT_STEP index entries, one per loop turn (a
 * uv_idle handle), each step in a read transaction of its own: a year of requests takes
 * about 5 us a row, and intake's loop also takes the surge's tickets, so no export holds it
 * for more than a step (a row changed between steps is written as it is when its step reads
 * it). httpd answers with one buffer (it cannot stream), so one file is bounded: at most
 * INTAKE_EXPORT_ROWS requests, INTAKE_EXPORT_BYTES bytes and INTAKE_EXPORT_SCAN requests
 * looked at (filters included). A range past a bound is refused whole with 413, naming the
 * bound and how to narrow the range, rather than cut short: a file that silently misses
 * requests would be worse than none. At most INTAKE_EXPORT_JOBS exports are written at once;
 * on shutdown (intake's stop hook) those still being written are answered 503.
 * Loop thread only. */
#include "intake_export.h"

#include "intake_status.h"

#include "category.h"
#include "hl_error.h"
#include "slog.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 64

static int refuse(intake_export_error_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message may quote what the client sent: made valid UTF-8 for the JSON answer. */
static int refuse(intake_export_error_t *err, const char *field, const char *fmt, ...)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    utf8_clean(err->field);
    utf8_clean(err->message);
    return HL_EINVAL;
}

/* A required day parameter. */
static int day_param(const char *query, const char *name, int64_t *day, intake_export_error_t *err)
{
    char buf[64];
    int rc = httpd_query_param(query, name, buf, sizeof buf);
    if (rc == HL_ENOTFOUND || rc == 0)
        return refuse(err, name, "required: the %s day of the range, YYYY-MM-DD (e.g. %s=%s)",
                      strcmp(name, "from") == 0 ? "first" : "last", name,
                      strcmp(name, "from") == 0 ? "2026-11-01" : "2026-11-30");
    if (rc < 0)
        return refuse(err, name, "must be a date YYYY-MM-DD, e.g. 2026-11-25");
    char why[200];
    if (calendar_date_parse(buf, day, why, sizeof why))
        return refuse(err, name, "%s", why);
    return 0;
}

int intake_export_parse(const intake_t *self, const char *query, intake_export_t *out,
                        intake_export_error_t *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    static const char *const allowed[] = {"from", "to", "status", "service_code", NULL};
    char name[sizeof err->field];
    int rc = httpd_query_unknown(query, allowed, name, sizeof name);
    if (rc < 0)
        return rc;
    if (rc)
        return refuse(err, name,
                      "unknown parameter \"%s\"; allowed: from, to, status, service_code", name);
    rc = day_param(query, "from", &out->from_day, err);
    if (!rc)
        rc = day_param(query, "to", &out->to_day, err);
    if (rc)
        return rc;
    char f[16], t[16];
    calendar_date_format(out->from_day, f, sizeof f);
    calendar_date_format(out->to_day, t, sizeof t);
    if (out->to_day < out->from_day)
        return refuse(err, "to", "%s is before from (%s): give to on or after from", t, f);
    int64_t days = out->to_day - out->from_day + 1;
    if (days > INTAKE_EXPORT_DAYS)
        return refuse(err, "to",
                      "the range %s..%s covers %lld days; at most %d: export it in parts", f, t,
                      (long long)days, INTAKE_EXPORT_DAYS);
    out->from_ms = calendar_day_start_ms(self->cal, out->from_day);
    out->to_ms = calendar_day_end_ms(self->cal, out->to_day);
    char buf[64];
    out->want_open = out->want_closed = true;
    rc = httpd_query_param(query, "status", buf, sizeof buf);
    if (rc > 0 && strcmp(buf, "open") == 0)
        out->want_closed = false;
    else if (rc > 0 && strcmp(buf, "closed") == 0)
        out->want_open = false;
    else if (rc != HL_ENOTFOUND && rc != 0)
        return refuse(err, "status",
                      "\"%.20s\" is not a status: open or closed (leave it out for both)",
                      rc > 0 ? buf : "?");
    char *code = out->service_code; /* "" unless given */
    rc = httpd_query_param(query, "service_code", code, sizeof out->service_code);
    if (rc > 0 && !category_code_valid(code))
        return refuse(err, "service_code",
                      "\"%s\" is not a service code: an upper-case letter and 2 to 6 digits, "
                      "e.g. W04",
                      code);
    if (rc < 0 && rc != HL_ENOTFOUND)
        return refuse(err, "service_code", "must be a service code such as W04");
    if (rc < 0)
        code[0] = '\0';
    return 0;
}

/* ---- the run: a walk over by_time in steps ---- */

struct intake_export_run {
    intake_t *self;
    intake_export_t q;
    intake_export_limits_t lim;
    csvw_t *w;
    uint8_t after[8 + ID_MAX]; /* the last key walked: the next step starts after it */
    size_t after_len;          /* 0: none yet (start at q.from_ms) */
    size_t rows, scanned;
    const char *which; /* the limit passed, or NULL */
    bool done;         /* the walk reached the end of the range */
};

/* One step's walk. */
typedef struct step_walk {
    intake_export_run_t *run;
    MDB_txn *txn;
    size_t budget; /* index entries this step may still look at */
} step_walk_t;

static bool wanted(const intake_export_t *q, const Hotline__TicketView *v)
{
    bool closed = intake_status_final(v->status);
    if (closed ? !q->want_closed : !q->want_open)
        return false;
    return !q->service_code[0] || strcmp(q->service_code, v->ticket->category_code) == 0;
}

static int export_visit(void *ctx, const store_entry_t *e)
{
    step_walk_t *s = ctx;
    intake_export_run_t *x = s->run;
    const MDB_val *k = &e->key;
    if (x->after_len && k->mv_size == x->after_len && memcmp(k->mv_data, x->after, k->mv_size) == 0)
        return 0; /* where the last step stopped */
    if (s->budget == 0)
        return 1; /* the next step goes on from here */
    s->budget--;
    if (k->mv_size <= sizeof x->after) {
        memcpy(x->after, k->mv_data, k->mv_size);
        x->after_len = k->mv_size;
    }
    char id[ID_MAX + 1];
    int64_t received_ms;
    if (intake_by_time_key(k, &received_ms, id, sizeof id))
        return 0;
    if (received_ms > x->q.to_ms) {
        x->done = true; /* past the range */
        return 1;
    }
    if (++x->scanned > x->lim.scan) {
        x->which = "scan";
        return 1;
    }
    arena_reset(x->self->scratch);
    Hotline__TicketView *v;
    int rc = intake_view_get(x->self, s->txn, id, x->self->scratch, &v);
    if (rc == HL_ENOTFOUND || (rc == 0 && (!v->ticket || !wanted(&x->q, v))))
        return 0;
    if (rc)
        return rc;
    if (++x->rows > x->lim.rows) {
        x->which = "rows";
        return 1;
    }
    rc = intake_open311_csv_row(x->self, v, x->w);
    if (!rc && csvw_bytes(x->w) > x->lim.bytes) {
        x->which = "bytes";
        return 1;
    }
    return rc;
}

int intake_export_start(intake_t *self, const intake_export_t *q,
                        const intake_export_limits_t *limits, intake_export_run_t **out)
{
    *out = NULL;
    intake_export_run_t *x = calloc(1, sizeof *x);
    if (!x)
        return HL_ENOMEM;
    x->self = self;
    x->q = *q;
    x->lim.rows = limits && limits->rows ? limits->rows : INTAKE_EXPORT_ROWS;
    x->lim.bytes = limits && limits->bytes ? limits->bytes : INTAKE_EXPORT_BYTES;
    x->lim.scan = limits && limits->scan ? limits->scan : INTAKE_EXPORT_SCAN;
    int rc = csvw_new(&x->w);
    if (!rc)
        rc = intake_open311_csv_header(x->w);
    if (rc) {
        intake_export_free(&x);
        return rc;
    }
    *out = x;
    return 0;
}

int intake_export_step(intake_export_run_t *x, MDB_txn *txn, size_t budget, bool *done)
{
    *done = false;
    uint8_t from[8];
    store_be64_put(from, (uint64_t)(x->q.from_ms > 0 ? x->q.from_ms : 0));
    store_range_t r = {.from = from, .from_len = 8};
    if (x->after_len) {
        r.from = x->after;
        r.from_len = x->after_len;
    }
    step_walk_t s = {x, txn, budget};
    int rc = store_scan(txn, x->self->by_time, &r, export_visit, &s);
    if (!rc && x->which)
        rc = HL_ETOOBIG;
    if (!rc && s.budget > 0)
        x->done = true; /* the scan ran out of entries, or reached past the range */
    *done = x->done;
    return rc;
}

int intake_export_finish(intake_export_run_t *x, char **out, size_t *len, size_t *rows)
{
    *rows = x->rows;
    return csvw_finish(x->w, out, len);
}

const char *intake_export_limit(const intake_export_run_t *x)
{
    return x->which;
}

void intake_export_free(intake_export_run_t **x)
{
    if (!x || !*x)
        return;
    csvw_destroy(&(*x)->w);
    free(*x);
    *x = NULL;
}

int intake_export_csv(intake_t *self, MDB_txn *txn, const intake_export_t *q,
                      const intake_export_limits_t *limits, char **out, size_t *len, size_t *rows,
                      const char **which)
{
    *out = NULL;
    *len = *rows = 0;
    *which = NULL;
    intake_export_run_t *x;
    int rc = intake_export_start(self, q, limits, &x);
    if (rc)
        return rc;
    bool done = false;
    while (!rc && !done)
        rc = intake_export_step(x, txn, SIZE_MAX, &done);
    *which = x->which;
    if (!rc)
        rc = intake_export_finish(x, out, len, rows);
    *rows = x->rows;
    intake_export_free(&x);
    return rc;
}

/* ---- the route: one job per export, a step per loop turn ---- */

/* An export being written for a request. Between steps the loop serves everyone else. */
struct intake_export_job {
    intake_t *self;
    httpd_req_t *req; /* answered exactly once, then NULL */
    intake_export_run_t *run;
    uv_idle_t idle; /* runs the next step on the next loop turn */
    struct intake_export_job *next;
};

static void too_big(httpd_req_t *req, const char *which, const intake_export_t *q)
{
    char f[16], t[16];
    calendar_date_format(q->from_day, f, sizeof f);
    calendar_date_format(q->to_day, t, sizeof t);
    const char *narrow = "narrow the range (from, to: e.g. one month or one week), or filter "
                         "by status or service_code, and export the parts one by one";
    if (strcmp(which, "rows") == 0)
        service_http_error(req, 413, "to",
                           "%s..%s holds more than %d requests, the most one export holds: %s", f,
                           t, INTAKE_EXPORT_ROWS, narrow);
    else if (strcmp(which, "bytes") == 0)
        service_http_error(req, 413, "to",
                           "the export of %s..%s would be larger than %d MiB, the most one "
                           "export holds: %s",
                           f, t, INTAKE_EXPORT_BYTES >> 20, narrow);
    else
        service_http_error(req, 413, "to",
                           "more than %d requests were received in %s..%s, the most one export "
                           "looks at: %s",
                           INTAKE_EXPORT_SCAN, f, t, narrow);
}

/* Answer with the file, or with why there is none (rc from the steps). */
static void answer(httpd_req_t *req, intake_export_run_t *run, int rc)
{
    const intake_export_t *q = &run->q;
    char *csv = NULL;
    size_t len = 0, rows;
    if (!rc)
        rc = intake_export_finish(run, &csv, &len, &rows);
    if (rc == HL_ETOOBIG) {
        too_big(req, intake_export_limit(run), q);
        return;
    }
    if (rc) {
        SLOG_WARN("export_failed", "reason=\"%s\" next=\"answered 500\"", hl_strerror(rc));
        service_http_error(req, 500, NULL, "could not read the requests: %s", hl_strerror(rc));
        return;
    }
    char f[16], t[16], disposition[96];
    calendar_date_format(q->from_day, f, sizeof f);
    calendar_date_format(q->to_day, t, sizeof t);
    snprintf(disposition, sizeof disposition, "attachment; filename=\"requests-%s-%s.csv\"", f, t);
    httpd_req_add_header(req, "Content-Disposition", disposition);
    httpd_respond(req, 200, "text/csv; charset=utf-8", csv, len);
    free(csv);
}

/* One step in a read transaction of its own: a read transaction kept across loop turns would
 * keep the store from growing its map (which needs none open). */
static int step(intake_t *self, intake_export_run_t *run, bool *done)
{
    MDB_txn *txn;
    int rc = store_read_begin(service_store(self->svc), &txn);
    if (rc)
        return rc;
    rc = intake_export_step(run, txn, INTAKE_EXPORT_STEP, done);
    store_read_end(&txn);
    return rc;
}

static void on_job_closed(uv_handle_t *h)
{
    intake_export_job_t *job = h->data;
    intake_export_free(&job->run);
    free(job);
}

/* Take the job off the list and let it go (freed once its handle has closed). */
static void job_end(intake_export_job_t *job)
{
    intake_t *self = job->self;
    for (intake_export_job_t **p = &self->export_jobs; *p; p = &(*p)->next)
        if (*p == job) {
            *p = job->next;
            self->export_njobs--;
            break;
        }
    uv_idle_stop(&job->idle);
    uv_close((uv_handle_t *)&job->idle, on_job_closed);
}

static void on_job_turn(uv_idle_t *h)
{
    intake_export_job_t *job = h->data;
    bool done = false;
    int rc = step(job->self, job->run, &done);
    if (!rc && !done)
        return;
    answer(job->req, job->run, rc);
    job->req = NULL;
    job_end(job);
}

void intake_export_http(httpd_req_t *req, void *ctx)
{
    intake_t *self = ctx;
    intake_export_t q;
    intake_export_error_t err;
    int rc = intake_export_parse(self, httpd_req_query(req), &q, &err);
    if (rc == HL_EINVAL) {
        service_http_error(req, 400, err.field, "%s", err.message);
        return;
    }
    if (!rc && (self->stopping || self->export_njobs >= INTAKE_EXPORT_JOBS)) {
        httpd_req_add_header(req, "Retry-After", "5");
        if (self->stopping)
            service_http_error(req, 503, NULL, "shutting down; export again once intake is back");
        else
            service_http_error(req, 503, NULL,
                               "%d exports are being written; retry in a few seconds",
                               INTAKE_EXPORT_JOBS);
        return;
    }
    intake_export_run_t *run = NULL;
    if (!rc)
        rc = intake_export_start(self, &q, NULL, &run);
    bool done = false;
    if (!rc)
        rc = step(self, run, &done); /* a small range is done in this turn */
    if (rc == HL_ENOMEM) {
        intake_export_free(&run);
        service_http_error(req, 503, NULL, "out of memory; retry");
        return;
    }
    if (rc || done) {
        answer(req, run, rc);
        intake_export_free(&run);
        return;
    }
    intake_export_job_t *job = calloc(1, sizeof *job);
    if (!job) {
        intake_export_free(&run);
        service_http_error(req, 503, NULL, "out of memory; retry");
        return;
    }
    *job = (intake_export_job_t){.self = self, .req = req, .run = run, .next = self->export_jobs};
    uv_idle_init(service_loop(self->svc), &job->idle);
    job->idle.data = job;
    uv_idle_start(&job->idle, on_job_turn);
    self->export_jobs = job;
    self->export_njobs++;
}

void intake_export_stop(intake_t *self)
{
    self->stopping = true;
    while (self->export_jobs) {
        intake_export_job_t *job = self->export_jobs;
        service_http_error(job->req, 503, NULL, "shutting down; export again once intake is back");
        job->req = NULL;
        job_end(job);
    }
}
