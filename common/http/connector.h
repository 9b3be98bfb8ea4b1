/* connector: a durable outbound webhook sender (docs/architecture.md: crew work orders; also
 * sla's ladder notices and callback's SMS / IVR survey), and the shared secret it signs with:
 * loaded from a file or the environment, and checked by a receiver (connector_verify).
 *
 * A delivery is enqueued inside the caller's write transaction as an entry of the shared
 * scheduler (scheduler.h) in the caller's store, due at once, whose payload is the request: it
 * is sent if and only if that transaction commits. When the entry fires (inside a scheduler
 * pass) it is not removed but leased: moved to now + timeout + a margin, so that a kill -9
 * while the request is on the wire sends it again after a restart. The POST starts after the
 * pass has committed, on libcurl's multi interface driven by the service's libuv loop. Its
 * outcome is written by a group-commit item: 2xx cancels the entry; a failure (connection,
 * timeout, any other status) moves it to now + backoff (doubling from backoff_first_ms to
 * backoff_cap_ms, jittered), and after max_attempts moves it to a dead-letter sub-database,
 * kept with its last error until it is replayed.
 *
 * Delivery is at least once; every request carries the same Idempotency-Key each time, so a
 * receiver that records keys applies it exactly once. Each POST carries
 *   X-Hotline-Timestamp: <UTC ms>     Idempotency-Key: <key>     Content-Type: <type>
 *   X-Hotline-Signature: sha256=<hex HMAC-SHA256(key, timestamp "." body)>
 *
 * Sub-databases (name = opts.name): connector.<name>.due / .ids (its scheduler) and
 * connector.<name>.dead. Metrics (label connector=<name>): hotline_connector_sent_total{outcome=
 * delivered|retried|dead}, hotline_connector_dead_letters, hotline_connector_in_flight,
 * hotline_connector_delivery_seconds (enqueue to 2xx).
 *
 * The timestamp is the service clock's (a test clock moved far away makes receivers refuse
 * it). Up to max_in_flight POSTs run at once and 4 times as many leased deliveries wait in
 * memory; entries that fire beyond that are put back, paced by the measured request time.
 *
 * Loop thread only. Life cycle as the scheduler's: create, start, (enqueue...), stop before
 * the txq is destroyed, destroy after it. In a service: create and start in init() (the
 * connector makes its own scheduler, not one of service_scheduler's), connector_stop in the
 * stop() hook, connector_destroy in fini(). */
#ifndef HOTLINE_CONNECTOR_H
#define HOTLINE_CONNECTOR_H

#include "hclock.h"
#include "metrics.h"
#include "scheduler.h"
#include "store.h"
#include "txq.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define CONNECTOR_KEY_MAX SCHEDULER_ID_MAX /* bytes in an idempotency key */
#define CONNECTOR_NAME_MAX 24

typedef struct connector connector_t;

typedef struct connector_opts {
    const char *name;     /* [a-z0-9_], 1..CONNECTOR_NAME_MAX: sub-databases and label */
    const char *url;      /* http:// or https:// target of every POST */
    const void *hmac_key; /* signing key, at least 16 bytes (copied) */
    size_t hmac_key_len;
    unsigned max_attempts;     /* attempts before the dead letter (default 8) */
    unsigned backoff_first_ms; /* delay after the first failure (default 1000) */
    unsigned backoff_cap_ms;   /* the doubling stops here (default 300000) */
    unsigned timeout_ms;       /* one request, connect included (default 10000) */
    unsigned lease_margin_ms;  /* a leased entry is due at now + timeout + this (default 5000) */
    unsigned max_in_flight;    /* concurrent requests (default 32); 4 times as many are
                                * held leased in memory, entries beyond wait in the store,
                                * paced by the measured request time */
    size_t max_body_bytes;     /* larger enqueues are refused (default 1 MiB) */
    metrics_t *metrics;        /* NULL: no metrics */
} connector_opts_t;

/* One dead letter, valid during the connector_dead_fn call. */
typedef struct connector_dead {
    const char *key; /* the idempotency key (not NUL-terminated) */
    size_t key_len;
    const char *content_type; /* not NUL-terminated */
    size_t content_type_len;
    const void *body;
    size_t body_len;
    const char *last_error; /* "HTTP 503: ..." / "Couldn't connect to server" (not NUL-term.) */
    size_t last_error_len;
    unsigned attempts;
    int64_t enqueued_ms; /* when it was first enqueued (or last replayed) */
    int64_t dead_ms;     /* when it was dead-lettered */
} connector_dead_t;

/* Return 0 to go on, a positive value to stop the listing (connector_dead_list returns 0), or
 * a negative HL_E code to abort it (returned as is). */
typedef int (*connector_dead_fn)(void *ctx, const connector_dead_t *d);

typedef struct connector_stats {
    uint64_t started;   /* POSTs started */
    uint64_t delivered; /* 2xx answers committed */
    uint64_t retried;   /* failures rescheduled */
    uint64_t dead;      /* moved to the dead letters */
    uint64_t deferred;  /* entries that fired while the connector held all it may */
    unsigned in_flight; /* held: waiting for a slot, on the wire, or recording the outcome */
    unsigned running;   /* on the wire */
} connector_stats_t;

/* Open (or create) the sub-databases in store and its scheduler. Nothing is sent until
 * connector_start. Errors: HL_EINVAL (opts: name, url, key; logged naming which), HL_ENOMEM,
 * HL_EIO (libcurl failed to start), store errors. */
int connector_create(connector_t **out, uv_loop_t *loop, store_t *store, txq_t *txq,
                     hclock_t *clock, const connector_opts_t *opts);

/* Arm the scheduler: deliveries left by the last run (due or leased) go out when due. */
int connector_start(connector_t *self);

