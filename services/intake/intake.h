/* intake: records tickets (validated against the ticket model, given a readable id, stored
 * and announced as TicketReceived) and keeps the status view citizens and operators read,
 * from the dispatch, sla and callback feeds.
 *
 * The pieces, one file each: intake.c (the service: configuration, start, stop),
 * intake_submit.c (checking and recording a ticket), intake_door.c (repeat callers and
 * incidents, decided at the door), intake_status.c (the stored status views),
 * intake_apply.c (feed events: status changes and incidents), intake_http.c (routes),
 * intake_export.c (the requests of a range of days as CSV in the GeoReport bulk columns),
 * open311/ (Open311 GeoReport v2). The state is private (intake_internal.h).
 *
 * Sub-databases: "recorded" (id -> packed hotline.Ticket, written once), "status" (id ->
 * packed hotline.TicketView without its ticket), "ticket_seq" (local date -> daily sequence),
 * "by_time" (received ms + id, newest listed first), "changed" (second of the last change + id
 * -> its ms), "repeats", "incidents"; of stores before 2026-12, "tickets" (whole views) and
 * "updates" (ms + id), read until their entries move (intake_status.h). The event log keeps
 * TicketReceived as a reference to "recorded" (evlog_body_by_ref). Loop thread only. */
#ifndef HOTLINE_INTAKE_H
#define HOTLINE_INTAKE_H

#include "service.h"

#include "hotline/ticket.pb-c.h"

extern const service_desc_t intake_service;

typedef struct intake intake_t;

/* Check a ticket as an operator or a client sent it (intake_submit.c). Returns 0, or fills
 * reply with INVALID naming the field and the rule. */
int intake_ticket_check(const Hotline__Ticket *t, cmd_reply_t *reply);

#endif
