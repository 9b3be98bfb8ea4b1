/* category: the ticket model's category codes, an upper-case letter for the subtree (W water,
 * P power) then digits: W01 (no water), W0402 (street main burst); and prefixes of them, which
 * routes, policies and incidents match on. Pure; any thread. */
#ifndef HOTLINE_CATEGORY_H
#define HOTLINE_CATEGORY_H

#include <stdbool.h>

/* A full code: a letter and 2 to 6 digits. */
bool category_code_valid(const char *code);

/* A prefix: a letter and any number of digits ("W", "W04"); not "". Callers cap the length. */
bool category_prefix_valid(const char *prefix);

#endif
