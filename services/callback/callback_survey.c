/* callback_survey: a survey's life (callback_survey.h): sent to the gateway, answered, expired
 * or withdrawn. Every step runs inside the caller's write transaction (a scheduler pass, a
 * command, a feed batch) and writes the task, the survey record, its indexes, its expiry entry
 * and its events together. Loop thread.
 *
 * Survey record, version 1 (integers big-endian): u8 version, u8 state, u8 channel (1 sms,
 * 2 ivr), u8 rating (once answered), i64 sent_ms, expires_ms, settled_ms (answered, expired
 * or withdrawn; 0 while sent), then the TASK_KEY of its task. */
#include "callback_survey.h"

#include "hl_error.h"
#include "mask.h"
#include "slog.h"
#include "utf8.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 1
#define RECORD_HEAD 28
#define HOUR_MS 3600000LL
#define OPEN_KEY_MAX (8 + TASK_KEY_MAX)

typedef struct survey {
    char id[SURVEY_ID_MAX + 1];
    uint8_t state;   /* survey_state_t */
    uint8_t channel; /* 1 sms, 2 ivr */
    uint8_t rating;  /* Hotline__Rating once answered */
    int64_t sent_ms, expires_ms, settled_ms;
    char ticket_id[CALLBACK_ID_MAX + 1];
    uint32_t round;
} survey_t;

static const char *channel_name(uint8_t channel)
{
    return channel == 2 ? "ivr" : "sms";
}

static const char *state_name(uint8_t state)
{
    switch (state) {
    case SURVEY_SENT: return "sent";
    case SURVEY_ANSWERED: return "answered";
    case SURVEY_EXPIRED: return "expired";
    case SURVEY_WITHDRAWN: return "withdrawn";
    default: return "unknown";
    }
}

int callback_survey_open(callback_t *self, store_t *store)
{
    callback_survey_t *sv = self->survey;
    int rc = store_db(store, "surveys", 0, &sv->surveys);
    if (!rc)
        rc = store_db(store, "surveys_open", 0, &sv->open);
    if (!rc)
        rc = store_db(store, "survey_of", 0, &sv->of_task);
    return rc;
}

/* ---- the record and its indexes ---- */

static int survey_load(callback_t *self, MDB_txn *txn, const char *id, survey_t *s)
{
    MDB_val v;
    int rc = store_get(txn, self->survey->surveys, id, strlen(id), &v);
    if (rc)
        return rc;
    const uint8_t *p = v.mv_data;
    memset(s, 0, sizeof *s);
    if (v.mv_size <= RECORD_HEAD || p[0] != RECORD_VERSION ||
        callback_task_key_parse(p + RECORD_HEAD, v.mv_size - RECORD_HEAD, s->ticket_id, &s->round))
        return HL_ECORRUPT;
    snprintf(s->id, sizeof s->id, "%s", id);
    s->state = p[1];
    s->channel = p[2];
    s->rating = p[3];
    s->sent_ms = (int64_t)store_be64_get(p + 4);
    s->expires_ms = (int64_t)store_be64_get(p + 12);
    s->settled_ms = (int64_t)store_be64_get(p + 20);
    return 0;
}

/* expires_ms + TASK_KEY: the key of a waiting survey in surveys_open. */
static size_t open_key(uint8_t key[OPEN_KEY_MAX], const survey_t *s)
{
    store_be64_put(key, (uint64_t)s->expires_ms);
    return 8 + callback_task_key(key + 8, s->ticket_id, s->round);
}

