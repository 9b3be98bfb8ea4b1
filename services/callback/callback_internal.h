/* The callback service's private parts, shared by the files of services/callback only: the object, the
 * stored task record and the sub-databases that index it.
 *
 * Sub-databases (keys that sort by time are big-endian):
 *   tasks     TASK_KEY = ticket id, NUL, round (be32)  -> task record (callback_store.c)
 *   queue     priority (u8) + due_ms (be64) + TASK_KEY -> ""   pending tasks whose instant has
 *                                                          come: the agents' queue, vulnerable
 *                                                          callers (0) before incidents (1)
 *                                                          before the rest (2), then earliest
 *                                                          first, then by ticket id and round
 *   due       due_ms (be64) + TASK_KEY                  -> ""   the queue of versions before
 *                                                          priorities: emptied into `queue` at
 *                                                          start (callback_attach)
 *   done      done_ms (be64) + TASK_KEY                 -> ""   finished tasks, for the list
 *   pending   ticket id                                 -> round (be32) of its pending task
 *   claims    agent                                     -> TASK_KEY the agent holds
 *   contacts  ticket id                                 -> packed hotline.Ticket holding only
 *                                                          id, contact, confidential,
 *                                                          vulnerable_caller, received_ms,
 *                                                          incident_id
 *   persons   phone key (common/phone.h)                -> agent NUL, until_ms (be64): the
 *                                                          person an agent is calling, so no
 *                                                          other agent is handed one of their
 *                                                          tickets meanwhile
 *   promises  ticket id                                 -> at_ms (be64) + by NUL note: a time
 *                                                          agreed before the unit replied
 *                                                          (callback_promise.c)
 *   calls     phone key NUL + time (be64) + ticket id   -> ""   the calls that reached each
 *                                                          caller, for the anti-fatigue cap
 *                                                          (callback_fatigue.c)
 *   meta      "skipped"                                 -> u64 (be64): callbacks skipped
 *   ratings   TASK_KEY                                  -> the rating recorded for that round
 *   appeals   TASK_KEY                                  -> packed hotline.Appeal
 *                                                          (both callback_appeal.c)
 * and the shared scheduler's callback_calls.* (common/scheduler.h), entry id = TASK_KEY, which
 * holds each pending task until its instant (callback_sched.c). A pending task is in exactly
 * one of the two: on the scheduler while it is not due, in `queue` once it is.
 * A ticket has at most one pending task: a newer round's reply or a reopening ends the older
 * one (state cancelled). A task sent to the survey gateway (state survey) stays the ticket's
 * pending round but is in neither the queue nor on the scheduler: the survey's own
 * sub-databases and scheduler hold it (callback_survey.h). */
#ifndef HOTLINE_CALLBACK_INTERNAL_H
#define HOTLINE_CALLBACK_INTERNAL_H

#include "callback.h"
#include "phone.h"

#include <stddef.h>

struct callback {
    service_t *svc;          /* NULL when run in-process by tests */
    metric_t *pending_gauge; /* hotline_callback_pending, NULL in tests */
    metric_t *due_gauge;     /* hotline_callback_due, NULL in tests */
    double skipped;          /* hotline_callback_skipped_total as last read after a commit */
    scheduler_t *sched;      /* holds tasks until they are due (not owned) */
    store_t *store;
    evlog_t *log;
    hclock_t *clock;
    calendar_t *cal; /* owned */
    callback_settings_t cfg;
    MDB_dbi tasks, queue, legacy_due, done, pending, claims, contacts, persons;
    MDB_dbi promises, calls, meta;
    MDB_dbi incident_callers, incident_members, incident_covered; /* callback_incident.c */
    MDB_dbi ratings, appeals;                                     /* callback_appeal.c */
    struct callback_survey *survey; /* the survey gateway's part (callback_survey.h); NULL
                                     * until attached */
};

typedef struct callback_survey callback_survey_t;

