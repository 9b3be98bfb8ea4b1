/* dispatch_http: dispatch's own HTTP routes.
 *
 *   POST /v1/tickets/{id}/sign     {"unit": "..."}                        -> CommandReply
 *   POST /v1/tickets/{id}/reply    {"unit", "result", "resolved"}         -> CommandReply
 *   POST /v1/tickets/{id}/extension {"workingDays", "reason"}             -> CommandReply
 *   GET  /v1/extensions, POST /v1/extensions/{id} {"approve", "note"}   (supervisor)
 *   POST /v1/tickets/{id}/terminate {"reason"}; GET /v1/terminations, POST /v1/terminations/{id}
 *   POST /v1/tickets/{id}/subdispatch {"toUnit", "note"}               (to a subordinate)
 *   POST /v1/holds/{id} {"reason"} | {"resume": true}; GET /v1/holds (dispatcher, supervisor)
 *   GET  /v1/assignments/{id}      the ticket's assignment
 *   GET  /v1/units/{unit}/tickets  the unit's queue: ?state=&limit=&after=
 * The catalogue's routes are in dispatch_catalogue.c.
 *
 * Actions run as commands through service_http_command, so they share the bus's handler,
 * idempotency (the Idempotency-Key header) and group commit. Queries read LMDB in a read
 * transaction. Until bearer tokens arrive (a later issue) nothing binds a caller to a unit:
 * the queue route is per unit, and a command's actor "unit:X" may act only for X.
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_LIMIT_DEFAULT 100
#define QUEUE_LIMIT_MAX 1000

/* The states a unit still has work or a wait in, in the order a queue lists them: to sign
 * (new, then sent back), in hand, waiting for the callback. */
static const Hotline__TicketStatus OPEN_STATES[] = {
    HOTLINE__TICKET_STATUS__TICKET_DISPATCHED,
    HOTLINE__TICKET_STATUS__TICKET_REWORK,
    HOTLINE__TICKET_STATUS__TICKET_SIGNED,
    HOTLINE__TICKET_STATUS__TICKET_REPLIED,
};
#define NOPEN (sizeof OPEN_STATES / sizeof OPEN_STATES[0])

/* A path segment that must be there: answers 404 / 400 itself and returns false otherwise. */
static bool segment(httpd_req_t *req, unsigned n, const char *field, char *out, size_t size)
{
    int rc = service_path_segment(req, n, out, size);
    if (rc == HL_ETOOBIG) {
        service_http_error(req, 400, field, "longer than %zu bytes", size - 1);
        return false;
    }
    if (rc <= 0) {
        service_http_error(req, 404, field, "the path names no %s", field);
        return false;
    }
    return true;
}

static bool no_more_segments(httpd_req_t *req, unsigned n, const char *usage)
{
    char extra[2];
    if (service_path_segment(req, n, extra, sizeof extra) == HL_ENOTFOUND)
        return true;
    service_http_error(req, 404, NULL, "no such resource; use %s", usage);
    return false;
}

/* ---- actions ----------------------------------------------------------------------------- */

/* The unit actions under POST /v1/tickets/{id}/ACTION: the body is the command's message
 * without the ticket id, which the path gives. */
typedef struct ticket_action {
    const char *name;
    const ProtobufCMessageDescriptor *body;
    Hotline__Command__BodyCase command;
} ticket_action_t;

static const ticket_action_t ACTIONS[] = {
    {"sign", &hotline__sign_ticket__descriptor, HOTLINE__COMMAND__BODY_SIGN_TICKET},
    {"contact", &hotline__contact_citizen__descriptor, HOTLINE__COMMAND__BODY_CONTACT_CITIZEN},
    {"notes", &hotline__add_ticket_note__descriptor, HOTLINE__COMMAND__BODY_ADD_TICKET_NOTE},
    {"return", &hotline__request_return__descriptor, HOTLINE__COMMAND__BODY_REQUEST_RETURN},
    {"extension", &hotline__request_extension__descriptor,
     HOTLINE__COMMAND__BODY_REQUEST_EXTENSION},
    {"terminate", &hotline__request_termination__descriptor,
     HOTLINE__COMMAND__BODY_REQUEST_TERMINATION},
    {"subdispatch", &hotline__sub_dispatch_ticket__descriptor,
     HOTLINE__COMMAND__BODY_SUB_DISPATCH_TICKET},
    {"reply", &hotline__reply_ticket__descriptor, HOTLINE__COMMAND__BODY_REPLY_TICKET},
};
#define NACTIONS (sizeof ACTIONS / sizeof *ACTIONS)

