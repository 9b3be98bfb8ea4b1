/* open311: Open311 GeoReport v2 on intake's HTTP port, under /open311/v2/ (docs/open311.md).
 * What the open311*.c files share; not for the rest of intake, which knows only
 * intake_open311_init / intake_open311_stop / intake_open311_fini (intake_internal.h).
 *
 *   open311.c          life cycle, the router, discovery, services, services/{code}
 *   open311_catalog.c  the services offered (configuration, or the embedded water defaults)
 *   open311_decode.c   a POST form -> a hotline.Ticket, by the service's definition
 *   open311_post.c     POST requests: api_key, then a ticket now, or a token (batch mode)
 *   open311_tokens.c   the durable inbox behind tokens, its drain, GET tokens/{token}
 *   open311_query.c    GET requests, requests/{id}, servicerequestupdates
 *   open311_item.c     one request as those show it (privacy: no caller details)
 *   open311_render.c   answers as JSON or XML, errors; items as CSV rows for intake's
 *                      export (intake_export.c, through intake_open311_csv_row)
 *   open311_util.c     error lists, ISO 8601 datetimes, comma lists
 *
 * open311_catalog.c, open311_decode.c and open311_util.c use only common/ and the protobuf
 * messages (no intake state), so the fuzz target can compile them on their own.
 * Loop thread only. */
#ifndef HOTLINE_INTAKE_OPEN311_H
#define HOTLINE_INTAKE_OPEN311_H

#include "form.h"
#include "intake_internal.h"
#include "intake_status.h"
#include "slog.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define OPEN311_PREFIX "/open311/v2/"
#define OPEN311_SPEC "http://wiki.open311.org/GeoReport_v2"
#define OPEN311_MAX_ERRORS 8
#define OPEN311_WINDOW_MS (90LL * 24 * 3600 * 1000) /* the standard's default window */
#define OPEN311_PAGE_MAX 1000
#define OPEN311_TOKEN_HEX 32 /* 16 random bytes */

/* Error codes beyond the HTTP status ("code may be more specific than the HTTP status"). */
#define OPEN311_CODE_UNKNOWN_SERVICE 404 /* POST with a service_code not offered (HTTP 400) */

typedef enum { OPEN311_JSON = 0, OPEN311_XML = 1 } open311_fmt_t;

/* ---- open311_util.c ---- */

/* The errors of one request: the HTTP status of the first one, then {code, description}. */
typedef struct open311_errors {
    int http;
    size_t n;
    struct {
        int code;
        char description[400];
    } items[OPEN311_MAX_ERRORS];
} open311_errors_t;

void open311_errors_init(open311_errors_t *e);
/* Add one (beyond OPEN311_MAX_ERRORS they are dropped: the first ones say enough). The
 * description is made valid UTF-8 (it goes into JSON and XML). */
