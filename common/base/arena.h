/* arena: a bump allocator for memory that lives exactly as long as one piece of work
 * (a command and its reply, a decoded batch). Everything is freed at once by arena_reset or
 * arena_destroy, so protobuf messages built or unpacked in an arena need no per-field frees,
 * and string fields may point at literals.
 *
 * Not thread-safe; one owner. */
#ifndef HOTLINE_ARENA_H
#define HOTLINE_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct arena arena_t;

int arena_create(arena_t **out);
void arena_destroy(arena_t **self);

/* Free every allocation, keep the first block for reuse. */
void arena_reset(arena_t *self);

/* Aligned to 16 bytes. NULL on ENOMEM. Memory is not zeroed unless arena_calloc. */
void *arena_alloc(arena_t *self, size_t size);
void *arena_calloc(arena_t *self, size_t size);
char *arena_strdup(arena_t *self, const char *s);
char *arena_strndup(arena_t *self, const char *s, size_t n);
char *arena_printf(arena_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A protobuf-c allocator drawing from this arena (free is a no-op): pass it to
 * protobuf_c_message_unpack. Valid while the arena lives. */
ProtobufCAllocator *arena_allocator(arena_t *self);

/* Bytes currently held (for metrics and limits). */
size_t arena_used(const arena_t *self);

#endif
