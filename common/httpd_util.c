/* httpd_util: pure helpers for httpd (buffers, percent-decoding, query parameters, JSON error
 * bodies, dates). No state; any thread. */
#include "httpd_internal.h"

#include "hl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int httpd_buf_append(httpd_buf_t *b, const void *data, size_t len)
{
    if (len >= SIZE_MAX / 2 - b->len)
        return HL_ENOMEM;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return HL_ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int httpd_buf_printf(httpd_buf_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return HL_EINVAL;
    if ((size_t)n < sizeof small)
        return httpd_buf_append(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return HL_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = httpd_buf_append(b, big, (size_t)n);
    free(big);
    return rc;
}

void httpd_buf_free(httpd_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int httpd_path_decode(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '%') {
            if (in[i] == '\0')
                return HL_EINVAL;
            out[o++] = in[i];
            continue;
        }
        if (i + 2 >= len)
            return HL_EINVAL;
        int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
        if (hi < 0 || lo < 0)
            return HL_EINVAL;
        char ch = (char)(hi * 16 + lo);
        /* A NUL would silently cut the path short for every consumer of the C string. */
        if (ch == '\0')
            return HL_EINVAL;
        out[o++] = ch;
        i += 2;
    }
    out[o] = '\0';
    return (int)o;
}

/* Form-decode in[0..len) into out (capacity >= len + 1); returns the length or HL_EINVAL when
 * it would hold a NUL. */
static int form_decode(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%' && i + 2 < len) {
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi >= 0 && lo >= 0) {
                ch = (char)(hi * 16 + lo);
                i += 2;
            }
        }
        if (ch == '\0')
            return HL_EINVAL;
        out[o++] = ch;
    }
    out[o] = '\0';
    return (int)o;
}

int httpd_query_param(const char *query, const char *name, char *out, size_t out_size)
{
    if (!query || !name)
        return HL_ENOTFOUND;
    size_t name_len = strlen(name);
    const char *p = query;
    while (*p) {
        const char *end = strchr(p, '&');
        if (!end)
            end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *key_end = eq ? eq : end;
        size_t key_len = (size_t)(key_end - p);
        /* A decoded key is never longer than the raw one; skip the decode when it cannot
         * match. */
        if (key_len >= name_len) {
            char *key = malloc(key_len + 1);
            if (!key)
                return HL_ENOMEM;
            int klen = form_decode(p, key_len, key);
            bool match = klen >= 0 && (size_t)klen == name_len && memcmp(key, name, name_len) == 0;
            free(key);
            if (match) {
                const char *val = eq ? eq + 1 : end;
                size_t val_len = (size_t)(end - val);
                char *tmp = malloc(val_len + 1);
                if (!tmp)
                    return HL_ENOMEM;
                int vlen = form_decode(val, val_len, tmp);
                int rc = vlen;
                if (vlen >= 0 && (size_t)vlen + 1 > out_size)
                    rc = HL_ETOOBIG;
                else if (vlen >= 0)
                    memcpy(out, tmp, (size_t)vlen + 1);
                free(tmp);
                return rc;
            }
        }
        p = *end ? end + 1 : end;
    }
    return HL_ENOTFOUND;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static int json_escape(httpd_buf_t *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = httpd_buf_append(out, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            rc = httpd_buf_printf(out, "\\u%04x", c);
            i++;
        } else {
            size_t len = utf8_seq_len(s + i, n - i);
            if (len == 0) {
                rc = httpd_buf_append(out, "\\ufffd", 6);
                i++;
            } else {
                rc = httpd_buf_append(out, s + i, len);
                i += len;
            }
        }
    }
    return rc;
}

int httpd_error_json(httpd_buf_t *out, int status, const char *message)
{
    int rc = httpd_buf_printf(out, "{\"error\":{\"status\":%d,\"message\":\"", status);
    if (rc == 0)
        rc = json_escape(out, message);
    if (rc == 0)
        rc = httpd_buf_append(out, "\"}}", 3);
    return rc;
}

void httpd_format_date(time_t t, char *out, size_t out_size)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11) {
        snprintf(out, out_size, "Thu, 01 Jan 1970 00:00:00 GMT");
        return;
    }
    snprintf(out, out_size, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const char *httpd_status_reason(int status)
{
    const char *s = http_status_str((enum http_status)status);
    /* http_parser answers "<unknown>" for codes it has no name for. */
    if (!s || s[0] == '<')
        return "Status";
    return s;
}
