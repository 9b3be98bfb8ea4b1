/* zsock: ZeroMQ sockets on a libuv loop (edge-triggered ZMQ_FD handled by draining). */
#include "zsock.h"

#include "hl_error.h"
#include "slog.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ZSOCK_BUDGET 4096 /* messages handled per loop iteration before yielding */

struct zsock {
    void *sock;
    uv_poll_t poll;   /* readable on ZMQ_FD: "check ZMQ_EVENTS" */
    uv_check_t check; /* drains after sends and after a budget-limited pass */
    uv_idle_t idle;   /* keeps the loop's poll from blocking while a drain is owed */
    zsock_recv_fn fn;
    void *ctx;
    bool paused;
    bool closing;
    int closed;       /* close callbacks seen, of 3 */
    char endpoint[256];
};

static void drain(zsock_t *self);

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    drain(h->data);
}

static void on_check(uv_check_t *h)
{
    zsock_t *self = h->data;
    uv_idle_stop(&self->idle);
    drain(self);
}

static void on_idle(uv_idle_t *h)
{
    (void)h;
}

static void owe_drain(zsock_t *self)
{
    if (!self->closing && !uv_is_active((uv_handle_t *)&self->idle))
        uv_idle_start(&self->idle, on_idle);
}

static void drain(zsock_t *self)
{
    if (self->closing || self->paused)
        return;
    for (int handled = 0; handled < ZSOCK_BUDGET; handled++) {
        int ev = 0;
        size_t evlen = sizeof ev;
        if (zmq_getsockopt(self->sock, ZMQ_EVENTS, &ev, &evlen) != 0 || !(ev & ZMQ_POLLIN))
            return;
        zmq_msg_t frames[ZSOCK_MAX_FRAMES];
        size_t n = 0;
        bool more = true, bad = false;
        while (more) {
            zmq_msg_t scratch;
            zmq_msg_t *m = n < ZSOCK_MAX_FRAMES ? &frames[n] : &scratch;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, self->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(m);
                bad = true;
                break;
            }
            more = zmq_msg_more(m);
            if (m == &scratch) {
                zmq_msg_close(m);
                bad = true; /* too many frames: drop the whole message */
            } else {
                n++;
            }
        }
        if (!bad && n > 0)
            self->fn(self, frames, n, self->ctx);
        else
            SLOG_WARN("zmq_message_dropped", "endpoint=%s frames_count=%zu reason=\"%s\"",
                      self->endpoint, n, "malformed multipart message");
        for (size_t i = 0; i < n; i++)
            zmq_msg_close(&frames[i]);
        if (self->closing || self->paused)
            return;
    }
    owe_drain(self); /* budget spent: continue next iteration */
}

int zsock_create(zsock_t **out, uv_loop_t *loop, void *zctx, int type, zsock_recv_fn fn,
                 void *ctx)
{
    zsock_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->sock = zmq_socket(zctx, type);
    if (!self->sock) {
        free(self);
        return HL_EIO;
    }
    self->fn = fn;
    self->ctx = ctx;
    int one = 1, zero = 0;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (type == ZMQ_ROUTER)
        zmq_setsockopt(self->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    /* The application bounds in-flight work (feed windows, one command at a time per
     * client); the HWM is only a backstop. */
    int hwm = 100000;
    zmq_setsockopt(self->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    int fd;
    size_t fdlen = sizeof fd;
    zmq_getsockopt(self->sock, ZMQ_FD, &fd, &fdlen);
    uv_poll_init(loop, &self->poll, fd);
    uv_check_init(loop, &self->check);
    uv_idle_init(loop, &self->idle);
    self->poll.data = self->check.data = self->idle.data = self;
    uv_poll_start(&self->poll, UV_READABLE, on_poll);
    uv_check_start(&self->check, on_check);
    uv_unref((uv_handle_t *)&self->check);
    *out = self;
    return 0;
}

int zsock_bind(zsock_t *self, const char *endpoint)
{
    if (zmq_bind(self->sock, endpoint) != 0) {
        int err = errno;
        SLOG_ERROR("zmq_bind_failed", "endpoint=%s reason=\"%s\"", endpoint, zmq_strerror(err));
        return err == EADDRINUSE ? HL_EEXIST : err == EINVAL || err == EPROTONOSUPPORT
                                                       ? HL_EINVAL
                                                       : HL_EIO;
    }
    size_t len = sizeof self->endpoint;
    zmq_getsockopt(self->sock, ZMQ_LAST_ENDPOINT, self->endpoint, &len);
    return 0;
}

int zsock_connect(zsock_t *self, const char *endpoint)
{
    if (zmq_connect(self->sock, endpoint) != 0) {
        SLOG_ERROR("zmq_connect_failed", "endpoint=%s reason=\"%s\"", endpoint,
                   zmq_strerror(errno));
        return HL_EINVAL;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    return 0;
}

const char *zsock_endpoint(const zsock_t *self)
{
    return self->endpoint;
}

int zsock_send(zsock_t *self, const void *const *parts, const size_t *lens, size_t nparts)
{
    int rc = 0;
    for (size_t i = 0; i < nparts; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < nparts ? ZMQ_SNDMORE : 0);
        if (zmq_send(self->sock, parts[i], lens[i], flags) < 0) {
            int err = errno;
            rc = err == EAGAIN ? HL_EAGAIN : err == EHOSTUNREACH ? HL_ENOTFOUND : HL_EIO;
            break;
        }
    }
    owe_drain(self);
    return rc;
}

void zsock_pause(zsock_t *self)
{
    self->paused = true;
    uv_poll_stop(&self->poll);
}

void *zsock_raw(zsock_t *self)
{
    return self->sock;
}

static void on_close(uv_handle_t *h)
{
    zsock_t *self = h->data;
    if (++self->closed == 3)
        free(self);
}

void zsock_destroy(zsock_t **self, int linger_ms)
{
    if (!self || !*self)
        return;
    zsock_t *s = *self;
    s->closing = true;
    /* The fd belongs to ZeroMQ: stop watching it before the socket closes it. */
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_close);
    uv_close((uv_handle_t *)&s->check, on_close);
    uv_close((uv_handle_t *)&s->idle, on_close);
    zmq_setsockopt(s->sock, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    zmq_close(s->sock);
    s->sock = NULL;
    *self = NULL;
}
