/* dispatch_close: an incident's close replies every ticket linked to it with the incident's
 * resolution (TicketReplied with incident_id, resolved), so each goes on to callback, which
 * calls each caller of the incident once.
 *
 * A close must not hold the loop for long. Up to a chunk of tickets (incidentLimits.closeChunk,
 * 5,000 by default, which take well under a second) is replied in the close command's own
 * transaction; a larger incident is
 * marked closing ("incident_closing": incident id -> resolution NUL the last ticket id replied)
 * and the rest is replied in chunks of that size by the shared scheduler (entry: the id,
 * due now), each chunk one group-commit pass that also moves the mark. The mark and the entry
 * are durable, so a kill -9 in the middle resumes where the last committed chunk ended; a
 * ticket is replied only while it is LINKED to this incident, so nothing is replied twice.
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOSE_SCHED "incident_close" /* scheduler sub-databases incident_close.due / .ids */

typedef struct fanout {
    dispatch_t *self;
    MDB_txn *txn;
    const char *incident;
    size_t ilen;
    const char *resolution;
    int64_t now;
    unsigned max, seen, replied;
    char last[DISPATCH_TICKET_ID_MAX + 1]; /* the last ticket visited */
    char **ids;                            /* the chunk's ticket ids (copied: the scan's keys move) */
} fanout_t;

/* Collect the chunk's ticket ids first: the replies write the queue and counts, never the
 * index being scanned, but keys are copied anyway so nothing borrowed outlives a write. */
static int collect(void *ctx, const store_entry_t *e)
{
    fanout_t *f = ctx;
    if (f->seen == f->max)
        return 1;
    size_t tl = e->key.mv_size - f->ilen - 1;
    if (e->key.mv_size <= f->ilen + 1 || tl > DISPATCH_TICKET_ID_MAX)
        return 0;
    char *id = malloc(tl + 1);
    if (!id)
        return HL_ENOMEM;
    memcpy(id, (const char *)e->key.mv_data + f->ilen + 1, tl);
    id[tl] = '\0';
    f->ids[f->seen++] = id;
    return 0;
}

static int reply_one(fanout_t *f, const char *id)
{
    dispatch_assignment_t old;
    int rc = dispatch_assignment_get(f->self, f->txn, id, &old);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
        return 0;
    if (rc)
        return rc;
    /* Only a ticket still waiting on this incident: an unlinked one, or one replied by an
     * earlier chunk before a crash, is left as it is. */
    if (old.state != HOTLINE__TICKET_STATUS__TICKET_LINKED || strcmp(old.incident_id, f->incident))
        return 0;
    char unit[DISPATCH_UNIT_ID_MAX + 1];
    snprintf(unit, sizeof unit, "%s", old.unit);
    dispatch_assignment_t a = old;
    a.state = HOTLINE__TICKET_STATUS__TICKET_REPLIED;
    a.result = f->resolution;
    a.resolved = true;
    a.replied_ms = f->now;
    a.updated_ms = f->now;
    uint32_t round = old.round;
    if ((rc = dispatch_assignment_put(f->self, f->txn, &a, &old)))
        return rc;
    Hotline__TicketReplied tr = HOTLINE__TICKET_REPLIED__INIT;
    tr.unit = unit;
    tr.result = (char *)f->resolution;
    tr.resolved = true;
    tr.round = round;
    tr.incident_id = (char *)f->incident;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REPLIED;
    ev.ticket_replied = &tr;
    if ((rc = dispatch_append(f->self, f->txn, id, &ev)))
        return rc;
    f->replied++;
    return 0;
}

int dispatch_close_fanout(dispatch_t *self, MDB_txn *txn, const char *incident,
                          const char *resolution, const char *after, unsigned max,
                          unsigned *replied, bool *more, char last[DISPATCH_TICKET_ID_MAX + 1])
{
    size_t il = strlen(incident), al = after ? strlen(after) : 0;
    if (il == 0 || il > DISPATCH_TICKET_ID_MAX || al > DISPATCH_TICKET_ID_MAX)
        return HL_EINVAL;
    char from[2 * DISPATCH_TICKET_ID_MAX + 3];
    memcpy(from, incident, il);
    from[il] = '\0';
    memcpy(from + il + 1, after ? after : "", al);
    size_t flen = il + 1 + al;
    if (al)
        from[flen++] = '\0'; /* just past "after" itself: ids never hold a NUL */
    fanout_t f = {self, txn, incident, il, resolution, hclock_now_ms(self->clock), max + 1, 0, 0,
                  "", NULL};
    f.ids = calloc(f.max, sizeof *f.ids);
    if (!f.ids)
        return HL_ENOMEM;
    store_range_t r = {.from = from, .from_len = flen, .prefix = from, .prefix_len = il + 1};
    int rc = store_scan(txn, self->incident_tickets, &r, collect, &f);
    unsigned n = f.seen > max ? max : f.seen;
    *more = f.seen > max;
    for (unsigned i = 0; !rc && i < n; i++)
        rc = reply_one(&f, f.ids[i]);
    if (n)
        snprintf(last, DISPATCH_TICKET_ID_MAX + 1, "%s", f.ids[n - 1]);
    else
        last[0] = '\0';
    for (unsigned i = 0; i < f.seen; i++)
        free(f.ids[i]);
    free(f.ids);
    *replied = f.replied;
    return rc;
}