/* Store s; a survey that is no longer waiting leaves surveys_open and the scheduler. */
static int survey_save(callback_t *self, MDB_txn *txn, const survey_t *s)
{
    callback_survey_t *sv = self->survey;
    uint8_t rec[RECORD_HEAD + TASK_KEY_MAX], okey[OPEN_KEY_MAX];
    rec[0] = RECORD_VERSION;
    rec[1] = s->state;
    rec[2] = s->channel;
    rec[3] = s->rating;
    store_be64_put(rec + 4, (uint64_t)s->sent_ms);
    store_be64_put(rec + 12, (uint64_t)s->expires_ms);
    store_be64_put(rec + 20, (uint64_t)s->settled_ms);
    size_t klen = callback_task_key(rec + RECORD_HEAD, s->ticket_id, s->round);
    size_t olen = open_key(okey, s), idlen = strlen(s->id);
    int rc = store_put(txn, sv->surveys, s->id, idlen, rec, RECORD_HEAD + klen, 0);
    if (rc)
        return rc;
    if (s->state == SURVEY_SENT) {
        rc = store_put(txn, sv->of_task, rec + RECORD_HEAD, klen, s->id, idlen, 0);
        if (!rc)
            rc = store_put(txn, sv->open, okey, olen, s->id, idlen, 0);
        return rc ? rc : scheduler_put(sv->expiry, txn, s->id, idlen, s->expires_ms, NULL, 0);
    }
    rc = store_del(txn, sv->open, okey, olen);
    if (rc == 0 || rc == HL_ENOTFOUND)
        rc = scheduler_cancel(sv->expiry, txn, s->id, idlen);
    return rc == HL_ENOTFOUND ? 0 : rc;
}

/* The survey t was sent by. HL_ENOTFOUND when none. */
static int survey_of(callback_t *self, MDB_txn *txn, const task_t *t, survey_t *s)
{
    uint8_t key[TASK_KEY_MAX];
    char id[SURVEY_ID_MAX + 1];
    MDB_val v;
    int rc = store_get(txn, self->survey->of_task, key,
                       callback_task_key(key, t->ticket_id, t->round), &v);
    if (rc)
        return rc;
    if (v.mv_size > SURVEY_ID_MAX)
        return HL_ECORRUPT;
    memcpy(id, v.mv_data, v.mv_size);
    id[v.mv_size] = '\0';
    return survey_load(self, txn, id, s);
}

/* ---- sending ---- */

/* The request to the gateway as JSON text (caller frees), NULL on ENOMEM. The number goes out
 * whole (the gateway texts or dials it); the unit's reply is masked like every public text. */
static char *request_body(callback_t *self, const task_t *t, const survey_t *s, const char *phone)
{
    callback_survey_t *sv = self->survey;
    char url[CONNECTOR_URL_MAX + 64], ms[24];
    snprintf(url, sizeof url, "%s/v1/surveys/%s/answer", sv->answer_base, s->id);
    snprintf(ms, sizeof ms, "%lld", (long long)s->expires_ms);
    char *masked = mask_phones_dup(t->reply_text);
    char *reply = masked ? utf8_repair(masked) : NULL;
    json_t *o = reply ? json_object() : NULL;
    char *text = NULL;
    if (o) {
        const char *keys[] = {"surveyId", "ticketId",  "channel",   "phone",
                              "unit",     "replyText", "answerUrl", "expiresMs"};
        const char *vals[] = {
            s->id, t->ticket_id, channel_name(s->channel), phone, t->unit, reply, url, ms};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            json_object_set_new(o, keys[i], json_string(vals[i])); /* invalid UTF-8: left out */
        json_object_set_new(o, "round", json_integer(t->round));
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    }
    json_decref(o);
    free(masked);
    free(reply);
    return text;
}

/* "sv-" and 20 random letters (94 bits): no digits, so that no log masks a run of them as a
 * phone number, and nothing to guess a neighbour's survey from. */
static void new_id(char out[SURVEY_ID_MAX + 1])
{
    memcpy(out, "sv-", 3);
    for (int i = 0; i < 20; i++)
        out[3 + i] = (char)('a' + randombytes_uniform(26));
    out[23] = '\0';
}

/* The number the gateway must reach, into phone; "" when intake has not told us one. */
static int phone_of(callback_t *self, MDB_txn *txn, const task_t *t, char *phone, size_t n)
{
    Hotline__Ticket *contact = NULL;
    int rc = callback_contact_get(self, txn, t->ticket_id, NULL, &contact);
    phone[0] = '\0';
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
        return 0;
    if (rc)
        return rc;
    if (contact->contact && contact->contact->phone)
        snprintf(phone, n, "%s", contact->contact->phone);
    hotline__ticket__free_unpacked(contact, NULL);
    return 0;
}

