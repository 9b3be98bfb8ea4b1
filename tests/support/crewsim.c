/* crewsim: a crew-system simulator, the receiving end of common/http/connector in tests.
 *
 *   CREWSIM_KEY=<hmac key> crewsim [--port N] [--skew-ms N]
 *
 * Serves 127.0.0.1 (an ephemeral port unless --port) and, once listening, prints one line
 * {"port":N} on stdout. Routes:
 *   POST /orders*          the webhook: checks X-Hotline-Timestamp (within skew-ms of now,
 *                          default 300000) and X-Hotline-Signature (HMAC-SHA256 of
 *                          timestamp "." body with CREWSIM_KEY; connector_verify, the check
 *                          every receiver in Hotline makes) and refuses a bad one with 401;
 *                          then records the Idempotency-Key once (a key seen before is counted
 *                          as a duplicate and answered 200 again) unless told to fail
 *   GET  /counts[?keys=1]  {"received","unique","duplicates","rejected","failed"} and, when
 *                          asked, "keys": the keys taken, in arrival order
 *   POST /admin/mode?status=N&count=N&delay_ms=N
 *                          answer the next count (0: every) valid requests with status instead
 *                          of taking them (status 0: take them), and / or answer taken ones
 *                          only after delay_ms (the key is recorded on arrival)
 *   POST /admin/down?ms=N  stop listening (connections refused) for N ms, then listen again on
 *                          the same port, counts kept; SIGUSR1 listens again at once (a test
 *                          whose own clock is not the wall clock says when the outage ends)
 *   POST /admin/reset      forget keys and counts, back to normal mode
 * SIGTERM / SIGINT: answer what waits with 503, close, exit 0. One thread, one uv loop. */
#include "connector.h"
#include "hclock.h"
#include "hl_error.h"
#include "httpd.h"
#include "slog.h"

#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096

typedef struct key_node {
    struct key_node *next;
    char key[];
} key_node_t;

/* A taken request whose answer waits for the delay. */
typedef struct held {
    httpd_req_t *req;
    uint64_t due_ms; /* monotonic */
} held_t;

typedef struct app {
    uv_loop_t *loop;
    httpd_t *srv;
    uint16_t port;
    const char *hmac_key;
    int64_t skew_ms;
    hclock_t *clock;
    uv_signal_t sigterm, sigint, sigusr1;
    uv_timer_t up_timer; /* /admin/down: listen again */
    key_node_t *buckets[NBUCKETS];
    json_t *keys; /* in arrival order */
    uint64_t received, unique, duplicates, rejected, failed;
    int fail_status;    /* answer valid requests with this (0: take them) */
    uint64_t fail_left; /* that many more (0: every one) */
    uint64_t delay_ms;  /* answer taken ones this late */
    held_t *held;       /* answers waiting for their delay, in arrival order */
    size_t nheld, held_cap;
    uv_timer_t tick; /* answers the held ones that are due */
} app_t;

static void respond_error(httpd_req_t *req, int status, const char *message)
{
    char body[256];
    int n = snprintf(body, sizeof body, "{\"error\":{\"status\":%d,\"message\":\"%s\"}}", status,
                     message);
    httpd_respond(req, status, "application/json", body, (size_t)n);
}

/* ---- keys ---- */

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Record key; true when it is new. */
static bool key_record(app_t *app, const char *key)
{
    key_node_t **b = &app->buckets[hash(key) % NBUCKETS];
    for (key_node_t *n = *b; n; n = n->next)
        if (strcmp(n->key, key) == 0)
            return false;
    size_t len = strlen(key);
    key_node_t *n = malloc(sizeof *n + len + 1);
    if (!n)
        return true; /* cannot remember it: take it as new */
    memcpy(n->key, key, len + 1);
    n->next = *b;
    *b = n;
    json_array_append_new(app->keys, json_string(key));
    return true;
}

static void keys_clear(app_t *app)
{
    for (size_t i = 0; i < NBUCKETS; i++)
        while (app->buckets[i]) {
            key_node_t *n = app->buckets[i];
            app->buckets[i] = n->next;
            free(n);
        }
    json_array_clear(app->keys);
}

/* ---- late answers ---- */

static uint64_t mono_ms(void)
{
    return hclock_mono_ns() / 1000000;
}

