/* intake_submit: the ticket model's rules at the door, ticket ids, and recording a ticket. */
#include "intake_internal.h"

#include "intake_door.h"
#include "intake_status.h"

#include "category.h"
#include "hl_error.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_MEDIA 10


static bool phone_valid(const char *p)
{
    size_t digits = 0;
    for (const char *c = p; *c; c++) {
        if (isdigit((unsigned char)*c))
            digits++;
        else if (*c != ' ' && *c != '-' && !(*c == '+' && c == p))
            return false;
    }
    return digits >= 5 && digits <= 20;
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

int intake_ticket_check(const Hotline__Ticket *t, cmd_reply_t *reply)
{
    const Hotline__Status INVALID = HOTLINE__STATUS__INVALID;
    if (!t)
        return cmd_refuse(reply, INVALID, "ticket", "a ticket is required");
    if (t->id && *t->id)
        return cmd_refuse(reply, INVALID, "ticket.id",
                          "leave the id out: intake assigns it (like 20261125-1-000123)");
    if (!t->category_code || !*t->category_code)
        return cmd_refuse(reply, INVALID, "ticket.categoryCode",
                          "required: the catalogue code, e.g. W01 (no water) or W0402 (street "
                          "main burst)");
    if (!category_code_valid(t->category_code))
        return cmd_refuse(reply, INVALID, "ticket.categoryCode",
                          "\"%s\" is not a category code: an upper-case letter and 2 to 6 "
                          "digits, e.g. W01", t->category_code);
    if (blank(t->description))
        return cmd_refuse(reply, INVALID, "ticket.description",
                          "required: what the citizen reports, in their words");
    const Hotline__Contact *c = t->contact;
    bool anonymous = c && c->anonymous;
    if (!anonymous && (!c || !c->phone || !*c->phone))
        return cmd_refuse(reply, INVALID, "ticket.contact.phone",
                          "required for the callback (or set contact.anonymous to true)");
    if (c && c->phone && *c->phone && !phone_valid(c->phone))
        return cmd_refuse(reply, INVALID, "ticket.contact.phone",
                          "not a phone number: 5 to 20 digits, with optional spaces, dashes "
                          "and a leading +");
    const Hotline__Location *l = t->location;
    if (!l || (blank(l->district) && blank(l->street) && blank(l->community) &&
               blank(l->address) && blank(l->address_id) && !l->point))
        return cmd_refuse(reply, INVALID, "ticket.location",
                          "required: a district, street, community, address, address id or a "
                          "point (lat, long)");
    if (l->point && (!isfinite(l->point->lat) || fabs(l->point->lat) > 90 ||
                     !isfinite(l->point->long_) || fabs(l->point->long_) > 180))
        return cmd_refuse(reply, INVALID, "ticket.location.point",
                          "lat must be within -90..90 and long within -180..180");
    if (t->n_media_urls > MAX_MEDIA)
        return cmd_refuse(reply, INVALID, "ticket.mediaUrls", "at most %d media URLs",
                          MAX_MEDIA);
    for (size_t i = 0; i < t->n_media_urls; i++) {
        const char *u = t->media_urls[i];
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
            char field[48];
            snprintf(field, sizeof field, "ticket.mediaUrls[%zu]", i);
            return cmd_refuse(reply, INVALID, field, "must be an http:// or https:// URL");
        }
    }
    if (t->received_ms != 0)
        return cmd_refuse(reply, INVALID, "ticket.receivedMs",
                          "leave it out: intake stamps the time it records the ticket");
    if (t->incident_id && *t->incident_id)
        return cmd_refuse(reply, INVALID, "ticket.incidentId",
                          "leave it out: intake joins a ticket to a known incident itself");
    const Hotline__Outcome *o = t->outcome;
    if (o && o->disposition == HOTLINE__DISPOSITION__DISPOSITION_ANSWERED && blank(o->answer))
        return cmd_refuse(reply, INVALID, "ticket.outcome.answer",
                          "a ticket closed with a direct answer needs the answer given");
    if (o && o->disposition == HOTLINE__DISPOSITION__DISPOSITION_REFERRED &&
        o->referred_to == HOTLINE__EMERGENCY_LINE__EMERGENCY_LINE_UNSPECIFIED)
        return cmd_refuse(reply, INVALID, "ticket.outcome.referredTo",
                          "name the line the caller was referred to: EMERGENCY_110_POLICE, "
                          "EMERGENCY_119_FIRE, EMERGENCY_120_AMBULANCE or EMERGENCY_122_TRAFFIC");
    if (o && o->disposition == HOTLINE__DISPOSITION__DISPOSITION_NOT_ACCEPTED &&
        o->not_accepted_reason == HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_REASON_UNSPECIFIED)
        return cmd_refuse(reply, INVALID, "ticket.outcome.notAcceptedReason",
                          "give the reason: NOT_ACCEPTED_OUT_OF_SCOPE, _LEGAL_PROCEEDINGS, "
                          "_PETITION_CHANNEL, _NO_SUBSTANCE, _ABUSIVE or _STATE_SECRET");
    return 0;
}

