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
    const char *full_name; /* "hotline.Ticket.description" */
    size_t max_chars;      /* UTF-8 code points */
} pbjson_field_limit_t;

typedef struct pbjson_limits {
    size_t max_string_chars;          /* default for string fields (0 = 1024) */
    size_t max_bytes_len;             /* bytes fields, decoded (0 = 1 MiB) */
    size_t max_repeated;              /* items in one repeated field (0 = 1000) */
    size_t max_depth;                 /* message nesting (0 = 32) */
    const pbjson_field_limit_t *fields; /* per-field overrides, NULL-terminated by full_name */
} pbjson_limits_t;

/* The limits used when NULL is passed: Hotline's field limits (description 4000 chars, ...). */
const pbjson_limits_t *pbjson_default_limits(void);

/* Decode a JSON document into a new message of type desc. On success *out is allocated the
 * way protobuf-c unpacks (free with protobuf_c_message_free_unpacked(msg, NULL)).
 * Errors: HL_EINVAL (err says what and where), HL_ENOMEM. */
int pbjson_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                  const pbjson_limits_t *limits, ProtobufCMessage **out, pbjson_error_t *err);

/* Merge a parsed JSON object into an existing message (fields present replace, repeated
 * fields are replaced, sub-messages merge). Used to layer configuration. Same errors. */
int pbjson_merge(ProtobufCMessage *msg, const json_t *obj, const pbjson_limits_t *limits,
                 pbjson_error_t *err);

/* Encode a message as a JSON object. Caller owns the result (json_decref). NULL on ENOMEM.
 * With emit_defaults, fields at their default value are written too. */
json_t *pbjson_encode(const ProtobufCMessage *msg, bool emit_defaults);

/* Encode to a compact JSON string, malloc'd; caller frees. NULL on ENOMEM. */
char *pbjson_encode_string(const ProtobufCMessage *msg, bool emit_defaults);

/* The proto3 JSON name of a field (lowerCamelCase) into out. */
void pbjson_json_name(const char *field_name, char *out, size_t out_size);

#endif
