/* Unit tests for common/ops/metrics: values, labels, escaping, histogram buckets, the cardinality
 * cap, exact rendering, callbacks and process metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "hl_error.h"
#include "metrics.h"

#define L(...) ((const char *const[]){__VA_ARGS__})

static int setup(void **state)
{
    metrics_t *reg = NULL;
    if (metrics_create(&reg) != HL_OK)
        return -1;
    *state = reg;
    return 0;
}

static int teardown(void **state)
{
    metrics_t *reg = *state;
    metrics_destroy(&reg);
    assert_null(reg);
    return 0;
}

static char *render(metrics_t *reg)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render(reg, &text, &len), HL_OK);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* Whether text holds line as a whole line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

static void assert_line(const char *text, const char *line)
{
    if (!has_line(text, line))
        fail_msg("missing line: %s\n--- rendered ---\n%s", line, text);
}

/* The value on the line that starts with prefix followed by a space. */
static double sample_value(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; (p = strstr(p, prefix)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("no sample %s", prefix);
    return NAN;
}

static void test_counter_values(void **state)
{
    metrics_t *reg = *state;
    metric_t *c = metrics_counter(reg, "hotline_tickets_total", "Tickets.", NULL);
    assert_non_null(c);
    assert_true(metric_value(c, NULL) == 0);
    metric_inc(c, NULL);
    metric_add(c, NULL, 2.5);
    assert_true(metric_value(c, NULL) == 3.5);
    metric_add(c, NULL, -1);        /* counters only go up */
    metric_add(c, NULL, NAN);
    metric_add(c, NULL, INFINITY);
    metric_set(c, NULL, 100);       /* not a gauge */
    metric_observe(c, NULL, 1);     /* not a histogram */
    assert_true(metric_value(c, NULL) == 3.5);

    char *text = render(reg);
    assert_line(text, "# TYPE hotline_tickets_total counter");
    assert_line(text, "hotline_tickets_total 3.5");
    free(text);
}

static void test_gauge_values(void **state)
{
    metrics_t *reg = *state;
    metric_t *g = metrics_gauge(reg, "hotline_queue_depth", "Depth.", "queue");
    assert_non_null(g);
    metric_set(g, L("a"), 10);
    metric_add(g, L("a"), -12);
    metric_inc(g, L("b"));
    metric_observe(g, L("a"), 5); /* not a histogram */
    assert_true(metric_value(g, L("a")) == -2);
    assert_true(metric_value(g, L("b")) == 1);
    assert_true(metric_value(g, L("zzz")) == 0);

    char *text = render(reg);
    assert_line(text, "hotline_queue_depth{queue=\"a\"} -2");
    assert_line(text, "hotline_queue_depth{queue=\"b\"} 1");
    assert_null(strstr(text, "zzz")); /* metric_value does not create series */
    free(text);
}

static void test_labels_many_series(void **state)
{
    metrics_t *reg = *state;
    metric_t *c = metrics_counter(reg, "hotline_calls_total", "Calls.", "unit, category");
    assert_non_null(c);
    char unit[32], cat[32];
    for (int round = 1; round <= 2; round++) {
        for (int i = 0; i < 5000; i++) {
            snprintf(unit, sizeof unit, "u%d", i % 100);
            snprintf(cat, sizeof cat, "c%d", i);
            metric_add(c, L(unit, cat), (double)i);
        }
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(unit, sizeof unit, "u%d", i % 100);
        snprintf(cat, sizeof cat, "c%d", i);
        assert_true(metric_value(c, L(unit, cat)) == 2.0 * i);
    }
    /* Same values in another order, or split differently, are other series. */
    assert_true(metric_value(c, L("c7", "u7")) == 0);
    metric_inc(c, L("ab", "c"));
    metric_inc(c, L("a", "bc"));
    assert_true(metric_value(c, L("ab", "c")) == 1);
    assert_true(metric_value(c, L("a", "bc")) == 1);
    /* NULL label value reads as "". */
    metric_inc(c, L("x", NULL));
    assert_true(metric_value(c, L("x", "")) == 1);
    /* A labelled family needs its values. */
    metric_inc(c, NULL);
    assert_true(metric_value(c, NULL) == 0);

    char *text = render(reg);
    assert_line(text, "hotline_calls_total{unit=\"u42\",category=\"c4942\"} 9884");
    assert_line(text, "hotline_calls_total{unit=\"x\",category=\"\"} 1");
    free(text);
}

static void test_label_escaping(void **state)
{
    metrics_t *reg = *state;
    metric_t *c = metrics_counter(reg, "hotline_errors_total", "Errors.", "reason");
    metric_inc(c, L("back\\slash \"quoted\"\nnext line"));
    metric_inc(c, L("\xe5\x8c\x97\xe4\xba\xac")); /* valid UTF-8 passes unchanged */
    metric_inc(c, L("bad\xff" "byte"));
    metric_inc(c, L("cut\xe5\x8c")); /* truncated sequence */
    metric_inc(c, L("\xc0\xaf" "x\x80")); /* overlong '/', lone continuation byte */
    metric_inc(c, L("\xed\xa0\x80|\xf4\x90\x80\x80")); /* surrogate, above U+10FFFF */
    metric_inc(c, L("bad\xff" "byte")); /* the same raw bytes find the same series */
    assert_true(metric_value(c, L("bad\xff" "byte")) == 2);

    char *text = render(reg);
    assert_line(text, "hotline_errors_total{reason=\"back\\\\slash \\\"quoted\\\"\\nnext line\"} 1");
    assert_line(text, "hotline_errors_total{reason=\"\xe5\x8c\x97\xe4\xba\xac\"} 1");
    assert_line(text, "hotline_errors_total{reason=\"bad\xef\xbf\xbd" "byte\"} 2");
    assert_line(text, "hotline_errors_total{reason=\"cut\xef\xbf\xbd\xef\xbf\xbd\"} 1");
#define FFFD "\xef\xbf\xbd"
    assert_line(text, "hotline_errors_total{reason=\"" FFFD FFFD "x" FFFD "\"} 1");
    assert_line(text, "hotline_errors_total{reason=\"" FFFD FFFD FFFD "|" FFFD FFFD FFFD FFFD "\"} 1");
#undef FFFD
    free(text);
}

static void test_histogram_buckets(void **state)
{
    metrics_t *reg = *state;
    const double bounds[] = {0.1, 1, 10};
    metric_t *h = metrics_histogram(reg, "hotline_wait_seconds", "Wait.", "queue", bounds, 3);
    assert_non_null(h);
    const double obs[] = {-1, 0.05, 0.1, 0.5, 1, 1.0000001, 10, 11, INFINITY};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        metric_observe(h, L("q"), obs[i]);
    metric_observe(h, L("q"), NAN); /* ignored */
    metric_inc(h, L("q"));          /* not a counter */
    metric_set(h, L("q"), 3);       /* not a gauge */
    assert_true(metric_value(h, L("q")) == 9);

    metric_t *h0 = metrics_histogram(reg, "hotline_size_bytes", "Size.", NULL, NULL, 0);
    assert_non_null(h0);
    metric_observe(h0, NULL, 4);
    metric_observe(h0, NULL, 0.25);

    char *text = render(reg);
    /* Upper bounds are inclusive and buckets cumulative. */
    assert_line(text, "hotline_wait_seconds_bucket{queue=\"q\",le=\"0.1\"} 3");
    assert_line(text, "hotline_wait_seconds_bucket{queue=\"q\",le=\"1\"} 5");
    assert_line(text, "hotline_wait_seconds_bucket{queue=\"q\",le=\"10\"} 7");
    assert_line(text, "hotline_wait_seconds_bucket{queue=\"q\",le=\"+Inf\"} 9");
    assert_line(text, "hotline_wait_seconds_sum{queue=\"q\"} +Inf");
    assert_line(text, "hotline_wait_seconds_count{queue=\"q\"} 9");
    assert_line(text, "hotline_size_bytes_bucket{le=\"+Inf\"} 2");
    assert_line(text, "hotline_size_bytes_sum 4.25");
    assert_line(text, "hotline_size_bytes_count 2");
    free(text);
}

static void test_cardinality_cap(void **state)
{
    metrics_t *reg = *state;
    metric_t *dropped = metrics_counter(reg, "hotline_metrics_series_dropped_total", NULL, NULL);
    assert_non_null(dropped);
    metric_t *c = metrics_counter(reg, "hotline_by_caller_total", "Per caller.", "caller");
    char caller[32];
    for (int i = 0; i < METRICS_DEFAULT_SERIES_CAP + 5; i++) {
        snprintf(caller, sizeof caller, "c%d", i);
        metric_inc(c, L(caller));
    }
    assert_true(metric_value(dropped, NULL) == 5);
    assert_true(metric_value(c, L("c9999")) == 1);
    assert_true(metric_value(c, L("c10000")) == 0);
    metric_inc(c, L("c0")); /* existing series still count */
    assert_true(metric_value(c, L("c0")) == 2);
    assert_true(metric_value(dropped, NULL) == 5);

    /* A lower cap applies to existing families too; unlabelled families are unaffected. */
    metrics_series_cap_set(reg, 2);
    metric_t *h = metrics_histogram(reg, "hotline_lag_seconds", "Lag.", "peer",
                                    metrics_latency_buckets, METRICS_LATENCY_NBUCKETS);
    metric_observe(h, L("a"), 1);
    metric_observe(h, L("b"), 1);
    metric_observe(h, L("c"), 1);
    metric_inc(c, L("another"));
    assert_true(metric_value(h, L("c")) == 0);
    assert_true(metric_value(dropped, NULL) == 7);

    char *text = render(reg);
    assert_line(text, "hotline_metrics_series_dropped_total 7");
    assert_null(strstr(text, "peer=\"c\""));
    free(text);
}

static double counter_fn(void *ctx)
{
    return (double)++*(int *)ctx;
}

/* A registry with one of each, rendered text compared whole. */
static void test_render_exact(void **state)
{
    metrics_t *reg = *state;
    metric_t *c = metrics_counter(reg, "hotline_tickets_total", "Tickets accepted.",
                                  "unit,category");
    metric_t *unused = metrics_gauge(reg, "hotline_unused", "Never set.", "x");
    metric_t *g = metrics_gauge(reg, "hotline_queue_depth",
                                "Tickets waiting.\nPer queue \\ \"quoted\"", NULL);
    const double bounds[] = {0.005, 0.5, 2};
    metric_t *h = metrics_histogram(reg, "hotline_commit_seconds", "Commit latency.", "store",
                                    bounds, 3);
    metric_t *nohelp = metrics_gauge(reg, "hotline_nohelp", NULL, NULL);
    int calls = 0;
    assert_int_equal(metrics_counter_callback(reg, "hotline_external_total", "Kept elsewhere.",
                                              counter_fn, &calls), HL_OK);
    assert_true(c && unused && g && h && nohelp);
    metric_add(c, L("north", "water"), 2);
    metric_inc(c, L("south", "a\\b\"c\nd"));
    metric_set(g, NULL, -3.5);
    metric_observe(h, L("main"), 0.00390625);
    metric_observe(h, L("main"), 0.5);
    metric_observe(h, L("main"), 3);

    static const char expected[] =
        "# HELP hotline_tickets_total Tickets accepted.\n"
        "# TYPE hotline_tickets_total counter\n"
        "hotline_tickets_total{unit=\"north\",category=\"water\"} 2\n"
        "hotline_tickets_total{unit=\"south\",category=\"a\\\\b\\\"c\\nd\"} 1\n"
        "# HELP hotline_queue_depth Tickets waiting.\\nPer queue \\\\ \"quoted\"\n"
        "# TYPE hotline_queue_depth gauge\n"
        "hotline_queue_depth -3.5\n"
        "# HELP hotline_commit_seconds Commit latency.\n"
        "# TYPE hotline_commit_seconds histogram\n"
        "hotline_commit_seconds_bucket{store=\"main\",le=\"0.005\"} 1\n"
        "hotline_commit_seconds_bucket{store=\"main\",le=\"0.5\"} 2\n"
        "hotline_commit_seconds_bucket{store=\"main\",le=\"2\"} 2\n"
        "hotline_commit_seconds_bucket{store=\"main\",le=\"+Inf\"} 3\n"
        "hotline_commit_seconds_sum{store=\"main\"} 3.50390625\n"
        "hotline_commit_seconds_count{store=\"main\"} 3\n"
        "# TYPE hotline_nohelp gauge\n"
        "hotline_nohelp 0\n"
        "# HELP hotline_external_total Kept elsewhere.\n"
        "# TYPE hotline_external_total counter\n"
        "hotline_external_total 1\n"
        "# HELP hotline_metrics_series_dropped_total ";
    char *text = render(reg);
    if (strncmp(text, expected, strlen(expected)) != 0)
        fail_msg("--- expected ---\n%s\n--- rendered ---\n%s", expected, text);
    /* The built-ins follow, each family once. */
    assert_line(text, "hotline_metrics_series_dropped_total 0");
    assert_non_null(strstr(text, "\n# TYPE process_cpu_seconds_total counter\n"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    text = render(reg); /* the callback is read again on each render */
    assert_line(text, "hotline_external_total 2");
    free(text);
}

static void test_value_formatting(void **state)
{
    metrics_t *reg = *state;
    metric_t *g = metrics_gauge(reg, "hotline_value", "Formatting.", "case");
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {42, "42"},
        {-7, "-7"},
        {1e6, "1000000"},
        {123456789012345, "123456789012345"},
        {9007199254740992.0, "9007199254740992"}, /* 2^53: the last exact integer */
        {1e16, "1e+16"},
        {1e20, "1e+20"},
        {0.1, "0.1"},
        {1.0 / 3, "0.3333333333333333"},
        {0.00025, "0.00025"},
        {1e-05, "1e-05"},
        {-2.5e-10, "-2.5e-10"},
        {NAN, "NaN"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
    };
    char label[8], line[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(label, sizeof label, "%zu", i);
        metric_set(g, L(label), cases[i].v);
    }
    char *text = render(reg);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(line, sizeof line, "hotline_value{case=\"%zu\"} %s", i, cases[i].text);
        assert_line(text, line);
        /* And it reads back as the same number. */
        snprintf(line, sizeof line, "hotline_value{case=\"%zu\"}", i);
        double back = sample_value(text, line);
        if (isnan(cases[i].v))
            assert_true(isnan(back));
        else
            assert_true(back == cases[i].v);
    }
    free(text);
}

static void test_registration_rules(void **state)
{
    metrics_t *reg = *state;
    metric_t *c = metrics_counter(reg, "hotline_a_total", "A.", "x,y");
    assert_non_null(c);
    /* Same registration returns the same family; help is not compared. */
    assert_ptr_equal(metrics_counter(reg, "hotline_a_total", "Other help.", "x, y"), c);
    /* Different type or labels: refused. */
    assert_null(metrics_gauge(reg, "hotline_a_total", "A.", "x,y"));
    assert_null(metrics_counter(reg, "hotline_a_total", "A.", "x"));
    assert_null(metrics_counter(reg, "hotline_a_total", "A.", "y,x"));
    /* Bad metric names, counters without _total. */
    assert_null(metrics_counter(reg, "hotline_a", "A.", NULL));
    assert_null(metrics_counter(reg, "_total", "A.", NULL));
    assert_null(metrics_gauge(reg, "1abc", "A.", NULL));
    assert_null(metrics_gauge(reg, "a-b", "A.", NULL));
    assert_null(metrics_gauge(reg, "", "A.", NULL));
    assert_null(metrics_gauge(reg, NULL, "A.", NULL));
    assert_null(metrics_gauge(NULL, "ok", "A.", NULL));
    assert_non_null(metrics_gauge(reg, "ns:rule_ok", "Colons are allowed.", NULL));
    /* Bad label names. */
    assert_null(metrics_gauge(reg, "hotline_b", "B.", "a,,b"));
    assert_null(metrics_gauge(reg, "hotline_b", "B.", "a,"));
    assert_null(metrics_gauge(reg, "hotline_b", "B.", "a,a"));
    assert_null(metrics_gauge(reg, "hotline_b", "B.", "__reserved"));
    assert_null(metrics_gauge(reg, "hotline_b", "B.", "1x"));
    assert_null(metrics_gauge(reg, "hotline_b", "B.", "a b"));
    assert_null(metrics_gauge(reg, "hotline_b", "B.", "a:b"));
    assert_non_null(metrics_gauge(reg, "hotline_b", "B.", " le , _x9 "));
    assert_non_null(metrics_gauge(reg, "hotline_c", "C.", ""));
    /* Histograms: le is theirs, buckets finite and strictly increasing. */
    const double good[] = {1, 2}, flat[] = {1, 1}, down[] = {2, 1}, inf[] = {1, INFINITY},
                 nan[] = {NAN};
    assert_null(metrics_histogram(reg, "hotline_h", "H.", "le", good, 2));
    assert_null(metrics_histogram(reg, "hotline_h", "H.", NULL, flat, 2));
    assert_null(metrics_histogram(reg, "hotline_h", "H.", NULL, down, 2));
    assert_null(metrics_histogram(reg, "hotline_h", "H.", NULL, inf, 2));
    assert_null(metrics_histogram(reg, "hotline_h", "H.", NULL, nan, 1));
    assert_null(metrics_histogram(reg, "hotline_h", "H.", NULL, NULL, 2));
    metric_t *h = metrics_histogram(reg, "hotline_h", "H.", NULL, good, 2);
    assert_non_null(h);
    assert_ptr_equal(metrics_histogram(reg, "hotline_h", "H.", NULL, good, 2), h);
    assert_null(metrics_histogram(reg, "hotline_h", "H.", NULL, good, 1));
    /* Names that would collide with a histogram's series, either way round. */
    assert_null(metrics_gauge(reg, "hotline_h_sum", "X.", NULL));
    assert_null(metrics_gauge(reg, "hotline_h_bucket", "X.", NULL));
    assert_non_null(metrics_histogram(reg, "hotline_a", "X.", NULL, good, 2)); /* _total: ok */
    assert_non_null(metrics_gauge(reg, "hotline_d_count", "D.", NULL));
    assert_null(metrics_histogram(reg, "hotline_d", "X.", NULL, good, 2));
    /* Built-in names are taken. */
    assert_null(metrics_gauge(reg, "process_open_fds", "X.", NULL));
    char *text = render(reg);
    int types = 0;
    for (const char *p = text; (p = strstr(p, "# TYPE process_open_fds ")) != NULL; p++)
        types++;
    assert_int_equal(types, 1);
    assert_null(strstr(text, "# TYPE hotline_h_sum"));
    free(text);
}

static double gauge_fn(void *ctx)
{
    return *(double *)ctx;
}

static void test_gauge_callback(void **state)
{
    metrics_t *reg = *state;
    double v = 12.5;
    assert_int_equal(metrics_gauge_callback(reg, "hotline_lag_records", "Lag.", gauge_fn, &v),
                     HL_OK);
    assert_int_equal(metrics_gauge_callback(reg, "hotline_lag_records", "Lag.", gauge_fn, &v),
                     HL_EEXIST);
    assert_int_equal(metrics_gauge_callback(reg, "bad name", "X.", gauge_fn, &v), HL_EINVAL);
    assert_int_equal(metrics_gauge_callback(reg, "hotline_nofn", "X.", NULL, &v), HL_EINVAL);
    assert_int_equal(metrics_counter_callback(reg, "hotline_nototal", "X.", gauge_fn, &v),
                     HL_EINVAL);
    /* A callback family is not a settable gauge. */
    assert_null(metrics_gauge(reg, "hotline_lag_records", "Lag.", NULL));

    char *text = render(reg);
    assert_line(text, "# TYPE hotline_lag_records gauge");
    assert_line(text, "hotline_lag_records 12.5");
    free(text);
    v = NAN;
    text = render(reg);
    assert_line(text, "hotline_lag_records NaN");
    free(text);
    v = 3;
    text = render(reg);
    assert_line(text, "hotline_lag_records 3");
    free(text);
}

static void test_process_metrics(void **state)
{
    metrics_t *reg = *state;
    char *text = render(reg);
    assert_line(text, "# TYPE process_cpu_seconds_total counter");
    assert_line(text, "# TYPE process_resident_memory_bytes gauge");
    assert_line(text, "# TYPE process_virtual_memory_bytes gauge");
    assert_line(text, "# TYPE process_start_time_seconds gauge");
    assert_line(text, "# TYPE process_open_fds gauge");
    double rss = sample_value(text, "process_resident_memory_bytes");
    double vsz = sample_value(text, "process_virtual_memory_bytes");
    double start = sample_value(text, "process_start_time_seconds");
    double cpu = sample_value(text, "process_cpu_seconds_total");
    double fds = sample_value(text, "process_open_fds");
    double max_fds = sample_value(text, "process_max_fds");
    free(text);
    assert_true(rss > 1e5 && vsz >= rss);
    double now = (double)time(NULL);
    assert_true(start > now - 600 && start <= now + 1); /* this test process just started */
    assert_true(cpu >= 0 && cpu < 600);
    /* Counted another way: every descriptor number that is open. */
    double open_now = 0;
    for (int fd = 0; fd < 65536; fd++)
        open_now += fcntl(fd, F_GETFD) != -1;
    assert_true(fds == open_now);
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(max_fds == (double)rl.rlim_cur);

    /* One more descriptor shows as one more. */
    int fd = dup(0);
    assert_true(fd >= 0);
    text = render(reg);
    assert_true(sample_value(text, "process_open_fds") == fds + 1);
    free(text);
    close(fd);
}

static void test_timing_and_misuse(void **state)
{
    metrics_t *reg = *state;
    for (size_t i = 1; i < METRICS_LATENCY_NBUCKETS; i++)
        assert_true(metrics_latency_buckets[i] > metrics_latency_buckets[i - 1]);
    assert_true(metrics_latency_buckets[0] == 0.0001);
    assert_true(metrics_latency_buckets[METRICS_LATENCY_NBUCKETS - 1] == 10);

    metric_t *h = metrics_histogram(reg, "hotline_step_seconds", "Step.", NULL,
                                    metrics_latency_buckets, METRICS_LATENCY_NBUCKETS);
    double t0 = metrics_now();
    assert_true(metrics_now() >= t0);
    metric_observe_since(h, NULL, t0 - 0.2); /* between 0.1 and 0.25 (unless the box stalls) */
    metric_observe_since(h, NULL, t0 + 100); /* a start in the future counts as 0 */
    assert_true(metric_value(h, NULL) == 2);
    char *text = render(reg);
    assert_line(text, "hotline_step_seconds_bucket{le=\"0.0001\"} 1");
    assert_line(text, "hotline_step_seconds_bucket{le=\"0.1\"} 1");
    assert_line(text, "hotline_step_seconds_bucket{le=\"0.25\"} 2");
    double sum = sample_value(text, "hotline_step_seconds_sum");
    assert_true(sum >= 0.2 && sum < 0.25);
    free(text);

    /* Programmer errors do nothing rather than crash a hot path. */
    assert_true(metric_value(NULL, NULL) == 0);
    metric_inc(NULL, NULL);
    metric_add(NULL, L("x"), 1);
    metric_set(NULL, NULL, 1);
    metric_observe(NULL, NULL, 1);
    metric_observe_since(NULL, NULL, t0);
    metrics_series_cap_set(NULL, 5);
    metrics_destroy(NULL);
    metrics_t *none = NULL;
    metrics_destroy(&none);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render(NULL, &out, &len), HL_EINVAL);
    assert_int_equal(metrics_render(reg, NULL, &len), HL_EINVAL);
    assert_int_equal(metrics_create(NULL), HL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counter_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gauge_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels_many_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cardinality_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_formatting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gauge_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timing_and_misuse, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
