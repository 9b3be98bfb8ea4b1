/* bench_sla_clocks: the sla service's clocks at size (default 10,000,000 open). sla runs
 * in-process on its public API (sla.h: sla_create with a scheduler of its own, sla_apply fed
 * through the group commit as the feed client does) against a store in a new directory (full
 * sync, as in production), on a settable clock set to Wed 2026-11-25 09:00 +08:00. That clock
 * runs at real speed from there: due times are the same on every run, and lateness is real time.
 *   1. fill: OPEN clocks, OPEN / 2 tickets dispatched (a SIGN and a REPLY clock each), in
 *      transactions of 10,000 TicketDispatched, on the catch-all row of the service's default
 *      policies (1 and 5 working days, warned 1 working day before: nothing falls due during
 *      the run); progress every 10% on stderr. Prints the clocks started per second.
 *   2. resident memory (VmRSS, RssAnon, RssFile) before and after the fill, and the LMDB data
 *      file's size (apparent and allocated).
 *   3. cancel: 100,000 SIGN clocks stopped (TicketSigned on tickets spread over the open ones)
 *      in transactions of 10,000, per second.
 *   4. storm: 50,000 more tickets (100,000 clocks) in category B01, whose row (added to the
 *      defaults here: 1-minute limits, no warning, no reminder) breaches both clocks of a ticket at once;
 *      their event times put the 100,000 breaches due evenly over 2 s, a few seconds after
 *      they are fed. Each SlaBreached read back from sla's log gives two latenesses: appended
 *      (the event's time_ms - due_ms, inside the scheduler's pass) and visible (the first
 *      commit holding it - due_ms). Target: p99 under 100 ms.
 * JSON lines, then a summary (lines starting with #).
 * Usage: bench_sla_clocks [DIR] [OPEN_CLOCKS]: the store goes in a new directory under DIR
 * (default /tmp), removed at the end. */
#include "hl_error.h"
#include "pbjson.h"
#include "sla.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 10000          /* events per transaction */
#define CANCEL 100000        /* clocks stopped at size */
#define STORM_TICKETS 50000  /* two clocks each */
#define STORM_SPAN_MS 2000   /* the breaches fall due evenly over this */
#define STORM_LIMIT_MS 60000 /* the B row's sign and reply limits: 1 minute */
/* Primes: i * stride mod tickets visits distinct tickets for i < tickets (stride coprime). */
#define STRIDE 1000003u
#define STRIDE_ALT 999983u
#define UNIT "water-north"

typedef struct bench {
    store_t *store;
    hclock_t *clock;
    evlog_t *log;
    uv_loop_t loop;
    uv_timer_t keep; /* sla's scheduler timer is unref'd: this keeps UV_RUN_ONCE polling */
    txq_t *txq;
    sla_t *sla;
    Hotline__SlaConfig *defaults; /* the service's embedded defaults, decoded */
    Hotline__SlaConfig cfg;       /* the defaults plus the storm's row */
    Hotline__SlaPolicy **policies;
    Hotline__SlaPolicy storm;
    Hotline__Limit storm_limit;
    Hotline__SlaLadder storm_ladder; /* no reminder: the storm is the breaches alone */
    unsigned tickets; /* tickets of the fill */
    unsigned stride;  /* the cancels' walk over them */
    /* During the storm: the log's head after each commit, and when. */
    bool watch;
    uint64_t *commit_head;
    int64_t *commit_ms;
    size_t ncommits, commits_cap;
} bench_t;

enum { FEED_FILL, FEED_SIGN, FEED_STORM };

/* One transaction's worth of events, applied as one group-commit item. */
typedef struct feed {
    txq_item_t item; /* first: the item is the struct */
    bench_t *b;
    int kind;
    unsigned from, n;
    int64_t at_ms; /* the events' time (the storm's: of its first ticket) */
    int rc;
    bool done;
} feed_t;

static double now_s(void)
{
    return (double)hclock_mono_ns() / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_sla_clocks: %s: %s\n", what, hl_strerror(rc));
    exit(1);
}

