/* open311_post: POST requests.{fmt}. The form is decoded, the api_key checked (403 without a
 * key or with one whose SHA-256 is not configured), then the request is checked against the
 * service's definition and becomes a hotline.SubmitTicket. Normally it goes through intake's
 * command path (the same handler, group commit and idempotency as every other submission)
 * and the answer carries the ticket id; under a backlog (open311.batchBacklogMark) it is
 * stored in the inbox and the answer carries a token (open311_tokens.c).
 *
 * The backlog is what intake holds at this moment: group-commit items waiting plus HTTP
 * requests handed to handlers and not yet answered, this one included. So a mark of N turns
 * this POST into a token when it would be at least the N-th piece of waiting work; a mark
 * of 1 answers every POST with a token (what the integration test uses), 0 never does. */
#include "open311.h"

#include "hl_error.h"
#include "slog.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ACCOUNT_ID_BYTES (128 * 4 + 1) /* account_id is at most 128 characters */

typedef struct post_origin {
    open311_t *self;
    httpd_req_t *req;
    open311_fmt_t fmt;
    char account_id[ACCOUNT_ID_BYTES]; /* echoed in the answer, as the standard asks */
} post_origin_t;

static bool key_accepted(const open311_t *self, const char *key)
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)key, strlen(key));
    /* Every configured key is compared, in constant time, whatever matched. */
    int ok = 0;
    for (size_t i = 0; i < self->nkeys; i++)
        ok |= sodium_memcmp(h, self->keys[i], sizeof h) == 0;
    sodium_memzero(h, sizeof h);
    return ok != 0;
}

static bool form_content_type(const char *ct)
{
    /* Absent is taken as a form (curl -d, older clients); otherwise it must say so. */
    if (!ct)
        return true;
    static const char FORM[] = "application/x-www-form-urlencoded";
    return strncasecmp(ct, FORM, sizeof FORM - 1) == 0 &&
           (ct[sizeof FORM - 1] == '\0' || ct[sizeof FORM - 1] == ';' ||
            ct[sizeof FORM - 1] == ' ');
}

/* Intake's answer to the SubmitTicket, in the Open311 shape. */
static void post_done(void *origin, const Hotline__CommandReply *reply)
{
    post_origin_t *o = origin;
    if (!service_httpd(o->self->svc)) {
        free(o); /* shutdown closed HTTP: the request is gone */
        return;
    }
    if (reply->status == HOTLINE__STATUS__OK &&
        reply->result_case == HOTLINE__COMMAND_REPLY__RESULT_SUBMIT_TICKET) {
        const Hotline__SubmitTicketResult *r = reply->submit_ticket;
        json_t *item = json_pack("{s:s}", "service_request_id", r->ticket_id);
        if (item && r->message && *r->message)
            json_object_set_new(item, "service_notice", json_string(r->message));
        if (item && *o->account_id)
            json_object_set_new(item, "account_id", json_string(o->account_id));
        open311_respond(o->req, o->fmt, 200, item ? json_pack("[o]", item) : NULL,
                        "service_requests", "request");
    } else {
        /* Intake's refusal names a ticket field: say which parameter it was. */
        int http = 400, code = 400;
        switch (reply->status) {
        case HOTLINE__STATUS__UNAVAILABLE: http = code = 503; break;
        case HOTLINE__STATUS__FORBIDDEN: http = code = 403; break;
        case HOTLINE__STATUS__INTERNAL: http = code = 500; break;
        default: break;
        }
        const char *param = open311_param_for_field(reply->field);
        open311_fail(o->req, o->fmt, http, code, "%s%s%s", param, *param ? ": " : "",
                     reply->message ? reply->message : "refused");
    }
    free(o);
}

/* Is intake holding at least batchBacklogMark pieces of work, this request included? */
static bool backlogged(open311_t *self)
{
    unsigned mark = self->cfg ? self->cfg->batch_backlog_mark : 0;
    if (!mark)
        return false;
    return txq_waiting(service_txq(self->svc)) + httpd_pending(service_httpd(self->svc)) >= mark;
}

/* A token promises a ticket, so intake's own rules are checked before one is given (the
 * drain still records a refusal against the token should one come up then). Returns true
 * when it refused, having answered. */
static bool refused_by_intake(open311_t *self, httpd_req_t *req, open311_fmt_t fmt,
                              const Hotline__Ticket *t)
{
    Hotline__CommandReply r = HOTLINE__COMMAND_REPLY__INIT;
    cmd_reply_t reply = {&r, self->arena};
    int rc = intake_ticket_check(t, &reply);
    if (rc == 0 && r.status == HOTLINE__STATUS__OK)
        return false;
    const char *param = open311_param_for_field(r.field);
    open311_fail(req, fmt, 400, 400, "%s%s%s", param, *param ? ": " : "",
                 r.message ? r.message : hl_strerror(rc));
    return true;
}

