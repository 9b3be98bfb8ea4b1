/* cli_http: HTTP to the services with libcurl (JSON answers, and files such as CSV exports),
 * and printing answers. */
#include "cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const cli_service_names[SVC_COUNT] = {"intake", "dispatch", "sla", "callback",
                                                  "analytics"};

typedef struct buf {
    char *data;
    size_t len;
} buf_t;

static size_t on_data(char *ptr, size_t size, size_t n, void *ctx)
{
    buf_t *b = ctx;
    size_t add = size * n;
    char *grown = realloc(b->data, b->len + add + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, ptr, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* One request. Returns the HTTP status with the answer's bytes in *raw (the caller frees
 * raw->data), or -1 with the connection error in err. */
static int exchange(const cli_t *cli, int service, const char *method, const char *path,
                    json_t *body, long timeout_s, buf_t *raw, char *err, size_t err_size)
{
    *raw = (buf_t){0};
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", cli->port_base + service, path);
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, err_size, "cannot start libcurl");
        return -1;
    }
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (cli->token[0]) {
        char auth[160];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cli->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, raw);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s < 3 ? timeout_s : 3L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (payload)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    CURLcode rc = curl_easy_perform(c);
    long status = -1;
    if (rc != CURLE_OK)
        snprintf(err, err_size, "%s", curl_easy_strerror(rc));
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    free(payload);
    if (status < 0) {
        free(raw->data);
        *raw = (buf_t){0};
    }
    return (int)status;
}

/* The answer's bytes as JSON (NULL when there are none or they are not JSON). */
static json_t *parse_answer(const buf_t *raw)
{
    json_error_t jerr;
    return raw->len ? json_loadb(raw->data, raw->len, 0, &jerr) : NULL;
}

/* One exchange with the bearer token, saying so when the service cannot be reached. */
static int exchange_as(cli_t *cli, int service, const char *method, const char *path,
                       json_t *body, long timeout_s, buf_t *raw)
{
    if (!cli->token_loaded)
        cli_load_token(cli);
    char err[CURL_ERROR_SIZE];
    int status = exchange(cli, service, method, path, body, timeout_s, raw, err, sizeof err);
    if (status < 0)
        fprintf(stderr, "%s: cannot reach %s at http://127.0.0.1:%d (%s).\n"
                        "Is the pipeline running? Start it with `hotline up`, or point at it "
                        "with --port-base N / HOTLINE_PORT_BASE.\n",
                cli->prog, cli_service_names[service], cli->port_base + service, err);
    return status;
}

int cli_http(cli_t *cli, int service, const char *method, const char *path, json_t *body,
             json_t **out)
{
    buf_t raw;
    int status = exchange_as(cli, service, method, path, body, 30, &raw);
    *out = parse_answer(&raw);
    free(raw.data);
    return status;
}

int cli_http_download(cli_t *cli, int service, const char *path, char **body, size_t *len,
                      json_t **error)
{
    buf_t raw;
    /* A year of requests takes a while to gather: a longer wait than for an action. */
    int status = exchange_as(cli, service, "GET", path, NULL, 300, &raw);
    *body = NULL;
    *len = 0;
    *error = NULL;
    if (status >= 200 && status < 300) {
        *body = raw.data ? raw.data : calloc(1, 1);
        *len = raw.len;
        return *body ? status : -1;
    }
    *error = parse_answer(&raw);
    free(raw.data);
    return status;
}

/* The message of an error answer: {"error": {"message": ...}} (or a bare {"message": ...}). */
static const char *answer_message(json_t *answer)
{
    json_t *err = json_object_get(answer, "error");
    return json_string_value(json_object_get(err ? err : answer, "message"));
}

int cli_readyz(const cli_t *cli, int service, char *reason, size_t reason_size)
{
    buf_t raw;
    char err[CURL_ERROR_SIZE];
    int status = exchange(cli, service, "GET", "/readyz", NULL, 2, &raw, err, sizeof err);
    json_t *ans = parse_answer(&raw);
    free(raw.data);
    const char *msg = answer_message(ans);
    if (reason_size)
        snprintf(reason, reason_size, "%s", status < 0 ? err : status == 200 ? ""
                                            : msg ? msg : "not ready");
    json_decref(ans);
    return status;
}

