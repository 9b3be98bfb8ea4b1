/* test_httpd_pipeline: pipelining and connection lifecycle: answers in request order
 * whatever order handlers finish in, HTTP/1.0 and Connection: close, 100-continue, a client
 * that vanishes, backpressure on a deep pipeline, and destroying the server with work in
 * flight (also from a handler). The shared fixture is httpd_fixture.h. */
#include "httpd_fixture.h"

/* ---- tests ---- */

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

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    slog_init("test_httpd_pipeline", SLOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pipeline_order_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_order_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_with_open_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_after_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_from_handler, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
