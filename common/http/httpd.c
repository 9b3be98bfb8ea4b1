/* httpd: the server object and the libuv side of each connection (loop thread only).
 *
 * A connection owns a TCP handle and one timer whose meaning follows its state (idle, request
 * in progress, lingering). Its memory is freed when both handles are closed AND no request of
 * it is still at a handler: a request stays valid until httpd_respond() even after its client
 * went away. Every change of state ends in httpd_conn_update(), which decides reading, timers
 * and closing from the connection's flags, so the rules live in one place.
 *
 * Closing after an error answer is "lingering": shut down our side, then read and discard
 * until the client closes or a short timeout, so the client reads the answer instead of a
 * connection reset. The protocol itself is in httpd_conn.c. */
#include "httpd_internal.h"

#include "bytes.h"
#include "hl_error.h"
#include "slog.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A write in flight; data is the serialised answer, freed when the write completes. */
typedef struct write_req {
    uv_write_t w;
    char *data;
} write_req_t;

static void conn_close(httpd_conn_t *c);

typedef struct httpd_addr_count {
    struct httpd_addr_count *next;
    unsigned n;
    char addr[48];
} httpd_addr_count_t;

/* ---- server ---- */

static void server_maybe_free(httpd_t *s)
{
    if (!s->destroying || s->handles_open > 0 || s->conns)
        return;
    for (size_t i = 0; i < s->nroutes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].path);
        free(s->routes[i].pattern);
    }
    free(s->routes);
    for (size_t i = 0; i < s->by_addr_buckets; i++)
        while (s->by_addr[i]) {
            struct httpd_addr_count *next = s->by_addr[i]->next;
            free(s->by_addr[i]);
            s->by_addr[i] = next;
        }
    free(s->by_addr);
    free(s);
}

static void on_server_handle_close(uv_handle_t *h)
{
    httpd_t *s = h->data;
    s->handles_open--;
    server_maybe_free(s);
}

static void on_resume(uv_idle_t *h);

static int server_new(httpd_t **out, uv_loop_t *loop, const httpd_opts_t *opts)
{
    *out = NULL;
    if (!loop || !opts)
        return HL_EINVAL;
    httpd_t *s = calloc(1, sizeof *s);
    if (!s)
        return HL_ENOMEM;
    s->loop = loop;
    s->opts = *opts;
    snprintf(s->listen_addr, sizeof s->listen_addr, "%s",
             opts->listen ? opts->listen : "127.0.0.1");
    s->opts.listen = s->listen_addr;
    if (!s->opts.max_body_bytes)
        s->opts.max_body_bytes = 1024 * 1024;
    if (!s->opts.idle_timeout_ms)
        s->opts.idle_timeout_ms = 60000;
    if (!s->opts.request_timeout_ms)
        s->opts.request_timeout_ms = 30000;
    if (!s->opts.max_connections)
        s->opts.max_connections = 4096;
    if (!s->opts.max_per_address)
        s->opts.max_per_address = s->opts.max_connections / 8 ? s->opts.max_connections / 8 : 1;
    if (!s->opts.max_header_bytes)
        s->opts.max_header_bytes = 16 * 1024;
    uv_idle_init(loop, &s->resume_idle);
    s->resume_idle.data = s;
    s->handles_open = 1;
    *out = s;
    return 0;
}

static void on_connection(uv_stream_t *listener, int status);

/* Adopt a bound socket as listener i; on failure fd is closed and the handle (when made)
 * closes with the server. */
static int start_listener(httpd_t *s, int i, int fd)
{
    uv_tcp_init(s->loop, &s->listeners[i]);
    s->listeners[i].data = s;
    s->nlisteners = i + 1;
    s->handles_open++;
    int uvrc = uv_tcp_open(&s->listeners[i], fd);
    if (uvrc != 0)
        close(fd); /* not adopted by the handle */
    else
        uvrc = uv_listen((uv_stream_t *)&s->listeners[i], 511, on_connection);
    if (uvrc != 0)
        SLOG_ERROR("http_listen_failed", "addr=%s listener=%d error=%s", s->listen_addr, i,
                   uv_strerror(uvrc));
    return uvrc ? HL_EIO : 0;
}

