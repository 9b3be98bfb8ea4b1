/* sla_record: the clock record's layout and the helpers that sla_store.c (start, stop),
 * sla_move.c (extend, pause, resume), sla_fire.c (the ladder's steps) and sla_views.c (JSON)
 * share. Private to services/sla. Loop thread.
 *
 * Clock record (value of sla_clocks), version 2: [0] version (2)  [1] flags (SLA_F_*)  [2] ladder
 *   flags (SLA_L_*)  [3] the step on the scheduler (SLA_STEP_*, 0: none)  [4] the clock
 *   (hotline.SlaClock)  [5] what follows (REC_HAS_*: bits 0-3 warn, reminder, red card,
 *   supervision instants present) then varints: round, start_ms, stopped_ms (while paused:
 *   when it paused; 0 while running), due_ms, the present instants of bits 0-3 and, with
 *   REC_HAS_PENDING_AT, when the pending step is on the scheduler (else at its instant,
 *   sla_step_at), each as zigzag(instant - start_ms); the limit's unit, value and anchor; the
 *   policy table's edition; then policy, unit and category as varint length + bytes, and with
 *   REC_HAS_LIMIT_TEXT the limit's text (else it is made from the numbers).
 * The scheduler keeps no id index for sla (caller_keeps_due). REC_ON_ROUND: the pending step
 * is on its round's entry (id ticket \0 round), due at the earliest pending_at of the round's
 * clocks so marked (sla_round_keys), cancelled there. Without it (an older release's record) the
 * step has an entry of its own (id ticket \0 clock round step), cancelled at the instant the
 * record says, or with REC_HAS_PENDING_BY_ID (put by a release that kept an id index) by id.
 * Version 1 (still read; written back as version 2 or 3 when it changes): [0] 1, [1..3] as above,
 *   [4..12) start_ms BE64  [12..20) stopped_ms BE64  [20..) packed hotline.SlaClockStarted.
 *   Records of the first release have 0 in [2] and [3] and both their warning and breach on
 *   the scheduler: they run as before. */
/* Ticket record (value of sla_tickets, key the ticket id), version 3: the ticket's latest
 * round, what a rework round needs to pick its policy again (the dispatch's unit, category,
 * urgency, appeal type and channel), and that round's clocks, the fields they share (start,
 * policy and its edition, unit, category) once: [0] 0 (the value before it, a packed
 * hotline.TicketDispatched, never begins with 0) [1] 3 [2] TREC_INPUTS (the dispatch was seen),
 * TREC_SAME_STRS (the shared unit and category are the dispatch's); varints: round; with
 * TREC_INPUTS urgency, appeal type, channel, unit, category; the number of clocks; with clocks
 * the shared start_ms, policy edition, policy, and without TREC_SAME_STRS unit and category;
 * then per clock, by kind: [clock][flags][ladder flags][pending step][has: bits 0-4 as
 * version 2's, TREC_C_*], with TREC_C_OWN_START its start_ms, 0 or 1 then when it stopped (or
 * paused) from its start, its due from its start, the other instants of version 2 from its due
 * (zigzag(minutes) << 1 | 1 when a whole number of minutes, else zigzag(ms) << 1), limit unit,
 * value and anchor, with
 * TREC_C_OWN_STRS its policy edition, policy, unit and category, with TREC_C_LIMIT_TEXT the
 * limit's text. Every clock in it has its pending step on its round's entry.
 * Older rounds' clocks (a rework round moved them out) are version-2 records in sla_clocks, as
 * are the clocks of the releases before this one until they change with none left on an entry
 * of its own; a ticket record of those releases (a packed TicketDispatched) is read as the
 * inputs alone and rewritten as version 3 when the round's clocks are. */
#ifndef HOTLINE_SLA_RECORD_H
#define HOTLINE_SLA_RECORD_H

#include "sla_internal.h"

#include "bytes.h"

#include <stdio.h>

/* SUSPENDED: stopped without a verdict because the ticket joined an incident (its reply is
 * judged by the incident's clock: sla_incident.c); an unlink starts the round's clocks afresh. */
/* PAUSED: the ticket is on hold; [12..20) holds when it paused, nothing is on the scheduler. */
enum { SLA_F_STOPPED = 1, SLA_F_ON_TIME = 2, SLA_F_WARNED = 4, SLA_F_BREACHED = 8,
       SLA_F_SUSPENDED = 16, SLA_F_PAUSED = 32, SLA_F_DUE_ROUND = 64 };
