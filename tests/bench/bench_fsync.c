/* bench_fsync: the raw rate of small write + fdatasync on the disk holding DIR, the ceiling
 * every durable commit sits under. Usage: bench_fsync [DIR] [SECONDS] */
#include "hclock.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    double secs = argc > 2 ? atof(argv[2]) : 3.0;
    char path[4096];
    snprintf(path, sizeof path, "%s/bench_fsync.tmp", dir);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    char buf[4096];
    memset(buf, 'f', sizeof buf);
    uint64_t start = hclock_mono_ns(), end = start + (uint64_t)(secs * 1e9);
    unsigned long n = 0;
    while (hclock_mono_ns() < end) {
        if (pwrite(fd, buf, sizeof buf, (off_t)(n % 256) * 4096) < 0 || fdatasync(fd) != 0) {
            perror("write/fdatasync");
            return 1;
        }
        n++;
    }
    double elapsed = (double)(hclock_mono_ns() - start) / 1e9;
    close(fd);
    unlink(path);
    printf("{\"bench\": \"fsync\", \"fdatasyncs_per_s\": %.0f, \"mean_us\": %.1f}\n",
           n / elapsed, elapsed * 1e6 / n);
    return 0;
}
