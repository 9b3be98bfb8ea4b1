/* callback_commands: the agents' commands. NextCallback hands out (claims) the due task to
 * call next, in the queue's order (priority, then due time); RecordCallback records what the
 * call gave: a rating (closing the ticket or sending it back for rework; the caller's call
 * history for the anti-fatigue cap gains one call) or an unreachable citizen (another attempt
 * later, or closing after the last, or, with a survey gateway in mode fallback, a survey
 * instead: callback_survey.c). PromiseCallback is callback_promise.c's, AnswerSurvey
 * callback_survey.c's (its answer recorded by callback_record_rated, as an agent's rating).
 * All run inside the group-commit transaction; a refusal rolls back every write, so inputs
 * are checked before anything is written. Loop thread. */
#include "callback_survey.h"

#include "hl_error.h"
#include "slog.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

static const char OUTCOMES[] = "CALLBACK_RATED, CALLBACK_UNREACHABLE";
static const char RATINGS[] = "RATING_VERY_SATISFIED, RATING_SATISFIED, "
                              "RATING_BASICALLY_SATISFIED, RATING_DISSATISFIED, "
                              "RATING_VERY_DISSATISFIED";

bool callback_rating_satisfied(Hotline__Rating rating, bool basically_counts)
{
    return rating == HOTLINE__RATING__RATING_VERY_SATISFIED ||
           rating == HOTLINE__RATING__RATING_SATISFIED ||
           (basically_counts && rating == HOTLINE__RATING__RATING_BASICALLY_SATISFIED);
}

const char *callback_rating_words(Hotline__Rating rating)
{
    switch (rating) {
    case HOTLINE__RATING__RATING_VERY_SATISFIED: return "very satisfied";
    case HOTLINE__RATING__RATING_SATISFIED: return "satisfied";
    case HOTLINE__RATING__RATING_BASICALLY_SATISFIED: return "basically satisfied";
    case HOTLINE__RATING__RATING_DISSATISFIED: return "dissatisfied";
    case HOTLINE__RATING__RATING_VERY_DISSATISFIED: return "very dissatisfied";
    default: return "unrated";
    }
}

static int refuse_agent(cmd_reply_t *reply)
{
    return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "agent",
                      "the callback agent's id is required: 1 to %d characters, no control "
                      "characters, no leading or trailing space",
                      CALLBACK_ID_MAX);
}

static bool held_by_other(const task_t *t, const char *agent, int64_t now)
{
    return t->claim_until_ms > now && t->claim_agent[0] && strcmp(t->claim_agent, agent) != 0;
}

/* ---- NextCallback (and PromiseCallback's answer) ---- */

int callback_task_answer(const task_t *t, int64_t now, cmd_reply_t *reply,
                         Hotline__CallbackTask **out)
{
    Hotline__CallbackTask *ct = arena_alloc(reply->arena, sizeof *ct);
    if (!ct)
        return HL_ENOMEM;
    hotline__callback_task__init(ct);
    ct->ticket_id = arena_strdup(reply->arena, t->ticket_id);
    ct->due_ms = t->due_ms;
    ct->unit = arena_strdup(reply->arena, t->unit);
    ct->reply_text = arena_strdup(reply->arena, t->reply_text);
    ct->round = t->round;
    ct->attempts = t->attempts;
    ct->due = t->due_ms > 0 && now >= t->due_ms;
    ct->priority = HOTLINE__CALLBACK_PRIORITY__CALLBACK_PRIORITY_VULNERABLE + t->prio;
    ct->promised_ms = t->promised_ms;
    ct->promise_note = arena_strdup(reply->arena, t->promise_note);
    ct->promised_by = arena_strdup(reply->arena, t->promised_by);
    if (!ct->ticket_id || !ct->unit || !ct->reply_text || !ct->promise_note || !ct->promised_by)
        return HL_ENOMEM;
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_CALLBACK_TASK;
    reply->msg->callback_task = ct;
    *out = ct;
    return 0;
}

/* Claim t for agent and answer with what the agent needs to make the call. A new claim (or
 * one moving to another agent, the old holder's having lapsed) is a CallbackClaimed event, so
 * the log shows who held which caller when; the holder asking again and getting the same task
 * back only extends the claim, with no event. */
