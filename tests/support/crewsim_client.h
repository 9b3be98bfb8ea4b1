/* crewsim_client: what test_connector and bench_connector share to drive the crew-system
 * simulator (crewsim.c): start it as a child process and read the port it prints, and call its
 * routes (blocking libcurl: the caller's loop does not run meanwhile). static inline, so each
 * program compiles only what it uses. */
#ifndef HOTLINE_TESTS_CREWSIM_CLIENT_H
#define HOTLINE_TESTS_CREWSIM_CLIENT_H

#include "hclock.h"

#include <curl/curl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct crewsim {
    pid_t pid;
    uint16_t port;
} crewsim_t;

/* Start path with CREWSIM_KEY=key and wait (at most 10 s) for its {"port":N} line.
 * Returns 0, or -1 (nothing left running). */
static inline int crewsim_start(crewsim_t *sim, const char *path, const char *key)
{
    int out[2];
    if (pipe(out) != 0)
        return -1;
    sim->pid = fork();
    if (sim->pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        setenv("CREWSIM_KEY", key, 1);
        execl(path, "crewsim", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[64] = "";
    size_t len = 0;
    uint64_t end = hclock_mono_ns() / 1000000 + 10000;
    while (!strchr(line, '\n') && hclock_mono_ns() / 1000000 < end) {
        struct pollfd p = {.fd = out[0], .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(out[0], line + len, sizeof line - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        line[len] = '\0';
    }
    close(out[0]);
    unsigned port = 0;
    if (sim->pid < 0 || sscanf(line, "{\"port\":%u}", &port) != 1 || !port) {
        if (sim->pid > 0) {
            kill(sim->pid, SIGKILL);
            waitpid(sim->pid, NULL, 0);
        }
        return -1;
    }
    sim->port = (uint16_t)port;
    return 0;
}

/* SIGTERM and wait. Returns its exit status (0: clean, no leak under LeakSanitizer). */
static inline int crewsim_stop(crewsim_t *sim)
{
    int status = 0;
    kill(sim->pid, SIGTERM);
    waitpid(sim->pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

typedef struct crewsim_buf {
    char *data;
    size_t len;
} crewsim_buf_t;

static inline size_t crewsim_sink(char *data, size_t size, size_t n, void *userp)
{
    crewsim_buf_t *b = userp;
    char *grown = realloc(b->data, b->len + size * n);
    if (!grown)
        return 0;
    memcpy(grown + b->len, data, size * n);
    b->data = grown;
    b->len += size * n;
    return size * n;
}

/* method path ("GET", "/counts") and the JSON answer (caller decrefs), NULL on failure. */
static inline json_t *crewsim_call(const crewsim_t *sim, const char *method, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)sim->port, path);
    crewsim_buf_t body = {0};
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, crewsim_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    json_error_t err;
    json_t *out = rc == CURLE_OK && body.data ? json_loadb(body.data, body.len, 0, &err) : NULL;
    free(body.data);
    return out;
}

/* One number of GET /counts (received, unique, duplicates, rejected, failed); -1 on failure. */
static inline json_int_t crewsim_count(const crewsim_t *sim, const char *name)
{
    json_t *o = crewsim_call(sim, "GET", "/counts");
    json_int_t v = o ? json_integer_value(json_object_get(o, name)) : -1;
    json_decref(o);
    return v;
}

#endif
