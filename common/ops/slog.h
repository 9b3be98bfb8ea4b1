/* slog: structured logging, one line per event, key=value, to stderr.
 *
 * A line reads:  2026-11-25T08:40:39.123Z level=info service=intake event=commit_failed rc=...
 * Levels: error = the service cannot do what it was asked and a person should look;
 *         warn  = something went wrong and was handled (retry, refusal, reconnect);
 *         info  = life-cycle and rare business events (start, stop, catch-up done);
 *         debug = per-request detail, off by default.
 * The level is checked before anything is formatted (SLOG_* macros).
 *
 * Phone numbers never reach the log: every value is passed through mask_phones(), except
 * values of keys that hold counters (seq, *_ms, bytes, ...), see slog.c.
 *
 * Free text (a reason, a message, a name someone typed) goes in as SLOG_Q(text), never as
 * key="%s": slog quotes and escapes it (slog_quote), so a quote or a newline in the text cannot
 * end the value or the line, and a reader (or a parser) always sees one event per line.
 *
 * The logger is the one piece of process-wide state: it is set once by service_main() (or a
 * test) before any loop runs, and is only read afterwards. Thread-safe for writing. */
#ifndef HOTLINE_SLOG_H
#define HOTLINE_SLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SLOG_ERROR = 0, SLOG_WARN = 1, SLOG_INFO = 2, SLOG_DEBUG = 3 } slog_level_t;

/* Set the service name written on every line and the most verbose level written. */
void slog_init(const char *service, slog_level_t level);

/* Parse "error" / "warn" / "info" / "debug". Returns 0 or HL_EINVAL. */
int slog_level_parse(const char *text, slog_level_t *out);

bool slog_enabled(slog_level_t level);

/* Write one line: event is a short snake_case name; fmt adds key=value pairs. */
void slog_write(slog_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Room for one quoted value, quotes included: a longer value is cut, so one value cannot push
 * the other pairs off the line (a line holds 4 KiB). */
#define SLOG_QUOTE_MAX 512

/* Write value into out as one log value: in double quotes, with '"' and '\' escaped by a
 * backslash, newline, carriage return and tab as \n \r \t, every other control byte (and DEL)
 * as \xHH, and every other byte (UTF-8 text) as it is. A value that does not fit is cut at a
 * character boundary and ends in "..." inside the quotes. value NULL is written as "". Returns
 * out; an out_size below 8 gets the empty string. Pure; any thread. */
const char *slog_quote(char *out, size_t out_size, const char *value);

/* slog_quote into a buffer of its own that lives until the end of the enclosing block (a
 * compound literal), for the arguments of one SLOG_* call:
 *     SLOG_WARN("feed_fetch_refused", "producer=%s reason=%s", name, SLOG_Q(message));  */
#define SLOG_Q(value) slog_quote((char[SLOG_QUOTE_MAX]){0}, SLOG_QUOTE_MAX, (value))

/* Mask phone numbers in the values of a log line in place, with mask_phones() (common/mask.h):
 * 13812345678 -> 138****5678, "+86 138 0013 8000" -> "+86 138 **** 8000". Values of counter
 * keys (seq, *_ms, bytes, ...) are left alone. A value in double quotes (slog_quote) ends at
 * its closing quote, so text inside it that looks like " seq=..." is masked as text, not taken
 * for a counter. Returns the number of numbers masked. */
size_t slog_mask_phones(char *text);

/* A line at most once per interval, for events an outsider can cause at will (refused keys,
 * refused clients): slog_limit_pass says whether this one may be written and, when it may,
 * how many were held back since the last (to put on the line). One per event kind, in the
 * owner's state; loop thread. */
typedef struct slog_limit {
    int64_t last_ms;
    uint64_t held;
} slog_limit_t;
bool slog_limit_pass(slog_limit_t *l, int64_t now_ms, int64_t every_ms, uint64_t *held_back);

#define SLOG_(lvl, event, ...)                                                                  \
    do {                                                                                        \
        if (slog_enabled(lvl))                                                                  \
            slog_write(lvl, event, __VA_ARGS__);                                                \
    } while (0)
#define SLOG_ERROR(event, ...) SLOG_(SLOG_ERROR, event, __VA_ARGS__)
#define SLOG_WARN(event, ...) SLOG_(SLOG_WARN, event, __VA_ARGS__)
#define SLOG_INFO(event, ...) SLOG_(SLOG_INFO, event, __VA_ARGS__)
#define SLOG_DEBUG(event, ...) SLOG_(SLOG_DEBUG, event, __VA_ARGS__)

#endif
