/* cli_super: the supervisor inside `hotline up` (see cli_super.h).
 *
 * One thread, no signal handlers: SIGINT, SIGTERM and SIGCHLD stay blocked and are taken with
 * sigtimedwait, whose timeout is the next thing due (a restart whose pause is over, or a
 * service that has now stayed up long enough for its pause to start small again). So a
 * pause never delays Ctrl-C, and nothing polls while nothing is due. */
#include "cli_super.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Pauses are measured on the monotonic clock: a wall clock step must not stretch them. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The supervisor's own log on stderr, each line with the time of day (the services log to
 * their own files, so these lines are what tells a crash loop apart from one crash). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char now[16], line[1024];
    cli_clock(cli_now_ms(), now, sizeof now);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "hotline: %s %s\n", now, line);
}

int cli_backoff_parse(const char *what, const char *text, cli_backoff_t *out)
{
    long long v[3];
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        char *end;
        errno = 0;
        v[i] = strtoll(p, &end, 10);
        if (end == p || errno || *end != (i < 2 ? ',' : '\0'))
            goto bad;
        p = end + 1;
    }
    if (v[0] < 10 || v[1] < v[0] || v[1] > 3600000 || v[2] < 1 || v[2] > 86400000)
        goto bad;
    *out = (cli_backoff_t){v[0], v[1], v[2]};
    return 0;
bad:
    fprintf(stderr, "hotline up: %s: '%s' must be FIRST,CAP,STABLE in ms: the first pause (at "
            "least 10), its cap (FIRST to 3600000) and how long a service must stay up for "
            "its pause to start again from FIRST (1 to 86400000); default 500,30000,60000\n",
            what, text);
    return -1;
}

static void status_path(const cli_super_t *s, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", s->data_dir, CLI_SUPER_FILE);
}

static json_t *child_json(const cli_child_t *c, int64_t now_mono, int64_t now_wall)
{
    json_t *o = json_pack("{s:s, s:i, s:i, s:I, s:I}", "state",
                          c->pid ? "running" : "restarting", "pid", (int)c->pid, "restarts",
                          c->restarts, "startedMs", (json_int_t)c->started_wall, "nextDelayMs",
                          (json_int_t)c->delay_ms);
    if (c->last_exit[0]) {
        json_object_set_new(o, "lastExit", json_string(c->last_exit));
        json_object_set_new(o, "lastExitMs", json_integer(c->last_exit_wall));
    }
    if (!c->pid)
        json_object_set_new(o, "nextRestartMs",
                            json_integer(now_wall + (c->due_mono - now_mono)));
    return o;
}

/* Replace DIR/supervisor.json whole: a reader sees the old file or the new one, never half. */
static void write_status(cli_super_t *s)
{
    int64_t now_mono = mono_ms(), now_wall = cli_now_ms();
    json_t *svcs = json_object();
    for (int i = 0; i < SVC_COUNT; i++)
        json_object_set_new(svcs, cli_service_names[i],
                            child_json(&s->child[i], now_mono, now_wall));
    json_t *doc = json_pack("{s:i, s:i, s:I, s:b, s:o}", "pid", (int)getpid(), "portBase",
                            s->cli->port_base, "updatedMs", (json_int_t)now_wall, "stopping",
                            s->stopping, "services", svcs);
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    status_path(s, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    bool ok = json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
              rename(tmp, path) == 0;
    json_decref(doc);
    if (!ok) {
        if (!s->status_failed)
            say("cannot write %s: %s; `hotline status` will see only what the services "
                "answer", path, strerror(errno));
        unlink(tmp);
    }
    s->status_failed = !ok;
}

void cli_super_init(cli_super_t *s, const cli_t *cli, const char *data_dir,
                    cli_backoff_t backoff, cli_spawn_fn spawn, void *ctx)
{
    *s = (cli_super_t){.cli = cli, .data_dir = data_dir, .backoff = backoff, .spawn = spawn,
                       .ctx = ctx};
    for (int i = 0; i < SVC_COUNT; i++)
        s->child[i].delay_ms = backoff.first_ms;
    sigemptyset(&s->signals);
    sigaddset(&s->signals, SIGINT);
    sigaddset(&s->signals, SIGTERM);
    sigaddset(&s->signals, SIGCHLD);
    sigprocmask(SIG_BLOCK, &s->signals, NULL);
}

/* A service is down (died, or could not be started): it starts again after its pause, and
 * its next pause is twice as long, up to the cap. */
static void on_down(cli_super_t *s, int i, const char *how)
{
    cli_child_t *c = &s->child[i];
    int64_t now = mono_ms(), up = now - c->started_mono;
    if (up >= s->backoff.stable_ms) /* it had been fine for a while: this is a new incident */
        c->delay_ms = s->backoff.first_ms;
    c->pid = 0;
    c->due_mono = now + c->delay_ms;
    c->last_exit_wall = cli_now_ms();
    snprintf(c->last_exit, sizeof c->last_exit, "%s", how);
    char at[16];
    cli_clock(c->last_exit_wall + c->delay_ms, at, sizeof at);
    say("%s %s after %.1f s up; restarting it in %.1f s (at %s); the other services run on. "
        "Its log: %s/%s.log", cli_service_names[i], how, (double)up / 1000,
        (double)c->delay_ms / 1000, at, s->data_dir, cli_service_names[i]);
    c->delay_ms = c->delay_ms > s->backoff.cap_ms / 2 ? s->backoff.cap_ms : c->delay_ms * 2;
}

static void start_child(cli_super_t *s, int i)
{
    cli_child_t *c = &s->child[i];
    pid_t pid = s->spawn(s->ctx, i);
    c->started_mono = mono_ms();
    c->started_wall = cli_now_ms();
    if (pid > 0) {
        c->pid = pid;
        return;
    }
    char how[96];
    snprintf(how, sizeof how, "could not be started (fork: %s)", strerror(errno));
    on_down(s, i, how);
}

void cli_super_start(cli_super_t *s)
{
    for (int i = 0; i < SVC_COUNT; i++)
        start_child(s, i);
    write_status(s);
}

static void describe_exit(pid_t pid, int st, char *out, size_t size)
{
    if (WIFSIGNALED(st))
        snprintf(out, size, "(pid %d) was killed by signal %d (%s)%s", (int)pid, WTERMSIG(st),
                 strsignal(WTERMSIG(st)), WCOREDUMP(st) ? ", core dumped" : "");
    else
        snprintf(out, size, "(pid %d) exited with status %d", (int)pid, WEXITSTATUS(st));
}

/* Collect every child that has died since the last look; true if any was ours. */
static bool reap(cli_super_t *s)
{
    bool any = false;
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < SVC_COUNT; i++) {
            if (s->child[i].pid != pid)
                continue;
            char how[96];
            describe_exit(pid, st, how, sizeof how);
            on_down(s, i, how);
            any = true;
        }
    }
    return any;
}

