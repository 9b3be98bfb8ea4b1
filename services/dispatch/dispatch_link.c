/* dispatch_link: tickets joined to incidents after they were dispatched, and taken out again.
 *
 *   POST /v1/incidents/{id}/link    {"ticketIds": [...]} (by hand) or {"matching": true} (by rule)
 *   POST /v1/incidents/{id}/unlink  {"ticketId"}
 *
 * A linked ticket leaves its unit's queue: it is held LINKED by the incident's unit (so the
 * queue of the unit it left no longer shows it) until the incident's close replies it, or it
 * is unlinked and dispatched again. The index "incident_tickets" (incident id NUL ticket id ->
 * the unit the ticket left, "" for one that joined at the door) lists an incident's tickets
 * for the close fan-out and remembers where an unlinked ticket goes back to. Entries stay after
 * the close (the incident's history); an unlinked ticket's entry goes.
 *
 * Only open tickets (DISPATCHED, SIGNED, REWORK) may be linked: a REPLIED ticket waits for its
 * callback, a CLOSED one is done, a LINKED one already has an incident. By hand, one ticket that
 * may not be linked refuses the whole command, naming it and its state; by rule, such tickets
 *  are simply not matched. dispatch_incident_link is the one entry point that an analytics
 * HotspotDetected event calls (dispatch_hotspot.c). Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "incident.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_KEY_MAX (DISPATCH_TICKET_ID_MAX + 1 + DISPATCH_TICKET_ID_MAX)
#define LINK_HAND_MAX 5000 /* ticket ids in one command by hand */

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* incident NUL ticket; 0 when either is too long to be a key. */
static size_t link_key(char *out, const char *incident, const char *ticket)
{
    size_t il = strlen(incident), tl = strlen(ticket);
    if (il == 0 || il > DISPATCH_TICKET_ID_MAX || tl > DISPATCH_TICKET_ID_MAX)
        return 0;
    memcpy(out, incident, il);
    out[il] = '\0';
    memcpy(out + il + 1, ticket, tl);
    return il + 1 + tl;
}

int dispatch_link_index_put(dispatch_t *self, MDB_txn *txn, const char *incident,
                            const char *ticket, const char *from_unit)
{
    char key[LINK_KEY_MAX];
    size_t klen = link_key(key, incident, ticket);
    if (!klen)
        return HL_EINVAL;
    const char *u = str_or_empty(from_unit);
    return store_put(txn, self->incident_tickets, key, klen, u, strlen(u), 0);
}

/* The unit the ticket left when it was linked ("" for the door). HL_ENOTFOUND. */
static int index_get(dispatch_t *self, MDB_txn *txn, const char *incident, const char *ticket,
                     char from_unit[DISPATCH_UNIT_ID_MAX + 1])
{
    char key[LINK_KEY_MAX];
    size_t klen = link_key(key, incident, ticket);
    if (!klen)
        return HL_ENOTFOUND;
    MDB_val v;
    int rc = store_get(txn, self->incident_tickets, key, klen, &v);
    if (rc)
        return rc;
    store_val_str(&v, from_unit, DISPATCH_UNIT_ID_MAX + 1);
    return 0;
}

bool dispatch_state_open(Hotline__TicketStatus s)
{
    return s == HOTLINE__TICKET_STATUS__TICKET_DISPATCHED ||
           s == HOTLINE__TICKET_STATUS__TICKET_SIGNED || s == HOTLINE__TICKET_STATUS__TICKET_REWORK;
}

/* Link one ticket. 0 linked; DISPATCH_LINK_NOT_OPEN (*state says what it is), HL_ENOTFOUND,
 * or a store error. */
