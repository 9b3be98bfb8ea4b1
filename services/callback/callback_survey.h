/* callback_survey: the automated channel, shared by the files of services/callback only.
 *
 * A callback goes to the survey gateway (an SMS or IVR system) instead of an agent: when its
 * instant comes (survey.mode "all"), or after the agents could not reach the citizen
 * maxAttempts times (mode "fallback", instead of closing it as unreachable). Sending is one
 * transaction: the request enqueued to the "survey" connector (common/http/connector.h, as
 * crews' work orders are), the survey record, its expiry on the shared scheduler, SurveySent,
 * and the task moved to TASK_SURVEY (out of the agents' queue). The gateway's signed answer
 * (POST /v1/surveys/{surveyId}/answer -> command AnswerSurvey) is recorded as an agent's
 * rating is (callback_record_rated); no answer by the expiry closes the ticket as an
 * unreachable one closes (SurveyExpired, TicketClosed).
 *
 * Sub-databases (keys that sort by time are big-endian):
 *   surveys       survey id -> record (callback_survey.c): state, channel, times, rating,
 *                 TASK_KEY of its task
 *   surveys_open  expires_ms (be64) + TASK_KEY -> survey id   surveys waiting for an
 *                 answer, soonest expiry first (keyed like the due queue, so the task
 *                 views walk it the same way)
 *   survey_of     TASK_KEY -> survey id                 the survey a task was sent by
 * and the shared scheduler's callback_surveys.* (entry id = survey id, due at its expiry).
 * Loop thread. */
#ifndef HOTLINE_CALLBACK_SURVEY_H
#define HOTLINE_CALLBACK_SURVEY_H

#include "callback_internal.h"

#define SURVEY_ID_MAX 40      /* "sv-" + 20 letters, with room */
#define SURVEY_AGENT "survey" /* CallbackRated.agent of an answer */

typedef enum {
    SURVEY_SENT = 1,      /* waiting for the gateway's answer */
    SURVEY_ANSWERED = 2,  /* rated */
    SURVEY_EXPIRED = 3,   /* no answer within answer_hours: the ticket closed */
    SURVEY_WITHDRAWN = 4, /* the ticket was reopened or replied again meanwhile */
} survey_state_t;

struct callback_survey {
    connector_t *conn;   /* "survey": requests to the gateway */
    bool own_conn;       /* made by callback_survey_init (else the caller's, in tests) */
    scheduler_t *expiry; /* surveys waiting, due at their expiry (not owned) */
    MDB_dbi surveys, open, of_task;
    bool all;        /* mode "all": every callback; else "fallback" */
    char channel[8]; /* "sms" or "ivr" */
    unsigned answer_hours;
    char *answer_base; /* answerUrl = answer_base + /v1/surveys/{id}/answer (owned) */
    uint8_t key[CONNECTOR_SECRET_MAX]; /* the gateway's secret: answers are checked with it */
    size_t key_len;
    metric_t *refused;         /* hotline_survey_answers_refused_total{reason}; NULL in tests */
    int64_t refused_logged_ms; /* refusals are logged at most once a second */
};

/* ---- callback_survey.c: the survey's life ---- */

/* Open the sub-databases (start-up, before any transaction). */
int callback_survey_open(callback_t *self, store_t *store);

/* t's instant has come (the calls' scheduler fired it): in mode "all" send it to the gateway
 * (*sent); otherwise, or when the caller's number is not known, *sent is false and it goes to
 * the agents' queue. */
int callback_survey_due(callback_t *self, MDB_txn *txn, task_t *t, bool *sent);

/* The agents gave up on t (reason: "unreachable after 3 attempts"): in mode "fallback" send
 * it to the gateway instead of closing (*sent); otherwise *sent is false. */
int callback_survey_unreachable(callback_t *self, MDB_txn *txn, task_t *t, const char *reason,
                                bool *sent);

/* The command AnswerSurvey (from POST /v1/surveys/{id}/answer once its signature checked). */
int callback_survey_answer(callback_t *self, MDB_txn *txn, const Hotline__AnswerSurvey *a,
                           cmd_reply_t *reply);

/* t, waiting for its survey's answer, was cancelled (a reopening, a newer reply): the survey
 * is withdrawn, its expiry cancelled. Called by callback_task_finish. */
int callback_survey_withdraw(callback_t *self, MDB_txn *txn, const task_t *t);

/* An agent tried to record t, or someone to promise a time for it, while it waits for its
 * survey's answer: the refusal. */
int callback_survey_refuse_record(callback_t *self, MDB_txn *txn, const task_t *t,
                                  cmd_reply_t *reply);

/* Add "survey": {surveyId, state, channel, sentMs, expiresMs, ...} to a task's view when the
 * task was sent by one. */
int callback_survey_view(callback_t *self, MDB_txn *txn, const task_t *t, json_t *o);

/* Walk the tasks whose survey waits for an answer, soonest expiry first (visit gets the
 * task's key as a TASK_KEY, as in the tasks sub-database). */
int callback_survey_scan_open(callback_t *self, MDB_txn *txn, store_scan_fn visit, void *ctx);

/* Surveys waiting for an answer. */
int callback_survey_open_count(callback_t *self, MDB_txn *txn, uint64_t *n);

/* ---- callback_survey_setup.c: configuration, wiring, the answers' door ---- */

/* desc.check_config's survey part: survey.url, secret, mode, channel, answerBaseUrl. */
int callback_survey_check_config(const Hotline__CallbackConfig *cfg, char *err, size_t err_size);
/* Make the connector and the expiry scheduler when survey.url is set (self->svc). */
int callback_survey_init(callback_t *self);
void callback_survey_stop(callback_t *self);
/* Free the survey part (its connector, when owned). */
void callback_survey_destroy(callback_t *self);

/* The handler of POST /v1/surveys/{surveyId}/answer (ctx = callback_t). */
void callback_survey_on_answer(httpd_req_t *req, void *ctx);

#endif
