/* hclock: the one source of "now" in a service.
 *
 * A real clock reads CLOCK_REALTIME. A settable clock (services started with --test-clock)
 * runs at real speed from an offset that tests move with hclock_set_ms / hclock_advance_ms, so
 * a test can cross a five-working-day deadline in milliseconds. Listeners hear about every
 * move, so timers derived from the clock can be re-armed.
 *
 * Loop thread only, except hclock_mono_ns which is a free function. */
#ifndef HOTLINE_HCLOCK_H
#define HOTLINE_HCLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct hclock hclock_t;
typedef void (*hclock_moved_fn)(void *ctx);

int hclock_create(hclock_t **out, bool settable);
void hclock_destroy(hclock_t **self);

/* UTC milliseconds since the epoch, as this service sees it. */
int64_t hclock_now_ms(const hclock_t *self);
bool hclock_settable(const hclock_t *self);

/* Move a settable clock. HL_ECONFLICT for a real clock. Listeners are called after the move. */
int hclock_set_ms(hclock_t *self, int64_t now_ms);
int hclock_advance_ms(hclock_t *self, int64_t delta_ms);

/* Be told when the clock is moved (at most 8 listeners). */
int hclock_listen(hclock_t *self, hclock_moved_fn fn, void *ctx);
/* Stop telling fn / ctx (a listener about to be freed). Unknown pairs are ignored. */
void hclock_unlisten(hclock_t *self, hclock_moved_fn fn, void *ctx);

/* Monotonic nanoseconds, for latencies and timeouts. */
uint64_t hclock_mono_ns(void);

/* Format UTC milliseconds as RFC 3339 ("2026-11-25T08:00:00.000Z") into out (>= 32 bytes). */
void hclock_format_utc(int64_t ms, char *out, unsigned out_size);

#endif
