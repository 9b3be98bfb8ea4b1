/* intake_submit: the ticket model's rules at the door, ticket ids, and recording a ticket. */
#include "intake.h"

#include "hl_error.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_MEDIA 10

static bool category_valid(const char *c)
{
    /* A letter for the subtree (W water, P power, ...) and 2 to 6 digits: W01, W0402. */
    size_t n = strlen(c);
    if (n < 3 || n > 7 || !isupper((unsigned char)c[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isdigit((unsigned char)c[i]))
            return false;
    return true;
}

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
    if (!category_valid(t->category_code))
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
    if (!l || (blank(l->district) && blank(l->address) && !l->point))
        return cmd_refuse(reply, INVALID, "ticket.location",
                          "required: a district, an address or a point (lat, long)");
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

int intake_submit(intake_t *self, MDB_txn *txn, const Hotline__SubmitTicket *cmd,
                  cmd_reply_t *reply)
{
    int rc = intake_ticket_check(cmd->ticket, reply);
    if (rc || reply->msg->status != HOTLINE__STATUS__OK)
        return rc;
    int64_t now = hclock_now_ms(service_clock(self->svc));
    char id[48];
    rc = next_id(self, txn, now, id, sizeof id);
    if (rc)
        return rc;
    /* A shallow copy: the command owns the strings until the commit has packed them. */
    Hotline__Ticket t = *cmd->ticket;
    t.id = id;
    t.received_ms = now;
    if (t.urgency == HOTLINE__URGENCY__URGENCY_UNSPECIFIED)
        t.urgency = HOTLINE__URGENCY__URGENCY_NORMAL;
    if (t.channel == HOTLINE__CHANNEL__CHANNEL_UNSPECIFIED)
        t.channel = HOTLINE__CHANNEL__CHANNEL_PHONE;

    Hotline__TicketView view = HOTLINE__TICKET_VIEW__INIT;
    view.ticket = &t;
    view.status = HOTLINE__TICKET_STATUS__TICKET_RECEIVED;
    view.updated_ms = now;
    rc = intake_view_put(self, txn, &view);
    if (rc)
        return rc;
    uint8_t tkey[8 + 48];
    store_be64_put(tkey, (uint64_t)now);
    size_t idlen = strlen(id);
    memcpy(tkey + 8, id, idlen);
    rc = store_put(txn, self->by_time, tkey, 8 + idlen, "", 0, 0);
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

    Hotline__SubmitTicketResult *res = arena_calloc(reply->arena, sizeof *res);
    if (!res)
        return HL_ENOMEM;
    hotline__submit_ticket_result__init(res);
    res->ticket_id = arena_strdup(reply->arena, id);
    res->status = HOTLINE__TICKET_STATUS__TICKET_RECEIVED;
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_SUBMIT_TICKET;
    reply->msg->submit_ticket = res;
    return 0;
}
