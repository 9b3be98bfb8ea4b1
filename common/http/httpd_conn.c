/* httpd_conn: HTTP/1.1 on one connection, independent of the socket (loop thread only).
 *
 * http_parser feeds the callbacks below; a complete request joins the connection's queue and
 * goes to its handler (or gets 404/405 at once). Answers are serialised when given and written
 * strictly from the head of the queue, so a pipelined request answered early waits for the
 * ones before it. The parser is paused after every request, which gives httpd_conn_parse() a
 * point between requests to stop at (backpressure, errors, "Connection: close").
 *
 * The socket side (writes, timers, closing) is in httpd.c; see httpd_internal.h. */
#include "httpd_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* http_parser_parse_url keeps offsets in uint16_t. */
#define URL_MAX 65535u

static int on_message_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t len);
static int on_header_field(http_parser *p, const char *at, size_t len);
static int on_header_value(http_parser *p, const char *at, size_t len);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t len);
static int on_message_complete(http_parser *p);

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

void httpd_conn_proto_init(httpd_conn_t *c)
{
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
}

/* ---- requests and the queue ---- */

static httpd_req_t *req_new(httpd_conn_t *c)
{
    httpd_req_t *req = calloc(1, sizeof *req);
    if (req) {
        req->conn = c;
        req->state = REQ_READING;
        req->method = "GET";
    }
    return req;
}

/* Take the request's body out of the connection's backpressure count. */
static void req_uncount(httpd_req_t *req)
{
    req->conn->qbytes -= req->qbytes;
    req->qbytes = 0;
}

/* Free what only the handler needs (the request's text), keeping the queue entry. */
static void req_release_input(httpd_req_t *req)
{
    req_uncount(req);
    httpd_buf_free(&req->url);
    httpd_buf_free(&req->hdrs);
    httpd_buf_free(&req->body);
    free(req->path);
    free(req->query);
    req->path = req->query = NULL;
    req->nhdrs = 0;
}

void httpd_req_free(httpd_req_t *req)
{
    if (!req)
        return;
    if (req->user_free)
        req->user_free(req->user);
    req_release_input(req);
    httpd_buf_free(&req->resp_hdrs);
    httpd_buf_free(&req->out);
    free(req);
}

static void queue_push(httpd_conn_t *c, httpd_req_t *req)
{
    req->prev = c->qtail;
    req->next = NULL;
    if (c->qtail)
        c->qtail->next = req;
    else
        c->qhead = req;
    c->qtail = req;
    c->qlen++;
    req->qbytes = req->body.len;
    c->qbytes += req->qbytes;
}

static void queue_remove(httpd_conn_t *c, httpd_req_t *req)
{
    if (req->prev)
        req->prev->next = req->next;
    else
        c->qhead = req->next;
    if (req->next)
        req->next->prev = req->prev;
    else
        c->qtail = req->prev;
    req->prev = req->next = NULL;
    c->qlen--;
    req_uncount(req);
}

void httpd_conn_drop_cur(httpd_conn_t *c)
{
    httpd_req_free(c->cur);
    c->cur = NULL;
}

/* Free the queued requests already answered; those still at their handlers stay queued
 * (httpd_respond frees them). */
static void drop_answered_queue(httpd_conn_t *c)
{
    httpd_req_t *req = c->qhead;
    while (req) {
        httpd_req_t *next = req->next;
        if (req->state == REQ_ANSWERED) {
            queue_remove(c, req);
            httpd_req_free(req);
        }
        req = next;
    }
}

void httpd_conn_drop_answered(httpd_conn_t *c)
{
    httpd_conn_drop_cur(c);
    drop_answered_queue(c);
}

bool httpd_conn_throttled(httpd_conn_t *c)
{
    unsigned n = c->qlen + c->writes_inflight;
    size_t max_bytes = c->server->opts.max_body_bytes;
    if (c->throttled) {
        if (n <= HTTPD_PIPELINE_MAX / 2 && c->qbytes <= max_bytes / 2)
            c->throttled = false;
    } else if (n >= HTTPD_PIPELINE_MAX || c->qbytes > max_bytes) {
        c->throttled = true;
    }
    return c->throttled;
}

