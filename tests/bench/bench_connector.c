/* bench_connector: the outbound connector against the crew-system simulator (crewsim, started
 * from the same bin directory) on 127.0.0.1. Enqueues N deliveries (default 20,000) in
 * transactions of 1,000 through the group commit, and times until every one is delivered,
 * for max_in_flight 1, 8, 32 and 128; prints deliveries per second, the requests started (more
 * than N means a resend), the entries deferred, and the simulator's count of unique keys and
 * duplicates. JSON lines.
 * Usage: [BENCH_SYNC=nosync] [BENCH_TRACE=1] bench_connector [DIR] [N] */
#include "connector.h"
#include "hl_error.h"
#include "slog.h"

#include "../support/crewsim_client.h"

#include <limits.h>

#define KEY "bench-key-0123456789abcdef"
#define PER_TXN 1000

typedef struct bench {
    store_t *store;
    hclock_t *clock;
    uv_loop_t loop;
    uv_timer_t keep;
    txq_t *txq;
    connector_t *c;
    unsigned run;   /* keys are unique across runs */
    unsigned next;  /* the next key number of this run */
    unsigned total; /* N */
    unsigned committed;
} bench_t;

typedef struct batch {
    txq_item_t item;
    bench_t *b;
    unsigned from, n;
} batch_t;

static double now_s(void)
{
    return (double)hclock_mono_ns() / 1e9;
}

static int batch_apply(txq_item_t *item, MDB_txn *txn)
{
    batch_t *bt = (batch_t *)item;
    for (unsigned i = 0; i < bt->n; i++) {
        char key[48], body[96];
        int kl = snprintf(key, sizeof key, "wo-%u-%u", bt->b->run, bt->from + i);
        int n = snprintf(body, sizeof body, "{\"workOrder\":\"%s\",\"crew\":\"north-3\"}", key);
        int rc =
            connector_enqueue(bt->b->c, txn, key, (size_t)kl, body, (size_t)n, "application/json");
        if (rc)
            return rc;
    }
    return 0;
}

static void batch_done(txq_item_t *item, int rc)
{
    batch_t *bt = (batch_t *)item;
    if (rc)
        fprintf(stderr, "bench_connector: enqueue failed: %s\n", hl_strerror(rc));
    else
        bt->b->committed += bt->n;
    free(bt);
}

static void keepalive_cb(uv_timer_t *h)
{
    (void)h;
}

static int run(bench_t *b, const char *dir, const crewsim_t *sim, unsigned max_in_flight)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/orders", (unsigned)sim->port);
    const char *sync = getenv("BENCH_SYNC");
    store_opts_t so = {.path = dir,
                       .sync = sync && strcmp(sync, "nosync") == 0 ? STORE_SYNC_NOSYNC
                                                                   : STORE_SYNC_FULL};
    connector_opts_t co = {.name = "bench",
                           .url = url,
                           .hmac_key = KEY,
                           .hmac_key_len = strlen(KEY),
                           .max_in_flight = max_in_flight};
    if (store_open(&b->store, &so) != 0) {
        fprintf(stderr, "bench_connector: cannot open a store in %s\n", dir);
        return 1;
    }
    uv_loop_init(&b->loop);
    uv_timer_init(&b->loop, &b->keep);
    uv_timer_start(&b->keep, keepalive_cb, 50, 50);
    if (txq_create(&b->txq, &b->loop, b->store, 0) ||
        connector_create(&b->c, &b->loop, b->store, b->txq, b->clock, &co) || connector_start(b->c))
        return 1;
    json_int_t unique0 = crewsim_count(sim, "unique"), dup0 = crewsim_count(sim, "duplicates");
    b->committed = 0;
    double t0 = now_s();
    for (unsigned from = 0; from < b->total; from += PER_TXN) {
        batch_t *bt = calloc(1, sizeof *bt);
        *bt = (batch_t){.item = {.apply = batch_apply, .done = batch_done},
                        .b = b,
                        .from = from,
                        .n = b->total - from < PER_TXN ? b->total - from : PER_TXN};
        txq_submit(b->txq, &bt->item);
    }
    uint64_t last_started = 0, last_delivered = 0, last_running = 0;
    while (connector_stats(b->c)->delivered < b->total && now_s() - t0 < 300) {
        uv_run(&b->loop, UV_RUN_ONCE);
        const connector_stats_t *p = connector_stats(b->c);
        if (getenv("BENCH_TRACE") && (p->started != last_started ||
                                      p->delivered != last_delivered || p->running != last_running))
            fprintf(stderr, "%.3f started=%llu delivered=%llu running=%u held=%u\n", now_s() - t0,
                    (unsigned long long)p->started, (unsigned long long)p->delivered, p->running,
                    p->in_flight);
        last_started = p->started;
        last_delivered = p->delivered;
        last_running = p->running;
    }
    double secs = now_s() - t0;
    const connector_stats_t *st = connector_stats(b->c);
    printf("{\"bench\":\"connector\",\"deliveries\":%u,\"max_in_flight\":%u,\"seconds\":%.3f,"
           "\"per_second\":%.0f,\"started\":%llu,\"deferred\":%llu,\"retried\":%llu,"
           "\"receiver_unique\":%lld,\"receiver_duplicates\":%lld}\n",
           b->total, max_in_flight, secs, (double)st->delivered / secs,
           (unsigned long long)st->started, (unsigned long long)st->deferred,
           (unsigned long long)st->retried, (long long)(crewsim_count(sim, "unique") - unique0),
           (long long)(crewsim_count(sim, "duplicates") - dup0));
    fflush(stdout);
    connector_stop(b->c);
    txq_destroy(&b->txq);
    uv_close((uv_handle_t *)&b->keep, NULL);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    uv_loop_close(&b->loop);
    connector_destroy(&b->c);
    store_close(&b->store);
    return 0;
}

int main(int argc, char **argv)
{
    char tmpl[] = "/var/tmp/hotline-bench-connector.XXXXXX";
    const char *dir = argc > 1 && argv[1][0] ? argv[1] : mkdtemp(tmpl);
    bench_t b = {.total = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20000};
    slog_init("bench_connector", SLOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    char path[PATH_MAX]; /* crewsim is beside this binary */
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 16);
    char *slash = n > 0 ? memchr(path, '/', (size_t)n) : NULL;
    if (slash) {
        path[n] = '\0';
        strcpy(strrchr(path, '/') + 1, "crewsim");
    }
    crewsim_t sim;
    if (!dir || !slash || crewsim_start(&sim, path, KEY) != 0 ||
        hclock_create(&b.clock, false) != 0) {
        fprintf(stderr, "bench_connector: cannot start crewsim or the clock\n");
        return 1;
    }
    int rc = 0;
    const unsigned widths[] = {1, 8, 32, 128};
    for (unsigned i = 0; i < 4 && !rc; i++) {
        b.run = i;
        rc = run(&b, dir, &sim, widths[i]);
    }
    crewsim_stop(&sim);
    hclock_destroy(&b.clock);
    return rc;
}