/* Answer the held requests due by now (all of them, with 503, when closing). */
static void answer_held(app_t *app, bool closing)
{
    size_t kept = 0;
    for (size_t i = 0; i < app->nheld; i++) {
        held_t *h = &app->held[i];
        if (closing)
            respond_error(h->req, 503, "shutting down");
        else if (h->due_ms <= mono_ms())
            httpd_respond(h->req, 200, "application/json", "{\"accepted\":true}", 17);
        else
            app->held[kept++] = *h;
    }
    app->nheld = kept;
    if (!kept)
        uv_timer_stop(&app->tick);
}

static void on_tick(uv_timer_t *t)
{
    answer_held(t->data, false);
}

static void answer_later(app_t *app, httpd_req_t *req)
{
    if (app->nheld == app->held_cap) {
        size_t cap = app->held_cap ? app->held_cap * 2 : 64;
        held_t *grown = realloc(app->held, cap * sizeof *grown);
        if (!grown) {
            respond_error(req, 503, "out of memory");
            return;
        }
        app->held = grown;
        app->held_cap = cap;
    }
    app->held[app->nheld++] = (held_t){req, mono_ms() + app->delay_ms};
    if (!uv_is_active((uv_handle_t *)&app->tick))
        uv_timer_start(&app->tick, on_tick, 5, 5);
}

/* ---- the webhook ---- */

static void on_order(httpd_req_t *req, void *ctx)
{
    app_t *app = ctx;
    size_t len;
    const char *body = httpd_req_body(req, &len);
    const char *ts = httpd_req_header(req, "X-Hotline-Timestamp");
    const char *sig = httpd_req_header(req, "X-Hotline-Signature");
    const char *key = httpd_req_header(req, "Idempotency-Key");
    app->received++;
    const char *why = NULL;
    int status = 401;
    int64_t skew;
    connector_sig_t v = connector_verify(app->hmac_key, strlen(app->hmac_key), ts, sig, body, len,
                                         hclock_now_ms(app->clock), app->skew_ms, &skew);
    if (v != CONNECTOR_SIG_OK)
        why = v == CONNECTOR_SIG_NO_TIMESTAMP ? "no timestamp"
              : v == CONNECTOR_SIG_STALE      ? "timestamp out of range"
                                              : "bad signature";
    else if (!key || !*key) {
        why = "no idempotency key";
        status = 400;
    }
    if (why) {
        app->rejected++;
        SLOG_WARN("order_refused", "reason=%s", SLOG_Q(why));
        respond_error(req, status, why);
        return;
    }
    if (app->fail_status) {
        status = app->fail_status;
        app->failed++;
        if (app->fail_left && --app->fail_left == 0)
            app->fail_status = 0;
        respond_error(req, status, "told to fail");
        return;
    }
    if (key_record(app, key))
        app->unique++;
    else
        app->duplicates++;
    if (app->delay_ms)
        answer_later(app, req);
    else
        httpd_respond(req, 200, "application/json", "{\"accepted\":true}", 17);
}

/* ---- counts and admin ---- */

static uint64_t query_u64(httpd_req_t *req, const char *name, uint64_t dflt)
{
    char v[24];
    return httpd_query_param(httpd_req_query(req), name, v, sizeof v) > 0 ? strtoull(v, NULL, 10)
                                                                          : dflt;
}

static void on_counts(httpd_req_t *req, void *ctx)
{
    app_t *app = ctx;
    json_t *o = json_pack("{sI sI sI sI sI}", "received", (json_int_t)app->received, "unique",
                          (json_int_t)app->unique, "duplicates", (json_int_t)app->duplicates,
                          "rejected", (json_int_t)app->rejected, "failed", (json_int_t)app->failed);
    if (o && query_u64(req, "keys", 0))
        json_object_set(o, "keys", app->keys);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        respond_error(req, 503, "out of memory");
        return;
    }
    httpd_respond(req, 200, "application/json", text, strlen(text));
    free(text);
}

static void on_mode(httpd_req_t *req, void *ctx)
{
    app_t *app = ctx;
    uint64_t status = query_u64(req, "status", 0);
    if (status != 0 && (status < 200 || status > 599)) {
        respond_error(req, 400, "status: 0 or 200..599");
        return;
    }
    app->fail_status = (int)status;
    app->fail_left = query_u64(req, "count", 0);
    app->delay_ms = query_u64(req, "delay_ms", 0);
    SLOG_INFO("mode", "status=%d count=%llu delay_ms=%llu", app->fail_status,
              (unsigned long long)app->fail_left, (unsigned long long)app->delay_ms);
    httpd_respond(req, 200, "application/json", "{}", 2);
}

