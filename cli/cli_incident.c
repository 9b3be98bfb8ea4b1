/* hotline incident declare|update|close|link|unlink|list: a dispatcher's incidents at dispatch
 * (POST /v1/incidents...). A supervisor's token is needed to declare a wide one. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "3h" / "90m" from now, or UTC ms as digits: the ETA. -1 when it is neither. */
static long long eta_parse(const char *text)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || v < 0)
        return -1;
    if (*end == '\0')
        return v;
    long long unit = strcmp(end, "m") == 0 ? 60000 : strcmp(end, "h") == 0 ? 3600000 : 0;
    return unit ? cli_now_ms() + v * unit : -1;
}

static int declare(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"category", required_argument, NULL, 'c'},
                                         {"district", required_argument, NULL, 'd'},
                                         {"street", required_argument, NULL, 's'},
                                         {"community", required_argument, NULL, 'm'},
                                         {"eta", required_argument, NULL, 'e'},
                                         {"summary", required_argument, NULL, 'S'},
                                         {"unit", required_argument, NULL, 'u'},
                                         {NULL, 0, NULL, 0}};
    const char *v[128] = {0};
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        v[c] = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc || !v['c'] || !v['S'])
        return cli_usage_error(cli, "needs --category PREFIX and --summary TEXT");
    long long eta = v['e'] ? eta_parse(v['e']) : 0;
    if (eta < 0)
        return cli_usage_error(cli, "--eta: UTC milliseconds, or a delay like 3h or 90m");
    json_t *area = json_object();
    if (v['d'])
        json_object_set_new(area, "district", json_string(v['d']));
    if (v['s'])
        json_object_set_new(area, "street", json_string(v['s']));
    if (v['m'])
        json_object_set_new(area, "community", json_string(v['m']));
    json_t *body = json_pack("{s:s, s:o, s:s, s:s}", "categoryPrefix", v['c'], "area", area,
                             "summary", v['S'], "etaMs", "0");
    char ms[24];
    snprintf(ms, sizeof ms, "%lld", eta);
    json_object_set_new(body, "etaMs", json_string(ms));
    if (v['u'])
        json_object_set_new(body, "unit", json_string(v['u']));
    return cli_dispatcher_post(cli, "/v1/incidents", body, "incident declared (--json: its id)");
}

static int update(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"eta", required_argument, NULL, 'e'},
                                         {"summary", required_argument, NULL, 'S'},
                                         {NULL, 0, NULL, 0}};
    const char *eta_text = NULL, *summary = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'e')
            eta_text = optarg;
        else
            summary = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || (!eta_text && !summary))
        return cli_usage_error(cli, "needs one INCIDENT_ID and --eta or --summary");
    long long eta = eta_text ? eta_parse(eta_text) : 0;
    if (eta < 0)
        return cli_usage_error(cli, "--eta: UTC milliseconds, or a delay like 3h or 90m");
    char path[256], ms[24], said[300];
    snprintf(path, sizeof path, "/v1/incidents/%s", argv[optind]);
    snprintf(ms, sizeof ms, "%lld", eta);
    json_t *body = json_pack("{s:s}", "etaMs", ms);
    if (summary)
        json_object_set_new(body, "summary", json_string(summary));
    snprintf(said, sizeof said, "%s updated: linked callers see it", argv[optind]);
    return cli_dispatcher_post(cli, path, body, said);
}

static int close_incident(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"resolution", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *resolution = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        resolution = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || !resolution)
        return cli_usage_error(cli, "needs one INCIDENT_ID and --resolution TEXT");
    char path[256], said[300];
    snprintf(path, sizeof path, "/v1/incidents/%s/close", argv[optind]);
    snprintf(said, sizeof said, "%s closed: every linked ticket is replied with the resolution",
             argv[optind]);
    return cli_dispatcher_post(cli, path, json_pack("{s:s}", "resolution", resolution), said);
}

