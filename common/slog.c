/* slog: structured logging with phone masking. Called from any thread; one fputs per line. */
#include "slog.h"

#include "hl_error.h"
#include "mask.h"

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

/* Where the next " key=" starts at or after p (a space, then a key, then '='), or the end. */
static char *next_pair(char *p, char **key, size_t *key_len)
{
    for (; *p; p++) {
        if (*p != ' ')
            continue;
        char *k = p + 1, *eq = k;
        while (*eq && *eq != ' ' && *eq != '=' && *eq != '"')
            eq++;
        if (*eq == '=' && eq > k) {
            *key = k;
            *key_len = (size_t)(eq - k);
            return p;
        }
    }
    *key = NULL;
    *key_len = 0;
    return p;
}

size_t slog_mask_phones(char *text)
{
    size_t masked = 0;
    char *key, *next_key;
    size_t key_len, next_len;
    char *pair = next_pair(text, &key, &key_len);
    masked += mask_phones_n(text, (size_t)(pair - text)); /* text before the first key */
    while (key) {
        char *value = key + key_len + 1;
        char *next = next_pair(value, &next_key, &next_len);
        if (!key_is_counter(key, key_len))
            masked += mask_phones_n(value, (size_t)(next - value));
        key = next_key;
        key_len = next_len;
    }
    return masked;
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

bool slog_limit_pass(slog_limit_t *l, int64_t now_ms, int64_t every_ms, uint64_t *held_back)
{
    if (l->last_ms && now_ms - l->last_ms < every_ms) {
        l->held++;
        return false;
    }
    *held_back = l->held;
    l->held = 0;
    l->last_ms = now_ms;
    return true;
}
