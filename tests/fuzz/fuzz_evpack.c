/* fuzz_evpack: the event log's stored form (common/storage/evpack.h). The first byte picks:
 *   even: the rest as a stored entry, decoded against a small dictionary: an answer (0 or
 *         HL_ECORRUPT), never a crash or a read out of bounds;
 *   odd:  the rest as a packed hotline.Event; when protobuf-c unpacks it, its canonical bytes
 *         are encoded and decoded again (in a transaction rolled back after) and must come
 *         back byte for byte (HL_EINVAL, an unknown field 5, is the one refusal allowed). */
#include "evpack.h"
#include "hl_error.h"

#include "hotline/event.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz_evpack.XXXXXX";
static store_t *store;
static evpack_t *pack;

static void cleanup(void)
{
    evpack_close(&pack);
    store_close(&store);
    char path[64];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

/* A store with a few texts numbered (units, a category, a route), committed. */
static void open_once(void)
{
    if (store)
        return;
    store_opts_t o = {.path = mkdtemp(dir)};
    if (!o.path || store_open(&store, &o) || evpack_open(&pack, store))
        abort();
    atexit(cleanup);
    Hotline__TicketDispatched d = HOTLINE__TICKET_DISPATCHED__INIT;
    d.unit = "water-quality";
    d.category_code = "W03";
    d.district = "Cangshan";
    d.route = "catalogue 0: W03 -> water-quality";
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = "20261208-1-000001";
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
    ev.ticket_dispatched = &d;
    uint8_t buf[256];
    size_t n = hotline__event__pack(&ev, buf);
    bytebuf_t out = {0};
    MDB_txn *txn;
    if (store_write_begin(store, &txn) || evpack_encode(pack, txn, buf, n, &out) ||
        store_write_commit(store, &txn))
        abort();
    if (store_read_begin(store, &txn))
        abort();
    evpack_committed(pack, txn);
    store_read_end(&txn);
    free(out.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    open_once();
    bytebuf_t enc = {0}, dec = {0};
    MDB_txn *txn;
    if (!(data[0] & 1)) {
        if (store_read_begin(store, &txn))
            abort();
        int rc = evpack_decode(pack, txn, data + 1, size - 1, &dec);
        if (rc != 0 && rc != HL_ECORRUPT)
            abort();
        store_read_end(&txn);
        free(dec.p);
        return 0;
    }
    Hotline__Event *ev = hotline__event__unpack(NULL, size - 1, data + 1);
    if (!ev)
        return 0;
    size_t n = hotline__event__get_packed_size(ev);
    uint8_t *canon = malloc(n ? n : 1);
    if (!canon)
        abort();
    hotline__event__pack(ev, canon);
    hotline__event__free_unpacked(ev, NULL);
    if (store_write_begin(store, &txn))
        abort();
    int rc = evpack_encode(pack, txn, canon, n, &enc);
    if (rc == 0) {
        if (evpack_decode(pack, txn, enc.p, enc.n, &dec) != 0 || dec.n != n ||
            memcmp(dec.p, canon, n) != 0) {
            fprintf(stderr, "fuzz_evpack: %zu bytes did not come back\n", n);
            abort();
        }
    } else if (rc != HL_EINVAL) {
        fprintf(stderr, "fuzz_evpack: encode refused canonical bytes: %s\n", hl_strerror(rc));
        abort();
    }
    store_write_abort(&txn);
    free(canon);
    free(enc.p);
    free(dec.p);
    return 0;
}
