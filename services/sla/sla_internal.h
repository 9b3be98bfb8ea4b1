/* sla's private parts, shared by its own files only. */
#ifndef HOTLINE_SLA_INTERNAL_H
#define HOTLINE_SLA_INTERNAL_H

#include "sla.h"

/* What a pending timer entry fires. Sorted after the clock and round in the key, so the warning
 * and the breach of one clock are two entries. */
enum { SLA_FIRE_WARN = 1, SLA_FIRE_BREACH = 2 };

#define SLA_FIRE_PER_PASS 5000 /* entries per timer pass: one pass never holds the writer long */

struct sla {
    store_t *store;
    evlog_t *log;
    hclock_t *clock;
    const Hotline__SlaConfig *cfg; /* borrowed from the service configuration */
    calendar_t *cal;
    MDB_dbi clocks, tickets, timers, due, meta;

    /* Timer machinery (sla_timer.c); unused until sla_start. */
    uv_loop_t *loop;
    service_t *svc;        /* when set, txq and metrics are fetched from it on each use */
    txq_t *txq;            /* otherwise these (tests) */
    metrics_t *metrics;
    uv_timer_t timer;      /* armed for the earliest pending entry; unref'd */
    bool timer_open;       /* uv_timer_init done and not closed */
    txq_item_t fire_item;  /* the one timer pass in flight */
    bool fire_busy;        /* fire_item is queued */
    bool fire_more;        /* the last pass stopped at its cap: run again at once */
    bool index_dirty;      /* a transaction touched sla_timers: re-arm after the commit */
    bool counts_dirty;     /* running counts changed: refresh the gauges after the commit */
    metric_t *m_running;   /* hotline_sla_running_clocks{clock} */
    metric_t *m_pending;   /* hotline_sla_pending_timers */
};

/* sla_store.c: the clock life cycle inside a write transaction. */
typedef struct sla_round_in {
    const char *ticket_id;
    uint32_t round;
    int64_t start_ms;
    const char *unit;
    const char *category;
    Hotline__Urgency urgency;
} sla_round_in_t;

/* Start the SIGN and REPLY clocks of a round (each only if not started before). */
int sla_store_start_round(sla_t *self, MDB_txn *txn, const sla_round_in_t *in);
/* Stop one clock at at_ms if it is running; HL_ENOTFOUND when there is no such clock. */
int sla_store_stop(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                   Hotline__SlaClock clock, int64_t at_ms);

/* "SIGN" / "REPLY" -> label values "sign" / "reply". */
const char *sla_clock_label(Hotline__SlaClock clock);
/* The enum value name, "SLA_CLOCK_SIGN". */
const char *sla_clock_name(Hotline__SlaClock clock);

#endif
