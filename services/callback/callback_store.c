/* callback_store: the task record, its indexes, agents' claims and callers' contacts in the
 * service's LMDB (layout in callback_internal.h). Every function works inside the caller's
 * transaction; nothing is kept in memory. Loop thread.
 *
 * Task record, version 2 (all integers big-endian):
 *   u8 version, u8 state, u8 outcome, u8 rating, u8 flags (1 unit resolved, 2 rated resolved,
 *   4 satisfied, 8 replied by an incident's close), u32 round, u32 attempts, i64 replied_ms,
 *   due_ms, claim_until_ms, done_ms, then u8 priority, i64 promised_ms, then eight strings,
 *   each u32 length + bytes: unit, reply_text, claim_agent, agent, comment, note, promised_by,
 *   promise_note. The round is repeated from the key so a record can be checked against it.
 * Version 1 (before priorities and promises) lacks the priority, promised_ms and the last two
 * strings: it is read as an ordinary task with no promise, and written back as version 2. */
#include "callback_survey.h"

#include "hl_error.h"
#include "phone.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 2
#define RECORD_FIXED_V1 (5 + 4 + 4 + 8 * 4)
#define RECORD_FIXED (RECORD_FIXED_V1 + 1 + 8)
#define RECORD_STRINGS 8
#define RECORD_STRINGS_V1 6
#define FLAG_UNIT_RESOLVED 1u
#define FLAG_RATED_RESOLVED 2u
#define FLAG_SATISFIED 4u
#define FLAG_INCIDENT 8u