/* Today's next ticket id: local date, instance, daily sequence. */
static int next_id(intake_t *self, MDB_txn *txn, int64_t now_ms, char *out, size_t out_size)
{
    int y, m, d;
    calendar_ymd_from_day(calendar_local_day(self->cal, now_ms), &y, &m, &d);
    char date[16];
    snprintf(date, sizeof date, "%04d%02d%02d", y, m, d);
    uint64_t seq;
    int rc = store_add_u64(txn, self->ticket_seq, date, 8, 1, &seq);
    if (rc)
        return rc;
    snprintf(out, out_size, "%s-%u-%06llu", date, self->instance, (unsigned long long)seq);
    return 0;
}

static Hotline__SubmitTicketResult *new_result(cmd_reply_t *reply)
{
    Hotline__SubmitTicketResult *res = arena_calloc(reply->arena, sizeof *res);
    if (res) {
        hotline__submit_ticket_result__init(res);
        reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_SUBMIT_TICKET;
        reply->msg->submit_ticket = res;
    }
    return res;
}

static const char *status_words(Hotline__TicketStatus s)
{
    switch (s) {
    case HOTLINE__TICKET_STATUS__TICKET_RECEIVED: return "recorded, about to go to the unit in charge";
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED: return "with the unit in charge";
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED: return "being handled by the unit";
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED: return "answered by the unit, a callback follows";
    case HOTLINE__TICKET_STATUS__TICKET_REWORK: return "back with the unit for more work";
    case HOTLINE__TICKET_STATUS__TICKET_LINKED: return "part of a known incident being fixed";
    default: return "open";
    }
}

/* A repeat call: count it on the open ticket and tell the caller where it stands. */
static int answer_repeat(intake_t *self, MDB_txn *txn, Hotline__TicketView *open,
                         const Hotline__Ticket *call, int64_t now, cmd_reply_t *reply)
{
    int rc = intake_repeat_link(self, txn, open, call, now);
    Hotline__SubmitTicketResult *res = rc ? NULL : new_result(reply);
    if (rc || !res)
        return rc ? rc : HL_ENOMEM;
    res->ticket_id = arena_strdup(reply->arena, open->ticket->id);
    res->status = open->status;
    res->linked = true;
    res->repeat_count = open->repeat_count;
    res->reply_due_ms = open->reply_due_ms;
    res->incident_id = arena_strdup(reply->arena, open->incident_id ? open->incident_id : "");
    char due[64] = "";
    if (open->reply_due_ms) {
        char when[40];
        calendar_format_local(self->cal, open->reply_due_ms, when, sizeof when);
        snprintf(due, sizeof due, ", reply due %s", when);
    }
    res->message = arena_printf(reply->arena,
                                "You already reported this: ticket %s is %s%s. This call was "
                                "added to it (%u further calls).",
                                open->ticket->id, status_words(open->status), due,
                                open->repeat_count);
    return 0;
}

