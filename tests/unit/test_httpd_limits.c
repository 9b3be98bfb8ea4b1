/* test_httpd_limits: the HTTP server's limits and timeouts: body and header sizes,
 * malformed requests (400 and close), idle and request timeouts, the connection limit. The
 * shared fixture is httpd_fixture.h. */
#include "httpd_fixture.h"

/* ---- tests ---- */

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

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    slog_init("test_httpd_limits", SLOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