bool callback_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > CALLBACK_ID_MAX || s[0] == ' ' || s[n - 1] == ' ' || !utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int callback_task_set(char **field, const char *s)
{
    char *copy = strdup(s ? s : "");
    if (!copy)
        return HL_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

/* The task's strings in record order. */
static void task_strings(task_t *t, char **out[RECORD_STRINGS])
{
    char **s[RECORD_STRINGS] = {&t->unit,    &t->reply_text, &t->claim_agent, &t->agent,
                                &t->comment, &t->note,       &t->promised_by, &t->promise_note};
    memcpy(out, s, sizeof s);
}

int callback_task_init(task_t *t, const char *ticket_id, uint32_t round)
{
    memset(t, 0, sizeof *t);
    snprintf(t->ticket_id, sizeof t->ticket_id, "%s", ticket_id);
    t->round = round;
    t->prio = PRIO_ORDINARY;
    char **s[RECORD_STRINGS];
    task_strings(t, s);
    for (size_t i = 0; i < RECORD_STRINGS; i++) {
        if (callback_task_set(s[i], "")) {
            callback_task_clear(t);
            return HL_ENOMEM;
        }
    }
    return 0;
}

void callback_task_clear(task_t *t)
{
    char **s[RECORD_STRINGS];
    task_strings(t, s);
    for (size_t i = 0; i < RECORD_STRINGS; i++)
        free(*s[i]);
    memset(t, 0, sizeof *t);
}

bool callback_task_closed_ticket(const task_t *t)
{
    return t->state == TASK_SKIPPED ||
           (t->state == TASK_DONE &&
            (t->outcome != HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED || t->satisfied));
}

size_t callback_task_key(uint8_t key[TASK_KEY_MAX], const char *ticket_id, uint32_t round)
{
    size_t n = strlen(ticket_id);
    memcpy(key, ticket_id, n);
    key[n] = 0;
    key[n + 1] = (uint8_t)(round >> 24);
    key[n + 2] = (uint8_t)(round >> 16);
    key[n + 3] = (uint8_t)(round >> 8);
    key[n + 4] = (uint8_t)round;
    return n + 5;
}

int callback_task_key_parse(const uint8_t *key, size_t len, char ticket_id[CALLBACK_ID_MAX + 1],
                            uint32_t *round)
{
    if (len < 6 || len > TASK_KEY_MAX || key[len - 5] != 0 || memchr(key, 0, len - 5))
        return HL_ECORRUPT;
    memcpy(ticket_id, key, len - 5);
    ticket_id[len - 5] = '\0';
    const uint8_t *r = key + len - 4;
    *round = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
    return 0;
}

/* ---- record encoding ---- */

static void put32(uint8_t **p, uint32_t v)
{
    (*p)[0] = (uint8_t)(v >> 24);
    (*p)[1] = (uint8_t)(v >> 16);
    (*p)[2] = (uint8_t)(v >> 8);
    (*p)[3] = (uint8_t)v;
    *p += 4;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64(uint8_t **p, int64_t v)
{
    store_be64_put(*p, (uint64_t)v);
    *p += 8;
}

static void put_str(uint8_t **p, const char *s)
{
    size_t n = strlen(s);
    put32(p, (uint32_t)n);
    memcpy(*p, s, n);
    *p += n;
}

static int encode(const task_t *t, uint8_t **out, size_t *len)
{
    char **strs[RECORD_STRINGS];
    task_strings((task_t *)t, strs); /* only read here */
    size_t n = RECORD_FIXED;
    for (size_t i = 0; i < RECORD_STRINGS; i++)
        n += 4 + strlen(*strs[i]);
    uint8_t *buf = malloc(n), *p = buf;
    if (!buf)
        return HL_ENOMEM;
    *p++ = RECORD_VERSION;
    *p++ = t->state;
    *p++ = t->outcome;
    *p++ = t->rating;
    *p++ = (uint8_t)((t->unit_resolved ? FLAG_UNIT_RESOLVED : 0) |
                     (t->rated_resolved ? FLAG_RATED_RESOLVED : 0) |
                     (t->satisfied ? FLAG_SATISFIED : 0) | (t->incident ? FLAG_INCIDENT : 0));
    put32(&p, t->round);
    put32(&p, t->attempts);
    put64(&p, t->replied_ms);
    put64(&p, t->due_ms);
    put64(&p, t->claim_until_ms);
    put64(&p, t->done_ms);
    *p++ = t->prio;
    put64(&p, t->promised_ms);
    for (size_t i = 0; i < RECORD_STRINGS; i++)
        put_str(&p, *strs[i]);
    *out = buf;
    *len = n;
    return 0;
}

static int decode(const uint8_t *p, size_t len, task_t *t)
{
    bool v1 = len >= 1 && p[0] == 1;
    size_t fixed = v1 ? RECORD_FIXED_V1 : RECORD_FIXED,
           nstrs = v1 ? RECORD_STRINGS_V1 : RECORD_STRINGS;
    if (len < fixed || (!v1 && p[0] != RECORD_VERSION) || p[1] < TASK_PENDING ||
        (p[1] > TASK_SKIPPED && p[1] != TASK_SURVEY) || get32(p + 5) != t->round)
        return HL_ECORRUPT;
    t->state = p[1];
    t->outcome = p[2];
    t->rating = p[3];
    t->unit_resolved = p[4] & FLAG_UNIT_RESOLVED;
    t->rated_resolved = p[4] & FLAG_RATED_RESOLVED;
    t->satisfied = p[4] & FLAG_SATISFIED;
    t->incident = p[4] & FLAG_INCIDENT;
    t->attempts = get32(p + 9);
    t->replied_ms = (int64_t)store_be64_get(p + 13);
    t->due_ms = (int64_t)store_be64_get(p + 21);
    t->claim_until_ms = (int64_t)store_be64_get(p + 29);
    t->done_ms = (int64_t)store_be64_get(p + 37);
    if (!v1) {
        t->prio = p[RECORD_FIXED_V1];
        t->promised_ms = (int64_t)store_be64_get(p + RECORD_FIXED_V1 + 1);
        if (t->prio > PRIO_ORDINARY)
            return HL_ECORRUPT;
    }
    char **strs[RECORD_STRINGS];
    task_strings(t, strs);
    size_t off = fixed;
    for (size_t i = 0; i < nstrs; i++) {
        if (len - off < 4)
            return HL_ECORRUPT;
        size_t n = get32(p + off);
        off += 4;
        if (len - off < n || memchr(p + off, 0, n))
            return HL_ECORRUPT;
        char *s = malloc(n + 1);
        if (!s)
            return HL_ENOMEM;
        memcpy(s, p + off, n);
        s[n] = '\0';
        free(*strs[i]);
        *strs[i] = s;
        off += n;
    }
    return off == len ? 0 : HL_ECORRUPT;
}

/* ---- tasks and their indexes ---- */

int callback_task_load(callback_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                       task_t *t)
{
    uint8_t key[TASK_KEY_MAX];
    size_t klen = callback_task_key(key, ticket_id, round);
    MDB_val v;
    int rc = store_get(txn, self->tasks, key, klen, &v);
    if (rc)
        return rc;
    rc = callback_task_init(t, ticket_id, round);
    if (rc)
        return rc;
    /* Decode (copying) before anything else writes: LMDB values are borrowed. */
    rc = decode(v.mv_data, v.mv_size, t);
    if (rc)
        callback_task_clear(t);
    return rc;
}

int callback_task_load_indexed(callback_t *self, MDB_txn *txn, const MDB_val *key, size_t prefix,
                               task_t *t)
{
    char id[CALLBACK_ID_MAX + 1];
    uint32_t round;
    if (key->mv_size < prefix || callback_task_key_parse((const uint8_t *)key->mv_data + prefix,
                                                         key->mv_size - prefix, id, &round))
        return HL_ECORRUPT;
    return callback_task_load(self, txn, id, round, t);
}

/* time (be64) + TASK_KEY: a done-list key. */
static size_t time_key(uint8_t out[DONE_KEY_PREFIX + TASK_KEY_MAX], int64_t ms, const task_t *t)
{
    store_be64_put(out, (uint64_t)(ms > 0 ? ms : 0));
    return DONE_KEY_PREFIX + callback_task_key(out + DONE_KEY_PREFIX, t->ticket_id, t->round);
}

/* priority + time (be64) + TASK_KEY: a queue key. */
static size_t queue_key(uint8_t out[QUEUE_KEY_PREFIX + TASK_KEY_MAX], int64_t ms, const task_t *t)
{
    out[0] = t->prio;
    return 1 + time_key(out + 1, ms, t);
}

static int del_quiet(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
    int rc = store_del(txn, dbi, key, klen);
    return rc == HL_ENOTFOUND ? 0 : rc;
}

int callback_task_save(callback_t *self, MDB_txn *txn, uint8_t old_state, int64_t old_due_ms,
                       const task_t *t)
{
    uint8_t key[TASK_KEY_MAX], ikey[DONE_KEY_PREFIX + TASK_KEY_MAX];
    size_t klen = callback_task_key(key, t->ticket_id, t->round), ilen;
    uint8_t *rec;
    size_t rlen;
    int rc = encode(t, &rec, &rlen);
    if (rc)
        return rc;
    rc = store_put(txn, self->tasks, key, klen, rec, rlen, 0);
    free(rec);
    if (rc)
        return rc;
    /* Out of the queue when its instant moves or it ends; off the scheduler when it ends (a
     * new instant moves its entry there). */
    bool moved = old_state != TASK_PENDING || old_due_ms != t->due_ms;
    bool ends = old_state == TASK_PENDING && t->state != TASK_PENDING;
    if (old_state == TASK_PENDING && (ends || moved) &&
        (rc = callback_queue_del(self, txn, t, old_due_ms)))
        return rc;
    if (ends && (rc = callback_sched_cancel(self, txn, t)))
        return rc;
    if (t->state == TASK_PENDING || t->state == TASK_SURVEY) {
        /* Even an instant already past goes through the scheduler: one way into the queue. A
         * survey's task waits on the survey's expiry instead (callback_survey.c). */
        if (t->state == TASK_PENDING && moved && (rc = callback_sched_put(self, txn, t)))
            return rc;
        uint8_t r[4], *p = r;
        put32(&p, t->round);
        return store_put(txn, self->pending, t->ticket_id, strlen(t->ticket_id), r, 4, 0);
    }
    if (old_state == 0 || old_state == TASK_PENDING || old_state == TASK_SURVEY) {
        ilen = time_key(ikey, t->done_ms, t);
        if ((rc = store_put(txn, self->done, ikey, ilen, "", 0, 0)))
            return rc;
    }
    /* The ticket's pending pointer goes only if it still names this round. */
    uint32_t round;
    rc = callback_task_pending_round(self, txn, t->ticket_id, &round);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    return round == t->round ? del_quiet(txn, self->pending, t->ticket_id, strlen(t->ticket_id))
                             : 0;
}

int callback_queue_put(callback_t *self, MDB_txn *txn, const task_t *t)
{
    uint8_t key[QUEUE_KEY_PREFIX + TASK_KEY_MAX];
    return store_put(txn, self->queue, key, queue_key(key, t->due_ms, t), "", 0, 0);
}

int callback_queue_del(callback_t *self, MDB_txn *txn, const task_t *t, int64_t due_ms)
{
    uint8_t key[QUEUE_KEY_PREFIX + TASK_KEY_MAX];
    return del_quiet(txn, self->queue, key, queue_key(key, due_ms, t));
}

int callback_queued(callback_t *self, MDB_txn *txn, const task_t *t)
{
    uint8_t key[QUEUE_KEY_PREFIX + TASK_KEY_MAX];
    MDB_val v;
    int rc = store_get(txn, self->queue, key, queue_key(key, t->due_ms, t), &v);
    return rc == 0 ? 1 : rc == HL_ENOTFOUND ? 0 : rc;
}

int callback_task_pending_round(callback_t *self, MDB_txn *txn, const char *ticket_id,
                                uint32_t *round)
{
    MDB_val v;
    int rc = store_get(txn, self->pending, ticket_id, strlen(ticket_id), &v);
    if (rc)
        return rc;
    if (v.mv_size != 4)
        return HL_ECORRUPT;
    *round = get32(v.mv_data);
    return 0;
}

int callback_task_latest(callback_t *self, MDB_txn *txn, const char *ticket_id, task_t *t)
{
    /* Keys of one ticket are id NUL round: the last one at or below id NUL FFFFFFFF is the
     * latest round. */
    uint8_t key[TASK_KEY_MAX];
    size_t klen = callback_task_key(key, ticket_id, UINT32_MAX);
    MDB_val k;
    int rc = store_seek(txn, self->tasks, key, klen, true, &k, NULL);
    char id[CALLBACK_ID_MAX + 1];
    uint32_t round = 0;
    if (!rc &&
        (callback_task_key_parse(k.mv_data, k.mv_size, id, &round) || strcmp(id, ticket_id) != 0))
        rc = HL_ENOTFOUND; /* the key below belongs to another ticket */
    return rc ? rc : callback_task_load(self, txn, ticket_id, round, t);
}

/* ---- claims ---- */

int callback_claim_get(callback_t *self, MDB_txn *txn, const char *agent,
                       char ticket_id[CALLBACK_ID_MAX + 1], uint32_t *round)
{
    MDB_val v;
    int rc = store_get(txn, self->claims, agent, strlen(agent), &v);
    if (rc)
        return rc;
    return callback_task_key_parse(v.mv_data, v.mv_size, ticket_id, round);
}

int callback_claim_put(callback_t *self, MDB_txn *txn, const char *agent, const task_t *t)
{
    uint8_t key[TASK_KEY_MAX];
    size_t klen = callback_task_key(key, t->ticket_id, t->round);
    return store_put(txn, self->claims, agent, strlen(agent), key, klen, 0);
}

int callback_person_key(callback_t *self, MDB_txn *txn, const char *ticket_id,
                        char out[PHONE_KEY_MAX + 1], size_t *len)
{
    *len = 0;
    Hotline__Ticket *t = NULL;
    int rc = callback_contact_get(self, txn, ticket_id, NULL, &t);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
        return 0;
    if (rc)
        return rc;
    if (t->contact && t->contact->phone && *t->contact->phone)
        *len = phone_key(t->contact->phone, out);
    hotline__ticket__free_unpacked(t, NULL);
    return 0;
}

int callback_person_put(callback_t *self, MDB_txn *txn, const char *ticket_id, const char *agent,
                        int64_t until_ms)
{
    char key[PHONE_KEY_MAX + 1];
    size_t klen;
    int rc = callback_person_key(self, txn, ticket_id, key, &klen);
    if (rc || !klen)
        return rc;
    uint8_t val[CALLBACK_ID_MAX + 1 + 8];
    size_t alen = strlen(agent);
    memcpy(val, agent, alen + 1);
    store_be64_put(val + alen + 1, (uint64_t)until_ms);
    return store_put(txn, self->persons, key, klen, val, alen + 1 + 8, 0);
}

/* The agent holding key's person and until when; HL_ENOTFOUND when nobody. */
static int person_get(callback_t *self, MDB_txn *txn, const char *key, size_t klen,
                      const char **agent, int64_t *until)
{
    MDB_val v;
    int rc = store_get(txn, self->persons, key, klen, &v);
    if (rc)
        return rc;
    const char *p = v.mv_data;
    const char *nul = v.mv_size > 8 ? memchr(p, 0, v.mv_size - 8) : NULL;
    if (!nul || (size_t)(nul - p) + 1 + 8 != v.mv_size)
        return HL_ECORRUPT;
    *agent = p;
    *until = (int64_t)store_be64_get(nul + 1);
    return 0;
}

int callback_person_held(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         const char *agent, int64_t now, bool *held)
{
    *held = false;
    char key[PHONE_KEY_MAX + 1];
    size_t klen;
    int rc = callback_person_key(self, txn, ticket_id, key, &klen);
    if (rc || !klen)
        return rc;
    const char *who;
    int64_t until;
    rc = person_get(self, txn, key, klen, &who, &until);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
        return 0;
    if (rc)
        return rc;
    *held = until > now && strcmp(who, agent) != 0;
    return 0;
}

int callback_person_drop(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         const char *agent)
{
    char key[PHONE_KEY_MAX + 1];
    size_t klen;
    int rc = callback_person_key(self, txn, ticket_id, key, &klen);
    if (rc || !klen || !agent || !*agent)
        return rc;
    const char *who;
    int64_t until;
    rc = person_get(self, txn, key, klen, &who, &until);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc == 0 && strcmp(who, agent) != 0)
        return 0; /* another agent's call: theirs to end */
    return del_quiet(txn, self->persons, key, klen);
}

int callback_claim_drop(callback_t *self, MDB_txn *txn, const char *agent, const task_t *t)
{
    if (!agent || !*agent)
        return 0;
    int prc = callback_person_drop(self, txn, t->ticket_id, agent);
    if (prc)
        return prc;
    char id[CALLBACK_ID_MAX + 1];
    uint32_t round;
    int rc = callback_claim_get(self, txn, agent, id, &round);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc && rc != HL_ECORRUPT)
        return rc;
    if (rc == 0 && (round != t->round || strcmp(id, t->ticket_id) != 0))
        return 0;
    return del_quiet(txn, self->claims, agent, strlen(agent));
}

