/* cmd_client: blocking DEALER client for a service's bus. */
#include "cmd_client.h"

#include "hclock.h"
#include "hl_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct cmd_client {
    void *zctx;
    bool own_ctx;
    void *sock;
    char *endpoint;
    uint64_t next_id;
    bus_cred_t cred;
};

static int open_sock(cmd_client_t *self)
{
    self->sock = zmq_socket(self->zctx, ZMQ_DEALER);
    if (!self->sock)
        return HL_EIO;
    int zero = 0, send_timeout_ms = 2000;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero);
    /* A DEALER blocks a send while it has no connection to queue on (after a refused CURVE
     * handshake, say): bound the wait, the caller gets HL_EAGAIN and decides. */
    zmq_setsockopt(self->sock, ZMQ_SNDTIMEO, &send_timeout_ms, sizeof send_timeout_ms);
    if (bus_cred_apply(self->sock, &self->cred) != 0 ||
        zmq_connect(self->sock, self->endpoint) != 0) {
        zmq_close(self->sock);
        self->sock = NULL;
        return HL_EINVAL;
    }
    return 0;
}

int cmd_client_create(cmd_client_t **out, void *zctx, const char *endpoint)
{
    cmd_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->zctx = zctx;
    if (!zctx) {
        self->zctx = zmq_ctx_new();
        self->own_ctx = true;
    }
    self->endpoint = strdup(endpoint);
    /* Ids start from the clock so a restarted client never matches an old reply. */
    self->next_id = hclock_mono_ns();
    int rc = self->zctx && self->endpoint ? open_sock(self) : HL_ENOMEM;
    if (rc) {
        if (self->own_ctx && self->zctx)
            zmq_ctx_term(self->zctx);
        free(self->endpoint);
        free(self);
        return rc;
    }
    *out = self;
    return 0;
}

void cmd_client_destroy(cmd_client_t **self)
{
    if (!self || !*self)
        return;
    cmd_client_t *c = *self;
    if (c->sock)
        zmq_close(c->sock);
    if (c->own_ctx)
        zmq_ctx_term(c->zctx);
    free(c->endpoint);
    free(c);
    *self = NULL;
}

int cmd_client_set_cred(cmd_client_t *self, const bus_cred_t *cred)
{
    self->cred = *cred;
    return cmd_client_reconnect(self);
}

int cmd_client_reconnect(cmd_client_t *self)
{
    if (self->sock)
        zmq_close(self->sock);
    self->sock = NULL;
    return open_sock(self);
}

int cmd_client_send(cmd_client_t *self, Hotline__BusRequest *req, uint64_t *request_id)
{
    req->request_id = ++self->next_id;
    if (self->cred.token[0])
        req->token = self->cred.token;
    size_t len = hotline__bus_request__get_packed_size(req);
    uint8_t stackbuf[4096];
    uint8_t *buf = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (!buf)
        return HL_ENOMEM;
    hotline__bus_request__pack(req, buf);
    int rc = zmq_send(self->sock, buf, len, 0) < 0 ? (zmq_errno() == EAGAIN ? HL_EAGAIN : HL_EIO)
                                                   : 0;
    if (buf != stackbuf)
        free(buf);
    if (rc == 0 && request_id)
        *request_id = req->request_id;
    return rc;
}

int cmd_client_recv(cmd_client_t *self, int timeout_ms, arena_t *arena,
                    Hotline__BusReply **reply)
{
    zmq_pollitem_t item = {self->sock, 0, ZMQ_POLLIN, 0};
    int n = zmq_poll(&item, 1, timeout_ms);
    if (n < 0)
        return HL_EIO;
    if (n == 0)
        return HL_ETIMEDOUT;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, self->sock, 0) < 0) {
        zmq_msg_close(&msg);
        return HL_EIO;
    }
    *reply = hotline__bus_reply__unpack(arena_allocator(arena), zmq_msg_size(&msg),
                                        zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    return *reply ? 0 : HL_ECORRUPT;
}

int cmd_client_call(cmd_client_t *self, Hotline__Command *cmd, int attempt_timeout_ms,
                    int deadline_ms, arena_t *arena, Hotline__CommandReply **reply)
{
    uint64_t start = hclock_mono_ns();
    Hotline__BusRequest req = HOTLINE__BUS_REQUEST__INIT;
    req.body_case = HOTLINE__BUS_REQUEST__BODY_COMMAND;
    req.command = cmd;
    for (int attempt = 0;; attempt++) {
        if (attempt > 0)
            cmd_client_reconnect(self);
        uint64_t id;
        int rc = cmd_client_send(self, &req, &id);
        if (rc)
            return rc;
        uint64_t attempt_end = hclock_mono_ns() + (uint64_t)attempt_timeout_ms * 1000000u;
        for (;;) {
            uint64_t now = hclock_mono_ns();
            if (now >= attempt_end)
                break;
            Hotline__BusReply *r;
            rc = cmd_client_recv(self, (int)((attempt_end - now) / 1000000u) + 1, arena, &r);
            if (rc == HL_ETIMEDOUT)
                break;
            if (rc)
                return rc;
            if (r->request_id != id)
                continue; /* an answer to an earlier attempt */
            if (r->body_case == HOTLINE__BUS_REPLY__BODY_COMMAND) {
                *reply = r->command;
                return 0;
            }
            *reply = NULL;
            return HL_ECORRUPT;
        }
        if ((hclock_mono_ns() - start) / 1000000u >= (uint64_t)deadline_ms)
            return HL_ETIMEDOUT;
    }
}