/* ---- answers ---- */

/* Tell the observer about this answer (metrics); status is the one that goes out. */
static void req_observe(const httpd_req_t *req, int status)
{
    const httpd_t *s = req->conn->server;
    if (!s->answer_fn)
        return;
    double seconds = req->arrived_ns ? (double)(uv_hrtime() - req->arrived_ns) / 1e9 : 0;
    s->answer_fn(s->answer_ctx, req->method, req->route, status, seconds);
}

static void serialise(httpd_req_t *req, int status, const char *content_type, const char *body,
                      size_t len)
{
    httpd_buf_t *o = &req->out;
    bool no_body = status == 204 || status == 304;
    char date[40];
    httpd_date(req->conn->server, date, sizeof date);
    int rc = httpd_buf_printf(o, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
                              httpd_status_reason(status), date);
    if (rc == 0 && content_type && !strpbrk(content_type, "\r\n"))
        rc = httpd_buf_printf(o, "Content-Type: %s\r\n", content_type);
    if (rc == 0 && !no_body)
        rc = httpd_buf_printf(o, "Content-Length: %zu\r\n", len);
    if (rc == 0 && req->resp_hdrs.len)
        rc = httpd_buf_append(o, req->resp_hdrs.data, req->resp_hdrs.len);
    if (rc == 0 && req->close_after)
        rc = httpd_buf_append(o, "Connection: close\r\n", 19);
    else if (rc == 0 && req->keep_alive_header)
        rc = httpd_buf_append(o, "Connection: keep-alive\r\n", 24);
    if (rc == 0)
        rc = httpd_buf_append(o, "\r\n", 2);
    if (rc == 0 && !no_body && !req->is_head && len)
        rc = httpd_buf_append(o, body, len);
    if (rc != 0) {
        /* Out of memory: nothing sensible can be sent; end the connection instead. */
        SLOG_ERROR("http_answer_failed", "peer=%s status=%d rc=%d next=closing_connection",
                   req->conn->peer, status, rc);
        httpd_buf_free(o);
        req->close_after = true;
    }
}

/* Serialise the answer, mark it ready and write what is ready. */
static void req_answer(httpd_req_t *req, int status, const char *content_type, const char *body,
                       size_t len)
{
    serialise(req, status, content_type, body, len); /* body may point into req */
    req_release_input(req);
    httpd_buf_free(&req->resp_hdrs);
    req->state = REQ_ANSWERED;
    httpd_conn_flush(req->conn);
}

static void req_answer_error(httpd_req_t *req, int status, const char *message)
{
    req_observe(req, status);
    httpd_buf_t body = {0};
    if (httpd_error_json(&body, status, message) != 0)
        httpd_buf_free(&body);
    req_answer(req, status, "application/json", body.data ? body.data : "", body.len);
    httpd_buf_free(&body);
}

