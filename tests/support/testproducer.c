/* testproducer: a service with no business logic whose only command appends numbered
 * TestEvents to its log. The runtime's crash tests and benchmarks drive it. */
#include "service.h"

#include "hl_error.h"

#include <stdlib.h>
#include <string.h>

static const char DEFAULTS[] =
    "{\"runtime\": {\"name\": \"producer\", \"dataDir\": \"var/producer\","
    " \"busEndpoint\": \"tcp://127.0.0.1:*\", \"http\": {\"port\": 0}}}";

static int on_command(void *state, MDB_txn *txn, const Hotline__Command *cmd,
                      cmd_reply_t *reply)
{
    evlog_t *log = state;
    if (cmd->body_case != HOTLINE__COMMAND__BODY_TEST_APPEND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "body",
                          "the test producer only takes testAppend");
    const Hotline__TestAppend *ta = cmd->test_append;
    if (ta->count == 0 || ta->count > 100000)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "testAppend.count",
                          "must be from 1 to 100000");
    if (ta->payload_bytes > 65536)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "testAppend.payloadBytes",
                          "must be at most 65536");
    uint8_t *payload = arena_calloc(reply->arena, ta->payload_bytes + 1);
    if (!payload)
        return HL_ENOMEM;
    memset(payload, 'x', ta->payload_bytes);
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    te.payload.data = payload;
    te.payload.len = ta->payload_bytes;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TEST;
    ev.test = &te;
    te.append_mono_ns = hclock_mono_ns();
    for (uint64_t i = 0; i < ta->count; i++) {
        te.n = ta->first_n + i;
        int rc = evlog_append(log, txn, &ev);
        if (rc)
            return rc;
    }
    Hotline__TestAppendResult *res = arena_alloc(reply->arena, sizeof *res);
    if (!res)
        return HL_ENOMEM;
    hotline__test_append_result__init(res);
    res->last_seq = ev.seq;
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_TEST_APPEND;
    reply->msg->test_append = res;
    return 0;
}

static int init(service_t *svc, void **state)
{
    *state = service_log(svc);
    return 0;
}

/* The runtime's test command: for services and admins (tests and benchmarks). */
static const service_command_rule_t COMMANDS[] = {
    {HOTLINE__COMMAND__BODY_TEST_APPEND, AUTH_SERVICE | AUTH_ADMIN},
    {0, 0},
};

static const service_desc_t DESC = {
    .name = "producer",
    .summary = "Runtime test producer: appends numbered test events on command.",
    .config_desc = &hotline__basic_config__descriptor,
    .default_config_json = DEFAULTS,
    .init = init,
    .command = on_command,
    .commands = COMMANDS,
};

int main(int argc, char **argv)
{
    return service_main(argc, argv, &DESC);
}