static int hand_out(callback_t *self, MDB_txn *txn, task_t *t, const char *agent, int64_t now,
                    cmd_reply_t *reply)
{
    int rc = 0;
    bool fresh = strcmp(t->claim_agent, agent) != 0 || t->claim_until_ms <= now;
    if (strcmp(t->claim_agent, agent) != 0)
        rc = callback_claim_drop(self, txn, t->claim_agent, t); /* its old holder's lapsed */
    if (!rc)
        rc = callback_task_set(&t->claim_agent, agent);
    if (rc)
        return rc;
    t->claim_until_ms = now + (int64_t)self->cfg.claim_minutes * 60000;
    /* The person too: no other agent is handed another of their tickets meanwhile. */
    if ((rc = callback_task_save(self, txn, t->state, t->due_ms, t)) ||
        (rc = callback_claim_put(self, txn, agent, t)) ||
        (rc = callback_person_put(self, txn, t->ticket_id, agent, t->claim_until_ms)))
        return rc;
    if (fresh) {
        Hotline__CallbackClaimed cc = HOTLINE__CALLBACK_CLAIMED__INIT;
        cc.round = t->round;
        cc.agent = (char *)agent;
        cc.until_ms = t->claim_until_ms;
        if ((rc = callback_event_append(self, txn, t->ticket_id,
                                        HOTLINE__EVENT__BODY_CALLBACK_CLAIMED, &cc)))
            return rc;
    }

    Hotline__Ticket *contact = NULL;
    rc = callback_contact_get(self, txn, t->ticket_id, arena_allocator(reply->arena), &contact);
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    Hotline__CallbackTask *ct;
    if ((rc = callback_task_answer(t, now, reply, &ct)))
        return rc;
    /* The agent must dial the number, so it goes out whole here (and only here). */
    if (contact && contact->contact) {
        ct->phone = contact->contact->phone;
        if (!contact->contact->anonymous)
            ct->name = contact->contact->name;
    }
    SLOG_DEBUG("callback_claimed", "ticket=%s round=%u agent=%s claim_until_ms=%lld", t->ticket_id,
               (unsigned)t->round, agent, (long long)t->claim_until_ms);
    return 0;
}

/* The task the agent already holds, if it still does: asking again (a retry, a restarted
 * client) gives the same task back rather than a second one. 1 = handed out. */
static int own_claim(callback_t *self, MDB_txn *txn, const char *agent, int64_t now,
                     cmd_reply_t *reply)
{
    char id[CALLBACK_ID_MAX + 1];
    uint32_t round;
    int rc = callback_claim_get(self, txn, agent, id, &round);
    if (rc == HL_ENOTFOUND)
        return 0;
    task_t t;
    if (rc == 0)
        rc = callback_task_load(self, txn, id, round, &t);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
        return store_del(txn, self->claims, agent, strlen(agent)); /* dangling: drop it */
    if (rc)
        return rc;
    bool mine = t.state == TASK_PENDING && strcmp(t.claim_agent, agent) == 0;
    rc = mine ? hand_out(self, txn, &t, agent, now, reply)
              : store_del(txn, self->claims, agent, strlen(agent));
    callback_task_clear(&t);
    return rc ? rc : mine;
}

/* The queue walk of NextCallback: the first task nobody else holds whose caller's number we
 * know, and why the others were passed over. */
typedef struct queue_walk {
    callback_t *self;
    MDB_txn *txn;
    const char *agent;
    int64_t now;
    unsigned held, no_contact, person_busy;
    task_t found; /* when have: cleared by the caller */
    bool have;
} queue_walk_t;

static int queue_visit(void *ctx, const store_entry_t *e)
{
    queue_walk_t *w = ctx;
    task_t t;
    int rc = callback_task_load_indexed(w->self, w->txn, &e->key, QUEUE_KEY_PREFIX, &t);
    if (rc)
        return rc;
    if (held_by_other(&t, w->agent, w->now)) {
        w->held++;
        callback_task_clear(&t);
        return 0;
    }
    MDB_val cv;
    rc = store_get(w->txn, w->self->contacts, t.ticket_id, strlen(t.ticket_id), &cv);
    bool busy = false;
    if (rc == 0)
        rc = callback_person_held(w->self, w->txn, t.ticket_id, w->agent, w->now, &busy);
    if (rc == 0 && busy) { /* another agent is on the phone with this person */
        w->person_busy++;
        callback_task_clear(&t);
        return 0;
    }
    if (rc == 0) {
        w->found = t; /* kept: cleared after hand_out */
        w->have = true;
        return 1;
    }
    if (rc == HL_ENOTFOUND) {
        w->no_contact++; /* the intake feed has not brought it yet */
        rc = 0;
    }
    callback_task_clear(&t);
    return rc;
}

