/* connector_curl: the connector's POSTs on libcurl's multi interface, driven by the service's
 * libuv loop (the multi_socket pattern): libcurl says which sockets to watch (on_socket: one
 * uv_poll_t each) and when to call it back (on_curl_timer: one uv_timer_t); both wake-ups call
 * curl_multi_socket_action, after which finished transfers are collected. Each POST is signed
 * with connector_sign (connector_secret.c). Loop thread. */
#include "connector_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A socket libcurl asked to watch. Freed in its close callback, after libcurl let go of it. */
typedef struct conn_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    connector_t *conn;
} conn_sock_t;

static void collect_done(connector_t *self)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode res = m->data.result; /* m is invalid once the handle is removed */
        char *priv = NULL;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        conn_req_t *q = (conn_req_t *)priv;
        curl_multi_remove_handle(self->multi, easy);
        curl_easy_cleanup(easy);
        curl_slist_free_all(q->headers);
        q->easy = NULL;
        q->headers = NULL;
        q->ok = res == CURLE_OK && status >= 200 && status <= 299;
        if (res != CURLE_OK) {
            const char *why = q->errbuf[0] ? q->errbuf : curl_easy_strerror(res);
            size_t n = strnlen(why, sizeof q->error - 1); /* cut: a log value, not a record */
            memcpy(q->error, why, n);
            q->error[n] = '\0';
        } else if (!q->ok)
            snprintf(q->error, sizeof q->error, "HTTP %ld: %.*s", status, (int)q->answer_len,
                     q->answer);
        conn_req_finished(self, q);
    }
}

static void sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    conn_sock_t *sk = h->data;
    connector_t *self = sk->conn;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    int running;
    curl_multi_socket_action(self->multi, sk->fd, flags, &running); /* may close sk */
    collect_done(self);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    connector_t *self = userp;
    conn_sock_t *sk = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sk) {
            /* Stopped now, before libcurl closes fd: a new socket may get the same number. */
            uv_poll_stop(&sk->poll);
            uv_close((uv_handle_t *)&sk->poll, sock_closed);
            curl_multi_assign(self->multi, fd, NULL);
        }
        return 0;
    }
    if (!sk) {
        sk = calloc(1, sizeof *sk);
        if (!sk)
            return -1;
        sk->fd = fd;
        sk->conn = self;
        if (uv_poll_init_socket(self->loop, &sk->poll, fd) != 0) {
            free(sk);
            return -1;
        }
        sk->poll.data = sk;
        curl_multi_assign(self->multi, fd, sk);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&sk->poll, events, on_poll);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    connector_t *self = t->data;
    int running;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(self);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    connector_t *self = userp;
    if (!self->timer_open)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&self->curl_timer);
    else /* 0 too goes through the loop: libcurl must not be called back from here */
        uv_timer_start(&self->curl_timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* Keep the start of the answer's body for the error text; the rest is read and dropped. */
static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    conn_req_t *q = userp;
    size_t len = size * n;
    for (size_t i = 0; i < len && q->answer_len < sizeof q->answer - 1; i++)
        q->answer[q->answer_len++] = data[i] >= 0x20 && data[i] < 0x7f ? data[i] : ' ';
    return len;
}

static struct curl_slist *add_header(struct curl_slist *list, bool *ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static struct curl_slist *add_header(struct curl_slist *list, bool *ok, const char *fmt, ...)
{
    char line[CONNECTOR_KEY_MAX + 160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct curl_slist *grown = *ok ? curl_slist_append(list, line) : NULL;
    if (!grown)
        *ok = false;
    return grown ? grown : list;
}

int conn_curl_send(connector_t *self, conn_req_t *q)
{
    const void *body;
    size_t len, ctype_len;
    const char *ctype;
    conn_req_body(q, &body, &len, &ctype, &ctype_len);
    char ts[24], sig[CONNECTOR_SIGNATURE_MAX];
    snprintf(ts, sizeof ts, "%" PRId64, hclock_now_ms(self->clock));
    connector_sign(self->hmac_key, self->opts.hmac_key_len, ts, body, len, sig);
    bool ok = true;
    struct curl_slist *h = NULL;
    h = add_header(h, &ok, "Content-Type: %.*s", (int)ctype_len, ctype);
    h = add_header(h, &ok, "Idempotency-Key: %s", q->key);
    h = add_header(h, &ok, "X-Hotline-Timestamp: %s", ts);
    h = add_header(h, &ok, "X-Hotline-Signature: %s", sig);
    h = add_header(h, &ok, "Expect:"); /* no 100-continue round trip for larger bodies */
    CURL *easy = ok ? curl_easy_init() : NULL;
    if (!easy) {
        curl_slist_free_all(h);
        return HL_ENOMEM;
    }
    q->headers = h;
    q->easy = easy;
    q->errbuf[0] = '\0';
    q->answer_len = 0;
    curl_easy_setopt(easy, CURLOPT_URL, self->url);
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, len ? body : "");
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "hotline-connector");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)self->opts.timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)q);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, q->errbuf);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, q);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (curl_multi_add_handle(self->multi, easy) != CURLM_OK) {
        curl_easy_cleanup(easy);
        curl_slist_free_all(h);
        q->easy = NULL;
        q->headers = NULL;
        return HL_EIO;
    }
    return 0;
}

int conn_curl_open(connector_t *self)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return HL_EIO;
    self->curl_global = true;
    self->multi = curl_multi_init();
    if (!self->multi)
        return HL_ENOMEM;
    uv_timer_init(self->loop, &self->curl_timer);
    self->curl_timer.data = self;
    self->timer_open = true;
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self);
    return 0;
}

void conn_curl_close(connector_t *self)
{
    if (self->multi) {
        conn_req_t *q = self->flight, *next;
        for (; q; q = next) {
            next = q->next;
            if (!q->easy)
                continue; /* its outcome is in the txq: it commits */
            curl_multi_remove_handle(self->multi, q->easy); /* releases its sockets */
            curl_easy_cleanup(q->easy);
            curl_slist_free_all(q->headers);
            q->easy = NULL;
            q->headers = NULL;
            conn_req_aborted(self, q, true);
        }
        curl_multi_cleanup(self->multi); /* closes cached connections (their sockets too) */
        self->multi = NULL;
    }
    if (self->timer_open) {
        self->timer_open = false;
        uv_timer_stop(&self->curl_timer);
        uv_close((uv_handle_t *)&self->curl_timer, NULL);
    }
}
