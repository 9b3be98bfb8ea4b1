/* testclient: appends numbered test events to the test producer through its bus, with a
 * window of commands in flight, resending (same idempotency key) whatever is not answered
 * within the timeout. Prints one JSON line of figures at the end. With --kind ticket it
 * submits tickets to intake instead (one per command, categories and districts rotating).
 *
 *   testclient --bus EP --events N [--batch K] [--window W] [--payload B]
 *   (credentials from the environment: HOTLINE_TOKEN or HOTLINE_TOKEN_FILE, and for a CURVE
 *   bus HOTLINE_CURVE_SECRET_KEY_FILE + HOTLINE_CURVE_SERVER_KEY)
 *              [--timeout-ms T] [--key PREFIX] [--progress FILE] [--rate CMDS_PER_S]
 *              [--offset N]   (events are numbered N+1 ... N+events)
 *              [--acked FILE] (appends "KEY TICKET_ID" for each acknowledged command, written
 *              before the next command is sent and flushed to disk every 1,000 acks and at
 *              the end: the client's record of what intake acknowledged; TICKET_ID is "-"
 *              for test events)
 *   --kind ticket [--category CODE] [--district NAME] [--persons P]: every ticket in that
 *   category and district (else rotating); with --persons, the N tickets go to P callers,
 *   each caller's consecutive (ticket n is caller (n-1) / ceil(N/P)'s)
 *   (phone 138 0000 0000 + person + 1), written in one of four forms in turn (13800000001,
 *   +86 138-0000-0001, 0086 138 0000 0001, 86-13800000001: one caller to phone_key), from
 *   a community of its own (Block 1, 2, ...) so that no call is linked as a repeat call.
 */
#include "cmd_client.h"
#include "hclock.h"
#include "hl_error.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RETRY_PAUSE_NS 100000000u

typedef struct slot {
    bool busy;
    uint64_t index;      /* command number */
    uint64_t request_id; /* of the latest attempt */
    uint64_t sent_ns;    /* first attempt, for latency */
    uint64_t attempt_ns;
    uint64_t retry_ns;   /* refused as unavailable (disk full): resend at this instant */
} slot_t;

typedef struct opts {
    const char *bus, *key, *progress, *acked;
    uint64_t events, batch;
    unsigned window, payload, timeout_ms;
    double rate; /* commands per second, 0 = as fast as answers come */
    uint64_t offset; /* events are numbered offset + 1 ... offset + N */
    bool tickets;    /* --kind ticket: SubmitTicket to intake */
    const char *category, *district; /* --kind ticket: fixed, else rotating */
    uint64_t persons;                /* --kind ticket: callers, 0 = one per ticket */
} opts_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *const CATEGORIES[] = {"W01", "W02", "W03", "W04", "W0402", "W05", "W06",
                                         "W07", "W08", "W09"};
static const char *const DISTRICTS[] = {"Gulou", "Taijiang", "Cangshan", "Jin'an", "Mawei"};

