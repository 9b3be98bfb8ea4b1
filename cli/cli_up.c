/* cli_up: `hotline up` runs the five services as child processes and supervises them;
 * `hotline down` stops a running `up` from elsewhere.
 *
 * Each child gets its own data directory under --data-dir, HTTP port base+i, ZeroMQ endpoint
 * base+10+i, and --feed arguments for the producers it follows. Children run in their own
 * process group, so Ctrl-C reaches only the supervisor, which stops them in order with SIGTERM
 * (each commits what it accepted, then exits); if the supervisor itself is killed, the children
 * get SIGTERM from the kernel (PR_SET_PDEATHSIG). A child that dies is restarted; one that dies
 * twice within seconds of starting stops the pipeline with a pointer to its log. */
#include "cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#define STOP_TIMEOUT_S 30
#define READY_TIMEOUT_S 60

/* Who follows whom (DESIGN.md section 2): producers each service consumes. */
static const int FOLLOWS[SVC_COUNT][SVC_COUNT + 1] = {
    [SVC_INTAKE] = {SVC_DISPATCH, SVC_SLA, SVC_CALLBACK, -1},
    [SVC_DISPATCH] = {SVC_INTAKE, SVC_CALLBACK, -1},
    [SVC_SLA] = {SVC_DISPATCH, -1},
    [SVC_CALLBACK] = {SVC_DISPATCH, SVC_INTAKE, -1},
    [SVC_ANALYTICS] = {SVC_INTAKE, SVC_DISPATCH, SVC_SLA, SVC_CALLBACK, -1},
};

