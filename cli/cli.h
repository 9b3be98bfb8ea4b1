/* The hotline command-line client: shared context and helpers. */
#ifndef HOTLINE_CLI_H
#define HOTLINE_CLI_H

#include <jansson.h>
#include <stdbool.h>

/* Exit codes: what a script can rely on. */
enum {
    CLI_OK = 0,
    CLI_REFUSED = 1,     /* the service answered with a refusal (4xx): see the message */
    CLI_USAGE = 2,       /* bad arguments */
    CLI_UNREACHABLE = 3, /* a service did not answer: is the pipeline running? */
    CLI_SERVER = 4,      /* the service failed (5xx) */
};

/* The five services, in port order: HTTP port = base + index, bus = base + 10 + index. */
enum { SVC_INTAKE, SVC_DISPATCH, SVC_SLA, SVC_CALLBACK, SVC_ANALYTICS, SVC_COUNT };
extern const char *const cli_service_names[SVC_COUNT];

typedef struct cli {
    int port_base;  /* --port-base or HOTLINE_PORT_BASE, default 8080 */
    bool json;      /* --json: print the service's JSON answer as is */
    const char *prog;
} cli_t;

/* One HTTP exchange with a service. *out gets the parsed JSON answer (caller decrefs) or
 * NULL. Returns the HTTP status, or -1 when the service could not be reached (a message has
 * been printed). */
int cli_http(const cli_t *cli, int service, const char *method, const char *path,
             json_t *body, json_t **out);

/* Turn an answer into an exit code, printing the error message for a refusal. */
int cli_finish(const cli_t *cli, int status, json_t *answer);

/* Print a JSON value for --json. */
void cli_print_json(json_t *value);

/* "2026-11-25 16:00 +08:00" from UTC ms given as a JSON string or number; "-" when absent. */
void cli_time(json_t *ms, char *out, size_t out_size);

/* Subcommands. argv[0] is the subcommand's name. */
int cli_up(cli_t *cli, int argc, char **argv);
int cli_down(cli_t *cli, int argc, char **argv);
int cli_submit(cli_t *cli, int argc, char **argv);
int cli_show(cli_t *cli, int argc, char **argv);
int cli_list(cli_t *cli, int argc, char **argv);
int cli_sign(cli_t *cli, int argc, char **argv);
int cli_reply(cli_t *cli, int argc, char **argv);
int cli_callback(cli_t *cli, int argc, char **argv);
int cli_kpis(cli_t *cli, int argc, char **argv);

#endif
