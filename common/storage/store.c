/* store: the LMDB environment of one service. Loop thread. */
#include "store.h"

#include "hl_error.h"
#include "slog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

struct store {
    MDB_env *env;
    char *path;
    size_t map_size;     /* current map size */
    size_t max_map_size; /* growth stops here */
    uint64_t grows;      /* how many times the map grew, for metrics */
    unsigned max_dbs;    /* named sub-databases allowed */
    MDB_txn *top;        /* the top-level write transaction open now, if any */
    struct {
        store_commit_fn fn;
        void *ctx;
    } hooks[STORE_HOOKS_MAX]; /* store_on_commit */
    unsigned nhooks;
};

/* Writes asked of LMDB by this thread (see store_writes). Every write below counts itself
 * before it calls LMDB: a write that fails may still have touched pages. */
static _Thread_local uint64_t writes;

uint64_t store_writes(void)
{
    return writes;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return HL_EINVAL;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return hl_error_from_errno(errno);
        *p = '/';
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
        return hl_error_from_errno(errno);
    return 0;
}

static unsigned sync_flags(store_sync_t sync)
{
    switch (sync) {
    case STORE_SYNC_NOMETASYNC: return MDB_NOMETASYNC;
    case STORE_SYNC_NOSYNC: return MDB_NOSYNC;
    default: return 0;
    }
}

int store_open(store_t **out, const store_opts_t *opts)
{
    if (!opts || !opts->path || !*opts->path)
        return HL_EINVAL;
    store_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->path = strdup(opts->path);
    self->map_size = opts->map_size ? opts->map_size : 64 * MIB;
    self->max_map_size = opts->max_map_size ? opts->max_map_size : 64 * GIB;
    if (self->map_size > self->max_map_size)
        self->map_size = self->max_map_size;
    int rc = self->path ? mkdir_p(opts->path) : HL_ENOMEM;
    if (rc) {
        SLOG_ERROR("store_open_failed", "path=%s reason=\"cannot create directory: %s\"",
                   opts->path, hl_strerror(rc));
        goto fail;
    }
    self->max_dbs = opts->max_dbs ? opts->max_dbs : STORE_MAX_DBS_DEFAULT;
    int mrc = mdb_env_create(&self->env);
    if (mrc == 0)
        mrc = mdb_env_set_maxdbs(self->env, self->max_dbs);
    if (mrc == 0)
        mrc = mdb_env_set_mapsize(self->env, self->map_size);
    if (mrc == 0)
        mrc = mdb_env_open(self->env, self->path, MDB_NOTLS | sync_flags(opts->sync), 0640);
    if (mrc != 0) {
        SLOG_ERROR("store_open_failed", "path=%s reason=\"%s\"", self->path, mdb_strerror(mrc));
        rc = hl_error_from_mdb(mrc);
        goto fail;
    }
    /* A killed process leaves its reader slots behind; they would pin old pages forever. */
    int dead = 0;
    mdb_reader_check(self->env, &dead);
    if (dead)
        SLOG_INFO("store_stale_readers_cleared", "path=%s count=%d", self->path, dead);
    /* The file may already be larger than the configured start size. */
    MDB_envinfo info;
    mdb_env_info(self->env, &info);
    self->map_size = info.me_mapsize;
    *out = self;
    return 0;
fail:
    if (self->env)
        mdb_env_close(self->env);
    free(self->path);
    free(self);
    return rc;
}

void store_close(store_t **self)
{
    if (!self || !*self)
        return;
    mdb_env_close((*self)->env);
    free((*self)->path);
    free(*self);
    *self = NULL;
}

int store_db(store_t *self, const char *name, unsigned flags, MDB_dbi *out)
{
    MDB_txn *txn;
    int rc = store_write_begin(self, &txn);
    if (rc)
        return rc;
    int mrc = mdb_dbi_open(txn, name, flags | MDB_CREATE, out);
    if (mrc) {
        mdb_txn_abort(txn);
        if (mrc == MDB_DBS_FULL)
            SLOG_ERROR("store_dbs_full", "db=%s limit=%u next=\"raise store_opts.max_dbs\"",
                       name, self->max_dbs);
        return hl_error_from_mdb(mrc);
    }
    return store_write_commit(self, &txn);
}

