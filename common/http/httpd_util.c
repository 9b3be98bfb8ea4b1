/* httpd_util: pure helpers for httpd (buffers, percent-decoding, query parameters, JSON error
 * bodies, dates) and the binding of its listening sockets. No state; any thread. */
#include "httpd_internal.h"

#include "form.h"
#include "hl_error.h"
#include "utf8.h"

#include <jansson.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

int httpd_path_decode(const char *in, size_t len, char *out)
{
    return form_unescape(in, len, out, false, NULL);
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
            int klen = form_unescape(p, key_len, key, true, NULL);
            bool match = klen >= 0 && (size_t)klen == name_len && memcmp(key, name, name_len) == 0;
            free(key);
            if (match) {
                const char *val = eq ? eq + 1 : end;
                size_t val_len = (size_t)(end - val);
                char *tmp = malloc(val_len + 1);
                if (!tmp)
                    return HL_ENOMEM;
                int vlen = form_unescape(val, val_len, tmp, true, NULL);
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

int httpd_query_unknown(const char *query, const char *const *allowed, char *out,
                        size_t out_size)
{
    for (const char *p = query ? query : ""; *p;) {
        size_t n = strcspn(p, "&");
        size_t name_len = strcspn(p, "=&");
        if (n > 0) {
            char *name = malloc(name_len + 1);
            if (!name)
                return HL_ENOMEM;
            if (form_unescape(p, name_len, name, true, NULL) < 0)
                snprintf(name, name_len + 1, "%.*s", (int)name_len, p); /* quoted raw */
            bool known = false;
            for (size_t i = 0; allowed[i] && !known; i++)
                known = strcmp(name, allowed[i]) == 0;
            if (!known && out_size) {
                snprintf(out, out_size, "%s", name);
                for (char *c = out; *c; c++)
                    if (*c < 0x20 || *c > 0x7e)
                        *c = '?';
            }
            free(name);
            if (!known)
                return 1;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return 0;
}

int httpd_error_json(httpd_buf_t *out, int status, const char *message)
{
    /* jansson escapes; it takes only UTF-8, so a message quoting bad input is repaired. */
    char *text = utf8_repair(message ? message : "");
    json_t *j = text ? json_pack("{s:{s:i, s:s}}", "error", "status", status, "message", text)
                     : NULL;
    free(text);
    char *dump = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    int rc = dump ? httpd_buf_append(out, dump, strlen(dump)) : HL_ENOMEM;
    free(dump);
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

/* Bind with plain sockets first, so that every likely error (bad address, port in use) is
 * found before any libuv handle exists and there is nothing to close asynchronously. */
int httpd_bind_socket(const char *addr, uint16_t port, bool reuse_port, int *fd_out,
                       uint16_t *port_out)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss) != 0)
        return HL_EINVAL;
    socklen_t sslen =
        ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return hl_error_from_errno(errno);
    int one = 1;
    int rc = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 511) != 0) {
        int err = errno;
        rc = err == EADDRINUSE                       ? HL_EEXIST
             : err == EADDRNOTAVAIL || err == EINVAL ? HL_EINVAL
                                                     : hl_error_from_errno(err);
        goto fail;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
        rc = hl_error_from_errno(errno);
        goto fail;
    }
    *port_out = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
    *fd_out = fd;
    return 0;
fail:
    close(fd);
    return rc;
}
