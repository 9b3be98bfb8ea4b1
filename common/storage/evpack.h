/* evpack: the form in which the event log stores an event, smaller than the packed Event and
 * turned back into the very same bytes on read (evlog.c uses it; nothing else needs to).
 *
 * What it changes, in an Event packed without its source, seq and time_ms:
 *   - the ticket id "YYYYMMDD-I-NNNNNN" (intake's form, 17 bytes and more) becomes field 5
 *     (no such field in hotline.Event) holding three varints: YYYYMMDD - 20000000, I, N,
 *     when printing them back gives the id exactly; any other id is kept as it is;
 *   - in the body, a text of a bounded set (the fields named in evpack.c: unit, category,
 *     district, policy, limit, route, ...) is stored as a varint under its field number (a
 *     text field never has that wire type) holding the text's number in the log's own
 *     dictionary, the "log_names" sub-database (common/storage/names.h). A dictionary holds
 *     at most EVPACK_NAMES_MAX texts; past that, and for texts longer than EVPACK_TEXT_MAX,
 *     texts stay as they are.
 * Field order and every other byte are kept, so decoding gives the packed Event back exactly.
 *
 * Numbers already committed are cached in memory (both ways); a number given in a transaction
 * that is not yet known to be committed is looked up in the store every time, so a rollback
 * never leaves the cache holding a number that does not exist. Loop thread only. */
#ifndef HOTLINE_EVPACK_H
#define HOTLINE_EVPACK_H

#include "bytes.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define EVPACK_NAMES_MAX 65536 /* texts numbered per log */
#define EVPACK_TEXT_MAX 128    /* longer texts are stored as they are */

typedef struct evpack evpack_t;


/* Open the dictionary (sub-database "log_names") and read how many texts are committed. */
int evpack_open(evpack_t **out, store_t *store);
void evpack_close(evpack_t **self);

/* After a commit, with a read transaction: the texts numbered so far may now be cached. */
void evpack_committed(evpack_t *self, MDB_txn *txn);

/* in (an Event packed without source, seq, time_ms) in its stored form, appended to out.
 * Numbers for new texts are written in txn. HL_EINVAL when in holds a field 5 (unknown to
 * hotline.Event, kept by protobuf-c from a newer sender): store it in another form. HL_ECORRUPT
 * for bytes that are not protobuf, HL_ENOMEM, or a store error (the caller's transaction must
 * then be aborted). */
int evpack_encode(evpack_t *self, MDB_txn *txn, const uint8_t *in, size_t n, bytebuf_t *out);

/* The stored form in back to the packed bytes, appended to out. HL_ECORRUPT for a malformed
 * entry or a number the dictionary does not hold. */
int evpack_decode(evpack_t *self, MDB_txn *txn, const uint8_t *in, size_t n, bytebuf_t *out);

#endif
