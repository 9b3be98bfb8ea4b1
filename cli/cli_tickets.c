/* cli_tickets: submit, show, list, sign, reply. */
#include "cli.h"

#include "mask.h"
#include "slog.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "very_urgent" -> "URGENCY_VERY_URGENT" style names are accepted by the services as is. */
static json_t *obj_path(json_t *root, const char *key)
{
    json_t *o = json_object_get(root, key);
    if (!o) {
        o = json_object();
        json_object_set_new(root, key, o);
    }
    return o;
}

int cli_submit(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"category", required_argument, NULL, 'c'}, {"description", required_argument, NULL, 'd'},
        {"phone", required_argument, NULL, 'p'},    {"name", required_argument, NULL, 'n'},
        {"anonymous", no_argument, NULL, 'A'},      {"district", required_argument, NULL, 'D'},
        {"street", required_argument, NULL, 's'},   {"community", required_argument, NULL, 'C'},
        {"address", required_argument, NULL, 'a'},  {"urgency", required_argument, NULL, 'u'},
        {"channel", required_argument, NULL, 'h'},  {"appeal", required_argument, NULL, 't'},
        {"vulnerable", no_argument, NULL, 'v'},     {"confidential", no_argument, NULL, 'x'},
        {"external-ref", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0},
    };
    json_t *t = json_object();
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        switch (c) {
        case 'c': json_object_set_new(t, "categoryCode", json_string(optarg)); break;
        case 'd': json_object_set_new(t, "description", json_string(optarg)); break;
        case 'p': json_object_set_new(obj_path(t, "contact"), "phone", json_string(optarg)); break;
        case 'n': json_object_set_new(obj_path(t, "contact"), "name", json_string(optarg)); break;
        case 'A': json_object_set_new(obj_path(t, "contact"), "anonymous", json_true()); break;
        case 'D': json_object_set_new(obj_path(t, "location"), "district", json_string(optarg)); break;
        case 's': json_object_set_new(obj_path(t, "location"), "street", json_string(optarg)); break;
        case 'C': json_object_set_new(obj_path(t, "location"), "community", json_string(optarg)); break;
        case 'a': json_object_set_new(obj_path(t, "location"), "address", json_string(optarg)); break;
        case 'u': json_object_set_new(t, "urgency", json_string(optarg)); break;
        case 'h': json_object_set_new(t, "channel", json_string(optarg)); break;
        case 't': json_object_set_new(t, "appealType", json_string(optarg)); break;
        case 'v': json_object_set_new(t, "vulnerableCaller", json_true()); break;
        case 'x': json_object_set_new(t, "confidential", json_true()); break;
        case 'e': json_object_set_new(t, "externalRef", json_string(optarg)); break;
        }
    }
    if (c != CLI_OPT_END || optind < argc) {
        json_decref(t);
        return c != CLI_OPT_END ? cli_opt_exit(c)
                                : cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    }
    json_t *ans;
    int status = cli_http(cli, SVC_INTAKE, "POST", "/v1/tickets", t, &ans);
    json_decref(t);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json)
            cli_print_json(ans);
        else {
            /* The id alone on stdout (scripts take it); what to tell the caller on stderr. */
            json_t *r = json_object_get(ans, "submitTicket");
            printf("%s\n", json_string_value(json_object_get(r, "ticketId")));
            const char *msg = json_string_value(json_object_get(r, "message"));
            if (msg)
                fprintf(stderr, "%s\n", msg);
        }
    }
    json_decref(ans);
    return rc;
}

