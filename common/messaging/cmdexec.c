/* cmdexec: idempotent command execution on the group commit. Loop thread. */
#include "cmdexec.h"

#include "hl_error.h"
#include "slog.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDEM_KEY_MAX 128
#define FP_BYTES 16 /* the fingerprint of a command kept beside its first answer */

struct cmdexec {
    store_t *store;
    txq_t *txq;
    hclock_t *clock;
    MDB_dbi idem;      /* scoped key -> 8-byte time + fingerprint + packed CommandReply */
    MDB_dbi idem_time; /* 8-byte time + key -> "" (for trimming by age) */
    int64_t window_ms;
    cmd_handler_fn handler;
    void *ctx;
    cmdexec_stats_t stats;
};

typedef struct job {
    txq_item_t item;     /* first: the txq hands this pointer back */
    cmdexec_t *exec;
    Hotline__Command *cmd;
    arena_t *arena;
    Hotline__CommandReply *reply;
    bool refused;        /* answered non-OK: nothing it wrote is kept (refusal_rc) */
    bool replayed;       /* answered from the idempotency record */
    char *key;           /* the idempotency key scoped by who asks (arena), NULL = none */
    size_t klen;
    uint8_t fp[FP_BYTES]; /* BLAKE2b of the command without its key: a reused key with
                           * another command is told apart from a retry */
    cmd_done_fn done;
    void *origin;
} job_t;

