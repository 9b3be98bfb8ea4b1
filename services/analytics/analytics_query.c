/* analytics_query: GET /v1/kpis's query string, checked: the period (from / to days, or one
 * named period: a day, an ISO week, a month), the breakdown (by) and at most one filter (unit,
 * category or district). Every refusal names the parameter and the rule. Pure functions. */
#include "analytics_internal.h"

#include "hl_error.h"
#include "httpd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Strict YYYY-MM-DD, 1970-01-01 .. 9999-12-31 (calendar_date_parse says why not). */
static int parse_date(const char *field, const char *text, int64_t *day, analytics_error_t *err)
{
    char why[sizeof err->message];
    if (calendar_date_parse(text, day, why, sizeof why))
        return analytics_refuse(err, field, "%s", why);
    return 0;
}

/* period=YYYY-MM-DD (a day), YYYY-MM (a month) or YYYY-Www (an ISO week, Monday to Sunday). */
static int parse_period(const char *text, analytics_query_t *out, analytics_error_t *err)
{
    size_t n = strlen(text);
    if (n == 10 && text[4] == '-' && text[7] == '-')
        return parse_date("period", text, &out->from_day, err) ? HL_EINVAL
                                                                : (out->to_day = out->from_day, 0);
    if (n == 7 && text[4] == '-') {
        char why[sizeof err->message];
        int ndays;
        if (calendar_month_parse(text, &out->from_day, &ndays, why, sizeof why))
            return analytics_refuse(err, "period", "%s", why);
        out->to_day = out->from_day + ndays - 1;
        return 0;
    }
    if (n == 8 && text[4] == '-' && text[5] == 'W' && digits(text, 4) && digits(text + 6, 2)) {
        int y = atoi(text), w = atoi(text + 6);
        /* ISO 8601: week 1 holds the year's first Thursday (the week of 4 January). */
        int64_t jan4 = calendar_day_from_ymd(y, 1, 4);
        int64_t monday1 = jan4 - (calendar_weekday(jan4) + 6) % 7;
        int64_t next_jan4 = calendar_day_from_ymd(y + 1, 1, 4);
        int weeks = (int)((next_jan4 - (calendar_weekday(next_jan4) + 6) % 7 - monday1) / 7);
        if (y < 1970 || w < 1 || w > weeks)
            return analytics_refuse(err, "period", "\"%s\": %d has ISO weeks W01..W%02d", text, y, weeks);
        out->from_day = monday1 + (int64_t)(w - 1) * 7;
        out->to_day = out->from_day + 6;
        return 0;
    }
    return analytics_refuse(err, "period",
                  "\"%.40s\" is not a period: a day YYYY-MM-DD, a month YYYY-MM or an ISO week "
                  "YYYY-Www (e.g. 2026-11-25, 2026-11, 2026-W48)",
                  text);
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

const char *analytics_dim_name(analytics_dim_t dim)
{
    for (size_t i = 0; i < NDIMS; i++)
        if (DIMS[i].dim == dim)
            return DIMS[i].name;
    return "";
}

static const char *const PARAMS[] = {"from",     "to",       "period", "by",
                                     "unit",     "category", "district", NULL};

/* Unknown parameters are refused: "form=..." silently answering for today would mislead. */
static int known_params(const char *query, analytics_error_t *err)
{
    char name[sizeof err->field];
    int unknown = httpd_query_unknown(query, PARAMS, name, sizeof name);
    if (unknown < 0)
        return unknown;
    if (unknown)
        return analytics_refuse(err, name,
                                "unknown parameter \"%s\"; allowed: from, to, period, by, unit, "
                                "category, district",
                                name);
    return 0;
}

/* from / to (a missing end defaults to today; when that would put to before from, it takes
 * the other end's value instead), or period. */
static int parse_range(const char *query, int64_t today, analytics_query_t *out,
                       analytics_error_t *err)
{
    char buf[64];
    bool given[2] = {false, false};
    int64_t *ends[2] = {&out->from_day, &out->to_day};
    for (int i = 0; i < 2; i++) {
        int rc = httpd_query_param(query, PARAMS[i], buf, sizeof buf);
        if (rc == HL_ETOOBIG || rc == HL_EINVAL || rc == 0)
            return analytics_refuse(err, PARAMS[i], "must be a date YYYY-MM-DD, e.g. 2026-11-25");
        if (rc > 0 && parse_date(PARAMS[i], buf, ends[i], err))
            return HL_EINVAL;
        given[i] = rc > 0;
    }
    int rc = httpd_query_param(query, "period", buf, sizeof buf);
    if (rc != HL_ENOTFOUND) {
        if (given[0] || given[1])
            return analytics_refuse(err, "period", "give either period or from / to, not both");
        if (rc <= 0)
            return analytics_refuse(err, "period", "a day YYYY-MM-DD, a month YYYY-MM or a week YYYY-Www");
        return parse_period(buf, out, err);
    }
    if (given[0] && !given[1] && out->from_day > out->to_day)
        out->to_day = out->from_day;
    if (given[1] && !given[0] && out->to_day < out->from_day)
        out->from_day = out->to_day;
    return 0;
}

/* by= and at most one of unit= / category= / district=. */
static int parse_dims(const char *query, analytics_query_t *out, analytics_error_t *err)
{
    char buf[ANALYTICS_VALUE_MAX + 2];
    int rc = httpd_query_param(query, "by", buf, sizeof buf);
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
    for (size_t i = 0; i < NDIMS; i++) {
        rc = httpd_query_param(query, DIMS[i].name, buf, sizeof buf);
        if (rc == HL_ENOTFOUND)
            continue;
        if (rc <= 0)
            return analytics_refuse(err, DIMS[i].name, "1 to %d bytes of text, e.g. %s=water-supply",
                          ANALYTICS_VALUE_MAX, DIMS[i].name);
        if (out->filter != ANALYTICS_DIM_NONE)
            return analytics_refuse(err, DIMS[i].name,
                          "filter by one of unit, category, district at a time (%s is given "
                          "already); break the other down with by",
                          analytics_dim_name(out->filter));
        if (DIMS[i].dim == out->by)
            return analytics_refuse(err, "by",
                          "by=%s with %s=%.40s has one group: leave by out, or break it down "
                          "by another dimension",
                          DIMS[i].name, DIMS[i].name, buf);
        out->filter = DIMS[i].dim;
        analytics_value_copy(out->filter_value, buf);
    }
    return 0;
}

int analytics_query_parse(const char *query, int64_t today, analytics_query_t *out,
                          analytics_error_t *err)
{
    memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    out->from_day = out->to_day = today;
    out->by = out->filter = ANALYTICS_DIM_NONE;
    query = query ? query : "";
    if (known_params(query, err) || parse_range(query, today, out, err) ||
        parse_dims(query, out, err))
        return HL_EINVAL;
    if (out->to_day < out->from_day) {
        char f[16], t[16];
        calendar_date_format(out->from_day, f, sizeof f);
        calendar_date_format(out->to_day, t, sizeof t);
        return analytics_refuse(err, "to", "%s is before from (%s): give to on or after from", t, f);
    }
    int64_t days = out->to_day - out->from_day + 1;
    if (days > ANALYTICS_MAX_DAYS)
        return analytics_refuse(err, "to",
                      "the period from..to covers %lld days; at most %d: ask for "
                      "a shorter period",
                      (long long)days, ANALYTICS_MAX_DAYS);
    return 0;
}
