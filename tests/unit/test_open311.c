/* open311: the catalogue, form -> ticket decoding against service definitions, datetimes,
 * the XML rendering, and GET requests' query (filters, window, pages, privacy) over a real
 * store in-process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "open311_fixture.h"
#include "pbjson.h"

/* ---- catalogue ---- */

static void test_default_catalogue(void **state)
{
    (void)state;
    open311_catalog_t cat;
    char err[300];
    assert_int_equal(open311_catalog_load(&cat, NULL, err, sizeof err), 0);
    assert_int_equal(cat.n, 10);
    static const char *const codes[] = {"W01", "W02", "W03", "W04", "W0402",
                                        "W05", "W06", "W07", "W08", "W09"};
    for (size_t i = 0; i < 10; i++) {
        const Hotline__Open311Service *s = open311_catalog_find(&cat, codes[i]);
        assert_non_null(s);
        assert_string_equal(s->group, "water");
        assert_true(strlen(s->name) > 3 && strlen(s->description) > 10 && s->n_keywords > 0);
    }
    const Hotline__Open311Service *w01 = open311_catalog_find(&cat, "W01");
    const Hotline__Open311Attribute *cause = open311_service_attr(w01, "cause", 5);
    assert_non_null(cause);
    assert_false(cause->required);
    assert_int_equal(cause->n_values, 4);
    const Hotline__Open311Attribute *side =
        open311_service_attr(open311_catalog_find(&cat, "W04"), "side_of_meter", 13);
    assert_non_null(side);
    assert_true(side->required);
    assert_string_equal(side->datatype, "singlevaluelist");
    assert_null(open311_catalog_find(&cat, "X99"));
    /* The list: metadata true only with attributes; ids as strings. */
    json_t *list = open311_services_json(&cat);
    assert_int_equal(json_array_size(list), 10);
    json_t *first = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(first, "service_code")), "W01");
    assert_true(json_is_true(json_object_get(first, "metadata")));
    assert_true(json_is_false(json_object_get(json_array_get(list, 1), "metadata")));
    assert_string_equal(json_string_value(json_object_get(first, "keywords")),
                        "no water, outage, stoppage, supply");
    json_decref(list);
    json_t *def = open311_definition_json(open311_catalog_find(&cat, "W04"));
    json_t *a0 = json_array_get(json_object_get(def, "attributes"), 0);
    assert_string_equal(json_string_value(json_object_get(a0, "code")), "side_of_meter");
    assert_int_equal(json_array_size(json_object_get(a0, "values")), 2);
    json_decref(def);
    open311_catalog_fini(&cat);
}

static int load_json_catalog(const char *json, open311_catalog_t *cat, Hotline__Open311Config **cfg,
                             char *err, size_t size)
{
    pbjson_error_t perr;
    if (pbjson_decode(&hotline__open311_config__descriptor, json, strlen(json), NULL,
                      (ProtobufCMessage **)cfg, &perr))
        fail_msg("test config does not decode: %s: %s", perr.field, perr.message);
    return open311_catalog_load(cat, *cfg, err, size);
}

