/* fuzz_form: arbitrary bytes as an Open311 POST body: the form decoder (common/data/form.c), then
 * the request -> hotline.Ticket mapping (services/intake/open311/open311_decode.c) against the
 * embedded water catalogue or, when the first byte is odd, a configured one with every
 * datatype.
 *
 * Beyond "no crash, no leak": a refused form names a printable key and a message; accepted
 * names and values are valid UTF-8 (jansson checks); a refused request lists at most
 * OPEN311_MAX_ERRORS errors, each with a description that is valid UTF-8 (it is sent as JSON
 * and XML) and a code of 400 or 404; an accepted one is a ticket with a known service code,
 * a description, a location and a contact, that packs and unpacks to the same bytes, and
 * renders as JSON.
 *
 * The fuzz targets link every service library, as the unit tests do. */
#include "open311/open311.h"

#include "hl_error.h"

#include <string.h>

#include "pbjson.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CATALOGUE[] =
    "{\"services\": [{\"code\": \"P01\", \"name\": \"Outage\", \"attributes\": ["
    " {\"code\": \"rooms\", \"variable\": true, \"datatype\": \"multivaluelist\","
    "  \"required\": true, \"values\": [{\"key\": \"kitchen\", \"name\": \"Kitchen\"},"
    "  {\"key\": \"bath\", \"name\": \"Bathroom\"}]},"
    " {\"code\": \"floor\", \"variable\": true, \"datatype\": \"number\"},"
    " {\"code\": \"since\", \"variable\": true, \"datatype\": \"datetime\"},"
    " {\"code\": \"note\", \"variable\": true, \"datatype\": \"string\"},"
    " {\"code\": \"more\", \"variable\": true, \"datatype\": \"text\"},"
    " {\"code\": \"info\", \"variable\": false, \"datatype\": \"text\"}]}]}";

static bool utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static void check_form_error(const form_error_t *err, int rc)
{
    if ((rc != HL_EINVAL && rc != HL_ETOOBIG && rc != HL_ENOMEM) || !err->message[0])
        abort();
    for (const char *p = err->key; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            abort();
}

static void check_ticket(const Hotline__Ticket *t, const open311_catalog_t *cat)
{
    if (!open311_catalog_find(cat, t->category_code) || !t->description || !*t->description ||
        !t->contact || !t->location || t->channel != HOTLINE__CHANNEL__CHANNEL_OPEN311)
        abort();
    const Hotline__Location *l = t->location;
    if (!*l->address && !*l->address_id && !l->point)
        abort();
    if (t->contact->anonymous != !*t->contact->phone)
        abort();
    Hotline__SubmitTicket st = HOTLINE__SUBMIT_TICKET__INIT;
    st.ticket = (Hotline__Ticket *)t;
    size_t len = hotline__submit_ticket__get_packed_size(&st);
    uint8_t *buf = malloc(len + 1), *again = malloc(len + 1);
    hotline__submit_ticket__pack(&st, buf);
    Hotline__SubmitTicket *back = hotline__submit_ticket__unpack(NULL, len, buf);
    if (!back || hotline__submit_ticket__get_packed_size(back) != len)
        abort();
    hotline__submit_ticket__pack(back, again);
    if (memcmp(buf, again, len) != 0)
        abort();
    char *json = pbjson_encode_string(&back->base, false);
    if (!json)
        abort();
    free(json);
    hotline__submit_ticket__free_unpacked(back, NULL);
    free(buf);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static open311_catalog_t water, custom;
    static Hotline__Open311Config *custom_cfg;
    static arena_t *arena;
    if (!arena) {
        char err[300];
        ProtobufCMessage *m;
        pbjson_error_t perr;
        if (open311_catalog_load(&water, NULL, err, sizeof err) || arena_create(&arena) ||
            pbjson_decode(&hotline__open311_config__descriptor, CATALOGUE, sizeof CATALOGUE - 1,
                          NULL, &m, &perr))
            abort();
        custom_cfg = (Hotline__Open311Config *)m;
        if (open311_catalog_load(&custom, custom_cfg, err, sizeof err))
            abort();
    }
    const open311_catalog_t *cat = size && (data[0] & 1) ? &custom : &water;

    form_t *form;
    form_error_t ferr;
    int rc = form_parse(&form, (const char *)data, size, NULL, &ferr);
    if (rc) {
        if (form)
            abort();
        check_form_error(&ferr, rc);
        return 0;
    }
    for (size_t i = 0; i < form_count(form); i++) {
        if (!utf8_ok(form_name(form, i)) || !utf8_ok(form_value(form, i)) || !*form_name(form, i))
            abort();
        form_key_t k;
        if (form_key_split(form_name(form, i), &k) == 0 &&
            (k.base_len == 0 || k.base[k.base_len] != (k.sub || k.list ? '[' : '\0')))
            abort();
    }
    arena_reset(arena);
    Hotline__Ticket *t;
    open311_errors_t errs;
    open311_errors_init(&errs);
    rc = open311_decode_request(form, cat, arena, &t, &errs);
    if (rc == 0) {
        if (errs.n)
            abort();
        check_ticket(t, cat);
    } else {
        if (rc != HL_EINVAL || t || errs.n == 0 || errs.n > OPEN311_MAX_ERRORS || errs.http != 400)
            abort();
        for (size_t i = 0; i < errs.n; i++)
            if ((errs.items[i].code != 400 && errs.items[i].code != 404) ||
                !errs.items[i].description[0] || !utf8_ok(errs.items[i].description))
                abort();
    }
    form_destroy(&form);
    return 0;
}
