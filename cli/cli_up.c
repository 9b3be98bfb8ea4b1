/* cli_up: `hotline up` runs the five services as child processes and supervises them;
 * `hotline down` stops a running `up` from elsewhere.
 *
 * Each child gets its own data directory under --data-dir, HTTP port base+i, ZeroMQ endpoint
 * base+10+i, and --feed arguments for the producers it follows. Children run in their own
 * process group, so Ctrl-C reaches only the supervisor, which stops them in order with SIGTERM
 * (each commits what it accepted, then exits); if the supervisor itself is killed, the children
 * get SIGTERM from the kernel (PR_SET_PDEATHSIG). A child that dies is restarted after a pause
 * that grows while it keeps dying, and the others run on (cli_super.c). */
#include "cli.h"
#include "cli_super.h"

#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define READY_TIMEOUT_S 60

/* Who follows whom (docs/architecture.md): producers each service consumes. */
static const int FOLLOWS[SVC_COUNT][SVC_COUNT + 1] = {
    [SVC_INTAKE] = {SVC_DISPATCH, SVC_SLA, SVC_CALLBACK, -1},
    [SVC_DISPATCH] = {SVC_INTAKE, SVC_CALLBACK, SVC_SLA, SVC_ANALYTICS, -1},
    [SVC_SLA] = {SVC_DISPATCH, SVC_CALLBACK, -1},
    [SVC_CALLBACK] = {SVC_DISPATCH, SVC_INTAKE, -1},
    [SVC_ANALYTICS] = {SVC_INTAKE, SVC_DISPATCH, SVC_SLA, SVC_CALLBACK, -1},
};

typedef struct up {
    cli_t *cli;
    char data_dir[PATH_MAX];
    char bin_dir[PATH_MAX];
    bool test_clock;
    const char *sync;
    const char *open311_keys[16]; /* --open311-key, repeatable: given to intake hashed */
    int nkeys;
    bool curve;                   /* CURVE on the bus (default; --plain-bus turns it off) */
    char configs[SVC_COUNT][PATH_MAX + 32]; /* each service's generated configuration */
    const char *extra[SVC_COUNT]; /* --service-config NAME=FILE: its keys over the generated */
    cli_backoff_t backoff;
} up_t;

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0750);
            *p = '/';
        }
    }
    return mkdir(buf, 0750) == 0 || errno == EEXIST ? 0 : -1;
}

