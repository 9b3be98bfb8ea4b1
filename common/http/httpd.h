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
 * Backpressure: a connection with 64 answers outstanding (not yet answered or not yet written)
 * is not read further until it is down to 32. Errors httpd itself generates (400, 404, 405,
 * 408, 413, 414, 431, 503) carry a JSON body {"error":{"status":N,"message":"..."}}; after
 * 408, 413, 414, 431, 503 and a 400 for broken framing the connection is closed (a 400 for an
 * undecodable path, 404 and 405 keep it). A HEAD request matches a GET route (the handler sees
 * "HEAD"; the body is not sent). 204 and 304 answers carry neither body nor Content-Length;
 * every other answer carries Content-Length. Header names that are not tokens are refused
 * (400) even though the packaged http_parser is built non-strict.
 *
 * Runs on the loop thread only. The process must ignore SIGPIPE (libuv writes with write(2),
 * and a client that resets its connection would otherwise kill it). */
#ifndef HOTLINE_HTTPD_H
#define HOTLINE_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct httpd httpd_t;
typedef struct httpd_req httpd_req_t;

typedef struct httpd_opts {
    const char *listen;          /* address to bind, e.g. "127.0.0.1" (the default) or "::1" */
    uint16_t port;               /* 0 = ephemeral; read it back with httpd_port() */
    bool reuse_port;             /* share port with other processes on the host that set it
                                  * too (SO_REUSEPORT: the kernel spreads new connections
                                  * among them): instances of one service behind one address */
    uint16_t instance_port;      /* when not 0, also listen on this port, unshared, serving
                                  * the same routes: this instance alone, for its probes,
                                  * metrics and reads when port is shared */
    size_t max_body_bytes;       /* larger bodies get 413 (default 1 MiB when 0) */
    unsigned idle_timeout_ms;    /* keep-alive with no request (default 60000 when 0) */
    unsigned request_timeout_ms; /* whole request must arrive within (default 30000 when 0) */
    unsigned max_connections;    /* further connections get 503 and close (default 4096) */
    unsigned max_per_address;    /* connections one client address may hold; further ones
                                  * from it get 503 and close, so one client cannot starve
                                  * the others (default max_connections / 8) */
    size_t max_header_bytes;     /* request line + headers; larger get 431, a longer request
                                  * target alone 414 (default 16 KiB when 0) */
} httpd_opts_t;

/* Called once per complete request. */
typedef void (*httpd_handler_fn)(httpd_req_t *req, void *ctx);

/* Bind and listen. Errors: HL_EINVAL (bad address), HL_EEXIST (port in use), HL_ENOMEM,
 * HL_EIO. On error nothing is left to free and *out is NULL.
 * Requests that match no route get 404 (405 when the path exists for another method). */
int httpd_create(httpd_t **out, uv_loop_t *loop, const httpd_opts_t *opts);

/* Route method + path to handler. A path ending in '*' matches any path with that prefix.
 * Routes are tried in the order added. method NULL matches any method. The strings are
 * copied. Errors: HL_EINVAL (path not starting with '/'), HL_ENOMEM. */
int httpd_route(httpd_t *self, const char *method, const char *path, httpd_handler_fn handler,
                void *ctx);

/* Told of every answer, once per request: handlers' answers (also those dropped because the
 * client went away) and httpd's own (400, 404, 405, 408, 413, 414, 431, 503). route is the
 * pattern of the route that took the request, as given to httpd_route (a trailing '*'
 * included), or NULL when none did (no route matched, or httpd refused the request before routing); method
 * is the request's ("GET"; "" when httpd refused it before its headers were read); seconds
 * runs from the moment the whole request had arrived to its answer (0 for a refusal of a
 * request that never arrived whole). The strings are valid during the call only. */
typedef void (*httpd_answer_fn)(void *ctx, const char *method, const char *route, int status,
                                double seconds);

/* Set (or with fn NULL clear) the answer observer: for metrics. */
void httpd_on_answer(httpd_t *self, httpd_answer_fn fn, void *ctx);