static int link_one(dispatch_t *self, MDB_txn *txn, const Hotline__IncidentDeclared *inc,
                    const char *ticket_id, const char *how, const char *by,
                    Hotline__TicketStatus *state)
{
    dispatch_assignment_t old;
    int rc = dispatch_assignment_get(self, txn, ticket_id, &old);
    if (rc)
        return rc == HL_ECORRUPT ? HL_ENOTFOUND : rc;
    *state = old.state;
    if (!dispatch_state_open(old.state))
        return DISPATCH_LINK_NOT_OPEN;
    /* A ticket on hold stays out of incidents until it is resumed (its clocks are paused). */
    if (dispatch_on_hold(self, txn, ticket_id, &rc))
        return DISPATCH_LINK_NOT_OPEN;
    if (rc)
        return rc;
    char from[DISPATCH_UNIT_ID_MAX + 1];
    snprintf(from, sizeof from, "%s", old.unit); /* LMDB's bytes move with the first write */
    int64_t now = hclock_now_ms(self->clock);
    dispatch_assignment_t a = old;
    a.state = HOTLINE__TICKET_STATUS__TICKET_LINKED;
    a.unit = inc->unit && *inc->unit ? inc->unit : from;
    a.incident_id = inc->incident_id;
    a.updated_ms = now;
    if ((rc = dispatch_assignment_put(self, txn, &a, &old)) ||
        (rc = dispatch_link_index_put(self, txn, inc->incident_id, ticket_id, from)))
        return rc;
    Hotline__TicketLinked tl = HOTLINE__TICKET_LINKED__INIT;
    tl.incident_id = inc->incident_id;
    tl.unit = (char *)a.unit;
    tl.from_unit = from;
    tl.from_state = *state;
    tl.round = a.round;
    tl.how = (char *)how;
    tl.by = (char *)str_or_empty(by);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_LINKED;
    ev.ticket_linked = &tl;
    SLOG_DEBUG("ticket_linked", "ticket=%s incident=%s how=%s from=%s", ticket_id,
               inc->incident_id, how, from);
    return dispatch_append(self, txn, ticket_id, &ev);
}

/* ---- by rule: the open tickets the incident covers ---- */

typedef struct match_walk {
    dispatch_t *self;
    MDB_txn *txn;
    const Hotline__IncidentDeclared *inc;
    char **ids;
    size_t n, cap;
} match_walk_t;

/* The queue index holds every ticket by unit and state: the open states are read, the rest
 * (closed, replied: most of a busy store) is passed over by its key alone. */
static int match_visit(void *ctx, const store_entry_t *e)
{
    match_walk_t *w = ctx;
    Hotline__TicketStatus state;
    const char *tid;
    size_t tl;
    if (!dispatch_queue_key_parse(e->key.mv_data, e->key.mv_size, &state, &tid, &tl))
        return 0;
    if (!dispatch_state_open(state))
        return 0;
    char id[DISPATCH_TICKET_ID_MAX + 1];
    memcpy(id, tid, tl);
    id[tl] = '\0';
    dispatch_assignment_t a;
    int rc = dispatch_assignment_get(w->self, w->txn, id, &a);
    if (rc)
        return rc == HL_ENOTFOUND || rc == HL_ECORRUPT ? 0 : rc;
    incident_place_t p = {a.category_code, a.district, a.street, a.community};
    if (!incident_covers(w->inc, &p))
        return 0;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        char **ids = realloc(w->ids, cap * sizeof *ids);
        if (!ids)
            return HL_ENOMEM;
        w->ids = ids;
        w->cap = cap;
    }
    if (!(w->ids[w->n] = strdup(id)))
        return HL_ENOMEM;
    w->n++;
    return 0;
}

static void ids_free(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

int dispatch_incident_link(dispatch_t *self, MDB_txn *txn, const char *incident_id,
                           const char *const *ticket_ids, size_t n, const char *how,
                           const char *by, uint32_t *linked)
{
    *linked = 0;
    arena_t *arena;
    if (arena_create(&arena))
        return HL_ENOMEM;
    Hotline__IncidentDeclared *inc;
    bool closed;
    int rc = dispatch_incident_get(self, txn, incident_id, arena, &inc, &closed);
    if (!rc && closed)
        rc = HL_ECONFLICT;
    match_walk_t w = {self, txn, inc, NULL, 0, 0};
    if (!rc && !ticket_ids) {
        rc = store_scan(txn, self->queue, NULL, match_visit, &w);
        ticket_ids = (const char *const *)w.ids;
        n = w.n;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        Hotline__TicketStatus st;
        int one = link_one(self, txn, inc, ticket_ids[i], how, by, &st);
        if (one == 0)
            (*linked)++;
        else if (one != DISPATCH_LINK_NOT_OPEN && one != HL_ENOTFOUND)
            rc = one;
    }
    ids_free(w.ids, w.n);
    arena_destroy(&arena);
    return rc;
}

/* ---- the commands ---- */

static const char *acting(const Hotline__Command *cmd)
{
    return cmd->by ? cmd->by->name : str_or_empty(cmd->actor);
}

/* The active incident of a link / unlink command, or a refusal (DISPATCH_REFUSED). */
static int load_active(dispatch_t *self, MDB_txn *txn, const char *field, const char *id,
                       cmd_reply_t *reply, Hotline__IncidentDeclared **inc)
{
    if (!id || !*id) {
        cmd_refuse(reply, HOTLINE__STATUS__INVALID, field, "required: the incident id");
        return DISPATCH_REFUSED;
    }
    bool closed;
    int rc = dispatch_incident_get(self, txn, id, reply->arena, inc, &closed);
    if (rc == HL_ENOTFOUND) {
        cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, field, "no incident %s", id);
        return DISPATCH_REFUSED;
    }
    if (rc)
        return rc;
    if (closed || dispatch_incident_closing(self, txn, id)) {
        cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, field,
                   "incident %s is closed: link and unlink tickets of an active incident", id);
        return DISPATCH_REFUSED;
    }
    return 0;
}

