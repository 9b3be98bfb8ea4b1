/* csvw: a CSV writer (see csvw.h). The text grows in a memory stream (open_memstream), so
 * the writer only decides what goes where. */
#include "csvw.h"

#include "hl_error.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

struct csvw {
    FILE *f;        /* the memory stream writing into text */
    char *text;     /* open_memstream's buffer: valid after fflush / fclose */
    size_t len;     /* its length, kept by the stream */
    size_t bytes;   /* bytes written so far */
    size_t records; /* records ended */
    bool in_record; /* a field has been written since the last end: the next needs a comma */
    int rc;         /* the first error: every later call returns it */
};

int csvw_new(csvw_t **out)
{
    *out = NULL;
    csvw_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->f = open_memstream(&self->text, &self->len);
    if (!self->f) {
        free(self);
        return HL_ENOMEM;
    }
    *out = self;
    return 0;
}

void csvw_destroy(csvw_t **self)
{
    if (!self || !*self)
        return;
    if ((*self)->f)
        fclose((*self)->f);
    free((*self)->text);
    free(*self);
    *self = NULL;
}

static int put(csvw_t *self, const char *s, size_t n)
{
    if (self->rc)
        return self->rc;
    if (n && fwrite(s, 1, n, self->f) != n)
        return self->rc = HL_ENOMEM;
    self->bytes += n;
    return 0;
}

/* The text as it must appear: valid runs as they are, bytes that start no sequence as
 * U+FFFD, each double quote doubled when quoted. */
static int put_text(csvw_t *self, const char *text, bool quoted)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t len = strlen(text), run = 0;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(p + i, len - i, NULL);
        bool doubled = quoted && p[i] == '"';
        if (k && !doubled) {
            run += k;
            i += k;
            continue;
        }
        put(self, text + i - run, run);
        run = 0;
        if (doubled)
            put(self, "\"\"", 2);
        else
            put(self, REPLACEMENT, sizeof REPLACEMENT - 1);
        i++;
    }
    return put(self, text + len - run, run);
}

int csvw_field(csvw_t *self, const char *text)
{
    if (self->in_record)
        put(self, ",", 1);
    self->in_record = true;
    if (!text)
        return self->rc;
    bool quote = strpbrk(text, ",\"\r\n") != NULL;
    if (quote)
        put(self, "\"", 1);
    put_text(self, text, quote);
    if (quote)
        put(self, "\"", 1);
    return self->rc;
}

int csvw_fieldf(csvw_t *self, const char *fmt, ...)
{
    if (self->rc)
        return self->rc;
    char small[64], *text = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return self->rc = HL_EINVAL;
    if ((size_t)n >= sizeof small) {
        text = malloc((size_t)n + 1);
        if (!text)
            return self->rc = HL_ENOMEM;
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    int rc = csvw_field(self, text);
    if (text != small)
        free(text);
    return rc;
}

int csvw_end(csvw_t *self)
{
    if (put(self, "\r\n", 2) == 0)
        self->records++;
    self->in_record = false;
    return self->rc;
}

size_t csvw_records(const csvw_t *self)
{
    return self->records;
}

size_t csvw_bytes(const csvw_t *self)
{
    return self->bytes;
}

int csvw_finish(csvw_t *self, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (self->in_record)
        csvw_end(self);
    /* Closing the stream settles text and len; a failed flush is a lost write. */
    if (fclose(self->f) != 0 && !self->rc)
        self->rc = HL_ENOMEM;
    self->f = NULL;
    if (self->rc)
        return self->rc;
    *out = self->text;
    *len = self->len;
    self->text = NULL;
    return 0;
}
