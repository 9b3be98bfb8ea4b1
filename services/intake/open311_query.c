/* open311_query: the public reads. GET requests (filters, the default window, pages, newest
 * first, over intake's by_time index), GET requests/{id}, and the FixMyStreet updates
 * extension GET servicerequestupdates (over intake's updates index).
 *
 * Open311 GETs need no key, so an item never carries the caller's name, phone or e-mail;
 * free text (description, a unit's reply) has phone-like digit runs masked, and a
 * confidential ticket shows no description at all. Loop thread only. */
#include "open311.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX 1000000       /* index entries one query may walk */
#define UPDATES_MAX 1000       /* updates in one answer */
#define UPDATES_DEFAULT_MS (24LL * 3600 * 1000)
#define ID_MAX 64

/* ---- a request item ---- */

/* Open311's closed: done for good (intake's final statuses); everything else is open. */
static bool is_closed(Hotline__TicketStatus s)
{
    return intake_status_final(s);
}

/* "CHANNEL_OPEN311" -> "open311": the enum's value name without its prefix, lower case. */
static void enum_word(const ProtobufCEnumDescriptor *d, int value, const char *prefix,
                      char *out, size_t size)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    const char *name = v ? v->name : "unspecified";
    if (strncmp(name, prefix, strlen(prefix)) == 0)
        name += strlen(prefix);
    size_t n = 0;
    for (; name[n] && n + 1 < size; n++)
        out[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] + 32 : name[n]);
    out[n] = '\0';
}

static const char *str_or(const char *s, const char *fallback)
{
    return s && *s ? s : fallback;
}

/* Free text for a public answer: phone-like digit runs masked. */
static json_t *public_text(const char *s)
{
    char *copy = strdup(s ? s : "");
    if (!copy)
        return NULL;
    slog_mask_phones(copy);
    json_t *j = json_string(copy);
    free(copy);
    return j;
}

static const char *not_accepted_words(Hotline__NotAcceptedReason r)
{
    switch (r) {
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_OUT_OF_SCOPE:
        return "not a matter for this hotline";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_LEGAL_PROCEEDINGS:
        return "in legal proceedings";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_PETITION_CHANNEL:
        return "belongs to the petitions channel";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_NO_SUBSTANCE:
        return "no concrete request";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_ABUSIVE:
        return "abusive";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_STATE_SECRET:
        return "outside what can be handled here";
    default:
        return "not accepted";
    }
}

static const char *emergency_words(Hotline__EmergencyLine e)
{
    switch (e) {
    case HOTLINE__EMERGENCY_LINE__EMERGENCY_110_POLICE: return "the police (110)";
    case HOTLINE__EMERGENCY_LINE__EMERGENCY_119_FIRE: return "the fire service (119)";
    case HOTLINE__EMERGENCY_LINE__EMERGENCY_120_AMBULANCE: return "the ambulance service (120)";
    case HOTLINE__EMERGENCY_LINE__EMERGENCY_122_TRAFFIC: return "the traffic police (122)";
    default: return "an emergency line";
    }
}

