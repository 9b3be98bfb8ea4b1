/* metrics: Prometheus text-format metrics (exposition format 0.0.4).
 *
 * A registry holds metric families (counter, gauge, histogram), each with optional label names;
 * a series is one combination of label values, created on first use and kept. A family refuses
 * new series past a cardinality cap (the overflow is counted in
 * hotline_metrics_series_dropped_total) so a bad label cannot eat memory.
 *
 * Label values are escaped on output. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*.
 * Loop thread only (no locking). */
#ifndef HOTLINE_METRICS_H
#define HOTLINE_METRICS_H

#include <stddef.h>

typedef struct metrics metrics_t;
typedef struct metric metric_t;

/* A gauge whose value is read when rendering (RSS, lag, queue depth). */
typedef double (*metrics_gauge_fn)(void *ctx);

int metrics_create(metrics_t **out);
void metrics_destroy(metrics_t **self);

/* Families. label_names: comma-separated ("unit,category") or NULL for none.
 * Registering the same name twice returns the existing family. Returns NULL on a bad name
 * or ENOMEM (programmer errors: the names are constants). */
metric_t *metrics_counter(metrics_t *self, const char *name, const char *help,
                          const char *label_names);
metric_t *metrics_gauge(metrics_t *self, const char *name, const char *help,
                        const char *label_names);
/* buckets: upper bounds, strictly increasing, without +Inf (added automatically). */
metric_t *metrics_histogram(metrics_t *self, const char *name, const char *help,
                            const char *label_names, const double *buckets, size_t nbuckets);
/* An unlabelled gauge computed at render time. */
int metrics_gauge_callback(metrics_t *self, const char *name, const char *help,
                           metrics_gauge_fn fn, void *ctx);

/* Updates. label_values: as many values as the family has label names, in order; pass
 * NULL for an unlabelled family. Counters only go up (negative adds are ignored). */
void metric_add(metric_t *m, const char *const *label_values, double v);
void metric_inc(metric_t *m, const char *const *label_values);
void metric_set(metric_t *m, const char *const *label_values, double v);
void metric_observe(metric_t *m, const char *const *label_values, double v);

/* Read back a series' value (counter / gauge) or count (histogram); 0 if it does not exist.
 * For tests and the CLI. */
double metric_value(const metric_t *m, const char *const *label_values);

/* Render the whole registry plus process metrics (process_resident_memory_bytes,
 * process_start_time_seconds, process_open_fds). *out is malloc'd; caller frees. */
int metrics_render(metrics_t *self, char **out, size_t *len);

#endif
