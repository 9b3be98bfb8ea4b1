/* busraw: send one binary hotline.BusRequest (stdin) to a service's bus and write the binary
 * hotline.BusReply to stdout. With protoc --encode / --decode on either side it checks our wire
 * format against the reference protobuf implementation.
 * Usage: busraw ENDPOINT [TIMEOUT_MS] < request.bin > reply.bin
 * For a CURVE bus: HOTLINE_CURVE_SECRET_KEY_FILE and HOTLINE_CURVE_SERVER_KEY (a token, if any,
 * is part of the request). */
#include "bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: busraw ENDPOINT [TIMEOUT_MS] < request.bin > reply.bin\n");
        return 2;
    }
    int timeout = argc > 2 ? atoi(argv[2]) : 5000;
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, stdin);
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    bus_cred_t cred;
    if (bus_cred_from_env(&cred) != 0 || bus_cred_apply(sock, &cred) != 0) {
        fprintf(stderr, "busraw: bad CURVE settings in the environment\n");
        return 2;
    }
    if (zmq_connect(sock, argv[1]) != 0 || zmq_send(sock, buf, len, 0) < 0) {
        fprintf(stderr, "busraw: cannot send to %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, 0) < 0) {
        fprintf(stderr, "busraw: no reply within %d ms\n", timeout);
        return 1;
    }
    fwrite(zmq_msg_data(&msg), 1, zmq_msg_size(&msg), stdout);
    zmq_msg_close(&msg);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return 0;
}
