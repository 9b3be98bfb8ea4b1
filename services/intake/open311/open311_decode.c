/* open311_decode: a POST requests form -> a hotline.Ticket, checked against the standard's
 * rules and the service's definition. Every broken parameter is listed (up to
 * OPEN311_MAX_ERRORS), each error naming it. Intake's own rules (phone format, ...) run
 * afterwards, when the ticket is submitted.
 * Uses only common/ (the fuzz target compiles it alone). */
#include "open311.h"

#include "hl_error.h"
#include "utf8.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ATTR_STRING_MAX 1024
#define ATTR_TEXT_MAX 4000

/* The single-valued parameters of POST requests and their limits in characters. Parameters
 * not listed (and not attribute[...]) are ignored, as clients send extras. */
static const struct {
    const char *name;
    size_t max_chars;
} PARAMS[] = {
    {"api_key", 256},   {"jurisdiction_id", 128}, {"service_code", 16}, {"lat", 32},
    {"long", 32},       {"address_string", 200},  {"address_id", 128},  {"email", 254},
    {"device_id", 128}, {"account_id", 128},      {"first_name", 50},   {"last_name", 49},
    {"phone", 32},      {"description", 4000},    {"media_url", 2048},
};
#define NPARAMS (sizeof PARAMS / sizeof *PARAMS)

enum {
    P_API_KEY,
    P_JURISDICTION,
    P_SERVICE_CODE,
    P_LAT,
    P_LONG,
    P_ADDRESS,
    P_ADDRESS_ID,
    P_EMAIL,
    P_DEVICE_ID,
    P_ACCOUNT_ID,
    P_FIRST_NAME,
    P_LAST_NAME,
    P_PHONE,
    P_DESCRIPTION,
    P_MEDIA_URL
};

/* A decimal number, nothing else (strtod would also take "nan", "inf" and hex). */
static bool parse_number(const char *s, double *out)
{
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p))
            return false;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool email_valid(const char *e)
{
    const char *at = strchr(e, '@');
    if (!at || at == e || strchr(at + 1, '@') || !strchr(at + 1, '.') || at[1] == '.' ||
        e[strlen(e) - 1] == '.')
        return false;
    for (const char *p = e; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == ';')
            return false;
    return true;
}

static bool url_valid(const char *u)
{
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return false;
    const char *host = u + (u[4] == 's' ? 8 : 7);
    if (!*host || *host == '/')
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>')
            return false;
    return true;
}

/* "before, after" for error messages. */
static void list_keys(const Hotline__Open311Attribute *a, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < a->n_values && n + 1 < size; i++) {
        int w = snprintf(out + n, size - n, "%s%s", i ? ", " : "", a->values[i]->key);
        if (w < 0 || (size_t)w >= size - n) {
            snprintf(out + (size > 4 ? size - 4 : 0), size > 4 ? 4 : size, "...");
            return;
        }
        n += (size_t)w;
    }
}

static bool has_key(const Hotline__Open311Attribute *a, const char *v)
{
    for (size_t i = 0; i < a->n_values; i++)
        if (strcmp(a->values[i]->key, v) == 0)
            return true;
    return false;
}

/* The answers collected for one attribute while reading the form. */
typedef struct answer {
    const Hotline__Open311Attribute *attr;
    const char **values;
    size_t n, cap;
    bool broken; /* already reported: do not also report it missing */
} answer_t;

static int add_value(arena_t *arena, answer_t *ans, const char *v)
{
    for (size_t i = 0; i < ans->n; i++)
        if (strcmp(ans->values[i], v) == 0)
            return 0; /* the same choice twice means it once */
    if (ans->n == ans->cap) {
        size_t cap = ans->cap ? ans->cap * 2 : 4;
        const char **nv = arena_alloc(arena, cap * sizeof *nv);
        if (!nv)
            return HL_ENOMEM;
        if (ans->n)
            memcpy(nv, ans->values, ans->n * sizeof *nv);
        ans->values = nv;
        ans->cap = cap;
    }
    ans->values[ans->n++] = v;
    return 0;
}

