/* connector_secret: what a connector is configured with (its secret and url) and the signature
 * it makes, on both ends of a signed request.
 *
 * Loading: the secret comes from a file (a regular file of mode 0600 or stricter) or from an
 * environment variable, never from the configuration; dispatch's crews[] and callback's
 * survey block read it the same way, with the same messages, and make their connectors from
 * their blocks the same way (connector_create_configured: the fields read by name). Signing and verifying: one HMAC
 * (HMAC-SHA256 of timestamp "." body, hex) for the connector's outbound POSTs and for a
 * receiver checking one (callback's survey answers, the test simulators), compared in
 * constant time. No state; any thread. */
#include "connector.h"

#include "config.h"
#include "hl_error.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Trailing white space (a newline an editor added) is not part of the secret. */
static size_t trim_secret(const uint8_t *s, size_t len)
{
    while (len &&
           (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return len;
}

static int read_file(const char *path, const char *where, uint8_t *out, size_t *len, char *err,
                     size_t n)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return config_error(err, n, where, "secretFile", "%s cannot be read: %s", path,
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return config_error(err, n, where, "secretFile", "%s is not a regular file", path);
    if (st.st_mode & 077)
        return config_error(err, n, where, "secretFile",
                            "%s is open to group or others (mode %04o): chmod 600 it", path,
                            (unsigned)(st.st_mode & 07777));
    FILE *f = fopen(path, "rb");
    if (!f)
        return config_error(err, n, where, "secretFile", "%s cannot be read: %s", path,
                            strerror(errno));
    size_t got = fread(out, 1, CONNECTOR_SECRET_MAX, f);
    int more = fgetc(f);
    fclose(f);
    if (more != EOF)
        return config_error(err, n, where, "secretFile", "%s is over %d bytes", path,
                            CONNECTOR_SECRET_MAX);
    *len = trim_secret(out, got);
    return 0;
}

int connector_secret_load(const char *file, const char *env, const char *where,
                          uint8_t out[CONNECTOR_SECRET_MAX], size_t *len, char *err,
                          size_t err_size)
{
    bool by_file = file && *file, by_env = env && *env;
    *len = 0;
    if (by_file == by_env)
        return config_error(err, err_size, where, by_file ? "secretEnv" : "secretFile",
                            "give exactly one of secretFile (a file, mode 0600) and secretEnv (an "
                            "environment variable's name): the secret is never written in the "
                            "configuration");
    if (by_env) {
        const char *v = getenv(env);
        if (!v)
            return config_error(err, err_size, where, "secretEnv",
                                "the environment variable %s is not set", env);
        *len = trim_secret((const uint8_t *)v, strlen(v));
        if (*len > CONNECTOR_SECRET_MAX)
            return config_error(err, err_size, where, "secretEnv", "%s is over %d bytes", env,
                                CONNECTOR_SECRET_MAX);
        memcpy(out, v, *len);
    } else {
        int rc = read_file(file, where, out, len, err, err_size);
        if (rc)
            return rc;
    }
    if (*len < CONNECTOR_SECRET_MIN)
        return config_error(err, err_size, where, by_file ? "secretFile" : "secretEnv",
                            "the secret is %zu bytes; at least %d (e.g. head -c 32 /dev/urandom | "
                            "base64)",
                            *len, CONNECTOR_SECRET_MIN);
    return 0;
}

int connector_url_check(const char *url, char *why, size_t why_size)
{
    size_t len = url ? strlen(url) : 0;
    if (strncmp(url ? url : "", "http://", 7) != 0 && strncmp(url ? url : "", "https://", 8) != 0) {
        snprintf(why, why_size, "'%.80s' is not http:// or https://", url ? url : "");
        return HL_EINVAL;
    }
    for (size_t k = 0; k < len; k++)
        if (url[k] < 0x21 || url[k] > 0x7e) {
            snprintf(why, why_size, "printable ASCII without spaces only");
            return HL_EINVAL;
        }
    if (len > CONNECTOR_URL_MAX) {
        snprintf(why, why_size, "at most %d bytes", CONNECTOR_URL_MAX);
        return HL_EINVAL;
    }
    return 0;
}

/* A string or uint32 field of an endpoint block, by its proto name; NULL / 0 when absent. */
static const char *str_field(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f;
    char *const *p = config_field((ProtobufCMessage *)m, name, &f);
    return p && f->type == PROTOBUF_C_TYPE_STRING ? *p : NULL;
}

static unsigned u32_field(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f;
    const uint32_t *p = config_field((ProtobufCMessage *)m, name, &f);
    return p && f->type == PROTOBUF_C_TYPE_UINT32 ? *p : 0;
}

int connector_create_configured(connector_t **out, uv_loop_t *loop, store_t *store, txq_t *txq,
                                hclock_t *clock, const connector_config_t *cfg, char *err,
                                size_t err_size)
{
    const ProtobufCMessage *e = cfg->endpoint;
    uint8_t secret[CONNECTOR_SECRET_MAX];
    size_t len = 0;
    *out = NULL;
    err[0] = '\0';
    int rc = connector_secret_load(str_field(e, "secret_file"), str_field(e, "secret_env"),
                                   cfg->where, secret, &len, err, err_size);
    connector_opts_t opts = {
        .name = cfg->name,
        .url = str_field(e, "url"),
        .hmac_key = secret,
        .hmac_key_len = len,
        .max_attempts = u32_field(e, "max_attempts"),
        .backoff_first_ms = u32_field(e, "backoff_first_ms"),
        .backoff_cap_ms = u32_field(e, "backoff_cap_ms"),
        .timeout_ms = u32_field(e, "timeout_ms"),
        .metrics = cfg->metrics,
    };
    if (!rc)
        rc = connector_create(out, loop, store, txq, clock, &opts);
    if (!rc && cfg->key_out) {
        memcpy(cfg->key_out, secret, len);
        *cfg->key_len_out = len;
    }
    sodium_memzero(secret, sizeof secret);
    if (rc && !err[0])
        snprintf(err, err_size, "%s: cannot start its connector: %s", cfg->where, hl_strerror(rc));
    return rc;
}

static void mac_of(const void *key, size_t key_len, const char *ts, const void *body, size_t len,
                   unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

void connector_sign(const void *key, size_t key_len, const char *ts, const void *body, size_t len,
                    char out[CONNECTOR_SIGNATURE_MAX])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    mac_of(key, key_len, ts, body, len, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, CONNECTOR_SIGNATURE_MAX - 7, mac, sizeof mac);
}

connector_sig_t connector_verify(const void *key, size_t key_len, const char *ts, const char *sig,
                                 const void *body, size_t len, int64_t now_ms, int64_t max_skew_ms,
                                 int64_t *skew_ms)
{
    *skew_ms = 0;
    size_t tl = ts ? strlen(ts) : 0;
    if (tl < 1 || tl > 18 || strspn(ts, "0123456789") != tl)
        return CONNECTOR_SIG_NO_TIMESTAMP;
    *skew_ms = now_ms - strtoll(ts, NULL, 10);
    if (*skew_ms > max_skew_ms || *skew_ms < -max_skew_ms)
        return CONNECTOR_SIG_STALE;
    unsigned char got[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
    size_t got_len = 0;
    if (!sig || strncmp(sig, "sha256=", 7) != 0 || strlen(sig + 7) != 2 * sizeof got ||
        sodium_hex2bin(got, sizeof got, sig + 7, 2 * sizeof got, NULL, &got_len, NULL) != 0 ||
        got_len != sizeof got)
        return CONNECTOR_SIG_MALFORMED;
    mac_of(key, key_len, ts, body, len, want);
    /* Constant time: how much of a forged MAC matched must not show in the answer's timing. */
    return sodium_memcmp(want, got, sizeof want) == 0 ? CONNECTOR_SIG_OK : CONNECTOR_SIG_MISMATCH;
}

const char *connector_sig_reason(connector_sig_t v)
{
    switch (v) {
    case CONNECTOR_SIG_OK: return "signed";
    case CONNECTOR_SIG_NO_TIMESTAMP:
        return "X-Hotline-Timestamp is missing or not whole milliseconds since 1970 (UTC)";
    case CONNECTOR_SIG_STALE:
        return "X-Hotline-Timestamp is too far from the receiver's clock: sign with the "
               "current time (an old request replayed is refused so)";
    case CONNECTOR_SIG_MALFORMED:
        return "X-Hotline-Signature is missing or not sha256=<64 hex digits>";
    case CONNECTOR_SIG_MISMATCH:
        return "X-Hotline-Signature does not match: HMAC-SHA256 with the shared secret of the "
               "timestamp, \".\" and the body exactly as sent, in hex";
    }
    return "?";
}