static int txn_begin(store_t *self, MDB_txn *parent, unsigned flags, MDB_txn **txn)
{
    int mrc = mdb_txn_begin(self->env, parent, flags, txn);
    if (mrc == MDB_MAP_RESIZED) {
        /* Another process grew the map (only tools do: mdb_copy, mdb_stat). Adopt it. */
        mdb_env_set_mapsize(self->env, 0);
        mrc = mdb_txn_begin(self->env, parent, flags, txn);
    }
    return hl_error_from_mdb(mrc);
}

int store_read_begin(store_t *self, MDB_txn **txn)
{
    return txn_begin(self, NULL, MDB_RDONLY, txn);
}

void store_read_end(MDB_txn **txn)
{
    if (txn && *txn) {
        mdb_txn_abort(*txn);
        *txn = NULL;
    }
}

int store_write_begin(store_t *self, MDB_txn **txn)
{
    int rc = txn_begin(self, NULL, 0, txn);
    self->top = rc ? NULL : *txn;
    return rc;
}

int store_on_commit(store_t *self, store_commit_fn fn, void *ctx)
{
    if (self->nhooks == STORE_HOOKS_MAX)
        return HL_EINTERNAL;
    self->hooks[self->nhooks].fn = fn;
    self->hooks[self->nhooks++].ctx = ctx;
    return 0;
}

void store_off_commit(store_t *self, store_commit_fn fn, void *ctx)
{
    for (unsigned i = 0; i < self->nhooks; i++) {
        if (self->hooks[i].fn == fn && self->hooks[i].ctx == ctx) {
            self->hooks[i] = self->hooks[--self->nhooks];
            return;
        }
    }
}

int store_child_begin(store_t *self, MDB_txn *parent, MDB_txn **child)
{
    return txn_begin(self, parent, 0, child);
}

int store_write_commit(store_t *self, MDB_txn **txn)
{
    if (*txn == self->top) {
        self->top = NULL;
        for (unsigned i = 0; i < self->nhooks; i++) {
            int rc = self->hooks[i].fn(self->hooks[i].ctx, *txn);
            if (rc) {
                store_write_abort(txn);
                return rc;
            }
        }
    }
    int mrc = mdb_txn_commit(*txn);
    *txn = NULL;
    if (mrc && mrc != MDB_MAP_FULL && mrc != MDB_TXN_FULL)
        SLOG_WARN("store_commit_failed", "path=%s reason=\"%s\"", self->path,
                  mdb_strerror(mrc));
    return hl_error_from_mdb(mrc);
}

void store_write_abort(MDB_txn **txn)
{
    if (txn && *txn) {
        mdb_txn_abort(*txn);
        *txn = NULL;
    }
}

int store_grow(store_t *self)
{
    if (self->map_size >= self->max_map_size)
        return HL_ENOSPC;
    size_t next = self->map_size * 2;
    if (next > self->max_map_size || next < self->map_size)
        next = self->max_map_size;
    int mrc = mdb_env_set_mapsize(self->env, next);
    if (mrc) {
        SLOG_ERROR("store_grow_failed", "path=%s size_bytes=%zu reason=\"%s\"", self->path, next,
                   mdb_strerror(mrc));
        return hl_error_from_mdb(mrc);
    }
    SLOG_INFO("store_grown", "path=%s from_bytes=%zu to_bytes=%zu", self->path, self->map_size,
              next);
    self->map_size = next;
    self->grows++;
    return 0;
}

int store_sync(store_t *self)
{
    return hl_error_from_mdb(mdb_env_sync(self->env, 1));
}

int store_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *out)
{
    MDB_val k = {klen, (void *)key};
    return hl_error_from_mdb(mdb_get(txn, dbi, &k, out));
}

int store_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned flags)
{
    MDB_val k = {klen, (void *)key};
    MDB_val v = {vlen, (void *)val};
    writes++;
    return hl_error_from_mdb(mdb_put(txn, dbi, &k, &v, flags));
}

