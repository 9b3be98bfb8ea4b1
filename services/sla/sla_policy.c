/* sla_policy: the policy table: checked once at start-up (errors name the key), matched per
 * dispatch (most specific row wins), shown on GET /v1/policies. Pure functions. */
#include "sla_internal.h"

#include "hl_error.h"
#include "pbjson.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char UNITS_ALLOWED[] =
    "DURATION_MINUTES, DURATION_HOURS, DURATION_NATURAL_DAYS, DURATION_WORKING_DAYS";

/* Span of a limit in days, rounded down, to hold it to the calendar's 3650-day limit. */
static uint64_t limit_days(const Hotline__Limit *l)
{
    switch (l->unit) {
    case HOTLINE__DURATION_UNIT__DURATION_MINUTES: return l->value / 1440u;
    case HOTLINE__DURATION_UNIT__DURATION_HOURS: return l->value / 24u;
    default: return l->value;
    }
}

/* required: sign and reply must be there with a value; warnBefore may be absent or 0. */
static int check_limit(const Hotline__Limit *l, size_t i, const char *key, bool required,
                       char *err, size_t err_size)
{
    if (!l || (l->value == 0 && l->unit == HOTLINE__DURATION_UNIT__DURATION_UNIT_UNSPECIFIED)) {
        if (!required)
            return 0;
        snprintf(err, err_size, "policies[%zu].%s: missing: give {\"value\": N, \"unit\": "
                 "\"DURATION_WORKING_DAYS\"} (or another unit)", i, key);
        return HL_EINVAL;
    }
    if (l->value == 0) {
        if (!required)
            return 0; /* warnBefore 0: this policy raises no yellow warning */
        snprintf(err, err_size, "policies[%zu].%s.value: must be at least 1 (a limit of 0 "
                 "would be breached the moment the clock starts)", i, key);
        return HL_EINVAL;
    }
    if (l->unit < HOTLINE__DURATION_UNIT__DURATION_MINUTES ||
        l->unit > HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS) {
        snprintf(err, err_size, "policies[%zu].%s.unit: must be one of %s", i, key,
                 UNITS_ALLOWED);
        return HL_EINVAL;
    }
    if (l->anchor < HOTLINE__LIMIT_ANCHOR__ANCHOR_FROM_START ||
        l->anchor > HOTLINE__LIMIT_ANCHOR__ANCHOR_END_OF_NEXT_WORKING_DAY) {
        snprintf(err, err_size, "policies[%zu].%s.anchor: must be one of ANCHOR_FROM_START, "
                 "ANCHOR_END_OF_SAME_WORKING_DAY, ANCHOR_END_OF_NEXT_WORKING_DAY", i, key);
        return HL_EINVAL;
    }
    if (limit_days(l) > SLA_MAX_SPAN_DAYS) {
        snprintf(err, err_size, "policies[%zu].%s.value: %u is longer than %d days, the "
                 "calendar's limit", i, key, l->value, SLA_MAX_SPAN_DAYS);
        return HL_EINVAL;
    }
    return 0;
}

static bool is_catch_all(const Hotline__SlaPolicy *p)
{
    return (!p->category_prefix || !*p->category_prefix) &&
           p->urgency == HOTLINE__URGENCY__URGENCY_UNSPECIFIED &&
           p->appeal_type == HOTLINE__APPEAL_TYPE__APPEAL_TYPE_UNSPECIFIED &&
           p->channel == HOTLINE__CHANNEL__CHANNEL_UNSPECIFIED;
}

static const char *prefix_of(const Hotline__SlaPolicy *p)
{
    return p->category_prefix ? p->category_prefix : "";
}

