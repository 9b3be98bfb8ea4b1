/* pbjson: what decoding and encoding share: Hotline's field limits, JSON names, parsing, and
 * the readers that turn one JSON value into one protobuf scalar (pbjson_private.h). Walking
 * messages is in pbjson_decode.c and pbjson_encode.c. */
#include "hl_error.h"
#include "pbjson.h"
#include "pbjson_private.h"
#include "utf8.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row per string field a person types or a system fills, so that an oversized value is
 * refused with a message naming the field instead of being stored. Everything else gets the
 * default of 1024 code points. For a repeated field the limit applies to each item. */
static const pbjson_field_limit_t hotline_field_limits[] = {
    /* ticket.proto */
    {"hotline.Ticket.id", 32},               /* 20261125-1-000123 */
    {"hotline.Ticket.category_code", 16},    /* W0402 */
    {"hotline.Ticket.description", 4000},    /* what the caller said, as recorded */
    {"hotline.Ticket.media_urls", 2048},     /* each URL */
    {"hotline.Ticket.external_ref", 128},    /* provincial platform / Open311 id */
    {"hotline.Contact.name", 100},
    {"hotline.Contact.phone", 32},           /* +86 and extension fit */
    {"hotline.Contact.email", 254},          /* RFC 5321 path limit */
    {"hotline.Location.district", 200},
    {"hotline.Location.street", 200},
    {"hotline.Location.community", 200},
    {"hotline.Location.address", 200},
    /* command.proto, event.proto, feed.proto: identifiers */
    {"hotline.Command.idempotency_key", 128},
    {"hotline.Command.actor", 128},
    {"hotline.Event.source", 64},
    {"hotline.Event.ticket_id", 32},
    {"hotline.FeedFetch.consumer", 128},
    /* the routing catalogue file (dispatch checks it line by line, up to 1 MiB) */
    {"hotline.LoadCatalogue.text", 1024 * 1024},
    /* unit and agent actions */
    {"hotline.ReplyTicket.result", 2000},    /* what the unit did, told to the citizen */
    {"hotline.TicketReplied.result", 2000},
    {"hotline.TicketView.reply_text", 2000},
    {"hotline.SignTicket.unit", 64},
    {"hotline.ReplyTicket.unit", 64},
    {"hotline.ContactCitizen.note", 2000},   /* how the unit reached the citizen */
    {"hotline.CitizenContacted.note", 2000},
    {"hotline.ContactCitizen.unit", 64},
    {"hotline.AddTicketNote.text", 2000},    /* a progress note */
    {"hotline.TicketNoted.text", 2000},
    {"hotline.AddTicketNote.unit", 64},
    {"hotline.RedirectTicket.to_unit", 64},
    {"hotline.RedirectTicket.reason", 2000},   /* why the ticket changes unit */
    {"hotline.TicketRedirected.reason", 2000},
    {"hotline.RequestReturn.unit", 64},
    {"hotline.RequestReturn.reason", 2000},
    {"hotline.RequestReturn.basis", 2000},
    {"hotline.ReturnRequested.reason", 2000},
    {"hotline.ReturnRequested.basis", 2000},
    {"hotline.ReviewReturn.to_unit", 64},
    {"hotline.ReviewReturn.note", 2000},
    {"hotline.ReturnReviewed.note", 2000},
    {"hotline.RecordCallback.comment", 1000},
    {"hotline.CallbackRated.comment", 1000},
    {"hotline.RecordCallback.agent", 64},
    {"hotline.NextCallback.agent", 64},
    /* config.proto: file system paths */
    {"hotline.RuntimeConfig.data_dir", 4096},
    {NULL, 0},
};

static const pbjson_limits_t hotline_limits = {
    .max_string_chars = 1024,
    .max_bytes_len = 1024 * 1024,
    .max_repeated = 1000,
    .max_depth = 32,
    .fields = hotline_field_limits,
};

const pbjson_limits_t *pbjson_default_limits(void)
{
    return &hotline_limits;
}

int pbjson_parse(const char *json, size_t len, json_t **out, pbjson_error_t *err)
{
    json_error_t jerr;

    *out = NULL;
    err->field[0] = '\0';
    err->message[0] = '\0';
    /* JSON_ALLOW_NUL: a string holding \u0000 is refused later with the field's name. */
    json_t *root = json_loadb(json ? json : "", json ? len : 0,
                              JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory) {
            snprintf(err->message, sizeof err->message, "out of memory");
            return HL_ENOMEM;
        }
        snprintf(err->message, sizeof err->message, "malformed JSON at line %d column %d: %s",
                 jerr.line, jerr.column, jerr.text);
        /* jansson quotes the input near the error as is: keep the message valid UTF-8 and
         * printable, it goes back to the sender inside a JSON reply. */
        unsigned char *m = (unsigned char *)err->message;
        for (size_t i = 0, n = strlen(err->message); i < n;) {
            size_t k = utf8_seq(m + i, n - i, NULL);
            if (k == 0 || m[i] < 0x20 || m[i] == 0x7f) {
                m[i++] = '?';
            } else {
                i += k;
            }
        }
        return HL_EINVAL;
    }
    *out = root;
    return 0;
}

