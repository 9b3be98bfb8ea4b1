/* test_httpd: the HTTP server in-process. One thread: the test drives the uv loop itself
 * (pump) and talks to the server over raw loopback sockets, so it can check exactly what is or
 * is not on the wire at a given point (e.g. that an early answer waits for an earlier request).
 * Every wait is bounded by a deadline. */
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

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop for at most ms (less if a timer or I/O is due). */
static void pump(fixture_t *fx, int ms)
{
    struct pollfd p = {.fd = uv_backend_fd(&fx->loop), .events = POLLIN};
    int t = uv_backend_timeout(&fx->loop);
    if (t < 0 || t > ms)
        t = ms;
    poll(&p, 1, t);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
}

/* ---- handlers ---- */

static void h_hello(httpd_req_t *req, void *ctx)
{
    httpd_respond(req, 200, "text/plain", "hello\n", 6);
}

static void h_echo(httpd_req_t *req, void *ctx)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    httpd_respond(req, 200, "application/octet-stream", body, len);
}

static void h_hold(httpd_req_t *req, void *ctx)
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

static void slow_closed(uv_handle_t *h)
{
    slow_op_t *op = h->data;
    op->fx->slow_open--;
    free(op);
}

static void slow_fire(uv_timer_t *t)
{
    slow_op_t *op = t->data;
    httpd_respond(op->req, 200, "text/plain", op->body, strlen(op->body));
    uv_close((uv_handle_t *)t, slow_closed);
}

static void h_slow(httpd_req_t *req, void *ctx)
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
static void h_any(httpd_req_t *req, void *ctx)
{
    char out[512];
    int n = snprintf(out, sizeof out, "%s %s?%s", httpd_req_method(req), httpd_req_path(req),
                     httpd_req_query(req));
    httpd_respond(req, 200, "text/plain", out, (size_t)n);
}

static void h_hdr(httpd_req_t *req, void *ctx)
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

static void h_close(httpd_req_t *req, void *ctx)
{
    httpd_req_add_header(req, "Connection", "close");
    httpd_respond(req, 200, "text/plain", "bye\n", 4);
}

static void h_stop(httpd_req_t *req, void *ctx)
{
    fixture_t *fx = ctx;
    httpd_respond(req, 200, "text/plain", "stopping\n", 9);
    for (size_t i = 0; i < fx->nheld; i++)
        fx->held[i] = NULL; /* freed by httpd_destroy */
    httpd_destroy(&fx->srv);
}

static void h_nocontent(httpd_req_t *req, void *ctx)
{
    httpd_respond(req, 204, NULL, NULL, 0);
}

static void h_badstatus(httpd_req_t *req, void *ctx)
{
    httpd_respond(req, 99, "text/plain", "x", 1); /* a handler bug: sent as 500 */
}

/* ---- fixture ---- */

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx || uv_loop_init(&fx->loop) != 0)
        return -1;
    *state = fx;
    return 0;
}

static void start(fixture_t *fx, const httpd_opts_t *opts_in)
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

static void answer_held(fixture_t *fx, size_t i)
{
    assert_non_null(fx->held[i]);
    httpd_req_t *req = fx->held[i];
    fx->held[i] = NULL;
    char body[64];
    int n = snprintf(body, sizeof body, "held %s", httpd_req_query(req));
    httpd_respond(req, 200, "text/plain", body, (size_t)n);
}

static int teardown(void **state)
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

