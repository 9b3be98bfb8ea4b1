/* arena: bump allocation in growing blocks. */
#include "arena.h"

#include "hl_error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 16384u
#define ARENA_ALIGN 16u

typedef struct arena_block {
    struct arena_block *next; /* older blocks */
    size_t size;              /* usable bytes in data */
    size_t used;
    _Alignas(16) unsigned char data[];
} arena_block_t;

struct arena {
    arena_block_t *head;      /* current block; the first block is the tail of the list */
    size_t held;              /* bytes handed out since the last reset */
    ProtobufCAllocator pb;    /* allocator_data = this arena */
};

static arena_block_t *block_new(size_t size)
{
    arena_block_t *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

static void *pb_alloc(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

int arena_create(arena_t **out)
{
    arena_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->head = block_new(ARENA_BLOCK);
    if (!self->head) {
        free(self);
        return HL_ENOMEM;
    }
    self->pb.alloc = pb_alloc;
    self->pb.free = pb_free;
    self->pb.allocator_data = self;
    *out = self;
    return 0;
}

void arena_destroy(arena_t **self)
{
    if (!self || !*self)
        return;
    arena_block_t *b = (*self)->head;
    while (b) {
        arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    free(*self);
    *self = NULL;
}

void arena_reset(arena_t *self)
{
    /* Keep only the first block (the last in the list): it fits most pieces of work. */
    arena_block_t *b = self->head;
    while (b->next) {
        arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    self->head = b;
    self->held = 0;
}

void *arena_alloc(arena_t *self, size_t size)
{
    size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < size)
        return NULL;
    arena_block_t *b = self->head;
    if (b->size - b->used < need) {
        size_t bsize = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        arena_block_t *nb = block_new(bsize);
        if (!nb)
            return NULL;
        nb->next = b;
        self->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    self->held += need;
    return p;
}

void *arena_calloc(arena_t *self, size_t size)
{
    void *p = arena_alloc(self, size);
    if (p)
        memset(p, 0, size);
    return p;
}

char *arena_strndup(arena_t *self, const char *s, size_t n)
{
    char *p = arena_alloc(self, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *arena_strdup(arena_t *self, const char *s)
{
    return arena_strndup(self, s, strlen(s));
}

char *arena_printf(arena_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(self, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

ProtobufCAllocator *arena_allocator(arena_t *self)
{
    return &self->pb;
}

size_t arena_used(const arena_t *self)
{
    return self->held;
}