int store_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key};
    writes++;
    return hl_error_from_mdb(mdb_del(txn, dbi, &k, NULL));
}

int store_clear(MDB_txn *txn, MDB_dbi dbi)
{
    writes++;
    return hl_error_from_mdb(mdb_drop(txn, dbi, 0));
}

int store_get_u64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t *out)
{
    MDB_val v;
    *out = 0;
    int rc = store_get(txn, dbi, key, klen, &v);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return HL_ECORRUPT;
    *out = store_be64_get(v.mv_data);
    return 0;
}

int store_add_u64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, int64_t delta,
                  uint64_t *out)
{
    uint64_t n;
    int rc = store_get_u64(txn, dbi, key, klen, &n);
    if (rc)
        return rc;
    if (delta < 0)
        n = (uint64_t)-delta > n ? 0 : n - (uint64_t)-delta;
    else
        n += (uint64_t)delta;
    uint8_t buf[8];
    store_be64_put(buf, n);
    rc = store_put(txn, dbi, key, klen, buf, 8, 0);
    if (rc == 0 && out)
        *out = n;
    return rc;
}

int store_put_reserve(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, size_t vlen,
                      unsigned flags, void **out)
{
    MDB_val k = {klen, (void *)key};
    MDB_val v = {vlen, NULL};
    writes++;
    int mrc = mdb_put(txn, dbi, &k, &v, flags | MDB_RESERVE);
    *out = mrc ? NULL : v.mv_data;
    return hl_error_from_mdb(mrc);
}

int store_count(MDB_txn *txn, MDB_dbi dbi, uint64_t *out)
{
    MDB_stat st;
    int mrc = mdb_stat(txn, dbi, &st);
    *out = mrc ? 0 : st.ms_entries;
    return hl_error_from_mdb(mrc);
}

/* ---- positions and scans ---- */

/* Put cur on the first entry a walk from at visits (at NULL: the first / last key). Forward:
 * the first key >= at. Reverse: the last key <= at, or < at when !inclusive. Returns an LMDB
 * code: callers translate it once. */
static int seek(MDB_cursor *cur, const MDB_val *at, bool reverse, bool inclusive, MDB_val *k,
                MDB_val *v)
{
    if (!at)
        return mdb_cursor_get(cur, k, v, reverse ? MDB_LAST : MDB_FIRST);
    *k = *at;
    int mrc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (!reverse)
        return mrc;
    if (mrc == MDB_NOTFOUND) /* every key is below at */
        return mdb_cursor_get(cur, k, v, MDB_LAST);
    bool exact = k->mv_size == at->mv_size && memcmp(k->mv_data, at->mv_data, at->mv_size) == 0;
    if (mrc == 0 && (!exact || !inclusive))
        return mdb_cursor_get(cur, k, v, MDB_PREV);
    return mrc;
}

int store_seek(MDB_txn *txn, MDB_dbi dbi, const void *at, size_t at_len, bool reverse, MDB_val *key,
               MDB_val *val)
{
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, dbi, &cur);
    if (mrc)
        return hl_error_from_mdb(mrc);
    MDB_val from = {at_len, (void *)at}, k, v;
    mrc = seek(cur, at ? &from : NULL, reverse, true, &k, &v);
    mdb_cursor_close(cur);
    if (mrc == 0) {
        if (key)
            *key = k;
        if (val)
            *val = v;
    }
    return hl_error_from_mdb(mrc);
}

int store_first(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val)
{
    return store_seek(txn, dbi, NULL, 0, false, key, val);
}

int store_last(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val)
{
    return store_seek(txn, dbi, NULL, 0, true, key, val);
}

/* LMDB's default MDB_MAXKEYSIZE: no stored key is longer. */
#define KEY_MAX 511

/* The smallest key above every key that begins with prefix: prefix without its trailing 0xFF
 * bytes, the last byte left plus one. False when there is none (a prefix of only 0xFF). */