typedef enum {
    TASK_PENDING = 1,   /* waiting for a (further) call */
    TASK_DONE = 2,      /* rated, or closed as unreachable */
    TASK_CANCELLED = 3, /* a newer round or a reopening made it moot */
    TASK_SKIPPED = 4,   /* not called: the anti-fatigue cap (the ticket closed) */
    TASK_SURVEY = 10,   /* sent to the survey gateway: waits for its answer or expiry, in
                         * neither the queue nor on the calls' scheduler, still the ticket's
                         * pending round (callback_survey.h) */
} task_state_t;

/* A task's place in the agents' queue: the first byte of its `queue` key. */
typedef enum {
    PRIO_VULNERABLE = 0, /* the caller is vulnerable */
    PRIO_INCIDENT = 1,   /* the ticket belongs to an incident */
    PRIO_ORDINARY = 2,
} task_prio_t;

/* One callback task, as stored. Strings are heap copies, never NULL ("" when empty); free
 * with callback_task_clear. */
typedef struct task {
    char ticket_id[CALLBACK_ID_MAX + 1];
    uint32_t round;
    uint8_t state;          /* task_state_t */
    uint8_t outcome;        /* Hotline__CallbackOutcome of the last recorded call, 0 none */
    uint8_t rating;         /* Hotline__Rating once rated */
    bool unit_resolved;     /* the unit's own word in its reply */
    bool rated_resolved;    /* the citizen's word at the callback */
    bool satisfied;         /* the rating under the policy at the time it was recorded */
    bool incident;          /* replied by an incident's close (TicketReplied.incident_id) */
    uint8_t prio;           /* task_prio_t: its queue key's while it is queued */
    uint32_t attempts;      /* calls recorded so far */
    int64_t replied_ms;     /* time of the reply event: what due was computed from */
    int64_t due_ms;         /* when to call (next attempt while pending) */
    int64_t claim_until_ms; /* 0 = not held by an agent */
    int64_t done_ms;        /* when it left the queue */
    int64_t promised_ms;    /* the instant agreed with the citizen, 0 = none */
    char *unit;
    char *reply_text;
    char *claim_agent; /* who holds it (meaningful while claim_until_ms > now) */
    char *agent;       /* who recorded the last call */
    char *comment;     /* the citizen's comment at the rated call */
    char *note;        /* why it ended: "rated satisfied", "superseded by round 2", ... */
    char *promised_by; /* who agreed promised_ms with the citizen */
    char *promise_note;
} task_t;

#define TASK_KEY_MAX (CALLBACK_ID_MAX + 1 + 4)
/* What stands before the TASK_KEY in an index key: done (time), queue (priority, time). */
#define DONE_KEY_PREFIX 8
#define QUEUE_KEY_PREFIX 9
/* The longest unit id kept with a rating (events' units are longer only when hand-made). */
#define CALLBACK_UNIT_MAX 128

/* ---- callback_store.c ---- */

/* Initialise t for ticket_id / round with empty strings. HL_ENOMEM. */
int callback_task_init(task_t *t, const char *ticket_id, uint32_t round);
void callback_task_clear(task_t *t);
/* Replace one of t's strings with a copy of s (NULL = ""). HL_ENOMEM. */
int callback_task_set(char **field, const char *s);

/* TASK_KEY of (ticket_id, round) into key; returns its length. ticket_id must be valid. */
size_t callback_task_key(uint8_t key[TASK_KEY_MAX], const char *ticket_id, uint32_t round);
/* Split a TASK_KEY (from an index key). HL_ECORRUPT when it is not one. */
int callback_task_key_parse(const uint8_t *key, size_t len, char ticket_id[CALLBACK_ID_MAX + 1],
                            uint32_t *round);

/* Load a task. HL_ENOTFOUND, HL_ECORRUPT, HL_ENOMEM. On success t must be cleared. */
int callback_task_load(callback_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                       task_t *t);
/* Load the task an index key names: prefix bytes (DONE_KEY_PREFIX, QUEUE_KEY_PREFIX) then a
 * TASK_KEY. HL_ECORRUPT when the key is not one; else as callback_task_load. */
int callback_task_load_indexed(callback_t *self, MDB_txn *txn, const MDB_val *key, size_t prefix,
                               task_t *t);
