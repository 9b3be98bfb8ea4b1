/* callback's survey gateway, in-process: the callback logic on a loop with the group commit,
 * its calls' and surveys' schedulers, the "survey" connector, and a gateway (an httpd on the
 * same loop) that checks each request's signature and keeps its body.
 *   - mode all: a due callback goes to the gateway, signed, with the number whole and the
 *     reply masked; the task waits for the answer (not in the agents' queue, nor counted as
 *     waiting for a call); a caller whose number is not known goes to the agents instead
 *   - answered satisfied -> CallbackRated (agent "survey") + TicketClosed; dissatisfied ->
 *     ReworkRequested; a second answer is refused (409) naming the first
 *   - no answer within the answer hours -> SurveyExpired + TicketClosed; a late answer 410
 *   - a reopening withdraws a waiting survey; its answer is refused and its expiry does nothing
 *   - mode fallback: nothing goes out at first; after maxAttempts unreachable calls the survey
 *     goes instead of closing, and agents can no longer record the task nor anyone promise a
 *     time for it
 *   - answers checked: unknown survey, bad id, no rating, long comment; the signature check of
 *     the answers' door (good, wrong key, stale, tampered body)
 *   - no gateway (survey.url empty): nothing sent, the last unreachable attempt closes the
 *     ticket as before, answers refused */
#include "callback_fixture.h"
#include "connector.h"
#include "httpd.h"

#include <signal.h>

#define SECRET "gateway-secret-0123456789"
#define PHONE "13812345678"
#define BASE "http://127.0.0.1:8083"

typedef struct sfx {
    fixture_t f;
    scheduler_t *expiry;
    connector_t *conn;
    httpd_t *gw;       /* the gateway's end */
    json_t *requests;  /* the bodies it took, signature checked */
    unsigned rejected; /* requests whose signature did not check */
    char url[64];
} sfx_t;

static void on_gateway(httpd_req_t *req, void *ctx)
{
    sfx_t *s = ctx;
    size_t len;
    const char *body = httpd_req_body(req, &len);
    int64_t skew;
    if (connector_verify(SECRET, strlen(SECRET), httpd_req_header(req, "X-Hotline-Timestamp"),
                         httpd_req_header(req, "X-Hotline-Signature"), body, len,
                         hclock_now_ms(s->f.clock), CONNECTOR_SKEW_MS, &skew) != CONNECTOR_SIG_OK) {
        s->rejected++;
        httpd_respond(req, 401, "application/json", "{}", 2);
        return;
    }
    json_array_append_new(s->requests, json_loadb(body, len, 0, NULL));
    httpd_respond(req, 200, "application/json", "{}", 2);
}

/* The surveys' scheduler, and unless off the gateway and the connector to it. */
static int open_gateway(sfx_t *s, bool all, bool off)
{
    fixture_t *f = &s->f;
    scheduler_opts_t o = callback_survey_scheduler_opts(f->cb);
    s->requests = json_array();
    if (scheduler_create(&s->expiry, &f->loop, f->store, f->txq, f->clock, &o))
        return -1;
    if (off) /* survey.url empty */
        return callback_survey_attach(f->cb, NULL, s->expiry,
                                      &(callback_survey_settings_t){.answer_base_url = BASE}) ||
               scheduler_start(s->expiry);
    if (httpd_create(&s->gw, &f->loop, &(httpd_opts_t){.listen = "127.0.0.1"}) ||
        httpd_route(s->gw, "POST", "/survey", on_gateway, s))
        return -1;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u/survey", (unsigned)httpd_port(s->gw));
    connector_opts_t co = {.name = "survey",
                           .url = s->url,
                           .hmac_key = SECRET,
                           .hmac_key_len = strlen(SECRET),
                           .backoff_first_ms = 50,
                           .backoff_cap_ms = 200,
                           .timeout_ms = 2000};
    callback_survey_settings_t st = {.all = all,
                                     .channel = "sms",
                                     .answer_hours = 72,
                                     .answer_base_url = BASE "/",
                                     .key = SECRET,
                                     .key_len = strlen(SECRET)};
    if (connector_create(&s->conn, &f->loop, f->store, f->txq, f->clock, &co) ||
        callback_survey_attach(f->cb, s->conn, s->expiry, &st) || connector_start(s->conn) ||
        scheduler_start(s->expiry))
        return -1;
    return 0;
}