static void cl_open(fixture_t *fx, client_t *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(cl->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(httpd_port(fx->srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Loopback connects complete in the kernel; the server accepts on the next pump. */
    assert_int_equal(connect(cl->fd, (struct sockaddr *)&sa, sizeof sa), 0);
}

static void cl_close(client_t *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
    free(cl->buf);
    cl->buf = NULL;
    cl->len = cl->cap = 0;
}

static void cl_send_n(fixture_t *fx, client_t *cl, const char *data, size_t len)
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

static void cl_send(fixture_t *fx, client_t *cl, const char *text)
{
    cl_send_n(fx, cl, text, strlen(text));
}

/* Read what is available without blocking; returns bytes read, sets eof. */
static size_t cl_fill(client_t *cl)
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

static const char *find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

/* Copy the value of a response header into out; false when absent. */
static bool resp_header(const resp_t *r, const char *name, char *out, size_t out_size)
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
static bool take_response(client_t *cl, resp_t *r, bool head_request)
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

static void read_response_ex(fixture_t *fx, client_t *cl, resp_t *r, bool head_request)
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

static void read_response(fixture_t *fx, client_t *cl, resp_t *r)
{
    read_response_ex(fx, cl, r, false);
}

static void resp_free(resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* Wait until the server closes the connection; returns how long it took. Fails the test if
 * it does not happen within the deadline. */
static uint64_t wait_eof(fixture_t *fx, client_t *cl)
{
    uint64_t start = now_ms();
    while (!cl->eof) {
        assert_true(now_ms() < start + DEADLINE_MS);
        pump(fx, 10);
        cl_fill(cl);
    }
    return now_ms() - start;
}

static void pump_until_held(fixture_t *fx, size_t n)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (fx->nheld < n) {
        assert_true(now_ms() < deadline);
        pump(fx, 10);
    }
}

/* Nothing from the server is waiting on the socket. Answers are written synchronously by
 * httpd_respond when the socket accepts them, so this checks nothing was sent. */
static void assert_nothing_received(fixture_t *fx, client_t *cl)
{
    for (int i = 0; i < 5; i++)
        uv_run(&fx->loop, UV_RUN_NOWAIT);
    cl_fill(cl);
    assert_int_equal(cl->len, 0);
    assert_false(cl->eof);
}

/* ---- tests ---- */

static void test_hello_keepalive(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    resp_t r;
    for (int i = 0; i < 3; i++) {
        cl_send(fx, &cl, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        read_response(fx, &cl, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hello\n");
        char v[64];
        assert_true(resp_header(&r, "Content-Length", v, sizeof v));
        assert_string_equal(v, "6");
        assert_true(resp_header(&r, "Content-Type", v, sizeof v));
        assert_string_equal(v, "text/plain");
        assert_true(resp_header(&r, "Date", v, sizeof v));
        assert_false(resp_header(&r, "Connection", v, sizeof v));
        resp_free(&r);
    }
    assert_int_equal(httpd_connections(fx->srv), 1);
    assert_int_equal(httpd_pending(fx->srv), 0);
    cl_close(&cl);
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (httpd_connections(fx->srv) != 0 && now_ms() < deadline)
        pump(fx, 10);
    assert_int_equal(httpd_connections(fx->srv), 0);
}

static void test_not_found_and_method(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    resp_t r;
    cl_send(fx, &cl, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"error\":{\"status\":404,\"message\":\"no such path: /x\"}}");
    char v[128];
    assert_true(resp_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/json");
    resp_free(&r);
    /* Known path, wrong method; the connection is still usable after a 404. */
    cl_send(fx, &cl, "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 405);
    assert_true(resp_header(&r, "Allow", v, sizeof v));
    assert_string_equal(v, "GET, HEAD");
    assert_non_null(strstr(r.body, "\"status\":405"));
    resp_free(&r);
    /* A path needing escapes in the JSON message stays valid JSON. */
    cl_send(fx, &cl, "GET /a%22b%5C%01%FF HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"error\":{\"status\":404,\"message\":\"no such path: "
                                "/a\\\"b\\\\\\u0001\\ufffd\"}}");
    resp_free(&r);
    cl_close(&cl);
}

static void test_pipeline_order_held(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    cl_send(fx, &cl,
            "GET /hold?first HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /hold?third HTTP/1.1\r\nHost: t\r\n\r\n");
    pump_until_held(fx, 2);
    assert_int_equal(httpd_pending(fx->srv), 2);
    /* /hello was answered at once, but must wait behind the first request. */
    assert_nothing_received(fx, &cl);
    answer_held(fx, 1);
    assert_nothing_received(fx, &cl);
    assert_int_equal(httpd_pending(fx->srv), 1);
    answer_held(fx, 0);
    resp_t r;
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "held first");
    resp_free(&r);
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "hello\n");
    resp_free(&r);
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "held third");
    resp_free(&r);
    assert_int_equal(httpd_pending(fx->srv), 0);
    cl_close(&cl);
}

static void test_pipeline_order_timer(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    cl_send(fx, &cl,
            "GET /slow?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /slow?ms=1 HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    resp_t r;
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "slow 100\n");
    resp_free(&r);
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "slow 1\n");
    resp_free(&r);
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "hello\n");
    resp_free(&r);
    cl_close(&cl);
}

static void test_chunked_body(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    cl_send(fx, &cl,
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhel");
    pump(fx, 5);
    cl_send(fx, &cl, "lo\r\n");
    pump(fx, 5);
    cl_send(fx, &cl, "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    resp_t r;
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello world");
    resp_free(&r);

    /* A larger body in chunks of varying size. */
    size_t total = 200000;
    char *payload = malloc(total);
    assert_non_null(payload);
    for (size_t i = 0; i < total; i++)
        payload[i] = (char)('a' + i % 26);
    cl_send(fx, &cl, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    size_t off = 0, step = 1;
    while (off < total) {
        size_t n = step < total - off ? step : total - off;
        char hdr[32];
        snprintf(hdr, sizeof hdr, "%zx\r\n", n);
        cl_send(fx, &cl, hdr);
        cl_send_n(fx, &cl, payload + off, n);
        cl_send(fx, &cl, "\r\n");
        off += n;
        step = step * 3 + 7;
    }
    cl_send(fx, &cl, "0\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, total);
    assert_memory_equal(r.body, payload, total);
    resp_free(&r);
    free(payload);
    cl_close(&cl);
}

static void test_body_limit(void **state)
{
    fixture_t *fx = *state;
    httpd_opts_t opts = {.listen = "127.0.0.1", .max_body_bytes = 1000};
    start(fx, &opts);
    /* Declared too large: refused before the body is sent. */
    client_t cl;
    cl_open(fx, &cl);
    cl_send(fx, &cl, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n");
    resp_t r;
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "{\"error\":{\"status\":413,\"message\":\"request body larger "
                                "than 1000 bytes\"}}");
    char v[32];
    assert_true(resp_header(&r, "Connection", v, sizeof v));
    assert_string_equal(v, "close");
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);

    /* Exactly the limit is fine. */
    cl_open(fx, &cl);
    char *req = malloc(2000);
    assert_non_null(req);
    int n = snprintf(req, 2000, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
    memset(req + n, 'x', 1000);
    cl_send_n(fx, &cl, req, (size_t)n + 1000);
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 1000);
    resp_free(&r);
    free(req);

    /* Chunked: only the running total can tell. */
    cl_send(fx, &cl, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[600];
    memset(chunk, 'y', sizeof chunk);
    cl_send(fx, &cl, "258\r\n");
    cl_send_n(fx, &cl, chunk, sizeof chunk);
    cl_send(fx, &cl, "\r\n258\r\n");
    cl_send_n(fx, &cl, chunk, sizeof chunk);
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);
}

static void test_header_limits(void **state)
{
    fixture_t *fx = *state;
    httpd_opts_t opts = {.listen = "127.0.0.1", .max_header_bytes = 1024};
    start(fx, &opts);
    char big[3000];
    memset(big, 'h', sizeof big);
    big[sizeof big - 1] = '\0';

    client_t cl;
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
    cl_send(fx, &cl, big);
    resp_t r;
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 431);
    assert_non_null(strstr(r.body, "\"status\":431"));
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);

    /* Many small headers add up too. */
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 100; i++)
        cl_send(fx, &cl, "X-A: 1234567890\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 431);
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);

    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /");
    cl_send(fx, &cl, big);
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 414);
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);
}

