/* callback_view: read-only JSON views of the callback queue for GET routes and tests: each
 * task's state, priority, due time and promise, its outcome once done (skipped ones with why),
 * and the count of callbacks skipped by the cap. Phone numbers are personal data: the whole
 * number goes only to the agent who is handed the task (NextCallback); every view here masks
 * it (the survey gateway gets it whole too, in its request), masks numbers in free text
 * (reply, comment, promise note, note) and leaves the name out. A task sent by survey shows
 * its survey (callback_survey_view). Loop thread. */
#include "callback_survey.h"

#include "hl_error.h"
#include "mask.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *callback_task_state_name(uint8_t state)
{
    switch (state) {
    case TASK_PENDING: return "pending";
    case TASK_DONE: return "done";
    case TASK_CANCELLED: return "cancelled";
    case TASK_SKIPPED: return "skipped";
    case TASK_SURVEY: return "survey";
    default: return "unknown";
    }
}

static const char *enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    return v ? v->name : "UNKNOWN";
}

/* 64-bit times as strings, the way proto3 JSON writes int64 everywhere else in the API. */
static void set_ms(json_t *o, const char *key, int64_t ms)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)ms);
    json_object_set_new(o, key, json_string(buf));
}

static int set_str(json_t *o, const char *key, const char *s)
{
    /* Texts from other services are not checked for UTF-8 on unpack: jansson refuses invalid
     * strings, and the view shows such a text as absent rather than failing. */
    json_t *j = json_string(s);
    return j ? json_object_set_new(o, key, j) : 0;
}

/* Free text (the unit's reply, the agent's comment) with phone numbers masked: these views
 * are for supervisors and the queue, not only for the agent who claimed the call. */
static int set_text(json_t *o, const char *key, const char *s)
{
    char *masked = mask_phones_dup(s);
    int rc = masked ? set_str(o, key, masked) : -1;
    free(masked);
    return rc;
}

