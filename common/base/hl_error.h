/* hl_error: the one table of error codes used across common/ and the services.
 *
 * Every fallible function returns int: 0 on success or a negative HL_E* code. Foreign codes
 * (LMDB, errno, ZeroMQ) are translated once, at the boundary, with hl_error_from_*.
 * "Not found" is an outcome (HL_ENOTFOUND), not a failure to log. */
#ifndef HOTLINE_HL_ERROR_H
#define HOTLINE_HL_ERROR_H

enum {
    HL_OK = 0,
    HL_ENOTFOUND = -1,  /* the key / ticket / route does not exist */
    HL_EINVAL = -2,     /* input breaks a rule; the caller has a message naming it */
    HL_ENOMEM = -3,     /* allocation failed */
    HL_ENOSPC = -4,     /* disk full or the store reached its size limit */
    HL_EIO = -5,        /* the disk or the OS failed: fsync, open, read */
    HL_ECORRUPT = -6,   /* stored or received bytes do not decode */
    HL_EEXIST = -7,     /* already exists (idempotent replay, duplicate key) */
    HL_EAGAIN = -8,     /* try again: busy, would block, transient */
    HL_ETIMEDOUT = -9,  /* no answer within the deadline */
    HL_ECONFLICT = -10, /* the state does not allow this */
    HL_EINTERNAL = -11, /* a bug: an invariant did not hold */
    HL_ETOOBIG = -12,   /* a size limit was exceeded */
    HL_ECLOSED = -13,   /* shutting down or the peer went away */
    HL_EFULL = -14,     /* the store's map is full: grow it and retry the transaction */
    HL_ETXNFULL = -15,  /* one transaction touched too many pages: split the batch */
};

/* A short static description of an HL_E* code ("disk full"). Never NULL. */
const char *hl_strerror(int rc);

/* Translate an errno value (positive) to an HL_E* code. */
int hl_error_from_errno(int err);

/* Translate an LMDB return code (MDB_* or errno) to an HL_E* code. */
int hl_error_from_mdb(int mdb_rc);

#endif
