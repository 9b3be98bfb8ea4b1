/* The hotline command-line client: shared context and helpers. */
#ifndef HOTLINE_CLI_H
#define HOTLINE_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
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

typedef struct cli cli_t;

/* A command: a leaf that runs, or a group of sub-commands (`hotline token create`). */
typedef struct cli_verb {
    const char *name;
    int (*run)(cli_t *cli, int argc, char **argv); /* argv[0] is the name; NULL for a group */
    const struct cli_verb *subs;                   /* a group's commands, ending with {NULL} */
    const char *usage; /* synopsis from the name on; "\n" starts a continuation line */
    const char *about; /* what it does, for --help; "\n" starts another line */
    const char *group; /* a heading in the parent's --help, on the first verb of a group */
} cli_verb_t;

struct cli {
    int port_base;  /* --port-base or HOTLINE_PORT_BASE, default 8080 */
    bool port_base_set; /* --port-base was given on the command line */
    bool json;      /* --json: print the service's JSON answer as is */
    const char *prog;
    const char *data_dir;   /* --data-dir or HOTLINE_DATA_DIR; NULL = var/hotline */
    const char *token_file; /* --token-file or HOTLINE_TOKEN_FILE; NULL = DATA_DIR/admin.token */
    bool token_loaded;      /* the token is looked up on the first request, after every option */
    char token[128];        /* the bearer token sent (HOTLINE_TOKEN, or read from the file) */
    const cli_verb_t *verb; /* the command running, for --help and usage errors */
    char cmd[64];           /* its words: "hotline token create" */
};

/* ---- the command line (cli_args.c) ---- */

/* Run the command argv names under root: options before a command word are global ones
 * (--port-base, --json, --data-dir, --token-file) or --help; getopt is reset for the leaf,
 * which reads its own options with cli_getopt. */
int cli_run(cli_t *cli, int argc, char **argv, const cli_verb_t *root);

/* What cli_getopt returns besides a verb's own option values. */
enum { CLI_OPT_END = -1, CLI_OPT_HELP = -2, CLI_OPT_BAD = -3 };

/* The next option of the running leaf: one of own (NULL = none) as getopt_long returns it,
 * or CLI_OPT_END (optind is then the first operand). Global options may stand anywhere and
 * are applied to cli here; --help prints the leaf's usage (CLI_OPT_HELP), and a mistake is
 * explained on stderr (CLI_OPT_BAD). */
int cli_getopt(cli_t *cli, int argc, char **argv, const struct option *own);

/* The exit code after cli_getopt returned CLI_OPT_HELP (0) or CLI_OPT_BAD (2). */
int cli_opt_exit(int opt);