/* A plausible ticket, numbered n: the phone number is made up from n. */
static int send_ticket(cmd_client_t *c, const opts_t *o, slot_t *s, const char *key)
{
    uint64_t n = o->offset + s->index + 1;
    char phone[32], desc[96], community[32] = "";
    if (o->persons) {
        /* A person's tickets are consecutive (their callbacks sit side by side in the
         * agents' queue): tickets 1..K are person 1's, K+1..2K person 2's, ... */
        unsigned long long per = (o->events + o->persons - 1) / o->persons;
        unsigned long long p = (n - 1) / per + 1, k = (n - 1) % per;
        unsigned long long hi = p / 10000 % 10000, lo = p % 10000;
        switch (k % 4) {
        case 0: snprintf(phone, sizeof phone, "138%04llu%04llu", hi, lo); break;
        case 1: snprintf(phone, sizeof phone, "+86 138-%04llu-%04llu", hi, lo); break;
        case 2: snprintf(phone, sizeof phone, "0086 138 %04llu %04llu", hi, lo); break;
        default: snprintf(phone, sizeof phone, "86-138%04llu%04llu", hi, lo); break;
        }
        snprintf(community, sizeof community, "Block %llu", k + 1);
    } else {
        snprintf(phone, sizeof phone, "139%08llu", (unsigned long long)(n % 100000000));
    }
    snprintf(desc, sizeof desc, "load ticket %llu: no water since this morning",
             (unsigned long long)n);
    Hotline__Contact contact = HOTLINE__CONTACT__INIT;
    contact.phone = phone;
    Hotline__Location loc = HOTLINE__LOCATION__INIT;
    loc.district = (char *)(o->district ? o->district : DISTRICTS[n % 5]);
    if (*community)
        loc.community = community;
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.category_code = (char *)(o->category ? o->category : CATEGORIES[n % 10]);
    t.description = desc;
    t.contact = &contact;
    t.location = &loc;
    t.urgency = n % 7 == 0 ? HOTLINE__URGENCY__URGENCY_URGENT : HOTLINE__URGENCY__URGENCY_NORMAL;
    Hotline__SubmitTicket st = HOTLINE__SUBMIT_TICKET__INIT;
    st.ticket = &t;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.idempotency_key = (char *)key;
    cmd.body_case = HOTLINE__COMMAND__BODY_SUBMIT_TICKET;
    cmd.submit_ticket = &st;
    Hotline__BusRequest req = HOTLINE__BUS_REQUEST__INIT;
    req.body_case = HOTLINE__BUS_REQUEST__BODY_COMMAND;
    req.command = &cmd;
    s->attempt_ns = hclock_mono_ns();
    return cmd_client_send(c, &req, &s->request_id);
}

static int send_cmd(cmd_client_t *c, const opts_t *o, slot_t *s)
{
    char key[160];
    snprintf(key, sizeof key, "%s-%llu", o->key, (unsigned long long)s->index);
    if (o->tickets)
        return send_ticket(c, o, s, key);
    Hotline__TestAppend ta = HOTLINE__TEST_APPEND__INIT;
    ta.count = o->batch;
    ta.payload_bytes = o->payload;
    ta.first_n = o->offset + s->index * o->batch + 1;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.idempotency_key = key;
    cmd.body_case = HOTLINE__COMMAND__BODY_TEST_APPEND;
    cmd.test_append = &ta;
    Hotline__BusRequest req = HOTLINE__BUS_REQUEST__INIT;
    req.body_case = HOTLINE__BUS_REQUEST__BODY_COMMAND;
    req.command = &cmd;
    s->attempt_ns = hclock_mono_ns();
    return cmd_client_send(c, &req, &s->request_id);
}

/* One line per acknowledged command, "KEY TICKET_ID\n", in one write(2): a SIGKILL of the
 * client leaves whole lines; fdatasync every 1,000 acks and at the end. */
static int record_ack(int fd, const opts_t *o, const slot_t *s, const Hotline__CommandReply *cr,
                      uint64_t acked)
{
    if (fd < 0)
        return 0;
    const char *id = cr->result_case == HOTLINE__COMMAND_REPLY__RESULT_SUBMIT_TICKET &&
                             cr->submit_ticket && cr->submit_ticket->ticket_id &&
                             *cr->submit_ticket->ticket_id
                         ? cr->submit_ticket->ticket_id
                         : "-";
    char line[320];
    int n = snprintf(line, sizeof line, "%s-%llu %s\n", o->key, (unsigned long long)s->index, id);
    if (n < 0 || (size_t)n >= sizeof line || write(fd, line, (size_t)n) != n)
        return HL_EIO;
    if (acked % 1000 == 0 && fdatasync(fd) != 0)
        return HL_EIO;
    return 0;
}

