/* Helpers shared by the unit tests: temporary directories removed at exit. */
#ifndef HOTLINE_TESTS_UNIT_H
#define HOTLINE_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fresh directory under /tmp, removed (with its contents) by unit_tmpdir_cleanup. */
static inline char *unit_tmpdir(void)
{
    char *dir = strdup("/tmp/hotline-unit.XXXXXX");
    if (!dir || !mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    return dir;
}

static inline void unit_tmpdir_cleanup(char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
}

#endif
