/* evlog: append-only event log in LMDB with consumer-aware trimming. Loop thread. */
#include "evlog.h"

#include "bytes.h"
#include "evpack.h"
#include "hl_error.h"
#include "slog.h"

#include <stdlib.h>
#include <string.h>

#define EVLOG_MAX_CONSUMERS 64
#define EVLOG_HDR 8 /* append time prefix */
/* In the time prefix: the value is a reference (the ticket id after the prefix), not an
 * Event (evlog_body_by_ref). Times are positive, so old entries never have it. */
#define EVLOG_REF_BIT (UINT64_C(1) << 63)
/* In the time prefix: the Event is stored without its source, seq and time_ms (the log's
 * name, the key, the prefix): evlog_read puts them back. 17 bytes or so of every event. */
#define EVLOG_SHORT_BIT (UINT64_C(1) << 62)
/* In the time prefix: a short entry in evpack's form (the ticket id packed, texts of bounded
 * sets numbered; evpack.h), what evlog_append writes now. */
#define EVLOG_PACK_BIT (UINT64_C(1) << 61)
#define EVLOG_TIME_MASK (~(EVLOG_REF_BIT | EVLOG_SHORT_BIT | EVLOG_PACK_BIT))
#define EVLOG_REF_ID_MAX 64
/* Events put together again (evpack's and references) kept by seq for the next consumer's
 * read: each event is read by every consumer, most within moments of each other. */
#define EVLOG_CACHE_SLOTS 4096 /* a power of two */
#define EVLOG_CACHE_MAX 1024   /* larger events are put together at every read */

typedef struct consumer {
    char name[64];
    uint64_t cursor;     /* highest "after" seen */
    uint64_t persisted;  /* value in log_consumers */
} consumer_t;

struct evlog {
    store_t *store;
    hclock_t *clock;
    MDB_dbi log;          /* seq -> time + Event */
    MDB_dbi consumers_db; /* name -> cursor (8 bytes BE) */
    MDB_dbi counts_db;    /* event kind -> appended so far (8 bytes BE) */
    char *source;
    int64_t retention_ms;
    uint64_t head;        /* last committed seq */
    uint64_t first;       /* lowest retained seq */
    consumer_t consumers[EVLOG_MAX_CONSUMERS];
    size_t nconsumers;
    /* evlog_body_by_ref: the kind logged by reference, its Event field, where the record is */
    Hotline__Event__BodyCase ref_case;
    const ProtobufCFieldDescriptor *ref_field;
    MDB_dbi ref_records;
    bytebuf_t out;        /* an event put together again (evlog_read) */
    struct cached {
        uint64_t seq;     /* 0: empty */
        bytebuf_t event;
    } *cache;             /* EVLOG_CACHE_SLOTS, by seq; committed events only */
    evpack_t *pack;       /* the stored form of events */
    bytebuf_t packed;  /* an event being appended, then its stored form */
    bytebuf_t stored;
    /* Kinds appended in the open transaction, by seq, counted at its commit (flush_counts) */
    struct appended {
        uint64_t seq;
        const char *kind;
    } *appended;
    size_t nappended, appended_cap;
};

struct kind_sum {
    const char *kind;
    int64_t n;
};

static int flush_counts(void *ctx, MDB_txn *txn);

static consumer_t *consumer_find(evlog_t *self, const char *name, bool create)
{
    for (size_t i = 0; i < self->nconsumers; i++) {
        if (strcmp(self->consumers[i].name, name) == 0)
            return &self->consumers[i];
    }
    if (!create || self->nconsumers == EVLOG_MAX_CONSUMERS || strlen(name) >= 64)
        return NULL;
    consumer_t *c = &self->consumers[self->nconsumers++];
    memset(c, 0, sizeof *c);
    strcpy(c->name, name);
    return c;
}

static int load_bounds(evlog_t *self, MDB_txn *txn)
{
    MDB_val k;
    int rc = store_last(txn, self->log, &k, NULL);
    if (rc == HL_ENOTFOUND) {
        self->first = self->head + 1;
        return 0;
    }
    if (rc)
        return rc;
    self->head = store_be64_get(k.mv_data);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, self->log, &cur) == 0) {
        if (mdb_cursor_get(cur, &k, NULL, MDB_FIRST) == 0)
            self->first = store_be64_get(k.mv_data);
        mdb_cursor_close(cur);
    }
    return 0;
}