int cmd_refuse(cmd_reply_t *reply, Hotline__Status status, const char *field, const char *fmt,
               ...)
{
    reply->msg->status = status;
    reply->msg->field = arena_strdup(reply->arena, field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    reply->msg->message = arena_strdup(reply->arena, buf);
    return 0;
}

int cmd_http_status(Hotline__Status status)
{
    switch (status) {
    case HOTLINE__STATUS__UNAUTHENTICATED: return 401;
    case HOTLINE__STATUS__KEY_REUSED: return 422;
    case HOTLINE__STATUS__OK: return 200;
    case HOTLINE__STATUS__INVALID: return 400;
    case HOTLINE__STATUS__NOT_FOUND: return 404;
    case HOTLINE__STATUS__CONFLICT: return 409;
    case HOTLINE__STATUS__GONE: return 410;
    case HOTLINE__STATUS__FORBIDDEN: return 403;
    case HOTLINE__STATUS__UNAVAILABLE: return 503;
    default: return 500;
    }
}

int cmdexec_create(cmdexec_t **out, store_t *store, txq_t *txq, hclock_t *clock,
                   unsigned idempotency_hours, cmd_handler_fn handler, void *ctx)
{
    cmdexec_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->store = store;
    self->txq = txq;
    self->clock = clock;
    self->window_ms = (int64_t)(idempotency_hours ? idempotency_hours : 24) * 3600 * 1000;
    self->handler = handler;
    self->ctx = ctx;
    int rc = store_db(store, "idem", 0, &self->idem);
    if (!rc)
        rc = store_db(store, "idem_time", 0, &self->idem_time);
    if (rc) {
        free(self);
        return rc;
    }
    *out = self;
    return 0;
}

void cmdexec_destroy(cmdexec_t **self)
{
    if (!self || !*self)
        return;
    free(*self);
    *self = NULL;
}

static Hotline__CommandReply *new_reply(arena_t *arena)
{
    Hotline__CommandReply *r = arena_alloc(arena, sizeof *r);
    if (r)
        hotline__command_reply__init(r);
    return r;
}

static int remember(job_t *job, MDB_txn *txn, const char *key, size_t klen)
{
    cmdexec_t *self = job->exec;
    size_t len = hotline__command_reply__get_packed_size(job->reply);
    uint8_t *val = arena_alloc(job->arena, 8 + FP_BYTES + len);
    uint8_t *tkey = arena_alloc(job->arena, 8 + klen);
    if (!val || !tkey)
        return HL_ENOMEM;
    int64_t now = hclock_now_ms(self->clock);
    store_be64_put(val, (uint64_t)now);
    memcpy(val + 8, job->fp, FP_BYTES);
    hotline__command_reply__pack(job->reply, val + 8 + FP_BYTES);
    int rc = store_put(txn, self->idem, key, klen, val, 8 + FP_BYTES + len, 0);
    if (rc)
        return rc;
    store_be64_put(tkey, (uint64_t)now);
    memcpy(tkey + 8, key, klen);
    return store_put(txn, self->idem_time, tkey, 8 + klen, "", 0, 0);
}

/* What job_apply returns for a refusal. The txq keeps an item's writes when it returns 0 and
 * drops them all otherwise (with a savepoint: see txq.h), and a refusal must leave nothing
 * behind. A refusal decided before anything was written (the store counted no write since
 * writes0: the usual case, handlers check before they write) has nothing to drop: 0 keeps
 * the batch on the fast path, and job_done answers the refusal (job->refused). One that came
 * after writes returns an error, so that they are rolled back; it still answers as refused. */
static int refusal_rc(uint64_t writes0)
{
    return store_writes() == writes0 ? 0 : HL_EINVAL;
}

static int job_apply(txq_item_t *item, MDB_txn *txn)
{
    job_t *job = (job_t *)item;
    cmdexec_t *self = job->exec;
    uint64_t writes0 = store_writes();
    const char *key = job->key;
    size_t klen = job->klen;
    job->refused = job->replayed = false;
    job->reply = new_reply(job->arena);
    if (!job->reply)
        return HL_ENOMEM;
    if (klen) {
        MDB_val v;
        int rc = store_get(txn, self->idem, key, klen, &v);
        if (rc == 0 && v.mv_size >= 8 + FP_BYTES) {
            const uint8_t *val = v.mv_data;
            if (memcmp(val + 8, job->fp, FP_BYTES) != 0) {
                /* The same key for another command: a client bug, or two requests that
                 * collided on a key. Either way the first must not swallow the second. */
                cmd_reply_t r = {job->reply, job->arena};
                cmd_refuse(&r, HOTLINE__STATUS__KEY_REUSED, "idempotencyKey",
                           "the idempotency key '%.128s' was already used for a different "
                           "command: send a new request with a new key (a retry must repeat "
                           "the first request exactly)",
                           job->cmd->idempotency_key);
                job->refused = true;
                return refusal_rc(writes0);
            }
            Hotline__CommandReply *first = hotline__command_reply__unpack(
                arena_allocator(job->arena), v.mv_size - 8 - FP_BYTES, val + 8 + FP_BYTES);
            if (first) {
                job->reply = first;
                job->replayed = true;
                return 0;
            }
        } else if (rc != HL_ENOTFOUND && rc != 0) {
            return rc;
        }
    }
    cmd_reply_t reply = {job->reply, job->arena};
    int rc = self->handler(self->ctx, txn, job->cmd, &reply);
    if (rc)
        return rc;
    if (job->reply->status != HOTLINE__STATUS__OK) {
        job->refused = true;
        return refusal_rc(writes0);
    }
    return klen ? remember(job, txn, key, klen) : 0;
}

static void job_finish(job_t *job, const Hotline__CommandReply *reply)
{
    cmdexec_t *self = job->exec;
    self->stats.in_flight--;
    job->done(job->origin, reply);
    hotline__command__free_unpacked(job->cmd, NULL);
    arena_destroy(&job->arena);
    free(job);
}

static void job_done(txq_item_t *item, int rc)
{
    job_t *job = (job_t *)item;
    cmdexec_t *self = job->exec;
    if (rc == 0 || job->refused) {
        if (job->replayed)
            self->stats.replayed++;
        else if (job->refused)
            self->stats.refused++;
        else
            self->stats.ok++;
        job_finish(job, job->reply);
        return;
    }
    self->stats.failed++;
    Hotline__CommandReply r = HOTLINE__COMMAND_REPLY__INIT;
    char msg[256];
    if (rc == HL_ENOSPC || rc == HL_EIO) {
        r.status = HOTLINE__STATUS__UNAVAILABLE;
        snprintf(msg, sizeof msg, "the store cannot write (%s): nothing was stored, retry later",
                 rc == HL_EIO ? "disk full or failing" : hl_strerror(rc));
    } else {
        r.status = HOTLINE__STATUS__INTERNAL;
        snprintf(msg, sizeof msg, "not stored: %s; nothing was changed", hl_strerror(rc));
    }
    r.message = msg;
    job_finish(job, &r);
}

void cmd_answer(Hotline__Command *cmd, cmd_done_fn done, void *origin, Hotline__Status status,
                const char *field, const char *message)
{
    Hotline__CommandReply r = HOTLINE__COMMAND_REPLY__INIT;
    r.status = status;
    r.field = (char *)(field ? field : "");
    r.message = (char *)message;
    done(origin, &r);
    hotline__command__free_unpacked(cmd, NULL);
}

void cmd_answer_unavailable(Hotline__Command *cmd, cmd_done_fn done, void *origin,
                            const char *message)
{
    cmd_answer(cmd, done, origin, HOTLINE__STATUS__UNAVAILABLE, NULL, message);
}

/* The key a command's first answer is kept under: who asks, then the key, so two callers
 * never share (or read) each other's answers. And the command's fingerprint. */
static int scope_key(job_t *job)
{
    Hotline__Command *cmd = job->cmd;
    const char *key = cmd->idempotency_key;
    if (!key || !*key)
        return 0;
    const char *actor = cmd->actor ? cmd->actor : "";
    const char *name = cmd->by && cmd->by->name ? cmd->by->name : "";
    size_t alen = strlen(actor), nlen = strlen(name), klen = strlen(key);
    job->klen = alen + 1 + nlen + 1 + klen;
    job->key = arena_alloc(job->arena, job->klen);
    if (!job->key)
        return HL_ENOMEM;
    memcpy(job->key, actor, alen);
    job->key[alen] = '\x1f';
    memcpy(job->key + alen + 1, name, nlen);
    job->key[alen + 1 + nlen] = '\x1f';
    memcpy(job->key + alen + 2 + nlen, key, klen);
    /* Fingerprint the command as it would be without its key. */
    cmd->idempotency_key = (char *)protobuf_c_empty_string;
    size_t len = hotline__command__get_packed_size(cmd);
    uint8_t *buf = arena_alloc(job->arena, len ? len : 1);
    if (buf)
        hotline__command__pack(cmd, buf);
    cmd->idempotency_key = (char *)key;
    if (!buf)
        return HL_ENOMEM;
    crypto_generichash(job->fp, FP_BYTES, buf, len, NULL, 0);
    return 0;
}

void cmdexec_submit(cmdexec_t *self, Hotline__Command *cmd, cmd_done_fn done, void *origin)
{
    self->stats.submitted++;
    self->stats.in_flight++;
    job_t *job = calloc(1, sizeof *job);
    if (!job || arena_create(&job->arena) != 0) {
        free(job);
        self->stats.in_flight--;
        self->stats.failed++;
        cmd_answer_unavailable(cmd, done, origin, "out of memory; retry later");
        return;
    }
    job->exec = self;
    job->cmd = cmd;
    job->done = done;
    job->origin = origin;
    job->item.apply = job_apply;
    job->item.done = job_done;
    if (cmd->idempotency_key && strlen(cmd->idempotency_key) > IDEM_KEY_MAX) {
        Hotline__CommandReply r = HOTLINE__COMMAND_REPLY__INIT;
        char msg[128];
        snprintf(msg, sizeof msg, "idempotency key longer than %d bytes", IDEM_KEY_MAX);
        r.status = HOTLINE__STATUS__INVALID;
        r.field = "idempotencyKey";
        r.message = msg;
        self->stats.refused++;
        job_finish(job, &r);
        return;
    }
    if (scope_key(job) != 0) {
        Hotline__CommandReply r = HOTLINE__COMMAND_REPLY__INIT;
        r.status = HOTLINE__STATUS__UNAVAILABLE;
        r.message = "out of memory; retry later";
        self->stats.failed++;
        job_finish(job, &r);
        return;
    }
    txq_submit(self->txq, &job->item);
}

int cmdexec_trim(cmdexec_t *self, MDB_txn *txn, unsigned max, unsigned *deleted)
{
    *deleted = 0;
    int64_t cutoff = hclock_now_ms(self->clock) - self->window_ms;
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, self->idem_time, &cur);
    if (mrc)
        return hl_error_from_mdb(mrc);
    MDB_val k, v;
    int rc = 0;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && *deleted < max;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 8 || (int64_t)store_be64_get(k.mv_data) >= cutoff)
            break;
        rc = store_del(txn, self->idem, (const char *)k.mv_data + 8, k.mv_size - 8);
        if (rc && rc != HL_ENOTFOUND)
            break;
        rc = store_cursor_del(cur);
        if (rc)
            break;
        (*deleted)++;
    }
    mdb_cursor_close(cur);
    return rc;
}

const cmdexec_stats_t *cmdexec_stats(const cmdexec_t *self)
{
    return &self->stats;
}