static const char *status_name(json_t *s)
{
    const char *v = json_string_value(s);
    if (!v)
        return "received";
    return strncmp(v, "TICKET_", 7) == 0 ? v + 7 : v;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void print_view(json_t *v)
{
    json_t *t = json_object_get(v, "ticket");
    char status[32], when[40], due[40];
    snprintf(status, sizeof status, "%s", status_name(json_object_get(v, "status")));
    lower(status);
    printf("Ticket %s  %s  %s\n", json_string_value(json_object_get(t, "id")),
           json_string_value(json_object_get(t, "categoryCode")), status);
    json_t *contact = json_object_get(t, "contact");
    char phone[32];
    mask_phone_field(json_string_value(json_object_get(contact, "phone")), phone,
                          sizeof phone);
    const char *name = json_string_value(json_object_get(contact, "name"));
    printf("  caller      %s %s\n", name ? name : "-", phone[0] ? phone : "");
    json_t *loc = json_object_get(t, "location");
    const char *parts[] = {"district", "street", "community", "address"};
    printf("  location   ");
    for (size_t i = 0; i < 4; i++) {
        const char *p = json_string_value(json_object_get(loc, parts[i]));
        if (p)
            printf(" %s", p);
    }
    printf("\n  description %s\n", json_string_value(json_object_get(t, "description")));
    cli_time(json_object_get(t, "receivedMs"), when, sizeof when);
    printf("  received    %s\n", when);
    const char *unit = json_string_value(json_object_get(v, "unit"));
    if (unit)
        printf("  unit        %s (round %lld)\n", unit,
               json_integer_value(json_object_get(v, "reworkRound")));
    cli_time(json_object_get(v, "signDueMs"), due, sizeof due);
    cli_time(json_object_get(v, "signedMs"), when, sizeof when);
    printf("  sign        due %s, signed %s%s\n", due, when,
           json_is_true(json_object_get(v, "signBreached")) ? "  BREACHED" : "");
    cli_time(json_object_get(v, "replyDueMs"), due, sizeof due);
    cli_time(json_object_get(v, "repliedMs"), when, sizeof when);
    printf("  reply       due %s, replied %s%s\n", due, when,
           json_is_true(json_object_get(v, "replyBreached")) ? "  BREACHED" : "");
    const char *reply = json_string_value(json_object_get(v, "replyText"));
    if (reply)
        printf("  answer      %s (%s)\n", reply,
               json_is_true(json_object_get(v, "resolved")) ? "resolved" : "not resolved");
    cli_time(json_object_get(v, "callbackDueMs"), due, sizeof due);
    const char *rating = json_string_value(json_object_get(v, "rating"));
    if (rating || strcmp(due, "-") != 0) {
        char r[40];
        snprintf(r, sizeof r, "%s", rating ? rating + 7 : "not yet");
        lower(r);
        printf("  callback    due %s, rating %s%s\n", due, r,
               rating ? (json_is_true(json_object_get(v, "ratedResolved")) ? ", resolved"
                                                                           : ", not resolved")
                      : "");
    }
}

/* One timeline line: time, source, kind and the body's plain fields. */
/* The name people use for an sla ladder step ("red card"), or the event's own key. */
static const char *event_label(const char *key, json_t *body)
{
    if (strcmp(key, "slaWarning") == 0)
        return "yellow card";
    if (strcmp(key, "slaBreached") == 0)
        return "overdue";
    if (strcmp(key, "slaEscalated") == 0) {
        const char *step = json_string_value(json_object_get(body, "step"));
        return !step                                        ? key
               : strcmp(step, "SLA_STEP_REMINDER") == 0     ? "reminder"
               : strcmp(step, "SLA_STEP_RED_CARD") == 0     ? "red card"
               : strcmp(step, "SLA_STEP_SUPERVISION") == 0  ? "supervision notice"
                                                            : key;
    }
    return key;
}

/* The scalar fields of a body as " key=value"; a nested message (an appeal) one level down. */
static void print_fields(json_t *obj, int depth)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (json_is_string(v) && strlen(k) > 2 && strcmp(k + strlen(k) - 2, "Ms") == 0) {
            char t[40];
            cli_time(v, t, sizeof t);
            printf(" %s=%s", k, t);
        } else if (json_is_string(v)) {
            printf(" %s=%s", k, json_string_value(v));
        } else if (json_is_integer(v)) {
            printf(" %s=%lld", k, json_integer_value(v));
        } else if (json_is_boolean(v)) {
            printf(" %s=%s", k, json_is_true(v) ? "true" : "false");
        } else if (json_is_object(v) && depth == 0) {
            print_fields(v, 1);
        }
    }
}

static void print_event(json_t *ev)
{
    char when[40];
    cli_time(json_object_get(ev, "timeMs"), when, sizeof when);
    const char *key;
    json_t *val;
    json_object_foreach(ev, key, val) {
        if (!json_is_object(val))
            continue;
        printf("  %s  %-9s %-20s", when, json_string_value(json_object_get(ev, "source")),
               event_label(key, val));
        print_fields(val, 0);
        printf("\n");
    }
}

