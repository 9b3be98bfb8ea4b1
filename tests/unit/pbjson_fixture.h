/* pbjson_fixture: what the test_pbjson* programs share. Two message types defined by hand,
 * laid out as protoc-c would, which cover what Hotline's schemas do not use yet: test.Scalars
 * (proto3: every scalar type, scalar/string/bytes oneof members) and test2.Legacy (proto2: has_
 * flags, declared defaults, a required field). Plus decode_ok and assert_encodes_to, static
 * inline so a program that does not call one still compiles without warnings. */
#ifndef HOTLINE_TESTS_UNIT_PBJSON_FIXTURE_H
#define HOTLINE_TESTS_UNIT_PBJSON_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pbjson.h"
#include "hotline/ticket.pb-c.h"

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

static inline void scalars_init(ProtobufCMessage *m)
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

static inline void legacy_init(ProtobufCMessage *m)
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

/* ---- helpers -------------------------------------------------------------------------------- */

static inline ProtobufCMessage *decode_ok(const ProtobufCMessageDescriptor *md, const char *json)
{
    ProtobufCMessage *m = NULL;
    pbjson_error_t err;
    int rc = pbjson_decode(md, json, strlen(json), NULL, &m, &err);
    if (rc != 0)
        fail_msg("decoding %s as %s: %s: %s", json, md->name, err.field, err.message);
    return m;
}

static inline void assert_encodes_to(const ProtobufCMessage *m, bool emit_defaults,
                                     const char *want)
{
    char *got = pbjson_encode_string(m, emit_defaults);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

#endif
