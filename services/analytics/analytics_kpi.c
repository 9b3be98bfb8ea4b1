/* analytics_kpi: GET /v1/kpis as a pure function of the stored counters: parse and check
 * the query, add up the days of the period (per dimension value when asked), and derive
 * the rates (docs/domain.md "KPIs"). Loop thread, inside a read transaction. */
#include "analytics_internal.h"

#include "hl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 10000 /* distinct units / categories / districts in one answer */

static int refuse(analytics_error_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(analytics_error_t *err, const char *field, const char *fmt, ...)
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

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Strict YYYY-MM-DD, 1970-01-01 .. 9999-12-31. */
static int parse_date(const char *field, const char *text, int64_t *day, analytics_error_t *err)
{
    bool shape = strlen(text) == 10 && text[4] == '-' && text[7] == '-';
    for (int i = 0; shape && i < 10; i++)
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
            shape = false;
    if (!shape)
        return refuse(err, field, "\"%.40s\" is not a date: write YYYY-MM-DD, e.g. 2026-11-25",
                      text);
    int y = atoi(text), m = atoi(text + 5), d = atoi(text + 8);
    if (y < 1970)
        return refuse(err, field, "\"%s\": the year must be 1970 or later", text);
    if (m < 1 || m > 12)
        return refuse(err, field, "\"%s\": month %d is outside 01..12", text, m);
    if (d < 1 || d > days_in_month(y, m))
        return refuse(err, field, "\"%s\": day %d is outside 01..%02d for that month", text, d,
                      days_in_month(y, m));
    *day = calendar_day_from_ymd(y, m, d);
    return 0;
}

static void format_day(int64_t day, char *out, size_t out_size)
{
    int y, m, d;
    calendar_ymd_from_day(day, &y, &m, &d);
    snprintf(out, out_size, "%04d-%02d-%02d", y, m, d);
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
    for (const char *p = query; *p;) {
        size_t n = strcspn(p, "&");
        size_t name_len = strcspn(p, "=&");
        if (n > 0 && !((name_len == 4 && strncmp(p, "from", 4) == 0) ||
                       (name_len == 2 && strncmp(p, "to", 2) == 0) ||
                       (name_len == 2 && strncmp(p, "by", 2) == 0))) {
            char name[sizeof err->field];
            snprintf(name, sizeof name, "%.*s",
                     (int)(name_len < sizeof name ? name_len : sizeof name - 1), p);
            return refuse(err, name, "unknown parameter \"%s\"; allowed: from, to, by", name);
        }
        p += n;
        if (*p == '&')
            p++;
    }
    /* A missing end defaults to today; when that would put to before from, it takes the
     * other end's value instead (from=<a future day> alone means that one day). */
    char buf[64];
    bool from_given = false, to_given = false;
    int rc = httpd_query_param(query, "from", buf, sizeof buf);
    if (rc == HL_ETOOBIG || rc == HL_EINVAL || rc == 0)
        return refuse(err, "from", "must be a date YYYY-MM-DD, e.g. 2026-11-25");
    if (rc > 0) {
        if (parse_date("from", buf, &out->from_day, err))
            return HL_EINVAL;
        from_given = true;
    }
    rc = httpd_query_param(query, "to", buf, sizeof buf);
    if (rc == HL_ETOOBIG || rc == HL_EINVAL || rc == 0)
        return refuse(err, "to", "must be a date YYYY-MM-DD, e.g. 2026-11-25");
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
            return refuse(err, "by",
                          "\"%.40s\" is not a dimension; allowed: unit, category, "
                          "district (or leave by out for totals only)",
                          buf);
    } else if (rc != HL_ENOTFOUND) {
        return refuse(err, "by", "allowed: unit, category, district");
    }
    if (out->to_day < out->from_day) {
        char f[16], t[16];
        format_day(out->from_day, f, sizeof f);
        format_day(out->to_day, t, sizeof t);
        return refuse(err, "to", "%s is before from (%s): give to on or after from", t, f);
    }
    int64_t days = out->to_day - out->from_day + 1;
    if (days > ANALYTICS_MAX_DAYS)
        return refuse(err, "to",
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

typedef struct group {
    char *key;
    uint64_t c[ANALYTICS_NCOUNTERS];
} group_t;

typedef struct sums {
    uint64_t total[ANALYTICS_NCOUNTERS];
    group_t *groups; /* sorted by key */
    size_t ngroups, cap;
    size_t last; /* the group found last: consecutive keys usually share it */
    int rc;
} sums_t;

static void add_total(void *ctx, const char *value, unsigned id, uint64_t n)
{
    (void)value;
    sums_t *s = ctx;
    s->total[id] += n;
}

static group_t *find_group(sums_t *s, const char *key)
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
        group_t *g = realloc(s->groups, cap * sizeof *g);
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
    sums_t *s = ctx;
    if (s->rc)
        return;
    group_t *g = find_group(s, value);
    if (g)
        g->c[id] += n;
}

/* ---- the document ---- */

static json_t *rate(uint64_t num, uint64_t den)
{
    return den ? json_real((double)num / (double)den) : json_null();
}

/* Counts and rates of one total or group, into obj. */
static int fill_block(const analytics_t *self, json_t *obj, const uint64_t c[ANALYTICS_NCOUNTERS])
{
    int bad = 0;
    for (unsigned i = 0; i < ANALYTICS_NCOUNTERS; i++)
        bad |= json_object_set_new(obj, analytics_counter_name(i), json_integer((json_int_t)c[i]));
    uint64_t satisfied = analytics_satisfied(self, c);
    bad |= json_object_set_new(
        obj, "warnings",
        json_integer((json_int_t)(c[ANALYTICS_SIGN_WARNINGS] + c[ANALYTICS_REPLY_WARNINGS])));
    bad |= json_object_set_new(
        obj, "breached",
        json_integer((json_int_t)(c[ANALYTICS_SIGN_BREACHED] + c[ANALYTICS_REPLY_BREACHED])));
    bad |= json_object_set_new(obj, "satisfied", json_integer((json_int_t)satisfied));
    /* On-time rates: clocks stopped in time in the period / clocks decided in the period
     * (stopped in time, or their deadline passed unstopped: docs/domain.md "signed within
     * limit / due for signing"). A clock still running and not yet due is in neither. */
    json_t *rates = json_object();
    if (!rates)
        return HL_ENOMEM;
    bad |= json_object_set_new(rates, "onTimeSignRate",
                               rate(c[ANALYTICS_SIGNED_ON_TIME], c[ANALYTICS_SIGN_DUE]));
    bad |= json_object_set_new(rates, "onTimeReplyRate",
                               rate(c[ANALYTICS_REPLIED_ON_TIME], c[ANALYTICS_REPLY_DUE]));
    bad |= json_object_set_new(rates, "responseRate",
                               rate(c[ANALYTICS_RESPONDED_ON_TIME], c[ANALYTICS_RESPONSE_DUE]));
    bad |= json_object_set_new(rates, "onTimeCallbackRate",
                               rate(c[ANALYTICS_CALLED_BACK_ON_TIME], c[ANALYTICS_CALLBACK_CLOCKS_DUE]));
    bad |= json_object_set_new(rates, "callbackRate",
                               rate(c[ANALYTICS_CALLBACKS_DONE], c[ANALYTICS_CALLBACKS_DUE]));
    bad |= json_object_set_new(rates, "satisfactionRate", rate(satisfied, c[ANALYTICS_RATED]));
    bad |= json_object_set_new(rates, "resolutionRate",
                               rate(c[ANALYTICS_RESOLVED], c[ANALYTICS_RATED]));
    bad |=
        json_object_set_new(rates, "reworkRate", rate(c[ANALYTICS_REWORKED], c[ANALYTICS_REPLIED]));
    /* Direct-answer rate: closed at intake / accepted (received less not accepted). */
    bad |= json_object_set_new(rates, "directAnswerRate",
                               rate(c[ANALYTICS_ANSWERED],
                                    c[ANALYTICS_RECEIVED] - c[ANALYTICS_NOT_ACCEPTED]));
    /* Repeat-call rate: calls about a matter the caller already has open / all calls. */
    bad |= json_object_set_new(rates, "repeatCallRate",
                               rate(c[ANALYTICS_REPEAT_CALLS],
                                    c[ANALYTICS_RECEIVED] + c[ANALYTICS_REPEAT_CALLS]));
    bad |= json_object_set_new(obj, "rates", rates);
    return bad ? HL_ENOMEM : 0;
}

int analytics_kpis(analytics_t *self, MDB_txn *txn, const analytics_query_t *q, json_t **out)
{
    *out = NULL;
    sums_t s;
    memset(&s, 0, sizeof s);
    int rc = 0;
    for (int64_t day = q->from_day; day <= q->to_day && !rc; day++) {
        rc = analytics_counters_scan(self, txn, day, ANALYTICS_DIM_ALL, add_total, &s);
        if (!rc && q->by != ANALYTICS_DIM_NONE)
            rc = analytics_counters_scan(self, txn, day, q->by, add_group, &s);
        if (!rc)
            rc = s.rc;
    }
    json_t *doc = NULL, *totals = NULL, *groups = NULL;
    if (!rc) {
        char from[16], to[16];
        format_day(q->from_day, from, sizeof from);
        format_day(q->to_day, to, sizeof to);
        totals = json_object();
        groups = json_array();
        doc = json_pack("{s:s, s:s, s:i}", "from", from, "to", to, "utcOffsetMinutes",
                        calendar_offset_minutes(self->cal));
        rc = doc && totals && groups ? fill_block(self, totals, s.total) : HL_ENOMEM;
    }
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
    for (size_t i = 0; i < s.ngroups; i++)
        free(s.groups[i].key);
    free(s.groups);
    return rc;
}