/* ---- events ---- */

int callback_event_append(callback_t *self, MDB_txn *txn, const char *ticket_id,
                          Hotline__Event__BodyCase body_case, void *body)
{
    Hotline__Event ev;
    int rc = evlog_event_init(&ev, ticket_id, body_case, body);
    return rc ? rc : callback_emit(self, txn, &ev);
}

/* ---- contacts ---- */

int callback_contact_get(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         ProtobufCAllocator *alloc, Hotline__Ticket **out)
{
    MDB_val v;
    int rc = store_get(txn, self->contacts, ticket_id, strlen(ticket_id), &v);
    if (rc)
        return rc;
    *out = hotline__ticket__unpack(alloc, v.mv_size, v.mv_data);
    return *out ? 0 : HL_ECORRUPT;
}

int callback_contact_put(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         const Hotline__Ticket *ticket)
{
    /* Only what the agent needs to call and the queue to order the call: the rest of the
     * ticket stays with intake. */
    Hotline__Ticket keep = HOTLINE__TICKET__INIT;
    keep.id = (char *)ticket_id;
    keep.contact = ticket->contact;
    keep.confidential = ticket->confidential;
    keep.received_ms = ticket->received_ms;
    keep.vulnerable_caller = ticket->vulnerable_caller;
    keep.incident_id = ticket->incident_id;
    size_t len = hotline__ticket__get_packed_size(&keep);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return HL_ENOMEM;
    hotline__ticket__pack(&keep, buf);
    int rc = store_put(txn, self->contacts, ticket_id, strlen(ticket_id), buf, len, 0);
    free(buf);
    return rc;
}