static void on_reset(httpd_req_t *req, void *ctx)
{
    app_t *app = ctx;
    keys_clear(app);
    app->received = app->unique = app->duplicates = app->rejected = app->failed = 0;
    app->fail_status = 0;
    app->fail_left = app->delay_ms = 0;
    httpd_respond(req, 200, "application/json", "{}", 2);
}

static void on_down(httpd_req_t *req, void *ctx);

static int listen_up(app_t *app)
{
    httpd_opts_t opts = {.listen = "127.0.0.1", .port = app->port};
    int rc = httpd_create(&app->srv, app->loop, &opts);
    if (rc)
        return rc;
    app->port = httpd_port(app->srv);
    httpd_route(app->srv, "POST", "/orders*", on_order, app);
    httpd_route(app->srv, "GET", "/counts", on_counts, app);
    httpd_route(app->srv, "POST", "/admin/mode", on_mode, app);
    httpd_route(app->srv, "POST", "/admin/down", on_down, app);
    httpd_route(app->srv, "POST", "/admin/reset", on_reset, app);
    return 0;
}

static void on_up(uv_timer_t *t)
{
    app_t *app = t->data;
    int rc = listen_up(app);
    SLOG_INFO("up", "port=%u rc=%d", (unsigned)app->port, rc);
}

static void on_down(httpd_req_t *req, void *ctx)
{
    app_t *app = ctx;
    uint64_t ms = query_u64(req, "ms", 1000);
    httpd_respond(req, 200, "application/json", "{}", 2);
    answer_held(app, true);
    httpd_destroy(&app->srv);
    SLOG_INFO("down", "for_ms=%llu", (unsigned long long)ms);
    uv_timer_start(&app->up_timer, on_up, ms, 0);
}

static void on_usr1(uv_signal_t *sig, int signum)
{
    (void)signum;
    app_t *app = sig->data;
    if (app->srv)
        return; /* not down */
    uv_timer_stop(&app->up_timer);
    on_up(&app->up_timer);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    app_t *app = sig->data;
    SLOG_INFO("shutdown", "signal=%d", signum);
    answer_held(app, true);
    httpd_destroy(&app->srv);
    uv_close((uv_handle_t *)&app->tick, NULL);
    uv_close((uv_handle_t *)&app->up_timer, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sigusr1, NULL);
}

int main(int argc, char **argv)
{
    app_t app = {.skew_ms = 300000, .hmac_key = getenv("CREWSIM_KEY")};
    if (!app.hmac_key || !*app.hmac_key || argc % 2 == 0) {
        fprintf(stderr, "usage: CREWSIM_KEY=KEY crewsim [--port N] [--skew-ms N]\n");
        return 2;
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            app.port = (uint16_t)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--skew-ms") == 0)
            app.skew_ms = strtoll(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "crewsim: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    slog_init("crewsim", SLOG_INFO);
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0)
        return 1;
    uv_loop_t loop;
    uv_loop_init(&loop);
    app.loop = &loop;
    app.keys = json_array();
    uv_timer_init(&loop, &app.up_timer);
    uv_timer_init(&loop, &app.tick);
    app.tick.data = &app;
    app.up_timer.data = &app;
    uv_signal_init(&loop, &app.sigterm);
    uv_signal_init(&loop, &app.sigint);
    uv_signal_init(&loop, &app.sigusr1);
    app.sigterm.data = app.sigint.data = app.sigusr1.data = &app;
    uv_signal_start(&app.sigusr1, on_usr1, SIGUSR1);
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    int rc = hclock_create(&app.clock, false);
    if (!rc)
        rc = listen_up(&app);
    if (!rc && (printf("{\"port\":%u}\n", (unsigned)app.port) < 0 || fflush(stdout) != 0))
        rc = HL_EIO; /* the one line a test waits for */
    if (rc) {
        fprintf(stderr, "crewsim: cannot start: %s\n", hl_strerror(rc));
        on_signal(&app.sigterm, 0);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    int closed = uv_loop_close(&loop);
    keys_clear(&app);
    json_decref(app.keys);
    free(app.held);
    hclock_destroy(&app.clock);
    return rc ? 1 : closed == 0 ? 0 : 1;
}
