/* intake: records tickets (validated against the ticket model, given a readable id, stored
 * and announced as TicketReceived) and keeps the status view citizens and operators read,
 * from the dispatch, sla and callback feeds.
 *
 * Sub-databases: "tickets" (id -> packed hotline.TicketView), "ticket_seq" (local date ->
 * daily sequence), "by_time" (received ms + id, newest listed first). Loop thread only. */
#ifndef HOTLINE_INTAKE_H
#define HOTLINE_INTAKE_H

#include "calendar.h"
#include "service.h"

#include "hotline/ticket.pb-c.h"

extern const service_desc_t intake_service;

typedef struct intake {
    service_t *svc;
    calendar_t *cal;  /* for the local date in ticket ids */
    unsigned instance;
    MDB_dbi tickets, ticket_seq, by_time;
    MDB_dbi updates;  /* updated ms (BE) + id -> "": views by last change, for update feeds */
    MDB_dbi repeats;  /* phone + category + area -> id of the caller's latest ticket */
    MDB_dbi incidents; /* incident id -> packed IncidentDeclared (active ones, kept current) */
    int64_t repeat_window_ms; /* 0: repeat calls are never linked */
    arena_t *scratch; /* per event / per query scratch memory, reset each use */
    void *open311;    /* open311.c's state */
} intake_t;

/* intake_submit.c: check a ticket as an operator or a client sent it. Returns 0, or fills
 * reply with INVALID naming the field and the rule. */
int intake_ticket_check(const Hotline__Ticket *t, cmd_reply_t *reply);

/* Record a new ticket inside txn: id, TicketReceived, status view. */
int intake_submit(intake_t *self, MDB_txn *txn, const Hotline__SubmitTicket *cmd,
                  cmd_reply_t *reply);

/* intake_door.c: what happens at the door besides recording a new ticket.
 * A repeat call: the open ticket the same caller has about the same matter (category and
 * area) within the window. Found: its view, unpacked into arena, in *view; none: 0 with *view
 * NULL. */
int intake_repeat_find(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t, int64_t now_ms,
                       arena_t *arena, Hotline__TicketView **view);
/* Remember the caller's ticket for later repeat calls. */
int intake_repeat_remember(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t);
/* Link this call to the open ticket: count it, append RepeatContact. */
int intake_repeat_link(intake_t *self, MDB_txn *txn, Hotline__TicketView *view,
                       const Hotline__Ticket *call, int64_t now_ms);
/* The active incident covering this ticket's category and area, if any (into arena). */
int intake_incident_match(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t,
                          arena_t *arena, Hotline__IncidentDeclared **out);
/* Incident events from dispatch's feed. */
int intake_incident_apply(intake_t *self, MDB_txn *txn, const Hotline__Event *ev);
/* True for the statuses a ticket leaves only by closing (open = anything else). */
bool intake_status_final(Hotline__TicketStatus s);

/* intake_status.c: read / write one view. *out is unpacked into arena. HL_ENOTFOUND. */
int intake_view_get(intake_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                    Hotline__TicketView **out);
int intake_view_put(intake_t *self, MDB_txn *txn, const Hotline__TicketView *view);
/* The same when the caller knows the view's previous updated_ms (INTAKE_VIEW_NEW for a view
 * that did not exist): saves reading the old one again. */
#define INTAKE_VIEW_NEW INT64_MIN
int intake_view_replace(intake_t *self, MDB_txn *txn, const Hotline__TicketView *view,
                        int64_t prev_updated_ms);

/* Feed events from dispatch, sla and callback, applied to the status view. */
int intake_apply_status(void *ctx, MDB_txn *txn, const Hotline__Event *ev);

/* Visit the ids of views changed in [from_ms, to_ms), oldest change first, at most max.
 * fn returns 0 to go on. */
typedef int (*intake_update_fn)(void *ctx, const char *id, int64_t updated_ms);
int intake_updates_scan(intake_t *self, MDB_txn *txn, int64_t from_ms, int64_t to_ms,
                        size_t max, intake_update_fn fn, void *ctx);

/* intake_http.c */
int intake_http_init(intake_t *self);

/* open311.c: Open311 GeoReport v2 under /open311/v2/. */
int intake_open311_init(intake_t *self);
/* Shutdown began: no new group-commit work from Open311 (tokens, drain passes). */
void intake_open311_stop(intake_t *self);
void intake_open311_fini(intake_t *self);

#endif
