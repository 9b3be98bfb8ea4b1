/* dispatch's private parts, shared by the .c files of services/dispatch only. */
#ifndef HOTLINE_DISPATCH_INTERNAL_H
#define HOTLINE_DISPATCH_INTERNAL_H

#include "dispatch.h"

#include "calendar.h"
#include "bytes.h"
#include "dispatch_workorder.h"

struct dispatch {
    store_t *store;                     /* borrowed: the service's environment */
    evlog_t *log;                       /* borrowed: where TicketDispatched & co. go */
    hclock_t *clock;                    /* borrowed: every "now" */
    const Hotline__DispatchConfig *cfg; /* borrowed: shown by GET /v1/catalogue */
    dispatch_catalogue_t *cat;
    calendar_t *cal;     /* the centre's zone, for the local date in incident ids */
    MDB_dbi assignments; /* ticket id -> encoded dispatch_assignment_t */
    MDB_dbi route_texts; /* the routes assignments name by number (dispatch_store.c) */
    MDB_dbi queue;       /* 0, unit number, state-byte, ticket-id -> "" (dispatch_units.c) */
    MDB_dbi unit_numbers; /* unit -> its number in queue keys (dispatch_units.c) */
    struct dispatch_units *units; /* the committed unit numbers, in memory */
    bool units_dirty;             /* a number was given: reload them after the commit */
    struct dispatch_routes *routes; /* the route texts of the catalogue in use */
    MDB_dbi counts;      /* unit NUL state-byte -> BE u64 (tickets the unit holds in it) */
    MDB_dbi incidents;   /* incident id -> packed IncidentDeclared (current) + closed flag */
    MDB_dbi incident_seq; /* local date -> daily incident sequence */
    MDB_dbi returns;      /* ticket id -> packed ReturnRequested (pending returns only) */
    MDB_dbi extensions;   /* ticket id -> packed ExtensionRequested (pending only) */
    MDB_dbi reply_due;    /* ticket id -> round, reply due, days granted (from sla's feed) */
    MDB_dbi terminations; /* ticket id -> packed TerminationRequested (pending only) */
    MDB_dbi holds;        /* ticket id -> packed TicketHeld (on hold now only) */
    MDB_dbi catalogue;    /* BE u32 edition -> loaded ms, who, text (dispatch_catalogue.c) */
    MDB_dbi assists;      /* ticket id -> assisting units, NUL-separated */
    MDB_dbi assist_index; /* unit NUL ticket id -> "": the tickets a unit assists on */
    bool catalogue_dirty; /* an edition was loaded in this transaction: swap after commit */
    MDB_dbi incident_tickets; /* incident id NUL ticket id -> the unit it left ("" at the door) */
    MDB_dbi incident_closing; /* incident id -> resolution NUL last ticket replied (fan-out) */
    MDB_dbi hotspots;         /* hotspot id -> state byte, incident id NUL, packed
                               * HotspotDetected (dispatch_hotspot.c) */
    scheduler_t *closer;      /* carries a large close on in chunks; NULL in in-process tests */
    /* Set inside transactions when a count may have changed; read after the commit to
     * refresh the gauges. A rolled-back transaction leaves it set, which only costs one
     * needless refresh. */
    bool counts_dirty;
    service_t *svc;       /* NULL when driven in-process by tests */
    metric_t *open_gauge; /* hotline_dispatch_open_tickets{unit,state} */
    dispatch_crews_t *crews; /* crew endpoints and work orders (NULL: not opened, unit tests) */
};

/* dispatch_units.c: unit numbers and the queue keys made with them. open: the sub-database,
 * the keys of earlier versions rewritten, the numbers read (a start-up step); after_commit:
 * read them again when a transaction gave one. number: the unit's (give: a new one when it has
 * none; else *out 0). Errors: HL_EINVAL (not a unit id), store errors. Queue keys and
 * assignment records name units by number. */
typedef struct dispatch_units dispatch_units_t;
#define DISPATCH_QUEUE_KEY_MAX (2 + VARINT_MAX + DISPATCH_TICKET_ID_MAX)
int dispatch_units_open(dispatch_t *self);
void dispatch_units_after_commit(dispatch_t *self);
void dispatch_units_destroy(dispatch_t *self);
int dispatch_unit_number(dispatch_t *self, MDB_txn *txn, const char *unit, bool give,
                         uint32_t *out);
/* The unit a number was given to, into out. Errors: HL_ECORRUPT (no such number), store's. */
int dispatch_unit_name(dispatch_t *self, MDB_txn *txn, uint32_t number,
                       char out[DISPATCH_UNIT_ID_MAX + 1]);
/* A queue key into out (DISPATCH_QUEUE_KEY_MAX bytes; idlen 0: the prefix of the unit's
 * tickets in that state); its length. parse: false when key is not one. */