void httpd_conn_flush(httpd_conn_t *c)
{
    while (!c->closing && !c->write_done && c->qhead && c->qhead->state == REQ_ANSWERED) {
        httpd_req_t *req = c->qhead;
        queue_remove(c, req);
        bool close_after = req->close_after;
        if (req->out.len)
            httpd_conn_write(c, &req->out);
        httpd_req_free(req);
        if (close_after) {
            c->write_done = true;
            c->read_closed = true;
        }
    }
    if (c->closing)
        return;
    if (c->write_done) {
        drop_answered_queue(c); /* nothing more goes out */
        return;
    }
    /* "100 Continue" only once every earlier answer is out, to keep the order on the wire. */
    httpd_req_t *cur = c->cur;
    if (!c->qhead && cur && cur->expect_continue && !cur->continue_sent && !c->read_closed) {
        cur->continue_sent = true;
        httpd_buf_t msg = {0};
        if (httpd_buf_append(&msg, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0)
            httpd_conn_write(c, &msg);
        httpd_buf_free(&msg);
    }
}

void httpd_conn_fail(httpd_conn_t *c, int status, const char *message)
{
    if (c->closing || c->write_done)
        return;
    /* The method, for the observer, only if the request got that far. */
    const char *method = c->cur && c->cur->headers_done ? c->cur->method : "";
    /* Never called from inside a parser callback, so the request in progress can go. */
    httpd_conn_drop_cur(c);
    c->read_closed = true;
    /* The log line names the rule, not the limit: slog would mask a 7-digit limit. */
    const char *rule = status == 408   ? "request_timeout"
                       : status == 413 ? "body_too_large"
                       : status == 414 ? "target_too_long"
                       : status == 431 ? "header_too_large"
                       : status == 503 ? "too_many_connections"
                       : status == 500 ? "out_of_memory"
                                       : "malformed";
    if (status == 408)
        SLOG_DEBUG("http_request_refused", "peer=%s status=%d rule=%s next=closing", c->peer,
                   status, rule);
    else if (status == 400)
        SLOG_WARN("http_request_refused", "peer=%s status=%d rule=%s detail=\"%s\" next=closing",
                  c->peer, status, rule, message);
    else
        SLOG_WARN("http_request_refused", "peer=%s status=%d rule=%s next=closing", c->peer, status,
                  rule);
    httpd_req_t *req = req_new(c);
    if (!req)
        return;               /* the connection closes once the queue drains */
    req->state = REQ_HANDLER; /* not counted as pending: it never reaches a handler */
    req->method = method;
    req->close_after = true;
    queue_push(c, req);
    req_answer_error(req, status, message);
}

void httpd_respond(httpd_req_t *req, int status, const char *content_type, const char *body,
                   size_t len)
{
    assert(req->state == REQ_HANDLER); /* answered twice, or a request httpd answered */
    httpd_conn_t *c = req->conn;
    httpd_t *s = c->server;
    if (s->npending > 0)
        s->npending--;
    if (status < 200 || status > 599) {
        SLOG_ERROR("http_bad_status", "status=%d method=%s next=answering_500", status,
                   req->method);
        status = 500;
    }
    req_observe(req, status);
    if (c->closing || c->write_done) {
        /* The client is gone or the connection ends before this answer: drop it. */
        queue_remove(c, req);
        httpd_req_free(req);
        if (c->closing)
            httpd_conn_maybe_free(c);
        else
            httpd_conn_update(c);
        return;
    }
    req_answer(req, status, content_type, body ? body : "", body ? len : 0);
    httpd_conn_update(c);
}

/* ---- routing ---- */

static void allow_add(httpd_buf_t *allow, const char *method)
{
    size_t n = strlen(method);
    const char *p = allow->data;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, method, n) == 0)
            return;
        p = end ? end + 2 : p + len;
    }
    if (allow->len)
        httpd_buf_append(allow, ", ", 2);
    httpd_buf_append(allow, method, n);
}

static void route(httpd_conn_t *c, httpd_req_t *req)
{
    httpd_t *s = c->server;
    httpd_buf_t allow = {0};
    for (size_t i = 0; i < s->nroutes; i++) {
        const httpd_route_entry_t *r = &s->routes[i];
        bool path_ok = r->prefix ? strncmp(req->path, r->path, r->path_len) == 0
                                 : strcmp(req->path, r->path) == 0;
        if (!path_ok)
            continue;
        if (!r->method || strcmp(r->method, req->method) == 0 ||
            (req->is_head && strcmp(r->method, "GET") == 0)) {
            httpd_buf_free(&allow);
            req->state = REQ_HANDLER;
            req->route = r->pattern;
            s->npending++;
            /* The handler may answer (and so free req) before it returns. */
            r->handler(req, r->ctx);
            return;
        }
        allow_add(&allow, r->method);
        if (strcmp(r->method, "GET") == 0)
            allow_add(&allow, "HEAD");
    }
    req->state = REQ_HANDLER;
    httpd_buf_t msg = {0};
    if (allow.len) {
        httpd_buf_printf(&msg, "method %s not allowed for %s (allowed: %s)", req->method, req->path,
                         allow.data);
        httpd_buf_printf(&req->resp_hdrs, "Allow: %s\r\n", allow.data);
        req_answer_error(req, 405, msg.data ? msg.data : "method not allowed");
    } else {
        httpd_buf_printf(&msg, "no such path: %s", req->path);
        req_answer_error(req, 404, msg.data ? msg.data : "no such path");
    }
    httpd_buf_free(&msg);
    httpd_buf_free(&allow);
}

