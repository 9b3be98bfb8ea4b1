/* httpd_fixture: what the test_httpd* programs share. One thread: a test drives the uv loop
 * itself (pump) and talks to the server over raw loopback sockets, so it can check exactly what
 * is or is not on the wire at a given point (e.g. that an early answer waits for an earlier
 * request). Every wait is bounded by a deadline.
 *
 * start() serves a fixed set of handlers (/hello, /echo, /hold, /slow, ...); client_t is a raw
 * socket with a receive buffer and read_response() takes one parsed answer off it. Everything is
 * static inline so each test program compiles only what it uses. */
#ifndef HOTLINE_TESTS_UNIT_HTTPD_FIXTURE_H
#define HOTLINE_TESTS_UNIT_HTTPD_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hl_error.h"
#include "httpd.h"
#include "httpd_internal.h"
#include "slog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 5000

typedef struct fixture {
    uv_loop_t loop;
    httpd_t *srv;
    httpd_req_t *held[256]; /* requests to /hold, in arrival order, NULL once answered */
    size_t nheld;
    int slow_open; /* /slow timers not yet closed */
} fixture_t;

typedef struct client {
    int fd;
    char *buf;
    size_t len;
    size_t cap;
    bool eof;
} client_t;

typedef struct resp {
    int status;
    char head[16384];
    char *body;
    size_t body_len;
} resp_t;

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop for at most ms (less if a timer or I/O is due). */
static inline void pump(fixture_t *fx, int ms)
{
    struct pollfd p = {.fd = uv_backend_fd(&fx->loop), .events = POLLIN};
    int t = uv_backend_timeout(&fx->loop);
    if (t < 0 || t > ms)
        t = ms;
    poll(&p, 1, t);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
}

/* ---- handlers ---- */

static inline void h_hello(httpd_req_t *req, void *ctx)
{
    httpd_respond(req, 200, "text/plain", "hello\n", 6);
}

static inline void h_echo(httpd_req_t *req, void *ctx)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    httpd_respond(req, 200, "application/octet-stream", body, len);
}

static inline void h_hold(httpd_req_t *req, void *ctx)
{
    fixture_t *fx = ctx;
    assert_true(fx->nheld < sizeof fx->held / sizeof fx->held[0]);
    fx->held[fx->nheld++] = req;
}

typedef struct slow_op {
    uv_timer_t timer;
    httpd_req_t *req;
    fixture_t *fx;
    char body[32];
} slow_op_t;

static inline void slow_closed(uv_handle_t *h)
{
    slow_op_t *op = h->data;
    op->fx->slow_open--;
    free(op);
}

static inline void slow_fire(uv_timer_t *t)
{
    slow_op_t *op = t->data;
    httpd_respond(op->req, 200, "text/plain", op->body, strlen(op->body));
    uv_close((uv_handle_t *)t, slow_closed);
}

static inline void h_slow(httpd_req_t *req, void *ctx)
{
    fixture_t *fx = ctx;
    char ms[16];
    int n = httpd_query_param(httpd_req_query(req), "ms", ms, sizeof ms);
    slow_op_t *op = calloc(1, sizeof *op);
    assert_non_null(op);
    op->req = req;
    op->fx = fx;
    snprintf(op->body, sizeof op->body, "slow %s\n", n > 0 ? ms : "0");
    uv_timer_init(&fx->loop, &op->timer);
    op->timer.data = op;
    fx->slow_open++;
    uv_timer_start(&op->timer, slow_fire, n > 0 ? strtoul(ms, NULL, 10) : 0, 0);
}

/* Echo method, path and query: "DELETE /p/a b?x=1". */
static inline void h_any(httpd_req_t *req, void *ctx)
{
    char out[512];
    int n = snprintf(out, sizeof out, "%s %s?%s", httpd_req_method(req), httpd_req_path(req),
                     httpd_req_query(req));
    httpd_respond(req, 200, "text/plain", out, (size_t)n);
}

