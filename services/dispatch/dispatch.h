/* dispatch: routes every ticket intake records to the one unit that owns the problem, and
 * keeps the unit's side of the ticket's life: sign for it, reply, take it back for rework,
 * see it closed.
 *
 * A state machine over its own LMDB (docs/architecture.md, "The five services"):
 *   intake   TicketReceived            -> route by the catalogue, store the assignment,
 *                                         append TicketDispatched (round 0), exactly once
 *   command  SignTicket                -> DISPATCHED / REWORK -> SIGNED, TicketSigned
 *   command  ReplyTicket               -> SIGNED -> REPLIED, TicketReplied
 *   callback ReworkRequested (round n) -> REPLIED -> REWORK, round n + 1, TicketReopened
 *   callback TicketClosed              -> CLOSED
 * Every transition writes the assignment, its queue index and the per-unit counts, and the
 * event it produces, in the one transaction of the command or of the feed batch.
 *
 * The pieces, one file each: dispatch_route.c (the catalogue), dispatch_store.c (assignment
 * records and indexes), dispatch_apply.c (feed events), dispatch_commands.c (unit actions),
 * dispatch_http.c (routes), dispatch.c (the service: configuration, start, metrics); crew work
 * orders and their webhooks in dispatch_workorder*.c and dispatch_crew.c
 * (dispatch_workorder.h).
 * Loop thread only. */
#ifndef HOTLINE_DISPATCH_H
#define HOTLINE_DISPATCH_H

#include "service.h"

#include "hotline/config.pb-c.h"
#include "hotline/ticket.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const service_desc_t dispatch_service;

/* Limits on identifiers dispatch stores and puts in index keys (bytes). */
#define DISPATCH_TICKET_ID_MAX 64
#define DISPATCH_RESULT_MAX_CHARS 2000 /* ReplyTicket.result, in characters (code points) */
#define DISPATCH_NOTE_MAX_CHARS 2000   /* ContactCitizen.note, AddTicketNote.text */

/* ---- the routing catalogue: dispatch_route.h ---------------------------------------- */

#include "dispatch_route.h"

/* ---- assignments (dispatch_store.c) --------------------------------------------------- */

/* One ticket as dispatch holds it. Decoded records borrow their strings from the LMDB value:
 * valid only until the transaction ends or the next write in it. Unset strings are "". */
typedef struct dispatch_assignment {
    const char *ticket_id;
    const char *unit; /* the unit holding the ticket */
    const char *category_code;
    const char *district;
    const char *route;           /* the catalogue entry that matched at dispatch */
    uint32_t route_no;           /* route's number in "route_texts" (dispatch_store.c); 0 when
                                  * route is new text: a writer that changes route sets it 0 */
    const char *result;          /* the unit's last reply */
    const char *reason;          /* why the last rework was asked for */
    const char *caller_name;     /* for the unit to contact the citizen; "" when confidential */
    const char *caller_phone;
    const char *incident_id;     /* LINKED: the incident the ticket joined (at the door, by
                                  * hand or by rule); kept after the incident's close replied it */
    const char *street;          /* from the ticket's location: incidents match areas on them */
    const char *community;
    bool confidential;           /* the caller is hidden from the unit */
    bool designated;             /* a dispatcher named the unit (指定): no return */
    bool supervised;             /* rated unsatisfied twice: under supervision (督办) */
    Hotline__TicketStatus state; /* DISPATCHED, SIGNED, REPLIED, REWORK, CLOSED or LINKED */
    Hotline__Urgency urgency;
    uint32_t round;      /* 0 on the first pass, n in rework round n */
    bool resolved;       /* the unit's own word in its last reply */
    int64_t received_ms; /* by intake; the others by dispatch's clock */
    int64_t dispatched_ms;
    int64_t signed_ms;    /* of the current round, 0 until signed */
    int64_t contacted_ms; /* first contact with the citizen in the current round, 0 = none */
    uint32_t notes;       /* progress notes added (all rounds) */
    int64_t replied_ms; /* of the current round, 0 until replied */
    int64_t reopened_ms;
    int64_t closed_ms;
    int64_t updated_ms;
    char id_buf[DISPATCH_TICKET_ID_MAX + 1]; /* ticket_id of a decoded version 5 record */
    uint32_t unit_no; /* decoded: the unit's number (dispatch_units.c), unit NULL until
                       * dispatch_assignment_get names it (into unit_buf); ignored on put */
    char unit_buf[DISPATCH_UNIT_ID_MAX + 1];
} dispatch_assignment_t;

/* The stored form (a versioned byte layout): size, encode into out (size bytes), decode
 * (borrowing from data). The record does not repeat its key: decode takes the ticket id it
 * is stored under (copied into out->id_buf; older records carry their own). A route numbered
 * in "route_texts" (route_no) decodes with route NULL, a unit by number (unit_no) with unit
 * NULL: dispatch_assignment_get fills both. encode writes the unit by name: put numbers it.
 * decode errors: HL_ECORRUPT. */
size_t dispatch_assignment_size(const dispatch_assignment_t *a);
void dispatch_assignment_encode(const dispatch_assignment_t *a, uint8_t *out);
int dispatch_assignment_decode(const void *data, size_t len, const char *ticket_id,
                               dispatch_assignment_t *out);