static int load_consumers(evlog_t *self, MDB_txn *txn)
{
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, self->consumers_db, &cur);
    if (mrc)
        return hl_error_from_mdb(mrc);
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char name[64];
        if (k.mv_size >= sizeof name || v.mv_size != 8)
            continue;
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        consumer_t *c = consumer_find(self, name, true);
        if (c)
            c->cursor = c->persisted = store_be64_get(v.mv_data);
    }
    mdb_cursor_close(cur);
    return 0;
}

int evlog_open(evlog_t **out, store_t *store, hclock_t *clock, const evlog_opts_t *opts)
{
    evlog_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->store = store;
    self->clock = clock;
    self->source = strdup(opts->source ? opts->source : "");
    self->retention_ms = opts->retention_ms;
    int rc = self->source ? 0 : HL_ENOMEM;
    if (!rc)
        rc = store_db(store, "log", 0, &self->log);
    if (!rc)
        rc = store_db(store, "log_consumers", 0, &self->consumers_db);
    if (!rc)
        rc = store_db(store, "log_counts", 0, &self->counts_db);
    if (!rc)
        rc = evpack_open(&self->pack, store);
    MDB_txn *txn = NULL;
    if (!rc)
        rc = store_read_begin(store, &txn);
    if (!rc)
        rc = load_bounds(self, txn);
    if (!rc)
        rc = load_consumers(self, txn);
    store_read_end(&txn);
    for (size_t i = 0; !rc && i < opts->nconsumers; i++)
        consumer_find(self, opts->consumers[i], true);
    if (!rc)
        rc = store_on_commit(store, flush_counts, self);
    if (rc) {
        evpack_close(&self->pack);
        free(self->source);
        free(self);
        return rc;
    }
    *out = self;
    return 0;
}

void evlog_close(evlog_t **self)
{
    if (!self || !*self)
        return;
    free((*self)->source);
    store_off_commit((*self)->store, flush_counts, *self);
    free((*self)->out.p);
    for (size_t i = 0; (*self)->cache && i < EVLOG_CACHE_SLOTS; i++)
        free((*self)->cache[i].event.p);
    free((*self)->cache);
    evpack_close(&(*self)->pack);
    free((*self)->packed.p);
    free((*self)->stored.p);
    free((*self)->appended);
    free(*self);
    *self = NULL;
}

int evlog_body_by_ref(evlog_t *self, Hotline__Event__BodyCase body_case, MDB_dbi records)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&hotline__event__descriptor, body_case);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return HL_EINTERNAL;
    self->ref_case = body_case;
    self->ref_field = f;
    self->ref_records = records;
    return 0;
}

/* The record ev's body would hold by reference: true when it is stored under the ticket id and
 * the body is exactly field 1 (a length-delimited message) holding it. */