/* SLA_F_DUE_ROUND: the clock's due is in sla_due under its round's key (due_on_round). */
enum { SLA_L_REMINDED = 1, SLA_L_RED = 2, SLA_L_SUPERVISED = 4 };

#define REC_VERSION 2
#define REC_VERSION_1 1
#define REC_V1_HEADER 20
#define REC_V2_HEADER 6
enum { REC_HAS_PENDING_AT = 16, REC_HAS_PENDING_BY_ID = 32, REC_HAS_LIMIT_TEXT = 64,
       REC_ON_ROUND = 128 };
#define REC_MAX 1024 /* strings are bounded (sla_clock_t), so a record always fits */
#define KEY_MAX (8 + SLA_TICKET_ID_MAX + 1 + 4 + 1) /* the largest key: sla_due's */
#define STEP_TAIL (1 + 4 + 1)                        /* a step id after ticket \0 */
#define TREC_VERSION 3
enum { TREC_INPUTS = 1, TREC_SAME_STRS = 2 };
enum { TREC_C_LIMIT_TEXT = 32, TREC_C_OWN_START = 64, TREC_C_OWN_STRS = 128 };
#define SLA_ROUND_MAX 4 /* clocks a round can have: sign, reply, response, callback */
#define TREC_MAX (512 + SLA_ROUND_MAX * REC_MAX)

/* What a rework round needs (the dispatch's inputs), kept per ticket. */
typedef struct sla_inputs {
    bool known; /* sla saw the ticket dispatched */
    uint32_t round;
    Hotline__Urgency urgency;
    Hotline__AppealType appeal_type;
    Hotline__Channel channel;
    char unit[129];
    char category[65];
} sla_inputs_t;

/* A ticket record decoded: its inputs, its latest round and that round's clocks (by kind). */
typedef struct sla_ticket_rec {
    sla_inputs_t in;
    uint32_t round;
    size_t n;
    sla_clock_t c[SLA_ROUND_MAX];
} sla_ticket_rec_t;

size_t sla_ticket_encode(const sla_ticket_rec_t *t, uint8_t *out);
bool sla_ticket_is_v3(const MDB_val *v);
/* Without clocks: the inputs and round alone (n 0). */
int sla_ticket_decode(const MDB_val *v, sla_ticket_rec_t *t, bool clocks);

/* One round of a ticket as stored, loaded to be read and changed in memory and saved. */
typedef struct sla_round {
    const char *ticket;
    uint32_t round;
    bool found;  /* the ticket has a record (either form) */
    bool v3;     /* the record is version 3 */
    bool latest; /* round is the ticket's latest: its clocks go in the ticket record */
    bool rows;   /* its clocks were read from sla_clocks */
    unsigned waiting; /* its clocks with a step waiting, as stored (sla_clock_waiting) */
    sla_ticket_rec_t t; /* the record (t.c: its clocks, of round t.round) */
    size_t n;
    sla_clock_t c[SLA_ROUND_MAX]; /* this round's clocks, by kind */
} sla_round_t;

/* sla_round.c */
int sla_round_load(sla_t *self, MDB_txn *txn, const char *ticket, uint32_t round,
                   sla_round_t *r);
/* Write r back: into the ticket record when it is the latest round and none of its clocks
 * has an entry of its own (an older release's), else as version-2 records in sla_clocks. */
int sla_round_save(sla_t *self, MDB_txn *txn, sla_round_t *r);
sla_clock_t *sla_round_clock(sla_round_t *r, Hotline__SlaClock clock);
/* Load ticket's round and find its clock there (*c points into r): HL_ENOTFOUND when it has
 * none, or the ticket id is not one sla keeps. */
int sla_round_clock_load(sla_t *self, MDB_txn *txn, const char *ticket, uint32_t round,
                         Hotline__SlaClock clock, sla_round_t *r, sla_clock_t **c);
/* A slot for a new clock of that kind, in order (the round holds none of it yet). */
sla_clock_t *sla_round_add(sla_round_t *r, Hotline__SlaClock clock);
/* Drop a clock (its record goes at the save). */
int sla_round_drop(sla_t *self, MDB_txn *txn, sla_round_t *r, Hotline__SlaClock clock);
/* A clock has a ladder step waiting on the scheduler (on its round's entry or, an older
 * release's, an entry of its own): what hotline_sched_pending_sla_steps counts, kept in
 * sla_meta "steps.waiting" by sla_round_save (the change from what sla_round_load read). */