typedef struct up {
    const cli_t *cli;
    char data_dir[PATH_MAX];
    char bin_dir[PATH_MAX];
    bool test_clock;
    const char *sync;
    const char *open311_keys[16]; /* --open311-key, repeatable: given to intake hashed */
    int nkeys;
    char intake_config[PATH_MAX + 32]; /* generated when keys are given, "" otherwise */
    pid_t pids[SVC_COUNT];
    time_t started[SVC_COUNT];
    int quick_exits[SVC_COUNT];
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

/* Open311 keys go to intake as SHA-256 hashes in a generated configuration file, so no key
 * is ever stored or shown in a process list. */
static int write_intake_config(up_t *u)
{
    if (u->nkeys == 0)
        return 0;
    snprintf(u->intake_config, sizeof u->intake_config, "%s/intake.config.json", u->data_dir);
    json_t *keys = json_array();
    for (int i = 0; i < u->nkeys; i++) {
        unsigned char h[crypto_hash_sha256_BYTES];
        char hex[2 * crypto_hash_sha256_BYTES + 1];
        crypto_hash_sha256(h, (const unsigned char *)u->open311_keys[i],
                           strlen(u->open311_keys[i]));
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        json_array_append_new(keys, json_string(hex));
    }
    json_t *cfg = json_pack("{s:{s:o}}", "open311", "apiKeysSha256", keys);
    int rc = json_dump_file(cfg, u->intake_config, JSON_INDENT(2));
    json_decref(cfg);
    if (rc) {
        fprintf(stderr, "hotline up: cannot write %s\n", u->intake_config);
        return -1;
    }
    chmod(u->intake_config, 0600);
    return 0;
}

static pid_t spawn(up_t *u, int i)
{
    const char *name = cli_service_names[i];
    int base = u->cli->port_base;
    char bin[PATH_MAX + 32], data[PATH_MAX + 32], logf[PATH_MAX + 32], port[16], bus[64];
    snprintf(bin, sizeof bin, "%s/hotline-%s", u->bin_dir, name);
    snprintf(data, sizeof data, "%s/%s", u->data_dir, name);
    snprintf(logf, sizeof logf, "%s/%s.log", u->data_dir, name);
    snprintf(port, sizeof port, "%d", base + i);
    snprintf(bus, sizeof bus, "tcp://127.0.0.1:%d", base + 10 + i);
    char feeds[SVC_COUNT][96];
    char *args[32];
    int n = 0;
    args[n++] = bin;
    args[n++] = "--data-dir";
    args[n++] = data;
    args[n++] = "--http-port";
    args[n++] = port;
    args[n++] = "--bus";
    args[n++] = bus;
    for (int k = 0; k < SVC_COUNT && FOLLOWS[i][k] >= 0; k++) {
        int p = FOLLOWS[i][k]; /* every row ends with -1 */
        snprintf(feeds[k], sizeof feeds[k], "%s=tcp://127.0.0.1:%d", cli_service_names[p],
                 base + 10 + p);
        args[n++] = "--feed";
        args[n++] = feeds[k];
    }
    if (u->test_clock)
        args[n++] = "--test-clock";
    if (u->sync) {
        args[n++] = "--sync";
        args[n++] = (char *)u->sync;
    }
    if (i == SVC_INTAKE && u->intake_config[0]) {
        args[n++] = "--config";
        args[n++] = u->intake_config;
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
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(bin, args);
        fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    u->pids[i] = pid;
    u->started[i] = time(NULL);
    return pid;
}

static bool ready(const cli_t *cli, int i)
{
    int status = -1;
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", cli->port_base + i);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
    if (curl_easy_perform(c) == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        status = (int)code;
    }
    curl_easy_cleanup(c);
    return status == 200;
}

static void stop_all(up_t *u)
{
    for (int i = SVC_COUNT - 1; i >= 0; i--)
        if (u->pids[i] > 0)
            kill(u->pids[i], SIGTERM);
    time_t deadline = time(NULL) + STOP_TIMEOUT_S;
    for (;;) {
        bool any = false;
        for (int i = 0; i < SVC_COUNT; i++) {
            if (u->pids[i] <= 0)
                continue;
            int st;
            pid_t r = waitpid(u->pids[i], &st, WNOHANG);
            if (r == u->pids[i] || (r < 0 && errno == ECHILD)) {
                u->pids[i] = 0;
                continue;
            }
            any = true;
        }
        if (!any)
            return;
        if (time(NULL) >= deadline) {
            for (int i = 0; i < SVC_COUNT; i++) {
                if (u->pids[i] > 0) {
                    fprintf(stderr, "hotline: %s did not stop in %d s; killing it\n",
                            cli_service_names[i], STOP_TIMEOUT_S);
                    kill(u->pids[i], SIGKILL);
                }
            }
            deadline = time(NULL) + 5;
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static int pid_file(const up_t *u, char *out, size_t size)
{
    return snprintf(out, size, "%s/hotline.pid", u->data_dir) >= (int)size ? -1 : 0;
}

static int parse_dir_arg(up_t *u, int argc, char **argv, bool allow_up_opts)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"test-clock", no_argument, NULL, 't'},
        {"sync", required_argument, NULL, 's'},
        {"open311-key", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    snprintf(u->data_dir, sizeof u->data_dir, "%s", cli_data_dir(u->cli));
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            snprintf(u->data_dir, sizeof u->data_dir, "%s", optarg);
        else if (c == 't' && allow_up_opts)
            u->test_clock = true;
        else if (c == 's' && allow_up_opts)
            u->sync = optarg;
        else if (c == 'k' && allow_up_opts && u->nkeys < 16 && strlen(optarg) >= 8)
            u->open311_keys[u->nkeys++] = optarg;
        else if (c == 'k' && allow_up_opts) {
            fprintf(stderr, "hotline up: --open311-key: at most 16 keys of at least 8 "
                    "characters\n");
            return -1;
        }
        else
            return -1;
    }
    return optind == argc ? 0 : -1;
}

int cli_up(cli_t *cli, int argc, char **argv)
{
    up_t u = {.cli = cli};
    if (parse_dir_arg(&u, argc, argv, true)) {
        fprintf(stderr, "usage: %s up [--data-dir DIR] [--test-clock] "
                "[--sync full|nometasync|nosync] [--open311-key KEY]...\n", cli->prog);
        return CLI_USAGE;
    }
    find_bin_dir(&u);
    if (mkdir_p(u.data_dir) != 0) {
        fprintf(stderr, "%s: cannot create %s: %s\n", cli->prog, u.data_dir, strerror(errno));
        return CLI_USAGE;
    }
    char pf[PATH_MAX + 16];
    pid_file(&u, pf, sizeof pf);
    FILE *f = fopen(pf, "r");
    if (f) {
        int old = 0;
        if (fscanf(f, "%d", &old) == 1 && old > 0 && kill(old, 0) == 0) {
            fprintf(stderr, "%s: a pipeline is already running on %s (pid %d); stop it with "
                    "`hotline down --data-dir %s`\n", cli->prog, u.data_dir, old, u.data_dir);
            fclose(f);
            return CLI_REFUSED;
        }
        fclose(f);
    }
    if (write_intake_config(&u))
        return CLI_USAGE;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    f = fopen(pf, "w");
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    for (int i = 0; i < SVC_COUNT; i++)
        spawn(&u, i);
    printf("hotline: starting the pipeline (data in %s, logs in %s/<service>.log)\n",
           u.data_dir, u.data_dir);
    time_t deadline = time(NULL) + READY_TIMEOUT_S;
    bool all = false;
    while (!all && time(NULL) < deadline) {
        all = true;
        for (int i = 0; i < SVC_COUNT; i++)
            all = all && ready(cli, i);
        if (!all) {
            struct timespec ts = {0, 100 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    for (int i = 0; i < SVC_COUNT; i++)
        printf("  %-9s http://127.0.0.1:%d  zmq tcp://127.0.0.1:%d  %s\n", cli_service_names[i],
               cli->port_base + i, cli->port_base + 10 + i,
               ready(cli, i) ? "ready" : "NOT READY (see its log)");
    printf("hotline: %s; Ctrl-C (or `hotline down --data-dir %s`) stops it\n",
           all ? "running" : "running, but not every service is ready", u.data_dir);
    fflush(stdout);

    int rc = CLI_OK;
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&set, &info);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (sig != SIGCHLD)
            continue;
        int st;
        pid_t pid;
        bool give_up = false;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            for (int i = 0; i < SVC_COUNT; i++) {
                if (u.pids[i] != pid)
                    continue;
                bool quick = time(NULL) - u.started[i] < 5;
                u.quick_exits[i] = quick ? u.quick_exits[i] + 1 : 0;
                char how[64];
                if (WIFSIGNALED(st))
                    snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(st));
                else
                    snprintf(how, sizeof how, "exited with %d", WEXITSTATUS(st));
                if (u.quick_exits[i] >= 2) {
                    fprintf(stderr, "hotline: %s %s right after starting, twice; stopping. "
                            "See %s/%s.log\n", cli_service_names[i], how, u.data_dir,
                            cli_service_names[i]);
                    u.pids[i] = 0;
                    give_up = true;
                } else {
                    fprintf(stderr, "hotline: %s %s; restarting it\n", cli_service_names[i], how);
                    spawn(&u, i);
                }
            }
        }
        if (give_up) {
            rc = CLI_SERVER;
            break;
        }
    }
    printf("hotline: stopping\n");
    stop_all(&u);
    unlink(pf);
    printf("hotline: stopped\n");
    return rc;
}

int cli_down(cli_t *cli, int argc, char **argv)
{
    up_t u = {.cli = cli};
    if (parse_dir_arg(&u, argc, argv, false)) {
        fprintf(stderr, "usage: %s down [--data-dir DIR]\n", cli->prog);
        return CLI_USAGE;
    }
    char pf[PATH_MAX + 16];
    pid_file(&u, pf, sizeof pf);
    FILE *f = fopen(pf, "r");
    int pid = 0;
    if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0 || kill(pid, 0) != 0) {
        if (f)
            fclose(f);
        fprintf(stderr, "%s: no pipeline is running on %s\n", cli->prog, u.data_dir);
        return CLI_REFUSED;
    }
    fclose(f);
    kill(pid, SIGTERM);
    for (int i = 0; i < (STOP_TIMEOUT_S + 10) * 10 && kill(pid, 0) == 0; i++) {
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