int httpd_create(httpd_t **out, uv_loop_t *loop, const httpd_opts_t *opts)
{
    *out = NULL;
    if (!loop || !opts)
        return HL_EINVAL;
    const char *addr = opts->listen ? opts->listen : "127.0.0.1";
    int fds[2] = {-1, -1};
    uint16_t ports[2] = {0, 0};
    int rc = httpd_bind_socket(addr, opts->port, opts->reuse_port, &fds[0], &ports[0]);
    if (rc == 0 && opts->instance_port &&
        (rc = httpd_bind_socket(addr, opts->instance_port, false, &fds[1], &ports[1])) != 0)
        close(fds[0]);
    if (rc != 0) {
        SLOG_WARN("http_listen_failed", "addr=%s port=%u instance_port=%u rc=%s", addr,
                  (unsigned)opts->port, (unsigned)opts->instance_port, hl_strerror(rc));
        return rc;
    }
    httpd_t *s;
    rc = server_new(&s, loop, opts);
    if (rc != 0) {
        close(fds[0]);
        if (fds[1] >= 0)
            close(fds[1]);
        return rc;
    }
    s->port = ports[0];
    s->instance_port = ports[1];
    rc = start_listener(s, 0, fds[0]);
    if (fds[1] >= 0) {
        if (rc == 0)
            rc = start_listener(s, 1, fds[1]);
        else
            close(fds[1]);
    }
    if (rc != 0) {
        /* Rare (libuv itself failed): the handles close and the memory goes on the next loop
         * run; the caller has nothing to free. */
        httpd_destroy(&s);
        return HL_EIO;
    }
    SLOG_INFO("http_listening", "addr=%s port=%u shared=%s instance_port=%u", s->listen_addr,
              (unsigned)s->port, opts->reuse_port ? "yes" : "no", (unsigned)s->instance_port);
    *out = s;
    return 0;
}

int httpd_create_unbound(httpd_t **out, uv_loop_t *loop, const httpd_opts_t *opts)
{
    return server_new(out, loop, opts);
}

int httpd_route(httpd_t *self, const char *method, const char *path, httpd_handler_fn handler,
                void *ctx)
{
    if (!self || !path || path[0] != '/' || !handler || (method && !method[0]))
        return HL_EINVAL;
    if (self->nroutes == self->routes_cap) {
        size_t cap = self->routes_cap ? self->routes_cap * 2 : 8;
        httpd_route_entry_t *r = realloc(self->routes, cap * sizeof *r);
        if (!r)
            return HL_ENOMEM;
        self->routes = r;
        self->routes_cap = cap;
    }
    httpd_route_entry_t *r = &self->routes[self->nroutes];
    memset(r, 0, sizeof *r);
    size_t len = strlen(path);
    r->prefix = path[len - 1] == '*';
    r->path = strndup(path, r->prefix ? len - 1 : len);
    r->pattern = strdup(path);
    r->method = method ? strdup(method) : NULL;
    if (!r->path || !r->pattern || (method && !r->method)) {
        free(r->path);
        free(r->pattern);
        free(r->method);
        return HL_ENOMEM;
    }
    r->path_len = strlen(r->path);
    r->handler = handler;
    r->ctx = ctx;
    self->nroutes++;
    return 0;
}

void httpd_on_answer(httpd_t *self, httpd_answer_fn fn, void *ctx)
{
    self->answer_fn = fn;
    self->answer_ctx = ctx;
}

uint16_t httpd_port(const httpd_t *self)
{
    return self->port;
}

uint16_t httpd_instance_port(const httpd_t *self)
{
    return self->instance_port;
}

unsigned httpd_connections(const httpd_t *self)
{
    return self->nconns_open;
}

unsigned httpd_pending(const httpd_t *self)
{
    return self->npending;
}

uint64_t httpd_refused_per_address(const httpd_t *self)
{
    return self->refused_per_address;
}

void httpd_destroy(httpd_t **self)
{
    httpd_t *s = self ? *self : NULL;
    if (!s)
        return;
    *self = NULL;
    if (s->destroying)
        return;
    s->destroying = true;
    for (int i = 0; i < s->nlisteners; i++)
        uv_close((uv_handle_t *)&s->listeners[i], on_server_handle_close);
    uv_idle_stop(&s->resume_idle);
    uv_close((uv_handle_t *)&s->resume_idle, on_server_handle_close);
    httpd_conn_t *c = s->conns;
    while (c) {
        httpd_conn_t *next = c->next;
        /* Requests still at handlers are freed now, as documented. */
        while (c->qhead) {
            httpd_req_t *req = c->qhead;
            c->qhead = req->next;
            if (req->state == REQ_HANDLER && s->npending > 0)
                s->npending--;
            httpd_req_free(req);
        }
        c->qtail = NULL;
        c->qlen = 0;
        if (!c->closing)
            conn_close(c);
        else
            httpd_conn_maybe_free(c);
        c = next;
    }
}