int cli_show(cli_t *cli, int argc, char **argv)
{
    int c = cli_getopt(cli, argc, argv, NULL);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1)
        return cli_usage_error(cli, "takes exactly one TICKET_ID");
    const char *id = argv[optind];
    char path[256];
    snprintf(path, sizeof path, "/v1/tickets/%s", id);
    json_t *view;
    int status = cli_http(cli, SVC_INTAKE, "GET", path, NULL, &view);
    int rc = cli_finish(cli, status, view);
    if (rc != CLI_OK) {
        json_decref(view);
        return rc;
    }
    snprintf(path, sizeof path, "/v1/tickets/%s/timeline", id);
    json_t *tl;
    int tstatus = cli_http(cli, SVC_ANALYTICS, "GET", path, NULL, &tl);
    if (cli->json) {
        json_t *both = json_pack("{s:O, s:O}", "view", view, "timeline",
                                 tl ? json_object_get(tl, "events") : json_null());
        cli_print_json(both);
        json_decref(both);
    } else {
        print_view(view);
        printf("Timeline:\n");
        json_t *events = json_object_get(tl, "events");
        if (tstatus == 200 && json_is_array(events)) {
            size_t i;
            json_t *ev;
            json_array_foreach(events, i, ev)
                print_event(ev);
        } else {
            printf("  (not available yet: analytics %s)\n",
                   tstatus < 0 ? "is unreachable" : "has not seen this ticket yet");
        }
    }
    json_decref(view);
    json_decref(tl);
    return CLI_OK;
}

int cli_list(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"status", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    const char *st = NULL, *limit = "20";
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 's')
            st = optarg;
        else
            limit = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    char path[256];
    snprintf(path, sizeof path, "/v1/tickets?limit=%s%s%s", limit, st ? "&status=" : "",
             st ? st : "");
    json_t *ans;
    int status = cli_http(cli, SVC_INTAKE, "GET", path, NULL, &ans);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json) {
            cli_print_json(ans);
        } else {
            size_t i;
            json_t *row;
            printf("%-20s %-10s %-6s %-18s %s\n", "TICKET", "STATUS", "CODE", "UNIT",
                   "RECEIVED");
            json_array_foreach(json_object_get(ans, "tickets"), i, row) {
                char when[40], s[32];
                cli_time(json_object_get(row, "receivedMs"), when, sizeof when);
                snprintf(s, sizeof s, "%s", status_name(json_object_get(row, "status")));
                lower(s);
                const char *unit = json_string_value(json_object_get(row, "unit"));
                printf("%-20s %-10s %-6s %-18s %s\n",
                       json_string_value(json_object_get(row, "ticketId")), s,
                       json_string_value(json_object_get(row, "categoryCode")),
                       unit ? unit : "-", when);
            }
        }
    }
    json_decref(ans);
    return rc;
}

/* sign, contact, note and reply: POST dispatch /v1/tickets/{id}/{action}. */
/* said: what to print ("contact recorded"); NULL prints the ticket's new status. */
static int unit_action(cli_t *cli, const char *id, const char *action, const char *said,
                       json_t *body)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/tickets/%s/%s", id, action);
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "POST", path, body, &ans);
    int rc = cli_finish(cli, status, ans);
    json_decref(body);
    if (rc == CLI_OK) {
        if (cli->json) {
            cli_print_json(ans);
        } else {
            json_t *r = json_object_get(ans, "ticketAction");
            char s[32];
            snprintf(s, sizeof s, "%s", said ? said : status_name(json_object_get(r, "status")));
            lower(s);
            printf("%s %s by %s\n", id, s, json_string_value(json_object_get(r, "unit")));
        }
    }
    json_decref(ans);
    return rc;
}

int cli_sign(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"unit", required_argument, NULL, 'u'},
                                         {NULL, 0, NULL, 0}};
    const char *unit = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        unit = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1)
        return cli_usage_error(cli, "takes exactly one TICKET_ID");
    json_t *body = json_object();
    if (unit)
        json_object_set_new(body, "unit", json_string(unit));
    return unit_action(cli, argv[optind], "sign", NULL, body);
}

