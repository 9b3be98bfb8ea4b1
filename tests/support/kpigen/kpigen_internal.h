/* kpigen's private parts: the compact event records, the tables, the random source, shared by
 * kpigen.c (the stream: feeds, order, materialising events) and kpigen_life.c (one ticket's
 * life). */
#ifndef HOTLINE_TESTS_KPIGEN_INTERNAL_H
#define HOTLINE_TESTS_KPIGEN_INTERNAL_H

#include "kpigen.h"

#include "calendar.h"

#include <stdbool.h>

enum { SRC_INTAKE, SRC_DISPATCH, SRC_SLA, SRC_CALLBACK, NSRC };

/* What a record becomes (kpigen_event). */
enum {
    K_RECEIVED, K_REPEAT, K_DISPATCHED, K_SIGNED, K_CONTACTED, K_REPLIED, K_REOPENED,
    K_CLOCK_STARTED, K_CLOCK_STOPPED, K_WARNING, K_BREACHED, K_EXTENDED,
    K_SCHEDULED, K_ATTEMPTED, K_RATED, K_REWORK, K_CLOSED, K_ELIGIBILITY, K_RETURN_ASKED,
    K_RETURN_RULED, NKINDS
};

#define F_ON_TIME 0x01  /* SlaClockStopped: in time */
#define F_RESOLVED 0x02 /* CallbackRated, KpiEligibilityChanged: resolved */
#define F_APPROVED 0x04 /* ReturnReviewed: the return approved */
#define NO_UNIT 0xff

/* One event, compact: the stream of a month is millions of these. */
typedef struct gev {
    int64_t time_ms;   /* when its producer appended it */
    int64_t arrive_ms; /* when analytics reads it (its feed may be stalled) */
    int64_t aux_ms;    /* a deadline (clocks, callbacks), or the rating's instant (appeals) */
    uint32_t ticket;   /* index into the tickets */
    uint32_t seq;      /* the generation order until sorted, then the source's own seq */
    uint8_t kind;      /* K_* */
    uint8_t clock;     /* Hotline__SlaClock */
    uint8_t round;
    uint8_t flags;     /* F_* */
    uint8_t rating;    /* Hotline__Rating */
    uint8_t unit;      /* index into the units, NO_UNIT for none */
    uint8_t extra;     /* the attempt's number */
} gev_t;

typedef struct gticket {
    int64_t received_ms;
    uint32_t incident;   /* 0: none; else the incident's number */
    uint32_t day_seq;    /* the id's daily sequence (intake's: 1, 2, ... per local day) */
    uint8_t category;    /* index into the categories */
    uint8_t district;
    uint8_t disposition; /* Hotline__Disposition */
    uint8_t urgency;     /* Hotline__Urgency */
} gticket_t;

typedef struct stall {
    int64_t from_ms, to_ms; /* the feed delivers nothing in [from, to) */
} stall_t;

typedef struct rng {
    uint64_t s;
} rng_t;

uint64_t kpigen_rand(rng_t *r);
double kpigen_unit(rng_t *r);                  /* [0, 1) */
uint32_t kpigen_below(rng_t *r, uint32_t n);   /* [0, n) */
int64_t kpigen_exp_ms(rng_t *r, double mean_ms); /* exponential, at least 1 */

/* Room in *arr (of elem-byte items, *cap of them) for item n: doubled when full (first
 * first_cap). Errors: HL_ENOMEM (the array stays as it was). */
int kpigen_grow(void **arr, size_t *cap, size_t n, size_t elem, size_t first_cap);

/* Tables (kpigen.c). */
#define KPIGEN_NUNITS 20
#define KPIGEN_NCATEGORIES 40
#define KPIGEN_NDISTRICTS 12
#define KPIGEN_DESK 11 /* dispatch-desk: routes by hand */
extern const char *const kpigen_unit_names[KPIGEN_NUNITS];
extern const char *const kpigen_category_codes[KPIGEN_NCATEGORIES];
extern const char *const kpigen_district_names[KPIGEN_NDISTRICTS];
/* The unit the catalogue routes a category to in a district. */
uint8_t kpigen_route(uint8_t category, uint8_t district);

struct kpigen {
    kpigen_opts_t opts;
    calendar_t *cal;
    gev_t *ev;
    size_t n, cap;
    gticket_t *tickets;
    size_t ntickets, tcap;
    uint32_t *day_seq; /* tickets so far per local day (from first_day) */
    int64_t first_day, months_end_day; /* local days: the prologue's first, the day after */
    int64_t from_ms, months_end_ms, horizon_ms;
    stall_t *stalls[NSRC];
    size_t nstalls[NSRC];
    size_t split;
    kpigen_stats_t stats;
    bool oom;   /* an append failed: kpigen_create fails */
    gev_t sink; /* what kpigen_emit hands out for an event it drops */
    struct scratch *scratch; /* the event kpigen_event gives out */
};

/* Draw ticket number idx and append its events (those before the horizon).
 * Errors: HL_ENOMEM. */
int kpigen_life(kpigen_t *g, uint32_t idx);

/* Append a record of kind at t for the ticket, for the caller to fill in. An event at or past
 * the horizon has not happened yet: it is dropped, and so is one that finds no memory (oom is
 * set); the caller then fills the sink. kpigen_kept says which. */
gev_t *kpigen_emit(kpigen_t *g, uint32_t ticket, int kind, int64_t t);
bool kpigen_kept(const kpigen_t *g, const gev_t *e);

#endif