static int setup_mode(void **state, bool all, bool off)
{
    sfx_t *s = calloc(1, sizeof *s);
    s->f.dir = unit_tmpdir();
    s->f.basically_counts = true;
    if (hclock_create(&s->f.clock, true) || hclock_set_ms(s->f.clock, T0) || open_all(&s->f) ||
        arena_create(&s->f.arena) || open_gateway(s, all, off))
        return -1;
    *state = s;
    return 0;
}

static int setup_all(void **state)
{
    return setup_mode(state, true, false);
}

static int setup_fallback(void **state)
{
    return setup_mode(state, false, false);
}

static int setup_off(void **state)
{
    return setup_mode(state, false, true);
}

static int teardown_survey(void **state)
{
    sfx_t *s = *state;
    connector_stop(s->conn);
    scheduler_stop(s->expiry);
    httpd_destroy(&s->gw);
    close_all(&s->f); /* runs the loop until every handle is closed */
    connector_destroy(&s->conn);
    scheduler_destroy(&s->expiry);
    json_decref(s->requests);
    hclock_destroy(&s->f.clock);
    arena_destroy(&s->f.arena);
    unit_tmpdir_cleanup(s->f.dir);
    free(s);
    return 0;
}

/* Fire what is due on both schedulers (their passes commit through the txq: the log's head
 * is re-read after each, as the skeleton's commit hook does). */
static void settle_all(sfx_t *s)
{
    for (int turn = 0; turn < 2000; turn++) {
        settle(&s->f);
        evlog_committed(s->f.log);
        MDB_txn *txn;
        int64_t next_ms = 0;
        assert_int_equal(store_read_begin(s->f.store, &txn), 0);
        int rc = scheduler_next(s->expiry, txn, &next_ms);
        store_read_end(&txn);
        if ((rc != 0 || next_ms > hclock_now_ms(s->f.clock)) && txq_waiting(s->f.txq) == 0) {
            evlog_committed(s->f.log);
            return;
        }
        uv_run(&s->f.loop, UV_RUN_ONCE);
    }
    fail_msg("the surveys' scheduler did not fire what is due");
}

static void clock_to(sfx_t *s, int64_t ms)
{
    clock_at(&s->f, ms);
    settle_all(s);
}

/* Run the loop until the gateway took n requests (10 s at most). */
static void wait_requests(sfx_t *s, size_t n)
{
    uint64_t end = hclock_mono_ns() / 1000000 + 10000;
    while (json_array_size(s->requests) < n && hclock_mono_ns() / 1000000 < end)
        uv_run(&s->f.loop, UV_RUN_ONCE);
    assert_int_equal(json_array_size(s->requests), n);
}

static Hotline__Status answer(sfx_t *s, const char *id, Hotline__Rating rating, const char *comment)
{
    Hotline__AnswerSurvey a = HOTLINE__ANSWER_SURVEY__INIT;
    a.survey_id = (char *)id;
    a.rating = rating;
    a.resolved = rating <= HOTLINE__RATING__RATING_BASICALLY_SATISFIED;
    a.comment = (char *)comment;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_ANSWER_SURVEY;
    cmd.answer_survey = &a;
    Hotline__Status st = run(&s->f, &cmd);
    settle_all(s);
    return st;
}

/* The survey id of the latest SurveySent, and that event's expiry. */
static void last_survey(sfx_t *s, char id[64], int64_t *expires_ms)
{
    for (uint64_t seq = head(&s->f); seq > 0; seq--) {
        Hotline__Event *ev = event_at(&s->f, seq);
        if (ev->body_case == HOTLINE__EVENT__BODY_SURVEY_SENT) {
            snprintf(id, 64, "%s", ev->survey_sent->survey_id);
            if (expires_ms)
                *expires_ms = ev->survey_sent->expires_ms;
            hotline__event__free_unpacked(ev, NULL);
            return;
        }
        hotline__event__free_unpacked(ev, NULL);
    }
    fail_msg("no SurveySent in the log");
}

