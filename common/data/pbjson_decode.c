/* pbjson_decode: JSON -> protobuf-c message, by walking the message descriptor.
 *
 * Memory is laid out exactly as protobuf_c_message_unpack would (malloc'd message, strings,
 * arrays, bytes and sub-messages; unset strings pointing at the descriptor's default), and the
 * message is kept valid for protobuf_c_message_free_unpacked after every single store, so that
 * any error can simply free whatever was built so far. */
#include "arena.h"
#include "hl_error.h"
#include "pbjson.h"
#include "pbjson_private.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dec {
    size_t max_string;                  /* the limits, 0s replaced by their defaults */
    size_t max_bytes;
    size_t max_repeated;
    size_t max_depth;
    const pbjson_field_limit_t *fields; /* per-field string limits, may be NULL */
    pbjson_error_t *err;                /* where the first error goes */
    char path[sizeof(((pbjson_error_t *)0)->field)]; /* JSON path of the value being decoded */
    size_t path_len;
} dec_t;

static int fail(dec_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(dec_t *d, const char *fmt, ...)
{
    va_list ap;

    snprintf(d->err->field, sizeof d->err->field, "%s", d->path);
    va_start(ap, fmt);
    vsnprintf(d->err->message, sizeof d->err->message, fmt, ap);
    va_end(ap);
    utf8_trim_cut(d->err->message);
    return HL_EINVAL;
}

static int fail_oom(dec_t *d)
{
    snprintf(d->err->field, sizeof d->err->field, "%s", d->path);
    snprintf(d->err->message, sizeof d->err->message, "out of memory");
    return HL_ENOMEM;
}

/* Append ".name" (or "name" at the top) or "[i]" to the path; returns the length to restore.
 * A path too long for the error's field is cut on a character boundary. */
static size_t path_push(dec_t *d, const char *name, size_t index)
{
    char seg[160]; /* JSON names are identifiers; keys come quoted, at most 51 bytes */
    size_t saved = d->path_len, room = sizeof d->path - 1 - saved, n = 0;

    /* Built by hand: this runs for every field of every body (snprintf cost 5% of a ticket). */
    if (name) {
        if (saved)
            seg[n++] = '.';
        size_t len = strnlen(name, sizeof seg - 2);
        memcpy(seg + n, name, len);
        n += len;
    } else {
        char digits[24];
        size_t k = 0;
        do {
            digits[k++] = (char)('0' + index % 10);
            index /= 10;
        } while (index);
        seg[n++] = '[';
        while (k)
            seg[n++] = digits[--k];
        seg[n++] = ']';
    }
    seg[n] = '\0';
    n = utf8_cut(seg, n, room);
    memcpy(d->path + saved, seg, n);
    d->path_len = saved + n;
    d->path[d->path_len] = '\0';
    return saved;
}

static void path_pop(dec_t *d, size_t saved)
{
    d->path_len = saved;
    d->path[saved] = '\0';
}

/* ---- strings ---------------------------------------------------------------------------- */

static size_t string_limit(const dec_t *d, const ProtobufCMessageDescriptor *md,
                           const ProtobufCFieldDescriptor *f)
{
    size_t n = strlen(md->name);

    for (const pbjson_field_limit_t *l = d->fields; l && l->full_name; l++)
        if (strncmp(l->full_name, md->name, n) == 0 && l->full_name[n] == '.' &&
            strcmp(l->full_name + n + 1, f->name) == 0)
            return l->max_chars ? l->max_chars : d->max_string;
    return d->max_string;
}

/* A malloc'd copy of the string in v, checked against the field's limit. */
static int get_string(dec_t *d, const ProtobufCMessageDescriptor *md,
                      const ProtobufCFieldDescriptor *f, const json_t *v, char **out)
{
    if (!json_is_string(v))
        return fail(d, "expected a string, got %s", pbjson_json_kind(v));

    const char *s = json_string_value(v);
    size_t len = json_string_length(v), chars = 0, max = string_limit(d, md, f);

    if (memchr(s, '\0', len))
        return fail(d, "contains a NUL character (\\u0000), which is not allowed");
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (chars > max)
        return fail(d, "longer than %zu characters (got %zu)", max, chars);
    *out = malloc(len + 1);
    if (!*out)
        return fail_oom(d);
    memcpy(*out, s, len + 1);
    return 0;
}

/* ---- storing into the message ------------------------------------------------------------- */

static void *member(ProtobufCMessage *msg, unsigned offset)
{
    return (char *)msg + offset;
}

/* proto2 optional scalars and bytes carry a has_ flag at quantifier_offset. */
static bool has_flag(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
           f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE;
}

/* Free what one value (a singular field or an array item) owns and zero it. */
static void free_value(const ProtobufCFieldDescriptor *f, void *slot)
{
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char **s = slot;
        if (*s && *s != f->default_value)
            free(*s);
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        ProtobufCBinaryData *b = slot;
        const ProtobufCBinaryData *def = f->default_value;
        if (b->data && (!def || b->data != def->data))
            free(b->data);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage **m = slot;
        if (*m && *m != f->default_value)
            protobuf_c_message_free_unpacked(*m, NULL);
    }
    memset(slot, 0, pbjson_value_size(f->type));
}

