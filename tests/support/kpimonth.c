/* kpimonth: the analytics side of the KPI brute-force check (issue 12, must-show 1).
 *
 * Generates a seeded month of events (kpigen), applies them in arrival order to a real
 * analytics store in-process (batched write transactions), and writes into DIR:
 *   events.ndjson   every event as applied, one proto3 JSON object a line (pbjson), in order
 *   answers.ndjson  GET /v1/kpis documents (analytics_kpis), one a line:
 *                   {"phase", "events", "query", "answer"}, taken three times:
 *                   "month"    after the events that arrived before the month ended,
 *                   "final"    after the late ones too (next month's appeals about this
 *                              month's ratings, late stops, ...),
 *                   "rebuilt"  after analytics_rebuild counted everything again.
 *                   "events" is how many of events.ndjson were applied when it was taken.
 * Queries, each for every period (each day of the month, each ISO week touching it, the
 * month, three custom ranges across its boundaries): totals, by=unit, by=category,
 * by=district; unit=U&by=category, category=C&by=district, district=D&by=unit for several
 * values; one filter alone.
 * tests/support/kpi_bruteforce.py recomputes every figure from events.ndjson; see
 * tests/integration/test_kpi_bruteforce.sh.
 *
 * Usage: kpimonth --dir DIR [--events N (200000)] [--seed S (12)] [--month YYYY-MM (2026-11)]
 *                 [--batch N (5000)]
 * Prints two JSON lines: the events by kind, then figures (events, tickets, what was
 * generated, the apply and rebuild rates). */
#include "kpigen.h"
#include "kpirig.h"

#include "hl_error.h"
#include "pbjson.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct run {
    const char *dir;
    kpirig_t rig;
    kpigen_t *gen;
    FILE *events;
    FILE *answers;
    int64_t month_first; /* local day numbers */
    int month_days;
    size_t nanswers;
} run_t;

static void die(const char *what, int rc)
{
    fprintf(stderr, "kpimonth: %s: %s\n", what, rc ? hl_strerror(rc) : strerror(errno));
    exit(1);
}

static double now_s(void)
{
    return (double)hclock_mono_ns() / 1e9;
}

static int write_event(void *ctx, size_t i, const Hotline__Event *ev)
{
    (void)i;
    run_t *r = ctx;
    char *json = pbjson_encode_string(&ev->base, false);
    if (!json)
        return HL_ENOMEM;
    int bad = fputs(json, r->events) < 0 || fputc('\n', r->events) < 0;
    free(json);
    return bad ? HL_EIO : 0;
}

static void answer(run_t *r, const char *phase, size_t applied, const char *query)
{
    json_t *doc;
    analytics_error_t err;
    int rc = kpirig_kpis(&r->rig, query, &doc, &err);
    if (rc == HL_EINVAL) {
        fprintf(stderr, "kpimonth: query %s refused: %s: %s\n", query, err.field, err.message);
        exit(1);
    }
    if (rc)
        die(query, rc);
    json_t *line = json_pack("{s:s, s:I, s:s, s:o}", "phase", phase, "events", (json_int_t)applied,
                             "query", query, "answer", doc);
    if (!line || json_dumpf(line, r->answers, JSON_COMPACT) || fputc('\n', r->answers) < 0)
        die("answers.ndjson", line ? HL_EIO : HL_ENOMEM);
    json_decref(line);
    r->nanswers++;
}

/* Every query of one phase (the file header says which). */
static void answers(run_t *r, const char *phase, size_t applied)
{
    static const char *const UNITS[] = {"water-supply", "repair-crew-north", "power-repair",
                                        "dispatch-desk"};
    static const char *const CATEGORIES[] = {"W04", "W0402", "P01"};
    static const char *const DISTRICTS[] = {"Gulou", "Cangshan", "Pingtan"};
    char periods[64][64];
    size_t np = 0;
    int64_t first = r->month_first, last = r->month_first + r->month_days - 1;
    for (int64_t d = first; d <= last; d++) { /* both spellings of a day */
        char ds[16];
        calendar_date_format(d, ds, sizeof ds);
        if ((d - first) % 2)
            kpirig_range(d, d, periods[np++], sizeof periods[0]);
        else
            snprintf(periods[np++], sizeof periods[0], "period=%s", ds);
    }
    for (int64_t monday = first - (calendar_weekday(first) + 6) % 7; monday <= last; monday += 7) {
        char w[16];
        kpirig_iso_week(monday, w, sizeof w);
        snprintf(periods[np++], sizeof periods[0], "period=%s", w);
    }
    char month[16];
    calendar_date_format(first, month, sizeof month);
    snprintf(periods[np++], sizeof periods[0], "period=%.7s", month);
    kpirig_range(first - 7, first + 4, periods[np++], sizeof periods[0]);
    kpirig_range(last - 5, last + 6, periods[np++], sizeof periods[0]);
    kpirig_range(first - 11, last + 7, periods[np++], sizeof periods[0]);
    static const char *const BY[] = {"", "&by=unit", "&by=category", "&by=district"};
    char q[256];
    for (size_t p = 0; p < np; p++) {
        for (size_t b = 0; b < 4; b++) {
            snprintf(q, sizeof q, "%s%s", periods[p], BY[b]);
            answer(r, phase, applied, q);
        }
        for (size_t i = 0; i < sizeof UNITS / sizeof *UNITS; i++) {
            snprintf(q, sizeof q, "%s&unit=%s&by=category", periods[p], UNITS[i]);
            answer(r, phase, applied, q);
        }
        for (size_t i = 0; i < 3; i++) {
            snprintf(q, sizeof q, "%s&category=%s&by=district", periods[p], CATEGORIES[i]);
            answer(r, phase, applied, q);
            snprintf(q, sizeof q, "%s&district=%s&by=unit", periods[p], DISTRICTS[i]);
            answer(r, phase, applied, q);
        }
        snprintf(q, sizeof q, "%s&%s=%s", periods[p], p % 3 == 0 ? "unit" : p % 3 == 1 ? "category"
                                                                                    : "district",
                 p % 3 == 0 ? UNITS[p % 4] : p % 3 == 1 ? CATEGORIES[p % 3] : DISTRICTS[p % 3]);
        answer(r, phase, applied, q);
    }
}

