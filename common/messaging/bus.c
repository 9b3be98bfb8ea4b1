/* bus: the ROUTER endpoint that carries feed fetches and commands. Loop thread. */
#include "bus.h"

#include "hl_error.h"
#include "slog.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bus {
    zsock_t *sock;
    bus_handlers_t h;
    bus_stats_t stats;
};

void bus_reply_error(bus_t *self, const bus_peer_t *peer, Hotline__Status status,
                     const char *message)
{
    Hotline__BusError err = HOTLINE__BUS_ERROR__INIT;
    err.status = status;
    err.message = (char *)message;
    Hotline__BusReply reply = HOTLINE__BUS_REPLY__INIT;
    reply.body_case = HOTLINE__BUS_REPLY__BODY_ERROR;
    reply.error = &err;
    bus_reply(self, peer, &reply);
}

static void on_message(zsock_t *sock, zmq_msg_t *frames, size_t n, void *ctx)
{
    bus_t *self = ctx;
    (void)sock;
    self->stats.requests++;
    if (n != 2 || zmq_msg_size(&frames[0]) > sizeof ((bus_peer_t *)0)->id) {
        self->stats.malformed++;
        SLOG_WARN("bus_request_malformed", "frames_count=%zu reason=\"expected [identity][BusRequest]\"", n);
        return;
    }
    bus_peer_t peer = {.len = (uint8_t)zmq_msg_size(&frames[0])};
    memcpy(peer.id, zmq_msg_data(&frames[0]), peer.len);
    Hotline__BusRequest *req = hotline__bus_request__unpack(NULL, zmq_msg_size(&frames[1]),
                                                            zmq_msg_data(&frames[1]));
    if (!req) {
        self->stats.malformed++;
        SLOG_WARN("bus_request_malformed", "bytes=%zu reason=\"not a hotline.BusRequest\"",
                  zmq_msg_size(&frames[1]));
        bus_reply_error(self, &peer, HOTLINE__STATUS__INVALID,
                    "frame is not a hotline.BusRequest (protobuf)");
        return;
    }
    peer.request_id = req->request_id;
    bus_caller_t caller = {req->token ? req->token : "", zmq_msg_gets(&frames[1], "User-Id")};
    switch (req->body_case) {
    case HOTLINE__BUS_REQUEST__BODY_FETCH:
        if (self->h.on_fetch)
            self->h.on_fetch(self->h.ctx, &peer, &caller, req->fetch);
        else
            bus_reply_error(self, &peer, HOTLINE__STATUS__NOT_FOUND, "this service has no feed");
        break;
    case HOTLINE__BUS_REQUEST__BODY_COMMAND:
        if (self->h.on_command) {
            Hotline__Command *cmd = req->command;
            req->command = NULL; /* ownership moves to the handler */
            req->body_case = HOTLINE__BUS_REQUEST__BODY__NOT_SET;
            self->h.on_command(self->h.ctx, &peer, &caller, cmd);
        } else {
            bus_reply_error(self, &peer, HOTLINE__STATUS__NOT_FOUND,
                        "this service takes no commands");
        }
        break;
    default:
        self->stats.malformed++;
        bus_reply_error(self, &peer, HOTLINE__STATUS__INVALID,
                    "BusRequest has neither fetch nor command");
        break;
    }
    hotline__bus_request__free_unpacked(req, NULL);
}

