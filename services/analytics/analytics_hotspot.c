/* analytics_hotspot: bursts of new tickets about one thing in one place (docs/domain.md
 * "Incidents and surges"), raised as HotspotDetected on analytics' own log for dispatch.
 *
 * Every new ticket (TicketReceived, not a repeat contact, not referred or refused at the door)
 * with a category counts under up to two keys: the "area" view (category prefix, district,
 * street) when it has a district and a street, and the "grid" view (category prefix, a cell of
 * gridMeters) when it has a point. Per key:
 *   - a sliding window of the last windowMinutes of EVENT time (the tickets' received_ms, not
 *     the wall clock: a replay on the test clock decides the same), one entry per ticket;
 *   - a baseline: an exponentially weighted count of the key's tickets (half-life
 *     baselineHalfLifeHours), read as "tickets per window" with the current window left out,
 *     so a burst does not raise its own bar;
 *   - hot: the instant it was raised, so a key raises at most once while it stays hot; it cools
 *     when its window count is under the threshold again and cooldownMinutes have passed.
 * The threshold is max(minCount, ceil(factor x baseline)).
 *
 * All of it lives in analytics' LMDB and changes only inside the feed batch's transaction
 * (analytics_apply calls this only for an event seen for the first time), so a retried batch
 * or a replayed feed raises nothing twice. Nothing here runs on a timer: a key's old entries
 * are dropped when its next ticket arrives. Loop thread. */
#include "analytics_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HS_IDS_MAX 200                                   /* ticket ids in one event */
#define HS_KEY_MAX (2 + 8 + 3 * (ANALYTICS_VALUE_MAX + 1)) /* view, prefix, two values */
#define HS_WIN_KEY_MAX (HS_KEY_MAX + 1 + 8 + ANALYTICS_ID_MAX)
#define HS_STATE_SIZE 36
#define METERS_PER_DEGREE 111320.0 /* of latitude; of longitude times cos(latitude) */
#define SEP 0x1f

/* A key's record (stored big-endian, HS_STATE_SIZE bytes). */
typedef struct hs_state {
    uint32_t n;        /* tickets in the window ending at newest_ms */
    int64_t newest_ms; /* the newest ticket time seen */
    double ewma;       /* tickets weighted 2^-(age / half-life), as of ewma_ms */
    int64_t ewma_ms;
    int64_t raised_ms; /* when the key was raised; 0: not hot */
} hs_state_t;

/* Where a ticket is, as the window entry keeps it (district NUL street NUL community). */
typedef struct hs_place {
    char district[ANALYTICS_VALUE_MAX + 1];
    char street[ANALYTICS_VALUE_MAX + 1];
    char community[ANALYTICS_VALUE_MAX + 1];
} hs_place_t;

/* One key being counted. */
typedef struct hs_key {
    uint8_t k[HS_KEY_MAX];
    size_t len;
    const char *view;   /* "area" or "grid" */
    char prefix[16];    /* category prefix */
    bool has_point;     /* grid: centre and radius */
    double lat, lon;
    uint32_t radius_m;
} hs_key_t;

int analytics_hotspot_check(const Hotline__HotspotConfig *h, char *err, size_t err_size)
{
    if (!h || !h->enabled)
        return 0;
    const struct {
        const char *key;
        double v, lo, hi;
    } rows[] = {
        {"hotspots.windowMinutes", h->window_minutes, 1, 1440},
        {"hotspots.minCount", h->min_count, 2, 100000},
        {"hotspots.factor", h->factor, 1, 1000},
        {"hotspots.baselineHalfLifeHours", h->baseline_half_life_hours, 1, 24 * 366},
        {"hotspots.cooldownMinutes", h->cooldown_minutes, 0, 7 * 1440},
        {"hotspots.gridMeters", h->grid_meters, 0, 100000},
        {"hotspots.prefixChars", h->prefix_chars, 1, 7},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (!(rows[i].v >= rows[i].lo && rows[i].v <= rows[i].hi)) {
            snprintf(err, err_size, "%s must be between %g and %g (got %g)", rows[i].key,
                     rows[i].lo, rows[i].hi, rows[i].v);
            return HL_EINVAL;
        }
    }
    if (h->grid_meters && h->grid_meters < 50) {
        snprintf(err, err_size, "hotspots.gridMeters must be 0 (no grid view) or at least 50 "
                 "(got %u)", (unsigned)h->grid_meters);
        return HL_EINVAL;
    }
    return 0;
}