/* The ticket's latest callback task as its view shows it (a new reference). */
static json_t *task_view(sfx_t *s, const char *id)
{
    MDB_txn *txn;
    json_t *out = NULL;
    assert_int_equal(store_read_begin(s->f.store, &txn), 0);
    assert_int_equal(callback_ticket_view(s->f.cb, txn, id, &out), 0);
    store_read_end(&txn);
    json_t *cbs = json_object_get(out, "callbacks");
    json_t *t = json_incref(json_array_get(cbs, json_array_size(cbs) - 1));
    json_decref(out);
    return t;
}

static const char *jstr(json_t *o, const char *path)
{
    char key[64];
    const char *dot = strchr(path, '.');
    if (!dot)
        return json_string_value(json_object_get(o, path));
    snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
    return jstr(json_object_get(o, key), dot + 1);
}

static size_t listed(sfx_t *s, callback_list_t which)
{
    json_t *l = list(&s->f, which);
    size_t n = json_array_size(json_object_get(l, "callbacks"));
    json_decref(l);
    return n;
}

/* Received, replied (the reply quoting a number), and its instant reached: in mode all the
 * survey goes out. Returns the survey id in id and its expiry in *expires_ms (unless NULL). */
static void send_one(sfx_t *s, const char *ticket, char id[64], int64_t *expires_ms)
{
    received(&s->f, ticket, PHONE, "Li Lei", false);
    replied_saying(&s->f, ticket, 0, T0, NULL, "valve replaced; questions to 0591-8765-4321");
    clock_to(s, local_ms(2026, 11, 26, 9, 0));
    last_survey(s, id, expires_ms);
}

static void test_all_sends_signed(void **state)
{
    sfx_t *s = *state;
    char id[64];
    int64_t expires;
    send_one(s, "T-1", id, &expires);
    /* the test clock runs on from where it was set */
    int64_t sent_at = local_ms(2026, 11, 26, 9, 0);
    assert_in_range(expires, sent_at + 72 * HOUR_MS, sent_at + 72 * HOUR_MS + 5000);
    Hotline__Event *ev = event_at(&s->f, head(&s->f));
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_SURVEY_SENT);
    assert_string_equal(ev->survey_sent->channel, "sms");
    assert_string_equal(ev->survey_sent->reason, "every callback goes by survey");
    assert_string_equal(ev->survey_sent->unit, "water-north");
    hotline__event__free_unpacked(ev, NULL);

    wait_requests(s, 1);
    assert_int_equal(s->rejected, 0);
    json_t *r = json_array_get(s->requests, 0);
    assert_string_equal(jstr(r, "surveyId"), id);
    assert_string_equal(jstr(r, "ticketId"), "T-1");
    assert_string_equal(jstr(r, "phone"), PHONE); /* the gateway must text it */
    assert_string_equal(jstr(r, "channel"), "sms");
    assert_int_equal(json_integer_value(json_object_get(r, "round")), 0);
    assert_null(strstr(jstr(r, "replyText"), "8765-4321"));
    assert_non_null(strstr(jstr(r, "replyText"), "valve replaced"));
    char url[128];
    snprintf(url, sizeof url, BASE "/v1/surveys/%s/answer", id);
    assert_string_equal(jstr(r, "answerUrl"), url);

    /* Waiting for the gateway: not the agents' work. */
    assert_int_equal(listed(s, CALLBACK_LIST_DUE), 0);
    assert_int_equal(listed(s, CALLBACK_LIST_SURVEY), 1);
    assert_int_equal(pending(&s->f), 0);
    assert_int_equal(next(&s->f, "a1"), HOTLINE__STATUS__NOT_FOUND);
    json_t *t = task_view(s, "T-1");
    assert_string_equal(jstr(t, "state"), "survey");
    assert_string_equal(jstr(t, "survey.state"), "sent");
    assert_string_equal(jstr(t, "survey.surveyId"), id);
    assert_null(strstr(jstr(t, "phone"), PHONE)); /* masked in views */
    assert_null(json_object_get(t, "doneMs"));
    json_decref(t);
}