static void test_catalogue_checks(void **state)
{
    (void)state;
    static const struct {
        const char *json, *names;
    } bad[] = {
        {"{\"services\": [{\"code\": \"w1\", \"name\": \"x\"}]}", "services[0].code"},
        {"{\"services\": [{\"code\": \"W01\", \"name\": \"x\"}, {\"code\": \"W01\", \"name\": "
         "\"y\"}]}",
         "services[1].code"},
        {"{\"services\": [{\"code\": \"W01\", \"name\": \"\"}]}", "services[0].name"},
        {"{\"services\": [{\"code\": \"W01\", \"name\": \"x\", \"attributes\": [{\"code\": "
         "\"a\", \"datatype\": \"colour\"}]}]}",
         "attributes[0].datatype"},
        {"{\"services\": [{\"code\": \"W01\", \"name\": \"x\", \"attributes\": [{\"code\": "
         "\"a\", \"datatype\": \"singlevaluelist\", \"variable\": true}]}]}",
         "attributes[0].values"},
        {"{\"services\": [{\"code\": \"W01\", \"name\": \"x\", \"attributes\": [{\"code\": "
         "\"a[b]\", \"datatype\": \"string\"}]}]}",
         "attributes[0].code"},
        {"{\"services\": [{\"code\": \"W01\", \"name\": \"x\", \"attributes\": [{\"code\": "
         "\"a\", \"datatype\": \"string\", \"required\": true}]}]}",
         "attributes[0].required"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        open311_catalog_t cat;
        Hotline__Open311Config *cfg;
        char err[300] = "";
        assert_int_equal(load_json_catalog(bad[i].json, &cat, &cfg, err, sizeof err), HL_EINVAL);
        if (!strstr(err, bad[i].names))
            fail_msg("error \"%s\" does not name %s", err, bad[i].names);
        hotline__open311_config__free_unpacked(cfg, NULL);
    }
}

/* ---- decoding a POST ---- */

typedef struct decode_fx {
    open311_catalog_t cat;
    Hotline__Open311Config *cfg;
    arena_t *arena;
    form_t *form;
    open311_errors_t errs;
} decode_fx_t;

/* A catalogue with every datatype, beside the default one. */
static const char CUSTOM[] =
    "{\"services\": [{\"code\": \"P01\", \"name\": \"Outage\", \"attributes\": ["
    " {\"code\": \"rooms\", \"variable\": true, \"datatype\": \"multivaluelist\","
    "  \"values\": [{\"key\": \"kitchen\", \"name\": \"Kitchen\"}, {\"key\": \"bath\","
    "  \"name\": \"Bathroom\"}, {\"key\": \"all\", \"name\": \"Everywhere\"}]},"
    " {\"code\": \"floor\", \"variable\": true, \"datatype\": \"number\"},"
    " {\"code\": \"since\", \"variable\": true, \"datatype\": \"datetime\", \"required\": true},"
    " {\"code\": \"note\", \"variable\": true, \"datatype\": \"string\"},"
    " {\"code\": \"info\", \"variable\": false, \"datatype\": \"text\"}]}]}";

static int decode_setup(void **state)
{
    decode_fx_t *f = calloc(1, sizeof *f);
    char err[300];
    if (open311_catalog_load(&f->cat, NULL, err, sizeof err) || arena_create(&f->arena))
        return -1;
    *state = f;
    return 0;
}

static int decode_teardown(void **state)
{
    decode_fx_t *f = *state;
    form_destroy(&f->form);
    open311_catalog_fini(&f->cat);
    if (f->cfg)
        hotline__open311_config__free_unpacked(f->cfg, NULL);
    arena_destroy(&f->arena);
    free(f);
    return 0;
}

/* Decode body; returns the ticket or NULL (errors in f->errs). */
static Hotline__Ticket *decode(decode_fx_t *f, const char *body)
{
    form_destroy(&f->form);
    form_error_t ferr;
    if (form_parse(&f->form, body, strlen(body), NULL, &ferr))
        fail_msg("form refused: %s: %s", ferr.key, ferr.message);
    arena_reset(f->arena);
    open311_errors_init(&f->errs);
    Hotline__Ticket *t;
    int rc = open311_decode_request(f->form, &f->cat, f->arena, &t, &f->errs);
    if (rc == 0) {
        assert_int_equal(f->errs.n, 0);
        return t;
    }
    assert_int_equal(rc, HL_EINVAL);
    assert_null(t);
    assert_true(f->errs.n > 0);
    return NULL;
}

/* The error list names param (as the start of a description) somewhere. */
static bool names(const decode_fx_t *f, const char *param)
{
    for (size_t i = 0; i < f->errs.n; i++)
        if (strncmp(f->errs.items[i].description, param, strlen(param)) == 0)
            return true;
    return false;
}

static void test_decode_full_request(void **state)
{
    decode_fx_t *f = *state;
    Hotline__Ticket *t =
        decode(f, "api_key=k&service_code=W04&lat=26.08&long=119.30&address_string=12+Gulou+Rd"
                  "&address_id=A-77&attribute%5Bside_of_meter%5D=before&email=li%40example.cn"
                  "&device_id=dev-1&account_id=acc-9&first_name=Li&last_name=Ming"
                  "&phone=%2B86+138-1234-5678&description=Burst+pipe+in+the+yard"
                  "&media_url=https%3A%2F%2Fimg.example%2F1.jpg&unknown_param=ignored");
    assert_non_null(t);
    assert_int_equal(t->channel, HOTLINE__CHANNEL__CHANNEL_OPEN311);
    assert_string_equal(t->category_code, "W04");
    assert_string_equal(t->description, "Burst pipe in the yard");
    assert_string_equal(t->contact->name, "Li Ming");
    assert_string_equal(t->contact->phone, "+86 138-1234-5678");
    assert_string_equal(t->contact->email, "li@example.cn");
    assert_false(t->contact->anonymous);
    assert_string_equal(t->location->address, "12 Gulou Rd");
    assert_string_equal(t->location->address_id, "A-77");
    assert_non_null(t->location->point);
    assert_float_equal(t->location->point->lat, 26.08, 1e-9);
    assert_float_equal(t->location->point->long_, 119.30, 1e-9);
    assert_int_equal(t->n_media_urls, 1);
    assert_string_equal(t->media_urls[0], "https://img.example/1.jpg");
    assert_string_equal(t->account_id, "acc-9");
    assert_string_equal(t->device_id, "dev-1");
    assert_int_equal(t->n_attributes, 1);
    assert_string_equal(t->attributes[0]->code, "side_of_meter");
    assert_int_equal(t->attributes[0]->n_values, 1);
    assert_string_equal(t->attributes[0]->values[0], "before");
    /* It packs (the command path packs it next). */
    assert_true(hotline__ticket__get_packed_size(t) > 50);
}

static void test_decode_minimal_is_anonymous(void **state)
{
    decode_fx_t *f = *state;
    /* Empty optional parameters mean absent. */
    Hotline__Ticket *t = decode(f, "service_code=W02&address_id=A-1&phone=&email=&"
                                   "description=&first_name=&lat=&long=&media_url=");
    assert_non_null(t);
    assert_true(t->contact->anonymous);
    assert_string_equal(t->contact->phone, "");
    assert_null(t->location->point);
    assert_string_equal(t->location->address_id, "A-1");
    assert_int_equal(t->n_media_urls, 0);
    /* Intake needs words for the unit: the service's name stands in. */
    assert_non_null(strstr(t->description, "Water pressure"));
    assert_int_equal(t->n_attributes, 0);
}

static void test_decode_errors(void **state)
{
    decode_fx_t *f = *state;
    /* Nothing at all: service_code and a location, both named. */
    assert_null(decode(f, "api_key=k"));
    assert_int_equal(f->errs.http, 400);
    assert_true(names(f, "service_code") && names(f, "lat, long, address_string"));
    /* Unknown service: HTTP 400 with the more specific code 404. */
    assert_null(decode(f, "service_code=X99&address_string=a"));
    assert_int_equal(f->errs.http, 400);
    assert_int_equal(f->errs.items[0].code, OPEN311_CODE_UNKNOWN_SERVICE);
    assert_null(decode(f, "service_code=W01&lat=26"));
    assert_true(names(f, "long"));
    assert_null(decode(f, "service_code=W01&lat=91&long=119"));
    assert_true(names(f, "lat"));
    assert_null(decode(f, "service_code=W01&lat=nan&long=119"));
    assert_true(names(f, "lat"));
    assert_null(decode(f, "service_code=W01&lat=26&long=0x10"));
    assert_true(names(f, "long"));
    assert_null(decode(f, "service_code=W01&service_code=W02&address_string=a"));
    assert_true(names(f, "service_code: given 2 times"));
    assert_null(decode(f, "service_code=W01&address_string=a&email=not-an-address"));
    assert_true(names(f, "email"));
    assert_null(decode(f, "service_code=W01&address_string=a&media_url=ftp%3A%2F%2Fx"));
    assert_true(names(f, "media_url"));
    char desc[4100 + 64] = "service_code=W01&address_string=a&description=";
    size_t n = strlen(desc);
    memset(desc + n, 'x', 4001);
    desc[n + 4001] = '\0';
    assert_null(decode(f, desc));
    assert_true(names(f, "description: longer than 4000"));
    desc[n + 4000] = '\0'; /* 4000 exactly is fine */
    assert_non_null(decode(f, desc));
    /* 4000 characters of a wide script are fine too (the limit is in characters). */
    char wide[4000 * 9 + 64] = "service_code=W01&address_string=a&description=";
    for (int i = 0; i < 4000; i++)
        strcat(wide, "%E6%B0%B4");
    assert_non_null(decode(f, wide));
}

static void test_decode_attributes(void **state)
{
    decode_fx_t *f = *state;
    /* W04's required attribute. */
    assert_null(decode(f, "service_code=W04&address_string=a"));
    assert_true(names(f, "attribute[side_of_meter]: required"));
    assert_null(decode(f, "service_code=W04&address_string=a&attribute[side_of_meter]=middle"));
    assert_true(names(f, "attribute[side_of_meter]: \"middle\""));
    assert_int_equal(f->errs.n, 1); /* a wrong value is not also reported missing */
    assert_null(decode(f, "service_code=W04&address_string=a&attribute[side_of_meter]=before"
                          "&attribute[colour]=red"));
    assert_true(names(f, "attribute[colour]"));
    assert_null(decode(f, "service_code=W04&address_string=a&attribute[side_of_meter]=before"
                          "&attribute[side_of_meter]=after"));
    assert_true(names(f, "attribute[side_of_meter]: a singlevaluelist takes one value"));
    assert_null(decode(f, "service_code=W04&address_string=a&attribute[side_of_meter][]=before"));
    assert_null(decode(f, "service_code=W04&address_string=a&attribute[side_of_meter=before"));
    assert_true(names(f, "attribute[side_of_meter"));
    assert_null(decode(f, "service_code=W02&address_string=a&attribute[x]=1"));
    assert_true(names(f, "attribute[x]"));
    /* W01's optional one: absent, empty or a key. */
    assert_non_null(decode(f, "service_code=W01&address_string=a&attribute[cause]="));
    Hotline__Ticket *t = decode(f, "service_code=W01&address_string=a&attribute[cause]=arrears");
    assert_non_null(t);
    assert_string_equal(t->attributes[0]->values[0], "arrears");

    /* Every datatype, with a configured catalogue. */
    open311_catalog_fini(&f->cat);
    char err[300];
    assert_int_equal(load_json_catalog(CUSTOM, &f->cat, &f->cfg, err, sizeof err), 0);
    t = decode(f, "service_code=P01&address_string=a&attribute[rooms][]=kitchen&"
                  "attribute[rooms][]=bath&attribute[rooms][]=kitchen&attribute[floor]=-1.5&"
                  "attribute[since]=2026-11-25T08:00:00%2B08:00&attribute[note]=dark");
    assert_non_null(t);
    assert_int_equal(t->n_attributes, 4);
    assert_string_equal(t->attributes[0]->code, "rooms");
    assert_int_equal(t->attributes[0]->n_values, 2); /* the same choice twice counts once */
    assert_string_equal(t->attributes[0]->values[1], "bath");
    assert_string_equal(t->attributes[1]->values[0], "-1.5");
    assert_null(decode(f, "service_code=P01&address_string=a&attribute[since]=yesterday&"
                          "attribute[floor]=two&attribute[rooms][]=garage&attribute[info]=x"));
    assert_true(names(f, "attribute[since]") && names(f, "attribute[floor]") &&
                names(f, "attribute[rooms]") && names(f, "attribute[info]"));
    assert_null(decode(f, "service_code=P01&address_string=a"));
    assert_true(names(f, "attribute[since]: required"));
}

static void test_param_for_field(void **state)
{
    (void)state;
    assert_string_equal(open311_param_for_field("ticket.contact.phone"), "phone");
    assert_string_equal(open311_param_for_field("ticket.description"), "description");
    assert_string_equal(open311_param_for_field("ticket.location"), "address_string");
    assert_string_equal(open311_param_for_field("ticket.location.point"), "lat");
    assert_string_equal(open311_param_for_field("ticket.mediaUrls[0]"), "media_url");
    assert_string_equal(open311_param_for_field("somethingElse"), "somethingElse");
    assert_string_equal(open311_param_for_field(NULL), "");
}

/* ---- datetimes, lists ---- */

static void test_datetimes(void **state)
{
    (void)state;
    int64_t ms;
    char buf[40];
    assert_int_equal(open311_time_parse("2026-11-25T00:00:00+08:00", 480, &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(open311_time_parse("2026-11-24T16:00:00Z", 480, &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(open311_time_parse("2026-11-24T16:00:00.250z", 480, &ms), 0);
    assert_int_equal(ms, T0 + 250);
    assert_int_equal(open311_time_parse("2026-11-24T11:00:00-0500", 480, &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(open311_time_parse("2026-11-25", 480, &ms), 0); /* local midnight */
    assert_int_equal(ms, T0);
    assert_int_equal(open311_time_parse("2026-11-25T00:00", 480, &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(open311_time_parse("2024-02-29T12:00:00Z", 0, &ms), 0);
    static const char *const bad[] = {"",
                                      "2026",
                                      "2026-11-31",
                                      "2025-02-29",
                                      "2026-13-01",
                                      "2026-11-25T24:00:00Z",
                                      "2026-11-25T08:60Z",
                                      "2026-11-25T08:00:00+15:00",
                                      "2026-11-25T08:00:00.Z",
                                      "2026-11-25T08:00:00Zjunk",
                                      "1969-12-31",
                                      "26-11-25",
                                      "2026-11-25T8:00:00Z",
                                      "yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (open311_time_parse(bad[i], 480, &ms) != HL_EINVAL)
            fail_msg("\"%s\" accepted", bad[i]);
    open311_time_format(T0 + 9 * HOUR_MS + 5 * 60000 + 7000 + 999, 480, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-25T09:05:07+08:00");
    open311_time_format(T0, 0, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-24T16:00:00Z");
    open311_time_format(T0, -330, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-24T10:30:00-05:30");
    /* Round trip. */
    assert_int_equal(open311_time_parse("2026-11-24T10:30:00-05:30", 480, &ms), 0);
    assert_int_equal(ms, T0);

    char list[] = " W01, ,W02 ,, W0402 ";
    char *items[3];
    assert_int_equal(open311_split_list(list, items, 3), 3);
    assert_string_equal(items[0], "W01");
    assert_string_equal(items[1], "W02");
    assert_string_equal(items[2], "W0402");
    char list2[] = "a,b,c";
    assert_int_equal(open311_split_list(list2, items, 2), HL_ETOOBIG);
}

/* Errors quote outside text and go into JSON / XML: they must stay valid UTF-8. */
static void test_quotes_stay_utf8(void **state)
{
    (void)state;
    char q[12];
    assert_string_equal(open311_quote(q, sizeof q, "W01"), "W01");
    assert_string_equal(open311_quote(q, sizeof q, "abcdefghijklmnop"), "abcdefgh...");
    /* Cut inside a 3-byte character: the partial character goes. */
    assert_string_equal(open311_quote(q, sizeof q, "abcdefg\xE6\xB0\xB4xyz"), "abcdefg...");
    assert_string_equal(open311_quote(q, sizeof q, "a\x01\xFF\nb"), "a???b");
    assert_string_equal(open311_quote(q, sizeof q, NULL), "");
    open311_errors_t e;
    open311_errors_init(&e);
    char longtext[600];
    memset(longtext, 'x', sizeof longtext);
    strcpy(longtext + 398 - 14, "\xE6\xB0\xB4\xE6\xB0\xB4"); /* straddles the 400-byte cut */
    open311_error_add(&e, 400, 400, "%s%s", "description: ", longtext);
    json_t *j = json_string(e.items[0].description);
    assert_non_null(j); /* jansson accepts only valid UTF-8 */
    json_decref(j);
    /* At most OPEN311_MAX_ERRORS are kept; the status is the first one's. */
    for (int i = 0; i < 20; i++)
        open311_error_add(&e, 404, 404, "more %d", i);
    assert_int_equal(e.n, OPEN311_MAX_ERRORS);
    assert_int_equal(e.http, 400);
}

/* ---- XML rendering ---- */

static void test_xml_render(void **state)
{
    (void)state;
    json_t *doc = json_pack("[{s:s, s:b, s:i, s:f, s:n, s:[s, s], s:{s:s}, s:[{s:s}]}]",
                            "service_code", "W01", "metadata", 1, "order", 2, "lat", 26.08, "gone",
                            "formats", "application/json", "text/xml", "extended_attributes",
                            "channel", "a<b", "notes", "type", "x");
    char *xml;
    size_t len;
    assert_int_equal(open311_xml_render(doc, "services", "service", &xml, &len), 0);
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service>"
                             "<service_code>W01</service_code><metadata>true</metadata>"
                             "<order>2</order><lat>26.08</lat><formats><format>"
                             "application/json</format><format>text/xml</format></formats>"
                             "<extended_attributes><channel>a&lt;b</channel>"
                             "</extended_attributes><notes><note><type>x</type></note></notes>"
                             "</service></services>\n");
    free(xml);
    json_decref(doc);
    /* An empty list is still a document. */
    doc = json_array();
    assert_int_equal(open311_xml_render(doc, "service_requests", "request", &xml, &len), 0);
    assert_non_null(strstr(xml, "<service_requests/>"));
    free(xml);
    json_decref(doc);
}

/* ---- GET requests over a store ---- */

/* Run a query string at now; returns the items (caller decrefs) or NULL on a parse error. */
static json_t *run(query_fx_t *f, const char *query, int64_t now, open311_errors_t *errs)
{
    open311_query_t *q = malloc(sizeof *q);
    open311_errors_init(errs);
    if (open311_query_parse(query, now, 480, q, errs)) {
        free(q);
        return NULL;
    }
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    json_t *list = open311_query_run(&f->o, txn, q, f->o.arena);
    store_read_end(&txn);
    free(q);
    return list;
}

static const char *id_at(json_t *list, size_t i)
{
    return json_string_value(json_object_get(json_array_get(list, i), "service_request_id"));
}

static void test_query_window_and_order(void **state)
{
    query_fx_t *f = *state;
    open311_errors_t e;
    int64_t now = T0 + 12 * HOUR_MS;
    /* The default: the last 90 days, newest first; the old ticket is outside. */
    json_t *l = run(f, "", now, &e);
    assert_int_equal(json_array_size(l), 10);
    assert_string_equal(id_at(l, 0), "20261125-1-000010");
    assert_string_equal(id_at(l, 9), "20261125-1-000001");
    json_decref(l);
    /* Pages. */
    l = run(f, "page_size=4&page=2", now, &e);
    assert_int_equal(json_array_size(l), 4);
    assert_string_equal(id_at(l, 0), "20261125-1-000006");
    json_decref(l);
    l = run(f, "page_size=4&page=3", now, &e);
    assert_int_equal(json_array_size(l), 2);
    json_decref(l);
    l = run(f, "page_size=4&page=4", now, &e);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    /* Dates (inclusive); one date alone opens a 90-day window from it. */
    l = run(f, "start_date=2026-11-25T02:00:00%2B08:00&end_date=2026-11-25T04:00:00%2B08:00", now,
            &e);
    assert_int_equal(json_array_size(l), 3);
    assert_string_equal(id_at(l, 0), "20261125-1-000005");
    json_decref(l);
    l = run(f, "start_date=2026-08-01", now, &e);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(id_at(l, 0), "20260817-1-000001");
    json_decref(l);
    l = run(f, "end_date=2026-08-18", now, &e);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    /* Filters. */
    l = run(f, "status=closed", now, &e);
    assert_int_equal(json_array_size(l), 3);
    json_decref(l);
    l = run(f, "status=open&service_code=W04", now, &e);
    assert_int_equal(json_array_size(l), 3); /* W04 = odd i: 1, 3, 5 open; 7, 9 closed */
    assert_string_equal(id_at(l, 0), "20261125-1-000006");
    json_decref(l);
    l = run(f, "status=open,closed&service_code=W01,W04&page_size=2&page=2", now, &e);
    assert_int_equal(json_array_size(l), 2);
    assert_string_equal(id_at(l, 0), "20261125-1-000008");
    json_decref(l);
    /* Ids override the rest; unknown ones are left out. */
    l = run(f, "service_request_id=20261125-1-000002,nope,20260817-1-000001&status=closed", now,
            &e);
    assert_int_equal(json_array_size(l), 2);
    assert_string_equal(id_at(l, 1), "20260817-1-000001");
    json_decref(l);
}

static void test_query_errors(void **state)
{
    query_fx_t *f = *state;
    open311_errors_t e;
    static const struct {
        const char *query, *param;
    } bad[] = {
        {"start_date=2026-01-01&end_date=2026-11-01", "end_date: at most 90 days"},
        {"start_date=2026-11-02&end_date=2026-11-01", "end_date: before"},
        {"start_date=yesterday", "start_date"},
        {"status=pending", "status"},
        {"page=0", "page"},
        {"page_size=1001", "page_size"},
        {"page_size=ten", "page_size"},
        {"extensions=yes", "extensions"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null(run(f, bad[i].query, T0, &e));
        assert_int_equal(e.http, 400);
        if (strncmp(e.items[0].description, bad[i].param, strlen(bad[i].param)) != 0)
            fail_msg("%s: \"%s\" does not name %s", bad[i].query, e.items[0].description,
                     bad[i].param);
    }
    /* Several at once. */
    assert_null(run(f, "status=x&page=0&page_size=0", T0, &e));
    assert_int_equal(e.n, 3);
}

static void test_item_privacy_and_fields(void **state)
{
    query_fx_t *f = *state;
    open311_errors_t e;
    json_t *l = run(f, "extensions=true", T0 + 12 * HOUR_MS, &e);
    char *text = json_dumps(l, 0);
    /* Never the caller's name, phone or e-mail, even inside the description. */
    assert_null(strstr(text, "Wang"));
    assert_null(strstr(text, "13812345678"));
    assert_null(strstr(text, "wang@example.cn"));
    free(text);
    json_t *dispatched = json_array_get(l, 6); /* ticket 4 (i 3): W04, dispatched, open */
    assert_string_equal(json_string_value(json_object_get(dispatched, "status")), "open");
    assert_string_equal(json_string_value(json_object_get(dispatched, "agency_responsible")),
                        "water-supply");
    assert_string_equal(json_string_value(json_object_get(dispatched, "expected_datetime")),
                        "2026-11-26T03:00:00+08:00");
    assert_string_equal(json_string_value(json_object_get(dispatched, "requested_datetime")),
                        "2026-11-25T03:00:00+08:00");
    assert_string_equal(json_string_value(json_object_get(dispatched, "service_name")),
                        "Leak or burst pipe");
    assert_non_null(strstr(json_string_value(json_object_get(dispatched, "status_notes")),
                           "Dispatched to water-supply"));
    assert_non_null(
        strstr(json_string_value(json_object_get(dispatched, "status_notes")), "incident INC-1"));
    assert_non_null(
        strstr(json_string_value(json_object_get(dispatched, "status_notes")), "2 more times"));
    assert_true(json_is_real(json_object_get(dispatched, "lat")));
    json_t *ext = json_object_get(dispatched, "extended_attributes");
    assert_string_equal(json_string_value(json_object_get(ext, "channel")), "phone");
    assert_string_equal(json_string_value(json_object_get(ext, "incident_id")), "INC-1");
    assert_int_equal(json_integer_value(json_object_get(ext, "repeat_count")), 2);
    json_t *notes = json_object_get(dispatched, "notes");
    assert_int_equal(json_array_size(notes), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(notes, 1), "type")),
                        "dispatched");
    /* A received ticket has no deadline and no unit yet. */
    json_t *received = json_array_get(l, 9);
    assert_null(json_object_get(received, "expected_datetime"));
    assert_null(json_object_get(received, "agency_responsible"));
    /* Closed, and confidential: no description. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "status")),
                        "closed");
    json_t *confidential = json_array_get(l, 4); /* ticket 6 = i 5 */
    assert_string_equal(json_string_value(json_object_get(confidential, "service_request_id")),
                        "20261125-1-000006");
    assert_null(json_object_get(confidential, "description"));
    assert_non_null(json_object_get(received, "description"));
    json_decref(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_catalogue),
        cmocka_unit_test(test_catalogue_checks),
        cmocka_unit_test_setup_teardown(test_decode_full_request, decode_setup, decode_teardown),
        cmocka_unit_test_setup_teardown(test_decode_minimal_is_anonymous, decode_setup,
                                        decode_teardown),
        cmocka_unit_test_setup_teardown(test_decode_errors, decode_setup, decode_teardown),
        cmocka_unit_test_setup_teardown(test_decode_attributes, decode_setup, decode_teardown),
        cmocka_unit_test(test_param_for_field),
        cmocka_unit_test(test_datetimes),
        cmocka_unit_test(test_quotes_stay_utf8),
        cmocka_unit_test(test_xml_render),
        cmocka_unit_test_setup_teardown(test_query_window_and_order, query_setup, query_teardown),
        cmocka_unit_test_setup_teardown(test_query_errors, query_setup, query_teardown),
        cmocka_unit_test_setup_teardown(test_item_privacy_and_fields, query_setup, query_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