static void fill_id(char *out, size_t size, unsigned i)
{
    snprintf(out, size, "20261125-1-%07u", i);
}

static int feed_apply(txq_item_t *it, MDB_txn *txn)
{
    feed_t *f = (feed_t *)it;
    for (unsigned i = f->from; i < f->from + f->n; i++) {
        char id[32];
        Hotline__Event ev = HOTLINE__EVENT__INIT;
        ev.source = "dispatch";
        ev.seq = i + 1u;
        ev.ticket_id = id;
        ev.time_ms = f->at_ms;
        Hotline__TicketDispatched d = HOTLINE__TICKET_DISPATCHED__INIT;
        Hotline__TicketSigned s = HOTLINE__TICKET_SIGNED__INIT;
        if (f->kind == FEED_SIGN) {
            fill_id(id, sizeof id, (unsigned)((uint64_t)i * f->b->stride % f->b->tickets));
            s.unit = UNIT;
            ev.body_case = HOTLINE__EVENT__BODY_TICKET_SIGNED;
            ev.ticket_signed = &s;
        } else {
            d.unit = UNIT;
            d.urgency = HOTLINE__URGENCY__URGENCY_NORMAL;
            if (f->kind == FEED_STORM) {
                snprintf(id, sizeof id, "storm-%06u", i);
                d.category_code = "B01";
                ev.time_ms += (int64_t)i * STORM_SPAN_MS / STORM_TICKETS;
            } else {
                fill_id(id, sizeof id, i);
                d.category_code = "W01"; /* normal urgency: the catch-all row */
            }
            ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
            ev.ticket_dispatched = &d;
        }
        int rc = sla_apply(f->b->sla, txn, &ev);
        if (rc)
            return rc;
    }
    return 0;
}

static void feed_done(txq_item_t *it, int rc)
{
    feed_t *f = (feed_t *)it;
    f->rc = rc;
    f->done = true;
}

/* Apply events from .. from + n - 1 in one transaction and wait for its commit. */
static void feed(bench_t *b, int kind, unsigned from, unsigned n, int64_t at_ms)
{
    feed_t f = {.item = {.apply = feed_apply, .done = feed_done}, .b = b, .kind = kind,
                .from = from, .n = n, .at_ms = at_ms};
    txq_submit(b->txq, &f.item);
    while (!f.done)
        uv_run(&b->loop, UV_RUN_ONCE);
    if (f.rc)
        die("feed", f.rc);
}

static void on_commit(void *ctx)
{
    bench_t *b = ctx;
    evlog_committed(b->log);
    if (!b->watch)
        return;
    if (b->ncommits == b->commits_cap) {
        size_t cap = b->commits_cap ? b->commits_cap * 2 : 1024;
        uint64_t *h = realloc(b->commit_head, cap * sizeof *h);
        if (h)
            b->commit_head = h;
        int64_t *t = realloc(b->commit_ms, cap * sizeof *t);
        if (t)
            b->commit_ms = t;
        if (!h || !t)
            die("commits", HL_ENOMEM);
        b->commits_cap = cap;
    }
    b->commit_head[b->ncommits] = evlog_head(b->log);
    b->commit_ms[b->ncommits++] = hclock_now_ms(b->clock);
}

static void keep_cb(uv_timer_t *h)
{
    (void)h;
}

typedef struct mem {
    long vm_rss, rss_anon, rss_file; /* kB */
} mem_t;

static mem_t mem_now(void)
{
    mem_t m = {-1, -1, -1};
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %ld", &m.vm_rss) == 1 ||
            sscanf(line, "RssAnon: %ld", &m.rss_anon) == 1)
            continue;
        sscanf(line, "RssFile: %ld", &m.rss_file);
    }
    if (f)
        fclose(f);
    return m;
}

static uint64_t running(bench_t *b, Hotline__SlaClock clock)
{
    MDB_txn *txn;
    uint64_t n = 0;
    if (store_read_begin(b->store, &txn) == 0) {
        if (sla_running_count(b->sla, txn, clock, &n))
            n = 0;
        store_read_end(&txn);
    }
    return n;
}