void pbjson_json_name(const char *field_name, char *out, size_t out_size)
{
    size_t n = 0;
    bool upper_next = false;

    if (out_size == 0)
        return;
    /* protoc's rule: drop each '_' and upper-case the letter after it. */
    for (const char *p = field_name; *p && n + 1 < out_size; p++) {
        if (*p == '_') {
            upper_next = true;
        } else if (upper_next && *p >= 'a' && *p <= 'z') {
            out[n++] = (char)(*p - 'a' + 'A');
            upper_next = false;
        } else {
            out[n++] = *p;
            upper_next = false;
        }
    }
    out[n] = '\0';
}

/* ---- helpers shared by the decoder and the encoder ----------------------------------------- */

size_t pbjson_value_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return sizeof(int32_t);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return sizeof(uint32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return sizeof(int64_t);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

const char *pbjson_type_name(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: return "int32";
    case PROTOBUF_C_TYPE_SINT32: return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
    case PROTOBUF_C_TYPE_INT64: return "int64";
    case PROTOBUF_C_TYPE_SINT64: return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32: return "uint32";
    case PROTOBUF_C_TYPE_FIXED32: return "fixed32";
    case PROTOBUF_C_TYPE_UINT64: return "uint64";
    case PROTOBUF_C_TYPE_FIXED64: return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT: return "float";
    case PROTOBUF_C_TYPE_DOUBLE: return "double";
    case PROTOBUF_C_TYPE_BOOL: return "bool";
    case PROTOBUF_C_TYPE_ENUM: return "enum";
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE: return "message";
    }
    return "?";
}

const char *pbjson_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