static inline void h_hdr(httpd_req_t *req, void *ctx)
{
    const char *v = httpd_req_header(req, "x-test");
    const char *e = httpd_req_header(req, "X-Empty");
    char out[256];
    int n =
        snprintf(out, sizeof out, "x-test=[%s] x-empty=[%s]", v ? v : "(none)", e ? e : "(none)");
    httpd_req_add_header(req, "X-Reply", "yes");
    httpd_req_add_header(req, "X-Bad", "a\r\nInjected: 1");
    httpd_req_add_header(req, "Content-Length", "99");
    httpd_respond(req, 200, "text/plain", out, (size_t)n);
}

static inline void h_close(httpd_req_t *req, void *ctx)
{
    httpd_req_add_header(req, "Connection", "close");
    httpd_respond(req, 200, "text/plain", "bye\n", 4);
}

static inline void h_stop(httpd_req_t *req, void *ctx)
{
    fixture_t *fx = ctx;
    httpd_respond(req, 200, "text/plain", "stopping\n", 9);
    for (size_t i = 0; i < fx->nheld; i++)
        fx->held[i] = NULL; /* freed by httpd_destroy */
    httpd_destroy(&fx->srv);
}

static inline void h_nocontent(httpd_req_t *req, void *ctx)
{
    httpd_respond(req, 204, NULL, NULL, 0);
}

static inline void h_badstatus(httpd_req_t *req, void *ctx)
{
    httpd_respond(req, 99, "text/plain", "x", 1); /* a handler bug: sent as 500 */
}

/* ---- fixture ---- */

static inline int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx || uv_loop_init(&fx->loop) != 0)
        return -1;
    *state = fx;
    return 0;
}

static inline void start(fixture_t *fx, const httpd_opts_t *opts_in)
{
    httpd_opts_t opts = {.listen = "127.0.0.1"};
    if (opts_in)
        opts = *opts_in;
    assert_int_equal(httpd_create(&fx->srv, &fx->loop, &opts), 0);
    assert_non_null(fx->srv);
    assert_int_not_equal(httpd_port(fx->srv), 0);
    assert_int_equal(httpd_route(fx->srv, "GET", "/hello", h_hello, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "POST", "/echo", h_echo, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "GET", "/hold", h_hold, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "GET", "/slow", h_slow, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "GET", "/hdr", h_hdr, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "GET", "/close", h_close, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "DELETE", "/gone", h_nocontent, fx), 0);
    assert_int_equal(httpd_route(fx->srv, NULL, "/p/*", h_any, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "POST", "/stop", h_stop, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "GET", "/badstatus", h_badstatus, fx), 0);
}

static inline void answer_held(fixture_t *fx, size_t i)
{
    assert_non_null(fx->held[i]);
    httpd_req_t *req = fx->held[i];
    fx->held[i] = NULL;
    char body[64];
    int n = snprintf(body, sizeof body, "held %s", httpd_req_query(req));
    httpd_respond(req, 200, "text/plain", body, (size_t)n);
}

static inline int teardown(void **state)
{
    fixture_t *fx = *state;
    for (size_t i = 0; i < fx->nheld; i++)
        if (fx->held[i])
            answer_held(fx, i);
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (fx->slow_open > 0 && now_ms() < deadline)
        pump(fx, 10);
    httpd_destroy(&fx->srv);
    assert_null(fx->srv);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&fx->loop);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* ---- client ---- */

