/* form: application/x-www-form-urlencoded bodies (HTML forms, Open311 POSTs) decoded into
 * name / value pairs.
 *
 * Pairs are separated by '&', a name from its value by the first '='. In both, '+' is a space
 * and %XX a byte. Decoding is strict, because the result goes into tickets: a '%' not followed
 * by two hex digits, a NUL byte ("%00"), text that is not valid UTF-8 and a pair with a value
 * but no name are refused, each with an error naming the parameter. Empty pieces ("a=1&&b=2",
 * a trailing '&') are skipped; a name without '=' has the value "". Repeated names are kept in
 * order (form_count_of tells how many), so a caller decides whether a repeat is a list
 * ("attribute[CODE][]=a&attribute[CODE][]=b") or a mistake.
 *
 * Names may carry one bracketed sub-key and a list marker, PHP style:
 * "attribute[W01_CAUSE]" and "attribute[W01_CAUSE][]"; form_key_split takes them apart.
 *
 * Limits (pairs, bytes of a decoded name or value) keep a hostile body from costing more than
 * its size; the body size itself is limited by httpd. Pure functions; any thread. */
#ifndef HOTLINE_FORM_H
#define HOTLINE_FORM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct form form_t;

typedef struct form_limits {
    size_t max_pairs;       /* name/value pairs (0 = 100) */
    size_t max_name_bytes;  /* one decoded name (0 = 128) */
    size_t max_value_bytes; /* one decoded value (0 = 16384: 4000 characters of any script) */
} form_limits_t;

typedef struct form_error {
    char key[128];     /* the parameter, decoded as far as it could be; "" for the body */
    char message[256]; /* the rule it broke and how to fix it */
} form_error_t;

/* Decode body (len bytes, need not be NUL-terminated). On success *out holds the pairs (free
 * with form_destroy); on failure *out is NULL and err names the parameter and the rule.
 * limits NULL = the defaults. Errors: HL_EINVAL (malformed input), HL_ETOOBIG (a limit),
 * HL_ENOMEM. */
int form_parse(form_t **out, const char *body, size_t len, const form_limits_t *limits,
               form_error_t *err);

/* Free the pairs. NULL or *self NULL is a no-op. Nulls *self. */
void form_destroy(form_t **self);

/* The one percent-decoder (forms, query strings and request paths): decode in[0..len) into
 * out, which has room for len + 1 bytes (decoding never lengthens; out is NUL-terminated). '+'
 * is a space when plus_is_space (forms and query strings, not paths). A '%' not followed by two
 * hex digits, or a decoded NUL (which would cut every C string short), is HL_EINVAL with *why
 * (may be NULL) saying which. Returns the decoded length. */
int form_unescape(const char *in, size_t len, char *out, bool plus_is_space, const char **why);

/* The pairs in body order. Strings are NUL-terminated and valid until form_destroy. */
size_t form_count(const form_t *self);
const char *form_name(const form_t *self, size_t i);
const char *form_value(const form_t *self, size_t i);

/* The first value given for name, or NULL when absent. */
const char *form_get(const form_t *self, const char *name);

/* How many pairs have this name. */
size_t form_count_of(const form_t *self, const char *name);

/* A name taken apart: "attribute[CODE][]" is base "attribute", sub "CODE", list true;
 * "a[]" is base "a", no sub, list true; "a" is just base "a". Pointers into name. */
typedef struct form_key {
    const char *base;
    size_t base_len;
    const char *sub; /* NULL when the name has no [sub] */
    size_t sub_len;
    bool list; /* the name ends in "[]" */
} form_key_t;

/* Split name. Errors: HL_EINVAL for a bracket that is not closed, an empty "[]" before a
 * sub-key, an empty base, or anything after the brackets ("a[b]c", "a[b][c]"). */
int form_key_split(const char *name, form_key_t *out);

#endif
