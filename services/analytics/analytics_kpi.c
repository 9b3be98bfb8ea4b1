/* analytics_kpi: GET /v1/kpis as a pure function of the stored counters: add up the period's
 * buckets (each whole month as its month bucket, the rest day by day), for the whole centre or
 * one filter value, per dimension value when asked, and derive the rates (docs/domain.md
 * "KPIs"). The query is checked by analytics_query.c. Loop thread, inside a read transaction. */
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
                      sums_t *s)
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

int analytics_kpis(analytics_t *self, MDB_txn *txn, const analytics_query_t *q, json_t **out)
{
    *out = NULL;
    sums_t s;
    memset(&s, 0, sizeof s);
    int rc = 0;
    int64_t day = q->from_day;
    while (day <= q->to_day && !rc) {
        /* A whole month inside the period is read from its month bucket. */
        int y, m, d;
        calendar_ymd_from_day(day, &y, &m, &d);
        int64_t last = day + analytics_days_in_month(y, m) - 1;
        if (d == 1 && last <= q->to_day) {
            rc = sum_period(self, txn, q, analytics_month_of(day), &s);
            day = last + 1;
        } else {
            rc = sum_period(self, txn, q, day, &s);
            day++;
        }
    }
    json_t *doc = NULL, *totals = NULL, *groups = NULL;
    if (!rc) {
        char from[16], to[16];
        analytics_format_day(q->from_day, from, sizeof from);
        analytics_format_day(q->to_day, to, sizeof to);
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
    for (size_t i = 0; i < s.ngroups; i++)
        free(s.groups[i].key);
    free(s.groups);
    return rc;
}
