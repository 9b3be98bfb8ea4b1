/* dispatch_crew: the crew systems' endpoints (crews[] of the configuration), one connector
 * each, and their dead letters.
 *
 * One connector per crew, because a connector has one url and crews may run different
 * systems; each is named crew_<unit> ('-' written '_'), which names its sub-databases and
 * its metrics label, so a crew keeps its queue across restarts and reordering of crews[].
 * The signing secret comes from a file (mode 0600 or stricter) or an environment variable,
 * never from the configuration (connector_secret_load, shared with callback's survey gateway).
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "mask.h"
#include "slog.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREW_UNIT_MAX (CONNECTOR_NAME_MAX - 5) /* "crew_" + unit */
/* crews[]' defaults, written into the configuration (what --print-config shows runs). */
#define CREW_MAX_ATTEMPTS 8
#define CREW_BACKOFF_FIRST_MS 1000
#define CREW_BACKOFF_CAP_MS 300000
#define CREW_TIMEOUT_MS 10000

static int bad(char *err, size_t n, size_t i, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int bad(char *err, size_t n, size_t i, const char *field, const char *fmt, ...)
{
    char where[32];
    snprintf(where, sizeof where, "crews[%zu]", i);
    va_list ap;
    va_start(ap, fmt);
    int rc = config_verror(err, n, where, field, fmt, ap);
    va_end(ap);
    return rc;
}

/* crew_<unit>, or false when unit cannot name a connector. */
static bool connector_name(const char *unit, char out[CONNECTOR_NAME_MAX + 1])
{
    size_t n = strlen(unit);
    if (n < 1 || n > CREW_UNIT_MAX || strspn(unit, "abcdefghijklmnopqrstuvwxyz0123456789-_") != n)
        return false;
    snprintf(out, CONNECTOR_NAME_MAX + 1, "crew_%s", unit);
    for (char *p = out; *p; p++)
        if (*p == '-')
            *p = '_';
    return true;
}

/* The crew's signing secret into out (CONNECTOR_SECRET_MAX bytes), *len its length. */
static int read_secret(const Hotline__CrewEndpoint *c, size_t i, uint8_t *out, size_t *len,
                       char *err, size_t n)
{
    char where[32];
    snprintf(where, sizeof where, "crews[%zu]", i);
    return connector_secret_load(c->secret_file, c->secret_env, where, out, len, err, n);
}

static int check_url(const char *url, size_t i, char *err, size_t n)
{
    char why[160];
    if (!url || !*url)
        return bad(err, n, i, "url", "required: the crew system's webhook (http:// or https://)");
    return connector_url_check(url, why, sizeof why) ? bad(err, n, i, "url", "%s", why) : 0;
}

static int check_one(const Hotline__DispatchConfig *cfg, const dispatch_catalogue_t *cat,
                     size_t i, char *err, size_t n)
{
    const Hotline__CrewEndpoint *c = cfg->crews[i];
    const char *unit = c->unit ? c->unit : "";
    char name[CONNECTOR_NAME_MAX + 1];
    if (!*unit)
        return bad(err, n, i, "unit", "required: the catalogue unit that is this crew");
    if (!dispatch_catalogue_unit_name(cat, unit))
        return bad(err, n, i, "unit", "unit '%.64s' is not in the catalogue (units, routes)",
                   unit);
    if (!connector_name(unit, name))
        return bad(err, n, i, "unit",
                   "'%.64s' cannot name a connector: at most %d of a-z, 0-9, '-' and '_'", unit,
                   CREW_UNIT_MAX);
    for (size_t k = 0; k < i; k++) {
        char other[CONNECTOR_NAME_MAX + 1];
        if (strcmp(cfg->crews[k]->unit, unit) == 0)
            return bad(err, n, i, "unit", "crew '%s' is also crews[%zu]: one endpoint per crew",
                       unit, k);
        /* '-' and '_' both become '_' in the connector's name, which names its store. */
        if (connector_name(cfg->crews[k]->unit, other) && strcmp(other, name) == 0)
            return bad(err, n, i, "unit",
                       "crew '%s' and crews[%zu] '%s' would share connector %s (its queue and "
                       "dead letters): rename one unit",
                       unit, k, cfg->crews[k]->unit, name);
    }
    int rc = check_url(c->url, i, err, n);
    if (rc)
        return rc;
    if (c->max_attempts > 100)
        return bad(err, n, i, "maxAttempts", "%u is above 100 (0: the default 8)",
                   c->max_attempts);
    if (c->backoff_first_ms > 3600000)
        return bad(err, n, i, "backoffFirstMs", "%u is above 3600000 (an hour)",
                   c->backoff_first_ms);
    if (c->backoff_cap_ms > 86400000)
        return bad(err, n, i, "backoffCapMs", "%u is above 86400000 (a day)", c->backoff_cap_ms);
    if (c->backoff_cap_ms && c->backoff_cap_ms < c->backoff_first_ms)
        return bad(err, n, i, "backoffCapMs", "%u is below backoffFirstMs %u", c->backoff_cap_ms,
                   c->backoff_first_ms);
    if (c->timeout_ms > 300000)
        return bad(err, n, i, "timeoutMs", "%u is above 300000 (5 minutes)", c->timeout_ms);
    uint8_t secret[CONNECTOR_SECRET_MAX];
    size_t len;
    rc = read_secret(c, i, secret, &len, err, n);
    sodium_memzero(secret, sizeof secret);
    return rc;
}

void dispatch_crews_fill_defaults(Hotline__DispatchConfig *cfg)
{
    for (size_t i = 0; i < cfg->n_crews; i++) {
        Hotline__CrewEndpoint *c = cfg->crews[i];
        c->max_attempts = c->max_attempts ? c->max_attempts : CREW_MAX_ATTEMPTS;
        c->backoff_first_ms = c->backoff_first_ms ? c->backoff_first_ms : CREW_BACKOFF_FIRST_MS;
        c->backoff_cap_ms = c->backoff_cap_ms ? c->backoff_cap_ms
                            : c->backoff_first_ms > CREW_BACKOFF_CAP_MS ? c->backoff_first_ms
                                                                        : CREW_BACKOFF_CAP_MS;
        c->timeout_ms = c->timeout_ms ? c->timeout_ms : CREW_TIMEOUT_MS;
    }
}

int dispatch_crews_check(const Hotline__DispatchConfig *cfg, const dispatch_catalogue_t *cat,
                         char *err, size_t err_size)
{
    for (size_t i = 0; i < cfg->n_crews; i++) {
        int rc = check_one(cfg, cat, i, err, err_size);
        if (rc)
            return rc;
    }
    return 0;
}

int dispatch_crews_create(dispatch_t *self, service_t *svc, char *err, size_t err_size)
{
    const Hotline__DispatchConfig *cfg = self->cfg;
    int rc = dispatch_crews_check(cfg, self->cat, err, err_size);
    if (rc)
        return rc;
    dispatch_crews_t *cs = calloc(1, sizeof *cs);
    if (!cs)
        return HL_ENOMEM;
    self->crews = cs;
    rc = store_db(self->store, "workorders", 0, &cs->orders);
    if (!rc)
        rc = store_db(self->store, "workorder_source", 0, &cs->by_source);
    if (!rc)
        rc = store_db(self->store, "workorder_crew", 0, &cs->by_crew);
    if (!rc)
        rc = store_db(self->store, "ticket_brief", 0, &cs->briefs);
    if (rc) {
        snprintf(err, err_size, "cannot open the work order sub-databases: %s", hl_strerror(rc));
        return rc;
    }
    cs->crew = calloc(cfg->n_crews ? cfg->n_crews : 1, sizeof *cs->crew);
    if (!cs->crew)
        return HL_ENOMEM;
    for (size_t i = 0; i < cfg->n_crews; i++) {
        const Hotline__CrewEndpoint *c = cfg->crews[i];
        dispatch_crew_t *crew = &cs->crew[i];
        char name[CONNECTOR_NAME_MAX + 1];
        connector_name(c->unit, name);
        snprintf(crew->unit, sizeof crew->unit, "%s", c->unit);
        char where[32];
        snprintf(where, sizeof where, "crews[%zu]", i);
        connector_config_t cc = {
            .name = name, .where = where, .endpoint = &c->base, .metrics = service_metrics(svc)};
        rc = connector_create_configured(&crew->conn, service_loop(svc), self->store,
                                         service_txq(svc), self->clock, &cc, err, err_size);
        if (rc)
            return rc;
        cs->n = i + 1;
        SLOG_INFO("crew_endpoint", "crew=%s connector=%s url=%s", crew->unit, name,
                  SLOG_Q(c->url));
    }
    return 0;
}

int dispatch_crews_start(dispatch_t *self)
{
    for (size_t i = 0; self->crews && i < self->crews->n; i++) {
        int rc = connector_start(self->crews->crew[i].conn);
        if (rc)
            return rc;
    }
    return 0;
}

void dispatch_crews_stop(dispatch_t *self)
{
    for (size_t i = 0; self->crews && i < self->crews->n; i++)
        connector_stop(self->crews->crew[i].conn);
}

void dispatch_crews_destroy(dispatch_t *self)
{
    dispatch_crews_t *cs = self->crews;
    if (!cs)
        return;
    for (size_t i = 0; i < cs->n; i++) {
        connector_stop(cs->crew[i].conn); /* a start-up that failed never ran stop() */
        connector_destroy(&cs->crew[i].conn);
    }
    free(cs->crew);
    free(cs);
    self->crews = NULL;
}

connector_t *dispatch_crew_connector(dispatch_t *self, const char *unit)
{
    for (size_t i = 0; unit && self->crews && i < self->crews->n; i++)
        if (strcmp(self->crews->crew[i].unit, unit) == 0)
            return self->crews->crew[i].conn;
    return NULL;
}

/* ---- dead letters --------------------------------------------------------------------------- */

typedef struct dead_page {
    json_t *out;
    const char *crew;
    size_t left;
} dead_page_t;

/* A copy of n bytes of text with its phone numbers masked (NULL on ENOMEM). */
static char *masked(const char *text, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, text, n);
    s[n] = '\0';
    mask_phones_n(s, n);
    return s;
}

