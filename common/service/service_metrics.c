/* service_metrics: the metrics every service exports (commits, log, feeds, store, bus, HTTP
 * requests, build), and what feeds them: counters kept by the modules are brought up to date
 * when /metrics is read, HTTP answers are counted as httpd reports them, and the events
 * passing from a followed feed into the service are watched for the feed's lag in seconds.
 * Loop thread. */
#include "service_internal.h"

#include <stdio.h>

/* ---- HTTP requests ---- */

/* Requests whose route is not known: no route matched, or httpd refused them before routing.
 * One fixed value keeps the label bounded whatever paths clients try. */
#define ROUTE_UNMATCHED "unmatched"

static void http_metrics_init(service_t *svc)
{
    svc->m.http_requests = metrics_counter(
        svc->metrics, "hotline_http_requests_total",
        "HTTP requests answered, by method, route pattern (the access table's path; "
        "\"unmatched\" when no route took the request) and status, refusals included.",
        "method,route,status");
    svc->m.http_seconds = metrics_histogram(
        svc->metrics, "hotline_http_request_duration_seconds",
        "Time from a whole request having arrived to its answer, by method and route pattern.",
        "method,route", metrics_latency_buckets, METRICS_LATENCY_NBUCKETS);
}

void service_metrics_http_answer(void *ctx, const char *method, const char *route, int status,
                                 double seconds)
{
    service_t *svc = ctx;
    char code[12];
    snprintf(code, sizeof code, "%d", status);
    const char *r = route ? route : ROUTE_UNMATCHED;
    metric_inc(svc->m.http_requests, (const char *const[]){method, r, code});
    metric_observe(svc->m.http_seconds, (const char *const[]){method, r}, seconds);
}

/* ---- feeds: lag in seconds ---- */

int service_feed_apply(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    service_feed_t *f = ctx;
    uint64_t cursor = feed_client_stats(f->svc->feeds_in[f->index])->cursor;
    /* The first event above the committed cursor starts a batch: the oldest one not applied
     * until that batch commits. A batch applied again (rolled back, map grown) keeps it. */
    if (f->oldest_seq <= cursor || ev->seq < f->oldest_seq) {
        f->oldest_seq = ev->seq;
        f->oldest_ms = ev->time_ms;
    }
    f->newest_seq = ev->seq;
    f->newest_ms = ev->time_ms;
    return f->apply(f->ctx, txn, ev);
}

int service_feed_batch_end(void *ctx, MDB_txn *txn)
{
    service_feed_t *f = ctx;
    return f->end(f->ctx, txn);
}

/* Seconds since the oldest event the service has not applied was appended, or 0 when the
 * producer's head (at its last reply) is applied. That event's time is known exactly while
 * its batch is being applied; between batches it is not known yet, and the time of the last
 * event applied stands in for it (the next event is no older), so the figure errs high by at
 * most the gap between those two events. Unknown (nothing seen since start): 0. */
static double feed_lag_seconds(const service_feed_t *f, const feed_client_stats_t *fs,
                               int64_t now_ms)
{
    if (fs->head <= fs->cursor)
        return 0;
    int64_t since;
    if (f->oldest_seq > fs->cursor)
        since = f->oldest_ms;
    else if (f->newest_seq && f->newest_seq <= fs->cursor)
        since = f->newest_ms;
    else
        return 0;
    return now_ms > since ? (double)(now_ms - since) / 1000.0 : 0;
}

/* ---- registration and refresh ---- */

