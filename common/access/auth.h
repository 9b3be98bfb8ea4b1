/* auth: who is calling, and what a role may do.
 *
 * Roles (docs/architecture.md) are hotline.Role values; a principal is a role, a subject (the
 * unit or crew id for those roles) and a name (whose token it is). Bearer tokens are 256
 * random bits written "hlt_" + 43 base64url characters; only their BLAKE2b-256 hash is ever
 * stored, in a token registry (hotline.TokenRegistry as JSON, one file every service reads).
 * Checking a token is one hash and one binary search: no password hashing on the hot path,
 * which a 256-bit random secret does not need.
 *
 * Access tables name roles as bit sets (AUTH_OPERATOR | AUTH_SUPERVISOR); AUTH_PUBLIC means
 * "no credentials needed".
 *
 * No loop, no globals: the registry is an immutable snapshot; reloading builds a new one. */
#ifndef HOTLINE_AUTH_H
#define HOTLINE_AUTH_H

#include "hotline/auth.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_PREFIX "hlt_"
#define AUTH_TOKEN_LEN 47   /* "hlt_" + 43 base64url characters (32 bytes) */
#define AUTH_HASH_BYTES 32
#define AUTH_NAME_MAX 64    /* names and subjects, in bytes */

/* Role bits for access tables. */
#define AUTH_BIT(role) (1u << (role))
#define AUTH_OPERATOR AUTH_BIT(HOTLINE__ROLE__ROLE_OPERATOR)
#define AUTH_DISPATCHER AUTH_BIT(HOTLINE__ROLE__ROLE_DISPATCHER)
#define AUTH_UNIT AUTH_BIT(HOTLINE__ROLE__ROLE_UNIT)
#define AUTH_CREW AUTH_BIT(HOTLINE__ROLE__ROLE_CREW)
#define AUTH_CALLBACK_AGENT AUTH_BIT(HOTLINE__ROLE__ROLE_CALLBACK_AGENT)
#define AUTH_SUPERVISOR AUTH_BIT(HOTLINE__ROLE__ROLE_SUPERVISOR)
#define AUTH_ADMIN AUTH_BIT(HOTLINE__ROLE__ROLE_ADMIN)
#define AUTH_SERVICE AUTH_BIT(HOTLINE__ROLE__ROLE_SERVICE)
#define AUTH_ANY_ROLE                                                                          \
    (AUTH_OPERATOR | AUTH_DISPATCHER | AUTH_UNIT | AUTH_CREW | AUTH_CALLBACK_AGENT |             \
     AUTH_SUPERVISOR | AUTH_ADMIN | AUTH_SERVICE)
#define AUTH_PUBLIC (1u << 31) /* anyone, with or without credentials */

typedef struct auth_principal {
    Hotline__Role role;               /* ROLE_UNSPECIFIED = nobody (no credentials) */
    char subject[AUTH_NAME_MAX + 1];  /* unit / crew id, "" for other roles */
    char name[AUTH_NAME_MAX + 1];     /* the token's or key's name */
    bool trusted;                     /* checks are off (runtime.auth.disabled): may do and
                                       * see everything */
} auth_principal_t;

/* ---- roles ---- */

/* "operator", "unit", "callback-agent", ... ("?" for an unknown value). */
const char *auth_role_name(Hotline__Role role);

/* Parse "operator", "unit:water-supply", "crew:south-1", ...: unit and crew need a subject,
 * the others take none. Returns 0, or HL_EINVAL with a message in err naming the rule. */
int auth_role_parse(const char *text, Hotline__Role *role, char subject[AUTH_NAME_MAX + 1],
                    char *err, size_t err_size);

/* "unit:water-supply" or "operator": the principal's role as text (the command's actor). */
void auth_principal_format(const auth_principal_t *p, char *out, size_t out_size);

/* Whether the role bits allow the principal (AUTH_PUBLIC allows everyone, a trusted
 * principal is allowed everything). */
bool auth_allows(uint32_t roles, const auth_principal_t *p);

/* "operator, supervisor or admin": the roles in a set, for error messages. */
void auth_roles_describe(uint32_t roles, char *out, size_t out_size);

/* Copy a Principal message (may be NULL) into p, and back. */
void auth_principal_from_msg(auth_principal_t *p, const Hotline__Principal *msg);

/* A unit or crew id, a token or key name: 1..AUTH_NAME_MAX bytes of [A-Za-z0-9._-], or, for
 * names, also spaces and any UTF-8 above ASCII. Returns true when acceptable. */
bool auth_id_ok(const char *s);
bool auth_name_ok(const char *s);

/* ---- tokens ---- */

/* A new random token (NUL-terminated) and its hash. */
void auth_token_new(char token[AUTH_TOKEN_LEN + 1], uint8_t hash[AUTH_HASH_BYTES]);

/* The hash of a token as given (any bytes). */
void auth_token_hash(const char *token, size_t len, uint8_t hash[AUTH_HASH_BYTES]);

/* ---- the registry ---- */

typedef struct auth_registry auth_registry_t;

typedef enum auth_verdict {
    AUTH_OK = 0,
    AUTH_MISSING,   /* no credentials given */
    AUTH_UNKNOWN,   /* a token that is in no registry: wrong, mistyped, from another centre */
    AUTH_EXPIRED,
    AUTH_REVOKED,
} auth_verdict_t;

/* Build a registry from a TokenRegistry message (checked: a record with no role, a role that
 * needs a subject without one, a hash that is not 64 hex digits, a duplicate hash or id is an
 * error naming tokens[i].field). Errors: HL_EINVAL (message in err), HL_ENOMEM. */
int auth_registry_build(auth_registry_t **out, const Hotline__TokenRegistry *msg, char *err,
                        size_t err_size);

/* Read and build from a file. A missing file is an empty registry when missing_ok. Errors:
 * HL_ENOTFOUND, HL_EIO, HL_EINVAL (the message names the file, the field and the rule). */
int auth_registry_load(auth_registry_t **out, const char *path, bool missing_ok, char *err,
                       size_t err_size);

/* Who holds token (len bytes) at now_ms. On AUTH_OK *p is filled; on AUTH_EXPIRED /
 * AUTH_REVOKED, *when_ms says since when. */
auth_verdict_t auth_registry_check(const auth_registry_t *self, const char *token, size_t len,
                                   int64_t now_ms, auth_principal_t *p, int64_t *when_ms);

size_t auth_registry_count(const auth_registry_t *self);
void auth_registry_destroy(auth_registry_t **self);

/* ---- the registry file, for the tools that edit it (hotline token) ---- */

/* Read the file into a message (an absent file is an empty registry). Caller frees with
 * hotline__token_registry__free_unpacked. Errors as auth_registry_load. */
int auth_registry_file_read(const char *path, Hotline__TokenRegistry **out, char *err,
                            size_t err_size);

/* Write msg to path atomically (a temporary file renamed over it), mode 0600.
 * Errors: HL_EIO (message in err). */
int auth_registry_file_write(const char *path, const Hotline__TokenRegistry *msg, char *err,
                             size_t err_size);

#endif
