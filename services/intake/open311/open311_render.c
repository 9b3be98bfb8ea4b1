/* open311_render: every Open311 answer is built once as a JSON value and written either as
 * JSON or, through xmlw, as the standard's XML: an object becomes an element per member, an
 * array a container whose items take the singular name (<services><service>...), null is
 * left out, booleans read true / false. So the two formats always carry the same data. */
#include "open311.h"

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
    case JSON_STRING: xmlw_element(w, name, json_string_value(v)); break;
    case JSON_INTEGER: xmlw_elementf(w, name, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: xmlw_elementf(w, name, "%.*g", REAL_DIGITS, json_real_value(v)); break;
    case JSON_TRUE: xmlw_element(w, name, "true"); break;
    case JSON_FALSE: xmlw_element(w, name, "false"); break;
    case JSON_NULL: break;
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