static int send_survey(callback_t *self, MDB_txn *txn, task_t *t, const char *reason, bool *sent)
{
    callback_survey_t *sv = self->survey;
    char phone[128];
    *sent = false;
    int rc = phone_of(self, txn, t, phone, sizeof phone);
    if (rc)
        return rc;
    if (!phone[0]) {
        SLOG_INFO("survey_not_sent",
                  "ticket=%s round=%u reason=\"no phone number known for "
                  "the caller\" next=\"left to the agents\"",
                  t->ticket_id, (unsigned)t->round);
        return 0;
    }
    survey_t s = {.state = SURVEY_SENT,
                  .channel = strcmp(sv->channel, "ivr") == 0 ? 2 : 1,
                  .round = t->round};
    new_id(s.id);
    snprintf(s.ticket_id, sizeof s.ticket_id, "%s", t->ticket_id);
    s.sent_ms = hclock_now_ms(self->clock);
    s.expires_ms = s.sent_ms + (int64_t)sv->answer_hours * HOUR_MS;
    char *body = request_body(self, t, &s, phone);
    if (!body)
        return HL_ENOMEM;
    /* Sent if and only if this transaction commits; the survey id is its Idempotency-Key. */
    rc = connector_enqueue(sv->conn, txn, s.id, strlen(s.id), body, strlen(body),
                           "application/json");
    free(body);
    if (!rc)
        rc = survey_save(self, txn, &s);
    Hotline__SurveySent ss = HOTLINE__SURVEY_SENT__INIT;
    ss.round = t->round;
    ss.survey_id = s.id;
    ss.channel = (char *)channel_name(s.channel);
    ss.expires_ms = s.expires_ms;
    ss.unit = t->unit;
    ss.reason = (char *)reason;
    if (!rc)
        rc = callback_event_append(self, txn, t->ticket_id, HOTLINE__EVENT__BODY_SURVEY_SENT, &ss);
    char note[128], until[48];
    calendar_format_local(self->cal, s.expires_ms, until, sizeof until);
    snprintf(note, sizeof note, "survey %s sent by %s: answer taken until %s", s.id,
             channel_name(s.channel), until);
    if (!rc)
        rc = callback_task_finish(self, txn, t, TASK_SURVEY, note);
    if (rc)
        return rc;
    *sent = true;
    SLOG_DEBUG("survey_sent", "ticket=%s round=%u survey=%s channel=%s expires_ms=%lld reason=%s",
               t->ticket_id, (unsigned)t->round, s.id, channel_name(s.channel),
               (long long)s.expires_ms, SLOG_Q(reason));
    return 0;
}

/* A gateway is configured (a survey part with no connector only settles old surveys). */
static bool gateway_on(const callback_t *self)
{
    return self->survey && self->survey->conn;
}

int callback_survey_due(callback_t *self, MDB_txn *txn, task_t *t, bool *sent)
{
    *sent = false;
    if (!gateway_on(self) || !self->survey->all)
        return 0;
    return send_survey(self, txn, t, "every callback goes by survey", sent);
}

int callback_survey_unreachable(callback_t *self, MDB_txn *txn, task_t *t, const char *reason,
                                bool *sent)
{
    *sent = false;
    if (!gateway_on(self) || self->survey->all)
        return 0;
    return send_survey(self, txn, t, reason, sent);
}

/* ---- the answer ---- */

/* "RATING_VERY_SATISFIED, ..., RATING_VERY_DISSATISFIED", from the enum itself. */
static void rating_names(char *out, size_t n)
{
    out[0] = '\0';
    for (int r = HOTLINE__RATING__RATING_VERY_SATISFIED;
         r <= HOTLINE__RATING__RATING_VERY_DISSATISFIED; r++) {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value(&hotline__rating__descriptor, r);
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", len ? ", " : "", v ? v->name : "?");
    }
}

static bool id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n >= 1 && n <= SURVEY_ID_MAX && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Why a survey takes no answer now (not SENT, or past its expiry): the refusal. */
static int refuse_settled(callback_t *self, const survey_t *s, cmd_reply_t *reply)
{
    char at[48];
    if (s->state == SURVEY_ANSWERED) {
        calendar_format_local(self->cal, s->settled_ms, at, sizeof at);
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "surveyId",
                          "survey %s was already answered at %s (rated %s): one answer per "
                          "survey",
                          s->id, at, callback_rating_words((Hotline__Rating)s->rating));
    }
    if (s->state == SURVEY_WITHDRAWN) {
        calendar_format_local(self->cal, s->settled_ms, at, sizeof at);
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "surveyId",
                          "survey %s was withdrawn at %s: ticket %s was reopened or replied "
                          "again, and its next callback asks again",
                          s->id, at, s->ticket_id);
    }
    calendar_format_local(self->cal, s->expires_ms, at, sizeof at);
    return cmd_refuse(reply, HOTLINE__STATUS__GONE, "surveyId",
                      "survey %s expired at %s (answers are taken for %u hours after it is "
                      "sent): ticket %s is closed without a rating",
                      s->id, at, self->survey->answer_hours, s->ticket_id);
}

