/* names: numbers for distinct texts in one sub-database (layout in names.h). */
#include "names.h"

#include "hl_error.h"

#include <stdlib.h>
#include <string.h>

#define PROBES 16 /* texts sharing one 64-bit hash; the 17th gets no number */

uint64_t names_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

static void number_key(uint8_t key[5], uint32_t n)
{
    key[0] = 'n';
    store_be32_put(key + 1, n);
}

int names_number(MDB_txn *txn, MDB_dbi db, const char *text, size_t len, bool give,
                 uint32_t *out)
{
    *out = 0;
    uint8_t hkey[10] = {'h'};
    store_be64_put(hkey + 1, names_hash(text, len));
    unsigned probe = 0;
    for (; probe < PROBES; probe++) {
        hkey[9] = (uint8_t)probe;
        MDB_val v;
        int rc = store_get(txn, db, hkey, sizeof hkey, &v);
        if (rc == HL_ENOTFOUND)
            break;
        if (rc)
            return rc;
        if (v.mv_size == 4 + len + 1 && memcmp((const uint8_t *)v.mv_data + 4, text, len) == 0) {
            *out = store_be32_get(v.mv_data);
            return 0;
        }
    }
    if (!give || probe == PROBES)
        return 0;
    uint64_t n;
    int rc = store_add_u64(txn, db, "#", 1, 1, &n);
    if (rc || n > UINT32_MAX)
        return rc;
    uint8_t *val = malloc(4 + len + 1);
    if (!val)
        return HL_ENOMEM;
    store_be32_put(val, (uint32_t)n);
    memcpy(val + 4, text, len);
    val[4 + len] = '\0';
    uint8_t nkey[5];
    number_key(nkey, (uint32_t)n);
    rc = store_put(txn, db, hkey, sizeof hkey, val, 4 + len + 1, 0);
    if (!rc)
        rc = store_put(txn, db, nkey, sizeof nkey, val + 4, len + 1, 0);
    free(val);
    if (!rc)
        *out = (uint32_t)n;
    return rc;
}

int names_last(MDB_txn *txn, MDB_dbi db, uint64_t *out)
{
    return store_get_u64(txn, db, "#", 1, out);
}

int names_text(MDB_txn *txn, MDB_dbi db, uint32_t number, const char **text, size_t *len)
{
    uint8_t nkey[5];
    number_key(nkey, number);
    MDB_val v;
    int rc = store_get(txn, db, nkey, sizeof nkey, &v);
    if (rc)
        return rc;
    const char *t = v.mv_data;
    if (v.mv_size == 0 || t[v.mv_size - 1] != '\0')
        return HL_ECORRUPT;
    *text = t;
    *len = v.mv_size - 1;
    return 0;
}

typedef struct walk {
    names_fn fn;
    void *ctx;
} walk_t;

static int visit(void *ctx, const store_entry_t *e)
{
    walk_t *w = ctx;
    if (e->key.mv_size != 10 || ((const char *)e->key.mv_data)[0] != 'h')
        return 0; /* the numbers' side, the counter */
    const char *v = e->val.mv_data;
    if (e->val.mv_size < 4 + 1 || v[e->val.mv_size - 1] != '\0')
        return HL_ECORRUPT;
    return w->fn(w->ctx, v + 4, e->val.mv_size - 5, store_be32_get(v));
}

int names_scan(MDB_txn *txn, MDB_dbi db, names_fn fn, void *ctx)
{
    walk_t w = {fn, ctx};
    store_range_t r = {.prefix = "h", .prefix_len = 1};
    return store_scan(txn, db, &r, visit, &w);
}
