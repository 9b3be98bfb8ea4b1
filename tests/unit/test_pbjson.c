/* test_pbjson: the protobuf <-> JSON converter.
 *
 * The round trip runs over every message type of proto/hotline (the generated registry) plus
 * two message types defined here by hand, which cover what Hotline's schemas do not use yet:
 * every scalar type, scalar/string/bytes oneof members, proto2 has_ flags and defaults. Each
 * message is filled with pseudo-random values, encoded, decoded and packed: the bytes must
 * equal the original's. Then one test per rule the decoder enforces, checking the field path
 * and the message. Every decoded message is freed with protobuf_c_message_free_unpacked, so
 * AddressSanitizer checks that they are allocated the way protobuf-c unpacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hl_error.h"
#include "pbjson.h"
#include "hotline/bus.pb-c.h"
#include "hotline/command.pb-c.h"
#include "hotline/config.pb-c.h"
#include "hotline/event.pb-c.h"
#include "hotline/feed.pb-c.h"
#include "hotline/registry.h"
#include "hotline/ticket.pb-c.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- test.Scalars (proto3) and test2.Legacy (proto2), laid out as protoc-c would ---------- */

typedef struct scalars {
    ProtobufCMessage base;
    int32_t a_int32;
    int32_t b_sint32;
    int32_t c_sfixed32;
    int64_t d_int64;
    int64_t e_sint64;
    int64_t f_sfixed64;
    uint32_t g_uint32;
    uint32_t h_fixed32;
    uint64_t i_uint64;
    uint64_t j_fixed64;
    float k_float;
    double l_double;
    protobuf_c_boolean m_bool;
    int n_enum;
    char *o_string;
    ProtobufCBinaryData p_bytes;
    size_t n_q_floats;
    float *q_floats;
    size_t n_r_sint64s;
    int64_t *r_sint64s;
    size_t n_s_bytes;
    ProtobufCBinaryData *s_bytes;
    size_t n_t_bools;
    protobuf_c_boolean *t_bools;
    size_t n_u_enums;
    int *u_enums;
    size_t n_v_points;
    Hotline__GeoPoint **v_points;
    uint32_t choice_case;
    union {
        char *w_text;
        int32_t x_num;
        ProtobufCBinaryData y_blob;
        Hotline__GeoPoint *z_point;
        double za_real;
    };
} scalars_t;

static const ProtobufCMessageDescriptor scalars_descriptor;

static void scalars_init(ProtobufCMessage *m)
{
    static const scalars_t init = {
        .base = PROTOBUF_C_MESSAGE_INIT(&scalars_descriptor),
        .o_string = (char *)protobuf_c_empty_string,
    };
    memcpy(m, &init, sizeof init);
}

#define S_FIELD(name, id, label, type, member, desc, def, flags)                              \
    {name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, 0, offsetof(scalars_t, member), \
     desc, def, flags, 0, NULL, NULL}
