/* The metrics module's private parts, shared by metrics*.c only. */
#ifndef HOTLINE_METRICS_INTERNAL_H
#define HOTLINE_METRICS_INTERNAL_H

#include "metrics.h"

#include <locale.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { TYPE_COUNTER, TYPE_GAUGE, TYPE_HISTOGRAM } mtype_t;

extern const char *const metrics_type_names[]; /* indexed by mtype_t */

typedef struct series {
    uint64_t hash;     /* of the label values: most index probes end on a hash mismatch */
    double value;      /* counter / gauge value; histogram sum of observations */
    uint64_t count;    /* histogram: number of observations */
    uint64_t *buckets; /* histogram: per-bucket counts (not cumulative), last is +Inf; or NULL */
    char **values;     /* nlabels label values, valid UTF-8; all in the series' one allocation */
} series_t;

struct metric {
    metrics_t *reg;      /* owning registry: cap, hash seed, dropped counter */
    char *name;          /* family name, validated */
    char *help;          /* unescaped help text, "" for none */
    mtype_t type;        /* counter / gauge / histogram */
    bool builtin;        /* made by metrics_create: rendered after the caller's families */
    size_t nlabels;      /* number of label names */
    char **label_names;  /* nlabels names, each malloc'd */
    double *bounds;      /* histogram upper bounds without +Inf, nbounds of them */
    size_t nbounds;      /* 0 for counters and gauges */
    metrics_gauge_fn fn; /* callback family: value read at render, no series; else NULL */
    void *ctx;           /* argument for fn */
    series_t **series;   /* in creation order, for rendering */
    size_t nseries;      /* series in use */
    size_t series_alloc; /* capacity of series */
    series_t **index;    /* hash index over series, linear probing, at most half full */
    size_t index_size;   /* power of two, or 0 before the first labelled series */
    bool cap_warned;     /* the cap warning is logged once per family */
};

struct metrics {
    metric_t **families;   /* in registration order */
    size_t nfamilies;      /* families in use */
    size_t families_alloc; /* capacity of families */
    size_t series_cap;     /* series per labelled family before new ones are dropped */
    uint64_t seed;         /* random hash seed: label values may come from outside */
    metric_t *dropped;     /* hotline_metrics_series_dropped_total */
    locale_t c_locale;     /* numbers are written in the C locale whatever the process set */
    double start_time;     /* process start, seconds since the epoch */
    long page_size;        /* for /proc/self/statm */
};

/* metrics.c: register a family (or a callback family when fn is set). On success *out is the
 * new family, or an existing identical one. Errors: HL_EINVAL, HL_EEXIST, HL_ENOMEM. */
int metrics_family_register(metrics_t *self, const char *name, const char *help, mtype_t type,
                            const char *label_names, const double *bounds, size_t nbounds,
                            metrics_gauge_fn fn, void *ctx, metric_t **out);

/* metrics_process.c: the process_* families, each only if /proc answers at start. */
int metrics_process_register(metrics_t *self);
/* Process start in seconds since the epoch, 0 when unknown. */
double metrics_process_start_time(void);

#endif