/* contact and note: one TICKET_ID, --unit, and one free-text option into field. */
static int text_action(cli_t *cli, int argc, char **argv, const char *action, const char *said,
                       const char *opt, const char *field, bool required)
{
    const struct option opts[] = {{"unit", required_argument, NULL, 'u'},
                                  {opt, required_argument, NULL, 't'},
                                  {NULL, 0, NULL, 0}};
    const char *unit = NULL, *text = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'u')
            unit = optarg;
        else
            text = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || (required && !text))
        return cli_usage_error(cli, "needs exactly one TICKET_ID%s%s%s", required ? ", and --" : "",
                               required ? opt : "", required ? " TEXT" : "");
    json_t *body = json_object();
    if (unit)
        json_object_set_new(body, "unit", json_string(unit));
    if (text)
        json_object_set_new(body, field, json_string(text));
    return unit_action(cli, argv[optind], action, said, body);
}

int cli_contact(cli_t *cli, int argc, char **argv)
{
    return text_action(cli, argc, argv, "contact", "contact recorded", "note", "note", false);
}

int cli_note(cli_t *cli, int argc, char **argv)
{
    return text_action(cli, argc, argv, "notes", "note added", "text", "text", true);
}

int cli_return(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"unit", required_argument, NULL, 'u'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"basis", required_argument, NULL, 'b'},
                                         {NULL, 0, NULL, 0}};
    const char *unit = NULL, *reason = NULL, *basis = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'u')
            unit = optarg;
        else if (c == 'r')
            reason = optarg;
        else
            basis = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || !reason || !basis)
        return cli_usage_error(cli, "needs exactly one TICKET_ID, --reason TEXT and --basis TEXT");
    json_t *body = json_pack("{s:s, s:s}", "reason", reason, "basis", basis);
    if (unit)
        json_object_set_new(body, "unit", json_string(unit));
    return unit_action(cli, argv[optind], "return", "return asked", body);
}

int cli_dispatcher_post(cli_t *cli, const char *path, json_t *body, const char *said)
{
    return cli_post(cli, SVC_DISPATCH, path, body, said);
}

int cli_post(cli_t *cli, int service, const char *path, json_t *body, const char *said)
{
    json_t *ans;
    int status = cli_http(cli, service, "POST", path, body, &ans);
    json_decref(body);
    int rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json)
            cli_print_json(ans);
        else
            printf("%s\n", said);
    }
    json_decref(ans);
    return rc;
}

int cli_review_return(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"approve", no_argument, NULL, 'a'},
                                         {"reject", no_argument, NULL, 'x'},
                                         {"to", required_argument, NULL, 't'},
                                         {"note", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *to = NULL, *note = NULL;
    int approve = -1;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'a' || c == 'x')
            approve = c == 'a';
        else if (c == 't')
            to = optarg;
        else
            note = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || approve < 0 || (approve && !to) || (!approve && !note))
        return cli_usage_error(cli, "needs one TICKET_ID and either --approve --to UNIT or "
                               "--reject --note TEXT");
    char path[256], said[300];
    snprintf(path, sizeof path, "/v1/returns/%s", argv[optind]);
    json_t *body = json_pack("{s:b}", "approve", approve);
    if (to)
        json_object_set_new(body, "toUnit", json_string(to));
    if (note)
        json_object_set_new(body, "note", json_string(note));
    snprintf(said, sizeof said, approve ? "%s returned: now with %s (designated)"
                                        : "%s return rejected: it stays with its unit",
             argv[optind], to ? to : "");
    return cli_dispatcher_post(cli, path, body, said);
}

int cli_redirect(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"to", required_argument, NULL, 't'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"designated", no_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    const char *to = NULL, *reason = NULL;
    bool designated = false;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 't')
            to = optarg;
        else if (c == 'r')
            reason = optarg;
        else
            designated = true;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || !to || !reason)
        return cli_usage_error(cli, "needs exactly one TICKET_ID, --to UNIT and --reason TEXT");
    char path[256], said[300];
    snprintf(path, sizeof path, "/v1/redirects/%s", argv[optind]);
    json_t *body = json_pack("{s:s, s:s, s:b}", "toUnit", to, "reason", reason, "designated",
                             designated);
    snprintf(said, sizeof said, "%s now with %s%s", argv[optind], to,
             designated ? " (designated)" : "");
    return cli_dispatcher_post(cli, path, body, said);
}