static void write_progress(const char *path, uint64_t events)
{
    if (!path)
        return;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%llu\n", (unsigned long long)events);
    fclose(f);
    rename(tmp, path);
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    static const struct option lo[] = {
        {"bus", required_argument, NULL, 'b'},     {"events", required_argument, NULL, 'n'},
        {"batch", required_argument, NULL, 'k'},   {"window", required_argument, NULL, 'w'},
        {"payload", required_argument, NULL, 'p'}, {"timeout-ms", required_argument, NULL, 't'},
        {"key", required_argument, NULL, 'K'},     {"progress", required_argument, NULL, 'P'},
        {"rate", required_argument, NULL, 'r'},    {"offset", required_argument, NULL, 'o'},
        {"kind", required_argument, NULL, 'i'},    {"category", required_argument, NULL, 'c'},
        {"district", required_argument, NULL, 'd'}, {"persons", required_argument, NULL, 'q'},
        {"acked", required_argument, NULL, 'A'},   {NULL, 0, NULL, 0},
    };
    *o = (opts_t){.key = "tc", .events = 1000, .batch = 1, .window = 16, .payload = 100,
                  .timeout_ms = 2000};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'b': o->bus = optarg; break;
        case 'n': o->events = strtoull(optarg, NULL, 10); break;
        case 'k': o->batch = strtoull(optarg, NULL, 10); break;
        case 'w': o->window = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'p': o->payload = (unsigned)strtoul(optarg, NULL, 10); break;
        case 't': o->timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'K': o->key = optarg; break;
        case 'P': o->progress = optarg; break;
        case 'r': o->rate = strtod(optarg, NULL); break;
        case 'o': o->offset = strtoull(optarg, NULL, 10); break;
        case 'c': o->category = optarg; break;
        case 'd': o->district = optarg; break;
        case 'q': o->persons = strtoull(optarg, NULL, 10); break;
        case 'A': o->acked = optarg; break;
        case 'i':
            if (strcmp(optarg, "ticket") == 0)
                o->tickets = true;
            else if (strcmp(optarg, "test") != 0)
                return HL_EINVAL;
            break;
        default: return HL_EINVAL;
        }
    }
    if (!o->bus || o->batch == 0 || o->window == 0 || o->events % o->batch) {
        fprintf(stderr, "usage: testclient --bus EP --events N [--batch K (divides N)] "
                        "[--window W] [--payload B] [--timeout-ms T] [--key P] "
                        "[--progress FILE] [--rate CMDS_PER_S] [--offset N] [--acked FILE] "
                        "[--kind test|ticket [--category CODE] [--district NAME] "
                        "[--persons P]]\n");
        return HL_EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    if (parse_args(argc, argv, &o))
        return 2;
    cmd_client_t *c;
    if (cmd_client_create(&c, NULL, o.bus)) {
        fprintf(stderr, "testclient: cannot connect to %s\n", o.bus);
        return 1;
    }
    /* Credentials from the environment: HOTLINE_TOKEN(_FILE), HOTLINE_CURVE_SECRET_KEY_FILE
     * and HOTLINE_CURVE_SERVER_KEY. */
    bus_cred_t cred;
    if (bus_cred_from_env(&cred) != 0 || cmd_client_set_cred(c, &cred) != 0) {
        fprintf(stderr, "testclient: bad credentials in the environment (HOTLINE_TOKEN_FILE, "
                "HOTLINE_CURVE_SECRET_KEY_FILE, HOTLINE_CURVE_SERVER_KEY)\n");
        return 2;
    }
    int acked_fd = -1;
    if (o.acked && (acked_fd = open(o.acked, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        perror(o.acked);
        cmd_client_destroy(&c);
        return 1;
    }
    uint64_t ncmds = o.events / o.batch, next = 0, acked = 0, resends = 0;
    uint64_t *lat = calloc(ncmds ? ncmds : 1, sizeof *lat);
    slot_t *slots = calloc(o.window, sizeof *slots);
    arena_t *arena;
    arena_create(&arena);
    uint64_t t0 = hclock_mono_ns();
    int exit_code = 0;
    while (acked < ncmds) {
        for (unsigned i = 0; i < o.window && next < ncmds; i++) {
            if (slots[i].busy)
                continue;
            if (o.rate > 0 && (double)next > o.rate * (double)(hclock_mono_ns() - t0) / 1e9)
                break;
            slots[i] = (slot_t){.busy = true, .index = next++, .sent_ns = hclock_mono_ns()};
            send_cmd(c, &o, &slots[i]);
        }
        Hotline__BusReply *r;
        arena_reset(arena);
        int rc = cmd_client_recv(c, 50, arena, &r);
        uint64_t now = hclock_mono_ns();
        if (rc == 0 && r->body_case == HOTLINE__BUS_REPLY__BODY_COMMAND) {
            for (unsigned i = 0; i < o.window; i++) {
                if (!slots[i].busy || slots[i].request_id != r->request_id)
                    continue;
                Hotline__CommandReply *cr = r->command;
                if (cr->status == HOTLINE__STATUS__OK) {
                    lat[acked++] = now - slots[i].sent_ns;
                    if (record_ack(acked_fd, &o, &slots[i], cr, acked)) {
                        fprintf(stderr, "testclient: cannot write to %s\n", o.acked);
                        exit_code = 1;
                        goto out;
                    }
                    slots[i].busy = false;
                    if (acked % 10 == 0 || acked == ncmds)
                        write_progress(o.progress, acked * o.batch);
                } else if (cr->status == HOTLINE__STATUS__UNAVAILABLE) {
                    /* Refused, nothing stored (disk full): the same command again in 100 ms,
                     * on the same connection. */
                    slots[i].retry_ns = now + RETRY_PAUSE_NS;
                } else {
                    fprintf(stderr, "testclient: command refused: %s\n", cr->message);
                    exit_code = 1;
                    goto out;
                }
            }
        }
        for (unsigned i = 0; i < o.window; i++) {
            if (slots[i].busy && slots[i].retry_ns && now >= slots[i].retry_ns) {
                slots[i].retry_ns = 0;
                send_cmd(c, &o, &slots[i]);
                resends++;
            }
        }
        /* Anything unanswered past the timeout: the producer may have died. Reconnect and
         * resend everything in flight with the same keys. */
        bool stale = false;
        for (unsigned i = 0; i < o.window; i++)
            if (slots[i].busy && !slots[i].retry_ns &&
                now - slots[i].attempt_ns > (uint64_t)o.timeout_ms * 1000000u)
                stale = true;
        if (stale) {
            cmd_client_reconnect(c);
            for (unsigned i = 0; i < o.window; i++) {
                if (slots[i].busy) {
                    slots[i].retry_ns = 0;
                    send_cmd(c, &o, &slots[i]);
                    resends++;
                }
            }
        }
    }
out:
    if (acked_fd >= 0 && (fdatasync(acked_fd) != 0 || close(acked_fd) != 0)) {
        fprintf(stderr, "testclient: cannot flush %s\n", o.acked);
        exit_code = 1;
    }
    double secs = (double)(hclock_mono_ns() - t0) / 1e9;
    qsort(lat, acked, sizeof *lat, cmp_u64);
    double p50 = acked ? (double)lat[acked / 2] / 1e6 : 0;
    double p99 = acked ? (double)lat[(acked * 99) / 100] / 1e6 : 0;
    printf("{\"commands\": %llu, \"events\": %llu, \"seconds\": %.3f, \"commands_per_s\": %.0f, "
           "\"events_per_s\": %.0f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"resends\": %llu}\n",
           (unsigned long long)acked, (unsigned long long)(acked * o.batch), secs,
           acked / secs, (double)(acked * o.batch) / secs, p50, p99,
           (unsigned long long)resends);
    arena_destroy(&arena);
    free(slots);
    free(lat);
    cmd_client_destroy(&c);
    return exit_code;
}