/* Nothing to hand out: say why, and when the next task falls due. */
static int refuse_none_due(callback_t *self, MDB_txn *txn, const queue_walk_t *w,
                           cmd_reply_t *reply)
{
    uint64_t later = 0;
    int64_t next_ms = 0;
    int rc = scheduler_count(self->sched, txn, &later);
    if (!rc && later)
        rc = scheduler_next(self->sched, txn, &next_ms);
    if (rc)
        return rc;
    char when[64] = "";
    if (later) {
        char local[48];
        calendar_format_local(self->cal, next_ms, local, sizeof local);
        snprintf(when, sizeof when, ", the next at %s", local);
    }
    return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "",
                      "no callbacks waiting (%u held by other agents, %u for a caller another "
                      "agent is calling, %u waiting for the caller's contact from intake; %llu "
                      "not yet due%s)",
                      w->held, w->person_busy, w->no_contact, (unsigned long long)later, when);
}

static int next_callback(callback_t *self, MDB_txn *txn, const Hotline__NextCallback *nc,
                         cmd_reply_t *reply)
{
    const char *agent = nc->agent;
    if (!callback_id_ok(agent))
        return refuse_agent(reply);
    int64_t now = hclock_now_ms(self->clock);
    int rc = own_claim(self, txn, agent, now, reply);
    if (rc)
        return rc < 0 ? rc : 0;

    /* The due queue, by priority then earliest due: only tasks whose instant has come are in
     * it. */
    queue_walk_t w = {.self = self, .txn = txn, .agent = agent, .now = now};
    rc = store_scan(txn, self->queue, NULL, queue_visit, &w);
    if (rc) {
        if (w.have)
            callback_task_clear(&w.found);
        return rc;
    }
    if (!w.have)
        return refuse_none_due(self, txn, &w, reply);
    rc = hand_out(self, txn, &w.found, agent, now, reply);
    callback_task_clear(&w.found);
    return rc;
}

/* ---- RecordCallback ---- */

static int check_record(const Hotline__RecordCallback *rec, cmd_reply_t *reply)
{
    if (!callback_id_ok(rec->ticket_id))
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "ticketId",
                          "the ticket id is required (as quoted to the citizen, e.g. "
                          "20261125-1-000123), at most %d characters",
                          CALLBACK_ID_MAX);
    if (!callback_id_ok(rec->agent))
        return refuse_agent(reply);
    if (rec->outcome != HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED &&
        rec->outcome != HOTLINE__CALLBACK_OUTCOME__CALLBACK_UNREACHABLE)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "outcome",
                          "say how the call went: one of %s", OUTCOMES);
    if (rec->outcome == HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED &&
        (rec->rating < HOTLINE__RATING__RATING_VERY_SATISFIED ||
         rec->rating > HOTLINE__RATING__RATING_VERY_DISSATISFIED))
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "rating",
                          "a CALLBACK_RATED call needs the citizen's rating: one of %s", RATINGS);
    if (rec->outcome == HOTLINE__CALLBACK_OUTCOME__CALLBACK_UNREACHABLE &&
        rec->rating != HOTLINE__RATING__RATING_UNSPECIFIED)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "rating",
                          "a CALLBACK_UNREACHABLE call has no rating: leave rating out, or "
                          "use outcome CALLBACK_RATED");
    return callback_check_comment(rec->comment, reply);
}

int callback_check_comment(const char *comment, cmd_reply_t *reply)
{
    long chars = utf8_chars(comment ? comment : "");
    if (chars < 0)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "comment", "must be valid UTF-8");
    if (chars > CALLBACK_COMMENT_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "comment",
                          "at most %d characters (got %ld): shorten it", CALLBACK_COMMENT_MAX,
                          chars);
    return 1; /* valid */
}

