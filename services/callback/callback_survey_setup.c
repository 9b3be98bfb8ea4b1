/* callback_survey_setup: the survey gateway's configuration (checked before start-up, the
 * secret read as crews' are: connector_secret_load), its wiring into the service (the
 * "survey" connector, the expiry scheduler, the refusal counter) and the door of its answers:
 *
 *   POST /v1/surveys/{surveyId}/answer   {"surveyId", "rating", "resolved", "comment"}
 *
 * public in the access table, because the gateway holds no token: the signature is its
 * credential. X-Hotline-Timestamp and X-Hotline-Signature are checked (connector_verify: the
 * HMAC the connector signs with, compared in constant time, the timestamp within 5 minutes of
 * this service's clock) before anything else is read; a request that fails gets 401 naming
 * the header, is counted (hotline_survey_answers_refused_total{reason}) and changes nothing.
 * A signed one runs as command AnswerSurvey for the principal "survey-gateway" (role
 * service), through the group commit and the Idempotency-Key store like every command.
 * Loop thread. */
#include "callback_survey.h"

#include "hl_error.h"
#include "slog.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const REFUSALS[] = {"no_timestamp", "stale", "malformed", "mismatch", NULL};

int callback_survey_check_config(const Hotline__CallbackConfig *cfg, char *err, size_t err_size)
{
    const Hotline__SurveyConfig *s = cfg->survey;
    if (!s)
        return 0;
    const char *mode = s->mode ? s->mode : "", *channel = s->channel ? s->channel : "";
    if (strcmp(mode, "fallback") != 0 && strcmp(mode, "all") != 0)
        return config_error(
            err, err_size, "survey", "mode",
            "'%.32s' is not one of fallback (a survey instead of closing a ticket whose "
            "citizen the agents could not reach), all (every callback by survey)",
            mode);
    if (strcmp(channel, "sms") != 0 && strcmp(channel, "ivr") != 0)
        return config_error(err, err_size, "survey", "channel", "'%.32s' is not one of sms, ivr",
                            channel);
    if (!s->url || !*s->url)
        return 0; /* no gateway: nothing else is used */
    char why[160];
    if (connector_url_check(s->url, why, sizeof why))
        return config_error(err, err_size, "survey", "url", "%s", why);
    if (s->answer_base_url && *s->answer_base_url &&
        connector_url_check(s->answer_base_url, why, sizeof why))
        return config_error(err, err_size, "survey", "answerBaseUrl", "%s", why);
    if (s->backoff_cap_ms < s->backoff_first_ms)
        return config_error(err, err_size, "survey", "backoffCapMs",
                            "%u is below backoffFirstMs %u", s->backoff_cap_ms,
                            s->backoff_first_ms);
    uint8_t secret[CONNECTOR_SECRET_MAX];
    size_t len;
    int rc =
        connector_secret_load(s->secret_file, s->secret_env, "survey", secret, &len, err, err_size);
    sodium_memzero(secret, sizeof secret);
    return rc;
}

int callback_survey_attach(callback_t *self, connector_t *conn, scheduler_t *expiry,
                           const callback_survey_settings_t *s)
{
    if (self->survey || !expiry || (conn && (!s->key || s->key_len > CONNECTOR_SECRET_MAX)))
        return HL_EINVAL;
    callback_survey_t *sv = calloc(1, sizeof *sv);
    if (!sv)
        return HL_ENOMEM;
    self->survey = sv;
    sv->conn = conn;
    sv->expiry = expiry;
    sv->all = s->all;
    snprintf(sv->channel, sizeof sv->channel, "%s", s->channel ? s->channel : "sms");
    sv->answer_hours = s->answer_hours ? s->answer_hours : 72;
    const char *base = s->answer_base_url ? s->answer_base_url : "";
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    sv->answer_base = strndup(base, n);
    if (conn) {
        memcpy(sv->key, s->key, s->key_len);
        sv->key_len = s->key_len;
    }
    if (sodium_init() < 0) /* survey ids are random */
        return HL_EIO;
    return sv->answer_base ? callback_survey_open(self, self->store) : HL_ENOMEM;
}