/* Put a field back to what message_init gives it. */
static void reset_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    void *slot = member(msg, f->offset);

    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *n = member(msg, f->quantifier_offset);
        char **arr = slot;
        for (size_t i = 0; *arr && i < *n; i++)
            free_value(f, *arr + i * pbjson_value_size(f->type));
        free(*arr);
        *arr = NULL;
        *n = 0;
    } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = member(msg, f->quantifier_offset);
        if (*which == f->id) {
            free_value(f, slot);
            *which = 0;
        }
    } else {
        free_value(f, slot);
        if (f->type == PROTOBUF_C_TYPE_STRING)
            *(const char **)slot = f->default_value;
        else if (f->default_value && f->type != PROTOBUF_C_TYPE_MESSAGE)
            memcpy(slot, f->default_value, pbjson_value_size(f->type));
        if (has_flag(f))
            *(protobuf_c_boolean *)member(msg, f->quantifier_offset) = 0;
    }
}

/* Before storing oneof member f: free the other member if one is set, leave f's storage zero
 * (the members share it) unless f itself is set. */
static void oneof_select(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    uint32_t *which = member(msg, f->quantifier_offset);

    if (*which == f->id)
        return;
    for (unsigned i = 0; i < md->n_fields && *which; i++) {
        const ProtobufCFieldDescriptor *g = &md->fields[i];
        if ((g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            g->quantifier_offset == f->quantifier_offset && g->id == *which)
            reset_field(msg, g);
    }
    *which = 0;
    memset(member(msg, f->offset), 0, pbjson_value_size(f->type));
}

static void mark_present(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)member(msg, f->quantifier_offset) = f->id;
    else if (has_flag(f))
        *(protobuf_c_boolean *)member(msg, f->quantifier_offset) = 1;
}

static int new_message(dec_t *d, const ProtobufCMessageDescriptor *md, ProtobufCMessage **out)
{
    *out = malloc(md->sizeof_message);
    if (!*out)
        return fail_oom(d);
    protobuf_c_message_init(md, *out);
    return 0;
}

static int merge_object(dec_t *d, ProtobufCMessage *msg, const json_t *obj, size_t depth);

/* Decode a non-null, non-message value into slot, replacing (and freeing) what it held.
 * shared_default: a string equal to the field's default may point at it (proto3 singular
 * fields, as message_init leaves them); array items and oneof members always own theirs. */
