/* metrics_process: process_* metrics read from Linux /proc at render time. */
#include "metrics_internal.h"

#include "hclock.h"
#include "hl_error.h"
#include "slog.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- process metrics (Linux /proc; each registered only if readable at start) ---- */

/* Virtual and resident size in bytes from /proc/self/statm. */
static int read_statm(const metrics_t *self, double *vsize, double *rss)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp == NULL)
        return HL_EIO;
    unsigned long size = 0, resident = 0;
    int n = fscanf(fp, "%lu %lu", &size, &resident);
    fclose(fp);
    if (n != 2)
        return HL_EIO;
    *vsize = (double)size * (double)self->page_size;
    *rss = (double)resident * (double)self->page_size;
    return HL_OK;
}

static double proc_virtual_memory(void *ctx)
{
    double vsize, rss;
    return read_statm(ctx, &vsize, &rss) == HL_OK ? vsize : NAN;
}

static double proc_resident_memory(void *ctx)
{
    double vsize, rss;
    return read_statm(ctx, &vsize, &rss) == HL_OK ? rss : NAN;
}

static double proc_open_fds(void *ctx)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return NAN;
    double n = 0;
    char self_fd[24];
    snprintf(self_fd, sizeof self_fd, "%d", dirfd(dir));
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        if (e->d_name[0] != '.' && strcmp(e->d_name, self_fd) != 0)
            n++;
    closedir(dir);
    return n;
}

static double proc_max_fds(void *ctx)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return NAN;
    return rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur;
}

static double proc_cpu_seconds(void *ctx)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double proc_start_time(void *ctx)
{
    return ((const metrics_t *)ctx)->start_time;
}

/* Process start in seconds since the epoch: boot time (/proc/stat btime) plus the start tick
 * count (/proc/self/stat field 22). 0 when either is unreadable. */
double metrics_process_start_time(void)
{
    char buf[1024];
    unsigned long long btime = 0, ticks = 0;
    FILE *fp = fopen("/proc/self/stat", "r");
    if (fp == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and ')': count fields after the last ')'. */
    const char *p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 1,
                            " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d "
                            "%*d %*d %*d %*d %*d %llu",
                            &ticks) != 1)
        return 0;
    if ((fp = fopen("/proc/stat", "r")) == NULL)
        return 0;
    while (fgets(buf, sizeof buf, fp) != NULL)
        if (sscanf(buf, "btime %llu", &btime) == 1)
            break;
    fclose(fp);
    long hz = sysconf(_SC_CLK_TCK);
    if (btime == 0 || hz <= 0)
        return 0;
    return (double)btime + (double)ticks / (double)hz;
}

typedef struct builtin {
    const char *name;
    const char *help;
    mtype_t type;
    metrics_gauge_fn fn;
} builtin_t;

static const builtin_t builtins[] = {
    {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", TYPE_COUNTER,
     proc_cpu_seconds},
    {"process_open_fds", "Number of open file descriptors.", TYPE_GAUGE, proc_open_fds},
    {"process_max_fds", "Maximum number of open file descriptors.", TYPE_GAUGE, proc_max_fds},
    {"process_virtual_memory_bytes", "Virtual memory size in bytes.", TYPE_GAUGE,
     proc_virtual_memory},
    {"process_resident_memory_bytes", "Resident memory size in bytes.", TYPE_GAUGE,
     proc_resident_memory},
    {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
     TYPE_GAUGE, proc_start_time},
};

int metrics_process_register(metrics_t *self)
{
    double vsize, rss;
    bool have_statm = self->page_size > 0 && read_statm(self, &vsize, &rss) == HL_OK;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        const builtin_t *b = &builtins[i];
        if ((b->fn == proc_virtual_memory || b->fn == proc_resident_memory) && !have_statm)
            continue;
        if (b->fn == proc_open_fds && isnan(proc_open_fds(self)))
            continue;
        metric_t *f;
        int rc = metrics_family_register(self, b->name, b->help, b->type, NULL, NULL, 0, b->fn,
                                         self, &f);
        if (rc != HL_OK)
            return rc;
        f->builtin = true;
    }
    return HL_OK;
}
