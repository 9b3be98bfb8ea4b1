/* dispatch's private parts, shared by the .c files of services/dispatch only. */
#ifndef HOTLINE_DISPATCH_INTERNAL_H
#define HOTLINE_DISPATCH_INTERNAL_H

#include "dispatch.h"

#include "calendar.h"
#include "dispatch_workorder.h"

struct dispatch {
    store_t *store;                     /* borrowed: the service's environment */
    evlog_t *log;                       /* borrowed: where TicketDispatched & co. go */
    hclock_t *clock;                    /* borrowed: every "now" */
    const Hotline__DispatchConfig *cfg; /* borrowed: shown by GET /v1/catalogue */
    dispatch_catalogue_t *cat;
    calendar_t *cal;     /* the centre's zone, for the local date in incident ids */
    MDB_dbi assignments; /* ticket id -> encoded dispatch_assignment_t */
    MDB_dbi queue;       /* unit NUL state-byte ticket-id -> "" (a unit's tickets by state) */
    MDB_dbi counts;      /* unit NUL state-byte -> BE u64 (tickets the unit holds in it) */
    MDB_dbi incidents;   /* incident id -> packed IncidentDeclared (current) + closed flag */
    MDB_dbi incident_seq; /* local date -> daily incident sequence */
    MDB_dbi returns;      /* ticket id -> packed ReturnRequested (pending returns only) */
    /* Set inside transactions when a count may have changed; read after the commit to
     * refresh the gauges. A rolled-back transaction leaves it set, which only costs one
     * needless refresh. */
    bool counts_dirty;
    service_t *svc;       /* NULL when driven in-process by tests */
    metric_t *open_gauge; /* hotline_dispatch_open_tickets{unit,state} */
    dispatch_crews_t *crews; /* crew endpoints and work orders (NULL: not opened, unit tests) */
};

/* dispatch_commands.c: what the unit actions share. A check that answered the command (with
 * cmd_refuse) returns DISPATCH_REFUSED; its handler then returns 0. */
enum { DISPATCH_REFUSED = 1 };
/* The checks every unit action shares: the ids are given and sane, the acting unit is the
 * token's (a unit field, when given, must name it), the ticket exists and the unit holds it.
 * name is the command's JSON name, for the fields refusals name. *unitp becomes the acting
 * unit. Fills *a on success. */
int dispatch_load_held(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                       const char *name, const char *ticket_id, const char **unitp,
                       cmd_reply_t *reply, dispatch_assignment_t *a);
/* The TicketActionResult answer of a unit action. */
int dispatch_action_answer(cmd_reply_t *reply, const char *ticket_id, const char *unit,
                           Hotline__TicketStatus status, uint32_t round);
/* True when s has nothing but white space. */
bool dispatch_blank(const char *s);
/* Free text from a unit: valid UTF-8, at most max_chars, and, when required is not NULL, not
 * blank (required says what to write). False when it is not: the command is answered. */
bool dispatch_text_ok(cmd_reply_t *reply, const char *field, const char *text, long max_chars,
                      const char *required);
/* Append ev about ticket_id to dispatch's log inside txn. */
int dispatch_append(dispatch_t *self, MDB_txn *txn, const char *ticket_id, Hotline__Event *ev);
/* Refuse an action that needs the ticket signed (it is DISPATCHED or in REWORK). */
int dispatch_refuse_unsigned(cmd_reply_t *reply, const char *name, const char *ticket_id,
                             const dispatch_assignment_t *a);

/* dispatch_http.c: the id a route's path names goes into the body's string field (named name
 * in refusals); a body naming another is refused (400, answered). False when answered. */
bool dispatch_take_path_id(httpd_req_t *req, char **field, const char *name, const char *id);

/* dispatch_workflow.c: first contact with the citizen, progress notes. */
int dispatch_contact(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                     cmd_reply_t *reply);
int dispatch_note(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                  cmd_reply_t *reply);

/* dispatch_redirect.c: a dispatcher sends an unsigned ticket to another unit. */
int dispatch_redirect(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                      cmd_reply_t *reply);

/* dispatch_return.c: a unit asks to return a ticket, a dispatcher rules; the pending list
 * (at most limit, by ticket id) as JSON objects appended to out, free text masked. */
int dispatch_request_return(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                            cmd_reply_t *reply);
int dispatch_review_return(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                           cmd_reply_t *reply);
int dispatch_returns_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out);

/* dispatch_incident.c: declare, update and close incidents (commands), and look one up. */
int dispatch_incident_command(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                              cmd_reply_t *reply);
/* The incident's record (into arena); HL_ENOTFOUND. *closed tells whether it was closed. */
int dispatch_incident_get(dispatch_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                          Hotline__IncidentDeclared **out, bool *closed);
int dispatch_incident_routes(dispatch_t *self, service_t *svc);

#endif
