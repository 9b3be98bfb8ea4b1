/* analytics_report: the monthly KPI report per unit (GET /v1/reports/monthly): one month of
 * the centre's local days, added up by unit and derived into figures and rates by the same
 * functions as GET /v1/kpis (analytics_sum, analytics_figures), as JSON or as CSV (csvw).
 * Loop thread, inside a read transaction. */
#include "analytics_internal.h"

#include "csvw.h"
#include "hl_error.h"

#include <stdio.h>
#include <string.h>

int analytics_report_parse(const char *query, analytics_report_t *out, analytics_error_t *err)
{
    memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    static const char *const allowed[] = {"month", "format", NULL};
    char name[sizeof err->field];
    int rc = httpd_query_unknown(query, allowed, name, sizeof name);
    if (rc < 0)
        return rc;
    if (rc)
        return analytics_refuse(err, name, "unknown parameter \"%s\"; allowed: month, format",
                                name);
    char buf[64];
    rc = httpd_query_param(query, "month", buf, sizeof buf);
    if (rc == HL_ENOTFOUND || rc == 0)
        return analytics_refuse(err, "month", "give the month: month=YYYY-MM, e.g. 2026-11");
    if (rc < 0)
        return analytics_refuse(err, "month", "must be a month YYYY-MM, e.g. 2026-11");
    char why[sizeof err->message];
    int ndays;
    if (calendar_month_parse(buf, &out->period.from_day, &ndays, why, sizeof why))
        return analytics_refuse(err, "month", "%s", why);
    out->period.to_day = out->period.from_day + ndays - 1;
    out->period.by = ANALYTICS_DIM_UNIT;
    snprintf(out->month, sizeof out->month, "%.7s", buf);
    rc = httpd_query_param(query, "format", buf, sizeof buf);
    if (rc == HL_ENOTFOUND || (rc > 0 && strcmp(buf, "json") == 0))
        out->format = ANALYTICS_REPORT_JSON;
    else if (rc > 0 && strcmp(buf, "csv") == 0)
        out->format = ANALYTICS_REPORT_CSV;
    else
        return analytics_refuse(err, "format", "\"%.20s\" is not a format; allowed: csv, json",
                                rc > 0 ? buf : "");
    return 0;
}

int analytics_report_json(analytics_t *self, MDB_txn *txn, const analytics_report_t *r,
                          json_t **out)
{
    int rc = analytics_kpis(self, txn, &r->period, out);
    if (!rc && json_object_set_new(*out, "month", json_string(r->month))) {
        json_decref(*out);
        *out = NULL;
        rc = HL_ENOMEM;
    }
    return rc;
}

static void header(csvw_t *w)
{
    csvw_field(w, "unit");
    for (unsigned i = 0; i < ANALYTICS_NCOUNTERS; i++)
        csvw_field(w, analytics_counter_name(i));
    for (unsigned i = 0; i < ANALYTICS_NDERIVED; i++)
        csvw_field(w, analytics_derived_name(i));
    for (unsigned i = 0; i < ANALYTICS_NRATES; i++)
        csvw_field(w, analytics_rate_name(i));
    csvw_end(w);
}

static void row(const analytics_t *self, csvw_t *w, const char *unit,
                const uint64_t c[ANALYTICS_NCOUNTERS])
{
    analytics_figures_t f;
    analytics_figures(self, c, &f);
    csvw_field(w, unit);
    for (unsigned i = 0; i < ANALYTICS_NCOUNTERS; i++)
        csvw_fieldf(w, "%llu", (unsigned long long)f.count[i]);
    for (unsigned i = 0; i < ANALYTICS_NDERIVED; i++)
        csvw_fieldf(w, "%llu", (unsigned long long)f.derived[i]);
    for (unsigned i = 0; i < ANALYTICS_NRATES; i++) {
        if (f.rate[i].den)
            csvw_fieldf(w, "%.4f", (double)f.rate[i].num / (double)f.rate[i].den);
        else
            csvw_field(w, NULL);
    }
    csvw_end(w);
}

int analytics_report_csv(analytics_t *self, MDB_txn *txn, const analytics_report_t *r, char **out,
                         size_t *len)
{
    *out = NULL;
    *len = 0;
    analytics_sums_t s;
    int rc = analytics_sum(self, txn, &r->period, &s);
    if (rc)
        return rc;
    csvw_t *w;
    rc = csvw_new(&w);
    if (!rc) {
        header(w);
        for (size_t i = 0; i < s.ngroups; i++)
            row(self, w, s.groups[i].key, s.groups[i].c);
        row(self, w, ANALYTICS_REPORT_TOTAL, s.total);
        rc = csvw_finish(w, out, len);
        csvw_destroy(&w);
    }
    analytics_sums_fini(&s);
    return rc;
}
