/* cli_policies: hotline policies show | match | load FILE, sla's policy table (the deadlines
 * and escalation ladder every clock runs by). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int show(cli_t *cli, int argc, char **argv)
{
    int rc = cli_no_operands(cli, argc, argv, 0);
    if (rc >= 0)
        return rc;
    json_t *ans;
    int status = cli_http(cli, SVC_SLA, "GET", "/v1/policies", NULL, &ans);
    rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json) {
            cli_print_json(ans);
        } else {
            printf("edition %lld\n", json_integer_value(json_object_get(ans, "version")));
            size_t i;
            json_t *p;
            json_array_foreach(json_object_get(ans, "policies"), i, p) {
                printf("  %-26s prefix=%-6s urgency=%-21s appeal=%-23s channel=%s\n"
                       "  %-26s sign %s, reply %s\n",
                       json_string_value(json_object_get(p, "name")),
                       json_string_value(json_object_get(p, "categoryPrefix")),
                       json_string_value(json_object_get(p, "urgency")),
                       json_string_value(json_object_get(p, "appealType")),
                       json_string_value(json_object_get(p, "channel")), "",
                       json_string_value(json_object_get(p, "signText")),
                       json_string_value(json_object_get(p, "replyText")));
            }
        }
    }
    json_decref(ans);
    return rc;
}

/* policies match --category CODE [--urgency U] [--appeal A] [--channel C] */
static int match(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"category", required_argument, NULL, 'c'},
                                         {"urgency", required_argument, NULL, 'u'},
                                         {"appeal", required_argument, NULL, 'a'},
                                         {"channel", required_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *v[4] = {"", "", "", ""};
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        v[c == 'c' ? 0 : c == 'u' ? 1 : c == 'a' ? 2 : 3] = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    static const char *const names[4] = {"--category", "--urgency", "--appeal", "--channel"};
    for (int i = 0; i < 4; i++)
        if (strlen(v[i]) > 64 || strspn(v[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                               "0123456789_") != strlen(v[i]))
            return cli_usage_error(cli, "%s: letters, digits and _ only (a category code such "
                                   "as W0402, or a value such as urgent, complaint, wechat)",
                                   names[i]);
    char path[512];
    snprintf(path, sizeof path, "/v1/policies/match?categoryCode=%s&urgency=%s&appealType=%s"
             "&channel=%s", v[0], v[1], v[2], v[3]);
    json_t *ans;
    int status = cli_http(cli, SVC_SLA, "GET", path, NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json) {
            cli_print_json(ans);
        } else {
            json_t *p = json_object_get(ans, "policy");
            printf("%s: sign %s, reply %s\n", json_string_value(json_object_get(p, "name")),
                   json_string_value(json_object_get(p, "signText")),
                   json_string_value(json_object_get(p, "replyText")));
            size_t i;
            json_t *row;
            json_array_foreach(json_object_get(json_object_get(ans, "explain"), "rows"), i, row) {
                json_t *why = json_object_get(row, "why");
                printf("  %s %-26s %s\n", json_is_true(json_object_get(row, "chosen")) ? "*" : " ",
                       json_string_value(json_object_get(row, "name")),
                       why ? json_string_value(why) : "applies");
            }
        }
    }
    json_decref(ans);
    return rc;
}

static int load(cli_t *cli, int argc, char **argv)
{
    int rc = cli_no_operands(cli, argc, argv, 1);
    if (rc >= 0)
        return rc;
    char *text = cli_read_file(cli, argv[optind]);
    if (!text)
        return CLI_USAGE;
    json_error_t jerr;
    json_t *body = json_loads(text, 0, &jerr);
    free(text);
    if (!body) {
        fprintf(stderr, "%s: %s: line %d: %s\n", cli->cmd, argv[optind], jerr.line, jerr.text);
        return CLI_USAGE;
    }
    json_t *ans;
    int status = cli_http(cli, SVC_SLA, "POST", "/v1/policies", body, &ans);
    json_decref(body);
    rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json)
            cli_print_json(ans);
        else
            printf("edition %lld in use: %lld policies (clocks started from now on)\n",
                   json_integer_value(json_object_get(json_object_get(ans, "policies"), "version")),
                   json_integer_value(json_object_get(json_object_get(ans, "policies"), "policies")));
    }
    json_decref(ans);
    return rc;
}

const cli_verb_t cli_policies_verbs[] = {
    {"show", show, NULL, "policies show [--json]",
     "the policy table in use and its edition", NULL},
    {"match", match, NULL,
     "policies match --category CODE [--urgency U] [--appeal A] [--channel C]",
     "which row a ticket gets, and why each other row does not apply", NULL},
    {"load", load, NULL, "policies load FILE",
     "check FILE (JSON: {\"policies\": [...], \"ladder\": {...}}) and make it the table every\n"
     "clock started from now on runs by (no restart; supervisor or admin token)",
     NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
