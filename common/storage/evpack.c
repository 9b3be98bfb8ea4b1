/* evpack: the event log's stored form of an event (evpack.h). */
#include "evpack.h"

#include "bytes.h"
#include "hl_error.h"
#include "names.h"

#include "hotline/event.pb-c.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Text fields of event bodies whose values come from a bounded set (the units, categories,
 * districts, policies and routes a centre configures; its staff and crews): numbered. Free
 * text (notes, results, reasons, addresses) and ids are not. */
static const char *const NAMED_FIELDS[] = {
    "unit",     "category_code", "district",  "policy",      "limit",       "route",
    "to_unit",  "from_unit",     "assisting_units", "crew",  "agent",       "by",
    "reason_code", "category_prefix", "reviewed_by", "raised_by", "filed_by",
};

#define EVENT_FIELDS 128     /* hotline.Event's field numbers are below this */
#define ID_FIELD 4           /* Event.ticket_id */
#define PACKED_ID_FIELD 5    /* no such field in hotline.Event */
#define DATE_BASE 20000000u  /* YYYYMMDD - DATE_BASE: three bytes of varint, not four */
#define ID_MAX 64

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct evpack {
    MDB_dbi db;
    uint64_t mask[EVENT_FIELDS]; /* per body field: the numbered fields (bit = field number) */
    uint64_t committed;          /* texts numbered in committed transactions */
    char **texts;                /* cache: number -> text, for numbers <= committed */
    uint32_t *lens;
    size_t ntexts;               /* entries of texts (index 0 unused) */
    uint32_t *slots;             /* cache: open addressing by hash, 0 = empty */
    size_t nslots, nused;
};

/* A varint at *p: one byte (the usual tag and length) read here, longer ones by varint_get. */
static inline int get_u(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if (*p < end && **p < 0x80) {
        *v = *(*p)++;
        return 0;
    }
    return varint_get(p, end, v) ? HL_ECORRUPT : 0;
}

/* One field at *p: its number, wire type, and for WT_LEN its bytes; *p moves past it. */
typedef struct field {
    uint64_t num;
    unsigned wt;
    const uint8_t *start, *data; /* the whole field; a WT_LEN field's bytes */
    uint64_t len, value;         /* WT_LEN's length; WT_VARINT's value */
} field_t;

static inline int next_field(const uint8_t **p, const uint8_t *end, field_t *f)
{
    f->start = f->data = *p;
    f->len = f->value = 0;
    uint64_t tag;
    if (get_u(p, end, &tag))
        return HL_ECORRUPT;
    f->num = tag >> 3;
    f->wt = (unsigned)(tag & 7);
    size_t left;
    switch (f->wt) {
    case WT_VARINT:
        return get_u(p, end, &f->value);
    case WT_I64:
        f->len = 8;
        break;
    case WT_I32:
        f->len = 4;
        break;
    case WT_LEN:
        if (get_u(p, end, &f->len))
            return HL_ECORRUPT;
        f->data = *p;
        break;
    default:
        return HL_ECORRUPT; /* groups: never written by protobuf-c for proto3 */
    }
    left = (size_t)(end - *p);
    if (f->len > left)
        return HL_ECORRUPT;
    *p += f->len;
    return 0;
}

/* ---- the dictionary cache ---- */

static size_t slot_of(const evpack_t *self, uint64_t h)
{
    return (size_t)(h & (self->nslots - 1));
}

static uint32_t cache_number(const evpack_t *self, const char *text, size_t len)
{
    if (!self->nslots)
        return 0;
    for (size_t i = slot_of(self, names_hash(text, len));; i = (i + 1) & (self->nslots - 1)) {
        uint32_t n = self->slots[i];
        if (!n)
            return 0;
        if (self->lens[n] == len && memcmp(self->texts[n], text, len) == 0)
            return n;
    }
}

