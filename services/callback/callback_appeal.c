/* callback_appeal: appeals of ratings (申诉, docs/domain.md "Lifecycle" and "KPIs").
 *
 * Every rating callback records (an agent's call, or one call settling a caller's tickets of
 * an incident) is noted in `ratings`, so a unit can appeal the latest rating of its ticket:
 * FileAppeal, within appealWindowWorkingDays working days of the rating's day, citing a
 * reason from the configured exclusion list (appealReasons) with a statement and evidence
 * links. A supervisor rules once (ReviewAppeal): upheld, the rating leaves the KPIs through
 * a KpiEligibilityChanged event (analytics moves it out of the period it was recorded in, so
 * last month's satisfaction changes when an appeal is upheld today); rejected, it stays. The
 * raw rating is never changed: the CallbackRated event stays in the timeline.
 *
 * Sub-databases:
 *   ratings   TASK_KEY (ticket, round) -> rating (1), resolved (1), satisfied (1), 0, rated_ms
 *                                          (be64), unit (the rest)
 *   appeals   TASK_KEY (ticket, round) -> packed hotline.Appeal
 * Both run inside the command's (or feed batch's) write transaction. Loop thread. */
#include "callback_internal.h"

#include "hl_error.h"
#include "slog.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATING_FIXED 12 /* rating, resolved, satisfied, pad, rated_ms */

int callback_appeal_open(callback_t *self, store_t *store)
{
    int rc = store_db(store, "ratings", 0, &self->ratings);
    return rc ? rc : store_db(store, "appeals", 0, &self->appeals);
}

/* ---- settings ---- */

static bool code_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > CALLBACK_APPEAL_CODE_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

int callback_appeal_check_reasons(const Hotline__AppealReason *const *reasons, size_t n,
                                  char *err, size_t err_size)
{
    if (n == 0) {
        snprintf(err, err_size, "appealReasons: give at least one reason a unit may cite");
        return HL_EINVAL;
    }
    if (n > CALLBACK_APPEAL_REASONS_MAX) {
        snprintf(err, err_size, "appealReasons: at most %d reasons (got %zu)",
                 CALLBACK_APPEAL_REASONS_MAX, n);
        return HL_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *code = reasons[i]->code ? reasons[i]->code : "";
        const char *label = reasons[i]->label ? reasons[i]->label : "";
        if (!code_ok(code)) {
            snprintf(err, err_size,
                     "appealReasons[%zu].code: \"%.40s\" must be 1 to %d characters of a-z, "
                     "0-9 and '-'",
                     i, code, CALLBACK_APPEAL_CODE_MAX);
            return HL_EINVAL;
        }
        long chars = utf8_chars(label);
        if (chars < 1 || chars > 200) {
            snprintf(err, err_size,
                     "appealReasons[%zu].label: required, 1 to 200 characters of UTF-8 "
                     "(what people read for code %s)",
                     i, code);
            return HL_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(reasons[j]->code, code) == 0) {
                snprintf(err, err_size, "appealReasons[%zu].code: %s is listed twice", i, code);
                return HL_EINVAL;
            }
    }
    return 0;
}

static const Hotline__AppealReason *find_reason(const callback_t *self, const char *code)
{
    for (size_t i = 0; i < self->cfg.n_appeal_reasons; i++)
        if (strcmp(self->cfg.appeal_reasons[i]->code, code) == 0)
            return self->cfg.appeal_reasons[i];
    return NULL;
}

/* ---- ratings ---- */

int callback_rating_note(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         const Hotline__CallbackRated *cr, int64_t rated_ms)
{
    uint8_t key[TASK_KEY_MAX];
    size_t klen = callback_task_key(key, ticket_id, cr->round);
    const char *unit = cr->unit ? cr->unit : "";
    size_t ulen = strnlen(unit, CALLBACK_UNIT_MAX);
    uint8_t val[RATING_FIXED + CALLBACK_UNIT_MAX];
    val[0] = (uint8_t)cr->rating;
    val[1] = cr->resolved;
    val[2] = cr->satisfied;
    val[3] = 0;
    store_be64_put(val + 4, (uint64_t)rated_ms);
    memcpy(val + RATING_FIXED, unit, ulen);
    return store_put(txn, self->ratings, key, klen, val, RATING_FIXED + ulen, 0);
}