static int check_answer(callback_t *self, const Hotline__AnswerSurvey *a, cmd_reply_t *reply)
{
    if (!gateway_on(self))
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "surveyId",
                          "this centre has no survey gateway (callback's survey.url is empty): "
                          "no survey can be answered");
    if (!id_ok(a->survey_id))
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "surveyId",
                          "required: the surveyId of the survey request (sv- and letters, at "
                          "most %d characters)",
                          SURVEY_ID_MAX);
    if (a->rating < HOTLINE__RATING__RATING_VERY_SATISFIED ||
        a->rating > HOTLINE__RATING__RATING_VERY_DISSATISFIED) {
        char names[160];
        rating_names(names, sizeof names);
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "rating",
                          "the citizen's rating is required: one of %s", names);
    }
    return callback_check_comment(a->comment, reply);
}

int callback_survey_answer(callback_t *self, MDB_txn *txn, const Hotline__AnswerSurvey *a,
                           cmd_reply_t *reply)
{
    int rc = check_answer(self, a, reply);
    if (rc <= 0)
        return rc;
    survey_t s;
    rc = survey_load(self, txn, a->survey_id, &s);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "surveyId",
                          "no survey %s: answer with the surveyId of a survey request",
                          a->survey_id);
    if (rc)
        return rc;
    int64_t now = hclock_now_ms(self->clock);
    if (s.state != SURVEY_SENT || now >= s.expires_ms)
        return refuse_settled(self, &s, reply);
    task_t t;
    if ((rc = callback_task_load(self, txn, s.ticket_id, s.round, &t)))
        return rc;
    if (t.state != TASK_SURVEY) { /* cannot happen: the task's end settles its survey */
        callback_task_clear(&t);
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "surveyId",
                          "the callback of ticket %s no longer waits for survey %s", s.ticket_id,
                          s.id);
    }
    Hotline__RecordCallbackResult *res = arena_alloc(reply->arena, sizeof *res);
    if (!res) {
        callback_task_clear(&t);
        return HL_ENOMEM;
    }
    hotline__record_callback_result__init(res);
    res->ticket_id = arena_strdup(reply->arena, s.ticket_id);
    /* Recorded exactly as an agent's rating: CallbackRated, then closed or sent back. */
    Hotline__RecordCallback rec = HOTLINE__RECORD_CALLBACK__INIT;
    rec.ticket_id = s.ticket_id;
    rec.outcome = HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED;
    rec.rating = a->rating;
    rec.resolved = a->resolved;
    rec.comment = a->comment;
    rec.agent = SURVEY_AGENT;
    rc = res->ticket_id ? callback_record_rated(self, txn, &t, &rec, res) : HL_ENOMEM;
    s.state = SURVEY_ANSWERED;
    s.settled_ms = now;
    s.rating = (uint8_t)a->rating;
    if (!rc)
        rc = survey_save(self, txn, &s);
    if (!rc) {
        reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_RECORD_CALLBACK;
        reply->msg->record_callback = res;
        SLOG_DEBUG("survey_answered", "ticket=%s round=%u survey=%s rating=%s", s.ticket_id,
                   (unsigned)s.round, s.id, callback_rating_words(a->rating));
    }
    callback_task_clear(&t);
    return rc;
}

/* ---- expiry and withdrawal ---- */

/* A survey's expiry came: if it still waits, the ticket closes as an unreachable one does. An
 * entry that names no waiting survey is dropped: firing it again would not help. */
