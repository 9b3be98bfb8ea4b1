/* kpigen: a seeded, realistic stream of the four feeds analytics follows (intake, dispatch,
 * sla, callback), for the KPI brute-force check (tests/support/kpimonth.c with
 * tests/support/kpi_bruteforce.py) and the analytics benchmark (tests/bench/bench_analytics.c).
 *
 * Tickets are received over whole local months (UTC+8), plus a prologue of the three days
 * before the first month, with a daily and weekly profile (some near local midnight), across
 * 20 units, 40 categories (W01..W09 and P01..P08 with subcodes) and 12 districts. Each ticket
 * lives its life: closed at the door (answered, referred, not accepted), linked to an incident,
 * or dispatched (sometimes first to the dispatch desk, then re-routed), signed, contacted,
 * replied, called back (unreachable attempts, a 5-level rating, resolved or not), closed or
 * sent back for rework (up to two rework rounds), and sometimes appealed by its unit (upheld:
 * KpiEligibilityChanged, days after the rating, so ratings of a month's last days are ruled
 * in the next month); repeat calls while it is open. sla's SIGN, REPLY, RESPONSE and CALLBACK
 * clocks start with deadlines from the real working-day calendar, warn, breach and stop, on
 * time or late, including: breached then stopped late; stopped late with no breach seen (sla
 * was behind); breached, then extended, then stopped in time; still running at the end.
 * Events after the tail (tail_days after the last month) have not happened yet: dropped.
 *
 * Each feed stalls now and then (analytics' consumer falls behind one producer): an event
 * arrives when its feed catches up, so some tickets' dispatch (or sla) events arrive before
 * intake's. Events are given in arrival order, each source's in its own log order (seq 1, 2,
 * ... per source). Everything follows from the seed. Not thread-safe. */
#ifndef HOTLINE_TESTS_KPIGEN_H
#define HOTLINE_TESTS_KPIGEN_H

#include "hotline/event.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef struct kpigen kpigen_t;

typedef struct kpigen_opts {
    uint64_t seed;
    uint64_t min_events; /* tickets are drawn until at least this many events are kept */
    int year, month;     /* the first month of tickets (local) */
    int months;          /* months of tickets: 1 for the check, 12 for the benchmark */
    int tail_days;       /* days after the last month whose events are kept */
} kpigen_opts_t;

/* What was generated, for the programs' reports. */
typedef struct kpigen_stats {
    uint64_t tickets;
    uint64_t by_body[128];        /* events by Hotline__Event body case (below 128) */
    uint64_t received_late;       /* tickets whose TicketReceived arrived after another of
                                     their events (feeds out of order) */
    uint64_t appeals_upheld;      /* KpiEligibilityChanged events */
    uint64_t appeals_next_period; /* ... arriving after the last month, about a rating in it */
    uint64_t late_without_breach; /* late stops with no SlaBreached before them */
    uint64_t breach_extended;     /* breached, extended, then stopped in time */
} kpigen_stats_t;

/* Generate everything (in memory: about 40 bytes an event) and sort it in arrival order.
 * Errors: HL_EINVAL (opts), HL_ENOMEM. */
int kpigen_create(kpigen_t **out, const kpigen_opts_t *opts);
void kpigen_destroy(kpigen_t **self);

/* Events kept, and the index of the first one arriving at or after the end of the last
 * month (the late events: everything from there on). */
size_t kpigen_count(const kpigen_t *self);
size_t kpigen_split(const kpigen_t *self);

/* Event i (in arrival order). The event and everything it points to belong to self and stay
 * valid until the next call. */
const Hotline__Event *kpigen_event(kpigen_t *self, size_t i);

const kpigen_stats_t *kpigen_stats(const kpigen_t *self);

/* The local days (day numbers, calendar_day_from_ymd) the events can fall on: from the
 * prologue's first day to the tail's last. */
void kpigen_days(const kpigen_t *self, int64_t *first, int64_t *last);

/* The values tickets are drawn from: dim 'u' units, 'c' categories, 'd' districts. */
size_t kpigen_values(char dim, const char *const **out);

#endif
