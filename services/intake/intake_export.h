/* intake_export: GET /v1/exports/requests.csv, the requests received in a range of the
 * centre's local days as CSV in the GeoReport bulk columns (README.md "Exports"). The parsing
 * of the query, the walk in steps (what the route runs one per loop turn, and tests call), the
 * route's handler (a row of intake_http.c's table) and its part of intake's stop hook; the
 * rows themselves come from Open311's item (open311/open311_render.c). Loop thread only. */
#ifndef HOTLINE_INTAKE_EXPORT_H
#define HOTLINE_INTAKE_EXPORT_H

#include "intake_internal.h"

#include "csvw.h"

typedef struct intake_export {
    int64_t from_day, to_day;    /* local days, inclusive */
    int64_t from_ms, to_ms;      /* their first and last instant (received time) */
    bool want_open, want_closed; /* both: any status */
    char service_code[16];       /* "" = any */
} intake_export_t;

/* The export's bounds; 0 = the default (INTAKE_EXPORT_ROWS etc.). */
#define INTAKE_EXPORT_ROWS 100000     /* requests in one file */
#define INTAKE_EXPORT_BYTES (64 << 20) /* bytes of one file */
#define INTAKE_EXPORT_SCAN 1000000    /* requests looked at for one file (filters included) */
#define INTAKE_EXPORT_DAYS 366        /* days in one range */
typedef struct intake_export_limits {
    size_t rows, bytes, scan;
} intake_export_limits_t;

typedef struct intake_export_error {
    char field[32];    /* the query parameter at fault */
    char message[300]; /* the rule it broke and how to fix it (valid UTF-8) */
} intake_export_error_t;

/* Parse from=YYYY-MM-DD&to=YYYY-MM-DD[&status=open|closed][&service_code=CODE] (both days
 * required, at most INTAKE_EXPORT_DAYS apart; unknown parameters refused).
 * Errors: HL_EINVAL (err names the parameter and the rule), HL_ENOMEM. */
int intake_export_parse(const intake_t *self, const char *query, intake_export_t *out,
                        intake_export_error_t *err);

/* One export being written: a walk over the by_time index in steps, each in a read
 * transaction of the caller's, so that a long range never holds the loop for long. */
typedef struct intake_export_run intake_export_run_t;
#define INTAKE_EXPORT_STEP 1000 /* index entries looked at per step (one loop turn) */
#define INTAKE_EXPORT_JOBS 2    /* exports being written at once; more get 503 */

/* Start q: the header is written. limits NULL = the defaults. Errors: HL_ENOMEM. */
int intake_export_start(intake_t *self, const intake_export_t *q,
                        const intake_export_limits_t *limits, intake_export_run_t **out);
/* Walk at most budget more index entries in txn, going on where the last step stopped (the
 * views are read as txn sees them). *done when the range is walked. Errors: HL_ETOOBIG (a
 * limit is passed: intake_export_limit says which; the run is over), HL_ENOMEM, the store's. */
int intake_export_step(intake_export_run_t *run, MDB_txn *txn, size_t budget, bool *done);
/* The CSV (RFC 4180, CRLF, UTF-8): *out malloc'd (the caller frees), *rows the requests in
 * it. Once; then free the run. Errors: HL_ENOMEM. */
int intake_export_finish(intake_export_run_t *run, char **out, size_t *len, size_t *rows);
/* "rows", "bytes" or "scan" after HL_ETOOBIG, else NULL. */
const char *intake_export_limit(const intake_export_run_t *run);
void intake_export_free(intake_export_run_t **run);

/* The whole export in one transaction (start, steps, finish): for tests and tools. *which as
 * intake_export_limit. Errors as those. */
int intake_export_csv(intake_t *self, MDB_txn *txn, const intake_export_t *q,
                      const intake_export_limits_t *limits, char **out, size_t *len,
                      size_t *rows, const char **which);

/* The route's handler (a row of intake_http.c's table), and the stop hook's part: exports
 * still being written are answered 503, and new ones refused. */
typedef struct intake_export_job intake_export_job_t;
void intake_export_http(httpd_req_t *req, void *ctx);
void intake_export_stop(intake_t *self);

/* open311/open311_render.c: the export's CSV (csvw), each row the request item Open311's
 * public reads show for the view (open311_item.c: no caller details, phones masked), in the
 * GeoReport bulk columns; the header names them. */
int intake_open311_csv_header(csvw_t *w);
int intake_open311_csv_row(const intake_t *self, const Hotline__TicketView *v, csvw_t *w);

#endif
