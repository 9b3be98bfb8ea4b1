/* callback_http: the callback agents' HTTP resources.
 *
 *   POST /v1/callbacks/next          {"agent": "a1"}           -> command NextCallback
 *   POST /v1/callbacks/{ticketId}    {"outcome", "rating", "resolved", "comment", "agent"}
 *                                                              -> command RecordCallback
 *   POST /v1/callbacks/{ticketId}/promise  {"atMs" | "at", "note"}
 *                                                              -> command PromiseCallback
 *   GET  /v1/callbacks?state=pending|due|survey|done&limit=N   -> waiting tasks (due or not,
 *                                                                 by ticket id) / the due
 *                                                                 queue in hand-out order /
 *                                                                 those waiting for a
 *                                                                 survey's answer / finished
 *                                                                 tasks (and how many were
 *                                                                 skipped by the cap)
 *   GET  /v1/callbacks/{ticketId}                              -> the ticket's tasks
 *   POST /v1/surveys/{surveyId}/answer  {"rating", "resolved", "comment"}, signed by the
 *                                       survey gateway -> command AnswerSurvey
 *                                       (callback_survey_setup.c)
 *
 * The POSTs build the same hotline.Command that POST /v1/commands and the bus take, so HTTP
 * and ZeroMQ share one handler and idempotency (Idempotency-Key header). The GETs read LMDB
 * in a read transaction. Loop thread. */
#include "callback_survey.h"

#include "hl_error.h"

#include <stdlib.h>
#include <string.h>

bool callback_path_ticket(httpd_req_t *req, char id[CALLBACK_ID_MAX + 1], char *action,
                          size_t action_size)
{
    char extra[16], top[16] = "callbacks";
    service_path_segment(req, 1, top, sizeof top);
    int n = service_path_segment(req, 2, id, CALLBACK_ID_MAX + 1);
    if (n == HL_ENOTFOUND || n == 0) {
        service_http_error(req, 400, "ticketId",
                           "give the ticket id in the path: /v1/%s/{ticketId}", top);
        return false;
    }
    if (n < 0 || !callback_id_ok(id)) {
        service_http_error(req, 400, "ticketId",
                           "not a ticket id: at most %d characters of "
                           "UTF-8 text without control characters",
                           CALLBACK_ID_MAX);
        return false;
    }
    int a = action ? service_path_segment(req, 3, action, action_size) : HL_ENOTFOUND;
    if (a == HL_ENOTFOUND && action)
        action[0] = '\0';
    if ((a != HL_ENOTFOUND && a <= 0) ||
        service_path_segment(req, action ? 4 : 3, extra, sizeof extra) != HL_ENOTFOUND) {
        if (action)
            service_http_error(req, 404, NULL,
                               "no such resource: use /v1/%s/{ticketId} or "
                               "/v1/%s/{ticketId}/promise",
                               top, top);
        else
            service_http_error(req, 404, NULL, "no such resource: use /v1/%s/{ticketId}", top);
        return false;
    }
    return true;
}

void callback_http_run(callback_t *self, httpd_req_t *req, uint32_t body_case,
                       ProtobufCMessage *body)
{
    Hotline__Command *cmd = service_command_new(body_case, body);
    if (!cmd) {
        service_http_error(req, 503, NULL, "out of memory: nothing was stored; retry");
        return;
    }
    service_http_command(self->svc, req, cmd);
}

static void on_next(httpd_req_t *req, void *ctx)
{
    ProtobufCMessage *body = service_http_body(req, &hotline__next_callback__descriptor);
    if (body)
        callback_http_run(ctx, req, HOTLINE__COMMAND__BODY_NEXT_CALLBACK, body);
}

/* The body as a desc message whose ticket_id is the path's id (a ticketId in the body must
 * name the same ticket), run as the command body_case. */
static void run_for_ticket(callback_t *self, httpd_req_t *req, const char *id,
                           const ProtobufCMessageDescriptor *desc, uint32_t body_case)
{
    ProtobufCMessage *body = service_http_body(req, desc);
    if (!body)
        return;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(desc, "ticket_id");
    if (!service_take_path_id(req, (char **)((char *)body + f->offset), "ticketId", id)) {
        protobuf_c_message_free_unpacked(body, NULL);
        return;
    }
    callback_http_run(self, req, body_case, body);
}

void callback_http_ticket_command(callback_t *self, httpd_req_t *req,
                                  const ProtobufCMessageDescriptor *desc, uint32_t body_case)
{
    char id[CALLBACK_ID_MAX + 1];
    if (callback_path_ticket(req, id, NULL, 0))
        run_for_ticket(self, req, id, desc, body_case);
}

