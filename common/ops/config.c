/* config: defaults, then a JSON file, then HOTLINE_* variables, then the bounds table.
 *
 * Every layer is turned into a JSON object and merged with pbjson_merge, so a value from the
 * environment is checked by the same rules as one from the file. For the bounds check each row
 * remembers which layer last set its key, so that the message can say where to fix it.
 * config_error writes the services' own checks' messages in the same shape.
 * Runs once at start-up, on the main thread. */
#include "config.h"

#include "hl_error.h"
#include "pbjson.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_FILE_MAX (16u * 1024 * 1024) /* a config file is a few KiB; refuse nonsense */
#define PATH_MAX_FIELDS 16                  /* nesting an environment variable may reach */

/* Where a value came from, for messages: "defaults", "file X", "environment NAME". */
typedef struct source {
    const char *kind;
    const char *name; /* file path or variable name, not NUL-terminated; may be NULL */
    size_t name_len;
} source_t;

static void source_text(const source_t *s, char *out, size_t size)
{
    if (s->name)
        snprintf(out, size, "%s %.*s", s->kind, (int)s->name_len, s->name);
    else
        snprintf(out, size, "%s", s->kind);
}

/* One line: "key: rule (source)", or "source: rule" when the error is about the document. */
static void report(char *err, size_t size, const source_t *src, const char *field,
                   const char *message)
{
    char where[300];

    source_text(src, where, sizeof where);
    if (field && field[0])
        snprintf(err, size, "%s: %s (%s)", field, message, where);
    else
        snprintf(err, size, "%s: %s", where, message);
}

/* ---- finding fields by path --------------------------------------------------------------- */

/* A field by its proto name ("max_body_bytes") or JSON name ("maxBodyBytes"). */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *md,
                                                  const char *name)
{
    char json[128];
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(md, name);

    for (unsigned i = 0; !f && i < md->n_fields; i++) {
        pbjson_json_name(md->fields[i].name, json, sizeof json);
        if (strcmp(json, name) == 0)
            f = &md->fields[i];
    }
    return f;
}

/* Copy the segment of a dotted path that starts at *p into seg and move *p past it. */
static bool next_segment(const char **p, char *seg, size_t size)
{
    size_t n = strcspn(*p, ".");

    if (n == 0 || n >= size || ((*p)[n] == '.' && (*p)[n + 1] == '\0'))
        return false;
    memcpy(seg, *p, n);
    seg[n] = '\0';
    *p += (*p)[n] == '.' ? n + 1 : n;
    return true;
}

typedef enum { LOOKUP_NO_FIELD, LOOKUP_UNSET, LOOKUP_FOUND } lookup_t;

/* Walk a dotted path through the schema and, as far as it is set, through msg. The schema
 * decides LOOKUP_NO_FIELD; an unset sub-message or an unselected oneof member on the way
 * gives LOOKUP_UNSET. */
static lookup_t lookup(ProtobufCMessage *msg, const char *path, void **slot,
                       const ProtobufCFieldDescriptor **field_out)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    ProtobufCMessage *cur = msg;
    const ProtobufCFieldDescriptor *f = NULL;
    char seg[128];

    while (*path) {
        if (!next_segment(&path, seg, sizeof seg) || !(f = find_field(md, seg)))
            return LOOKUP_NO_FIELD;
        bool selected = !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
                        (cur && *(uint32_t *)((char *)cur + f->quantifier_offset) == f->id);
        if (!*path) {
            if (!cur || !selected)
                return LOOKUP_UNSET;
            *slot = (char *)cur + f->offset;
            *field_out = f;
            return LOOKUP_FOUND;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
            return LOOKUP_NO_FIELD;
        cur = (cur && selected) ? *(ProtobufCMessage **)((char *)cur + f->offset) : NULL;
        md = f->descriptor;
    }
    return LOOKUP_NO_FIELD;
}

void *config_field(ProtobufCMessage *msg, const char *path,
                   const ProtobufCFieldDescriptor **field_out)
{
    void *slot = NULL;
    const ProtobufCFieldDescriptor *f = NULL;

    if (lookup(msg, path, &slot, &f) != LOOKUP_FOUND) {
        if (field_out)
            *field_out = NULL;
        return NULL;
    }
    if (field_out)
        *field_out = f;
    return slot;
}

/* camelCase -> snake_case, so that a bound written either way finds a key written either way. */
static void snake_name(const char *name, char *out, size_t size)
{
    size_t n = 0;

    for (; *name && n + 2 < size; name++) {
        if (*name >= 'A' && *name <= 'Z') {
            out[n++] = '_';
            out[n++] = (char)(*name - 'A' + 'a');
        } else {
            out[n++] = *name;
        }
    }
    out[n] = '\0';
}