/* The connector to the gateway (survey.url is set): its secret read, made and started. */
static int make_connector(callback_t *self, const Hotline__SurveyConfig *c, scheduler_t *expiry,
                          callback_survey_settings_t *st)
{
    service_t *svc = self->svc;
    uint8_t secret[CONNECTOR_SECRET_MAX];
    size_t len = 0;
    char err[512];
    connector_t *conn = NULL;
    connector_config_t cc = {.name = "survey",
                             .where = "survey",
                             .endpoint = &c->base,
                             .metrics = service_metrics(svc),
                             .key_out = secret,
                             .key_len_out = &len};
    int rc = connector_create_configured(&conn, service_loop(svc), self->store, service_txq(svc),
                                         self->clock, &cc, err, sizeof err);
    st->key = secret;
    st->key_len = len;
    if (!rc)
        rc = callback_survey_attach(self, conn, expiry, st);
    sodium_memzero(secret, sizeof secret);
    if (!rc) {
        self->survey->own_conn = true;
        rc = connector_start(conn);
    } else if (conn) {
        connector_stop(conn);
        connector_destroy(&conn);
    }
    if (rc)
        SLOG_ERROR("survey_gateway_not_started", "reason=%s",
                   SLOG_Q(err[0] ? err : hl_strerror(rc)));
    return rc;
}

int callback_survey_init(callback_t *self)
{
    service_t *svc = self->svc;
    const Hotline__CallbackConfig *cfg = (const Hotline__CallbackConfig *)service_config(svc);
    const Hotline__SurveyConfig *c = cfg->survey;
    bool on = c && c->url && *c->url;
    /* The expiry scheduler runs even with no gateway: surveys sent before survey.url was
     * emptied still close when their answer hours are over. */
    scheduler_opts_t o = callback_survey_scheduler_opts(self);
    scheduler_t *expiry;
    int rc = service_scheduler(svc, &o, &expiry);
    if (rc)
        return rc;
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)httpd_port(service_httpd(svc)));
    callback_survey_settings_t st = {
        .all = on && strcmp(c->mode, "all") == 0,
        .channel = c ? c->channel : "sms",
        .answer_hours = c ? c->answer_hours : 0,
        .answer_base_url =
            c && c->answer_base_url && *c->answer_base_url ? c->answer_base_url : base,
    };
    rc =
        on ? make_connector(self, c, expiry, &st) : callback_survey_attach(self, NULL, expiry, &st);
    if (rc)
        return rc;
    callback_survey_t *sv = self->survey;
    sv->refused = metrics_counter(service_metrics(svc), "hotline_survey_answers_refused_total",
                                  "Survey answers refused at the door (401): no timestamp, a "
                                  "stale one, a malformed or a wrong signature.",
                                  "reason");
    for (const char *const *r = REFUSALS; *r; r++)
        metric_add(sv->refused, (const char *const[]){*r}, 0);
    if (on)
        SLOG_INFO("survey_gateway",
                  "url=%s mode=%s channel=%s answer_hours=%u answer_url=\"%s/v1/surveys/{id}/"
                  "answer\"",
                  SLOG_Q(c->url), c->mode, sv->channel, sv->answer_hours, sv->answer_base);
    return 0;
}

void callback_survey_stop(callback_t *self)
{
    if (self->survey && self->survey->own_conn)
        connector_stop(self->survey->conn);
}

void callback_survey_destroy(callback_t *self)
{
    callback_survey_t *sv = self->survey;
    if (!sv)
        return;
    if (sv->own_conn) {
        connector_stop(sv->conn); /* a start-up that failed never ran stop() */
        connector_destroy(&sv->conn);
    }
    sodium_memzero(sv->key, sizeof sv->key);
    free(sv->answer_base);
    free(sv);
    self->survey = NULL;
}

/* ---- the door of the answers ---- */

