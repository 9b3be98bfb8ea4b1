/* analytics_hotspot: a burst raises one hotspot with its tickets; a steady background over a
 * simulated week raises none (nor does a busy key once its baseline knows it); a hot key does
 * not raise again until it has cooled; the grid view; a replay of the same events changes
 * nothing. Event time only: the service clock never moves here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analytics_internal.h"
#include "hl_error.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1764028800000LL /* 2025-11-25T00:00:00Z */
#define MINUTE 60000LL
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

typedef struct fixture {
    char *dir;
    store_t *store;
    hclock_t *clock;
    evlog_t *log;
    analytics_t *an;
    uint64_t seq;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    /* No flush per commit: the simulated week commits 26,000 times. */
    store_opts_t o = {.path = f->dir, .sync = STORE_SYNC_NOSYNC};
    evlog_opts_t lo = {.source = "analytics", .retention_ms = DAY};
    Hotline__CalendarConfig cal = HOTLINE__CALENDAR_CONFIG__INIT;
    cal.utc_offset_minutes = 480;
    Hotline__HotspotConfig hs = HOTLINE__HOTSPOT_CONFIG__INIT; /* the service's defaults */
    hs.enabled = true;
    hs.window_minutes = 30;
    hs.min_count = 8;
    hs.factor = 4;
    hs.baseline_half_life_hours = 168;
    hs.cooldown_minutes = 360;
    hs.grid_meters = 500;
    hs.prefix_chars = 3;
    char err[256];
    assert_int_equal(analytics_hotspot_check(&hs, err, sizeof err), 0);
    if (store_open(&f->store, &o) || hclock_create(&f->clock, true) ||
        evlog_open(&f->log, f->store, f->clock, &lo))
        return -1;
    analytics_opts_t ao = {.calendar = &cal, .clock = f->clock, .hotspots = &hs, .log = f->log};
    if (analytics_open(&f->an, f->store, &ao, err, sizeof err))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    analytics_close(&f->an);
    evlog_close(&f->log);
    store_close(&f->store);
    hclock_destroy(&f->clock);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

typedef struct where {
    const char *district, *street, *community;
    double lat, lon; /* 0, 0: no point */
} where_t;

/* TicketReceived for id at t, as intake's seq (0: the next). through: the whole of
 * analytics_apply, else the detector alone (the simulated week: faster). */
static void ticket(fixture_t *f, uint64_t seq, const char *id, int64_t t, const char *cat,
                   const where_t *w, bool through)
{
    Hotline__GeoPoint p = HOTLINE__GEO_POINT__INIT;
    p.lat = w->lat;
    p.long_ = w->lon;
    Hotline__Location loc = HOTLINE__LOCATION__INIT;
    loc.district = (char *)w->district;
    loc.street = (char *)w->street;
    loc.community = (char *)w->community;
    if (w->lat != 0)
        loc.point = &p;
    Hotline__Ticket tk = HOTLINE__TICKET__INIT;
    tk.id = (char *)id;
    tk.category_code = (char *)cat;
    tk.location = &loc;
    tk.received_ms = t;
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &tk;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "intake";
    ev.seq = seq ? seq : ++f->seq;
    ev.time_ms = t;
    ev.ticket_id = (char *)id;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(through ? analytics_apply(f->an, txn, &ev)
                             : analytics_hotspot_apply(f->an, txn, &ev),
                     0);
    assert_int_equal(analytics_batch_end(f->an, txn), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
}

static int unpack_one(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    (void)seq;
    *(Hotline__Event **)ctx = hotline__event__unpack(NULL, len, bytes);
    return 1;
}

/* The n-th event (1-based) of analytics' log: a HotspotDetected (caller frees the event). */
static Hotline__Event *hotspot_at(fixture_t *f, uint64_t n)
{
    Hotline__Event *ev = NULL;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    evlog_read(f->log, txn, n - 1, 1, 1 << 20, unpack_one, &ev);
    store_read_end(&txn);
    assert_non_null(ev);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_HOTSPOT_DETECTED);
    return ev;
}

static const where_t MAIN_ST = {"Gulou", "Main St", "Sunshine", 0, 0};

/* n tickets W01xx on where, one a minute from t; ids P<tag>-<i>. */
static void burst(fixture_t *f, const char *tag, int n, int64_t t, const where_t *w)
{
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "P%s-%03d", tag, i);
        ticket(f, 0, id, t + i * MINUTE, i % 2 ? "W0101" : "W0102", w, true);
    }
}

