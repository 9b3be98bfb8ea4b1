/* open311_catalog: the services offered through Open311, from IntakeConfig.open311.services,
 * or, when that list is empty, the embedded defaults below: the demo water utility's
 * categories (docs/domain.md), so a fresh install answers GET services with something real.
 * Uses only common/ (the fuzz target compiles it alone). */
#include "open311.h"

#include "category.h"

#include "hl_error.h"
#include "pbjson.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fallback when open311.services is empty: a hotline.Open311Config in proto3 JSON.
 * W01 asks what kind of outage it is (optional); W04 asks which side of the meter leaks
 * (required: before the meter it is the utility's crew, after it the owner's plumber). */
static const char DEFAULT_SERVICES[] =
    "{\"services\": ["
    "{\"code\": \"W01\", \"name\": \"No water\", \"group\": \"water\","
    " \"description\": \"No water at the tap: a planned stoppage, a sudden outage, only your "
    "building, or a supply cut for unpaid bills.\","
    " \"keywords\": [\"no water\", \"outage\", \"stoppage\", \"supply\"],"
    " \"attributes\": [{\"code\": \"cause\", \"variable\": true, \"datatype\": "
    "\"singlevaluelist\", \"required\": false, \"order\": 1,"
    "  \"description\": \"What do you know about the outage?\","
    "  \"datatypeDescription\": \"Pick the closest; leave it out if you do not know.\","
    "  \"values\": [{\"key\": \"planned\", \"name\": \"Planned stoppage (announced works)\"},"
    "   {\"key\": \"sudden\", \"name\": \"Sudden outage\"},"
    "   {\"key\": \"building\", \"name\": \"Only my building (its own pumps or tanks)\"},"
    "   {\"key\": \"arrears\", \"name\": \"Supply cut for unpaid bills\"}]}]},"
    "{\"code\": \"W02\", \"name\": \"Water pressure\", \"group\": \"water\","
    " \"description\": \"Water pressure too low (or too high) at the tap.\","
    " \"keywords\": [\"pressure\", \"low pressure\", \"weak flow\"]},"
    "{\"code\": \"W03\", \"name\": \"Water quality\", \"group\": \"water\","
    " \"description\": \"Discoloured, cloudy, smelly or bad-tasting water. Suspected "
    "contamination is handled as very urgent.\","
    " \"keywords\": [\"quality\", \"discoloured\", \"smell\", \"taste\", \"contamination\"]},"
    "{\"code\": \"W04\", \"name\": \"Leak or burst pipe\", \"group\": \"water\","
    " \"description\": \"A leaking or burst water pipe. Before the meter the utility repairs "
    "it; after the meter it is the owner's pipe.\","
    " \"keywords\": [\"leak\", \"burst\", \"pipe\", \"flooding\"],"
    " \"attributes\": [{\"code\": \"side_of_meter\", \"variable\": true, \"datatype\": "
    "\"singlevaluelist\", \"required\": true, \"order\": 1,"
    "  \"description\": \"Which side of the water meter is the leak on?\","
    "  \"datatypeDescription\": \"Before: between the street and the meter. After: inside "
    "the property.\","
    "  \"values\": [{\"key\": \"before\", \"name\": \"Before the meter (the utility's "
    "pipe)\"},"
    "   {\"key\": \"after\", \"name\": \"After the meter (the owner's pipe)\"}]}]},"
    "{\"code\": \"W0402\", \"name\": \"Street main burst\", \"group\": \"water\","
    " \"description\": \"A burst water main in the street: water gushing from the road or "
    "pavement. Very urgent.\","
    " \"keywords\": [\"main burst\", \"water main\", \"street\", \"gushing\"]},"
    "{\"code\": \"W05\", \"name\": \"Water meter\", \"group\": \"water\","
    " \"description\": \"A broken, stopped, frozen or misreading water meter.\","
    " \"keywords\": [\"meter\", \"reading\", \"frozen meter\"]},"
    "{\"code\": \"W06\", \"name\": \"Water bill\", \"group\": \"water\","
    " \"description\": \"Questions or complaints about a water bill or a payment.\","
    " \"keywords\": [\"bill\", \"billing\", \"payment\", \"charge\"]},"
    "{\"code\": \"W07\", \"name\": \"Connection or works\", \"group\": \"water\","
    " \"description\": \"New water connections, moving a connection, and the utility's "
    "works in the street.\","
    " \"keywords\": [\"connection\", \"works\", \"roadworks\", \"new supply\"]},"
    "{\"code\": \"W08\", \"name\": \"Service complaint\", \"group\": \"water\","
    " \"description\": \"A complaint about the water utility's service or staff.\","
    " \"keywords\": [\"complaint\", \"service\", \"staff\"]},"
    "{\"code\": \"W09\", \"name\": \"Drainage\", \"group\": \"water\","
    " \"description\": \"Blocked drains, sewage overflowing, water standing after rain.\","
    " \"keywords\": [\"drain\", \"drainage\", \"sewage\", \"blocked\"]}"
    "]}";


