/* hclock: real or settable wall clock. Loop thread. */
#include "hclock.h"

#include "hl_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define HCLOCK_MAX_LISTENERS 8

struct hclock {
    bool settable;
    int64_t offset_ms; /* added to the real time; moves only on a settable clock */
    struct {
        hclock_moved_fn fn;
        void *ctx;
    } listeners[HCLOCK_MAX_LISTENERS];
    int nlisteners;
};

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hclock_create(hclock_t **out, bool settable)
{
    hclock_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->settable = settable;
    *out = self;
    return 0;
}

void hclock_destroy(hclock_t **self)
{
    if (!self || !*self)
        return;
    free(*self);
    *self = NULL;
}

int64_t hclock_now_ms(const hclock_t *self)
{
    return real_now_ms() + (self ? self->offset_ms : 0);
}

bool hclock_settable(const hclock_t *self)
{
    return self->settable;
}

static void notify(hclock_t *self)
{
    for (int i = 0; i < self->nlisteners; i++)
        self->listeners[i].fn(self->listeners[i].ctx);
}

int hclock_set_ms(hclock_t *self, int64_t now_ms)
{
    if (!self->settable)
        return HL_ECONFLICT;
    self->offset_ms = now_ms - real_now_ms();
    notify(self);
    return 0;
}

int hclock_advance_ms(hclock_t *self, int64_t delta_ms)
{
    if (!self->settable)
        return HL_ECONFLICT;
    self->offset_ms += delta_ms;
    notify(self);
    return 0;
}

int hclock_listen(hclock_t *self, hclock_moved_fn fn, void *ctx)
{
    if (self->nlisteners == HCLOCK_MAX_LISTENERS)
        return HL_ETOOBIG;
    self->listeners[self->nlisteners].fn = fn;
    self->listeners[self->nlisteners].ctx = ctx;
    self->nlisteners++;
    return 0;
}

void hclock_unlisten(hclock_t *self, hclock_moved_fn fn, void *ctx)
{
    for (int i = 0; i < self->nlisteners; i++) {
        if (self->listeners[i].fn == fn && self->listeners[i].ctx == ctx) {
            self->listeners[i] = self->listeners[--self->nlisteners];
            return;
        }
    }
}

uint64_t hclock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hclock_format_utc(int64_t ms, char *out, unsigned out_size)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int millis = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}
