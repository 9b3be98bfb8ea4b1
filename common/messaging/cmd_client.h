/* cmd_client: a blocking client for a service's bus (commands and feed fetches), for the CLI,
 * tools, tests and benchmarks. Not for use inside a service's loop.
 *
 * Several requests may be in flight (cmd_client_send / cmd_client_recv); cmd_client_call is
 * one request and its answer. After a timeout the caller may resend: commands carry an
 * idempotency key, so a resend never applies twice. cmd_client_reconnect drops anything queued
 * for a dead peer.
 *
 * One thread per client. */
#ifndef HOTLINE_CMD_CLIENT_H
#define HOTLINE_CMD_CLIENT_H

#include "arena.h"
#include "bus.h"

#include "hotline/bus.pb-c.h"

#include <stdint.h>

typedef struct cmd_client cmd_client_t;

/* zctx may be NULL: the client then owns a ZeroMQ context of its own. */
int cmd_client_create(cmd_client_t **out, void *zctx, const char *endpoint);
void cmd_client_destroy(cmd_client_t **self);

/* Use these credentials from now on (the socket reconnects with them): the token goes with
 * every request, the CURVE keys secure the connection. Errors: HL_EINVAL (bad keys). */
int cmd_client_set_cred(cmd_client_t *self, const bus_cred_t *cred);
int cmd_client_reconnect(cmd_client_t *self);

/* Send a request; *request_id gets its id. Errors: HL_EAGAIN (queue full, or no connection to
 * queue on within 2 s: the peer refused us or is gone), HL_EIO. */
int cmd_client_send(cmd_client_t *self, Hotline__BusRequest *req, uint64_t *request_id);

/* Wait up to timeout_ms for any reply. *reply is unpacked into arena. HL_ETIMEDOUT when none
 * came, HL_ECORRUPT for a frame that does not decode. */
int cmd_client_recv(cmd_client_t *self, int timeout_ms, arena_t *arena,
                    Hotline__BusReply **reply);

/* Send a command and wait for its reply, resending (same key) after each timeout until
 * deadline_ms has passed. *reply points into arena. Errors: HL_ETIMEDOUT, HL_ECORRUPT
 * (the service answered with a BusError: see (*reply)->error). */
int cmd_client_call(cmd_client_t *self, Hotline__Command *cmd, int attempt_timeout_ms,
                    int deadline_ms, arena_t *arena, Hotline__CommandReply **reply);

#endif