typedef struct rating {
    uint32_t round;
    Hotline__Rating rating;
    bool resolved, satisfied;
    int64_t rated_ms;
    char unit[CALLBACK_UNIT_MAX + 1];
} rating_t;

static int latest_visit(void *ctx, const store_entry_t *e)
{
    rating_t *r = ctx;
    char id[CALLBACK_ID_MAX + 1];
    const uint8_t *v = e->val.mv_data;
    if (callback_task_key_parse(e->key.mv_data, e->key.mv_size, id, &r->round) ||
        e->val.mv_size < RATING_FIXED || e->val.mv_size > RATING_FIXED + CALLBACK_UNIT_MAX)
        return HL_ECORRUPT;
    r->rating = (Hotline__Rating)v[0];
    r->resolved = v[1];
    r->satisfied = v[2];
    r->rated_ms = (int64_t)store_be64_get(v + 4);
    memcpy(r->unit, v + RATING_FIXED, e->val.mv_size - RATING_FIXED);
    r->unit[e->val.mv_size - RATING_FIXED] = '\0';
    return 1; /* the first in reverse order is the latest round */
}

/* Entries of ticket_id in dbi (a TASK_KEY-keyed sub-database), the latest round first. */
static int scan_ticket(MDB_txn *txn, MDB_dbi dbi, const char *ticket_id, store_scan_fn fn,
                       void *ctx)
{
    uint8_t prefix[TASK_KEY_MAX];
    size_t plen = strlen(ticket_id) + 1; /* id, NUL: the TASK_KEY without its round */
    memcpy(prefix, ticket_id, plen);
    store_range_t r = {.prefix = prefix, .prefix_len = plen, .reverse = true};
    return store_scan(txn, dbi, &r, fn, ctx);
}

static int latest_rating(callback_t *self, MDB_txn *txn, const char *ticket_id, rating_t *r)
{
    memset(r, 0, sizeof *r);
    r->rating = HOTLINE__RATING__RATING_UNSPECIFIED;
    int rc = scan_ticket(txn, self->ratings, ticket_id, latest_visit, r);
    if (rc)
        return rc;
    return r->rating == HOTLINE__RATING__RATING_UNSPECIFIED ? HL_ENOTFOUND : 0;
}

/* ---- appeals ---- */

int callback_appeal_get(callback_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                        ProtobufCAllocator *alloc, Hotline__Appeal **out)
{
    uint8_t key[TASK_KEY_MAX];
    size_t klen = callback_task_key(key, ticket_id, round);
    MDB_val v;
    int rc = store_get(txn, self->appeals, key, klen, &v);
    if (rc)
        return rc;
    *out = hotline__appeal__unpack(alloc, v.mv_size, v.mv_data);
    return *out ? 0 : HL_ECORRUPT;
}

static int appeal_put(callback_t *self, MDB_txn *txn, const Hotline__Appeal *a)
{
    uint8_t key[TASK_KEY_MAX];
    size_t klen = callback_task_key(key, a->ticket_id, a->round);
    size_t len = hotline__appeal__get_packed_size(a);
    void *at;
    int rc = store_put_reserve(txn, self->appeals, key, klen, len ? len : 1, 0, &at);
    if (!rc)
        hotline__appeal__pack(a, at);
    return rc;
}

typedef struct appeal_walk {
    callback_appeal_fn fn;
    void *ctx;
} appeal_walk_t;

static int appeal_visit(void *ctx, const store_entry_t *e)
{
    appeal_walk_t *w = ctx;
    Hotline__Appeal *a = hotline__appeal__unpack(NULL, e->val.mv_size, e->val.mv_data);
    if (!a)
        return HL_ECORRUPT;
    int rc = w->fn(w->ctx, a);
    hotline__appeal__free_unpacked(a, NULL);
    return rc;
}

int callback_appeal_scan(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         callback_appeal_fn fn, void *ctx)
{
    appeal_walk_t w = {fn, ctx};
    if (ticket_id)
        return scan_ticket(txn, self->appeals, ticket_id, appeal_visit, &w);
    /* Every appeal: they are a small share of tickets (a few a day per unit). */
    return store_scan(txn, self->appeals, NULL, appeal_visit, &w);
}

