/* The hotline command-line client: shared context and helpers. */
#ifndef HOTLINE_CLI_H
#define HOTLINE_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

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
    const char *data_dir;   /* --data-dir or HOTLINE_DATA_DIR; NULL = var/hotline */
    const char *token_file; /* --token-file or HOTLINE_TOKEN_FILE; NULL = DATA_DIR/admin.token */
    char token[128];        /* the bearer token sent (HOTLINE_TOKEN, or read from the file) */
} cli_t;

/* The data directory of the local pipeline: --data-dir, $HOTLINE_DATA_DIR or var/hotline. */
const char *cli_data_dir(const cli_t *cli);

/* Find the bearer token once: $HOTLINE_TOKEN, else the token file (--token-file,
 * $HOTLINE_TOKEN_FILE, else DATA_DIR/admin.token, which `hotline up` writes). "" if none. */
void cli_load_token(cli_t *cli);

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
int cli_token(cli_t *cli, int argc, char **argv);
int cli_keys(cli_t *cli, int argc, char **argv);

/* cli_token.c, shared with `hotline up`: add a token to the registry at path (token and id
 * filled; the token is never stored), and make a CURVE key pair DIR/NAME.key + .pub. */
int cli_token_create(const cli_t *cli, const char *path, const char *role_text,
                     const char *name, int64_t lifetime_ms, char token[48], char id_out[17]);
int cli_keys_make(const cli_t *cli, const char *dir, const char *name, char pub[41]);

#endif
