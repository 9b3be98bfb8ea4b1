/* bytes: the compact integers of stored records and a growable byte buffer, shared by every
 * store format (the event log's, dispatch's, sla's and analytics' records), and a bounded copy
 * of a text.
 * Varints are unsigned LEB128 (protobuf's); zigzag turns a signed difference into an unsigned
 * number small on either side of 0. Readers check the end: a varint running past it (or past
 * 10 bytes) is damage. */
#ifndef HOTLINE_BYTES_H
#define HOTLINE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VARINT_MAX 10

/* src (NULL: "") into dst of size bytes (0: nothing written), cut to fit and always NUL-terminated:
 * snprintf's "%s" without reading a format, for copies made per event or request. Returns the
 * bytes copied. */
static inline size_t str_copy(char *dst, size_t size, const char *src)
{
    if (!size)
        return 0; /* as snprintf: nothing written */
    size_t n = src ? strnlen(src, size - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

/* Write v at p; returns the bytes written (1..10). p NULL: only count them. */
static inline size_t varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (p)
            p[n] = (uint8_t)(b | (v ? 0x80 : 0));
        n++;
    } while (v);
    return n;
}

static inline size_t varint_size(uint64_t v)
{
    return varint_put(NULL, v);
}

/* Read a varint at *p (before end) into *v and move *p past it; -1 on damage. */
static inline int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* to - from as an unsigned number, small either side of 0. Unsigned arithmetic throughout:
 * any two int64 values round-trip. */
static inline uint64_t zigzag_diff(int64_t from, int64_t to)
{
    uint64_t d = (uint64_t)to - (uint64_t)from;
    return d >> 63 ? ~(d << 1) : d << 1;
}

static inline int64_t zigzag_undiff(int64_t from, uint64_t z)
{
    uint64_t d = z & 1 ? ~(z >> 1) : z >> 1;
    return (int64_t)((uint64_t)from + d);
}

/* A growable byte buffer (free p when done; {0} is an empty one). */
typedef struct bytebuf {
    uint8_t *p;
    size_t n, cap;
} bytebuf_t;

/* Room for need elements of elem bytes in the array *p points at (*cap of them now; doubling
 * from 64): 0 or HL_ENOMEM (the array is left as it was). p is the address of the array's
 * pointer, of any element type. */
int array_reserve(void *p, size_t *cap, size_t need, size_t elem);

/* Room for more bytes after n: 0 or HL_ENOMEM. */
int bytebuf_reserve(bytebuf_t *b, size_t more);
/* Append n bytes, or a varint: 0 or HL_ENOMEM. */
int bytebuf_put(bytebuf_t *b, const void *p, size_t n);
int bytebuf_put_varint(bytebuf_t *b, uint64_t v);

#endif