int cli_reply(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"unit", required_argument, NULL, 'u'},
                                         {"result", required_argument, NULL, 'r'},
                                         {"unresolved", no_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *unit = NULL, *result = NULL;
    bool resolved = true;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'u')
            unit = optarg;
        else if (c == 'r')
            result = optarg;
        else
            resolved = false;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || !result)
        return cli_usage_error(cli, "needs exactly one TICKET_ID, and --result TEXT");
    json_t *body = json_pack("{s:s, s:b}", "result", result, "resolved", resolved);
    if (unit)
        json_object_set_new(body, "unit", json_string(unit));
    return unit_action(cli, argv[optind], "reply", NULL, body);
}

int cli_extend(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"unit", required_argument, NULL, 'u'},
                                         {"days", required_argument, NULL, 'd'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *unit = NULL, *reason = NULL, *days = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'u')
            unit = optarg;
        else if (c == 'd')
            days = optarg;
        else
            reason = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || !days || !reason)
        return cli_usage_error(cli, "needs exactly one TICKET_ID, --days N and --reason TEXT");
    char *end;
    long n = strtol(days, &end, 10);
    if (*end || n < 1 || n > 60)
        return cli_usage_error(cli, "--days: '%s' is not a number of working days (1 to 60)",
                               days);
    json_t *body = json_pack("{s:I, s:s}", "workingDays", (json_int_t)n, "reason", reason);
    if (unit)
        json_object_set_new(body, "unit", json_string(unit));
    return unit_action(cli, argv[optind], "extension", "extension asked", body);
}

/* A supervisor's ruling on a unit's request: POST /v1/<kind>/{id} {"approve","note"}. */
static int review(cli_t *cli, int argc, char **argv, const char *kind, const char *approved,
                  const char *rejected)
{
    static const struct option opts[] = {{"approve", no_argument, NULL, 'a'},
                                         {"reject", no_argument, NULL, 'x'},
                                         {"note", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *note = NULL;
    int approve = -1, c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'a' || c == 'x')
            approve = c == 'a';
        else
            note = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || approve < 0 || (!approve && !note))
        return cli_usage_error(cli, "needs exactly one TICKET_ID and --approve [--note TEXT] or "
                                    "--reject --note TEXT");
    char path[256], said[300];
    snprintf(path, sizeof path, "/v1/%s/%s", kind, argv[optind]);
    json_t *body = json_pack("{s:b}", "approve", approve);
    if (note)
        json_object_set_new(body, "note", json_string(note));
    snprintf(said, sizeof said, "%s %s", argv[optind], approve ? approved : rejected);
    return cli_dispatcher_post(cli, path, body, said);
}

int cli_review_extension(cli_t *cli, int argc, char **argv)
{
    return review(cli, argc, argv, "extensions", "extension approved: sla moves the reply deadline",
                  "extension rejected: the deadline stands");
}

int cli_terminate(cli_t *cli, int argc, char **argv)
{
    return text_action(cli, argc, argv, "terminate", "termination asked", "reason", "reason",
                       true);
}

int cli_review_termination(cli_t *cli, int argc, char **argv)
{
    return review(cli, argc, argv, "terminations", "terminated: closed, no callback",
                  "termination rejected: the ticket goes on");
}

int cli_subdispatch(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"unit", required_argument, NULL, 'u'},
                                         {"to", required_argument, NULL, 't'},
                                         {"note", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *unit = NULL, *to = NULL, *note = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'u')
            unit = optarg;
        else if (c == 't')
            to = optarg;
        else
            note = optarg;
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc - 1 || !to)
        return cli_usage_error(cli, "needs exactly one TICKET_ID and --to UNIT");
    json_t *body = json_pack("{s:s}", "toUnit", to);
    if (unit)
        json_object_set_new(body, "unit", json_string(unit));
    if (note)
        json_object_set_new(body, "note", json_string(note));
    return unit_action(cli, argv[optind], "subdispatch", "passed down", body);
}