static int dead_add(void *ctx, const connector_dead_t *d)
{
    dead_page_t *p = ctx;
    if (!p->left)
        return 1;
    char *body = masked(d->body, d->body_len), *error = masked(d->last_error, d->last_error_len);
    json_t *o = body && error ? json_pack("{s:s%, s:s, s:i, s:s, s:s, s:s, s:s}", "key", d->key,
                                          d->key_len, "crew", p->crew, "attempts",
                                          (int)d->attempts, "lastError", error, "body", body,
                                          "enqueuedMs", "", "deadMs", "")
                              : NULL;
    free(body);
    free(error);
    if (!o)
        return HL_ENOMEM;
    char ms[24];
    snprintf(ms, sizeof ms, "%lld", (long long)d->enqueued_ms);
    json_object_set_new(o, "enqueuedMs", json_string(ms));
    snprintf(ms, sizeof ms, "%lld", (long long)d->dead_ms);
    json_object_set_new(o, "deadMs", json_string(ms));
    if (json_array_append_new(p->out, o))
        return HL_ENOMEM;
    p->left--;
    return 0;
}

int dispatch_crews_dead_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out)
{
    dead_page_t page = {out, NULL, limit};
    for (size_t i = 0; self->crews && i < self->crews->n && page.left; i++) {
        page.crew = self->crews->crew[i].unit;
        int rc = connector_dead_list(self->crews->crew[i].conn, txn, dead_add, &page);
        if (rc)
            return rc;
    }
    return 0;
}