static inline void cl_open(fixture_t *fx, client_t *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(cl->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(httpd_port(fx->srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Loopback connects complete in the kernel; the server accepts on the next pump. */
    assert_int_equal(connect(cl->fd, (struct sockaddr *)&sa, sizeof sa), 0);
}

static inline void cl_close(client_t *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
    free(cl->buf);
    cl->buf = NULL;
    cl->len = cl->cap = 0;
}

static inline void cl_send_n(fixture_t *fx, client_t *cl, const char *data, size_t len)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (len > 0) {
        ssize_t n = send(cl->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        assert_true(now_ms() < deadline);
        pump(fx, 5); /* let the server read */
    }
}

static inline void cl_send(fixture_t *fx, client_t *cl, const char *text)
{
    cl_send_n(fx, cl, text, strlen(text));
}

/* Read what is available without blocking; returns bytes read, sets eof. */
static inline size_t cl_fill(client_t *cl)
{
    size_t total = 0;
    for (;;) {
        if (cl->cap - cl->len < 65536) {
            cl->cap = cl->cap ? cl->cap * 2 : 131072;
            cl->buf = realloc(cl->buf, cl->cap);
            assert_non_null(cl->buf);
        }
        ssize_t n = recv(cl->fd, cl->buf + cl->len, cl->cap - cl->len - 1, MSG_DONTWAIT);
        if (n > 0) {
            cl->len += (size_t)n;
            total += (size_t)n;
            continue;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            cl->eof = true;
        break;
    }
    if (cl->buf)
        cl->buf[cl->len] = '\0';
    return total;
}

static inline const char *find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

/* Copy the value of a response header into out; false when absent. */
static inline bool resp_header(const resp_t *r, const char *name, char *out, size_t out_size)
{
    char key[128];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *p = find_ci(r->head, key);
    if (!p)
        return false;
    p += strlen(key);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    snprintf(out, out_size, "%.*s", (int)n, p);
    return true;
}

/* Try to take one complete response off the client's buffer. */
static inline bool take_response(client_t *cl, resp_t *r, bool head_request)
{
    if (!cl->buf)
        return false;
    char *end = strstr(cl->buf, "\r\n\r\n");
    if (!end)
        return false;
    size_t head_len = (size_t)(end - cl->buf) + 4;
    assert_true(head_len < sizeof r->head);
    memcpy(r->head, cl->buf, head_len);
    r->head[head_len] = '\0';
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
    size_t body_len = 0;
    char v[64];
    if (resp_header(r, "Content-Length", v, sizeof v))
        body_len = strtoul(v, NULL, 10);
    else
        assert_true(r->status < 200 || r->status == 204 || r->status == 304);
    if (head_request || r->status < 200)
        body_len = 0;
    if (cl->len < head_len + body_len)
        return false;
    r->body = malloc(body_len + 1);
    assert_non_null(r->body);
    memcpy(r->body, cl->buf + head_len, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
    memmove(cl->buf, cl->buf + head_len + body_len, cl->len - head_len - body_len);
    cl->len -= head_len + body_len;
    cl->buf[cl->len] = '\0';
    return true;
}

static inline void read_response_ex(fixture_t *fx, client_t *cl, resp_t *r, bool head_request)
{
    memset(r, 0, sizeof *r);
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (!take_response(cl, r, head_request)) {
        assert_false(cl->eof);
        assert_true(now_ms() < deadline);
        pump(fx, 10);
        cl_fill(cl);
    }
}

static inline void read_response(fixture_t *fx, client_t *cl, resp_t *r)
{
    read_response_ex(fx, cl, r, false);
}

static inline void resp_free(resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* Wait until the server closes the connection; returns how long it took. Fails the test if
 * it does not happen within the deadline. */
static inline uint64_t wait_eof(fixture_t *fx, client_t *cl)
{
    uint64_t start = now_ms();
    while (!cl->eof) {
        assert_true(now_ms() < start + DEADLINE_MS);
        pump(fx, 10);
        cl_fill(cl);
    }
    return now_ms() - start;
}

static inline void pump_until_held(fixture_t *fx, size_t n)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (fx->nheld < n) {
        assert_true(now_ms() < deadline);
        pump(fx, 10);
    }
}

/* Nothing from the server is waiting on the socket. Answers are written synchronously by
 * httpd_respond when the socket accepts them, so this checks nothing was sent. */
static inline void assert_nothing_received(fixture_t *fx, client_t *cl)
{
    for (int i = 0; i < 5; i++)
        uv_run(&fx->loop, UV_RUN_NOWAIT);
    cl_fill(cl);
    assert_int_equal(cl->len, 0);
    assert_false(cl->eof);
}

#endif
