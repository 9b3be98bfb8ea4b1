/* utf8: the one UTF-8 validator (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), for every module that checks or cleans text from outside. Pure; any thread. */
#ifndef HOTLINE_UTF8_H
#define HOTLINE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1 to 4) of the valid sequence at s, reading at most avail bytes, and its code point
 * in *cp (may be NULL); 0 when the bytes at s start no valid sequence. */
size_t utf8_seq(const unsigned char *s, size_t avail, uint32_t *cp);

/* True when len bytes at s are valid UTF-8. */
bool utf8_valid(const char *s, size_t len);

/* Drop a sequence cut short at the end of s (as snprintf truncation leaves it). */
void utf8_trim_cut(char *s);

/* The same for n bytes at s that need not end in NUL: the length without the cut sequence. */
size_t utf8_trim_len(const char *s, size_t n);

/* Characters in the NUL-terminated s when it is valid UTF-8, else -1. */
long utf8_chars(const char *s);

/* The longest prefix of s[0..len) of at most max bytes that does not end inside a sequence:
 * where to cut text that must stay UTF-8. */
size_t utf8_cut(const char *s, size_t len, size_t max);

/* Make s valid UTF-8 in place, for quoting outside text in an answer or a message: a
 * sequence cut at the end (by snprintf) is dropped, then every byte that starts no valid
 * sequence and every control character becomes '?'. */
void utf8_clean(char *s);

/* A copy of s (malloc; the caller frees) in which every byte that starts no valid sequence is
 * replaced by U+FFFD, so that it can go into JSON; NULL on ENOMEM. */
char *utf8_repair(const char *s);

#endif