int analytics_hotspot_open(analytics_t *self, const Hotline__HotspotConfig *h, evlog_t *log)
{
    self->hs.on = h && h->enabled && log;
    if (!self->hs.on)
        return 0;
    self->hs.log = log;
    self->hs.window_ms = (int64_t)h->window_minutes * 60000;
    self->hs.min_count = h->min_count;
    self->hs.factor = h->factor;
    self->hs.half_life_ms = (double)h->baseline_half_life_hours * 3600000.0;
    self->hs.cooldown_ms = (int64_t)h->cooldown_minutes * 60000;
    self->hs.grid_m = h->grid_meters;
    self->hs.prefix_chars = h->prefix_chars;
    int rc = store_db(self->store, "hotspot_keys", 0, &self->hs.keys);
    if (!rc)
        rc = store_db(self->store, "hotspot_window", 0, &self->hs.window);
    return rc;
}

/* ---- the key's record ---- */

static void state_pack(const hs_state_t *s, uint8_t out[HS_STATE_SIZE])
{
    uint64_t bits;
    memcpy(&bits, &s->ewma, sizeof bits);
    out[0] = (uint8_t)(s->n >> 24);
    out[1] = (uint8_t)(s->n >> 16);
    out[2] = (uint8_t)(s->n >> 8);
    out[3] = (uint8_t)s->n;
    store_be64_put(out + 4, (uint64_t)s->newest_ms);
    store_be64_put(out + 12, bits);
    store_be64_put(out + 20, (uint64_t)s->ewma_ms);
    store_be64_put(out + 28, (uint64_t)s->raised_ms);
}

static int state_get(analytics_t *self, MDB_txn *txn, const hs_key_t *k, hs_state_t *s)
{
    memset(s, 0, sizeof *s);
    MDB_val v;
    int rc = store_get(txn, self->hs.keys, k->k, k->len, &v);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != HS_STATE_SIZE)
        return HL_ECORRUPT;
    const uint8_t *p = v.mv_data;
    s->n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    s->newest_ms = (int64_t)store_be64_get(p + 4);
    uint64_t bits = store_be64_get(p + 12);
    memcpy(&s->ewma, &bits, sizeof bits);
    s->ewma_ms = (int64_t)store_be64_get(p + 20);
    s->raised_ms = (int64_t)store_be64_get(p + 28);
    return 0;
}

/* One more ticket at t in the weighted count (an older t than the count's weighs less). */
static void ewma_add(hs_state_t *s, int64_t t, double half_life_ms)
{
    if (!s->ewma_ms) {
        s->ewma = 1;
        s->ewma_ms = t;
    } else if (t >= s->ewma_ms) {
        s->ewma = s->ewma * exp2(-(double)(t - s->ewma_ms) / half_life_ms) + 1;
        s->ewma_ms = t;
    } else {
        s->ewma += exp2(-(double)(s->ewma_ms - t) / half_life_ms);
    }
}

/* The key's usual tickets per window, the current window left out: a steady rate r per ms
 * makes the weighted count r x half-life / ln 2. */
static double baseline(const analytics_t *self, const hs_state_t *s)
{
    double past = s->ewma - (double)s->n;
    return past > 0 ? past * M_LN2 / self->hs.half_life_ms * (double)self->hs.window_ms : 0;
}