/* The action's body (its message without the ticket id, which the path gives) as a command. */
static void run_action(dispatch_t *self, httpd_req_t *req, const char *id,
                       const ticket_action_t *action)
{
    ProtobufCMessage *body = service_http_body(req, action->body);
    if (!body)
        return; /* answered: 400 naming the field */
    /* Every action's message has ticket_id as a string. */
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(action->body, "ticket_id");
    if (!service_take_path_id(req, (char **)((char *)body + f->offset), "ticketId", id)) {
        protobuf_c_message_free_unpacked(body, NULL);
        return;
    }
    Hotline__Command *cmd = service_command_new(action->command, body);
    if (!cmd) {
        service_http_error(req, 500, NULL, "out of memory");
        return;
    }
    service_http_command(self->svc, req, cmd);
}

static void on_ticket_action(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    static const char usage[] =
        "POST /v1/tickets/{id}/ACTION, ACTION one of sign, contact, notes, return, extension, "
        "terminate, subdispatch, reply";
    char id[DISPATCH_TICKET_ID_MAX + 1], name[16];
    if (!segment(req, 2, "ticketId", id, sizeof id))
        return;
    const ticket_action_t *action = NULL;
    if (service_path_segment(req, 3, name, sizeof name) > 0)
        for (size_t i = 0; i < NACTIONS && !action; i++)
            if (strcmp(name, ACTIONS[i].name) == 0)
                action = &ACTIONS[i];
    if (!action) {
        service_http_error(req, 404, NULL, "no such action; use %s", usage);
        return;
    }
    if (no_more_segments(req, 4, usage))
        run_action(self, req, id, action);
}

/* A dispatcher's (or supervisor's) action on POST /v1/<things>/{id}: a route (and a row in the
 * access table) of its own, because the unit actions' route is for units. */
static void dispatcher_action(httpd_req_t *req, dispatch_t *self, const char *usage,
                              const ticket_action_t *action)
{
    char id[DISPATCH_TICKET_ID_MAX + 1];
    if (segment(req, 2, "ticketId", id, sizeof id) && no_more_segments(req, 3, usage))
        run_action(self, req, id, action);
}

/* POST /v1/redirects/{id} {"toUnit","reason","designated"} */
static void on_redirect(httpd_req_t *req, void *ctx)
{
    static const ticket_action_t redirect = {"redirect", &hotline__redirect_ticket__descriptor,
                                             HOTLINE__COMMAND__BODY_REDIRECT_TICKET};
    dispatcher_action(req, ctx, "POST /v1/redirects/{ticketId}", &redirect);
}

/* POST /v1/returns/{id} {"approve","toUnit","note"}: a dispatcher's ruling on a return. */
static void on_review_return(httpd_req_t *req, void *ctx)
{
    static const ticket_action_t review = {"review", &hotline__review_return__descriptor,
                                           HOTLINE__COMMAND__BODY_REVIEW_RETURN};
    dispatcher_action(req, ctx, "POST /v1/returns/{ticketId}", &review);
}

static bool query_limit(httpd_req_t *req, size_t *out);

/* GET /v1/returns?limit=N: the returns waiting for a ruling, by ticket id. */
typedef int (*pending_list_fn)(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out);

/* A list of requests waiting for a ruling, as {"<name>": [...]}. */
static void pending_list(httpd_req_t *req, dispatch_t *self, const char *name, pending_list_fn fn)
{
    size_t limit;
    if (!query_limit(req, &limit))
        return;
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc) {
        service_http_error(req, 503, NULL, "cannot read the store: %s", hl_strerror(rc));
        return;
    }
    json_t *list = json_array();
    rc = list ? fn(self, txn, limit, list) : HL_ENOMEM;
    store_read_end(&txn);
    if (rc) {
        json_decref(list);
        service_http_error(req, 500, NULL, "cannot list the %s: %s", name, hl_strerror(rc));
        return;
    }
    service_http_json(req, 200, json_pack("{s:o}", name, list));
}

static void on_returns(httpd_req_t *req, void *ctx)
{
    pending_list(req, ctx, "returns", dispatch_returns_list);
}