/* Split the request target into a percent-decoded path and the raw query. */
static int parse_target(httpd_req_t *req, bool is_connect)
{
    const char *url = req->url.data ? req->url.data : "";
    size_t len = req->url.len;
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (len == 0 || is_connect || http_parser_parse_url(url, len, 0, &u) != 0)
        return HL_EINVAL;
    const char *path = "/";
    size_t path_len = 1;
    if (u.field_set & (1 << UF_PATH)) {
        path = url + u.field_data[UF_PATH].off;
        path_len = u.field_data[UF_PATH].len;
    } else if (!(u.field_set & (1 << UF_HOST))) {
        return HL_EINVAL;
    }
    req->path = malloc(path_len + 1);
    if (!req->path)
        return HL_ENOMEM;
    if (httpd_path_decode(path, path_len, req->path) < 0)
        return HL_EINVAL;
    const char *query = "";
    size_t query_len = 0;
    if (u.field_set & (1 << UF_QUERY)) {
        query = url + u.field_data[UF_QUERY].off;
        query_len = u.field_data[UF_QUERY].len;
    }
    req->query = strndup(query, query_len);
    return req->query ? 0 : HL_ENOMEM;
}

/* ---- http_parser callbacks ---- */

/* Make http_parser stop with an error; httpd_conn_parse answers status. reason: a static
 * string for the 400 message, or NULL. */
static int refuse(httpd_conn_t *c, int status, const char *reason)
{
    c->fail_status = status;
    c->fail_reason = reason;
    return -1;
}

static int on_message_begin(http_parser *p)
{
    httpd_conn_t *c = p->data;
    httpd_conn_drop_cur(c);
    c->cur = req_new(c);
    if (!c->cur)
        return refuse(c, 500, NULL);
    httpd_conn_request_timer_start(c);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    httpd_conn_t *c = p->data;
    httpd_req_t *req = c->cur;
    size_t max = c->server->opts.max_header_bytes;
    req->header_bytes += len;
    if (req->url.len + len > (max < URL_MAX ? max : URL_MAX))
        return refuse(c, 414, NULL);
    return httpd_buf_append(&req->url, at, len) == 0 ? 0 : refuse(c, 500, NULL);
}

/* End the header value being collected: trim trailing whitespace, add the NUL. */
static int end_value(httpd_req_t *req, size_t value_start)
{
    while (req->hdrs.len > value_start &&
           (req->hdrs.data[req->hdrs.len - 1] == ' ' || req->hdrs.data[req->hdrs.len - 1] == '\t'))
        req->hdrs.len--;
    req->nhdrs++;
    req->in_header_value = false;
    return httpd_buf_append(&req->hdrs, "", 1);
}

static int header_bytes(httpd_conn_t *c, size_t len)
{
    c->cur->header_bytes += len;
    return c->cur->header_bytes > c->server->opts.max_header_bytes ? refuse(c, 431, NULL) : 0;
}