void open311_error_add(open311_errors_t *e, int http, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void open311_error_addv(open311_errors_t *e, int http, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Outside text to quote in an error: at most size - 1 bytes, cut on a character boundary
 * ("..." when cut), invalid UTF-8 and control characters as '?'. Returns out. */
const char *open311_quote(char *out, size_t size, const char *s);

/* ISO 8601: "2026-11-25T08:00:00+08:00", "...Z", "...+0800", fractions of a second, or a
 * date alone ("2026-11-25": local midnight). Without a zone the centre's is meant. Years
 * 1970..9999. Errors: HL_EINVAL. */
int open311_time_parse(const char *text, int offset_min, int64_t *out_ms);
/* "2026-11-25T08:00:00+08:00" in the centre's zone (out >= 32 bytes). */
void open311_time_format(int64_t ms, int offset_min, char *out, size_t size);

/* Split a comma list in place (items trimmed of spaces, empty ones skipped) into at most max
 * pointers. Returns the count, or HL_ETOOBIG when there are more than max. */
int open311_split_list(char *text, char **items, int max);

/* ---- open311_catalog.c ---- */

typedef struct open311_catalog {
    Hotline__Open311Service **services; /* borrowed from the configuration or owned below */
    size_t n;
    Hotline__Open311Config *owned; /* the embedded defaults when the config has none */
} open311_catalog_t;

/* The services of cfg (may be NULL), or the embedded water-utility defaults when cfg lists
 * none; checked (codes, datatypes, list values). On failure err names the key.
 * Errors: HL_EINVAL, HL_ENOMEM. */
int open311_catalog_load(open311_catalog_t *self, const Hotline__Open311Config *cfg, char *err,
                         size_t err_size);
void open311_catalog_fini(open311_catalog_t *self);
const Hotline__Open311Service *open311_catalog_find(const open311_catalog_t *self,
                                                    const char *code);
const Hotline__Open311Attribute *open311_service_attr(const Hotline__Open311Service *s,
                                                      const char *code, size_t code_len);
/* GET services: the list; GET services/{code}: the definition. New references. */
json_t *open311_services_json(const open311_catalog_t *self);
json_t *open311_definition_json(const Hotline__Open311Service *s);

/* ---- open311_decode.c ---- */

/* Turn a POST form into a ticket for service_code's definition: location, contact,
 * attributes, media. *out and everything it points to live in arena. api_key and
 * jurisdiction_id are not looked at (open311_post.c checks them first). Returns 0, or
 * HL_EINVAL with errs filled (every broken parameter named), or HL_ENOMEM. */
int open311_decode_request(const form_t *form, const open311_catalog_t *cat, arena_t *arena,
                           Hotline__Ticket **out, open311_errors_t *errs);

/* The Open311 parameter behind a ticket field intake refused ("ticket.contact.phone" ->
 * "phone"); the field itself when there is none. */
const char *open311_param_for_field(const char *field);

/* ---- the service's state (open311.c) ---- */

typedef struct open311 {
    intake_t *intake;
    service_t *svc;
    const Hotline__Open311Config *cfg; /* may be NULL: every default */
    open311_catalog_t catalog;
    uint8_t (*keys)[32]; /* SHA-256 of each accepted api_key */
    size_t nkeys;
    int offset_min;       /* the centre's zone, for datetimes */
    arena_t *arena;       /* per-request scratch */
    arena_t *drain_arena; /* the drain pass's scratch */
    MDB_dbi inbox;        /* received ms (BE) + token -> packed SubmitTicket */
    MDB_dbi tokens;       /* token -> state byte + created ms (BE) + id or message */
    txq_item_t drain;     /* the inbox drain pass, queued at most once */
    bool drain_queued;
    bool drain_more;                      /* the last pass left entries behind */
    bool drain_retry;                     /* the last pass failed: try again after a commit */
    unsigned drained_ok, drained_refused; /* the pass being committed, for metrics */
    bool stopping;                        /* shutdown began: no new group-commit items */
    metric_t *m_requests; /* hotline_open311_requests_total{endpoint} */
    metric_t *m_tokens;   /* hotline_open311_tokens_total{outcome} */
    metric_t *m_key_refusals; /* hotline_open311_key_refusals_total{outcome} */
    slog_limit_t key_log;     /* refused keys are logged at most once a second */
} open311_t;


/* ---- open311_render.c ---- */

/* Answer doc (stolen) as JSON or as XML under root; the items of a top-level array are
 * elements named item. */
void open311_respond(httpd_req_t *req, open311_fmt_t fmt, int http_status, json_t *doc,
                     const char *root, const char *item);
void open311_respond_errors(httpd_req_t *req, open311_fmt_t fmt, const open311_errors_t *e);
/* One error. */
void open311_fail(httpd_req_t *req, open311_fmt_t fmt, int http_status, int code, const char *desc,
                  ...) __attribute__((format(printf, 5, 6)));
/* The XML form of doc (for tests): *out malloc'd. Errors: xmlw's. */
int open311_xml_render(const json_t *doc, const char *root, const char *item, char **out,
                       size_t *len);

/* ---- open311_post.c ---- */

void open311_post_request(open311_t *self, httpd_req_t *req, open311_fmt_t fmt);

/* ---- open311_tokens.c ---- */

int open311_tokens_init(open311_t *self);
/* Store a decoded request under a new token, durably, then answer [{token}]. Takes cmd. */
void open311_tokens_accept(open311_t *self, httpd_req_t *req, open311_fmt_t fmt,
                           Hotline__SubmitTicket *cmd);
/* Queue a drain pass if none is queued (after start-up, after a token commit). */
void open311_tokens_kick(open311_t *self);
void open311_tokens_get(open311_t *self, httpd_req_t *req, open311_fmt_t fmt, const char *token);
/* Turn at most max inbox entries into tickets inside txn (the drain's work; tests call it).
 * *more: entries remain. Errors: the store's. */
int open311_tokens_drain(open311_t *self, MDB_txn *txn, unsigned max, bool *more);

/* ---- open311_item.c ---- */

/* A request item as GET requests shows it (never the caller's name, phone or email). */
json_t *open311_request_item(const open311_t *self, const Hotline__TicketView *v, bool extensions);
/* Open311's closed: done for good (intake's final statuses); anything else is open. */
bool open311_is_closed(Hotline__TicketStatus s);
/* The current stage in words, then incident and repeat notes. */
void open311_status_notes(const open311_t *self, const Hotline__TicketView *v, char *out,
                          size_t size);
/* Free text for a public answer, phone-like digit runs masked. New reference. */
json_t *open311_public_text(const char *s);

/* ---- open311_query.c ---- */

void open311_get_requests(open311_t *self, httpd_req_t *req, open311_fmt_t fmt);
void open311_get_request(open311_t *self, httpd_req_t *req, open311_fmt_t fmt, const char *id);
void open311_get_updates(open311_t *self, httpd_req_t *req, open311_fmt_t fmt);

/* The query of GET requests, decoded: errs filled on failure (HL_EINVAL). */
typedef struct open311_query {
    char *ids[100]; /* service_request_id: when given, the rest is ignored */
    int nids;
    char *codes[50];
    int ncodes;
    bool want_open, want_closed; /* both false: any status */
    int64_t start_ms, end_ms;    /* requested time, inclusive */
    unsigned page, page_size;
    bool extensions;
    char id_text[4096]; /* the lists' text, split in place */
    char code_text[1024];
} open311_query_t;

int open311_query_parse(const char *query, int64_t now_ms, int offset_min, open311_query_t *q,
                        open311_errors_t *errs);
/* Run it in txn: the items, newest first. New reference; NULL on ENOMEM. */
json_t *open311_query_run(const open311_t *self, MDB_txn *txn, const open311_query_t *q,
                          arena_t *arena);

#endif