void pbjson_quote(char *out, size_t size, const char *s, size_t len)
{
    /* Messages end up in JSON replies, so they must stay valid UTF-8. */
    size_t cut = utf8_cut(s, len, 48), n = 0;
    for (size_t i = 0; i < cut && n + 1 < size; i++)
        out[n++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (cut < len && n + 4 < size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

bool pbjson_list_append(char *buf, size_t size, size_t *n, const char *item)
{
    const char *sep = *n ? ", " : "";

    if (*n + strlen(sep) + strlen(item) + 6 > size) {
        snprintf(buf + *n, size - *n, "%s...", sep);
        return false;
    }
    *n += (size_t)snprintf(buf + *n, size - *n, "%s%s", sep, item);
    return true;
}

static int why_fmt(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int why_fmt(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    utf8_trim_cut(why);
    return HL_EINVAL;
}

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool ascii_caseeq(const char *a, const char *b)
{
    while (*a && ascii_upper(*a) == ascii_upper(*b))
        a++, b++;
    return *a == '\0' && *b == '\0';
}

/* ---- integers and floats ------------------------------------------------------------------ */

typedef struct integer {
    bool neg;       /* a minus sign ("-0" included) */
    uint64_t mag;   /* magnitude, when !big */
    bool big;       /* does not fit 64 bits */
    char text[80];  /* the value as given, for messages */
} integer_t;

/* The integer in v: a JSON integer, an integral real, or a decimal string. */
static int read_integer(const json_t *v, integer_t *x, char *why, size_t why_size)
{
    memset(x, 0, sizeof *x);
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        snprintf(x->text, sizeof x->text, "%" JSON_INTEGER_FORMAT, i);
        x->neg = i < 0;
        x->mag = i < 0 ? (uint64_t)(-(i + 1)) + 1 : (uint64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double r = json_real_value(v);
        snprintf(x->text, sizeof x->text, "%.17g", r);
        if (!isfinite(r) || floor(r) != r)
            return why_fmt(why, why_size, "expected an integer, got %s", x->text);
        x->neg = r < 0;
        if (fabs(r) >= 18446744073709551616.0)
            x->big = true;
        else
            x->mag = (uint64_t)fabs(r);
        return 0;
    }
    if (!json_is_string(v))
        return why_fmt(why, why_size, "expected an integer, got %s", pbjson_json_kind(v));

    const char *s = json_string_value(v);
    size_t len = json_string_length(v), i = 0;
    char q[64];

    pbjson_quote(q, sizeof q, s, len);
    snprintf(x->text, sizeof x->text, "\"%s\"", q);
    if (len > 0 && s[0] == '-')
        x->neg = true, i = 1;
    if (i == len)
        return why_fmt(why, why_size, "expected an integer, got %s", x->text);
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return why_fmt(why, why_size, "expected an integer, got %s", x->text);
        unsigned digit = (unsigned)(s[i] - '0');
        if (x->mag > (UINT64_MAX - digit) / 10)
            x->big = true;
        else
            x->mag = x->mag * 10 + digit;
    }
    return 0;
}

int pbjson_read_int(const json_t *v, ProtobufCType t, int64_t *out, char *why, size_t why_size)
{
    bool wide = t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_SINT64 ||
                t == PROTOBUF_C_TYPE_SFIXED64;
    int64_t min = wide ? INT64_MIN : INT32_MIN, max = wide ? INT64_MAX : INT32_MAX;
    integer_t x;
    int rc = read_integer(v, &x, why, why_size);

    if (rc)
        return rc;
    /* min is -(max + 1). */
    if (x.big || (x.neg && x.mag > (uint64_t)max + 1) || (!x.neg && x.mag > (uint64_t)max))
        return why_fmt(why, why_size, "%s is out of range for %s (%" PRId64 "..%" PRId64 ")",
                       x.text, pbjson_type_name(t), min, max);
    *out = (!x.neg || x.mag == 0) ? (int64_t)x.mag : -(int64_t)(x.mag - 1) - 1;
    return 0;
}

int pbjson_read_uint(const json_t *v, ProtobufCType t, uint64_t *out, char *why,
                     size_t why_size)
{
    bool wide = t == PROTOBUF_C_TYPE_UINT64 || t == PROTOBUF_C_TYPE_FIXED64;
    uint64_t max = wide ? UINT64_MAX : UINT32_MAX;
    integer_t x;
    int rc = read_integer(v, &x, why, why_size);

    if (rc)
        return rc;
    if (x.big || (x.neg && x.mag != 0) || x.mag > max)
        return why_fmt(why, why_size, "%s is out of range for %s (0..%" PRIu64 ")", x.text,
                       pbjson_type_name(t), max);
    *out = x.mag;
    return 0;
}

int pbjson_read_double(const json_t *v, ProtobufCType t, double *out, char *why,
                       size_t why_size)
{
    if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
    } else if (json_is_real(v)) {
        *out = json_real_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        char q[64], *end = NULL;

        pbjson_quote(q, sizeof q, s, len);
        if (len != strlen(s))
            return why_fmt(why, why_size, "expected a number, got \"%s\"", q);
        if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
            *out = s[0] == 'N' ? NAN : s[0] == '-' ? -INFINITY : INFINITY;
            return 0;
        }
        /* strtod alone would take " 1", "0x1p3" and "inf": allow only JSON number characters. */
        bool ok = len > 0 && strspn(s, "0123456789+-.eE") == len && s[0] != '+' && s[0] != '.';
        if (ok) {
            *out = strtod(s, &end);
            ok = end == s + len;
        }
        if (!ok)
            return why_fmt(why, why_size, "expected a number, got \"%s\"", q);
        if (isinf(*out))
            return why_fmt(why, why_size, "\"%s\" is out of range for %s", q,
                           pbjson_type_name(t));
    } else {
        return why_fmt(why, why_size, "expected a number, got %s", pbjson_json_kind(v));
    }
    if (t == PROTOBUF_C_TYPE_FLOAT && isfinite(*out) && fabs(*out) > FLT_MAX)
        return why_fmt(why, why_size, "%.17g is out of range for float (largest %.9g)", *out,
                       (double)FLT_MAX);
    return 0;
}

/* ---- enums -------------------------------------------------------------------------------- */

/* The prefix every value name shares, up to and including its last '_' ("URGENCY_"). */
static size_t enum_common_prefix(const ProtobufCEnumDescriptor *ed)
{
    if (ed->n_values == 0)
        return 0;
    const char *first = ed->values[0].name;
    size_t n = strlen(first);
    for (unsigned i = 1; i < ed->n_values; i++) {
        size_t k = 0;
        while (k < n && first[k] == ed->values[i].name[k])
            k++;
        n = k;
    }
    while (n > 0 && first[n - 1] != '_')
        n--;
    return n;
}

/* The enum's own name as a value prefix: AppealType -> "APPEAL_TYPE_". */
static void enum_name_prefix(const ProtobufCEnumDescriptor *ed, char *out, size_t size)
{
    size_t n = 0;
    const char *s = ed->short_name;

    for (size_t i = 0; s[i] && n + 3 < size; i++) {
        bool upper = s[i] >= 'A' && s[i] <= 'Z';
        bool after_lower = i > 0 && ((s[i - 1] >= 'a' && s[i - 1] <= 'z') ||
                                     (s[i - 1] >= '0' && s[i - 1] <= '9'));
        if (upper && after_lower)
            out[n++] = '_';
        out[n++] = ascii_upper(s[i]);
    }
    out[n++] = '_';
    out[n] = '\0';
}

static int unknown_enum(const ProtobufCEnumDescriptor *ed, const char *what, char *why,
                        size_t why_size)
{
    char allowed[400] = "";
    size_t n = 0;

    for (unsigned i = 0; i < ed->n_values; i++)
        if (!pbjson_list_append(allowed, sizeof allowed, &n, ed->values[i].name))
            break;
    return why_fmt(why, why_size, "unknown enum value %s; allowed: %s", what, allowed);
}

int pbjson_read_enum(const ProtobufCEnumDescriptor *ed, const json_t *v, int *out, char *why,
                     size_t why_size)
{
    char what[80];

    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        const ProtobufCEnumValue *ev =
            (x >= INT32_MIN && x <= INT32_MAX) ? protobuf_c_enum_descriptor_get_value(ed, (int)x)
                                               : NULL;
        if (ev) {
            *out = ev->value;
            return 0;
        }
        snprintf(what, sizeof what, "%" JSON_INTEGER_FORMAT, x);
        return unknown_enum(ed, what, why, why_size);
    }
    if (!json_is_string(v))
        return why_fmt(why, why_size, "expected an enum value name (a string), got %s",
                       pbjson_json_kind(v));

    const char *s = json_string_value(v);
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
    if (!ev) {
        char own[128];
        size_t common = enum_common_prefix(ed), own_len;

        enum_name_prefix(ed, own, sizeof own);
        own_len = strlen(own);
        for (unsigned i = 0; i < ed->n_values && !ev; i++) {
            const char *name = ed->values[i].name;
            if (ascii_caseeq(name, s) || ascii_caseeq(name + common, s) ||
                (strncmp(name, own, own_len) == 0 && ascii_caseeq(name + own_len, s)))
                ev = &ed->values[i];
        }
    }
    if (!ev || strlen(s) != json_string_length(v)) {
        char q[64];
        pbjson_quote(q, sizeof q, s, json_string_length(v));
        snprintf(what, sizeof what, "\"%s\"", q);
        return unknown_enum(ed, what, why, why_size);
    }
    *out = ev->value;
    return 0;
}