/* Does this layer's JSON object set the key at path (null counts: it resets the key)? */
static bool json_sets(const json_t *obj, const char *path)
{
    char seg[128], alt[128];

    while (*path && json_is_object(obj)) {
        if (!next_segment(&path, seg, sizeof seg))
            return false;
        const json_t *v = json_object_get(obj, seg);
        if (!v) {
            pbjson_json_name(seg, alt, sizeof alt);
            v = json_object_get(obj, alt);
        }
        if (!v) {
            snake_name(seg, alt, sizeof alt);
            v = json_object_get(obj, alt);
        }
        if (!v)
            return false;
        if (!*path)
            return true;
        obj = v;
    }
    return false;
}

/* ---- the layers --------------------------------------------------------------------------- */

typedef struct loader {
    const config_source_t *src;
    ProtobufCMessage *msg;  /* the configuration being built */
    source_t *bound_source; /* per bounds row: the layer that last set it */
    size_t n_bounds;
    char *err;
    size_t err_size;
} loader_t;

/* Merge one layer's object and note which bounded keys it set. */
static int merge_layer(loader_t *l, const json_t *obj, const source_t *src,
                       const char *doc_field)
{
    pbjson_error_t perr;
    int rc = pbjson_merge(l->msg, obj, NULL, &perr);

    if (rc) {
        report(l->err, l->err_size, src, perr.field[0] ? perr.field : doc_field, perr.message);
        return rc;
    }
    for (size_t i = 0; i < l->n_bounds; i++)
        if (json_sets(obj, l->src->bounds[i].path))
            l->bound_source[i] = *src;
    return 0;
}

static int read_file(loader_t *l, const source_t *src, char **out, size_t *out_len)
{
    const char *path = l->src->file_path;
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;

    *out = NULL;
    if (!f) {
        int e = errno;
        report(l->err, l->err_size, src, NULL, e == ENOENT ? "not found" : strerror(e));
        return e == ENOENT ? HL_ENOTFOUND : e == ENOMEM ? HL_ENOMEM : HL_EIO;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= CONFIG_FILE_MAX) {
                report(l->err, l->err_size, src, NULL, "larger than 16 MiB");
                rc = HL_EINVAL;
                break;
            }
            cap = cap ? cap * 2 : 4096;
            char *grown = realloc(buf, cap);
            if (!grown) {
                report(l->err, l->err_size, src, NULL, "out of memory");
                rc = HL_ENOMEM;
                break;
            }
            buf = grown;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                report(l->err, l->err_size, src, NULL, strerror(errno ? errno : EIO));
                rc = HL_EIO;
            }
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static int load_file(loader_t *l)
{
    const char *path = l->src->file_path;
    source_t src = {"file", path, strlen(path)};
    pbjson_error_t perr;
    json_t *root = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(l, &src, &text, &len);

    if (rc)
        return rc;
    rc = pbjson_parse(text, len, &root, &perr);
    free(text);
    if (rc) {
        report(l->err, l->err_size, &src, NULL, perr.message);
        return rc;
    }
    rc = merge_layer(l, root, &src, NULL);
    json_decref(root);
    return rc;
}

typedef struct env_path {
    const ProtobufCFieldDescriptor *fields[PATH_MAX_FIELDS];
    size_t n;
} env_path_t;

/* Does field name (snake_case) upper-cased start name? */
static bool upper_prefix(const char *field, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = field[i] >= 'a' && field[i] <= 'z' ? (char)(field[i] - 'a' + 'A') : field[i];
        if (c != name[i])
            return false;
    }
    return true;
}

/* Resolve NAME (field names upper-cased, joined by '_') to a field path below md. Names hold
 * '_' too, so every field whose name starts NAME is tried, longest first, and a choice whose
 * rest does not resolve is undone: RUNTIME_EVENT_LOG_CONSUMERS is runtime.event_log.consumers
 * even if runtime also had a field "event". */
static bool env_resolve(const ProtobufCMessageDescriptor *md, const char *name, env_path_t *p)
{
    size_t shorter_than = SIZE_MAX;

    if (p->n == PATH_MAX_FIELDS)
        return false;
    for (;;) {
        const ProtobufCFieldDescriptor *best = NULL;
        size_t best_len = 0;

        for (unsigned i = 0; i < md->n_fields; i++) {
            const ProtobufCFieldDescriptor *f = &md->fields[i];
            size_t len = strlen(f->name);
            if (len < shorter_than && len > best_len && upper_prefix(f->name, name, len) &&
                (name[len] == '\0' || name[len] == '_'))
                best = f, best_len = len;
        }
        if (!best)
            return false;
        shorter_than = best_len;
        p->fields[p->n++] = best;
        if (name[best_len] == '\0')
            return true;
        if (best->label != PROTOBUF_C_LABEL_REPEATED && best->type == PROTOBUF_C_TYPE_MESSAGE &&
            env_resolve(best->descriptor, name + best_len + 1, p))
            return true;
        p->n--;
    }
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes"}, *const no[] = {"false", "0", "no"};

    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *out = strcasecmp(text, yes[i]) == 0;
            return 0;
        }
    }
    return HL_EINVAL;
}

