/* store: one LMDB environment per service, opened once, and the only place LMDB return codes
 * become HL_E* codes.
 *
 * Sub-databases are opened by name at start-up (store_db). Writes happen in one write
 * transaction at a time (the txq module drives them); reads in short read-only transactions.
 * The map starts at map_size and doubles on HL_EFULL (store_grow) up to max_map_size, after
 * which writes fail with HL_ENOSPC: the service then refuses new work and keeps what it has.
 * Readers left behind by a killed process are cleared at open.
 *
 * Durability modes (store_sync_t) are a setting; see README "Durability".
 * Loop thread only. LMDB values returned by store_get are borrowed until the transaction ends.
 *
 * This is the one module that speaks LMDB: services read, write, count and scan through it
 * (store_scan, store_seek...) and never call mdb_* themselves. */
#ifndef HOTLINE_STORE_H
#define HOTLINE_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

typedef enum {
    STORE_SYNC_FULL = 0,       /* flush data and meta page each commit */
    STORE_SYNC_NOMETASYNC = 1, /* one flush per commit */
    STORE_SYNC_NOSYNC = 2,     /* no flush: survives kill -9, not power loss */
} store_sync_t;

/* Named sub-databases an environment may hold unless told: dispatch alone opens some 25 of its
 * own plus 3 per crew connector and the runtime's (event log, feeds, commands, schedulers). */
#define STORE_MAX_DBS_DEFAULT 256

typedef struct store_opts {
    const char *path;       /* directory; created if missing */
    size_t map_size;        /* initial map size in bytes (default 64 MiB when 0) */
    size_t max_map_size;    /* growth limit (default 64 GiB when 0) */
    store_sync_t sync;
    unsigned max_dbs;       /* named sub-databases (default STORE_MAX_DBS_DEFAULT when 0) */
} store_opts_t;

/* Open (creating) the environment. Errors: HL_EIO (with errno logged), HL_EINVAL,
 * HL_ECORRUPT (not an LMDB environment / version mismatch), HL_EAGAIN (another process holds it). */
int store_open(store_t **out, const store_opts_t *opts);

/* Close. No transaction may be open. Nulls *self. */
void store_close(store_t **self);

/* Open or create a named sub-database. flags: MDB_INTEGERKEY, MDB_DUPSORT... (MDB_CREATE is
 * implied). Call at start-up, before any other transaction. */
int store_db(store_t *self, const char *name, unsigned flags, MDB_dbi *out);

/* Transactions. A failed commit has already aborted. */
int store_read_begin(store_t *self, MDB_txn **txn);
void store_read_end(MDB_txn **txn);
int store_write_begin(store_t *self, MDB_txn **txn);
int store_write_commit(store_t *self, MDB_txn **txn);
void store_write_abort(MDB_txn **txn);
/* Nested write transaction (a savepoint); commit merges into the parent. */
int store_child_begin(store_t *self, MDB_txn *parent, MDB_txn **child);

/* fn(ctx, txn) runs inside every top-level write transaction of self just before it commits
 * (not for nested ones): where writes gathered over a transaction go (evlog's counts of
 * appended kinds). Its error aborts the transaction and is store_write_commit's. At most
 * STORE_HOOKS_MAX; store_off_commit removes one. */
#define STORE_HOOKS_MAX 4
typedef int (*store_commit_fn)(void *ctx, MDB_txn *txn);
int store_on_commit(store_t *self, store_commit_fn fn, void *ctx);
void store_off_commit(store_t *self, store_commit_fn fn, void *ctx);

/* Double the map size (up to max_map_size). No transaction may be open.
 * Errors: HL_ENOSPC when already at the limit, HL_EIO. */
int store_grow(store_t *self);

/* Flush to disk now (for NOSYNC mode at shutdown). */
int store_sync(store_t *self);

/* Key/value helpers, translated codes. out is borrowed until the transaction ends. */
int store_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *out);
int store_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned flags);
int store_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen);
/* Delete every entry of dbi (it stays open), inside txn. Errors: the store's. */
int store_clear(MDB_txn *txn, MDB_dbi dbi);

/* Put vlen bytes for key without copying a value: *out is where the caller writes them, in
 * place (packing straight into the page saves a buffer and a copy). *out is borrowed until
 * the next write in the transaction or its end: fill it before anything else writes. flags
 * as store_put (not for MDB_DUPSORT databases). Errors: those of store_put; *out is NULL. */
int store_put_reserve(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, size_t vlen,
                      unsigned flags, void **out);

/* Delete the entry an open cursor of a write transaction is at (mdb_cursor_del). Errors: the
 * store's. */
int store_cursor_del(MDB_cursor *cur);

/* A cursor for many point updates of one transaction: keys visited in the store's order are
 * found on the page the cursor is already on, without a walk from the root. open / close;
 * seek: HL_ENOTFOUND when key is absent, else *val is its value and the cursor is there;
 * replace: overwrite the value of the entry the cursor is at (after a seek that found it). */