static int set_scalar(dec_t *d, const ProtobufCMessageDescriptor *md,
                      const ProtobufCFieldDescriptor *f, const json_t *v, void *slot,
                      bool shared_default)
{
    char *why = d->err->message;
    size_t why_size = sizeof d->err->message;
    int64_t i64 = 0;
    uint64_t u64 = 0;
    double dbl = 0;
    int e = 0, rc = 0;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = pbjson_read_int(v, f->type, &i64, why, why_size)) == 0)
            *(int32_t *)slot = (int32_t)i64;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = pbjson_read_int(v, f->type, &i64, why, why_size)) == 0)
            *(int64_t *)slot = i64;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = pbjson_read_uint(v, f->type, &u64, why, why_size)) == 0)
            *(uint32_t *)slot = (uint32_t)u64;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((rc = pbjson_read_uint(v, f->type, &u64, why, why_size)) == 0)
            *(uint64_t *)slot = u64;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        if ((rc = pbjson_read_double(v, f->type, &dbl, why, why_size)) == 0)
            *(float *)slot = (float)dbl;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        if ((rc = pbjson_read_double(v, f->type, &dbl, why, why_size)) == 0)
            *(double *)slot = dbl;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return fail(d, "expected a boolean (true or false), got %s", pbjson_json_kind(v));
        *(protobuf_c_boolean *)slot = json_is_true(v);
        break;
    case PROTOBUF_C_TYPE_ENUM:
        if ((rc = pbjson_read_enum(f->descriptor, v, &e, why, why_size)) == 0)
            *(int *)slot = e;
        break;
    case PROTOBUF_C_TYPE_STRING: {
        char *s = NULL;
        if ((rc = get_string(d, md, f, v, &s)) != 0)
            return rc; /* already located */
        free_value(f, slot);
        if (shared_default && f->default_value && strcmp(s, f->default_value) == 0) {
            free(s);
            s = (char *)f->default_value;
        }
        *(char **)slot = s;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData b;
        if ((rc = pbjson_read_bytes(v, d->max_bytes, &b, why, why_size)) != 0)
            break;
        free_value(f, slot);
        *(ProtobufCBinaryData *)slot = b;
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return fail(d, "internal: message field decoded as a scalar");
    }
    if (rc) /* a reader wrote the rule; add where */
        snprintf(d->err->field, sizeof d->err->field, "%s", d->path);
    return rc;
}

static int set_repeated(dec_t *d, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                        const json_t *v, size_t depth)
{
    size_t n, size = pbjson_value_size(f->type);

    if (!json_is_array(v))
        return fail(d, "expected an array, got %s", pbjson_json_kind(v));
    n = json_array_size(v);
    if (n > d->max_repeated)
        return fail(d, "more than %zu items (got %zu)", d->max_repeated, n);
    reset_field(msg, f);
    if (n == 0)
        return 0;

    /* Zeroed items are valid to free, so the array is hung on the message before filling. */
    char *arr = calloc(n, size);
    if (!arr)
        return fail_oom(d);
    *(char **)member(msg, f->offset) = arr;
    *(size_t *)member(msg, f->quantifier_offset) = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(v, i);
        size_t saved = path_push(d, NULL, i);
        int rc;

        if (json_is_null(item)) {
            rc = fail(d, "null is not allowed as an array item");
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            ProtobufCMessage **sub = (ProtobufCMessage **)(arr + i * size);
            if (json_is_object(item))
                rc = new_message(d, f->descriptor, sub);
            else
                rc = fail(d, "expected an object, got %s", pbjson_json_kind(item));
            if (rc == 0)
                rc = merge_object(d, *sub, item, depth + 1);
        } else {
            rc = set_scalar(d, msg->descriptor, f, item, arr + i * size, false);
        }
        if (rc)
            return rc;
        path_pop(d, saved);
    }
    return 0;
}

static int set_field(dec_t *d, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                     const json_t *v, size_t depth)
{
    bool oneof = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
    void *slot = member(msg, f->offset);
    int rc;

    if (json_is_null(v)) {
        reset_field(msg, f);
        return 0;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return set_repeated(d, msg, f, v, depth);
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage **sub = slot;
        if (!json_is_object(v))
            return fail(d, "expected an object, got %s", pbjson_json_kind(v));
        if (oneof)
            oneof_select(msg, f);
        if (!*sub || *sub == f->default_value) {
            if ((rc = new_message(d, f->descriptor, sub)) != 0)
                return rc;
        }
        mark_present(msg, f);
        return merge_object(d, *sub, v, depth + 1); /* merges into one already there */
    }
    if (oneof)
        oneof_select(msg, f);
    rc = set_scalar(d, msg->descriptor, f, v, slot,
                    !oneof && f->label == PROTOBUF_C_LABEL_NONE);
    if (rc == 0)
        mark_present(msg, f);
    return rc;
}