/* The environment variable's text as the JSON value pbjson expects for the field: JSON for
 * repeated and message fields, a boolean for bools, a string for everything else (pbjson
 * reads numbers and enum names from strings, strictly). */
static int env_value(const ProtobufCFieldDescriptor *f, const char *text, json_t **out,
                     char *why, size_t why_size)
{
    pbjson_error_t perr;
    bool b;

    *out = NULL;
    if (f->label == PROTOBUF_C_LABEL_REPEATED || f->type == PROTOBUF_C_TYPE_MESSAGE) {
        int rc = pbjson_parse(text, strlen(text), out, &perr);
        if (rc)
            snprintf(why, why_size, "expected JSON for this %s: %s",
                     f->label == PROTOBUF_C_LABEL_REPEATED ? "list" : "section", perr.message);
        return rc;
    }
    if (f->type == PROTOBUF_C_TYPE_BOOL) {
        if (parse_bool(text, &b) != 0) {
            snprintf(why, why_size, "expected a boolean (true/false/1/0/yes/no), got \"%.64s\"",
                     text);
            return HL_EINVAL;
        }
        *out = json_boolean(b);
    } else {
        *out = json_string(text);
        if (!*out) {
            snprintf(why, why_size, "not valid UTF-8");
            return HL_EINVAL;
        }
    }
    return *out ? 0 : HL_ENOMEM;
}

static int apply_env(loader_t *l, const char *entry)
{
    const char *prefix = l->src->env_prefix ? l->src->env_prefix : "";
    size_t prefix_len = strlen(prefix);
    const char *eq = strchr(entry, '=');
    env_path_t p = {.n = 0};
    char name[256], path[256], why[640];
    size_t n = 0;

    if (!eq || strncmp(entry, prefix, prefix_len) != 0 || (size_t)(eq - entry) <= prefix_len ||
        (size_t)(eq - entry) - prefix_len >= sizeof name)
        return 0;
    memcpy(name, entry + prefix_len, (size_t)(eq - entry) - prefix_len);
    name[(size_t)(eq - entry) - prefix_len] = '\0';
    if (!env_resolve(l->msg->descriptor, name, &p))
        return 0; /* names no field: not ours */

    source_t src = {"environment", entry, (size_t)(eq - entry)};
    path[0] = '\0';
    for (size_t i = 0; i < p.n; i++) {
        char json[128];
        pbjson_json_name(p.fields[i]->name, json, sizeof json);
        int w = snprintf(path + n, sizeof path - n, "%s%s", i ? "." : "", json);
        n = (w < 0 || (size_t)w >= sizeof path - n) ? sizeof path - 1 : n + (size_t)w;
    }

    json_t *value = NULL;
    int rc = env_value(p.fields[p.n - 1], eq + 1, &value, why, sizeof why);
    if (rc) {
        report(l->err, l->err_size, &src, path, rc == HL_ENOMEM ? "out of memory" : why);
        return rc;
    }
    /* Wrap it: {"runtime": {"http": {"port": value}}}. */
    for (size_t i = p.n; i-- > 0 && value;) {
        json_t *obj = json_object();
        if (obj && json_object_set_new(obj, p.fields[i]->name, value) == 0) {
            value = obj;
        } else {
            json_decref(obj);
            value = NULL;
        }
    }
    if (!value) {
        report(l->err, l->err_size, &src, path, "out of memory");
        return HL_ENOMEM;
    }
    rc = merge_layer(l, value, &src, path);
    json_decref(value);
    return rc;
}

/* ---- bounds ------------------------------------------------------------------------------- */

/* The value at slot as a number, exactly (long double holds every 64-bit integer). */
static bool numeric_value(const ProtobufCFieldDescriptor *f, const void *slot, long double *v,
                          char *text, size_t size)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *v = *(const int32_t *)slot;
        snprintf(text, size, "%d", (int)*(const int32_t *)slot);
        return true;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *v = *(const uint32_t *)slot;
        snprintf(text, size, "%u", (unsigned)*(const uint32_t *)slot);
        return true;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *v = (long double)*(const int64_t *)slot;
        snprintf(text, size, "%lld", (long long)*(const int64_t *)slot);
        return true;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *v = (long double)*(const uint64_t *)slot;
        snprintf(text, size, "%llu", (unsigned long long)*(const uint64_t *)slot);
        return true;
    case PROTOBUF_C_TYPE_FLOAT:
        *v = *(const float *)slot;
        snprintf(text, size, "%.9g", (double)*(const float *)slot);
        return true;
    case PROTOBUF_C_TYPE_DOUBLE:
        *v = *(const double *)slot;
        snprintf(text, size, "%.17g", *(const double *)slot);
        return true;
    default:
        return false;
    }
}