int dispatch_crews_replay(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                          cmd_reply_t *reply)
{
    const char *key = cmd->replay_dead_letter->key ? cmd->replay_dead_letter->key : "";
    size_t len = strlen(key);
    if (len < 1 || len > CONNECTOR_KEY_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "replayDeadLetter.key",
                          "required: a dead letter's key (1 to %d bytes; GET /v1/workorders/dead "
                          "lists them)",
                          CONNECTOR_KEY_MAX);
    for (size_t i = 0; self->crews && i < self->crews->n; i++) {
        int rc = connector_dead_replay(self->crews->crew[i].conn, txn, key, len);
        if (rc == HL_ENOTFOUND)
            continue;
        if (rc == HL_EINVAL)
            break;
        if (rc)
            return rc;
        Hotline__ReplayDeadLetterResult *res = arena_alloc(reply->arena, sizeof *res);
        if (!res)
            return HL_ENOMEM;
        hotline__replay_dead_letter_result__init(res);
        res->key = arena_strdup(reply->arena, key);
        res->crew = arena_strdup(reply->arena, self->crews->crew[i].unit);
        if (!res->key || !res->crew)
            return HL_ENOMEM;
        reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_DEAD_LETTER;
        reply->msg->dead_letter = res;
        SLOG_INFO("dead_letter_replayed", "key=%s crew=%s by=%s", SLOG_Q(key),
                  self->crews->crew[i].unit, cmd->actor ? cmd->actor : "");
        return 0;
    }
    return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "replayDeadLetter.key",
                      "no dead letter %.256s: GET /v1/workorders/dead lists them (a replayed one "
                      "is gone from the list)",
                      key);
}