/* ---- bytes -------------------------------------------------------------------------------- */

int pbjson_read_bytes(const json_t *v, size_t max_len, ProtobufCBinaryData *out, char *why,
                      size_t why_size)
{
    out->len = 0;
    out->data = NULL;
    if (!json_is_string(v))
        return why_fmt(why, why_size, "expected a base64 string, got %s", pbjson_json_kind(v));

    const char *s = json_string_value(v);
    size_t len = json_string_length(v), bin_len = 0;
    if (len == 0)
        return 0;
    /* Both alphabets are accepted, but not mixed; padding is optional. */
    bool url = strpbrk(s, "-_") != NULL, std = strpbrk(s, "+/") != NULL;
    if (url && std)
        return why_fmt(why, why_size, "not valid base64: mixes the standard (+/) and URL-safe "
                                      "(-_) alphabets");
    bool padded = s[len - 1] == '=';
    int variant = url ? (padded ? sodium_base64_VARIANT_URLSAFE
                                : sodium_base64_VARIANT_URLSAFE_NO_PADDING)
                      : (padded ? sodium_base64_VARIANT_ORIGINAL
                                : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    size_t room = len / 4 * 3 + 3; /* the decoded size, give or take padding */
    if (room - 3 > max_len && room - 3 - max_len > 3)
        return why_fmt(why, why_size, "longer than %zu bytes (got about %zu)", max_len,
                       room - 3);
    out->data = malloc(room);
    if (!out->data) {
        snprintf(why, why_size, "out of memory");
        return HL_ENOMEM;
    }
    int rc = 0;
    if (sodium_base642bin(out->data, room, s, len, NULL, &bin_len, NULL, variant) != 0)
        rc = why_fmt(why, why_size, "not valid base64");
    else if (bin_len > max_len)
        rc = why_fmt(why, why_size, "longer than %zu bytes (got %zu)", max_len, bin_len);
    if (rc || bin_len == 0) {
        free(out->data);
        out->data = NULL;
        bin_len = 0;
    }
    out->len = bin_len;
    return rc;
}
