/* cli_token: `hotline token create|list|revoke` edit the token registry file every service
 * reads (services notice a change within runtime.auth.reloadMs); `hotline keys` makes CURVE
 * key pairs for the bus.
 *
 * The registry holds hashes only: a new token is printed once and never stored. Editing is
 * local (the file's mode 0600 is the permission to do it) and serialised with a lock file, so
 * two `hotline token create` at once both land. */
#include "cli.h"

#include "auth.h"
#include "hl_error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* The registry path: --tokens-file, else $HOTLINE_TOKENS_FILE, else DATA_DIR/tokens.json. */
static void registry_path(const cli_t *cli, const char *given, char *out, size_t size)
{
    const char *env = getenv("HOTLINE_TOKENS_FILE");
    if (given)
        snprintf(out, size, "%s", given);
    else if (env && *env)
        snprintf(out, size, "%s", env);
    else
        snprintf(out, size, "%s/tokens.json", cli_data_dir(cli));
}

/* Lock the registry for a read-modify-write; returns the lock fd or -1 (message printed). */
static int lock_registry(const cli_t *cli, const char *path)
{
    char lock[PATH_MAX + 8];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        fprintf(stderr, "%s: cannot lock %s: %s\n", cli->prog, lock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* "30d", "12h", "90m", "never" -> milliseconds (0 = never). */
static int parse_lifetime(const char *text, int64_t *ms)
{
    if (strcmp(text, "never") == 0) {
        *ms = 0;
        return 0;
    }
    char *end;
    long long v = strtoll(text, &end, 10);
    int64_t unit = strcmp(end, "d") == 0 ? 86400000 : strcmp(end, "h") == 0 ? 3600000
                   : strcmp(end, "m") == 0 ? 60000 : 0;
    if (end == text || v < 1 || v > 3650 * 24 * 60 || !unit || (int64_t)v * unit > 3650LL * 86400000)
        return -1;
    *ms = (int64_t)v * unit;
    return 0;
}

/* Create a token: the registry gets its hash, the caller gets the token (printed once, or
 * written to a file of mode 0600 with --out). Shared with `hotline up`. */
int cli_token_create(const cli_t *cli, const char *path, const char *role_text,
                     const char *name, int64_t lifetime_ms, char token[AUTH_TOKEN_LEN + 1],
                     char id_out[17])
{
    Hotline__Role role;
    char subject[AUTH_NAME_MAX + 1], err[512];
    if (auth_role_parse(role_text, &role, subject, err, sizeof err)) {
        fprintf(stderr, "%s: --role: %s\n", cli->prog, err);
        return CLI_USAGE;
    }
    if (!auth_name_ok(name)) {
        fprintf(stderr, "%s: --name: 1 to %d bytes of text, no control characters\n",
                cli->prog, AUTH_NAME_MAX);
        return CLI_USAGE;
    }
    int lock = lock_registry(cli, path);
    if (lock < 0)
        return CLI_REFUSED;
    Hotline__TokenRegistry *reg;
    int rc = auth_registry_file_read(path, &reg, err, sizeof err);
    if (rc && rc != HL_ENOTFOUND) {
        fprintf(stderr, "%s: %s\n", cli->prog, err);
        close(lock);
        return CLI_REFUSED;
    }
    uint8_t hash[AUTH_HASH_BYTES], idbin[6];
    char hex[2 * AUTH_HASH_BYTES + 1];
    auth_token_new(token, hash);
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    randombytes_buf(idbin, sizeof idbin);
    sodium_bin2hex(id_out, 17, idbin, sizeof idbin);
    Hotline__TokenRecord *r = malloc(sizeof *r);
    Hotline__TokenRecord **grown = realloc(reg->tokens, (reg->n_tokens + 1) * sizeof *grown);
    if (!r || !grown) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        free(r);
        hotline__token_registry__free_unpacked(reg, NULL);
        close(lock);
        return CLI_SERVER;
    }
    reg->tokens = grown;
    hotline__token_record__init(r);
    r->id = strdup(id_out);
    r->name = strdup(name);
    r->role = role;
    r->subject = strdup(subject);
    r->hash = strdup(hex);
    r->created_ms = cli_now_ms();
    r->expires_ms = lifetime_ms ? r->created_ms + lifetime_ms : 0;
    reg->tokens[reg->n_tokens++] = r;
    rc = auth_registry_file_write(path, reg, err, sizeof err);
    hotline__token_registry__free_unpacked(reg, NULL);
    close(lock);
    if (rc) {
        fprintf(stderr, "%s: %s\n", cli->prog, err);
        return CLI_REFUSED;
    }
    return CLI_OK;
}

static int write_secret_file(const char *path, const char *text)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
    ok = fsync(fd) == 0 && ok;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int token_create(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},   {"name", required_argument, NULL, 'n'},
        {"expires", required_argument, NULL, 'e'}, {"tokens-file", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},    {NULL, 0, NULL, 0},
    };
    const char *role = NULL, *name = NULL, *file = NULL, *out = NULL;
    int64_t lifetime = 0;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0) {
        if (c == 'r')
            role = optarg;
        else if (c == 'n')
            name = optarg;
        else if (c == 'f')
            file = optarg;
        else if (c == 'o')
            out = optarg;
        else if (parse_lifetime(optarg, &lifetime) != 0)
            return cli_usage_error(cli, "--expires: '%s' must be like 30d, 12h, 90m (up to 10 "
                                   "years) or never", optarg);
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (!role || !name || optind != argc)
        return cli_usage_error(cli, "needs --role and --name, and no other arguments");
    char path[PATH_MAX], token[AUTH_TOKEN_LEN + 1], id[17];
    registry_path(cli, file, path, sizeof path);
    int rc = cli_token_create(cli, path, role, name, lifetime, token, id);
    if (rc)
        return rc;
    if (out && write_secret_file(out, token) != 0) {
        fprintf(stderr, "%s: --out: cannot write %s: %s (the token was created: revoke %s)\n",
                cli->prog, out, strerror(errno), id);
        sodium_memzero(token, sizeof token);
        return CLI_REFUSED;
    }
    if (cli->json) {
        json_t *j = json_pack("{s:s, s:s, s:s}", "id", id, "role", role, "name", name);
        if (!out)
            json_object_set_new(j, "token", json_string(token));
        cli_print_json(j);
        json_decref(j);
    } else if (out) {
        printf("token %s (%s, %s) written to %s\n", id, role, name, out);
    } else {
        printf("%s\n", token);
        fprintf(stderr, "token %s for %s (%s): shown once, only its hash is kept in %s; the "
                "services accept it within a second\n", id, name, role, path);
    }
    sodium_memzero(token, sizeof token);
    return CLI_OK;
}