static int link_tickets(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                        cmd_reply_t *reply)
{
    const Hotline__LinkTickets *l = cmd->link_tickets;
    if (!l->matching && l->n_ticket_ids == 0)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "linkTickets.ticketIds",
                          "say which tickets: ticketIds (by hand) or matching: true (every "
                          "open ticket in the incident's category and area)");
    if (l->matching && l->n_ticket_ids)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "linkTickets.matching",
                          "give either ticketIds or matching: true, not both");
    if (l->n_ticket_ids > LINK_HAND_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "linkTickets.ticketIds",
                          "at most %d tickets by hand (got %zu); use matching: true for more",
                          LINK_HAND_MAX, l->n_ticket_ids);
    Hotline__IncidentDeclared *inc;
    int rc = load_active(self, txn, "linkTickets.incidentId", l->incident_id, reply, &inc);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    Hotline__LinkTicketsResult *res = arena_calloc(reply->arena, sizeof *res);
    if (!res)
        return HL_ENOMEM;
    hotline__link_tickets_result__init(res);
    res->incident_id = inc->incident_id;
    if (l->matching) {
        /* By rule: the open tickets the incident covers, linked in this transaction. */
        match_walk_t w = {self, txn, inc, NULL, 0, 0};
        rc = store_scan(txn, self->queue, NULL, match_visit, &w);
        res->linked = arena_calloc(reply->arena, (w.n ? w.n : 1) * sizeof *res->linked);
        if (!rc && !res->linked)
            rc = HL_ENOMEM;
        for (size_t i = 0; !rc && i < w.n; i++) {
            Hotline__TicketStatus st;
            int one = link_one(self, txn, inc, w.ids[i], "rule", acting(cmd), &st);
            if (one == 0)
                res->linked[res->n_linked++] = arena_strdup(reply->arena, w.ids[i]);
            else if (one == DISPATCH_LINK_NOT_OPEN || one == HL_ENOTFOUND)
                res->skipped++;
            else
                rc = one;
        }
        ids_free(w.ids, w.n);
        if (rc)
            return rc;
    } else {
        /* By hand: every ticket must exist and be open, else nothing is linked. Checked
         * before the first write, so a refusal leaves no trace. */
        for (size_t i = 0; i < l->n_ticket_ids; i++) {
            const char *id = l->ticket_ids[i];
            char field[48];
            snprintf(field, sizeof field, "linkTickets.ticketIds[%zu]", i);
            dispatch_assignment_t a;
            rc = id && *id ? dispatch_assignment_get(self, txn, id, &a) : HL_ENOTFOUND;
            if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
                return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, field,
                                  "no ticket %.80s at dispatch", str_or_empty(id));
            if (rc)
                return rc;
            if (!dispatch_state_open(a.state))
                return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, field,
                                  "ticket %s is %s%s%s: only open tickets (DISPATCHED, SIGNED, "
                                  "REWORK) may be linked",
                                  id, dispatch_state_name(a.state),
                                  *a.incident_id ? " with incident " : "", a.incident_id);
            if (dispatch_on_hold(self, txn, id, &rc))
                return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, field,
                                  "ticket %s is on hold: resume it before linking it", id);
            if (rc)
                return rc;
        }
        res->linked = arena_calloc(reply->arena, l->n_ticket_ids * sizeof *res->linked);
        if (!res->linked)
            return HL_ENOMEM;
        for (size_t i = 0; i < l->n_ticket_ids; i++) {
            Hotline__TicketStatus st;
            rc = link_one(self, txn, inc, l->ticket_ids[i], "hand", acting(cmd), &st);
            if (rc == DISPATCH_LINK_NOT_OPEN) /* the same id twice in the list */
                continue;
            if (rc)
                return rc;
            res->linked[res->n_linked++] = l->ticket_ids[i];
        }
    }
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_LINK_TICKETS;
    reply->msg->link_tickets = res;
    SLOG_INFO("incident_linked", "incident=%s tickets_count=%zu how=%s", inc->incident_id,
              res->n_linked, l->matching ? "rule" : "hand");
    return 0;
}