/* Cache number n's text when n is committed (a number of an open transaction may vanish). */
static void cache_put(evpack_t *self, uint32_t n, const char *text, size_t len)
{
    if (n == 0 || n > self->committed || n > EVPACK_NAMES_MAX)
        return;
    if (n >= self->ntexts) {
        size_t cap = self->ntexts ? self->ntexts : 64;
        while (cap <= n)
            cap *= 2;
        char **t = realloc(self->texts, cap * sizeof *t);
        if (t)
            self->texts = t;
        uint32_t *l = t ? realloc(self->lens, cap * sizeof *l) : NULL;
        if (!l)
            return; /* a cache: it works without */
        self->lens = l;
        memset(self->texts + self->ntexts, 0, (cap - self->ntexts) * sizeof *t);
        self->ntexts = cap;
    }
    if (self->texts[n])
        return;
    if ((self->nused + 1) * 2 > self->nslots) {
        size_t ns = self->nslots ? self->nslots * 2 : 256;
        uint32_t *s = calloc(ns, sizeof *s);
        if (!s)
            return;
        uint32_t *old = self->slots;
        size_t nold = self->nslots;
        self->slots = s;
        self->nslots = ns;
        for (size_t i = 0; i < nold; i++) {
            uint32_t m = old[i];
            if (!m)
                continue;
            size_t j = slot_of(self, names_hash(self->texts[m], self->lens[m]));
            while (s[j])
                j = (j + 1) & (ns - 1);
            s[j] = m;
        }
        free(old);
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, text, len);
    copy[len] = '\0';
    self->texts[n] = copy;
    self->lens[n] = (uint32_t)len;
    size_t j = slot_of(self, names_hash(text, len));
    while (self->slots[j])
        j = (j + 1) & (self->nslots - 1);
    self->slots[j] = n;
    self->nused++;
}

/* text's number, given now if it has none and the dictionary has room; 0: keep the text. */
static int number_of(evpack_t *self, MDB_txn *txn, const uint8_t *text, size_t len,
                     uint32_t *out)
{
    *out = cache_number(self, (const char *)text, len);
    if (*out)
        return 0;
    int rc = names_number(txn, self->db, (const char *)text, len, false, out);
    if (!rc && !*out) {
        uint64_t last = 0;
        rc = names_last(txn, self->db, &last);
        if (!rc && last < EVPACK_NAMES_MAX)
            rc = names_number(txn, self->db, (const char *)text, len, true, out);
    }
    if (!rc && *out)
        cache_put(self, *out, (const char *)text, len);
    return rc;
}

static int text_of(evpack_t *self, MDB_txn *txn, uint64_t n, const char **text, size_t *len)
{
    if (n == 0 || n > UINT32_MAX)
        return HL_ECORRUPT;
    if (n < self->ntexts && self->texts[n]) {
        *text = self->texts[n];
        *len = self->lens[n];
        return 0;
    }
    int rc = names_text(txn, self->db, (uint32_t)n, text, len);
    if (rc == HL_ENOTFOUND)
        return HL_ECORRUPT; /* the entry names a text the dictionary never had */
    if (!rc)
        cache_put(self, (uint32_t)n, *text, *len);
    return rc;
}

/* ---- ticket ids ---- */

/* n decimal digits at s (1..18, no leading zero unless width allows it) into *v. */
static bool digits(const uint8_t *s, size_t n, size_t width, uint64_t *v)
{
    if (n == 0 || n > 18 || (n > width && s[0] == '0'))
        return false;
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        r = r * 10 + (s[i] - '0');
    }
    *v = r;
    return true;
}

/* v in decimal, zero-padded to width, at out; the bytes written. */
static size_t print_u64(uint8_t *out, uint64_t v, unsigned width)
{
    size_t n = 1;
    for (uint64_t t = v; t >= 10; t /= 10)
        n++;
    if (n < width)
        n = width;
    for (size_t i = n; i-- > 0; v /= 10)
        out[i] = (uint8_t)('0' + v % 10);
    return n;
}

/* The id as intake prints it (YYYYMMDD-%u-%06llu) from its three numbers. */
static size_t id_print(uint8_t *out, uint64_t date, uint64_t instance, uint64_t serial)
{
    size_t n = print_u64(out, date, 8);
    out[n++] = '-';
    n += print_u64(out + n, instance, 1);
    out[n++] = '-';
    return n + print_u64(out + n, serial, 6);
}

