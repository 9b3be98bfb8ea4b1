/* auth: roles, principals, tokens and the token registry. Pure; any thread. */
#include "auth.h"

#include "bytes.h"
#include "hl_error.h"
#include "pbjson.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REGISTRY_FILE_MAX (16u << 20)

/* ---- roles ---- */

static const char *const ROLE_NAMES[] = {
    [HOTLINE__ROLE__ROLE_UNSPECIFIED] = "nobody",
    [HOTLINE__ROLE__ROLE_OPERATOR] = "operator",
    [HOTLINE__ROLE__ROLE_DISPATCHER] = "dispatcher",
    [HOTLINE__ROLE__ROLE_UNIT] = "unit",
    [HOTLINE__ROLE__ROLE_CREW] = "crew",
    [HOTLINE__ROLE__ROLE_CALLBACK_AGENT] = "callback-agent",
    [HOTLINE__ROLE__ROLE_SUPERVISOR] = "supervisor",
    [HOTLINE__ROLE__ROLE_ADMIN] = "admin",
    [HOTLINE__ROLE__ROLE_SERVICE] = "service",
};
#define NROLES (sizeof ROLE_NAMES / sizeof ROLE_NAMES[0])

static bool needs_subject(Hotline__Role role)
{
    return role == HOTLINE__ROLE__ROLE_UNIT || role == HOTLINE__ROLE__ROLE_CREW;
}

const char *auth_role_name(Hotline__Role role)
{
    return (unsigned)role < NROLES ? ROLE_NAMES[role] : "?";
}

bool auth_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return n >= 1 && n <= AUTH_NAME_MAX;
}

bool auth_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > AUTH_NAME_MAX || !utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int auth_role_parse(const char *text, Hotline__Role *role, char subject[AUTH_NAME_MAX + 1],
                    char *err, size_t err_size)
{
    const char *colon = strchr(text, ':');
    size_t rlen = colon ? (size_t)(colon - text) : strlen(text);
    *role = HOTLINE__ROLE__ROLE_UNSPECIFIED;
    subject[0] = '\0';
    for (unsigned r = 1; r < NROLES; r++)
        if (strlen(ROLE_NAMES[r]) == rlen && strncmp(ROLE_NAMES[r], text, rlen) == 0)
            *role = (Hotline__Role)r;
    if (*role == HOTLINE__ROLE__ROLE_UNSPECIFIED) {
        snprintf(err, err_size, "'%.40s' is not a role: use operator, dispatcher, unit:<id>, "
                 "crew:<id>, callback-agent, supervisor, admin or service", text);
        return HL_EINVAL;
    }
    if (needs_subject(*role)) {
        if (!colon || !auth_id_ok(colon + 1)) {
            snprintf(err, err_size, "role %s needs its id: %s:<id>, 1 to %d of A-Z a-z 0-9 . _ -",
                     ROLE_NAMES[*role], ROLE_NAMES[*role], AUTH_NAME_MAX);
            return HL_EINVAL;
        }
        snprintf(subject, AUTH_NAME_MAX + 1, "%s", colon + 1);
    } else if (colon) {
        snprintf(err, err_size, "role %s takes no id (only unit:<id> and crew:<id> do)",
                 ROLE_NAMES[*role]);
        return HL_EINVAL;
    }
    return 0;
}

void auth_principal_format(const auth_principal_t *p, char *out, size_t out_size)
{
    if (p->subject[0])
        snprintf(out, out_size, "%s:%s", auth_role_name(p->role), p->subject);
    else
        str_copy(out, out_size, auth_role_name(p->role));
}

bool auth_allows(uint32_t roles, const auth_principal_t *p)
{
    if ((roles & AUTH_PUBLIC) || p->trusted)
        return true;
    return p->role != HOTLINE__ROLE__ROLE_UNSPECIFIED && (unsigned)p->role < NROLES &&
           (roles & AUTH_BIT(p->role));
}

void auth_roles_describe(uint32_t roles, char *out, size_t out_size)
{
    size_t n = 0, count = 0, total = 0;
    out[0] = '\0';
    for (unsigned r = 1; r < NROLES; r++)
        total += (roles & AUTH_BIT(r)) != 0;
    if (total == 0) {
        snprintf(out, out_size, "no role");
        return;
    }
    for (unsigned r = 1; r < NROLES && n < out_size; r++) {
        if (!(roles & AUTH_BIT(r)))
            continue;
        count++;
        const char *sep = count == 1 ? "" : count == total ? " or " : ", ";
        n += (size_t)snprintf(out + n, out_size - n, "%s%s%s", sep, ROLE_NAMES[r],
                              needs_subject((Hotline__Role)r) ? ":<id>" : "");
    }
}

