/* bench_incident_close: an incident's close fan-out at size (issue 9: 5,000 linked tickets
 * replied in under a second). Dispatch runs in-process on a store in a new directory (full
 * sync, as in production): N tickets (default 5,000) in the incident's category and area are
 * dispatched, linked by rule in one command, and the incident is closed; the close command's
 * transaction (every linked ticket replied, a TicketReplied each, and the commit) is timed.
 * With N above the 5,000 of one transaction, the rest is replied chunk by chunk as the
 * scheduler would, each chunk timed. JSON lines.
 * Usage: bench_incident_close [DIR] [N] */
#include "dispatch.h"
#include "dispatch_internal.h"
#include "hl_error.h"
#include "pbjson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct bench {
    store_t *store;
    hclock_t *clock;
    evlog_t *log;
    Hotline__DispatchConfig *cfg;
    dispatch_t *d;
} bench_t;

static double now_s(void)
{
    return (double)hclock_mono_ns() / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_incident_close: %s: %s\n", what, hl_strerror(rc));
    exit(1);
}

/* Run cmd in one write transaction and commit; the reply's result is left in *msg. */
static void command(bench_t *b, Hotline__Command *cmd, arena_t *arena, Hotline__CommandReply *msg)
{
    cmd_reply_t reply = {msg, arena};
    MDB_txn *txn;
    int rc = store_write_begin(b->store, &txn);
    if (!rc)
        rc = dispatch_command(b->d, txn, cmd, &reply);
    if (!rc && msg->status != HOTLINE__STATUS__OK) {
        fprintf(stderr, "bench_incident_close: refused: %s\n", msg->message);
        exit(1);
    }
    if (!rc)
        rc = store_write_commit(b->store, &txn);
    if (rc)
        die("command", rc);
    evlog_committed(b->log);
}

static void receive(bench_t *b, unsigned from, unsigned n)
{
    MDB_txn *txn;
    int rc = store_write_begin(b->store, &txn);
    for (unsigned i = from; !rc && i < from + n; i++) {
        char id[32];
        snprintf(id, sizeof id, "20261125-1-%06u", i);
        Hotline__Location loc = HOTLINE__LOCATION__INIT;
        loc.district = "Taijiang";
        loc.community = "Riverside";
        Hotline__Ticket t = HOTLINE__TICKET__INIT;
        t.id = id;
        t.category_code = "W01";
        t.location = &loc;
        Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
        tr.ticket = &t;
        Hotline__Event ev = HOTLINE__EVENT__INIT;
        ev.source = "intake";
        ev.seq = i + 1;
        ev.ticket_id = id;
        ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
        ev.ticket_received = &tr;
        rc = dispatch_apply_intake(b->d, txn, &ev);
    }
    if (!rc)
        rc = store_write_commit(b->store, &txn);
    if (rc)
        die("receive", rc);
    evlog_committed(b->log);
}

int main(int argc, char **argv)
{
    const char *parent = argc > 1 ? argv[1] : "/tmp";
    unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 5000;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bench-incident-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_incident_close: mkdtemp %s: %s\n", dir, strerror(errno));
        return 1;
    }
    bench_t b = {0};
    store_opts_t so = {.path = dir, .map_size = 256u << 20};
    int rc = store_open(&b.store, &so);
    if (!rc)
        rc = hclock_create(&b.clock, false);
    evlog_opts_t lo = {.source = "dispatch", .retention_ms = 3600 * 1000};
    if (!rc)
        rc = evlog_open(&b.log, b.store, b.clock, &lo);
    const char *json = dispatch_service.default_config_json;
    pbjson_error_t perr;
    if (!rc && pbjson_decode(&hotline__dispatch_config__descriptor, json, strlen(json), NULL,
                             (ProtobufCMessage **)&b.cfg, &perr))
        rc = HL_EINVAL;
    char err[256] = "";
    if (!rc)
        rc = dispatch_create(&b.d, b.store, b.log, b.clock, b.cfg, err, sizeof err);
    if (rc)
        die(*err ? err : "setup", rc);

    for (unsigned i = 0; i < n; i += 1000)
        receive(&b, i, n - i < 1000 ? n - i : 1000);

    arena_t *arena;
    if (arena_create(&arena))
        die("arena", HL_ENOMEM);
    Hotline__IncidentArea area = HOTLINE__INCIDENT_AREA__INIT;
    area.community = "Riverside";
    Hotline__DeclareIncident d = HOTLINE__DECLARE_INCIDENT__INIT;
    d.category_prefix = "W01";
    d.area = &area;
    d.summary = "burst main on Riverside Road";
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_DECLARE_INCIDENT;
    cmd.declare_incident = &d;
    Hotline__CommandReply msg = HOTLINE__COMMAND_REPLY__INIT;
    command(&b, &cmd, arena, &msg);
    char inc[64];
    snprintf(inc, sizeof inc, "%s", msg.incident->incident_id);

    Hotline__LinkTickets l = HOTLINE__LINK_TICKETS__INIT;
    l.incident_id = inc;
    l.matching = true;
    cmd.body_case = HOTLINE__COMMAND__BODY_LINK_TICKETS;
    cmd.link_tickets = &l;
    arena_reset(arena);
    msg = (Hotline__CommandReply)HOTLINE__COMMAND_REPLY__INIT;
    double t0 = now_s();
    command(&b, &cmd, arena, &msg);
    double link_s = now_s() - t0;
    printf("{\"bench\": \"incident_link_by_rule\", \"tickets\": %zu, \"seconds\": %.3f}\n",
           msg.link_tickets->n_linked, link_s);

    Hotline__CloseIncident c = HOTLINE__CLOSE_INCIDENT__INIT;
    c.incident_id = inc;
    c.resolution = "The main on Riverside Road is repaired; water is back.";
    cmd.body_case = HOTLINE__COMMAND__BODY_CLOSE_INCIDENT;
    cmd.close_incident = &c;
    arena_reset(arena);
    msg = (Hotline__CommandReply)HOTLINE__COMMAND_REPLY__INIT;
    t0 = now_s();
    command(&b, &cmd, arena, &msg);
    double close_s = now_s() - t0;
    unsigned replied = msg.incident->replied;
    bool more = msg.incident->closing;
    unsigned chunks = 1;
    double worst = close_s;
    while (more) { /* what the scheduler does, pass by pass */
        MDB_txn *txn;
        double c0 = now_s();
        rc = store_write_begin(b.store, &txn);
        if (!rc)
            rc = dispatch_close_continue(b.d, txn, inc, &more);
        if (!rc)
            rc = store_write_commit(b.store, &txn);
        if (rc)
            die("chunk", rc);
        double cs = now_s() - c0;
        worst = cs > worst ? cs : worst;
        chunks++;
    }
    double all_s = now_s() - t0;
    printf("{\"bench\": \"incident_close_fanout\", \"tickets\": %u, \"replied_in_close\": %u, "
           "\"close_seconds\": %.3f, \"chunks\": %u, \"longest_transaction_seconds\": %.3f, "
           "\"all_replied_seconds\": %.3f, \"target_seconds\": 1}\n",
           n, replied, close_s, chunks, worst, all_s);

    arena_destroy(&arena);
    dispatch_destroy(&b.d);
    protobuf_c_message_free_unpacked(&b.cfg->base, NULL);
    evlog_close(&b.log);
    store_close(&b.store);
    hclock_destroy(&b.clock);
    char rm[4200];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    return system(rm) == 0 ? 0 : 1;
}
