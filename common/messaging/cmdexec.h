/* cmdexec: runs commands through the group commit with idempotency.
 *
 * A command from the bus or from HTTP becomes a job on the txq. Inside the batch transaction
 * the job first looks up its idempotency key: a key seen before returns the stored first
 * answer and changes nothing. Otherwise the service's handler runs; if it answers OK, its
 * writes and the packed reply (under the key) commit together, so a retry after a crash or a
 * lost reply gets exactly the first answer. A handler that refuses (any non-OK status) leaves
 * no writes behind: best when it refuses before its first write (then the batch needs no
 * savepoint); one that wrote first is rolled back, at the price of the whole batch applied
 * again with a savepoint per command (txq.h). Only after the commit is the caller told, so an
 * answer always means "durable".
 *
 * Loop thread only. */
#ifndef HOTLINE_CMDEXEC_H
#define HOTLINE_CMDEXEC_H

#include "arena.h"
#include "hclock.h"
#include "store.h"
#include "txq.h"

#include "hotline/command.pb-c.h"

#include <stdarg.h>

typedef struct cmdexec cmdexec_t;

/* What a handler fills. Allocate anything the reply points to in arena. */
typedef struct cmd_reply {
    Hotline__CommandReply *msg; /* status (default OK), message, field, result */
    arena_t *arena;
} cmd_reply_t;

/* Handle cmd inside txn. Return 0 having set reply->msg (status OK or a refusal), or a
 * negative HL_E code for a store failure (HL_EFULL etc. are retried by the txq; any other
 * code rolls back what the handler wrote and answers INTERNAL). Check before writing: a
 * refusal or failure after a write makes its whole batch run again, with savepoints. */
typedef int (*cmd_handler_fn)(void *ctx, MDB_txn *txn, const Hotline__Command *cmd,
                              cmd_reply_t *reply);

/* Called once with the final reply (valid during the call) after commit or failure. */
typedef void (*cmd_done_fn)(void *origin, const Hotline__CommandReply *reply);

int cmdexec_create(cmdexec_t **out, store_t *store, txq_t *txq, hclock_t *clock,
                   unsigned idempotency_hours, cmd_handler_fn handler, void *ctx);
void cmdexec_destroy(cmdexec_t **self);

/* Run a command. Takes ownership of cmd (allocated as protobuf-c unpacks, default
 * allocator). done(origin, reply) is called exactly once, possibly before this returns (for
 * a command refused before it reaches the store). */
void cmdexec_submit(cmdexec_t *self, Hotline__Command *cmd, cmd_done_fn done, void *origin);

/* Answer a command that will not run with status, field and message, and free it. */
void cmd_answer(Hotline__Command *cmd, cmd_done_fn done, void *origin, Hotline__Status status,
                const char *field, const char *message);

/* Answer a command that will not run (out of memory, shutting down, store full) with
 * UNAVAILABLE and message, and free it. */
void cmd_answer_unavailable(Hotline__Command *cmd, cmd_done_fn done, void *origin,
                            const char *message);

/* Refuse: set status, field and a formatted message. Returns 0 for "return cmd_refuse(...)". */
int cmd_refuse(cmd_reply_t *reply, Hotline__Status status, const char *field, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

/* Remove idempotency records older than the window, at most max per call. */
int cmdexec_trim(cmdexec_t *self, MDB_txn *txn, unsigned max, unsigned *deleted);

/* The HTTP status for a command status (200, 400, 401, 403, 404, 409, 410, 422, 503, 500). */
int cmd_http_status(Hotline__Status status);

typedef struct cmdexec_stats {
    uint64_t submitted, ok, refused, replayed, failed;
    unsigned in_flight;
} cmdexec_stats_t;
const cmdexec_stats_t *cmdexec_stats(const cmdexec_t *self);

#endif