/* ---- the window ---- */

static size_t win_key(const hs_key_t *k, int64_t t, const char *ticket, uint8_t *out)
{
    memcpy(out, k->k, k->len);
    out[k->len] = 0;
    store_be64_put(out + k->len + 1, (uint64_t)t);
    size_t tl = strlen(ticket);
    memcpy(out + k->len + 9, ticket, tl);
    return k->len + 9 + tl;
}

typedef struct prune_walk {
    int64_t cutoff;
    size_t key_len;
    uint32_t dropped;
} prune_walk_t;

static int prune_visit(void *ctx, const store_entry_t *e)
{
    prune_walk_t *w = ctx;
    if (e->key.mv_size < w->key_len + 9)
        return HL_ECORRUPT;
    int64_t t = (int64_t)store_be64_get((const uint8_t *)e->key.mv_data + w->key_len + 1);
    if (t >= w->cutoff)
        return 1; /* in time order: the rest are newer */
    w->dropped++;
    return store_scan_del(e);
}

/* What a raise reports: the window's tickets and the place they share. */
typedef struct collect_walk {
    size_t key_len;
    char *ids[HS_IDS_MAX]; /* newest first while walking */
    size_t nids;
    hs_place_t shared; /* "" once two tickets differ */
    bool first_seen;
    bool differ[3];
} collect_walk_t;

static void share(char *have, bool *differ, bool first, const char *value)
{
    if (first)
        snprintf(have, ANALYTICS_VALUE_MAX + 1, "%s", value);
    else if (!*differ && strcmp(have, value) != 0)
        *differ = true;
}

static int collect_visit(void *ctx, const store_entry_t *e)
{
    collect_walk_t *w = ctx;
    const char *v = e->val.mv_data;
    const char *end = v + e->val.mv_size;
    const char *parts[3] = {"", "", ""};
    for (int i = 0; i < 3 && v < end; i++) {
        parts[i] = v;
        const char *nul = memchr(v, 0, (size_t)(end - v));
        if (!nul)
            return HL_ECORRUPT;
        v = nul + 1;
    }
    char *fields[3] = {w->shared.district, w->shared.street, w->shared.community};
    for (int i = 0; i < 3; i++)
        share(fields[i], &w->differ[i], !w->first_seen, parts[i]);
    w->first_seen = true;
    size_t id_at = w->key_len + 9;
    if (w->nids < HS_IDS_MAX && e->key.mv_size > id_at) {
        size_t n = e->key.mv_size - id_at;
        char *id = malloc(n + 1);
        if (!id)
            return HL_ENOMEM;
        memcpy(id, (const char *)e->key.mv_data + id_at, n);
        id[n] = '\0';
        w->ids[w->nids++] = id;
    }
    return 0;
}

/* ---- raising ---- */