const char *cli_data_dir(const cli_t *cli)
{
    const char *env = getenv("HOTLINE_DATA_DIR");
    return cli->data_dir ? cli->data_dir : env && *env ? env : "var/hotline";
}

void cli_load_token(cli_t *cli)
{
    const char *env = getenv("HOTLINE_TOKEN");
    cli->token[0] = '\0';
    cli->token_loaded = true;
    if (env && *env) {
        snprintf(cli->token, sizeof cli->token, "%s", env);
        return;
    }
    char path[4096];
    const char *file = cli->token_file ? cli->token_file : getenv("HOTLINE_TOKEN_FILE");
    if (file && *file)
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%s/admin.token", cli_data_dir(cli));
    FILE *f = fopen(path, "r");
    if (!f) {
        if (cli->token_file)
            fprintf(stderr, "%s: --token-file: cannot read %s\n", cli->prog, path);
        return;
    }
    if (!fgets(cli->token, sizeof cli->token, f))
        cli->token[0] = '\0';
    fclose(f);
    cli->token[strcspn(cli->token, "\r\n")] = '\0';
}

void cli_print_json(json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        puts(text);
        free(text);
    }
}

int cli_finish(const cli_t *cli, int status, json_t *answer)
{
    if (status < 0)
        return CLI_UNREACHABLE;
    if (status >= 200 && status < 300)
        return CLI_OK;
    if (cli->json && answer) {
        cli_print_json(answer);
    } else {
        json_t *err = json_object_get(answer, "error");
        const char *msg = answer_message(answer);
        const char *field = json_string_value(json_object_get(err ? err : answer, "field"));
        fprintf(stderr, "%s: %s%s%s (HTTP %d)\n", cli->prog, field && *field ? field : "",
                field && *field ? ": " : "", msg ? msg : "the service refused", status);
    }
    return status >= 500 ? CLI_SERVER : CLI_REFUSED;
}

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The centre's zone: UTC+8 by default; HOTLINE_UTC_OFFSET_MINUTES to change. */
static int centre_offset_minutes(void)
{
    const char *env = getenv("HOTLINE_UTC_OFFSET_MINUTES");
    return env ? atoi(env) : 480;
}

/* UTC ms in the centre's zone; returns the offset in minutes. */
static int centre_tm(long long ms, struct tm *tm)
{
    int off = centre_offset_minutes();
    time_t secs = (time_t)(ms / 1000) + off * 60;
    gmtime_r(&secs, tm);
    return off;
}

int cli_local_time_parse(const char *text, int64_t *out)
{
    int y, mo, d, h, mi, n = -1;
    if (sscanf(text, "%4d-%2d-%2d %2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 || n < 0 || text[n] ||
        mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59)
        return -1;
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    time_t t = timegm(&tm);
    if (tm.tm_mday != d || tm.tm_mon != mo - 1) /* 2026-02-30 */
        return -1;
    *out = ((int64_t)t - (int64_t)centre_offset_minutes() * 60) * 1000;
    return 0;
}

void cli_time(json_t *ms, char *out, size_t out_size)
{
    long long v = 0;
    if (json_is_string(ms))
        v = strtoll(json_string_value(ms), NULL, 10);
    else if (json_is_integer(ms))
        v = json_integer_value(ms);
    if (v <= 0) {
        snprintf(out, out_size, "-");
        return;
    }
    struct tm tm;
    int off = centre_tm(v, &tm);
    int aoff = off < 0 ? -off : off;
    snprintf(out, out_size, "%04d-%02d-%02d %02d:%02d %c%02d:%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, off < 0 ? '-' : '+', aoff / 60,
             aoff % 60);
}

void cli_clock(int64_t ms, char *out, size_t out_size)
{
    struct tm tm;
    centre_tm(ms, &tm);
    snprintf(out, out_size, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void cli_url_escape(char *out, size_t size, const char *s)
{
    size_t n = 0;
    for (; *s && n + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.')
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, size - n, "%%%02X", c);
    }
    out[n] = '\0';
}

void cli_query_add(char *path, size_t size, const char *name, const char *value)
{
    if (!value)
        return;
    char v[256];
    cli_url_escape(v, sizeof v, value);
    size_t len = strlen(path);
    snprintf(path + len, size - len, "%c%s=%s", strchr(path, '?') ? '&' : '?', name, v);
}
