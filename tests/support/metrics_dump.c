/* metrics_dump: build a registry with every kind of family and awkward label values, and print
 * its rendered text to stdout, for tests/integration/test_metrics_promtool.sh to feed to
 * `promtool check metrics`. Exit status 0, or 1 if the module refused something. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hl_error.h"
#include "metrics.h"

#define L(...) ((const char *const[]){__VA_ARGS__})

static double lag_records(void *ctx)
{
    return 1234;
}

static double commits_total(void *ctx)
{
    return *(const double *)ctx;
}

static double not_a_number(void *ctx)
{
    return NAN;
}

/* Fill reg; 0, or -1 naming what was refused on stderr. */
static int build(metrics_t *reg, const double *commits)
{
    metric_t *tickets = metrics_counter(reg, "hotline_tickets_received_total",
                                        "Tickets received, by unit and category.",
                                        "unit,category");
    metric_t *queue = metrics_gauge(reg, "hotline_queue_depth",
                                    "Tickets waiting.\nOne series per queue; path C:\\queue.",
                                    "queue");
    metric_t *values = metrics_gauge(reg, "hotline_sample_value", "Special values.", "case");
    metric_t *commit = metrics_histogram(reg, "hotline_commit_duration_seconds",
                                         "Time to commit a batch.", "store",
                                         metrics_latency_buckets, METRICS_LATENCY_NBUCKETS);
    static const double size_buckets[] = {64, 256, 1024, 4096, 65536};
    metric_t *sizes = metrics_histogram(reg, "hotline_request_size_bytes", "Request body size.",
                                        NULL, size_buckets, 5);
    metric_t *callers = metrics_counter(reg, "hotline_caller_lookups_total",
                                        "Lookups per caller (capped).", "caller");
    metric_t *unused = metrics_gauge(reg, "hotline_unused_ratio", "Never set.", "x");
    if (!tickets || !queue || !values || !commit || !sizes || !callers || !unused) {
        fprintf(stderr, "metrics_dump: a family was refused\n");
        return -1;
    }
    if (metrics_gauge_callback(reg, "hotline_feed_lag_records", "Records behind the feed.",
                               lag_records, NULL) != HL_OK ||
        metrics_gauge_callback(reg, "hotline_clock_skew_seconds", "Unknown skew.", not_a_number,
                               NULL) != HL_OK ||
        metrics_counter_callback(reg, "hotline_store_commits_total", "Commits by the store.",
                                 commits_total, (void *)commits) != HL_OK) {
        fprintf(stderr, "metrics_dump: a callback was refused\n");
        return -1;
    }

    metric_add(tickets, L("north", "water"), 41);
    metric_inc(tickets, L("north", "water"));
    metric_inc(tickets, L("south \"B\"", "noise\\night\nshift"));
    metric_inc(tickets, L("\xe5\x8c\x97\xe4\xba\xac", "\xe4\xbe\x9b\xe6\xb0\xb4")); /* UTF-8 */
    metric_inc(tickets, L("raw\xff", "")); /* invalid UTF-8, empty value */

    metric_set(queue, L("intake"), 17);
    metric_set(queue, L("dispatch"), 0);

    static const double specials[] = {NAN, INFINITY, -INFINITY, -0.0, 1e-7, 0.1,
                                      1.0 / 3, 1e21, 9007199254740992.0, -42};
    char label[16];
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        snprintf(label, sizeof label, "v%zu", i);
        metric_set(values, L(label), specials[i]);
    }

    static const double waits[] = {0.00005, 0.0001, 0.0003, 0.002, 0.002, 0.04, 0.3, 1.5, 12};
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        metric_observe(commit, L("tickets"), waits[i]);
        metric_observe(commit, L("feed"), waits[i] * 2);
    }
    metric_observe(sizes, NULL, 100);
    metric_observe(sizes, NULL, 1e6);

    /* Past the cap: hotline_metrics_series_dropped_total counts the rest. */
    metrics_series_cap_set(reg, 20);
    char caller[32];
    for (int i = 0; i < 25; i++) {
        snprintf(caller, sizeof caller, "caller-%02d", i);
        metric_inc(callers, L(caller));
    }
    return 0;
}

int main(void)
{
    metrics_t *reg = NULL;
    char *text = NULL;
    size_t len = 0;
    double commits = 987654321;
    int status = 1;
    int rc = metrics_create(&reg);
    if (rc != HL_OK) {
        fprintf(stderr, "metrics_dump: metrics_create: %s\n", hl_strerror(rc));
        goto done;
    }
    if (build(reg, &commits) != 0)
        goto done;
    if ((rc = metrics_render(reg, &text, &len)) != HL_OK) {
        fprintf(stderr, "metrics_dump: metrics_render: %s\n", hl_strerror(rc));
        goto done;
    }
    if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "metrics_dump: writing stdout failed\n");
        goto done;
    }
    status = 0;

done:
    free(text);
    metrics_destroy(&reg);
    return status;
}