void service_metrics_init(service_t *svc)
{
    metrics_t *m = svc->metrics;
    static const double batch_buckets[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000};
    static const double commit_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                            0.01,   0.025,   0.05,   0.1,   0.25,   1};
    svc->m.commits = metrics_counter(m, "hotline_commits_total",
                                     "Write transactions committed (group commits).", NULL);
    svc->m.commit_seconds = metrics_histogram(m, "hotline_commit_seconds",
                                              "Time to commit one group (includes fsync).",
                                              NULL, commit_buckets, 12);
    svc->m.batch_size = metrics_histogram(m, "hotline_commit_batch_items",
                                          "Items (commands, feed batches) per group commit.",
                                          NULL, batch_buckets, 11);
    svc->m.commands = metrics_counter(m, "hotline_commands_total",
                                      "Commands answered, by reply status.", "status");
    svc->m.log_head = metrics_gauge(m, "hotline_event_log_head_seq",
                                    "Last committed sequence number of this service's log.",
                                    NULL);
    svc->m.log_first = metrics_gauge(m, "hotline_event_log_first_seq",
                                     "Lowest sequence number still retained.", NULL);
    svc->m.trimmed = metrics_counter(m, "hotline_event_log_trimmed_total",
                                     "Events removed from the log by retention.", NULL);
    svc->m.feed_cursor = metrics_gauge(m, "hotline_feed_cursor_seq",
                                       "Last applied sequence number per followed feed.",
                                       "producer");
    svc->m.feed_lag = metrics_gauge(m, "hotline_feed_lag_events",
                                    "Events the producer has that this service has not applied.",
                                    "producer");
    svc->m.feed_lag_seconds = metrics_gauge(
        m, "hotline_feed_lag_seconds",
        "Age of the oldest event of the producer that this service has not applied, by this "
        "service's clock; 0 when caught up (see docs/operations.md).",
        "producer");
    svc->m.feed_reconnects = metrics_counter(m, "hotline_feed_reconnects_total",
                                             "Fetches given up for lack of a reply.",
                                             "producer");
    svc->m.feed_skipped = metrics_counter(m, "hotline_feed_events_skipped_total",
                                          "Events that did not decode and were skipped.",
                                          "producer");
    svc->m.feed_gaps = metrics_counter(m, "hotline_feed_gaps_total",
                                       "Times the producer had trimmed past our cursor.",
                                       "producer");
    svc->m.feed_batches = metrics_counter(m, "hotline_feed_batches_total",
                                          "Feed batches applied and committed, per followed feed.",
                                          "producer");
    svc->m.feed_lingers = metrics_counter(m, "hotline_feed_lingers_total",
                                          "Fetches delayed by feeds[].lingerMs after a small "
                                          "batch while events flowed.",
                                          "producer");
    svc->m.fetches = metrics_counter(m, "hotline_feed_fetches_served_total",
                                     "Feed fetches answered by this service.", NULL);
    svc->m.events_sent = metrics_counter(m, "hotline_feed_events_served_total",
                                         "Events sent to consumers.", NULL);
    svc->m.events = metrics_counter(m, "hotline_events_appended_total",
                                    "Events this service has appended to its log, by kind, since "
                                    "the log was created (persistent across restarts; not "
                                    "lowered by trimming).",
                                    "kind");
    svc->m.store_map = metrics_gauge(m, "hotline_store_map_bytes", "LMDB map size.", NULL);
    svc->m.store_limit = metrics_gauge(m, "hotline_store_map_limit_bytes",
                                       "Size the LMDB map grows up to (store.maxMapSizeMb); "
                                       "past it writes are refused.",
                                       NULL);
    svc->m.store_used = metrics_gauge(m, "hotline_store_used_bytes",
                                      "LMDB pages in use, in bytes.", NULL);
    svc->m.store_full = metrics_gauge(m, "hotline_store_full",
                                      "1 while the store refuses writes (disk full or limit).",
                                      NULL);
    svc->m.bus_malformed = metrics_counter(m, "hotline_bus_malformed_total",
                                           "Bus frames that did not decode.", NULL);
    svc->m.addr_refused = metrics_counter(m, "hotline_http_refused_per_address_total",
                                          "HTTP connections refused because their client "
                                          "address held runtime.http.maxConnectionsPerAddress.",
                                          NULL);
    svc->m.bus_unroutable = metrics_counter(m, "hotline_bus_unroutable_total",
                                            "Bus replies whose peer had gone.", NULL);
    http_metrics_init(svc);
    metric_t *info = metrics_gauge(m, "hotline_build_info",
                                   "Always 1: the version of the running binary and its service.",
                                   "version,service");
    metric_set(info, (const char *const[]){SERVICE_VERSION, svc->desc->name}, 1);
}

static void sync_counter(metric_t *m, const char *const *labels, uint64_t *last, uint64_t now)
{
    if (now > *last)
        metric_add(m, labels, (double)(now - *last));
    *last = now;
}

/* The log keeps the persistent count per kind; the counter is brought up to it. */
static void set_event_count(void *ctx, const char *kind, uint64_t count)
{
    service_t *svc = ctx;
    const char *const labels[] = {kind};
    double have = metric_value(svc->m.events, labels);
    metric_add(svc->m.events, labels, (double)count > have ? (double)count - have : 0);
}

void service_metrics_refresh(service_t *svc)
{
    evlog_counts(svc->log, set_event_count, svc);
    const txq_stats_t *ts = txq_stats(svc->txq);
    sync_counter(svc->m.commits, NULL, &svc->m.last_commits, ts->commits);
    metric_set(svc->m.log_head, NULL, (double)evlog_head(svc->log));
    metric_set(svc->m.log_first, NULL, (double)evlog_first(svc->log));
    for (int i = 0; i < svc->nfeeds; i++) {
        if (!svc->feeds_in[i])
            continue;
        const feed_client_stats_t *fs = feed_client_stats(svc->feeds_in[i]);
        const char *labels[] = {feed_client_producer(svc->feeds_in[i])};
        metric_set(svc->m.feed_cursor, labels, (double)fs->cursor);
        metric_set(svc->m.feed_lag, labels,
                   fs->head > fs->cursor ? (double)(fs->head - fs->cursor) : 0);
        metric_set(svc->m.feed_lag_seconds, labels,
                   feed_lag_seconds(&svc->feeds_seen[i], fs, hclock_now_ms(svc->clock)));
        sync_counter(svc->m.feed_reconnects, labels, &svc->m.last_reconnects[i], fs->reconnects);
        sync_counter(svc->m.feed_skipped, labels, &svc->m.last_skipped[i], fs->events_skipped);
        sync_counter(svc->m.feed_gaps, labels, &svc->m.last_gaps[i], fs->gaps);
        sync_counter(svc->m.feed_batches, labels, &svc->m.last_batches[i], fs->batches);
        sync_counter(svc->m.feed_lingers, labels, &svc->m.last_lingers[i], fs->lingers);
    }
    const feed_server_stats_t *fss = feed_server_stats(svc->feeds_out);
    sync_counter(svc->m.fetches, NULL, &svc->m.last_fetches, fss->fetches);
    sync_counter(svc->m.events_sent, NULL, &svc->m.last_sent, fss->events_sent);
    const bus_stats_t *bs = bus_stats(svc->bus);
    sync_counter(svc->m.bus_malformed, NULL, &svc->m.last_malformed, bs->malformed);
    sync_counter(svc->m.bus_unroutable, NULL, &svc->m.last_unroutable, bs->unroutable);
    sync_counter(svc->m.addr_refused, NULL, &svc->m.last_addr_refused,
                 httpd_refused_per_address(svc->http));
    metric_set(svc->m.store_map, NULL, (double)store_map_size(svc->store));
    metric_set(svc->m.store_limit, NULL, (double)store_max_map_size(svc->store));
    metric_set(svc->m.store_used, NULL, (double)store_used_bytes(svc->store));
    metric_set(svc->m.store_full, NULL, txq_full(svc->txq) ? 1 : 0);
}