/* Offset where the current header value starts: just after the last NUL. */
static size_t value_start(const httpd_req_t *req)
{
    size_t i = req->hdrs.len;
    while (i > 0 && req->hdrs.data[i - 1] != '\0')
        i--;
    return i;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    httpd_conn_t *c = p->data;
    httpd_req_t *req = c->cur;
    if (header_bytes(c, len) != 0)
        return -1;
    if (req->headers_done)
        return 0; /* a chunked trailer: counted against the limit, otherwise ignored */
    /* The packaged http_parser is built non-strict and lets "Bad Name" through; a name that
     * is not a token is how request smuggling starts ("Transfer-Encoding : chunked"). */
    for (size_t i = 0; i < len; i++)
        if (!is_tchar((unsigned char)at[i]))
            return refuse(c, 400, "header name is not a token");
    if (req->in_header_value && end_value(req, value_start(req)) != 0)
        return refuse(c, 500, NULL);
    return httpd_buf_append(&req->hdrs, at, len) == 0 ? 0 : refuse(c, 500, NULL);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    httpd_conn_t *c = p->data;
    httpd_req_t *req = c->cur;
    if (header_bytes(c, len) != 0)
        return -1;
    if (req->headers_done)
        return 0;
    if (!req->in_header_value) {
        if (httpd_buf_append(&req->hdrs, "", 1) != 0) /* ends the name */
            return refuse(c, 500, NULL);
        req->in_header_value = true;
    }
    return httpd_buf_append(&req->hdrs, at, len) == 0 ? 0 : refuse(c, 500, NULL);
}

static int on_headers_complete(http_parser *p)
{
    httpd_conn_t *c = p->data;
    httpd_req_t *req = c->cur;
    if (req->in_header_value && end_value(req, value_start(req)) != 0)
        return refuse(c, 500, NULL);
    req->headers_done = true;
    if (p->http_major != 1)
        return refuse(c, 400, "HTTP version is not 1.x");
    req->method = http_method_str((enum http_method)p->method);
    req->is_head = p->method == HTTP_HEAD;
    size_t max_body = c->server->opts.max_body_bytes;
    bool has_length = (p->flags & F_CONTENTLENGTH) != 0;
    if (has_length && p->content_length > max_body)
        return refuse(c, 413, NULL);
    if (has_length && p->content_length > 0) {
        /* Reserve the whole body at once; it is within the limit. */
        req->body.data = malloc((size_t)p->content_length + 1);
        if (!req->body.data)
            return refuse(c, 500, NULL);
        req->body.cap = (size_t)p->content_length + 1;
        req->body.data[0] = '\0';
    }
    const char *expect = httpd_req_header(req, "Expect");
    bool has_body = (p->flags & F_CHUNKED) || (has_length && p->content_length > 0);
    if (expect && strcasecmp(expect, "100-continue") == 0 && has_body && p->http_major == 1 &&
        p->http_minor >= 1) {
        req->expect_continue = true;
        httpd_conn_flush(c);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    httpd_conn_t *c = p->data;
    httpd_req_t *req = c->cur;
    if (req->body.len + len > c->server->opts.max_body_bytes)
        return refuse(c, 413, NULL);
    return httpd_buf_append(&req->body, at, len) == 0 ? 0 : refuse(c, 500, NULL);
}

static int on_message_complete(http_parser *p)
{
    httpd_conn_t *c = p->data;
    httpd_req_t *req = c->cur;
    c->cur = NULL;
    /* Stop after this request so httpd_conn_parse decides whether to take the next. */
    http_parser_pause(p, 1);
    if (!http_should_keep_alive(p) || p->upgrade) {
        /* Connection: close, HTTP/1.0 without keep-alive, or a protocol switch we do not
         * make: answer this one and stop reading. */
        req->close_after = true;
        c->read_closed = true;
    } else if (p->http_major == 1 && p->http_minor == 0) {
        req->keep_alive_header = true;
    }
    req->state = REQ_HANDLER;
    req->arrived_ns = uv_hrtime();
    queue_push(c, req);
    int rc = parse_target(req, p->method == HTTP_CONNECT);
    if (rc != 0) {
        httpd_buf_t msg = {0};
        httpd_buf_printf(&msg, "malformed request target: %s",
                         rc == HL_ENOMEM ? "out of memory" : "bad URL or percent-encoding");
        SLOG_DEBUG("http_bad_target", "peer=%s", c->peer);
        req_answer_error(req, rc == HL_ENOMEM ? 500 : 400, msg.data ? msg.data : "bad target");
        httpd_buf_free(&msg);
        return 0;
    }
    route(c, req);
    return 0;
}

size_t httpd_conn_parse(httpd_conn_t *c, const char *data, size_t len)
{
    size_t off = 0;
    c->in_parse = true;
    while (off < len && !c->read_closed && !c->closing && !httpd_conn_throttled(c)) {
        size_t n = http_parser_execute(&c->parser, &parser_settings, data + off, len - off);
        off += n;
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            continue;
        }
        if (e != HPE_OK) {
            const httpd_opts_t *o = &c->server->opts;
            int status = c->fail_status ? c->fail_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
            char msg[160];
            switch (status) {
            case 413:
                snprintf(msg, sizeof msg, "request body larger than %zu bytes", o->max_body_bytes);
                break;
            case 414:
                snprintf(msg, sizeof msg, "request target longer than %zu bytes",
                         o->max_header_bytes < URL_MAX ? o->max_header_bytes : URL_MAX);
                break;
            case 431:
                snprintf(msg, sizeof msg, "request header larger than %zu bytes",
                         o->max_header_bytes);
                break;
            case 500: snprintf(msg, sizeof msg, "out of memory"); break;
            default:
                snprintf(msg, sizeof msg, "malformed request: %s",
                         c->fail_reason ? c->fail_reason : http_errno_description(e));
                break;
            }
            httpd_conn_fail(c, status, msg);
            break;
        }
        if (n == 0 || c->parser.upgrade)
            break;
    }
    c->in_parse = false;
    if (c->read_closed)
        httpd_conn_drop_cur(c);
    return off;
}