/* Store t and move its index entries from where they were (old_state 0 for a new task, else
 * the state and due_ms t had when loaded; its priority must be the one it was queued with:
 * callback_task_reprioritize changes that): a pending task with a new instant goes on the
 * scheduler (out of the queue), a finished one leaves both, and the done list and the
 * ticket's pending round follow t's state. */
int callback_task_save(callback_t *self, MDB_txn *txn, uint8_t old_state, int64_t old_due_ms,
                       const task_t *t);

/* End a pending task: state TASK_DONE, TASK_CANCELLED or TASK_SKIPPED, done now, the claim
 * released, note saying why; or hand it to the survey gateway (TASK_SURVEY: the claim released,
 * not done). A task that waited for a survey and is cancelled withdraws the survey. */
int callback_task_finish(callback_t *self, MDB_txn *txn, task_t *t, uint8_t state,
                         const char *note);

/* The round of the ticket's pending task: HL_ENOTFOUND when it has none. */
int callback_task_pending_round(callback_t *self, MDB_txn *txn, const char *ticket_id,
                                uint32_t *round);
/* Any task of the ticket, the latest round: HL_ENOTFOUND when it has none. */
int callback_task_latest(callback_t *self, MDB_txn *txn, const char *ticket_id, task_t *t);
/* Whether the ticket closed with t (rated satisfied, unreachable to the end, skipped): no
 * later round will come, unlike after a rating that sent it back for rework. */
bool callback_task_closed_ticket(const task_t *t);

/* The agent's claim: the task it holds. HL_ENOTFOUND. */
int callback_claim_get(callback_t *self, MDB_txn *txn, const char *agent,
                       char ticket_id[CALLBACK_ID_MAX + 1], uint32_t *round);
int callback_claim_put(callback_t *self, MDB_txn *txn, const char *agent, const task_t *t);
/* Drop the agent's claim if it points at t (a claim that moved on is left alone). */
int callback_claim_drop(callback_t *self, MDB_txn *txn, const char *agent, const task_t *t);
/* t is no longer held: its holder's claim (and their hold on the caller) dropped, t's claim
 * fields cleared (t is not saved). */
int callback_claim_release(callback_t *self, MDB_txn *txn, task_t *t);
/* The person (by phone) of ticket_id is being called by agent until until_ms (put), or no
 * longer by agent (drop: only agent's own claim goes). A ticket whose caller's number is not
 * known claims nothing. */
int callback_person_put(callback_t *self, MDB_txn *txn, const char *ticket_id, const char *agent,
                        int64_t until_ms);
int callback_person_drop(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         const char *agent);
/* Whether another agent than agent is calling ticket_id's caller at now. */
int callback_person_held(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         const char *agent, int64_t now, bool *held);

/* The phone key (common/phone.h) of ticket_id's caller in out; *len 0 when it is not known. */
int callback_person_key(callback_t *self, MDB_txn *txn, const char *ticket_id,
                        char out[PHONE_KEY_MAX + 1], size_t *len);

/* Append one event about ticket_id to the callback log inside txn: body is the message of the
 * Event oneof field body_case (Hotline__CallbackRated * for ..._CALLBACK_RATED, ...). */
int callback_event_append(callback_t *self, MDB_txn *txn, const char *ticket_id,
                          Hotline__Event__BodyCase body_case, void *body);

/* The caller's contact kept from TicketReceived. HL_ENOTFOUND when intake has not told us
 * yet. The message is unpacked with alloc (NULL = malloc: free_unpacked it). */
int callback_contact_get(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         ProtobufCAllocator *alloc, Hotline__Ticket **out);
int callback_contact_put(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         const Hotline__Ticket *ticket);

/* Is s a usable id (ticket id, agent): 1..CALLBACK_ID_MAX bytes of valid UTF-8, no control
 * characters, no space at either end? */
bool callback_id_ok(const char *s);

/* The due queue: put t there (its instant has come) or take it out; due_ms is the instant
 * it was queued at, t->prio its priority. callback_queued: 1 when t is in the queue, 0 when
 * not, or a store error. */
int callback_queue_put(callback_t *self, MDB_txn *txn, const task_t *t);
int callback_queue_del(callback_t *self, MDB_txn *txn, const task_t *t, int64_t due_ms);
int callback_queued(callback_t *self, MDB_txn *txn, const task_t *t);

