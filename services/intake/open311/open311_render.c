/* open311_render: every Open311 answer is built once as a JSON value and written either as
 * JSON or, through xmlw, as the standard's XML: an object becomes an element per member, an
 * array a container whose items take the singular name (<services><service>...), null is
 * left out, booleans read true / false. So the two formats always carry the same data.
 * Request items also go out as CSV rows in the GeoReport bulk columns (intake's export,
 * intake_export.c), through csvw, each value written as the XML writes it. */
#include "open311.h"

#include "intake_export.h"

#include "csvw.h"
#include "hl_error.h"
#include "xmlw.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REAL_DIGITS 10 /* coordinates to ~1 cm; no 0.10000000000000001 */

static const char *item_name(const char *container)
{
    static const struct {
        const char *list, *item;
    } names[] = {
        {"services", "service"},
        {"attributes", "attribute"},
        {"values", "value"},
        {"endpoints", "endpoint"},
        {"formats", "format"},
        {"notes", "note"},
        {"service_requests", "request"},
        {"errors", "error"},
        {"service_request_updates", "request_update"},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(names[i].list, container) == 0)
            return names[i].item;
    return "item";
}

/* A scalar as text, as both the XML and the CSV renderings write it: a string as it is, an
 * integer, a real to REAL_DIGITS, true / false; NULL for null, absent, objects and arrays. */
static const char *scalar_text(const json_t *v, char *buf, size_t size)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING: return json_string_value(v);
    case JSON_INTEGER: snprintf(buf, size, "%lld", (long long)json_integer_value(v)); return buf;
    case JSON_REAL: snprintf(buf, size, "%.*g", REAL_DIGITS, json_real_value(v)); return buf;
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return NULL;
    }
}

static void xml_value(xmlw_t *w, const char *name, const char *item, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        xmlw_open(w, name);
        const char *key;
        const json_t *member;
        json_object_foreach((json_t *)v, key, member) xml_value(w, key, NULL, member);
        xmlw_close(w);
        break;
    }
    case JSON_ARRAY: {
        xmlw_open(w, name);
        size_t i;
        const json_t *elem;
        const char *child = item ? item : item_name(name);
        json_array_foreach(v, i, elem) xml_value(w, child, NULL, elem);
        xmlw_close(w);
        break;
    }
    default: {
        char buf[32];
        const char *text = scalar_text(v, buf, sizeof buf);
        if (text) /* null is left out */
            xmlw_element(w, name, text);
        break;
    }
    }
}

int open311_xml_render(const json_t *doc, const char *root, const char *item, char **out,
                       size_t *len)
{
    xmlw_t *w;
    int rc = xmlw_new(&w);
    if (rc)
        return rc;
    xml_value(w, root, item, doc);
    rc = xmlw_finish(w, out, len);
    xmlw_destroy(&w);
    return rc;
}

void open311_respond(httpd_req_t *req, open311_fmt_t fmt, int http_status, json_t *doc,
                     const char *root, const char *item)
{
    if (!doc) {
        httpd_respond(req, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    const char *type;
    if (fmt == OPEN311_XML) {
        type = "text/xml; charset=utf-8";
        if (open311_xml_render(doc, root, item, &text, &len))
            text = NULL;
    } else {
        type = "application/json; charset=utf-8";
        text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(REAL_DIGITS));
        if (text) {
            len = strlen(text);
            char *nl = realloc(text, len + 2); /* a newline keeps curl output readable */
            if (nl) {
                text = nl;
                text[len++] = '\n';
                text[len] = '\0';
            }
        }
    }
    json_decref(doc);
    if (!text) {
        httpd_respond(req, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
        return;
    }
    httpd_respond(req, http_status, type, text, len);
    free(text);
}

void open311_respond_errors(httpd_req_t *req, open311_fmt_t fmt, const open311_errors_t *e)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < e->n; i++)
        json_array_append_new(list, json_pack("{s:i, s:s}", "code", e->items[i].code, "description",
                                              e->items[i].description));
    open311_respond(req, fmt, e->http ? e->http : 400, list, "errors", "error");
}

void open311_fail(httpd_req_t *req, open311_fmt_t fmt, int http_status, int code, const char *desc,
                  ...)
{
    open311_errors_t e;
    open311_errors_init(&e);
    va_list ap;
    va_start(ap, desc);
    open311_error_addv(&e, http_status, code, desc, ap);
    va_end(ap);
    open311_respond_errors(req, fmt, &e);
}

/* ---- CSV rows for the export ---- */

/* The GeoReport bulk columns: a request item's members, in the standard's order. */
static const char *const CSV_COLUMNS[] = {
    "service_request_id", "status",           "status_notes",       "service_name",
    "service_code",       "description",      "agency_responsible", "service_notice",
    "requested_datetime", "updated_datetime", "expected_datetime",  "address",
    "address_id",         "zipcode",          "lat",                "long",
    "media_url",
};
#define NCOLUMNS (sizeof CSV_COLUMNS / sizeof *CSV_COLUMNS)

int intake_open311_csv_header(csvw_t *w)
{
    for (size_t i = 0; i < NCOLUMNS; i++)
        csvw_field(w, CSV_COLUMNS[i]);
    return csvw_end(w);
}

int intake_open311_csv_row(const intake_t *intake, const Hotline__TicketView *v, csvw_t *w)
{
    json_t *item = open311_request_item(intake->open311, v, false);
    if (!item)
        return HL_ENOMEM;
    char buf[32];
    for (size_t i = 0; i < NCOLUMNS; i++) /* absent: an empty field */
        csvw_field(w, scalar_text(json_object_get(item, CSV_COLUMNS[i]), buf, sizeof buf));
    json_decref(item);
    return csvw_end(w);
}
