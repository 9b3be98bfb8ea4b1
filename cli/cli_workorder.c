/* cli_workorder: crew work orders (`hotline workorder raise|show|list|status|cancel`) and
 * the crews' dead letters (`hotline workorders dead|replay`), all at dispatch. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_order(json_t *wo)
{
    const char *keys[] = {"ticketId", "incidentId", "categoryCode", "district", "location",
                          "description", "note", "trigger", "raisedBy", "statusNote",
                          "cancelReason"};
    char at[40];
    cli_time(json_object_get(wo, "updatedMs"), at, sizeof at);
    const char *state = json_string_value(json_object_get(wo, "state"));
    printf("%s  crew %s  %s  (revision %lld, updated %s)\n",
           json_string_value(json_object_get(wo, "id")),
           json_string_value(json_object_get(wo, "crew")),
           state && strncmp(state, "WORK_ORDER_", 11) == 0 ? state + 11 : "?",
           json_integer_value(json_object_get(wo, "revision")), at);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *v = json_string_value(json_object_get(wo, keys[i]));
        if (v && *v)
            printf("  %-13s %s\n", keys[i], v);
    }
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(wo, "photoUrls"), i, p)
        printf("  photo         %s\n", json_string_value(p));
}

/* Run and print an answer whose result is {"workOrder": {"workOrder": ...}}. */
static int finish_order(cli_t *cli, int status, json_t *ans)
{
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json) {
            cli_print_json(ans);
        } else {
            json_t *r = json_object_get(ans, "workOrder");
            json_t *wo = json_object_get(r, "workOrder");
            print_order(wo ? wo : ans);
            if (json_is_true(json_object_get(r, "existing")))
                fprintf(stderr, "(an open work order was there already: nothing new was sent)\n");
        }
    }
    json_decref(ans);
    return rc;
}

static int wo_raise(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"ticket", required_argument, NULL, 't'}, {"incident", required_argument, NULL, 'i'},
        {"crew", required_argument, NULL, 'c'},   {"note", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    json_t *body = json_object();
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        const char *key = c == 't' ? "ticketId" : c == 'i' ? "incidentId" : c == 'c' ? "crew" : "note";
        json_object_set_new(body, key, json_string(optarg));
    }
    if (c != CLI_OPT_END || optind != argc) {
        json_decref(body);
        return c != CLI_OPT_END ? cli_opt_exit(c)
                                : cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    }
    if (!json_object_get(body, "ticketId") == !json_object_get(body, "incidentId")) {
        json_decref(body);
        return cli_usage_error(cli, "give either --ticket ID or --incident ID");
    }
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "POST", "/v1/workorders", body, &ans);
    json_decref(body);
    return finish_order(cli, status, ans);
}

static int wo_show(cli_t *cli, int argc, char **argv)
{
    int c = cli_getopt(cli, argc, argv, NULL);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1)
        return cli_usage_error(cli, "takes exactly one WORK_ORDER_ID");
    char id[256], path[320];
    cli_url_escape(id, sizeof id, argv[optind]);
    snprintf(path, sizeof path, "/v1/workorders/%s", id);
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "GET", path, NULL, &ans);
    return finish_order(cli, status, ans);
}

static int wo_list(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"crew", required_argument, NULL, 'c'}, {"state", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0},
    };
    char path[512] = "/v1/workorders";
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        cli_query_add(path, sizeof path, c == 'c' ? "crew" : c == 's' ? "state" : "limit", optarg);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "GET", path, NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK && cli->json) {
        cli_print_json(ans);
    } else if (rc == CLI_OK) {
        size_t i;
        json_t *wo;
        json_array_foreach(json_object_get(ans, "workOrders"), i, wo) {
            const char *state = json_string_value(json_object_get(wo, "state"));
            const char *t = json_string_value(json_object_get(wo, "ticketId"));
            printf("%-32s %-20s %-9s %s\n", json_string_value(json_object_get(wo, "id")),
                   json_string_value(json_object_get(wo, "crew")),
                   state && strlen(state) > 11 ? state + 11 : "?",
                   t && *t ? t : json_string_value(json_object_get(wo, "incidentId")));
        }
        if (json_is_true(json_object_get(ans, "more")))
            printf("(more: raise --limit)\n");
    }
    json_decref(ans);
    return rc;
}

