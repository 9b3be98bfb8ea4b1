/* bytes: the growable buffer (bytes.h). */
#include "bytes.h"

#include "hl_error.h"

#include <stdlib.h>
#include <string.h>

int array_reserve(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *old;
    memcpy(&old, p, sizeof old);
    void *grown = realloc(old, n * elem);
    if (!grown)
        return HL_ENOMEM;
    memcpy(p, &grown, sizeof grown);
    *cap = n;
    return 0;
}

int bytebuf_reserve(bytebuf_t *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    size_t cap = b->cap ? 2 * b->cap : 256;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return HL_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int bytebuf_put(bytebuf_t *b, const void *p, size_t n)
{
    if (bytebuf_reserve(b, n))
        return HL_ENOMEM;
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

int bytebuf_put_varint(bytebuf_t *b, uint64_t v)
{
    if (bytebuf_reserve(b, VARINT_MAX))
        return HL_ENOMEM;
    b->n += varint_put(b->p + b->n, v);
    return 0;
}
