/* callback: the callback agents' service (docs/architecture.md, "The five services").
 *
 * After a unit replies to a ticket, the citizen is called back on the working day after the
 * reply (docs/domain.md "callback") and rates the result. This service:
 *   - follows intake (TicketReceived: keeps the caller's contact, the number the agent dials,
 *     and whether the caller is vulnerable or the ticket joined an incident) and dispatch
 *     (TicketReplied: schedules one callback task per ticket and round, due at callHour local
 *     time on the next working day, or at the instant promised to the citizen; TicketReopened:
 *     cancels a pending task of an earlier round, whose reply is no longer what the citizen
 *     would rate);
 *   - keeps each task on the shared scheduler (common/scheduler.h) until its instant, when it
 *     enters the due queue (or, with a survey gateway in mode all, goes to the gateway),
 *     unless the caller was already reached fatigueMaxCalls times in the last
 *     fatigueWindowDays days: then the callback is skipped and the ticket closes;
 *   - hands due tasks to agents (NextCallback: vulnerable callers first, then incidents, then
 *     the rest, earliest due first within each; claimed for claimMinutes; a task whose instant
 *     has not come is never handed out) and records what they heard (RecordCallback: a rating
 *     closes the ticket or sends it back for rework; an unreachable citizen goes back on the
 *     scheduler for retryMinutes later, at most maxAttempts times, then the ticket closes as
 *     unreachable);
 *   - moves a callback to the time an operator, agent or supervisor agreed with the citizen
 *     (PromiseCallback), kept until the unit replies when it comes first.
 *   - takes units' appeals of ratings and supervisors' rulings on them (FileAppeal,
 *     ReviewAppeal, callback_appeal.c): an upheld appeal takes the rating out of the KPIs;
 *   - with a survey gateway configured (survey.url), sends callbacks to it instead (every one,
 *     or those the agents could not reach) and records its signed answers as ratings
 *     (callback_survey.h).
 * Events it appends: CallbackScheduled, CallbackClaimed, CallbackAttempted, CallbackRated,
 * CallbackPromised, CallbackSkipped, ReworkRequested, SupervisionRequested, TicketClosed,
 * AppealFiled, AppealReviewed, KpiEligibilityChanged, SurveySent, SurveyExpired.
 *
 * The logic (callback_t) only needs a store, an event log, a clock and a calendar, so tests run
 * it in-process; callback.c wires it into the service skeleton. Loop thread only. */
#ifndef HOTLINE_CALLBACK_H
#define HOTLINE_CALLBACK_H

#include "calendar.h"
#include "cmdexec.h"
#include "connector.h"
#include "evlog.h"
#include "hclock.h"
#include "service.h"
#include "store.h"

#include "hotline/command.pb-c.h"
#include "hotline/event.pb-c.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

extern const service_desc_t callback_service;

/* Inputs longer than this are refused (commands) or skipped (feed events): ticket ids, agent
 * names. Ticket ids are part of LMDB keys, which must stay under 511 bytes. */
#define CALLBACK_ID_MAX 64
/* RecordCallback.comment, in characters (UTF-8 code points). */
#define CALLBACK_COMMENT_MAX 1000
/* PromiseCallback.note, in characters; a promise at most this many days ahead. */
#define CALLBACK_NOTE_MAX 500
#define CALLBACK_PROMISE_MAX_DAYS 30
/* GET /v1/callbacks?limit= */
#define CALLBACK_LIST_DEFAULT 100
#define CALLBACK_LIST_MAX 1000

/* Appeals: the exclusion list's codes, its length, the statement and note (characters), the
 * evidence links and their length (bytes). */
#define CALLBACK_APPEAL_CODE_MAX 32
#define CALLBACK_APPEAL_REASONS_MAX 32
#define CALLBACK_APPEAL_TEXT_MAX 2000
#define CALLBACK_APPEAL_URLS_MAX 10
#define CALLBACK_APPEAL_URL_MAX 512