/* The ticket has no pending task: say whether it never had one or is done. */
static int refuse_no_task(callback_t *self, MDB_txn *txn, const char *id, cmd_reply_t *reply)
{
    task_t t;
    char lead[CALLBACK_ID_MAX + 1];
    int rc = callback_incident_covered_by(self, txn, id, lead);
    if (rc == 0)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                          "ticket %s is covered by the call about ticket %s (the same caller, "
                          "the same incident): record that one; it settles both",
                          id, lead);
    if (rc != HL_ENOTFOUND)
        return rc;
    rc = callback_task_latest(self, txn, id, &t);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "ticketId",
                          "no callback is scheduled for ticket %s: it is scheduled when the "
                          "unit replies (check the ticket id)",
                          id);
    if (rc)
        return rc;
    if (t.state == TASK_CANCELLED)
        rc = cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                        "the callback of ticket %s (round %u) was cancelled (%s): the next "
                        "one is scheduled when the unit replies again",
                        id, (unsigned)t.round, t.note);
    else
        rc = cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                        "the callback of ticket %s (round %u) is already recorded: %s", id,
                        (unsigned)t.round, t.note[0] ? t.note : "done");
    callback_task_clear(&t);
    return rc;
}

int callback_record_rated(callback_t *self, MDB_txn *txn, task_t *t,
                          const Hotline__RecordCallback *rec, Hotline__RecordCallbackResult *res)
{
    bool satisfied = callback_rating_satisfied(rec->rating, self->cfg.basically_satisfied_counts);
    Hotline__CallbackRated cr = HOTLINE__CALLBACK_RATED__INIT;
    cr.rating = rec->rating;
    cr.resolved = rec->resolved;
    cr.comment = rec->comment;
    cr.satisfied = satisfied;
    cr.agent = rec->agent;
    cr.round = t->round;
    cr.unit = t->unit;
    int rc =
        callback_event_append(self, txn, t->ticket_id, HOTLINE__EVENT__BODY_CALLBACK_RATED, &cr);
    if (rc)
        return rc;
    char why[96];
    if (satisfied) {
        Hotline__TicketClosed tc = HOTLINE__TICKET_CLOSED__INIT;
        tc.reason = "rated satisfied";
        tc.rating = rec->rating;
        rc =
            callback_event_append(self, txn, t->ticket_id, HOTLINE__EVENT__BODY_TICKET_CLOSED, &tc);
        if (!rc) /* the caller's other tickets of the incident, settled by this one call */
            rc = callback_incident_settle(self, txn, t, &cr, &tc, NULL);
        snprintf(why, sizeof why, "rated %s: closed", callback_rating_words(rec->rating));
        res->status = HOTLINE__TICKET_STATUS__TICKET_CLOSED;
    } else {
        /* Dispatch turns this into the rework round; a second unsatisfied result (this was
         * already a rework round) also goes to supervision (docs/domain.md). */
        char reason[64];
        snprintf(reason, sizeof reason, "rated %s at callback", callback_rating_words(rec->rating));
        Hotline__ReworkRequested rw = HOTLINE__REWORK_REQUESTED__INIT;
        rw.round = t->round;
        rw.unit = t->unit;
        rw.reason = reason;
        rc = callback_event_append(self, txn, t->ticket_id, HOTLINE__EVENT__BODY_REWORK_REQUESTED,
                                   &rw);
        if (!rc && t->round >= 1) {
            char sreason[96];
            snprintf(sreason, sizeof sreason, "rated %s again after rework round %u",
                     callback_rating_words(rec->rating), (unsigned)t->round);
            Hotline__SupervisionRequested sv = HOTLINE__SUPERVISION_REQUESTED__INIT;
            sv.round = t->round;
            sv.unit = t->unit;
            sv.reason = sreason;
            sv.unsatisfied = t->round + 1; /* every round before this one was sent back too */
            sv.rating = rec->rating;
            rc = callback_event_append(self, txn, t->ticket_id,
                                       HOTLINE__EVENT__BODY_SUPERVISION_REQUESTED, &sv);
        }
        if (!rc)
            rc = callback_incident_settle(self, txn, t, &cr, NULL, reason);
        snprintf(why, sizeof why, "rated %s: rework requested", callback_rating_words(rec->rating));
        res->status = HOTLINE__TICKET_STATUS__TICKET_REWORK;
    }
    if (rc)
        return rc;
    t->outcome = HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED;
    t->rating = (uint8_t)rec->rating;
    t->rated_resolved = rec->resolved;
    t->satisfied = satisfied;
    t->attempts++;
    if ((rc = callback_task_set(&t->comment, rec->comment)) ||
        (rc = callback_task_set(&t->agent, rec->agent)) ||
        (rc = callback_fatigue_note_call(self, txn, t)))
        return rc;
    return callback_task_finish(self, txn, t, TASK_DONE, why);
}