/* The current stage in words, then incident and repeat notes. */
static void status_notes(const open311_t *self, const Hotline__TicketView *v, char *out,
                         size_t size)
{
    const char *unit = str_or(v->unit, "the responsible unit");
    const Hotline__Ticket *t = v->ticket;
    const Hotline__Outcome *o = t->outcome;
    bool confidential = t->confidential;
    int n = 0;
    switch (v->status) {
    case HOTLINE__TICKET_STATUS__TICKET_RECEIVED:
        n = snprintf(out, size, "Received; waiting to be dispatched.");
        break;
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED:
        n = snprintf(out, size, "Dispatched to %s; waiting to be signed for.", unit);
        break;
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED:
        n = snprintf(out, size, "Being handled by %s.", unit);
        break;
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED:
        n = snprintf(out, size, "%s replied%s%s", unit,
                     !confidential && v->reply_text && *v->reply_text ? ": " : ".",
                     !confidential && v->reply_text ? v->reply_text : "");
        break;
    case HOTLINE__TICKET_STATUS__TICKET_REWORK:
        n = snprintf(out, size, "Reopened for more work (round %u) at %s.", v->rework_round,
                     unit);
        break;
    case HOTLINE__TICKET_STATUS__TICKET_CLOSED:
        n = snprintf(out, size, "Closed.");
        break;
    case HOTLINE__TICKET_STATUS__TICKET_ANSWERED:
        n = snprintf(out, size, "Answered by the hotline%s%s", o && *o->answer ? ": " : ".",
                     o ? o->answer : "");
        break;
    case HOTLINE__TICKET_STATUS__TICKET_REFERRED:
        n = snprintf(out, size, "Referred to %s.", emergency_words(o ? o->referred_to : 0));
        break;
    case HOTLINE__TICKET_STATUS__TICKET_NOT_ACCEPTED:
        n = snprintf(out, size, "Not accepted: %s.",
                     not_accepted_words(o ? o->not_accepted_reason : 0));
        break;
    case HOTLINE__TICKET_STATUS__TICKET_LINKED:
        n = snprintf(out, size, "Linked to a known incident; fixed with it.");
        break;
    default:
        n = snprintf(out, size, "Recorded.");
        break;
    }
    if (n < 0 || (size_t)n >= size)
        return;
    if (v->incident_id && *v->incident_id) {
        char eta[40] = "";
        if (v->incident_eta_ms)
            open311_time_format(v->incident_eta_ms, self->offset_min, eta, sizeof eta);
        int k = snprintf(out + n, size - (size_t)n, " Part of incident %s%s%s.", v->incident_id,
                         *eta ? "; service expected back by " : "", eta);
        if (k < 0 || (size_t)k >= size - (size_t)n)
            return;
        n += k;
    }
    if (v->repeat_count)
        snprintf(out + n, size - (size_t)n, " Reported %u more time%s by the same caller.",
                 v->repeat_count, v->repeat_count == 1 ? "" : "s");
}

static void set_time(json_t *obj, const char *key, int64_t ms, int offset_min)
{
    if (!ms)
        return;
    char buf[40];
    open311_time_format(ms, offset_min, buf, sizeof buf);
    json_object_set_new(obj, key, json_string(buf));
}

static void set_str(json_t *obj, const char *key, const char *s)
{
    if (s && *s)
        json_object_set_new(obj, key, json_string(s));
}

static void add_note(json_t *notes, const open311_t *self, int64_t ms, const char *type,
                     const char *desc)
{
    if (!ms)
        return;
    char when[40];
    open311_time_format(ms, self->offset_min, when, sizeof when);
    /* Kept in time order: views fill timestamps in stage order, but a rework round or a
     * callback due time may sit anywhere. */
    size_t at = json_array_size(notes);
    while (at > 0) {
        json_t *prev = json_array_get(notes, at - 1);
        if (strcmp(json_string_value(json_object_get(prev, "datetime")), when) <= 0)
            break;
        at--;
    }
    json_t *note = json_pack("{s:s, s:o, s:s}", "datetime", when, "description",
                             public_text(desc), "type", type);
    if (note)
        json_array_insert_new(notes, at, note);
}

static json_t *notes_json(const open311_t *self, const Hotline__TicketView *v)
{
    const Hotline__Ticket *t = v->ticket;
    json_t *notes = json_array();
    char ch[32], text[600];
    const char *unit = str_or(v->unit, "the responsible unit");
    enum_word(&hotline__channel__descriptor, t->channel, "CHANNEL_", ch, sizeof ch);
    snprintf(text, sizeof text, "Received through %s.", ch);
    add_note(notes, self, t->received_ms, "received", text);
    snprintf(text, sizeof text, "Dispatched to %s.", unit);
    add_note(notes, self, v->dispatched_ms, "dispatched", text);
    snprintf(text, sizeof text, "Signed for by %s.", unit);
    add_note(notes, self, v->signed_ms, "signed", text);
    snprintf(text, sizeof text, "Replied by %s%s%s", unit,
             !t->confidential && v->reply_text && *v->reply_text ? ": " : ".",
             !t->confidential && v->reply_text ? v->reply_text : "");
    add_note(notes, self, v->replied_ms, "replied", text);
    add_note(notes, self, v->callback_due_ms, "callback", "Callback to the citizen due.");
    add_note(notes, self, v->closed_ms, "closed", "Closed.");
    return notes;
}

