/* hl_error: error codes and their translation from foreign libraries. */
#include "hl_error.h"

#include <errno.h>
#include <lmdb.h>

const char *hl_strerror(int rc)
{
    switch (rc) {
    case HL_OK: return "ok";
    case HL_ENOTFOUND: return "not found";
    case HL_EINVAL: return "invalid input";
    case HL_ENOMEM: return "out of memory";
    case HL_ENOSPC: return "disk full or store size limit reached";
    case HL_EIO: return "I/O error";
    case HL_ECORRUPT: return "data does not decode";
    case HL_EEXIST: return "already exists";
    case HL_EAGAIN: return "temporarily unavailable, try again";
    case HL_ETIMEDOUT: return "timed out";
    case HL_ECONFLICT: return "not allowed in the current state";
    case HL_EINTERNAL: return "internal error";
    case HL_ETOOBIG: return "too big";
    case HL_ECLOSED: return "closed";
    case HL_EFULL: return "store map full";
    case HL_ETXNFULL: return "transaction too large";
    default: return "unknown error";
    }
}

int hl_error_from_errno(int err)
{
    switch (err) {
    case 0: return HL_OK;
    case ENOENT: return HL_ENOTFOUND;
    case EINVAL: return HL_EINVAL;
    case ENOMEM: return HL_ENOMEM;
    case ENOSPC: case EDQUOT: case EFBIG: return HL_ENOSPC;
    case EEXIST: return HL_EEXIST;
    case EAGAIN: case EBUSY: case EINTR: return HL_EAGAIN;
    case ETIMEDOUT: return HL_ETIMEDOUT;
    default: return HL_EIO;
    }
}

int hl_error_from_mdb(int mdb_rc)
{
    switch (mdb_rc) {
    case MDB_SUCCESS: return HL_OK;
    case MDB_NOTFOUND: return HL_ENOTFOUND;
    case MDB_KEYEXIST: return HL_EEXIST;
    case MDB_MAP_FULL: return HL_EFULL;
    case MDB_TXN_FULL: return HL_ETXNFULL;
    case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND: case MDB_INVALID:
    case MDB_VERSION_MISMATCH: case MDB_BAD_VALSIZE: return HL_ECORRUPT;
    case MDB_READERS_FULL: case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL: case MDB_MAP_RESIZED: return HL_EAGAIN;
    case MDB_DBS_FULL: case MDB_INCOMPATIBLE: case MDB_BAD_RSLOT: case MDB_BAD_TXN:
    case MDB_BAD_DBI: case MDB_TLS_FULL: return HL_EINTERNAL;
    default:
        return mdb_rc > 0 ? hl_error_from_errno(mdb_rc) : HL_EIO;
    }
}
