/* intake's private parts, shared by the .c files of services/intake (and open311/) only.
 * The status views have their own header (intake_status.h), as do the door's decisions
 * (intake_door.h) and the CSV export (intake_export.h): the files that use them include
 * them, so the includes show who depends on whom. */
#ifndef HOTLINE_INTAKE_INTERNAL_H
#define HOTLINE_INTAKE_INTERNAL_H

#include "intake.h"

#include "calendar.h"

struct intake {
    service_t *svc;
    calendar_t *cal;  /* for the local date in ticket ids */
    unsigned instance;
    unsigned npeers;  /* other intake instances followed (intake_peers.c) */
    MDB_dbi recorded; /* id -> packed Ticket: the ticket as recorded, written once */
    MDB_dbi status;   /* id -> packed TicketView without its ticket: rewritten as it moves */
    MDB_dbi tickets;  /* id -> packed TicketView with its ticket: the layout before
                       * 2026-12; read until a view's next change moves it to the two above */
    MDB_dbi ticket_seq, by_time;
    MDB_dbi changed;  /* views by their last change, for update feeds (intake_status.c) */
    MDB_dbi updates;  /* the same before 2026-12: updated ms (BE) + id -> "" */
    bool old_updates; /* "updates" had entries at start-up: a view's change removes its own */
    MDB_dbi repeats;  /* phone + category + area -> id of the caller's latest ticket */
    MDB_dbi incidents; /* incident id -> packed IncidentDeclared (active ones, kept current) */
    int64_t repeat_window_ms; /* 0: repeat calls are never linked */
    arena_t *scratch; /* per event / per query scratch memory, reset each use */
    void *open311;    /* open311.c's state */
    struct intake_export_job *export_jobs; /* exports being written (intake_export.h) */
    unsigned export_njobs;
    bool stopping; /* shutdown began: no new exports */
};

/* intake_submit.c: record a new ticket inside txn: id, TicketReceived, status view. */
int intake_submit(intake_t *self, MDB_txn *txn, const Hotline__SubmitTicket *cmd,
                  cmd_reply_t *reply);

/* intake_apply.c: feed events from dispatch, sla and callback: status changes applied to the
 * view, and dispatch's incidents kept for the door. */
int intake_apply_status(void *ctx, MDB_txn *txn, const Hotline__Event *ev);

/* intake_peers.c: the other intake instances' tickets kept here too. intake_apply_peer applies
 * a peer's feed; intake_peer_ticket tells whether an id is a peer's (its instance number is
 * another's, and peers are followed); intake_peer_placeholder makes the stand-in view that
 * status events about a peer's ticket not yet received here land on. */
int intake_apply_peer(void *ctx, MDB_txn *txn, const Hotline__Event *ev);
bool intake_peer_ticket(const intake_t *self, const char *id);
int intake_peer_placeholder(intake_t *self, const char *id, arena_t *arena,
                            Hotline__TicketView **out);

/* intake_http.c */
int intake_http_init(intake_t *self);

/* open311/open311.c: Open311 GeoReport v2 under /open311/v2/. */
int intake_open311_init(intake_t *self);
/* Shutdown began: no new group-commit work from Open311 (tokens, drain passes). */
void intake_open311_stop(intake_t *self);
void intake_open311_fini(intake_t *self);
/* The categories the centre offers are Open311's services (configured, or the embedded
 * defaults): true when code is one of them (exactly, in its case). Otherwise false, with the
 * offered codes written into allowed ("W01, W02, ..."), for the refusal. */
bool intake_category_offered(const intake_t *self, const char *code, char *allowed,
                             size_t size);

#endif