void auth_principal_from_msg(auth_principal_t *p, const Hotline__Principal *msg)
{
    memset(p, 0, sizeof *p);
    if (!msg)
        return;
    p->role = msg->role;
    snprintf(p->subject, sizeof p->subject, "%s", msg->subject ? msg->subject : "");
    snprintf(p->name, sizeof p->name, "%s", msg->name ? msg->name : "");
}

/* ---- tokens ---- */

void auth_token_hash(const char *token, size_t len, uint8_t hash[AUTH_HASH_BYTES])
{
    crypto_generichash(hash, AUTH_HASH_BYTES, (const unsigned char *)token, len, NULL, 0);
}

void auth_token_new(char token[AUTH_TOKEN_LEN + 1], uint8_t hash[AUTH_HASH_BYTES])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(token, AUTH_TOKEN_PREFIX, 4);
    sodium_bin2base64(token + 4, AUTH_TOKEN_LEN + 1 - 4, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    auth_token_hash(token, AUTH_TOKEN_LEN, hash);
}

/* ---- the registry ---- */

typedef struct entry {
    uint8_t hash[AUTH_HASH_BYTES];
    auth_principal_t who;
    int64_t expires_ms, revoked_ms;
} entry_t;

struct auth_registry {
    entry_t *entries; /* sorted by hash */
    size_t n;
};

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(((const entry_t *)a)->hash, ((const entry_t *)b)->hash, AUTH_HASH_BYTES);
}

static int record_check(const Hotline__TokenRecord *t, size_t i, entry_t *e, char *err,
                        size_t err_size)
{
    const char *name = t->name ? t->name : "";
    const char *subject = t->subject ? t->subject : "";
    const char *hash = t->hash ? t->hash : "";
    size_t bin_len = 0;
    if (t->role == HOTLINE__ROLE__ROLE_UNSPECIFIED || (unsigned)t->role >= NROLES) {
        snprintf(err, err_size, "tokens[%zu].role: required, one of ROLE_OPERATOR ... "
                 "ROLE_SERVICE", i);
        return HL_EINVAL;
    }
    if (needs_subject(t->role) ? !auth_id_ok(subject) : *subject != '\0') {
        snprintf(err, err_size, "tokens[%zu].subject: %s", i,
                 needs_subject(t->role) ? "required for unit and crew tokens: their id"
                                        : "only unit and crew tokens have one");
        return HL_EINVAL;
    }
    if (!auth_name_ok(name)) {
        snprintf(err, err_size, "tokens[%zu].name: 1 to %d bytes of text", i, AUTH_NAME_MAX);
        return HL_EINVAL;
    }
    if (strlen(hash) != 2 * AUTH_HASH_BYTES ||
        sodium_hex2bin(e->hash, sizeof e->hash, hash, strlen(hash), NULL, &bin_len, NULL) ||
        bin_len != AUTH_HASH_BYTES) {
        snprintf(err, err_size, "tokens[%zu].hash: must be 64 hex digits (the token's "
                 "BLAKE2b-256)", i);
        return HL_EINVAL;
    }
    e->who.role = t->role;
    snprintf(e->who.subject, sizeof e->who.subject, "%s", subject);
    snprintf(e->who.name, sizeof e->who.name, "%s", name);
    e->expires_ms = t->expires_ms;
    e->revoked_ms = t->revoked_ms;
    return 0;
}

int auth_registry_build(auth_registry_t **out, const Hotline__TokenRegistry *msg, char *err,
                        size_t err_size)
{
    *out = NULL;
    auth_registry_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    size_t n = msg ? msg->n_tokens : 0;
    self->entries = n ? calloc(n, sizeof *self->entries) : NULL;
    if (n && !self->entries) {
        free(self);
        return HL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = record_check(msg->tokens[i], i, &self->entries[i], err, err_size);
        if (rc) {
            auth_registry_destroy(&self);
            return rc;
        }
        for (size_t k = 0; k < i; k++) {
            const char *a = msg->tokens[k]->id, *b = msg->tokens[i]->id;
            if (a && b && *b && strcmp(a, b) == 0) {
                snprintf(err, err_size, "tokens[%zu].id: '%.20s' is also tokens[%zu].id", i, b,
                         k);
                auth_registry_destroy(&self);
                return HL_EINVAL;
            }
        }
    }
    self->n = n;
    if (n)
        qsort(self->entries, n, sizeof *self->entries, cmp_entry);
    for (size_t i = 1; i < n; i++) {
        if (cmp_entry(&self->entries[i - 1], &self->entries[i]) == 0) {
            snprintf(err, err_size, "tokens: two records have the same hash (%s and %s)",
                     self->entries[i - 1].who.name, self->entries[i].who.name);
            auth_registry_destroy(&self);
            return HL_EINVAL;
        }
    }
    *out = self;
    return 0;
}