/* ---- request accessors ---- */

const char *httpd_req_method(const httpd_req_t *req)
{
    return req->method;
}

const char *httpd_req_path(const httpd_req_t *req)
{
    return req->path ? req->path : "";
}

const char *httpd_req_query(const httpd_req_t *req)
{
    return req->query ? req->query : "";
}

const char *httpd_req_header(const httpd_req_t *req, const char *name)
{
    const char *p = req->hdrs.data;
    if (!p)
        return NULL;
    const char *end = p + req->hdrs.len;
    for (size_t i = 0; i < req->nhdrs && p < end; i++) {
        const char *value = p + strlen(p) + 1;
        if (value >= end)
            return NULL;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

const char *httpd_req_body(const httpd_req_t *req, size_t *len)
{
    if (len)
        *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

void httpd_req_add_header(httpd_req_t *req, const char *name, const char *value)
{
    if (!name || !value || !is_token(name) || strpbrk(value, "\r\n")) {
        SLOG_WARN("http_header_dropped", "name=\"%s\" reason=not_a_token_or_crlf_in_value",
                  name && is_token(name) ? name : "?");
        return;
    }
    if (strcasecmp(name, "Connection") == 0) {
        if (strcasecmp(value, "close") == 0)
            req->close_after = true;
        return;
    }
    if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Transfer-Encoding") == 0) {
        SLOG_WARN("http_header_dropped", "name=%s reason=written_by_httpd", name);
        return;
    }
    httpd_buf_printf(&req->resp_hdrs, "%s: %s\r\n", name, value);
}

const char *httpd_req_peer_address(const httpd_req_t *req)
{
    return req->conn->addr[0] ? req->conn->addr : req->conn->peer;
}

void httpd_req_set_user(httpd_req_t *req, void *data, void (*free_fn)(void *))
{
    if (req->user_free)
        req->user_free(req->user);
    req->user = data;
    req->user_free = free_fn;
}

void *httpd_req_user(const httpd_req_t *req)
{
    return req->user;
}