static void find_bin_dir(up_t *u)
{
    const char *env = getenv("HOTLINE_BIN_DIR");
    if (env && *env) {
        snprintf(u->bin_dir, sizeof u->bin_dir, "%s", env);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", u->bin_dir, sizeof u->bin_dir - 1);
    if (n <= 0) {
        snprintf(u->bin_dir, sizeof u->bin_dir, ".");
        return;
    }
    u->bin_dir[n] = '\0';
    char *slash = strrchr(u->bin_dir, '/');
    if (slash)
        *slash = '\0';
}

/* A token the pipeline keeps for itself (DIR/NAME.token, mode 0600): reused while the
 * registry still accepts it, else made anew. */
static int ensure_token(up_t *u, const char *registry, const char *file_name, const char *role,
                        const char *name)
{
    char path[PATH_MAX + 64], token[AUTH_TOKEN_LEN + 1] = "", err[512], id[17];
    snprintf(path, sizeof path, "%s/%s", u->data_dir, file_name);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(token, sizeof token, f))
            token[0] = '\0';
        fclose(f);
        token[strcspn(token, "\r\n")] = '\0';
        auth_registry_t *reg;
        auth_principal_t who;
        int64_t when;
        bool ok = auth_registry_load(&reg, registry, false, err, sizeof err) == 0 &&
                  auth_registry_check(reg, token, strlen(token), 0, &who, &when) == AUTH_OK;
        auth_registry_destroy(&reg);
        sodium_memzero(token, sizeof token);
        if (ok)
            return 0;
    }
    if (cli_token_create(u->cli, registry, role, name, 0, token, id) != CLI_OK)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, token, strlen(token)) == (ssize_t)strlen(token) &&
              write(fd, "\n", 1) == 1;
    if (fd >= 0)
        close(fd);
    sodium_memzero(token, sizeof token);
    if (!ok) {
        fprintf(stderr, "hotline up: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* --service-config: the file's keys (the service's own, not runtime) over cfg. */
static int merge_extra(const char *file, json_t *cfg)
{
    json_error_t err;
    json_t *extra = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(extra) || json_object_get(extra, "runtime")) {
        fprintf(stderr, "hotline up: --service-config %s: %s\n", file,
                !extra ? err.text : !json_is_object(extra) ? "not a JSON object"
                                                           : "runtime is hotline up's own: "
                                                             "leave it out");
        json_decref(extra);
        return -1;
    }
    json_object_update(cfg, extra);
    json_decref(extra);
    return 0;
}

/* Each service's generated configuration (DIR/<service>.config.json, mode 0600): the token
 * registry, the pipeline's service token, the CURVE keys (its own secret, the allow-list of
 * the five services and the local tools, each producer's public key) and the feeds. Open311
 * keys go to intake as SHA-256 hashes, so no key is ever stored or shown in a process list. */
static int write_configs(up_t *u)
{
    char registry[PATH_MAX + 32], service_token[PATH_MAX + 32], keys[PATH_MAX + 16];
    snprintf(registry, sizeof registry, "%s/tokens.json", u->data_dir);
    snprintf(service_token, sizeof service_token, "%s/service.token", u->data_dir);
    snprintf(keys, sizeof keys, "%s/keys", u->data_dir);
    if (ensure_token(u, registry, "admin.token", "admin", "local admin (hotline up)") ||
        ensure_token(u, registry, "service.token", "service", "pipeline services (hotline up)"))
        return -1;
    char pubs[SVC_COUNT + 1][41];
    static const char *const TOOLS = "tools"; /* the local CLI and test tools on the bus */
    if (u->curve) {
        if (mkdir(keys, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "hotline up: cannot create %s: %s\n", keys, strerror(errno));
            return -1;
        }
        for (int i = 0; i <= SVC_COUNT; i++)
            if (cli_keys_make(u->cli, keys, i < SVC_COUNT ? cli_service_names[i] : TOOLS,
                              pubs[i]) != CLI_OK)
                return -1;
    }
    for (int i = 0; i < SVC_COUNT; i++) {
        json_t *auth = json_pack("{s:s, s:s}", "tokensFile", registry, "serviceTokenFile",
                                 service_token);
        json_t *feeds = json_array();
        for (int k = 0; k < SVC_COUNT && FOLLOWS[i][k] >= 0; k++) {
            int p = FOLLOWS[i][k]; /* every row ends with -1 */
            char ep[64];
            snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", u->cli->port_base + 10 + p);
            json_t *feed = json_pack("{s:s, s:s}", "name", cli_service_names[p], "endpoint", ep);
            if (u->curve)
                json_object_set_new(feed, "serverKey", json_string(pubs[p]));
            json_array_append_new(feeds, feed);
        }
        if (u->curve) {
            char secret[PATH_MAX + 64];
            snprintf(secret, sizeof secret, "%s/%s.key", keys, cli_service_names[i]);
            json_t *clients = json_array();
            for (int k = 0; k <= SVC_COUNT; k++)
                json_array_append_new(clients, json_pack("{s:s, s:s, s:s}", "name",
                                                         k < SVC_COUNT ? cli_service_names[k]
                                                                       : TOOLS,
                                                         "publicKey", pubs[k], "role",
                                                         "ROLE_SERVICE"));
            json_object_set_new(auth, "curve", json_pack("{s:s, s:o}", "secretKeyFile", secret,
                                                         "clients", clients));
        }
        json_t *cfg = json_pack("{s:{s:o, s:o}}", "runtime", "auth", auth, "feeds", feeds);
        if (i == SVC_INTAKE && u->nkeys > 0) {
            json_t *hashes = json_array();
            for (int k = 0; k < u->nkeys; k++) {
                unsigned char h[crypto_hash_sha256_BYTES];
                char hex[2 * crypto_hash_sha256_BYTES + 1];
                crypto_hash_sha256(h, (const unsigned char *)u->open311_keys[k],
                                   strlen(u->open311_keys[k]));
                sodium_bin2hex(hex, sizeof hex, h, sizeof h);
                json_array_append_new(hashes, json_string(hex));
            }
            json_object_set_new(cfg, "open311", json_pack("{s:o}", "apiKeysSha256", hashes));
        }
        if (u->extra[i] && merge_extra(u->extra[i], cfg)) {
            json_decref(cfg);
            return -1;
        }
        snprintf(u->configs[i], sizeof u->configs[i], "%s/%s.config.json", u->data_dir,
                 cli_service_names[i]);
        int fd = open(u->configs[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int rc = fd >= 0 ? json_dumpfd(cfg, fd, JSON_INDENT(2)) : -1;
        if (fd >= 0)
            close(fd);
        json_decref(cfg);
        if (rc) {
            fprintf(stderr, "hotline up: cannot write %s\n", u->configs[i]);
            return -1;
        }
    }
    return 0;
}

/* Start service i (a cli_spawn_fn for the supervisor). */
static pid_t spawn(void *ctx, int i)
{
    up_t *u = ctx;
    const char *name = cli_service_names[i];
    int base = u->cli->port_base;
    char bin[PATH_MAX + 32], data[PATH_MAX + 32], logf[PATH_MAX + 32], port[16], bus[64];
    snprintf(bin, sizeof bin, "%s/hotline-%s", u->bin_dir, name);
    snprintf(data, sizeof data, "%s/%s", u->data_dir, name);
    snprintf(logf, sizeof logf, "%s/%s.log", u->data_dir, name);
    snprintf(port, sizeof port, "%d", base + i);
    snprintf(bus, sizeof bus, "tcp://127.0.0.1:%d", base + 10 + i);
    char *args[32];
    int n = 0;
    args[n++] = bin;
    args[n++] = "--data-dir";
    args[n++] = data;
    args[n++] = "--http-port";
    args[n++] = port;
    args[n++] = "--bus";
    args[n++] = bus;
    args[n++] = "--config";
    args[n++] = u->configs[i];
    if (u->test_clock)
        args[n++] = "--test-clock";
    if (u->sync) {
        args[n++] = "--sync";
        args[n++] = (char *)u->sync;
    }
    args[n] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        /* If the supervisor dies (even by SIGKILL), its services stop in order too. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0);
        int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0640);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        /* The pipeline's own access settings win over any the environment carries. */
        for (char **e = environ; *e;) {
            if (strncmp(*e, "HOTLINE_RUNTIME_AUTH_", 21) == 0 ||
                strncmp(*e, "HOTLINE_RUNTIME_FEEDS", 21) == 0) {
                char var[128];
                snprintf(var, sizeof var, "%.*s", (int)strcspn(*e, "="), *e);
                unsetenv(var); /* shifts environ: look at the same slot again */
            } else {
                e++;
            }
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(bin, args);
        fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    return pid;
}

static int pid_file(const up_t *u, char *out, size_t size)
{
    return snprintf(out, size, "%s/hotline.pid", u->data_dir) >= (int)size ? -1 : 0;
}

/* `hotline up`'s own options (--data-dir is a global one): -1 to go on, else the exit code
 * (0 after --help). */
static int parse_up_args(up_t *u, int argc, char **argv)
{
    static const struct option opts[] = {
        {"test-clock", no_argument, NULL, 't'},
        {"sync", required_argument, NULL, 's'},
        {"open311-key", required_argument, NULL, 'k'},
        {"plain-bus", no_argument, NULL, 'P'},
        {"service-config", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = cli_getopt(u->cli, argc, argv, opts)) >= 0) {
        if (c == 'S') {
            const char *eq = strchr(optarg, '=');
            int i = 0;
            while (eq && i < SVC_COUNT && (strlen(cli_service_names[i]) != (size_t)(eq - optarg) ||
                                           strncmp(optarg, cli_service_names[i], (size_t)(eq - optarg))))
                i++;
            if (!eq || i == SVC_COUNT || !eq[1])
                return cli_usage_error(u->cli, "--service-config: SERVICE=FILE, SERVICE one of "
                                       "intake, dispatch, sla, callback, analytics");
            u->extra[i] = eq + 1;
        } else if (c == 't')
            u->test_clock = true;
        else if (c == 's')
            u->sync = optarg;
        else if (c == 'P')
            u->curve = false;
        else if (u->nkeys < 16 && strlen(optarg) >= 8)
            u->open311_keys[u->nkeys++] = optarg;
        else
            return cli_usage_error(u->cli, "--open311-key: at most 16 keys of at least 8 "
                                   "characters");
    }
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(u->cli, "unexpected argument '%s'", argv[optind]);
    const char *env = getenv(CLI_BACKOFF_ENV);
    if (env && *env && cli_backoff_parse(CLI_BACKOFF_ENV, env, &u->backoff))
        return CLI_USAGE;
    snprintf(u->data_dir, sizeof u->data_dir, "%s", cli_data_dir(u->cli));
    return -1;
}

/* The pid of the `hotline up` running on u's directory, or 0 when none is. */
static int running_pid(const up_t *u)
{
    char pf[PATH_MAX + 16];
    pid_file(u, pf, sizeof pf);
    FILE *f = fopen(pf, "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1 || pid <= 0 || kill(pid, 0) != 0)
            pid = 0;
        fclose(f);
    }
    return pid;
}

static bool all_ready(const cli_t *cli)
{
    for (int i = 0; i < SVC_COUNT; i++)
        if (cli_readyz(cli, i, NULL, 0) != 200)
            return false;
    return true;
}

/* Wait until every service is ready (at most READY_TIMEOUT_S), supervising meanwhile: a
 * service can die while the others start, and Ctrl-C must work. False when told to stop. */
static bool wait_ready(cli_super_t *s, bool *all)
{
    time_t deadline = time(NULL) + READY_TIMEOUT_S;
    while (!(*all = all_ready(s->cli)) && time(NULL) < deadline)
        if (!cli_super_step(s, 100))
            return false;
    return true;
}

static void print_banner(const up_t *u, bool all)
{
    const cli_t *cli = u->cli;
    for (int i = 0; i < SVC_COUNT; i++)
        printf("  %-9s http://127.0.0.1:%d  zmq tcp://127.0.0.1:%d  %s\n", cli_service_names[i],
               cli->port_base + i, cli->port_base + 10 + i,
               cli_readyz(cli, i, NULL, 0) == 200 ? "ready" : "NOT READY (see its log)");
    printf("  access: bearer tokens in %s/tokens.json (hashes only); the admin token the CLI "
           "uses is %s/admin.token; the bus is %s\n", u->data_dir, u->data_dir,
           u->curve ? "CURVE-encrypted, admitting only the keys in keys/" : "plain (--plain-bus)");
    printf("hotline: %s; Ctrl-C (or `hotline down --data-dir %s`) stops it; `hotline status "
           "--data-dir %s` shows how each service is\n",
           all ? "running" : "running, but not every service is ready", u->data_dir,
           u->data_dir);
    fflush(stdout);
}

int cli_up(cli_t *cli, int argc, char **argv)
{
    up_t u = {.cli = cli, .curve = true, .backoff = CLI_BACKOFF_DEFAULT};
    int rc = parse_up_args(&u, argc, argv);
    if (rc >= 0)
        return rc;
    find_bin_dir(&u);
    if (mkdir_p(u.data_dir) != 0) {
        fprintf(stderr, "%s: cannot create %s: %s\n", cli->prog, u.data_dir, strerror(errno));
        return CLI_USAGE;
    }
    int old = running_pid(&u);
    if (old) {
        fprintf(stderr, "%s: a pipeline is already running on %s (pid %d); stop it with "
                "`hotline down --data-dir %s`\n", cli->prog, u.data_dir, old, u.data_dir);
        return CLI_REFUSED;
    }
    if (write_configs(&u))
        return CLI_USAGE;
    cli_super_t s;
    cli_super_init(&s, cli, u.data_dir, u.backoff, spawn, &u);
    char pf[PATH_MAX + 16];
    pid_file(&u, pf, sizeof pf);
    FILE *f = fopen(pf, "w");
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    cli_super_start(&s);
    printf("hotline: starting the pipeline (data in %s, logs in %s/<service>.log)\n",
           u.data_dir, u.data_dir);
    fflush(stdout);
    bool all;
    if (wait_ready(&s, &all)) {
        print_banner(&u, all);
        while (cli_super_step(&s, -1))
            ;
    }
    printf("hotline: stopping\n");
    fflush(stdout);
    cli_super_stop(&s);
    unlink(pf);
    printf("hotline: stopped\n");
    return CLI_OK;
}

int cli_down(cli_t *cli, int argc, char **argv)
{
    up_t u = {.cli = cli};
    int c = cli_getopt(cli, argc, argv, NULL);
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (optind != argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    snprintf(u.data_dir, sizeof u.data_dir, "%s", cli_data_dir(cli));
    int pid = running_pid(&u);
    if (!pid) {
        fprintf(stderr, "%s: no pipeline is running on %s\n", cli->prog, u.data_dir);
        return CLI_REFUSED;
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < (CLI_STOP_TIMEOUT_S + 10) * 10 && kill(pid, 0) == 0; i++) {
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (kill(pid, 0) == 0) {
        fprintf(stderr, "%s: the pipeline (pid %d) did not stop\n", cli->prog, pid);
        return CLI_SERVER;
    }
    printf("hotline: stopped the pipeline on %s\n", u.data_dir);
    return CLI_OK;
}