void httpd_date(httpd_t *self, char *out, size_t out_size)
{
    time_t now = time(NULL);
    if (now != self->date_sec || !self->date_text[0]) {
        httpd_format_date(now, self->date_text, sizeof self->date_text);
        self->date_sec = now;
    }
    str_copy(out, out_size, self->date_text);
}

/* ---- connection: life cycle ---- */

static void on_conn_handle_close(uv_handle_t *h)
{
    httpd_conn_t *c = h->data;
    c->handles_open--;
    httpd_conn_maybe_free(c);
}

void httpd_conn_maybe_free(httpd_conn_t *c)
{
    httpd_t *s = c->server;
    if (!c->closing || c->handles_open > 0 || c->qhead)
        return;
    if (c->detached && !s->destroying)
        return; /* the feeding caller still holds the pointer; httpd_destroy frees it */
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    httpd_buf_free(&c->stash);
    free(c);
    server_maybe_free(s);
}

static httpd_conn_t *conn_new(httpd_t *s)
{
    httpd_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->server = s;
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->handles_open = 1;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns_open++;
    httpd_conn_proto_init(c);
    return c;
}

static void resume_unlink(httpd_conn_t *c)
{
    if (!c->resume_queued)
        return;
    httpd_conn_t **pp = &c->server->resume_head;
    while (*pp && *pp != c)
        pp = &(*pp)->resume_next;
    if (*pp)
        *pp = c->resume_next;
    c->resume_next = NULL;
    c->resume_queued = false;
}

/* ---- open connections per client address ---- */

