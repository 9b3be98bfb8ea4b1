/* fuzz_http: bytes from the network through httpd's whole request path (parser callbacks,
 * limits, routing, the per-connection answer queue, serialising), without sockets: a detached
 * connection of an unbound server, whose output goes to check_answer().
 *
 * If the first byte is a control character other than CR / LF it steers the run and is not
 * fed: bits 0-2 pick the size of the pieces the input is fed in, bit 3 answers held requests
 * between pieces, bit 4 answers them newest first. Otherwise the input is fed in one piece.
 *
 * Oracles (abort on failure): every write is one well-formed answer (status line, CRLF-only
 * header lines, Content-Length matching the body or an empty HEAD/204 body); answers to held
 * requests come out in request order however they were answered; nothing is pending once all
 * held requests are answered; ASan/UBSan/LSan for the rest. */
#include "hl_error.h"
#include "httpd.h"
#include "httpd_internal.h"
#include "slog.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HELD_MAX 256

typedef struct fuzz {
    httpd_t *srv;
    httpd_req_t *held[HELD_MAX];
    unsigned held_seq[HELD_MAX];
    size_t nheld;
    unsigned next_seq; /* sequence number given to the next held request */
    long last_seq_out; /* last held answer seen on the wire */
} fuzz_t;

static void check_answer(void *ctx, const char *data, size_t len)
{
    fuzz_t *fz = ctx;
    if (len < 16 || memcmp(data, "HTTP/1.1 ", 9) != 0)
        abort();
    const char *end = memmem(data, len, "\r\n\r\n", 4);
    if (!end)
        abort();
    size_t head = (size_t)(end - data) + 4;
    for (size_t i = 0; i < head; i++) {
        if (data[i] == '\0')
            abort();
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            abort();
        if (data[i] == '\r' && data[i + 1] != '\n')
            abort();
    }
    const char *cl = memmem(data, head, "\r\nContent-Length: ", 18);
    if (cl) {
        size_t n = strtoul(cl + 18, NULL, 10);
        if (len != head && len != head + n)
            abort();
    } else if (len != head) {
        abort();
    }
    /* Held answers carry "#held:<seq>": they must leave in request order. (An echoed body
     * may start with anything, so the marker is one no seed sends.) */
    if (len > head + 6 && memcmp(data + head, "#held:", 6) == 0) {
        long seq = strtol(data + head + 6, NULL, 10);
        if (seq <= fz->last_seq_out)
            abort();
        fz->last_seq_out = seq;
    }
}

static void h_hello(httpd_req_t *req, void *ctx)
{
    httpd_respond(req, 200, "text/plain", "hello\n", 6);
}

static void h_echo(httpd_req_t *req, void *ctx)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    if (body[len] != '\0')
        abort();
    const char *type = httpd_req_header(req, "content-type");
    httpd_respond(req, 200, type ? type : "application/octet-stream", body, len);
}

static void hold(fuzz_t *fz, httpd_req_t *req)
{
    if (fz->nheld == HELD_MAX) {
        httpd_respond(req, 200, "text/plain", "full", 4);
        return;
    }
    fz->held_seq[fz->nheld] = fz->next_seq++;
    fz->held[fz->nheld++] = req;
}

static void h_hold(httpd_req_t *req, void *ctx)
{
    hold(ctx, req);
}

/* Any method under /p/: query parameters, headers, odd statuses and answer headers. */
static void h_any(httpd_req_t *req, void *ctx)
{
    const char *query = httpd_req_query(req);
    const char *path = httpd_req_path(req);
    if (strlen(path) < 3 || memcmp(path, "/p/", 3) != 0)
        abort();
    char small[4], big[256];
    static const char *const names[] = {"a", "s", "", "h", "a b", "\xff"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        int n = httpd_query_param(query, names[i], small, sizeof small);
        if (n >= (int)sizeof small || (n >= 0 && small[n] != '\0'))
            abort();
        n = httpd_query_param(query, names[i], big, sizeof big);
        if (n >= 0 && (n >= (int)sizeof big || big[n] != '\0'))
            abort();
    }
    int status = 200;
    /* Any valid status (an invalid one is a handler bug, covered by test_httpd). */
    if (httpd_query_param(query, "s", big, sizeof big) > 0)
        status = 200 + abs(atoi(big) % 400);
    if (httpd_query_param(query, "h", big, sizeof big) >= 0)
        httpd_req_add_header(req, big,
                             httpd_req_header(req, "x-v") ? httpd_req_header(req, "x-v") : "v");
    if (httpd_query_param(query, "hold", big, sizeof big) >= 0) {
        hold(ctx, req);
        return;
    }
    char out[512];
    int n = snprintf(out, sizeof out, "%s %s", httpd_req_method(req), path);
    httpd_respond(req, status, NULL, out, n < (int)sizeof out ? (size_t)n : sizeof out - 1);
}