/* Enqueue one delivery inside a write transaction: it is sent after that transaction commits
 * (a txq item's, so that the scheduler hears of the commit; otherwise at its next look).
 * key: 1..CONNECTOR_KEY_MAX printable ASCII bytes, no spaces; body: up to max_body_bytes
 * (copied); content_type: NUL-terminated, no control bytes. Errors: HL_EINVAL (bad key or
 * content type), HL_ETOOBIG (body), HL_EEXIST (key pending or dead-lettered: not enqueued
 * twice; a key already delivered is sent again), store errors. */
int connector_enqueue(connector_t *self, MDB_txn *txn, const char *key, size_t key_len,
                      const void *body, size_t len, const char *content_type);

/* List the dead letters in key order inside any transaction. Errors: the callback's, store
 * errors, HL_ECORRUPT (a record that does not decode). */
int connector_dead_list(connector_t *self, MDB_txn *txn, connector_dead_fn fn, void *ctx);

/* Move a dead letter back to the queue, due now, attempts reset, inside a write transaction.
 * Errors: HL_ENOTFOUND (no such dead letter), HL_EINVAL, store errors. */
int connector_dead_replay(connector_t *self, MDB_txn *txn, const char *key, size_t key_len);

/* Dead letters held (as txn sees them). */
int connector_dead_count(connector_t *self, MDB_txn *txn, uint64_t *n);

const connector_stats_t *connector_stats(const connector_t *self);

/* Shutdown begins: stop the scheduler and abort the requests on the wire (their entries stay
 * leased and are sent again after the next start). Outcomes already queued in the txq still
 * commit. Call before the txq goes; the loop must run afterwards for the handles to close. */
void connector_stop(connector_t *self);

/* Free (after the txq is gone and the loop has run). Nulls *self. */
void connector_destroy(connector_t **self);

/* ---- configuration and signatures, on both ends (connector_secret.c; no state) ------------ */

#define CONNECTOR_SECRET_MIN 16
#define CONNECTOR_SECRET_MAX 1024
#define CONNECTOR_SIGNATURE_MAX 72 /* "sha256=" + 64 hex digits + NUL */
#define CONNECTOR_SKEW_MS 300000   /* a receiver takes timestamps this close to its clock */
#define CONNECTOR_URL_MAX 2048

/* Read a signing secret from exactly one of file (a regular file, mode 0600 or stricter) and
 * env (an environment variable's name); NULL or "" = not given. Trailing white space is not
 * part of it; it must hold CONNECTOR_SECRET_MIN..MAX bytes. out holds CONNECTOR_SECRET_MAX
 * bytes: sodium_memzero it after use. Errors: HL_EINVAL with err "<where>.<field>: <rule>"
 * (where: "crews[0]", "survey"; field: secretFile or secretEnv). */
int connector_secret_load(const char *file, const char *env, const char *where,
                          uint8_t out[CONNECTOR_SECRET_MAX], size_t *len, char *err,
                          size_t err_size);

/* A connector made from a configuration's endpoint block: any message with the fields url,
 * secret_file, secret_env, max_attempts, backoff_first_ms, backoff_cap_ms and timeout_ms
 * (dispatch's CrewEndpoint, callback's SurveyConfig), read by name. */
typedef struct connector_config {
    const char *name;                 /* as connector_opts_t.name */
    const char *where;                /* how errors name the block: "crews[0]", "survey" */
    const ProtobufCMessage *endpoint; /* the block (checked before: url, bounds) */
    metrics_t *metrics;               /* NULL: none */
    uint8_t *key_out; /* not NULL: the secret copied here too (CONNECTOR_SECRET_MAX bytes:
                       * sodium_memzero it after use), to check answers signed with it */
    size_t *key_len_out;
} connector_config_t;

/* connector_create with the block's secret read (connector_secret_load) and its settings.
 * Errors: those of connector_secret_load and connector_create, with a line in err naming
 * the block. */
int connector_create_configured(connector_t **out, uv_loop_t *loop, store_t *store, txq_t *txq,
                                hclock_t *clock, const connector_config_t *cfg, char *err,
                                size_t err_size);

/* Whether url can be a connector's target: http:// or https://, printable ASCII without spaces,
 * at most CONNECTOR_URL_MAX bytes. Errors: HL_EINVAL with the rule it breaks in why. */
int connector_url_check(const char *url, char *why, size_t why_size);

/* The X-Hotline-Signature of a request: "sha256=" + hex HMAC-SHA256(key, ts "." body). */
void connector_sign(const void *key, size_t key_len, const char *ts, const void *body, size_t len,
                    char out[CONNECTOR_SIGNATURE_MAX]);

typedef enum connector_sig {
    CONNECTOR_SIG_OK = 0,
    CONNECTOR_SIG_NO_TIMESTAMP, /* absent, or not whole milliseconds */
    CONNECTOR_SIG_STALE,        /* further than max_skew_ms from now_ms */
    CONNECTOR_SIG_MALFORMED,    /* signature absent or not sha256=<64 hex> */
    CONNECTOR_SIG_MISMATCH,     /* the wrong key, or a body or timestamp changed on the way */
} connector_sig_t;

/* Check a signed request as its receiver: ts (X-Hotline-Timestamp, UTC ms) within max_skew_ms
 * of now_ms (*skew_ms: now_ms - ts), then sig (X-Hotline-Signature) against the HMAC of ts "."
 * body under key, compared in constant time. */
connector_sig_t connector_verify(const void *key, size_t key_len, const char *ts, const char *sig,
                                 const void *body, size_t len, int64_t now_ms, int64_t max_skew_ms,
                                 int64_t *skew_ms);

/* A sentence saying what was wrong, for the refusal (static). */
const char *connector_sig_reason(connector_sig_t v);

#endif