bool sla_clock_waiting(const sla_clock_t *c);
/* The same count made from every stored record (sla_waiting_open; tests). */
int sla_waiting_scan(sla_t *self, MDB_txn *txn, uint64_t *n);
/* The earliest instant the round's clocks expect its entry at (0: none). */
int64_t sla_round_entry_at(const sla_round_t *r);
/* The inputs kept for ticket (known false when none). */
int sla_inputs_get(sla_t *self, MDB_txn *txn, const char *ticket, sla_inputs_t *out);
/* A clock as a version-2 record (REC_MAX bytes); its length. */
size_t sla_record_encode(const sla_clock_t *c, uint8_t *out);


static inline void sla_copy_str(char *dst, size_t size, const char *src)
{
    str_copy(dst, size, src);
}

static inline uint32_t sla_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Keys: ticket \0 round clock (sla_clocks); due_ms ticket \0 round clock (sla_due, a clock of
 * the releases before); due_ms ticket \0 round (sla_due, a round). */
size_t sla_clock_key(uint8_t *out, const char *ticket, uint32_t round, Hotline__SlaClock c);
size_t sla_due_key(uint8_t *out, int64_t due_ms, const char *ticket, uint32_t round,
                   Hotline__SlaClock c);
/* The ticket id inside a key at off, NUL-terminated by construction; its length or -1. */
long sla_key_ticket(const MDB_val *k, size_t off, size_t tail);

/* A stored record (either version) decoded. The limit's text is left empty when the record
 * has the limit as numbers: sla_limit_text makes it (the text, in buf or the clock's own). */
const char *sla_limit_text(const sla_clock_t *c, char *buf, size_t size);
int sla_record_decode(const MDB_val *v, sla_clock_t *out);
/* A change to a stored record. */
typedef struct rec_change {
    uint8_t flags;      /* SLA_F_* to add */
    uint8_t ladder;     /* SLA_L_* to add */
    int pending;        /* the step now on the scheduler (0: none), or -1: unchanged */
    int64_t pending_at_ms; /* when it is due there, when not at its instant (held back) */
    int64_t stopped_ms; /* with SLA_F_STOPPED or SLA_F_PAUSED: when */
} sla_rec_change_t;
/* The change ch made to c in memory. */
void sla_rec_apply(sla_clock_t *c, const sla_rec_change_t *ch);

/* The scheduler. A clock's next step set as pending on its round's entry (c->pending, 0:
 * none left). What an older release put for a clock cancelled (nothing for one on_round). */
void sla_next_set(sla_clock_t *c);
int sla_pending_cancel(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c);
/* Where a round's keys are: its scheduler entry's instant and its sla_due key's due (0: none),
 * as its clocks say; moved from was to where they say now, in the caller's transaction. */
typedef struct sla_round_keys {
    int64_t step_at, due_at;
} sla_round_keys_t;
struct sla_round;
void sla_round_keys(const struct sla_round *r, sla_round_keys_t *out);
int sla_round_keys_move(sla_t *self, MDB_txn *txn, const struct sla_round *r,
                        const sla_round_keys_t *was);
/* A running clock's own sla_due key (an older release's) deleted; nothing for one under its
 * round's key. */
int sla_due_own_del(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c);
/* The due a running clock (not paused) has under its round's key (0: none). */
int64_t sla_clock_due_at(const sla_clock_t *c);
/* The instant a clock of a round expects the round's entry at (0: none). */
int64_t sla_clock_entry_at(const sla_clock_t *c);
/* A round's entry id: ticket \0 round(BE32), the prefix of its clocks' keys. */
size_t sla_round_id(uint8_t *out, const char *ticket, uint32_t round);
#define ROUND_TAIL 4 /* a round id after ticket \0 */
/* A running clock c of the loaded round r off the scheduler and the due view, changed by ch;
 * r saved and its keys moved. */
int sla_take_off(sla_t *self, MDB_txn *txn, struct sla_round *r, sla_clock_t *c,
                 const sla_rec_change_t *ch);

/* The event of one step of c: SlaWarning (yellow card), SlaBreached (overdue), else
 * SlaEscalated (its at_ms: the step's planned instant, sla_step_at). */
int sla_step_event(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c, int step);

#endif