#define S_REPEATED(name, id, type, member, desc, flags)                                       \
    {name, id, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_##type,                              \
     offsetof(scalars_t, n_##member), offsetof(scalars_t, member), desc, NULL, flags, 0, NULL, NULL}
#define S_ONEOF(name, id, type, member, desc, def)                                            \
    {name, id, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_##type, offsetof(scalars_t, choice_case), \
     offsetof(scalars_t, member), desc, def, PROTOBUF_C_FIELD_FLAG_ONEOF, 0, NULL, NULL}

/* Names sort in field order, so fields_sorted_by_name is the identity. */
static const ProtobufCFieldDescriptor scalars_fields[] = {
    S_FIELD("a_int32", 1, NONE, INT32, a_int32, NULL, NULL, 0),
    S_FIELD("b_sint32", 2, NONE, SINT32, b_sint32, NULL, NULL, 0),
    S_FIELD("c_sfixed32", 3, NONE, SFIXED32, c_sfixed32, NULL, NULL, 0),
    S_FIELD("d_int64", 4, NONE, INT64, d_int64, NULL, NULL, 0),
    S_FIELD("e_sint64", 5, NONE, SINT64, e_sint64, NULL, NULL, 0),
    S_FIELD("f_sfixed64", 6, NONE, SFIXED64, f_sfixed64, NULL, NULL, 0),
    S_FIELD("g_uint32", 7, NONE, UINT32, g_uint32, NULL, NULL, 0),
    S_FIELD("h_fixed32", 8, NONE, FIXED32, h_fixed32, NULL, NULL, 0),
    S_FIELD("i_uint64", 9, NONE, UINT64, i_uint64, NULL, NULL, 0),
    S_FIELD("j_fixed64", 10, NONE, FIXED64, j_fixed64, NULL, NULL, 0),
    S_FIELD("k_float", 11, NONE, FLOAT, k_float, NULL, NULL, 0),
    S_FIELD("l_double", 12, NONE, DOUBLE, l_double, NULL, NULL, 0),
    S_FIELD("m_bool", 13, NONE, BOOL, m_bool, NULL, NULL, 0),
    S_FIELD("n_enum", 14, NONE, ENUM, n_enum, &hotline__urgency__descriptor, NULL, 0),
    S_FIELD("o_string", 15, NONE, STRING, o_string, NULL, &protobuf_c_empty_string, 0),
    S_FIELD("p_bytes", 16, NONE, BYTES, p_bytes, NULL, NULL, 0),
    S_REPEATED("q_floats", 17, FLOAT, q_floats, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED("r_sint64s", 18, SINT64, r_sint64s, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED("s_bytes", 19, BYTES, s_bytes, NULL, 0),
    S_REPEATED("t_bools", 20, BOOL, t_bools, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED("u_enums", 21, ENUM, u_enums, &hotline__urgency__descriptor,
               PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED("v_points", 22, MESSAGE, v_points, &hotline__geo_point__descriptor, 0),
    S_ONEOF("w_text", 23, STRING, w_text, NULL, &protobuf_c_empty_string),
    S_ONEOF("x_num", 24, INT32, x_num, NULL, NULL),
    S_ONEOF("y_blob", 25, BYTES, y_blob, NULL, NULL),
    S_ONEOF("z_point", 26, MESSAGE, z_point, &hotline__geo_point__descriptor, NULL),
    S_ONEOF("za_real", 27, DOUBLE, za_real, NULL, NULL),
};
#define N_SCALARS_FIELDS (sizeof scalars_fields / sizeof scalars_fields[0])
static const unsigned scalars_by_name[N_SCALARS_FIELDS] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
    14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
};
static const ProtobufCIntRange scalars_ranges[] = {{1, 0}, {0, N_SCALARS_FIELDS}};
static const ProtobufCMessageDescriptor scalars_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Scalars", "Scalars", "Test__Scalars", "test",
    sizeof(scalars_t), N_SCALARS_FIELDS, scalars_fields, scalars_by_name, 1, scalars_ranges,
    scalars_init, NULL, NULL, NULL,
};

typedef struct legacy {
    ProtobufCMessage base;
    protobuf_c_boolean has_count;
    int32_t count;  /* [default = 7] */
    char *label;    /* [default = "x"] */
    uint64_t id;    /* required */
    protobuf_c_boolean has_kind;
    int kind;       /* [default = URGENCY_URGENT] */
    protobuf_c_boolean has_raw;
    ProtobufCBinaryData raw;
    char *note;     /* optional, no default: NULL */
} legacy_t;

static char legacy_label_default[] = "x";
static const int32_t legacy_count_default = 7;
static const int legacy_kind_default = HOTLINE__URGENCY__URGENCY_URGENT;
static const ProtobufCMessageDescriptor legacy_descriptor;

static void legacy_init(ProtobufCMessage *m)
{
    static const legacy_t init = {
        .base = PROTOBUF_C_MESSAGE_INIT(&legacy_descriptor),
        .count = 7,
        .label = legacy_label_default,
        .kind = HOTLINE__URGENCY__URGENCY_URGENT,
    };
    memcpy(m, &init, sizeof init);
}

#define L_FIELD(name, id, label, type, has, member, desc, def)                                \
    {name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, has,                          \
     offsetof(legacy_t, member), desc, def, 0, 0, NULL, NULL}

static const ProtobufCFieldDescriptor legacy_fields[] = {
    L_FIELD("count", 1, OPTIONAL, INT32, offsetof(legacy_t, has_count), count, NULL,
            &legacy_count_default),
    L_FIELD("label", 2, OPTIONAL, STRING, 0, label, NULL, legacy_label_default),
    L_FIELD("id", 3, REQUIRED, UINT64, 0, id, NULL, NULL),
    L_FIELD("kind", 4, OPTIONAL, ENUM, offsetof(legacy_t, has_kind), kind,
            &hotline__urgency__descriptor, &legacy_kind_default),
    L_FIELD("raw", 5, OPTIONAL, BYTES, offsetof(legacy_t, has_raw), raw, NULL, NULL),
    L_FIELD("note", 6, OPTIONAL, STRING, 0, note, NULL, NULL),
};
/* count, id, kind, label, note, raw */
static const unsigned legacy_by_name[] = {0, 2, 3, 1, 5, 4};
static const ProtobufCIntRange legacy_ranges[] = {{1, 0}, {0, 6}};
static const ProtobufCMessageDescriptor legacy_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test2.Legacy", "Legacy", "Test2__Legacy", "test2",
    sizeof(legacy_t), 6, legacy_fields, legacy_by_name, 1, legacy_ranges, legacy_init,
    NULL, NULL, NULL,
};

/* ---- pseudo-random messages --------------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t rnd(rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(rng_t *r, uint64_t n)
{
    return rnd(r) % n;
}

#define PICK(r, arr) ((arr)[below(r, sizeof(arr) / sizeof((arr)[0]))])
#define MAX_FILL_DEPTH 4

static char *random_string(rng_t *r)
{
    static const char *const pieces[] = {
        "a", "Z", "0", " ", "\xc3\xa9" /* é */, "\xe4\xb8\xad" /* 中 */, "\xe6\x96\x87",
        "\xf0\x9f\x98\x80" /* emoji */, "\"", "\\", "\n", "\t", "\x01", "/", "\xe2\x80\xa8",
    };
    size_t n = below(r, 12);
    char *s = calloc(n * 4 + 1, 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        strcat(s, PICK(r, pieces));
    return s;
}

static ProtobufCBinaryData random_bytes(rng_t *r)
{
    ProtobufCBinaryData b = {below(r, 20), NULL};
    if (b.len) {
        b.data = malloc(b.len);
        assert_non_null(b.data);
        for (size_t i = 0; i < b.len; i++)
            b.data[i] = (uint8_t)rnd(r);
    }
    return b;
}

static double random_double(rng_t *r)
{
    static const double specials[] = {0.0, -0.0, 1.5, -2.25, 0.1, 1e300, -1e-300, DBL_MAX,
                                      DBL_MIN, 5e-324, 31.2304, 121.4737};
    double d;
    switch (below(r, 4)) {
    case 0: return PICK(r, specials);
    case 1: return below(r, 2) ? INFINITY : (below(r, 2) ? -INFINITY : NAN);
    default: {
        uint64_t bits = rnd(r);
        memcpy(&d, &bits, sizeof d);
        return isfinite(d) ? d : 42.0;
    }
    }
}

static float random_float(rng_t *r)
{
    static const float specials[] = {0.0f, -0.0f, 1.5f, 0.1f, FLT_MAX, -FLT_MAX, FLT_MIN,
                                     FLT_TRUE_MIN, 3.4e38f};
    float f;
    switch (below(r, 4)) {
    case 0: return PICK(r, specials);
    case 1: return below(r, 2) ? INFINITY : (below(r, 2) ? -INFINITY : NAN);
    default: {
        uint32_t bits = (uint32_t)rnd(r);
        memcpy(&f, &bits, sizeof f);
        return isfinite(f) ? f : 42.0f;
    }
    }
}

static ProtobufCMessage *random_message(rng_t *r, const ProtobufCMessageDescriptor *md,
                                        int depth, int oneof_pick);

/* A random value of f's type into slot (which holds nothing that needs freeing). */
static void fill_value(rng_t *r, const ProtobufCFieldDescriptor *f, void *slot, int depth)
{
    static const int32_t i32[] = {0, 1, -1, INT32_MIN, INT32_MAX, 300};
    static const int64_t i64[] = {0, -1, INT64_MIN, INT64_MAX, (1LL << 53) + 1, 1763800000000};
    static const uint32_t u32[] = {0, 1, UINT32_MAX, 65535};
    static const uint64_t u64[] = {0, 1, UINT64_MAX, 1ULL << 63, (1ULL << 53) + 1};
    const ProtobufCEnumDescriptor *ed = f->descriptor;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *)slot = below(r, 2) ? PICK(r, i32) : (int32_t)rnd(r);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *)slot = below(r, 2) ? PICK(r, i64) : (int64_t)rnd(r);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *)slot = below(r, 2) ? PICK(r, u32) : (uint32_t)rnd(r);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *)slot = below(r, 2) ? PICK(r, u64) : rnd(r);
        break;
    case PROTOBUF_C_TYPE_FLOAT: *(float *)slot = random_float(r); break;
    case PROTOBUF_C_TYPE_DOUBLE: *(double *)slot = random_double(r); break;
    case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)slot = (protobuf_c_boolean)below(r, 2); break;
    case PROTOBUF_C_TYPE_ENUM: *(int *)slot = ed->values[below(r, ed->n_values)].value; break;
    case PROTOBUF_C_TYPE_STRING: *(char **)slot = random_string(r); break;
    case PROTOBUF_C_TYPE_BYTES: *(ProtobufCBinaryData *)slot = random_bytes(r); break;
    case PROTOBUF_C_TYPE_MESSAGE:
        *(ProtobufCMessage **)slot = random_message(r, f->descriptor, depth + 1, -1);
        break;
    }
}

