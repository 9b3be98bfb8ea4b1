/* httpd_internal: the parts of httpd shared by its source files, and a socket-free way in for
 * the fuzz target and unit tests. Not for services: include httpd.h.
 *
 * Layout: httpd.c owns the server, the listener and the libuv side of a connection (reads,
 * writes, timers, closing); httpd_conn.c owns the protocol (http_parser callbacks, the
 * per-connection queue that keeps answers in request order, routing, serialising answers);
 * httpd_util.c holds pure helpers (decoding, JSON error bodies, dates).
 *
 * Loop thread only. */
#ifndef HOTLINE_HTTPD_INTERNAL_H
#define HOTLINE_HTTPD_INTERNAL_H

#include "httpd.h"

#include <http_parser.h>
#include <stdbool.h>
#include <time.h>

/* A connection stops being read at this many outstanding answers and resumes at half. */
#define HTTPD_PIPELINE_MAX 64u
/* After the last answer on a closing connection: how long to read and discard what the client
 * still sends, so that closing does not reset the connection before the client read it. */
#define HTTPD_LINGER_MAX_MS 2000u

typedef struct httpd_conn httpd_conn_t;

/* Growable byte buffer; data is always NUL-terminated when non-NULL. */
typedef struct httpd_buf {
    char *data;
    size_t len;
    size_t cap;
} httpd_buf_t;

typedef struct httpd_route_entry {
    char *method;    /* NULL = any method */
    char *path;      /* without the trailing '*' of a prefix route */
    char *pattern;   /* as given, '*' included: the route's name for the answer observer */
    size_t path_len; /* strlen(path) */
    bool prefix;     /* path ended in '*' */
    httpd_handler_fn handler;
    void *ctx;
} httpd_route_entry_t;

struct httpd {
    uv_loop_t *loop;
    httpd_opts_t opts;           /* defaults filled in; opts.listen points to listen_addr */
    char listen_addr[64];        /* copy of the address we bound */
    uint16_t port;               /* the bound port (0 when unbound) */
    uint16_t instance_port;      /* the second, unshared port (0 when none) */
    uv_tcp_t listeners[2];       /* [0] opts.port, [1] opts.instance_port */
    int nlisteners;              /* 0 for an unbound server (fuzz, tests) */
    uv_idle_t resume_idle;       /* active while resume_head is non-empty */
    httpd_conn_t *resume_head;   /* connections with buffered input to parse on the next
                                  * loop turn (never parsed from inside httpd_respond, to
                                  * keep handlers from being called re-entrantly) */
    int handles_open;            /* listener + resume_idle not yet closed */
    bool destroying;             /* httpd_destroy was called; free when all is closed */
    httpd_route_entry_t *routes; /* in the order added */
    size_t nroutes;
    size_t routes_cap;
    httpd_conn_t *conns;     /* every connection not yet freed (open or closed with
                              * requests still at handlers) */
    unsigned nconns_open;    /* open connections, served and refused */
    unsigned nconns_serving; /* open connections counted against max_connections */
    unsigned npending;       /* requests at handlers, not yet answered */
    struct httpd_addr_count **by_addr; /* open connections per client address (hash table) */
    size_t by_addr_buckets;
    uint64_t refused_per_address; /* connections refused for their address's limit */
    httpd_answer_fn answer_fn;    /* told of every answer (httpd_on_answer), or NULL */
    void *answer_ctx;
    char rbuf[64 * 1024];    /* read buffer: libuv calls alloc_cb and read_cb back to
                              * back on the loop thread, so one buffer serves all */
    time_t date_sec;         /* second that date_text was formatted for */
    char date_text[40];      /* "Sun, 06 Nov 1994 08:49:37 GMT" */
};

typedef enum {
    REQ_READING,  /* headers / body arriving (it is conn->cur) */
    REQ_HANDLER,  /* handed to the handler, waiting for httpd_respond */
    REQ_ANSWERED, /* answer serialised in out, waiting for its turn on the wire */
} httpd_req_state_t;

struct httpd_req {
    httpd_conn_t *conn;       /* the connection it arrived on (outlives its socket) */
    httpd_req_t *prev, *next; /* in conn's queue, request order */
    httpd_req_state_t state;
    bool close_after;       /* close the connection once this answer is written */
    bool keep_alive_header; /* HTTP/1.0 keep-alive: say so in the answer */
    bool is_head;           /* HEAD: answer without body */
    bool expect_continue;   /* client waits for "100 Continue" before the body */
    bool continue_sent;
    bool in_header_value; /* last header callback was a value */
    bool headers_done;    /* further header callbacks are chunked trailers */
    const char *method;   /* static string from http_method_str */
    const char *route;    /* pattern of the route that took it (owned by the server), or NULL */
    uint64_t arrived_ns;  /* uv_hrtime() when the request was complete, 0 before */
    httpd_buf_t url;      /* raw request target */
    httpd_buf_t hdrs;     /* "name\0value\0name\0value\0..." */
    size_t nhdrs;         /* complete name/value pairs in hdrs */
    size_t header_bytes;  /* request line + header bytes seen, for the 431 limit */
    httpd_buf_t body;
    size_t qbytes;         /* body bytes counted in conn->qbytes while queued */
    char *path;            /* percent-decoded path */
    char *query;           /* raw query, "" if none */
    httpd_buf_t resp_hdrs; /* extra answer headers, "Name: value\r\n" each */
    httpd_buf_t out;       /* the serialised answer once REQ_ANSWERED */
    void *user;            /* httpd_req_set_user */
    void (*user_free)(void *);
};

typedef enum {
    CONN_TIMER_NONE,
    CONN_TIMER_IDLE,    /* no request in progress, nothing at handlers */
    CONN_TIMER_REQUEST, /* a request has begun and must be complete in time */
    CONN_TIMER_LINGER,  /* answered and shut down; discarding input until EOF or this */
} httpd_conn_timer_t;