static httpd_addr_count_t **addr_slot(httpd_t *s, const char *addr)
{
    if (!s->by_addr) {
        s->by_addr_buckets = 1024;
        s->by_addr = calloc(s->by_addr_buckets, sizeof *s->by_addr);
        if (!s->by_addr)
            return NULL;
    }
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = addr; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    httpd_addr_count_t **pp = &s->by_addr[h % s->by_addr_buckets];
    while (*pp && strcmp((*pp)->addr, addr) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Count c against its address; false when the address is at its limit (or no memory). */
static bool addr_take(httpd_t *s, httpd_conn_t *c)
{
    httpd_addr_count_t **pp = addr_slot(s, c->addr);
    if (!pp)
        return false;
    if (!*pp) {
        *pp = calloc(1, sizeof **pp);
        if (!*pp)
            return false;
        snprintf((*pp)->addr, sizeof (*pp)->addr, "%s", c->addr);
    }
    if ((*pp)->n >= s->opts.max_per_address)
        return false;
    (*pp)->n++;
    c->addr_counted = true;
    return true;
}

static void addr_release(httpd_t *s, httpd_conn_t *c)
{
    if (!c->addr_counted)
        return;
    c->addr_counted = false;
    httpd_addr_count_t **pp = addr_slot(s, c->addr);
    if (!pp || !*pp)
        return;
    if (--(*pp)->n == 0) {
        httpd_addr_count_t *gone = *pp;
        *pp = gone->next;
        free(gone);
    }
}

static void conn_close(httpd_conn_t *c)
{
    if (c->closing)
        return;
    httpd_t *s = c->server;
    c->closing = true;
    c->read_closed = true;
    resume_unlink(c);
    httpd_conn_drop_answered(c);
    s->nconns_open--;
    addr_release(s, c);
    if (!c->refused && !c->detached)
        s->nconns_serving--;
    if (!c->detached)
        uv_close((uv_handle_t *)&c->tcp, on_conn_handle_close);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_close);
}

/* ---- connection: timers ---- */

static void on_timer(uv_timer_t *t);

static void timer_set(httpd_conn_t *c, httpd_conn_timer_t kind, unsigned ms)
{
    c->timer_kind = kind;
    if (kind == CONN_TIMER_NONE)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

void httpd_conn_request_timer_start(httpd_conn_t *c)
{
    timer_set(c, CONN_TIMER_REQUEST, c->server->opts.request_timeout_ms);
}

static void idle_timer_ensure(httpd_conn_t *c)
{
    if (c->timer_kind != CONN_TIMER_IDLE)
        timer_set(c, CONN_TIMER_IDLE, c->server->opts.idle_timeout_ms);
}

static void on_timer(uv_timer_t *t)
{
    httpd_conn_t *c = t->data;
    httpd_conn_timer_t kind = c->timer_kind;
    c->timer_kind = CONN_TIMER_NONE;
    switch (kind) {
    case CONN_TIMER_IDLE:
        SLOG_DEBUG("http_idle_timeout", "peer=%s idle_ms=%u", c->peer,
                   c->server->opts.idle_timeout_ms);
        conn_close(c);
        break;
    case CONN_TIMER_REQUEST:
        if (c->cur) {
            char msg[96];
            snprintf(msg, sizeof msg, "request not complete within %u ms",
                     c->server->opts.request_timeout_ms);
            httpd_conn_fail(c, 408, msg);
            httpd_conn_update(c);
        }
        break;
    case CONN_TIMER_LINGER: conn_close(c); break;
    case CONN_TIMER_NONE: break;
    }
}

/* ---- connection: reading ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    httpd_conn_t *c = h->data;
    buf->base = c->server->rbuf;
    buf->len = sizeof c->server->rbuf;
}

static void conn_input(httpd_conn_t *c, const char *data, size_t len);

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    httpd_conn_t *c = st->data;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        if (nread == UV_EOF && !c->lingering) {
            httpd_conn_feed_eof(c);
            return;
        }
        conn_close(c);
        return;
    }
    if (c->lingering || c->read_closed)
        return; /* discarded */
    conn_input(c, buf->base, (size_t)nread);
}

static void read_start(httpd_conn_t *c)
{
    if (c->reading || c->detached)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
    else
        conn_close(c);
}

static void read_stop(httpd_conn_t *c)
{
    if (!c->reading)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

static void resume_schedule(httpd_conn_t *c)
{
    httpd_t *s = c->server;
    if (c->resume_queued || s->destroying)
        return;
    c->resume_queued = true;
    c->resume_next = s->resume_head;
    s->resume_head = c;
    uv_idle_start(&s->resume_idle, on_resume);
}

/* Parse what was stashed under backpressure, now that answers have drained. */
static void on_resume(uv_idle_t *h)
{
    httpd_t *s = h->data;
    httpd_conn_t *list = s->resume_head;
    s->resume_head = NULL;
    uv_idle_stop(h);
    /* Connections closed meanwhile stay allocated until their close callbacks, which run
     * after this one; closing ones are skipped. */
    while (list) {
        httpd_conn_t *c = list;
        list = c->resume_next;
        c->resume_next = NULL;
        c->resume_queued = false;
        if (c->closing || !c->stash.len)
            continue;
        size_t used = httpd_conn_parse(c, c->stash.data, c->stash.len);
        if (c->closing)
            continue;
        memmove(c->stash.data, c->stash.data + used, c->stash.len - used);
        c->stash.len -= used;
        httpd_conn_update(c);
    }
}

static void conn_input(httpd_conn_t *c, const char *data, size_t len)
{
    if (c->stash.len > 0) {
        /* Earlier input waits to be parsed; keep the order. (Only a detached connection gets
         * here: a socket is not read while something is stashed.) */
        if (httpd_buf_append(&c->stash, data, len) != 0)
            conn_close(c);
        httpd_conn_update(c);
        return;
    }
    size_t used = httpd_conn_parse(c, data, len);
    if (used < len && !c->read_closed && !c->closing &&
        httpd_buf_append(&c->stash, data + used, len - used) != 0)
        conn_close(c);
    httpd_conn_update(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    httpd_conn_t *c = req->handle->data;
    if (status < 0)
        conn_close(c);
}

static void conn_linger(httpd_conn_t *c)
{
    c->lingering = true;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    unsigned ms = c->server->opts.request_timeout_ms;
    timer_set(c, CONN_TIMER_LINGER, ms < HTTPD_LINGER_MAX_MS ? ms : HTTPD_LINGER_MAX_MS);
    read_start(c);
}

void httpd_conn_update(httpd_conn_t *c)
{
    if (c->closing || c->in_parse)
        return;
    if (c->peer_eof && !c->stash.len)
        c->read_closed = true;
    if (c->read_closed) {
        httpd_conn_drop_cur(c);
        if (c->lingering)
            return;
        read_stop(c);
        if (c->qhead)
            timer_set(c, CONN_TIMER_NONE, 0); /* waiting for handlers */
        else if (c->writes_inflight)
            idle_timer_ensure(c); /* a client that stops reading is dropped */
        else if (c->peer_eof || c->detached)
            conn_close(c);
        else
            conn_linger(c);
        return;
    }
    bool throttled = httpd_conn_throttled(c);
    if (c->stash.len) {
        read_stop(c);
        if (!throttled)
            resume_schedule(c);
    } else if (throttled || c->peer_eof) {
        read_stop(c);
    } else {
        read_start(c);
    }
    if (c->cur)
        return; /* the request timer runs from the request's first byte */
    if (!c->qhead && !c->stash.len)
        idle_timer_ensure(c);
    else
        timer_set(c, CONN_TIMER_NONE, 0);
}

/* ---- connection: writing ---- */

static void on_write(uv_write_t *w, int status)
{
    write_req_t *wr = (write_req_t *)w;
    httpd_conn_t *c = w->handle->data;
    free(wr->data);
    free(wr);
    c->writes_inflight--;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->timer_kind == CONN_TIMER_IDLE)
        timer_set(c, CONN_TIMER_IDLE, c->server->opts.idle_timeout_ms); /* progress */
    httpd_conn_update(c);
}

void httpd_conn_write(httpd_conn_t *c, httpd_buf_t *data)
{
    if (c->detached) {
        c->sink(c->sink_ctx, data->data, data->len);
        httpd_buf_free(data);
        return;
    }
    write_req_t *wr = malloc(sizeof *wr);
    if (!wr) {
        httpd_buf_free(data);
        c->write_done = c->read_closed = c->peer_eof = true; /* give up on this connection */
        return;
    }
    wr->data = data->data;
    uv_buf_t b = uv_buf_init(data->data, (unsigned)data->len);
    data->data = NULL;
    data->len = data->cap = 0;
    int rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc != 0) {
        free(wr->data);
        free(wr);
        c->write_done = c->read_closed = c->peer_eof = true;
        return;
    }
    c->writes_inflight++;
}

/* ---- accepting ---- */

static void peer_name(httpd_conn_t *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[48] = "?";
    unsigned port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof host);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    snprintf(c->peer, sizeof c->peer, "%s:%u", host, port);
    snprintf(c->addr, sizeof c->addr, "%s", host);
}

