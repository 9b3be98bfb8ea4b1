/* cli_appeal: appeals of callback ratings (申诉): a unit files, a supervisor upholds or
 * rejects, anyone allowed lists them by state, unit and age, or shows one ticket's. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVIDENCE 10

/* appeal file TICKET_ID --reason CODE --statement TEXT [--evidence URL]... */
static int file(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {"statement", required_argument, NULL, 's'},
                                         {"evidence", required_argument, NULL, 'e'},
                                         {NULL, 0, NULL, 0}};
    const char *reason = NULL, *statement = NULL;
    json_t *urls = json_array();
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'r')
            reason = optarg;
        else if (c == 's')
            statement = optarg;
        else
            json_array_append_new(urls, json_string(optarg));
    }
    if (c != CLI_OPT_END) {
        json_decref(urls);
        return cli_opt_exit(c);
    }
    if (optind != argc - 1 || !reason || !statement) {
        json_decref(urls);
        return cli_usage_error(cli, "needs exactly one TICKET_ID, --reason CODE and "
                                    "--statement TEXT (`hotline appeal reasons` lists the codes)");
    }
    char path[256], said[300];
    snprintf(path, sizeof path, "/v1/appeals/%s", argv[optind]);
    snprintf(said, sizeof said, "%s appealed: waiting for a supervisor's ruling", argv[optind]);
    json_t *body = json_pack("{s:s, s:s, s:o}", "reasonCode", reason, "statement", statement,
                             "evidenceUrls", urls);
    return cli_post(cli, SVC_CALLBACK, path, body, said);
}

/* appeal uphold|reject TICKET_ID --note TEXT */
static int rule(cli_t *cli, int argc, char **argv, bool uphold)
{
    static const struct option opts[] = {{"note", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *note = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        note = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || !note)
        return cli_usage_error(cli, "needs exactly one TICKET_ID and --note TEXT");
    char path[256], said[300];
    snprintf(path, sizeof path, "/v1/appeal-reviews/%s", argv[optind]);
    snprintf(said, sizeof said, "%s: appeal %s", argv[optind],
             uphold ? "upheld (the rating leaves the KPIs of the period it was given in)"
                    : "rejected (the rating stays)");
    return cli_post(cli, SVC_CALLBACK, path, json_pack("{s:b, s:s}", "uphold", uphold, "note", note),
                    said);
}

static int uphold(cli_t *cli, int argc, char **argv)
{
    return rule(cli, argc, argv, true);
}

static int reject(cli_t *cli, int argc, char **argv)
{
    return rule(cli, argc, argv, false);
}

static void print_appeal(json_t *a)
{
    char filed[40], rated[40];
    cli_time(json_object_get(a, "filedMs"), filed, sizeof filed);
    cli_time(json_object_get(a, "ratedMs"), rated, sizeof rated);
    printf("%-22s %-9s %-16s %-22s rated %s (%s) on %s, filed %s (%.1f days)\n",
           json_string_value(json_object_get(a, "ticketId")),
           json_string_value(json_object_get(a, "stateName")),
           json_string_value(json_object_get(a, "unit")),
           json_string_value(json_object_get(a, "reasonCode")),
           json_string_value(json_object_get(a, "ratingWords")),
           json_is_true(json_object_get(a, "resolved")) ? "resolved" : "unresolved", rated, filed,
           json_number_value(json_object_get(a, "ageDays")));
    printf("    %s\n", json_string_value(json_object_get(a, "statement")));
    const char *note = json_string_value(json_object_get(a, "reviewNote"));
    if (note && *note)
        printf("    ruling by %s: %s\n", json_string_value(json_object_get(a, "reviewedBy")), note);
}

/* GET path from callback and print its "appeals" list. */
static int get_list(cli_t *cli, const char *path)
{
    json_t *ans;
    int status = cli_http(cli, SVC_CALLBACK, "GET", path, NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json) {
            cli_print_json(ans);
        } else {
            size_t i;
            json_t *a;
            json_array_foreach(json_object_get(ans, "appeals"), i, a) print_appeal(a);
            if (json_array_size(json_object_get(ans, "appeals")) == 0)
                printf("no appeals\n");
        }
    }
    json_decref(ans);
    return rc;
}

/* appeal list [--state filed|upheld|rejected|all] [--unit UNIT] [--min-age-days N] */
static int list(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"unit", required_argument, NULL, 'u'},
                                         {"min-age-days", required_argument, NULL, 'a'},
                                         {NULL, 0, NULL, 0}};
    const char *state = NULL, *unit = NULL, *age = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 's')
            state = optarg;
        else if (c == 'u')
            unit = optarg;
        else
            age = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    char path[512] = "/v1/appeals";
    /* The service checks the values and names the one it refuses. */
    cli_query_add(path, sizeof path, "state", state);
    cli_query_add(path, sizeof path, "unit", unit);
    cli_query_add(path, sizeof path, "minAgeDays", age);
    return get_list(cli, path);
}

static int show(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{NULL, 0, NULL, 0}};
    int c = cli_getopt(cli, argc, argv, opts);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1)
        return cli_usage_error(cli, "needs exactly one TICKET_ID");
    char path[256], id[200];
    cli_url_escape(id, sizeof id, argv[optind]);
    snprintf(path, sizeof path, "/v1/appeals/%s", id);
    return get_list(cli, path);
}

static int reasons(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{NULL, 0, NULL, 0}};
    int c = cli_getopt(cli, argc, argv, opts);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    json_t *ans;
    int status = cli_http(cli, SVC_CALLBACK, "GET", "/v1/appeal-reasons", NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK && cli->json) {
        cli_print_json(ans);
    } else if (rc == CLI_OK) {
        printf("appeal within %lld working days of the rating, citing one of:\n",
               json_integer_value(json_object_get(ans, "windowWorkingDays")));
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(ans, "reasons"), i, r)
            printf("  %-24s %s\n", json_string_value(json_object_get(r, "code")),
                   json_string_value(json_object_get(r, "label")));
    }
    json_decref(ans);
    return rc;
}

const cli_verb_t cli_appeal_verbs[] = {
    {"file", file, NULL,
     "appeal file TICKET_ID --reason CODE --statement TEXT [--evidence URL]...",
     "the rated unit appeals the ticket's latest rating (a unit token; within the window)",
     NULL},
    {"uphold", uphold, NULL, "appeal uphold TICKET_ID --note TEXT",
     "a supervisor upholds it: the rating leaves the KPIs of its period", NULL},
    {"reject", reject, NULL, "appeal reject TICKET_ID --note TEXT",
     "a supervisor rejects it: the rating stays", NULL},
    {"list", list, NULL,
     "appeal list [--state filed|upheld|rejected|all] [--unit UNIT] [--min-age-days N]",
     "appeals, oldest first (default: those waiting for a ruling)", NULL},
    {"show", show, NULL, "appeal show TICKET_ID", "the ticket's appeals", NULL},
    {"reasons", reasons, NULL, "appeal reasons", "the exclusion list an appeal cites", NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