/* POST /v1/callbacks/{ticketId}: the call's outcome; .../promise: a time agreed. */
static void on_post(httpd_req_t *req, void *ctx)
{
    char id[CALLBACK_ID_MAX + 1], action[16];
    if (!callback_path_ticket(req, id, action, sizeof action))
        return;
    bool promise = strcmp(action, "promise") == 0;
    if (!promise && action[0]) {
        service_http_error(req, 404, NULL,
                           "no such resource: use /v1/callbacks/{ticketId} or "
                           "/v1/callbacks/{ticketId}/promise");
        return;
    }
    if (promise)
        run_for_ticket(ctx, req, id, &hotline__promise_callback__descriptor,
                       HOTLINE__COMMAND__BODY_PROMISE_CALLBACK);
    else
        run_for_ticket(ctx, req, id, &hotline__record_callback__descriptor,
                       HOTLINE__COMMAND__BODY_RECORD_CALLBACK);
}

static int query_limit(httpd_req_t *req, unsigned *out)
{
    char buf[16];
    int n = httpd_query_param(httpd_req_query(req), "limit", buf, sizeof buf);
    *out = CALLBACK_LIST_DEFAULT;
    if (n == HL_ENOTFOUND)
        return 0;
    char *end = buf;
    unsigned long v = n > 0 && buf[0] >= '0' && buf[0] <= '9' ? strtoul(buf, &end, 10) : 0;
    if (n <= 0 || *end || v < 1 || v > CALLBACK_LIST_MAX) {
        service_http_error(req, 400, "limit", "must be a whole number from 1 to %d",
                           CALLBACK_LIST_MAX);
        return HL_EINVAL;
    }
    *out = (unsigned)v;
    return 0;
}

static void answer_view(httpd_req_t *req, int rc, json_t *body, const char *what)
{
    if (rc == 0)
        service_http_json(req, 200, body);
    else if (rc == HL_ENOTFOUND)
        service_http_error(req, 404, "ticketId",
                           "no callback for ticket %s: one is scheduled "
                           "when the unit replies",
                           what);
    else
        service_http_error(req, 500, NULL, "could not read the callback queue: %s",
                           hl_strerror(rc));
}

static void on_list(httpd_req_t *req, void *ctx)
{
    callback_t *self = ctx;
    char state[16];
    int n = httpd_query_param(httpd_req_query(req), "state", state, sizeof state);
    callback_list_t which = CALLBACK_LIST_PENDING;
    if (n >= 0 && strcmp(state, "done") == 0)
        which = CALLBACK_LIST_DONE;
    else if (n >= 0 && strcmp(state, "due") == 0)
        which = CALLBACK_LIST_DUE;
    else if (n >= 0 && strcmp(state, "survey") == 0)
        which = CALLBACK_LIST_SURVEY;
    else if (n != HL_ENOTFOUND && (n < 0 || strcmp(state, "pending") != 0)) {
        service_http_error(req, 400, "state", "must be pending, due, survey or done");
        return;
    }
    unsigned limit;
    if (query_limit(req, &limit))
        return;
    MDB_txn *txn;
    json_t *body = NULL;
    int rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = callback_list(self, txn, which, limit, &body);
        store_read_end(&txn);
    }
    answer_view(req, rc, body, "");
}

static void on_ticket(httpd_req_t *req, void *ctx)
{
    callback_t *self = ctx;
    char id[CALLBACK_ID_MAX + 1];
    if (!callback_path_ticket(req, id, NULL, 0))
        return;
    MDB_txn *txn;
    json_t *body = NULL;
    int rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = callback_ticket_view(self, txn, id, &body);
        store_read_end(&txn);
    }
    answer_view(req, rc, body, id);
}

/* Who may call what: callback agents take and record calls (a rating only on a task they
 * claimed); a time agreed with the citizen (.../promise) comes from the operator who took
 * their call, the agent who called them or a supervisor. One POST route serves both (routes
 * match a prefix), so it lets in all three and the command's own row in callback.c's COMMANDS
 * decides: RecordCallback for agents only. Supervisors and admins read the queue
 * (phones masked). The survey gateway, which has no token, answers surveys with a signature
 * instead (401 without). Routes are tried in order: "next" before the {ticketId} prefix. */
#define READERS (AUTH_CALLBACK_AGENT | AUTH_SUPERVISOR | AUTH_ADMIN)
#define PROMISERS (AUTH_OPERATOR | AUTH_CALLBACK_AGENT | AUTH_SUPERVISOR)
static const service_route_t ROUTES[] = {
    {"POST", "/v1/callbacks/next", AUTH_CALLBACK_AGENT, on_next},
    {"POST", "/v1/callbacks/*", PROMISERS, on_post},
    {"GET", "/v1/callbacks", READERS, on_list},
    {"GET", "/v1/callbacks/*", READERS, on_ticket},
    {"POST", "/v1/surveys/*", AUTH_PUBLIC, callback_survey_on_answer}, /* signed: see there */
};

int callback_http_routes(callback_t *self)
{
    return service_routes(self->svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