static int raise_hotspot(analytics_t *self, MDB_txn *txn, const hs_key_t *k,
                         const hs_state_t *s, double base, int64_t t)
{
    uint8_t prefix[HS_KEY_MAX + 1];
    memcpy(prefix, k->k, k->len);
    prefix[k->len] = 0;
    collect_walk_t w = {.key_len = k->len};
    store_range_t r = {.prefix = prefix, .prefix_len = k->len + 1, .reverse = true};
    int rc = store_scan(txn, self->hs.window, &r, collect_visit, &w);
    /* HS-20261125-001: dated by the local day of the burst, like ticket and incident ids. */
    int y, mo, d;
    calendar_ymd_from_day(calendar_local_day(self->cal, t), &y, &mo, &d);
    char seq_key[24], id[40];
    snprintf(seq_key, sizeof seq_key, "hotspot_seq%04d%02d%02d", y, mo, d);
    uint64_t seq = 0;
    if (!rc)
        rc = store_add_u64(txn, self->meta, seq_key, strlen(seq_key), 1, &seq);
    snprintf(id, sizeof id, "HS-%04d%02d%02d-%03llu", y, mo, d, (unsigned long long)seq);
    char *ids[HS_IDS_MAX];
    for (size_t i = 0; i < w.nids; i++)
        ids[i] = w.ids[w.nids - 1 - i]; /* newest last */
    Hotline__GeoPoint centre = HOTLINE__GEO_POINT__INIT;
    Hotline__HotspotDetected hd = HOTLINE__HOTSPOT_DETECTED__INIT;
    hd.hotspot_id = id;
    hd.category_prefix = (char *)k->prefix;
    hd.district = w.differ[0] ? "" : w.shared.district;
    hd.street = w.differ[1] ? "" : w.shared.street;
    hd.community = w.differ[2] ? "" : w.shared.community;
    if (k->has_point) {
        centre.lat = k->lat;
        centre.long_ = k->lon;
        hd.point = &centre;
        hd.radius_m = k->radius_m;
    }
    hd.window_ms = self->hs.window_ms;
    hd.count = s->n;
    hd.baseline = base;
    hd.detected_ms = t;
    hd.n_ticket_ids = w.nids;
    hd.ticket_ids = ids;
    hd.view = (char *)k->view;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_HOTSPOT_DETECTED;
    ev.hotspot_detected = &hd;
    if (!rc)
        rc = evlog_append(self->hs.log, txn, &ev);
    if (!rc)
        SLOG_INFO("hotspot_detected",
                  "hotspot=%s view=%s category=%s district=\"%s\" street=\"%s\" count=%u "
                  "baseline=%.2f",
                  id, k->view, k->prefix, hd.district, hd.street, s->n, base);
    for (size_t i = 0; i < w.nids; i++)
        free(w.ids[i]);
    return rc;
}

/* One ticket at t under key k: window, baseline, and a raise when it crosses. */
static int count_key(analytics_t *self, MDB_txn *txn, const hs_key_t *k, const char *ticket,
                     int64_t t, const hs_place_t *place)
{
    hs_state_t s;
    int rc = state_get(self, txn, k, &s);
    if (rc)
        return rc;
    if (t > s.newest_ms)
        s.newest_ms = t;
    uint8_t wk[HS_WIN_KEY_MAX];
    prune_walk_t pw = {.cutoff = s.newest_ms - self->hs.window_ms + 1, .key_len = k->len};
    store_range_t r = {.prefix = wk, .prefix_len = k->len + 1};
    win_key(k, 0, "", wk);
    if ((rc = store_scan(txn, self->hs.window, &r, prune_visit, &pw)))
        return rc;
    s.n = pw.dropped > s.n ? 0 : s.n - pw.dropped;
    if (t >= pw.cutoff) { /* a ticket older than the window only feeds the baseline */
        char val[3 * (ANALYTICS_VALUE_MAX + 1)];
        int vl = snprintf(val, sizeof val, "%s%c%s%c%s", place->district, 0, place->street, 0,
                          place->community);
        size_t wl = win_key(k, t, ticket, wk);
        if ((rc = store_put(txn, self->hs.window, wk, wl, val, (size_t)vl + 1, 0)))
            return rc;
        s.n++;
    }
    ewma_add(&s, t, self->hs.half_life_ms);
    double base = baseline(self, &s);
    double bar = ceil(self->hs.factor * base);
    uint32_t threshold = bar > self->hs.min_count ? (uint32_t)fmin(bar, 1e9) : self->hs.min_count;
    if (s.raised_ms && s.n < threshold && s.newest_ms - s.raised_ms >= self->hs.cooldown_ms)
        s.raised_ms = 0; /* cooled: the next burst raises again */
    if (!s.raised_ms && s.n >= threshold) {
        s.raised_ms = t;
        if ((rc = raise_hotspot(self, txn, k, &s, base, t)))
            return rc;
    }
    uint8_t packed[HS_STATE_SIZE];
    state_pack(&s, packed);
    return store_put(txn, self->hs.keys, k->k, k->len, packed, sizeof packed, 0);
}