/* ---- FileAppeal ---- */

static bool url_ok(const char *u)
{
    size_t n = strlen(u);
    if (n > CALLBACK_APPEAL_URL_MAX ||
        !(strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0))
        return false;
    const char *host = u + (u[4] == 's' ? 8 : 7);
    if (!*host || *host == '/')
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return false; /* percent-encode anything else */
    return true;
}

/* 1..max characters of UTF-8: 1 when valid, else refused naming field. */
static int check_text(cmd_reply_t *reply, const char *field, const char *text, long max,
                      const char *what)
{
    long chars = utf8_chars(text ? text : "");
    if (chars < 0)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field, "must be valid UTF-8");
    if (chars == 0)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field, "required: %s", what);
    if (chars > max)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field,
                          "at most %ld characters (got %ld): shorten it", max, chars);
    return 1;
}

static int check_ticket(cmd_reply_t *reply, const char *id)
{
    if (callback_id_ok(id))
        return 1;
    return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "ticketId",
                      "the ticket id is required (e.g. 20261125-1-000123), at most %d "
                      "characters",
                      CALLBACK_ID_MAX);
}

static int check_filing(callback_t *self, const Hotline__FileAppeal *fa, cmd_reply_t *reply)
{
    int ok = check_ticket(reply, fa->ticket_id);
    if (ok <= 0)
        return ok;
    const char *code = fa->reason_code ? fa->reason_code : "";
    if (!find_reason(self, code)) {
        char codes[CALLBACK_APPEAL_REASONS_MAX * (CALLBACK_APPEAL_CODE_MAX + 2) + 1] = "";
        for (size_t i = 0; i < self->cfg.n_appeal_reasons; i++)
            snprintf(codes + strlen(codes), sizeof codes - strlen(codes), "%s%s", i ? ", " : "",
                     self->cfg.appeal_reasons[i]->code);
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "reasonCode",
                          "\"%.40s\" is not on the centre's exclusion list: one of %s", code,
                          codes);
    }
    ok = check_text(reply, "statement", fa->statement, CALLBACK_APPEAL_TEXT_MAX,
                    "say what happened and why the rating is unfair");
    if (ok <= 0)
        return ok;
    if (fa->n_evidence_urls > CALLBACK_APPEAL_URLS_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "evidenceUrls",
                          "at most %d links (got %zu): put the rest in one document",
                          CALLBACK_APPEAL_URLS_MAX, fa->n_evidence_urls);
    for (size_t i = 0; i < fa->n_evidence_urls; i++)
        if (!url_ok(fa->evidence_urls[i])) {
            char field[40];
            snprintf(field, sizeof field, "evidenceUrls[%u]", (unsigned)i);
            return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field,
                              "not an http(s) link: http:// or https://, a host, at most %d "
                              "characters, no spaces (percent-encode them)",
                              CALLBACK_APPEAL_URL_MAX);
        }
    return 1;
}

/* An appeal of (ticket, round) exists: refused, saying in which state. */
static int refuse_existing(callback_t *self, const Hotline__Appeal *a, cmd_reply_t *reply)
{
    char when[48];
    if (a->state == HOTLINE__APPEAL_STATE__APPEAL_FILED) {
        calendar_format_local(self->cal, a->filed_ms, when, sizeof when);
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                          "the rating of ticket %s (round %u) is already appealed (filed %s), "
                          "waiting for a supervisor",
                          a->ticket_id, (unsigned)a->round, when);
    }
    calendar_format_local(self->cal, a->reviewed_ms, when, sizeof when);
    return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                      "the appeal of ticket %s (round %u) was %s on %s: a rating is appealed "
                      "once",
                      a->ticket_id, (unsigned)a->round,
                      a->state == HOTLINE__APPEAL_STATE__APPEAL_UPHELD ? "upheld" : "rejected",
                      when);
}

static int answer(cmd_reply_t *reply, const Hotline__Appeal *a)
{
    /* The reply outlives the stored bytes: a deep copy into the reply's arena. */
    size_t len = hotline__appeal__get_packed_size(a);
    uint8_t *buf = arena_alloc(reply->arena, len ? len : 1);
    if (!buf)
        return HL_ENOMEM;
    hotline__appeal__pack(a, buf);
    Hotline__Appeal *copy = hotline__appeal__unpack(arena_allocator(reply->arena), len, buf);
    if (!copy)
        return HL_ENOMEM;
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_APPEAL;
    reply->msg->appeal = copy;
    return 0;
}

