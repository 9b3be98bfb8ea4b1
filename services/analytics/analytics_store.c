/* analytics_store: the stored shapes of analytics' state and their keys. Loop thread.
 *
 *   counters  key   be64(period ^ sign bit) | dim letter | value | 0x00 | counter id
 *             value be64 count
 *     Period first (as the period is what every query walks), so one period's counters for
 *     one dimension are one contiguous range: local days, then months (ANALYTICS_MONTH_BASE +
 *     year * 12 + month - 1), then "all time" (INT64_MAX). value: "" for the whole centre,
 *     a unit / category / district, or a pair "a" 0x1f "b" (analytics.h).
 *   timeline  one record per ticket: analytics_timeline.c */
#include "analytics_internal.h"

#include "hl_error.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define SIGN_BIT ((uint64_t)1 << 63)

static const char *const COUNTER_NAMES[ANALYTICS_NCOUNTERS] = {
    [ANALYTICS_RECEIVED] = "received",
    [ANALYTICS_DISPATCHED] = "dispatched",
    [ANALYTICS_REDISPATCHED] = "redispatched",
    [ANALYTICS_REWORKED] = "reworked",
    [ANALYTICS_SIGNED] = "signed",
    [ANALYTICS_REPLIED] = "replied",
    [ANALYTICS_CLOSED] = "closed",
    [ANALYTICS_SIGN_STARTED] = "signStarted",
    [ANALYTICS_SIGNED_ON_TIME] = "signedOnTime",
    [ANALYTICS_SIGNED_LATE] = "signedLate",
    [ANALYTICS_REPLY_STARTED] = "replyStarted",
    [ANALYTICS_REPLIED_ON_TIME] = "repliedOnTime",
    [ANALYTICS_REPLIED_LATE] = "repliedLate",
    [ANALYTICS_SIGN_WARNINGS] = "signWarnings",
    [ANALYTICS_REPLY_WARNINGS] = "replyWarnings",
    [ANALYTICS_SIGN_BREACHED] = "signBreached",
    [ANALYTICS_REPLY_BREACHED] = "replyBreached",
    [ANALYTICS_CALLBACKS_DUE] = "callbacksDue",
    [ANALYTICS_CALLBACKS_DONE] = "callbacksDone",
    [ANALYTICS_UNREACHABLE] = "unreachable",
    [ANALYTICS_RATED] = "rated",
    [ANALYTICS_RESOLVED] = "resolved",
    [ANALYTICS_REWORK_REQUESTED] = "reworkRequested",
    [ANALYTICS_RATING_VERY_SATISFIED] = "ratedVerySatisfied",
    [ANALYTICS_RATING_SATISFIED] = "ratedSatisfied",
    [ANALYTICS_RATING_BASICALLY_SATISFIED] = "ratedBasicallySatisfied",
    [ANALYTICS_RATING_DISSATISFIED] = "ratedDissatisfied",
    [ANALYTICS_RATING_VERY_DISSATISFIED] = "ratedVeryDissatisfied",
    [ANALYTICS_ANSWERED] = "answeredDirectly",
    [ANALYTICS_REFERRED] = "referred",
    [ANALYTICS_NOT_ACCEPTED] = "notAccepted",
    [ANALYTICS_REPEAT_CALLS] = "repeatCalls",
    [ANALYTICS_INCIDENT_LINKED] = "incidentLinked",
    [ANALYTICS_RATINGS_EXCLUDED] = "ratingsExcluded",
    [ANALYTICS_SIGN_DUE] = "signDue",
    [ANALYTICS_REPLY_DUE] = "replyDue",
    [ANALYTICS_RESPONSE_DUE] = "responseDue",
    [ANALYTICS_RESPONDED_ON_TIME] = "respondedOnTime",
    [ANALYTICS_RESPONDED_LATE] = "respondedLate",
    [ANALYTICS_CALLBACK_CLOCKS_DUE] = "callbackClocksDue",
    [ANALYTICS_CALLED_BACK_ON_TIME] = "calledBackOnTime",
    [ANALYTICS_CALLED_BACK_LATE] = "calledBackLate",
    [ANALYTICS_RETURN_REQUESTS] = "returnRequests",
    [ANALYTICS_RETURNED] = "returned",
    [ANALYTICS_CLOSED_ON_TIME] = "closedOnTime",
};