static bool attr_code_valid(const char *c)
{
    /* It travels in a form key, attribute[CODE]: no brackets, no separators. */
    size_t n = strlen(c);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)c[i]) && c[i] != '_' && c[i] != '-' && c[i] != '.')
            return false;
    return true;
}

static bool is_list(const char *datatype)
{
    return strcmp(datatype, "singlevaluelist") == 0 || strcmp(datatype, "multivaluelist") == 0;
}

static int check(const open311_catalog_t *self, char *err, size_t err_size)
{
    static const char *const types[] = {"string", "number",          "datetime",
                                        "text",   "singlevaluelist", "multivaluelist"};
    for (size_t i = 0; i < self->n; i++) {
        const Hotline__Open311Service *s = self->services[i];
        if (!category_code_valid(s->code)) {
            snprintf(err, err_size,
                     "open311.services[%zu].code: \"%.32s\" is not a category "
                     "code (an upper-case letter and 2 to 6 digits, e.g. W01)",
                     i, s->code);
            return HL_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(self->services[j]->code, s->code) == 0) {
                snprintf(err, err_size, "open311.services[%zu].code: %s is listed twice", i,
                         s->code);
                return HL_EINVAL;
            }
        if (!*s->name) {
            snprintf(err, err_size, "open311.services[%zu].name: required (%s)", i, s->code);
            return HL_EINVAL;
        }
        for (size_t k = 0; k < s->n_attributes; k++) {
            const Hotline__Open311Attribute *a = s->attributes[k];
            char key[96];
            snprintf(key, sizeof key, "open311.services[%zu].attributes[%zu]", i, k);
            if (!attr_code_valid(a->code)) {
                snprintf(err, err_size,
                         "%s.code: \"%.32s\" must be 1 to 64 letters, digits, "
                         "'_', '-' or '.'",
                         key, a->code);
                return HL_EINVAL;
            }
            if (open311_service_attr(s, a->code, strlen(a->code)) != a) {
                snprintf(err, err_size, "%s.code: %s is listed twice for %s", key, a->code,
                         s->code);
                return HL_EINVAL;
            }
            bool known = false;
            for (size_t t = 0; t < sizeof types / sizeof *types; t++)
                known = known || strcmp(a->datatype, types[t]) == 0;
            if (!known) {
                snprintf(err, err_size,
                         "%s.datatype: \"%.32s\" is not one of string, number, "
                         "datetime, text, singlevaluelist, multivaluelist",
                         key, a->datatype);
                return HL_EINVAL;
            }
            if (is_list(a->datatype) && a->n_values == 0) {
                snprintf(err, err_size, "%s.values: a %s needs at least one {key, name}", key,
                         a->datatype);
                return HL_EINVAL;
            }
            for (size_t v = 0; v < a->n_values; v++)
                if (!*a->values[v]->key) {
                    snprintf(err, err_size, "%s.values[%zu].key: required", key, v);
                    return HL_EINVAL;
                }
            if (a->required && !a->variable) {
                snprintf(err, err_size,
                         "%s.required: a required attribute must be variable "
                         "(answered by the client)",
                         key);
                return HL_EINVAL;
            }
        }
    }
    return 0;
}

