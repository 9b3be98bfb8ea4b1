/* xmlw: a small streaming XML writer for answers (Open311's XML format).
 *
 * The document starts with <?xml version="1.0" encoding="utf-8"?> and is well-formed by
 * construction: element names are checked (ASCII letters, digits, '_', '-', '.', not starting
 * with a digit, '-' or '.', and not "xml..."); text is escaped (& < > and CR; attribute values
 * also quotes, tab and newline); characters XML 1.0 cannot carry (control characters other
 * than tab, newline and carriage return, U+FFFE, U+FFFF) and bytes that are not valid UTF-8
 * are written as U+FFFD. Elements are closed in order; xmlw_finish closes whatever is still
 * open.
 *
 * Errors are sticky: after the first failure every call does nothing and returns it, and
 * xmlw_finish reports it, so a caller may write a whole document and check once.
 * No indentation: one line, then a newline at the end. Not thread-safe; one owner. */
#ifndef HOTLINE_XMLW_H
#define HOTLINE_XMLW_H

#include <stddef.h>

typedef struct xmlw xmlw_t;

#define XMLW_MAX_DEPTH 64

/* A new document holding its declaration. Errors: HL_ENOMEM. */
int xmlw_new(xmlw_t **out);

/* Free it. NULL or *self NULL is a no-op. Nulls *self. */
void xmlw_destroy(xmlw_t **self);

/* Open <name>. Errors: HL_EINVAL (not a valid name), HL_ETOOBIG (deeper than
 * XMLW_MAX_DEPTH), HL_ECONFLICT (a second root element), HL_ENOMEM. */
int xmlw_open(xmlw_t *self, const char *name);

/* Add name="value" to the element just opened, before any content.
 * Errors: HL_EINVAL (bad name), HL_ECONFLICT (the element already has content), HL_ENOMEM. */
int xmlw_attr(xmlw_t *self, const char *name, const char *value);

/* Escaped text inside the open element. NULL writes nothing.
 * Errors: HL_ECONFLICT (no element open), HL_ENOMEM. */
int xmlw_text(xmlw_t *self, const char *text);

/* Close the innermost open element. Errors: HL_ECONFLICT (none open). */
int xmlw_close(xmlw_t *self);

/* <name>text</name> in one call (text NULL: an empty element). */
int xmlw_element(xmlw_t *self, const char *name, const char *text);

/* <name>formatted text</name>. */
int xmlw_elementf(xmlw_t *self, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Close every open element and hand over the document: *out is malloc'd, NUL-terminated,
 * *len excludes the NUL; the caller frees it. The writer must still be destroyed.
 * Errors: the first error any call had; HL_ECONFLICT for a document with no root element. */
int xmlw_finish(xmlw_t *self, char **out, size_t *len);

#endif
