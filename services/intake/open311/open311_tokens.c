/* open311_tokens: batch mode. Under a backlog a POST is answered with a token instead of a
 * service_request_id, but only once the decoded request is durable: it is stored in the
 * "open311_inbox" sub-database by a group-commit item, and the answer waits for that commit
 * ("acknowledged means durable"). A drain pass, itself a group-commit item, turns at most
 * DRAIN_MAX inbox entries into tickets with intake_submit, records token -> ticket id in
 * "open311_tokens" and deletes the entries, all in one transaction (so each entry becomes
 * exactly one ticket, whatever crashes); it is queued again while the inbox is not empty,
 * after each token commit, and at start-up for entries a crash left behind.
 *
 * Keys: inbox = received ms (8 bytes BE) + token, so the oldest is turned first; tokens =
 * token -> state (1 byte: pending, ticket, refused) + created ms (8 bytes BE) + the ticket id
 * or intake's refusal. Tokens are 16 random bytes in hex (libsodium): unguessable.
 * Loop thread only. */
#include "open311.h"

#include "hl_error.h"
#include "slog.h"

#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_MAX 200 /* entries per pass: bounded, so a pass never holds the writer long */
#define INBOX_KEY (8 + OPEN311_TOKEN_HEX)
#define STATE_PENDING 0
#define STATE_TICKET 1
#define STATE_REFUSED 2

typedef struct token_item {
    txq_item_t item; /* first: the txq hands this pointer back */
    open311_t *self;
    httpd_req_t *req;
    open311_fmt_t fmt;
    int64_t now_ms;
    char token[OPEN311_TOKEN_HEX + 1];
    size_t len;
    uint8_t packed[]; /* the SubmitTicket */
} token_item_t;

static int token_put(open311_t *self, MDB_txn *txn, const char *token, int state,
                     int64_t created_ms, const char *text)
{
    char clean[512]; /* an id, or a refusal cut to fit on a character boundary */
    open311_quote(clean, sizeof clean, text ? text : "");
    size_t tlen = strlen(clean);
    uint8_t val[9 + sizeof clean];
    val[0] = (uint8_t)state;
    store_be64_put(val + 1, (uint64_t)created_ms);
    memcpy(val + 9, clean, tlen);
    return store_put(txn, self->tokens, token, OPEN311_TOKEN_HEX, val, 9 + tlen, 0);
}

static int accept_apply(txq_item_t *item, MDB_txn *txn)
{
    token_item_t *ti = (token_item_t *)item;
    uint8_t key[INBOX_KEY];
    store_be64_put(key, (uint64_t)ti->now_ms);
    memcpy(key + 8, ti->token, OPEN311_TOKEN_HEX);
    int rc = store_put(txn, ti->self->inbox, key, sizeof key, ti->packed, ti->len, 0);
    if (!rc)
        rc = token_put(ti->self, txn, ti->token, STATE_PENDING, ti->now_ms, NULL);
    return rc;
}

static void accept_done(txq_item_t *item, int rc)
{
    token_item_t *ti = (token_item_t *)item;
    open311_t *self = ti->self;
    /* After the skeleton closed HTTP (shutdown) the request no longer exists. */
    if (service_httpd(self->svc)) {
        if (rc == 0)
            open311_respond(ti->req, ti->fmt, 200, json_pack("[{s:s}]", "token", ti->token),
                            "service_requests", "request");
        else
            open311_fail(ti->req, ti->fmt, 503, 503,
                         "the request could not be stored (%s): "
                         "nothing was recorded; retry later",
                         hl_strerror(rc));
    }
    if (rc == 0) {
        metric_inc(self->m_tokens, (const char *const[]){"issued"});
        open311_tokens_kick(self);
    }
    free(ti);
}