size_t dispatch_queue_key(uint8_t *out, uint32_t number, Hotline__TicketStatus state,
                          const char *id, size_t idlen);
bool dispatch_queue_key_parse(const void *key, size_t len, Hotline__TicketStatus *state,
                              const char **id, size_t *idlen);

/* dispatch_routes.c: route texts by number ("route_texts", numbered by common/storage names).
 * text: a->route from a->route_no (borrowed from the store; HL_ECORRUPT when the number is
 * not there). route_of: the text of the catalogue rule m matched, made once per edition, and its
 * number when one is committed (else 0: put numbers it); after_commit: learn the numbers
 * committed since. */
typedef struct dispatch_routes dispatch_routes_t;
int dispatch_route_text(dispatch_t *self, MDB_txn *txn, dispatch_assignment_t *a);
int dispatch_route_of(dispatch_t *self, const dispatch_match_t *m, const char **text,
                      uint32_t *number);
void dispatch_routes_after_commit(dispatch_t *self);
void dispatch_routes_destroy(dispatch_t *self);

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
/* The same, where an assisting unit (协办) may act too (progress notes): *assisting tells
 * whether unit assists rather than holds. */
int dispatch_load_held_or_assisted(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                                   const char *name, const char *ticket_id, const char **unitp,
                                   cmd_reply_t *reply, dispatch_assignment_t *a, bool *assisting);
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

/* A request waiting for a ruling (a return, an extension): the packed message of its event
 * under the ticket id in dbi. get: into arena, HL_ENOTFOUND when there is none. */
int dispatch_pending_get(MDB_txn *txn, MDB_dbi dbi, const char *id,
                         const ProtobufCMessageDescriptor *desc, arena_t *arena,
                         ProtobufCMessage **out);
int dispatch_pending_put(MDB_txn *txn, MDB_dbi dbi, const char *id, const ProtobufCMessage *msg);
/* The pending requests in dbi, by ticket id, at most limit, each as fn makes it (a new JSON
 * object; NULL on ENOMEM) appended to out. */
typedef json_t *(*dispatch_pending_json_fn)(const char *ticket_id, size_t id_len,
                                            const ProtobufCMessage *msg);
int dispatch_pending_list(MDB_txn *txn, MDB_dbi dbi, const ProtobufCMessageDescriptor *desc,
                          size_t limit, dispatch_pending_json_fn fn, json_t *out);
/* A unit's free text as a dispatcher or supervisor reads it: phone numbers masked. */
json_t *dispatch_masked_json(const char *text);

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

/* dispatch_extension.c: a unit asks for more working days to reply, a supervisor rules;
 * sla's feed (its reply deadlines) applied; the pending list as dispatch_returns_list. */
int dispatch_request_extension(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                               cmd_reply_t *reply);
int dispatch_review_extension(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                              cmd_reply_t *reply);
int dispatch_extensions_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out);
int dispatch_apply_sla(void *ctx, MDB_txn *txn, const Hotline__Event *ev);
/* When the return window of the ticket's round ends by its sla policy (sla's feed); 0 when sla
 * has not said (dispatch's returnWindow applies). Store errors only. */
int dispatch_return_until(dispatch_t *self, MDB_txn *txn, const char *id, uint32_t round,
                          int64_t *until_ms);

/* A ladder step of sla's (SlaWarning, SlaBreached, SlaEscalated) for a clock held by a
 * configured crew: a signed webhook through its connector (dispatch_ladder.c). Other events
 * and other units: nothing. */
int dispatch_ladder_notify(dispatch_t *self, MDB_txn *txn, const Hotline__Event *ev);

/* dispatch_catalogue.c: editions of the catalogue. open: the sub-database, and the newest
 * stored edition into self->cat (a start-up step); after_commit: swap in an edition a
 * committed LoadCatalogue stored. */
int dispatch_catalogue_open(dispatch_t *self);
void dispatch_catalogue_after_commit(dispatch_t *self);
int dispatch_load_catalogue(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                            cmd_reply_t *reply);
int dispatch_catalogue_routes(dispatch_t *self, service_t *svc);

/* dispatch_assist.c: a ticket's assisting units (the rule's, at dispatch). put: store them
 * (n may be 0); each: call fn for each (a non-zero return stops and is returned); on: true
 * when unit assists on the ticket. */
int dispatch_assists_put(dispatch_t *self, MDB_txn *txn, const char *ticket,
                         const char *const *units, size_t n);
int dispatch_assists_each(dispatch_t *self, MDB_txn *txn, const char *ticket,
                          int (*fn)(void *ctx, const char *unit), void *ctx);