typedef void (*httpd_sink_fn)(void *ctx, const char *data, size_t len);

struct httpd_conn {
    httpd_t *server;
    httpd_conn_t *prev, *next; /* in server->conns */
    httpd_conn_t *resume_next; /* in server->resume_head when resume_queued */
    bool resume_queued;
    uv_tcp_t tcp;     /* unused for a detached connection */
    uv_timer_t timer; /* idle / request / linger timeout, see timer_kind */
    httpd_conn_timer_t timer_kind;
    uv_shutdown_t shutdown_req;
    int handles_open; /* tcp + timer not yet closed */
    http_parser parser;
    httpd_req_t *cur;           /* request being received, not yet in the queue */
    httpd_req_t *qhead, *qtail; /* requests in order: at handlers or answered, not written */
    unsigned qlen;
    size_t qbytes;            /* body bytes held by queued requests, for backpressure */
    unsigned writes_inflight; /* uv_write requests not yet completed */
    httpd_buf_t stash;        /* input read but not parsed yet (backpressure) */
    int fail_status;          /* set by a parser callback that refuses the request */
    const char *fail_reason;  /* static text for a 400 refusal, or NULL */
    char peer[64];            /* "127.0.0.1:54321", for logs */
    char addr[48];            /* "127.0.0.1": the key of the per-address count */
    bool addr_counted;        /* counted in the server's per-address table */
    bool detached;            /* no socket: output goes to sink */
    httpd_sink_fn sink;
    void *sink_ctx;
    bool in_parse;    /* inside httpd_conn_parse: handlers may be running */
    bool reading;     /* uv_read_start is in effect */
    bool throttled;   /* too many outstanding answers: not parsing */
    bool read_closed; /* no further requests will be parsed */
    bool write_done;  /* an answer with close_after went out: nothing more will */
    bool peer_eof;    /* the client shut down its side */
    bool lingering;   /* shut down; discarding input until EOF or timeout */
    bool closing;     /* handles are being closed */
    bool refused;     /* over the connection limit: 503 and close */
};

/* httpd.c: the libuv side, used by httpd_conn.c. */
void httpd_conn_write(httpd_conn_t *c, httpd_buf_t *data); /* takes data->data */
void httpd_conn_update(httpd_conn_t *c); /* re-evaluate reading, timers, closing */
void httpd_conn_request_timer_start(httpd_conn_t *c);
void httpd_conn_maybe_free(httpd_conn_t *c);
void httpd_date(httpd_t *self, char *out, size_t out_size);

/* httpd_conn.c: the protocol. */
void httpd_conn_proto_init(httpd_conn_t *c);
/* Parse as many requests from data as the connection takes now; returns bytes consumed.
 * Stops early when throttled, on an error (the error answer is queued) and after a request
 * that ends the connection. */
size_t httpd_conn_parse(httpd_conn_t *c, const char *data, size_t len);
bool httpd_conn_throttled(httpd_conn_t *c);
/* Refuse the request in progress (or the connection) with an error answer, then close. */
void httpd_conn_fail(httpd_conn_t *c, int status, const char *message);
/* Write the answers at the head of the queue that are ready, in order. */
void httpd_conn_flush(httpd_conn_t *c);
/* Free the request in progress (no further input will be parsed). */
void httpd_conn_drop_cur(httpd_conn_t *c);
/* Free answered entries and the request in progress (the connection is going away). */
void httpd_conn_drop_answered(httpd_conn_t *c);
void httpd_req_free(httpd_req_t *req);

/* httpd_util.c: pure helpers. */
/* A listening TCP socket on addr:port (0: any free port; reuse_port: SO_REUSEPORT), its fd and
 * the port bound. Errors: HL_EINVAL (bad address), HL_EEXIST (port in use), the system's. */
int httpd_bind_socket(const char *addr, uint16_t port, bool reuse_port, int *fd_out,
                      uint16_t *port_out);
int httpd_buf_append(httpd_buf_t *b, const void *data, size_t len);
int httpd_buf_printf(httpd_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void httpd_buf_free(httpd_buf_t *b);
/* Percent-decode a path into out (capacity >= len + 1). Returns the decoded length, or
 * HL_EINVAL for a malformed escape or one that decodes to NUL. */
int httpd_path_decode(const char *in, size_t len, char *out);
/* {"error":{"status":404,"message":"..."}} with message JSON-escaped (invalid UTF-8 becomes
 * U+FFFD). */
int httpd_error_json(httpd_buf_t *out, int status, const char *message);
/* "Sun, 06 Nov 1994 08:49:37 GMT" for t. */
void httpd_format_date(time_t t, char *out, size_t out_size);
const char *httpd_status_reason(int status);

/* Test and fuzz entry points: a server that does not listen, and connections without a socket
 * whose output goes to sink(ctx, bytes, len), one call per answer (or "100 Continue"). A
 * detached connection is freed only by httpd_destroy, so the caller's pointer stays usable
 * until then (feeding a connection that has closed does nothing). */
int httpd_create_unbound(httpd_t **out, uv_loop_t *loop, const httpd_opts_t *opts);
int httpd_conn_open_detached(httpd_t *self, httpd_sink_fn sink, void *ctx, httpd_conn_t **out);
/* As if len bytes had been read from the connection's socket. */
void httpd_conn_feed(httpd_conn_t *c, const char *data, size_t len);
/* As if the client had shut down its side. */
void httpd_conn_feed_eof(httpd_conn_t *c);
/* True once the connection is closing or closed. */
bool httpd_conn_is_closed(const httpd_conn_t *c);

#endif