int sla_policies_validate(const Hotline__SlaConfig *cfg, char *err, size_t err_size)
{
    bool catch_all = false;
    if (sla_ladder_validate(cfg->ladder, "ladder", err, err_size))
        return HL_EINVAL;
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const Hotline__SlaPolicy *p = cfg->policies[i];
        size_t name_len = p->name ? strlen(p->name) : 0;
        if (name_len == 0 || name_len > SLA_POLICY_NAME_MAX) {
            snprintf(err, err_size, "policies[%zu].name: must be 1 to %d characters (it is "
                     "written into every clock the policy starts)", i, SLA_POLICY_NAME_MAX);
            return HL_EINVAL;
        }
        const char *prefix = prefix_of(p);
        size_t plen = strlen(prefix);
        if (plen > SLA_PREFIX_MAX) {
            snprintf(err, err_size, "policies[%zu].categoryPrefix: longer than %d characters",
                     i, SLA_PREFIX_MAX);
            return HL_EINVAL;
        }
        for (size_t k = 0; k < plen; k++) {
            if (!isalnum((unsigned char)prefix[k])) {
                snprintf(err, err_size, "policies[%zu].categoryPrefix: \"%s\" may hold only "
                         "letters and digits (a category code prefix such as \"W04\"; \"\" "
                         "matches any)", i, prefix);
                return HL_EINVAL;
            }
        }
        if (p->urgency < HOTLINE__URGENCY__URGENCY_UNSPECIFIED ||
            p->urgency > HOTLINE__URGENCY__URGENCY_VERY_URGENT) {
            snprintf(err, err_size, "policies[%zu].urgency: must be one of URGENCY_UNSPECIFIED "
                     "(any), URGENCY_NORMAL, URGENCY_URGENT, URGENCY_VERY_URGENT", i);
            return HL_EINVAL;
        }
        if (!protobuf_c_enum_descriptor_get_value(&hotline__appeal_type__descriptor,
                                                  (int)p->appeal_type)) {
            snprintf(err, err_size, "policies[%zu].appealType: must be a hotline.AppealType "
                     "(APPEAL_CONSULTATION, APPEAL_HELP, APPEAL_COMPLAINT, ...; "
                     "APPEAL_TYPE_UNSPECIFIED: any)", i);
            return HL_EINVAL;
        }
        if (!protobuf_c_enum_descriptor_get_value(&hotline__channel__descriptor,
                                                  (int)p->channel)) {
            snprintf(err, err_size, "policies[%zu].channel: must be a hotline.Channel "
                     "(CHANNEL_PHONE, CHANNEL_WEB, ...; CHANNEL_UNSPECIFIED: any)", i);
            return HL_EINVAL;
        }
        if (p->extension_max_working_days > SLA_MAX_SPAN_DAYS) {
            snprintf(err, err_size, "policies[%zu].extensionMaxWorkingDays: %u is more than %d",
                     i, p->extension_max_working_days, SLA_MAX_SPAN_DAYS);
            return HL_EINVAL;
        }
        int rc = check_limit(p->sign, i, "sign", true, err, err_size);
        if (!rc)
            rc = check_limit(p->reply, i, "reply", true, err, err_size);
        if (!rc)
            rc = check_limit(p->warn_before, i, "warnBefore", false, err, err_size);
        static const char *const optional[] = {"response", "rework", "callback",
                                               "returnWindow"};
        const Hotline__Limit *const limits[] = {p->response, p->rework, p->callback,
                                                p->return_window};
        for (size_t k = 0; !rc && k < sizeof limits / sizeof *limits; k++)
            rc = check_limit(limits[k], i, optional[k], false, err, err_size);
        if (!rc) {
            char key[40];
            snprintf(key, sizeof key, "policies[%zu].ladder", i);
            rc = sla_ladder_validate(p->ladder, key, err, err_size);
        }
        if (rc)
            return rc;
        for (size_t k = 0; k < i; k++) {
            const Hotline__SlaPolicy *q = cfg->policies[k];
            if (strcmp(q->name, p->name) == 0) {
                snprintf(err, err_size, "policies[%zu].name: \"%s\" is already the name of "
                         "policies[%zu]; names must be unique", i, p->name, k);
                return HL_EINVAL;
            }
            if (strcasecmp(prefix_of(q), prefix) == 0 && q->urgency == p->urgency &&
                q->appeal_type == p->appeal_type && q->channel == p->channel) {
                snprintf(err, err_size, "policies[%zu]: same categoryPrefix \"%s\", urgency, "
                         "appealType and channel as policies[%zu] (\"%s\"); only one of them "
                         "could ever apply: remove one", i, prefix, k, q->name);
                return HL_EINVAL;
            }
        }
        catch_all = catch_all || is_catch_all(p);
    }
    if (!catch_all) {
        snprintf(err, err_size, "policies: no catch-all policy (categoryPrefix \"\" and no "
                 "urgency, appealType or channel): add one so that every ticket gets limits");
        return HL_EINVAL;
    }
    return 0;
}

/* Whether p applies to k and, if it does, its score (higher is more specific): the prefix's
 * length first, then a named urgency, then a named appeal type, then a named channel. why says
 * what failed (NULL when it applies). */
static long policy_score(const Hotline__SlaPolicy *p, const sla_keys_t *k, const char **why)
{
    const char *prefix = prefix_of(p);
    size_t plen = strlen(prefix);
    *why = NULL;
    if (strncasecmp(k->category ? k->category : "", prefix, plen) != 0)
        *why = "categoryPrefix does not begin the category code";
    else if (p->urgency != HOTLINE__URGENCY__URGENCY_UNSPECIFIED && p->urgency != k->urgency)
        *why = "names another urgency";
    else if (p->appeal_type != HOTLINE__APPEAL_TYPE__APPEAL_TYPE_UNSPECIFIED &&
             p->appeal_type != k->appeal_type)
        *why = "names another appeal type";
    else if (p->channel != HOTLINE__CHANNEL__CHANNEL_UNSPECIFIED && p->channel != k->channel)
        *why = "names another channel";
    if (*why)
        return -1;
    return (long)plen * 8 + (p->urgency != HOTLINE__URGENCY__URGENCY_UNSPECIFIED) * 4 +
           (p->appeal_type != HOTLINE__APPEAL_TYPE__APPEAL_TYPE_UNSPECIFIED) * 2 +
           (p->channel != HOTLINE__CHANNEL__CHANNEL_UNSPECIFIED);
}