static int emit_appeal(callback_t *self, MDB_txn *txn, Hotline__Appeal *a, bool filed)
{
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    Hotline__AppealFiled af = HOTLINE__APPEAL_FILED__INIT;
    Hotline__AppealReviewed ar = HOTLINE__APPEAL_REVIEWED__INIT;
    ev.ticket_id = a->ticket_id;
    if (filed) {
        af.appeal = a;
        ev.body_case = HOTLINE__EVENT__BODY_APPEAL_FILED;
        ev.appeal_filed = &af;
    } else {
        ar.appeal = a;
        ev.body_case = HOTLINE__EVENT__BODY_APPEAL_REVIEWED;
        ev.appeal_reviewed = &ar;
    }
    return callback_emit(self, txn, &ev);
}

static int file_appeal(callback_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                       cmd_reply_t *reply)
{
    const Hotline__FileAppeal *fa = cmd->file_appeal;
    int rc = check_filing(self, fa, reply);
    if (rc <= 0)
        return rc;
    rating_t r;
    rc = latest_rating(self, txn, fa->ticket_id, &r);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "ticketId",
                          "ticket %s has no callback rating to appeal (check the id; a rating "
                          "is recorded at the callback after the unit's reply)",
                          fa->ticket_id);
    if (rc)
        return rc;
    const Hotline__Principal *by = cmd->by;
    if (by && by->role == HOTLINE__ROLE__ROLE_UNIT && strcmp(by->subject, r.unit) != 0)
        return cmd_refuse(reply, HOTLINE__STATUS__FORBIDDEN, "ticketId",
                          "ticket %s was rated for another unit's work: only that unit may "
                          "appeal it (your token acts for unit %s)",
                          fa->ticket_id, by->subject);
    if (r.satisfied && r.resolved)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                          "nothing to appeal: ticket %s (round %u) was rated %s and resolved",
                          fa->ticket_id, (unsigned)r.round, callback_rating_words(r.rating));
    Hotline__Limit window = HOTLINE__LIMIT__INIT;
    window.value = self->cfg.appeal_window_working_days;
    window.unit = HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS;
    int64_t ends_ms, now = hclock_now_ms(self->clock);
    if (calendar_add(self->cal, r.rated_ms, &window, &ends_ms))
        return HL_EINTERNAL; /* the bounds table keeps the window within 1..30 */
    if (now > ends_ms) {
        char rated[48], ends[48];
        calendar_format_local(self->cal, r.rated_ms, rated, sizeof rated);
        calendar_format_local(self->cal, ends_ms, ends, sizeof ends);
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                          "too late: ticket %s was rated on %s and its appeal window (%u "
                          "working days) closed at %s",
                          fa->ticket_id, rated, (unsigned)window.value, ends);
    }
    Hotline__Appeal *old = NULL;
    rc = callback_appeal_get(self, txn, fa->ticket_id, r.round, arena_allocator(reply->arena),
                             &old);
    if (rc == 0)
        return refuse_existing(self, old, reply);
    if (rc != HL_ENOTFOUND)
        return rc;

    const Hotline__AppealReason *reason = find_reason(self, fa->reason_code);
    Hotline__Appeal a = HOTLINE__APPEAL__INIT;
    a.ticket_id = fa->ticket_id;
    a.round = r.round;
    a.unit = r.unit;
    a.state = HOTLINE__APPEAL_STATE__APPEAL_FILED;
    a.reason_code = reason->code;
    a.reason = reason->label;
    a.statement = fa->statement;
    a.n_evidence_urls = fa->n_evidence_urls;
    a.evidence_urls = fa->evidence_urls;
    a.rating = r.rating;
    a.resolved = r.resolved;
    a.rated_ms = r.rated_ms;
    a.filed_ms = now;
    a.filed_by = by ? by->name : cmd->actor;
    a.window_ends_ms = ends_ms;
    if ((rc = appeal_put(self, txn, &a)) || (rc = emit_appeal(self, txn, &a, true)))
        return rc;
    SLOG_INFO("appeal_filed", "ticket=%s round=%u unit=%s reason=%s", a.ticket_id,
              (unsigned)a.round, a.unit, a.reason_code);
    return answer(reply, &a);
}