static int task_json(callback_t *self, MDB_txn *txn, const task_t *t, int64_t now, json_t **out)
{
    json_t *o = json_object();
    if (!o)
        return HL_ENOMEM;
    set_str(o, "ticketId", t->ticket_id);
    json_object_set_new(o, "round", json_integer(t->round));
    set_str(o, "state", callback_task_state_name(t->state));
    set_ms(o, "dueMs", t->due_ms);
    set_str(o, "priority", callback_prio_name(t->prio));
    if (t->promised_ms) {
        set_ms(o, "promisedMs", t->promised_ms);
        set_str(o, "promisedBy", t->promised_by);
        if (t->promise_note[0])
            set_text(o, "promiseNote", t->promise_note);
    }
    if (t->state == TASK_PENDING) {
        /* due: in the queue, which is what NextCallback hands out from */
        int queued = callback_queued(self, txn, t);
        if (queued < 0) {
            json_decref(o);
            return queued;
        }
        json_object_set_new(o, "due", json_boolean(queued));
    }
    set_str(o, "unit", t->unit);
    set_text(o, "replyText", t->reply_text);
    json_object_set_new(o, "unitResolved", json_boolean(t->unit_resolved));
    json_object_set_new(o, "attempts", json_integer(t->attempts));
    set_ms(o, "repliedMs", t->replied_ms);
    if (t->state == TASK_PENDING && t->claim_until_ms > now && t->claim_agent[0]) {
        set_str(o, "claimedBy", t->claim_agent);
        set_ms(o, "claimUntilMs", t->claim_until_ms);
    }
    Hotline__Ticket *contact = NULL;
    int rc = callback_contact_get(self, txn, t->ticket_id, NULL, &contact);
    if (rc && rc != HL_ENOTFOUND) {
        json_decref(o);
        return rc;
    }
    json_object_set_new(o, "contactKnown", json_boolean(contact != NULL));
    if (contact && contact->contact && contact->contact->phone[0]) {
        char masked[64];
        mask_phone_field(contact->contact->phone, masked, sizeof masked);
        set_str(o, "phone", masked);
    }
    if (contact)
        hotline__ticket__free_unpacked(contact, NULL);
    if (t->outcome) {
        set_str(o, "outcome", enum_name(&hotline__callback_outcome__descriptor, t->outcome));
        set_str(o, "agent", t->agent);
        if (t->comment[0])
            set_text(o, "comment", t->comment);
    }
    if (t->rating) {
        set_str(o, "rating", enum_name(&hotline__rating__descriptor, t->rating));
        json_object_set_new(o, "ratedResolved", json_boolean(t->rated_resolved));
        json_object_set_new(o, "satisfied", json_boolean(t->satisfied));
    }
    if (t->state != TASK_PENDING) {
        if (t->state != TASK_SURVEY)
            set_ms(o, "doneMs", t->done_ms);
        set_text(o, "note", t->note);
    }
    rc = callback_survey_view(self, txn, t, o);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* A walk over task keys that adds each task's JSON to arr. */
typedef struct list_walk {
    callback_t *self;
    MDB_txn *txn;
    int64_t now;
    json_t *arr;
    unsigned n;     /* tasks added */
    unsigned limit; /* list_index: at most this many */
    size_t key_len; /* callback_ticket_view: the keys of this length only */
    size_t prefix;  /* index_visit: the bytes before an index key's TASK_KEY */
} list_walk_t;

static int add_task(list_walk_t *w, task_t *t)
{
    json_t *j;
    int rc = task_json(w->self, w->txn, t, w->now, &j);
    callback_task_clear(t);
    if (rc)
        return rc;
    json_array_append_new(w->arr, j);
    w->n++;
    return 0;
}

static int index_visit(void *ctx, const store_entry_t *e)
{
    list_walk_t *w = ctx;
    if (w->n == w->limit)
        return 1;
    task_t t;
    int rc = callback_task_load_indexed(w->self, w->txn, &e->key, w->prefix, &t);
    return rc ? rc : add_task(w, &t);
}

/* The ticket's pending task (pending: ticket id -> round). */
static int pending_visit(void *ctx, const store_entry_t *e)
{
    list_walk_t *w = ctx;
    if (w->n == w->limit)
        return 1;
    char id[CALLBACK_ID_MAX + 1];
    uint32_t round;
    if (e->key.mv_size > CALLBACK_ID_MAX)
        return HL_ECORRUPT;
    memcpy(id, e->key.mv_data, e->key.mv_size);
    id[e->key.mv_size] = '\0';
    int rc = callback_task_pending_round(w->self, w->txn, id, &round);
    if (rc)
        return rc;
    task_t t;
    rc = callback_task_load(w->self, w->txn, id, round, &t);
    return rc ? rc : add_task(w, &t);
}

int callback_list(callback_t *self, MDB_txn *txn, callback_list_t which, unsigned limit,
                  json_t **out)
{
    json_t *arr = json_array();
    if (!arr)
        return HL_ENOMEM;
    list_walk_t w = {self, txn, hclock_now_ms(self->clock), arr, 0, limit, 0, 0};
    /* done: latest first; due: the queue's order (priority, then due); survey: soonest expiry
     * first; pending: by ticket id (the tasks not yet due wait on the scheduler, whose order is
     * its own). */
    uint64_t skipped = 0;
    int rc;
    if (which == CALLBACK_LIST_DONE) {
        w.prefix = DONE_KEY_PREFIX;
        rc = store_scan(txn, self->done, &(store_range_t){.reverse = true}, index_visit, &w);
        if (!rc)
            rc = callback_skipped_count(self, txn, &skipped);
    } else if (which == CALLBACK_LIST_DUE) {
        w.prefix = QUEUE_KEY_PREFIX;
        rc = store_scan(txn, self->queue, NULL, index_visit, &w);
    } else if (which == CALLBACK_LIST_SURVEY) { /* soonest expiry first */
        w.prefix = DONE_KEY_PREFIX; /* the same shape: a time, then the TASK_KEY */
        rc = callback_survey_scan_open(self, txn, index_visit, &w);
    } else {
        rc = store_scan(txn, self->pending, NULL, pending_visit, &w);
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    const char *state = which == CALLBACK_LIST_DONE     ? "done"
                        : which == CALLBACK_LIST_DUE    ? "due"
                        : which == CALLBACK_LIST_SURVEY ? "survey"
                                                        : "pending";
    *out = json_pack("{s:s, s:I, s:o}", "state", state, "count", (json_int_t)json_array_size(arr),
                     "callbacks", arr);
    if (*out && which == CALLBACK_LIST_DONE)
        json_object_set_new(*out, "skippedTotal", json_integer((json_int_t)skipped));
    return *out ? 0 : HL_ENOMEM;
}

static int round_visit(void *ctx, const store_entry_t *e)
{
    list_walk_t *w = ctx;
    if (e->key.mv_size != w->key_len)
        return 1;
    char id[CALLBACK_ID_MAX + 1];
    uint32_t round;
    task_t t;
    int rc = callback_task_key_parse(e->key.mv_data, e->key.mv_size, id, &round);
    if (!rc)
        rc = callback_task_load(w->self, w->txn, id, round, &t);
    return rc ? rc : add_task(w, &t);
}

int callback_ticket_view(callback_t *self, MDB_txn *txn, const char *ticket_id, json_t **out)
{
    if (!callback_id_ok(ticket_id))
        return HL_ENOTFOUND;
    uint8_t key[TASK_KEY_MAX];
    size_t klen = callback_task_key(key, ticket_id, 0);
    /* id and its NUL: every round's key starts so. */
    store_range_t r = {.from = key, .from_len = klen, .prefix = key, .prefix_len = klen - 4};
    list_walk_t w = {self, txn, hclock_now_ms(self->clock), json_array(), 0, 0, klen, 0};
    int rc = w.arr ? store_scan(txn, self->tasks, &r, round_visit, &w) : HL_ENOMEM;
    if (!rc && json_array_size(w.arr) == 0)
        rc = HL_ENOTFOUND;
    if (rc) {
        json_decref(w.arr);
        return rc;
    }
    *out = json_pack("{s:s, s:o}", "ticketId", ticket_id, "callbacks", w.arr);
    return *out ? 0 : HL_ENOMEM;
}

int callback_pending_count(callback_t *self, MDB_txn *txn, uint64_t *out)
{
    uint64_t surveys = 0; /* the ticket's pending round, but waiting for no call */
    int rc = store_count(txn, self->pending, out);
    if (!rc)
        rc = callback_survey_open_count(self, txn, &surveys);
    *out = !rc && *out > surveys ? *out - surveys : 0;
    return rc;
}

int callback_due_count(callback_t *self, MDB_txn *txn, uint64_t *out)
{
    return store_count(txn, self->queue, out);
}