static void test_malformed(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET /hello HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "GET /hello XTTP/1.1\r\n\r\n",
        "GET /hello HTTP/a.1\r\n\r\n",
        "GET /he\x01llo HTTP/1.1\r\n\r\n",
        "GET /hello HTTP/1.1\r\nBad Header: v\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        client_t cl;
        cl_open(fx, &cl);
        cl_send(fx, &cl, bad[i]);
        resp_t r;
        read_response(fx, &cl, &r);
        if (r.status != 400)
            fail_msg("case %zu: status %d", i, r.status);
        assert_non_null(strstr(r.body, "{\"error\":{\"status\":400,\"message\":\"malformed"));
        resp_free(&r);
        wait_eof(fx, &cl);
        cl_close(&cl);
    }
}

static void test_path_and_query(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    resp_t r;
    cl_send(fx, &cl, "DELETE /p/a%20b+c?x=1&y=%20 HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "DELETE /p/a b+c?x=1&y=%20");
    resp_free(&r);
    /* Absolute form. */
    cl_send(fx, &cl, "GET http://example.org/p/abs?q HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "GET /p/abs?q");
    resp_free(&r);
    /* %00 and broken escapes never reach a handler; the framing was fine, so the connection
     * stays. */
    const char *bad[] = {"/p/%00", "/p/a%00b", "/p/%zz", "/p/%4"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char req[128];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", bad[i]);
        cl_send(fx, &cl, req);
        read_response(fx, &cl, &r);
        assert_int_equal(r.status, 400);
        resp_free(&r);
    }
    assert_int_equal(httpd_pending(fx->srv), 0);
    cl_send(fx, &cl, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    cl_close(&cl);
}

static void test_headers(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /hdr HTTP/1.1\r\nHost: t\r\nX-Empty:\r\nX-TEST:  v 1  \r\n\r\n");
    resp_t r;
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "x-test=[v 1] x-empty=[]");
    char v[64];
    assert_true(resp_header(&r, "X-Reply", v, sizeof v));
    assert_string_equal(v, "yes");
    /* The injected header and the handler's Content-Length were dropped. */
    assert_null(strstr(r.head, "Injected"));
    assert_null(strstr(r.head, "99"));
    resp_free(&r);
    cl_send(fx, &cl, "GET /hdr HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "x-test=[(none)] x-empty=[(none)]");
    resp_free(&r);
    /* HEAD on a GET route: headers with the length, no body (the next answer parses). */
    cl_send(fx, &cl, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response_ex(fx, &cl, &r, true);
    assert_int_equal(r.status, 200);
    assert_true(resp_header(&r, "Content-Length", v, sizeof v));
    assert_string_equal(v, "6");
    resp_free(&r);
    cl_send(fx, &cl, "DELETE /gone HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 204);
    assert_false(resp_header(&r, "Content-Length", v, sizeof v));
    resp_free(&r);
    cl_send(fx, &cl, "GET /badstatus HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 500);
    resp_free(&r);
    cl_send(fx, &cl, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "hello\n");
    resp_free(&r);
    cl_close(&cl);
}

static void test_idle_timeout(void **state)
{
    fixture_t *fx = *state;
    httpd_opts_t opts = {.listen = "127.0.0.1", .idle_timeout_ms = 200};
    start(fx, &opts);
    client_t cl;
    cl_open(fx, &cl);
    uint64_t took = wait_eof(fx, &cl);
    assert_int_equal(cl.len, 0); /* closed without an answer */
    assert_in_range(took, 150, 2000);
    cl_close(&cl);

    /* After an answer the connection is idle again. */
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    resp_t r;
    read_response(fx, &cl, &r);
    resp_free(&r);
    took = wait_eof(fx, &cl);
    assert_in_range(took, 100, 2000);
    cl_close(&cl);

    /* A request at a handler is not idle, however long it takes. */
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /slow?ms=400 HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "slow 400\n");
    resp_free(&r);
    cl_close(&cl);
}

static void test_request_timeout(void **state)
{
    fixture_t *fx = *state;
    httpd_opts_t opts = {
        .listen = "127.0.0.1", .request_timeout_ms = 200, .idle_timeout_ms = 60000};
    start(fx, &opts);
    client_t cl;
    cl_open(fx, &cl);
    uint64_t start_ms = now_ms();
    cl_send(fx, &cl, "GET /hello HTTP/1.1\r\nHo");
    resp_t r;
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 408);
    assert_in_range(now_ms() - start_ms, 150, 2000);
    assert_non_null(strstr(r.body, "\"status\":408"));
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);

    /* Trickling a body does not reset the clock. */
    cl_open(fx, &cl);
    cl_send(fx, &cl, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    start_ms = now_ms();
    memset(&r, 0, sizeof r);
    while (!take_response(&cl, &r, false)) {
        assert_true(now_ms() < start_ms + DEADLINE_MS);
        cl_send(fx, &cl, "x"); /* a slow client: one byte every 20 ms */
        uint64_t next = now_ms() + 20;
        while (now_ms() < next)
            pump(fx, 5);
        cl_fill(&cl);
    }
    assert_int_equal(r.status, 408);
    resp_free(&r);
    cl_close(&cl);
}

static void test_connection_limit(void **state)
{
    fixture_t *fx = *state;
    httpd_opts_t opts = {.listen = "127.0.0.1", .max_connections = 2};
    start(fx, &opts);
    client_t a, b, c;
    resp_t r;
    cl_open(fx, &a);
    cl_open(fx, &b);
    cl_send(fx, &a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    cl_send(fx, &b, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &a, &r);
    resp_free(&r);
    read_response(fx, &b, &r);
    resp_free(&r);
    assert_int_equal(httpd_connections(fx->srv), 2);
    cl_open(fx, &c);
    cl_send(fx, &c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &c, &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"status\":503"));
    resp_free(&r);
    wait_eof(fx, &c);
    cl_close(&c);
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (httpd_connections(fx->srv) != 2 && now_ms() < deadline)
        pump(fx, 10);
    assert_int_equal(httpd_connections(fx->srv), 2);
    /* Room again once one goes. */
    cl_close(&a);
    while (httpd_connections(fx->srv) != 1 && now_ms() < deadline)
        pump(fx, 10);
    cl_open(fx, &c);
    cl_send(fx, &c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &c, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    cl_close(&b);
    cl_close(&c);
}

static void test_http10_and_close(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    resp_t r;
    char v[32];
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /hello HTTP/1.0\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 200);
    assert_true(resp_header(&r, "Connection", v, sizeof v));
    assert_string_equal(v, "close");
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);

    cl_open(fx, &cl);
    for (int i = 0; i < 2; i++) {
        cl_send(fx, &cl, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        read_response(fx, &cl, &r);
        assert_true(resp_header(&r, "Connection", v, sizeof v));
        assert_string_equal(v, "keep-alive");
        resp_free(&r);
    }
    cl_close(&cl);

    /* Connection: close; what follows it is never answered. */
    cl_open(fx, &cl);
    cl_send(fx, &cl,
            "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_true(resp_header(&r, "Connection", v, sizeof v));
    assert_string_equal(v, "close");
    resp_free(&r);
    wait_eof(fx, &cl);
    assert_int_equal(cl.len, 0);
    cl_close(&cl);

    /* A handler asking to close. */
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /close HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "bye\n");
    assert_true(resp_header(&r, "Connection", v, sizeof v));
    assert_string_equal(v, "close");
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);

    /* A client that half-closes after its requests still gets its answers. */
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /slow?ms=50 HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    shutdown(cl.fd, SHUT_WR);
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "slow 50\n");
    resp_free(&r);
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "hello\n");
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);
}

