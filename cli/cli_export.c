/* cli_export: files for other tools. `hotline export requests` (intake's CSV of the requests
 * received in a range of days, in the GeoReport bulk columns) and `hotline report monthly`
 * (analytics' KPI report per unit for a month, as a table, JSON or CSV). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records in a CSV text after its header: CRLFs outside quoted fields (a quoted field may
 * hold line breaks of its own; a doubled quote toggles twice and so changes nothing). */
static size_t csv_rows(const char *text, size_t len)
{
    size_t n = 0;
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '"')
            quoted = !quoted;
        else if (!quoted && text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
            n++;
    }
    return n ? n - 1 : 0;
}

/* Write len bytes to path, or to standard output when path is NULL. */
static int save(const cli_t *cli, const char *path, const char *body, size_t len)
{
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (!f) {
        fprintf(stderr, "%s: --out %s: cannot open it for writing: %s\n", cli->cmd, path,
                strerror(errno));
        return CLI_USAGE;
    }
    bool ok = fwrite(body, 1, len, f) == len;
    ok = (path ? fclose(f) : fflush(f)) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "%s: %s: the write failed: %s\n", cli->cmd, path ? path : "stdout",
                strerror(errno));
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* GET path as a file and save it (the service's refusal said on stderr). *rows: the CSV's
 * records (0 unless csv). */
static int download(cli_t *cli, int service, const char *path, const char *out, bool csv,
                    size_t *rows)
{
    char *body;
    size_t len;
    json_t *error;
    int status = cli_http_download(cli, service, path, &body, &len, &error);
    int rc = cli_finish(cli, status, error);
    json_decref(error);
    *rows = 0;
    if (rc == CLI_OK) {
        rc = save(cli, out, body, len);
        if (csv)
            *rows = csv_rows(body, len);
    }
    free(body);
    return rc;
}

/* export requests --from D --to D [--status open|closed] [--service-code C] [--out FILE] */
static int export_requests(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},   {"to", required_argument, NULL, 't'},
        {"status", required_argument, NULL, 's'}, {"service-code", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},    {NULL, 0, NULL, 0}};
    const char *from = NULL, *to = NULL, *status = NULL, *code = NULL, *out = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        switch (c) {
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 's': status = optarg; break;
        case 'c': code = optarg; break;
        default: out = optarg; break;
        }
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    if (!from || !to)
        return cli_usage_error(cli, "give the range: --from YYYY-MM-DD --to YYYY-MM-DD (local "
                                    "days of the centre, at most 366)");
    char path[512] = "/v1/exports/requests.csv";
    cli_query_add(path, sizeof path, "from", from);
    cli_query_add(path, sizeof path, "to", to);
    cli_query_add(path, sizeof path, "status", status);
    cli_query_add(path, sizeof path, "service_code", code);
    size_t rows;
    int rc = download(cli, SVC_INTAKE, path, out, true, &rows);
    if (rc == CLI_OK && out)
        printf("%s: %zu request%s received %s to %s\n", out, rows, rows == 1 ? "" : "s", from, to);
    return rc;
}

/* The rate as a percentage, "-" without one. */
static void percent(json_t *rates, const char *name, char *out, size_t size)
{
    json_t *v = json_object_get(rates, name);
    if (json_is_number(v))
        snprintf(out, size, "%.1f%%", json_number_value(v) * 100);
    else
        snprintf(out, size, "-");
}

static void table_row(const char *unit, json_t *g)
{
    json_t *rates = json_object_get(g, "rates");
    char sign[16], reply[16], sat[16], res[16];
    percent(rates, "onTimeSignRate", sign, sizeof sign);
    percent(rates, "onTimeReplyRate", reply, sizeof reply);
    percent(rates, "satisfactionRate", sat, sizeof sat);
    percent(rates, "resolutionRate", res, sizeof res);
    printf("%-22s %9lld %9lld %9lld %9s %9s %9s %9s\n", unit,
           json_integer_value(json_object_get(g, "dispatched")),
           json_integer_value(json_object_get(g, "replied")),
           json_integer_value(json_object_get(g, "breached")), sign, reply, sat, res);
}

/* report monthly --month YYYY-MM [--csv] [--out FILE] */
static int report_monthly(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"month", required_argument, NULL, 'm'},
                                         {"csv", no_argument, NULL, 'c'},
                                         {"out", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *month = NULL, *out = NULL;
    bool csv = false;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'm')
            month = optarg;
        else if (c == 'c')
            csv = true;
        else
            out = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    if (!month)
        return cli_usage_error(cli, "give the month: --month YYYY-MM");
    char path[256] = "/v1/reports/monthly";
    cli_query_add(path, sizeof path, "month", month);
    if (csv || out) {
        cli_query_add(path, sizeof path, "format", csv ? "csv" : "json");
        size_t rows;
        int rc = download(cli, SVC_ANALYTICS, path, out, csv, &rows);
        if (rc == CLI_OK && out)
            printf("%s: the report of %s%s\n", out, month, csv ? " (CSV)" : " (JSON)");
        return rc;
    }
    json_t *ans;
    int status = cli_http(cli, SVC_ANALYTICS, "GET", path, NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK && cli->json) {
        cli_print_json(ans);
    } else if (rc == CLI_OK) {
        printf("KPIs by unit, %s to %s\n", json_string_value(json_object_get(ans, "from")),
               json_string_value(json_object_get(ans, "to")));
        printf("%-22s %9s %9s %9s %9s %9s %9s %9s\n", "unit", "dispatch", "replied", "breached",
               "sign", "reply", "satisfied", "resolved");
        size_t i;
        json_t *g;
        json_array_foreach(json_object_get(ans, "groups"), i, g)
            table_row(json_string_value(json_object_get(g, "key")), g);
        table_row("all units", json_object_get(ans, "totals"));
    }
    json_decref(ans);
    return rc;
}

const cli_verb_t cli_export_verbs[] = {
    {"requests", export_requests, NULL,
     "export requests --from YYYY-MM-DD --to YYYY-MM-DD [--status open|closed]\n"
     "                [--service-code CODE] [--out FILE]",
     "the requests received in those local days (at most 366), oldest first, as CSV in\n"
     "the GeoReport bulk columns, caller data masked as Open311 shows it; to FILE or\n"
     "standard output (dispatcher, supervisor or admin token). More than 100,000\n"
     "requests is refused: export a shorter range",
     NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

const cli_verb_t cli_report_verbs[] = {
    {"monthly", report_monthly, NULL, "report monthly --month YYYY-MM [--csv] [--out FILE]",
     "every KPI count and rate of the month per unit, and for all units: a table, the\n"
     "JSON with --json or --out FILE, CSV with --csv (rates with 4 decimals, empty\n"
     "without a denominator)",
     NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