/* Refuse a new connection with 503 and close it; under a flood of refusals, without even
 * an answer. */
static void refuse(httpd_t *s, httpd_conn_t *c, const char *msg)
{
    c->refused = true;
    if (s->nconns_open - s->nconns_serving > s->opts.max_connections) {
        conn_close(c);
        return;
    }
    httpd_conn_fail(c, 503, msg);
    httpd_conn_update(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
    httpd_t *s = listener->data;
    if (status < 0) {
        SLOG_WARN("http_accept_failed", "error=%s next=continuing", uv_strerror(status));
        return;
    }
    httpd_conn_t *c = conn_new(s);
    if (!c) {
        SLOG_ERROR("http_accept_failed", "error=out_of_memory next=continuing");
        return;
    }
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    c->handles_open++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        c->refused = true;
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    peer_name(c);
    unsigned max = s->opts.max_connections;
    char msg[120];
    if (s->nconns_serving >= max) {
        snprintf(msg, sizeof msg, "too many connections (limit %u)", max);
        refuse(s, c, msg);
        return;
    }
    if (!addr_take(s, c)) {
        s->refused_per_address++;
        snprintf(msg, sizeof msg, "too many connections from %s (limit %u per address): "
                 "close idle ones", c->addr, s->opts.max_per_address);
        refuse(s, c, msg);
        return;
    }
    s->nconns_serving++;
    httpd_conn_update(c);
}

/* ---- detached connections (fuzzing, tests) ---- */

int httpd_conn_open_detached(httpd_t *self, httpd_sink_fn sink, void *ctx, httpd_conn_t **out)
{
    *out = NULL;
    if (!self || !sink || self->destroying)
        return HL_EINVAL;
    httpd_conn_t *c = conn_new(self);
    if (!c)
        return HL_ENOMEM;
    c->detached = true;
    c->sink = sink;
    c->sink_ctx = ctx;
    snprintf(c->peer, sizeof c->peer, "detached");
    httpd_conn_update(c);
    *out = c;
    return 0;
}

void httpd_conn_feed(httpd_conn_t *c, const char *data, size_t len)
{
    if (c->closing || c->lingering || c->read_closed || len == 0)
        return;
    conn_input(c, data, len);
}

void httpd_conn_feed_eof(httpd_conn_t *c)
{
    if (c->closing)
        return;
    if (c->lingering) {
        conn_close(c);
        return;
    }
    /* A half-close: what was fully received is still answered. */
    c->peer_eof = true;
    httpd_conn_update(c);
}

bool httpd_conn_is_closed(const httpd_conn_t *c)
{
    return c->closing;
}
