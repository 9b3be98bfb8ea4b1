/* xmlw: a streaming XML writer (see xmlw.h). */
#include "xmlw.h"

#include "utf8.h"

#include "hl_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 128

static const char DECLARATION[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

struct xmlw {
    char *buf;
    size_t len, cap;
    char *open[XMLW_MAX_DEPTH]; /* names of the open elements, outermost first */
    int depth;
    bool in_tag;   /* "<name" written, '>' not yet: attributes may follow */
    bool had_root; /* a root element was opened: a second one is an error */
    int rc;        /* the first error: every later call returns it */
};

static int put(xmlw_t *self, const char *s, size_t n)
{
    if (self->rc)
        return self->rc;
    if (self->len + n + 1 > self->cap) {
        size_t cap = self->cap ? self->cap : 256;
        while (cap < self->len + n + 1)
            cap *= 2;
        char *nb = realloc(self->buf, cap);
        if (!nb)
            return self->rc = HL_ENOMEM;
        self->buf = nb;
        self->cap = cap;
    }
    memcpy(self->buf + self->len, s, n);
    self->len += n;
    self->buf[self->len] = '\0';
    return 0;
}

static int puts_(xmlw_t *self, const char *s)
{
    return put(self, s, strlen(s));
}

int xmlw_new(xmlw_t **out)
{
    xmlw_t *self = calloc(1, sizeof *self);
    if (!self || put(self, DECLARATION, sizeof DECLARATION - 1)) {
        xmlw_destroy(&self);
        *out = NULL;
        return HL_ENOMEM;
    }
    *out = self;
    return 0;
}

void xmlw_destroy(xmlw_t **self)
{
    if (!self || !*self)
        return;
    for (int i = 0; i < (*self)->depth; i++)
        free((*self)->open[i]);
    free((*self)->buf);
    free(*self);
    *self = NULL;
}

/* XML names restricted to ASCII: what answers need, and easy to check. */
static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MAX_NAME)
        return false;
    char c = name[0];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'))
        return false;
    if (n >= 3 && (name[0] | 0x20) == 'x' && (name[1] | 0x20) == 'm' && (name[2] | 0x20) == 'l')
        return false; /* reserved by the XML specification */
    for (size_t i = 1; i < n; i++) {
        c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Escape text. In an attribute value quotes are escaped too, and tab and newline are kept as
 * references, since a parser would otherwise turn them into spaces. */
static int escape(xmlw_t *self, const char *text, bool attr)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t len = strlen(text), run = 0; /* bytes [i - run, i) copy as they are */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_seq(p + i, len - i, &cp);
        const char *rep = NULL;
        if (k == 0) {
            rep = REPLACEMENT;
            k = 1;
        } else if (cp == '&') {
            rep = "&amp;";
        } else if (cp == '<') {
            rep = "&lt;";
        } else if (cp == '>') {
            rep = "&gt;";
        } else if (attr && cp == '"') {
            rep = "&quot;"; /* quotes need escaping only inside the attribute's quotes */
        } else if (attr && cp == '\'') {
            rep = "&apos;";
        } else if (cp == '\r') {
            rep = "&#13;"; /* a raw CR would be normalised away by the reader */
        } else if (attr && cp == '\n') {
            rep = "&#10;";
        } else if (attr && cp == '\t') {
            rep = "&#9;";
        } else if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0xFFFE || cp == 0xFFFF) {
            rep = REPLACEMENT; /* not a character XML 1.0 can carry */
        }
        if (rep) {
            put(self, text + i - run, run);
            puts_(self, rep);
            run = 0;
        } else {
            run += k;
        }
        i += k;
    }
    return put(self, text + len - run, run);
}

/* End a start tag left open for attributes, before content. */
static int end_tag(xmlw_t *self)
{
    if (!self->in_tag)
        return self->rc;
    self->in_tag = false;
    return put(self, ">", 1);
}

int xmlw_open(xmlw_t *self, const char *name)
{
    if (self->rc)
        return self->rc;
    if (!name_valid(name))
        return self->rc = HL_EINVAL;
    if (self->depth == XMLW_MAX_DEPTH)
        return self->rc = HL_ETOOBIG;
    if (self->depth == 0 && self->had_root)
        return self->rc = HL_ECONFLICT;
    end_tag(self);
    char *copy = strdup(name);
    if (!copy)
        return self->rc = HL_ENOMEM;
    self->open[self->depth++] = copy;
    self->had_root = true;
    put(self, "<", 1);
    puts_(self, name);
    self->in_tag = true;
    return self->rc;
}

int xmlw_attr(xmlw_t *self, const char *name, const char *value)
{
    if (self->rc)
        return self->rc;
    if (!name_valid(name))
        return self->rc = HL_EINVAL;
    if (!self->in_tag)
        return self->rc = HL_ECONFLICT;
    put(self, " ", 1);
    puts_(self, name);
    put(self, "=\"", 2);
    escape(self, value ? value : "", true);
    return put(self, "\"", 1);
}

int xmlw_text(xmlw_t *self, const char *text)
{
    if (self->rc)
        return self->rc;
    if (self->depth == 0)
        return self->rc = HL_ECONFLICT;
    if (!text || !*text)
        return 0;
    end_tag(self);
    return escape(self, text, false);
}

int xmlw_close(xmlw_t *self)
{
    if (self->rc)
        return self->rc;
    if (self->depth == 0)
        return self->rc = HL_ECONFLICT;
    char *name = self->open[--self->depth];
    if (self->in_tag) {
        self->in_tag = false;
        put(self, "/>", 2);
    } else {
        put(self, "</", 2);
        puts_(self, name);
        put(self, ">", 1);
    }
    free(name);
    return self->rc;
}

int xmlw_element(xmlw_t *self, const char *name, const char *text)
{
    xmlw_open(self, name);
    xmlw_text(self, text);
    return xmlw_close(self);
}

int xmlw_elementf(xmlw_t *self, const char *name, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return self->rc ? self->rc : (self->rc = HL_EINVAL);
    if ((size_t)n < sizeof small)
        return xmlw_element(self, name, small);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return self->rc ? self->rc : (self->rc = HL_ENOMEM);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = xmlw_element(self, name, big);
    free(big);
    return rc;
}

int xmlw_finish(xmlw_t *self, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    while (!self->rc && self->depth > 0)
        xmlw_close(self);
    if (!self->rc && !self->had_root)
        self->rc = HL_ECONFLICT;
    if (self->rc || put(self, "\n", 1))
        return self->rc;
    *out = self->buf;
    *len = self->len;
    self->buf = NULL;
    self->len = self->cap = 0;
    self->rc = HL_ECONFLICT; /* handed over: nothing more can be written */
    return 0;
}
