/* dispatch_workorder: crew work orders and the crew systems' webhooks (issue 9, "Crew
 * connector"). Included by dispatch_internal.h; services/dispatch only.
 *
 * A crew is a unit of the catalogue with an entry in crews[] (dispatch_crew.c): its own
 * connector (common/http/connector: durable, signed, retried, dead-lettered) named
 * crew_<unit>, POSTing to the crew system's url. A work order (dispatch_workorder.c) is raised
 * for a ticket or an incident and one crew; raising it and every change of it (the ticket
 * closed or sent to another unit, a dispatcher's cancellation) append an event and enqueue a
 * webhook in the same transaction, so the crew system hears of exactly what committed. Crews
 * report progress on POST /v1/workorders/{id}/status with their crew:<unit> token
 * (dispatch_workorder_http.c). Loop thread. */
#ifndef HOTLINE_DISPATCH_WORKORDER_H
#define HOTLINE_DISPATCH_WORKORDER_H

#include "connector.h"
#include "service.h"

#include "hotline/command.pb-c.h"
#include "hotline/config.pb-c.h"

#define DISPATCH_WO_ID_MAX 96 /* "WO-" + a ticket or incident id + "-" + n */

typedef struct dispatch dispatch_t;
typedef struct dispatch_catalogue dispatch_catalogue_t;

/* ---- crew endpoints (dispatch_crew.c) ---------------------------------------------------- */

typedef struct dispatch_crew {
    char unit[65];       /* the catalogue unit; its token is crew:<unit> */
    connector_t *conn;   /* named crew_<unit> ('-' as '_') */
} dispatch_crew_t;

typedef struct dispatch_crews {
    dispatch_crew_t *crew; /* as configured in crews[] */
    size_t n;
    MDB_dbi orders;    /* work order id -> packed WorkOrder */
    MDB_dbi by_source; /* ticket or incident id NUL work order id -> "" */
    MDB_dbi by_crew;   /* crew NUL work order id -> "" */
    MDB_dbi briefs;    /* ticket id -> packed Ticket (description and location, masked) */
} dispatch_crews_t;

/* Check crews[] against the catalogue (each unit known, once; url http(s); a secret from
 * secretFile, mode 0600 or stricter, or from the variable secretEnv, at least 16 bytes;
 * numbers in range). 0, or HL_EINVAL with err naming the field ("crews[0].url: ..."). */
int dispatch_crews_check(const Hotline__DispatchConfig *cfg, const dispatch_catalogue_t *cat,
                         char *err, size_t err_size);

/* Write each crew's defaults (maxAttempts 8, backoffFirstMs 1000, backoffCapMs 300000,
 * timeoutMs 10000) where it leaves 0, before --print-config shows the configuration. */
void dispatch_crews_fill_defaults(Hotline__DispatchConfig *cfg);

/* One connector per crew, on the service's loop, store, txq, clock and metrics, and the work
 * order sub-databases (opened also when no crew is configured). Start-up only. */
int dispatch_crews_create(dispatch_t *self, service_t *svc, char *err, size_t err_size);
int dispatch_crews_start(dispatch_t *self);
void dispatch_crews_stop(dispatch_t *self);    /* the service's stop() hook */
void dispatch_crews_destroy(dispatch_t *self); /* fini(), after the txq */

/* The connector of a crew, NULL when unit is not a configured crew. */
connector_t *dispatch_crew_connector(dispatch_t *self, const char *unit);

/* The dead letters of every crew, masked, as JSON objects appended to out (at most limit). */
int dispatch_crews_dead_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out);

/* The ReplayDeadLetter command (dispatchers, admins). */
int dispatch_crews_replay(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                          cmd_reply_t *reply);

/* ---- work orders (dispatch_workorder.c) -------------------------------------------------- */

/* What a work order is raised for. Strings may be NULL ("") and are copied (masked where
 * free text). Exactly one of ticket_id and incident_id. */
