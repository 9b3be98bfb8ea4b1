/* test_pbjson_decode: the protobuf <-> JSON converter, decoding. The forms the decoder accepts
 * (field names, enum spellings, numbers as strings, both base64 alphabets), then one test per
 * rule it enforces, checking the field path and the message, and merging into a message. Every
 * decoded message is freed with protobuf_c_message_free_unpacked, and errors deep inside must
 * free what was allocated (LeakSanitizer). The round trip is in test_pbjson. */
#include "pbjson_fixture.h"

#include "hl_error.h"
#include "hotline/bus.pb-c.h"
#include "hotline/command.pb-c.h"
#include "hotline/event.pb-c.h"
#include "hotline/feed.pb-c.h"

#include <math.h>
#include <stdio.h>

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
