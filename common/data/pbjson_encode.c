/* pbjson_encode: protobuf-c message -> JSON, by walking the message descriptor.
 *
 * A field is written when protobuf_c_message_pack would put it on the wire (see present()), so
 * that JSON and protobuf carry the same information: decoding the JSON and packing gives the
 * same bytes as packing the original (unknown fields, unnamed enum values, invalid UTF-8 and
 * NaN payloads aside). */
#include "pbjson.h"
#include "pbjson_private.h"
#include "utf8.h"

#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const void *member(const ProtobufCMessage *msg, unsigned offset)
{
    return (const char *)msg + offset;
}

/* Mirrors protobuf-c's pack: which fields it writes. */
static bool present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const void *slot = member(msg, f->offset);
    bool pointer = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;

    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return !pointer || *(const void *const *)slot;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)member(msg, f->quantifier_offset) != f->id)
            return false;
        return !pointer || (*(const void *const *)slot &&
                            *(const void *const *)slot != f->default_value);
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (pointer)
            return *(const void *const *)slot && *(const void *const *)slot != f->default_value;
        return *(const protobuf_c_boolean *)member(msg, f->quantifier_offset);
    }
    /* proto3 singular (PROTOBUF_C_LABEL_NONE): present unless zero. */
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)slot != 0;
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return *(const uint32_t *)slot != 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return *(const uint64_t *)slot != 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)slot != 0; /* -0 and NaN as pack does */
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)slot != 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)slot;
        return s && s[0];
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)slot)->len != 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(const void *const *)slot != NULL;
    }
    return false;
}

/* protobuf-c does not check UTF-8 on unpack: write each invalid byte as U+FFFD. */
static json_t *encode_string(const char *s)
{
    json_t *v = json_string(s);

    if (v)
        return v;
    size_t len = strlen(s), n = 0;
    unsigned char *fixed = malloc(len * 3 + 1);
    if (!fixed)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq((const unsigned char *)s + i, len - i, NULL);
        if (k == 0) {
            memcpy(fixed + n, "\xEF\xBF\xBD", 3);
            n += 3;
            i++;
        } else {
            memcpy(fixed + n, s + i, k);
            n += k;
            i += k;
        }
    }
    v = json_stringn((const char *)fixed, n);
    free(fixed);
    return v;
}

static json_t *encode_bytes(const ProtobufCBinaryData *b)
{
    if (b->len == 0)
        return json_string("");
    size_t size = sodium_base64_encoded_len(b->len, sodium_base64_VARIANT_ORIGINAL);
    char *text = malloc(size);
    if (!text)
        return NULL;
    sodium_bin2base64(text, size, b->data, b->len, sodium_base64_VARIANT_ORIGINAL);
    json_t *v = json_string(text);
    free(text);
    return v;
}

static json_t *encode_double(double x)
{
    if (isnan(x))
        return json_string("NaN");
    if (isinf(x))
        return json_string(x < 0 ? "-Infinity" : "Infinity");
    return json_real(x);
}

static json_t *encode_message(const ProtobufCMessage *msg, bool emit_defaults);

/* One value (a singular field or an array item) of f's type at slot. */
static json_t *encode_value(const ProtobufCFieldDescriptor *f, const void *slot,
                            bool emit_defaults)
{
    char text[32];

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)slot);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)slot);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(text, sizeof text, "%" PRId64, *(const int64_t *)slot);
        return json_string(text);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(text, sizeof text, "%" PRIu64, *(const uint64_t *)slot);
        return json_string(text);
    case PROTOBUF_C_TYPE_FLOAT: return encode_double(*(const float *)slot);
    case PROTOBUF_C_TYPE_DOUBLE: return encode_double(*(const double *)slot);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)slot);
    case PROTOBUF_C_TYPE_ENUM: {
        int value = *(const int *)slot;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, value);
        return ev ? json_string(ev->name) : json_integer(value);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)slot;
        return encode_string(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: return encode_bytes(slot);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)slot;
        return sub ? encode_message(sub, emit_defaults) : json_object();
    }
    }
    return NULL;
}

/* The value of a proto3 field for emit_defaults when the message does not hold one. */
static json_t *encode_default(const ProtobufCFieldDescriptor *f)
{
    static const union {
        uint64_t u;
        double d;
        ProtobufCBinaryData b;
    } zero;

    if (f->type == PROTOBUF_C_TYPE_STRING)
        return json_string("");
    return encode_value(f, &zero, false);
}

static json_t *encode_message(const ProtobufCMessage *msg, bool emit_defaults)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    json_t *obj = json_object();

    for (unsigned i = 0; obj && i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        const void *slot = member(msg, f->offset);
        json_t *v = NULL;
        char name[128];

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)member(msg, f->quantifier_offset);
            const char *arr = *(const char *const *)slot;
            size_t size = pbjson_value_size(f->type);
            if (n == 0 && !emit_defaults)
                continue;
            v = json_array();
            for (size_t k = 0; v && k < n; k++) {
                if (json_array_append_new(v, encode_value(f, arr + k * size, emit_defaults))) {
                    json_decref(v);
                    v = NULL;
                }
            }
        } else if (present(msg, f)) {
            v = encode_value(f, slot, emit_defaults);
        } else if (emit_defaults && f->label == PROTOBUF_C_LABEL_NONE &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE &&
                   !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
            /* Only fields without presence: writing an unset proto2 optional field would
             * make it set when read back. */
            v = encode_default(f);
        } else {
            continue;
        }
        pbjson_json_name(f->name, name, sizeof name);
        if (!v || json_object_set_new(obj, name, v) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

json_t *pbjson_encode(const ProtobufCMessage *msg, bool emit_defaults)
{
    return encode_message(msg, emit_defaults);
}

char *pbjson_encode_string(const ProtobufCMessage *msg, bool emit_defaults)
{
    json_t *obj = encode_message(msg, emit_defaults);

    if (!obj)
        return NULL;
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}
