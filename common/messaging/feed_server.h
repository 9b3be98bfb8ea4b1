/* feed_server: answers feed fetches from a service's event log.
 *
 * A fetch "after N, at most K, wait up to W ms" is answered at once when the log has events
 * after N; otherwise it is parked and answered by the first commit that appends one, or with
 * an empty batch when W runs out (long poll: delivery is immediate when caught up, and idle
 * consumers cost one parked request each). The fetch also registers the consumer's cursor N
 * with the log, which keeps everything above it from being trimmed.
 *
 * Loop thread only. */
#ifndef HOTLINE_FEED_SERVER_H
#define HOTLINE_FEED_SERVER_H

#include "bus.h"
#include "evlog.h"

typedef struct feed_server feed_server_t;

typedef struct feed_server_opts {
    unsigned max_events;   /* cap on K (default 1000) */
    size_t max_bytes;      /* cap on a batch's bytes (default 4 MiB) */
    unsigned max_wait_ms;  /* cap on W (default 30000) */
    unsigned max_parked;   /* parked fetches beyond this are answered empty at once */
} feed_server_opts_t;

typedef struct feed_server_stats {
    uint64_t fetches;
    uint64_t events_sent;
    uint64_t empty_replies;
    unsigned parked;
} feed_server_stats_t;

int feed_server_create(feed_server_t **out, uv_loop_t *loop, store_t *store, evlog_t *log,
                       bus_t *bus, const feed_server_opts_t *opts);

/* A fetch from the bus. */
void feed_server_fetch(feed_server_t *self, const bus_peer_t *peer,
                       const Hotline__FeedFetch *fetch);

/* Call after each commit (evlog_committed first): answers parked fetches that now have
 * events. */
void feed_server_notify(feed_server_t *self);

const feed_server_stats_t *feed_server_stats(const feed_server_t *self);

/* Answer every parked fetch empty and stop. The loop must run afterwards. Nulls *self. */
void feed_server_destroy(feed_server_t **self);

#endif
