/* metrics: Prometheus text-format metrics (exposition format 0.0.4).
 *
 * A registry holds metric families (counter, gauge, histogram), each with optional label names;
 * a series is one combination of label values, created on first use and kept. A family refuses
 * new series past a cardinality cap (METRICS_DEFAULT_SERIES_CAP unless changed with
 * metrics_series_cap_set; the overflow is counted in hotline_metrics_series_dropped_total and
 * logged once per family) so a bad label cannot eat memory. An unlabelled family has its one
 * series from the start, so it renders 0 before its first update.
 *
 * Series are found by a hash of their label values, so updates on hot paths cost one hash and
 * usually one string compare per label, however many series the family has.
 *
 * Label values are escaped on output (backslash, double quote, newline); bytes that are not
 * valid UTF-8 become U+FFFD, because one invalid byte makes Prometheus reject the whole scrape.
 * Metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* without
 * a leading "__"; a histogram may not have a label named "le". Counter names must end in
 * "_total" (the name is used as is on the TYPE line and the sample line).
 *
 * Loop thread only (no locking). */
#ifndef HOTLINE_METRICS_H
#define HOTLINE_METRICS_H

#include <stddef.h>

typedef struct metrics metrics_t;
typedef struct metric metric_t;

/* The Content-Type to serve metrics_render() output with. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Series per family before new label combinations are dropped. */
#define METRICS_DEFAULT_SERIES_CAP 10000

/* Standard latency buckets in seconds, 100 us to 10 s (1-2.5-5 steps), for
 * metrics_histogram(..., metrics_latency_buckets, METRICS_LATENCY_NBUCKETS). */
#define METRICS_LATENCY_NBUCKETS 16
extern const double metrics_latency_buckets[METRICS_LATENCY_NBUCKETS];

/* A gauge whose value is read when rendering (RSS, lag, queue depth). */
typedef double (*metrics_gauge_fn)(void *ctx);

/* Create a registry holding the built-in families: hotline_metrics_series_dropped_total and the
 * process metrics (see metrics_render). Errors: HL_EINVAL (out NULL), HL_ENOMEM. */
int metrics_create(metrics_t **out);
/* Free the registry and every family in it (metric_t pointers die with it). Nulls *self. */
void metrics_destroy(metrics_t **self);

/* Set the cardinality cap of every family, present and future (at least 1). Series already
 * created are kept even if there are more than cap. */
void metrics_series_cap_set(metrics_t *self, size_t cap);

/* Families. label_names: comma-separated ("unit,category", spaces around names ignored) or
 * NULL / "" for none. help may be NULL or "" (then no HELP line is written).
 * Registering the same name again with the same type, label names (and buckets) returns the
 * existing family (help is not compared). Returns NULL on a bad name or label name, a counter
 * name without "_total", a name already used with another type or labels (or by a callback),
 * a name that collides with a histogram's _bucket / _sum / _count series, bad buckets, or
 * ENOMEM. These are programmer errors (the names are constants). The registry owns the
 * family. */
metric_t *metrics_counter(metrics_t *self, const char *name, const char *help,
                          const char *label_names);
metric_t *metrics_gauge(metrics_t *self, const char *name, const char *help,
                        const char *label_names);
/* buckets: upper bounds, finite and strictly increasing, without +Inf (added automatically);
 * nbuckets may be 0 (only +Inf). The bounds are copied. */
metric_t *metrics_histogram(metrics_t *self, const char *name, const char *help,
                            const char *label_names, const double *buckets, size_t nbuckets);
/* An unlabelled gauge computed at render time; fn(ctx) is called on the loop thread by
 * metrics_render and metric_value, and ctx must outlive the registry.
 * Errors: HL_EINVAL (bad name, fn NULL), HL_EEXIST (name already registered), HL_ENOMEM. */
int metrics_gauge_callback(metrics_t *self, const char *name, const char *help,
                           metrics_gauge_fn fn, void *ctx);
/* The same for a counter kept elsewhere (a store's commit count): fn must never decrease and
 * name must end in "_total". Errors as metrics_gauge_callback. */
int metrics_counter_callback(metrics_t *self, const char *name, const char *help,
                             metrics_gauge_fn fn, void *ctx);

/* Updates. label_values: as many values as the family has label names, in order (a NULL value
 * counts as ""); pass NULL for an unlabelled family. The values are copied when a series is
 * created. Counters only go up: negative, NaN and infinite adds are ignored. metric_inc and
 * metric_add work on counters and gauges, metric_set on gauges, metric_observe on histograms
 * (NaN observations are ignored); any other pairing, m NULL, or label_values NULL on a
 * labelled family is a programmer error and does nothing. */
void metric_add(metric_t *m, const char *const *label_values, double v);
void metric_inc(metric_t *m, const char *const *label_values);
void metric_set(metric_t *m, const char *const *label_values, double v);
void metric_observe(metric_t *m, const char *const *label_values, double v);

/* Timing: t0 = metrics_now(); ...work...; metric_observe_since(h, labels, t0) observes the
 * elapsed seconds. metrics_now() is hclock_mono_ns() in seconds: monotonic, not wall time. */
double metrics_now(void);
void metric_observe_since(metric_t *m, const char *const *label_values, double start);

/* Read back a series' value (counter / gauge) or count (histogram); 0 if it does not exist or
 * m is NULL. Never creates a series. For tests and the CLI. */
double metric_value(const metric_t *m, const char *const *label_values);

/* Render the whole registry: the caller's families in registration order (a labelled family
 * with no series yet is left out), then hotline_metrics_series_dropped_total and the process
 * metrics: process_cpu_seconds_total, process_open_fds, process_max_fds,
 * process_virtual_memory_bytes, process_resident_memory_bytes, process_start_time_seconds
 * (each only if the system provides it; Linux /proc). Numbers are written in the C locale:
 * integers up to 2^53 without exponent, others in the shortest form that reads back exactly,
 * NaN / +Inf / -Inf as Prometheus spells them.
 * *out is malloc'd and NUL-terminated, *len excludes the NUL; caller frees.
 * Errors: HL_EINVAL (NULL argument), HL_ENOMEM. */
int metrics_render(metrics_t *self, char **out, size_t *len);

#endif