const char *analytics_counter_name(analytics_counter_t id)
{
    return (unsigned)id < ANALYTICS_NCOUNTERS ? COUNTER_NAMES[id] : "unknown";
}

void analytics_value_copy(char *dst, const char *src)
{
    size_t n = src ? utf8_cut(src, strlen(src), ANALYTICS_VALUE_MAX) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

bool analytics_ticket_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > ANALYTICS_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* ---- counters ---- */

#define COUNTER_PREFIX 9 /* be64 period + dim letter */
#define COUNTER_VALUE_MAX (2 * ANALYTICS_VALUE_MAX + 1) /* a pair: "a" 0x1f "b" */

int64_t analytics_month_of(int64_t day)
{
    int y, m, d;
    calendar_ymd_from_day(day, &y, &m, &d);
    return ANALYTICS_MONTH_BASE + (int64_t)y * 12 + (m - 1);
}

static size_t counter_prefix(uint8_t key[COUNTER_PREFIX], int64_t period, analytics_dim_t dim)
{
    store_be64_put(key, (uint64_t)period ^ SIGN_BIT);
    key[8] = (uint8_t)dim;
    return COUNTER_PREFIX;
}

static size_t counter_key(uint8_t *key, int64_t period, analytics_dim_t dim, const char *value,
                          analytics_counter_t id)
{
    size_t at = counter_prefix(key, period, dim);
    size_t n = dim == ANALYTICS_DIM_ALL ? 0 : strnlen(value, COUNTER_VALUE_MAX);
    memcpy(key + at, value, n);
    at += n;
    key[at++] = 0;
    key[at++] = (uint8_t)id;
    return at;
}

/* ---- pending counter changes ----
 *
 * A feed batch moves each of its counters many times (every ticket of a day adds to that day's
 * and month's totals, its unit's, its category's...): the changes are summed here per key and
 * written once per key at the batch's end, inside the same transaction, before the cursor is
 * stored with them; so a crash loses the batch and its cursor together, as before.
 *
 * A stored count never goes below 0 (store_add_u64), so a run of deltas is not always its sum
 * (0, -1, +1 gives 1). Each step x -> max(x + d, 0) is kept exactly: the run of them is
 * x -> max(x + add, floor), with add the sum and floor what is left from 0 at worst (each step:
 * add += d, floor = max(floor + d, 0)). */

struct analytics_pending {
    uint64_t hash;
    size_t koff; /* in keys */
    size_t klen;
    int64_t add;
    uint64_t floor;
    const uint8_t *key; /* keys + koff, set when the batch ends (keys no longer moves) */
};

static uint64_t key_hash(const uint8_t *k, size_t n)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static uint64_t step(uint64_t x, int64_t d)
{
    if (d < 0)
        return (uint64_t)-d > x ? 0 : x - (uint64_t)-d;
    return x + (uint64_t)d;
}

/* The entry of key, or NULL. */
static struct analytics_pending *pending_find(analytics_t *self, const uint8_t *key, size_t klen,
                                              uint64_t h, size_t *slot)
{
    size_t mask = self->pend.nslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t at = self->pend.slots[i];
        *slot = i;
        if (!at)
            return NULL;
        struct analytics_pending *e = &self->pend.e[at - 1];
        if (e->hash == h && e->klen == klen &&
            memcmp(self->pend.keys + e->koff, key, klen) == 0)
            return e;
    }
}

/* Room for one more entry of klen bytes (the slots rehashed when they grow). */
static int pending_reserve(analytics_t *self, size_t klen)
{
    if (self->pend.keys_len + klen > self->pend.keys_cap) {
        size_t cap = self->pend.keys_cap ? 2 * self->pend.keys_cap : 64 * 1024;
        while (cap < self->pend.keys_len + klen)
            cap *= 2;
        uint8_t *k = realloc(self->pend.keys, cap);
        if (!k)
            return HL_ENOMEM;
        self->pend.keys = k;
        self->pend.keys_cap = cap;
    }
    if (self->pend.n < self->pend.cap)
        return 0;
    size_t cap = self->pend.cap ? 2 * self->pend.cap : 2048;
    if (cap > UINT32_MAX / 4)
        return HL_ENOMEM;
    struct analytics_pending *e = realloc(self->pend.e, cap * sizeof *e);
    if (!e)
        return HL_ENOMEM;
    self->pend.e = e;
    uint32_t *slots = calloc(2 * cap, sizeof *slots);
    if (!slots)
        return HL_ENOMEM; /* the larger entry array is kept: cap unchanged, still consistent */
    free(self->pend.slots);
    self->pend.slots = slots;
    self->pend.nslots = 2 * cap;
    self->pend.cap = cap;
    size_t mask = self->pend.nslots - 1;
    for (size_t j = 0; j < self->pend.n; j++) {
        size_t i = self->pend.e[j].hash & mask;
        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = (uint32_t)j + 1;
    }
    return 0;
}