void open311_post_request(open311_t *self, httpd_req_t *req, open311_fmt_t fmt)
{
    if (self->stopping) {
        open311_fail(req, fmt, 503, 503, "shutting down: nothing was recorded; retry shortly");
        return;
    }
    if (!form_content_type(httpd_req_header(req, "Content-Type"))) {
        open311_fail(req, fmt, 400, 400,
                     "Content-Type: send the parameters as "
                     "application/x-www-form-urlencoded");
        return;
    }
    size_t len;
    const char *body = httpd_req_body(req, &len);
    form_t *form;
    form_error_t ferr;
    int rc = form_parse(&form, body, len, NULL, &ferr);
    if (rc) {
        open311_fail(req, fmt, rc == HL_ENOMEM ? 503 : 400, rc == HL_ENOMEM ? 503 : 400, "%s%s%s",
                     ferr.key, *ferr.key ? ": " : "", ferr.message);
        return;
    }
    /* The key first: a client without one learns nothing else. */
    size_t nkey = form_count_of(form, "api_key");
    const char *key = form_get(form, "api_key");
    char qkey[300];
    if (!key || !*key) {
        /* Some clients put it in the URL; take it from there as a second choice. */
        int n = httpd_query_param(httpd_req_query(req), "api_key", qkey, sizeof qkey);
        key = n > 0 ? qkey : NULL;
    }
    if (nkey > 1 || !key || !key_accepted(self, key)) {
        const char *outcome = nkey > 1 ? "repeated" : !key ? "missing" : "wrong";
        metric_inc(self->m_key_refusals, (const char *const[]){outcome});
        /* Anyone can send these: counted always, logged at most once a second. */
        uint64_t held;
        if (slog_limit_pass(&self->key_log, hclock_mono_ns() / 1000000, 1000, &held))
            SLOG_WARN("open311_api_key_refused", "outcome=%s peer=%s refused_since_last_line=%llu",
                      outcome, httpd_req_peer_address(req), (unsigned long long)held);
        open311_fail(req, fmt, 403, 403,
                     nkey > 1 ? "api_key: given more than once"
                     : !key   ? "api_key: required to post a request: ask the hotline for one"
                              : "api_key: not accepted: check the key, or ask the hotline for "
                                "one");
        form_destroy(&form);
        return;
    }
    const char *jur = form_get(form, "jurisdiction_id");
    if (jur && *jur && self->cfg && *self->cfg->jurisdiction_id &&
        strcmp(jur, self->cfg->jurisdiction_id) != 0) {
        open311_fail(req, fmt, 400, 400, "jurisdiction_id: this server serves only \"%s\"",
                     self->cfg->jurisdiction_id);
        form_destroy(&form);
        return;
    }
    arena_reset(self->arena);
    Hotline__Ticket *t;
    open311_errors_t errs;
    open311_errors_init(&errs);
    rc = open311_decode_request(form, &self->catalog, self->arena, &t, &errs);
    if (rc) {
        form_destroy(&form);
        if (rc == HL_EINVAL)
            open311_respond_errors(req, fmt, &errs);
        else
            open311_fail(req, fmt, 503, 503, "out of memory: nothing was recorded; retry");
        return;
    }
    /* t points into the form and the arena; the command path needs a message allocated the
     * way protobuf-c unpacks (it frees it so): pack and unpack, cheap next to the commit the
     * request waits for. */
    Hotline__SubmitTicket st = HOTLINE__SUBMIT_TICKET__INIT;
    st.ticket = t;
    size_t plen = hotline__submit_ticket__get_packed_size(&st);
    uint8_t *packed = arena_alloc(self->arena, plen ? plen : 1);
    Hotline__SubmitTicket *cmd = NULL;
    if (packed) {
        hotline__submit_ticket__pack(&st, packed);
        cmd = hotline__submit_ticket__unpack(NULL, plen, packed);
    }
    char account[ACCOUNT_ID_BYTES] = "";
    if (t->account_id && *t->account_id)
        snprintf(account, sizeof account, "%s", t->account_id);
    /* t points into the form; cmd has its own copies from here on. */
    form_destroy(&form);
    if (!cmd) {
        open311_fail(req, fmt, 503, 503, "out of memory: nothing was recorded; retry");
        return;
    }
    if (backlogged(self)) {
        if (refused_by_intake(self, req, fmt, cmd->ticket))
            hotline__submit_ticket__free_unpacked(cmd, NULL);
        else
            open311_tokens_accept(self, req, fmt, cmd);
        return;
    }
    post_origin_t *o = calloc(1, sizeof *o);
    Hotline__Command *c = service_command_new(HOTLINE__COMMAND__BODY_SUBMIT_TICKET, &cmd->base);
    if (!o || !c) {
        free(o);
        if (c)
            hotline__command__free_unpacked(c, NULL);
        open311_fail(req, fmt, 503, 503, "out of memory: nothing was recorded; retry");
        return;
    }
    /* A client retrying after a lost answer gets the first one (intake's idempotency). */
    const char *ikey = httpd_req_header(req, "Idempotency-Key");
    if (ikey && *ikey && strlen(ikey) <= 128) {
        c->idempotency_key = strdup(ikey);
        if (!c->idempotency_key)
            c->idempotency_key = (char *)protobuf_c_empty_string;
    }
    *o = (post_origin_t){.self = self, .req = req, .fmt = fmt};
    snprintf(o->account_id, sizeof o->account_id, "%s", account);
    /* The api_key was checked: the ticket is recorded by the Open311 channel itself. */
    static const auth_principal_t OPEN311 = {.role = HOTLINE__ROLE__ROLE_SERVICE,
                                             .name = "open311"};
    service_command(self->svc, &OPEN311, c, post_done, o);
}
