/* evlog: a service's durable, append-only event log inside its LMDB environment.
 *
 * Key: the 64-bit sequence number, big-endian (1-based, dense, never reused).
 * Value: 8 bytes of append time (UTC ms, big-endian, for retention; its top bits say the form)
 * + the event: now in evpack's form (evpack.h: the Event without source, seq and time_ms,
 * its ticket id packed, texts of bounded sets numbered); entries of earlier releases (a
 * whole packed hotline.Event; one without source, seq, time_ms; a reference) are read too.
 * evlog_read always gives the packed hotline.Event, byte for byte as it was appended.
 * Appends happen inside the caller's write transaction, so a state change and the events it
 * produces commit together or not at all.
 *
 * Consumers are registered by name with the highest cursor they have asked "after" (a fetch
 * after N proves the consumer durably holds N). Trimming removes events only below the lowest
 * registered cursor AND older than the retention window, and never the last event (it carries
 * the head). Consumers named in the configuration are registered at 0 from the start, so the
 * log is kept for them even before their first fetch.
 *
 * Loop thread only. */
#ifndef HOTLINE_EVLOG_H
#define HOTLINE_EVLOG_H

#include "hclock.h"
#include "store.h"

#include "hotline/event.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef struct evlog evlog_t;

typedef struct evlog_opts {
    const char *source;            /* this service's name, written into every event */
    int64_t retention_ms;          /* keep at least this long */
    const char *const *consumers;  /* pre-registered consumer names */
    size_t nconsumers;
} evlog_opts_t;

/* Called with each event of a range: borrowed bytes of a packed hotline.Event, valid only in
 * the call. Return 0 to go on, anything else to stop (returned by evlog_read). */
typedef int (*evlog_visit_fn)(void *ctx, uint64_t seq, const uint8_t *event, size_t len);

/* Open the log's sub-databases ("log", "log_consumers", "log_counts", "log_names"). Call at
 * start-up. */
int evlog_open(evlog_t **out, store_t *store, hclock_t *clock, const evlog_opts_t *opts);
void evlog_close(evlog_t **self);

/* Append ev inside txn: sets ev->source, ev->seq, ev->time_ms. Errors: HL_EFULL / HL_ETXNFULL
 * (the caller's transaction must be aborted and retried), HL_EIO. */
int evlog_append(evlog_t *self, MDB_txn *txn, Hotline__Event *ev);

/* An event about ticket_id (may be NULL) whose one-of body is the message body of case
 * body_case, into *ev (which borrows both). HL_EINTERNAL when body_case is not a message
 * field of hotline.Event or body is NULL. */
int evlog_event_init(Hotline__Event *ev, const char *ticket_id, Hotline__Event__BodyCase body_case,
                     void *body);
/* evlog_event_init, then evlog_append. */
int evlog_append_body(evlog_t *self, MDB_txn *txn, const char *ticket_id,
                      Hotline__Event__BodyCase body_case, void *body);

/* Events of kind body_case whose body holds one thing, in its field 1, that the service keeps
 * anyway, packed, under the event's ticket id in records (intake's TicketReceived: the ticket
 * as recorded): from now on such an event is logged as a reference (its time and ticket id)
 * when the record is in records inside the appending transaction and the body holds nothing
 * else; otherwise whole, as any event. evlog_read puts it together again: the same Event
 * (source: this log's, seq, time_ms, ticket_id, and the body around the record). The record
 * must outlive the log's retention (never deleted). Call at start-up, before appending. */
int evlog_body_by_ref(evlog_t *self, Hotline__Event__BodyCase body_case, MDB_dbi records);

/* After a commit: re-read the committed head (and first) so readers see the new events. */
void evlog_committed(evlog_t *self);

uint64_t evlog_head(const evlog_t *self);  /* last committed seq, 0 when empty */
uint64_t evlog_first(const evlog_t *self); /* lowest retained seq; head + 1 when empty */

/* Visit events with seq > after, at most max_events and about max_bytes (at least one
 * event is always visited if there is one). Returns the number visited, or a negative code. */
int evlog_read(evlog_t *self, MDB_txn *txn, uint64_t after, size_t max_events,
               size_t max_bytes, evlog_visit_fn fn, void *ctx);

/* Note that consumer has durably applied everything up to cursor (kept in memory; written
 * by the next evlog_trim). Unknown names are registered. */
void evlog_consumer_seen(evlog_t *self, const char *consumer, uint64_t cursor);

/* Lowest cursor over registered consumers (UINT64_MAX when none), and how many there are. */
uint64_t evlog_min_cursor(const evlog_t *self, size_t *count);

/* How many events of each kind this log has ever appended (trimming does not lower it):
 * fn(ctx, kind, count) for each kind, kind being the Event body's field name
 * ("ticket_dispatched"). Counted in the appending transaction, so exact across crashes. */
typedef void (*evlog_count_fn)(void *ctx, const char *kind, uint64_t count);
int evlog_counts(evlog_t *self, evlog_count_fn fn, void *ctx);

/* Delete at most max_delete trimmable events inside txn and persist consumer cursors.
 * *deleted gets the number removed. */
int evlog_trim(evlog_t *self, MDB_txn *txn, unsigned max_delete, unsigned *deleted);

#endif
