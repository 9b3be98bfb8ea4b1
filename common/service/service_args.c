/* service_args: the command line every service shares. Runs before the loop. */
#include "hl_error.h"
#include "service_internal.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *to, const char *prog, const service_desc_t *desc)
{
    fprintf(to,
            "Usage: %s [OPTION]...\n"
            "%s\n\n"
            "  -c, --config FILE        JSON configuration (proto3 JSON names; see README)\n"
            "  -d, --data-dir DIR       where the LMDB store lives\n"
            "  -p, --http-port N        HTTP port (0 = any free port)\n"
            "      --listen ADDR        HTTP address (default 127.0.0.1)\n"
            "      --reuse-port         share the HTTP port with other instances of this\n"
            "                           service on the host (the kernel spreads connections)\n"
            "      --instance-port N    also listen on port N, this instance alone (probes,\n"
            "                           metrics, its event log when the HTTP port is shared)\n"
            "  -n, --name NAME          instance name: logs, events' source, consumer name at\n"
            "                           producers (default the service's name; intake-2, ...)\n"
            "  -b, --bus ENDPOINT       ZeroMQ endpoint for commands and feeds\n"
            "                           (tcp://127.0.0.1:0 = any free port)\n"
            "  -f, --feed NAME=ENDPOINT follow producer NAME at ENDPOINT (repeatable)\n"
            "  -l, --log-level LEVEL    error, warn, info (default) or debug\n"
            "      --sync MODE          full (default), nometasync or nosync; see README\n"
            "      --test-clock         allow POST /admin/clock to move time (tests only)\n"
            "      --port-file FILE     write the bound ports as JSON once listening\n"
            "      --print-config       print the effective configuration and exit\n"
            "  -h, --help               this text\n"
            "  -V, --version            version\n\n"
            "Every configuration key can also be set from the environment: HOTLINE_ and the\n"
            "key's path in upper case, e.g. HOTLINE_RUNTIME_HTTP_PORT=8081.\n",
            prog, desc->summary ? desc->summary : desc->name);
}

static json_t *runtime_obj(json_t *root)
{
    json_t *rt = json_object_get(root, "runtime");
    if (!rt) {
        rt = json_object();
        json_object_set_new(root, "runtime", rt);
    }
    return rt;
}

static json_t *sub_obj(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!o) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

static int parse_port(const char *prog, const char *option, const char *text, long *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 0 || v > 65535) {
        fprintf(stderr, "%s: %s: '%s' is not a port number (0 to 65535)\n", prog, option, text);
        return HL_EINVAL;
    }
    *out = v;
    return 0;
}

int service_args_parse(int argc, char **argv, const service_desc_t *desc, service_args_t *out)
{
    enum {
        OPT_LISTEN = 1000, OPT_SYNC, OPT_TEST_CLOCK, OPT_PORT_FILE, OPT_PRINT, OPT_REUSE_PORT,
        OPT_INSTANCE_PORT
    };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"http-port", required_argument, NULL, 'p'},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"reuse-port", no_argument, NULL, OPT_REUSE_PORT},
        {"instance-port", required_argument, NULL, OPT_INSTANCE_PORT},
        {"name", required_argument, NULL, 'n'},
        {"bus", required_argument, NULL, 'b'},
        {"feed", required_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, 'l'},
        {"sync", required_argument, NULL, OPT_SYNC},
        {"test-clock", no_argument, NULL, OPT_TEST_CLOCK},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"print-config", no_argument, NULL, OPT_PRINT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *prog = argv[0];
    memset(out, 0, sizeof *out);
    out->overrides = json_object();
    json_t *rt = runtime_obj(out->overrides);
    json_t *feeds = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:d:p:b:f:l:n:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': out->config_file = optarg; break;
        case 'd': json_object_set_new(rt, "dataDir", json_string(optarg)); break;
        case 'p':
        case OPT_INSTANCE_PORT: {
            long port;
            if (parse_port(prog, c == 'p' ? "--http-port" : "--instance-port", optarg, &port))
                goto invalid;
            json_object_set_new(sub_obj(rt, "http"), c == 'p' ? "port" : "instancePort",
                                json_integer(port));
            break;
        }
        case OPT_REUSE_PORT:
            json_object_set_new(sub_obj(rt, "http"), "reusePort", json_true());
            break;
        case 'n': json_object_set_new(rt, "name", json_string(optarg)); break;
        case OPT_LISTEN:
            json_object_set_new(sub_obj(rt, "http"), "listen", json_string(optarg));
            break;
        case 'b': json_object_set_new(rt, "busEndpoint", json_string(optarg)); break;
        case 'f': {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1]) {
                fprintf(stderr, "%s: --feed: '%s' is not NAME=ENDPOINT "
                        "(e.g. intake=tcp://127.0.0.1:8090)\n", prog, optarg);
                goto invalid;
            }
            if (!feeds)
                feeds = json_array();
            json_t *f = json_object();
            json_object_set_new(f, "name", json_stringn(optarg, (size_t)(eq - optarg)));
            json_object_set_new(f, "endpoint", json_string(eq + 1));
            json_array_append_new(feeds, f);
            break;
        }
        case 'l': json_object_set_new(rt, "logLevel", json_string(optarg)); break;
        case OPT_SYNC: {
            char name[64];
            snprintf(name, sizeof name, "SYNC_%s", optarg);
            for (char *p = name; *p; p++)
                *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
            json_object_set_new(sub_obj(rt, "store"), "sync", json_string(name));
            break;
        }
        case OPT_TEST_CLOCK: json_object_set_new(rt, "testClock", json_true()); break;
        case OPT_PORT_FILE: out->port_file = optarg; break;
        case OPT_PRINT: out->print_config = true; break;
        case 'h':
            usage(stdout, prog, desc);
            json_decref(feeds);
            json_decref(out->overrides);
            out->overrides = NULL;
            return 1;
        case 'V':
            printf("%s (hotline) %s\n", prog, SERVICE_VERSION);
            json_decref(feeds);
            json_decref(out->overrides);
            out->overrides = NULL;
            return 1;
        default:
            fprintf(stderr, "Try '%s --help'.\n", prog);
            goto invalid;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'. Try '%s --help'.\n", prog, argv[optind],
                prog);
        goto invalid;
    }
    if (feeds)
        json_object_set_new(rt, "feeds", feeds);
    return 0;
invalid:
    json_decref(feeds);
    json_decref(out->overrides);
    out->overrides = NULL;
    return HL_EINVAL;
}
