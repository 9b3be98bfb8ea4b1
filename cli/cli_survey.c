/* cli_survey: `hotline callback surveys`: the callbacks the survey gateway is asking about
 * (GET /v1/callbacks?state=survey on callback, phones masked), soonest expiry first. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_callback_surveys(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"limit", required_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    long limit = 100;
    char *end = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        limit = strtol(optarg, &end, 10);
        if (*end || limit < 1 || limit > 1000)
            return cli_usage_error(cli, "--limit: a whole number from 1 to 1000");
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    char path[64];
    snprintf(path, sizeof path, "/v1/callbacks?state=survey&limit=%ld", limit);
    json_t *ans;
    int status = cli_http(cli, SVC_CALLBACK, "GET", path, NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK && cli->json) {
        cli_print_json(ans);
    } else if (rc == CLI_OK) {
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(ans, "callbacks"), i, t)
        {
            json_t *s = json_object_get(t, "survey");
            const char *phone = json_string_value(json_object_get(t, "phone"));
            char sent[40], until[40];
            cli_time(json_object_get(s, "sentMs"), sent, sizeof sent);
            cli_time(json_object_get(s, "expiresMs"), until, sizeof until);
            printf("%s  round %lld  %s  survey %s by %s, sent %s, answer until %s\n",
                   json_string_value(json_object_get(t, "ticketId")),
                   json_integer_value(json_object_get(t, "round")), phone ? phone : "-",
                   json_string_value(json_object_get(s, "surveyId")),
                   json_string_value(json_object_get(s, "channel")), sent, until);
        }
        if (i == 0)
            printf("no callback is waiting for a survey answer\n");
    }
    json_decref(ans);
    return rc;
}
