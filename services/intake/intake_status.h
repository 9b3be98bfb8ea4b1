/* intake_status: the stored status views ("tickets"), their index by last change
 * ("updates"), and the reading of their index by received time ("by_time"). Depends on
 * nothing else in intake; everything that reads or writes a view goes through it. Loop
 * thread only. */
#ifndef HOTLINE_INTAKE_STATUS_H
#define HOTLINE_INTAKE_STATUS_H

#include "intake_internal.h"

#include <stdbool.h>

/* At start-up, after the sub-databases are open: notes whether views of the old layout's change
 * index are left (their next change removes them from it). */
int intake_status_open(intake_t *self);

/* A view is stored in two parts: the ticket as recorded ("recorded", written once) and its
 * status ("status", rewritten as the ticket moves). Views of the layout before the split
 * ("tickets": both in one record) are read as they are and move to the two parts at their
 * next write.
 *
 * Read one view with its ticket; *out is unpacked into arena. HL_ENOTFOUND. A peer's ticket
 * not received here yet has a stand-in ticket: its id, received_ms 0. */
int intake_view_get(intake_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                    Hotline__TicketView **out);
/* The same without reading the ticket (the stand-in instead, unless the view is of the old
 * layout): for changing the status, which intake_view_replace then writes alone. */
int intake_status_get(intake_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                      Hotline__TicketView **out);
/* Write one view (reads the previous one to move its updates entry). The ticket is written
 * when the view is new or first carries it (received_ms set and not stored yet). */
int intake_view_put(intake_t *self, MDB_txn *txn, const Hotline__TicketView *view);
/* The same when the caller knows the view's previous updated_ms (INTAKE_VIEW_NEW for a view
 * that did not exist): saves reading the old one again. */
#define INTAKE_VIEW_NEW INT64_MIN
int intake_view_replace(intake_t *self, MDB_txn *txn, const Hotline__TicketView *view,
                        int64_t prev_updated_ms);

/* Visit the ids of views changed in [from_ms, to_ms), oldest change first, at most max (both
 * change indexes, the old and the new, read together). fn returns 0 to go on. */
typedef int (*intake_update_fn)(void *ctx, const char *id, int64_t updated_ms);
int intake_updates_scan(intake_t *self, MDB_txn *txn, int64_t from_ms, int64_t to_ms,
                        size_t max, intake_update_fn fn, void *ctx);

/* Fill the view's incident ETA and summary (masked) from the incident as intake knows it now
 * (dispatch's updates follow), into arena. Nothing when it has no incident or it closed. */
int intake_view_incident(intake_t *self, MDB_txn *txn, Hotline__TicketView *v, arena_t *arena);

/* A key of the "by_time" index (received ms, big-endian, then the id): the time and the id
 * (id_size > 64). Returns 0, or HL_ECORRUPT for a key of another shape. */
int intake_by_time_key(const MDB_val *key, int64_t *received_ms, char *id, size_t id_size);

/* Index a ticket by its received time (the lists, exports and Open311 walk it). */
int intake_by_time_put(intake_t *self, MDB_txn *txn, int64_t received_ms, const char *id);

/* The status a new ticket starts in, from what the operator decided at the door. */
Hotline__TicketStatus intake_initial_status(const Hotline__Ticket *t, bool in_incident);

/* True for the statuses a ticket leaves only by closing (open = anything else). */
bool intake_status_final(Hotline__TicketStatus s);

#endif
