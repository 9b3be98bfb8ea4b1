/* hotline: the command-line client. Runs the pipeline on this machine and talks to it. */
#include "cli.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *to, const char *prog)
{
    fprintf(to,
            "Usage: %s [--port-base N] [--json] COMMAND [ARGS]\n\n"
            "Run the pipeline:\n"
            "  up [--data-dir DIR] [--test-clock] [--open311-key KEY]...\n"
            "                                         start the five services here, in the\n"
            "                                         foreground; Ctrl-C stops them all;\n"
            "                                         KEY may post to Open311 (repeatable)\n"
            "  down [--data-dir DIR]                  stop a pipeline started with up\n\n"
            "Tickets:\n"
            "  submit --category CODE --description TEXT (--phone NUMBER | --anonymous)\n"
            "         (--district NAME | --address TEXT) [--street S] [--community C]\n"
            "         [--name NAME] [--urgency normal|urgent|very_urgent] [--channel phone|...]\n"
            "         [--appeal help|complaint|...] [--vulnerable] [--confidential]\n"
            "  show ID                                the ticket's status and whole timeline\n"
            "  list [--status STATUS] [--limit N]     newest first\n\n"
            "Units:\n"
            "  sign ID --unit UNIT\n"
            "  reply ID --unit UNIT --result TEXT [--unresolved]\n\n"
            "Callback agents:\n"
            "  callback next --agent AGENT\n"
            "  callback record ID --agent AGENT (--rating LEVEL [--unresolved] [--comment C]\n"
            "                  | --unreachable)     LEVEL: very_satisfied, satisfied,\n"
            "                                       basically_satisfied, dissatisfied,\n"
            "                                       very_dissatisfied\n\n"
            "Figures:\n"
            "  kpis [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by unit|category]\n\n"
            "Access:\n"
            "  token create --role ROLE --name NAME [--expires 30d|12h|never] [--out FILE]\n"
            "                                         a new bearer token, shown once; ROLE:\n"
            "                                         operator, dispatcher, unit:<id>,\n"
            "                                         crew:<id>, callback-agent, supervisor,\n"
            "                                         admin, service\n"
            "  token list                             every token: id, state, role, expiry\n"
            "  token revoke ID|NAME                   refused by the services within seconds\n"
            "  keys --dir DIR NAME...                 CURVE key pairs for the bus\n\n"
            "Options:\n"
            "  --port-base N   the services' ports: HTTP N..N+4 (intake, dispatch, sla,\n"
            "                  callback, analytics), ZeroMQ N+10..N+14; default 8080 or\n"
            "                  $HOTLINE_PORT_BASE\n"
            "  --json          print the services' JSON answers (for scripts)\n"
            "  --data-dir DIR  the local pipeline's directory (default var/hotline or\n"
            "                  $HOTLINE_DATA_DIR): its tokens.json and admin.token\n"
            "  --token-file F  send the bearer token in F (default $HOTLINE_TOKEN_FILE, else\n"
            "                  DIR/admin.token); $HOTLINE_TOKEN gives the token itself\n\n"
            "Exit codes: 0 done, 1 refused (the message says why), 2 bad arguments,\n"
            "3 a service is unreachable, 4 a service failed.\n",
            prog);
}

typedef struct command {
    const char *name;
    int (*run)(cli_t *cli, int argc, char **argv);
} command_t;

static const command_t COMMANDS[] = {
    {"up", cli_up},         {"down", cli_down},   {"submit", cli_submit},
    {"show", cli_show},     {"list", cli_list},   {"sign", cli_sign},
    {"reply", cli_reply},   {"callback", cli_callback}, {"kpis", cli_kpis},
    {"token", cli_token},   {"keys", cli_keys},
};

static int parse_base(const char *prog, const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 1 || v > 65535 - 14) {
        fprintf(stderr, "%s: --port-base: '%s' must be a port from 1 to 65521\n", prog, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    cli_t cli = {.port_base = 8080, .prog = "hotline"};
    const char *env = getenv("HOTLINE_PORT_BASE");
    if (env && *env && parse_base(cli.prog, env, &cli.port_base))
        return CLI_USAGE;
    static const struct option opts[] = {
        {"port-base", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"data-dir", required_argument, NULL, 'd'},
        {"token-file", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (parse_base(cli.prog, optarg, &cli.port_base))
                return CLI_USAGE;
            break;
        case 'j': cli.json = true; break;
        case 'd': cli.data_dir = optarg; break;
        case 't': cli.token_file = optarg; break;
        case 'h': usage(stdout, cli.prog); return CLI_OK;
        case 'V': puts("hotline 0.1.0"); return CLI_OK;
        default: fprintf(stderr, "Try 'hotline --help'.\n"); return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr, cli.prog);
        return CLI_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++) {
        if (strcmp(name, COMMANDS[i].name) == 0) {
            curl_global_init(CURL_GLOBAL_DEFAULT);
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 1; /* subcommands parse their own options from sub_argv */
            cli_load_token(&cli);
            int rc = COMMANDS[i].run(&cli, sub_argc, sub_argv);
            curl_global_cleanup();
            return rc;
        }
    }
    fprintf(stderr, "hotline: unknown command '%s'. Try 'hotline --help'.\n", name);
    return CLI_USAGE;
}