/* The id's three numbers when printing them gives the id back exactly: eight digits of date,
 * the instance without leading zeros, the serial zero-padded to six digits (no more). */
static bool id_numbers(const uint8_t *id, size_t n, uint64_t num[3])
{
    if (n < 17 || n > ID_MAX || id[8] != '-')
        return false;
    const uint8_t *dash = memchr(id + 9, '-', n - 9);
    return dash && digits(id, 8, 8, &num[0]) && num[0] >= DATE_BASE &&
           digits(id + 9, (size_t)(dash - id - 9), 1, &num[1]) && num[1] <= UINT32_MAX &&
           digits(dash + 1, n - (size_t)(dash + 1 - id), 6, &num[2]) &&
           n - (size_t)(dash + 1 - id) >= 6;
}

/* ---- encode and decode ---- */

static int put_len_field(bytebuf_t *out, uint64_t num, const void *p, size_t n)
{
    int rc = bytebuf_put_varint(out, num << 3 | WT_LEN);
    if (!rc)
        rc = bytebuf_put_varint(out, n);
    return rc ? rc : bytebuf_put(out, p, n);
}

/* Unchanged fields are copied as runs, from *run up to upto; *run moves to after. */
static int copy_run(bytebuf_t *out, const uint8_t **run, const uint8_t *upto, const uint8_t *after)
{
    int rc = bytebuf_put(out, *run, (size_t)(upto - *run));
    *run = after;
    return rc;
}

/* A body's fields with its numbered texts as numbers (encode) or texts again (decode). */
static int body_rewrite(evpack_t *self, MDB_txn *txn, uint64_t mask, const uint8_t *p,
                        const uint8_t *end, bool encode, bytebuf_t *out)
{
    const uint8_t *run = p;
    field_t f;
    int rc = 0;
    while (!rc && p < end && !(rc = next_field(&p, end, &f))) {
        if (f.num >= 64 || !(mask >> f.num & 1))
            continue;
        if (encode && f.wt == WT_LEN && f.len >= 2 && f.len <= EVPACK_TEXT_MAX) {
            uint32_t n;
            rc = number_of(self, txn, f.data, (size_t)f.len, &n);
            if (!rc && n && !(rc = copy_run(out, &run, f.start, p)) &&
                !(rc = bytebuf_put_varint(out, f.num << 3 | WT_VARINT)))
                rc = bytebuf_put_varint(out, n);
        } else if (!encode && f.wt == WT_VARINT) {
            const char *text;
            size_t len;
            rc = text_of(self, txn, f.value, &text, &len);
            if (!rc && !(rc = copy_run(out, &run, f.start, p)))
                rc = put_len_field(out, f.num, text, len);
        }
    }
    return rc ? rc : copy_run(out, &run, end, end);
}

/* A body field rewritten straight into out: its tag, its length (room for as many bytes as
 * it had; moved when the new length needs another number of bytes), its fields. */
static int body_field(evpack_t *self, MDB_txn *txn, const field_t *f, bool encode,
                      bytebuf_t *out)
{
    size_t guess = varint_size(f->len);
    int rc = bytebuf_put_varint(out, f->num << 3 | WT_LEN);
    if (!rc)
        rc = bytebuf_reserve(out, guess + f->len);
    if (rc)
        return rc;
    size_t at = out->n;
    out->n += guess;
    rc = body_rewrite(self, txn, self->mask[f->num], f->data, f->data + f->len, encode, out);
    if (rc)
        return rc;
    size_t len = out->n - at - guess, need = varint_size(len);
    if (need != guess) {
        if (need > guess && (rc = bytebuf_reserve(out, need - guess)))
            return rc;
        memmove(out->p + at + need, out->p + at + guess, len);
        out->n = out->n - guess + need;
    }
    varint_put(out->p + at, len);
    return 0;
}