static bool by_ref(evlog_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    if (!self->ref_field || ev->body_case != self->ref_case || !ev->ticket_id)
        return false;
    size_t idlen = strlen(ev->ticket_id);
    if (idlen == 0 || idlen > EVLOG_REF_ID_MAX)
        return false;
    const ProtobufCMessage *body = *(ProtobufCMessage *const *)((const char *)ev +
                                                                self->ref_field->offset);
    MDB_val rec;
    if (!body || store_get(txn, self->ref_records, ev->ticket_id, idlen, &rec) != 0 ||
        protobuf_c_message_get_packed_size(body) != 1 + varint_size(rec.mv_size) + rec.mv_size)
        return false;
    /* The body is its field 1 and nothing else: that field must be the record, byte for byte
     * (a caller that changed the ticket after recording it gets it logged whole). */
    const ProtobufCFieldDescriptor *f1 = protobuf_c_message_descriptor_get_field(body->descriptor, 1);
    if (!f1 || f1->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessage *inner = *(ProtobufCMessage *const *)((const char *)body + f1->offset);
    uint8_t small[2048];
    uint8_t *packed = rec.mv_size <= sizeof small ? small : malloc(rec.mv_size);
    if (!inner || !packed)
        return false;
    bool same = protobuf_c_message_pack(inner, packed) == rec.mv_size &&
                memcmp(packed, rec.mv_data, rec.mv_size) == 0;
    if (packed != small)
        free(packed);
    return same;
}

/* The envelope fields the log leaves out of what it stores (source, seq, time_ms), as
 * protobuf-c packs them (zero and empty ones left out): written by hand, this runs for every
 * consumer's read of every such event. */
static size_t envelope_size(const evlog_t *self, uint64_t seq, int64_t time_ms)
{
    size_t srclen = strlen(self->source);
    return (srclen ? 1 + varint_size(srclen) + srclen : 0) + (seq ? 1 + varint_size(seq) : 0) +
           (time_ms ? 1 + varint_size((uint64_t)time_ms) : 0);
}

static uint8_t *envelope_put(const evlog_t *self, uint8_t *p, uint64_t seq, int64_t time_ms)
{
    size_t srclen = strlen(self->source);
    if (srclen) {
        *p++ = 1 << 3 | 2;
        p += varint_put(p, srclen);
        memcpy(p, self->source, srclen);
        p += srclen;
    }
    if (seq) {
        *p++ = 2 << 3;
        p += varint_put(p, seq);
    }
    if (time_ms) {
        *p++ = 3 << 3;
        p += varint_put(p, (uint64_t)time_ms);
    }
    return p;
}

/* The envelope into self->out, with room for more bytes after it. */
static int out_envelope(evlog_t *self, uint64_t seq, int64_t time_ms, size_t more)
{
    self->out.n = 0;
    size_t env = envelope_size(self, seq, time_ms);
    if (bytebuf_reserve(&self->out, env + more))
        return HL_ENOMEM;
    self->out.n = (size_t)(envelope_put(self, self->out.p, seq, time_ms) - self->out.p);
    return 0;
}

/* A short entry (EVLOG_SHORT_BIT) as the whole Event, in self->out. */
static int short_event(evlog_t *self, uint64_t seq, int64_t time_ms, const uint8_t *rest,
                       size_t restlen)
{
    int rc = out_envelope(self, seq, time_ms, restlen);
    return rc ? rc : bytebuf_put(&self->out, rest, restlen);
}

/* A packed entry (EVLOG_PACK_BIT) as the whole Event, in self->out. */
static int packed_event(evlog_t *self, MDB_txn *txn, uint64_t seq, int64_t time_ms,
                        const uint8_t *stored, size_t storedlen)
{
    int rc = out_envelope(self, seq, time_ms, storedlen + 64);
    return rc ? rc : evpack_decode(self->pack, txn, stored, storedlen, &self->out);
}

/* A reference entry (after its time prefix: the ticket id) as the Event it stands for, in
 * self->out: the envelope, then the body field around the record. */
static int ref_event(evlog_t *self, MDB_txn *txn, uint64_t seq, int64_t time_ms,
                     const uint8_t *id, size_t idlen)
{
    if (idlen == 0 || idlen > EVLOG_REF_ID_MAX)
        return HL_ECORRUPT;
    char tid[EVLOG_REF_ID_MAX + 1];
    memcpy(tid, id, idlen);
    tid[idlen] = '\0';
    MDB_val rec;
    int rc = store_get(txn, self->ref_records, tid, idlen, &rec);
    if (rc)
        return rc == HL_ENOTFOUND ? HL_ECORRUPT : rc; /* the record must outlive the log */
    size_t inner = 1 + varint_size(rec.mv_size) + rec.mv_size;
    size_t tag = (size_t)self->ref_field->id << 3 | 2;
    size_t more = 1 + varint_size(idlen) + idlen + varint_size(tag) + varint_size(inner) + inner;
    rc = out_envelope(self, seq, time_ms, more);
    if (rc)
        return rc;
    uint8_t *p = self->out.p + self->out.n;
    *p++ = 4 << 3 | 2;
    p += varint_put(p, idlen);
    memcpy(p, tid, idlen);
    p += idlen;
    p += varint_put(p, tag);
    p += varint_put(p, inner);
    *p++ = 1 << 3 | 2; /* field 1, length-delimited */
    p += varint_put(p, rec.mv_size);
    memcpy(p, rec.mv_data, rec.mv_size);
    self->out.n += more;
    return 0;
}

/* The Event body's field name: the kind counted for metrics. */
static const char *event_kind(const Hotline__Event *ev)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&hotline__event__descriptor, ev->body_case);
    return f ? f->name : "none";
}

