/* test_httpd: the HTTP server in-process, requests and routing: keep-alive answers, 404 and
 * 405, chunked bodies, paths and queries, request and response headers, create errors, the
 * helpers (query parameters, path decoding, error JSON), and detached connections. Limits
 * and timeouts are in test_httpd_limits, pipelining and connection lifecycle in
 * test_httpd_pipeline; the shared fixture is httpd_fixture.h. */
#include "httpd_fixture.h"

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
                                "/a\\\"b\\\\\\u0001\xef\xbf\xbd\"}}");
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
    /* One rule with form bodies and paths: a bad escape is refused, not kept. */
    assert_int_equal(httpd_query_param("a=%zz%4", "a", out, sizeof out), HL_EINVAL);
    assert_int_equal(httpd_query_param("a=%4", "a", out, sizeof out), HL_EINVAL);
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
    /* jansson's escaping; bytes that are not UTF-8 became U+FFFD before it. */
    assert_string_equal(b.data, "{\"error\":{\"status\":400,\"message\":\"tab\\there "
                                "\xe4\xbd\xa0 \xef\xbf\xbd\xef\xbf\xbd "
                                "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}}");
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
        cmocka_unit_test_setup_teardown(test_chunked_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test(test_query_param),
        cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detached_bytewise, setup, teardown),
        cmocka_unit_test(test_util),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
