/* names: a sub-database that gives each distinct text a number once (1, 2, ...), so that
 * records and keys carry a number instead of the text (dispatch's route texts and unit ids).
 * Numbers never change and are never reused: a record shows the text it was written with,
 * whatever comes later. A number given in a transaction that is rolled back is gone with it.
 *
 *   'h' + FNV-1a 64 of the text + probe (BE) -> BE u32 number + text NUL
 *   'n' + BE u32 number                      -> text NUL
 *   "#"                                      -> the last number given (BE u64)
 *
 * Two texts with one hash take the next probe. Loop thread (the caller's transaction). */
#ifndef HOTLINE_NAMES_H
#define HOTLINE_NAMES_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* text's number into *out: the one it has, or (give) a new one written in txn; 0 when it has
 * none and give is false, or when the numbers or the probes ran out. */
int names_number(MDB_txn *txn, MDB_dbi db, const char *text, size_t len, bool give,
                 uint32_t *out);

/* The last number given (0: none yet), committed or in txn. */
int names_last(MDB_txn *txn, MDB_dbi db, uint64_t *out);

/* The hash the dictionary files texts under (FNV-1a, 64 bits). */
uint64_t names_hash(const char *text, size_t len);

/* The text of a number: borrowed from the store until txn ends, NUL-terminated, *len without
 * the NUL. HL_ENOTFOUND, HL_ECORRUPT (a malformed entry). */
int names_text(MDB_txn *txn, MDB_dbi db, uint32_t number, const char **text, size_t *len);

/* Every text and its number, in no useful order; fn returns 0 to go on, or an HL_E code. */
typedef int (*names_fn)(void *ctx, const char *text, size_t len, uint32_t number);
int names_scan(MDB_txn *txn, MDB_dbi db, names_fn fn, void *ctx);

#endif
