/* metrics: Prometheus text-format registry and renderer. Loop thread only.
 *
 * Each family keeps its series twice: in an array in creation order (so the output is stable
 * and diffable) and in an open-addressing hash index keyed by the label values (so updates do
 * not scan). Series are never removed, so the index needs no tombstones. */
#include "metrics_internal.h"
#include "utf8.h"

#include "hclock.h"
#include "hl_error.h"
#include "slog.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define DROPPED_NAME "hotline_metrics_series_dropped_total"

const double metrics_latency_buckets[METRICS_LATENCY_NBUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

const char *const metrics_type_names[] = {"counter", "gauge", "histogram"};

/* ---- names and label values ---- */

static bool name_valid(const char *s, bool metric_name)
{
    if (s == NULL || *s == '\0')
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (metric_name && c == ':') || (p > s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return metric_name || strncmp(s, "__", 2) != 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Whether name is one of the series names a histogram called base writes. */
static bool histogram_series_name(const char *name, const char *base)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0)
        return false;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (strcmp(name + n, suffixes[i]) == 0)
            return true;
    return false;
}

static bool utf8_valid_str(const char *s)
{
    return utf8_valid(s, strlen(s));
}

/* FNV-1a over the values with a separator byte that valid UTF-8 never holds, seeded per
 * registry and finished with a 64-bit mixer. Sets *high when a byte >= 0x80 was seen, so the
 * caller validates UTF-8 only for values that are not plain ASCII. */
static uint64_t hash_values(uint64_t seed, const char *const *values, size_t n, bool *high)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    unsigned char any = 0;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++) {
            any |= *p;
            h = (h ^ *p) * 0x100000001b3ULL;
        }
        h = (h ^ 0xff) * 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    *high = (any & 0x80) != 0;
    return h;
}

/* ---- series ---- */

static series_t *series_new(const metric_t *f, uint64_t hash, const char *const *values)
{
    size_t nb = f->type == TYPE_HISTOGRAM ? f->nbounds + 1 : 0;
    size_t size = sizeof(series_t) + nb * sizeof(uint64_t) + f->nlabels * sizeof(char *);
    for (size_t i = 0; i < f->nlabels; i++)
        size += strlen(values[i]) + 1;
    series_t *s = calloc(1, size);
    if (s == NULL)
        return NULL;
    s->hash = hash;
    s->buckets = nb ? (uint64_t *)(s + 1) : NULL;
    s->values = (char **)((char *)(s + 1) + nb * sizeof(uint64_t));
    char *text = (char *)(s->values + f->nlabels);
    for (size_t i = 0; i < f->nlabels; i++) {
        size_t len = strlen(values[i]) + 1;
        memcpy(text, values[i], len);
        s->values[i] = text;
        text += len;
    }
    return s;
}