/* The assignment as JSON for the API (proto3 conventions: lowerCamelCase, enums by name,
 * 64-bit numbers as strings, unset fields left out). Caller owns it; NULL on ENOMEM. */
json_t *dispatch_assignment_json(const dispatch_assignment_t *a, bool caller_whole);

/* ---- the service state ---------------------------------------------------------------- */

typedef struct dispatch dispatch_t;

/* Build the catalogue from cfg (errors as dispatch_catalogue_create, err naming the key), load
 * cfg's calendar for the centre's zone (errors as calendar_load) and open the sub-databases
 * "assignments", "unit_queue", "unit_counts", "incidents" and "incident_seq" (a start-up
 * step: before any other transaction). store, log and clock are borrowed and must outlive it; cfg
 * is borrowed too (GET /v1/catalogue shows it). */
int dispatch_create(dispatch_t **out, store_t *store, evlog_t *log, hclock_t *clock,
                    const Hotline__DispatchConfig *cfg, char *err, size_t err_size);
void dispatch_destroy(dispatch_t **self);

/* Read one assignment. Errors: HL_ENOTFOUND, HL_ECORRUPT, store errors. */
int dispatch_assignment_get(dispatch_t *self, MDB_txn *txn, const char *ticket_id,
                            dispatch_assignment_t *out);

/* Store a (new or changed) assignment with its queue index entry and unit counts. old is
 * the record as it was (NULL for a new one); a and old may borrow from the store (everything
 * is copied before the first write). A move to or from a configured crew also raises or
 * changes the ticket's work orders (dispatch_workorder_follow), in the same transaction.
 * Errors: HL_EINVAL (an id too long for a key), HL_ENOMEM,
 * store errors (HL_EFULL / HL_ETXNFULL must reach the txq as they are). */
int dispatch_assignment_put(dispatch_t *self, MDB_txn *txn, const dispatch_assignment_t *a,
                            const dispatch_assignment_t *old);

/* Visit a unit's tickets in one state, in ticket id order, starting after ticket id after
 * ("" or NULL = from the start), at most limit; *more tells whether more were left. fn
 * returns 0 to go on (anything else stops and is returned). */
typedef int (*dispatch_visit_fn)(void *ctx, const dispatch_assignment_t *a);
int dispatch_queue_list(dispatch_t *self, MDB_txn *txn, const char *unit,
                        Hotline__TicketStatus state, const char *after, size_t limit,
                        dispatch_visit_fn fn, void *ctx, bool *more);

/* How many tickets a unit holds in a state (0 for an unknown unit). */
int dispatch_unit_count(dispatch_t *self, MDB_txn *txn, const char *unit,
                        Hotline__TicketStatus state, uint64_t *out);

/* Every (unit, state, count) kept, in unit order; fn returns 0 to go on. */
typedef int (*dispatch_count_fn)(void *ctx, const char *unit, Hotline__TicketStatus state,
                                 uint64_t count);
int dispatch_counts(dispatch_t *self, MDB_txn *txn, dispatch_count_fn fn, void *ctx);

/* "SIGNED" for TICKET_SIGNED, ... ("UNSPECIFIED" for anything else). */
const char *dispatch_state_name(Hotline__TicketStatus state);
/* Parse "SIGNED" or "TICKET_SIGNED" in any case. Returns 0 or HL_EINVAL. */
int dispatch_state_parse(const char *text, Hotline__TicketStatus *out);

/* ---- inputs (dispatch_apply.c, dispatch_commands.c) ------------------------------------ */

/* feed_apply_fn for the intake feed (ctx = dispatch_t): TicketReceived. Other events are
 * ignored; an event that cannot be routed (no ticket id) is logged and skipped. */
int dispatch_apply_intake(void *ctx, MDB_txn *txn, const Hotline__Event *ev);

/* feed_apply_fn for the callback feed: ReworkRequested, TicketClosed. */
int dispatch_apply_callback(void *ctx, MDB_txn *txn, const Hotline__Event *ev);

/* The command handler (service_desc_t.command; state = dispatch_t): SignTicket and
 * ReplyTicket, answered with a TicketActionResult. */
int dispatch_command(void *state, MDB_txn *txn, const Hotline__Command *cmd, cmd_reply_t *reply);

/* Link open tickets to the active incident incident_id (dispatch_link.c): the n ticket_ids,
 * or with ticket_ids NULL every open ticket the incident covers (its category prefix and
 * area). Tickets that are not open (or unknown) are passed over. how ("hand", "rule",
 * "hotspot") and by (who) go into each TicketLinked. What analytics'
 * HotspotDetected becomes (dispatch_hotspot.c). *linked: how many were linked. Errors: HL_ENOTFOUND
 * (no such incident), HL_ECONFLICT (it is closed), store errors. */
int dispatch_incident_link(dispatch_t *self, MDB_txn *txn, const char *incident_id,
                           const char *const *ticket_ids, size_t n, const char *how,
                           const char *by, uint32_t *linked);

/* ---- HTTP (dispatch_http.c) ------------------------------------------------------------ */

/* Add dispatch's routes to the service's HTTP server. */
int dispatch_http_routes(dispatch_t *self, service_t *svc);

#endif
