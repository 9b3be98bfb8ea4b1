/* cli_args: the command line. Commands form a tree (`hotline token create ...`); the global
 * options (--port-base, --json, --data-dir, --token-file) may stand anywhere on the line,
 * before or after the command, since people add `--json` at the end as often as at the front;
 * and --help (-h) after any command prints that command's usage. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values above any character, so they cannot clash with a command's own option letters. */
enum { OPT_PORT_BASE = 0x100, OPT_JSON, OPT_DATA_DIR, OPT_TOKEN_FILE, OPT_HELP = 'h' };

static const struct option GLOBALS[] = {
    {"port-base", required_argument, NULL, OPT_PORT_BASE},
    {"json", no_argument, NULL, OPT_JSON},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"help", no_argument, NULL, OPT_HELP},
};
#define NGLOBALS (sizeof GLOBALS / sizeof *GLOBALS)
#define MAX_OWN 24 /* options of one command (submit has the most) */

static const char GLOBAL_HELP[] =
    "Global options, before or after the command:\n"
    "  --port-base N   the services' ports: HTTP N..N+4 (intake, dispatch, sla,\n"
    "                  callback, analytics), ZeroMQ N+10..N+14; default 8080 or\n"
    "                  $HOTLINE_PORT_BASE\n"
    "  --json          print JSON: the services' answers as they are (for scripts)\n"
    "  --data-dir DIR  the local pipeline's directory (default var/hotline or\n"
    "                  $HOTLINE_DATA_DIR): its tokens.json, admin.token, logs and\n"
    "                  supervisor.json\n"
    "  --token-file F  send the bearer token in F (default $HOTLINE_TOKEN_FILE, else\n"
    "                  DIR/admin.token); $HOTLINE_TOKEN gives the token itself\n"
    "  --help, -h      this text; after a command, that command's usage\n\n"
    "Exit codes: 0 done, 1 refused (the message says why), 2 bad arguments,\n"
    "3 a service is unreachable, 4 a service failed.\n";

