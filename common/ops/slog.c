/* slog: structured logging with phone masking. Called from any thread; one fputs per line. */
#include "slog.h"

#include "hl_error.h"
#include "mask.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static struct {
    char service[48];
    slog_level_t level;
} g_slog = {"hotline", SLOG_INFO};

#define LINE_BYTES 4096 /* one line at most, newline included */

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

/* The escaped form of byte c into esc (at least 5 bytes): its length. */
static size_t escape_byte(unsigned char c, char *esc)
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"': memcpy(esc, "\\\"", 2); return 2;
    case '\\': memcpy(esc, "\\\\", 2); return 2;
    case '\n': memcpy(esc, "\\n", 2); return 2;
    case '\r': memcpy(esc, "\\r", 2); return 2;
    case '\t': memcpy(esc, "\\t", 2); return 2;
    default: break;
    }
    if (c < 0x20 || c == 0x7f) {
        esc[0] = '\\';
        esc[1] = 'x';
        esc[2] = hex[c >> 4];
        esc[3] = hex[c & 15];
        return 4;
    }
    esc[0] = (char)c;
    return 1;
}

/* Length of the escaped text of s, without quotes. */
static size_t escaped_len(const unsigned char *s)
{
    char esc[5];
    size_t n = 0;
    for (; *s; s++)
        n += escape_byte(*s, esc);
    return n;
}

const char *slog_quote(char *out, size_t out_size, const char *value)
{
    if (!out)
        return "";
    if (out_size < 8) {
        if (out_size)
            out[0] = '\0';
        return out;
    }
    const unsigned char *p = (const unsigned char *)(value ? value : "");
    bool whole = escaped_len(p) + 3 <= out_size; /* quotes and NUL */
    size_t limit = whole ? out_size - 2 : out_size - 2 - 3; /* room left for "..." */
    size_t n = 0;
    out[n++] = '"';
    for (; *p; p++) {
        char esc[5];
        size_t len = escape_byte(*p, esc);
        if (n + len > limit)
            break;
        memcpy(out + n, esc, len);
        n += len;
    }
    if (!whole) {
        n = 1 + utf8_trim_len(out + 1, n - 1); /* a cut value stays valid text */
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n++] = '"';
    out[n] = '\0';
    return out;
}

/* Past a value in double quotes starting at p (a backslash escapes the next byte): the byte
 * after the closing quote, or the end of the text when it has none. */
static char *skip_quoted(char *p)
{
    for (p++; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return p;
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
        char *next = next_pair(*value == '"' ? skip_quoted(value) : value, &next_key, &next_len);
        if (!key_is_counter(key, key_len))
            masked += mask_phones_n(value, (size_t)(next - value));
        key = next_key;
        key_len = next_len;
    }
    return masked;
}

/* A value formatted by hand may hold a newline or another control byte: written raw, it would
 * split the event over two lines. Escape them in place as slog_quote does, cutting the text
 * where the escapes no longer fit in size bytes (NUL included). */
static void escape_controls(char *text, size_t size)
{
    size_t len = strlen(text);
    bool any = false;
    for (size_t i = 0; i < len && !any; i++)
        any = (unsigned char)text[i] < 0x20 || text[i] == 0x7f;
    if (!any)
        return;
    char copy[LINE_BYTES];
    memcpy(copy, text, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)copy[i];
        char esc[5] = {(char)c};
        size_t k = c < 0x20 || c == 0x7f ? escape_byte(c, esc) : 1;
        if (n + k + 1 > size)
            break;
        memcpy(text + n, esc, k);
        n += k;
    }
    text[n] = '\0';
}

void slog_write(slog_level_t level, const char *event, const char *fmt, ...)
{
    char line[LINE_BYTES];
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
    escape_controls(line + head, sizeof line - head - 1);
    /* Mask from the space before the key=value part, so the first key is seen as a token. */
    slog_mask_phones(head ? line + head - 1 : line);
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
