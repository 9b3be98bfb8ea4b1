/* sla_views: the JSON views of GET /v1/clocks/{id} and GET /v1/due. Read transactions only. */
#include "sla_record.h"

#include "bytes.h"
#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *ms_string(int64_t ms)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)ms);
    return json_string(b);
}

static void add_time(sla_t *self, json_t *o, const char *name, int64_t ms)
{
    char key[32], local[48];
    snprintf(key, sizeof key, "%sMs", name);
    json_object_set_new(o, key, ms_string(ms));
    calendar_format_local(self->cal, ms, local, sizeof local);
    snprintf(key, sizeof key, "%sLocal", name);
    json_object_set_new(o, key, json_string(local));
}

static json_t *clock_json(sla_t *self, const sla_clock_t *c)
{
    char limit[sizeof c->limit];
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "clock",
                          sla_clock_name(c->clock), "round", (int)c->round, "policy", c->policy,
                          "limit", sla_limit_text(c, limit, sizeof limit), "unit", c->unit, "categoryCode", c->category,
                          "running", !c->stopped, "warned", c->warned, "breached", c->breached);
    add_time(self, o, "started", c->start_ms);
    add_time(self, o, "due", c->due_ms);
    if (c->warn_ms)
        add_time(self, o, "warn", c->warn_ms);
    /* The ladder: each step's instant and whether it was given, in firing order. */
    json_t *ladder = json_array();
    static const int order[] = {SLA_STEP_REMIND, SLA_STEP_WARN, SLA_STEP_BREACH, SLA_STEP_RED,
                                SLA_STEP_SUPERVISE};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        int64_t at = sla_step_at(c, order[i]);
        if (!at)
            continue;
        const ProtobufCEnumValue *k =
            protobuf_c_enum_descriptor_get_value(&hotline__sla_step__descriptor,
                                                 (int)sla_step_kind(order[i]));
        json_t *s = json_pack("{s:s, s:s, s:b}", "step", k ? k->name : "?", "label",
                              sla_step_label(order[i]), "given", sla_step_given(c, order[i]));
        add_time(self, s, "at", at);
        json_array_append_new(ladder, s);
    }
    json_object_set_new(o, "ladder", ladder);
    json_object_set_new(o, "policyVersion", json_integer(c->policy_version));
    if (c->paused) { /* on hold: nothing fires until it resumes */
        json_object_set_new(o, "paused", json_true());
        add_time(self, o, "paused", c->paused_ms);
    }
    if (c->stopped) {
        add_time(self, o, "stopped", c->stopped_ms);
        if (c->suspended)
            json_object_set_new(o, "suspended", json_true()); /* linked to an incident */
        else
            json_object_set_new(o, "onTime", json_boolean(c->on_time));
    }
    return o;
}

typedef struct views_walk {
    sla_t *self;
    MDB_txn *txn;
    json_t *arr;
    size_t key_len; /* clocks: the keys of this length only */
} views_walk_t;

static int clock_visit(void *ctx, const store_entry_t *e)
{
    views_walk_t *w = ctx;
    if (e->key.mv_size != w->key_len)
        return 1;
    sla_clock_t c;
    if (sla_record_decode(&e->val, &c) == 0)
        json_array_append_new(w->arr, clock_json(w->self, &c));
    return 0;
}

int sla_clocks_json(sla_t *self, MDB_txn *txn, const char *ticket_id, json_t **out)
{
    size_t tlen = strlen(ticket_id);
    if (tlen == 0 || tlen > SLA_TICKET_ID_MAX)
        return HL_ENOTFOUND;
    /* ticket \0 is the prefix of its keys */
    store_range_t r = {.prefix = ticket_id, .prefix_len = tlen + 1};
    views_walk_t w = {self, txn, json_array(), tlen + 6};
    /* Older rounds (and the releases before) in sla_clocks, then the latest round's clocks in
     * the ticket record: by round, then clock. */
    int rc = store_scan(txn, self->clocks, &r, clock_visit, &w);
    sla_round_t latest;
    if (!rc)
        rc = sla_round_load(self, txn, ticket_id, UINT32_MAX, &latest);
    if (!rc && latest.v3)
        for (size_t i = 0; i < latest.t.n; i++)
            json_array_append_new(w.arr, clock_json(self, &latest.t.c[i]));
    if (!rc && json_array_size(w.arr) == 0)
        rc = HL_ENOTFOUND;
    if (rc) {
        json_decref(w.arr);
        return rc;
    }
    *out = json_pack("{s:s, s:o}", "ticketId", ticket_id, "clocks", w.arr);
    /* A linked ticket names the incident whose clock it follows (sla_incident.c). */
    rc = sla_incident_clocks_json(self, txn, ticket_id, *out);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- GET /v1/due ---- */

/* A running clock due before the view's bound, by (due, ticket, round, clock): the order of
 * sla_due's keys when each clock had one. */
typedef struct due_item {
    int64_t due_ms;
    uint32_t round;
    uint8_t clock;
    char ticket[SLA_TICKET_ID_MAX + 1];
} due_item_t;

static int item_cmp(const due_item_t *a, const due_item_t *b)
{
    if (a->due_ms != b->due_ms)
        return a->due_ms < b->due_ms ? -1 : 1;
    int c = strcmp(a->ticket, b->ticket);
    if (c)
        return c;
    if (a->round != b->round)
        return a->round < b->round ? -1 : 1;
    return (int)a->clock - (int)b->clock;
}

/* sla_due holds a key per round (its earliest due) and, from the releases before, per clock:
 * a round's other clocks are due later than its key, so they wait in a min-heap until the scan
 * has passed them. */
typedef struct due_walk {
    sla_t *self;
    MDB_txn *txn;
    json_t *arr;
    int64_t before_ms;
    unsigned limit;
    bool more, done;
    int rc;
    due_item_t *heap;
    size_t n, cap;
} due_walk_t;

static int heap_push(due_walk_t *w, const due_item_t *it)
{
    if (array_reserve(&w->heap, &w->cap, w->n + 1, sizeof *w->heap))
        return HL_ENOMEM;
    size_t i = w->n++;
    for (; i > 0 && item_cmp(it, &w->heap[(i - 1) / 2]) < 0; i = (i - 1) / 2)
        w->heap[i] = w->heap[(i - 1) / 2];
    w->heap[i] = *it;
    return 0;
}

static void heap_pop(due_walk_t *w, due_item_t *out)
{
    *out = w->heap[0];
    due_item_t last = w->heap[--w->n];
    size_t i = 0;
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= w->n)
            break;
        if (k + 1 < w->n && item_cmp(&w->heap[k + 1], &w->heap[k]) < 0)
            k++;
        if (item_cmp(&w->heap[k], &last) >= 0)
            break;
        w->heap[i] = w->heap[k];
        i = k;
    }
    if (w->n)
        w->heap[i] = last;
}