static int record_unreachable(callback_t *self, MDB_txn *txn, task_t *t,
                              const Hotline__RecordCallback *rec,
                              Hotline__RecordCallbackResult *res, int64_t now)
{
    t->attempts++;
    t->outcome = HOTLINE__CALLBACK_OUTCOME__CALLBACK_UNREACHABLE;
    bool again = t->attempts < self->cfg.max_attempts;
    Hotline__CallbackAttempted ca = HOTLINE__CALLBACK_ATTEMPTED__INIT;
    ca.attempt = t->attempts;
    ca.agent = rec->agent;
    ca.next_due_ms = again ? now + (int64_t)self->cfg.retry_minutes * 60000 : 0;
    int rc = callback_event_append(self, txn, t->ticket_id, HOTLINE__EVENT__BODY_CALLBACK_ATTEMPTED,
                                   &ca);
    if (!rc)
        rc = callback_task_set(&t->agent, rec->agent);
    if (!rc)
        rc = callback_task_set(&t->comment, rec->comment);
    if (rc)
        return rc;
    if (again) {
        /* Back on the scheduler until the retry time, then in the queue for any agent. */
        uint8_t old_state = t->state;
        int64_t old_due = t->due_ms;
        if ((rc = callback_claim_release(self, txn, t)))
            return rc;
        t->due_ms = ca.next_due_ms;
        res->status = HOTLINE__TICKET_STATUS__TICKET_REPLIED;
        res->next_due_ms = t->due_ms;
        return callback_task_save(self, txn, old_state, old_due, t);
    }
    char reason[64];
    snprintf(reason, sizeof reason, "unreachable after %u attempts", (unsigned)t->attempts);
    bool surveyed; /* survey.mode fallback: the gateway asks instead */
    if ((rc = callback_survey_unreachable(self, txn, t, reason, &surveyed)) || surveyed) {
        res->status = HOTLINE__TICKET_STATUS__TICKET_REPLIED;
        return rc;
    }
    res->status = HOTLINE__TICKET_STATUS__TICKET_CLOSED;
    return callback_close_unreached(self, txn, t, reason);
}

int callback_close_unreached(callback_t *self, MDB_txn *txn, task_t *t, const char *reason)
{
    Hotline__TicketClosed tc = HOTLINE__TICKET_CLOSED__INIT;
    tc.reason = (char *)reason;
    int rc =
        callback_event_append(self, txn, t->ticket_id, HOTLINE__EVENT__BODY_TICKET_CLOSED, &tc);
    if (!rc)
        rc = callback_incident_settle(self, txn, t, NULL, &tc, NULL);
    return rc ? rc : callback_task_finish(self, txn, t, TASK_DONE, reason);
}

