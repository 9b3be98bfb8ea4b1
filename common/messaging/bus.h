/* bus: a service's one ZeroMQ endpoint (ROUTER). Clients (DEALER) send hotline.BusRequest
 * frames: a feed fetch or a command; the bus decodes them and hands them on, and sends
 * hotline.BusReply frames back to the peer that asked.
 *
 *   client -> [BusRequest]                     (DEALER adds nothing; ROUTER sees [id][payload])
 *   bus    -> [id][BusReply]                   (same request_id)
 *
 * Malformed frames are counted, logged and answered with a BusError when the peer can be
 * told; they never reach the handlers. Loop thread only. */
#ifndef HOTLINE_BUS_H
#define HOTLINE_BUS_H

#include "hotline/bus.pb-c.h"
#include "zsock.h"

#include <stdint.h>

typedef struct bus bus_t;

/* Who to answer: the ROUTER identity of the peer and its request id. Copyable. */
typedef struct bus_peer {
    uint8_t id[32];
    uint8_t len;
    uint64_t request_id;
} bus_peer_t;

/* Who sent a request, as far as the bus can tell; valid during the handler call. */
typedef struct bus_caller {
    const char *token;      /* BusRequest.token, "" if none */
    const char *curve_user; /* the User-Id the ZAP handler gave the client's CURVE key, or NULL
                             * (plain bus) */
} bus_caller_t;

typedef struct bus_handlers {
    /* fetch: valid during the call. */
    void (*on_fetch)(void *ctx, const bus_peer_t *peer, const bus_caller_t *caller,
                     const Hotline__FeedFetch *fetch);
    /* cmd: ownership passes to the handler (free with protobuf_c_message_free_unpacked). */
    void (*on_command)(void *ctx, const bus_peer_t *peer, const bus_caller_t *caller,
                       Hotline__Command *cmd);
    void *ctx;
} bus_handlers_t;

/* A client's credentials for a service's bus: a bearer token sent with every request, and / or
 * a CURVE key pair with the server's public key. Empty strings: not used. */
typedef struct bus_cred {
    char token[128];
    char secret_key[41]; /* Z85: our CURVE secret key */
    char server_key[41]; /* Z85: the server's CURVE public key */
} bus_cred_t;

/* Make a raw ZeroMQ socket a CURVE client with cred's keys, before it connects. Nothing to
 * do when cred has no secret key. Errors: HL_EINVAL (a key that is not 40 Z85 characters). */
int bus_cred_apply(void *zmq_socket, const bus_cred_t *cred);

/* Fill cred from the environment, for tools: HOTLINE_TOKEN (or the file HOTLINE_TOKEN_FILE),
 * HOTLINE_CURVE_SECRET_KEY_FILE and HOTLINE_CURVE_SERVER_KEY. Errors: HL_EIO (a file named
 * that cannot be read), HL_EINVAL. */
int bus_cred_from_env(bus_cred_t *cred);

/* Read a key or token file (first line, trimmed) into out. Errors: HL_EIO, HL_ETOOBIG. */
int bus_read_secret_file(const char *path, char *out, size_t out_size);

typedef struct bus_stats {
    uint64_t requests;
    uint64_t malformed;
    uint64_t unroutable; /* replies to peers that had gone */
    uint64_t send_failed;
} bus_stats_t;

/* curve_secret: this service's CURVE secret key (Z85); NULL or "" = a plain bus. With a
 * key, a ZAP handler must already be bound in zctx (service_auth does it), or libzmq lets
 * every client key in. */
int bus_create(bus_t **out, uv_loop_t *loop, void *zctx, const char *endpoint,
               const char *curve_secret, const bus_handlers_t *handlers);
const char *bus_endpoint(const bus_t *self);

/* Send a reply (reply->request_id is set from peer). Errors as zsock_send; counted. */
int bus_reply(bus_t *self, const bus_peer_t *peer, Hotline__BusReply *reply);
/* Answer with a BusError (the request could not be served: unauthenticated, ...). */
void bus_reply_error(bus_t *self, const bus_peer_t *peer, Hotline__Status status,
                     const char *message);

/* Send already-packed BusReply bytes. */
int bus_reply_packed(bus_t *self, const bus_peer_t *peer, const uint8_t *bytes, size_t len);

/* Stop taking requests (shutdown); replies still go out. */
void bus_pause(bus_t *self);
const bus_stats_t *bus_stats(const bus_t *self);
void bus_destroy(bus_t **self);

#endif
