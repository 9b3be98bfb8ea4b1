/* httpd: an HTTP/1.1 server on a libuv loop, parsing with http_parser (libhttp-parser).
 *
 * Handles keep-alive, pipelining (answers go out in request order even when a later request is
 * answered first), chunked request bodies, a body size limit (413), a header size limit (431),
 * an idle timeout for keep-alive connections with no request in progress and a request timeout
 * for slow clients (408), and a connection limit (503).
 *
 * Handlers may answer at once or later (after a group commit): a request stays valid until
 * httpd_respond() is called on it, even if the client has gone away meanwhile (the answer is
 * then dropped). Every request must be answered exactly once.
 *
 * Runs on the loop thread only. */
#ifndef HOTLINE_HTTPD_H
#define HOTLINE_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct httpd httpd_t;
typedef struct httpd_req httpd_req_t;

typedef struct httpd_opts {
    const char *listen;           /* address to bind, e.g. "127.0.0.1" */
    uint16_t port;                /* 0 = ephemeral; read it back with httpd_port() */
    size_t max_body_bytes;        /* larger bodies get 413 (default 1 MiB when 0) */
    unsigned idle_timeout_ms;     /* keep-alive with no request (default 60000 when 0) */
    unsigned request_timeout_ms;  /* whole request must arrive within (default 30000 when 0) */
    unsigned max_connections;     /* further connections get 503 and close (default 4096) */
} httpd_opts_t;

/* Called once per complete request. */
typedef void (*httpd_handler_fn)(httpd_req_t *req, void *ctx);

/* Bind and listen. Errors: HL_EINVAL (bad address), HL_EEXIST (port in use), HL_EIO.
 * Requests that match no route get 404 (405 when the path exists for another method). */
int httpd_create(httpd_t **out, uv_loop_t *loop, const httpd_opts_t *opts);

/* Route method + path to handler. A path ending in '*' matches any path with that prefix.
 * Routes are tried in the order added. method NULL matches any method. */
int httpd_route(httpd_t *self, const char *method, const char *path, httpd_handler_fn handler,
                void *ctx);

/* The bound TCP port. */
uint16_t httpd_port(const httpd_t *self);

/* Number of open connections and of requests handed to handlers but not yet answered. */
unsigned httpd_connections(const httpd_t *self);
unsigned httpd_pending(const httpd_t *self);

/* Stop listening and close every connection. Memory is freed once libuv has closed the
 * handles, so the loop must run afterwards. Requests not yet answered are freed: answer them
 * before calling this. Nulls *self. */
void httpd_destroy(httpd_t **self);

/* Request accessors: valid until httpd_respond(). Strings are NUL-terminated. */
const char *httpd_req_method(const httpd_req_t *req);      /* "GET" */
const char *httpd_req_path(const httpd_req_t *req);        /* percent-decoded, no query */
const char *httpd_req_query(const httpd_req_t *req);       /* raw query string, "" if none */
const char *httpd_req_header(const httpd_req_t *req, const char *name); /* NULL if absent */
const char *httpd_req_body(const httpd_req_t *req, size_t *len);        /* "" if none */

/* Look up a query parameter (form-decoded: '+' is space, %XX decoded) into out.
 * Returns the decoded length, or HL_ENOTFOUND, or HL_ETOOBIG when out is too small. */
int httpd_query_param(const char *query, const char *name, char *out, size_t out_size);

/* Add a response header (before httpd_respond). */
void httpd_req_add_header(httpd_req_t *req, const char *name, const char *value);

/* Answer the request: copies body; frees req. */
void httpd_respond(httpd_req_t *req, int status, const char *content_type, const char *body,
                   size_t len);

#endif