/* ---- objects ------------------------------------------------------------------------------ */

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *md,
                                                  const char *key, size_t key_len)
{
    char name[128];

    if (strlen(key) != key_len)
        return NULL;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(md, key);
    for (unsigned i = 0; !f && i < md->n_fields; i++) {
        pbjson_json_name(md->fields[i].name, name, sizeof name);
        if (strcmp(name, key) == 0)
            f = &md->fields[i];
    }
    return f;
}

/* Levenshtein distance, for "did you mean"; names past 63 bytes count as far away. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];

    if (la > 63 || lb > 63)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* One name starts the other, and the shorter is not trivially short. */
static bool prefix_related(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;

    return n >= 3 && strncmp(a, b, n) == 0;
}

static int fail_unknown(dec_t *d, const ProtobufCMessageDescriptor *md, const char *key,
                        size_t key_len)
{
    char q[64], name[128], best[128] = "", known[320] = "";
    size_t best_dist = SIZE_MAX, n = 0;
    bool listing = true;

    pbjson_quote(q, sizeof q, key, key_len);
    path_push(d, q, 0); /* the caller's error path ends here; no pop needed */
    for (unsigned i = 0; i < md->n_fields; i++) {
        pbjson_json_name(md->fields[i].name, name, sizeof name);
        size_t dist = edit_distance(q, name), dist2 = edit_distance(q, md->fields[i].name);
        if (dist2 < dist)
            dist = dist2;
        if (prefix_related(q, name) || prefix_related(q, md->fields[i].name))
            dist = dist < 1 ? dist : 1; /* "phone_number" for "phone" */
        if (dist < best_dist) {
            best_dist = dist;
            snprintf(best, sizeof best, "%s", name);
        }
        if (listing)
            listing = pbjson_list_append(known, sizeof known, &n, name);
    }
    if (best[0] && (best_dist <= 2 || best_dist <= strlen(q) / 3))
        return fail(d, "unknown field \"%s\" in %s; did you mean \"%s\"?", q, md->name, best);
    return fail(d, "unknown field \"%s\" in %s; known fields: %s", q, md->name, known);
}

typedef struct seen {
    const char *key; /* the JSON key that set this field in this object, NULL if none */
    bool null;       /* its value was null */
} seen_t;

/* Refuse a field given twice (as "media_urls" and "mediaUrls") and two members of one oneof. */
static int check_conflicts(dec_t *d, const ProtobufCMessageDescriptor *md, seen_t *seen,
                           const ProtobufCFieldDescriptor *f, const char *key, bool null)
{
    size_t idx = (size_t)(f - md->fields);

    if (seen[idx].key)
        return fail(d, "set twice, as \"%s\" and as \"%s\"", seen[idx].key, key);
    seen[idx].key = key;
    seen[idx].null = null;
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || null)
        return 0;
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *g = &md->fields[i];
        if (g != f && seen[i].key && !seen[i].null && (g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            g->quantifier_offset == f->quantifier_offset)
            return fail(d, "\"%s\" and \"%s\" are both set, but they are alternatives (one "
                           "oneof); set only one", seen[i].key, key);
    }
    return 0;
}

static int merge_object(dec_t *d, ProtobufCMessage *msg, const json_t *obj, size_t depth)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    seen_t local[32], *seen = local;
    int rc = 0;

    if (!json_is_object(obj))
        return fail(d, "expected an object, got %s", pbjson_json_kind(obj));
    if (depth > d->max_depth)
        return fail(d, "nested deeper than %zu levels", d->max_depth);
    if (md->n_fields > sizeof local / sizeof local[0]) {
        seen = malloc(md->n_fields * sizeof *seen);
        if (!seen)
            return fail_oom(d);
    }
    memset(seen, 0, md->n_fields * sizeof *seen);

    for (void *it = json_object_iter((json_t *)obj); it && rc == 0;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        size_t key_len = json_object_iter_key_len(it);
        const json_t *v = json_object_iter_value(it);
        const ProtobufCFieldDescriptor *f = find_field(md, key, key_len);
        char name[128];

        if (!f) {
            rc = fail_unknown(d, md, key, key_len);
            break;
        }
        pbjson_json_name(f->name, name, sizeof name);
        size_t saved = path_push(d, name, 0);
        rc = check_conflicts(d, md, seen, f, key, json_is_null(v));
        if (rc == 0)
            rc = set_field(d, msg, f, v, depth);
        if (rc == 0)
            path_pop(d, saved);
    }
    if (seen != local)
        free(seen);
    return rc;
}

