/* httpd_echo: a small HTTP server for the integration tests of common/http/httpd.
 *
 *   httpd_echo PORT_FILE [--max-body N] [--idle-ms N] [--request-ms N] [--max-conns N]
 *                        [--max-header N]
 *
 * Serves 127.0.0.1 on an ephemeral port and writes the port number to PORT_FILE (through a
 * rename, so a reader never sees half a number). Routes:
 *   GET  /hello       "hello\n"
 *   POST /echo        the request body, with the request's Content-Type
 *   GET  /slow?ms=N   "slow N\n" after N ms (a uv timer), to reorder pipelined answers
 * SIGTERM / SIGINT: answer what is still waiting with 503, close everything, exit 0 (under
 * LeakSanitizer a leak makes the exit status non-zero). One thread, one uv loop. */
#include "hl_error.h"
#include "httpd.h"
#include "slog.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slow_op slow_op_t;

typedef struct app {
    uv_loop_t *loop;
    httpd_t *srv;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    slow_op_t *slow; /* /slow requests waiting for their timer */
} app_t;

struct slow_op {
    uv_timer_t timer;
    httpd_req_t *req; /* NULL once answered */
    app_t *app;
    slow_op_t *prev, *next;
    char body[40];
};

static void slow_closed(uv_handle_t *h)
{
    free(h->data);
}

static void slow_finish(slow_op_t *op, int status, const char *body)
{
    app_t *app = op->app;
    if (op->prev)
        op->prev->next = op->next;
    else
        app->slow = op->next;
    if (op->next)
        op->next->prev = op->prev;
    httpd_respond(op->req, status, status == 200 ? "text/plain" : "application/json", body,
                  strlen(body));
    op->req = NULL;
    uv_close((uv_handle_t *)&op->timer, slow_closed);
}

static void slow_fire(uv_timer_t *t)
{
    slow_op_t *op = t->data;
    slow_finish(op, 200, op->body);
}

static void on_slow(httpd_req_t *req, void *ctx)
{
    app_t *app = ctx;
    char ms_text[16];
    unsigned long ms = 0;
    if (httpd_query_param(httpd_req_query(req), "ms", ms_text, sizeof ms_text) > 0)
        ms = strtoul(ms_text, NULL, 10);
    if (ms > 60000) {
        const char *err = "{\"error\":{\"status\":400,\"message\":\"ms: at most 60000\"}}";
        httpd_respond(req, 400, "application/json", err, strlen(err));
        return;
    }
    slow_op_t *op = calloc(1, sizeof *op);
    if (!op) {
        httpd_respond(req, 503, "text/plain", "out of memory\n", 14);
        return;
    }
    SLOG_INFO("slow_request", "wait_ms=%lu", ms);
    op->req = req;
    op->app = app;
    snprintf(op->body, sizeof op->body, "slow %lu\n", ms);
    op->next = app->slow;
    if (app->slow)
        app->slow->prev = op;
    app->slow = op;
    uv_timer_init(app->loop, &op->timer);
    op->timer.data = op;
    uv_timer_start(&op->timer, slow_fire, ms, 0);
}

static void on_hello(httpd_req_t *req, void *ctx)
{
    httpd_respond(req, 200, "text/plain", "hello\n", 6);
}

static void on_echo(httpd_req_t *req, void *ctx)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    const char *type = httpd_req_header(req, "Content-Type");
    httpd_respond(req, 200, type ? type : "application/octet-stream", body, len);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    app_t *app = sig->data;
    SLOG_INFO("shutdown", "signal=%d", signum);
    while (app->slow)
        slow_finish(app->slow, 503, "{\"error\":{\"status\":503,\"message\":\"shutting down\"}}");
    httpd_destroy(&app->srv);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
}

static int write_port(const char *path, uint16_t port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return HL_EIO;
    fprintf(f, "%u\n", (unsigned)port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return HL_EIO;
    return 0;
}

static int parse_args(int argc, char **argv, httpd_opts_t *opts)
{
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "httpd_echo: %s needs a value\n", argv[i]);
            return HL_EINVAL;
        }
        char *end;
        unsigned long v = strtoul(argv[i + 1], &end, 10);
        if (*end || !argv[i + 1][0]) {
            fprintf(stderr, "httpd_echo: %s: not a number: %s\n", argv[i], argv[i + 1]);
            return HL_EINVAL;
        }
        if (strcmp(argv[i], "--max-body") == 0)
            opts->max_body_bytes = v;
        else if (strcmp(argv[i], "--idle-ms") == 0)
            opts->idle_timeout_ms = (unsigned)v;
        else if (strcmp(argv[i], "--request-ms") == 0)
            opts->request_timeout_ms = (unsigned)v;
        else if (strcmp(argv[i], "--max-conns") == 0)
            opts->max_connections = (unsigned)v;
        else if (strcmp(argv[i], "--max-header") == 0)
            opts->max_header_bytes = v;
        else {
            fprintf(stderr, "httpd_echo: unknown option %s\n", argv[i]);
            return HL_EINVAL;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: httpd_echo PORT_FILE [--max-body N] [--idle-ms N] "
                        "[--request-ms N] [--max-conns N] [--max-header N]\n");
        return 2;
    }
    httpd_opts_t opts = {.listen = "127.0.0.1", .port = 0};
    if (parse_args(argc, argv, &opts) != 0)
        return 2;
    slog_init("httpd_echo", SLOG_INFO);
    signal(SIGPIPE, SIG_IGN); /* a peer that went away must not kill the process */

    uv_loop_t loop;
    uv_loop_init(&loop);
    app_t app = {.loop = &loop};
    int rc = httpd_create(&app.srv, &loop, &opts);
    if (rc != 0) {
        fprintf(stderr, "httpd_echo: cannot listen: %s\n", hl_strerror(rc));
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return 1;
    }
    httpd_route(app.srv, "GET", "/hello", on_hello, &app);
    httpd_route(app.srv, "POST", "/echo", on_echo, &app);
    httpd_route(app.srv, "GET", "/slow", on_slow, &app);
    uv_signal_init(&loop, &app.sigterm);
    uv_signal_init(&loop, &app.sigint);
    app.sigterm.data = app.sigint.data = &app;
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    if (write_port(argv[1], httpd_port(app.srv)) != 0) {
        fprintf(stderr, "httpd_echo: cannot write %s\n", argv[1]);
        on_signal(&app.sigterm, 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&loop);
    SLOG_INFO("stopped", "loop_close=%d", rc);
    return rc == 0 ? 0 : 1;
}
