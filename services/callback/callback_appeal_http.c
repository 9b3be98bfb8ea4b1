/* callback_appeal_http: the appeal resources.
 *
 *   POST /v1/appeals/{ticketId}          {"reasonCode", "statement", "evidenceUrls"}
 *                                        -> FileAppeal (the rated unit's token)
 *   POST /v1/appeal-reviews/{ticketId}   {"uphold": true|false, "note"}
 *                                        -> ReviewAppeal (supervisor, admin)
 *   GET  /v1/appeals?state=filed|upheld|rejected|all&unit=U&minAgeDays=N&limit=N
 *                                        -> appeals, oldest filed first, with their age
 *   GET  /v1/appeals/{ticketId}          -> the ticket's appeals, latest round first
 *   GET  /v1/appeal-reasons              -> the exclusion list an appeal cites
 *
 * A unit's token sees its own unit's appeals only (GET /v1/appeals?unit= another unit is
 * refused 403; another unit's ticket reads 404). Free text (statement, ruling note) leaves
 * with phone numbers masked. Loop thread. */
#include "callback_internal.h"

#include "hl_error.h"
#include "mask.h"
#include "pbjson.h"

#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

static void on_file(httpd_req_t *req, void *ctx)
{
    callback_http_ticket_command(ctx, req, &hotline__file_appeal__descriptor,
                                 HOTLINE__COMMAND__BODY_FILE_APPEAL);
}

static void on_review(httpd_req_t *req, void *ctx)
{
    callback_http_ticket_command(ctx, req, &hotline__review_appeal__descriptor,
                                 HOTLINE__COMMAND__BODY_REVIEW_APPEAL);
}

/* ---- views ---- */

static const char *state_name(Hotline__AppealState s)
{
    switch (s) {
    case HOTLINE__APPEAL_STATE__APPEAL_FILED: return "filed";
    case HOTLINE__APPEAL_STATE__APPEAL_UPHELD: return "upheld";
    case HOTLINE__APPEAL_STATE__APPEAL_REJECTED: return "rejected";
    default: return "unknown";
    }
}

/* One appeal as JSON: the stored message in proto3 JSON, free text masked, plus its state's
 * short name, local times and age. */
