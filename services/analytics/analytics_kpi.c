/* analytics_kpi: GET /v1/kpis as a pure function of the stored counters: parse and check
 * the query, add up the days of the period (per dimension value when asked: analytics_sum),
 * and derive the figures and rates (analytics_figures, docs/domain.md "KPIs"). The monthly
 * report (analytics_report.c) adds up and derives through the same two functions. Loop
 * thread, inside a read transaction. */
#include "analytics_internal.h"

#include "hl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 10000 /* distinct units / categories / districts in one answer */

int analytics_refuse(analytics_error_t *err, const char *field, const char *fmt, ...)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* What the client sent is echoed: keep only printable ASCII, so the answer stays valid
     * UTF-8 JSON whatever bytes came in. */
    for (char *p = err->field; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    for (char *p = err->message; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    return HL_EINVAL;
}

/* Strict YYYY-MM-DD, 1970-01-01 .. 9999-12-31 (calendar_date_parse says why not). */
static int parse_date(const char *field, const char *text, int64_t *day, analytics_error_t *err)
{
    char why[sizeof err->message];
    if (calendar_date_parse(text, day, why, sizeof why))
        return analytics_refuse(err, field, "%s", why);
    return 0;
}

static const struct {
    const char *name;
    analytics_dim_t dim;
} DIMS[] = {
    {"unit", ANALYTICS_DIM_UNIT},
    {"category", ANALYTICS_DIM_CATEGORY},
    {"district", ANALYTICS_DIM_DISTRICT},
};
#define NDIMS (sizeof DIMS / sizeof *DIMS)

static const char *dim_name(analytics_dim_t dim)
{
    for (size_t i = 0; i < NDIMS; i++)
        if (DIMS[i].dim == dim)
            return DIMS[i].name;
    return "";
}

int analytics_query_parse(const char *query, int64_t today, analytics_query_t *out,
                          analytics_error_t *err)
{
    memset(err, 0, sizeof *err);
    out->from_day = out->to_day = today;
    out->by = ANALYTICS_DIM_NONE;
    query = query ? query : "";
    /* Unknown parameters are refused: "form=..." silently answering for today would mislead. */
    static const char *const allowed[] = {"from", "to", "by", NULL};
    char name[sizeof err->field];
    int unknown = httpd_query_unknown(query, allowed, name, sizeof name);
    if (unknown < 0)
        return unknown;
    if (unknown)
        return analytics_refuse(err, name, "unknown parameter \"%s\"; allowed: from, to, by", name);
    /* A missing end defaults to today; when that would put to before from, it takes the
     * other end's value instead (from=<a future day> alone means that one day). */
    char buf[64];
    bool from_given = false, to_given = false;
    int rc = httpd_query_param(query, "from", buf, sizeof buf);
    if (rc == HL_ETOOBIG || rc == HL_EINVAL || rc == 0)
        return analytics_refuse(err, "from", "must be a date YYYY-MM-DD, e.g. 2026-11-25");
    if (rc > 0) {
        if (parse_date("from", buf, &out->from_day, err))
            return HL_EINVAL;
        from_given = true;
    }
    rc = httpd_query_param(query, "to", buf, sizeof buf);
    if (rc == HL_ETOOBIG || rc == HL_EINVAL || rc == 0)
        return analytics_refuse(err, "to", "must be a date YYYY-MM-DD, e.g. 2026-11-25");
    if (rc > 0) {
        if (parse_date("to", buf, &out->to_day, err))
            return HL_EINVAL;
        to_given = true;
    }
    if (from_given && !to_given && out->from_day > out->to_day)
        out->to_day = out->from_day;
    if (to_given && !from_given && out->to_day < out->from_day)
        out->from_day = out->to_day;
    rc = httpd_query_param(query, "by", buf, sizeof buf);
    if (rc >= 0) {
        for (size_t i = 0; i < NDIMS; i++)
            if (strcmp(buf, DIMS[i].name) == 0)
                out->by = DIMS[i].dim;
        if (out->by == ANALYTICS_DIM_NONE)
            return analytics_refuse(err, "by",
                          "\"%.40s\" is not a dimension; allowed: unit, category, "
                          "district (or leave by out for totals only)",
                          buf);
    } else if (rc != HL_ENOTFOUND) {
        return analytics_refuse(err, "by", "allowed: unit, category, district");
    }
    if (out->to_day < out->from_day) {
        char f[16], t[16];
        calendar_date_format(out->from_day, f, sizeof f);
        calendar_date_format(out->to_day, t, sizeof t);
        return analytics_refuse(err, "to", "%s is before from (%s): give to on or after from", t,
                                f);
    }
    int64_t days = out->to_day - out->from_day + 1;
    if (days > ANALYTICS_MAX_DAYS)
        return analytics_refuse(err, "to",
                      "the period from..to covers %lld days; at most %d: ask for "
                      "a shorter period",
                      (long long)days, ANALYTICS_MAX_DAYS);
    return 0;
}

int64_t analytics_today(const analytics_t *self)
{
    return calendar_local_day(self->cal, hclock_now_ms(self->clock));
}

/* ---- adding up ---- */

static void add_total(void *ctx, const char *value, unsigned id, uint64_t n)
{
    (void)value;
    analytics_sums_t *s = ctx;
    s->total[id] += n;
}

static analytics_group_t *find_group(analytics_sums_t *s, const char *key)
{
    if (s->last < s->ngroups && strcmp(s->groups[s->last].key, key) == 0)
        return &s->groups[s->last];
    size_t lo = 0, hi = s->ngroups;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->groups[mid].key, key);
        if (c == 0) {
            s->last = mid;
            return &s->groups[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->ngroups == MAX_GROUPS) {
        s->rc = HL_ETOOBIG;
        return NULL;
    }
    if (s->ngroups == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        analytics_group_t *g = realloc(s->groups, cap * sizeof *g);
        if (!g) {
            s->rc = HL_ENOMEM;
            return NULL;
        }
        s->groups = g;
        s->cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        s->rc = HL_ENOMEM;
        return NULL;
    }
    memmove(&s->groups[lo + 1], &s->groups[lo], (s->ngroups - lo) * sizeof *s->groups);
    s->ngroups++;
    memset(&s->groups[lo], 0, sizeof s->groups[lo]);
    s->groups[lo].key = k;
    s->last = lo;
    return &s->groups[lo];
}

static void add_group(void *ctx, const char *value, unsigned id, uint64_t n)
{
    analytics_sums_t *s = ctx;
    if (s->rc)
        return;
    analytics_group_t *g = find_group(s, value);
    if (g)
        g->c[id] += n;
}

int analytics_sum(analytics_t *self, MDB_txn *txn, const analytics_query_t *q,
                  analytics_sums_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    for (int64_t day = q->from_day; day <= q->to_day && !rc; day++) {
        rc = analytics_counters_scan(self, txn, day, ANALYTICS_DIM_ALL, add_total, out);
        if (!rc && q->by != ANALYTICS_DIM_NONE)
            rc = analytics_counters_scan(self, txn, day, q->by, add_group, out);
        if (!rc)
            rc = out->rc;
    }
    if (rc)
        analytics_sums_fini(out);
    return rc;
}

void analytics_sums_fini(analytics_sums_t *s)
{
    for (size_t i = 0; i < s->ngroups; i++)
        free(s->groups[i].key);
    free(s->groups);
    memset(s, 0, sizeof *s);
}

/* ---- figures: the counts, what is derived from them, the rates ---- */

static const char *const DERIVED_NAMES[ANALYTICS_NDERIVED] = {
    [ANALYTICS_WARNINGS] = "warnings",
    [ANALYTICS_BREACHED] = "breached",
    [ANALYTICS_SATISFIED] = "satisfied",
};

static const char *const RATE_NAMES[ANALYTICS_NRATES] = {
    [ANALYTICS_ON_TIME_SIGN_RATE] = "onTimeSignRate",
    [ANALYTICS_ON_TIME_REPLY_RATE] = "onTimeReplyRate",
    [ANALYTICS_RESPONSE_RATE] = "responseRate",
    [ANALYTICS_ON_TIME_CALLBACK_RATE] = "onTimeCallbackRate",
    [ANALYTICS_CALLBACK_RATE] = "callbackRate",
    [ANALYTICS_SATISFACTION_RATE] = "satisfactionRate",
    [ANALYTICS_RESOLUTION_RATE] = "resolutionRate",
    [ANALYTICS_REWORK_RATE] = "reworkRate",
    [ANALYTICS_DIRECT_ANSWER_RATE] = "directAnswerRate",
    [ANALYTICS_REPEAT_CALL_RATE] = "repeatCallRate",
};

const char *analytics_derived_name(analytics_derived_t id)
{
    return (unsigned)id < ANALYTICS_NDERIVED ? DERIVED_NAMES[id] : "unknown";
}

const char *analytics_rate_name(analytics_rate_id_t id)
{
    return (unsigned)id < ANALYTICS_NRATES ? RATE_NAMES[id] : "unknown";
}

void analytics_figures(const analytics_t *self, const uint64_t c[ANALYTICS_NCOUNTERS],
                       analytics_figures_t *out)
{
    memcpy(out->count, c, sizeof out->count);
    uint64_t satisfied = analytics_satisfied(self, c);
    out->derived[ANALYTICS_WARNINGS] = c[ANALYTICS_SIGN_WARNINGS] + c[ANALYTICS_REPLY_WARNINGS];
    out->derived[ANALYTICS_BREACHED] = c[ANALYTICS_SIGN_BREACHED] + c[ANALYTICS_REPLY_BREACHED];
    out->derived[ANALYTICS_SATISFIED] = satisfied;
    analytics_ratio_t *r = out->rate;
    /* On-time rates: clocks stopped in time in the period / clocks decided in the period
     * (stopped in time, or their deadline passed unstopped: docs/domain.md "signed within
     * limit / due for signing"). A clock still running and not yet due is in neither. */
    r[ANALYTICS_ON_TIME_SIGN_RATE] =
        (analytics_ratio_t){c[ANALYTICS_SIGNED_ON_TIME], c[ANALYTICS_SIGN_DUE]};
    r[ANALYTICS_ON_TIME_REPLY_RATE] =
        (analytics_ratio_t){c[ANALYTICS_REPLIED_ON_TIME], c[ANALYTICS_REPLY_DUE]};
    r[ANALYTICS_RESPONSE_RATE] =
        (analytics_ratio_t){c[ANALYTICS_RESPONDED_ON_TIME], c[ANALYTICS_RESPONSE_DUE]};
    r[ANALYTICS_ON_TIME_CALLBACK_RATE] =
        (analytics_ratio_t){c[ANALYTICS_CALLED_BACK_ON_TIME], c[ANALYTICS_CALLBACK_CLOCKS_DUE]};
    r[ANALYTICS_CALLBACK_RATE] =
        (analytics_ratio_t){c[ANALYTICS_CALLBACKS_DONE], c[ANALYTICS_CALLBACKS_DUE]};
    r[ANALYTICS_SATISFACTION_RATE] = (analytics_ratio_t){satisfied, c[ANALYTICS_RATED]};
    r[ANALYTICS_RESOLUTION_RATE] = (analytics_ratio_t){c[ANALYTICS_RESOLVED], c[ANALYTICS_RATED]};
    r[ANALYTICS_REWORK_RATE] = (analytics_ratio_t){c[ANALYTICS_REWORKED], c[ANALYTICS_REPLIED]};
    /* Direct-answer rate: closed at intake / accepted (received less not accepted). */
    r[ANALYTICS_DIRECT_ANSWER_RATE] = (analytics_ratio_t){
        c[ANALYTICS_ANSWERED], c[ANALYTICS_RECEIVED] - c[ANALYTICS_NOT_ACCEPTED]};
    /* Repeat-call rate: calls about a matter the caller already has open / all calls. */
    r[ANALYTICS_REPEAT_CALL_RATE] = (analytics_ratio_t){
        c[ANALYTICS_REPEAT_CALLS], c[ANALYTICS_RECEIVED] + c[ANALYTICS_REPEAT_CALLS]};
}

/* ---- the document ---- */

/* Counts and rates of one total or group, into obj. */
static int fill_block(const analytics_t *self, json_t *obj, const uint64_t c[ANALYTICS_NCOUNTERS])
{
    analytics_figures_t f;
    analytics_figures(self, c, &f);
    int bad = 0;
    for (unsigned i = 0; i < ANALYTICS_NCOUNTERS; i++)
        bad |= json_object_set_new(obj, analytics_counter_name(i),
                                   json_integer((json_int_t)f.count[i]));
    for (unsigned i = 0; i < ANALYTICS_NDERIVED; i++)
        bad |= json_object_set_new(obj, analytics_derived_name(i),
                                   json_integer((json_int_t)f.derived[i]));
    json_t *rates = json_object();
    if (!rates)
        return HL_ENOMEM;
    for (unsigned i = 0; i < ANALYTICS_NRATES; i++)
        bad |= json_object_set_new(rates, analytics_rate_name(i),
                                   f.rate[i].den ? json_real((double)f.rate[i].num /
                                                             (double)f.rate[i].den)
                                                 : json_null());
    bad |= json_object_set_new(obj, "rates", rates);
    return bad ? HL_ENOMEM : 0;
}

int analytics_kpis(analytics_t *self, MDB_txn *txn, const analytics_query_t *q, json_t **out)
{
    *out = NULL;
    analytics_sums_t s;
    int rc = analytics_sum(self, txn, q, &s);
    if (rc)
        return rc;
    json_t *doc = NULL, *totals = NULL, *groups = NULL;
    char from[16], to[16];
    calendar_date_format(q->from_day, from, sizeof from);
    calendar_date_format(q->to_day, to, sizeof to);
    totals = json_object();
    groups = json_array();
    doc = json_pack("{s:s, s:s, s:i}", "from", from, "to", to, "utcOffsetMinutes",
                    calendar_offset_minutes(self->cal));
    rc = doc && totals && groups ? fill_block(self, totals, s.total) : HL_ENOMEM;
    for (size_t i = 0; !rc && i < s.ngroups; i++) {
        json_t *g = json_pack("{s:s}", "key", s.groups[i].key);
        rc = g ? fill_block(self, g, s.groups[i].c) : HL_ENOMEM;
        if (g && json_array_append_new(groups, g))
            rc = HL_ENOMEM;
    }
    if (!rc) {
        if (q->by != ANALYTICS_DIM_NONE)
            json_object_set_new(doc, "by", json_string(dim_name(q->by)));
        json_object_set_new(doc, "totals", totals);
        json_object_set_new(doc, "groups", groups);
        totals = groups = NULL;
        *out = doc;
        doc = NULL;
    }
    json_decref(doc);
    json_decref(totals);
    json_decref(groups);
    analytics_sums_fini(&s);
    return rc;
}