static void test_expect_continue(void **state)
{
    fixture_t *fx = *state;
    httpd_opts_t opts = {.listen = "127.0.0.1", .max_body_bytes = 100};
    start(fx, &opts);
    client_t cl;
    resp_t r;
    cl_open(fx, &cl);
    cl_send(fx, &cl,
            "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            "Content-Length: 5\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 100);
    resp_free(&r);
    cl_send(fx, &cl, "abcde");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "abcde");
    resp_free(&r);

    /* Too large: 413 instead of 100, and no body is waited for. */
    cl_send(fx, &cl,
            "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            "Content-Length: 101\r\n\r\n");
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);

    /* Behind a held request, 100 Continue waits for the earlier answer. */
    cl_open(fx, &cl);
    cl_send(fx, &cl,
            "GET /hold?a HTTP/1.1\r\nHost: t\r\n\r\n"
            "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            "Content-Length: 2\r\n\r\n");
    pump_until_held(fx, 1);
    assert_nothing_received(fx, &cl);
    answer_held(fx, 0);
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "held a");
    resp_free(&r);
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 100);
    resp_free(&r);
    cl_send(fx, &cl, "ok");
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "ok");
    resp_free(&r);
    cl_close(&cl);
}

static void test_client_gone(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /hold?x HTTP/1.1\r\nHost: t\r\n\r\nGET /hold?y HTTP/1.1\r\n\r\n");
    pump_until_held(fx, 2);
    /* Reset rather than FIN: the server sees an error and closes at once. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(cl.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    cl_close(&cl);
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (httpd_connections(fx->srv) != 0 && now_ms() < deadline)
        pump(fx, 10);
    assert_int_equal(httpd_connections(fx->srv), 0);
    assert_int_equal(httpd_pending(fx->srv), 2);
    /* Still valid: accessors work, answers are dropped. */
    assert_string_equal(httpd_req_path(fx->held[1]), "/hold");
    assert_string_equal(httpd_req_query(fx->held[1]), "y");
    answer_held(fx, 1);
    answer_held(fx, 0);
    assert_int_equal(httpd_pending(fx->srv), 0);
    for (int i = 0; i < 5; i++)
        pump(fx, 1);
}

