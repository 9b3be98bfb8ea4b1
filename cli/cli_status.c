/* cli_status: `hotline status`, how the pipeline is. Each service's own /readyz says whether it
 * is ready and why not; the supervisor's DIR/supervisor.json adds what only `hotline up`
 * knows: pids, restarts, how a service last died and when its next start is due. */
#include "cli.h"
#include "cli_super.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct row {
    const char *state; /* "ready", "not ready" or "down" */
    int readyz;        /* the HTTP status of /readyz, -1 when it did not answer */
    char reason[512];  /* why it is not ready, or how it has been when it is */
    json_t *sup;       /* its entry in supervisor.json (borrowed); NULL without a supervisor */
} row_t;

/* DIR/supervisor.json if the supervisor that wrote it still runs; else NULL and why in note. */
static json_t *load_supervisor(const char *dir, char *note, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, CLI_SUPER_FILE);
    if (access(path, F_OK) != 0) {
        snprintf(note, size, "no supervisor (hotline up) runs on this directory");
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) {
        if (snprintf(note, size, "cannot read %s: %s", path, jerr.text) >= (int)size)
            note[size - 1] = '\0'; /* cut: the path is the part that matters */
        return NULL;
    }
    json_int_t pid = json_integer_value(json_object_get(doc, "pid"));
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM)) {
        snprintf(note, size, "the supervisor that wrote %s (pid %lld) is gone", path,
                 (long long)pid);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* "12.3 s", "5m12s", "3h02m": how long, for people. */
static void span(int64_t ms, char *out, size_t size)
{
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(out, size, "%.1f s", (double)(ms < 0 ? 0 : ms) / 1000);
    else if (s < 3600)
        snprintf(out, size, "%dm%02ds", (int)(s / 60), (int)(s % 60));
    else
        snprintf(out, size, "%dh%02dm", (int)(s / 3600), (int)(s % 3600 / 60));
}

static int64_t field_ms(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* Why a service that does not answer is down, from what the supervisor knows. */
static void down_reason(row_t *r, const char *err, int64_t now)
{
    json_t *sup = r->sup;
    char at[16], in[32], last[16];
    int pid = (int)json_integer_value(json_object_get(sup, "pid"));
    if (sup && !pid) {
        int64_t next = field_ms(sup, "nextRestartMs");
        cli_clock(field_ms(sup, "lastExitMs"), last, sizeof last);
        cli_clock(next, at, sizeof at);
        span(next - now, in, sizeof in);
        snprintf(r->reason, sizeof r->reason, "%s at %s; next start at %s (in %s)",
                 json_string_value(json_object_get(sup, "lastExit")), last, at, in);
    } else if (sup) {
        span(now - field_ms(sup, "startedMs"), in, sizeof in);
        snprintf(r->reason, sizeof r->reason, "started %s ago; /readyz does not answer (%s)",
                 in, err);
    } else {
        snprintf(r->reason, sizeof r->reason, "/readyz does not answer (%s)", err);
    }
}

/* How a ready service has been: its uptime and, if it was restarted, how it last died. */
static void ready_detail(row_t *r, int64_t now)
{
    if (!r->sup)
        return;
    char up[32], last[16];
    span(now - field_ms(r->sup, "startedMs"), up, sizeof up);
    const char *exit = json_string_value(json_object_get(r->sup, "lastExit"));
    cli_clock(field_ms(r->sup, "lastExitMs"), last, sizeof last);
    snprintf(r->reason, sizeof r->reason, "up %s%s%s%s%s", up, exit ? "; last " : "",
             exit ? exit : "", exit ? " at " : "", exit ? last : "");
}

static void probe(const cli_t *cli, int i, json_t *services, row_t *r)
{
    char err[256];
    r->sup = json_object_get(services, cli_service_names[i]);
    r->readyz = cli_readyz(cli, i, err, sizeof err);
    int64_t now = cli_now_ms();
    if (r->readyz == 200) {
        r->state = "ready";
        ready_detail(r, now);
    } else if (r->readyz > 0) {
        r->state = "not ready";
        snprintf(r->reason, sizeof r->reason, "/readyz %d: %s", r->readyz, err);
    } else {
        r->state = "down";
        down_reason(r, err, now);
    }
}

static void print_table(const cli_t *cli, const char *dir, json_t *doc, const char *note,
                        const row_t *rows)
{
    if (doc)
        printf("pipeline on %s: supervisor pid %lld%s, HTTP ports %d-%d\n", dir,
               (long long)json_integer_value(json_object_get(doc, "pid")),
               json_is_true(json_object_get(doc, "stopping")) ? " (stopping)" : "",
               cli->port_base, cli->port_base + SVC_COUNT - 1);
    else
        printf("pipeline on %s: %s; HTTP ports %d-%d\n", dir, note, cli->port_base,
               cli->port_base + SVC_COUNT - 1);
    printf("%-10s %-10s %-8s %-9s %s\n", "SERVICE", "STATE", "PID", "RESTARTS", "DETAIL");
    for (int i = 0; i < SVC_COUNT; i++) {
        const row_t *r = &rows[i];
        char pid[16] = "-", restarts[16] = "-";
        if (r->sup && json_integer_value(json_object_get(r->sup, "pid")) > 0)
            snprintf(pid, sizeof pid, "%lld", json_integer_value(json_object_get(r->sup, "pid")));
        if (r->sup)
            snprintf(restarts, sizeof restarts, "%lld",
                     json_integer_value(json_object_get(r->sup, "restarts")));
        printf("%-10s %-10s %-8s %-9s %s\n", cli_service_names[i], r->state, pid, restarts,
               r->reason);
    }
}

static void print_json(const cli_t *cli, const char *dir, json_t *doc, const char *note,
                       const row_t *rows, bool ready)
{
    json_t *services = json_object();
    for (int i = 0; i < SVC_COUNT; i++) {
        const row_t *r = &rows[i];
        json_object_set_new(services, cli_service_names[i],
                            json_pack("{s:s, s:s, s:o, s:O}", "state", r->state, "reason",
                                      r->reason, "readyz",
                                      r->readyz > 0 ? json_integer(r->readyz) : json_null(),
                                      "supervisor", r->sup ? r->sup : json_null()));
    }
    json_t *sup = doc ? json_pack("{s:O?, s:O?, s:O?}", "pid", json_object_get(doc, "pid"),
                                  "stopping", json_object_get(doc, "stopping"), "updatedMs",
                                  json_object_get(doc, "updatedMs"))
                      : json_null();
    json_t *out = json_pack("{s:s, s:i, s:b, s:o, s:s?, s:o}", "dataDir", dir, "portBase",
                            cli->port_base, "ready", ready, "supervisor", sup, "note",
                            doc ? NULL : note, "services", services);
    cli_print_json(out);
    json_decref(out);
}

int cli_status(cli_t *cli, int argc, char **argv)
{
    int c = cli_getopt(cli, argc, argv, NULL);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    const char *dir = cli_data_dir(cli);
    char note[PATH_MAX + 128] = "";
    json_t *doc = load_supervisor(dir, note, sizeof note);
    /* The supervisor knows the ports it gave its services; an explicit --port-base wins. */
    json_t *base = json_object_get(doc, "portBase");
    if (json_is_integer(base) && !cli->port_base_set)
        cli->port_base = (int)json_integer_value(base);
    row_t rows[SVC_COUNT];
    int rc = CLI_OK;
    char summary[512] = "";
    for (int i = 0; i < SVC_COUNT; i++) {
        probe(cli, i, json_object_get(doc, "services"), &rows[i]);
        if (rows[i].readyz == 200)
            continue;
        rc = rows[i].readyz < 0 ? CLI_UNREACHABLE : rc == CLI_UNREACHABLE ? rc : CLI_SERVER;
        size_t len = strlen(summary);
        snprintf(summary + len, sizeof summary - len, "%s%s is %s", len ? ", " : "",
                 cli_service_names[i], rows[i].state);
    }
    if (cli->json)
        print_json(cli, dir, doc, note, rows, rc == CLI_OK);
    else
        print_table(cli, dir, doc, note, rows);
    if (rc != CLI_OK)
        fprintf(stderr, "%s: not every service is ready: %s\n", cli->cmd, summary);
    json_decref(doc);
    return rc;
}