int callback_claim_release(callback_t *self, MDB_txn *txn, task_t *t)
{
    int rc = callback_claim_drop(self, txn, t->claim_agent, t);
    if (!rc)
        rc = callback_task_set(&t->claim_agent, "");
    if (!rc)
        t->claim_until_ms = 0;
    return rc;
}

int callback_task_finish(callback_t *self, MDB_txn *txn, task_t *t, uint8_t state, const char *note)
{
    uint8_t old_state = t->state;
    int64_t old_due = t->due_ms;
    int rc = callback_claim_release(self, txn, t);
    if (!rc)
        rc = callback_task_set(&t->note, note);
    if (rc)
        return rc;
    if (old_state == TASK_SURVEY && state == TASK_CANCELLED &&
        (rc = callback_survey_withdraw(self, txn, t)))
        return rc;
    t->state = state;
    t->done_ms = state == TASK_SURVEY ? 0 : hclock_now_ms(self->clock);
    return callback_task_save(self, txn, old_state, old_due, t);
}

int callback_emit(callback_t *self, MDB_txn *txn, Hotline__Event *ev)
{
    int rc = evlog_append(self->log, txn, ev);
    if (!rc && ev->body_case == HOTLINE__EVENT__BODY_CALLBACK_RATED)
        rc = callback_rating_note(self, txn, ev->ticket_id, ev->callback_rated, ev->time_ms);
    return rc;
}
