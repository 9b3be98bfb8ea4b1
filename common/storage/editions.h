/* editions: numbered, kept-for-the-record versions of a text a service loads without a restart
 * (dispatch's routing catalogue, sla's policy table). In one sub-database of the service's
 * store: BE u32 version -> BE i64 loaded ms, who NUL, the text. The highest version is the one
 * in use; a service adopts it after the load's transaction commits, and at start-up.
 * Any thread with its own transaction. */
#ifndef HOTLINE_EDITIONS_H
#define HOTLINE_EDITIONS_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct edition {
    uint32_t version; /* 0: none stored */
    int64_t loaded_ms;
    const char *by;   /* NUL-terminated; borrowed from the transaction */
    const char *text; /* not NUL-terminated: len bytes, borrowed from the transaction */
    size_t len;
} edition_t;

/* The newest stored edition (version 0 when there is none). Errors: HL_ECORRUPT, store
 * errors. */
int editions_newest(MDB_txn *txn, MDB_dbi dbi, edition_t *out);

/* Store version with its loader, time and text, inside a write transaction. */
int editions_put(MDB_txn *txn, MDB_dbi dbi, uint32_t version, int64_t loaded_ms, const char *by,
                 const char *text, size_t len);

#endif
