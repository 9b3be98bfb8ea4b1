/* sla_move: a running clock's deadline and every step not yet given move: by the working days
 * of an approved extension, or by a hold (paused, then resumed by the working days or the
 * length the hold took). Each inside the caller's write transaction, with its event. */
#include "sla_record.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

/* How far a clock's steps move: by working days (an extension; a pause of a working-day limit)
 * or by a duration (a pause of any other limit). */
typedef struct shift {
    uint32_t working_days;
    int64_t ms;
} shift_t;

/* x moved by the shift when it is a step still to give, else as it was. */
static int64_t moved(const calendar_t *cal, int64_t x, bool given, const shift_t *sh)
{
    if (!x || given)
        return x;
    if (!sh->working_days)
        return x + sh->ms;
    /* The same time of day, so a yellow card 4 hours before the end of the day stays 4 hours
     * before the moved deadline. */
    return calendar_shift_working_days(cal, x, sh->working_days);
}

/* Move a clock's deadline and every step not yet given by sh, and write it back: record, the
 * round's due key and entry (none for it while it stays paused). clear takes flags off
 * (SLA_F_PAUSED on a resume). before / after: the clock around the change. HL_ENOTFOUND (no
 * such clock), HL_ECONFLICT (it has stopped). */
static int reschedule(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                      Hotline__SlaClock clock, const shift_t *sh, uint8_t clear,
                      sla_clock_t *before, sla_clock_t *after)
{
    sla_round_t r;
    sla_clock_t *slot;
    int rc = sla_round_clock_load(self, txn, ticket_id, round, clock, &r, &slot);
    if (rc)
        return rc;
    *before = *slot;
    if (before->stopped)
        return HL_ECONFLICT;
    const sla_clock_t *c = before;
    sla_clock_t *m = after;
    *m = *c;
    m->due_ms = moved(self->cal, c->due_ms, false, sh);
    m->warn_ms = moved(self->cal, c->warn_ms, c->warned, sh);
    m->reminder_ms = moved(self->cal, c->reminder_ms, c->reminded, sh);
    m->red_ms = moved(self->cal, c->red_ms, c->red, sh);
    m->supervision_ms = moved(self->cal, c->supervision_ms, c->supervised, sh);
    m->paused = c->paused && !(clear & SLA_F_PAUSED);
    if (!m->paused)
        m->paused_ms = 0;
    sla_round_keys_t was;
    sla_round_keys(&r, &was);
    rc = sla_pending_cancel(self, txn, ticket_id, c);
    /* A clock of the releases before leaves its own due key: it joins its round's. */
    if (!rc)
        rc = sla_due_own_del(self, txn, ticket_id, c);
    sla_next_set(m); /* none while it stays paused */
    m->due_on_round = true;
    *slot = *m;
    if (!rc)
        rc = sla_round_save(self, txn, &r);
    if (!rc)
        rc = sla_round_keys_move(self, txn, &r, &was);
    if (!rc)
        self->dirty = true;
    return rc;
}

int sla_store_extend(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                     Hotline__SlaClock clock, uint32_t working_days)
{
    /* The steps not yet given move by the same working days (so none lands on a weekend);
     * those given stay in the log. A breach already raised stays too, and the clock's verdict
     * follows the new deadline. */
    shift_t sh = {.working_days = working_days};
    sla_clock_t c, m;
    int rc = reschedule(self, txn, ticket_id, round, clock, &sh, 0, &c, &m);
    if (rc)
        return rc;
    Hotline__SlaClockExtended x = HOTLINE__SLA_CLOCK_EXTENDED__INIT;
    x.clock = clock;
    x.round = round;
    x.old_due_ms = c.due_ms;
    x.due_ms = m.due_ms;
    x.warn_ms = c.warned ? 0 : m.warn_ms;
    x.reminder_ms = c.reminded ? 0 : m.reminder_ms;
    x.red_ms = c.red ? 0 : m.red_ms;
    x.supervision_ms = c.supervised ? 0 : m.supervision_ms;
    x.working_days = working_days;
    x.unit = c.unit;
    return evlog_append_body(self->log, txn, ticket_id, HOTLINE__EVENT__BODY_SLA_CLOCK_EXTENDED,
                             &x);
}

/* ---- pause ---- */

int sla_store_pause(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                    Hotline__SlaClock clock, int64_t at_ms)
{
    sla_round_t r;
    sla_clock_t *c;
    int rc = sla_round_clock_load(self, txn, ticket_id, round, clock, &r, &c);
    if (rc)
        return rc;
    if (c->stopped || c->paused)
        return 0; /* nothing runs, or paused already */
    sla_rec_change_t ch = {.flags = SLA_F_PAUSED, .pending = 0, .stopped_ms = at_ms};
    rc = sla_take_off(self, txn, &r, c, &ch);
    if (rc)
        return rc;
    self->dirty = true;
    Hotline__SlaClockPaused p = HOTLINE__SLA_CLOCK_PAUSED__INIT;
    p.clock = clock;
    p.round = round;
    p.due_ms = c->due_ms;
    p.unit = c->unit;
    return evlog_append_body(self->log, txn, ticket_id, HOTLINE__EVENT__BODY_SLA_CLOCK_PAUSED,
                             &p);
}

static bool working_day_limit(const sla_clock_t *c)
{
    if (c->limit_unit)
        return c->limit_unit == HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS;
    return strstr(c->limit, "working day") != NULL; /* a clock of the first release */
}

int sla_store_resume(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                     Hotline__SlaClock clock, int64_t at_ms)
{
    sla_clock_t c;
    int rc = sla_clock_get(self, txn, ticket_id, round, clock, &c);
    if (rc)
        return rc;
    if (c.stopped || !c.paused)
        return 0;
    /* A working-day limit moves by the working days the pause took (from the day it began up
     * to the day it ended, that one not counted: a pause within one day moves nothing); any
     * other limit by the pause's length. */
    shift_t sh = {0};
    int64_t at = at_ms > c.paused_ms ? at_ms : c.paused_ms;
    if (working_day_limit(&c))
        sh.working_days = calendar_working_days_between(
            self->cal, calendar_local_day(self->cal, c.paused_ms),
            calendar_local_day(self->cal, at));
    else
        sh.ms = at - c.paused_ms;
    sla_clock_t before, m;
    if ((rc = reschedule(self, txn, ticket_id, round, clock, &sh, SLA_F_PAUSED, &before, &m)))
        return rc;
    Hotline__SlaClockResumed r = HOTLINE__SLA_CLOCK_RESUMED__INIT;
    r.clock = clock;
    r.round = round;
    r.paused_ms = c.paused_ms;
    r.old_due_ms = c.due_ms;
    r.due_ms = m.due_ms;
    r.working_days = sh.working_days;
    r.shift_ms = sh.ms;
    r.unit = c.unit;
    return evlog_append_body(self->log, txn, ticket_id, HOTLINE__EVENT__BODY_SLA_CLOCK_RESUMED,
                             &r);
}

