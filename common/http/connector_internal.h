/* connector_internal: what connector.c (queue, leases, outcomes, dead letters) and
 * connector_curl.c (libcurl's multi interface on the libuv loop, signing) share. */
#ifndef HOTLINE_CONNECTOR_INTERNAL_H
#define HOTLINE_CONNECTOR_INTERNAL_H

#include "connector.h"

#include <curl/curl.h>
#include <stdbool.h>

#define CONNECTOR_ERROR_MAX 200 /* bytes of last error kept with a delivery */

typedef enum {
    CONN_OUT_NONE = 0,
    CONN_OUT_DELIVERED,
    CONN_OUT_RETRY,
    CONN_OUT_DEAD,
    CONN_OUT_GONE, /* the entry was no longer there: nothing to record */
} conn_outcome_t;

/* One delivery from its firing to its recorded outcome: staged (fired in a pass not yet
 * known to be committed), then on the wire (easy set), then its outcome item in the txq. */
typedef struct conn_req conn_req_t;
struct conn_req {
    connector_t *conn;
    conn_req_t *prev, *next; /* in self->staged or self->flight */
    conn_req_t *qnext;       /* in self->queue while waiting for a free slot */
    char key[CONNECTOR_KEY_MAX + 1];
    size_t key_len;
    uint8_t *record; /* the entry's payload as fired (owned) */
    size_t record_len;
    int64_t lease_ms; /* the instant the entry was leased to */
    CURL *easy;       /* while on the wire */
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    char answer[128]; /* the start of the answer's body, for the error text */
    size_t answer_len;
    bool ok;                         /* 2xx */
    char error[CONNECTOR_ERROR_MAX]; /* what failed, when not ok */
    conn_outcome_t outcome;          /* what the outcome item wrote */
    int64_t next_ms;                 /* CONN_OUT_RETRY: when it goes again */
    unsigned attempts;               /* attempts made, this one included */
    int64_t enqueued_ms;
    uint64_t started_ns; /* monotonic, when the POST started */
    txq_item_t item;     /* records the outcome */
};

struct connector {
    uv_loop_t *loop;
    store_t *store;
    txq_t *txq;
    hclock_t *clock;
    connector_opts_t opts;
    char name[CONNECTOR_NAME_MAX + 1];
    char *url;
    uint8_t *hmac_key;
    scheduler_t *sched; /* the deliveries: id = idempotency key, payload = the record */
    MDB_dbi dead;       /* key -> record (with dead_ms and last error) */
    bool listening;     /* on the txq's commits */
    bool stopped;
    bool dead_dirty;    /* the dead letters may have changed: re-count after the commit */
    conn_req_t *staged; /* fired in the transaction being committed */
    conn_req_t *flight; /* held: waiting for a slot, on the wire or their outcome in the txq */
    conn_req_t *queue, *queue_tail; /* held ones waiting for a slot, oldest first */
    unsigned nstaged, nflight, nrunning;
    unsigned deferred_since_commit; /* spreads the deferred entries of one pass over time */
    double mean_request_ms;         /* moving mean of request times: paces deferred entries */
    /* libcurl (connector_curl.c) */
    CURLM *multi;
    uv_timer_t curl_timer; /* libcurl's own timeout */
    bool timer_open;
    bool curl_global; /* curl_global_init succeeded */
    connector_stats_t stats;
    metric_t *m_sent, *m_dead, *m_flight, *m_latency;
};

/* libcurl side. */
int conn_curl_open(connector_t *self);
/* Sign and start the POST for q (already in self->flight). Errors: HL_ENOMEM, HL_EIO. */
int conn_curl_send(connector_t *self, conn_req_t *q);
/* Abort the transfers on the wire (their reqs are handed to conn_req_aborted) and close. */
void conn_curl_close(connector_t *self);

/* connector.c side: a transfer ended (q->ok, q->error filled) / a held request was dropped at
 * shutdown (running: it was on the wire), its entry left leased. */
void conn_req_finished(connector_t *self, conn_req_t *q);
void conn_req_aborted(connector_t *self, conn_req_t *q, bool running);
/* The body and content type inside q->record (validated when it fired). */
void conn_req_body(const conn_req_t *q, const void **body, size_t *len, const char **ctype,
                   size_t *ctype_len);

#endif