static int record_callback(callback_t *self, MDB_txn *txn, const Hotline__RecordCallback *rec,
                           cmd_reply_t *reply)
{
    int rc = check_record(rec, reply);
    if (rc <= 0)
        return rc;
    const char *id = rec->ticket_id;
    uint32_t round;
    rc = callback_task_pending_round(self, txn, id, &round);
    if (rc == HL_ENOTFOUND)
        return refuse_no_task(self, txn, id, reply);
    if (rc)
        return rc;
    task_t t;
    if ((rc = callback_task_load(self, txn, id, round, &t)))
        return rc;
    if (t.state == TASK_SURVEY) {
        rc = callback_survey_refuse_record(self, txn, &t, reply);
        callback_task_clear(&t);
        return rc;
    }
    int64_t now = hclock_now_ms(self->clock);
    if (held_by_other(&t, rec->agent, now)) {
        char until[48];
        calendar_format_local(self->cal, t.claim_until_ms, until, sizeof until);
        rc = cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "agent",
                        "another agent is calling ticket %s (claimed until %s): only that "
                        "agent can record it until then",
                        id, until);
        callback_task_clear(&t);
        return rc;
    }
    /* A rating is recorded only on a call the agent took from the queue: no rating before
     * the callback is due, none made up for a task nobody called. */
    if (strcmp(t.claim_agent, rec->agent) != 0 || t.claim_until_ms <= now) {
        rc = cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "ticketId",
                        "the callback of ticket %s is not claimed by agent %s%s: take it "
                        "from the queue first (POST /v1/callbacks/next, `hotline callback "
                        "next`), then record the call",
                        id, rec->agent,
                        strcmp(t.claim_agent, rec->agent) == 0 ? " any more (the claim lapsed)"
                                                               : "");
        callback_task_clear(&t);
        return rc;
    }
    Hotline__RecordCallbackResult *res = arena_alloc(reply->arena, sizeof *res);
    if (!res) {
        callback_task_clear(&t);
        return HL_ENOMEM;
    }
    hotline__record_callback_result__init(res);
    res->ticket_id = arena_strdup(reply->arena, id);
    rc = rec->outcome == HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED
             ? callback_record_rated(self, txn, &t, rec, res)
             : record_unreachable(self, txn, &t, rec, res, now);
    if (!rc && !res->ticket_id)
        rc = HL_ENOMEM;
    if (!rc) {
        reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_RECORD_CALLBACK;
        reply->msg->record_callback = res;
        SLOG_DEBUG("callback_recorded", "ticket=%s round=%u attempts=%u agent=%s note=\"%s\"", id,
                   (unsigned)t.round, (unsigned)t.attempts, rec->agent,
                   t.state == TASK_PENDING ? "retry scheduled" : t.note);
    }
    callback_task_clear(&t);
    return rc;
}

/* The agent acting: a callback agent's token names it (an agent field, when given, must say
 * the same); the field itself only when access checks are off. NULL: refused. */
static const char *acting_agent(const Hotline__Command *cmd, const char *field, cmd_reply_t *reply)
{
    const char *given = field ? field : "";
    if (!cmd->by || cmd->by->role != HOTLINE__ROLE__ROLE_CALLBACK_AGENT)
        return given;
    if (*given && strcmp(given, cmd->by->name) != 0) {
        cmd_refuse(reply, HOTLINE__STATUS__FORBIDDEN, "agent",
                   "your token is agent %s's, not %.64s: leave agent out, or use that "
                   "agent's token",
                   cmd->by->name, given);
        return NULL;
    }
    return cmd->by->name;
}

int callback_command(void *ctx, MDB_txn *txn, const Hotline__Command *cmd, cmd_reply_t *reply)
{
    callback_t *self = ctx;
    switch (cmd->body_case) {
    case HOTLINE__COMMAND__BODY_NEXT_CALLBACK: {
        Hotline__NextCallback nc = *cmd->next_callback;
        nc.agent = (char *)acting_agent(cmd, nc.agent, reply);
        return nc.agent ? next_callback(self, txn, &nc, reply) : 0;
    }
    case HOTLINE__COMMAND__BODY_RECORD_CALLBACK: {
        Hotline__RecordCallback rc = *cmd->record_callback;
        rc.agent = (char *)acting_agent(cmd, rc.agent, reply);
        return rc.agent ? record_callback(self, txn, &rc, reply) : 0;
    }
    case HOTLINE__COMMAND__BODY_PROMISE_CALLBACK:
        return callback_promise_command(self, txn, cmd->promise_callback,
                                        cmd->by && *cmd->by->name ? cmd->by->name : cmd->actor,
                                        reply);
    case HOTLINE__COMMAND__BODY_FILE_APPEAL:
    case HOTLINE__COMMAND__BODY_REVIEW_APPEAL: return callback_appeal_command(self, txn, cmd, reply);
    case HOTLINE__COMMAND__BODY_ANSWER_SURVEY:
        return callback_survey_answer(self, txn, cmd->answer_survey, reply);
    default:
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "body",
                          "the callback service takes nextCallback, recordCallback, "
                          "promiseCallback, fileAppeal, reviewAppeal and answerSurvey; send "
                          "other commands to the service that owns them");
    }
}
