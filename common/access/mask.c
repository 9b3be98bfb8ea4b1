/* mask: phone numbers and names out of public text. Pure; any thread. */
#include "mask.h"

#include "utf8.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_DIGITS 7

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool separator(char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* Digits at s (at most end - s), up to max. */
static size_t digits_at(const char *s, const char *end, size_t max)
{
    size_t n = 0;
    while (s + n < end && n < max && digit(s[n]))
        n++;
    return n;
}

/* Length of a token at s that looks like a number but is not a phone (a ticket id, a date, an
 * IPv4 address), or 0. */
static size_t exempt_len(const char *s, const char *end)
{
    size_t a = digits_at(s, end, 9);
    /* 20261125-1-000123: date, instance, daily sequence. */
    if (a == 8 && s + 8 < end && s[8] == '-') {
        size_t b = digits_at(s + 9, end, 4);
        if (b >= 1 && b <= 3 && s + 9 + b < end && s[9 + b] == '-') {
            size_t c = digits_at(s + 10 + b, end, 7);
            if (c == 6)
                return 16 + b;
        }
    }
    /* 20261125-001 (an incident id): a yyyymmdd date, then a dash. */
    if (a == 8 && s + 8 < end && s[8] == '-' && (s[0] == '1' || s[0] == '2')) {
        int month = (s[4] - '0') * 10 + (s[5] - '0'), day = (s[6] - '0') * 10 + (s[7] - '0');
        if (month >= 1 && month <= 12 && day >= 1 && day <= 31)
            return 8;
    }
    /* 2026-12-04, 2026.12.04, 2026/12/04 */
    if (a == 4 && (s[0] == '1' || s[0] == '2') && s + 4 < end &&
        (s[4] == '-' || s[4] == '.' || s[4] == '/')) {
        char sep = s[4];
        size_t m = digits_at(s + 5, end, 3);
        if ((m == 1 || m == 2) && s + 5 + m < end && s[5 + m] == sep) {
            size_t d = digits_at(s + 6 + m, end, 3);
            if (d == 1 || d == 2)
                return 6 + m + d;
        }
    }
    /* 192.168.100.200 */
    if (a >= 1 && a <= 3) {
        const char *p = s + a;
        int parts = 1;
        while (parts < 4 && p < end && *p == '.') {
            size_t n = digits_at(p + 1, end, 4);
            if (n < 1 || n > 3)
                break;
            p += 1 + n;
            parts++;
        }
        if (parts == 4 && !(p < end && (*p == '.' || digit(*p))))
            return (size_t)(p - s);
    }
    return 0;
}

/* Mask the digits of the run [start, last]: keep the country prefix, the first 3 national
 * digits of a long number and the last 4. */
static void mask_run(char *start, char *last, size_t ndigits, size_t prefix_digits)
{
    size_t national = ndigits - prefix_digits;
    size_t keep_head = national >= 11 ? 3 : 0, k = 0;
    for (char *p = start; p <= last; p++) {
        if (!digit(*p))
            continue;
        bool keep = k < prefix_digits || k - prefix_digits < keep_head || k + 4 >= ndigits;
        if (!keep)
            *p = '*';
        k++;
    }
}

size_t mask_phones_n(char *text, size_t len)
{
    char *p = text, *end = text + len;
    size_t masked = 0;
    while (p < end) {
        bool plus = *p == '+' && p + 1 < end && digit(p[1]);
        bool bracket = *p == '(' && p + 1 < end && (digit(p[1]) || p[1] == '+');
        if (!digit(*p) && !plus && !bracket) {
            p++;
            continue;
        }
        size_t skip = digit(*p) ? exempt_len(p, end) : 0;
        if (skip) {
            p += skip;
            continue;
        }
        char *start = p, *last = NULL;
        size_t ndigits = 0, seps = 0;
        for (char *q = p; q < end; q++) {
            if (digit(*q) && q > start && !digit(q[-1]) && exempt_len(q, end))
                break; /* a ticket id or date after this number is not part of it */
            if (digit(*q)) {
                ndigits++;
                last = q;
                seps = 0;
            } else if ((q == start && (*q == '+' || *q == '(')) ||
                       (separator(*q) && seps < 2) || (*q == '+' && q > start && q[-1] == '(')) {
                seps++;
            } else {
                break;
            }
        }
        if (!last) {
            p++;
            continue;
        }
        if (ndigits >= MIN_DIGITS) {
            /* A country prefix: +86 or 0086 (optionally bracketed) before at least 7 more. */
            const char *d = start;
            while (d <= last && !digit(*d))
                d++;
            bool has_plus = memchr(start, '+', (size_t)(d - start)) != NULL;
            size_t prefix = 0;
            if (has_plus && last - d >= 1 && d[0] == '8' && d[1] == '6' && ndigits - 2 >= MIN_DIGITS)
                prefix = 2;
            else if (last - d >= 3 && memcmp(d, "0086", 4) == 0 && ndigits - 4 >= MIN_DIGITS)
                prefix = 4;
            mask_run(start, last, ndigits, prefix);
            masked++;
        }
        p = last + 1;
    }
    return masked;
}

size_t mask_phones(char *text)
{
    return text ? mask_phones_n(text, strlen(text)) : 0;
}

char *mask_phones_dup(const char *text)
{
    char *copy = strdup(text ? text : "");
    if (copy)
        mask_phones(copy);
    return copy;
}

void mask_phone_field(const char *phone, char *out, size_t out_size)
{
    if (!out_size)
        return;
    size_t n = phone ? strlen(phone) : 0;
    if (n >= out_size)
        n = out_size - 1;
    memmove(out, phone ? phone : "", n); /* out may be phone itself */
    out[n] = '\0';
    size_t ndigits = 0;
    for (size_t i = 0; i < n; i++)
        ndigits += digit(out[i]);
    size_t keep_head = ndigits >= 11 ? 3 : 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!digit(out[i]))
            continue;
        if (k >= keep_head && k + 4 < ndigits)
            out[i] = '*';
        k++;
    }
}

void mask_name(const char *name, char *out, size_t out_size)
{
    if (!out_size)
        return;
    out[0] = '\0';
    if (!name || !*name)
        return;
    const unsigned char *s = (const unsigned char *)name;
    size_t avail = strlen(name);
    size_t first = utf8_seq(s, avail, NULL);
    if (first == 0)
        first = 1; /* not UTF-8: show nothing of it but its length */
    size_t o = 0;
    if (first < out_size && utf8_seq(s, avail, NULL)) {
        memmove(out, name, first); /* out may be name itself */
        o = first;
    }
    for (size_t i = first; i < avail && o + 1 < out_size;) {
        size_t l = utf8_seq(s + i, avail - i, NULL);
        i += l ? l : 1;
        out[o++] = '*';
    }
    out[o] = '\0';
}