/* A handler that tears the whole server down from inside the parser. */
static void h_destroy(httpd_req_t *req, void *ctx)
{
    fuzz_t *fz = ctx;
    httpd_respond(req, 200, "text/plain", "bye", 3);
    fz->nheld = 0; /* httpd_destroy frees requests still held */
    httpd_destroy(&fz->srv);
}

static void answer_held(fuzz_t *fz, bool newest_first)
{
    while (fz->nheld > 0 && fz->srv) {
        size_t i = newest_first ? fz->nheld - 1 : 0;
        httpd_req_t *req = fz->held[i];
        char body[32];
        int n = snprintf(body, sizeof body, "#held:%u", fz->held_seq[i]);
        memmove(fz->held + i, fz->held + i + 1, (fz->nheld - i - 1) * sizeof *fz->held);
        memmove(fz->held_seq + i, fz->held_seq + i + 1, (fz->nheld - i - 1) * sizeof *fz->held_seq);
        fz->nheld--;
        httpd_respond(req, 200, "text/plain", body, (size_t)n);
    }
}

static uv_loop_t *fuzz_loop(void)
{
    static uv_loop_t loop;
    static bool ready;
    if (!ready) {
        uv_loop_init(&loop);
        slog_init("fuzz_http", SLOG_ERROR);
        ready = true;
    }
    return &loop;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t piece_sizes[8] = {0, 1, 2, 3, 7, 16, 64, 500};
    uv_loop_t *loop = fuzz_loop();
    unsigned ctl = 0;
    if (size > 0 && data[0] < 0x20 && data[0] != '\r' && data[0] != '\n') {
        ctl = data[0];
        data++;
        size--;
    }
    fuzz_t fz = {.last_seq_out = -1};
    httpd_opts_t opts = {.max_body_bytes = 256, .max_header_bytes = 512};
    if (httpd_create_unbound(&fz.srv, loop, &opts) != 0)
        abort();
    httpd_route(fz.srv, "GET", "/hello", h_hello, &fz);
    httpd_route(fz.srv, "POST", "/echo", h_echo, &fz);
    httpd_route(fz.srv, "GET", "/hold", h_hold, &fz);
    httpd_route(fz.srv, "PUT", "/hold", h_hold, &fz);
    httpd_route(fz.srv, NULL, "/p/*", h_any, &fz);
    httpd_route(fz.srv, "GET", "/destroy", h_destroy, &fz);
    httpd_conn_t *c;
    if (httpd_conn_open_detached(fz.srv, check_answer, &fz, &c) != 0)
        abort();

    size_t piece = piece_sizes[ctl & 7] ? piece_sizes[ctl & 7] : size;
    bool between = (ctl & 8) != 0, newest_first = (ctl & 16) != 0;
    for (size_t off = 0; off < size && fz.srv; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        httpd_conn_feed(c, (const char *)data + off, n);
        if (between)
            answer_held(&fz, newest_first);
        uv_run(loop, UV_RUN_NOWAIT); /* input stashed under backpressure is parsed here */
    }
    /* Drain: answering lets stashed requests through, which may be held again. */
    for (int round = 0; round < 10000 && fz.srv; round++) {
        answer_held(&fz, newest_first);
        uv_run(loop, UV_RUN_NOWAIT);
        if (fz.nheld == 0 && (!fz.srv || !c->resume_queued))
            break;
    }
    if (fz.srv) {
        httpd_conn_feed_eof(c);
        answer_held(&fz, newest_first);
        uv_run(loop, UV_RUN_NOWAIT);
        if (fz.nheld == 0 && httpd_pending(fz.srv) != 0)
            abort();
        httpd_destroy(&fz.srv);
    }
    uv_run(loop, UV_RUN_DEFAULT); /* closes every handle, frees everything */
    return 0;
}
