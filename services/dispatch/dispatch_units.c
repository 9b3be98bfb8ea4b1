/* dispatch_units: a number for each unit, so that the keys of a unit's queue ("unit_queue",
 * dispatch_store.c) carry a byte or two, not the unit's name.
 *
 * "unit_numbers" numbers the units (common/storage names): a unit gets its number with its
 * first ticket; numbers never change and are never reused.
 * Assignment records (version 5) name their unit by it too.
 * In memory: the committed numbers, sorted by unit, read at open and after a commit that gave
 * one. A number given in a transaction is read from the store until that transaction has
 * committed, so a rolled-back one leaves nothing behind.
 *
 * Queue keys: 0x00, the unit's number (varint, common/base/bytes.h), state, ticket id. A varint
 * is never the start of another, so a unit's tickets in one state stay one contiguous key
 * range, in ticket id order. Versions before 2026-12-07 keyed the queue by unit NUL state
 * ticket id (a unit id starts with a letter, a digit, '-', '_' or '.': never 0x00); such keys
 * are rewritten at open, MIGRATE_CHUNK per transaction, so a crash part way leaves every
 * entry in one form or the other and the next open goes on. Loop thread. */
#include "dispatch_internal.h"

#include "bytes.h"
#include "hl_error.h"
#include "names.h"
#include "slog.h"

#include <stdlib.h>
#include <string.h>

#define MIGRATE_CHUNK 10000

typedef struct unit_no {
    char *unit;
    uint32_t number;
} unit_no_t;

struct dispatch_units {
    unit_no_t *v; /* sorted by unit */
    size_t n;
    const char **by_no; /* [number]: the unit (into v), NULL for numbers not committed */
    uint32_t max;       /* the highest number in v */
};

static int by_unit(const void *a, const void *b)
{
    return strcmp(((const unit_no_t *)a)->unit, ((const unit_no_t *)b)->unit);
}

static void units_free(dispatch_units_t *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n; i++)
        free(u->v[i].unit);
    free(u->v);
    free(u->by_no);
    free(u);
}

static int load_visit(void *ctx, const char *text, size_t len, uint32_t number)
{
    dispatch_units_t *u = ctx;
    unit_no_t *v = realloc(u->v, (u->n + 1) * sizeof *v);
    if (!v)
        return HL_ENOMEM;
    u->v = v;
    if (!(v[u->n].unit = strndup(text, len)))
        return HL_ENOMEM;
    v[u->n].number = number;
    if (number > u->max)
        u->max = number;
    u->n++;
    return 0;
}

/* The committed numbers into self->units. */
static int reload(dispatch_t *self)
{
    dispatch_units_t *u = calloc(1, sizeof *u);
    if (!u)
        return HL_ENOMEM;
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = names_scan(txn, self->unit_numbers, load_visit, u);
        store_read_end(&txn);
    }
    if (!rc && u->n)
        qsort(u->v, u->n, sizeof *u->v, by_unit);
    if (!rc && !(u->by_no = calloc((size_t)u->max + 1, sizeof *u->by_no)))
        rc = HL_ENOMEM;
    for (size_t i = 0; !rc && i < u->n; i++)
        u->by_no[u->v[i].number] = u->v[i].unit;
    if (rc) {
        units_free(u);
        return rc;
    }
    units_free(self->units);
    self->units = u;
    self->units_dirty = false;
    return 0;
}

int dispatch_unit_number(dispatch_t *self, MDB_txn *txn, const char *unit, bool give,
                         uint32_t *out)
{
    *out = 0;
    if (self->units && self->units->n) {
        unit_no_t k = {(char *)unit, 0};
        const unit_no_t *hit = bsearch(&k, self->units->v, self->units->n, sizeof k, by_unit);
        if (hit) {
            *out = hit->number;
            return 0;
        }
    }
    size_t len = strlen(unit);
    if (len == 0 || len > DISPATCH_UNIT_ID_MAX)
        return HL_EINVAL;
    int rc = names_number(txn, self->unit_numbers, unit, len, give, out);
    if (!rc && give && !*out)
        return HL_ETOOBIG; /* out of numbers: nothing a queue key can be made of */
    if (!rc && give)
        self->units_dirty = true; /* possibly new: read the committed numbers again */
    return rc;
}

int dispatch_unit_name(dispatch_t *self, MDB_txn *txn, uint32_t number,
                       char out[DISPATCH_UNIT_ID_MAX + 1])
{
    const dispatch_units_t *u = self->units;
    const char *name = u && number <= u->max ? u->by_no[number] : NULL;
    if (name) {
        memcpy(out, name, strlen(name) + 1);
        return 0;
    }
    const char *text;
    size_t len;
    int rc = names_text(txn, self->unit_numbers, number, &text, &len);
    if (rc == HL_ENOTFOUND || (rc == 0 && (len == 0 || len > DISPATCH_UNIT_ID_MAX)))
        return HL_ECORRUPT;
    if (!rc)
        memcpy(out, text, len + 1);
    return rc;
}