static bool series_matches(const metric_t *f, const series_t *s, uint64_t hash,
                           const char *const *values)
{
    if (s->hash != hash)
        return false;
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

static int index_grow(metric_t *f)
{
    size_t size = f->index_size ? f->index_size * 2 : 16;
    series_t **index = calloc(size, sizeof *index);
    if (index == NULL)
        return HL_ENOMEM;
    for (size_t i = 0; i < f->nseries; i++) {
        size_t j = (size_t)f->series[i]->hash & (size - 1);
        while (index[j] != NULL)
            j = (j + 1) & (size - 1);
        index[j] = f->series[i];
    }
    free(f->index);
    f->index = index;
    f->index_size = size;
    return HL_OK;
}

/* Add s to the family's order and index; room was made by the caller. */
static void series_insert(metric_t *f, series_t *s)
{
    f->series[f->nseries++] = s;
    if (f->index_size == 0)
        return;
    size_t j = (size_t)s->hash & (f->index_size - 1);
    while (f->index[j] != NULL)
        j = (j + 1) & (f->index_size - 1);
    f->index[j] = s;
}

static int family_make_room(metric_t *f)
{
    if (f->nseries == f->series_alloc) {
        size_t n = f->series_alloc ? f->series_alloc * 2 : 4;
        series_t **arr = realloc(f->series, n * sizeof *arr);
        if (arr == NULL)
            return HL_ENOMEM;
        f->series = arr;
        f->series_alloc = n;
    }
    if (f->nlabels > 0 && (f->nseries + 1) * 2 > f->index_size)
        return index_grow(f);
    return HL_OK;
}

/* Find the series for label_values; with create, make it if the cap allows. NULL when absent,
 * dropped or out of memory. */
static series_t *series_get(metric_t *f, const char *const *label_values, bool create)
{
    if (f == NULL || f->fn != NULL)
        return NULL;
    if (f->nlabels == 0)
        return f->nseries ? f->series[0] : NULL;
    if (label_values == NULL)
        return NULL;

    /* NULL values read as "", invalid UTF-8 as its sanitized form: one series per output. */
    const char *const *values = label_values;
    const char *stack_vals[8];
    const char **vals = NULL;
    char **owned = NULL;
    series_t *found = NULL;
    bool high = false;
    bool fix = false;
    uint64_t hash = 0;
    for (size_t i = 0; i < f->nlabels; i++)
        fix |= label_values[i] == NULL;
    if (!fix) {
        hash = hash_values(f->reg->seed, values, f->nlabels, &high);
        for (size_t i = 0; high && !fix && i < f->nlabels; i++)
            fix = !utf8_valid_str(values[i]);
    }
    if (fix) {
        vals = f->nlabels <= 8 ? stack_vals : malloc(f->nlabels * sizeof *vals);
        owned = calloc(f->nlabels, sizeof *owned);
        if (vals == NULL || owned == NULL)
            goto done;
        for (size_t i = 0; i < f->nlabels; i++) {
            const char *v = label_values[i] ? label_values[i] : "";
            if (!utf8_valid_str(v)) {
                if ((owned[i] = utf8_repair(v)) == NULL)
                    goto done;
                v = owned[i];
            }
            vals[i] = v;
        }
        values = vals;
        hash = hash_values(f->reg->seed, values, f->nlabels, &high);
    }

    if (f->index_size > 0) {
        size_t j = (size_t)hash & (f->index_size - 1);
        for (; f->index[j] != NULL; j = (j + 1) & (f->index_size - 1)) {
            if (series_matches(f, f->index[j], hash, values)) {
                found = f->index[j];
                goto done;
            }
        }
    }
    if (!create)
        goto done;
    if (f->nseries >= f->reg->series_cap) {
        metric_inc(f->reg->dropped, NULL);
        if (!f->cap_warned) {
            f->cap_warned = true;
            SLOG_WARN("metrics_series_cap", "metric=%s cap=%zu next=dropping_new_series", f->name,
                      f->reg->series_cap);
        }
        goto done;
    }
    if (family_make_room(f) != HL_OK || (found = series_new(f, hash, values)) == NULL)
        goto done;
    series_insert(f, found);

done:
    if (owned != NULL)
        for (size_t i = 0; i < f->nlabels; i++)
            free(owned[i]);
    free(owned);
    if (vals != stack_vals)
        free(vals);
    return found;
}

/* ---- families ---- */

static void family_free(metric_t *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->nseries; i++)
        free(f->series[i]);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->label_names[i]);
    free(f->series);
    free(f->index);
    free(f->label_names);
    free(f->bounds);
    free(f->help);
    free(f->name);
    free(f);
}

/* Split "a, b" into f->label_names. HL_EINVAL on a bad or repeated name. */
static int family_parse_labels(metric_t *f, const char *list)
{
    if (list == NULL)
        return HL_OK;
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    if ((f->label_names = calloc(n, sizeof *f->label_names)) == NULL)
        return HL_ENOMEM;
    const char *p = list + strspn(list, " ");
    if (*p == '\0')
        return HL_OK; /* "" means no labels */
    for (;;) {
        size_t len = strcspn(p, ", ");
        char *name = strndup(p, len);
        if (name == NULL)
            return HL_ENOMEM;
        f->label_names[f->nlabels++] = name;
        if (!name_valid(name, false) || (f->type == TYPE_HISTOGRAM && strcmp(name, "le") == 0))
            return HL_EINVAL;
        for (size_t i = 0; i + 1 < f->nlabels; i++)
            if (strcmp(f->label_names[i], name) == 0)
                return HL_EINVAL;
        p += len;
        p += strspn(p, " ");
        if (*p == '\0')
            return HL_OK;
        if (*p != ',')
            return HL_EINVAL;
        p++;
        p += strspn(p, " ");
    }
}

