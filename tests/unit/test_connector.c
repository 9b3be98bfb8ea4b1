/* connector: on a real loop with the group commit, against the crew-system simulator
 * (tests/support/crewsim) started as a real process on 127.0.0.1: a delivery arrives once,
 * signed; a receiver that is down is retried with backoff and gets it once when it is back;
 * max attempts make a dead letter that is listed, replayed and delivered; a wrong key is
 * refused by the receiver (401) and dead-lettered; an enqueue whose transaction is rolled back
 * sends nothing; a connector stopped mid-flight sends again from its lease after a restart on
 * the same store, and the receiver sees the key once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "connector.h"
#include "hl_error.h"
#include "slog.h"
#include "unit.h"

#include "../support/crewsim_client.h"

#define KEY "test-key-0123456789abcdef"
#define DEADLINE_MS 10000

typedef struct fx {
    char *dir;
    store_t *store;
    hclock_t *clock;
    uv_loop_t loop;
    uv_timer_t keep; /* the scheduler's timer is unref'd: this keeps the loop polling */
    txq_t *txq;
    metrics_t *metrics;
    connector_t *c;
    connector_opts_t opts;
    char url[64];
} fx_t;

static crewsim_t sim; /* shared by the whole group */

static uint64_t mono_ms(void)
{
    return hclock_mono_ns() / 1000000;
}

/* ---- the simulator ---- */

static int sim_start(void **state)
{
    signal(SIGPIPE, SIG_IGN);
    return crewsim_start(&sim, CREWSIM_PATH, KEY);
}

static int sim_stop(void **state)
{
    return crewsim_stop(&sim) == 0 ? 0 : -1; /* a leak in the simulator fails the group */
}

static void sim_admin(const char *path)
{
    json_t *o = crewsim_call(&sim, "POST", path);
    assert_non_null(o);
    json_decref(o);
}

static json_int_t sim_count(const char *name)
{
    json_int_t v = crewsim_count(&sim, name);
    assert_true(v >= 0);
    return v;
}

/* The keys the simulator took, comma-separated. */
static void sim_keys(char *out, size_t size)
{
    json_t *o = crewsim_call(&sim, "GET", "/counts?keys=1");
    assert_non_null(o);
    size_t i, used = 0;
    json_t *k;
    out[0] = '\0';
    json_array_foreach(json_object_get(o, "keys"), i, k)
    {
        used +=
            (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "", json_string_value(k));
    }
    json_decref(o);
}

/* ---- the connector's side ---- */

static void keepalive_cb(uv_timer_t *h)
{
    (void)h;
}

static void open_conn(fx_t *f)
{
    store_opts_t so = {.path = f->dir, .sync = STORE_SYNC_NOSYNC};
    assert_int_equal(store_open(&f->store, &so), 0);
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &f->keep);
    uv_timer_start(&f->keep, keepalive_cb, 20, 20);
    assert_int_equal(txq_create(&f->txq, &f->loop, f->store, 0), 0);
    assert_int_equal(metrics_create(&f->metrics), 0);
    f->opts.metrics = f->metrics;
    assert_int_equal(connector_create(&f->c, &f->loop, f->store, f->txq, f->clock, &f->opts), 0);
    assert_int_equal(connector_start(f->c), 0);
}