/* GET /v1/extensions?limit=N: the extensions waiting for a supervisor, by ticket id. */
static void on_extensions(httpd_req_t *req, void *ctx)
{
    pending_list(req, ctx, "extensions", dispatch_extensions_list);
}

/* GET /v1/terminations?limit=N, POST /v1/terminations/{id} {"approve","note"} (supervisor). */
static void on_terminations(httpd_req_t *req, void *ctx)
{
    pending_list(req, ctx, "terminations", dispatch_terminations_list);
}

/* GET /v1/holds?limit=N: the tickets on hold; POST /v1/holds/{id} {"reason"} puts one on hold,
 * {"resume": true, "reason"} resumes it (dispatchers, supervisors). */
static void on_holds(httpd_req_t *req, void *ctx)
{
    pending_list(req, ctx, "holds", dispatch_holds_list);
}

static void on_hold(httpd_req_t *req, void *ctx)
{
    static const ticket_action_t hold = {"hold", &hotline__hold_ticket__descriptor,
                                         HOTLINE__COMMAND__BODY_HOLD_TICKET};
    dispatcher_action(req, ctx, "POST /v1/holds/{ticketId}", &hold);
}

static void on_review_termination(httpd_req_t *req, void *ctx)
{
    static const ticket_action_t review = {"review", &hotline__review_termination__descriptor,
                                           HOTLINE__COMMAND__BODY_REVIEW_TERMINATION};
    dispatcher_action(req, ctx, "POST /v1/terminations/{ticketId}", &review);
}

/* POST /v1/extensions/{id} {"approve","note"}: a supervisor's ruling on an extension. */
static void on_review_extension(httpd_req_t *req, void *ctx)
{
    static const ticket_action_t review = {"review", &hotline__review_extension__descriptor,
                                           HOTLINE__COMMAND__BODY_REVIEW_EXTENSION};
    dispatcher_action(req, ctx, "POST /v1/extensions/{ticketId}", &review);
}

/* ---- assignments ------------------------------------------------------------------------- */

static int add_one(void *ctx, const char *unit)
{
    return json_array_append_new(ctx, json_string(unit)) ? HL_ENOMEM : 0;
}

/* "assistingUnits": the ticket's 协办 units, when it has any. */
static int add_assisting(dispatch_t *self, MDB_txn *txn, const char *id, json_t *body)
{
    json_t *list = json_array();
    int rc = list ? dispatch_assists_each(self, txn, id, add_one, list) : HL_ENOMEM;
    if (!rc && json_array_size(list))
        json_object_set(body, "assistingUnits", list);
    json_decref(list);
    return rc;
}

static void on_assignment(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    char id[DISPATCH_TICKET_ID_MAX + 1];
    if (!segment(req, 2, "ticketId", id, sizeof id) ||
        !no_more_segments(req, 3, "GET /v1/assignments/{ticketId}"))
        return;
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc) {
        service_http_error(req, 503, NULL, "cannot read the store: %s", hl_strerror(rc));
        return;
    }
    dispatch_assignment_t a;
    rc = dispatch_assignment_get(self, txn, id, &a);
    const auth_principal_t *who = service_req_principal(req);
    bool unit = who->role == HOTLINE__ROLE__ROLE_UNIT;
    bool holds = unit && rc == 0 && strcmp(a.unit, who->subject) == 0;
    if (rc == 0 && unit && !holds && !dispatch_assists_on(self, txn, id, who->subject)) {
        store_read_end(&txn);
        service_http_error(req, 403, "ticketId",
                           "ticket %s is not with unit %s: a unit reads only the tickets it "
                           "holds or assists on", id, who->subject);
        return;
    }
    /* The caller in full for the holder; an assisting unit works through the lead unit. */
    json_t *body = rc ? NULL : dispatch_assignment_json(&a, holds || who->trusted);
    if (body && (rc = add_assisting(self, txn, id, body))) {
        json_decref(body);
        body = NULL;
    }
    store_read_end(&txn);
    if (rc == HL_ENOTFOUND)
        service_http_error(req, 404, "ticketId",
                           "ticket %s is not at dispatch: check the id "
                           "(a ticket just submitted to intake arrives within moments)",
                           id);
    else if (rc || !body)
        service_http_error(req, 500, NULL, "cannot read the assignment: %s",
                           hl_strerror(rc ? rc : HL_ENOMEM));
    else
        service_http_json(req, 200, body);
}

