/* dispatch_routes: the route texts assignments name by number ("route_texts": common/storage
 * names), and the texts of the catalogue in use made once.
 *
 * A ticket's route ("catalogue 3 line 12: W04 in Gulou -> repair-crew-north") is made from
 * the rule that matched; the first ticket a rule routes makes its text (kept in memory with
 * the catalogue edition) and numbers it in the store. The number is kept in memory only
 * once it is committed (read back after the commit), so a rolled-back transaction leaves
 * nothing behind: until then put numbers the text from the store. Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "names.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct route_slot {
    char *text;      /* NULL until a ticket used the rule */
    uint32_t number; /* committed number, 0 until known */
} route_slot_t;

struct dispatch_routes {
    uint32_t version;   /* the catalogue edition the slots belong to */
    size_t n;           /* its rules + 1 (slot 0: the fallback) */
    route_slot_t *slot;
    size_t *pending;    /* slots whose text has no committed number yet */
    size_t npending;
};

int dispatch_route_text(dispatch_t *self, MDB_txn *txn, dispatch_assignment_t *a)
{
    size_t len;
    int rc = names_text(txn, self->route_texts, a->route_no, &a->route, &len);
    return rc == HL_ENOTFOUND ? HL_ECORRUPT : rc;
}

static void routes_free(dispatch_routes_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->slot[i].text);
    free(r->slot);
    free(r->pending);
    free(r);
}

/* The slots of the catalogue in use (made afresh when it changed); NULL on ENOMEM. */
static dispatch_routes_t *routes_of(dispatch_t *self)
{
    const dispatch_catalogue_t *cat = self->cat;
    dispatch_routes_t *r = self->routes;
    if (r && r->version == cat->version && r->n == cat->nrules + 1)
        return r;
    routes_free(r);
    self->routes = r = calloc(1, sizeof *r);
    if (r && (!(r->slot = calloc(cat->nrules + 1, sizeof *r->slot)) ||
              !(r->pending = calloc(cat->nrules + 1, sizeof *r->pending)))) {
        routes_free(r);
        self->routes = r = NULL;
    }
    if (r) {
        r->version = cat->version;
        r->n = cat->nrules + 1;
    }
    return r;
}

int dispatch_route_of(dispatch_t *self, const dispatch_match_t *m, const char **text,
                      uint32_t *number)
{
    dispatch_routes_t *r = routes_of(self);
    if (!r)
        return HL_ENOMEM;
    route_slot_t *s = &r->slot[m->index + 1];
    if (!s->text) {
        /* The record keeps which edition and rule routed the ticket, for people and audits. */
        char buf[32];
        if (m->line)
            snprintf(buf, sizeof buf, "catalogue %u line %u: ", m->version, m->line);
        else
            snprintf(buf, sizeof buf, "catalogue %u: ", m->version);
        size_t a = strlen(buf), b = strlen(m->route);
        if (!(s->text = malloc(a + b + 1)))
            return HL_ENOMEM;
        memcpy(s->text, buf, a);
        memcpy(s->text + a, m->route, b + 1);
        r->pending[r->npending++] = (size_t)(m->index + 1);
    }
    *text = s->text;
    *number = s->number;
    return 0;
}

void dispatch_routes_after_commit(dispatch_t *self)
{
    dispatch_routes_t *r = self->routes;
    if (!r || !r->npending)
        return;
    MDB_txn *txn;
    if (store_read_begin(self->store, &txn))
        return; /* numbered from the store until a later commit */
    size_t left = 0;
    for (size_t i = 0; i < r->npending; i++) {
        route_slot_t *s = &r->slot[r->pending[i]];
        if (names_number(txn, self->route_texts, s->text, strlen(s->text), false, &s->number) ||
            !s->number)
            r->pending[left++] = r->pending[i];
    }
    r->npending = left;
    store_read_end(&txn);
}

void dispatch_routes_destroy(dispatch_t *self)
{
    routes_free(self->routes);
    self->routes = NULL;
}