/* ---- the storm's breaches, read back from sla's log ---- */

typedef struct breaches {
    bench_t *b;
    uint64_t last_seq;
    double *appended, *visible; /* lateness, ms */
    size_t n, cap;
    int64_t first_ms, last_ms; /* appended */
} breaches_t;

/* When the commit holding seq ended: the first recorded head at or past it. */
static int64_t visible_ms(const bench_t *b, uint64_t seq)
{
    size_t lo = 0, hi = b->ncommits;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->commit_head[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->ncommits ? b->commit_ms[lo] : -1;
}

static int breach_visit(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    breaches_t *r = ctx;
    r->last_seq = seq;
    Hotline__Event *ev = hotline__event__unpack(NULL, len, bytes);
    if (!ev)
        return HL_ECORRUPT;
    if (ev->body_case == HOTLINE__EVENT__BODY_SLA_BREACHED && r->n < r->cap &&
        strncmp(ev->ticket_id, "storm-", 6) == 0) {
        int64_t due = ev->sla_breached->due_ms, seen = visible_ms(r->b, seq);
        r->appended[r->n] = (double)(ev->time_ms - due);
        r->visible[r->n++] = seen < 0 ? -1 : (double)(seen - due);
        if (!r->first_ms || ev->time_ms < r->first_ms)
            r->first_ms = ev->time_ms;
        if (ev->time_ms > r->last_ms)
            r->last_ms = ev->time_ms;
    }
    hotline__event__free_unpacked(ev, NULL);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct pct {
    double p50, p99, max;
} pct_t;

static pct_t percentiles(double *v, size_t n)
{
    if (!n)
        return (pct_t){-1, -1, -1};
    qsort(v, n, sizeof *v, cmp_double);
    return (pct_t){v[n / 2], v[n * 99 / 100], v[n - 1]};
}

/* The store's two files and its directory (made by mkdtemp: nothing else is in it). */
static void remove_store(const char *dir)
{
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

/* The service's default policies and one more: category B, 1-minute limits, no warning, no
 * reminder. */
static void make_config(bench_t *b)
{
    const char *json = sla_service.default_config_json;
    pbjson_error_t perr;
    if (pbjson_decode(&hotline__sla_config__descriptor, json, strlen(json), NULL,
                      (ProtobufCMessage **)&b->defaults, &perr))
        die("the default configuration", HL_EINVAL);
    size_t n = b->defaults->n_policies;
    b->policies = calloc(n + 1, sizeof *b->policies);
    if (!b->policies)
        die("config", HL_ENOMEM);
    memcpy(b->policies, b->defaults->policies, n * sizeof *b->policies);
    b->storm_limit = (Hotline__Limit)HOTLINE__LIMIT__INIT;
    b->storm_limit.value = STORM_LIMIT_MS / 60000;
    b->storm_limit.unit = HOTLINE__DURATION_UNIT__DURATION_MINUTES;
    b->storm = (Hotline__SlaPolicy)HOTLINE__SLA_POLICY__INIT;
    b->storm.name = "bench-storm";
    b->storm.category_prefix = "B";
    b->storm.sign = &b->storm_limit;
    b->storm.reply = &b->storm_limit;
    b->storm_ladder = (Hotline__SlaLadder)HOTLINE__SLA_LADDER__INIT;
    b->storm_ladder.reminder_percent = 100;
    b->storm.ladder = &b->storm_ladder;
    b->policies[n] = &b->storm;
    b->cfg = *b->defaults;
    b->cfg.policies = b->policies;
    b->cfg.n_policies = n + 1;
}

static void print_first_clock(bench_t *b)
{
    char id[32], due[48], warn[48];
    fill_id(id, sizeof id, 0);
    MDB_txn *txn;
    sla_clock_t c[2];
    int rc = store_read_begin(b->store, &txn);
    if (!rc)
        rc = sla_clock_get(b->sla, txn, id, 0, HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, &c[0]);
    if (!rc)
        rc = sla_clock_get(b->sla, txn, id, 0, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY, &c[1]);
    store_read_end(&txn);
    if (rc)
        die("the first clock", rc);
    for (int i = 0; i < 2; i++) {
        calendar_format_local(sla_calendar(b->sla), c[i].due_ms, due, sizeof due);
        calendar_format_local(sla_calendar(b->sla), c[i].warn_ms, warn, sizeof warn);
        printf("{\"bench\": \"sla_first_clock\", \"ticket\": \"%s\", \"clock\": \"%s\", "
               "\"policy\": \"%s\", \"limit\": \"%s\", \"due\": \"%s\", \"warn\": \"%s\"}\n",
               id, i ? "reply" : "sign", c[i].policy, c[i].limit, due, warn);
    }
}

int main(int argc, char **argv)
{
    if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: bench_sla_clocks [DIR] [OPEN_CLOCKS]\n");
        return 2;
    }
    const char *parent = argc > 1 ? argv[1] : "/tmp";
    char *end = NULL;
    unsigned long arg = argc > 2 ? strtoul(argv[2], &end, 10) : 10000000;
    if ((end && *end) || arg < 2 || arg > 20000000 || arg % 2) {
        fprintf(stderr, "bench_sla_clocks: OPEN_CLOCKS must be even, 2 to 20000000\n");
        return 2;
    }
    unsigned open = (unsigned)arg;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/hotline-bench-sla.XXXXXX", parent);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_sla_clocks: cannot make a directory in %s: %s\n", parent,
                strerror(errno));
        return 1;
    }
    bench_t b = {.tickets = open / 2};
    b.stride = b.tickets % STRIDE ? STRIDE : STRIDE_ALT;
    make_config(&b);
    /* About 1 kB per clock on disk: mapped at once, so the fill never waits on map growth. */
    size_t map = (size_t)open * 1200u;
    store_opts_t so = {.path = dir, .sync = STORE_SYNC_FULL,
                       .map_size = map < ((size_t)1 << 30) ? (size_t)1 << 30 : map};
    int rc = hclock_create(&b.clock, true);
    if (!rc)
        rc = store_open(&b.store, &so);
    evlog_opts_t lo = {.source = "sla", .retention_ms = 3600000};
    if (!rc)
        rc = evlog_open(&b.log, b.store, b.clock, &lo);
    if (rc)
        die("setup", rc);
    uv_loop_init(&b.loop);
    uv_timer_init(&b.loop, &b.keep);
    uv_timer_start(&b.keep, keep_cb, 1, 1);
    if ((rc = txq_create(&b.txq, &b.loop, b.store, 0)) ||
        (rc = txq_on_commit(b.txq, on_commit, &b)))
        die("txq", rc);
    sla_opts_t o = {.store = b.store, .log = b.log, .clock = b.clock, .cfg = &b.cfg,
                    .txq = b.txq, .loop = &b.loop};
    char err[512] = "";
    if ((rc = sla_create(&b.sla, &o, err, sizeof err)))
        die(*err ? err : "sla_create", rc);
    const calendar_t *cal = sla_calendar(b.sla);
    int64_t t0 = calendar_day_start_ms(cal, calendar_day_from_ymd(2026, 11, 25)) + 9 * 3600000;
    if ((rc = hclock_set_ms(b.clock, t0)))
        die("clock", rc);

    /* 1. fill */
    mem_t m0 = mem_now();
    double f0 = now_s();
    unsigned next_tenth = 1;
    for (unsigned i = 0; i < b.tickets; i += CHUNK) {
        unsigned n = b.tickets - i < CHUNK ? b.tickets - i : CHUNK;
        feed(&b, FEED_FILL, i, n, t0);
        while (next_tenth <= 10 && (uint64_t)(i + n) * 10 >= (uint64_t)b.tickets * next_tenth) {
            double t = now_s();
            fprintf(stderr, "bench_sla_clocks: %u%%: %u clocks open, %.1f s, %.0f clocks/s "
                    "overall\n", next_tenth * 10, (i + n) * 2, t - f0,
                    (double)(i + n) * 2 / (t - f0));
            next_tenth++;
        }
    }
    double fill_s = now_s() - f0;
    double arm = (double)open / fill_s;
    mem_t m1 = mem_now();
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct stat st = {0};
    stat(path, &st);
    uint64_t pending = 0;
    MDB_txn *txn;
    if (store_read_begin(b.store, &txn) == 0) {
        scheduler_count(sla_steps(b.sla), txn, &pending);
        store_read_end(&txn);
    }
    printf("{\"bench\": \"sla_fill\", \"open_clocks\": %u, \"tickets\": %u, \"seconds\": %.1f, "
           "\"clocks_started_per_s\": %.0f, \"events_per_txn\": %d, \"sync\": \"full\", "
           "\"running_sign\": %llu, \"running_reply\": %llu, \"pending_steps\": %llu, "
           "\"log_events\": %llu}\n",
           open, b.tickets, fill_s, arm, CHUNK,
           (unsigned long long)running(&b, HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN),
           (unsigned long long)running(&b, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY),
           (unsigned long long)pending, (unsigned long long)evlog_head(b.log));
    print_first_clock(&b);

    /* 2. memory and disk */
    printf("{\"bench\": \"sla_memory\", \"open_clocks\": %u, \"vm_rss_kb_before\": %ld, "
           "\"vm_rss_kb_after\": %ld, \"rss_anon_kb_before\": %ld, \"rss_anon_kb_after\": %ld, "
           "\"rss_file_kb_before\": %ld, \"rss_file_kb_after\": %ld, \"data_file_bytes\": %lld, "
           "\"data_file_allocated_bytes\": %lld}\n",
           open, m0.vm_rss, m1.vm_rss, m0.rss_anon, m1.rss_anon, m0.rss_file, m1.rss_file,
           (long long)st.st_size, (long long)st.st_blocks * 512);
    fflush(stdout);

    /* 3. cancel: SIGN stopped on CANCEL tickets spread over the open ones, on time */
    unsigned ncancel = b.tickets < CANCEL ? b.tickets : CANCEL;
    double c0 = now_s();
    for (unsigned i = 0; i < ncancel; i += CHUNK)
        feed(&b, FEED_SIGN, i, ncancel - i < CHUNK ? ncancel - i : CHUNK, t0 + 3600000);
    double cancel_s = now_s() - c0;
    uint64_t sign_left = running(&b, HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN);
    printf("{\"bench\": \"sla_cancel\", \"open_clocks\": %u, \"stopped\": %u, \"seconds\": %.2f, "
           "\"clocks_stopped_per_s\": %.0f, \"running_sign_after\": %llu}\n",
           open, ncancel, cancel_s, (double)ncancel / cancel_s, (unsigned long long)sign_left);
    fflush(stdout);

    /* 4. storm: fed with event times that put every breach due 2 s or more after the feed
     * is committed (twice the time the fill's rate says the feed takes, plus 2 s). */
    scheduler_t *steps = sla_steps(b.sla);
    uint64_t fired0 = scheduler_stats(steps)->fired, passes0 = scheduler_stats(steps)->passes;
    double feed_est_ms = 2.0 * STORM_TICKETS * 2 / arm * 1000.0;
    int64_t first_due = hclock_now_ms(b.clock) + 2000 + (int64_t)feed_est_ms;
    uint64_t h0 = evlog_head(b.log);
    for (unsigned i = 0; i < STORM_TICKETS; i += CHUNK)
        feed(&b, FEED_STORM, i, STORM_TICKETS - i < CHUNK ? STORM_TICKETS - i : CHUNK,
             first_due - STORM_LIMIT_MS);
    int64_t lead_ms = first_due - hclock_now_ms(b.clock);
    b.watch = true;
    double deadline = now_s() + (double)(lead_ms + STORM_SPAN_MS) / 1000.0 + 60;
    while (scheduler_stats(steps)->fired - fired0 < 2u * STORM_TICKETS && now_s() < deadline)
        uv_run(&b.loop, UV_RUN_ONCE);
    b.watch = false;
    breaches_t r = {.b = &b, .last_seq = h0, .cap = 2u * STORM_TICKETS};
    r.appended = calloc(r.cap, sizeof *r.appended);
    r.visible = calloc(r.cap, sizeof *r.visible);
    if (!r.appended || !r.visible)
        die("storm", HL_ENOMEM);
    if ((rc = store_read_begin(b.store, &txn)))
        die("read", rc);
    int got;
    while ((got = evlog_read(b.log, txn, r.last_seq, 10000, 1u << 24, breach_visit, &r)) > 0)
        ;
    store_read_end(&txn);
    if (got < 0)
        die("read the log", got);
    double span = (double)(r.last_ms - r.first_ms) / 1000.0;
    double fire_rate = span > 0 ? (double)r.n / span : 0;
    pct_t pa = percentiles(r.appended, r.n), pv = percentiles(r.visible, r.n);
    uint64_t passes = scheduler_stats(steps)->passes - passes0;
    printf("{\"bench\": \"sla_storm\", \"open_clocks\": %u, \"storm_clocks\": %d, "
           "\"due_within_ms\": %d, \"lead_ms\": %lld, \"fired\": %zu, \"fire_per_s\": %.0f, "
           "\"lateness_appended_p50_ms\": %.1f, \"lateness_appended_p99_ms\": %.1f, "
           "\"lateness_appended_max_ms\": %.1f, \"lateness_visible_p50_ms\": %.1f, "
           "\"lateness_visible_p99_ms\": %.1f, \"lateness_visible_max_ms\": %.1f, "
           "\"passes\": %llu, \"target_p99_ms\": 100}\n",
           open, 2 * STORM_TICKETS, STORM_SPAN_MS, (long long)lead_ms, r.n, fire_rate, pa.p50,
           pa.p99, pa.max, pv.p50, pv.p99, pv.max, (unsigned long long)passes);

    printf("# sla clocks at %u open (%u tickets), full sync, %d events per transaction:\n"
           "#   arm %.0f clocks/s (fill %.1f s); cancel %.0f clocks/s\n"
           "#   memory: VmRSS %ld -> %ld kB, RssAnon %ld -> %ld kB, RssFile %ld -> %ld kB; "
           "data.mdb %.2f GB (%.2f GB allocated)\n"
           "#   storm of %d clocks due within %d s (lead %.1f s): fired %zu at %.0f /s in %llu "
           "passes; lateness appended p50 %.1f / p99 %.1f / max %.1f ms, visible p50 %.1f / "
           "p99 %.1f / max %.1f ms (target p99 < 100 ms: %s)\n",
           open, b.tickets, CHUNK, arm, fill_s, (double)ncancel / cancel_s, m0.vm_rss,
           m1.vm_rss, m0.rss_anon, m1.rss_anon, m0.rss_file, m1.rss_file,
           (double)st.st_size / 1e9, (double)st.st_blocks * 512 / 1e9, 2 * STORM_TICKETS,
           STORM_SPAN_MS / 1000, (double)lead_ms / 1000, r.n, fire_rate,
           (unsigned long long)passes, pa.p50, pa.p99, pa.max, pv.p50, pv.p99, pv.max,
           r.n == 2u * STORM_TICKETS && pv.p99 < 100 ? "met" : "NOT met");

    sla_stop(b.sla);
    txq_destroy(&b.txq);
    uv_close((uv_handle_t *)&b.keep, NULL);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    sla_destroy(&b.sla);
    evlog_close(&b.log);
    store_close(&b.store);
    hclock_destroy(&b.clock);
    free(b.policies);
    protobuf_c_message_free_unpacked(&b.defaults->base, NULL);
    free(r.appended);
    free(r.visible);
    free(b.commit_head);
    free(b.commit_ms);
    remove_store(dir);
    return r.n == 2u * STORM_TICKETS ? 0 : 1;
}