/* ---- entry points ------------------------------------------------------------------------- */

static void dec_init(dec_t *d, const pbjson_limits_t *limits, pbjson_error_t *err)
{
    if (!limits)
        limits = pbjson_default_limits();
    d->max_string = limits->max_string_chars ? limits->max_string_chars : 1024;
    d->max_bytes = limits->max_bytes_len ? limits->max_bytes_len : 1024 * 1024;
    d->max_repeated = limits->max_repeated ? limits->max_repeated : 1000;
    d->max_depth = limits->max_depth ? limits->max_depth : 32;
    d->fields = limits->fields;
    d->err = err;
    d->path[0] = '\0';
    d->path_len = 0;
    err->field[0] = '\0';
    err->message[0] = '\0';
}

int pbjson_merge(ProtobufCMessage *msg, const json_t *obj, const pbjson_limits_t *limits,
                 pbjson_error_t *err)
{
    pbjson_error_t scratch;
    dec_t d;

    dec_init(&d, limits, err ? err : &scratch);
    if (!json_is_object(obj))
        return fail(&d, "expected a JSON object, got %s", obj ? pbjson_json_kind(obj) : "nothing");
    return merge_object(&d, msg, obj, 1);
}

/* The JSON tree of one decode lives in an arena: jansson's allocator is pointed at it for the
 * parse, the merge and the tree's release, which all happen inside pbjson_decode (a body's
 * tree took some 50 mallocs and frees). jansson's allocator is process-wide: this is for the
 * loop thread, the only one that uses jansson. */
static _Thread_local arena_t *tree_arena;

static void *tree_alloc(size_t size)
{
    return arena_alloc(tree_arena, size);
}

static void tree_free(void *p)
{
    (void)p; /* the arena is reset after the decode */
}

static int decode_tree(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                       const pbjson_limits_t *limits, ProtobufCMessage **out,
                       pbjson_error_t *err);

int pbjson_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                  const pbjson_limits_t *limits, ProtobufCMessage **out, pbjson_error_t *err)
{
    static _Thread_local bool inside; /* a decode within a decode would reset the outer tree */
    if (inside || (!tree_arena && arena_create(&tree_arena) != 0))
        return decode_tree(desc, json, len, limits, out, err); /* jansson's own malloc */
    inside = true;
    json_malloc_t was_alloc;
    json_free_t was_free;
    json_get_alloc_funcs(&was_alloc, &was_free);
    json_set_alloc_funcs(tree_alloc, tree_free);
    int rc = decode_tree(desc, json, len, limits, out, err);
    json_set_alloc_funcs(was_alloc, was_free);
    arena_reset(tree_arena);
    inside = false;
    return rc;
}

static int decode_tree(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                       const pbjson_limits_t *limits, ProtobufCMessage **out,
                       pbjson_error_t *err)
{
    pbjson_error_t scratch;
    json_t *root = NULL;
    ProtobufCMessage *msg = NULL;
    int rc;

    *out = NULL;
    if (!err)
        err = &scratch;
    rc = pbjson_parse(json, len, &root, err);
    if (rc)
        return rc;
    msg = malloc(desc->sizeof_message);
    if (!msg) {
        err->field[0] = '\0';
        snprintf(err->message, sizeof err->message, "out of memory");
        rc = HL_ENOMEM;
        goto done;
    }
    protobuf_c_message_init(desc, msg);
    rc = pbjson_merge(msg, root, limits, err);
    if (rc == 0) {
        *out = msg;
        msg = NULL;
    }
done:
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    json_decref(root);
    return rc;
}
