/* editions: the stored versions of a loaded text (editions.h). */
#include "editions.h"

#include "hl_error.h"

#include <string.h>

#define HEADER 8 /* loaded ms */

int editions_newest(MDB_txn *txn, MDB_dbi dbi, edition_t *out)
{
    memset(out, 0, sizeof *out);
    MDB_val k, v;
    int rc = store_last(txn, dbi, &k, &v);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (k.mv_size != 4 || v.mv_size < HEADER + 1)
        return HL_ECORRUPT;
    const char *by = (const char *)v.mv_data + HEADER;
    const char *nul = memchr(by, '\0', v.mv_size - HEADER);
    if (!nul)
        return HL_ECORRUPT;
    const uint8_t *kp = k.mv_data;
    out->version = (uint32_t)kp[0] << 24 | (uint32_t)kp[1] << 16 | (uint32_t)kp[2] << 8 | kp[3];
    out->loaded_ms = (int64_t)store_be64_get(v.mv_data);
    out->by = by;
    out->text = nul + 1;
    out->len = v.mv_size - (size_t)(nul + 1 - (const char *)v.mv_data);
    return 0;
}

int editions_put(MDB_txn *txn, MDB_dbi dbi, uint32_t version, int64_t loaded_ms, const char *by,
                 const char *text, size_t len)
{
    uint8_t key[4] = {(uint8_t)(version >> 24), (uint8_t)(version >> 16), (uint8_t)(version >> 8),
                      (uint8_t)version};
    size_t blen = strlen(by) + 1;
    void *at;
    int rc = store_put_reserve(txn, dbi, key, sizeof key, HEADER + blen + len, 0, &at);
    if (rc)
        return rc;
    store_be64_put(at, (uint64_t)loaded_ms);
    memcpy((char *)at + HEADER, by, blen);
    memcpy((char *)at + HEADER + blen, text, len);
    return 0;
}