/* The priority t should have, from its ticket's contact (vulnerable caller, incident joined
 * at intake; not known yet: neither) and its reply (t->incident). */
int callback_task_priority(callback_t *self, MDB_txn *txn, const task_t *t, uint8_t *prio);
/* Give a pending t priority prio, moving its queue entry if it is queued, and store it. */
int callback_task_reprioritize(callback_t *self, MDB_txn *txn, task_t *t, uint8_t prio);
/* "vulnerable", "incident", "ordinary". */
const char *callback_prio_name(uint8_t prio);

/* ---- callback_commands.c, also for callback_survey.c ---- */

/* Record the citizen's rating of t (rec: rating, resolved, comment, agent): CallbackRated,
 * then TicketClosed or ReworkRequested (and SupervisionRequested after a rework round), the
 * incident's other tickets settled alike, t finished; res->status says which. */
int callback_record_rated(callback_t *self, MDB_txn *txn, task_t *t,
                          const Hotline__RecordCallback *rec, Hotline__RecordCallbackResult *res);
/* Close t's ticket as nobody answered (TicketClosed with reason, the incident's other tickets
 * too) and finish t. */
int callback_close_unreached(callback_t *self, MDB_txn *txn, task_t *t, const char *reason);
/* A citizen's comment: 1 when valid UTF-8 of at most CALLBACK_COMMENT_MAX characters, else 0
 * having refused the command naming field comment. */
int callback_check_comment(const char *comment, cmd_reply_t *reply);

/* ---- callback_sched.c ---- */

/* Put t on the scheduler for t->due_ms (moving it if it is there), or take it off (quiet when
 * it is not there). */
int callback_sched_put(callback_t *self, MDB_txn *txn, const task_t *t);
int callback_sched_cancel(callback_t *self, MDB_txn *txn, const task_t *t);

/* ---- callback_commands.c ---- */

/* Answer the command with t as a CallbackTask (in reply's arena, without phone or name: the
 * caller adds them for the agent who is handed the call); *out is that answer. HL_ENOMEM. */
int callback_task_answer(const task_t *t, int64_t now, cmd_reply_t *reply,
                         Hotline__CallbackTask **out);

/* ---- callback_fatigue.c: the anti-fatigue cap ---- */

/* A rated call reached t's caller now: one entry of their call history (the older ones past
 * the window are pruned). A caller whose number is not known has no history. */
int callback_fatigue_note_call(callback_t *self, MDB_txn *txn, const task_t *t);
/* t's instant has come: when its caller was reached fatigueMaxCalls times in the window, the
 * callback is skipped (CallbackSkipped, TicketClosed for t's ticket and the tickets riding on
 * its call, state TASK_SKIPPED, counted in meta) and *skipped is set; otherwise nothing
 * changes. Only a first call is capped: not a retry after an unreachable attempt, not a time
 * the citizen asked for (a promise). */
int callback_fatigue_check(callback_t *self, MDB_txn *txn, task_t *t, bool *skipped);

/* ---- callback_promise.c: times agreed with the citizen ---- */

/* The PromiseCallback command (by: who asks). Returns 0 having set reply->msg, or a store
 * error. */
int callback_promise_command(callback_t *self, MDB_txn *txn, const Hotline__PromiseCallback *pc,
                             const char *by, cmd_reply_t *reply);
/* A new task t (not stored yet) of a reply at t->replied_ms: the promise kept for its ticket,
 * if any, is taken (removed) and, when its instant is after the reply, set as t's due time. */
int callback_promise_take(callback_t *self, MDB_txn *txn, task_t *t);
/* ticket_id, replied at replied_ms, has just joined the caller's call about an incident: the
 * promise kept for it, if any, is taken and moves that call (unless its instant is before
 * the reply). */
int callback_promise_join(callback_t *self, MDB_txn *txn, const char *ticket_id,
                          int64_t replied_ms);
/* t is being cancelled: a promise whose instant has not come is kept for the next round. */
int callback_promise_keep(callback_t *self, MDB_txn *txn, const task_t *t);