/* Check one attribute[CODE]=value pair against the definition and collect it. */
static int read_attribute(const Hotline__Open311Service *s, const char *name, const char *value,
                          answer_t *answers, arena_t *arena, open311_errors_t *errs)
{
    form_key_t k;
    char q[72];
    if (form_key_split(name, &k) || !k.sub) {
        open311_error_add(errs, 400, 400,
                          "%s: not an attribute key: write "
                          "attribute[CODE]=value, or attribute[CODE][]=value for each choice "
                          "of a multivaluelist",
                          open311_quote(q, sizeof q, name));
        return 0;
    }
    const Hotline__Open311Attribute *a = open311_service_attr(s, k.sub, k.sub_len);
    if (!a) {
        char code[72];
        snprintf(code, sizeof code, "%.*s", (int)(k.sub_len > 64 ? 64 : k.sub_len), k.sub);
        open311_error_add(errs, 400, 400,
                          "attribute[%s]: service %s has no such attribute "
                          "(see services/%s.json)",
                          open311_quote(q, sizeof q, code), s->code, s->code);
        return 0;
    }
    answer_t *ans = NULL;
    for (size_t i = 0; !ans && i < s->n_attributes; i++)
        if (s->attributes[i] == a)
            ans = &answers[i];
    ans->attr = a;
    if (ans->broken)
        return 0;
    if (!a->variable) {
        ans->broken = true;
        open311_error_add(errs, 400, 400,
                          "attribute[%s]: informational only (variable false): "
                          "leave it out",
                          a->code);
        return 0;
    }
    if (!*value)
        return 0; /* an empty optional parameter means absent */
    bool multi = strcmp(a->datatype, "multivaluelist") == 0;
    if (!multi && (k.list || ans->n > 0)) {
        ans->broken = true;
        open311_error_add(errs, 400, 400,
                          "attribute[%s]: a %s takes one value: send "
                          "attribute[%s]=value once",
                          a->code, a->datatype, a->code);
        return 0;
    }
    char keys[256];
    double num;
    int64_t when;
    if (multi || strcmp(a->datatype, "singlevaluelist") == 0) {
        if (!has_key(a, value)) {
            ans->broken = true;
            list_keys(a, keys, sizeof keys);
            open311_error_add(errs, 400, 400,
                              "attribute[%s]: \"%s\" is not one of its "
                              "keys: %s",
                              a->code, open311_quote(q, 52, value), keys);
            return 0;
        }
    } else if (strcmp(a->datatype, "number") == 0) {
        if (!parse_number(value, &num)) {
            ans->broken = true;
            open311_error_add(errs, 400, 400, "attribute[%s]: \"%s\" is not a number", a->code,
                              open311_quote(q, 52, value));
            return 0;
        }
    } else if (strcmp(a->datatype, "datetime") == 0) {
        if (open311_time_parse(value, 0, &when)) {
            ans->broken = true;
            open311_error_add(errs, 400, 400,
                              "attribute[%s]: \"%s\" is not an ISO 8601 "
                              "datetime like 2026-11-25T08:00:00+08:00",
                              a->code, open311_quote(q, 52, value));
            return 0;
        }
    } else {
        size_t max = strcmp(a->datatype, "text") == 0 ? ATTR_TEXT_MAX : ATTR_STRING_MAX;
        if (utf8_chars(value) > (long)max) {
            ans->broken = true;
            open311_error_add(errs, 400, 400, "attribute[%s]: longer than %zu characters", a->code,
                              max);
            return 0;
        }
    }
    return add_value(arena, ans, value);
}

static char *join_name(arena_t *arena, const char *first, const char *last)
{
    if (first && last)
        return arena_printf(arena, "%s %s", first, last);
    return arena_strdup(arena, first ? first : last ? last : "");
}

