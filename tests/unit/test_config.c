/* test_config: configuration layering (defaults, file, environment) and the bounds table,
 * on hotline.BasicConfig. Every error must name the key, the rule and the source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "hl_error.h"
#include "hotline/config.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char defaults[] =
    "{\"runtime\":{\"name\":\"test\",\"dataDir\":\"/var/lib/hotline\",\"logLevel\":\"info\","
    "\"busEndpoint\":\"tcp://127.0.0.1:8100\","
    "\"http\":{\"listen\":\"127.0.0.1\",\"port\":8080,\"maxBodyBytes\":\"1048576\","
    "\"idleTimeoutMs\":30000},"
    "\"store\":{\"mapSizeMb\":\"64\",\"maxMapSizeMb\":\"1024\",\"sync\":\"SYNC_FULL\"},"
    "\"eventLog\":{\"retentionHours\":168,\"consumers\":[\"dispatch\"]},"
    "\"idempotencyHours\":24,\"maxBatch\":256}}";

static const config_bound_t bounds[] = {
    {"runtime.http.port", 0, 65535},
    {"runtime.http.max_body_bytes", 1024, 64 * 1024 * 1024},
    {"runtime.maxBatch", 1, 10000},
    {"runtime.store.map_size_mb", 1, 1 << 20},
    {"runtime.event_log.retention_hours", 1, 24 * 365},
    {NULL, 0, 0},
};

/* A temporary config file with this text; the caller unlinks and frees the path. */
static char *write_file(const char *text)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = malloc(strlen(dir) + 32);
    assert_non_null(path);
    sprintf(path, "%s/test_config_XXXXXX", dir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static Hotline__BasicConfig *load_ok(const char *file, char *const *envp)
{
    config_source_t src = {defaults, file, envp, "HOTLINE_", bounds};
    ProtobufCMessage *msg = NULL;
    char err[512];
    int rc = config_load(&hotline__basic_config__descriptor, &src, &msg, err, sizeof err);
    if (rc != 0)
        fail_msg("config_load: %d: %s", rc, err);
    return (Hotline__BasicConfig *)msg;
}

/* Load and expect failure rc with exactly this message ("%s" in want: the file path). */
static void load_fails(const char *defaults_json, const char *file, char *const *envp,
                       const config_bound_t *b, int want_rc, const char *want)
{
    config_source_t src = {defaults_json, file, envp, "HOTLINE_", b};
    ProtobufCMessage *msg = (ProtobufCMessage *)&msg;
    char err[512], expected[1024];
    int rc = config_load(&hotline__basic_config__descriptor, &src, &msg, err, sizeof err);

    const char *mark = strstr(want, "%s");
    if (mark)
        snprintf(expected, sizeof expected, "%.*s%s%s", (int)(mark - want), want, file,
                 mark + 2);
    else
        snprintf(expected, sizeof expected, "%s", want);
    if (rc != want_rc || strcmp(err, expected) != 0)
        fail_msg("config_load:\n  got      %d %s\n  expected %d %s", rc, err, want_rc, expected);
    assert_null(msg);
}

static void test_defaults_only(void **state)
{
    (void)state;
    Hotline__BasicConfig *cfg = load_ok(NULL, NULL);
    Hotline__RuntimeConfig *rt = cfg->runtime;

    assert_string_equal(rt->name, "test");
    assert_string_equal(rt->data_dir, "/var/lib/hotline");
    assert_int_equal(rt->http->port, 8080);
    assert_int_equal(rt->http->max_body_bytes, 1048576);
    assert_int_equal(rt->store->sync, HOTLINE__SYNC_MODE__SYNC_FULL);
    assert_int_equal(rt->event_log->n_consumers, 1);
    assert_string_equal(rt->event_log->consumers[0], "dispatch");
    assert_false(rt->test_clock);

    /* config_field: proto or JSON names; NULL for no field, a list, an unset section. */
    const ProtobufCFieldDescriptor *f = NULL;
    uint32_t *port = config_field(&cfg->base, "runtime.http.port", &f);
    assert_ptr_equal(port, &rt->http->port);
    assert_string_equal(f->name, "port");
    assert_ptr_equal(config_field(&cfg->base, "runtime.http.maxBodyBytes", NULL),
                     &rt->http->max_body_bytes);
    assert_ptr_equal(config_field(&cfg->base, "runtime", &f), &cfg->runtime);
    assert_null(config_field(&cfg->base, "runtime.http.nope", &f));
    assert_null(f);
    assert_null(config_field(&cfg->base, "runtime.feeds.name", NULL));
    assert_null(config_field(&cfg->base, "runtime.http.", NULL));
    assert_null(config_field(&cfg->base, "", NULL));
    protobuf_c_message_free_unpacked(&cfg->base, NULL);

    cfg = load_ok(NULL, NULL);
    protobuf_c_message_free_unpacked(&cfg->runtime->http->base, NULL);
    cfg->runtime->http = NULL;
    assert_null(config_field(&cfg->base, "runtime.http.port", NULL));
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
}

static void test_file_overrides(void **state)
{
    (void)state;
    char *path = write_file("{\"runtime\":{\"http\":{\"port\":9090},\"log_level\":\"debug\","
                            "\"eventLog\":{\"consumers\":[\"a\",\"b\"]},\"store\":{\"sync\":"
                            "\"nometasync\"},\"busEndpoint\":\"tcp://127.0.0.1:9\"}}");
    Hotline__BasicConfig *cfg = load_ok(path, NULL);
    Hotline__RuntimeConfig *rt = cfg->runtime;

    assert_int_equal(rt->http->port, 9090);
    assert_string_equal(rt->http->listen, "127.0.0.1"); /* sections merge */
    assert_int_equal(rt->http->idle_timeout_ms, 30000);
    assert_string_equal(rt->log_level, "debug");
    assert_int_equal(rt->event_log->n_consumers, 2); /* lists are replaced */
    assert_string_equal(rt->event_log->consumers[1], "b");
    assert_int_equal(rt->event_log->retention_hours, 168);
    assert_int_equal(rt->store->sync, HOTLINE__SYNC_MODE__SYNC_NOMETASYNC);
    assert_string_equal(rt->bus_endpoint, "tcp://127.0.0.1:9");
    assert_string_equal(rt->name, "test");
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
    unlink(path);
    free(path);
}

static void test_env_overrides(void **state)
{
    (void)state;
    char *path = write_file("{\"runtime\":{\"http\":{\"port\":9090,\"maxBodyBytes\":4096}}}");
    char *envp[] = {
        "PATH=/usr/bin",
        "HOTLINE_BIN=/somewhere",                 /* names no field: ignored */
        "HOTLINE_RUNTIME_NOPE=1",                 /* likewise */
        "HOTLINE_RUNTIME_HTTP_PORT=8081",         /* beats the file */
        "HOTLINE_RUNTIME_HTTP_MAX_BODY_BYTES=2048",
        "HOTLINE_RUNTIME_STORE_MAX_MAP_SIZE_MB=4096",
        "HOTLINE_RUNTIME_STORE_SYNC=nosync",
        "HOTLINE_RUNTIME_TEST_CLOCK=yes",
        "HOTLINE_RUNTIME_DATA_DIR=/tmp/a b",
        "HOTLINE_RUNTIME_EVENT_LOG_RETENTION_HOURS=12",
        "HOTLINE_RUNTIME_EVENT_LOG_FETCH_MAX_EVENTS=500",
        "hotline_runtime_max_batch=7",            /* case matters: ignored */
        NULL,
    };
    Hotline__BasicConfig *cfg = load_ok(path, envp);
    Hotline__RuntimeConfig *rt = cfg->runtime;

    assert_int_equal(rt->http->port, 8081);
    assert_int_equal(rt->http->max_body_bytes, 2048);
    assert_int_equal(rt->store->max_map_size_mb, 4096);
    assert_int_equal(rt->store->map_size_mb, 64);
    assert_int_equal(rt->store->sync, HOTLINE__SYNC_MODE__SYNC_NOSYNC);
    assert_true(rt->test_clock);
    assert_string_equal(rt->data_dir, "/tmp/a b");
    assert_int_equal(rt->event_log->retention_hours, 12);
    assert_int_equal(rt->event_log->fetch_max_events, 500);
    assert_int_equal(rt->max_batch, 256);
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
    unlink(path);
    free(path);

    char *bools[] = {"HOTLINE_RUNTIME_TEST_CLOCK=TRUE", "HOTLINE_RUNTIME_TEST_CLOCK=0", NULL};
    cfg = load_ok(NULL, bools);
    assert_false(cfg->runtime->test_clock);
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
}

static void test_env_json(void **state)
{
    (void)state;
    char *envp[] = {
        "HOTLINE_RUNTIME_FEEDS=[{\"name\":\"intake\",\"endpoint\":\"tcp://127.0.0.1:8100\","
        "\"batchMax\":100,\"lingerMs\":50},{\"name\":\"sla\",\"wait_ms\":5,\"lingerMs\":-1}]",
        "HOTLINE_RUNTIME_EVENT_LOG_CONSUMERS=[\"x\"]",
        "HOTLINE_RUNTIME_HTTP={\"listen\":\"0.0.0.0\"}", /* a section merges */
        NULL,
    };
    Hotline__BasicConfig *cfg = load_ok(NULL, envp);
    Hotline__RuntimeConfig *rt = cfg->runtime;

    assert_int_equal(rt->n_feeds, 2);
    assert_string_equal(rt->feeds[0]->name, "intake");
    assert_string_equal(rt->feeds[0]->endpoint, "tcp://127.0.0.1:8100");
    assert_int_equal(rt->feeds[0]->batch_max, 100);
    assert_int_equal(rt->feeds[1]->wait_ms, 5);
    assert_int_equal(rt->feeds[0]->linger_ms, 50);
    assert_int_equal(rt->feeds[1]->linger_ms, -1); /* never linger */
    assert_int_equal(rt->event_log->n_consumers, 1);
    assert_string_equal(rt->event_log->consumers[0], "x");
    assert_string_equal(rt->http->listen, "0.0.0.0");
    assert_int_equal(rt->http->port, 8080);
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
}

static void test_env_errors(void **state)
{
    (void)state;
    char *port[] = {"HOTLINE_RUNTIME_HTTP_PORT=80x", NULL};
    load_fails(defaults, NULL, port, bounds, HL_EINVAL,
               "runtime.http.port: expected an integer, got \"80x\" "
               "(environment HOTLINE_RUNTIME_HTTP_PORT)");
    char *big[] = {"HOTLINE_RUNTIME_HTTP_MAX_BODY_BYTES=-1", NULL};
    load_fails(defaults, NULL, big, bounds, HL_EINVAL,
               "runtime.http.maxBodyBytes: \"-1\" is out of range for uint64 "
               "(0..18446744073709551615) (environment HOTLINE_RUNTIME_HTTP_MAX_BODY_BYTES)");
    char *clock[] = {"HOTLINE_RUNTIME_TEST_CLOCK=maybe", NULL};
    load_fails(defaults, NULL, clock, bounds, HL_EINVAL,
               "runtime.testClock: expected a boolean (true/false/1/0/yes/no), got \"maybe\" "
               "(environment HOTLINE_RUNTIME_TEST_CLOCK)");
    char *sync[] = {"HOTLINE_RUNTIME_STORE_SYNC=sometimes", NULL};
    load_fails(defaults, NULL, sync, bounds, HL_EINVAL,
               "runtime.store.sync: unknown enum value \"sometimes\"; allowed: SYNC_FULL, "
               "SYNC_NOMETASYNC, SYNC_NOSYNC (environment HOTLINE_RUNTIME_STORE_SYNC)");
    char *feeds[] = {"HOTLINE_RUNTIME_FEEDS=intake", NULL};
    load_fails(defaults, NULL, feeds, bounds, HL_EINVAL,
               "runtime.feeds: expected JSON for this list: malformed JSON at line 1 column 6: "
               "invalid token near 'intake' (environment HOTLINE_RUNTIME_FEEDS)");
    char *item[] = {"HOTLINE_RUNTIME_FEEDS=[{\"name\":\"a\",\"batchMax\":\"many\"}]", NULL};
    load_fails(defaults, NULL, item, bounds, HL_EINVAL,
               "runtime.feeds[0].batchMax: expected an integer, got \"many\" "
               "(environment HOTLINE_RUNTIME_FEEDS)");
}

static void test_file_errors(void **state)
{
    (void)state;
    char *path = write_file("{\"runtime\":{\"http\":{\"maxBodyBytes\":\"big\"}}}");
    load_fails(defaults, path, NULL, bounds, HL_EINVAL,
               "runtime.http.maxBodyBytes: expected an integer, got \"big\" (file %s)");
    unlink(path);
    free(path);

    path = write_file("{\"runtime\":{\"htp\":{\"port\":1}}}");
    load_fails(defaults, path, NULL, bounds, HL_EINVAL,
               "runtime.htp: unknown field \"htp\" in hotline.RuntimeConfig; did you mean "
               "\"http\"? (file %s)");
    unlink(path);
    free(path);

    path = write_file("{\"runtime\":\n  {\"name\": \"x\",}\n}");
    load_fails(defaults, path, NULL, bounds, HL_EINVAL,
               "file %s: malformed JSON at line 2 column 16: string or '}' expected near '}'");
    unlink(path);
    free(path);

    path = write_file("[]");
    load_fails(defaults, path, NULL, bounds, HL_EINVAL,
               "file %s: expected a JSON object, got an array");
    unlink(path);
    free(path);

    load_fails(defaults, "/nonexistent/hotline.json", NULL, bounds, HL_ENOTFOUND,
               "file %s: not found");
    load_fails(defaults, "/", NULL, bounds, HL_EIO, "file %s: Is a directory");

    /* A broken embedded default is a bug, and says so. */
    load_fails("{\"runtime\":{\"port\":1}}", NULL, NULL, bounds, HL_EINVAL,
               "runtime.port: unknown field \"port\" in hotline.RuntimeConfig; known fields: "
               "name, dataDir, logLevel, busEndpoint, http, store, eventLog, feeds, testClock, "
               "idempotencyHours, maxBatch, auth (defaults)");
}

static void test_bounds(void **state)
{
    (void)state;
    char *path = write_file("{\"runtime\":{\"http\":{\"port\":70000}}}");
    load_fails(defaults, path, NULL, bounds, HL_EINVAL,
               "runtime.http.port: 70000 is above the maximum 65535 (file %s)");
    /* A variable that fixes what the file broke wins. */
    char *fix[] = {"HOTLINE_RUNTIME_HTTP_PORT=8082", NULL};
    Hotline__BasicConfig *cfg = load_ok(path, fix);
    assert_int_equal(cfg->runtime->http->port, 8082);
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
    unlink(path);
    free(path);

    /* The bounds themselves are allowed, one past them is not. */
    char *edge[] = {"HOTLINE_RUNTIME_HTTP_PORT=65535", "HOTLINE_RUNTIME_MAX_BATCH=1", NULL};
    cfg = load_ok(NULL, edge);
    assert_int_equal(cfg->runtime->http->port, 65535);
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
    char *over[] = {"HOTLINE_RUNTIME_HTTP_PORT=65536", NULL};
    load_fails(defaults, NULL, over, bounds, HL_EINVAL,
               "runtime.http.port: 65536 is above the maximum 65535 "
               "(environment HOTLINE_RUNTIME_HTTP_PORT)");
    char *batch[] = {"HOTLINE_RUNTIME_MAX_BATCH=0", NULL};
    load_fails(defaults, NULL, batch, bounds, HL_EINVAL,
               "runtime.maxBatch: 0 is below the minimum 1 "
               "(environment HOTLINE_RUNTIME_MAX_BATCH)");
    char *section[] = {"HOTLINE_RUNTIME_HTTP={\"maxBodyBytes\":100}", NULL};
    load_fails(defaults, NULL, section, bounds, HL_EINVAL,
               "runtime.http.max_body_bytes: 100 is below the minimum 1024 "
               "(environment HOTLINE_RUNTIME_HTTP)");

    static const config_bound_t strict[] = {{"runtime.idempotency_hours", 48, 96}, {NULL, 0, 0}};
    load_fails(defaults, NULL, NULL, strict, HL_EINVAL,
               "runtime.idempotency_hours: 24 is below the minimum 48 (defaults)");
    static const config_bound_t wrong[] = {{"runtime.http.portt", 0, 1}, {NULL, 0, 0}};
    load_fails(defaults, NULL, NULL, wrong, HL_EINVAL,
               "bounds table: \"runtime.http.portt\" names no field of hotline.BasicConfig");
    static const config_bound_t text[] = {{"runtime.name", 0, 1}, {NULL, 0, 0}};
    load_fails(defaults, NULL, NULL, text, HL_EINVAL,
               "bounds table: \"runtime.name\" is not a single number of hotline.BasicConfig");

    /* A bounded key inside an absent section is not checked. */
    config_source_t src = {"{}", NULL, NULL, "HOTLINE_", bounds};
    ProtobufCMessage *msg = NULL;
    char err[512];
    assert_int_equal(config_load(&hotline__basic_config__descriptor, &src, &msg, err, sizeof err),
                     0);
    protobuf_c_message_free_unpacked(msg, NULL);
}

/* ---- names with '_' that need backtracking: Root { Leaf a; Leaf a_b; } Leaf { b_d; c; } --- */

typedef struct leaf {
    ProtobufCMessage base;
    char *b_d;
    char *c;
} leaf_t;

typedef struct root {
    ProtobufCMessage base;
    leaf_t *a;
    leaf_t *a_b;
} root_t;

static const ProtobufCMessageDescriptor leaf_descriptor, root_descriptor;

static void leaf_init(ProtobufCMessage *m)
{
    leaf_t init = {PROTOBUF_C_MESSAGE_INIT(&leaf_descriptor), (char *)protobuf_c_empty_string,
                   (char *)protobuf_c_empty_string};
    memcpy(m, &init, sizeof init);
}

static void root_init(ProtobufCMessage *m)
{
    root_t init = {PROTOBUF_C_MESSAGE_INIT(&root_descriptor), NULL, NULL};
    memcpy(m, &init, sizeof init);
}

static const ProtobufCFieldDescriptor leaf_fields[] = {
    {"b_d", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(leaf_t, b_d), NULL,
     &protobuf_c_empty_string, 0, 0, NULL, NULL},
    {"c", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(leaf_t, c), NULL,
     &protobuf_c_empty_string, 0, 0, NULL, NULL},
};
static const ProtobufCFieldDescriptor root_fields[] = {
    {"a", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, offsetof(root_t, a),
     &leaf_descriptor, NULL, 0, 0, NULL, NULL},
    {"a_b", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, offsetof(root_t, a_b),
     &leaf_descriptor, NULL, 0, 0, NULL, NULL},
};
static const unsigned two_by_name[] = {0, 1};
static const ProtobufCIntRange two_ranges[] = {{1, 0}, {0, 2}};
static const ProtobufCMessageDescriptor leaf_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Leaf", "Leaf", "Test__Leaf", "test",
    sizeof(leaf_t), 2, leaf_fields, two_by_name, 1, two_ranges, leaf_init, NULL, NULL, NULL,
};
static const ProtobufCMessageDescriptor root_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Root", "Root", "Test__Root", "test",
    sizeof(root_t), 2, root_fields, two_by_name, 1, two_ranges, root_init, NULL, NULL, NULL,
};

static void test_env_backtracking(void **state)
{
    (void)state;
    char *envp[] = {"T_A_B_C=longest", "T_A_B_D=backtracked", "T_A_C=short", "T_A_B_E=none", NULL};
    config_source_t src = {"{}", NULL, envp, "T_", NULL};
    ProtobufCMessage *msg = NULL;
    char err[512];

    assert_int_equal(config_load(&root_descriptor, &src, &msg, err, sizeof err), 0);
    root_t *r = (root_t *)msg;
    assert_non_null(r->a_b);
    assert_string_equal(r->a_b->c, "longest");       /* a_b.c, not a.b_c (no such field) */
    assert_string_equal(r->a_b->b_d, "");
    assert_non_null(r->a);
    assert_string_equal(r->a->b_d, "backtracked");  /* a_b.d does not exist: a.b_d */
    assert_string_equal(r->a->c, "short");
    protobuf_c_message_free_unpacked(msg, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_only),
        cmocka_unit_test(test_file_overrides),
        cmocka_unit_test(test_env_overrides),
        cmocka_unit_test(test_env_json),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_env_backtracking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
