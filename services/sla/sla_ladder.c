/* sla_ladder: the escalation ladder of a clock. Which steps a clock has and when (its plan, fixed
 * when the clock starts and moved by an extension), which one is next, and what each is called.
 * The steps run one at a time: a clock holds at most one scheduler entry, its next step, and
 * firing a step puts the one after it (sla_store.c). Pure functions.
 *
 * Order: reminder, yellow card, overdue, red card, supervision notice. Instants never go
 * backwards along it: a reminder that would fall at or after the yellow card is dropped. */
#include "sla_internal.h"

#include "hl_error.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_REMINDER_PERCENT 50

static const Hotline__Limit ONE_WORKING_DAY = {
    PROTOBUF_C_MESSAGE_INIT(&hotline__limit__descriptor), 1,
    HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS, HOTLINE__LIMIT_ANCHOR__ANCHOR_FROM_START};

/* The steps in firing order, with the flag that says each was given. */
static const struct {
    int step;
    Hotline__SlaStep kind;
    const char *label;
} STEPS[] = {
    {SLA_STEP_REMIND, HOTLINE__SLA_STEP__SLA_STEP_REMINDER, "reminder"},
    {SLA_STEP_WARN, HOTLINE__SLA_STEP__SLA_STEP_YELLOW_CARD, "yellow card"},
    {SLA_STEP_BREACH, HOTLINE__SLA_STEP__SLA_STEP_OVERDUE, "overdue"},
    {SLA_STEP_RED, HOTLINE__SLA_STEP__SLA_STEP_RED_CARD, "red card"},
    {SLA_STEP_SUPERVISE, HOTLINE__SLA_STEP__SLA_STEP_SUPERVISION, "supervision notice"},
};
#define NSTEPS (sizeof STEPS / sizeof STEPS[0])

static bool set(const Hotline__Limit *l)
{
    return l && l->value > 0 && l->unit != HOTLINE__DURATION_UNIT__DURATION_UNIT_UNSPECIFIED;
}

void sla_ladder_effective(const Hotline__SlaConfig *cfg, const Hotline__SlaPolicy *p,
                          sla_ladder_t *out)
{
    const Hotline__SlaLadder *own = p ? p->ladder : NULL, *all = cfg ? cfg->ladder : NULL;
    uint32_t pct = own && own->reminder_percent ? own->reminder_percent
                   : all && all->reminder_percent ? all->reminder_percent
                                                  : DEFAULT_REMINDER_PERCENT;
    out->reminder_percent = pct >= 100 ? 0 : pct;
    out->red_after = own && set(own->red_after)   ? *own->red_after
                     : all && set(all->red_after) ? *all->red_after
                                                  : ONE_WORKING_DAY;
    out->supervision_after = own && set(own->supervision_after) ? *own->supervision_after
                             : all && set(all->supervision_after) ? *all->supervision_after
                                                                  : ONE_WORKING_DAY;
}

int sla_ladder_validate(const Hotline__SlaLadder *l, const char *key, char *err,
                        size_t err_size)
{
    if (!l)
        return 0;
    if (l->reminder_percent > 100) {
        snprintf(err, err_size, "%s.reminderPercent: %u is over 100 (1..99: the share of the "
                 "limit after which the reminder goes; 100: no reminder; 0: the default, 50)",
                 key, l->reminder_percent);
        return HL_EINVAL;
    }
    const Hotline__Limit *lims[2] = {l->red_after, l->supervision_after};
    static const char *const names[2] = {"redAfter", "supervisionAfter"};
    for (int i = 0; i < 2; i++) {
        const Hotline__Limit *x = lims[i];
        if (!x || (x->value == 0 && x->unit == HOTLINE__DURATION_UNIT__DURATION_UNIT_UNSPECIFIED))
            continue; /* absent: the default */
        if (x->value == 0 || x->unit < HOTLINE__DURATION_UNIT__DURATION_MINUTES ||
            x->unit > HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS) {
            snprintf(err, err_size, "%s.%s: needs a value of at least 1 and a unit, one of "
                     "DURATION_MINUTES, DURATION_HOURS, DURATION_NATURAL_DAYS, "
                     "DURATION_WORKING_DAYS", key, names[i]);
            return HL_EINVAL;
        }
        if (x->value > 3650) {
            snprintf(err, err_size, "%s.%s.value: %u is too long (at most 3650)", key, names[i],
                     x->value);
            return HL_EINVAL;
        }
    }
    return 0;
}

/* The reminder's instant: for a limit in working days, the end of the working day that share of
 * the limit reaches (half of 5 working days: the end of the 2nd), so that it never falls on a
 * day off; else that share of the time from start to due. 0: too early to mean anything. */
static int64_t reminder_at(const calendar_t *cal, const Hotline__Limit *limit, uint32_t pct,
                           int64_t start_ms, int64_t due_ms)
{
    if (limit && limit->unit == HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS) {
        Hotline__Limit part = *limit;
        part.value = limit->value * pct / 100;
        int64_t r;
        return part.value && calendar_add(cal, start_ms, &part, &r) == 0 ? r : 0;
    }
    return start_ms + (due_ms - start_ms) * (int64_t)pct / 100;
}

void sla_ladder_plan(const calendar_t *cal, const sla_ladder_t *l, const Hotline__Limit *limit,
                     int64_t start_ms, int64_t due_ms, int64_t warn_ms, sla_plan_t *out)
{
    memset(out, 0, sizeof *out);
    if (l->reminder_percent) {
        int64_t r = reminder_at(cal, limit, l->reminder_percent, start_ms, due_ms);
        int64_t before = warn_ms ? warn_ms : due_ms;
        if (r > start_ms && r < before)
            out->reminder_ms = r;
    }
    int64_t red;
    if (calendar_add(cal, due_ms, &l->red_after, &red) == 0 && red > due_ms) {
        out->red_ms = red;
        int64_t sup;
        if (calendar_add(cal, red, &l->supervision_after, &sup) == 0 && sup > red)
            out->supervision_ms = sup;
    }
}

int64_t sla_step_at(const sla_clock_t *c, int step)
{
    switch (step) {
    case SLA_STEP_REMIND: return c->reminder_ms;
    case SLA_STEP_WARN: return c->warn_ms;
    case SLA_STEP_BREACH: return c->due_ms;
    case SLA_STEP_RED: return c->red_ms;
    case SLA_STEP_SUPERVISE: return c->supervision_ms;
    default: return 0;
    }
}

bool sla_step_given(const sla_clock_t *c, int step)
{
    switch (step) {
    case SLA_STEP_REMIND: return c->reminded;
    case SLA_STEP_WARN: return c->warned;
    case SLA_STEP_BREACH: return c->breached;
    case SLA_STEP_RED: return c->red;
    case SLA_STEP_SUPERVISE: return c->supervised;
    default: return true;
    }
}

int sla_ladder_next(const sla_clock_t *c)
{
    if (c->stopped)
        return 0;
    for (size_t i = 0; i < NSTEPS; i++) {
        int s = STEPS[i].step;
        if (!sla_step_given(c, s) && sla_step_at(c, s) != 0)
            return s;
    }
    return 0;
}

Hotline__SlaStep sla_step_kind(int step)
{
    for (size_t i = 0; i < NSTEPS; i++)
        if (STEPS[i].step == step)
            return STEPS[i].kind;
    return HOTLINE__SLA_STEP__SLA_STEP_UNSPECIFIED;
}

const char *sla_step_label(int step)
{
    for (size_t i = 0; i < NSTEPS; i++)
        if (STEPS[i].step == step)
            return STEPS[i].label;
    return "unknown";
}
