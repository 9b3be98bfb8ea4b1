/* cli_callback: callback next / record / promise / surveys (cli_survey.c), and kpis. */
#include "cli.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* POST body (stolen) to callback's path. *shown: the answer for the caller to print and
 * free, NULL when there is nothing to print (refused, or printed whole for --json). Returns
 * the exit code. */
static int callback_post(cli_t *cli, const char *path, json_t *body, json_t **shown)
{
    json_t *ans;
    int status = cli_http(cli, SVC_CALLBACK, "POST", path, body, &ans);
    json_decref(body);
    int rc = cli_finish(cli, status, ans);
    *shown = NULL;
    if (rc == CLI_OK && !cli->json) {
        *shown = ans;
        return rc;
    }
    if (rc == CLI_OK)
        cli_print_json(ans);
    json_decref(ans);
    return rc;
}

/* The task NextCallback handed out: whom to call, why, and what was promised them. */
static void print_task(json_t *t)
{
    char due[40], prio[24];
    cli_time(json_object_get(t, "dueMs"), due, sizeof due);
    const char *name = json_string_value(json_object_get(t, "name"));
    const char *phone = json_string_value(json_object_get(t, "phone"));
    const char *p = json_string_value(json_object_get(t, "priority"));
    snprintf(prio, sizeof prio, "%s", p && strlen(p) > 18 ? p + 18 : "?"); /* CALLBACK_PRIORITY_ */
    for (char *q = prio; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    printf("%s  call %s %s  (%s, due %s%s, attempts so far %lld)\n  unit %s answered: %s\n",
           json_string_value(json_object_get(t, "ticketId")), name ? name : "",
           phone ? phone : "(number not known yet)", prio, due,
           json_is_true(json_object_get(t, "due")) ? "" : ", not yet due",
           json_integer_value(json_object_get(t, "attempts")),
           json_string_value(json_object_get(t, "unit")),
           json_string_value(json_object_get(t, "replyText")));
    const char *note = json_string_value(json_object_get(t, "promiseNote"));
    if (json_object_get(t, "promisedMs")) {
        char when[40];
        cli_time(json_object_get(t, "promisedMs"), when, sizeof when);
        printf("  promised for %s%s%s\n", when, note ? ": " : "", note ? note : "");
    }
}

static int callback_next(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"agent", required_argument, NULL, 'a'},
                                         {NULL, 0, NULL, 0}};
    const char *agent = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        agent = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    json_t *ans, *body = agent ? json_pack("{s:s}", "agent", agent) : json_object();
    int rc = callback_post(cli, "/v1/callbacks/next", body, &ans);
    if (ans)
        print_task(json_object_get(ans, "callbackTask"));
    json_decref(ans);
    return rc;
}

static int callback_record(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"agent", required_argument, NULL, 'a'},   {"rating", required_argument, NULL, 'r'},
        {"unresolved", no_argument, NULL, 'n'},    {"comment", required_argument, NULL, 'c'},
        {"unreachable", no_argument, NULL, 'u'},   {NULL, 0, NULL, 0},
    };
    const char *agent = NULL, *rating = NULL, *comment = NULL;
    bool resolved = true, unreachable = false;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        switch (c) {
        case 'a': agent = optarg; break;
        case 'r': rating = optarg; break;
        case 'n': resolved = false; break;
        case 'c': comment = optarg; break;
        case 'u': unreachable = true; break;
        }
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1)
        return cli_usage_error(cli, "takes exactly one TICKET_ID");
    if (!rating == !unreachable)
        return cli_usage_error(cli, "give either --rating LEVEL or --unreachable");
    json_t *body = json_pack("{s:s}", "outcome",
                             unreachable ? "CALLBACK_UNREACHABLE" : "CALLBACK_RATED");
    if (agent)
        json_object_set_new(body, "agent", json_string(agent));
    if (rating) {
        char r[64];
        snprintf(r, sizeof r, "RATING_%s", rating);
        for (char *p = r; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        json_object_set_new(body, "rating", json_string(r));
        json_object_set_new(body, "resolved", json_boolean(resolved));
    }
    if (comment)
        json_object_set_new(body, "comment", json_string(comment));
    char path[256];
    snprintf(path, sizeof path, "/v1/callbacks/%s", argv[optind]);
    json_t *ans;
    int rc = callback_post(cli, path, body, &ans);
    if (ans) {
        json_t *r = json_object_get(ans, "recordCallback");
        const char *s = json_string_value(json_object_get(r, "status"));
        char st[32];
        snprintf(st, sizeof st, "%s", s && strncmp(s, "TICKET_", 7) == 0 ? s + 7 : "?");
        for (char *p = st; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        printf("%s %s\n", argv[optind], st);
    }
    json_decref(ans);
    return rc;
}

/* promise TICKET_ID --at "YYYY-MM-DD HH:MM" [--note TEXT]: the time is the centre's local
 * time (HOTLINE_UTC_OFFSET_MINUTES, as every time the CLI prints). */
static int callback_promise(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"at", required_argument, NULL, 't'},
                                         {"note", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *at = NULL, *note = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 't')
            at = optarg;
        else
            note = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || !at)
        return cli_usage_error(cli, "needs exactly one TICKET_ID and --at \"YYYY-MM-DD HH:MM\"");
    int64_t at_ms;
    if (cli_local_time_parse(at, &at_ms) != 0)
        return cli_usage_error(cli, "--at \"%s\" is not a local time YYYY-MM-DD HH:MM", at);
    char ms[24], path[256];
    snprintf(ms, sizeof ms, "%lld", (long long)at_ms);
    snprintf(path, sizeof path, "/v1/callbacks/%s/promise", argv[optind]);
    json_t *body = json_pack("{s:s}", "atMs", ms), *ans;
    if (note)
        json_object_set_new(body, "note", json_string(note));
    int rc = callback_post(cli, path, body, &ans);
    if (ans) {
        json_t *t = json_object_get(ans, "callbackTask");
        char when[40];
        cli_time(json_object_get(t, "promisedMs"), when, sizeof when);
        const char *id = json_string_value(json_object_get(t, "ticketId"));
        printf("%s callback promised for %s%s%s\n", id ? id : argv[optind], when,
               json_is_true(json_object_get(t, "awaitingReply")) ? " (kept until the unit replies)"
                                                                 : "",
               id && strcmp(id, argv[optind]) != 0 ? " (the caller's call about the incident)"
                                                   : "");
    }
    json_decref(ans);
    return rc;
}