/* Note an append's kind for the count written at commit. An append at or below a noted seq
 * means the transaction (or a nested one) that noted it was rolled back: those notes go. */
static int note_kind(evlog_t *self, uint64_t seq, const char *kind)
{
    while (self->nappended && self->appended[self->nappended - 1].seq >= seq)
        self->nappended--;
    if (array_reserve(&self->appended, &self->appended_cap, self->nappended + 1,
                      sizeof *self->appended))
        return HL_ENOMEM;
    self->appended[self->nappended].seq = seq;
    self->appended[self->nappended++].kind = kind;
    return 0;
}

/* store_on_commit: the kinds appended in the committing transaction, one add per kind (an
 * add per event cost a read and a write each). Notes above the transaction's last seq are
 * of rolled-back appends. */
static int flush_counts(void *ctx, MDB_txn *txn)
{
    evlog_t *self = ctx;
    if (!self->nappended)
        return 0;
    MDB_val last;
    uint64_t head = 0;
    int rc = store_last(txn, self->log, &last, NULL);
    if (rc == 0)
        head = store_be64_get(last.mv_data);
    else if (rc != HL_ENOTFOUND)
        return rc;
    struct kind_sum sums[16];
    size_t nsums = 0;
    rc = 0;
    for (size_t i = 0; !rc && i < self->nappended; i++) {
        if (self->appended[i].seq > head)
            break;
        size_t j = 0;
        while (j < nsums && sums[j].kind != self->appended[i].kind)
            j++;
        if (j == nsums && nsums == sizeof sums / sizeof *sums) {
            /* more kinds than room in one transaction: write what is summed so far */
            for (j = 0; !rc && j < nsums; j++)
                rc = store_add_u64(txn, self->counts_db, sums[j].kind, strlen(sums[j].kind),
                                   sums[j].n, NULL);
            nsums = j = 0;
        }
        if (j == nsums)
            sums[nsums++] = (struct kind_sum){self->appended[i].kind, 0};
        sums[j].n++;
    }
    for (size_t j = 0; !rc && j < nsums; j++)
        rc = store_add_u64(txn, self->counts_db, sums[j].kind, strlen(sums[j].kind), sums[j].n,
                           NULL);
    self->nappended = 0;
    return rc;
}

int evlog_counts(evlog_t *self, evlog_count_fn fn, void *ctx)
{
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc)
        return rc;
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, self->counts_db, &cur);
    if (mrc) {
        store_read_end(&txn);
        return hl_error_from_mdb(mrc);
    }
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char kind[64];
        if (k.mv_size >= sizeof kind || v.mv_size != 8)
            continue;
        memcpy(kind, k.mv_data, k.mv_size);
        kind[k.mv_size] = '\0';
        fn(ctx, kind, store_be64_get(v.mv_data));
    }
    mdb_cursor_close(cur);
    store_read_end(&txn);
    return 0;
}

int evlog_event_init(Hotline__Event *ev, const char *ticket_id, Hotline__Event__BodyCase body_case,
                     void *body)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&hotline__event__descriptor, body_case);
    hotline__event__init(ev);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || !body)
        return HL_EINTERNAL;
    ev->ticket_id = (char *)(ticket_id ? ticket_id : "");
    ev->body_case = body_case;
    *(void **)((char *)ev + f->offset) = body;
    return 0;
}

int evlog_append_body(evlog_t *self, MDB_txn *txn, const char *ticket_id,
                      Hotline__Event__BodyCase body_case, void *body)
{
    Hotline__Event ev;
    int rc = evlog_event_init(&ev, ticket_id, body_case, body);
    return rc ? rc : evlog_append(self, txn, &ev);
}