/* The business part of hotline.CallbackConfig. */
typedef struct callback_settings {
    unsigned call_hour;              /* local hour of the first call (0..23) */
    unsigned retry_minutes;          /* after an unreachable attempt */
    unsigned max_attempts;           /* then the ticket closes as unreachable */
    unsigned claim_minutes;          /* a handed-out task is held this long */
    bool basically_satisfied_counts; /* the satisfaction policy switch */
    unsigned appeal_window_working_days; /* a rating may be appealed until the end of the Nth
                                            working day after its day */
    /* The exclusion list an appeal cites (borrowed: it must outlive the object; checked with
     * callback_appeal_check_reasons). */
    Hotline__AppealReason *const *appeal_reasons;
    size_t n_appeal_reasons;
    unsigned fatigue_max_calls;      /* reached calls per caller in the window; 0 = no cap */
    unsigned fatigue_window_days;    /* the cap's window, in natural days */
} callback_settings_t;

typedef struct callback callback_t;

/* Open the service's sub-databases (call before any other transaction) and take ownership of
 * *cal (nulled). store, log and clock must outlive the object.
 * Errors: HL_ENOMEM, store_db errors. On error *cal is still the caller's. */
int callback_create(callback_t **out, store_t *store, evlog_t *log, hclock_t *clock,
                    calendar_t **cal, const callback_settings_t *settings);
/* Frees the object and its calendar (not the scheduler). Nulls *self. */
void callback_destroy(callback_t **self);

/* The options of the scheduler that holds the tasks until they are due (its name, and a fire
 * function that moves a task into the due queue, ctx = self): give them to service_scheduler
 * or scheduler_create, then the scheduler to callback_attach. */
scheduler_opts_t callback_scheduler_opts(callback_t *self);

/* Use sched (not owned: it must outlive the object) from now on, and inside the write
 * transaction txn bring the queue up to date: the entries of an earlier version's queue (no
 * priority in the key) move to the queue by priority, and every queued task whose instant
 * has not come goes back on the scheduler (queued by a version that handed out tasks early,
 * or before a test clock was set back). Call once, before anything else schedules.
 * Errors: the store's. */
int callback_attach(callback_t *self, scheduler_t *sched, MDB_txn *txn);

/* feed_apply_fn for both the intake and the dispatch feed (ctx = callback_t): TicketReceived,
 * TicketReplied and TicketReopened change state; every other event is ignored. Malformed
 * events (no ticket id, id too long) are logged and skipped. Returns 0 or a store error. */
int callback_apply(void *ctx, MDB_txn *txn, const Hotline__Event *ev);

/* The command handler (service_desc_t.command, ctx = callback_t): NextCallback,
 * RecordCallback, PromiseCallback, FileAppeal, ReviewAppeal and AnswerSurvey; anything else is
 * refused NOT_FOUND. Returns 0 having set reply->msg, or a store error. */
int callback_command(void *ctx, MDB_txn *txn, const Hotline__Command *cmd, cmd_reply_t *reply);

/* Whether reasons[0..n) is a usable exclusion list (codes [a-z0-9-] 1..32 and unique, labels
 * 1..200 characters, 1..32 entries). HL_EINVAL with err naming the field and the rule. */
int callback_appeal_check_reasons(const Hotline__AppealReason *const *reasons, size_t n,
                                  char *err, size_t err_size);

/* The policy: does a rating count as satisfied? "Basically satisfied" counts only when
 * basically_counts is set (docs/domain.md, KPIs). */
bool callback_rating_satisfied(Hotline__Rating rating, bool basically_counts);
/* "very satisfied", ..., "very dissatisfied"; "unrated" for anything else. Static. */
const char *callback_rating_words(Hotline__Rating rating);

/* ---- read-only views (HTTP GET), inside a read (or write) transaction ---- */

