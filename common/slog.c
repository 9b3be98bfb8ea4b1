/* slog: structured logging with phone masking. Called from any thread; one fputs per line. */
#include "slog.h"

#include "hl_error.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static struct {
    char service[48];
    slog_level_t level;
} g_slog = {"hotline", SLOG_INFO};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void slog_init(const char *service, slog_level_t level)
{
    snprintf(g_slog.service, sizeof g_slog.service, "%s", service ? service : "hotline");
    g_slog.level = level;
}

int slog_level_parse(const char *text, slog_level_t *out)
{
    for (int i = 0; i <= SLOG_DEBUG; i++) {
        if (text && strcasecmp(text, level_names[i]) == 0) {
            *out = (slog_level_t)i;
            return 0;
        }
    }
    return HL_EINVAL;
}

bool slog_enabled(slog_level_t level)
{
    return level <= g_slog.level;
}

/* Keys whose values are counters, sizes or times: long digit runs there are not phones. */
static bool key_is_counter(const char *key, size_t len)
{
    static const char *const suffixes[] = {"seq", "_ms", "_us", "_ns", "bytes", "count",
                                           "head", "cursor", "pid", "port", "_kb", "total",
                                           "after", "size", "per_s", "first", "last"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t n = strlen(suffixes[i]);
        if (len >= n && strncmp(key + len - n, suffixes[i], n) == 0)
            return true;
    }
    return false;
}

static void mask_run(char *run, size_t len)
{
    /* Keep the first 3 and last 4 digits of a full number, only the last 4 of a short one. */
    size_t keep_head = len >= 11 ? 3 : 0;
    for (size_t i = keep_head; i + 4 < len; i++)
        run[i] = '*';
}

size_t slog_mask_phones(char *text)
{
    size_t masked = 0;
    bool counter = false; /* inside the value of a counter key */
    char *p = text;
    while (*p) {
        if (*p == ' ') {
            /* A new token: "key=value" decides; a bare word continues the previous value. */
            char *tok = p + 1;
            char *eq = tok;
            while (*eq && *eq != ' ' && *eq != '=' && *eq != '"')
                eq++;
            if (*eq == '=')
                counter = key_is_counter(tok, (size_t)(eq - tok));
            p++;
            continue;
        }
        if (isdigit((unsigned char)*p) && (p == text || !isalnum((unsigned char)p[-1]))) {
            char *start = p;
            while (isdigit((unsigned char)*p))
                p++;
            size_t len = (size_t)(p - start);
            bool ticket_date = len == 8 && *p == '-'; /* 20261125-1-000123 */
            if (!counter && len >= 7 && !ticket_date && !isalpha((unsigned char)*p)) {
                mask_run(start, len);
                masked++;
            }
            continue;
        }
        p++;
    }
    return masked;
}

void slog_mask_phone_value(const char *phone, char *out, size_t out_size)
{
    snprintf(out, out_size, "%s", phone ? phone : "");
    size_t digits = 0;
    for (char *p = out; *p; p++)
        digits += isdigit((unsigned char)*p) != 0;
    size_t keep_head = digits >= 11 ? 3 : 0, seen = 0;
    for (char *p = out; *p; p++) {
        if (!isdigit((unsigned char)*p))
            continue;
        if (seen >= keep_head && seen + 4 < digits)
            *p = '*';
        seen++;
    }
}

void slog_write(slog_level_t level, const char *event, const char *fmt, ...)
{
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s service=%s event=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], g_slog.service,
                     event);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    size_t head = (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + head, sizeof line - head - 1, fmt, ap);
    va_end(ap);
    /* Mask from the space before the key=value part, so the first key is seen as a token. */
    slog_mask_phones(line + head - 1);
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == ' ')
        len--;
    line[len++] = '\n';
    line[len] = '\0';
    fputs(line, stderr);
}
