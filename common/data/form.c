/* form: application/x-www-form-urlencoded decoding (see form.h). */
#include "form.h"

#include "utf8.h"

#include "hl_error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_PAIRS 100
#define DEFAULT_MAX_NAME 128
#define DEFAULT_MAX_VALUE 16384

typedef struct form_pair {
    const char *name;
    const char *value;
} form_pair_t;

struct form {
    char *text; /* every decoded name and value, NUL-terminated, in one block */
    form_pair_t *pairs;
    size_t npairs;
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}


/* Outside text made safe to quote back in an error: printable ASCII kept, the rest '?'. */
static void safe_copy(char *out, size_t size, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[n] = '\0';
}

static int fail(form_error_t *err, int rc, const char *key, size_t key_len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(form_error_t *err, int rc, const char *key, size_t key_len, const char *fmt, ...)
{
    if (err) {
        safe_copy(err->key, sizeof err->key, key, key_len);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int form_unescape(const char *in, size_t len, char *out, bool plus_is_space, const char **why)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '%') {
            int a = i + 1 < len ? hexval((unsigned char)in[i + 1]) : -1;
            int b = i + 2 < len ? hexval((unsigned char)in[i + 2]) : -1;
            if (a < 0 || b < 0) {
                if (why)
                    *why = "a '%' not followed by two hex digits: write '%25' for a percent sign";
                return HL_EINVAL;
            }
            c = (char)(a * 16 + b);
            i += 2;
        }
        if (c == '\0') {
            if (why)
                *why = "a NUL byte (%00)";
            return HL_EINVAL;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return (int)n;
}

int form_parse(form_t **out, const char *body, size_t len, const form_limits_t *limits,
               form_error_t *err)
{
    *out = NULL;
    if (err) {
        err->key[0] = '\0';
        err->message[0] = '\0';
    }
    size_t max_pairs = limits && limits->max_pairs ? limits->max_pairs : DEFAULT_MAX_PAIRS;
    size_t max_name = limits && limits->max_name_bytes ? limits->max_name_bytes : DEFAULT_MAX_NAME;
    size_t max_value =
        limits && limits->max_value_bytes ? limits->max_value_bytes : DEFAULT_MAX_VALUE;
    form_t *self = calloc(1, sizeof *self);
    /* Decoding never lengthens: a name and its value fit in the bytes of "name=value&". */
    if (self)
        self->text = malloc(len + 2);
    if (!self || !self->text) {
        form_destroy(&self);
        return fail(err, HL_ENOMEM, "", 0, "out of memory");
    }
    size_t cap = 0, used = 0;
    int rc = 0;
    for (size_t pos = 0; pos <= len && !rc;) {
        const char *piece = body ? body + pos : "";
        const char *amp = pos < len ? memchr(piece, '&', len - pos) : NULL;
        size_t plen = amp ? (size_t)(amp - piece) : len - pos;
        pos += plen + 1;
        if (plen == 0)
            continue;
        const char *eq = memchr(piece, '=', plen);
        size_t nlen = eq ? (size_t)(eq - piece) : plen;
        char *name = self->text + used;
        const char *why;
        int dn = form_unescape(piece, nlen, name, true, &why);
        if (dn < 0) {
            rc = fail(err, HL_EINVAL, piece, nlen, "the name has %s", why);
            break;
        }
        if (dn == 0) {
            rc = fail(err, HL_EINVAL, piece, plen,
                      "a value with no parameter name before its '=': write name=value");
            break;
        }
        if ((size_t)dn > max_name) {
            rc = fail(err, HL_ETOOBIG, name, (size_t)dn, "parameter name longer than %zu bytes",
                      max_name);
            break;
        }
        if (!utf8_valid(name, (size_t)dn)) {
            rc = fail(err, HL_EINVAL, name, (size_t)dn,
                      "the name is not valid UTF-8: send UTF-8, percent-encoded");
            break;
        }
        name[dn] = '\0';
        used += (size_t)dn + 1;
        const char *value = "";
        if (eq) {
            char *v = self->text + used;
            int dv = form_unescape(eq + 1, plen - nlen - 1, v, true, &why);
            if (dv < 0) {
                rc = fail(err, HL_EINVAL, name, (size_t)dn, "the value has %s", why);
                break;
            }
            if ((size_t)dv > max_value) {
                rc = fail(err, HL_ETOOBIG, name, (size_t)dn, "value longer than %zu bytes",
                          max_value);
                break;
            }
            if (!utf8_valid(v, (size_t)dv)) {
                rc = fail(err, HL_EINVAL, name, (size_t)dn,
                          "the value is not valid UTF-8: send UTF-8, percent-encoded");
                break;
            }
            v[dv] = '\0';
            used += (size_t)dv + 1;
            value = v;
        }
        if (self->npairs == max_pairs) {
            rc = fail(err, HL_ETOOBIG, name, (size_t)dn, "more than %zu parameters in one body",
                      max_pairs);
            break;
        }
        if (self->npairs == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            if (ncap > max_pairs)
                ncap = max_pairs;
            form_pair_t *np = realloc(self->pairs, ncap * sizeof *np);
            if (!np) {
                rc = fail(err, HL_ENOMEM, "", 0, "out of memory");
                break;
            }
            self->pairs = np;
            cap = ncap;
        }
        self->pairs[self->npairs++] = (form_pair_t){name, value};
    }
    if (rc) {
        form_destroy(&self);
        return rc;
    }
    *out = self;
    return 0;
}

void form_destroy(form_t **self)
{
    if (!self || !*self)
        return;
    free((*self)->text);
    free((*self)->pairs);
    free(*self);
    *self = NULL;
}

size_t form_count(const form_t *self)
{
    return self->npairs;
}

const char *form_name(const form_t *self, size_t i)
{
    return i < self->npairs ? self->pairs[i].name : NULL;
}

const char *form_value(const form_t *self, size_t i)
{
    return i < self->npairs ? self->pairs[i].value : NULL;
}

const char *form_get(const form_t *self, const char *name)
{
    for (size_t i = 0; i < self->npairs; i++)
        if (strcmp(self->pairs[i].name, name) == 0)
            return self->pairs[i].value;
    return NULL;
}

size_t form_count_of(const form_t *self, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < self->npairs; i++)
        n += strcmp(self->pairs[i].name, name) == 0;
    return n;
}

int form_key_split(const char *name, form_key_t *out)
{
    memset(out, 0, sizeof *out);
    const char *open = strchr(name, '[');
    out->base = name;
    out->base_len = open ? (size_t)(open - name) : strlen(name);
    if (out->base_len == 0 || (!open && strchr(name, ']')))
        return HL_EINVAL;
    if (!open)
        return 0;
    const char *close = strchr(open, ']');
    if (!close || memchr(open + 1, '[', (size_t)(close - open - 1)))
        return HL_EINVAL;
    const char *rest = close + 1;
    if (close == open + 1) {
        /* "a[]": a list with no sub-key; nothing may follow. */
        out->list = true;
        return *rest ? HL_EINVAL : 0;
    }
    out->sub = open + 1;
    out->sub_len = (size_t)(close - open - 1);
    if (*rest == '\0')
        return 0;
    if (strcmp(rest, "[]") == 0) {
        out->list = true;
        return 0;
    }
    return HL_EINVAL;
}