/* ---- keys ---- */

static size_t key_begin(hs_key_t *k, char view, const char *category, unsigned chars)
{
    size_t cl = strlen(category);
    if (cl > chars)
        cl = chars;
    if (cl >= sizeof k->prefix)
        cl = sizeof k->prefix - 1;
    memcpy(k->prefix, category, cl);
    k->prefix[cl] = '\0';
    k->k[0] = (uint8_t)view;
    memcpy(k->k + 1, k->prefix, cl);
    k->k[1 + cl] = SEP;
    return 2 + cl;
}

static void key_add(hs_key_t *k, const char *value, bool last)
{
    size_t n = strlen(value);
    memcpy(k->k + k->len, value, n);
    k->len += n;
    if (!last)
        k->k[k->len++] = SEP;
}

/* The cell of a point: rows of grid_m in latitude, columns of grid_m at the row's middle. */
static void grid_key(const analytics_t *self, hs_key_t *k, const char *category,
                     const Hotline__GeoPoint *p)
{
    double cell = (double)self->hs.grid_m / METERS_PER_DEGREE;
    double row = floor(p->lat / cell);
    double mid = (row + 0.5) * cell;
    double width = cell / fmax(cos(mid * M_PI / 180.0), 0.01);
    double col = floor(p->long_ / width);
    char cellname[48];
    snprintf(cellname, sizeof cellname, "%.0f,%.0f", row, col);
    k->len = key_begin(k, 'G', category, self->hs.prefix_chars);
    key_add(k, cellname, true);
    k->view = "grid";
    k->has_point = true;
    k->lat = mid;
    k->lon = (col + 0.5) * width;
    k->radius_m = (uint32_t)ceil(self->hs.grid_m * M_SQRT1_2);
}

static bool point_ok(const Hotline__GeoPoint *p)
{
    return p && p->lat >= -85 && p->lat <= 85 && p->long_ >= -180 && p->long_ <= 180 &&
           (p->lat != 0 || p->long_ != 0);
}

int analytics_hotspot_apply(analytics_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    if (!self->hs.on || ev->body_case != HOTLINE__EVENT__BODY_TICKET_RECEIVED ||
        !ev->ticket_received || !ev->ticket_received->ticket)
        return 0;
    const Hotline__Ticket *tk = ev->ticket_received->ticket;
    const Hotline__Location *l = tk->location;
    Hotline__Disposition disp =
        tk->outcome ? tk->outcome->disposition : HOTLINE__DISPOSITION__DISPOSITION_DISPATCH;
    if (!tk->category_code || !*tk->category_code || !l ||
        disp == HOTLINE__DISPOSITION__DISPOSITION_REFERRED ||
        disp == HOTLINE__DISPOSITION__DISPOSITION_NOT_ACCEPTED)
        return 0;
    int64_t t = tk->received_ms ? tk->received_ms : ev->time_ms;
    hs_place_t place;
    analytics_value_copy(place.district, l->district);
    analytics_value_copy(place.street, l->street);
    analytics_value_copy(place.community, l->community);
    int rc = 0;
    hs_key_t k;
    if (*place.district && *place.street) {
        memset(&k, 0, sizeof k);
        k.len = key_begin(&k, 'A', tk->category_code, self->hs.prefix_chars);
        key_add(&k, place.district, false);
        key_add(&k, place.street, true);
        k.view = "area";
        rc = count_key(self, txn, &k, ev->ticket_id, t, &place);
    }
    if (!rc && self->hs.grid_m && point_ok(l->point)) {
        memset(&k, 0, sizeof k);
        grid_key(self, &k, tk->category_code, l->point);
        rc = count_key(self, txn, &k, ev->ticket_id, t, &place);
    }
    return rc;
}