static int rewrite(evpack_t *self, MDB_txn *txn, const uint8_t *p, size_t n, bool encode,
                   bytebuf_t *out)
{
    const uint8_t *end = p + n, *run = p;
    field_t f;
    int rc = 0;
    while (!rc && p < end && !(rc = next_field(&p, end, &f))) {
        uint64_t num[3];
        if (encode && f.num == PACKED_ID_FIELD)
            return HL_EINVAL; /* an unknown field 5 (a newer sender's?): not in this form */
        if (encode && f.num == ID_FIELD && f.wt == WT_LEN && id_numbers(f.data, f.len, num)) {
            uint8_t packed[30];
            size_t len = varint_put(packed, num[0] - DATE_BASE);
            len += varint_put(packed + len, num[1]);
            len += varint_put(packed + len, num[2]);
            if (!(rc = copy_run(out, &run, f.start, p)))
                rc = put_len_field(out, PACKED_ID_FIELD, packed, len);
        } else if (!encode && f.num == PACKED_ID_FIELD && f.wt == WT_LEN) {
            const uint8_t *q = f.data, *qend = f.data + f.len;
            uint8_t id[ID_MAX + 40];
            if (get_u(&q, qend, &num[0]) || get_u(&q, qend, &num[1]) ||
                get_u(&q, qend, &num[2]) || q != qend || num[0] > UINT32_MAX ||
                num[1] > UINT32_MAX || num[2] > UINT64_MAX / 2)
                return HL_ECORRUPT;
            if (!(rc = copy_run(out, &run, f.start, p)))
                rc = put_len_field(out, ID_FIELD, id,
                                   id_print(id, num[0] + DATE_BASE, num[1], num[2]));
        } else if (f.wt == WT_LEN && f.num < EVENT_FIELDS && self->mask[f.num]) {
            if (!(rc = copy_run(out, &run, f.start, p)))
                rc = body_field(self, txn, &f, encode, out);
        }
    }
    return rc ? rc : copy_run(out, &run, end, end);
}

int evpack_encode(evpack_t *self, MDB_txn *txn, const uint8_t *in, size_t n, bytebuf_t *out)
{
    return rewrite(self, txn, in, n, true, out);
}

int evpack_decode(evpack_t *self, MDB_txn *txn, const uint8_t *in, size_t n, bytebuf_t *out)
{
    return rewrite(self, txn, in, n, false, out);
}

/* ---- open, close ---- */

static uint64_t named_mask(const ProtobufCMessageDescriptor *d)
{
    uint64_t mask = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING || f->id >= 64)
            continue;
        for (size_t j = 0; j < sizeof NAMED_FIELDS / sizeof *NAMED_FIELDS; j++) {
            if (strcmp(f->name, NAMED_FIELDS[j]) == 0)
                mask |= UINT64_C(1) << f->id;
        }
    }
    return mask;
}

int evpack_open(evpack_t **out, store_t *store)
{
    evpack_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    const ProtobufCMessageDescriptor *ev = &hotline__event__descriptor;
    for (unsigned i = 0; i < ev->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &ev->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->id < EVENT_FIELDS)
            self->mask[f->id] = named_mask(f->descriptor);
    }
    int rc = store_db(store, "log_names", 0, &self->db);
    MDB_txn *txn = NULL;
    if (!rc)
        rc = store_read_begin(store, &txn);
    if (!rc) {
        evpack_committed(self, txn);
        store_read_end(&txn);
    }
    if (rc) {
        free(self);
        return rc;
    }
    *out = self;
    return 0;
}

void evpack_committed(evpack_t *self, MDB_txn *txn)
{
    uint64_t last = 0;
    if (names_last(txn, self->db, &last) == 0 && last > self->committed)
        self->committed = last;
}

void evpack_close(evpack_t **self)
{
    if (!self || !*self)
        return;
    for (size_t i = 0; i < (*self)->ntexts; i++)
        free((*self)->texts[i]);
    free((*self)->texts);
    free((*self)->lens);
    free((*self)->slots);
    free(*self);
    *self = NULL;
}
