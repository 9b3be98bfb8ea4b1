/* utf8: validation of UTF-8 text. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t utf8_seq(const unsigned char *s, size_t avail, uint32_t *cp)
{
    if (avail == 0)
        return 0;
    if (s[0] < 0x80) {
        if (cp)
            *cp = s[0];
        return 1;
    }
    size_t n;
    uint32_t v;
    unsigned lo = 0x80, hi = 0xBF; /* the second byte's range: excludes overlongs etc. */
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2, v = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3, v = s[0] & 0x0F;
        lo = s[0] == 0xE0 ? 0xA0 : 0x80; /* overlong */
        hi = s[0] == 0xED ? 0x9F : 0xBF; /* surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4, v = s[0] & 0x07;
        lo = s[0] == 0xF0 ? 0x90 : 0x80; /* overlong */
        hi = s[0] == 0xF4 ? 0x8F : 0xBF; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (cp)
        *cp = v;
    return n;
}

bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(p + i, len - i, NULL);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

size_t utf8_trim_len(const char *s, size_t n)
{
    size_t start = n;
    while (start > 0 && ((unsigned char)s[start - 1] & 0xC0) == 0x80 && n - start < 3)
        start--;
    if (start > 0 && (unsigned char)s[start - 1] >= 0xC0)
        start--;
    if (start < n && utf8_seq((const unsigned char *)s + start, n - start, NULL) != n - start)
        return start;
    return n;
}

void utf8_trim_cut(char *s)
{
    s[utf8_trim_len(s, strlen(s))] = '\0';
}

long utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    long n = 0;
    for (size_t i = 0; i < len; n++) {
        size_t k = utf8_seq(p + i, len - i, NULL);
        if (!k)
            return -1;
        i += k;
    }
    return n;
}

size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* s[n] is where the cut falls: back off its continuation bytes */
    return n;
}

char *utf8_repair(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), o = 0;
    char *out = malloc(len * 3 + 1); /* each bad byte may become three */
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(p + i, len - i, NULL);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

void utf8_clean(char *s)
{
    utf8_trim_cut(s);
    unsigned char *p = (unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(p + i, len - i, NULL);
        if (k == 0 || p[i] < 0x20 || p[i] == 0x7f) {
            p[i++] = '?';
            continue;
        }
        i += k;
    }
}