/* The clocks waiting that come before upto (NULL: all), into the answer until it is full. */
static void emit_upto(due_walk_t *w, const due_item_t *upto)
{
    while (!w->done && w->n && (!upto || item_cmp(&w->heap[0], upto) < 0)) {
        if (json_array_size(w->arr) == w->limit) {
            w->more = true;
            w->done = true;
            return;
        }
        due_item_t it;
        heap_pop(w, &it);
        sla_clock_t c;
        if (sla_clock_get(w->self, w->txn, it.ticket, it.round, (Hotline__SlaClock)it.clock,
                          &c) == 0) {
            json_t *o = clock_json(w->self, &c);
            json_object_set_new(o, "ticketId", json_string(it.ticket));
            json_array_append_new(w->arr, o);
        }
    }
}

static int due_visit(void *ctx, const store_entry_t *e)
{
    due_walk_t *w = ctx;
    const MDB_val *k = &e->key;
    if (k->mv_size < 8 || (int64_t)store_be64_get(k->mv_data) >= w->before_ms)
        return 1;
    const uint8_t *p = (const uint8_t *)k->mv_data + 8;
    const uint8_t *nul = memchr(p, 0, k->mv_size - 8);
    size_t tlen = nul ? (size_t)(nul - p) : 0;
    size_t tail = nul ? k->mv_size - 8 - tlen - 1 : 0;
    if (!tlen || tlen > SLA_TICKET_ID_MAX || (tail != 4 && tail != 5))
        return 0;
    due_item_t it = {.due_ms = (int64_t)store_be64_get(k->mv_data), .round = sla_be32(p + tlen + 1),
                     .clock = tail == 5 ? p[tlen + 5] : 0};
    memcpy(it.ticket, p, tlen);
    it.ticket[tlen] = '\0';
    emit_upto(w, &it);
    if (w->done)
        return 1;
    if (tail == 5) /* a clock of the releases before */
        return (w->rc = heap_push(w, &it)) ? 1 : 0;
    sla_round_t r;
    int rc = sla_round_load(w->self, w->txn, it.ticket, it.round, &r);
    if (rc == HL_ECORRUPT) { /* a damaged record: the others are still shown */
        SLOG_WARN("sla_due_skipped", "ticket=%s round=%u reason=\"%s\"", it.ticket, it.round,
                  hl_strerror(rc));
        return 0;
    }
    if ((w->rc = rc))
        return 1;
    for (size_t i = 0; i < r.n; i++) {
        it.due_ms = sla_clock_due_at(&r.c[i]);
        it.clock = (uint8_t)r.c[i].clock;
        if (it.due_ms && it.due_ms < w->before_ms && (w->rc = heap_push(w, &it)))
            return 1;
    }
    return 0;
}

int sla_due_json(sla_t *self, MDB_txn *txn, int64_t before_ms, unsigned limit, json_t **out)
{
    due_walk_t w = {self, txn, json_array(), before_ms, limit, false, false, 0, NULL, 0, 0};
    int rc = store_scan(txn, self->due, NULL, due_visit, &w);
    if (!rc)
        rc = w.rc;
    if (!rc)
        emit_upto(&w, NULL);
    free(w.heap);
    if (rc) {
        json_decref(w.arr);
        return rc;
    }
    json_t *before = ms_string(before_ms);
    *out = json_pack("{s:o, s:o, s:b}", "beforeMs", before, "clocks", w.arr, "more", w.more);
    return 0;
}