/* ---- a unit's queue -------------------------------------------------------------------- */

typedef struct page {
    json_t *tickets;
    size_t left;      /* room for this many more */
    const char *last; /* id of the last ticket added (points into the JSON) */
    bool caller_whole; /* the unit's own queue: its callers in full */
} page_t;

static int add_ticket(void *ctx, const dispatch_assignment_t *a)
{
    page_t *p = ctx;
    json_t *j = dispatch_assignment_json(a, p->caller_whole);
    if (!j || json_array_append_new(p->tickets, j))
        return HL_ENOMEM;
    p->left--;
    p->last = json_string_value(json_object_get(j, "ticketId"));
    return 0;
}

/* ?limit: 1..QUEUE_LIMIT_MAX (default QUEUE_LIMIT_DEFAULT). Answers 400 itself. */
static bool query_limit(httpd_req_t *req, size_t *out)
{
    char buf[16];
    int n = httpd_query_param(httpd_req_query(req), "limit", buf, sizeof buf);
    *out = QUEUE_LIMIT_DEFAULT;
    if (n == HL_ENOTFOUND)
        return true;
    char *end = NULL;
    unsigned long v = n > 0 && buf[0] >= '0' && buf[0] <= '9' ? strtoul(buf, &end, 10) : 0;
    if (n <= 0 || *end || v < 1 || v > QUEUE_LIMIT_MAX) {
        service_http_error(req, 400, "limit", "must be a whole number from 1 to %d",
                           QUEUE_LIMIT_MAX);
        return false;
    }
    *out = v;
    return true;
}

static json_t *counts_json(dispatch_t *self, MDB_txn *txn, const char *unit, uint64_t *total,
                           int *rc)
{
    json_t *o = json_object();
    *total = 0;
    for (int s = HOTLINE__TICKET_STATUS__TICKET_DISPATCHED;
         s <= HOTLINE__TICKET_STATUS__TICKET_CLOSED && !*rc; s++) {
        uint64_t n;
        *rc = dispatch_unit_count(self, txn, unit, (Hotline__TicketStatus)s, &n);
        json_object_set_new(o, dispatch_state_name((Hotline__TicketStatus)s),
                            json_integer((json_int_t)n));
        *total += n;
    }
    return o;
}

/* What GET /v1/units/{unit}/tickets asks for. */
typedef struct queue_query {
    char unit[DISPATCH_UNIT_ID_MAX + 1];
    Hotline__TicketStatus states[NOPEN]; /* listed in this order */
    size_t nstates;
    char after[DISPATCH_TICKET_ID_MAX + 1]; /* "" = from the start */
    size_t limit;
} queue_query_t;

/* Read the path and the query; on a mistake answer 400 / 404 and return false. */
static bool parse_queue_query(httpd_req_t *req, queue_query_t *q)
{
    static const char usage[] = "GET /v1/units/{unit}/tickets?state=&limit=&after=";
    char what[8], state[32];
    if (!segment(req, 2, "unit", q->unit, sizeof q->unit))
        return false;
    int rc = service_path_segment(req, 3, what, sizeof what);
    if (rc <= 0 || strcmp(what, "tickets") != 0) {
        service_http_error(req, 404, NULL, "no such resource; use %s", usage);
        return false;
    }
    if (!no_more_segments(req, 4, usage))
        return false;
    const char *query = httpd_req_query(req);
    memcpy(q->states, OPEN_STATES, sizeof q->states);
    q->nstates = NOPEN;
    rc = httpd_query_param(query, "state", state, sizeof state);
    if (rc != HL_ENOTFOUND) {
        if (rc <= 0 || dispatch_state_parse(state, &q->states[0]) ||
            q->states[0] == HOTLINE__TICKET_STATUS__TICKET_RECEIVED) {
            service_http_error(req, 400, "state",
                               "must be one of DISPATCHED, SIGNED, REPLIED, "
                               "REWORK, CLOSED (or leave it out for every open state)");
            return false;
        }
        q->nstates = 1;
    }
    rc = httpd_query_param(query, "after", q->after, sizeof q->after);
    if (rc == HL_ENOTFOUND) {
        q->after[0] = '\0';
    } else if (rc < 0) {
        service_http_error(req, 400, "after", "not a ticket id (at most %d bytes)",
                           DISPATCH_TICKET_ID_MAX);
        return false;
    } else if (rc > 0 && q->nstates != 1) {
        service_http_error(req, 400, "after",
                           "pages by ticket id within one state: give state too");
        return false;
    }
    return query_limit(req, &q->limit);
}

