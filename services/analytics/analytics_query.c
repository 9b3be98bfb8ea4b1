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

int analytics_days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Strict YYYY-MM-DD, 1970-01-01 .. 9999-12-31. */
static int parse_date(const char *field, const char *text, int64_t *day, analytics_error_t *err)
{
    bool shape = strlen(text) == 10 && text[4] == '-' && text[7] == '-' && digits(text, 4) &&
                 digits(text + 5, 2) && digits(text + 8, 2);
    if (!shape)
        return refuse(err, field, "\"%.40s\" is not a date: write YYYY-MM-DD, e.g. 2026-11-25",
                      text);
    int y = atoi(text), m = atoi(text + 5), d = atoi(text + 8);
    if (y < 1970)
        return refuse(err, field, "\"%s\": the year must be 1970 or later", text);
    if (m < 1 || m > 12)
        return refuse(err, field, "\"%s\": month %d is outside 01..12", text, m);
    if (d < 1 || d > analytics_days_in_month(y, m))
        return refuse(err, field, "\"%s\": day %d is outside 01..%02d for that month", text, d,
                      analytics_days_in_month(y, m));
    *day = calendar_day_from_ymd(y, m, d);
    return 0;
}

/* period=YYYY-MM-DD (a day), YYYY-MM (a month) or YYYY-Www (an ISO week, Monday to Sunday). */
static int parse_period(const char *text, analytics_query_t *out, analytics_error_t *err)
{
    size_t n = strlen(text);
    if (n == 10 && text[4] == '-' && text[7] == '-')
        return parse_date("period", text, &out->from_day, err) ? HL_EINVAL
                                                                : (out->to_day = out->from_day, 0);
    if (n == 7 && text[4] == '-' && digits(text, 4) && digits(text + 5, 2)) {
        int y = atoi(text), m = atoi(text + 5);
        if (y < 1970 || m < 1 || m > 12)
            return refuse(err, "period", "\"%s\": a month is YYYY-MM, 1970-01 or later", text);
        out->from_day = calendar_day_from_ymd(y, m, 1);
        out->to_day = out->from_day + analytics_days_in_month(y, m) - 1;
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
            return refuse(err, "period", "\"%s\": %d has ISO weeks W01..W%02d", text, y, weeks);
        out->from_day = monday1 + (int64_t)(w - 1) * 7;
        out->to_day = out->from_day + 6;
        return 0;
    }
    return refuse(err, "period",
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

static const char *const PARAMS[] = {"from", "to", "period", "by", "unit", "category", "district"};
#define NPARAMS (sizeof PARAMS / sizeof *PARAMS)

/* Unknown parameters are refused: "form=..." silently answering for today would mislead. */
static int known_params(const char *query, analytics_error_t *err)
{
    for (const char *p = query; *p;) {
        size_t n = strcspn(p, "&"), name_len = strcspn(p, "=&");
        bool known = n == 0;
        for (size_t i = 0; i < NPARAMS && !known; i++)
            known = name_len == strlen(PARAMS[i]) && strncmp(p, PARAMS[i], name_len) == 0;
        if (!known) {
            char name[sizeof err->field];
            snprintf(name, sizeof name, "%.*s",
                     (int)(name_len < sizeof name ? name_len : sizeof name - 1), p);
            return refuse(err, name,
                          "unknown parameter \"%s\"; allowed: from, to, period, by, unit, "
                          "category, district",
                          name);
        }
        p += n;
        if (*p == '&')
            p++;
    }
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
            return refuse(err, PARAMS[i], "must be a date YYYY-MM-DD, e.g. 2026-11-25");
        if (rc > 0 && parse_date(PARAMS[i], buf, ends[i], err))
            return HL_EINVAL;
        given[i] = rc > 0;
    }
    int rc = httpd_query_param(query, "period", buf, sizeof buf);
    if (rc != HL_ENOTFOUND) {
        if (given[0] || given[1])
            return refuse(err, "period", "give either period or from / to, not both");
        if (rc <= 0)
            return refuse(err, "period", "a day YYYY-MM-DD, a month YYYY-MM or a week YYYY-Www");
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
            return refuse(err, "by",
                          "\"%.40s\" is not a dimension; allowed: unit, category, "
                          "district (or leave by out for totals only)",
                          buf);
    } else if (rc != HL_ENOTFOUND) {
        return refuse(err, "by", "allowed: unit, category, district");
    }
    for (size_t i = 0; i < NDIMS; i++) {
        rc = httpd_query_param(query, DIMS[i].name, buf, sizeof buf);
        if (rc == HL_ENOTFOUND)
            continue;
        if (rc <= 0)
            return refuse(err, DIMS[i].name, "1 to %d bytes of text, e.g. %s=water-supply",
                          ANALYTICS_VALUE_MAX, DIMS[i].name);
        if (out->filter != ANALYTICS_DIM_NONE)
            return refuse(err, DIMS[i].name,
                          "filter by one of unit, category, district at a time (%s is given "
                          "already); break the other down with by",
                          analytics_dim_name(out->filter));
        if (DIMS[i].dim == out->by)
            return refuse(err, "by",
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
        analytics_format_day(out->from_day, f, sizeof f);
        analytics_format_day(out->to_day, t, sizeof t);
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

void analytics_format_day(int64_t day, char *out, size_t out_size)
{
    int y, m, d;
    calendar_ymd_from_day(day, &y, &m, &d);
    snprintf(out, out_size, "%04d-%02d-%02d", y, m, d);
}