int auth_registry_file_read(const char *path, Hotline__TokenRegistry **out, char *err,
                            size_t err_size)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *out = malloc(sizeof **out);
            if (!*out)
                return HL_ENOMEM;
            hotline__token_registry__init(*out);
            return HL_ENOTFOUND;
        }
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return HL_EIO;
    }
    struct stat st;
    char *buf = NULL;
    ssize_t got = -1;
    if (fstat(fd, &st) == 0 && st.st_size <= (off_t)REGISTRY_FILE_MAX &&
        (buf = malloc((size_t)st.st_size + 1)) != NULL) {
        got = 0;
        while (got < st.st_size) {
            ssize_t r = read(fd, buf + got, (size_t)(st.st_size - got));
            if (r <= 0)
                break;
            got += r;
        }
    }
    close(fd);
    if (!buf || got != st.st_size) {
        free(buf);
        snprintf(err, err_size, "%s: cannot read (larger than %u bytes, or a read failed)",
                 path, REGISTRY_FILE_MAX);
        return HL_EIO;
    }
    pbjson_error_t perr;
    ProtobufCMessage *msg;
    int rc = pbjson_decode(&hotline__token_registry__descriptor, got ? buf : "{}",
                           got ? (size_t)got : 2, NULL, &msg, &perr);
    free(buf);
    if (rc) {
        snprintf(err, err_size, "%s: %s: %s", path, perr.field, perr.message);
        return HL_EINVAL;
    }
    *out = (Hotline__TokenRegistry *)msg;
    return 0;
}

int auth_registry_load(auth_registry_t **out, const char *path, bool missing_ok, char *err,
                       size_t err_size)
{
    *out = NULL;
    Hotline__TokenRegistry *msg;
    int rc = auth_registry_file_read(path, &msg, err, err_size);
    if (rc == HL_ENOTFOUND && !missing_ok) {
        snprintf(err, err_size, "%s: no such file (create tokens with `hotline token create`)",
                 path);
        hotline__token_registry__free_unpacked(msg, NULL);
        return rc;
    }
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    char why[300];
    rc = auth_registry_build(out, msg, why, sizeof why);
    hotline__token_registry__free_unpacked(msg, NULL);
    if (rc == HL_EINVAL)
        snprintf(err, err_size, "%s: %s", path, why);
    return rc;
}

int auth_registry_file_write(const char *path, const Hotline__TokenRegistry *msg, char *err,
                             size_t err_size)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) {
        snprintf(err, err_size, "%s: path too long", path);
        return HL_EIO;
    }
    char *text = pbjson_encode_string(&msg->base, false);
    if (!text) {
        snprintf(err, err_size, "out of memory");
        return HL_ENOMEM;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(text), off = 0;
    bool ok = fd >= 0;
    while (ok && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    ok = ok && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        snprintf(err, err_size, "%s: cannot write: %s", path, strerror(saved));
        return HL_EIO;
    }
    return 0;
}

auth_verdict_t auth_registry_check(const auth_registry_t *self, const char *token, size_t len,
                                   int64_t now_ms, auth_principal_t *p, int64_t *when_ms)
{
    if (!token || len == 0)
        return AUTH_MISSING;
    if (!self)
        return AUTH_UNKNOWN;
    entry_t key;
    auth_token_hash(token, len, key.hash);
    const entry_t *e = self->n ? bsearch(&key, self->entries, self->n, sizeof *self->entries,
                                         cmp_entry)
                               : NULL;
    if (!e)
        return AUTH_UNKNOWN;
    if (e->revoked_ms) {
        *when_ms = e->revoked_ms;
        return AUTH_REVOKED;
    }
    if (e->expires_ms && now_ms >= e->expires_ms) {
        *when_ms = e->expires_ms;
        return AUTH_EXPIRED;
    }
    *p = e->who;
    return AUTH_OK;
}

size_t auth_registry_count(const auth_registry_t *self)
{
    return self ? self->n : 0;
}

void auth_registry_destroy(auth_registry_t **self)
{
    if (!self || !*self)
        return;
    free((*self)->entries);
    free(*self);
    *self = NULL;
}
