/* cli_hold: a dispatcher or supervisor puts a ticket on hold (挂起) and resumes it; sla pauses
 * the round's clocks meanwhile. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>

/* hold TICKET_ID --reason TEXT | resume TICKET_ID [--reason TEXT] */
static int hold_or_resume(cli_t *cli, int argc, char **argv, bool resume)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *reason = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        reason = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || (!resume && !reason))
        return cli_usage_error(cli, resume ? "needs exactly one TICKET_ID"
                                           : "needs exactly one TICKET_ID and --reason TEXT");
    char path[256], said[300];
    snprintf(path, sizeof path, "/v1/holds/%s", argv[optind]);
    json_t *body = json_pack("{s:b, s:s}", "resume", resume, "reason", reason ? reason : "");
    snprintf(said, sizeof said, "%s %s", argv[optind],
             resume ? "resumed: its clocks run on, deadlines moved by the hold"
                    : "on hold: its clocks are paused");
    return cli_dispatcher_post(cli, path, body, said);
}

int cli_hold(cli_t *cli, int argc, char **argv)
{
    return hold_or_resume(cli, argc, argv, false);
}

int cli_resume(cli_t *cli, int argc, char **argv)
{
    return hold_or_resume(cli, argc, argv, true);
}