/* "hotline CMD: <message>" and the command's usage on stderr; returns CLI_USAGE. */
int cli_usage_error(const cli_t *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A port base from text (what names the flag or variable it came from); -1 with a message. */
int cli_port_base_parse(const char *prog, const char *what, const char *text, int *out);

/* ---- talking to the services (cli_http.c) ---- */

/* The data directory of the local pipeline: --data-dir, $HOTLINE_DATA_DIR or var/hotline. */
const char *cli_data_dir(const cli_t *cli);

/* Find the bearer token: $HOTLINE_TOKEN, else the token file (--token-file,
 * $HOTLINE_TOKEN_FILE, else DATA_DIR/admin.token, which `hotline up` writes). "" if none. */
void cli_load_token(cli_t *cli);

/* One HTTP exchange with a service, with the bearer token (found on the first call). *out
 * gets the parsed JSON answer (caller decrefs) or NULL. Returns the HTTP status, or -1 when
 * the service could not be reached (a message has been printed). */
int cli_http(cli_t *cli, int service, const char *method, const char *path, json_t *body,
             json_t **out);

/* A GET whose answer is a file (a CSV export), with the bearer token. On 2xx *body gets its
 * bytes (malloc'd, NUL-terminated, *len of them; the caller frees) and *error NULL; on any other
 * status *body is NULL and *error the parsed JSON error (caller decrefs; may be NULL). Returns
 * the HTTP status, or -1 when the service could not be reached (a message has been printed). */
int cli_http_download(cli_t *cli, int service, const char *path, char **body, size_t *len,
                      json_t **error);

/* GET /readyz of a service, quickly and quietly: the HTTP status (200 = ready), or -1 when
 * it does not answer. reason gets why not: the service's message or the connection error. */
int cli_readyz(const cli_t *cli, int service, char *reason, size_t reason_size);

/* Turn an answer into an exit code, printing the error message for a refusal. */
int cli_finish(const cli_t *cli, int status, json_t *answer);

/* Print a JSON value for --json. */
void cli_print_json(json_t *value);

/* s percent-encoded for a path segment or query value (all but [A-Za-z0-9._-]), cut to fit. */
void cli_url_escape(char *out, size_t size, const char *s);
/* Append "?name=value" (or "&name=...") to path, value escaped; nothing when value is NULL. */
void cli_query_add(char *path, size_t size, const char *name, const char *value);

/* The wall clock in UTC ms. */
int64_t cli_now_ms(void);

/* "2026-11-25 16:00 +08:00" from UTC ms given as a JSON string or number; "-" when absent. */
void cli_time(json_t *ms, char *out, size_t out_size);

/* "16:00:07", the time of day of UTC ms in the centre's zone (as cli_time). */
void cli_clock(int64_t ms, char *out, size_t out_size);

/* "2026-12-08 18:00", local time in the centre's zone (as cli_time), to UTC ms; -1 when text
 * is not such a time. */
int cli_local_time_parse(const char *text, int64_t *out);

/* ---- commands ---- */

/* Leaves; argv[0] is the command's name. */
int cli_up(cli_t *cli, int argc, char **argv);
int cli_down(cli_t *cli, int argc, char **argv);
int cli_status(cli_t *cli, int argc, char **argv);
int cli_submit(cli_t *cli, int argc, char **argv);
int cli_show(cli_t *cli, int argc, char **argv);
int cli_list(cli_t *cli, int argc, char **argv);
int cli_sign(cli_t *cli, int argc, char **argv);
int cli_contact(cli_t *cli, int argc, char **argv);
int cli_note(cli_t *cli, int argc, char **argv);
int cli_redirect(cli_t *cli, int argc, char **argv);
int cli_return(cli_t *cli, int argc, char **argv);
int cli_review_return(cli_t *cli, int argc, char **argv);
int cli_extend(cli_t *cli, int argc, char **argv);
int cli_review_extension(cli_t *cli, int argc, char **argv);
int cli_terminate(cli_t *cli, int argc, char **argv);
int cli_review_termination(cli_t *cli, int argc, char **argv);
int cli_hold(cli_t *cli, int argc, char **argv);   /* cli_hold.c */
int cli_resume(cli_t *cli, int argc, char **argv);
int cli_subdispatch(cli_t *cli, int argc, char **argv);
int cli_reply(cli_t *cli, int argc, char **argv);
int cli_kpis(cli_t *cli, int argc, char **argv);
int cli_callback_surveys(cli_t *cli, int argc, char **argv); /* cli_survey.c */
int cli_keys(cli_t *cli, int argc, char **argv);

/* A dispatcher's POST of body (stolen) to dispatch's path, printing said on success (the
 * answer with --json). Returns the exit code. */
int cli_dispatcher_post(cli_t *cli, const char *path, json_t *body, const char *said);
/* The same to any service. */
int cli_post(cli_t *cli, int service, const char *path, json_t *body, const char *said);

/* Groups: `hotline callback next|record|promise|surveys`, `hotline token create|list|revoke`,
 * `hotline incident declare|update|close|link|unlink|list`. */
extern const cli_verb_t cli_callback_verbs[];
extern const cli_verb_t cli_appeal_verbs[];
extern const cli_verb_t cli_hotspot_verbs[]; /* cli_hotspot.c: list, accept, dismiss */ /* cli_appeal.c: file, uphold, reject, list, show */
extern const cli_verb_t cli_incident_verbs[];
extern const cli_verb_t cli_token_verbs[];
extern const cli_verb_t cli_catalogue_verbs[]; /* show | diff FILE | load FILE */
extern const cli_verb_t cli_policies_verbs[];  /* show | match | load FILE (cli_policies.c) */
extern const cli_verb_t cli_export_verbs[];    /* requests (cli_export.c) */
extern const cli_verb_t cli_report_verbs[];    /* monthly (cli_export.c) */
/* A file's text (PATH "-": standard input), at most 1 MiB; NULL with a message naming it. */
char *cli_read_file(const cli_t *cli, const char *path);
/* Options only, then exactly want operands: -1 to go on, else the exit code (usage said). */
int cli_no_operands(cli_t *cli, int argc, char **argv, int want);
/* `hotline workorder raise|show|list|status|cancel`, `hotline workorders dead|replay`. */
extern const cli_verb_t cli_workorder_verbs[];
extern const cli_verb_t cli_workorders_verbs[];

/* cli_token.c, shared with `hotline up`: add a token to the registry at path (token and id
 * filled; the token is never stored), and make a CURVE key pair DIR/NAME.key + .pub. */
int cli_token_create(const cli_t *cli, const char *path, const char *role_text,
                     const char *name, int64_t lifetime_ms, char token[48], char id_out[17]);
int cli_keys_make(const cli_t *cli, const char *dir, const char *name, char pub[41]);

#endif