json_t *open311_request_item(const open311_t *self, const Hotline__TicketView *v,
                             bool extensions)
{
    const Hotline__Ticket *t = v->ticket;
    const Hotline__Location *l = t->location;
    const Hotline__Open311Service *s = open311_catalog_find(&self->catalog, t->category_code);
    char notes[1200];
    status_notes(self, v, notes, sizeof notes);
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "service_request_id", json_string(t->id));
    json_object_set_new(j, "status", json_string(is_closed(v->status) ? "closed" : "open"));
    json_object_set_new(j, "status_notes", public_text(notes));
    json_object_set_new(j, "service_name", json_string(s ? s->name : t->category_code));
    json_object_set_new(j, "service_code", json_string(t->category_code));
    if (!t->confidential && t->description && *t->description)
        json_object_set_new(j, "description", public_text(t->description));
    set_str(j, "agency_responsible", v->unit);
    if (v->incident_id && *v->incident_id && v->incident_eta_ms) {
        char eta[40], notice[120];
        open311_time_format(v->incident_eta_ms, self->offset_min, eta, sizeof eta);
        snprintf(notice, sizeof notice, "A known incident covers this; service is expected "
                 "back by %s.", eta);
        json_object_set_new(j, "service_notice", json_string(notice));
    }
    set_time(j, "requested_datetime", t->received_ms, self->offset_min);
    set_time(j, "updated_datetime", v->updated_ms, self->offset_min);
    set_time(j, "expected_datetime", v->reply_due_ms, self->offset_min);
    if (l) {
        set_str(j, "address", l->address);
        set_str(j, "address_id", l->address_id);
        set_str(j, "zipcode", l->zipcode);
        if (l->point) {
            json_object_set_new(j, "lat", json_real(l->point->lat));
            json_object_set_new(j, "long", json_real(l->point->long_));
        }
    }
    if (t->n_media_urls)
        set_str(j, "media_url", t->media_urls[0]);
    if (extensions) {
        char ch[32], urg[32];
        enum_word(&hotline__channel__descriptor, t->channel, "CHANNEL_", ch, sizeof ch);
        enum_word(&hotline__urgency__descriptor,
                  t->urgency ? t->urgency : HOTLINE__URGENCY__URGENCY_NORMAL, "URGENCY_", urg,
                  sizeof urg);
        json_t *ext = json_pack("{s:s, s:s, s:I}", "channel", ch, "urgency", urg,
                                "repeat_count", (json_int_t)v->repeat_count);
        if (ext)
            set_str(ext, "incident_id", v->incident_id);
        json_object_set_new(j, "extended_attributes", ext);
        json_object_set_new(j, "notes", notes_json(self, v));
    }
    return j;
}

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
    char sbuf[64], ebuf[64];
    int64_t s = 0, e = 0;
    int hs = param(query, "start_date", sbuf, sizeof sbuf, errs);
    int he = param(query, "end_date", ebuf, sizeof ebuf, errs);
    if (hs > 0 && open311_time_parse(sbuf, offset_min, &s)) {
        open311_error_add(errs, 400, 400, "start_date: \"%.40s\" is not an ISO 8601 datetime "
                          "like 2026-11-25T08:00:00+08:00", sbuf);
        hs = -1;
    }
    if (he > 0 && open311_time_parse(ebuf, offset_min, &e)) {
        open311_error_add(errs, 400, 400, "end_date: \"%.40s\" is not an ISO 8601 datetime "
                          "like 2026-11-25T08:00:00+08:00", ebuf);
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
                open311_error_add(errs, 400, 400, "service_request_id: \"%.40s...\" is too "
                                  "long for an id", q->ids[i]);
                break;
            }
    }
    if (param(query, "service_code", q->code_text, sizeof q->code_text, errs) > 0) {
        int n = open311_split_list(q->code_text, q->codes,
                                   (int)(sizeof q->codes / sizeof *q->codes));
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
                open311_error_add(errs, 400, 400, "status: \"%.20s\" is not open or closed",
                                  items[i]);
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
    if (q->want_open != q->want_closed && is_closed(v->status) != q->want_closed)
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
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, self->intake->by_time, &cur) != 0)
        return list;
    bool filtered = q->ncodes || q->want_open != q->want_closed;
    uint64_t skip = (uint64_t)(q->page - 1) * q->page_size;
    /* Newest first: from the first key after end_ms, walk back to start_ms. */
    uint8_t from[8];
    store_be64_put(from, (uint64_t)(q->end_ms + 1 > 0 ? q->end_ms + 1 : 0));
    MDB_val k = {8, from}, val;
    int mrc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE);
    mrc = mrc == 0 ? mdb_cursor_get(cur, &k, &val, MDB_PREV)
                   : mdb_cursor_get(cur, &k, &val, MDB_LAST);
    unsigned scanned = 0;
    for (; mrc == 0 && scanned < SCAN_MAX && json_array_size(list) < q->page_size;
         mrc = mdb_cursor_get(cur, &k, &val, MDB_PREV), scanned++) {
        if (k.mv_size <= 8 || k.mv_size > 8 + ID_MAX)
            continue;
        int64_t at = (int64_t)store_be64_get(k.mv_data);
        if (at < q->start_ms)
            break;
        char id[ID_MAX + 1];
        memcpy(id, (char *)k.mv_data + 8, k.mv_size - 8);
        id[k.mv_size - 8] = '\0';
        arena_reset(arena);
        Hotline__TicketView *v = NULL;
        if (filtered) {
            if (intake_view_get(self->intake, txn, id, arena, &v) != 0 || !v->ticket ||
                !matches(q, v))
                continue;
        }
        if (skip) {
            skip--;
            continue;
        }
        if (v)
            json_array_append_new(list, open311_request_item(self, v, q->extensions));
        else
            append_view(self, txn, id, arena, list, q->extensions);
    }
    if (scanned == SCAN_MAX)
        SLOG_WARN("open311_scan_capped", "scanned=%u reason=\"the window holds more requests "
                  "than one query walks\" next=\"answered with what was found\"", scanned);
    mdb_cursor_close(cur);
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
        open311_fail(req, fmt, 404, 404, "service_request_id: no request %s", id);
    else
        open311_fail(req, fmt, 500, 500, "cannot read request %s: %s", id, hl_strerror(rc));
}

/* The FixMyStreet statuses (open, in_progress, fixed, closed, reopen, duplicate). */
static const char *update_status(const Hotline__TicketView *v)
{
    switch (v->status) {
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED: return "in_progress";
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED: return v->resolved ? "fixed" : "in_progress";
    case HOTLINE__TICKET_STATUS__TICKET_REWORK: return "reopen";
    case HOTLINE__TICKET_STATUS__TICKET_LINKED: return "duplicate";
    default: return is_closed(v->status) ? "closed" : "open";
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
    status_notes(self, v, notes, sizeof notes);
    json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:o}", "update_id", uid,
                             "service_request_id", id, "status", update_status(v),
                             "updated_datetime", when, "description", public_text(notes));
    if (item)
        json_array_append_new(u->list, item);
    return 0;
}

void open311_get_updates(open311_t *self, httpd_req_t *req, open311_fmt_t fmt)
{
    open311_errors_t errs;
    open311_errors_init(&errs);
    int64_t start = 0, end = 0;
    parse_window(httpd_req_query(req), hclock_now_ms(service_clock(self->svc)),
                 self->offset_min, UPDATES_DEFAULT_MS, &start, &end, &errs);
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