void open311_tokens_accept(open311_t *self, httpd_req_t *req, open311_fmt_t fmt,
                           Hotline__SubmitTicket *cmd)
{
    size_t len = hotline__submit_ticket__get_packed_size(cmd);
    token_item_t *ti = calloc(1, sizeof *ti + len);
    if (!ti) {
        hotline__submit_ticket__free_unpacked(cmd, NULL);
        open311_fail(req, fmt, 503, 503, "out of memory: nothing was recorded; retry later");
        return;
    }
    hotline__submit_ticket__pack(cmd, ti->packed);
    hotline__submit_ticket__free_unpacked(cmd, NULL);
    uint8_t raw[OPEN311_TOKEN_HEX / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(ti->token, sizeof ti->token, raw, sizeof raw);
    ti->item.apply = accept_apply;
    ti->item.done = accept_done;
    ti->self = self;
    ti->req = req;
    ti->fmt = fmt;
    ti->len = len;
    ti->now_ms = hclock_now_ms(service_clock(self->svc));
    txq_submit(service_txq(self->svc), &ti->item);
}

/* ---- the drain ---- */

/* Store failures end the pass (the txq retries or reports them); anything else is about the
 * entry itself and is recorded against its token. */
static bool store_failure(int rc)
{
    return rc == HL_EFULL || rc == HL_ETXNFULL || rc == HL_ENOSPC || rc == HL_EIO ||
           rc == HL_ENOMEM;
}

/* Turn one inbox entry into a ticket inside txn; the entry is deleted either way. */
static int drain_one(open311_t *self, MDB_txn *txn, const uint8_t *key, const uint8_t *val,
                     size_t vlen)
{
    arena_t *a = self->drain_arena;
    char token[OPEN311_TOKEN_HEX + 1];
    memcpy(token, key + 8, OPEN311_TOKEN_HEX);
    token[OPEN311_TOKEN_HEX] = '\0';
    int64_t created = (int64_t)store_be64_get(key);
    Hotline__SubmitTicket *cmd = hotline__submit_ticket__unpack(arena_allocator(a), vlen, val);
    Hotline__CommandReply r = HOTLINE__COMMAND_REPLY__INIT;
    cmd_reply_t reply = {&r, a};
    int state = STATE_REFUSED;
    const char *text = "the stored request did not decode";
    if (cmd) {
        /* Its own savepoint: a refusal must leave none of intake_submit's writes behind. */
        MDB_txn *child;
        int rc = store_child_begin(service_store(self->svc), txn, &child);
        if (rc)
            return rc;
        rc = intake_submit(self->intake, child, cmd, &reply);
        if (rc == 0 && r.status == HOTLINE__STATUS__OK &&
            r.result_case == HOTLINE__COMMAND_REPLY__RESULT_SUBMIT_TICKET) {
            rc = store_write_commit(service_store(self->svc), &child);
            if (rc)
                return rc;
            state = STATE_TICKET;
            text = r.submit_ticket->ticket_id;
        } else {
            store_write_abort(&child);
            if (rc && store_failure(rc))
                return rc;
            text = rc ? hl_strerror(rc)
                      : arena_printf(a, "%s: %s", open311_param_for_field(r.field),
                                     r.message ? r.message : "refused");
            SLOG_WARN("open311_token_refused", "token=%.8s... reason=\"%s\"", token,
                      text ? text : "");
        }
    }
    int rc = token_put(self, txn, token, state, created, text);
    if (!rc)
        rc = store_del(txn, self->inbox, key, INBOX_KEY);
    if (!rc) {
        if (state == STATE_TICKET)
            self->drained_ok++;
        else
            self->drained_refused++;
    }
    return rc;
}

int open311_tokens_drain(open311_t *self, MDB_txn *txn, unsigned max, bool *more)
{
    *more = false;
    self->drained_ok = self->drained_refused = 0; /* a re-applied pass counts afresh */
    for (unsigned n = 0;; n++) {
        /* The first entry afresh each time, not a scan: the submit below runs in a child
         * transaction, and a parent's cursor must not be used across one. */
        MDB_val k, v;
        int rc = store_first(txn, self->inbox, &k, &v);
        if (rc == HL_ENOTFOUND)
            return 0;
        if (rc)
            return rc;
        if (n == max) {
            *more = true;
            return 0;
        }
        arena_reset(self->drain_arena);
        if (k.mv_size != INBOX_KEY) {
            /* Not ours: drop it rather than stall the inbox behind it. */
            rc = store_del(txn, self->inbox, k.mv_data, k.mv_size);
            if (rc)
                return rc;
            continue;
        }
        /* Copies: the child transaction may move the pages these point into. */
        uint8_t key[INBOX_KEY];
        memcpy(key, k.mv_data, INBOX_KEY);
        uint8_t *val = arena_alloc(self->drain_arena, v.mv_size ? v.mv_size : 1);
        if (!val)
            return HL_ENOMEM;
        memcpy(val, v.mv_data, v.mv_size);
        rc = drain_one(self, txn, key, val, v.mv_size);
        if (rc)
            return rc;
    }
}

static int drain_apply(txq_item_t *item, MDB_txn *txn)
{
    open311_t *self = (open311_t *)((char *)item - offsetof(open311_t, drain));
    return open311_tokens_drain(self, txn, DRAIN_MAX, &self->drain_more);
}

static void drain_done(txq_item_t *item, int rc)
{
    open311_t *self = (open311_t *)((char *)item - offsetof(open311_t, drain));
    self->drain_queued = false;
    if (rc) {
        SLOG_WARN("open311_drain_failed", "reason=\"%s\" next=\"retry after the next commit\"",
                  hl_strerror(rc));
        self->drain_retry = true;
        return;
    }
    if (self->drained_ok)
        metric_add(self->m_tokens, (const char *const[]){"ticket"}, self->drained_ok);
    if (self->drained_refused)
        metric_add(self->m_tokens, (const char *const[]){"refused"}, self->drained_refused);
    if (self->drain_more)
        open311_tokens_kick(self); /* one pass per loop turn until the inbox is empty */
}

void open311_tokens_kick(open311_t *self)
{
    if (self->drain_queued || self->stopping)
        return;
    self->drain_queued = true;
    self->drain.apply = drain_apply;
    self->drain.done = drain_done;
    txq_submit(service_txq(self->svc), &self->drain);
}

/* After any commit: a pass that failed (store full) may succeed now. */
static void after_commit(void *ctx)
{
    open311_t *self = ctx;
    if (self->drain_retry && !self->drain_queued && !self->stopping) {
        self->drain_retry = false;
        open311_tokens_kick(self);
    }
}

static double inbox_pending(void *ctx)
{
    open311_t *self = ctx;
    MDB_txn *txn;
    uint64_t n;
    if (store_read_begin(service_store(self->svc), &txn))
        return 0;
    int rc = store_count(txn, self->inbox, &n);
    store_read_end(&txn);
    return rc ? 0 : (double)n;
}

int open311_tokens_init(open311_t *self)
{
    store_t *st = service_store(self->svc);
    int rc = store_db(st, "open311_inbox", 0, &self->inbox);
    if (!rc)
        rc = store_db(st, "open311_tokens", 0, &self->tokens);
    if (!rc)
        rc = arena_create(&self->drain_arena);
    if (!rc)
        rc = txq_on_commit(service_txq(self->svc), after_commit, self);
    if (!rc)
        rc = metrics_gauge_callback(service_metrics(self->svc), "hotline_open311_inbox",
                                    "Open311 requests acknowledged with a token and not yet "
                                    "turned into tickets.",
                                    inbox_pending, self);
    if (rc)
        return rc;
    if (inbox_pending(self) > 0) {
        SLOG_INFO("open311_inbox_resume", "pending=%.0f", inbox_pending(self));
        open311_tokens_kick(self);
    }
    return 0;
}

static bool token_valid(const char *t)
{
    if (strlen(t) != OPEN311_TOKEN_HEX)
        return false;
    for (; *t; t++)
        if (!((*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f')))
            return false;
    return true;
}

void open311_tokens_get(open311_t *self, httpd_req_t *req, open311_fmt_t fmt, const char *token)
{
    if (!token_valid(token)) {
        open311_fail(req, fmt, 404, 404,
                     "token: no such token (tokens are 32 hex digits, as "
                     "POST requests gave them)");
        return;
    }
    MDB_txn *txn;
    int rc = store_read_begin(service_store(self->svc), &txn);
    if (rc) {
        open311_fail(req, fmt, 503, 503, "store unavailable: %s", hl_strerror(rc));
        return;
    }
    MDB_val v;
    rc = store_get(txn, self->tokens, token, OPEN311_TOKEN_HEX, &v);
    json_t *item = NULL;
    if (rc == 0 && v.mv_size >= 9) {
        const char *text = (const char *)v.mv_data + 9;
        int tlen = (int)(v.mv_size - 9);
        uint8_t state = *(const uint8_t *)v.mv_data;
        item = json_object();
        if (state == STATE_TICKET)
            json_object_set_new(item, "service_request_id", json_stringn(text, (size_t)tlen));
        json_object_set_new(item, "token", json_string(token));
        if (state == STATE_REFUSED) {
            char notice[600];
            snprintf(notice, sizeof notice, "not recorded: %.*s", tlen, text);
            json_object_set_new(item, "service_notice", json_string(notice));
        }
    }
    store_read_end(&txn);
    if (rc == HL_ENOTFOUND || (rc == 0 && !item))
        open311_fail(req, fmt, 404, 404, "token: no such token %s", token);
    else if (rc)
        open311_fail(req, fmt, 500, 500, "cannot read the token: %s", hl_strerror(rc));
    else
        open311_respond(req, fmt, 200, json_pack("[o]", item), "service_requests", "request");
}
