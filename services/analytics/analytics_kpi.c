/* analytics_kpi: GET /v1/kpis as a pure function of the stored counters: add up the period
 * (each whole month from its month bucket, the rest day by day; the whole centre or one filter
 * value; per dimension value when asked: analytics_sum), and derive the figures and rates
 * (analytics_figures, docs/domain.md "KPIs"). The query is checked by analytics_query.c; the
 * monthly report (analytics_report.c) adds up and derives through the same two functions.
 * Loop thread, inside a read transaction. */
#include "analytics_internal.h"

#include "hl_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 10000 /* distinct units / categories / districts in one answer */

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

/* The pair dimension holding a's values each broken down by b. */
static analytics_dim_t pair_dim(analytics_dim_t a, analytics_dim_t b)
{
    static const analytics_dim_t PAIRS[][3] = {
        {ANALYTICS_DIM_UNIT, ANALYTICS_DIM_CATEGORY, ANALYTICS_DIM_UNIT_CATEGORY},
        {ANALYTICS_DIM_CATEGORY, ANALYTICS_DIM_UNIT, ANALYTICS_DIM_CATEGORY_UNIT},
        {ANALYTICS_DIM_UNIT, ANALYTICS_DIM_DISTRICT, ANALYTICS_DIM_UNIT_DISTRICT},
        {ANALYTICS_DIM_DISTRICT, ANALYTICS_DIM_UNIT, ANALYTICS_DIM_DISTRICT_UNIT},
        {ANALYTICS_DIM_CATEGORY, ANALYTICS_DIM_DISTRICT, ANALYTICS_DIM_CATEGORY_DISTRICT},
        {ANALYTICS_DIM_DISTRICT, ANALYTICS_DIM_CATEGORY, ANALYTICS_DIM_DISTRICT_CATEGORY},
    };
    for (size_t i = 0; i < sizeof PAIRS / sizeof *PAIRS; i++)
        if (PAIRS[i][0] == a && PAIRS[i][1] == b)
            return PAIRS[i][2];
    return ANALYTICS_DIM_NONE;
}

/* One bucket (a day or a month) into s: its totals (the centre's, or the filter value's) and,
 * with by, its groups (within the filter value: the pair dimension's entries under it). */
static int sum_period(analytics_t *self, MDB_txn *txn, const analytics_query_t *q, int64_t period,
                      analytics_sums_t *s)
{
    char prefix[ANALYTICS_VALUE_MAX + 2];
    size_t n = strlen(q->filter_value);
    memcpy(prefix, q->filter_value, n);
    int rc;
    if (q->filter == ANALYTICS_DIM_NONE) {
        rc = analytics_counters_scan(self, txn, period, ANALYTICS_DIM_ALL, NULL, 0, add_total, s);
    } else {
        prefix[n] = 0; /* the value alone */
        rc = analytics_counters_scan(self, txn, period, q->filter, prefix, n + 1, add_total, s);
    }
    if (!rc && q->by != ANALYTICS_DIM_NONE) {
        if (q->filter == ANALYTICS_DIM_NONE) {
            rc = analytics_counters_scan(self, txn, period, q->by, NULL, 0, add_group, s);
        } else {
            prefix[n] = 0x1f; /* the value's pairs */
            rc = analytics_counters_scan(self, txn, period, pair_dim(q->filter, q->by), prefix,
                                         n + 1, add_group, s);
        }
    }
    return rc ? rc : s->rc;
}

int analytics_sum(analytics_t *self, MDB_txn *txn, const analytics_query_t *q,
                  analytics_sums_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    int64_t day = q->from_day;
    while (day <= q->to_day && !rc) {
        /* A whole month inside the period is read from its month bucket. */
        int y, m, d;
        calendar_ymd_from_day(day, &y, &m, &d);
        int64_t next_month = m == 12 ? calendar_day_from_ymd(y + 1, 1, 1)
                                     : calendar_day_from_ymd(y, m + 1, 1);
        if (d == 1 && next_month - 1 <= q->to_day) {
            rc = sum_period(self, txn, q, analytics_month_of(day), out);
            day = next_month;
        } else {
            rc = sum_period(self, txn, q, day, out);
            day++;
        }
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
    [ANALYTICS_RETURN_RATE] = "returnRate",
    [ANALYTICS_ON_TIME_CLOSURE_RATE] = "onTimeClosureRate",
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
    /* Return rate: tickets handed back (approved returns) / tickets dispatched. */
    r[ANALYTICS_RETURN_RATE] = (analytics_ratio_t){c[ANALYTICS_RETURNED], c[ANALYTICS_DISPATCHED]};
    /* On-time closure: tickets closed with no reply judged late / tickets closed. */
    r[ANALYTICS_ON_TIME_CLOSURE_RATE] =
        (analytics_ratio_t){c[ANALYTICS_CLOSED_ON_TIME], c[ANALYTICS_CLOSED]};
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
            json_object_set_new(doc, "by", json_string(analytics_dim_name(q->by)));
        if (q->filter != ANALYTICS_DIM_NONE)
            json_object_set_new(doc, analytics_dim_name(q->filter), json_string(q->filter_value));
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