typedef enum {
    CALLBACK_LIST_PENDING = 0, /* waiting for a call, due or not, by ticket id */
    CALLBACK_LIST_DONE = 1,    /* finished (rated, unreachable, skipped, cancelled), latest
                                  first */
    CALLBACK_LIST_DUE = 2,     /* due now: the agents' queue, in the order they get it */
    CALLBACK_LIST_SURVEY = 3,  /* waiting for the survey gateway's answer, soonest expiry first */
} callback_list_t;

/* A JSON object {"state": ..., "count": n, "callbacks": [task...]} of at most limit tasks
 * (the done list also has "skippedTotal": callbacks ever skipped by the cap). Phone numbers
 * are masked (mask_phone_field, mask_phones in free text); names are left out. *out is a new
 * reference. Errors: HL_ENOMEM, HL_ECORRUPT, store errors. */
int callback_list(callback_t *self, MDB_txn *txn, callback_list_t which, unsigned limit,
                  json_t **out);
/* {"ticketId": id, "callbacks": [task per round...]}. HL_ENOTFOUND when the ticket has no
 * callback task. Masked like callback_list. */
int callback_ticket_view(callback_t *self, MDB_txn *txn, const char *ticket_id, json_t **out);
/* Tasks waiting for a call (pending, due or not; not those waiting for a survey's answer) and
 * those of them that are due, for the hotline_callback_pending and hotline_callback_due
 * gauges. */
int callback_pending_count(callback_t *self, MDB_txn *txn, uint64_t *out);
int callback_due_count(callback_t *self, MDB_txn *txn, uint64_t *out);
/* Callbacks skipped by the anti-fatigue cap since the store was made, for
 * hotline_callback_skipped_total (counted in the transaction that skips). */
int callback_skipped_count(callback_t *self, MDB_txn *txn, uint64_t *out);

/* ---- the survey gateway (callback_survey*.c): the automated channel ---- */

typedef struct callback_survey_settings {
    bool all;                    /* every callback by survey; false: only instead of closing
                                  * a ticket whose citizen the agents could not reach */
    const char *channel;         /* "sms" (NULL) or "ivr" */
    unsigned answer_hours;       /* an answer is taken this long (0: 72) */
    const char *answer_base_url; /* answerUrl = this + /v1/surveys/{surveyId}/answer */
    const void *key;             /* the gateway's secret, which answers are checked with */
    size_t key_len;              /* (copied) */
} callback_survey_settings_t;

/* The options of the scheduler that closes surveys left unanswered (ctx = self): give them to
 * service_scheduler or scheduler_create, then the scheduler to callback_survey_attach. */
scheduler_opts_t callback_survey_scheduler_opts(callback_t *self);

/* Use conn (the "survey" connector; NULL: no gateway, nothing is sent and answers are
 * refused) and expiry from now on, and open the survey sub-databases (no transaction open).
 * Neither is owned: they must outlive the object. Once only. Errors: HL_EINVAL, HL_ENOMEM,
 * store errors. */
int callback_survey_attach(callback_t *self, connector_t *conn, scheduler_t *expiry,
                           const callback_survey_settings_t *s);

/* Why an answer was refused at the door. */
typedef struct callback_survey_refusal {
    const char *field;  /* "X-Hotline-Timestamp", "X-Hotline-Signature", "surveyId" (static) */
    const char *reason; /* the metric's label: no_timestamp, stale, malformed, mismatch */
    char message[400];
} callback_survey_refusal_t;

/* Check an answer's X-Hotline-Timestamp and X-Hotline-Signature (NULL when absent) for body:
 * the HMAC of the survey secret, the timestamp within CONNECTOR_SKEW_MS of the service clock.
 * 0 when signed; HL_EINVAL (401) or HL_ENOTFOUND (no gateway: 404) with why filled. */
int callback_survey_verify(callback_t *self, const char *ts, const char *sig, const void *body,
                           size_t len, callback_survey_refusal_t *why);

#endif
