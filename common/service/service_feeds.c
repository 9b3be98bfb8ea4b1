/* service_feeds: the feeds a service follows. A producer's family is the producer and its
 * further instances ("intake", "intake-2"): following a producer follows all of them, each
 * with its own cursor, so adding an instance is adding a feed; a service can also follow the
 * other instances of itself (its peers). Loop thread. */
#include "service_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <string.h>

int service_feed_behind(service_t *svc, const char *producer, bool *known, uint64_t *behind,
                        int64_t *newest_ms)
{
    for (int i = 0; i < svc->nfeeds; i++) {
        if (strcmp(feed_client_producer(svc->feeds_in[i]), producer) != 0)
            continue;
        const feed_client_stats_t *st = feed_client_stats(svc->feeds_in[i]);
        *known = st->head > 0; /* the cursor alone (from the store) says nothing of the head */
        *behind = st->head > st->cursor ? st->head - st->cursor : 0;
        *newest_ms = svc->feeds_seen[i].newest_ms;
        return 0;
    }
    return HL_ENOTFOUND;
}

/* Whether feed name is producer or one of its further instances: "intake", "intake-2". */
bool service_feed_is(const char *name, const char *producer)
{
    size_t n = strlen(producer);
    return strncmp(name, producer, n) == 0 &&
           (name[n] == '\0' || (name[n] == '-' && name[n + 1] != '\0'));
}

static int follow_one(service_t *svc, const Hotline__FeedSource *src, feed_apply_fn apply,
                      feed_batch_end_fn end, void *ctx)
{
    if (svc->nfeeds == SERVICE_MAX_FEEDS)
        return HL_ETOOBIG;
    MDB_dbi cursors;
    int rc = store_db(svc->store, "cursors", 0, &cursors);
    if (rc)
        return rc;
    bus_cred_t cred;
    service_auth_feed_cred(svc, src->server_key, &cred);
    feed_client_opts_t fo = {
        .cred = &cred,
        .producer = src->name, /* the cursor's key: one per producer instance */
        .endpoint = src->endpoint,
        .consumer = svc->rt->name,
        .batch_max = src->batch_max,
        .wait_ms = src->wait_ms,
        .linger_ms = src->linger_ms > 0 ? (unsigned)src->linger_ms : 0, /* -1: never */
        .batch_end = end ? service_feed_batch_end : NULL,
    };
    int i = svc->nfeeds;
    svc->feeds_seen[i] =
        (service_feed_t){.svc = svc, .index = i, .apply = apply, .end = end, .ctx = ctx};
    rc = feed_client_create(&svc->feeds_in[i], &svc->loop, svc->zctx, svc->store, svc->txq,
                            cursors, &fo, service_feed_apply, &svc->feeds_seen[i]);
    if (!rc)
        svc->nfeeds++;
    return rc;
}

static int follow_family(service_t *svc, const char *producer, const char *skip,
                         feed_apply_fn apply, feed_batch_end_fn end, void *ctx, unsigned *found)
{
    int rc = 0;
    *found = 0;
    for (size_t i = 0; !rc && i < svc->rt->n_feeds; i++) {
        const char *name = svc->rt->feeds[i]->name;
        if (service_feed_is(name, producer) && !(skip && strcmp(name, skip) == 0)) {
            rc = follow_one(svc, svc->rt->feeds[i], apply, end, ctx);
            ++*found;
        }
    }
    return rc;
}

int service_follow(service_t *svc, const char *producer, feed_apply_fn apply, void *ctx)
{
    return service_follow_batched(svc, producer, apply, NULL, ctx);
}

int service_follow_batched(service_t *svc, const char *producer, feed_apply_fn apply,
                           feed_batch_end_fn end, void *ctx)
{
    unsigned found;
    int rc = follow_family(svc, producer, NULL, apply, end, ctx, &found);
    if (!found) {
        SLOG_ERROR("feed_not_configured", "producer=%s reason=\"no runtime.feeds entry; give "
                   "--feed %s=ENDPOINT\"", producer, producer);
        return HL_ENOTFOUND;
    }
    return rc;
}

int service_follow_peers(service_t *svc, feed_apply_fn apply, void *ctx, unsigned *npeers)
{
    return follow_family(svc, svc->desc->name, svc->rt->name, apply, NULL, ctx, npeers);
}