int intake_submit(intake_t *self, MDB_txn *txn, const Hotline__SubmitTicket *cmd,
                  cmd_reply_t *reply)
{
    int rc = intake_ticket_check(cmd->ticket, reply);
    if (rc || reply->msg->status != HOTLINE__STATUS__OK)
        return rc;
    char allowed[600];
    if (!intake_category_offered(self, cmd->ticket->category_code, allowed, sizeof allowed))
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "ticket.categoryCode",
                          "\"%s\" is not a category this centre offers; use one of %s (GET "
                          "/open311/v2/services lists them with their names)",
                          cmd->ticket->category_code, allowed);
    int64_t now = hclock_now_ms(service_clock(self->svc));
    /* A shallow copy: the command owns the strings until the commit has packed them. */
    Hotline__Ticket t = *cmd->ticket;
    if (t.urgency == HOTLINE__URGENCY__URGENCY_UNSPECIFIED)
        t.urgency = HOTLINE__URGENCY__URGENCY_NORMAL;
    if (t.channel == HOTLINE__CHANNEL__CHANNEL_UNSPECIFIED)
        t.channel = HOTLINE__CHANNEL__CHANNEL_PHONE;
    bool dispatch = !t.outcome || t.outcome->disposition == HOTLINE__DISPOSITION__DISPOSITION_DISPATCH;

    Hotline__IncidentDeclared *incident = NULL;
    if (dispatch) {
        Hotline__TicketView *open;
        rc = intake_repeat_find(self, txn, &t, now, reply->arena, &open);
        if (rc)
            return rc;
        if (open)
            return answer_repeat(self, txn, open, &t, now, reply);
        rc = intake_incident_match(self, txn, &t, reply->arena, &incident);
        if (rc)
            return rc;
    }
    char id[48];
    rc = next_id(self, txn, now, id, sizeof id);
    if (rc)
        return rc;
    t.id = id;
    t.received_ms = now;
    t.incident_id = incident ? incident->incident_id : "";

    Hotline__TicketView view = HOTLINE__TICKET_VIEW__INIT;
    view.ticket = &t;
    view.status = intake_initial_status(&t, incident != NULL);
    view.updated_ms = now;
    view.last_contact_ms = now;
    if (intake_status_final(view.status))
        view.closed_ms = now;
    if (incident) {
        view.incident_id = incident->incident_id;
        view.incident_eta_ms = incident->eta_ms;
        view.unit = incident->unit;
    }
    rc = intake_view_replace(self, txn, &view, INTAKE_VIEW_NEW);
    if (rc)
        return rc;
    rc = intake_by_time_put(self, txn, now, id);
    if (!rc && dispatch)
        rc = intake_repeat_remember(self, txn, &t);
    if (rc)
        return rc;

    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &t;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = id;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    rc = evlog_append(service_log(self->svc), txn, &ev);
    if (rc)
        return rc;

    Hotline__SubmitTicketResult *res = new_result(reply);
    if (!res)
        return HL_ENOMEM;
    res->ticket_id = arena_strdup(reply->arena, id);
    res->status = view.status;
    if (incident) {
        char eta[40] = "not known yet";
        if (incident->eta_ms)
            calendar_format_local(self->cal, incident->eta_ms, eta, sizeof eta);
        res->incident_id = arena_strdup(reply->arena, incident->incident_id);
        res->eta_ms = incident->eta_ms;
        res->message = arena_printf(reply->arena,
                                    "A known incident: %s. Expected fixed by %s. Your report is "
                                    "recorded as %s and joined to it.",
                                    incident->summary && *incident->summary ? incident->summary
                                                                            : "being repaired",
                                    eta, id);
    } else if (dispatch) {
        res->message = arena_printf(reply->arena, "Recorded as %s; it goes to the unit in "
                                    "charge, which replies within the deadline.", id);
    } else {
        res->message = arena_printf(reply->arena, "Recorded as %s and closed at the door.", id);
    }
    return 0;
}
