/* fuzz_protobuf: arbitrary bytes as a ZeroMQ frame (hotline.BusRequest, hotline.BusReply) and
 * as a stored event (hotline.Event), unpacked by protobuf-c; what unpacks goes through pbjson
 * (the feed follower and the CLI show frames as JSON) and back.
 *
 * Checked: encoding never fails; its output decodes again unless it holds an enum number with
 * no name (written as a number, refused on input); re-encoding the decoded copy gives the same
 * text; and when the message has nothing JSON cannot carry (unknown fields, unnamed enum
 * numbers, invalid UTF-8, NaN payloads) the decoded copy packs to the same bytes. */
#include "hl_error.h"
#include "pbjson.h"
#include "hotline/bus.pb-c.h"
#include "hotline/event.pb-c.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames are bounded by the bus, not by pbjson's limits for people's input. */
static const pbjson_limits_t wide = {
    .max_string_chars = SIZE_MAX,
    .max_bytes_len = SIZE_MAX,
    .max_repeated = SIZE_MAX,
    .max_depth = 64,
};

typedef struct verdict {
    bool unnamed_enum; /* an enum number with no name: JSON input refuses it */
    bool lossy;        /* JSON does not carry it exactly */
} verdict_t;

static void inspect(const ProtobufCMessage *m, verdict_t *v);

static void inspect_value(const ProtobufCFieldDescriptor *f, const void *slot, verdict_t *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_ENUM:
        if (!protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)slot))
            v->unnamed_enum = v->lossy = true;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        v->lossy |= isnan(*(const float *)slot);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        v->lossy |= isnan(*(const double *)slot);
        break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)slot;
        json_t *j = s ? json_string(s) : NULL; /* NULL: not valid UTF-8 */
        v->lossy |= s && !j;
        json_decref(j);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        if (*(const ProtobufCMessage *const *)slot)
            inspect(*(const ProtobufCMessage *const *)slot, v);
        break;
    default:
        break;
    }
}

/* Array item size of the types inspect_value looks at; 0 for the others. */
static size_t inspected_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    default: return 0;
    }
}

static void inspect(const ProtobufCMessage *m, verdict_t *v)
{
    const ProtobufCMessageDescriptor *md = m->descriptor;

    v->lossy |= m->n_unknown_fields != 0;
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        const char *slot = (const char *)m + f->offset;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            size_t size = inspected_size(f->type);
            for (size_t k = 0; size && k < n; k++)
                inspect_value(f, *(const char *const *)slot + k * size, v);
        } else {
            inspect_value(f, slot, v);
        }
    }
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf || protobuf_c_message_pack(m, buf) != *len)
        abort();
    return buf;
}

static void check(const ProtobufCMessageDescriptor *md, const uint8_t *data, size_t size)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(md, NULL, size, data);
    ProtobufCMessage *back = NULL;
    pbjson_error_t err;
    verdict_t v = {false, false};

    if (!m)
        return;
    inspect(m, &v);
    char *text = pbjson_encode_string(m, false);
    if (!text)
        abort();
    int rc = pbjson_decode(md, text, strlen(text), &wide, &back, &err);
    if (rc != 0) {
        if (!v.unnamed_enum) {
            fprintf(stderr, "%s: our JSON does not decode: %s: %s\n%s\n", md->name, err.field,
                    err.message, text);
            abort();
        }
    } else {
        char *again = pbjson_encode_string(back, false);
        if (!again || strcmp(again, text) != 0) {
            fprintf(stderr, "%s: re-encoding differs:\n%s\n%s\n", md->name, text,
                    again ? again : "(null)");
            abort();
        }
        free(again);
        if (!v.lossy) {
            size_t n1, n2;
            uint8_t *p1 = pack(m, &n1), *p2 = pack(back, &n2);
            if (n1 != n2 || memcmp(p1, p2, n1) != 0) {
                fprintf(stderr, "%s: JSON round trip changed the message: %s\n", md->name, text);
                abort();
            }
            free(p1);
            free(p2);
        }
        protobuf_c_message_free_unpacked(back, NULL);
    }
    free(text);
    protobuf_c_message_free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(&hotline__bus_request__descriptor, data, size);
    check(&hotline__bus_reply__descriptor, data, size);
    check(&hotline__event__descriptor, data, size);
    return 0;
}