/* ---- the closing mark and the scheduler that carries it on ---- */

static unsigned chunk(const dispatch_t *self)
{
    const Hotline__IncidentLimits *l = self->cfg->incident_limits;
    return l && l->close_chunk ? l->close_chunk : DISPATCH_CLOSE_CHUNK;
}

static int mark_put(dispatch_t *self, MDB_txn *txn, const char *incident, const char *resolution,
                    const char *last)
{
    size_t rl = strlen(resolution), ll = strlen(last);
    char *v = malloc(rl + 1 + ll);
    if (!v)
        return HL_ENOMEM;
    memcpy(v, resolution, rl + 1);
    memcpy(v + rl + 1, last, ll);
    int rc = store_put(txn, self->incident_closing, incident, strlen(incident), v, rl + 1 + ll, 0);
    free(v);
    return rc;
}

bool dispatch_incident_closing(dispatch_t *self, MDB_txn *txn, const char *incident)
{
    MDB_val v;
    return store_get(txn, self->incident_closing, incident, strlen(incident), &v) == 0;
}

static int schedule_next(dispatch_t *self, MDB_txn *txn, const char *incident)
{
    if (!self->closer)
        return 0; /* in-process tests drive dispatch_close_continue themselves */
    return scheduler_put(self->closer, txn, incident, strlen(incident),
                         hclock_now_ms(self->clock), NULL, 0);
}

int dispatch_close_start(dispatch_t *self, MDB_txn *txn, const char *incident,
                         const char *resolution, unsigned *replied, bool *closing)
{
    char last[DISPATCH_TICKET_ID_MAX + 1];
    int rc = dispatch_close_fanout(self, txn, incident, resolution, NULL, chunk(self), replied,
                                   closing, last);
    if (rc || !*closing)
        return rc;
    SLOG_INFO("incident_closing", "incident=%s replied=%u next=\"the rest in chunks of %u\"",
              incident, *replied, chunk(self));
    rc = mark_put(self, txn, incident, resolution, last);
    return rc ? rc : schedule_next(self, txn, incident);
}

int dispatch_close_continue(dispatch_t *self, MDB_txn *txn, const char *incident, bool *more)
{
    *more = false;
    MDB_val v;
    int rc = store_get(txn, self->incident_closing, incident, strlen(incident), &v);
    if (rc == HL_ENOTFOUND)
        return 0; /* finished already */
    if (rc)
        return rc;
    const char *p = v.mv_data;
    const char *nul = memchr(p, 0, v.mv_size);
    if (!nul)
        return store_del(txn, self->incident_closing, incident, strlen(incident));
    /* Copied: the writes below move LMDB's pages. */
    char *resolution = strdup(p);
    size_t ll = v.mv_size - (size_t)(nul - p) - 1;
    char after[DISPATCH_TICKET_ID_MAX + 1];
    if (!resolution || ll > DISPATCH_TICKET_ID_MAX) {
        free(resolution);
        return resolution ? HL_ECORRUPT : HL_ENOMEM;
    }
    memcpy(after, nul + 1, ll);
    after[ll] = '\0';
    unsigned replied;
    char last[DISPATCH_TICKET_ID_MAX + 1];
    rc = dispatch_close_fanout(self, txn, incident, resolution, after, chunk(self), &replied,
                               more, last);
    if (!rc && *more)
        rc = mark_put(self, txn, incident, resolution, last);
    else if (!rc)
        rc = store_del(txn, self->incident_closing, incident, strlen(incident));
    free(resolution);
    if (!rc)
        SLOG_INFO(*more ? "incident_closing" : "incident_closed_all", "incident=%s replied=%u",
                  incident, replied);
    return rc;
}

static int fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    dispatch_t *self = ctx;
    char id[DISPATCH_TICKET_ID_MAX + 1];
    if (e->id_len == 0 || e->id_len > DISPATCH_TICKET_ID_MAX)
        return 0;
    memcpy(id, e->id, e->id_len);
    id[e->id_len] = '\0';
    bool more;
    int rc = dispatch_close_continue(self, txn, id, &more);
    if (!rc && more)
        rc = schedule_next(self, txn, id); /* the next pass: other work gets the loop between */
    return rc;
}

int dispatch_close_scheduler(dispatch_t *self, service_t *svc)
{
    /* One incident's chunk per entry and pass keeps each transaction near one chunk of
     * tickets even when several large incidents close at once. */
    scheduler_opts_t o = {.name = CLOSE_SCHED, .fire = fire, .ctx = self, .per_pass = 1};
    return service_scheduler(svc, &o, &self->closer);
}
