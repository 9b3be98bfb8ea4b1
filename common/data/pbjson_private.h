/* pbjson_private: what pbjson.c, pbjson_decode.c and pbjson_encode.c share. Not for other
 * modules: use pbjson.h.
 *
 * The readers turn one JSON value into one protobuf scalar. They return 0, or HL_EINVAL /
 * HL_ENOMEM with the rule that was broken written to why ("expected an integer, got a
 * string"); the caller knows the field and adds its path. */
#ifndef HOTLINE_PBJSON_PRIVATE_H
#define HOTLINE_PBJSON_PRIVATE_H

#include "pbjson.h"

#include <stdint.h>

/* Bytes one value of type t takes in a message or in a repeated field's array. */
size_t pbjson_value_size(ProtobufCType t);

/* "int32", "uint64", ... as written in .proto files. */
const char *pbjson_type_name(ProtobufCType t);

/* "a string", "an object", ... for "expected X, got Y". */
const char *pbjson_json_kind(const json_t *v);

/* Outside text made safe for an error message: at most 48 bytes, cut on a UTF-8 character
 * boundary, control characters as '?', "..." when cut. */
void pbjson_quote(char *out, size_t size, const char *s, size_t len);

/* Append ", item" to a list being built in buf (*n bytes so far); when it no longer fits, end
 * the list with "..." and return false. */
bool pbjson_list_append(char *buf, size_t size, size_t *n, const char *item);

/* Signed types of t's width: a JSON integer, an integral real or a decimal string. */
int pbjson_read_int(const json_t *v, ProtobufCType t, int64_t *out, char *why, size_t why_size);
int pbjson_read_uint(const json_t *v, ProtobufCType t, uint64_t *out, char *why,
                     size_t why_size);
/* float or double: a number, a decimal string, "NaN", "Infinity" or "-Infinity". */
int pbjson_read_double(const json_t *v, ProtobufCType t, double *out, char *why,
                       size_t why_size);
/* A value name in the forms pbjson.h lists, or the integer of a known value. */
int pbjson_read_enum(const ProtobufCEnumDescriptor *ed, const json_t *v, int *out, char *why,
                     size_t why_size);
/* Base64, either alphabet, padded or not; at most max_len bytes once decoded. out->data is
 * malloc'd (NULL when empty). */
int pbjson_read_bytes(const json_t *v, size_t max_len, ProtobufCBinaryData *out, char *why,
                      size_t why_size);

#endif
