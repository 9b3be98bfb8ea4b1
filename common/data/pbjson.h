/* pbjson: one generic protobuf <-> JSON converter driven by protobuf-c descriptors.
 *
 * Follows the proto3 JSON mapping: field names in lowerCamelCase (the original snake_case name
 * is accepted on input too), enums as their value names (input also accepts the name without
 * the enum's prefix and in any case, e.g. "very_urgent" for URGENCY_VERY_URGENT), 64-bit
 * integers as strings (numbers accepted on input), bytes as base64, default values omitted on
 * output, unknown fields rejected on input, null meaning "default".
 *
 * Every decoding error names the field by its path ("ticket.location.lat", "mediaUrls[2]") and
 * the rule it broke ("expected a string", "longer than 4000 characters", "unknown enum value
 * \"X\"; allowed: ..."). Limits: a default maximum string length, repeated-field count and
 * nesting depth, plus per-field string limits by full field name.
 *
 * Input, type by type:
 *   int32/uint32/...     a JSON integer, an integral real (1e3) or a decimal string ("42");
 *                        out of the type's range is an error. 64-bit values above 2^63-1 must
 *                        be strings: jansson cannot parse such numbers.
 *   float/double         a number, a decimal string, or "NaN", "Infinity", "-Infinity".
 *   bool                 true or false.
 *   enum                 a value name (exact, any case, or without the prefix common to the
 *                        enum's values or the enum's own name) or the integer of a known value.
 *   string               any string; no NUL characters; at most the field's limit in code
 *                        points.
 *   bytes                base64, standard or URL-safe alphabet, padded or not.
 *   message              an object. Repeated fields: an array (items must not be null).
 *   null                 for any field: its default.
 * Two members of one oneof in the same object are an error naming both.
 *
 * Output: field number order; 64-bit integers as strings; non-finite floats as the strings
 * above, finite ones with 17 significant digits (exact, not shortest: a float 0.1 reads
 * 0.10000000149011612); bytes as padded standard base64; enum values with no name as their
 * integer (which input refuses); strings that are not valid UTF-8 (protobuf-c does not check
 * on unpack) with each invalid byte replaced by U+FFFD. A set oneof member is written even
 * when it holds its default. Error messages are valid UTF-8, safe to put in a JSON reply.
 *
 * Pure functions; any thread. */
#ifndef HOTLINE_PBJSON_H
#define HOTLINE_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pbjson_error {
    char field[256];   /* path of the offending field, "" for the document itself */
    char message[512]; /* the rule it broke, readable by the person who sent it */
} pbjson_error_t;

typedef struct pbjson_field_limit {
    const char *full_name; /* "hotline.Ticket.description"; for a repeated field, each item */
    size_t max_chars;      /* UTF-8 code points (0 = max_string_chars) */
} pbjson_field_limit_t;

typedef struct pbjson_limits {
    size_t max_string_chars;          /* default for string fields (0 = 1024) */
    size_t max_bytes_len;             /* bytes fields, decoded (0 = 1 MiB) */
    size_t max_repeated;              /* items in one repeated field (0 = 1000) */
    size_t max_depth;                 /* message nesting, the top message is 1 (0 = 32) */
    const pbjson_field_limit_t *fields; /* per-field overrides, NULL-terminated by full_name */
} pbjson_limits_t;

/* The limits used when NULL is passed: Hotline's field limits (description 4000 chars, ...),
 * see the table in pbjson.c. */
const pbjson_limits_t *pbjson_default_limits(void);

/* Parse JSON text the way pbjson_decode does: any top-level value, duplicate keys rejected,
 * "\u0000" let through so that pbjson_merge can name the field that holds it. On success *out
 * is a new reference (json_decref). Errors: HL_EINVAL (err->field "", err->message has
 * jansson's text with line and column), HL_ENOMEM. */
int pbjson_parse(const char *json, size_t len, json_t **out, pbjson_error_t *err);

/* Decode a JSON document into a new message of type desc. On success *out is allocated the
 * way protobuf-c unpacks (free with protobuf_c_message_free_unpacked(msg, NULL)); on failure
 * *out is NULL and nothing is left allocated.
 * Errors: HL_EINVAL (err says what and where), HL_ENOMEM. */
int pbjson_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                  const pbjson_limits_t *limits, ProtobufCMessage **out, pbjson_error_t *err);

/* Merge a parsed JSON object into an existing message (fields present replace, repeated
 * fields are replaced, sub-messages merge, null resets a field to its default, setting a
 * oneof member clears the member set before). Used to layer configuration. msg must be
 * allocated the way protobuf-c unpacks. Same errors; on failure msg may hold part of obj but
 * is still valid to free. */
int pbjson_merge(ProtobufCMessage *msg, const json_t *obj, const pbjson_limits_t *limits,
                 pbjson_error_t *err);

/* Encode a message as a JSON object. Caller owns the result (json_decref). NULL on ENOMEM.
 * With emit_defaults, fields at their default value are written too: the fields without
 * presence (proto3 scalars, strings, bytes, enums, repeated fields); an unset sub-message,
 * oneof or proto2 optional field is still left out, as protobuf's own printer does. */
json_t *pbjson_encode(const ProtobufCMessage *msg, bool emit_defaults);

/* Encode to a compact JSON string, malloc'd; caller frees. NULL on ENOMEM. */
char *pbjson_encode_string(const ProtobufCMessage *msg, bool emit_defaults);

/* The proto3 JSON name of a field (lowerCamelCase) into out, truncated to fit. */
void pbjson_json_name(const char *field_name, char *out, size_t out_size);

#endif