int store_cursor_open(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **out);
void store_cursor_close(MDB_cursor *cur);
int store_cursor_seek(MDB_cursor *cur, const void *key, size_t klen, MDB_val *val);
int store_cursor_replace(MDB_cursor *cur, const void *key, size_t klen, const void *val,
                         size_t vlen);

/* How many writes (put, reserve, delete, clear, cursor delete) this thread has asked of any
 * store so far, failed ones included. Two readings that differ mean something may have been
 * written in between: cmdexec tells a refusal that wrote nothing (kept in the batch as is)
 * from one that must be rolled back. Writes are only counted when they go through these
 * functions: the reason nothing else calls mdb_put, mdb_del or mdb_cursor_del. */
uint64_t store_writes(void);

/* Counters stored as 8 big-endian bytes. get: *out = the value, 0 when the key is absent.
 * add: adds delta (negative allowed; the result never goes below 0), stores it, and gives the
 * new value in *out (may be NULL). Errors: HL_ECORRUPT (a value that is not 8 bytes) and the
 * store's. */
int store_get_u64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t *out);
int store_add_u64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, int64_t delta,
                  uint64_t *out);

/* ---- positions and scans --------------------------------------------------------------
 * Keys are ordered as LMDB orders them (bytewise by default, a shorter key before a longer one
 * it begins). key and val results are borrowed until the next write in the transaction or its
 * end; key and val may be NULL when not wanted. */

/* The first (store_first) or last (store_last) entry of a database: HL_ENOTFOUND when empty. */
int store_first(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val);
int store_last(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val);

/* The entry at `at` or the first after it (reverse: at `at` or the last before it); at NULL:
 * the first (reverse: last) entry. HL_ENOTFOUND when there is none. */
int store_seek(MDB_txn *txn, MDB_dbi dbi, const void *at, size_t at_len, bool reverse, MDB_val *key,
               MDB_val *val);

/* How many entries the database holds (as this transaction sees it). */
int store_count(MDB_txn *txn, MDB_dbi dbi, uint64_t *out);

/* Which entries store_scan visits, in key order (reverse: backwards). A zeroed range (or
 * NULL) is the whole database.
 *   from    forward: start at the first key >= from; reverse: at the last key <= from.
 *           NULL: at the first (reverse: last) key.
 *   prefix  only keys that begin with these bytes; the scan ends at the first that does not.
 *           NULL or length 0: no bound. Bytewise: for databases in the default key order.
 * With both, the scan visits the keys that begin with prefix and are >= from (reverse: <=). */
typedef struct store_range {
    const void *from;
    size_t from_len;
    const void *prefix;
    size_t prefix_len;
    bool reverse;
} store_range_t;

/* One entry shown to a scan's callback. key and val are borrowed until the callback returns
 * (or until store_scan_del). cursor is the scan's own: for store_scan_del only. */
typedef struct store_entry {
    MDB_val key;
    MDB_val val;
    MDB_cursor *cursor;
} store_entry_t;

/* A scan callback returns 0 to go on, a positive value to stop the scan there (store_scan
 * then returns 0: keep in ctx why it stopped if the caller needs to know), or a negative
 * HL_E* code to abort it (store_scan returns that code). It may read anything and write other
 * databases in the transaction; this database only through store_scan_del. It must not begin
 * a child transaction. */
typedef int (*store_scan_fn)(void *ctx, const store_entry_t *e);

/* Visit the range's entries in order. Returns 0 when the range is exhausted or the callback
 * stopped it, the callback's negative code, or the store's (HL_ECORRUPT, HL_EIO...). */
int store_scan(MDB_txn *txn, MDB_dbi dbi, const store_range_t *range, store_scan_fn fn, void *ctx);

/* Inside a write transaction's scan callback: delete the entry e shows. The scan goes on with
 * the entry after it (reverse: before it). e->key and e->val are no longer valid: copy what is
 * needed first. Errors: the store's. */
int store_scan_del(const store_entry_t *e);

/* Current map size, the size growth stops at (max_map_size), and bytes in use (pages used x
 * page size). */
size_t store_map_size(const store_t *self);
size_t store_max_map_size(const store_t *self);
size_t store_used_bytes(store_t *self);
uint64_t store_grow_count(const store_t *self);
const char *store_path(const store_t *self);

/* A value read as text: its bytes into out (cut to out_size - 1), NUL-terminated; returns
 * the length copied. For values that are an id or a name without a NUL of their own. */
static inline size_t store_val_str(const MDB_val *v, char *out, size_t out_size)
{
    size_t n = v->mv_size < out_size - 1 ? v->mv_size : out_size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = ((const char *)v->mv_data)[i];
    out[n] = '\0';
    return n;
}

/* Big-endian integer keys sort by value. */
static inline void store_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t store_be64_get(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

static inline void store_be32_put(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

static inline uint32_t store_be32_get(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

#endif