int bus_create(bus_t **out, uv_loop_t *loop, void *zctx, const char *endpoint,
               const char *curve_secret, const bus_handlers_t *handlers)
{
    bus_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->h = *handlers;
    int rc = zsock_create(&self->sock, loop, zctx, ZMQ_ROUTER, on_message, self);
    if (!rc && curve_secret && *curve_secret) {
        void *raw = zsock_raw(self->sock);
        int one = 1;
        if (strlen(curve_secret) != 40 ||
            zmq_setsockopt(raw, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(raw, ZMQ_CURVE_SECRETKEY, curve_secret, 40) != 0 ||
            zmq_setsockopt(raw, ZMQ_ZAP_DOMAIN, "hotline", 7) != 0)
            rc = HL_EINVAL;
    }
    if (!rc)
        rc = zsock_bind(self->sock, endpoint);
    if (rc) {
        zsock_destroy(&self->sock, 0);
        free(self);
        return rc;
    }
    *out = self;
    return 0;
}

const char *bus_endpoint(const bus_t *self)
{
    return zsock_endpoint(self->sock);
}

int bus_reply_packed(bus_t *self, const bus_peer_t *peer, const uint8_t *bytes, size_t len)
{
    const void *parts[2] = {peer->id, bytes};
    size_t lens[2] = {peer->len, len};
    int rc = zsock_send(self->sock, parts, lens, 2);
    if (rc == HL_ENOTFOUND)
        self->stats.unroutable++;
    else if (rc)
        self->stats.send_failed++;
    if (rc)
        SLOG_DEBUG("bus_reply_not_sent", "request_id=%llu reason=\"%s\"",
                   (unsigned long long)peer->request_id, hl_strerror(rc));
    return rc;
}

int bus_reply(bus_t *self, const bus_peer_t *peer, Hotline__BusReply *reply)
{
    reply->request_id = peer->request_id;
    size_t len = hotline__bus_reply__get_packed_size(reply);
    uint8_t stackbuf[4096];
    uint8_t *buf = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (!buf)
        return HL_ENOMEM;
    hotline__bus_reply__pack(reply, buf);
    int rc = bus_reply_packed(self, peer, buf, len);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

void bus_pause(bus_t *self)
{
    zsock_pause(self->sock);
}

const bus_stats_t *bus_stats(const bus_t *self)
{
    return &self->stats;
}

void bus_destroy(bus_t **self)
{
    if (!self || !*self)
        return;
    zsock_destroy(&(*self)->sock, 500);
    free(*self);
    *self = NULL;
}

/* ---- client credentials ---- */

int bus_cred_apply(void *zmq_socket, const bus_cred_t *cred)
{
    if (!cred || !cred->secret_key[0])
        return 0;
    char pub[41];
    if (strlen(cred->secret_key) != 40 || strlen(cred->server_key) != 40 ||
        zmq_curve_public(pub, cred->secret_key) != 0)
        return HL_EINVAL;
    if (zmq_setsockopt(zmq_socket, ZMQ_CURVE_SERVERKEY, cred->server_key, 40) != 0 ||
        zmq_setsockopt(zmq_socket, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
        zmq_setsockopt(zmq_socket, ZMQ_CURVE_SECRETKEY, cred->secret_key, 40) != 0)
        return HL_EINVAL;
    return 0;
}

int bus_read_secret_file(const char *path, char *out, size_t out_size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return HL_EIO;
    char line[512];
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok)
        return HL_EIO;
    line[strcspn(line, "\r\n")] = '\0';
    if (strlen(line) >= out_size)
        return HL_ETOOBIG;
    snprintf(out, out_size, "%s", line);
    return 0;
}

int bus_cred_from_env(bus_cred_t *cred)
{
    memset(cred, 0, sizeof *cred);
    const char *token = getenv("HOTLINE_TOKEN"), *token_file = getenv("HOTLINE_TOKEN_FILE");
    const char *key_file = getenv("HOTLINE_CURVE_SECRET_KEY_FILE");
    const char *server = getenv("HOTLINE_CURVE_SERVER_KEY");
    int rc = 0;
    if (token && *token)
        snprintf(cred->token, sizeof cred->token, "%s", token);
    else if (token_file && *token_file)
        rc = bus_read_secret_file(token_file, cred->token, sizeof cred->token);
    if (!rc && key_file && *key_file)
        rc = bus_read_secret_file(key_file, cred->secret_key, sizeof cred->secret_key);
    if (!rc && server && *server)
        snprintf(cred->server_key, sizeof cred->server_key, "%s", server);
    if (!rc && cred->secret_key[0] && strlen(cred->server_key) != 40)
        rc = HL_EINVAL;
    return rc;
}