static int expire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    callback_t *self = ctx;
    char id[SURVEY_ID_MAX + 1];
    survey_t s;
    int rc = e->id_len <= SURVEY_ID_MAX ? 0 : HL_ECORRUPT;
    if (!rc) {
        memcpy(id, e->id, e->id_len);
        id[e->id_len] = '\0';
        rc = survey_load(self, txn, id, &s);
    }
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT || (!rc && s.state != SURVEY_SENT)) {
        SLOG_WARN("survey_expiry_skipped", "due_ms=%lld reason=\"%s\"", (long long)e->due_ms,
                  rc ? "no such survey" : "the survey was settled already");
        return 0;
    }
    if (rc)
        return rc;
    task_t t;
    if ((rc = callback_task_load(self, txn, s.ticket_id, s.round, &t)))
        return rc == HL_ENOTFOUND ? 0 : rc;
    char reason[64];
    snprintf(reason, sizeof reason, "no survey answer within %u hours", self->survey->answer_hours);
    Hotline__SurveyExpired se = HOTLINE__SURVEY_EXPIRED__INIT;
    se.round = s.round;
    se.survey_id = s.id;
    se.answer_hours = self->survey->answer_hours;
    se.unit = t.unit;
    if (t.state == TASK_SURVEY) {
        rc =
            callback_event_append(self, txn, t.ticket_id, HOTLINE__EVENT__BODY_SURVEY_EXPIRED, &se);
        if (!rc)
            rc = callback_close_unreached(self, txn, &t, reason);
    }
    s.state = SURVEY_EXPIRED;
    s.settled_ms = hclock_now_ms(self->clock);
    if (!rc)
        rc = survey_save(self, txn, &s);
    SLOG_DEBUG("survey_expired", "ticket=%s round=%u survey=%s", s.ticket_id, (unsigned)s.round,
               s.id);
    callback_task_clear(&t);
    return rc;
}

scheduler_opts_t callback_survey_scheduler_opts(callback_t *self)
{
    return (scheduler_opts_t){.name = "callback_surveys", .fire = expire, .ctx = self};
}

int callback_survey_withdraw(callback_t *self, MDB_txn *txn, const task_t *t)
{
    survey_t s;
    int rc = self->survey ? survey_of(self, txn, t, &s) : HL_ENOTFOUND;
    if (rc == HL_ENOTFOUND || (!rc && s.state != SURVEY_SENT))
        return 0;
    if (rc)
        return rc;
    s.state = SURVEY_WITHDRAWN;
    s.settled_ms = hclock_now_ms(self->clock);
    return survey_save(self, txn, &s);
}

int callback_survey_refuse_record(callback_t *self, MDB_txn *txn, const task_t *t,
                                  cmd_reply_t *reply)
{
    survey_t s;
    int rc = self->survey ? survey_of(self, txn, t, &s) : HL_ENOTFOUND;
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    char until[48] = "";
    if (!rc)
        calendar_format_local(self->cal, s.expires_ms, until, sizeof until);
    return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                      "the callback of ticket %s went to the survey gateway (survey %s): its "
                      "answer is taken until %s, then the ticket closes; meanwhile no call can "
                      "be recorded or promised for it",
                      t->ticket_id, rc ? "?" : s.id, rc ? "its expiry" : until);
}

/* ---- views ---- */

int callback_survey_view(callback_t *self, MDB_txn *txn, const task_t *t, json_t *o)
{
    survey_t s;
    int rc = self->survey ? survey_of(self, txn, t, &s) : HL_ENOTFOUND;
    if (rc)
        return rc == HL_ENOTFOUND ? 0 : rc;
    char ms[3][24];
    snprintf(ms[0], sizeof ms[0], "%lld", (long long)s.sent_ms);
    snprintf(ms[1], sizeof ms[1], "%lld", (long long)s.expires_ms);
    snprintf(ms[2], sizeof ms[2], "%lld", (long long)s.settled_ms);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "surveyId", s.id, "state", state_name(s.state),
                  "channel", channel_name(s.channel), "sentMs", ms[0], "expiresMs", ms[1]);
    if (!j)
        return HL_ENOMEM;
    if (s.state != SURVEY_SENT)
        json_object_set_new(j, "settledMs", json_string(ms[2]));
    return json_object_set_new(o, "survey", j) ? HL_ENOMEM : 0;
}

int callback_survey_scan_open(callback_t *self, MDB_txn *txn, store_scan_fn visit, void *ctx)
{
    return self->survey ? store_scan(txn, self->survey->open, NULL, visit, ctx) : 0;
}

int callback_survey_open_count(callback_t *self, MDB_txn *txn, uint64_t *n)
{
    *n = 0;
    return self->survey ? store_count(txn, self->survey->open, n) : 0;
}