static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return 4;
    }
}

/* Every field filled (a quarter left at the default), repeated fields with 0-3 items, each
 * oneof set to one member or none: member oneof_pick % (members + 1) at this level when
 * oneof_pick >= 0, random below. Below MAX_FILL_DEPTH sub-messages are left empty. */
static ProtobufCMessage *random_message(rng_t *r, const ProtobufCMessageDescriptor *md,
                                        int depth, int oneof_pick)
{
    ProtobufCMessage *msg = malloc(md->sizeof_message);
    assert_non_null(msg);
    protobuf_c_message_init(md, msg);
    if (depth >= MAX_FILL_DEPTH)
        return msg;

    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        char *slot = (char *)msg + f->offset;

        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* Handle the group once, at its first member. */
            unsigned first = i, members = 0;
            while (first > 0 && (md->fields[first - 1].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                   md->fields[first - 1].quantifier_offset == f->quantifier_offset)
                first--;
            if (first != i)
                continue;
            for (unsigned k = i; k < md->n_fields; k++)
                members += (md->fields[k].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                           md->fields[k].quantifier_offset == f->quantifier_offset;
            unsigned pick = oneof_pick >= 0 ? (unsigned)oneof_pick % (members + 1)
                                            : (unsigned)below(r, members + 1);
            if (pick < members) {
                const ProtobufCFieldDescriptor *g = &md->fields[i + pick];
                fill_value(r, g, (char *)msg + g->offset, depth);
                *(uint32_t *)((char *)msg + g->quantifier_offset) = g->id;
            }
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = below(r, 4), size = elem_size(f->type);
            char *arr = n ? calloc(n, size) : NULL;
            for (size_t k = 0; k < n; k++)
                fill_value(r, f, arr + k * size, depth);
            *(size_t *)((char *)msg + f->quantifier_offset) = n;
            *(char **)slot = arr;
        } else if (f->label == PROTOBUF_C_LABEL_REQUIRED || below(r, 4) != 0) {
            fill_value(r, f, slot, depth);
            if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
                f->type != PROTOBUF_C_TYPE_MESSAGE)
                *(protobuf_c_boolean *)((char *)msg + f->quantifier_offset) = 1;
        }
    }
    return msg;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

static ProtobufCMessage *decode_ok(const ProtobufCMessageDescriptor *md, const char *json)
{
    ProtobufCMessage *m = NULL;
    pbjson_error_t err;
    int rc = pbjson_decode(md, json, strlen(json), NULL, &m, &err);
    if (rc != 0)
        fail_msg("decoding %s as %s: %s: %s", json, md->name, err.field, err.message);
    return m;
}

static void expect_error_limits(const ProtobufCMessageDescriptor *md, const char *json,
                                const pbjson_limits_t *limits, const char *field,
                                const char *rule)
{
    ProtobufCMessage *m = (ProtobufCMessage *)&m; /* must be reset to NULL */
    pbjson_error_t err;
    int rc = pbjson_decode(md, json, strlen(json), limits, &m, &err);

    if (rc != HL_EINVAL)
        fail_msg("%s as %s: rc %d, expected HL_EINVAL", json, md->name, rc);
    assert_null(m);
    if (strcmp(err.field, field) != 0 || !strstr(err.message, rule))
        fail_msg("%s as %s:\n  got      %s: %s\n  expected %s: ...%s...", json, md->name,
                 err.field, err.message, field, rule);
}

static void expect_error(const ProtobufCMessageDescriptor *md, const char *json,
                         const char *field, const char *rule)
{
    expect_error_limits(md, json, NULL, field, rule);
}