const cli_verb_t cli_callback_verbs[] = {
    {"next", callback_next, NULL, "callback next [--agent AGENT]",
     "the next caller to call back (AGENT: the agent of your token)", NULL},
    {"record", callback_record, NULL,
     "callback record TICKET_ID [--agent AGENT]\n"
     "                (--rating LEVEL [--unresolved] [--comment TEXT] | --unreachable)",
     "the caller's rating; LEVEL: very_satisfied, satisfied, basically_satisfied,\n"
     "dissatisfied, very_dissatisfied",
     NULL},
    {"promise", callback_promise, NULL,
     "callback promise TICKET_ID --at \"YYYY-MM-DD HH:MM\" [--note TEXT]",
     "call the citizen back at the time agreed with them (the centre's local time;\n"
     "operators, callback agents, supervisors); before the unit replies it is kept",
     NULL},
    {"surveys", cli_callback_surveys, NULL, "callback surveys [--limit N]",
     "callbacks the survey gateway (SMS / IVR) is asking about, until their answer or expiry",
     NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static void print_counts(const char *label, json_t *counts)
{
    printf("%s\n", label);
    const char *key;
    json_t *val;
    json_object_foreach(counts, key, val) {
        if (json_is_integer(val))
            printf("  %-22s %lld\n", key, json_integer_value(val));
        else if (json_is_string(val) && strspn(json_string_value(val), "0123456789") ==
                                            strlen(json_string_value(val)))
            printf("  %-22s %s\n", key, json_string_value(val));
    }
    json_t *rates = json_object_get(counts, "rates");
    json_object_foreach(rates, key, val) {
        if (json_is_number(val))
            printf("  %-22s %.1f%%\n", key, json_number_value(val) * 100);
        else
            printf("  %-22s -\n", key);
    }
}

int cli_kpis(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},     {"to", required_argument, NULL, 't'},
        {"by", required_argument, NULL, 'b'},       {"period", required_argument, NULL, 'p'},
        {"unit", required_argument, NULL, 'u'},     {"category", required_argument, NULL, 'c'},
        {"district", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
    /* Each option is the query parameter of its name: the service checks the values. */
    char path[512] = "/v1/kpis";
    int c;
    const char *by = NULL;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        for (const struct option *o = opts; o->name; o++)
            if (o->val == c)
                cli_query_add(path, sizeof path, o->name, optarg);
        if (c == 'b')
            by = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    json_t *ans;
    int status = cli_http(cli, SVC_ANALYTICS, "GET", path, NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json) {
            cli_print_json(ans);
        } else {
            char label[128];
            snprintf(label, sizeof label, "KPIs %s to %s",
                     json_string_value(json_object_get(ans, "from")),
                     json_string_value(json_object_get(ans, "to")));
            print_counts(label, json_object_get(ans, "totals"));
            size_t i;
            json_t *g;
            json_array_foreach(json_object_get(ans, "groups"), i, g) {
                snprintf(label, sizeof label, "%s %s", by ? by : "group",
                         json_string_value(json_object_get(g, "key")));
                print_counts(label, g);
            }
        }
    }
    json_decref(ans);
    return rc;
}