/* Whether existing family f is what this registration asks for. */
static bool family_same(const metric_t *f, const metric_t *want)
{
    if (f->fn != NULL || want->fn != NULL || f->type != want->type || f->nlabels != want->nlabels ||
        f->nbounds != want->nbounds)
        return false;
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(f->label_names[i], want->label_names[i]) != 0)
            return false;
    for (size_t i = 0; i < f->nbounds; i++)
        if (f->bounds[i] != want->bounds[i])
            return false;
    return true;
}

/* Register a family (or a callback when fn is set). On success *out is the new family, or an
 * existing identical one (the new one is built first so the two can be compared, then
 * dropped). Errors: HL_EINVAL, HL_EEXIST, HL_ENOMEM. */
int metrics_family_register(metrics_t *self, const char *name, const char *help, mtype_t type,
                            const char *label_names, const double *bounds, size_t nbounds,
                            metrics_gauge_fn fn, void *ctx, metric_t **out)
{
    metric_t *f = NULL;
    int rc = HL_EINVAL;
    *out = NULL;
    if (self == NULL || !name_valid(name, true) ||
        (type == TYPE_COUNTER && !ends_with(name, "_total")) || (nbounds > 0 && bounds == NULL))
        goto done;
    for (size_t i = 0; i < nbounds; i++)
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
            goto done;

    rc = HL_ENOMEM;
    if ((f = calloc(1, sizeof *f)) == NULL)
        goto done;
    f->reg = self;
    f->type = type;
    f->fn = fn;
    f->ctx = ctx;
    f->nbounds = nbounds;
    if ((rc = family_parse_labels(f, label_names)) != HL_OK)
        goto done;
    rc = HL_ENOMEM;
    if (nbounds > 0 && (f->bounds = malloc(nbounds * sizeof *f->bounds)) == NULL)
        goto done;
    if (nbounds > 0)
        memcpy(f->bounds, bounds, nbounds * sizeof *f->bounds);

    for (size_t i = 0; i < self->nfamilies; i++) {
        metric_t *g = self->families[i];
        if (strcmp(g->name, name) == 0) {
            rc = fn != NULL ? HL_EEXIST : family_same(g, f) ? HL_OK : HL_EINVAL;
            *out = rc == HL_OK ? g : NULL;
            goto done;
        }
        if ((type == TYPE_HISTOGRAM && histogram_series_name(g->name, name)) ||
            (g->type == TYPE_HISTOGRAM && histogram_series_name(name, g->name))) {
            rc = fn != NULL ? HL_EEXIST : HL_EINVAL;
            goto done;
        }
    }

    rc = HL_ENOMEM;
    if ((f->name = strdup(name)) == NULL || (f->help = strdup(help ? help : "")) == NULL)
        goto done;
    if (self->nfamilies == self->families_alloc) {
        size_t n = self->families_alloc ? self->families_alloc * 2 : 16;
        metric_t **arr = realloc(self->families, n * sizeof *arr);
        if (arr == NULL)
            goto done;
        self->families = arr;
        self->families_alloc = n;
    }
    /* An unlabelled family has its one series from the start, so it renders 0 at once. */
    if (fn == NULL && f->nlabels == 0) {
        series_t *s;
        if (family_make_room(f) != HL_OK || (s = series_new(f, 0, NULL)) == NULL)
            goto done;
        series_insert(f, s);
    }
    self->families[self->nfamilies++] = f;
    *out = f;
    f = NULL; /* the registry owns it now */
    rc = HL_OK;

done:
    family_free(f);
    return rc;
}

metric_t *metrics_counter(metrics_t *self, const char *name, const char *help,
                          const char *label_names)
{
    metric_t *f;
    metrics_family_register(self, name, help, TYPE_COUNTER, label_names, NULL, 0, NULL, NULL, &f);
    return f;
}

metric_t *metrics_gauge(metrics_t *self, const char *name, const char *help,
                        const char *label_names)
{
    metric_t *f;
    metrics_family_register(self, name, help, TYPE_GAUGE, label_names, NULL, 0, NULL, NULL, &f);
    return f;
}

metric_t *metrics_histogram(metrics_t *self, const char *name, const char *help,
                            const char *label_names, const double *buckets, size_t nbuckets)
{
    metric_t *f;
    metrics_family_register(self, name, help, TYPE_HISTOGRAM, label_names, buckets, nbuckets, NULL,
                            NULL, &f);
    return f;
}