int open311_decode_request(const form_t *form, const open311_catalog_t *cat, arena_t *arena,
                           Hotline__Ticket **out, open311_errors_t *errs)
{
    *out = NULL;
    size_t errors_before = errs->n;
    char q[72];
    const char *p[NPARAMS];
    for (size_t i = 0; i < NPARAMS; i++) {
        size_t n = form_count_of(form, PARAMS[i].name);
        p[i] = form_get(form, PARAMS[i].name);
        if (p[i] && !*p[i])
            p[i] = NULL; /* an empty optional parameter means absent */
        if (n > 1) {
            open311_error_add(errs, 400, 400, "%s: given %zu times: send it once", PARAMS[i].name,
                              n);
            p[i] = NULL;
        } else if (p[i] && utf8_chars(p[i]) > (long)PARAMS[i].max_chars) {
            open311_error_add(errs, 400, 400, "%s: longer than %zu characters", PARAMS[i].name,
                              PARAMS[i].max_chars);
            p[i] = NULL;
        }
    }

    const Hotline__Open311Service *s = NULL;
    if (!p[P_SERVICE_CODE] && form_count_of(form, "service_code") <= 1)
        open311_error_add(errs, 400, 400,
                          "service_code: required: one of the codes GET "
                          "services.json lists");
    else if (p[P_SERVICE_CODE] && !(s = open311_catalog_find(cat, p[P_SERVICE_CODE])))
        open311_error_add(errs, 400, OPEN311_CODE_UNKNOWN_SERVICE,
                          "service_code: \"%s\" is "
                          "not a service offered here: see GET services.json",
                          open311_quote(q, 36, p[P_SERVICE_CODE]));

    double lat = 0, lon = 0;
    bool has_point = false;
    if (p[P_LAT] || p[P_LONG]) {
        if (!p[P_LAT] || !p[P_LONG]) {
            open311_error_add(errs, 400, 400, "%s: give lat and long together",
                              p[P_LAT] ? "long" : "lat");
        } else if (!parse_number(p[P_LAT], &lat) || fabs(lat) > 90) {
            open311_error_add(errs, 400, 400,
                              "lat: \"%s\" is not a latitude: WGS84 "
                              "degrees from -90 to 90",
                              open311_quote(q, 36, p[P_LAT]));
        } else if (!parse_number(p[P_LONG], &lon) || fabs(lon) > 180) {
            open311_error_add(errs, 400, 400,
                              "long: \"%s\" is not a longitude: WGS84 "
                              "degrees from -180 to 180",
                              open311_quote(q, 36, p[P_LONG]));
        } else {
            has_point = true;
        }
    } else if (!p[P_ADDRESS] && !p[P_ADDRESS_ID] && form_count_of(form, "address_string") <= 1 &&
               form_count_of(form, "address_id") <= 1) {
        open311_error_add(errs, 400, 400,
                          "lat, long, address_string, address_id: a location is "
                          "required: lat and long, or address_string, or address_id");
    }
    if (p[P_EMAIL] && !email_valid(p[P_EMAIL]))
        open311_error_add(errs, 400, 400, "email: \"%s\" is not an e-mail address",
                          open311_quote(q, 68, p[P_EMAIL]));
    if (p[P_MEDIA_URL] && !url_valid(p[P_MEDIA_URL]))
        open311_error_add(errs, 400, 400, "media_url: must be an http:// or https:// URL");

    /* Attributes: only when the service is known, since they are checked against it. */
    answer_t *answers = NULL;
    if (s && s->n_attributes) {
        answers = arena_calloc(arena, s->n_attributes * sizeof *answers);
        if (!answers)
            return HL_ENOMEM;
    }
    for (size_t i = 0; i < form_count(form); i++) {
        const char *name = form_name(form, i);
        if (strncmp(name, "attribute", 9) != 0 || (name[9] != '[' && name[9] != '\0'))
            continue;
        if (!s)
            continue; /* service_code is reported above; without it nothing to check against */
        if (!answers) {
            open311_error_add(errs, 400, 400, "%s: service %s has no attributes",
                              open311_quote(q, 68, name), s->code);
            break;
        }
        int rc = read_attribute(s, name, form_value(form, i), answers, arena, errs);
        if (rc)
            return rc;
    }
    for (size_t i = 0; answers && i < s->n_attributes; i++) {
        const Hotline__Open311Attribute *a = s->attributes[i];
        if (a->required && answers[i].n == 0 && !answers[i].broken) {
            char keys[256] = "";
            if (a->n_values)
                list_keys(a, keys, sizeof keys);
            open311_error_add(errs, 400, 400, "attribute[%s]: required for service %s (%s)%s%s",
                              a->code, s->code, s->name, *keys ? ": one of " : "", keys);
        }
    }
    if (errs->n > errors_before)
        return HL_EINVAL;

    /* All checked: build the ticket in the arena. */
    Hotline__Ticket *t = arena_calloc(arena, sizeof *t);
    Hotline__Contact *c = arena_calloc(arena, sizeof *c);
    Hotline__Location *l = arena_calloc(arena, sizeof *l);
    if (!t || !c || !l)
        return HL_ENOMEM;
    hotline__ticket__init(t);
    hotline__contact__init(c);
    hotline__location__init(l);
    t->channel = HOTLINE__CHANNEL__CHANNEL_OPEN311;
    t->category_code = (char *)s->code;
    /* Intake wants words for the unit; a client may send none. */
    t->description = p[P_DESCRIPTION] ? (char *)p[P_DESCRIPTION]
                                      : arena_printf(arena,
                                                     "%s (reported through Open311 with no "
                                                     "description)",
                                                     s->name);
    c->name = join_name(arena, p[P_FIRST_NAME], p[P_LAST_NAME]);
    if (p[P_PHONE])
        c->phone = (char *)p[P_PHONE];
    else
        c->anonymous = true; /* no number to call back: an anonymous report */
    if (p[P_EMAIL])
        c->email = (char *)p[P_EMAIL];
    t->contact = c;
    if (p[P_ADDRESS])
        l->address = (char *)p[P_ADDRESS];
    if (p[P_ADDRESS_ID])
        l->address_id = (char *)p[P_ADDRESS_ID];
    if (has_point) {
        Hotline__GeoPoint *g = arena_calloc(arena, sizeof *g);
        if (!g)
            return HL_ENOMEM;
        hotline__geo_point__init(g);
        g->lat = lat;
        g->long_ = lon;
        l->point = g;
    }
    t->location = l;
    if (p[P_MEDIA_URL]) {
        t->media_urls = arena_alloc(arena, sizeof *t->media_urls);
        if (!t->media_urls)
            return HL_ENOMEM;
        t->media_urls[0] = (char *)p[P_MEDIA_URL];
        t->n_media_urls = 1;
    }
    if (p[P_ACCOUNT_ID])
        t->account_id = (char *)p[P_ACCOUNT_ID];
    if (p[P_DEVICE_ID])
        t->device_id = (char *)p[P_DEVICE_ID];
    size_t nans = 0;
    for (size_t i = 0; answers && i < s->n_attributes; i++)
        nans += answers[i].n > 0;
    if (nans) {
        t->attributes = arena_alloc(arena, nans * sizeof *t->attributes);
        if (!t->attributes)
            return HL_ENOMEM;
        for (size_t i = 0; i < s->n_attributes; i++) {
            if (!answers[i].n)
                continue;
            Hotline__TicketAttribute *ta = arena_calloc(arena, sizeof *ta);
            if (!ta)
                return HL_ENOMEM;
            hotline__ticket_attribute__init(ta);
            ta->code = s->attributes[i]->code;
            ta->values = (char **)answers[i].values;
            ta->n_values = answers[i].n;
            t->attributes[t->n_attributes++] = ta;
        }
    }
    *out = t;
    return 0;
}

const char *open311_param_for_field(const char *field)
{
    static const struct {
        const char *prefix, *param;
    } map[] = {
        {"ticket.description", "description"},
        {"ticket.contact.phone", "phone"},
        {"ticket.contact.email", "email"},
        {"ticket.contact.name", "first_name"},
        {"ticket.contact", "phone"},
        {"ticket.location.point", "lat"},
        {"ticket.location.addressId", "address_id"},
        {"ticket.location.address", "address_string"},
        {"ticket.location", "address_string"},
        {"ticket.mediaUrls", "media_url"},
        {"ticket.categoryCode", "service_code"},
        {"ticket.attributes", "attribute"},
        {"ticket.accountId", "account_id"},
        {"ticket.deviceId", "device_id"},
    };
    if (!field)
        return "";
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strncmp(field, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].param;
    return field;
}