static void test_backpressure(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    enum { N = 150 };
    char *reqs = malloc(N * 64);
    assert_non_null(reqs);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(reqs + len, "GET /hold?%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
    cl_send_n(fx, &cl, reqs, len);
    free(reqs);
    pump_until_held(fx, HTTPD_PIPELINE_MAX);
    for (int i = 0; i < 20; i++)
        pump(fx, 2);
    assert_int_equal(fx->nheld, HTTPD_PIPELINE_MAX); /* stopped reading */
    assert_int_equal(httpd_pending(fx->srv), HTTPD_PIPELINE_MAX);
    /* Answering a few is not enough (hysteresis) ... */
    for (size_t i = 0; i < 10; i++)
        answer_held(fx, i);
    for (int i = 0; i < 20; i++)
        pump(fx, 2);
    assert_int_equal(fx->nheld, HTTPD_PIPELINE_MAX);
    /* ... down to half resumes. Answers are read as they come so the socket never fills. */
    size_t next_answer = 10;
    int next_read = 0;
    resp_t r;
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (next_read < N) {
        assert_true(now_ms() < deadline);
        while (next_answer < fx->nheld)
            answer_held(fx, next_answer++);
        pump(fx, 5);
        cl_fill(&cl);
        while (take_response(&cl, &r, false)) {
            char want[32];
            snprintf(want, sizeof want, "held %d", next_read);
            assert_string_equal(r.body, want);
            resp_free(&r);
            next_read++;
        }
        assert_true(httpd_pending(fx->srv) <= HTTPD_PIPELINE_MAX);
    }
    assert_int_equal(fx->nheld, N);
    cl_close(&cl);
}

static void test_query_param(void **state)
{
    char out[16];
    assert_int_equal(httpd_query_param("a=1&b=x+y%21&c", "b", out, sizeof out), 4);
    assert_string_equal(out, "x y!");
    assert_int_equal(httpd_query_param("a=1&b=2", "a", out, sizeof out), 1);
    assert_string_equal(out, "1");
    assert_int_equal(httpd_query_param("a=1&c", "c", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(httpd_query_param("a=1", "b", out, sizeof out), HL_ENOTFOUND);
    assert_int_equal(httpd_query_param("", "a", out, sizeof out), HL_ENOTFOUND);
    assert_int_equal(httpd_query_param(NULL, "a", out, sizeof out), HL_ENOTFOUND);
    assert_int_equal(httpd_query_param("ab=1", "a", out, sizeof out), HL_ENOTFOUND);
    assert_int_equal(httpd_query_param("my+key=v&my%20key=w", "my key", out, sizeof out), 1);
    assert_string_equal(out, "v");
    assert_int_equal(httpd_query_param("a=0123456789abcdef", "a", out, sizeof out), HL_ETOOBIG);
    assert_int_equal(httpd_query_param("a=0123456789abcde", "a", out, sizeof out), 15);
    assert_int_equal(httpd_query_param("a=%00x", "a", out, sizeof out), HL_EINVAL);
    assert_int_equal(httpd_query_param("a=%zz%4", "a", out, sizeof out), 5);
    assert_string_equal(out, "%zz%4");
    assert_int_equal(httpd_query_param("a=1&a=2", "a", out, sizeof out), 1);
    assert_string_equal(out, "1");
    assert_int_equal(httpd_query_param("=v&a=%e4%bd%a0", "a", out, sizeof out), 3);
    assert_string_equal(out, "\xe4\xbd\xa0");
    assert_int_equal(httpd_query_param("a=1", "a", out, 1), HL_ETOOBIG);
}

static void test_create_errors(void **state)
{
    fixture_t *fx = *state;
    httpd_t *s = (httpd_t *)1;
    httpd_opts_t opts = {.listen = "999.1.2.3"};
    assert_int_equal(httpd_create(&s, &fx->loop, &opts), HL_EINVAL);
    assert_null(s);
    opts.listen = "not an address";
    assert_int_equal(httpd_create(&s, &fx->loop, &opts), HL_EINVAL);
    start(fx, NULL);
    opts.listen = "127.0.0.1";
    opts.port = httpd_port(fx->srv);
    assert_int_equal(httpd_create(&s, &fx->loop, &opts), HL_EEXIST);
    assert_null(s);
    assert_int_equal(httpd_route(fx->srv, "GET", "nope", h_hello, NULL), HL_EINVAL);
    httpd_destroy(NULL);
    httpd_t *none = NULL;
    httpd_destroy(&none);
}

static void test_destroy_with_open_work(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t a, b;
    cl_open(fx, &a);
    cl_open(fx, &b);
    cl_send(fx, &a, "GET /hold?1 HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    cl_send(fx, &b, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    pump_until_held(fx, 1);
    for (int i = 0; i < 5; i++)
        pump(fx, 2);
    assert_int_equal(httpd_connections(fx->srv), 2);
    /* Unanswered requests are freed by destroy (checked by ASan/LSan). */
    fx->held[0] = NULL;
    httpd_destroy(&fx->srv);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    cl_fill(&a);
    cl_fill(&b);
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while ((!a.eof || !b.eof) && now_ms() < deadline) {
        cl_fill(&a);
        cl_fill(&b);
    }
    assert_true(a.eof && b.eof);
    cl_close(&a);
    cl_close(&b);
}

static void test_error_after_pipelined(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t cl;
    cl_open(fx, &cl);
    cl_send(fx, &cl, "GET /hold?1 HTTP/1.1\r\nHost: t\r\n\r\nGARBAGE\r\n\r\n");
    pump_until_held(fx, 1);
    /* The 400 is ready, but goes out only after the earlier answer; then the close. */
    assert_nothing_received(fx, &cl);
    answer_held(fx, 0);
    resp_t r;
    read_response(fx, &cl, &r);
    assert_string_equal(r.body, "held 1");
    resp_free(&r);
    read_response(fx, &cl, &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    wait_eof(fx, &cl);
    cl_close(&cl);
}

static void test_destroy_from_handler(void **state)
{
    fixture_t *fx = *state;
    start(fx, NULL);
    client_t a, b;
    cl_open(fx, &a);
    cl_open(fx, &b);
    cl_send(fx, &a, "GET /hold?1 HTTP/1.1\r\nHost: t\r\n\r\n");
    pump_until_held(fx, 1);
    cl_send(fx, &b,
            "POST /stop HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
            "GET /hello HTTP/1.1\r\n\r\n");
    uint64_t deadline = now_ms() + DEADLINE_MS;
    while (fx->srv && now_ms() < deadline)
        pump(fx, 10);
    assert_null(fx->srv);
    uv_run(&fx->loop, UV_RUN_DEFAULT); /* everything closes and is freed */
    wait_eof(fx, &a);
    wait_eof(fx, &b);
    assert_non_null(strstr(b.buf, "stopping")); /* written before the close */
    assert_null(strstr(b.buf, "hello"));
    cl_close(&a);
    cl_close(&b);
}

/* ---- detached connections: the same protocol without sockets ---- */

typedef struct sink {
    httpd_buf_t out;
    int calls;
} sink_t;

static void sink_fn(void *ctx, const char *data, size_t len)
{
    sink_t *s = ctx;
    s->calls++;
    assert_int_equal(httpd_buf_append(&s->out, data, len), 0);
}

static void test_detached_bytewise(void **state)
{
    fixture_t *fx = *state;
    httpd_opts_t opts = {0};
    assert_int_equal(httpd_create_unbound(&fx->srv, &fx->loop, &opts), 0);
    assert_int_equal(httpd_route(fx->srv, "GET", "/hello", h_hello, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "POST", "/echo", h_echo, fx), 0);
    assert_int_equal(httpd_route(fx->srv, "GET", "/hold", h_hold, fx), 0);
    sink_t sink = {0};
    httpd_conn_t *c;
    assert_int_equal(httpd_conn_open_detached(fx->srv, sink_fn, &sink, &c), 0);
    const char *in = "\r\nGET /hold?a HTTP/1.1\r\nHost: t\r\n\r\n"
                     "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n0\r\n\r\n"
                     "GET /nope HTTP/1.1\r\n\r\n"
                     "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"
                     "GET /hello HTTP/1.1\r\n\r\n";
    for (size_t i = 0; in[i]; i++)
        httpd_conn_feed(c, in + i, 1);
    assert_int_equal(fx->nheld, 1);
    assert_int_equal(sink.calls, 0);
    answer_held(fx, 0);
    assert_int_equal(sink.calls, 4);
    const char *o = sink.out.data;
    const char *p1 = strstr(o, "held a");
    const char *p2 = strstr(o, "\r\n\r\nabc");
    const char *p3 = strstr(o, "404 Not Found");
    const char *p4 = strstr(o, "hello\n");
    assert_true(p1 && p2 && p3 && p4 && p1 < p2 && p2 < p3 && p3 < p4);
    assert_null(strstr(p4 + 1, "hello\n")); /* nothing after Connection: close */
    for (int i = 0; i < 3; i++)
        uv_run(&fx->loop, UV_RUN_NOWAIT);
    assert_true(httpd_conn_is_closed(c));
    httpd_conn_feed(c, "GET / HTTP/1.1\r\n\r\n", 18); /* ignored, not a crash */
    httpd_buf_free(&sink.out);
}

static void test_util(void **state)
{
    char out[64];
    assert_int_equal(httpd_path_decode("/a%2Fb%41", 9, out), 5);
    assert_string_equal(out, "/a/bA");
    assert_int_equal(httpd_path_decode("/%00", 4, out), HL_EINVAL);
    assert_int_equal(httpd_path_decode("/%0", 3, out), HL_EINVAL);
    assert_int_equal(httpd_path_decode("/%", 2, out), HL_EINVAL);
    assert_int_equal(httpd_path_decode("/%g0", 4, out), HL_EINVAL);
    httpd_buf_t b = {0};
    assert_int_equal(httpd_error_json(&b, 400, "tab\there \xe4\xbd\xa0 \xc0\xaf \xed\xa0\x80"), 0);
    assert_string_equal(b.data, "{\"error\":{\"status\":400,\"message\":\"tab\\u0009here "
                                "\xe4\xbd\xa0 \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\"}}");
    httpd_buf_free(&b);
    httpd_format_date(784111777, out, sizeof out);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_string_equal(httpd_status_reason(404), "Not Found");
    assert_string_equal(httpd_status_reason(299), "Status");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    slog_init("test_httpd", SLOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_order_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_order_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
        cmocka_unit_test(test_query_param),
        cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_with_open_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_after_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_from_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detached_bytewise, setup, teardown),
        cmocka_unit_test(test_util),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
