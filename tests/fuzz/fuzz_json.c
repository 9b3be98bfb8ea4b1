/* fuzz_json: arbitrary bytes as the JSON body of an HTTP command (hotline.Command) and of a
 * ticket (hotline.Ticket), through pbjson_decode with Hotline's default limits.
 *
 * Beyond "no crash, no leak": a refusal is HL_EINVAL with nothing allocated and a message that
 * is valid UTF-8 (it goes back in a JSON reply); an accepted document re-encodes, with and
 * without defaults, to JSON that decodes to the same message (same packed bytes). */
#include "hl_error.h"
#include "pbjson.h"
#include "hotline/command.pb-c.h"
#include "hotline/ticket.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf || protobuf_c_message_pack(m, buf) != *len)
        abort();
    return buf;
}

static void check_roundtrip(const ProtobufCMessage *m, bool emit_defaults)
{
    pbjson_error_t err;
    ProtobufCMessage *back = NULL;
    char *text = pbjson_encode_string(m, emit_defaults);

    if (!text)
        abort();
    if (pbjson_decode(m->descriptor, text, strlen(text), NULL, &back, &err) != 0) {
        fprintf(stderr, "re-decoding our own output failed: %s: %s\n%s\n", err.field,
                err.message, text);
        abort();
    }
    size_t n1, n2;
    uint8_t *p1 = pack(m, &n1), *p2 = pack(back, &n2);
    if (n1 != n2 || memcmp(p1, p2, n1) != 0) {
        fprintf(stderr, "round trip changed the message: %s\n", text);
        abort();
    }
    free(p1);
    free(p2);
    protobuf_c_message_free_unpacked(back, NULL);
    free(text);
}

static void check(const ProtobufCMessageDescriptor *md, const uint8_t *data, size_t size)
{
    ProtobufCMessage *m = NULL;
    pbjson_error_t err;
    int rc = pbjson_decode(md, (const char *)data, size, NULL, &m, &err);

    if (rc != 0) {
        json_t *message = json_string(err.message), *field = json_string(err.field);
        if ((rc != HL_EINVAL && rc != HL_ENOMEM) || m || !message || !field || !err.message[0])
            abort();
        json_decref(message);
        json_decref(field);
        return;
    }
    check_roundtrip(m, false);
    check_roundtrip(m, true);
    protobuf_c_message_free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(&hotline__command__descriptor, data, size);
    check(&hotline__ticket__descriptor, data, size);
    return 0;
}
