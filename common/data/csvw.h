/* csvw: a CSV writer (RFC 4180) for exports (intake's requests, analytics' monthly report).
 *
 * Fields are separated by commas and every record ends with CRLF. A field holding a comma, a
 * double quote, CR or LF is enclosed in double quotes, its quotes doubled; any other field is
 * written as it is (an empty one as nothing). The text is UTF-8: bytes that start no valid
 * sequence are written as U+FFFD, so the document is always valid UTF-8. No byte order mark.
 * Values are written as given: a field starting with '=', '+', '-' or '@' stays as it is
 * (the data is the data; spreadsheet users import rather than open).
 *
 * Errors are sticky, as in xmlw: after the first failure every call does nothing and returns
 * it, and csvw_finish reports it, so a caller may write a whole document and check once.
 * Not thread-safe; one owner. */
#ifndef HOTLINE_CSVW_H
#define HOTLINE_CSVW_H

#include <stddef.h>

typedef struct csvw csvw_t;

/* An empty document. Errors: HL_ENOMEM. */
int csvw_new(csvw_t **out);

/* Free it (and the text, unless csvw_finish took it). NULL or *self NULL is a no-op. Nulls
 * *self. */
void csvw_destroy(csvw_t **self);

/* One field of the current record, quoted when it must be (text NULL: an empty field).
 * Errors: HL_ENOMEM. */
int csvw_field(csvw_t *self, const char *text);

/* A field from a format (numbers: no quoting is needed, but the rule is applied anyway). */
int csvw_fieldf(csvw_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* End the current record (CRLF). A record with no field is an empty line. */
int csvw_end(csvw_t *self);

/* Records ended so far, and bytes written so far (to keep an answer within a limit). */
size_t csvw_records(const csvw_t *self);
size_t csvw_bytes(const csvw_t *self);

/* Hand over the text: *out (malloc'd, NUL-terminated; the caller frees) and its length.
 * A record not ended is ended. Returns the first error of any call, in which case *out is
 * NULL. The writer is spent: destroy it. */
int csvw_finish(csvw_t *self, char **out, size_t *len);

#endif