static int unlink_ticket(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                         cmd_reply_t *reply)
{
    const Hotline__UnlinkTicket *u = cmd->unlink_ticket;
    const char *id = str_or_empty(u->ticket_id);
    if (!*id)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "unlinkTicket.ticketId",
                          "required: the ticket to take out of the incident");
    Hotline__IncidentDeclared *inc;
    int rc = load_active(self, txn, "unlinkTicket.incidentId", u->incident_id, reply, &inc);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    dispatch_assignment_t old;
    rc = dispatch_assignment_get(self, txn, id, &old);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "unlinkTicket.ticketId",
                          "no ticket %.80s at dispatch", id);
    if (rc)
        return rc;
    if (old.state != HOTLINE__TICKET_STATUS__TICKET_LINKED ||
        strcmp(old.incident_id, inc->incident_id) != 0)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "unlinkTicket.ticketId",
                          "ticket %s is not linked to incident %s (it is %s%s%s)", id,
                          inc->incident_id, dispatch_state_name(old.state),
                          *old.incident_id ? " with incident " : "", old.incident_id);
    char from[DISPATCH_UNIT_ID_MAX + 1] = "";
    rc = index_get(self, txn, inc->incident_id, id, from);
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    dispatch_match_t m = {0};
    const char *route = "unlinked: back to its unit";
    if (!*from || !dispatch_catalogue_unit_name(self->cat, from)) {
        /* Joined at the door (or its unit left the catalogue): routed as a new ticket, by the
         * whole rule (area and urgency), with the rule's assisting units. */
        dispatch_where_t w = {.category = old.category_code,
                              .district = old.district,
                              .street = old.street,
                              .community = old.community,
                              .urgent = dispatch_urgent(old.urgency)};
        dispatch_catalogue_route(self->cat, &w, &m);
        snprintf(from, sizeof from, "%s", m.unit);
        route = m.route;
    }
    char category[64];
    snprintf(category, sizeof category, "%s", old.category_code);
    int64_t now = hclock_now_ms(self->clock);
    dispatch_assignment_t a = old;
    a.state = HOTLINE__TICKET_STATUS__TICKET_DISPATCHED;
    a.unit = from;
    a.route = route;
    a.route_no = 0; /* a new route text */
    a.incident_id = "";
    a.signed_ms = a.contacted_ms = 0; /* signed for again at the unit */
    a.dispatched_ms = now;
    a.updated_ms = now;
    Hotline__Urgency urgency = old.urgency;
    uint32_t round = old.round;
    if ((rc = dispatch_assignment_put(self, txn, &a, &old)))
        return rc;
    /* m's strings are the catalogue's, not the store's: still good after the write. */
    if (m.nassist && (rc = dispatch_assists_put(self, txn, id, m.assist, m.nassist)))
        return rc;
    char key[LINK_KEY_MAX];
    size_t klen = link_key(key, inc->incident_id, id);
    if (klen && (rc = store_del(txn, self->incident_tickets, key, klen)) && rc != HL_ENOTFOUND)
        return rc;
    Hotline__TicketUnlinked tu = HOTLINE__TICKET_UNLINKED__INIT;
    tu.incident_id = inc->incident_id;
    tu.unit = from;
    tu.round = round;
    tu.by = (char *)acting(cmd);
    tu.category_code = category;
    tu.urgency = urgency;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_UNLINKED;
    ev.ticket_unlinked = &tu;
    if ((rc = dispatch_append(self, txn, id, &ev)))
        return rc;
    SLOG_INFO("ticket_unlinked", "ticket=%s incident=%s unit=%s", id, inc->incident_id, from);
    return dispatch_action_answer(reply, id, from, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED,
                                  round);
}

int dispatch_link_command(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                          cmd_reply_t *reply)
{
    if (cmd->body_case == HOTLINE__COMMAND__BODY_LINK_TICKETS && cmd->link_tickets)
        return link_tickets(self, txn, cmd, reply);
    return unlink_ticket(self, txn, cmd, reply);
}
