/* cli_super: the supervisor inside `hotline up`. It keeps the five services running: one that
 * dies is started again after a pause that doubles while it keeps dying (a crash loop must not
 * spin, nor take the other four down with it), and it tells `hotline status` what it knows
 * through DIR/supervisor.json. */
#ifndef HOTLINE_CLI_SUPER_H
#define HOTLINE_CLI_SUPER_H

#include "cli.h"

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* DIR/supervisor.json, replaced whole (rename) on every change while `hotline up` runs:
 *   {"pid": <supervisor>, "portBase": N, "updatedMs": <UTC ms>, "stopping": false,
 *    "services": {"intake": {"state": "running" | "restarting", "pid": N (0 while down),
 *                            "restarts": N, "startedMs": ..., "nextDelayMs": <pause after
 *                            its next death>, "lastExit": "killed by signal 9 (Killed)",
 *                            "lastExitMs": ..., "nextRestartMs": <while restarting>}, ...}}
 * and removed when it stops. */
#define CLI_SUPER_FILE "supervisor.json"

/* The pause before a restart: first after a crash, doubling up to cap; it starts from first
 * again once the service has stayed up for stable_ms. */
typedef struct cli_backoff {
    int64_t first_ms, cap_ms, stable_ms;
} cli_backoff_t;

#define CLI_BACKOFF_DEFAULT {500, 30000, 60000}
#define CLI_BACKOFF_ENV "HOTLINE_RESTART_BACKOFF_MS"

/* Parse "FIRST,CAP,STABLE" in ms; -1 (message printed, naming what) when it breaks a rule. */
int cli_backoff_parse(const char *what, const char *text, cli_backoff_t *out);

/* Start service svc as a child; its pid, or -1. */
typedef pid_t (*cli_spawn_fn)(void *ctx, int svc);

typedef struct cli_child {
    pid_t pid;             /* 0 while it waits to be restarted */
    int64_t started_mono;  /* when it last started: monotonic ms, for uptime and pauses */
    int64_t started_wall;  /* the same in UTC ms, for people */
    int64_t due_mono;      /* while down: when to start it again */
    int64_t delay_ms;      /* the pause its next death gets */
    int restarts;
    char last_exit[96];    /* "killed by signal 9 (Killed)"; "" until it first dies */
    int64_t last_exit_wall;
} cli_child_t;

typedef struct cli_super {
    const cli_t *cli;
    const char *data_dir;
    cli_backoff_t backoff;
    cli_spawn_fn spawn;
    void *ctx;
    sigset_t signals;      /* SIGINT, SIGTERM, SIGCHLD: blocked, taken with sigtimedwait */
    bool stopping;
    bool status_failed;    /* the last status file write failed (said once, not each time) */
    cli_child_t child[SVC_COUNT];
} cli_super_t;

/* Block the signals the supervisor waits for: before any child exists, so no death is missed. */
void cli_super_init(cli_super_t *s, const cli_t *cli, const char *data_dir,
                    cli_backoff_t backoff, cli_spawn_fn spawn, void *ctx);

/* Start all five. */
void cli_super_start(cli_super_t *s);

/* Wait for a signal up to max_ms (-1: as long as nothing is due), reap and schedule the dead,
 * restart those whose pause is over. Returns false once SIGINT or SIGTERM came. */
bool cli_super_step(cli_super_t *s, int64_t max_ms);

/* SIGTERM to every child, last started first, then wait (SIGKILL after STOP_TIMEOUT_S);
 * removes the status file. */
void cli_super_stop(cli_super_t *s);

#define CLI_STOP_TIMEOUT_S 30

#endif
