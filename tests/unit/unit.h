/* Helpers shared by the unit tests: temporary directories removed at exit, and a reader of
 * the CSV the exports write. */
#ifndef HOTLINE_TESTS_UNIT_H
#define HOTLINE_TESTS_UNIT_H

#include <stdbool.h>
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

/* Read the CSV record at *p (RFC 4180: quoted fields may hold commas, doubled quotes and line
 * breaks; records end with CRLF) in place: its fields, unquoted, into fields (at most max),
 * and *p moved past it. Returns the number of fields, 0 at the end of the text. */
static inline size_t unit_csv_record(char **p, char **fields, size_t max)
{
    char *in = *p;
    size_t n = 0;
    if (!*in)
        return 0;
    for (bool more = true; more;) {
        char *out = in;
        if (n < max)
            fields[n] = out;
        n++;
        if (*in == '"') {
            for (in++; *in; in++) {
                if (*in == '"' && in[1] != '"')
                    break;
                if (*in == '"') /* a doubled quote is one */
                    in++;
                *out++ = *in;
            }
            if (*in) /* the closing quote */
                in++;
        } else {
            while (*in && *in != ',' && *in != '\r')
                *out++ = *in++;
        }
        more = *in == ',';
        if (*in == '\r' && in[1] == '\n')
            in += 2;
        else if (*in)
            in++;
        *out = '\0';
    }
    *p = in;
    return n;
}

#endif