static int link_tickets(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"matching", no_argument, NULL, 'm'},
                                         {NULL, 0, NULL, 0}};
    bool matching = false;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        matching = true;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    int n = argc - optind - 1;
    if (n < 0 || (matching == (n > 0)))
        return cli_usage_error(cli, "needs INCIDENT_ID and either TICKET_ID... or --matching");
    char path[256], said[300];
    snprintf(path, sizeof path, "/v1/incidents/%s/link", argv[optind]);
    json_t *body;
    if (matching) {
        body = json_pack("{s:b}", "matching", 1);
        snprintf(said, sizeof said, "open tickets matching %s linked (--json: which)",
                 argv[optind]);
    } else {
        json_t *ids = json_array();
        for (int i = optind + 1; i < argc; i++)
            json_array_append_new(ids, json_string(argv[i]));
        body = json_pack("{s:o}", "ticketIds", ids);
        snprintf(said, sizeof said, "%d ticket(s) linked to %s", n, argv[optind]);
    }
    return cli_dispatcher_post(cli, path, body, said);
}

static int unlink_ticket(cli_t *cli, int argc, char **argv)
{
    int c;
    while ((c = cli_getopt(cli, argc, argv, NULL)) >= 0)
        ;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 2)
        return cli_usage_error(cli, "needs INCIDENT_ID and TICKET_ID");
    char path[256], said[300];
    snprintf(path, sizeof path, "/v1/incidents/%s/unlink", argv[optind]);
    snprintf(said, sizeof said, "%s out of %s: dispatched again", argv[optind + 1], argv[optind]);
    return cli_dispatcher_post(cli, path, json_pack("{s:s}", "ticketId", argv[optind + 1]), said);
}

static int list(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    bool all = false;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        all = true;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "GET", all ? "/v1/incidents?all=true" : "/v1/incidents",
                          NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK && cli->json) {
        cli_print_json(ans);
    } else if (rc == CLI_OK) {
        size_t i;
        json_t *inc;
        json_array_foreach(json_object_get(ans, "incidents"), i, inc) {
            char eta[48];
            cli_time(json_object_get(inc, "etaMs"), eta, sizeof eta);
            printf("%-18s %-6s %-12s eta %s%s  %s\n",
                   json_string_value(json_object_get(inc, "incidentId")),
                   json_string_value(json_object_get(inc, "categoryPrefix")),
                   json_string_value(json_object_get(inc, "unit")), eta,
                   json_is_true(json_object_get(inc, "closed")) ? " (closed)" : "",
                   json_string_value(json_object_get(inc, "summary")));
        }
    }
    json_decref(ans);
    return rc;
}

const cli_verb_t cli_incident_verbs[] = {
    {"declare", declare, NULL,
     "incident declare --category PREFIX --summary TEXT [--district D] [--street S]\n"
     "                 [--community C] [--eta 3h|90m|UTC_MS] [--unit UNIT]",
     "declare an incident: new tickets in its category and area join it at the door\n"
     "(a wide one, a whole district or a one-letter prefix, needs a supervisor's token)",
     NULL},
    {"update", update, NULL, "incident update INCIDENT_ID [--eta 3h|UTC_MS] [--summary TEXT]",
     "a new ETA or notice: every linked caller's status view shows it", NULL},
    {"link", link_tickets, NULL, "incident link INCIDENT_ID (TICKET_ID... | --matching)",
     "join open tickets (DISPATCHED, SIGNED, REWORK) to the incident: by hand, or every\n"
     "open ticket in its category and area; they leave their unit's queue",
     NULL},
    {"unlink", unlink_ticket, NULL, "incident unlink INCIDENT_ID TICKET_ID",
     "take a ticket out of the incident: dispatched again to the unit it came from (by\n"
     "the catalogue when it joined at the door)",
     NULL},
    {"close", close_incident, NULL, "incident close INCIDENT_ID --resolution TEXT",
     "close it: every linked ticket is replied with the resolution and called back, once\n"
     "per caller",
     NULL},
    {"list", list, NULL, "incident list [--all]", "active incidents (--all: closed ones too)",
     NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