int open311_catalog_load(open311_catalog_t *self, const Hotline__Open311Config *cfg, char *err,
                         size_t err_size)
{
    memset(self, 0, sizeof *self);
    if (cfg && cfg->n_services) {
        self->services = cfg->services;
        self->n = cfg->n_services;
    } else {
        ProtobufCMessage *m;
        pbjson_error_t perr;
        int rc = pbjson_decode(&hotline__open311_config__descriptor, DEFAULT_SERVICES,
                               sizeof DEFAULT_SERVICES - 1, NULL, &m, &perr);
        if (rc) {
            snprintf(err, err_size, "embedded Open311 services: %s: %s", perr.field, perr.message);
            return rc;
        }
        self->owned = (Hotline__Open311Config *)m;
        self->services = self->owned->services;
        self->n = self->owned->n_services;
    }
    int rc = check(self, err, err_size);
    if (rc)
        open311_catalog_fini(self);
    return rc;
}

void open311_catalog_fini(open311_catalog_t *self)
{
    if (self->owned)
        hotline__open311_config__free_unpacked(self->owned, NULL);
    memset(self, 0, sizeof *self);
}

const Hotline__Open311Service *open311_catalog_find(const open311_catalog_t *self, const char *code)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->services[i]->code, code) == 0)
            return self->services[i];
    return NULL;
}

const Hotline__Open311Attribute *open311_service_attr(const Hotline__Open311Service *s,
                                                      const char *code, size_t code_len)
{
    for (size_t i = 0; i < s->n_attributes; i++)
        if (strlen(s->attributes[i]->code) == code_len &&
            memcmp(s->attributes[i]->code, code, code_len) == 0)
            return s->attributes[i];
    return NULL;
}

json_t *open311_services_json(const open311_catalog_t *self)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < self->n; i++) {
        const Hotline__Open311Service *s = self->services[i];
        /* keywords: one comma-separated string, as the standard's examples have it. */
        size_t need = 1;
        for (size_t k = 0; k < s->n_keywords; k++)
            need += strlen(s->keywords[k]) + 2;
        char *kw = calloc(1, need);
        for (size_t k = 0; kw && k < s->n_keywords; k++) {
            if (k)
                strcat(kw, ", ");
            strcat(kw, s->keywords[k]);
        }
        json_t *item = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "service_code", s->code,
                                 "service_name", s->name, "description", s->description, "metadata",
                                 s->n_attributes > 0, "type", "realtime", "keywords", kw ? kw : "",
                                 "group", s->group);
        free(kw);
        if (!item || json_array_append_new(list, item)) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

json_t *open311_definition_json(const Hotline__Open311Service *s)
{
    json_t *attrs = json_array();
    for (size_t i = 0; attrs && i < s->n_attributes; i++) {
        const Hotline__Open311Attribute *a = s->attributes[i];
        json_t *values = json_array();
        for (size_t v = 0; values && v < a->n_values; v++)
            json_array_append_new(values, json_pack("{s:s, s:s}", "key", a->values[v]->key, "name",
                                                    a->values[v]->name));
        json_t *item = json_pack("{s:b, s:s, s:s, s:b, s:s, s:I, s:s, s:o}", "variable",
                                 a->variable, "code", a->code, "datatype", a->datatype, "required",
                                 a->required, "datatype_description", a->datatype_description,
                                 "order", (json_int_t)(a->order ? a->order : i + 1), "description",
                                 a->description, "values", values ? values : json_array());
        if (!item || json_array_append_new(attrs, item)) {
            json_decref(attrs);
            return NULL;
        }
    }
    if (!attrs)
        return NULL;
    return json_pack("{s:s, s:o}", "service_code", s->code, "attributes", attrs);
}