/* The bound TCP port, and the instance port (0 when none). */
uint16_t httpd_port(const httpd_t *self);
uint16_t httpd_instance_port(const httpd_t *self);

/* Number of open connections (including ones being refused with 503) and of requests handed
 * to handlers but not yet answered. */
unsigned httpd_connections(const httpd_t *self);
unsigned httpd_pending(const httpd_t *self);

/* Connections refused because their address held max_per_address already. */
uint64_t httpd_refused_per_address(const httpd_t *self);

/* Stop listening and close every connection. Memory is freed once libuv has closed the
 * handles, so the loop must run afterwards. Requests not yet answered are freed: answer them
 * before calling this (a later httpd_respond() on them is a use after free). May be called
 * from a handler. NULL or *self NULL is a no-op. Nulls *self. */
void httpd_destroy(httpd_t **self);

/* Request accessors: valid until httpd_respond(). Strings are NUL-terminated. A path whose
 * percent-decoding fails or would contain NUL ("%00") never reaches a handler (400). Header
 * names match case-insensitively; for a repeated header the first is returned. The body is
 * NUL-terminated too (len excludes the NUL). */
const char *httpd_req_method(const httpd_req_t *req); /* "GET" */
const char *httpd_req_path(const httpd_req_t *req);   /* percent-decoded, no query */
const char *httpd_req_query(const httpd_req_t *req);  /* raw query string, "" if none */
const char *httpd_req_header(const httpd_req_t *req, const char *name); /* NULL if absent */
const char *httpd_req_body(const httpd_req_t *req, size_t *len);        /* "" if none */

/* Look up a query parameter (form-decoded by form_unescape: '+' is space, %XX decoded) into
 * out. Returns the decoded length, or HL_ENOTFOUND, or HL_ETOOBIG when out is too small (the
 * decoded value and its NUL must fit), or HL_EINVAL when the value has a '%' not followed by
 * two hex digits or would contain a NUL byte ("%00"): the same rule as form bodies and paths.
 * Names are decoded before comparing (a name that does not decode matches nothing); the first
 * match wins; "a" in "a&b=1" has the value "". query may be NULL. */
int httpd_query_param(const char *query, const char *name, char *out, size_t out_size);

/* The first parameter of query whose name (decoded as above) is not in allowed, a list ending
 * with NULL: for refusing a misspelt parameter ("form=...") instead of ignoring it. Its name
 * goes into out, cut to fit, with every byte that is not printable ASCII as '?' (it is quoted
 * back to the client). Returns 1 when there is one, else 0 (query NULL or "" included); empty
 * pieces ("a=1&&b=2") are skipped. Errors: HL_ENOMEM. */
int httpd_query_unknown(const char *query, const char *const *allowed, char *out,
                        size_t out_size);

/* The client's address ("127.0.0.1", "::1"), for logs and per-client limits. */
const char *httpd_req_peer_address(const httpd_req_t *req);

/* Attach data to a request (one pointer; free_fn, when not NULL, runs when the request is
 * freed, answered or not). Used by the service skeleton for the caller's identity. */
void httpd_req_set_user(httpd_req_t *req, void *data, void (*free_fn)(void *));
void *httpd_req_user(const httpd_req_t *req);

/* Add a response header (before httpd_respond). Headers whose name is not an HTTP token or
 * whose value holds CR, LF or NUL are dropped with a warning, as are Content-Length and
 * Transfer-Encoding (httpd writes those). "Connection: close" closes the connection after
 * this answer (later pipelined requests on it are then never answered on the wire). */
void httpd_req_add_header(httpd_req_t *req, const char *name, const char *value);

/* Answer the request: copies body; frees req. content_type NULL = no Content-Type header.
 * A status outside 200..599 is a bug: it is logged and sent as 500. */
void httpd_respond(httpd_req_t *req, int status, const char *content_type, const char *body,
                   size_t len);

#endif
