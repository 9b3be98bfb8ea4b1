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

typedef struct bus_handlers {
    /* fetch: valid during the call. */
    void (*on_fetch)(void *ctx, const bus_peer_t *peer, const Hotline__FeedFetch *fetch);
    /* cmd: ownership passes to the handler (free with protobuf_c_message_free_unpacked). */
    void (*on_command)(void *ctx, const bus_peer_t *peer, Hotline__Command *cmd);
    void *ctx;
} bus_handlers_t;

typedef struct bus_stats {
    uint64_t requests;
    uint64_t malformed;
    uint64_t unroutable; /* replies to peers that had gone */
    uint64_t send_failed;
} bus_stats_t;

int bus_create(bus_t **out, uv_loop_t *loop, void *zctx, const char *endpoint,
               const bus_handlers_t *handlers);
const char *bus_endpoint(const bus_t *self);

/* Send a reply (reply->request_id is set from peer). Errors as zsock_send; counted. */
int bus_reply(bus_t *self, const bus_peer_t *peer, Hotline__BusReply *reply);
/* Send already-packed BusReply bytes. */
int bus_reply_packed(bus_t *self, const bus_peer_t *peer, const uint8_t *bytes, size_t len);

/* Stop taking requests (shutdown); replies still go out. */
void bus_pause(bus_t *self);
const bus_stats_t *bus_stats(const bus_t *self);
void bus_destroy(bus_t **self);

#endif
