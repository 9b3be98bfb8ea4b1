/* open311_util: error lists, ISO 8601 datetimes in the centre's zone, comma lists.
 * Uses only common/ (the fuzz target compiles it alone). */
#include "open311.h"

#include "calendar.h"
#include "hl_error.h"

#include <ctype.h>
#include <stdarg.h>
#include "utf8.h"

#include <stdio.h>
#include <string.h>

const char *open311_quote(char *out, size_t size, const char *s)
{
    if (size < 8) {
        if (size)
            out[0] = '\0';
        return out;
    }
    size_t len = strlen(s ? s : "");
    bool cut = len > size - 1;
    snprintf(out, cut ? size - 3 : size, "%s", s ? s : "");
    utf8_clean(out);
    if (cut)
        strcat(out, "...");
    return out;
}

void open311_errors_init(open311_errors_t *e)
{
    e->http = 0;
    e->n = 0;
}

void open311_error_addv(open311_errors_t *e, int http, int code, const char *fmt, va_list ap)
{
    if (e->n == 0)
        e->http = http;
    if (e->n == OPEN311_MAX_ERRORS)
        return;
    e->items[e->n].code = code;
    vsnprintf(e->items[e->n].description, sizeof e->items[e->n].description, fmt, ap);
    /* It goes into JSON and XML: valid UTF-8 even when cut or quoting odd input. */
    utf8_clean(e->items[e->n].description);
    e->n++;
}

void open311_error_add(open311_errors_t *e, int http, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    open311_error_addv(e, http, code, fmt, ap);
    va_end(ap);
}

/* Read exactly n digits at *p into *out. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

int open311_time_parse(const char *text, int offset_min, int64_t *out_ms)
{
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return HL_EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return HL_EINVAL;
    int zone = offset_min;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            return HL_EINVAL;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &s))
                return HL_EINVAL;
            if (*p == '.' || *p == ',') {
                p++;
                int nd = 0;
                for (; isdigit((unsigned char)*p); p++, nd++)
                    if (nd < 3)
                        ms = ms * 10 + (*p - '0');
                if (nd == 0)
                    return HL_EINVAL;
                for (; nd < 3; nd++)
                    ms *= 10;
            }
        }
        if (h > 23 || mi > 59 || s > 60) /* 60: a leap second, read as the next minute */
            return HL_EINVAL;
        if (*p == 'Z' || *p == 'z') {
            zone = 0;
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, zh, zm = 0;
            if (!digits(&p, 2, &zh))
                return HL_EINVAL;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p) && !digits(&p, 2, &zm))
                return HL_EINVAL;
            if (zh > 14 || zm > 59)
                return HL_EINVAL;
            zone = sign * (zh * 60 + zm);
        }
    }
    if (*p)
        return HL_EINVAL;
    int64_t day = calendar_day_from_ymd(y, mo, d);
    *out_ms = ((day * 24 + h) * 60 + mi - zone) * 60000LL + s * 1000LL + ms;
    return 0;
}

void open311_time_format(int64_t ms, int offset_min, char *out, size_t size)
{
    int64_t local = ms + offset_min * 60000LL;
    int64_t day = local >= 0 ? local / 86400000 : -((-local + 86399999) / 86400000);
    int64_t in_day = local - day * 86400000;
    int y, m, d;
    calendar_ymd_from_day(day, &y, &m, &d);
    int secs = (int)(in_day / 1000);
    if (offset_min == 0) {
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, secs / 3600, secs / 60 % 60,
                 secs % 60);
        return;
    }
    int off = offset_min < 0 ? -offset_min : offset_min;
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, m, d, secs / 3600,
             secs / 60 % 60, secs % 60, offset_min < 0 ? '-' : '+', off / 60, off % 60);
}

int open311_split_list(char *text, char **items, int max)
{
    int n = 0;
    for (char *p = text; p && *p;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        while (isspace((unsigned char)*p))
            p++;
        char *end = p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (*p) {
            if (n == max)
                return HL_ETOOBIG;
            items[n++] = p;
        }
        p = comma ? comma + 1 : NULL;
    }
    return n;
}
