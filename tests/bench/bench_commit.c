/* bench_commit: durable appends per second through the runtime's commit path (txq group
 * commit + evlog), at group sizes 1, 10, 100 and 1000, in full-sync mode, beside a raw LMDB
 * loop committing 1000 puts per transaction.
 * Usage: bench_commit [DIR] [SECONDS_PER_CASE] [PAYLOAD_BYTES] */
#include "evlog.h"
#include "hl_error.h"
#include "txq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct item {
    txq_item_t base;
    evlog_t *log;
    uint8_t *payload;
    size_t len;
    unsigned *done_count;
} item_t;

static int apply(txq_item_t *it, MDB_txn *txn)
{
    item_t *i = (item_t *)it;
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    te.payload.data = i->payload;
    te.payload.len = i->len;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TEST;
    ev.test = &te;
    return evlog_append(i->log, txn, &ev);
}

static void done(txq_item_t *it, int rc)
{
    item_t *i = (item_t *)it;
    if (rc == 0)
        (*i->done_count)++;
}

static int run_case(const char *dir, unsigned group, double secs, size_t payload_len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/commit-%u", dir, group);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        return 1;
    store_t *store;
    hclock_t *clock;
    evlog_t *log;
    txq_t *q;
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_opts_t so = {.path = path, .map_size = 1u << 30, .sync = STORE_SYNC_FULL};
    evlog_opts_t lo = {.source = "bench", .retention_ms = 3600000};
    if (store_open(&store, &so) || hclock_create(&clock, false) ||
        evlog_open(&log, store, clock, &lo) || txq_create(&q, &loop, store, 100000))
        return 1;
    uint8_t *payload = malloc(payload_len);
    memset(payload, 'p', payload_len);
    item_t *items = calloc(group, sizeof *items);
    unsigned done_count = 0;
    for (unsigned i = 0; i < group; i++) {
        items[i] = (item_t){.base = {.apply = apply, .done = done},
                            .log = log, .payload = payload, .len = payload_len,
                            .done_count = &done_count};
    }
    uint64_t start = hclock_mono_ns(), end = start + (uint64_t)(secs * 1e9);
    unsigned long commits = 0;
    while (hclock_mono_ns() < end) {
        for (unsigned i = 0; i < group; i++)
            txq_submit(q, &items[i].base);
        txq_flush(q);
        commits++;
    }
    double elapsed = (double)(hclock_mono_ns() - start) / 1e9;
    printf("{\"bench\": \"group_commit\", \"group\": %u, \"payload_bytes\": %zu, "
           "\"commits_per_s\": %.0f, \"appends_per_s\": %.0f, \"acked\": %u}\n",
           group, payload_len, commits / elapsed, done_count / elapsed, done_count);
    txq_destroy(&q);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    evlog_close(&log);
    store_close(&store);
    hclock_destroy(&clock);
    free(items);
    free(payload);
    if (system(cmd) != 0)
        return 1;
    return 0;
}

/* Raw LMDB, no runtime: 1000 puts of payload_len bytes per durable transaction. */
static int run_raw(const char *dir, double secs, size_t payload_len)
{
    char path[4096], cmd[4200];
    snprintf(path, sizeof path, "%s/raw", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        return 1;
    store_t *store;
    store_opts_t so = {.path = path, .map_size = 1u << 30, .sync = STORE_SYNC_FULL};
    MDB_dbi db;
    if (store_open(&store, &so) || store_db(store, "raw", 0, &db))
        return 1;
    uint8_t *payload = calloc(1, payload_len);
    uint64_t key = 0, start = hclock_mono_ns(), end = start + (uint64_t)(secs * 1e9);
    unsigned long records = 0;
    while (hclock_mono_ns() < end) {
        MDB_txn *txn;
        if (store_write_begin(store, &txn))
            return 1;
        for (int i = 0; i < 1000; i++) {
            uint8_t k[8];
            store_be64_put(k, ++key);
            if (store_put(txn, db, k, 8, payload, payload_len, MDB_APPEND))
                return 1;
        }
        if (store_write_commit(store, &txn))
            return 1;
        records += 1000;
    }
    double elapsed = (double)(hclock_mono_ns() - start) / 1e9;
    printf("{\"bench\": \"raw_lmdb\", \"records_per_txn\": 1000, \"payload_bytes\": %zu, "
           "\"records_per_s\": %.0f}\n", payload_len, records / elapsed);
    store_close(&store);
    free(payload);
    return system(cmd) != 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    double secs = argc > 2 ? atof(argv[2]) : 3.0;
    size_t payload = argc > 3 ? (size_t)atol(argv[3]) : 200;
    static const unsigned groups[] = {1, 10, 100, 1000};
    for (size_t i = 0; i < sizeof groups / sizeof *groups; i++)
        if (run_case(dir, groups[i], secs, payload))
            return 1;
    return run_raw(dir, secs, payload);
}