static void on_unit_tickets(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    queue_query_t q;
    if (!parse_queue_query(req, &q))
        return;
    const char *unit = q.unit;
    const auth_principal_t *who = service_req_principal(req);
    bool own = who->role == HOTLINE__ROLE__ROLE_UNIT;
    if (own && strcmp(unit, who->subject) != 0) {
        service_http_error(req, 403, "unit", "your token is unit %s's: a unit reads only its "
                           "own queue (GET /v1/units/%s/tickets)", who->subject, who->subject);
        return;
    }
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc) {
        service_http_error(req, 503, NULL, "cannot read the store: %s", hl_strerror(rc));
        return;
    }
    uint64_t total;
    json_t *counts = counts_json(self, txn, unit, &total, &rc);
    const char *name = dispatch_catalogue_unit_name(self->cat, unit);
    if (!rc && !name && total == 0) {
        json_decref(counts);
        store_read_end(&txn);
        service_http_error(req, 404, "unit",
                           "unit %s is not in the catalogue and holds no tickets; "
                           "GET /v1/catalogue lists the units",
                           unit);
        return;
    }
    page_t page = {json_array(), q.limit, NULL, own || who->trusted};
    bool more = false;
    /* States in turn, each with the room the page has left; once it is full, the next
     * state's list (limit 0) only tells whether anything is left. */
    for (size_t i = 0; i < q.nstates && !rc && !more; i++)
        rc = dispatch_queue_list(self, txn, unit, q.states[i], i == 0 ? q.after : "", page.left,
                                 add_ticket, &page, &more);
    char next[DISPATCH_TICKET_ID_MAX + 1] = "";
    if (more && q.nstates == 1 && page.last)
        snprintf(next, sizeof next, "%s", page.last);
    store_read_end(&txn);
    if (rc) {
        json_decref(counts);
        json_decref(page.tickets);
        service_http_error(req, 500, NULL, "cannot read the queue: %s", hl_strerror(rc));
        return;
    }
    json_t *body = json_pack("{s:s, s:s, s:o, s:o, s:b}", "unit", unit, "name", name ? name : unit,
                             "counts", counts, "tickets", page.tickets, "more", more);
    if (body && next[0])
        json_object_set_new(body, "next", json_string(next));
    service_http_json(req, 200, body);
}

/* Who may call what: units act on the tickets they hold and read only those (a unit token
 * reading another unit's ticket or queue gets 403); dispatchers, supervisors and admins read
 * every ticket, with the caller masked. */
#define TICKET_READERS (AUTH_UNIT | AUTH_DISPATCHER | AUTH_SUPERVISOR | AUTH_ADMIN)
static const service_route_t ROUTES[] = {
    {"POST", "/v1/tickets/*", AUTH_UNIT, on_ticket_action},
    {"POST", "/v1/redirects/*", AUTH_DISPATCHER, on_redirect},
    {"POST", "/v1/returns/*", AUTH_DISPATCHER, on_review_return},
    {"GET", "/v1/returns", AUTH_DISPATCHER | AUTH_SUPERVISOR, on_returns},
    {"POST", "/v1/extensions/*", AUTH_SUPERVISOR, on_review_extension},
    {"GET", "/v1/extensions", AUTH_DISPATCHER | AUTH_SUPERVISOR, on_extensions},
    {"POST", "/v1/terminations/*", AUTH_SUPERVISOR, on_review_termination},
    {"GET", "/v1/terminations", AUTH_DISPATCHER | AUTH_SUPERVISOR, on_terminations},
    {"POST", "/v1/holds/*", AUTH_DISPATCHER | AUTH_SUPERVISOR, on_hold},
    {"GET", "/v1/holds", AUTH_DISPATCHER | AUTH_SUPERVISOR, on_holds},
    {"GET", "/v1/assignments/*", TICKET_READERS, on_assignment},
    {"GET", "/v1/units/*", TICKET_READERS, on_unit_tickets},
};

int dispatch_http_routes(dispatch_t *self, service_t *svc)
{
    return service_routes(svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