static sla_keys_t normal(const sla_keys_t *k)
{
    sla_keys_t n = *k;
    if (n.urgency == HOTLINE__URGENCY__URGENCY_UNSPECIFIED)
        n.urgency = HOTLINE__URGENCY__URGENCY_NORMAL;
    return n;
}

const Hotline__SlaPolicy *sla_policy_match_keys(const Hotline__SlaConfig *cfg,
                                                const sla_keys_t *keys)
{
    sla_keys_t k = normal(keys);
    const Hotline__SlaPolicy *best = NULL;
    long best_score = -1;
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const char *why;
        long score = policy_score(cfg->policies[i], &k, &why);
        if (score > best_score) {
            best = cfg->policies[i];
            best_score = score;
        }
    }
    return best;
}

const Hotline__SlaPolicy *sla_policy_match(const Hotline__SlaConfig *cfg,
                                           const char *category_code, Hotline__Urgency urgency)
{
    sla_keys_t k = {.category = category_code, .urgency = urgency};
    return sla_policy_match_keys(cfg, &k);
}

json_t *sla_policy_explain(const Hotline__SlaConfig *cfg, const sla_keys_t *keys)
{
    sla_keys_t k = normal(keys);
    const Hotline__SlaPolicy *best = sla_policy_match_keys(cfg, &k);
    json_t *rows = json_array();
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const Hotline__SlaPolicy *p = cfg->policies[i];
        const char *why;
        long score = policy_score(p, &k, &why);
        json_t *row = json_pack("{s:s, s:b}", "name", p->name, "applies", score >= 0);
        if (why)
            json_object_set_new(row, "why", json_string(why));
        else
            json_object_set_new(row, "score", json_integer(score));
        if (p == best)
            json_object_set_new(row, "chosen", json_true());
        json_array_append_new(rows, row);
    }
    return json_pack("{s:o, s:s}", "rows", rows, "rule",
                     "of the rows that apply, the most specific: the longest categoryPrefix, "
                     "then a named urgency, then a named appealType, then a named channel "
                     "(score = 8 x prefix length + 4 + 2 + 1 for each named key)");
}

static void add_text(json_t *o, const char *key, const Hotline__Limit *l)
{
    if (!l || l->value == 0)
        return;
    char text[96];
    calendar_limit_text(l, text, sizeof text);
    json_object_set_new(o, key, json_string(text));
}

json_t *sla_policy_json(const Hotline__SlaConfig *cfg, const Hotline__SlaPolicy *p)
{
    json_t *o = pbjson_encode(&p->base, true);
    if (!o)
        return NULL;
    /* The texts people read ("5 working days") beside the structured limits. */
    add_text(o, "signText", p->sign);
    add_text(o, "replyText", p->reply);
    add_text(o, "warnBeforeText", p->warn_before);
    /* The ladder the policy's clocks run (its own keys over the service's and the defaults). */
    sla_ladder_t l;
    sla_ladder_effective(cfg, p, &l);
    char red[96], sup[96], rem[48];
    calendar_limit_text(&l.red_after, red, sizeof red);
    calendar_limit_text(&l.supervision_after, sup, sizeof sup);
    if (l.reminder_percent)
        snprintf(rem, sizeof rem, "when %u %% of the limit has passed", l.reminder_percent);
    else
        snprintf(rem, sizeof rem, "none");
    json_object_set_new(o, "ladderText",
                        json_pack("{s:s, s:s, s:s+, s:s+}", "reminder", rem, "yellowCard",
                                  p->warn_before && p->warn_before->value
                                      ? "warnBefore before due" : "none",
                                  "redCard", red, " after due", "supervisionNotice", sup,
                                  " after the red card"));
    return o;
}

json_t *sla_policies_json(const Hotline__SlaConfig *cfg, const Hotline__CalendarConfig *cal)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < cfg->n_policies; i++)
        json_array_append_new(arr, sla_policy_json(cfg, cfg->policies[i]));
    int offset = cal && cal->utc_offset_minutes ? cal->utc_offset_minutes
                                                : CALENDAR_DEFAULT_OFFSET_MIN;
    json_t *o = json_pack("{s:o, s:s, s:{s:i}}", "policies", arr, "matching",
                          "longest categoryPrefix first, then a row naming the ticket's urgency "
                          "over one for any urgency",
                          "calendar", "utcOffsetMinutes", offset);
    if (o && cal && cal->zone && *cal->zone)
        json_object_set_new(json_object_get(o, "calendar"), "zone", json_string(cal->zone));
    return o;
}