static bool restart_due(cli_super_t *s, int64_t now)
{
    bool any = false;
    for (int i = 0; i < SVC_COUNT; i++) {
        cli_child_t *c = &s->child[i];
        if (c->pid || c->due_mono > now)
            continue;
        c->restarts++;
        start_child(s, i);
        if (c->pid)
            say("restarted %s (pid %d, restart %d)", cli_service_names[i], (int)c->pid,
                c->restarts);
        any = true;
    }
    return any;
}

/* When a running service's pause starts small again (-1: it already does). */
static int64_t settles_at(const cli_super_t *s, const cli_child_t *c)
{
    return c->delay_ms == s->backoff.first_ms ? -1 : c->started_mono + s->backoff.stable_ms;
}

static bool settle(cli_super_t *s, int64_t now)
{
    bool any = false;
    for (int i = 0; i < SVC_COUNT; i++) {
        cli_child_t *c = &s->child[i];
        int64_t at = c->pid ? settles_at(s, c) : -1;
        if (at < 0 || at > now)
            continue;
        c->delay_ms = s->backoff.first_ms;
        say("%s has stayed up %.0f s: a next restart would wait %.1f s again",
            cli_service_names[i], (double)s->backoff.stable_ms / 1000,
            (double)c->delay_ms / 1000);
        any = true;
    }
    return any;
}

/* How long to wait for a signal: until the next restart or settling is due, at most max_ms
 * (-1: no limit of its own); -1 = as long as it takes. */
static int64_t next_wait(const cli_super_t *s, int64_t now, int64_t max_ms)
{
    int64_t wait = max_ms;
    for (int i = 0; i < SVC_COUNT; i++) {
        const cli_child_t *c = &s->child[i];
        int64_t at = c->pid ? settles_at(s, c) : c->due_mono;
        if (at < 0)
            continue;
        int64_t d = at > now ? at - now : 0;
        if (wait < 0 || d < wait)
            wait = d;
    }
    return wait;
}

bool cli_super_step(cli_super_t *s, int64_t max_ms)
{
    int64_t wait = next_wait(s, mono_ms(), max_ms);
    siginfo_t info;
    int sig;
    if (wait < 0) {
        sig = sigwaitinfo(&s->signals, &info);
    } else {
        struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
        sig = sigtimedwait(&s->signals, &info, &ts);
    }
    if (sig == SIGINT || sig == SIGTERM)
        return false;
    bool changed = sig == SIGCHLD && reap(s);
    int64_t now = mono_ms();
    changed = restart_due(s, now) || changed;
    changed = settle(s, now) || changed;
    if (changed)
        write_status(s);
    return true;
}

/* Wait for every child to be gone; false if some are still there at the deadline. */
static bool wait_children(cli_super_t *s, time_t deadline)
{
    for (;;) {
        bool any = false;
        for (int i = 0; i < SVC_COUNT; i++) {
            cli_child_t *c = &s->child[i];
            if (c->pid <= 0)
                continue;
            int st;
            pid_t r = waitpid(c->pid, &st, WNOHANG);
            if (r == c->pid || (r < 0 && errno == ECHILD))
                c->pid = 0;
            else
                any = true;
        }
        if (!any)
            return true;
        if (time(NULL) >= deadline)
            return false;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
}

void cli_super_stop(cli_super_t *s)
{
    s->stopping = true;
    write_status(s);
    for (int i = SVC_COUNT - 1; i >= 0; i--) /* analytics first, intake last */
        if (s->child[i].pid > 0)
            kill(s->child[i].pid, SIGTERM);
    time_t deadline = time(NULL) + CLI_STOP_TIMEOUT_S;
    while (!wait_children(s, deadline)) {
        for (int i = 0; i < SVC_COUNT; i++) {
            if (s->child[i].pid > 0) {
                say("%s did not stop in %d s; killing it", cli_service_names[i],
                    CLI_STOP_TIMEOUT_S);
                kill(s->child[i].pid, SIGKILL);
            }
        }
        deadline = time(NULL) + 5;
    }
    char path[PATH_MAX];
    status_path(s, path, sizeof path);
    unlink(path);
}