void analytics_batch_drop(analytics_t *self)
{
    if (self->pend.n) /* the entries may have been reordered: every slot goes */
        memset(self->pend.slots, 0, self->pend.nslots * sizeof *self->pend.slots);
    self->pend.n = 0;
    self->pend.keys_len = 0;
    self->pend.txn = NULL;
    self->tl_added = 0;
}

void analytics_pending_fini(analytics_t *self)
{
    free(self->pend.e);
    free(self->pend.slots);
    free(self->pend.keys);
    memset(&self->pend, 0, sizeof self->pend);
}

/* LMDB's order of keys (memcmp, then the shorter first). */
static int by_key(const void *x, const void *y)
{
    const struct analytics_pending *a = x, *b = y;
    int c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

static int by_hash(const void *x, const void *y)
{
    const struct analytics_pending *a = x, *b = y;
    return (a->hash > b->hash) - (a->hash < b->hash);
}

/* The new count of e from the stored one. */
static MDB_val new_count(const struct analytics_pending *e, uint64_t stored, uint8_t buf[8])
{
    uint64_t n = step(stored, e->add);
    store_be64_put(buf, n < e->floor ? e->floor : n);
    return (MDB_val){8, buf};
}

/* The keys already stored first, in the store's order through one cursor: a key on the page
 * the cursor is on is found without a walk from the root, and the value is replaced where it
 * was found. Then the new keys, in no particular order (hash order): inserted in key order,
 * each page split would leave a half-full page behind. */
static int write_pending(analytics_t *self, MDB_txn *txn)
{
    for (size_t j = 0; j < self->pend.n; j++)
        self->pend.e[j].key = self->pend.keys + self->pend.e[j].koff;
    qsort(self->pend.e, self->pend.n, sizeof *self->pend.e, by_key);
    MDB_cursor *cur;
    int rc = store_cursor_open(txn, self->counters, &cur);
    if (rc)
        return rc;
    size_t fresh = 0; /* keys not stored yet, moved to the front */
    uint8_t buf[8];
    for (size_t j = 0; !rc && j < self->pend.n; j++) {
        struct analytics_pending *e = &self->pend.e[j];
        MDB_val v;
        rc = store_cursor_seek(cur, e->key, e->klen, &v);
        if (rc == HL_ENOTFOUND) {
            self->pend.e[fresh++] = *e;
            rc = 0;
            continue;
        }
        if (!rc && v.mv_size != 8)
            rc = HL_ECORRUPT;
        if (rc)
            break;
        MDB_val nv = new_count(e, store_be64_get(v.mv_data), buf);
        rc = store_cursor_replace(cur, e->key, e->klen, nv.mv_data, nv.mv_size);
    }
    store_cursor_close(cur);
    qsort(self->pend.e, fresh, sizeof *self->pend.e, by_hash);
    for (size_t j = 0; !rc && j < fresh; j++) {
        const struct analytics_pending *e = &self->pend.e[j];
        MDB_val nv = new_count(e, 0, buf);
        rc = store_put(txn, self->counters, e->key, e->klen, nv.mv_data, 8, 0);
    }
    return rc;
}

int analytics_batch_end(void *ctx, MDB_txn *txn)
{
    analytics_t *self = ctx;
    int rc = self->pend.n ? write_pending(self, txn) : 0;
    if (!rc && self->tl_added) /* the events kept, for /metrics: once per batch */
        rc = store_add_u64(txn, self->meta, ANALYTICS_EVENTS_KEY, sizeof ANALYTICS_EVENTS_KEY - 1,
                           (int64_t)self->tl_added, NULL);
    analytics_batch_drop(self);
    return rc;
}

int analytics_counter_get(analytics_t *self, MDB_txn *txn, int64_t period, analytics_dim_t dim,
                          const char *value, analytics_counter_t id, uint64_t *out)
{
    uint8_t key[16 + COUNTER_VALUE_MAX];
    size_t klen = counter_key(key, period, dim, value, id);
    int rc = store_get_u64(txn, self->counters, key, klen, out);
    if (rc || !self->pend.n || txn != self->pend.txn)
        return rc;
    size_t slot;
    const struct analytics_pending *e =
        pending_find(self, key, klen, key_hash(key, klen), &slot);
    if (e) {
        *out = step(*out, e->add);
        if (*out < e->floor)
            *out = e->floor;
    }
    return 0;
}

int analytics_counter_add(analytics_t *self, MDB_txn *txn, int64_t period, analytics_dim_t dim,
                          const char *value, analytics_counter_t id, int64_t delta)
{
    uint8_t key[16 + COUNTER_VALUE_MAX];
    size_t klen = counter_key(key, period, dim, value, id);
    int rc = pending_reserve(self, klen);
    if (rc)
        return rc;
    self->pend.txn = txn;
    uint64_t h = key_hash(key, klen);
    size_t slot;
    struct analytics_pending *e = pending_find(self, key, klen, h, &slot);
    if (!e) {
        e = &self->pend.e[self->pend.n];
        *e = (struct analytics_pending){.hash = h, .koff = self->pend.keys_len, .klen = klen};
        memcpy(self->pend.keys + e->koff, key, klen);
        self->pend.keys_len += klen;
        self->pend.slots[slot] = (uint32_t)++self->pend.n;
    }
    e->add += delta;
    e->floor = step(e->floor, delta);
    return 0;
}

typedef struct counters_walk {
    analytics_counter_visit_fn fn;
    void *ctx;
    size_t skip; /* the value prefix asked for, left out of what fn sees */
} counters_walk_t;

static int counter_visit(void *ctx, const store_entry_t *e)
{
    const counters_walk_t *w = ctx;
    const uint8_t *p = e->key.mv_data;
    size_t klen = e->key.mv_size;
    /* value | 0x00 | id: the NUL is the second-to-last byte. */
    if (klen < COUNTER_PREFIX + 2 || p[klen - 2] != 0 || e->val.mv_size != 8)
        return HL_ECORRUPT;
    size_t vlen = klen - COUNTER_PREFIX - 2;
    char value[COUNTER_VALUE_MAX + 1];
    if (vlen > COUNTER_VALUE_MAX)
        return HL_ECORRUPT;
    /* The prefix asked for may end in the value's NUL ("v" 0x00: v alone): nothing is left. */
    size_t from = w->skip > vlen ? vlen : w->skip;
    memcpy(value, p + COUNTER_PREFIX + from, vlen - from);
    value[vlen - from] = '\0';
    unsigned id = p[klen - 1];
    if (id < ANALYTICS_NCOUNTERS) /* ids from a newer version are skipped */
        w->fn(w->ctx, value, id, store_be64_get(e->val.mv_data));
    return 0;
}

int analytics_counters_scan(analytics_t *self, MDB_txn *txn, int64_t period, analytics_dim_t dim,
                            const char *value_prefix, size_t value_prefix_len,
                            analytics_counter_visit_fn fn, void *ctx)
{
    uint8_t prefix[COUNTER_PREFIX + COUNTER_VALUE_MAX + 1];
    if (value_prefix_len > COUNTER_VALUE_MAX + 1)
        return HL_EINVAL;
    counters_walk_t w = {fn, ctx, value_prefix_len};
    size_t plen = counter_prefix(prefix, period, dim);
    if (value_prefix_len)
        memcpy(prefix + plen, value_prefix, value_prefix_len);
    store_range_t r = {.prefix = prefix, .prefix_len = plen + value_prefix_len};
    return store_scan(txn, self->counters, &r, counter_visit, &w);
}

uint64_t analytics_satisfied(const analytics_t *self, const uint64_t c[ANALYTICS_NCOUNTERS])
{
    return c[ANALYTICS_RATING_VERY_SATISFIED] + c[ANALYTICS_RATING_SATISFIED] +
           (self->basically_satisfied ? c[ANALYTICS_RATING_BASICALLY_SATISFIED] : 0);
}
