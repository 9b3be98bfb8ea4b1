/* intake_door: repeat callers and known incidents, decided at the door inside the submit
 * transaction. Uses the status views (intake_status.h). Loop thread only. */
#ifndef HOTLINE_INTAKE_DOOR_H
#define HOTLINE_INTAKE_DOOR_H

#include "intake_internal.h"

/* A repeat call: the open ticket the same caller has about the same matter (category and
 * area) within the window. Found: its view, unpacked into arena, in *view; none: 0 with *view
 * NULL. */
int intake_repeat_find(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t, int64_t now_ms,
                       arena_t *arena, Hotline__TicketView **view);
/* Remember the caller's ticket for later repeat calls. */
int intake_repeat_remember(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t);
/* Link this call to the open ticket: count it, append RepeatContact. */
int intake_repeat_link(intake_t *self, MDB_txn *txn, Hotline__TicketView *view,
                       const Hotline__Ticket *call, int64_t now_ms);
/* The active incident covering this ticket's category and area, if any (into arena). The
 * incidents are kept from dispatch's feed by intake_apply.c. */
int intake_incident_match(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t,
                          arena_t *arena, Hotline__IncidentDeclared **out);

#endif