static void close_conn(fx_t *f)
{
    connector_stop(f->c);
    txq_destroy(&f->txq);
    uv_close((uv_handle_t *)&f->keep, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    connector_destroy(&f->c);
    assert_null(f->c);
    metrics_destroy(&f->metrics);
    store_close(&f->store);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    assert_int_equal(hclock_create(&f->clock, true), 0);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/orders", (unsigned)sim.port);
    f->opts = (connector_opts_t){.name = "crew",
                                 .url = f->url,
                                 .hmac_key = KEY,
                                 .hmac_key_len = strlen(KEY),
                                 .backoff_first_ms = 40,
                                 .backoff_cap_ms = 300,
                                 .timeout_ms = 1000,
                                 .lease_margin_ms = 500};
    sim_admin("/admin/reset");
    open_conn(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    close_conn(f);
    hclock_destroy(&f->clock);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

/* Run the loop for at most ms (less when a timer or I/O is due). */
static void pump(fx_t *f, int ms)
{
    struct pollfd p = {.fd = uv_backend_fd(&f->loop), .events = POLLIN};
    int t = uv_backend_timeout(&f->loop);
    poll(&p, 1, t < 0 || t > ms ? ms : t);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void pump_for(fx_t *f, int ms)
{
    for (uint64_t end = mono_ms() + (uint64_t)ms; mono_ms() < end;)
        pump(f, 10);
}

#define WAIT_FOR(f, cond)                                                                          \
    do {                                                                                           \
        uint64_t end_ = mono_ms() + DEADLINE_MS;                                                   \
        while (!(cond) && mono_ms() < end_)                                                        \
            pump(f, 10);                                                                           \
        assert_true(cond);                                                                         \
    } while (0)

/* A group-commit item that enqueues key (or replays it), then fails when asked to. */
typedef struct op {
    txq_item_t item;
    fx_t *f;
    const char *key;
    bool replay, fail, done;
    int rc;
} op_t;

static int op_apply(txq_item_t *item, MDB_txn *txn)
{
    op_t *o = (op_t *)item;
    char body[128];
    int n = snprintf(body, sizeof body, "{\"workOrder\":\"%s\"}", o->key);
    int rc = o->replay ? connector_dead_replay(o->f->c, txn, o->key, strlen(o->key))
                       : connector_enqueue(o->f->c, txn, o->key, strlen(o->key), body, (size_t)n,
                                           "application/json");
    return rc ? rc : o->fail ? HL_EINVAL : 0;
}

static void op_done(txq_item_t *item, int rc)
{
    op_t *o = (op_t *)item;
    o->rc = rc;
    o->done = true;
}

static int run_op(fx_t *f, const char *key, bool replay, bool fail)
{
    op_t o = {.item = {.apply = op_apply, .done = op_done},
              .f = f,
              .key = key,
              .replay = replay,
              .fail = fail};
    txq_submit(f->txq, &o.item);
    WAIT_FOR(f, o.done);
    return o.rc;
}

static const connector_stats_t *stats(fx_t *f)
{
    return connector_stats(f->c);
}

static double sent(fx_t *f, const char *outcome)
{
    metric_t *m =
        metrics_counter(f->metrics, "hotline_connector_sent_total", NULL, "connector,outcome");
    return metric_value(m, (const char *const[]){"crew", outcome});
}

static uint64_t dead_count(fx_t *f)
{
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(connector_dead_count(f->c, txn, &n), 0);
    store_read_end(&txn);
    return n;
}

/* ---- tests ---- */

static void test_delivered_once_signed(void **state)
{
    fx_t *f = *state;
    assert_int_equal(run_op(f, "wo-1", false, false), 0);
    WAIT_FOR(f, stats(f)->delivered == 1);
    pump_for(f, 100);
    assert_int_equal(stats(f)->started, 1);
    assert_int_equal(sim_count("unique"), 1);
    assert_int_equal(sim_count("duplicates"), 0);
    assert_int_equal(sim_count("rejected"), 0);
    char keys[256];
    sim_keys(keys, sizeof keys);
    assert_string_equal(keys, "wo-1");
    assert_true(sent(f, "delivered") == 1.0);
    char *text;
    size_t len;
    assert_int_equal(metrics_render(f->metrics, &text, &len), 0);
    assert_non_null(
        strstr(text, "hotline_connector_delivery_seconds_count{connector=\"crew\"} 1\n"));
    free(text);
    assert_true(sent(f, "retried") == 0.0);
    assert_int_equal(stats(f)->in_flight, 0);
    /* Delivered is forgotten: the same key may be sent again (the receiver dedupes). */
    assert_int_equal(run_op(f, "wo-1", false, false), 0);
    WAIT_FOR(f, stats(f)->delivered == 2);
    assert_int_equal(sim_count("unique"), 1);
    assert_int_equal(sim_count("duplicates"), 1);
}

static void test_receiver_down_then_back(void **state)
{
    fx_t *f = *state;
    sim_admin("/admin/down?ms=500"); /* shorter than 8 attempts take */
    assert_int_equal(run_op(f, "wo-down", false, false), 0);
    WAIT_FOR(f, stats(f)->retried >= 2);
    WAIT_FOR(f, stats(f)->delivered == 1);
    assert_int_equal(stats(f)->dead, 0);
    assert_true(sent(f, "retried") >= 2.0);
    assert_int_equal(sim_count("unique"), 1);
    assert_int_equal(sim_count("duplicates"), 0);
}

static void test_timeout_is_a_failure(void **state)
{
    fx_t *f = *state;
    sim_admin("/admin/mode?delay_ms=1500"); /* longer than the 1 s timeout */
    assert_int_equal(run_op(f, "wo-slow", false, false), 0);
    WAIT_FOR(f, stats(f)->retried >= 1);
    sim_admin("/admin/mode");
    WAIT_FOR(f, stats(f)->delivered == 1);
    assert_int_equal(sim_count("unique"), 1); /* the late first try counts as the one */
}

typedef struct dead_seen {
    int n;
    char key[64], error[200];
    unsigned attempts;
} dead_seen_t;

static int on_dead(void *ctx, const connector_dead_t *d)
{
    dead_seen_t *s = ctx;
    s->n++;
    snprintf(s->key, sizeof s->key, "%.*s", (int)d->key_len, d->key);
    snprintf(s->error, sizeof s->error, "%.*s", (int)d->last_error_len, d->last_error);
    s->attempts = d->attempts;
    return 0;
}

static dead_seen_t list_dead(fx_t *f)
{
    dead_seen_t s = {0};
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(connector_dead_list(f->c, txn, on_dead, &s), 0);
    store_read_end(&txn);
    return s;
}

static void test_dead_letter_replay(void **state)
{
    fx_t *f = *state;
    close_conn(f);
    f->opts.max_attempts = 3;
    open_conn(f);
    sim_admin("/admin/mode?status=503");
    assert_int_equal(run_op(f, "wo-dead", false, false), 0);
    WAIT_FOR(f, stats(f)->dead == 1);
    assert_int_equal(stats(f)->retried, 2);
    assert_int_equal(sim_count("failed"), 3);
    dead_seen_t s = list_dead(f);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.key, "wo-dead");
    assert_int_equal(s.attempts, 3);
    assert_true(strncmp(s.error, "HTTP 503", 8) == 0);
    assert_int_equal(dead_count(f), 1);
    metric_t *g = metrics_gauge(f->metrics, "hotline_connector_dead_letters", NULL, "connector");
    assert_true(metric_value(g, (const char *const[]){"crew"}) == 1.0);
    assert_int_equal(run_op(f, "wo-dead", false, false), HL_EEXIST); /* not queued twice */
    assert_int_equal(run_op(f, "wo-none", true, false), HL_ENOTFOUND);

    sim_admin("/admin/mode");
    assert_int_equal(run_op(f, "wo-dead", true, false), 0);
    WAIT_FOR(f, stats(f)->delivered == 1);
    assert_int_equal(dead_count(f), 0);
    assert_true(metric_value(g, (const char *const[]){"crew"}) == 0.0);
    assert_int_equal(sim_count("unique"), 1);
    assert_true(sent(f, "dead") == 1.0);
}

static void test_wrong_key_refused(void **state)
{
    fx_t *f = *state;
    close_conn(f);
    f->opts.max_attempts = 2;
    f->opts.hmac_key = "not-the-receivers-key";
    f->opts.hmac_key_len = strlen(f->opts.hmac_key);
    open_conn(f);
    assert_int_equal(run_op(f, "wo-forged", false, false), 0);
    WAIT_FOR(f, stats(f)->dead == 1);
    assert_int_equal(sim_count("rejected"), 2);
    assert_int_equal(sim_count("unique"), 0);
    dead_seen_t s = list_dead(f);
    assert_true(strncmp(s.error, "HTTP 401", 8) == 0);
}

static void test_rolled_back_enqueue_sends_nothing(void **state)
{
    fx_t *f = *state;
    assert_int_equal(run_op(f, "wo-ghost", false, true), HL_EINVAL);
    assert_int_equal(run_op(f, "wo-real", false, false), 0);
    WAIT_FOR(f, stats(f)->delivered == 1);
    pump_for(f, 300);
    assert_int_equal(stats(f)->started, 1);
    assert_int_equal(sim_count("received"), 1);
    char keys[256];
    sim_keys(keys, sizeof keys);
    assert_string_equal(keys, "wo-real");
}

static void test_lease_survives_restart(void **state)
{
    fx_t *f = *state;
    close_conn(f);
    f->opts.timeout_ms = 5000;
    open_conn(f);
    sim_admin("/admin/mode?delay_ms=3000"); /* taken on arrival, answered late */
    assert_int_equal(run_op(f, "wo-lease", false, false), 0);
    WAIT_FOR(f, stats(f)->in_flight == 1);
    for (uint64_t end = mono_ms() + DEADLINE_MS; sim_count("received") < 1 && mono_ms() < end;)
        pump_for(f, 20);
    assert_int_equal(sim_count("received"), 1);
    close_conn(f); /* mid-flight: the entry stays leased in the store */
    sim_admin("/admin/mode");
    open_conn(f);
    pump_for(f, 300);
    assert_int_equal(stats(f)->started, 0); /* the lease has not ended */
    hclock_advance_ms(f->clock, 6000);      /* past now + timeout + margin */
    WAIT_FOR(f, stats(f)->delivered == 1);
    assert_int_equal(sim_count("unique"), 1);
    assert_int_equal(sim_count("duplicates"), 1); /* sent twice, taken once */
}

/* Twenty deliveries in one commit, two on the wire at most: eight are held in memory, the
 * others wait in the store for their turn. */
static void test_in_flight_is_bounded(void **state)
{
    fx_t *f = *state;
    close_conn(f);
    f->opts.max_in_flight = 2;
    open_conn(f);
    sim_admin("/admin/mode?delay_ms=100");
    enum { N = 20 };
    op_t ops[N];
    char keys[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "wo-many-%d", i);
        ops[i] = (op_t){.item = {.apply = op_apply, .done = op_done}, .f = f, .key = keys[i]};
        txq_submit(f->txq, &ops[i].item);
    }
    unsigned most = 0;
    for (uint64_t end = mono_ms() + DEADLINE_MS; stats(f)->delivered < N && mono_ms() < end;) {
        pump(f, 10);
        most = stats(f)->running > most ? stats(f)->running : most;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(ops[i].rc, 0);
    assert_int_equal(stats(f)->delivered, N);
    assert_true(most >= 1 && most <= 2);
    assert_true(stats(f)->deferred > 0);
    assert_int_equal(sim_count("unique"), N);
    assert_int_equal(sim_count("duplicates"), 0);
}

/* The lease ends while the answer is still coming: the entry fires again, and is only
 * leased again, not sent a second time. */
static void test_lease_extended_while_on_the_wire(void **state)
{
    fx_t *f = *state;
    close_conn(f);
    f->opts.timeout_ms = 5000;
    open_conn(f);
    sim_admin("/admin/mode?delay_ms=1000");
    assert_int_equal(run_op(f, "wo-long", false, false), 0);
    WAIT_FOR(f, stats(f)->in_flight == 1);
    hclock_advance_ms(f->clock, 6000); /* past the lease: the entry fires while on the wire */
    WAIT_FOR(f, stats(f)->delivered == 1);
    assert_int_equal(stats(f)->started, 1);
    assert_int_equal(sim_count("received"), 1);
    assert_int_equal(sim_count("duplicates"), 0);
    metric_t *fired = metrics_counter(f->metrics, "hotline_sched_fired_total", NULL, "sched");
    assert_true(metric_value(fired, (const char *const[]){"connector.crew"}) >= 2.0);
}

static void test_rejects_bad_input(void **state)
{
    fx_t *f = *state;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(connector_enqueue(f->c, txn, "a b", 3, "x", 1, "text/plain"), HL_EINVAL);
    assert_int_equal(connector_enqueue(f->c, txn, "", 0, "x", 1, "text/plain"), HL_EINVAL);
    assert_int_equal(connector_enqueue(f->c, txn, "k", 1, "x", 1, "text/plain\r\nX: 1"), HL_EINVAL);
    char *big = calloc(1, (1u << 20) + 1);
    assert_int_equal(connector_enqueue(f->c, txn, "k", 1, big, (1u << 20) + 1, "text/plain"),
                     HL_ETOOBIG);
    free(big);
    store_write_abort(&txn);
    connector_t *c = NULL;
    connector_opts_t o = f->opts;
    o.hmac_key_len = 8;
    assert_int_equal(connector_create(&c, &f->loop, f->store, f->txq, f->clock, &o), HL_EINVAL);
    o = f->opts;
    o.url = "ftp://127.0.0.1/";
    assert_int_equal(connector_create(&c, &f->loop, f->store, f->txq, f->clock, &o), HL_EINVAL);
    o = f->opts;
    o.name = "Crew";
    assert_int_equal(connector_create(&c, &f->loop, f->store, f->txq, f->clock, &o), HL_EINVAL);
    assert_null(c);
}

int main(void)
{
    slog_init("test_connector", SLOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivered_once_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receiver_down_then_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_is_a_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolled_back_enqueue_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_flight_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_extended_while_on_the_wire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, sim_start, sim_stop);
}