static void test_burst_raises_one(void **state)
{
    fixture_t *f = *state;
    burst(f, "a", 7, T0, &MAIN_ST);
    assert_int_equal(evlog_head(f->log), 0); /* 7 < minCount */
    burst(f, "b", 5, T0 + 7 * MINUTE, &MAIN_ST);
    assert_int_equal(evlog_head(f->log), 1); /* raised at the 8th, not again */
    Hotline__Event *ev = hotspot_at(f, 1);
    const Hotline__HotspotDetected *hd = ev->hotspot_detected;
    assert_string_equal(hd->hotspot_id, "HS-20251125-001");
    assert_string_equal(hd->category_prefix, "W01");
    assert_string_equal(hd->district, "Gulou");
    assert_string_equal(hd->street, "Main St");
    assert_string_equal(hd->community, "Sunshine");
    assert_string_equal(hd->view, "area");
    assert_int_equal(hd->count, 8);
    assert_int_equal(hd->n_ticket_ids, 8);
    assert_string_equal(hd->ticket_ids[0], "Pa-000");
    assert_string_equal(hd->ticket_ids[7], "Pb-000"); /* newest last */
    assert_int_equal(hd->detected_ms, T0 + 7 * MINUTE);
    assert_int_equal(hd->window_ms, 30 * MINUTE);
    assert_null(hd->point);
    hotline__event__free_unpacked(ev, NULL);
    /* Other categories and other streets are other keys. */
    where_t side = MAIN_ST;
    side.street = "Side St";
    for (int i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof id, "Q%d", i);
        ticket(f, 0, id, T0 + i * MINUTE, "W0101", &side, true);
        snprintf(id, sizeof id, "R%d", i);
        ticket(f, 0, id, T0 + i * MINUTE, "W0601", &MAIN_ST, true);
    }
    assert_int_equal(evlog_head(f->log), 1);
}

static void test_replay_changes_nothing(void **state)
{
    fixture_t *f = *state;
    burst(f, "a", 10, T0, &MAIN_ST);
    assert_int_equal(evlog_head(f->log), 1);
    f->seq = 0; /* the same events again, as after a lost cursor */
    burst(f, "a", 10, T0, &MAIN_ST);
    assert_int_equal(evlog_head(f->log), 1);
    /* ... and a cooled key would have raised again for new tickets: the replay is not new. */
    f->seq = 10;
    burst(f, "c", 10, T0 + 8 * HOUR, &MAIN_ST);
    assert_int_equal(evlog_head(f->log), 2);
}

static void test_cooldown(void **state)
{
    fixture_t *f = *state;
    burst(f, "a", 10, T0, &MAIN_ST);
    assert_int_equal(evlog_head(f->log), 1);
    burst(f, "b", 10, T0 + 2 * HOUR, &MAIN_ST); /* cooled window, but within 6 h: quiet */
    assert_int_equal(evlog_head(f->log), 1);
    /* Still hot an hour later: a steady 10 per half hour keeps it raised once. */
    for (int h = 0; h < 4; h++) {
        char tag[8];
        snprintf(tag, sizeof tag, "s%d", h);
        burst(f, tag, 10, T0 + 3 * HOUR + h * 30 * MINUTE, &MAIN_ST);
    }
    assert_int_equal(evlog_head(f->log), 1);
    burst(f, "c", 10, T0 + 12 * HOUR, &MAIN_ST); /* quiet for hours, past the cool-down */
    assert_int_equal(evlog_head(f->log), 2);
    Hotline__Event *ev = hotspot_at(f, 2);
    assert_string_equal(ev->hotspot_detected->hotspot_id, "HS-20251125-002");
    hotline__event__free_unpacked(ev, NULL);
}

