/* intake_door: repeat callers and known incidents, decided at the door.
 *
 * A surge is mostly the same people calling again and many people reporting one fault. A
 * call from a number that already has an open ticket about the same matter (same category
 * subtree, same community or district) within the window is linked to that ticket and the
 * caller hears its status; a new ticket inside an active incident's category and area joins
 * the incident and the caller hears its ETA. Both are decided inside the submit transaction,
 * so a link and its event commit together. The incidents it matches are the ones
 * intake_apply.c keeps from dispatch's feed. */
#include "intake_door.h"

#include "intake_status.h"

#include "hl_error.h"
#include "incident.h"
#include "phone.h"
#include "slog.h"

#include <ctype.h>
#include <string.h>

#define REPEAT_KEY_MAX (PHONE_KEY_MAX + 8 + 2 * 201)

static const char *area_of(const Hotline__Location *l)
{
    if (l && l->community && *l->community)
        return l->community;
    if (l && l->district && *l->district)
        return l->district;
    return "";
}

/* phone NUL category-subtree NUL area; 0 when the call has no number to match on. */
static size_t repeat_key(const Hotline__Ticket *t, uint8_t *key)
{
    char digits[PHONE_KEY_MAX + 1];
    if (!t->contact || phone_key(t->contact->phone, digits) < 5)
        return 0;
    const char *area = area_of(t->location);
    size_t dl = strlen(digits), al = strlen(area);
    if (al > 200)
        al = 200;
    size_t n = 0;
    memcpy(key + n, digits, dl + 1);
    n += dl + 1;
    memcpy(key + n, t->category_code, 3); /* W01, W04: the subtree decides "same matter" */
    n += 3;
    key[n++] = '\0';
    memcpy(key + n, area, al);
    return n + al;
}

int intake_repeat_find(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t, int64_t now_ms,
                       arena_t *arena, Hotline__TicketView **view)
{
    *view = NULL;
    uint8_t key[REPEAT_KEY_MAX];
    size_t klen = self->repeat_window_ms ? repeat_key(t, key) : 0;
    if (!klen)
        return 0;
    MDB_val v;
    int rc = store_get(txn, self->repeats, key, klen, &v);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    char id[64];
    if (v.mv_size == 0 || v.mv_size >= sizeof id)
        return 0;
    memcpy(id, v.mv_data, v.mv_size);
    id[v.mv_size] = '\0';
    Hotline__TicketView *open;
    rc = intake_view_get(self, txn, id, arena, &open);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (intake_status_final(open->status) ||
        now_ms - open->ticket->received_ms > self->repeat_window_ms)
        return 0;
    /* A ticket waiting on an incident that has closed since is not one to add calls to:
     * the caller's new call is a new ticket. */
    if (open->status == HOTLINE__TICKET_STATUS__TICKET_LINKED && open->incident_id &&
        *open->incident_id) {
        MDB_val inc;
        rc = store_get(txn, self->incidents, open->incident_id, strlen(open->incident_id), &inc);
        if (rc == HL_ENOTFOUND)
            return 0;
        if (rc)
            return rc;
    }
    *view = open;
    return 0;
}

int intake_repeat_remember(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t)
{
    uint8_t key[REPEAT_KEY_MAX];
    size_t klen = self->repeat_window_ms ? repeat_key(t, key) : 0;
    if (!klen)
        return 0;
    return store_put(txn, self->repeats, key, klen, t->id, strlen(t->id), 0);
}

int intake_repeat_link(intake_t *self, MDB_txn *txn, Hotline__TicketView *view,
                       const Hotline__Ticket *call, int64_t now_ms)
{
    int64_t prev_updated = view->updated_ms;
    view->repeat_count++;
    view->last_contact_ms = now_ms;
    if (now_ms > view->updated_ms)
        view->updated_ms = now_ms;
    int rc = intake_view_replace(self, txn, view, prev_updated);
    if (rc)
        return rc;
    Hotline__RepeatContact rcx = HOTLINE__REPEAT_CONTACT__INIT;
    rcx.channel = call->channel;
    rcx.description = call->description;
    rcx.repeat_count = view->repeat_count;
    rcx.status = view->status;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = view->ticket->id;
    ev.body_case = HOTLINE__EVENT__BODY_REPEAT_CONTACT;
    ev.repeat_contact = &rcx;
    return evlog_append(service_log(self->svc), txn, &ev);
}

static bool incident_covers_ticket(const Hotline__IncidentDeclared *inc,
                                   const Hotline__Ticket *t)
{
    const Hotline__Location *l = t->location;
    incident_place_t p = {t->category_code, l ? l->district : NULL, l ? l->street : NULL,
                          l ? l->community : NULL};
    return incident_covers(inc, &p);
}

typedef struct incident_walk {
    const Hotline__Ticket *t;
    arena_t *arena;
    Hotline__IncidentDeclared *found;
} incident_walk_t;

static int incident_visit(void *ctx, const store_entry_t *e)
{
    incident_walk_t *w = ctx;
    Hotline__IncidentDeclared *inc = hotline__incident_declared__unpack(
        arena_allocator(w->arena), e->val.mv_size, e->val.mv_data);
    if (!inc || !incident_covers_ticket(inc, w->t))
        return 0;
    w->found = inc;
    return 1;
}

int intake_incident_match(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t,
                          arena_t *arena, Hotline__IncidentDeclared **out)
{
    /* Active incidents are few (a handful in a surge): a scan is the simple right answer. */
    incident_walk_t w = {t, arena, NULL};
    int rc = store_scan(txn, self->incidents, NULL, incident_visit, &w);
    *out = w.found;
    return rc;
}
