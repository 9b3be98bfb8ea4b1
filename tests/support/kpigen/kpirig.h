/* kpirig: analytics in-process on a store of its own, fed a kpigen stream in batched write
 * transactions as its feed consumer would, and asked GET /v1/kpis queries: what the KPI
 * brute-force check (kpimonth) and the analytics benchmark share. Loop thread (one thread). */
#ifndef HOTLINE_TESTS_KPIRIG_H
#define HOTLINE_TESTS_KPIRIG_H

#include "analytics.h"
#include "kpigen.h"

typedef struct kpirig {
    store_t *store;
    hclock_t *clock; /* settable; "today" does not matter: every query names its period */
    analytics_t *an;
} kpirig_t;

/* Open a store in dir (created) with the given durability and analytics on it (UTC+8,
 * "basically satisfied" counts). Errors: store and analytics errors. */
int kpirig_open(kpirig_t *self, const char *dir, store_sync_t sync);
void kpirig_close(kpirig_t *self);

/* Called once per event, in order, after it was applied (its batch may still be redone). */
typedef int (*kpirig_visit_fn)(void *ctx, size_t i, const Hotline__Event *ev);

/* Apply events [from, to) of g, batch events per transaction; a full map grows and the batch
 * is redone. visit (may be NULL) sees each event once. Errors: store errors, visit's. */
int kpirig_feed(kpirig_t *self, kpigen_t *g, size_t from, size_t to, size_t batch,
                kpirig_visit_fn visit, void *ctx);

/* The KPI document for a query string (analytics_query_parse, then analytics_kpis in a read
 * transaction). *out is a new reference. Errors: HL_EINVAL (err says why), store errors. */
int kpirig_kpis(kpirig_t *self, const char *query, json_t **out, analytics_error_t *err);

/* Query pieces: "YYYY-Www" of the ISO week holding a local day number (week 1 holds the
 * year's first Thursday), and "from=YYYY-MM-DD&to=YYYY-MM-DD". */
void kpirig_iso_week(int64_t day, char *out, size_t size);
void kpirig_range(int64_t from, int64_t to, char *out, size_t size);

/* The size of the store's data file in dir (bytes: apparent, and allocated on disk; 0 when
 * it cannot be read). */
long long kpirig_data_bytes(const char *dir, long long *allocated);

/* Remove a store's two files and its directory (one made for it: nothing else is in it). */
void kpirig_remove(const char *dir);

#endif