static void test_grid(void **state)
{
    fixture_t *f = *state;
    /* Ten W04 leaks within ~150 m, in different streets (no area key reaches 8). */
    const char *streets[] = {"North Rd", "East Rd", "Lake Rd"};
    for (int i = 0; i < 10; i++) {
        where_t w = {"Gulou", streets[i % 3], NULL, 26.0801 + 0.0001 * i, 119.2951};
        char id[16];
        snprintf(id, sizeof id, "G%d", i);
        ticket(f, 0, id, T0 + i * MINUTE, "W0402", &w, true);
    }
    assert_int_equal(evlog_head(f->log), 1);
    Hotline__Event *ev = hotspot_at(f, 1);
    const Hotline__HotspotDetected *hd = ev->hotspot_detected;
    assert_string_equal(hd->view, "grid");
    assert_string_equal(hd->category_prefix, "W04");
    assert_string_equal(hd->district, "Gulou");
    assert_string_equal(hd->street, ""); /* they share none */
    assert_non_null(hd->point);
    assert_true(hd->point->lat > 26.07 && hd->point->lat < 26.09);
    assert_true(hd->point->long_ > 119.28 && hd->point->long_ < 119.31);
    assert_int_equal(hd->radius_m, 354);
    assert_int_equal(hd->count, 8);
    hotline__event__free_unpacked(ev, NULL);
    /* Points 5 km apart are cells apart: nothing. */
    for (int i = 0; i < 10; i++) {
        where_t w = {"Cangshan", NULL, NULL, 26.0 + 0.05 * i, 119.3};
        char id[16];
        snprintf(id, sizeof id, "H%d", i);
        ticket(f, 0, id, T0 + i * MINUTE, "W0402", &w, true);
    }
    assert_int_equal(evlog_head(f->log), 1);
}

/* A small LCG: the same week every run. */
static uint32_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

static int cmp_ms(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_background_week_raises_none(void **state)
{
    fixture_t *f = *state;
    /* 3,000 tickets a day for a week over 40 categories x 12 districts x 8 streets, at
     * random instants; plus one busy key (a ticket every 2 minutes: 15 per window). */
    enum { PER_DAY = 3000, DAYS = 7 };
    size_t n = PER_DAY * DAYS;
    int64_t *at = malloc(n * sizeof *at);
    uint64_t s = 12;
    for (size_t i = 0; i < n; i++)
        at[i] = T0 + (int64_t)(next(&s) % (uint32_t)(DAYS * DAY / 1000)) * 1000;
    qsort(at, n, sizeof *at, cmp_ms);
    static const char *const districts[] = {"Gulou", "Taijiang", "Cangshan", "Jinan", "Mawei",
                                            "Changle", "Minhou", "Lianjiang", "Luoyuan",
                                            "Minqing", "Yongtai", "Pingtan"};
    where_t busy = {"Taijiang", "Market St", NULL, 0, 0};
    int64_t busy_t = T0 + 2 * DAY; /* known for days before the week's end */
    unsigned busy_n = 0;
    for (size_t i = 0; i < n; i++) {
        char id[24], cat[8], street[16];
        snprintf(id, sizeof id, "B%06zu", i);
        uint32_t r = next(&s);
        snprintf(cat, sizeof cat, "%c%02u%02u", r % 2 ? 'W' : 'P', 1 + (r / 2) % 20, 1 + r % 3);
        snprintf(street, sizeof street, "Street %u", (r / 40) % 8);
        where_t w = {districts[(r / 320) % 12], street, NULL, 0, 0};
        ticket(f, 0, id, at[i], cat, &w, false);
        for (; busy_t <= at[i]; busy_t += 2 * MINUTE) {
            snprintf(id, sizeof id, "K%05u", busy_n++);
            ticket(f, 0, id, busy_t, "W0201", &busy, false);
        }
    }
    free(at);
    /* The busy key raised once when it was new (no history: 15 is a burst), then its
     * baseline learned it: nothing more in five days; the background raised nothing. */
    assert_int_equal(evlog_head(f->log), 1);
    Hotline__Event *ev = hotspot_at(f, 1);
    assert_string_equal(ev->hotspot_detected->street, "Market St");
    assert_true(ev->hotspot_detected->detected_ms < T0 + 2 * DAY + HOUR);
    hotline__event__free_unpacked(ev, NULL);
    /* A real burst on top of the background still shows. */
    burst(f, "z", 10, T0 + DAYS * DAY, &MAIN_ST);
    assert_int_equal(evlog_head(f->log), 2);
}

static void test_config_checked(void **state)
{
    (void)state;
    Hotline__HotspotConfig hs = HOTLINE__HOTSPOT_CONFIG__INIT;
    hs.enabled = true;
    hs.window_minutes = 30;
    hs.min_count = 1; /* one ticket is not a burst */
    hs.factor = 4;
    hs.baseline_half_life_hours = 168;
    hs.prefix_chars = 3;
    char err[200];
    assert_int_equal(analytics_hotspot_check(&hs, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "hotspots.minCount"));
    hs.min_count = 8;
    hs.grid_meters = 10;
    assert_int_equal(analytics_hotspot_check(&hs, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "hotspots.gridMeters"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_raises_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cooldown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_week_raises_none, setup, teardown),
        cmocka_unit_test(test_config_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
