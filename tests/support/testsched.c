/* testsched: a service whose only work is the shared scheduler. At its first start it arms
 * TESTSCHED_N entries (default 100000), entry i due at start + i * TESTSCHED_SPREAD_MS / N on
 * the real clock; each entry, when it fires, appends a TestEvent {n: i, payload: its due
 * instant, 8 bytes big-endian} in the same transaction that removes it. The scheduler's crash
 * test kills it during the storm and checks the log: every entry once, none early. */
#include "service.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char DEFAULTS[] =
    "{\"runtime\": {\"name\": \"testsched\", \"dataDir\": \"var/testsched\","
    " \"busEndpoint\": \"tcp://127.0.0.1:*\", \"http\": {\"port\": 0}}}";

typedef struct app {
    service_t *svc;
    scheduler_t *sched;
} app_t;

static int fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    app_t *a = ctx;
    uint64_t n = 0;
    for (size_t i = 0; i < e->id_len; i++) /* the id is the entry number in decimal */
        n = n * 10 + (uint64_t)(((const char *)e->id)[i] - '0');
    uint8_t due[8];
    store_be64_put(due, (uint64_t)e->due_ms);
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    te.n = n;
    te.payload.data = due;
    te.payload.len = 8;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TEST;
    ev.test = &te;
    return evlog_append(service_log(a->svc), txn, &ev);
}

/* Arm the entries once: a marker in the same store says it was done. */
static int arm_once(app_t *a)
{
    const char *env_n = getenv("TESTSCHED_N"), *env_spread = getenv("TESTSCHED_SPREAD_MS");
    uint64_t n = env_n ? strtoull(env_n, NULL, 10) : 100000;
    int64_t spread = env_spread ? strtoll(env_spread, NULL, 10) : 10000;
    store_t *st = service_store(a->svc);
    MDB_dbi meta;
    MDB_txn *txn;
    int rc = store_db(st, "testsched", 0, &meta);
    if (!rc)
        rc = store_write_begin(st, &txn);
    if (rc)
        return rc;
    MDB_val v;
    if (store_get(txn, meta, "armed", 5, &v) == 0) {
        store_write_abort(&txn);
        return 0;
    }
    int64_t start = hclock_now_ms(service_clock(a->svc)) + 1000;
    for (uint64_t i = 1; !rc && i <= n; i++) {
        char id[24];
        int len = snprintf(id, sizeof id, "%llu", (unsigned long long)i);
        rc = scheduler_put(a->sched, txn, id, (size_t)len, start + (int64_t)i * spread / (int64_t)n,
                           NULL, 0);
    }
    if (!rc)
        rc = store_put(txn, meta, "armed", 5, "1", 1, 0);
    if (!rc)
        rc = store_write_commit(st, &txn);
    else
        store_write_abort(&txn);
    if (!rc)
        SLOG_INFO("testsched_armed", "entries_count=%llu first_due_ms=%lld spread_ms=%lld",
                  (unsigned long long)n, (long long)start, (long long)spread);
    return rc;
}

static int init(service_t *svc, void **state)
{
    app_t *a = calloc(1, sizeof *a);
    if (!a)
        return HL_ENOMEM;
    a->svc = svc;
    *state = a;
    scheduler_opts_t o = {.name = "testsched", .fire = fire, .ctx = a};
    int rc = service_scheduler(svc, &o, &a->sched);
    return rc ? rc : arm_once(a);
}

static void fini(void *state)
{
    free(state);
}

static const service_desc_t DESC = {
    .name = "testsched",
    .summary = "Scheduler test service: arms numbered entries once and logs each as it fires.",
    .config_desc = &hotline__basic_config__descriptor,
    .default_config_json = DEFAULTS,
    .init = init,
    .fini = fini,
};

int main(int argc, char **argv)
{
    return service_main(argc, argv, &DESC);
}
