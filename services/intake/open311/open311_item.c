/* open311_item: a service request as Open311 shows it (GET requests, requests/{id}, and the
 * updates extension): status open / closed, the stage in words (status_notes), times in the
 * centre's zone, location, and with extensions=true the channel, urgency, incident, repeat
 * count and the history as notes.
 *
 * Open311 GETs need no key, so an item never carries the caller's name, phone or e-mail;
 * free text (description, a unit's reply, the operator's answer) has phone-like digit runs
 * masked, and a confidential ticket shows neither description nor reply. Loop thread only. */
#include "open311.h"

#include "mask.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool open311_is_closed(Hotline__TicketStatus s)
{
    return intake_status_final(s);
}

/* "CHANNEL_OPEN311" -> "open311": the enum's value name without its prefix, lower case. */
static void enum_word(const ProtobufCEnumDescriptor *d, int value, const char *prefix, char *out,
                      size_t size)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    const char *name = v ? v->name : "unspecified";
    if (strncmp(name, prefix, strlen(prefix)) == 0)
        name += strlen(prefix);
    size_t n = 0;
    for (; name[n] && n + 1 < size; n++)
        out[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] + 32 : name[n]);
    out[n] = '\0';
}

static const char *str_or(const char *s, const char *fallback)
{
    return s && *s ? s : fallback;
}

json_t *open311_public_text(const char *s)
{
    char *copy = strdup(s ? s : "");
    if (!copy)
        return NULL;
    mask_phones(copy);
    json_t *j = json_string(copy);
    free(copy);
    return j;
}

static const char *not_accepted_words(Hotline__NotAcceptedReason r)
{
    switch (r) {
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_OUT_OF_SCOPE:
        return "not a matter for this hotline";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_LEGAL_PROCEEDINGS:
        return "in legal proceedings";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_PETITION_CHANNEL:
        return "belongs to the petitions channel";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_NO_SUBSTANCE: return "no concrete request";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_ABUSIVE: return "abusive";
    case HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_STATE_SECRET:
        return "outside what can be handled here";
    default: return "not accepted";
    }
}

static const char *emergency_words(Hotline__EmergencyLine e)
{
    switch (e) {
    case HOTLINE__EMERGENCY_LINE__EMERGENCY_110_POLICE: return "the police (110)";
    case HOTLINE__EMERGENCY_LINE__EMERGENCY_119_FIRE: return "the fire service (119)";
    case HOTLINE__EMERGENCY_LINE__EMERGENCY_120_AMBULANCE: return "the ambulance service (120)";
    case HOTLINE__EMERGENCY_LINE__EMERGENCY_122_TRAFFIC: return "the traffic police (122)";
    default: return "an emergency line";
    }
}

void open311_status_notes(const open311_t *self, const Hotline__TicketView *v, char *out,
                          size_t size)
{
    const char *unit = str_or(v->unit, "the responsible unit");
    const Hotline__Ticket *t = v->ticket;
    const Hotline__Outcome *o = t->outcome;
    bool confidential = t->confidential;
    int n = 0;
    switch (v->status) {
    case HOTLINE__TICKET_STATUS__TICKET_RECEIVED:
        n = snprintf(out, size, "Received; waiting to be dispatched.");
        break;
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED:
        n = snprintf(out, size, "Dispatched to %s; waiting to be signed for.", unit);
        break;
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED:
        n = snprintf(out, size, "Being handled by %s.", unit);
        break;
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED:
        n = snprintf(out, size, "%s replied%s%s", unit,
                     !confidential && v->reply_text && *v->reply_text ? ": " : ".",
                     !confidential && v->reply_text ? v->reply_text : "");
        break;
    case HOTLINE__TICKET_STATUS__TICKET_REWORK:
        n = snprintf(out, size, "Reopened for more work (round %u) at %s.", v->rework_round, unit);
        break;
    case HOTLINE__TICKET_STATUS__TICKET_CLOSED: n = snprintf(out, size, "Closed."); break;
    case HOTLINE__TICKET_STATUS__TICKET_ANSWERED:
        n = snprintf(out, size, "Answered by the hotline%s%s", o && *o->answer ? ": " : ".",
                     o ? o->answer : "");
        break;
    case HOTLINE__TICKET_STATUS__TICKET_REFERRED:
        n = snprintf(out, size, "Referred to %s.", emergency_words(o ? o->referred_to : 0));
        break;
    case HOTLINE__TICKET_STATUS__TICKET_NOT_ACCEPTED:
        n = snprintf(out, size, "Not accepted: %s.",
                     not_accepted_words(o ? o->not_accepted_reason : 0));
        break;
    case HOTLINE__TICKET_STATUS__TICKET_LINKED:
        n = snprintf(out, size, "Linked to a known incident; fixed with it.");
        break;
    default: n = snprintf(out, size, "Recorded."); break;
    }
    if (n < 0 || (size_t)n >= size)
        return;
    if (v->incident_id && *v->incident_id) {
        char eta[40] = "";
        if (v->incident_eta_ms)
            open311_time_format(v->incident_eta_ms, self->offset_min, eta, sizeof eta);
        int k = snprintf(out + n, size - (size_t)n, " Part of incident %s%s%s.", v->incident_id,
                         *eta ? "; service expected back by " : "", eta);
        if (k < 0 || (size_t)k >= size - (size_t)n)
            return;
        n += k;
    }
    if (v->repeat_count)
        snprintf(out + n, size - (size_t)n, " Reported %u more time%s by the same caller.",
                 v->repeat_count, v->repeat_count == 1 ? "" : "s");
}