int callback_survey_verify(callback_t *self, const char *ts, const char *sig, const void *body,
                           size_t len, callback_survey_refusal_t *why)
{
    callback_survey_t *sv = self->survey;
    why->field = "X-Hotline-Signature";
    why->reason = "";
    if (!sv || !sv->conn) {
        why->field = "surveyId";
        snprintf(why->message, sizeof why->message,
                 "this centre has no survey gateway (callback's survey.url is empty): no "
                 "survey can be answered");
        return HL_ENOTFOUND;
    }
    int64_t skew;
    connector_sig_t v = connector_verify(sv->key, sv->key_len, ts, sig, body, len,
                                         hclock_now_ms(self->clock), CONNECTOR_SKEW_MS, &skew);
    if (v == CONNECTOR_SIG_OK)
        return 0;
    why->reason = REFUSALS[v - 1];
    if (v == CONNECTOR_SIG_NO_TIMESTAMP || v == CONNECTOR_SIG_STALE)
        why->field = "X-Hotline-Timestamp";
    if (v == CONNECTOR_SIG_STALE)
        snprintf(why->message, sizeof why->message,
                 "X-Hotline-Timestamp is %lld s %s this service's clock (at most %d s either "
                 "way): sign with the current time; an old answer replayed is refused so",
                 (long long)(skew < 0 ? -skew : skew) / 1000, skew > 0 ? "behind" : "ahead of",
                 CONNECTOR_SKEW_MS / 1000);
    else
        snprintf(why->message, sizeof why->message, "%s", connector_sig_reason(v));
    return HL_EINVAL;
}

/* Count a refusal, and log it at most once a second (a flood of forgeries must not flood the
 * log). */
static void refused(callback_t *self, const char *reason, const char *why)
{
    callback_survey_t *sv = self->survey;
    if (sv->refused)
        metric_inc(sv->refused, (const char *const[]){reason});
    int64_t now = (int64_t)(hclock_mono_ns() / 1000000);
    if (now - sv->refused_logged_ms < 1000)
        return;
    sv->refused_logged_ms = now;
    SLOG_WARN("survey_answer_refused",
              "reason=%s detail=%s next=\"answered 401, nothing recorded\"", reason, SLOG_Q(why));
}

static const auth_principal_t GATEWAY = {.role = HOTLINE__ROLE__ROLE_SERVICE,
                                         .name = "survey-gateway"};

/* The {surveyId} of /v1/surveys/{surveyId}/answer; answers 404 and returns false for any
 * other path. */
static bool path_survey(httpd_req_t *req, char id[SURVEY_ID_MAX + 1])
{
    char what[8];
    if (service_path_segment(req, 2, id, SURVEY_ID_MAX + 1) > 0 &&
        service_path_segment(req, 3, what, sizeof what) > 0 && strcmp(what, "answer") == 0 &&
        service_path_segment(req, 4, what, sizeof what) == HL_ENOTFOUND)
        return true;
    service_http_error(req, 404, "surveyId",
                       "no such resource: POST /v1/surveys/{surveyId}/answer (a surveyId is at "
                       "most %d characters)",
                       SURVEY_ID_MAX);
    return false;
}

void callback_survey_on_answer(httpd_req_t *req, void *ctx)
{
    callback_t *self = ctx;
    size_t len;
    const char *body = httpd_req_body(req, &len);
    char id[SURVEY_ID_MAX + 1];
    callback_survey_refusal_t why;
    int rc = callback_survey_verify(self, httpd_req_header(req, "X-Hotline-Timestamp"),
                                    httpd_req_header(req, "X-Hotline-Signature"), body, len, &why);
    if (rc) {
        if (rc != HL_ENOTFOUND)
            refused(self, why.reason, why.message);
        service_http_error(req, rc == HL_ENOTFOUND ? 404 : 401, why.field, "%s", why.message);
        return;
    }
    if (!path_survey(req, id))
        return;
    Hotline__AnswerSurvey *a =
        (Hotline__AnswerSurvey *)service_http_body(req, &hotline__answer_survey__descriptor);
    if (!a)
        return;
    /* The signature covers the body, not the path: the body must name the survey, so a signed
     * answer cannot be replayed to another survey's URL. */
    if (!a->survey_id || !*a->survey_id) {
        hotline__answer_survey__free_unpacked(a, NULL);
        service_http_error(req, 400, "surveyId",
                           "required in the signed body: the survey the answer is for (%s)", id);
        return;
    }
    if (!service_take_path_id(req, &a->survey_id, "surveyId", id)) {
        hotline__answer_survey__free_unpacked(a, NULL);
        return;
    }
    auth_principal_t *who = malloc(sizeof *who);
    if (!who) {
        hotline__answer_survey__free_unpacked(a, NULL);
        service_http_error(req, 503, NULL, "out of memory: nothing was stored; retry");
        return;
    }
    /* The signature authenticated the gateway: the command runs as it. */
    *who = GATEWAY;
    httpd_req_set_user(req, who, free);
    callback_http_run(self, req, HOTLINE__COMMAND__BODY_ANSWER_SURVEY, &a->base);
}