static int wo_status(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"status", required_argument, NULL, 's'}, {"note", required_argument, NULL, 'n'},
        {"photo", required_argument, NULL, 'p'},  {NULL, 0, NULL, 0},
    };
    json_t *body = json_object(), *photos = json_array();
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'p')
            json_array_append_new(photos, json_string(optarg));
        else
            json_object_set_new(body, c == 's' ? "status" : "note", json_string(optarg));
    }
    json_object_set_new(body, "photoUrls", photos);
    if (c != CLI_OPT_END || optind != argc - 1 || !json_object_get(body, "status")) {
        json_decref(body);
        return c != CLI_OPT_END ? cli_opt_exit(c)
                                : cli_usage_error(cli, "takes one WORK_ORDER_ID and --status");
    }
    char id[256], path[320];
    cli_url_escape(id, sizeof id, argv[optind]);
    snprintf(path, sizeof path, "/v1/workorders/%s/status", id);
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "POST", path, body, &ans);
    json_decref(body);
    return finish_order(cli, status, ans);
}

static int wo_cancel(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *reason = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        reason = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || !reason)
        return cli_usage_error(cli, "takes one WORK_ORDER_ID and --reason");
    json_t *body = json_pack("{s:{s:s, s:s}}", "cancelWorkOrder", "workOrderId", argv[optind],
                             "reason", reason);
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "POST", "/v1/commands", body, &ans);
    json_decref(body);
    return finish_order(cli, status, ans);
}

const cli_verb_t cli_workorder_verbs[] = {
    {"raise", wo_raise, NULL,
     "workorder raise (--ticket ID | --incident ID) [--crew CREW] [--note TEXT]",
     "a dispatcher sends a crew a work order (CREW: default the unit holding the ticket)",
     NULL},
    {"show", wo_show, NULL, "workorder show WORK_ORDER_ID", "one work order", NULL},
    {"list", wo_list, NULL, "workorder list [--crew CREW] [--state STATE] [--limit N]",
     "work orders by id (a crew token: its own); STATE: raised, assigned, en_route,\n"
     "on_site, done, cancelled",
     NULL},
    {"status", wo_status, NULL,
     "workorder status WORK_ORDER_ID --status assigned|en_route|on_site|done\n"
     "                 [--note TEXT] [--photo URL]...",
     "the crew holding the work order reports progress (a crew:<crew> token)", NULL},
    {"cancel", wo_cancel, NULL, "workorder cancel WORK_ORDER_ID --reason TEXT",
     "a dispatcher cancels a work order; the crew system is told", NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static int dead_list(cli_t *cli, int argc, char **argv)
{
    int c = cli_getopt(cli, argc, argv, NULL);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "GET", "/v1/workorders/dead", NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK && cli->json) {
        cli_print_json(ans);
    } else if (rc == CLI_OK) {
        size_t i;
        json_t *d;
        json_t *list = json_object_get(ans, "deadLetters");
        json_array_foreach(list, i, d) {
            char at[40];
            cli_time(json_object_get(d, "deadMs"), at, sizeof at);
            printf("%s  crew %s  %lld attempts, dead %s\n  last error: %s\n",
                   json_string_value(json_object_get(d, "key")),
                   json_string_value(json_object_get(d, "crew")),
                   json_integer_value(json_object_get(d, "attempts")), at,
                   json_string_value(json_object_get(d, "lastError")));
        }
        if (!json_array_size(list))
            printf("no dead letters\n");
    }
    json_decref(ans);
    return rc;
}

static int dead_replay(cli_t *cli, int argc, char **argv)
{
    int c = cli_getopt(cli, argc, argv, NULL);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1)
        return cli_usage_error(cli, "takes exactly one KEY (hotline workorders dead lists them)");
    char key[600], path[700];
    cli_url_escape(key, sizeof key, argv[optind]);
    snprintf(path, sizeof path, "/v1/workorders/dead/%s/replay", key);
    json_t *ans, *body = json_object();
    int status = cli_http(cli, SVC_DISPATCH, "POST", path, body, &ans);
    json_decref(body);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK && cli->json)
        cli_print_json(ans);
    else if (rc == CLI_OK)
        printf("%s queued again for crew %s\n", argv[optind],
               json_string_value(json_object_get(json_object_get(ans, "deadLetter"), "crew")));
    json_decref(ans);
    return rc;
}

const cli_verb_t cli_workorders_verbs[] = {
    {"dead", dead_list, NULL, "workorders dead",
     "webhooks to crews that failed every attempt (dead letters), masked", NULL},
    {"replay", dead_replay, NULL, "workorders replay KEY", "send a dead letter again", NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
