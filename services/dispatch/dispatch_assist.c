/* dispatch_assist: the assisting units (协办) of a ticket, named by the catalogue rule that
 * routed it. They read the ticket and add progress notes; the lead unit (主办) holds it.
 *
 * "assists"       ticket id -> the units, NUL-separated (absent: none)
 * "assist_index"  unit NUL ticket id -> ""   (the tickets a unit assists on, by ticket id)
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"

#include <string.h>

#define KEY_MAX (DISPATCH_UNIT_ID_MAX + 1 + DISPATCH_TICKET_ID_MAX)

static size_t index_key(char out[KEY_MAX], const char *unit, const char *ticket)
{
    size_t u = strlen(unit), t = strlen(ticket);
    memcpy(out, unit, u);
    out[u] = '\0';
    memcpy(out + u + 1, ticket, t);
    return u + 1 + t;
}

int dispatch_assists_put(dispatch_t *self, MDB_txn *txn, const char *ticket,
                         const char *const *units, size_t n)
{
    if (n == 0)
        return 0;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (strlen(units[i]) > DISPATCH_UNIT_ID_MAX)
            return HL_EINVAL;
        len += strlen(units[i]) + 1;
    }
    void *at;
    int rc = store_put_reserve(txn, self->assists, ticket, strlen(ticket), len, 0, &at);
    if (rc)
        return rc;
    /* Fill the reserved value before any other write: a later write may move the page. */
    char *p = at;
    for (size_t i = 0; i < n; i++) {
        size_t u = strlen(units[i]) + 1;
        memcpy(p, units[i], u);
        p += u;
    }
    for (size_t i = 0; i < n; i++) {
        char key[KEY_MAX];
        rc = store_put(txn, self->assist_index, key, index_key(key, units[i], ticket), "", 0, 0);
        if (rc)
            return rc;
    }
    return 0;
}

int dispatch_assists_each(dispatch_t *self, MDB_txn *txn, const char *ticket,
                          int (*fn)(void *ctx, const char *unit), void *ctx)
{
    MDB_val v;
    int rc = store_get(txn, self->assists, ticket, strlen(ticket), &v);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    const char *p = v.mv_data, *end = p + v.mv_size;
    while (p < end) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul)
            return HL_ECORRUPT;
        if ((rc = fn(ctx, p)))
            return rc;
        p = nul + 1;
    }
    return 0;
}

bool dispatch_assists_on(dispatch_t *self, MDB_txn *txn, const char *ticket, const char *unit)
{
    char key[KEY_MAX];
    MDB_val v;
    if (strlen(unit) > DISPATCH_UNIT_ID_MAX || strlen(ticket) > DISPATCH_TICKET_ID_MAX)
        return false;
    return store_get(txn, self->assist_index, key, index_key(key, unit, ticket), &v) == 0;
}

typedef struct add_ctx {
    const char *unit;
    const char *list[DISPATCH_READERS_MAX];
    size_t n;
} add_ctx_t;

static int collect(void *ctx, const char *unit)
{
    add_ctx_t *c = ctx;
    if (strcmp(unit, c->unit) == 0)
        return 1; /* there already */
    if (c->n == sizeof c->list / sizeof *c->list - 1)
        return HL_ETOOBIG;
    c->list[c->n++] = unit;
    return 0;
}

int dispatch_assists_add(dispatch_t *self, MDB_txn *txn, const char *ticket, const char *unit)
{
    add_ctx_t c = {.unit = unit};
    int rc = dispatch_assists_each(self, txn, ticket, collect, &c);
    if (rc == 1)
        return 0;
    if (rc)
        return rc;
    /* The list points into the store's page: copy it before writing over it. */
    char buf[DISPATCH_READERS_MAX * (DISPATCH_UNIT_ID_MAX + 1)];
    size_t used = 0;
    for (size_t i = 0; i < c.n; i++) {
        size_t len = strlen(c.list[i]) + 1;
        memcpy(buf + used, c.list[i], len);
        c.list[i] = buf + used;
        used += len;
    }
    c.list[c.n++] = unit;
    return dispatch_assists_put(self, txn, ticket, c.list, c.n);
}