static void set_time(json_t *obj, const char *key, int64_t ms, int offset_min)
{
    if (!ms)
        return;
    char buf[40];
    open311_time_format(ms, offset_min, buf, sizeof buf);
    json_object_set_new(obj, key, json_string(buf));
}

static void set_str(json_t *obj, const char *key, const char *s)
{
    if (s && *s)
        json_object_set_new(obj, key, json_string(s));
}

static void add_note(json_t *notes, const open311_t *self, int64_t ms, const char *type,
                     const char *desc)
{
    if (!ms)
        return;
    char when[40];
    open311_time_format(ms, self->offset_min, when, sizeof when);
    /* Kept in time order: views fill timestamps in stage order, but a rework round or a
     * callback due time may sit anywhere. */
    size_t at = json_array_size(notes);
    while (at > 0) {
        json_t *prev = json_array_get(notes, at - 1);
        if (strcmp(json_string_value(json_object_get(prev, "datetime")), when) <= 0)
            break;
        at--;
    }
    json_t *note = json_pack("{s:s, s:o, s:s}", "datetime", when, "description",
                             open311_public_text(desc), "type", type);
    if (note)
        json_array_insert_new(notes, at, note);
}

static json_t *notes_json(const open311_t *self, const Hotline__TicketView *v)
{
    const Hotline__Ticket *t = v->ticket;
    json_t *notes = json_array();
    char ch[32], text[600];
    const char *unit = str_or(v->unit, "the responsible unit");
    enum_word(&hotline__channel__descriptor, t->channel, "CHANNEL_", ch, sizeof ch);
    snprintf(text, sizeof text, "Received through %s.", ch);
    add_note(notes, self, t->received_ms, "received", text);
    snprintf(text, sizeof text, "Dispatched to %s.", unit);
    add_note(notes, self, v->dispatched_ms, "dispatched", text);
    snprintf(text, sizeof text, "Signed for by %s.", unit);
    add_note(notes, self, v->signed_ms, "signed", text);
    snprintf(text, sizeof text, "Replied by %s%s%s", unit,
             !t->confidential && v->reply_text && *v->reply_text ? ": " : ".",
             !t->confidential && v->reply_text ? v->reply_text : "");
    add_note(notes, self, v->replied_ms, "replied", text);
    add_note(notes, self, v->callback_due_ms, "callback", "Callback to the citizen due.");
    add_note(notes, self, v->closed_ms, "closed", "Closed.");
    return notes;
}

json_t *open311_request_item(const open311_t *self, const Hotline__TicketView *v, bool extensions)
{
    const Hotline__Ticket *t = v->ticket;
    const Hotline__Location *l = t->location;
    const Hotline__Open311Service *s = open311_catalog_find(&self->catalog, t->category_code);
    char notes[1200];
    open311_status_notes(self, v, notes, sizeof notes);
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "service_request_id", json_string(t->id));
    json_object_set_new(j, "status", json_string(open311_is_closed(v->status) ? "closed" : "open"));
    json_object_set_new(j, "status_notes", open311_public_text(notes));
    json_object_set_new(j, "service_name", json_string(s ? s->name : t->category_code));
    json_object_set_new(j, "service_code", json_string(t->category_code));
    if (!t->confidential && t->description && *t->description)
        json_object_set_new(j, "description", open311_public_text(t->description));
    set_str(j, "agency_responsible", v->unit);
    if (v->incident_id && *v->incident_id && v->incident_eta_ms) {
        char eta[40], notice[120];
        open311_time_format(v->incident_eta_ms, self->offset_min, eta, sizeof eta);
        snprintf(notice, sizeof notice,
                 "A known incident covers this; service is expected "
                 "back by %s.",
                 eta);
        json_object_set_new(j, "service_notice", json_string(notice));
    }
    set_time(j, "requested_datetime", t->received_ms, self->offset_min);
    set_time(j, "updated_datetime", v->updated_ms, self->offset_min);
    set_time(j, "expected_datetime", v->reply_due_ms, self->offset_min);
    if (l) {
        if (l->address && *l->address)
            json_object_set_new(j, "address", open311_public_text(l->address));
        set_str(j, "address_id", l->address_id);
        set_str(j, "zipcode", l->zipcode);
        if (l->point) {
            json_object_set_new(j, "lat", json_real(l->point->lat));
            json_object_set_new(j, "long", json_real(l->point->long_));
        }
    }
    if (t->n_media_urls)
        set_str(j, "media_url", t->media_urls[0]);
    if (extensions) {
        char ch[32], urg[32];
        enum_word(&hotline__channel__descriptor, t->channel, "CHANNEL_", ch, sizeof ch);
        enum_word(&hotline__urgency__descriptor,
                  t->urgency ? t->urgency : HOTLINE__URGENCY__URGENCY_NORMAL, "URGENCY_", urg,
                  sizeof urg);
        json_t *ext = json_pack("{s:s, s:s, s:I}", "channel", ch, "urgency", urg, "repeat_count",
                                (json_int_t)v->repeat_count);
        if (ext)
            set_str(ext, "incident_id", v->incident_id);
        json_object_set_new(j, "extended_attributes", ext);
        json_object_set_new(j, "notes", notes_json(self, v));
    }
    return j;
}