size_t dispatch_queue_key(uint8_t *out, uint32_t number, Hotline__TicketStatus state,
                          const char *id, size_t idlen)
{
    size_t n = 0;
    out[n++] = 0;
    n += varint_put(out + n, number);
    out[n++] = (uint8_t)state;
    if (idlen)
        memcpy(out + n, id, idlen);
    return n + idlen;
}

bool dispatch_queue_key_parse(const void *key, size_t len, Hotline__TicketStatus *state,
                              const char **id, size_t *idlen)
{
    const uint8_t *p = key, *end = p + len;
    uint64_t number;
    if (len < 3 || *p++ != 0 || varint_get(&p, end, &number) || p >= end)
        return false;
    *state = (Hotline__TicketStatus)*p++;
    *id = (const char *)p;
    *idlen = (size_t)(end - p);
    return *idlen > 0 && *idlen <= DISPATCH_TICKET_ID_MAX;
}

/* ---- the keys of earlier versions ---------------------------------------------------------- */

typedef struct old_keys {
    bytebuf_t buf; /* each key as length (size_t) + bytes */
    size_t n;
} old_keys_t;

static int collect_visit(void *ctx, const store_entry_t *e)
{
    old_keys_t *k = ctx;
    if (k->n == MIGRATE_CHUNK)
        return 1;
    size_t klen = e->key.mv_size;
    int rc = bytebuf_put(&k->buf, &klen, sizeof klen);
    if (!rc)
        rc = bytebuf_put(&k->buf, e->key.mv_data, klen);
    k->n += !rc;
    return rc;
}

/* One old key (unit NUL state ticket id) rewritten (an unreadable one dropped). */
static int migrate_one(dispatch_t *self, MDB_txn *txn, const char *k, size_t klen)
{
    const char *nul = memchr(k, 0, klen);
    size_t ulen = nul ? (size_t)(nul - k) : 0, tlen = nul ? klen - ulen - 2 : 0;
    if (!nul || ulen == 0 || ulen > DISPATCH_UNIT_ID_MAX || klen < ulen + 3 ||
        tlen > DISPATCH_TICKET_ID_MAX) {
        SLOG_ERROR("queue_key_unreadable", "bytes=%zu next=\"dropped from the queue index\"",
                   klen);
        return store_del(txn, self->queue, k, klen);
    }
    char unit[DISPATCH_UNIT_ID_MAX + 1];
    memcpy(unit, k, ulen);
    unit[ulen] = '\0';
    uint32_t number;
    int rc = dispatch_unit_number(self, txn, unit, true, &number);
    uint8_t nkey[DISPATCH_QUEUE_KEY_MAX];
    size_t nlen = dispatch_queue_key(nkey, number, (Hotline__TicketStatus)(uint8_t)nul[1],
                                     nul + 2, tlen);
    if (!rc)
        rc = store_put(txn, self->queue, nkey, nlen, "", 0, 0);
    if (!rc)
        rc = store_del(txn, self->queue, k, klen);
    return rc;
}

/* Rewrite the queue keys of earlier versions, a chunk per transaction. */
static int migrate(dispatch_t *self)
{
    size_t total = 0;
    for (;;) {
        old_keys_t k = {0};
        MDB_txn *txn;
        int rc = store_write_begin(self->store, &txn);
        if (rc)
            return rc;
        store_range_t r = {.from = "\x01", .from_len = 1};
        rc = store_scan(txn, self->queue, &r, collect_visit, &k);
        for (size_t off = 0, i = 0; !rc && i < k.n; i++) {
            size_t klen;
            memcpy(&klen, k.buf.p + off, sizeof klen);
            rc = migrate_one(self, txn, (const char *)k.buf.p + off + sizeof klen, klen);
            off += sizeof klen + klen;
        }
        free(k.buf.p);
        if (!rc && k.n)
            rc = store_write_commit(self->store, &txn);
        else
            store_write_abort(&txn);
        if (rc)
            return rc;
        total += k.n;
        if (k.n < MIGRATE_CHUNK)
            break;
    }
    if (total)
        SLOG_INFO("queue_keys_migrated",
                  "keys_count=%zu reason=\"the queue index of an earlier version, by unit "
                  "name\"",
                  total);
    return 0;
}

int dispatch_units_open(dispatch_t *self)
{
    int rc = store_db(self->store, "unit_numbers", 0, &self->unit_numbers);
    if (!rc)
        rc = migrate(self);
    return rc ? rc : reload(self);
}

void dispatch_units_after_commit(dispatch_t *self)
{
    if (!self->units_dirty)
        return;
    int rc = reload(self);
    if (rc)
        SLOG_WARN("unit_numbers_not_reloaded",
                  "reason=\"%s\" next=\"read from the store; retry after the next commit\"",
                  hl_strerror(rc));
}

void dispatch_units_destroy(dispatch_t *self)
{
    units_free(self->units);
    self->units = NULL;
}
