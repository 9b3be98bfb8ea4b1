/* test_pbjson: the protobuf <-> JSON converter, encoding and the round trip.
 *
 * The round trip runs over every message type of proto/hotline (the generated registry) plus
 * the two hand-made types of pbjson_fixture.h (every scalar type, oneofs, proto2 has_ flags and
 * defaults). Each message is filled with pseudo-random values, encoded, decoded and packed: the
 * bytes must equal the original's. Then the shapes the encoder writes. Every decoded message is
 * freed with protobuf_c_message_free_unpacked, so AddressSanitizer checks that they are
 * allocated the way protobuf-c unpacks. Decoding rules and errors are in test_pbjson_decode. */
#include "pbjson_fixture.h"

#include "hotline/bus.pb-c.h"
#include "hotline/command.pb-c.h"
#include "hotline/config.pb-c.h"
#include "hotline/event.pb-c.h"
#include "hotline/feed.pb-c.h"
#include "hotline/registry.h"

#include <float.h>
#include <math.h>

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
    assert_encodes_to(&br.base, true, "{\"requestId\":\"0\",\"token\":\"\"}");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_name),
        cmocka_unit_test(test_roundtrip_every_message),
        cmocka_unit_test(test_encode_shapes),
        cmocka_unit_test(test_encode_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