/* {"kinds": {"ticketReceived": n, ...}}: what the month holds, by body. */
static void print_kinds(const kpigen_stats_t *st)
{
    const ProtobufCMessageDescriptor *d = &hotline__event__descriptor;
    printf("{\"kinds\": {");
    const char *sep = "";
    for (unsigned i = 0; i < d->n_fields; i++) {
        unsigned id = d->fields[i].id;
        if (id >= 128 || !st->by_body[id])
            continue;
        char name[64];
        pbjson_json_name(d->fields[i].name, name, sizeof name);
        printf("%s\"%s\": %llu", sep, name, (unsigned long long)st->by_body[id]);
        sep = ", ";
    }
    printf("}}\n");
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        die(path, 0);
    return f;
}

int main(int argc, char **argv)
{
    kpigen_opts_t go = {.seed = 12, .min_events = 200000, .months = 1, .tail_days = 7};
    const char *dir = NULL, *month = "2026-11";
    unsigned long long batch = 5000;
    static const struct option lo[] = {
        {"dir", required_argument, NULL, 'd'},   {"events", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},  {"month", required_argument, NULL, 'm'},
        {"batch", required_argument, NULL, 'b'}, {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'n': go.min_events = strtoull(optarg, NULL, 10); break;
        case 's': go.seed = strtoull(optarg, NULL, 10); break;
        case 'm': month = optarg; break;
        case 'b': batch = strtoull(optarg, NULL, 10); break;
        default: goto usage;
        }
    }
    run_t r = {.dir = dir};
    char why[128];
    if (!dir || optind != argc || !go.min_events || !batch ||
        calendar_month_parse(month, &r.month_first, &r.month_days, why, sizeof why))
        goto usage;
    int y, m, d;
    calendar_ymd_from_day(r.month_first, &y, &m, &d);
    go.year = y;
    go.month = m;
    if (mkdir(dir, 0755) && errno != EEXIST)
        die(dir, 0);
    char store_dir[512];
    snprintf(store_dir, sizeof store_dir, "%s/store", dir);

    double t0 = now_s();
    int rc = kpigen_create(&r.gen, &go);
    if (rc)
        die("generate", rc);
    double gen_s = now_s() - t0;
    size_t n = kpigen_count(r.gen), split = kpigen_split(r.gen);
    /* Not durable: the check is about the counts, and the disk is shared. */
    if ((rc = kpirig_open(&r.rig, store_dir, STORE_SYNC_NOSYNC)))
        die("open", rc);
    r.events = open_out(dir, "events.ndjson");
    r.answers = open_out(dir, "answers.ndjson");
    t0 = now_s();
    if ((rc = kpirig_feed(&r.rig, r.gen, 0, split, batch, write_event, &r)))
        die("apply", rc);
    double month_s = now_s() - t0;
    answers(&r, "month", split);
    t0 = now_s();
    if ((rc = kpirig_feed(&r.rig, r.gen, split, n, batch, write_event, &r)))
        die("apply", rc);
    double late_s = now_s() - t0;
    answers(&r, "final", n);
    analytics_rebuild_stats_t rs;
    if ((rc = analytics_rebuild(r.rig.an, NULL, NULL, &rs)))
        die("rebuild", rc);
    answers(&r, "rebuilt", n);
    if (fclose(r.events) || fclose(r.answers))
        die("close", 0);

    const kpigen_stats_t *st = kpigen_stats(r.gen);
    print_kinds(st);
    printf("{\"kpimonth\": \"%s\", \"seed\": %llu, \"events\": %zu, \"month_events\": %zu, "
           "\"late_events\": %zu, \"tickets\": %llu, \"received_after_other_events\": %llu, "
           "\"appeals_upheld\": %llu, \"appeals_ruled_next_month\": %llu, "
           "\"late_stops_without_breach\": %llu, \"breached_extended_on_time\": %llu, "
           "\"answers\": %zu, \"generate_s\": %.1f, \"apply_events_per_s\": %.0f, "
           "\"rebuild_events_per_s\": %.0f, \"rebuild_total\": %llu, \"rebuild_done\": %llu, "
           "\"rebuild_skipped\": %llu, \"batch\": %llu}\n",
           month, (unsigned long long)go.seed, n, split, n - split,
           (unsigned long long)st->tickets, (unsigned long long)st->received_late,
           (unsigned long long)st->appeals_upheld, (unsigned long long)st->appeals_next_period,
           (unsigned long long)st->late_without_breach, (unsigned long long)st->breach_extended,
           r.nanswers, gen_s, (double)n / (month_s + late_s),
           rs.seconds > 0 ? (double)rs.done / rs.seconds : 0.0, (unsigned long long)rs.total,
           (unsigned long long)rs.done, (unsigned long long)rs.skipped, batch);
    kpirig_close(&r.rig);
    kpigen_destroy(&r.gen);
    return 0;
usage:
    fprintf(stderr, "usage: kpimonth --dir DIR [--events N] [--seed S] [--month YYYY-MM] "
                    "[--batch N]\n");
    return 2;
}