bool dispatch_assists_on(dispatch_t *self, MDB_txn *txn, const char *ticket, const char *unit);
/* Add one unit to a ticket's assisting units (no change when it is there already);
 * HL_ETOOBIG when it has DISPATCH_READERS_MAX - 1 already (the rule's, and the parents of
 * sub-dispatches). */
#define DISPATCH_READERS_MAX (CATALOGUE_ASSIST_MAX + 16)
int dispatch_assists_add(dispatch_t *self, MDB_txn *txn, const char *ticket, const char *unit);

/* dispatch_termination.c: a unit asks to end a ticket without a reply, a supervisor rules;
 * the pending list as dispatch_returns_list. dispatch_subdispatch.c: the holding unit passes
 * the ticket to a subordinate unit. */
int dispatch_request_termination(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                                 cmd_reply_t *reply);
int dispatch_review_termination(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                                cmd_reply_t *reply);
int dispatch_terminations_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out);

/* dispatch_hold.c: HoldTicket (a dispatcher or supervisor puts a ticket on hold or resumes
 * it), the tickets on hold as JSON, and whether one is (rc: store errors). */
int dispatch_hold(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                  cmd_reply_t *reply);
int dispatch_holds_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out);
bool dispatch_on_hold(dispatch_t *self, MDB_txn *txn, const char *id, int *rc);
int dispatch_subdispatch(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                         cmd_reply_t *reply);

/* dispatch_incident.c: declare, update and close incidents (commands), and look one up. */
int dispatch_incident_command(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                              cmd_reply_t *reply);
/* Declare the incident d asks for (DeclareIncident's checks and effects: its id, record,
 * IncidentDeclared, a crew work order): answered in reply (IncidentResult, or a refusal naming
 * the declareIncident field). may_be_wide: the caller may declare a wide one (a supervisor). */
int dispatch_incident_declare(dispatch_t *self, MDB_txn *txn, const Hotline__DeclareIncident *d,
                              bool may_be_wide, cmd_reply_t *reply);
/* The incident's record (into arena); HL_ENOTFOUND. *closed tells whether it was closed. */
int dispatch_incident_get(dispatch_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                          Hotline__IncidentDeclared **out, bool *closed);
int dispatch_incident_routes(dispatch_t *self, service_t *svc);

/* dispatch_link.c: link tickets to an incident (by hand, by rule), unlink them. */
enum { DISPATCH_LINK_NOT_OPEN = 2 };
/* DISPATCHED, SIGNED or REWORK: what may be linked (and what linking by rule looks at). */
bool dispatch_state_open(Hotline__TicketStatus s);
/* Remember that ticket is in incident, and the unit it left ("" when it joined at the door). */
int dispatch_link_index_put(dispatch_t *self, MDB_txn *txn, const char *incident,
                            const char *ticket, const char *from_unit);
/* LinkTickets and UnlinkTicket. */
int dispatch_link_command(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                          cmd_reply_t *reply);

/* dispatch_hotspot.c: analytics' HotspotDetected by the hotspots.mode policy (feed apply),
 * AcceptHotspot / DismissHotspot, GET /v1/hotspots and the routes, and the mode's check. */
int dispatch_apply_analytics(void *ctx, MDB_txn *txn, const Hotline__Event *ev);
int dispatch_hotspot_command(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                             cmd_reply_t *reply);
int dispatch_hotspot_routes(dispatch_t *self, service_t *svc);
int dispatch_hotspot_check(const Hotline__DispatchConfig *cfg, char *err, size_t err_size);

/* dispatch_close.c: the close fan-out. */
#define DISPATCH_CLOSE_CHUNK 5000 /* tickets replied per transaction, unless
                                   * incidentLimits.closeChunk says otherwise */
/* Reply up to max LINKED tickets of incident after ticket id after (NULL: from the first) with
 * resolution; *more: tickets are left; last: the last ticket id visited. */
int dispatch_close_fanout(dispatch_t *self, MDB_txn *txn, const char *incident,
                          const char *resolution, const char *after, unsigned max,
                          unsigned *replied, bool *more, char last[DISPATCH_TICKET_ID_MAX + 1]);
/* The close command's part: the first chunk now; beyond it the incident is marked closing and
 * the scheduler replies the rest, chunk by chunk (*closing). */
int dispatch_close_start(dispatch_t *self, MDB_txn *txn, const char *incident,
                         const char *resolution, unsigned *replied, bool *closing);
/* One further chunk of a closing incident (what the scheduler runs); *more: not done yet. */
int dispatch_close_continue(dispatch_t *self, MDB_txn *txn, const char *incident, bool *more);
/* Whether the incident's linked tickets are still being replied. */
bool dispatch_incident_closing(dispatch_t *self, MDB_txn *txn, const char *incident);
/* Make the close scheduler (init). */
int dispatch_close_scheduler(dispatch_t *self, service_t *svc);

#endif
