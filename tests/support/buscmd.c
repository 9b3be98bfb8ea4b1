/* buscmd: send hotline.BusRequests written as JSON lines on stdin to a service's bus and
 * write each reply as a JSON line on stdout ({"timeout": true} when none came). A request's
 * "token" field is its bearer token, so one process can ask as many principals. For a CURVE
 * bus: HOTLINE_CURVE_SECRET_KEY_FILE and HOTLINE_CURVE_SERVER_KEY.
 *   buscmd ENDPOINT [TIMEOUT_MS] < requests.jsonl > replies.jsonl
 * A line: {"token": "hlt_...", "command": {"signTicket": {...}}} or {"fetch": {...}}. */
#include "arena.h"
#include "bus.h"
#include "cmd_client.h"
#include "hl_error.h"
#include "pbjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: buscmd ENDPOINT [TIMEOUT_MS] < requests.jsonl\n");
        return 2;
    }
    int timeout = argc > 2 ? atoi(argv[2]) : 3000;
    cmd_client_t *c;
    bus_cred_t cred;
    if (cmd_client_create(&c, NULL, argv[1]) || bus_cred_from_env(&cred) ||
        cmd_client_set_cred(c, &cred)) {
        fprintf(stderr, "buscmd: cannot connect to %s (or bad CURVE settings)\n", argv[1]);
        return 1;
    }
    arena_t *arena;
    arena_create(&arena);
    static char line[1 << 16];
    int rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        size_t len = strcspn(line, "\n");
        if (len == 0)
            continue;
        ProtobufCMessage *msg;
        pbjson_error_t err;
        if (pbjson_decode(&hotline__bus_request__descriptor, line, len, NULL, &msg, &err)) {
            printf("{\"badRequest\": \"%s: %s\"}\n", err.field, err.message);
            fflush(stdout);
            continue;
        }
        Hotline__BusRequest *req = (Hotline__BusRequest *)msg;
        uint64_t id;
        Hotline__BusReply *reply = NULL;
        int r = cmd_client_send(c, req, &id);
        while (!r) {
            arena_reset(arena);
            r = cmd_client_recv(c, timeout, arena, &reply);
            if (!r && reply->request_id == id)
                break;
        }
        if (r == HL_ETIMEDOUT || r == HL_EAGAIN) { /* no answer, or not even a connection */
            puts("{\"timeout\": true}");
            cmd_client_reconnect(c); /* drop what a dead connection still queues */
            if (cmd_client_set_cred(c, &cred))
                rc = 1;
        } else if (r) {
            printf("{\"error\": \"%s\"}\n", hl_strerror(r));
            rc = 1;
        } else {
            char *text = pbjson_encode_string(&reply->base, false);
            puts(text ? text : "{}");
            free(text);
        }
        fflush(stdout);
        hotline__bus_request__free_unpacked(req, NULL);
    }
    arena_destroy(&arena);
    cmd_client_destroy(&c);
    return rc;
}