static const char *token_state(const Hotline__TokenRecord *t, int64_t now)
{
    if (t->revoked_ms)
        return "revoked";
    if (t->expires_ms && now >= t->expires_ms)
        return "expired";
    return "active";
}

/* The only option of list and revoke: --tokens-file F. Returns CLI_OPT_END, or what
 * cli_getopt said. */
static int parse_file_opt(cli_t *cli, int argc, char **argv, const char **file)
{
    static const struct option opts[] = {{"tokens-file", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    int c;
    *file = NULL;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        *file = optarg;
    return c;
}

static int token_list(cli_t *cli, int argc, char **argv)
{
    const char *file;
    int c = parse_file_opt(cli, argc, argv, &file);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    char path[PATH_MAX], err[512];
    registry_path(cli, file, path, sizeof path);
    Hotline__TokenRegistry *reg;
    int rc = auth_registry_file_read(path, &reg, err, sizeof err);
    if (rc && rc != HL_ENOTFOUND) {
        fprintf(stderr, "%s: %s\n", cli->prog, err);
        return CLI_REFUSED;
    }
    int64_t now = cli_now_ms();
    json_t *rows = json_array();
    if (!cli->json)
        printf("%-12s  %-8s  %-22s  %-24s  %-23s  %s\n", "ID", "STATE", "ROLE", "NAME",
               "CREATED", "EXPIRES");
    for (size_t i = 0; i < reg->n_tokens; i++) {
        const Hotline__TokenRecord *t = reg->tokens[i];
        auth_principal_t p = {.role = t->role};
        snprintf(p.subject, sizeof p.subject, "%s", t->subject);
        char role[96], created[40], expires[40];
        auth_principal_format(&p, role, sizeof role);
        json_t *cms = json_integer(t->created_ms), *ems = json_integer(t->expires_ms);
        cli_time(cms, created, sizeof created);
        cli_time(ems, expires, sizeof expires);
        json_decref(cms);
        json_decref(ems);
        if (cli->json)
            json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id",
                                                  t->id, "state", token_state(t, now), "role",
                                                  role, "name", t->name, "createdMs",
                                                  (json_int_t)t->created_ms, "expiresMs",
                                                  (json_int_t)t->expires_ms, "revokedMs",
                                                  (json_int_t)t->revoked_ms));
        else
            printf("%-12s  %-8s  %-22s  %-24s  %-23s  %s\n", t->id, token_state(t, now), role,
                   t->name, created, t->expires_ms ? expires : "never");
    }
    if (cli->json)
        cli_print_json(rows);
    json_decref(rows);
    hotline__token_registry__free_unpacked(reg, NULL);
    return CLI_OK;
}