int cli_port_base_parse(const char *prog, const char *what, const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 1 || v > 65535 - 14) {
        fprintf(stderr, "%s: %s: '%s' must be a port from 1 to 65521 (the services use it "
                "and the 14 above it)\n", prog, what, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Print text, each line after the first starting with indent. */
static void print_lines(FILE *to, const char *lead, const char *indent, const char *text)
{
    fputs(lead, to);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        fprintf(to, "%.*s\n", (int)len, p);
        p += len;
        if (*p == '\n' && *++p)
            fputs(indent, to);
    }
}

/* Every leaf below verbs: its synopsis, and what it does under it. */
static void print_verbs(FILE *to, const cli_verb_t *verbs)
{
    for (const cli_verb_t *v = verbs; v->name; v++) {
        if (v->group)
            fprintf(to, "\n%s:\n", v->group);
        if (v->subs) {
            print_verbs(to, v->subs);
            continue;
        }
        print_lines(to, "  ", "  ", v->usage);
        if (v->about)
            print_lines(to, "      ", "      ", v->about);
    }
}

static void print_help(FILE *to, const cli_t *cli)
{
    const cli_verb_t *v = cli->verb;
    if (v->subs) {
        fprintf(to, "usage: %s COMMAND [ARGS]\n", cli->cmd);
        if (v->about)
            print_lines(to, "", "", v->about);
        if (!v->subs[0].group)
            fputc('\n', to);
        print_verbs(to, v->subs);
    } else {
        print_lines(to, "usage: hotline ", "               ", v->usage);
        if (v->about)
            print_lines(to, "", "", v->about);
    }
    fprintf(to, "\n%s", GLOBAL_HELP);
}

int cli_usage_error(const cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli->cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (cli->verb->subs)
        fprintf(stderr, "Try '%s --help'.\n", cli->cmd);
    else
        print_lines(stderr, "usage: hotline ", "               ", cli->verb->usage);
    return CLI_USAGE;
}

int cli_opt_exit(int opt)
{
    return opt == CLI_OPT_HELP ? CLI_OK : CLI_USAGE;
}

/* Apply one global option; CLI_OPT_BAD when its value is not allowed (message printed). */
static int apply_global(cli_t *cli, int opt, const char *arg)
{
    switch (opt) {
    case OPT_PORT_BASE:
        if (cli_port_base_parse(cli->prog, "--port-base", arg, &cli->port_base))
            return CLI_OPT_BAD;
        cli->port_base_set = true;
        break;
    case OPT_JSON: cli->json = true; break;
    case OPT_DATA_DIR: cli->data_dir = arg; break;
    case OPT_TOKEN_FILE: cli->token_file = arg; break;
    }
    return 0;
}

/* getopt_long over own options and the global ones; optstring "+:h" stops at the first
 * operand (a group looking for its command word), ":h" takes options from anywhere. */
static int next_opt(cli_t *cli, int argc, char **argv, const struct option *own,
                    const char *optstring)
{
    struct option all[MAX_OWN + NGLOBALS + 1];
    size_t n = 0;
    for (; own && own[n].name; n++) {
        if (n == MAX_OWN) {
            fprintf(stderr, "%s: more than %d options: raise MAX_OWN\n", cli->cmd, MAX_OWN);
            abort();
        }
        all[n] = own[n];
    }
    memcpy(all + n, GLOBALS, sizeof GLOBALS);
    memset(all + n + NGLOBALS, 0, sizeof *all);
    opterr = 0; /* the messages below name the command, not argv[0] */
    for (;;) {
        int c = getopt_long(argc, argv, optstring, all, NULL);
        if (c == OPT_PORT_BASE || c == OPT_JSON || c == OPT_DATA_DIR || c == OPT_TOKEN_FILE) {
            if (apply_global(cli, c, optarg))
                return CLI_OPT_BAD;
            continue;
        }
        if (c == OPT_HELP) {
            print_help(stdout, cli);
            return CLI_OPT_HELP;
        }
        if (c == ':') {
            cli_usage_error(cli, "%s needs a value", argv[optind - 1]);
            return CLI_OPT_BAD;
        }
        if (c == '?') {
            /* getopt has stepped past a bad long option; a bad letter is in optopt. */
            const char *bad = argv[optind - 1];
            if (strncmp(bad, "--", 2) == 0)
                cli_usage_error(cli, "'%s' is not one of its options (or takes no value)", bad);
            else
                cli_usage_error(cli, "-%c is not one of its options", optopt);
            return CLI_OPT_BAD;
        }
        return c == -1 ? CLI_OPT_END : c;
    }
}

int cli_getopt(cli_t *cli, int argc, char **argv, const struct option *own)
{
    return next_opt(cli, argc, argv, own, ":h");
}

int cli_run(cli_t *cli, int argc, char **argv, const cli_verb_t *root)
{
    cli->verb = root;
    if (!cli->cmd[0])
        snprintf(cli->cmd, sizeof cli->cmd, "%s", cli->prog);
    optind = 0; /* 0, not 1: glibc then forgets the permutation of the previous scan */
    if (root->run)
        return root->run(cli, argc, argv);
    int c = next_opt(cli, argc, argv, NULL, "+:h");
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind >= argc) {
        print_help(stderr, cli);
        return CLI_USAGE;
    }
    const char *name = argv[optind];
    for (const cli_verb_t *v = root->subs; v->name; v++) {
        if (strcmp(v->name, name) == 0) {
            size_t len = strlen(cli->cmd);
            snprintf(cli->cmd + len, sizeof cli->cmd - len, " %s", name);
            return cli_run(cli, argc - optind, argv + optind, v);
        }
    }
    fprintf(stderr, "%s: unknown command '%s'. Try '%s --help'.\n", cli->cmd, name, cli->cmd);
    return CLI_USAGE;
}
