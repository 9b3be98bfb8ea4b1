/* zsock: a ZeroMQ socket driven from a libuv loop.
 *
 * ZMQ_FD is edge-triggered and only says "look at ZMQ_EVENTS": so after every wake-up, and in
 * every loop iteration following a send (a send can consume the edge of a pending receive),
 * the socket is drained until ZMQ_EVENTS has no POLLIN. A fairness budget bounds the messages
 * handled per iteration; the rest are taken in the next one without waiting for the fd.
 *
 * Messages are delivered as arrays of frames (multipart). ZeroMQ's queues live in process
 * memory and die with it: durability lives above this module.
 *
 * Loop thread only. */
#ifndef HOTLINE_ZSOCK_H
#define HOTLINE_ZSOCK_H

#include <stddef.h>
#include <uv.h>
#include <zmq.h>

#define ZSOCK_MAX_FRAMES 8

typedef struct zsock zsock_t;

/* One received message: frames are valid only during the call. */
typedef void (*zsock_recv_fn)(zsock_t *sock, zmq_msg_t *frames, size_t nframes, void *ctx);

/* type: ZMQ_ROUTER or ZMQ_DEALER. ROUTER sockets get ZMQ_ROUTER_MANDATORY, so a reply to a
 * peer that has gone is an error (HL_ENOTFOUND from zsock_send) instead of a silent drop. */
int zsock_create(zsock_t **out, uv_loop_t *loop, void *zctx, int type, zsock_recv_fn fn,
                 void *ctx);
int zsock_bind(zsock_t *self, const char *endpoint);
int zsock_connect(zsock_t *self, const char *endpoint);

/* The endpoint actually bound (resolves "tcp://127.0.0.1:*"); "" if not bound. */
const char *zsock_endpoint(const zsock_t *self);

/* Send a multipart message without blocking. Errors: HL_EAGAIN (high-water mark reached),
 * HL_ENOTFOUND (ROUTER: unknown peer), HL_EIO. */
int zsock_send(zsock_t *self, const void *const *parts, const size_t *lens, size_t nparts);

/* Stop delivering messages (shutdown); sends still work. */
void zsock_pause(zsock_t *self);

/* Close: linger_ms bounds how long queued outgoing messages may still be sent.
 * The uv handles close asynchronously; the loop must run afterwards. Nulls *self. */
void zsock_destroy(zsock_t **self, int linger_ms);

/* The underlying ZeroMQ socket (for options). */
void *zsock_raw(zsock_t *self);

#endif
