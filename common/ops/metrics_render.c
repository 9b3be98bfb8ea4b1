/* metrics_render: the Prometheus text exposition format (0.0.4). Loop thread. */
#include "metrics_internal.h"

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

/* ---- rendering ---- */

typedef struct sbuf {
    char *buf;  /* NUL-terminated once anything was written */
    size_t len; /* bytes written, without the NUL */
    size_t cap; /* allocated */
    bool oom;   /* an allocation failed: everything after is dropped, render fails */
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *buf = realloc(b->buf, cap);
        if (buf == NULL) {
            b->oom = true;
            return;
        }
        b->buf = buf;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void sb_str(sbuf_t *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Write s escaping backslash and newline, and double quote when quote is set (label values;
 * HELP text keeps its quotes). */
static void sb_escaped(sbuf_t *b, const char *s, bool quote)
{
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *esc = NULL;
        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '\n')
            esc = "\\n";
        else if (quote && *p == '"')
            esc = "\\\"";
        else if (*p != '\0')
            continue;
        sb_put(b, run, (size_t)(p - run));
        if (*p == '\0')
            return;
        sb_put(b, esc, 2);
        run = p + 1;
    }
}

/* Integral values up to 2^53 (where every integer is exact) without exponent, others in the
 * shortest %g form that reads back as the same double. Caller has the C locale in effect. */
static void format_value(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) <= 9007199254740992.0) {
        snprintf(buf, size, "%.0f", v == 0 ? 0.0 : v); /* no "-0" */
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, size, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
}

/* One sample line: name + suffix + {labels[,le="..."]} + ' ' + value + '\n'. s may be NULL
 * for a family without labels. */
static void sb_sample(sbuf_t *b, const metric_t *f, const char *suffix, const series_t *s,
                      const char *le, double v)
{
    sb_str(b, f->name);
    sb_str(b, suffix);
    if (f->nlabels > 0 || le != NULL) {
        sb_put(b, "{", 1);
        for (size_t i = 0; i < f->nlabels; i++) {
            sb_str(b, i > 0 ? "," : "");
            sb_str(b, f->label_names[i]);
            sb_put(b, "=\"", 2);
            sb_escaped(b, s->values[i], true);
            sb_put(b, "\"", 1);
        }
        if (le != NULL) {
            sb_str(b, f->nlabels > 0 ? ",le=\"" : "le=\"");
            sb_str(b, le);
            sb_put(b, "\"", 1);
        }
        sb_put(b, "}", 1);
    }
    char num[40];
    format_value(num, sizeof num, v);
    sb_put(b, " ", 1);
    sb_str(b, num);
    sb_put(b, "\n", 1);
}

static void render_histogram_series(sbuf_t *b, const metric_t *f, const series_t *s)
{
    char le[40];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= f->nbounds; i++) {
        cumulative += s->buckets[i];
        if (i < f->nbounds)
            format_value(le, sizeof le, f->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        sb_sample(b, f, "_bucket", s, le, (double)cumulative);
    }
    sb_sample(b, f, "_sum", s, NULL, s->value);
    sb_sample(b, f, "_count", s, NULL, (double)s->count);
}

static void render_family(sbuf_t *b, const metric_t *f)
{
    if (f->fn == NULL && f->nseries == 0)
        return; /* HELP / TYPE without samples only confuses readers */
    if (f->help[0] != '\0') {
        sb_str(b, "# HELP ");
        sb_str(b, f->name);
        sb_put(b, " ", 1);
        sb_escaped(b, f->help, false);
        sb_put(b, "\n", 1);
    }
    sb_str(b, "# TYPE ");
    sb_str(b, f->name);
    sb_put(b, " ", 1);
    sb_str(b, metrics_type_names[f->type]);
    sb_put(b, "\n", 1);
    if (f->fn != NULL)
        sb_sample(b, f, "", NULL, NULL, f->fn(f->ctx));
    for (size_t i = 0; i < f->nseries; i++) {
        if (f->type == TYPE_HISTOGRAM)
            render_histogram_series(b, f, f->series[i]);
        else
            sb_sample(b, f, "", f->series[i], NULL, f->series[i]->value);
    }
}

int metrics_render(metrics_t *self, char **out, size_t *len)
{
    if (self == NULL || out == NULL || len == NULL)
        return HL_EINVAL;
    sbuf_t b = {0};
    /* printf and strtod follow LC_NUMERIC: a service that set a locale with a decimal comma
     * must not produce "0,5", which Prometheus cannot parse. */
    locale_t old = uselocale(self->c_locale);
    for (int builtin = 0; builtin <= 1; builtin++)
        for (size_t i = 0; i < self->nfamilies; i++)
            if (self->families[i]->builtin == (builtin == 1))
                render_family(&b, self->families[i]);
    uselocale(old);
    sb_put(&b, "", 0); /* allocate the NUL even if nothing was written */
    if (b.oom) {
        free(b.buf);
        return HL_ENOMEM;
    }
    *out = b.buf;
    *len = b.len;
    return HL_OK;
}
