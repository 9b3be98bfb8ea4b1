/* testconsumer: follows the test producer's feed and records every TestEvent it applies, so
 * tests can check "every event exactly once and in order" after any number of crashes.
 * GET /v1/state answers {"count", "lastSeq", "maxN", "duplicates", "outOfOrder"}:
 * duplicates counts an n applied twice, outOfOrder an event whose seq is not last + 1. */
#include "service.h"

#include "hl_error.h"

#include <stdlib.h>
#include <string.h>

static const char DEFAULTS[] =
    "{\"runtime\": {\"name\": \"consumer\", \"dataDir\": \"var/consumer\","
    " \"busEndpoint\": \"tcp://127.0.0.1:*\", \"http\": {\"port\": 0},"
    " \"feeds\": [{\"name\": \"producer\", \"endpoint\": \"tcp://127.0.0.1:8100\","
    " \"batchMax\": 1000, \"waitMs\": 1000}]}}";

#define LAT_MAX 200000

typedef struct consumer {
    service_t *svc;
    /* Append-to-commit latency (benchmarks): append times of events applied in the batch
     * being committed, turned into latencies by the commit hook. */
    uint64_t pending_mono[4096];
    uint64_t pending_seq[4096];
    size_t npending;
    uint64_t *lat_ns;  /* recorded latencies, at most LAT_MAX */
    size_t nlat;
    MDB_dbi seen;  /* n -> seq: every applied event */
    MDB_dbi stats; /* "stats" -> count, last_seq, max_n, duplicates, out_of_order (BE u64) */
} consumer_t;

typedef struct counts {
    uint64_t count, last_seq, max_n, duplicates, out_of_order;
} counts_t;

static int counts_get(consumer_t *c, MDB_txn *txn, counts_t *out)
{
    memset(out, 0, sizeof *out);
    MDB_val v;
    int rc = store_get(txn, c->stats, "stats", 5, &v);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != 40)
        return HL_ECORRUPT;
    const uint8_t *p = v.mv_data;
    out->count = store_be64_get(p);
    out->last_seq = store_be64_get(p + 8);
    out->max_n = store_be64_get(p + 16);
    out->duplicates = store_be64_get(p + 24);
    out->out_of_order = store_be64_get(p + 32);
    return 0;
}

static int apply(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    consumer_t *c = ctx;
    if (ev->body_case != HOTLINE__EVENT__BODY_TEST)
        return 0;
    counts_t k;
    int rc = counts_get(c, txn, &k);
    if (rc)
        return rc;
    uint8_t key[8], val[8];
    store_be64_put(key, ev->test->n);
    store_be64_put(val, ev->seq);
    MDB_val old;
    rc = store_get(txn, c->seen, key, 8, &old);
    if (rc == 0)
        k.duplicates++;
    else if (rc != HL_ENOTFOUND)
        return rc;
    if (ev->seq != k.last_seq + 1)
        k.out_of_order++;
    k.last_seq = ev->seq;
    if (ev->test->n > k.max_n)
        k.max_n = ev->test->n;
    k.count++;
    if (ev->test->append_mono_ns && c->npending < 4096) {
        /* A re-applied batch (after map growth) records the same seq again: keep one. */
        if (c->npending == 0 || c->pending_seq[c->npending - 1] < ev->seq) {
            c->pending_mono[c->npending] = ev->test->append_mono_ns;
            c->pending_seq[c->npending++] = ev->seq;
        }
    }
    rc = store_put(txn, c->seen, key, 8, val, 8, 0);
    if (rc)
        return rc;
    uint8_t buf[40];
    store_be64_put(buf, k.count);
    store_be64_put(buf + 8, k.last_seq);
    store_be64_put(buf + 16, k.max_n);
    store_be64_put(buf + 24, k.duplicates);
    store_be64_put(buf + 32, k.out_of_order);
    return store_put(txn, c->stats, "stats", 5, buf, 40, 0);
}

static void on_state(httpd_req_t *req, void *ctx)
{
    consumer_t *c = ctx;
    MDB_txn *txn;
    counts_t k;
    int rc = store_read_begin(service_store(c->svc), &txn);
    if (!rc) {
        rc = counts_get(c, txn, &k);
        store_read_end(&txn);
    }
    if (rc) {
        service_http_error(req, 500, NULL, "cannot read state: %s", hl_strerror(rc));
        return;
    }
    service_http_json(req, 200,
                      json_pack("{s:I, s:I, s:I, s:I, s:I}", "count", (json_int_t)k.count,
                                "lastSeq", (json_int_t)k.last_seq, "maxN", (json_int_t)k.max_n,
                                "duplicates", (json_int_t)k.duplicates, "outOfOrder",
                                (json_int_t)k.out_of_order));
}

static void after_commit(void *ctx)
{
    consumer_t *c = ctx;
    uint64_t now = hclock_mono_ns();
    for (size_t i = 0; i < c->npending && c->nlat < LAT_MAX; i++)
        c->lat_ns[c->nlat++] = now - c->pending_mono[i];
    c->npending = 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* GET /v1/latency[?reset=1]: append-to-commit latency percentiles of recorded events. */
static void on_latency(httpd_req_t *req, void *ctx)
{
    consumer_t *c = ctx;
    qsort(c->lat_ns, c->nlat, sizeof *c->lat_ns, cmp_u64);
    double p50 = c->nlat ? (double)c->lat_ns[c->nlat / 2] / 1000.0 : 0;
    double p99 = c->nlat ? (double)c->lat_ns[c->nlat * 99 / 100] / 1000.0 : 0;
    json_t *body = json_pack("{s:I, s:f, s:f}", "count", (json_int_t)c->nlat, "p50Us", p50,
                             "p99Us", p99);
    char reset[4];
    if (httpd_query_param(httpd_req_query(req), "reset", reset, sizeof reset) > 0)
        c->nlat = 0;
    service_http_json(req, 200, body);
}

static int init(service_t *svc, void **state)
{
    consumer_t *c = calloc(1, sizeof *c);
    if (!c)
        return HL_ENOMEM;
    c->svc = svc;
    *state = c;
    c->lat_ns = malloc(LAT_MAX * sizeof *c->lat_ns);
    if (!c->lat_ns)
        return HL_ENOMEM;
    int rc = store_db(service_store(svc), "seen", 0, &c->seen);
    if (!rc)
        rc = store_db(service_store(svc), "stats", 0, &c->stats);
    static const service_route_t routes[] = {
        {"GET", "/v1/state", AUTH_ANY_ROLE, on_state},
        {"GET", "/v1/latency", AUTH_ANY_ROLE, on_latency},
    };
    if (!rc)
        rc = service_routes(svc, routes, 2, c);
    if (!rc)
        rc = txq_on_commit(service_txq(svc), after_commit, c);
    if (!rc)
        rc = service_follow(svc, "producer", apply, c);
    return rc;
}

static void fini(void *state)
{
    consumer_t *c = state;
    free(c->lat_ns);
    free(c);
}

static const service_desc_t DESC = {
    .name = "consumer",
    .summary = "Runtime test consumer: applies the producer's feed, checks exactly-once.",
    .config_desc = &hotline__basic_config__descriptor,
    .default_config_json = DEFAULTS,
    .init = init,
    .fini = fini,
};

int main(int argc, char **argv)
{
    return service_main(argc, argv, &DESC);
}