static int token_revoke(cli_t *cli, int argc, char **argv)
{
    const char *file;
    int c = parse_file_opt(cli, argc, argv, &file);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind + 1 != argc)
        return cli_usage_error(cli, "takes exactly one ID or NAME");
    const char *which = argv[optind];
    char path[PATH_MAX], err[512];
    registry_path(cli, file, path, sizeof path);
    int lock = lock_registry(cli, path);
    if (lock < 0)
        return CLI_REFUSED;
    Hotline__TokenRegistry *reg;
    int rc = auth_registry_file_read(path, &reg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", cli->prog, rc == HL_ENOTFOUND ? "no token registry here"
                                                                  : err);
        if (reg)
            hotline__token_registry__free_unpacked(reg, NULL);
        close(lock);
        return CLI_REFUSED;
    }
    /* An id names one token; a name may name several (all active ones are revoked). */
    size_t hits = 0;
    int64_t now = cli_now_ms();
    for (size_t i = 0; i < reg->n_tokens; i++) {
        Hotline__TokenRecord *t = reg->tokens[i];
        if ((strcmp(t->id, which) == 0 || strcmp(t->name, which) == 0) && !t->revoked_ms) {
            t->revoked_ms = now;
            hits++;
        }
    }
    rc = hits ? auth_registry_file_write(path, reg, err, sizeof err) : 0;
    hotline__token_registry__free_unpacked(reg, NULL);
    close(lock);
    if (rc) {
        fprintf(stderr, "%s: %s\n", cli->prog, err);
        return CLI_REFUSED;
    }
    if (!hits) {
        fprintf(stderr, "%s: no active token has the id or name '%s' (`hotline token list`)\n",
                cli->prog, which);
        return CLI_REFUSED;
    }
    printf("revoked %zu token%s named or numbered '%s'; the services refuse %s within seconds\n",
           hits, hits == 1 ? "" : "s", which, hits == 1 ? "it" : "them");
    return CLI_OK;
}

const cli_verb_t cli_token_verbs[] = {
    {"create", token_create, NULL,
     "token create --role ROLE --name NAME [--expires 30d|12h|never] [--out FILE]\n"
     "             [--tokens-file F]",
     "a new bearer token, shown once; ROLE: operator, dispatcher, unit:<id>,\n"
     "crew:<id>, callback-agent, supervisor, admin, service",
     NULL},
    {"list", token_list, NULL, "token list [--tokens-file F]",
     "every token: id, state, role, expiry", NULL},
    {"revoke", token_revoke, NULL, "token revoke ID|NAME [--tokens-file F]",
     "refused by the services within seconds", NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

/* ---- CURVE keys ---- */

/* Write DIR/NAME.key (secret, 0600) and DIR/NAME.pub; the public key into pub. Shared with
 * `hotline up`. An existing pair is kept (and its public key returned). */
int cli_keys_make(const cli_t *cli, const char *dir, const char *name, char pub[41])
{
    char kpath[PATH_MAX], ppath[PATH_MAX], secret[41];
    snprintf(kpath, sizeof kpath, "%s/%s.key", dir, name);
    snprintf(ppath, sizeof ppath, "%s/%s.pub", dir, name);
    FILE *f = fopen(kpath, "r");
    if (f) {
        bool ok = fscanf(f, "%40s", secret) == 1 && strlen(secret) == 40 &&
                  zmq_curve_public(pub, secret) == 0;
        fclose(f);
        sodium_memzero(secret, sizeof secret);
        if (ok)
            return CLI_OK;
        fprintf(stderr, "%s: %s is not a CURVE secret key (40 Z85 characters)\n", cli->prog,
                kpath);
        return CLI_REFUSED;
    }
    if (zmq_curve_keypair(pub, secret) != 0) {
        fprintf(stderr, "%s: this libzmq cannot make CURVE keys: %s\n", cli->prog,
                zmq_strerror(zmq_errno()));
        return CLI_SERVER;
    }
    int rc = write_secret_file(kpath, secret);
    sodium_memzero(secret, sizeof secret);
    if (rc || write_secret_file(ppath, pub)) {
        fprintf(stderr, "%s: cannot write %s: %s\n", cli->prog, rc ? kpath : ppath,
                strerror(errno));
        return CLI_REFUSED;
    }
    chmod(ppath, 0644);
    return CLI_OK;
}

int cli_keys(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    int c;
    while ((c = cli_getopt(cli, argc, argv, opts)) >= 0)
        dir = optarg;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (!dir || optind >= argc)
        return cli_usage_error(cli, "needs --dir DIR and at least one NAME");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: --dir: cannot create %s: %s\n", cli->prog, dir, strerror(errno));
        return CLI_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        if (!auth_id_ok(argv[i])) {
            fprintf(stderr, "%s: key name '%s': 1 to %d of A-Z a-z 0-9 . _ -\n", cli->prog,
                    argv[i], AUTH_NAME_MAX);
            return CLI_USAGE;
        }
        char pub[41];
        int rc = cli_keys_make(cli, dir, argv[i], pub);
        if (rc)
            return rc;
        if (cli->json)
            printf("{\"name\": \"%s\", \"publicKey\": \"%s\"}\n", argv[i], pub);
        else
            printf("%-16s %s   (secret in %s/%s.key)\n", argv[i], pub, dir, argv[i]);
    }
    return CLI_OK;
}
