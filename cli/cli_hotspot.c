/* cli_hotspot: the hotspots analytics raised, at dispatch: list them (pending suggestions, or
 * all with --all), accept one (declare its incident) or dismiss it with a reason. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void print_hotspot(json_t *h)
{
    char at[40];
    cli_time(json_object_get(h, "detectedMs"), at, sizeof at);
    const char *street = json_string_value(json_object_get(h, "street"));
    const char *incident = json_string_value(json_object_get(h, "incidentId"));
    printf("%-16s %-9s %-4s %s %s  %lld reports (usual %.1f) at %s, %zu tickets%s%s\n",
           json_string_value(json_object_get(h, "hotspotId")),
           json_string_value(json_object_get(h, "state")),
           json_string_value(json_object_get(h, "categoryPrefix")),
           json_string_value(json_object_get(h, "district")) ?: "-", street ? street : "",
           json_integer_value(json_object_get(h, "count")),
           json_number_value(json_object_get(h, "baseline")), at,
           json_array_size(json_object_get(h, "ticketIds")), incident ? " -> " : "",
           incident ? incident : "");
}

/* hotspot list [--all] */
static int list(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    bool all = false;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        all = true;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "GET", all ? "/v1/hotspots?all=true" : "/v1/hotspots",
                          NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK && cli->json) {
        cli_print_json(ans);
    } else if (rc == CLI_OK) {
        json_t *list = json_object_get(ans, "hotspots");
        printf("mode %s; %zu hotspot(s)%s\n", json_string_value(json_object_get(ans, "mode")),
               json_array_size(list), all ? "" : " waiting for a dispatcher");
        size_t i;
        json_t *h;
        json_array_foreach(list, i, h) print_hotspot(h);
    }
    json_decref(ans);
    return rc;
}

/* hotspot accept ID | hotspot dismiss ID --reason TEXT */
static int act(cli_t *cli, int argc, char **argv, bool accept)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *reason = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        reason = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || (!accept && !reason))
        return cli_usage_error(cli, accept ? "needs exactly one HOTSPOT_ID"
                                           : "needs exactly one HOTSPOT_ID and --reason TEXT");
    char id[200], path[256], said[300];
    cli_url_escape(id, sizeof id, argv[optind]);
    snprintf(path, sizeof path, "/v1/hotspots/%s/%s", id, accept ? "accept" : "dismiss");
    snprintf(said, sizeof said, "%s %s", argv[optind],
             accept ? "accepted: its incident is declared and its tickets linked (--json: the "
                      "incident)"
                    : "dismissed");
    json_t *body = accept ? json_object() : json_pack("{s:s}", "reason", reason);
    return cli_post(cli, SVC_DISPATCH, path, body, said);
}

static int accept(cli_t *cli, int argc, char **argv)
{
    return act(cli, argc, argv, true);
}

static int dismiss(cli_t *cli, int argc, char **argv)
{
    return act(cli, argc, argv, false);
}

const cli_verb_t cli_hotspot_verbs[] = {
    {"list", list, NULL, "hotspot list [--all]",
     "bursts analytics raised, waiting for a dispatcher (all of them with --all)", NULL},
    {"accept", accept, NULL, "hotspot accept HOTSPOT_ID",
     "declare the hotspot's incident and link its tickets (a wide one: a supervisor)", NULL},
    {"dismiss", dismiss, NULL, "hotspot dismiss HOTSPOT_ID --reason TEXT",
     "not an incident: say why", NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
