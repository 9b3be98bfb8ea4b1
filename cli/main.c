/* hotline: the command-line client. Runs the pipeline on this machine and talks to it. */
#include "cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every command, in the order of `hotline --help`; each one's usage is also its --help. */
static const cli_verb_t COMMANDS[] = {
    {"up", cli_up, NULL,
     "up [--data-dir DIR] [--test-clock] [--sync full|nometasync|nosync]\n"
     "   [--open311-key KEY]... [--plain-bus] [--service-config SERVICE=FILE]...",
     "start the five services here, in the foreground, and keep them running: one\n"
     "that dies is restarted after a pause that doubles from 0.5 s to 30 s while it\n"
     "keeps dying, and starts again from 0.5 s once it has stayed up for 60 s\n"
     "($HOTLINE_RESTART_BACKOFF_MS=FIRST,CAP,STABLE changes these); the others run on.\n"
     "Ctrl-C stops them all. KEY may post to Open311 (repeatable). FILE's keys (a\n"
     "service's own, e.g. dispatch's crews) go over that service's configuration.",
     "Run the pipeline"},
    {"down", cli_down, NULL, "down [--data-dir DIR]", "stop a pipeline started with up", NULL},
    {"status", cli_status, NULL, "status [--data-dir DIR] [--json]",
     "each service's state (ready, not ready or down, and why), pid, restarts and next\n"
     "restart; exits 0 when all five are ready, 3 when one is down, 4 when one is not\n"
     "ready",
     NULL},
    {"submit", cli_submit, NULL,
     "submit --category CODE --description TEXT (--phone NUMBER | --anonymous)\n"
     "       (--district NAME | --address TEXT) [--street S] [--community C]\n"
     "       [--name NAME] [--urgency normal|urgent|very_urgent] [--channel phone|...]\n"
     "       [--appeal help|complaint|...] [--vulnerable] [--confidential]\n"
     "       [--external-ref REF]",
     "record a call; prints the ticket id", "Tickets"},
    {"show", cli_show, NULL, "show TICKET_ID", "the ticket's status and whole timeline", NULL},
    {"list", cli_list, NULL, "list [--status STATUS] [--limit N]", "tickets, newest first",
     NULL},
    {"sign", cli_sign, NULL, "sign TICKET_ID [--unit UNIT]",
     "the unit takes the ticket (UNIT: the unit of your token)", "Units"},
    {"contact", cli_contact, NULL, "contact TICKET_ID [--unit UNIT] [--note TEXT]",
     "the unit has reached the citizen (the first contact of a round stops the response "
     "clock)", NULL},
    {"note", cli_note, NULL, "note TICKET_ID [--unit UNIT] --text TEXT",
     "a progress note on a ticket the unit holds", NULL},
    {"return", cli_return, NULL, "return TICKET_ID [--unit UNIT] --reason TEXT --basis TEXT",
     "the unit asks to give the ticket back (within the return window); a dispatcher rules",
     NULL},
    {"extend", cli_extend, NULL, "extend TICKET_ID [--unit UNIT] --days N --reason TEXT",
     "the unit asks for N more working days to reply, before the reply is due; a\n"
     "supervisor rules (hotline review-extension)",
     NULL},
    {"terminate", cli_terminate, NULL, "terminate TICKET_ID [--unit UNIT] --reason TEXT",
     "the unit asks to end the ticket without a reply (终止); a supervisor rules", NULL},
    {"subdispatch", cli_subdispatch, NULL,
     "subdispatch TICKET_ID [--unit UNIT] --to UNIT [--note TEXT]",
     "pass the ticket down to a subordinate unit (下派: its catalogue parent is yours)", NULL},
    {"reply", cli_reply, NULL, "reply TICKET_ID [--unit UNIT] --result TEXT [--unresolved]",
     "the unit's answer to the caller", NULL},
    {"redirect", cli_redirect, NULL, "redirect TICKET_ID --to UNIT --reason TEXT [--designated]",
     "a dispatcher sends a ticket not yet signed for to another unit (designated: no return)",
     "Dispatchers"},
    {"review-return", cli_review_return, NULL,
     "review-return TICKET_ID (--approve --to UNIT | --reject --note TEXT)",
     "a dispatcher's ruling on a unit's return (approved: designated to UNIT)", NULL},
    {"review-extension", cli_review_extension, NULL,
     "review-extension TICKET_ID (--approve [--note TEXT] | --reject --note TEXT)",
     "a supervisor's ruling on a unit's extension (approved: the reply deadline moves)", NULL},
    {"review-termination", cli_review_termination, NULL,
     "review-termination TICKET_ID (--approve [--note TEXT] | --reject --note TEXT)",
     "a supervisor's ruling on a termination (approved: closed, no callback)", NULL},
    {"hold", cli_hold, NULL, "hold TICKET_ID --reason TEXT",
     "put a ticket on hold (挂起): its clocks pause and the unit cannot reply", NULL},
    {"resume", cli_resume, NULL, "resume TICKET_ID [--reason TEXT]",
     "resume a ticket on hold: every deadline moves by the hold (working days for\n"
     "working-day limits)", NULL},
    {"policies", NULL, cli_policies_verbs, NULL,
     "sla's policy table: show it, explain which row a ticket gets, load a new edition", NULL},
    {"catalogue", NULL, cli_catalogue_verbs, NULL,
     "the routing catalogue: show it, diff a file against it, load a new edition", NULL},
    {"incident", NULL, cli_incident_verbs, NULL,
     "incidents: declare, update the ETA, link and unlink tickets, close (every linked\n"
     "ticket is replied with the resolution)",
     NULL},
    {"hotspot", NULL, cli_hotspot_verbs, NULL,
     "bursts of reports analytics detected: list, accept (declare the incident), dismiss",
     NULL},
    {"workorder", NULL, cli_workorder_verbs, NULL,
     "crew work orders: raise, show, list, cancel (dispatchers); status (crews)", "Crews"},
    {"workorders", NULL, cli_workorders_verbs, NULL,
     "webhooks to crews that failed every attempt: list and replay", NULL},
    {"callback", NULL, cli_callback_verbs, NULL, "calling callers back to rate the answer",
     "Callback agents"},
    {"appeal", NULL, cli_appeal_verbs, NULL,
     "a unit appeals an unfair rating (申诉); a supervisor upholds (the rating leaves the\n"
     "KPIs) or rejects it; list them by state, unit and age",
     NULL},
    {"kpis", cli_kpis, NULL,
     "kpis [--from YYYY-MM-DD] [--to YYYY-MM-DD | --period YYYY-MM|YYYY-Www|YYYY-MM-DD]\n"
     "     [--by unit|category|district] [--unit U | --category C | --district D]",
     "counts and rates over a period (one unit's, category's or district's with a filter)",
     "Figures"},
    {"report", NULL, cli_report_verbs, NULL,
     "the monthly KPI report per unit: a table, JSON or CSV", NULL},
    {"export", NULL, cli_export_verbs, NULL,
     "the requests received in a range of days, as CSV in the GeoReport bulk columns", NULL},
    {"token", NULL, cli_token_verbs, NULL, "bearer tokens in the registry the services read",
     "Access"},
    {"keys", cli_keys, NULL, "keys --dir DIR NAME...",
     "CURVE key pairs for the bus: DIR/NAME.key (mode 0600) and DIR/NAME.pub", NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static const cli_verb_t ROOT = {"hotline", NULL, COMMANDS, NULL,
                                "Runs the pipeline on this machine and talks to it.", NULL};

int main(int argc, char **argv)
{
    cli_t cli = {.port_base = 8080, .prog = "hotline"};
    const char *env = getenv("HOTLINE_PORT_BASE");
    if (env && *env && cli_port_base_parse(cli.prog, "HOTLINE_PORT_BASE", env, &cli.port_base))
        return CLI_USAGE;
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        puts("hotline 0.1.0");
        return CLI_OK;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cli_run(&cli, argc, argv, &ROOT);
    curl_global_cleanup();
    return rc;
}