static json_t *appeal_json(callback_t *self, const Hotline__Appeal *a, int64_t now)
{
    json_t *o = pbjson_encode(&a->base, true);
    if (!o)
        return NULL;
    const char *texts[] = {"statement", "reviewNote"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        const char *t = json_string_value(json_object_get(o, texts[i]));
        char *masked = t ? mask_phones_dup(t) : NULL;
        if (t && (!masked || json_object_set_new(o, texts[i], json_string(masked)))) {
            free(masked);
            json_decref(o);
            return NULL;
        }
        free(masked);
    }
    char rated[48], filed[48];
    calendar_format_local(self->cal, a->rated_ms, rated, sizeof rated);
    calendar_format_local(self->cal, a->filed_ms, filed, sizeof filed);
    int64_t since = a->state == HOTLINE__APPEAL_STATE__APPEAL_FILED ? now : a->reviewed_ms;
    int bad = json_object_set_new(o, "stateName", json_string(state_name(a->state)));
    bad |= json_object_set_new(o, "ratingWords", json_string(callback_rating_words(a->rating)));
    bad |= json_object_set_new(o, "ratedLocal", json_string(rated));
    bad |= json_object_set_new(o, "filedLocal", json_string(filed));
    /* Age: how long it has waited for a ruling (filed) or waited before it (ruled). */
    bad |= json_object_set_new(o, "ageDays",
                               json_real((double)(since - a->filed_ms) / (double)DAY_MS));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

typedef struct list_walk {
    callback_t *self;
    int state;         /* Hotline__AppealState, 0 = all */
    const char *unit;  /* "" = all */
    int64_t now, min_age_ms;
    json_t *items;     /* [appeal json], sorted afterwards */
} list_walk_t;

static int list_visit(void *ctx, const Hotline__Appeal *a)
{
    list_walk_t *w = ctx;
    if ((w->state && (int)a->state != w->state) || (*w->unit && strcmp(a->unit, w->unit) != 0) ||
        w->now - a->filed_ms < w->min_age_ms)
        return 0;
    json_t *o = appeal_json(w->self, a, w->now);
    if (!o || json_array_append_new(w->items, o))
        return HL_ENOMEM;
    return 0;
}

static int by_filed(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    /* filedMs is an int64 written as a JSON string (proto3 JSON). */
    long long fa = atoll(json_string_value(json_object_get(a, "filedMs")) ?: "0");
    long long fb = atoll(json_string_value(json_object_get(b, "filedMs")) ?: "0");
    return fa < fb ? -1 : fa > fb;
}

/* The items sorted oldest first, cut to limit, as the answer's list. */
static json_t *sorted(json_t *items, size_t limit)
{
    size_t n = json_array_size(items);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    json_t *out = json_array();
    if (!v || !out) {
        free(v);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(items, i);
    qsort(v, n, sizeof *v, by_filed);
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

static bool query_uint(httpd_req_t *req, const char *name, unsigned long max, unsigned long *out)
{
    char buf[16];
    int n = httpd_query_param(httpd_req_query(req), name, buf, sizeof buf);
    if (n == HL_ENOTFOUND)
        return true;
    char *end = buf;
    unsigned long v = n > 0 && buf[0] >= '0' && buf[0] <= '9' ? strtoul(buf, &end, 10) : 0;
    if (n <= 0 || *end || v > max) {
        service_http_error(req, 400, name, "must be a whole number from 0 to %lu", max);
        return false;
    }
    *out = v;
    return true;
}

/* The unit a request may see: a unit's token its own only (false: answered 403). */
static bool query_unit(httpd_req_t *req, char unit[CALLBACK_UNIT_MAX + 1])
{
    const auth_principal_t *who = service_req_principal(req);
    int n = httpd_query_param(httpd_req_query(req), "unit", unit, CALLBACK_UNIT_MAX + 1);
    if (n < 0 && n != HL_ENOTFOUND) {
        service_http_error(req, 400, "unit", "at most %d characters", CALLBACK_UNIT_MAX);
        return false;
    }
    if (n == HL_ENOTFOUND)
        unit[0] = '\0';
    if (who->role != HOTLINE__ROLE__ROLE_UNIT)
        return true;
    if (unit[0] && strcmp(unit, who->subject) != 0) {
        service_http_error(req, 403, "unit",
                           "your token acts for unit %s: it sees that unit's appeals only",
                           who->subject);
        return false;
    }
    snprintf(unit, CALLBACK_UNIT_MAX + 1, "%s", who->subject);
    return true;
}

static void on_list(httpd_req_t *req, void *ctx)
{
    callback_t *self = ctx;
    static const char *const STATES[] = {"all", "filed", "upheld", "rejected"};
    char state[16] = "filed", unit[CALLBACK_UNIT_MAX + 1];
    int n = httpd_query_param(httpd_req_query(req), "state", state, sizeof state);
    int which = -1;
    for (int i = 0; i < 4; i++)
        if (n != HL_ENOTFOUND ? n > 0 && strcmp(state, STATES[i]) == 0 : i == 1)
            which = i;
    if (which < 0) {
        service_http_error(req, 400, "state", "must be filed (the default), upheld, rejected or all");
        return;
    }
    unsigned long min_age = 0, limit = CALLBACK_LIST_DEFAULT;
    if (!query_unit(req, unit) || !query_uint(req, "minAgeDays", 3650, &min_age) ||
        !query_uint(req, "limit", CALLBACK_LIST_MAX, &limit))
        return;
    list_walk_t w = {self, which, unit, hclock_now_ms(self->clock), (int64_t)min_age * DAY_MS,
                     json_array()};
    MDB_txn *txn;
    int rc = w.items ? store_read_begin(self->store, &txn) : HL_ENOMEM;
    if (!rc) {
        rc = callback_appeal_scan(self, txn, NULL, list_visit, &w);
        store_read_end(&txn);
    }
    json_t *list = rc ? NULL : sorted(w.items, limit ? limit : CALLBACK_LIST_DEFAULT);
    json_decref(w.items);
    if (!list) {
        service_http_error(req, 500, NULL, "could not list the appeals: %s",
                           hl_strerror(rc ? rc : HL_ENOMEM));
        return;
    }
    service_http_json(req, 200,
                      json_pack("{s:s, s:s, s:I, s:o}", "state", STATES[which], "unit", unit,
                                "count", (json_int_t)json_array_size(list), "appeals", list));
}

static void on_ticket(httpd_req_t *req, void *ctx)
{
    callback_t *self = ctx;
    char id[CALLBACK_ID_MAX + 1], unit[CALLBACK_UNIT_MAX + 1];
    if (!callback_path_ticket(req, id, NULL, 0) || !query_unit(req, unit))
        return;
    list_walk_t w = {self, 0, unit, hclock_now_ms(self->clock), 0, json_array()};
    MDB_txn *txn;
    int rc = w.items ? store_read_begin(self->store, &txn) : HL_ENOMEM;
    if (!rc) {
        rc = callback_appeal_scan(self, txn, id, list_visit, &w);
        store_read_end(&txn);
    }
    if (rc) {
        json_decref(w.items);
        service_http_error(req, 500, NULL, "could not read the appeals: %s", hl_strerror(rc));
    } else if (json_array_size(w.items) == 0) {
        json_decref(w.items);
        service_http_error(req, 404, "ticketId", "no appeal for ticket %s%s%s", id,
                           unit[0] ? " by unit " : "", unit);
    } else {
        service_http_json(req, 200, json_pack("{s:s, s:o}", "ticketId", id, "appeals", w.items));
    }
}

static void on_reasons(httpd_req_t *req, void *ctx)
{
    callback_t *self = ctx;
    json_t *list = json_array();
    for (size_t i = 0; list && i < self->cfg.n_appeal_reasons; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "code",
                                              self->cfg.appeal_reasons[i]->code, "label",
                                              self->cfg.appeal_reasons[i]->label));
    service_http_json(req, 200,
                      json_pack("{s:o, s:i}", "reasons", list, "windowWorkingDays",
                                (int)self->cfg.appeal_window_working_days));
}

/* Who may call what: the rated unit files (its own tickets only: callback_appeal.c), a
 * supervisor or admin rules; units (their own), supervisors and admins read. */
#define READERS (AUTH_UNIT | AUTH_SUPERVISOR | AUTH_ADMIN)
static const service_route_t ROUTES[] = {
    {"POST", "/v1/appeals/*", AUTH_UNIT, on_file},
    {"POST", "/v1/appeal-reviews/*", AUTH_SUPERVISOR | AUTH_ADMIN, on_review},
    {"GET", "/v1/appeals", READERS, on_list},
    {"GET", "/v1/appeals/*", READERS, on_ticket},
    {"GET", "/v1/appeal-reasons", READERS, on_reasons},
};

int callback_appeal_routes(callback_t *self)
{
    return service_routes(self->svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