static void bound_text(double b, char *out, size_t size)
{
    if (b == floor(b) && fabs(b) < 1e18)
        snprintf(out, size, "%.0f", b);
    else
        snprintf(out, size, "%.17g", b);
}

static int check_bounds(loader_t *l)
{
    for (size_t i = 0; i < l->n_bounds; i++) {
        const config_bound_t *b = &l->src->bounds[i];
        const ProtobufCFieldDescriptor *f = NULL;
        void *slot = NULL;
        long double v = 0;
        char value[64], min[64], max[64], why[300];
        lookup_t found = lookup(l->msg, b->path, &slot, &f);

        if (found == LOOKUP_UNSET)
            continue; /* inside an absent section: nothing to check */
        if (found == LOOKUP_NO_FIELD || f->label == PROTOBUF_C_LABEL_REPEATED ||
            !numeric_value(f, slot, &v, value, sizeof value)) {
            snprintf(l->err, l->err_size, "bounds table: \"%s\" %s of %s", b->path,
                     found == LOOKUP_NO_FIELD ? "names no field" : "is not a single number",
                     l->msg->descriptor->name);
            return HL_EINVAL;
        }
        bound_text(b->min, min, sizeof min);
        bound_text(b->max, max, sizeof max);
        if (isnan((double)v))
            snprintf(why, sizeof why, "NaN is not within %s..%s", min, max);
        else if (v < (long double)b->min)
            snprintf(why, sizeof why, "%s is below the minimum %s", value, min);
        else if (v > (long double)b->max)
            snprintf(why, sizeof why, "%s is above the maximum %s", value, max);
        else
            continue;
        report(l->err, l->err_size, &l->bound_source[i], b->path, why);
        return HL_EINVAL;
    }
    return 0;
}

int config_load(const ProtobufCMessageDescriptor *desc, const config_source_t *src,
                ProtobufCMessage **out, char *err, size_t err_size)
{
    char scratch[512];
    static const source_t defaults = {"defaults", NULL, 0};
    loader_t l = {.src = src, .err = err, .err_size = err_size};
    pbjson_error_t perr;
    int rc = 0;

    *out = NULL;
    if (!err || err_size == 0) {
        l.err = scratch;
        l.err_size = sizeof scratch;
    }
    l.err[0] = '\0';
    if (!desc || !src || !src->defaults_json) {
        snprintf(l.err, l.err_size, "config_load: no message type or no embedded defaults");
        return HL_EINVAL;
    }
    while (src->bounds && src->bounds[l.n_bounds].path)
        l.n_bounds++;
    l.bound_source = calloc(l.n_bounds ? l.n_bounds : 1, sizeof *l.bound_source);
    if (!l.bound_source) {
        snprintf(l.err, l.err_size, "out of memory");
        return HL_ENOMEM;
    }
    for (size_t i = 0; i < l.n_bounds; i++)
        l.bound_source[i] = defaults;

    rc = pbjson_decode(desc, src->defaults_json, strlen(src->defaults_json), NULL, &l.msg, &perr);
    if (rc) {
        report(l.err, l.err_size, &defaults, perr.field, perr.message);
        goto done;
    }
    if (src->file_path && (rc = load_file(&l)) != 0)
        goto done;
    for (size_t i = 0; src->envp && src->envp[i]; i++)
        if ((rc = apply_env(&l, src->envp[i])) != 0)
            goto done;
    rc = check_bounds(&l);

done:
    free(l.bound_source);
    if (rc) {
        if (l.msg)
            protobuf_c_message_free_unpacked(l.msg, NULL);
        return rc;
    }
    *out = l.msg;
    return 0;
}

int config_verror(char *err, size_t err_size, const char *where, const char *field, const char *fmt,
                  va_list ap)
{
    int len = snprintf(err, err_size, "%s.%s: ", where, field);
    if (len >= 0 && (size_t)len < err_size)
        vsnprintf(err + len, err_size - (size_t)len, fmt, ap);
    return HL_EINVAL;
}

int config_error(char *err, size_t err_size, const char *where, const char *field, const char *fmt,
                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = config_verror(err, err_size, where, field, fmt, ap);
    va_end(ap);
    return rc;
}