int evlog_append(evlog_t *self, MDB_txn *txn, Hotline__Event *ev)
{
    /* The head inside this transaction (it sees the transaction's own appends, and a
     * rolled-back child transaction leaves no hole). */
    MDB_val last;
    uint64_t seq = self->head + 1;
    int rc = store_last(txn, self->log, &last, NULL);
    if (rc == 0)
        seq = store_be64_get(last.mv_data) + 1;
    else if (rc != HL_ENOTFOUND)
        return rc;
    ev->source = self->source;
    ev->seq = seq;
    ev->time_ms = hclock_now_ms(self->clock);

    uint8_t key[8];
    store_be64_put(key, seq);
    void *val;
    if (by_ref(self, txn, ev)) {
        size_t idlen = strlen(ev->ticket_id);
        rc = store_put_reserve(txn, self->log, key, sizeof key, EVLOG_HDR + idlen, MDB_APPEND,
                               &val);
        if (rc)
            return rc;
        store_be64_put(val, ((uint64_t)ev->time_ms & EVLOG_TIME_MASK) | EVLOG_REF_BIT);
        memcpy((uint8_t *)val + EVLOG_HDR, ev->ticket_id, idlen);
        return note_kind(self, seq, event_kind(ev));
    }
    /* The rest of the event, packed, then in its stored form (evpack.h). */
    Hotline__Event rest = *ev;
    rest.source = (char *)"";
    rest.seq = 0;
    rest.time_ms = 0;
    size_t len = protobuf_c_message_get_packed_size(&rest.base);
    self->packed.n = self->stored.n = 0;
    rc = bytebuf_reserve(&self->packed, len);
    if (rc)
        return rc;
    self->packed.n = protobuf_c_message_pack(&rest.base, self->packed.p);
    uint64_t form = EVLOG_PACK_BIT;
    rc = evpack_encode(self->pack, txn, self->packed.p, self->packed.n, &self->stored);
    if (rc == HL_EINVAL) { /* not in evpack's form: stored short, as it is */
        self->stored.n = 0;
        rc = bytebuf_put(&self->stored, self->packed.p, self->packed.n);
        form = EVLOG_SHORT_BIT;
    }
    if (!rc)
        rc = store_put_reserve(txn, self->log, key, sizeof key, EVLOG_HDR + self->stored.n,
                               MDB_APPEND, &val);
    if (rc)
        return rc;
    store_be64_put(val, ((uint64_t)ev->time_ms & EVLOG_TIME_MASK) | form);
    memcpy((uint8_t *)val + EVLOG_HDR, self->stored.p, self->stored.n);
    return note_kind(self, seq, event_kind(ev));
}

void evlog_committed(evlog_t *self)
{
    MDB_txn *txn;
    if (store_read_begin(self->store, &txn) != 0)
        return;
    load_bounds(self, txn);
    evpack_committed(self->pack, txn);
    store_read_end(&txn);
}

uint64_t evlog_head(const evlog_t *self)
{
    return self->head;
}

uint64_t evlog_first(const evlog_t *self)
{
    return self->first;
}

/* The packed Event of the entry at seq (its time prefix at, the stored bytes at *event,
 * *len): the stored bytes themselves for a whole Event, else put together in self->out or
 * found in the cache. */
static int event_of(evlog_t *self, MDB_txn *txn, uint64_t seq, uint64_t at,
                    const uint8_t **event, size_t *len)
{
    if (!(at & (EVLOG_REF_BIT | EVLOG_SHORT_BIT | EVLOG_PACK_BIT)))
        return 0;
    struct cached *c = self->cache ? &self->cache[seq & (EVLOG_CACHE_SLOTS - 1)] : NULL;
    if (c && c->seq == seq) {
        *event = c->event.p;
        *len = c->event.n;
        return 0;
    }
    int64_t time_ms = (int64_t)(at & EVLOG_TIME_MASK);
    int rc;
    if (at & EVLOG_REF_BIT)
        rc = ref_event(self, txn, seq, time_ms, *event, *len);
    else if (at & EVLOG_PACK_BIT)
        rc = packed_event(self, txn, seq, time_ms, *event, *len);
    else
        rc = short_event(self, seq, time_ms, *event, *len);
    if (rc)
        return rc;
    *event = self->out.p;
    *len = self->out.n;
    if (!self->cache)
        self->cache = calloc(EVLOG_CACHE_SLOTS, sizeof *self->cache);
    /* Only committed events: an append of an open transaction may be rolled back and its seq
     * given to another event. */
    if (self->cache && seq <= self->head && *len <= EVLOG_CACHE_MAX) {
        c = &self->cache[seq & (EVLOG_CACHE_SLOTS - 1)];
        c->event.n = 0;
        c->seq = bytebuf_put(&c->event, *event, *len) ? 0 : seq;
    }
    return 0;
}