static void test_answer_satisfied_closes(void **state)
{
    sfx_t *s = *state;
    char id[64];
    send_one(s, "T-1", id, NULL);
    assert_int_equal(answer(s, id, HOTLINE__RATING__RATING_SATISFIED, "fixed, thanks"),
                     HOTLINE__STATUS__OK);
    assert_int_equal(s->f.reply->result_case, HOTLINE__COMMAND_REPLY__RESULT_RECORD_CALLBACK);
    assert_int_equal(s->f.reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    Hotline__Event *rated = event_at(&s->f, head(&s->f) - 1),
                   *closed = event_at(&s->f, head(&s->f));
    assert_int_equal(rated->body_case, HOTLINE__EVENT__BODY_CALLBACK_RATED);
    assert_string_equal(rated->callback_rated->agent, "survey");
    assert_int_equal(rated->callback_rated->rating, HOTLINE__RATING__RATING_SATISFIED);
    assert_string_equal(rated->callback_rated->comment, "fixed, thanks");
    assert_true(rated->callback_rated->satisfied);
    assert_int_equal(closed->body_case, HOTLINE__EVENT__BODY_TICKET_CLOSED);
    assert_string_equal(closed->ticket_closed->reason, "rated satisfied");
    hotline__event__free_unpacked(rated, NULL);
    hotline__event__free_unpacked(closed, NULL);
    json_t *t = task_view(s, "T-1");
    assert_string_equal(jstr(t, "state"), "done");
    assert_string_equal(jstr(t, "agent"), "survey");
    assert_string_equal(jstr(t, "survey.state"), "answered");
    json_decref(t);
    assert_int_equal(listed(s, CALLBACK_LIST_SURVEY), 0);

    uint64_t before = head(&s->f);
    expect_refusal(&s->f, answer(s, id, HOTLINE__RATING__RATING_VERY_DISSATISFIED, ""),
                   HOTLINE__STATUS__CONFLICT, "surveyId", "already answered");
    assert_non_null(strstr(s->f.reply->message, "rated satisfied"));
    assert_int_equal(head(&s->f), before);
    /* Its expiry, once cancelled, closes nothing. */
    clock_to(s, local_ms(2026, 12, 1, 9, 0));
    assert_int_equal(head(&s->f), before);
}

static void test_answer_dissatisfied_reworks(void **state)
{
    sfx_t *s = *state;
    char id[64];
    send_one(s, "T-1", id, NULL);
    assert_int_equal(answer(s, id, HOTLINE__RATING__RATING_DISSATISFIED, "still no water"),
                     HOTLINE__STATUS__OK);
    assert_int_equal(s->f.reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    Hotline__Event *ev = event_at(&s->f, head(&s->f));
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_REWORK_REQUESTED);
    assert_string_equal(ev->rework_requested->reason, "rated dissatisfied at callback");
    hotline__event__free_unpacked(ev, NULL);
}

static void test_expiry_closes(void **state)
{
    sfx_t *s = *state;
    char id[64];
    int64_t expires;
    send_one(s, "T-1", id, &expires);
    clock_to(s, expires - MIN_MS); /* the test clock runs on: a minute before is still before */
    uint64_t before = head(&s->f);
    clock_to(s, expires);
    assert_int_equal(head(&s->f), before + 2);
    Hotline__Event *ex = event_at(&s->f, before + 1), *closed = event_at(&s->f, before + 2);
    assert_int_equal(ex->body_case, HOTLINE__EVENT__BODY_SURVEY_EXPIRED);
    assert_string_equal(ex->survey_expired->survey_id, id);
    assert_int_equal(ex->survey_expired->answer_hours, 72);
    assert_int_equal(closed->body_case, HOTLINE__EVENT__BODY_TICKET_CLOSED);
    assert_string_equal(closed->ticket_closed->reason, "no survey answer within 72 hours");
    hotline__event__free_unpacked(ex, NULL);
    hotline__event__free_unpacked(closed, NULL);
    json_t *t = task_view(s, "T-1");
    assert_string_equal(jstr(t, "state"), "done");
    assert_string_equal(jstr(t, "survey.state"), "expired");
    json_decref(t);
    expect_refusal(&s->f, answer(s, id, HOTLINE__RATING__RATING_SATISFIED, ""),
                   HOTLINE__STATUS__GONE, "surveyId", "expired");
    assert_int_equal(head(&s->f), before + 2);
}

static void test_reopen_withdraws(void **state)
{
    sfx_t *s = *state;
    char id[64];
    send_one(s, "T-1", id, NULL);
    reopened(&s->f, "T-1", 1);
    json_t *t = task_view(s, "T-1");
    assert_string_equal(jstr(t, "state"), "cancelled");
    assert_string_equal(jstr(t, "survey.state"), "withdrawn");
    json_decref(t);
    uint64_t before = head(&s->f);
    expect_refusal(&s->f, answer(s, id, HOTLINE__RATING__RATING_SATISFIED, ""),
                   HOTLINE__STATUS__CONFLICT, "surveyId", "withdrawn");
    clock_to(s, local_ms(2026, 12, 1, 9, 0)); /* past its expiry: nothing closes */
    assert_int_equal(head(&s->f), before);
    assert_int_equal(listed(s, CALLBACK_LIST_SURVEY), 0);
}

static void test_no_number_goes_to_agents(void **state)
{
    sfx_t *s = *state;
    replied(&s->f, "T-9", 0, T0); /* intake's contact has not come */
    clock_to(s, local_ms(2026, 11, 26, 9, 0));
    assert_int_equal(listed(s, CALLBACK_LIST_DUE), 1);
    assert_int_equal(listed(s, CALLBACK_LIST_SURVEY), 0);
}

static void test_fallback_after_unreachable(void **state)
{
    sfx_t *s = *state;
    received(&s->f, "T-2", PHONE, "Li Lei", false);
    replied(&s->f, "T-2", 0, T0);
    clock_to(s, local_ms(2026, 11, 26, 9, 0));
    assert_int_equal(listed(s, CALLBACK_LIST_DUE), 1); /* the agents call first */
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(unreachable(&s->f, "T-2", "a1"), HOTLINE__STATUS__OK);
        if (i < 3)
            clock_to(s, hclock_now_ms(s->f.clock) + 120 * MIN_MS);
    }
    /* Not closed as unreachable: the gateway asks instead. */
    assert_int_equal(s->f.reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    Hotline__Event *ev = event_at(&s->f, head(&s->f));
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_SURVEY_SENT);
    assert_string_equal(ev->survey_sent->reason, "unreachable after 3 attempts");
    hotline__event__free_unpacked(ev, NULL);
    wait_requests(s, 1);
    assert_string_equal(jstr(json_array_get(s->requests, 0), "phone"), PHONE);
    expect_refusal(&s->f, unreachable(&s->f, "T-2", "a1"), HOTLINE__STATUS__CONFLICT, "ticketId",
                   "went to the survey gateway");
    /* Nor is a time promised to the citizen: the gateway is asking them already. */
    expect_refusal(&s->f,
                   promise(&s->f, "T-2", hclock_now_ms(s->f.clock) + 4 * HOUR_MS, NULL, NULL),
                   HOTLINE__STATUS__CONFLICT, "ticketId", "no call can be recorded or promised");
    char id[64];
    last_survey(s, id, NULL);
    assert_int_equal(answer(s, id, HOTLINE__RATING__RATING_VERY_SATISFIED, ""),
                     HOTLINE__STATUS__OK);
    assert_int_equal(s->f.reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
}

static void test_answer_checked(void **state)
{
    sfx_t *s = *state;
    char id[64], long_comment[1100];
    send_one(s, "T-1", id, NULL);
    expect_refusal(&s->f,
                   answer(s, "sv-nosuchsurveyatallhere", HOTLINE__RATING__RATING_SATISFIED, ""),
                   HOTLINE__STATUS__NOT_FOUND, "surveyId", "no survey sv-nosuchsurveyatallhere");
    expect_refusal(&s->f, answer(s, "SV/1", HOTLINE__RATING__RATING_SATISFIED, ""),
                   HOTLINE__STATUS__INVALID, "surveyId", "required");
    expect_refusal(&s->f, answer(s, id, HOTLINE__RATING__RATING_UNSPECIFIED, ""),
                   HOTLINE__STATUS__INVALID, "rating", "RATING_BASICALLY_SATISFIED");
    memset(long_comment, 'x', 1001);
    long_comment[1001] = '\0';
    expect_refusal(&s->f, answer(s, id, HOTLINE__RATING__RATING_SATISFIED, long_comment),
                   HOTLINE__STATUS__INVALID, "comment", "at most 1000 characters");
    json_t *t = task_view(s, "T-1");
    assert_string_equal(jstr(t, "survey.state"), "sent"); /* nothing changed */
    json_decref(t);
}

static void test_door_signature(void **state)
{
    sfx_t *s = *state;
    const char *body = "{\"rating\":\"RATING_SATISFIED\",\"resolved\":true}";
    char ts[24], stale[24], sig[CONNECTOR_SIGNATURE_MAX], wrong[CONNECTOR_SIGNATURE_MAX];
    callback_survey_refusal_t why;
    snprintf(ts, sizeof ts, "%lld", (long long)hclock_now_ms(s->f.clock));
    connector_sign(SECRET, strlen(SECRET), ts, body, strlen(body), sig);
    assert_int_equal(callback_survey_verify(s->f.cb, ts, sig, body, strlen(body), &why), 0);

    connector_sign("forger-secret-0123456789", 24, ts, body, strlen(body), wrong);
    assert_int_equal(callback_survey_verify(s->f.cb, ts, wrong, body, strlen(body), &why),
                     HL_EINVAL);
    assert_string_equal(why.field, "X-Hotline-Signature");
    assert_string_equal(why.reason, "mismatch");

    const char *raised = "{\"rating\":\"RATING_VERY_SATISFIED\",\"resolved\":true}";
    assert_int_equal(callback_survey_verify(s->f.cb, ts, sig, raised, strlen(raised), &why),
                     HL_EINVAL);
    assert_string_equal(why.reason, "mismatch");

    snprintf(stale, sizeof stale, "%lld", (long long)hclock_now_ms(s->f.clock) - 301000);
    connector_sign(SECRET, strlen(SECRET), stale, body, strlen(body), sig);
    assert_int_equal(callback_survey_verify(s->f.cb, stale, sig, body, strlen(body), &why),
                     HL_EINVAL);
    assert_string_equal(why.field, "X-Hotline-Timestamp");
    assert_string_equal(why.reason, "stale");
    assert_non_null(strstr(why.message, "301 s behind"));

    assert_int_equal(callback_survey_verify(s->f.cb, NULL, NULL, body, strlen(body), &why),
                     HL_EINVAL);
    assert_string_equal(why.reason, "no_timestamp");
}

/* survey.url empty: the survey part runs (old surveys still expire) but sends nothing; the
 * last unreachable attempt closes the ticket as before, and answers are refused. */
static void test_without_gateway(void **state)
{
    sfx_t *s = *state;
    fixture_t *f = &s->f;
    callback_survey_refusal_t why;
    assert_int_equal(callback_survey_verify(f->cb, "1", "sha256=00", "{}", 2, &why), HL_ENOTFOUND);
    assert_non_null(strstr(why.message, "no survey gateway"));

    received(f, "T-3", PHONE, "Li Lei", false);
    replied(f, "T-3", 0, T0);
    clock_to(s, local_ms(2026, 11, 26, 9, 0));
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(unreachable(f, "T-3", "a1"), HOTLINE__STATUS__OK);
        if (i < 3)
            clock_to(s, hclock_now_ms(f->clock) + 120 * MIN_MS);
    }
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    Hotline__Event *ev = event_at(f, head(f));
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_CLOSED);
    assert_string_equal(ev->ticket_closed->reason, "unreachable after 3 attempts");
    hotline__event__free_unpacked(ev, NULL);
    expect_refusal(f, answer(s, "sv-nosuchsurveyatallhere", HOTLINE__RATING__RATING_SATISFIED, ""),
                   HOTLINE__STATUS__NOT_FOUND, "surveyId", "no survey gateway");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_sends_signed, setup_all, teardown_survey),
        cmocka_unit_test_setup_teardown(test_answer_satisfied_closes, setup_all, teardown_survey),
        cmocka_unit_test_setup_teardown(test_answer_dissatisfied_reworks, setup_all,
                                        teardown_survey),
        cmocka_unit_test_setup_teardown(test_expiry_closes, setup_all, teardown_survey),
        cmocka_unit_test_setup_teardown(test_reopen_withdraws, setup_all, teardown_survey),
        cmocka_unit_test_setup_teardown(test_no_number_goes_to_agents, setup_all, teardown_survey),
        cmocka_unit_test_setup_teardown(test_fallback_after_unreachable, setup_fallback,
                                        teardown_survey),
        cmocka_unit_test_setup_teardown(test_answer_checked, setup_all, teardown_survey),
        cmocka_unit_test_setup_teardown(test_door_signature, setup_all, teardown_survey),
        cmocka_unit_test_setup_teardown(test_without_gateway, setup_off, teardown_survey),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