typedef struct dispatch_wo_request {
    const char *ticket_id;
    const char *incident_id;
    const char *crew;        /* a configured crew */
    const char *category;    /* code, or the incident's prefix */
    const char *district;
    const char *location;    /* street, community, address */
    const char *description; /* what was reported */
    const char *note;        /* the dispatcher's */
    Hotline__Urgency urgency;
    const char *raised_by;   /* "dispatch" or a dispatcher's name */
    const char *trigger;     /* dispatched, reassigned, reopened, dispatcher, incident */
} dispatch_wo_request_t;

/* Raise a work order inside txn: the record, its indexes, a WorkOrderRaised event and the
 * webhook, together. An open work order for the same source and crew is kept instead
 * (*existing = true, nothing appended or sent). id_out (DISPATCH_WO_ID_MAX + 1 bytes, may be
 * NULL) gets its id. The incident code calls this for "one crew work order per incident".
 * Errors: HL_EINVAL (no such crew, no source or both, ids too long), store errors. */
int dispatch_workorder_raise(dispatch_t *self, MDB_txn *txn, const dispatch_wo_request_t *rq,
                             char *id_out, bool *existing);

/* The same with the record unpacked into arena: the new one, or the open one (*existing). */
int dispatch_workorder_raise_in(dispatch_t *self, MDB_txn *txn, const dispatch_wo_request_t *rq,
                                arena_t *arena, Hotline__WorkOrder **out, bool *existing);

/* Store a changed record (no event, no webhook). */
int dispatch_workorder_store(dispatch_t *self, MDB_txn *txn, const Hotline__WorkOrder *wo);

/* Close an open work order (state CANCELLED, a new revision): the record, a WorkOrderChanged
 * event and the change webhook. reason is masked (a copy in arena). */
int dispatch_workorder_change(dispatch_t *self, MDB_txn *txn, Hotline__WorkOrder *wo,
                              Hotline__WorkOrderChange what, const char *reason, arena_t *arena);

/* On TicketReceived, before the assignment is stored: keep ticket id's description and
 * location (masked) for the work orders it may get. Nothing when no crew is configured. */
int dispatch_workorder_remember(dispatch_t *self, MDB_txn *txn, const char *id,
                                const Hotline__Ticket *t);

/* What was remembered of a ticket into rq's description and location ("street, community,
 * address"; strings in arena); nothing when there is none. */
int dispatch_workorder_brief(dispatch_t *self, MDB_txn *txn, const char *ticket_id,
                             arena_t *arena, dispatch_wo_request_t *rq);

/* After an assignment moved (dispatch_assignment_put; old_unit NULL for a new one): raise a
 * work order when the ticket is now DISPATCHED or in REWORK at a crew, tell a crew it lost
 * the ticket (redirected) or that the ticket closed. */
int dispatch_workorder_follow(dispatch_t *self, MDB_txn *txn, const char *ticket_id,
                              const char *old_unit, Hotline__TicketStatus old_state,
                              const char *new_unit, Hotline__TicketStatus new_state);

/* Commands: RaiseWorkOrder and CancelWorkOrder (dispatchers), UpdateWorkOrderStatus (the
 * crew holding it). */
int dispatch_workorder_command(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                               cmd_reply_t *reply);

/* One work order (unpacked into arena); HL_ENOTFOUND. */
int dispatch_workorder_get(dispatch_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                           Hotline__WorkOrder **out);

/* Work orders in id order after `after` ("" = from the start), of one crew (NULL = all),
 * in one state (UNSPECIFIED = any), at most limit, as JSON appended to out; *more tells
 * whether more were left. */
int dispatch_workorder_list(dispatch_t *self, MDB_txn *txn, const char *crew,
                            Hotline__WorkOrderState state, const char *after, size_t limit,
                            json_t *out, bool *more);

/* The routes (dispatch_workorder_http.c). */
int dispatch_workorder_routes(dispatch_t *self, service_t *svc);

#endif