int metrics_gauge_callback(metrics_t *self, const char *name, const char *help, metrics_gauge_fn fn,
                           void *ctx)
{
    metric_t *f;
    if (fn == NULL)
        return HL_EINVAL;
    return metrics_family_register(self, name, help, TYPE_GAUGE, NULL, NULL, 0, fn, ctx, &f);
}

int metrics_counter_callback(metrics_t *self, const char *name, const char *help,
                             metrics_gauge_fn fn, void *ctx)
{
    metric_t *f;
    if (fn == NULL)
        return HL_EINVAL;
    return metrics_family_register(self, name, help, TYPE_COUNTER, NULL, NULL, 0, fn, ctx, &f);
}

void metrics_series_cap_set(metrics_t *self, size_t cap)
{
    if (self != NULL)
        self->series_cap = cap > 0 ? cap : 1;
}

/* ---- updates ---- */

void metric_add(metric_t *m, const char *const *label_values, double v)
{
    if (m == NULL || m->type == TYPE_HISTOGRAM)
        return;
    if (m->type == TYPE_COUNTER && (!(v >= 0) || isinf(v)))
        return;
    series_t *s = series_get(m, label_values, true);
    if (s != NULL)
        s->value += v;
}

void metric_inc(metric_t *m, const char *const *label_values)
{
    metric_add(m, label_values, 1.0);
}

void metric_set(metric_t *m, const char *const *label_values, double v)
{
    if (m == NULL || m->type != TYPE_GAUGE)
        return;
    series_t *s = series_get(m, label_values, true);
    if (s != NULL)
        s->value = v;
}

void metric_observe(metric_t *m, const char *const *label_values, double v)
{
    if (m == NULL || m->type != TYPE_HISTOGRAM || isnan(v))
        return;
    series_t *s = series_get(m, label_values, true);
    if (s == NULL)
        return;
    /* First bound >= v (buckets are "less or equal"); nbounds when v is above them all. */
    size_t lo = 0, hi = m->nbounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->bounds[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    s->buckets[lo]++;
    s->count++;
    s->value += v;
}

double metrics_now(void)
{
    return (double)hclock_mono_ns() / 1e9;
}

void metric_observe_since(metric_t *m, const char *const *label_values, double start)
{
    double elapsed = metrics_now() - start;
    metric_observe(m, label_values, elapsed > 0 ? elapsed : 0);
}

double metric_value(const metric_t *m, const char *const *label_values)
{
    if (m == NULL)
        return 0;
    if (m->fn != NULL)
        return m->fn(m->ctx);
    /* Lookup only: series_get does not modify the family when create is false. */
    const series_t *s = series_get((metric_t *)m, label_values, false);
    if (s == NULL)
        return 0;
    return m->type == TYPE_HISTOGRAM ? (double)s->count : s->value;
}

/* ---- registry ---- */

int metrics_create(metrics_t **out)
{
    if (out == NULL)
        return HL_EINVAL;
    *out = NULL;
    metrics_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return HL_ENOMEM;
    int rc = HL_ENOMEM;
    self->series_cap = METRICS_DEFAULT_SERIES_CAP;
    if (getrandom(&self->seed, sizeof self->seed, GRND_NONBLOCK) != (ssize_t)sizeof self->seed)
        self->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)self;
    self->page_size = sysconf(_SC_PAGESIZE);
    self->start_time = metrics_process_start_time();
    if (self->start_time == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        self->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    if ((self->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0)) == (locale_t)0)
        goto done;

    rc = metrics_family_register(
        self, DROPPED_NAME, "Series not created because their family reached its cardinality cap.",
        TYPE_COUNTER, NULL, NULL, 0, NULL, NULL, &self->dropped);
    if (rc != HL_OK)
        goto done;
    self->dropped->builtin = true;
    rc = metrics_process_register(self);
    if (rc != HL_OK)
        goto done;
    *out = self;
    self = NULL;
    rc = HL_OK;

done:
    metrics_destroy(&self); /* on failure: what was built so far */
    return rc;
}

void metrics_destroy(metrics_t **self)
{
    if (self == NULL || *self == NULL)
        return;
    metrics_t *r = *self;
    for (size_t i = 0; i < r->nfamilies; i++)
        family_free(r->families[i]);
    free(r->families);
    if (r->c_locale != (locale_t)0)
        freelocale(r->c_locale);
    free(r);
    *self = NULL;
}