static bool prefix_end(const MDB_val *prefix, uint8_t buf[KEY_MAX], MDB_val *out)
{
    const uint8_t *p = prefix->mv_data;
    size_t n = prefix->mv_size;
    while (n > 0 && p[n - 1] == 0xFF)
        n--;
    if (n == 0)
        return false;
    memcpy(buf, p, n);
    buf[n - 1]++;
    *out = (MDB_val){n, buf};
    return true;
}

static bool has_prefix(const MDB_val *k, const MDB_val *prefix)
{
    return prefix->mv_size == 0 || (k->mv_size >= prefix->mv_size &&
                                    memcmp(k->mv_data, prefix->mv_data, prefix->mv_size) == 0);
}

int store_scan(MDB_txn *txn, MDB_dbi dbi, const store_range_t *range, store_scan_fn fn, void *ctx)
{
    static const store_range_t whole;
    const store_range_t *r = range ? range : &whole;
    MDB_val from = {r->from_len, (void *)r->from};
    MDB_val prefix = {r->prefix ? r->prefix_len : 0, (void *)r->prefix}, end;
    uint8_t end_buf[KEY_MAX];
    if (prefix.mv_size > KEY_MAX)
        return 0; /* no key is that long: nothing to visit */
    /* Where the walk starts: from, moved into the prefix's keys when it lies outside them on
     * the side the walk comes from (forward: below them; reverse: above them). */
    const MDB_val *at = r->from ? &from : NULL;
    bool inclusive = true;
    if (prefix.mv_size && !r->reverse && (!at || mdb_cmp(txn, dbi, at, &prefix) < 0)) {
        at = &prefix;
    } else if (prefix.mv_size && r->reverse && prefix_end(&prefix, end_buf, &end) &&
               (!at || mdb_cmp(txn, dbi, at, &end) >= 0)) {
        at = &end;
        inclusive = false;
    }
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, dbi, &cur);
    if (mrc)
        return hl_error_from_mdb(mrc);
    store_entry_t e = {.cursor = cur};
    int rc = 0;
    for (mrc = seek(cur, at, r->reverse, inclusive, &e.key, &e.val); mrc == 0;
         mrc = mdb_cursor_get(cur, &e.key, &e.val, r->reverse ? MDB_PREV : MDB_NEXT)) {
        if (!has_prefix(&e.key, &prefix))
            break;
        rc = fn(ctx, &e);
        if (rc)
            break;
    }
    mdb_cursor_close(cur);
    if (rc)
        return rc < 0 ? rc : 0;
    return mrc == MDB_NOTFOUND ? 0 : hl_error_from_mdb(mrc);
}

int store_scan_del(const store_entry_t *e)
{
    return store_cursor_del(e->cursor);
}

int store_cursor_del(MDB_cursor *cur)
{
    writes++;
    return hl_error_from_mdb(mdb_cursor_del(cur, 0));
}

int store_cursor_open(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **out)
{
    return hl_error_from_mdb(mdb_cursor_open(txn, dbi, out));
}

void store_cursor_close(MDB_cursor *cur)
{
    if (cur)
        mdb_cursor_close(cur);
}

int store_cursor_seek(MDB_cursor *cur, const void *key, size_t klen, MDB_val *val)
{
    MDB_val k = {klen, (void *)key};
    int mrc = mdb_cursor_get(cur, &k, val, MDB_SET_KEY);
    return mrc == MDB_NOTFOUND ? HL_ENOTFOUND : hl_error_from_mdb(mrc);
}

int store_cursor_replace(MDB_cursor *cur, const void *key, size_t klen, const void *val,
                         size_t vlen)
{
    writes++;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    return hl_error_from_mdb(mdb_cursor_put(cur, &k, &v, MDB_CURRENT));
}

size_t store_map_size(const store_t *self)
{
    return self->map_size;
}

size_t store_max_map_size(const store_t *self)
{
    return self->max_map_size;
}

size_t store_used_bytes(store_t *self)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(self->env, &info);
    mdb_env_stat(self->env, &st);
    return (size_t)(info.me_last_pgno + 1) * st.ms_psize;
}

uint64_t store_grow_count(const store_t *self)
{
    return self->grows;
}

const char *store_path(const store_t *self)
{
    return self->path;
}