/* ---- callback_incident.c: one call per caller of an incident ---- */

/* Open the sub-databases (start-up). */
int callback_incident_open(callback_t *self, store_t *store);
/* A TicketReplied of an incident's close (ev): when the same caller already has a pending call
 * for that incident, the ticket joins it (*joined: no task of its own); otherwise the task the
 * caller is about to create for it becomes the caller's call. */
int callback_incident_join(callback_t *self, MDB_txn *txn, const Hotline__Event *ev,
                           bool *joined);
/* The call was rated (rated: each member ticket gets a copy with its own round and unit), or
 * closed unreached or skipped by the cap (rated NULL): each ticket that rode on it gets closed
 * (TicketClosed closed) or, with closed NULL, ReworkRequested with rework_reason. */
int callback_incident_settle(callback_t *self, MDB_txn *txn, const task_t *call,
                             const Hotline__CallbackRated *rated,
                             const Hotline__TicketClosed *closed, const char *rework_reason);
/* The ticket whose call covers ticket (same caller, same incident). HL_ENOTFOUND. */
int callback_incident_covered_by(callback_t *self, MDB_txn *txn, const char *ticket,
                                 char lead[CALLBACK_ID_MAX + 1]);

/* Append ev to callback's log in txn; a CallbackRated is also noted for appeals
 * (callback_rating_note). Every event callback appends goes through here. */
int callback_emit(callback_t *self, MDB_txn *txn, Hotline__Event *ev);

/* ---- callback_appeal.c: appeals of ratings ---- */

int callback_appeal_open(callback_t *self, store_t *store);
/* Note the rating cr of ticket_id, recorded at rated_ms: the latest round's is what a unit can
 * appeal. */
int callback_rating_note(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         const Hotline__CallbackRated *cr, int64_t rated_ms);
/* FileAppeal or ReviewAppeal (cmd_refuse on bad input; 0 or a store error). */
int callback_appeal_command(callback_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                            cmd_reply_t *reply);
/* The appeal of (ticket_id, round), unpacked with alloc (NULL = malloc). HL_ENOTFOUND. */
int callback_appeal_get(callback_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                        ProtobufCAllocator *alloc, Hotline__Appeal **out);
/* Visit the appeals of ticket_id (the latest round first), or every appeal (ticket_id NULL,
 * by ticket id). a is borrowed during the call; return 0 to go on, > 0 to stop (the scan
 * returns 0), < 0 an error. */
typedef int (*callback_appeal_fn)(void *ctx, const Hotline__Appeal *a);
int callback_appeal_scan(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         callback_appeal_fn fn, void *ctx);
/* Add GET /v1/appeals, GET /v1/appeals/{ticketId}, POST /v1/appeals/{ticketId} and
 * POST /v1/appeals/{ticketId}/review (callback_appeal_http.c). */
int callback_appeal_routes(callback_t *self);

/* ---- callback_http.c ---- */

/* Add the /v1/callbacks routes (self->svc set). */
int callback_http_routes(callback_t *self);
/* The {ticketId} of /v1/<resource>/{ticketId}[/{action}], and the action ("" when none; NULL
 * action: none allowed). Answers 400 / 404 and returns false when the path has no ticket id,
 * a bad one, or more segments. */
bool callback_path_ticket(httpd_req_t *req, char id[CALLBACK_ID_MAX + 1], char *action,
                          size_t action_size);
/* POST /v1/<resource>/{ticketId} with a body of desc's message (whose ticket_id the path
 * gives) run as the command body_case, answered with its reply. */
void callback_http_ticket_command(callback_t *self, httpd_req_t *req,
                                  const ProtobufCMessageDescriptor *desc, uint32_t body_case);
/* Run body (decoded by the route, owned from here) as the command body_case for the request's
 * caller and answer with its reply. */
void callback_http_run(callback_t *self, httpd_req_t *req, uint32_t body_case,
                       ProtobufCMessage *body);

/* ---- callback_view.c ---- */

/* "pending", "done", "cancelled", "skipped". */
const char *callback_task_state_name(uint8_t state);

#endif