/* ---- ReviewAppeal ---- */

/* The ticket's latest appeal (the latest rated round's). */
static int latest_appeal(void *ctx, const Hotline__Appeal *a)
{
    Hotline__Appeal **out = ctx;
    size_t len = hotline__appeal__get_packed_size(a);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return HL_ENOMEM;
    hotline__appeal__pack(a, buf);
    *out = hotline__appeal__unpack(NULL, len, buf);
    free(buf);
    return *out ? 1 : HL_ENOMEM;
}

static int rule(callback_t *self, MDB_txn *txn, const Hotline__Command *cmd, Hotline__Appeal *a,
                cmd_reply_t *reply)
{
    const Hotline__ReviewAppeal *ra = cmd->review_appeal;
    if (a->state != HOTLINE__APPEAL_STATE__APPEAL_FILED)
        return refuse_existing(self, a, reply);
    a->state = ra->uphold ? HOTLINE__APPEAL_STATE__APPEAL_UPHELD
                          : HOTLINE__APPEAL_STATE__APPEAL_REJECTED;
    a->reviewed_ms = hclock_now_ms(self->clock);
    char *reviewer = cmd->by ? cmd->by->name : cmd->actor ? cmd->actor : "";
    char *note = ra->note;
    /* The fields point at the command's strings while the record is written; the unpacked
     * record's own strings are freed with it, so they are swapped back before that. */
    char *old_by = a->reviewed_by, *old_note = a->review_note;
    a->reviewed_by = reviewer;
    a->review_note = note;
    int rc = appeal_put(self, txn, a);
    if (!rc)
        rc = emit_appeal(self, txn, a, false);
    if (!rc && ra->uphold) {
        /* The rating leaves the KPIs of the period it was recorded in. */
        Hotline__KpiEligibilityChanged k = HOTLINE__KPI_ELIGIBILITY_CHANGED__INIT;
        k.round = a->round;
        k.eligible = false;
        k.unit = a->unit;
        k.rating = a->rating;
        k.resolved = a->resolved;
        k.rated_ms = a->rated_ms;
        k.reason_code = a->reason_code;
        k.reason = a->reason;
        Hotline__Event ev = HOTLINE__EVENT__INIT;
        ev.ticket_id = a->ticket_id;
        ev.body_case = HOTLINE__EVENT__BODY_KPI_ELIGIBILITY_CHANGED;
        ev.kpi_eligibility_changed = &k;
        rc = callback_emit(self, txn, &ev);
    }
    if (!rc) {
        SLOG_INFO("appeal_reviewed", "ticket=%s round=%u unit=%s outcome=%s by=%s",
                  a->ticket_id, (unsigned)a->round, a->unit, ra->uphold ? "upheld" : "rejected",
                  reviewer);
        rc = answer(reply, a);
    }
    a->reviewed_by = old_by;
    a->review_note = old_note;
    return rc;
}

static int review_appeal(callback_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                         cmd_reply_t *reply)
{
    const Hotline__ReviewAppeal *ra = cmd->review_appeal;
    int rc = check_ticket(reply, ra->ticket_id);
    if (rc <= 0)
        return rc;
    rc = check_text(reply, "note", ra->note, CALLBACK_APPEAL_TEXT_MAX,
                    "give the reasons for the ruling (the unit reads them)");
    if (rc <= 0)
        return rc;
    Hotline__Appeal *a = NULL;
    rc = callback_appeal_scan(self, txn, ra->ticket_id, latest_appeal, &a);
    if (rc == 0 && !a)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "ticketId",
                          "ticket %s has no appeal (GET /v1/appeals lists the filed ones)",
                          ra->ticket_id);
    if (!rc)
        rc = rule(self, txn, cmd, a, reply);
    if (a)
        hotline__appeal__free_unpacked(a, NULL);
    return rc;
}

int callback_appeal_command(callback_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                            cmd_reply_t *reply)
{
    if (cmd->body_case == HOTLINE__COMMAND__BODY_FILE_APPEAL)
        return file_appeal(self, txn, cmd, reply);
    return review_appeal(self, txn, cmd, reply);
}