static void assert_encodes_to(const ProtobufCMessage *m, bool emit_defaults, const char *want)
{
    char *got = pbjson_encode_string(m, emit_defaults);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* ---- round trip ----------------------------------------------------------------------------- */

static void roundtrip_one(const ProtobufCMessage *m, bool emit_defaults)
{
    const ProtobufCMessageDescriptor *md = m->descriptor;
    char *json = pbjson_encode_string(m, emit_defaults);
    assert_non_null(json);

    ProtobufCMessage *back = decode_ok(md, json);
    size_t len1, len2;
    uint8_t *p1 = pack(m, &len1), *p2 = pack(back, &len2);
    if (len1 != len2 || memcmp(p1, p2, len1) != 0)
        fail_msg("%s: packed bytes differ after a JSON round trip (%zu vs %zu bytes): %s",
                 md->name, len1, len2, json);

    /* Encoding is deterministic and sees what pack sees: the decoded copy and an unpacked
     * copy of the original encode to the same text. */
    char *again = pbjson_encode_string(back, emit_defaults);
    assert_non_null(again);
    if (strcmp(json, again) != 0)
        fail_msg("%s: re-encoding differs:\n%s\n%s", md->name, json, again);
    ProtobufCMessage *unpacked = protobuf_c_message_unpack(md, NULL, len1, p1);
    assert_non_null(unpacked);
    char *from_wire = pbjson_encode_string(unpacked, emit_defaults);
    assert_non_null(from_wire);
    if (strcmp(json, from_wire) != 0)
        fail_msg("%s: the unpacked copy encodes differently:\n%s\n%s", md->name, json,
                 from_wire);

    free(from_wire);
    protobuf_c_message_free_unpacked(unpacked, NULL);
    free(again);
    free(p1);
    free(p2);
    protobuf_c_message_free_unpacked(back, NULL);
    free(json);
}

static void roundtrip_type(const ProtobufCMessageDescriptor *md, rng_t *r)
{
    for (int round = 0; round < 60; round++) {
        ProtobufCMessage *m = random_message(r, md, 0, round);
        roundtrip_one(m, round % 2 == 1);
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

static void test_roundtrip_every_message(void **state)
{
    rng_t r = {0x9E3779B97F4A7C15ULL};
    size_t n = 0;
    (void)state;

    for (size_t i = 0; hotline_registry_messages[i]; i++, n++)
        roundtrip_type(hotline_registry_messages[i], &r);
    roundtrip_type(&scalars_descriptor, &r);
    roundtrip_type(&legacy_descriptor, &r);
    /* The registry is generated from the .proto files: one entry per type, found by name. */
    static const ProtobufCMessageDescriptor *const known[] = {
        &hotline__ticket__descriptor, &hotline__geo_point__descriptor,
        &hotline__bus_request__descriptor, &hotline__bus_reply__descriptor,
        &hotline__event__descriptor, &hotline__command__descriptor,
        &hotline__feed_batch__descriptor, &hotline__basic_config__descriptor,
    };
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        size_t seen = 0;
        for (size_t i = 0; i < n; i++)
            seen += hotline_registry_messages[i] == known[k];
        assert_int_equal(seen, 1);
        assert_ptr_equal(hotline_registry_find(known[k]->name), known[k]);
    }
    assert_ptr_equal(hotline_registry_find("hotline.Ticket"), &hotline__ticket__descriptor);
    assert_ptr_equal(hotline_registry_find("hotline.BasicConfig"),
                     &hotline__basic_config__descriptor);
    assert_null(hotline_registry_find("hotline.Nope"));
}

/* ---- output --------------------------------------------------------------------------------- */

static void test_json_name(void **state)
{
    char out[64];
    (void)state;

    pbjson_json_name("media_urls", out, sizeof out);
    assert_string_equal(out, "mediaUrls");
    pbjson_json_name("idempotency_key", out, sizeof out);
    assert_string_equal(out, "idempotencyKey");
    pbjson_json_name("long", out, sizeof out);
    assert_string_equal(out, "long");
    pbjson_json_name("a_1b", out, sizeof out);
    assert_string_equal(out, "a1b");
    pbjson_json_name("x__y_", out, sizeof out);
    assert_string_equal(out, "xY");
    pbjson_json_name("max_body_bytes", out, 5);
    assert_string_equal(out, "maxB");
}

static void test_encode_shapes(void **state)
{
    (void)state;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    uint8_t payload[] = {0xfb, 0xff, 0x00};

    ev.source = "intake";
    ev.seq = UINT64_MAX;
    ev.time_ms = -5;
    te.payload.len = sizeof payload;
    te.payload.data = payload;
    ev.body_case = HOTLINE__EVENT__BODY_TEST;
    ev.test = &te;
    /* 64-bit as strings, bytes as padded standard base64, default fields omitted, a oneof
     * member written with its own defaults omitted. */
    assert_encodes_to(&ev.base, false,
                      "{\"source\":\"intake\",\"seq\":\"18446744073709551615\",\"timeMs\":\"-5\","
                      "\"test\":{\"payload\":\"+/8A\"}}");

    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.urgency = HOTLINE__URGENCY__URGENCY_VERY_URGENT;
    t.channel = 99; /* no name: written as its number */
    assert_encodes_to(&t.base, false, "{\"urgency\":\"URGENCY_VERY_URGENT\",\"channel\":99}");

    Hotline__GeoPoint p = HOTLINE__GEO_POINT__INIT;
    p.lat = NAN;
    p.long_ = -INFINITY;
    assert_encodes_to(&p.base, false, "{\"lat\":\"NaN\",\"long\":\"-Infinity\"}");
    p.lat = 0.5;
    p.long_ = 0;
    assert_encodes_to(&p.base, false, "{\"lat\":0.5}");
    assert_encodes_to(&p.base, true, "{\"lat\":0.5,\"long\":0.0}");

    /* emit_defaults writes every scalar and list, not absent sub-messages or oneofs. */
    Hotline__Contact c = HOTLINE__CONTACT__INIT;
    assert_encodes_to(&c.base, true,
                      "{\"name\":\"\",\"phone\":\"\",\"email\":\"\",\"anonymous\":false}");
    Hotline__BusRequest br = HOTLINE__BUS_REQUEST__INIT;
    assert_encodes_to(&br.base, true, "{\"requestId\":\"0\"}");
    Hotline__FeedBatch fb = HOTLINE__FEED_BATCH__INIT;
    assert_encodes_to(&fb.base, true, "{\"headSeq\":\"0\",\"firstSeq\":\"0\",\"events\":[]}");

    /* proto2: only what is set (and the required field). */
    legacy_t *l = malloc(sizeof *l);
    legacy_init(&l->base);
    assert_encodes_to(&l->base, false, "{\"id\":\"0\"}");
    assert_encodes_to(&l->base, true, "{\"id\":\"0\"}"); /* unset optional fields stay unset */
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

static void test_encode_invalid_utf8(void **state)
{
    (void)state;
    Hotline__Contact c = HOTLINE__CONTACT__INIT;
    /* What protobuf-c hands over from the wire without checking: a stray continuation byte,
     * a truncated sequence, an overlong '/', a surrogate. */
    char name[] = "a\x80" "b\xe4\xb8" "c\xc0\xaf" "d\xed\xa0\x80" "e\xe4\xb8\xad";
    c.name = name;
    char *json = pbjson_encode_string(&c.base, false);
    assert_non_null(json);
    assert_string_equal(json, "{\"name\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
                              "c\xef\xbf\xbd\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                              "e\xe4\xb8\xad\"}");
    free(json);
}

/* ---- input forms ---------------------------------------------------------------------------- */

static void test_error_field_twice(void **state)
{
    (void)state;
    /* Two spellings of one field in one object. */
    expect_error(&hotline__ticket__descriptor, "{\"mediaUrls\":[\"a\"],\"media_urls\":null}",
                 "mediaUrls", "set twice, as \"mediaUrls\" and as \"media_urls\"");
}

static void test_decode_forms(void **state)
{
    (void)state;
    Hotline__Ticket *t = (Hotline__Ticket *)decode_ok(
        &hotline__ticket__descriptor,
        "{\"category_code\":\"W01\",\"mediaUrls\":[\"http://a\",\"\"],"
        "\"contact\":{\"name\":\"\xe7\x8e\x8b\",\"anonymous\":true},\"location\":null,"
        "\"description\":\"\",\"received_ms\":1763800000000,\"externalRef\":null}");
    assert_string_equal(t->category_code, "W01");
    assert_int_equal(t->n_media_urls, 2);
    assert_string_equal(t->media_urls[0], "http://a");
    assert_string_equal(t->media_urls[1], "");
    assert_string_equal(t->contact->name, "\xe7\x8e\x8b");
    assert_true(t->contact->anonymous);
    assert_null(t->location);
    assert_string_equal(t->description, "");
    assert_int_equal(t->received_ms, 1763800000000LL);
    assert_encodes_to(&t->base, false,
                      "{\"categoryCode\":\"W01\",\"contact\":{\"name\":\"\xe7\x8e\x8b\","
                      "\"anonymous\":true},\"mediaUrls\":[\"http://a\",\"\"],"
                      "\"receivedMs\":\"1763800000000\"}");
    protobuf_c_message_free_unpacked(&t->base, NULL);

    /* Enum forms. */
    static const char *const urgent[] = {
        "{\"urgency\":\"URGENCY_VERY_URGENT\"}", "{\"urgency\":\"urgency_very_urgent\"}",
        "{\"urgency\":\"VERY_URGENT\"}",         "{\"urgency\":\"very_urgent\"}",
        "{\"urgency\":\"Very_Urgent\"}",         "{\"urgency\":3}",
    };
    for (size_t i = 0; i < sizeof urgent / sizeof urgent[0]; i++) {
        t = (Hotline__Ticket *)decode_ok(&hotline__ticket__descriptor, urgent[i]);
        assert_int_equal(t->urgency, HOTLINE__URGENCY__URGENCY_VERY_URGENT);
        protobuf_c_message_free_unpacked(&t->base, NULL);
    }
    /* Without the values' common prefix (APPEAL_) or the enum's own (APPEAL_TYPE_). */
    t = (Hotline__Ticket *)decode_ok(&hotline__ticket__descriptor,
                                     "{\"appealType\":\"complaint\",\"channel\":\"open311\"}");
    assert_int_equal(t->appeal_type, HOTLINE__APPEAL_TYPE__APPEAL_COMPLAINT);
    assert_int_equal(t->channel, HOTLINE__CHANNEL__CHANNEL_OPEN311);
    protobuf_c_message_free_unpacked(&t->base, NULL);
    t = (Hotline__Ticket *)decode_ok(&hotline__ticket__descriptor,
                                     "{\"appealType\":\"unspecified\",\"urgency\":\"normal\"}");
    assert_int_equal(t->appeal_type, HOTLINE__APPEAL_TYPE__APPEAL_TYPE_UNSPECIFIED);
    assert_int_equal(t->urgency, HOTLINE__URGENCY__URGENCY_NORMAL);
    protobuf_c_message_free_unpacked(&t->base, NULL);

    /* Numbers: strings, integral reals; floats from strings and the three specials. */
    scalars_t *s = (scalars_t *)decode_ok(
        &scalars_descriptor,
        "{\"aInt32\":\"-2147483648\",\"dInt64\":\"-9223372036854775808\",\"gUint32\":4294967295,"
        "\"iUint64\":\"18446744073709551615\",\"jFixed64\":9223372036854775807,"
        "\"bSint32\":1e3,\"eSint64\":-0,\"kFloat\":\"-Infinity\",\"lDouble\":\"1.5e-3\","
        "\"qFloats\":[\"NaN\",\"Infinity\",1,2.5],\"rSint64s\":[\"-1\",2],\"mBool\":true,"
        "\"hFixed32\":\"0\"}");
    assert_int_equal(s->a_int32, INT32_MIN);
    assert_true(s->d_int64 == INT64_MIN);
    assert_int_equal(s->g_uint32, UINT32_MAX);
    assert_true(s->i_uint64 == UINT64_MAX);
    assert_true(s->j_fixed64 == (uint64_t)INT64_MAX);
    assert_int_equal(s->b_sint32, 1000);
    assert_true(s->e_sint64 == 0);
    assert_true(isinf(s->k_float) && s->k_float < 0);
    assert_true(s->l_double == 1.5e-3);
    assert_int_equal(s->n_q_floats, 4);
    assert_true(isnan(s->q_floats[0]) && isinf(s->q_floats[1]) && s->q_floats[3] == 2.5f);
    assert_int_equal(s->n_r_sint64s, 2);
    assert_true(s->r_sint64s[0] == -1 && s->r_sint64s[1] == 2);
    assert_true(s->m_bool);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* Bytes: both alphabets, padded or not. */
    static const char *const blobs[] = {
        "{\"pBytes\":\"+/8A\"}", "{\"pBytes\":\"-_8A\"}",
        "{\"sBytes\":[\"+/8=\",\"+/8\",\"-_8\",\"-_8=\",\"\"]}",
    };
    s = (scalars_t *)decode_ok(&scalars_descriptor, blobs[0]);
    assert_int_equal(s->p_bytes.len, 3);
    assert_memory_equal(s->p_bytes.data, "\xfb\xff\x00", 3);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    s = (scalars_t *)decode_ok(&scalars_descriptor, blobs[1]);
    assert_int_equal(s->p_bytes.len, 3);
    assert_memory_equal(s->p_bytes.data, "\xfb\xff\x00", 3);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    s = (scalars_t *)decode_ok(&scalars_descriptor, blobs[2]);
    assert_int_equal(s->n_s_bytes, 5);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s->s_bytes[i].len, 2);
        assert_memory_equal(s->s_bytes[i].data, "\xfb\xff", 2);
    }
    assert_int_equal(s->s_bytes[4].len, 0);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* Oneof: a member set to its default is still set, and written. */
    s = (scalars_t *)decode_ok(&scalars_descriptor, "{\"xNum\":0,\"wText\":null}");
    assert_int_equal(s->choice_case, 24);
    assert_encodes_to(&s->base, false, "{\"xNum\":0}");
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

/* ---- errors, one per rule ------------------------------------------------------------------- */

static void test_error_wrong_type(void **state)
{
    (void)state;
    expect_error(&hotline__ticket__descriptor, "{\"description\":5}", "description",
                 "expected a string, got a number");
    expect_error(&hotline__ticket_received__descriptor,
                 "{\"ticket\":{\"location\":{\"point\":{\"lat\":\"north\"}}}}",
                 "ticket.location.point.lat", "expected a number, got \"north\"");
    expect_error(&hotline__ticket__descriptor, "{\"mediaUrls\":[\"a\",\"b\",3]}", "mediaUrls[2]",
                 "expected a string, got a number");
    expect_error(&hotline__ticket__descriptor, "{\"mediaUrls\":\"a\"}", "mediaUrls",
                 "expected an array, got a string");
    expect_error(&hotline__ticket__descriptor, "{\"mediaUrls\":[null]}", "mediaUrls[0]",
                 "null is not allowed");
    expect_error(&hotline__ticket__descriptor, "{\"contact\":[]}", "contact",
                 "expected an object, got an array");
    expect_error(&hotline__ticket__descriptor, "{\"confidential\":\"yes\"}", "confidential",
                 "expected a boolean (true or false), got a string");
    expect_error(&hotline__ticket__descriptor, "{\"urgency\":true}", "urgency",
                 "expected an enum value name (a string), got a boolean");
    expect_error(&hotline__event__descriptor, "{\"seq\":1.5}", "seq",
                 "expected an integer, got 1.5");
    expect_error(&hotline__event__descriptor, "{\"seq\":\"1e3\"}", "seq",
                 "expected an integer, got \"1e3\"");
    expect_error(&hotline__event__descriptor, "{\"seq\":\" 1\"}", "seq", "expected an integer");
    expect_error(&hotline__event__descriptor, "{\"seq\":\"\"}", "seq", "expected an integer");
    expect_error(&hotline__event__descriptor, "{\"seq\":{}}", "seq",
                 "expected an integer, got an object");
    expect_error(&hotline__geo_point__descriptor, "{\"lat\":\"0x10\"}", "lat",
                 "expected a number");
    expect_error(&hotline__geo_point__descriptor, "{\"lat\":\"nan\"}", "lat",
                 "expected a number");
    expect_error(&hotline__test_event__descriptor, "{\"payload\":7}", "payload",
                 "expected a base64 string, got a number");
}

static void test_error_enum(void **state)
{
    (void)state;
    expect_error(&hotline__ticket__descriptor, "{\"urgency\":\"SUPER_URGENT\"}", "urgency",
                 "unknown enum value \"SUPER_URGENT\"; allowed: URGENCY_UNSPECIFIED, "
                 "URGENCY_NORMAL, URGENCY_URGENT, URGENCY_VERY_URGENT");
    expect_error(&hotline__ticket__descriptor, "{\"urgency\":9}", "urgency",
                 "unknown enum value 9; allowed: URGENCY_UNSPECIFIED");
    expect_error(&hotline__ticket__descriptor, "{\"urgency\":\"\"}", "urgency",
                 "unknown enum value \"\"");
    expect_error(&hotline__ticket__descriptor, "{\"urgency\":\"URGENCY_NORMAL\\u0000\"}",
                 "urgency", "unknown enum value");
}

static void test_error_string_limits(void **state)
{
    (void)state;
    /* 4000 characters of 3 bytes each pass; 4001 do not. */
    size_t n = 4001;
    char *json = malloc(n * 3 + 64);
    char *p = json + sprintf(json, "{\"description\":\"");
    for (size_t i = 0; i < n - 1; i++, p += 3)
        memcpy(p, "\xe4\xb8\xad", 3);
    strcpy(p, "\"}");
    ProtobufCMessage *m = decode_ok(&hotline__ticket__descriptor, json);
    protobuf_c_message_free_unpacked(m, NULL);
    memcpy(p, "x\"}", 4);
    expect_error(&hotline__ticket__descriptor, json, "description",
                 "longer than 4000 characters (got 4001)");
    free(json);

    expect_error(&hotline__ticket__descriptor, "{\"contact\":{\"phone\":"
                 "\"123456789012345678901234567890123\"}}",
                 "contact.phone", "longer than 32 characters (got 33)");

    /* The default limit, and a caller's own table. */
    pbjson_field_limit_t fields[] = {{"hotline.Ticket.media_urls", 3}, {NULL, 0}};
    pbjson_limits_t limits = {.max_string_chars = 5, .fields = fields};
    expect_error_limits(&hotline__ticket__descriptor, "{\"externalRef\":\"123456\"}", &limits,
                        "externalRef", "longer than 5 characters (got 6)");
    expect_error_limits(&hotline__ticket__descriptor, "{\"mediaUrls\":[\"abc\",\"abcd\"]}",
                        &limits, "mediaUrls[1]", "longer than 3 characters (got 4)");
    expect_error(&hotline__ticket__descriptor, "{\"description\":\"a\\u0000b\"}", "description",
                 "contains a NUL character");
}

static void test_error_repeated_depth_bytes(void **state)
{
    (void)state;
    pbjson_limits_t limits = {.max_repeated = 3, .max_depth = 2, .max_bytes_len = 4};

    expect_error_limits(&hotline__ticket__descriptor, "{\"mediaUrls\":[\"a\",\"b\",\"c\",\"d\"]}",
                        &limits, "mediaUrls", "more than 3 items (got 4)");
    ProtobufCMessage *m = NULL;
    pbjson_error_t err;
    const char *ok = "{\"mediaUrls\":[\"a\",\"b\",\"c\"],\"contact\":{}}";
    assert_int_equal(pbjson_decode(&hotline__ticket__descriptor, ok, strlen(ok), &limits, &m,
                                   &err), 0);
    protobuf_c_message_free_unpacked(m, NULL);
    expect_error_limits(&hotline__ticket_received__descriptor,
                        "{\"ticket\":{\"location\":{\"point\":{}}}}", &limits, "ticket.location",
                        "nested deeper than 2 levels");
    expect_error_limits(&hotline__test_event__descriptor, "{\"payload\":\"AAAAAAA=\"}", &limits,
                        "payload", "longer than 4 bytes (got 5)");
    expect_error(&hotline__test_event__descriptor, "{\"payload\":\"!!!!\"}", "payload",
                 "not valid base64");
    expect_error(&hotline__test_event__descriptor, "{\"payload\":\"AA=\"}", "payload",
                 "not valid base64");
    expect_error(&hotline__test_event__descriptor, "{\"payload\":\"+-AA\"}", "payload",
                 "mixes the standard (+/) and URL-safe (-_) alphabets");
}

static void test_error_ranges(void **state)
{
    (void)state;
    expect_error(&hotline__feed_fetch__descriptor, "{\"maxEvents\":4294967296}", "maxEvents",
                 "4294967296 is out of range for uint32 (0..4294967295)");
    expect_error(&hotline__feed_fetch__descriptor, "{\"maxEvents\":-1}", "maxEvents",
                 "-1 is out of range for uint32");
    expect_error(&hotline__event__descriptor, "{\"timeMs\":\"9223372036854775808\"}", "timeMs",
                 "\"9223372036854775808\" is out of range for int64 "
                 "(-9223372036854775808..9223372036854775807)");
    expect_error(&hotline__event__descriptor, "{\"seq\":\"18446744073709551616\"}", "seq",
                 "out of range for uint64");
    expect_error(&hotline__event__descriptor, "{\"seq\":1e20}", "seq", "out of range for uint64");
    expect_error(&scalars_descriptor, "{\"aInt32\":2147483648}", "aInt32",
                 "2147483648 is out of range for int32 (-2147483648..2147483647)");
    expect_error(&scalars_descriptor, "{\"cSfixed32\":-2147483649}", "cSfixed32",
                 "-2147483649 is out of range for sfixed32");
    expect_error(&scalars_descriptor, "{\"fSfixed64\":\"-9223372036854775809\"}", "fSfixed64",
                 "is out of range for sfixed64");
    expect_error(&scalars_descriptor, "{\"hFixed32\":\"-1\"}", "hFixed32",
                 "\"-1\" is out of range for fixed32 (0..4294967295)");
    expect_error(&scalars_descriptor, "{\"kFloat\":1e39}", "kFloat", "out of range for float");
    expect_error(&hotline__geo_point__descriptor, "{\"lat\":\"1e999\"}", "lat",
                 "out of range for double");
}

static void test_error_unknown_field(void **state)
{
    (void)state;
    expect_error(&hotline__ticket__descriptor, "{\"id\":\"x\",\"descripton\":\"leak\"}",
                 "descripton",
                 "unknown field \"descripton\" in hotline.Ticket; did you mean \"description\"?");
    expect_error(&hotline__ticket_received__descriptor,
                 "{\"ticket\":{\"contact\":{\"phone_number\":\"1\"}}}",
                 "ticket.contact.phone_number", "did you mean \"phone\"?");
    expect_error(&hotline__contact__descriptor, "{\"zzzzzzzz\":1}", "zzzzzzzz",
                 "unknown field \"zzzzzzzz\" in hotline.Contact; known fields: name, phone, "
                 "email, anonymous");
}

static void test_error_document(void **state)
{
    (void)state;
    expect_error(&hotline__ticket__descriptor, "{\"id\": }", "",
                 "malformed JSON at line 1 column 8");
    expect_error(&hotline__ticket__descriptor, "{\"id\":\"a\"}\n{", "", "malformed JSON at line 2");
    expect_error(&hotline__ticket__descriptor, "", "", "malformed JSON");
    expect_error(&hotline__ticket__descriptor, "{\"id\":\"a\",\"id\":\"b\"}", "",
                 "duplicate object key");
    expect_error(&hotline__ticket__descriptor, "[1]", "", "expected a JSON object, got an array");
    expect_error(&hotline__ticket__descriptor, "\"x\"", "", "expected a JSON object, got a string");
    expect_error(&hotline__ticket__descriptor, "{\"id\":\"\xff\"}", "", "malformed JSON");

    /* jansson quotes the bytes near the error; the message still has to fit in a JSON reply. */
    const char *bad = "{\"actor\":\"\\ud8\xcd\x9b\xa3\x82\"}";
    ProtobufCMessage *m = NULL;
    pbjson_error_t err;
    assert_int_equal(pbjson_decode(&hotline__command__descriptor, bad, strlen(bad), NULL, &m, &err),
                     HL_EINVAL);
    json_t *as_json = json_string(err.message);
    if (!as_json)
        fail_msg("error message is not valid UTF-8: %s", err.message);
    json_decref(as_json);
}

static void test_error_oneof(void **state)
{
    (void)state;
    expect_error(&hotline__bus_request__descriptor,
                 "{\"requestId\":\"1\",\"fetch\":{\"consumer\":\"a\"},\"command\":{}}", "command",
                 "\"fetch\" and \"command\" are both set, but they are alternatives");
    expect_error(&scalars_descriptor, "{\"wText\":\"a\",\"y_blob\":\"AA==\"}", "yBlob",
                 "\"wText\" and \"y_blob\" are both set");
    /* null for one of them is not a second choice. */
    ProtobufCMessage *m = decode_ok(&hotline__bus_request__descriptor,
                                    "{\"fetch\":null,\"command\":{\"actor\":\"admin\"}}");
    assert_int_equal(((Hotline__BusRequest *)m)->body_case, HOTLINE__BUS_REQUEST__BODY_COMMAND);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* Errors deep inside, after much was allocated: everything is freed (LeakSanitizer). */
static void test_error_frees_partial(void **state)
{
    (void)state;
    expect_error(&hotline__ticket_received__descriptor,
                 "{\"ticket\":{\"id\":\"x\",\"contact\":{\"name\":\"n\",\"phone\":\"1\"},"
                 "\"location\":{\"district\":\"d\",\"point\":{\"lat\":1}},"
                 "\"mediaUrls\":[\"a\",\"b\",\"c\",{}]}}",
                 "ticket.mediaUrls[3]", "expected a string");
    expect_error(&scalars_descriptor,
                 "{\"oString\":\"s\",\"pBytes\":\"AAAA\",\"sBytes\":[\"AA\",\"!\"]}", "sBytes[1]",
                 "not valid base64");
    expect_error(&scalars_descriptor, "{\"vPoints\":[{\"lat\":1},{\"lat\":[]}]}", "vPoints[1].lat",
                 "expected a number");
    expect_error(&scalars_descriptor, "{\"zPoint\":{\"lat\":1,\"x\":2}}", "zPoint.x",
                 "unknown field");
}

/* ---- merge ---------------------------------------------------------------------------------- */

static void merge_ok(ProtobufCMessage *m, const char *json)
{
    pbjson_error_t err;
    json_t *obj = json_loads(json, 0, NULL);
    assert_non_null(obj);
    if (pbjson_merge(m, obj, NULL, &err) != 0)
        fail_msg("merging %s: %s: %s", json, err.field, err.message);
    json_decref(obj);
}

static void test_merge(void **state)
{
    (void)state;
    Hotline__Ticket *t = (Hotline__Ticket *)decode_ok(
        &hotline__ticket__descriptor,
        "{\"id\":\"a\",\"description\":\"old\",\"mediaUrls\":[\"1\",\"2\"],"
        "\"contact\":{\"name\":\"n\",\"phone\":\"p\"},\"urgency\":\"urgent\"}");
    /* Scalars replace, lists are replaced, sub-messages merge, null resets. */
    merge_ok(&t->base, "{\"description\":\"new\",\"mediaUrls\":[\"3\"],"
                       "\"contact\":{\"phone\":\"q\"},\"urgency\":null,\"id\":null}");
    assert_encodes_to(&t->base, false,
                      "{\"contact\":{\"name\":\"n\",\"phone\":\"q\"},\"description\":\"new\","
                      "\"mediaUrls\":[\"3\"]}");
    merge_ok(&t->base, "{\"contact\":null,\"mediaUrls\":null,\"description\":\"\"}");
    assert_encodes_to(&t->base, false, "{}");
    protobuf_c_message_free_unpacked(&t->base, NULL);

    /* Setting a oneof member frees the one set before. */
    scalars_t *s = (scalars_t *)decode_ok(&scalars_descriptor, "{\"wText\":\"abc\"}");
    merge_ok(&s->base, "{\"zPoint\":{\"lat\":1}}");
    assert_int_equal(s->choice_case, 26);
    merge_ok(&s->base, "{\"zPoint\":{\"long\":2}}");
    assert_encodes_to(&s->base, false, "{\"zPoint\":{\"lat\":1.0,\"long\":2.0}}");
    merge_ok(&s->base, "{\"yBlob\":\"AAEC\"}");
    merge_ok(&s->base, "{\"wText\":\"\"}");
    assert_encodes_to(&s->base, false, "{\"wText\":\"\"}");
    merge_ok(&s->base, "{\"wText\":null}");
    assert_int_equal(s->choice_case, 0);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* proto2: null gives the declared default back, and clears has_. */
    legacy_t *l = (legacy_t *)decode_ok(
        &legacy_descriptor, "{\"count\":1,\"label\":\"y\",\"raw\":\"AA==\",\"id\":\"5\"}");
    assert_true(l->has_count && l->count == 1 && l->has_raw);
    merge_ok(&l->base, "{\"count\":null,\"label\":null,\"raw\":null,\"note\":\"n\"}");
    assert_false(l->has_count);
    assert_int_equal(l->count, 7);
    assert_ptr_equal(l->label, legacy_label_default);
    assert_encodes_to(&l->base, false, "{\"id\":\"5\",\"note\":\"n\"}");
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* A failed merge leaves a message that is still valid to free. */
    t = (Hotline__Ticket *)decode_ok(&hotline__ticket__descriptor, "{\"id\":\"a\"}");
    pbjson_error_t err;
    json_t *bad = json_loads("{\"id\":\"b\",\"mediaUrls\":[\"x\",1]}", 0, NULL);
    assert_int_equal(pbjson_merge(&t->base, bad, NULL, &err), HL_EINVAL);
    assert_string_equal(err.field, "mediaUrls[1]");
    json_decref(bad);
    bad = json_loads("[]", 0, NULL);
    assert_int_equal(pbjson_merge(&t->base, bad, NULL, &err), HL_EINVAL);
    assert_string_equal(err.field, "");
    json_decref(bad);
    protobuf_c_message_free_unpacked(&t->base, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_name),
        cmocka_unit_test(test_roundtrip_every_message),
        cmocka_unit_test(test_encode_shapes),
        cmocka_unit_test(test_encode_invalid_utf8),
        cmocka_unit_test(test_error_field_twice),
        cmocka_unit_test(test_decode_forms),
        cmocka_unit_test(test_error_wrong_type),
        cmocka_unit_test(test_error_enum),
        cmocka_unit_test(test_error_string_limits),
        cmocka_unit_test(test_error_repeated_depth_bytes),
        cmocka_unit_test(test_error_ranges),
        cmocka_unit_test(test_error_unknown_field),
        cmocka_unit_test(test_error_document),
        cmocka_unit_test(test_error_oneof),
        cmocka_unit_test(test_error_frees_partial),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