int evlog_read(evlog_t *self, MDB_txn *txn, uint64_t after, size_t max_events,
               size_t max_bytes, evlog_visit_fn fn, void *ctx)
{
    if (after == UINT64_MAX)
        return 0; /* nothing can come after the last possible seq (and after + 1 would wrap) */
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, self->log, &cur);
    if (mrc)
        return hl_error_from_mdb(mrc);
    uint8_t key[8];
    store_be64_put(key, after + 1);
    MDB_val k = {sizeof key, key}, v;
    int n = 0;
    size_t bytes = 0;
    int rc = 0;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && (size_t)n < max_events;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size < EVLOG_HDR || k.mv_size != 8) {
            rc = HL_ECORRUPT;
            break;
        }
        uint64_t seq = store_be64_get(k.mv_data);
        const uint8_t *event = (const uint8_t *)v.mv_data + EVLOG_HDR;
        size_t len = v.mv_size - EVLOG_HDR;
        rc = event_of(self, txn, seq, store_be64_get(v.mv_data), &event, &len);
        if (rc)
            break;
        if (n > 0 && bytes + len > max_bytes)
            break;
        rc = fn(ctx, seq, event, len);
        if (rc)
            break;
        bytes += len;
        n++;
    }
    mdb_cursor_close(cur);
    if (rc)
        return rc < 0 ? rc : n;
    if (mrc && mrc != MDB_NOTFOUND)
        return hl_error_from_mdb(mrc);
    return n;
}

void evlog_consumer_seen(evlog_t *self, const char *consumer, uint64_t cursor)
{
    consumer_t *c = consumer_find(self, consumer, true);
    if (!c) {
        SLOG_WARN("feed_consumer_not_registered",
                  "consumer=\"%.64s\" reason=\"too many consumers or name too long\"", consumer);
        return;
    }
    if (cursor > c->cursor)
        c->cursor = cursor;
}

uint64_t evlog_min_cursor(const evlog_t *self, size_t *count)
{
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < self->nconsumers; i++) {
        if (self->consumers[i].cursor < min)
            min = self->consumers[i].cursor;
    }
    if (count)
        *count = self->nconsumers;
    return min;
}

static int persist_consumers(evlog_t *self, MDB_txn *txn)
{
    for (size_t i = 0; i < self->nconsumers; i++) {
        consumer_t *c = &self->consumers[i];
        if (c->persisted == c->cursor && c->persisted != 0)
            continue;
        uint8_t v[8];
        store_be64_put(v, c->cursor);
        int rc = store_put(txn, self->consumers_db, c->name, strlen(c->name), v, 8, 0);
        if (rc)
            return rc;
        c->persisted = c->cursor;
    }
    return 0;
}

int evlog_trim(evlog_t *self, MDB_txn *txn, unsigned max_delete, unsigned *deleted)
{
    *deleted = 0;
    int rc = persist_consumers(self, txn);
    if (rc)
        return rc;
    uint64_t limit = evlog_min_cursor(self, NULL);
    if (self->head == 0)
        return 0;
    if (limit >= self->head)
        limit = self->head - 1; /* the last event stays: it carries the head */
    int64_t cutoff = hclock_now_ms(self->clock) - self->retention_ms;
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, self->log, &cur);
    if (mrc)
        return hl_error_from_mdb(mrc);
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && *deleted < max_delete;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (store_be64_get(k.mv_data) > limit || v.mv_size < EVLOG_HDR ||
            (int64_t)(store_be64_get(v.mv_data) & EVLOG_TIME_MASK) >= cutoff)
            break;
        rc = store_cursor_del(cur);
        if (rc)
            break;
        (*deleted)++;
    }
    mdb_cursor_close(cur);
    if (rc)
        return rc;
    if (mrc && mrc != MDB_NOTFOUND)
        return hl_error_from_mdb(mrc);
    return 0;
}
