/* sla_editions: editions of the policy table, loaded without a restart.
 *
 *   POST /v1/policies  {"policies": [...], "ladder": {...}}   load a new edition (command
 *                                                             LoadPolicies -> PoliciesLoaded)
 *   GET  /v1/policies                                         the edition in use, its version
 *
 * Edition 0 is the configuration's table. Each load is checked whole, as the configuration is
 * (the error names the key: "policies[2].reply.value: ..."), and becomes edition n + 1 in
 * "policy_editions" (BE u32 version -> BE i64 loaded ms, who NUL, the JSON), kept for the
 * record; the highest is the one in use, also after a restart. Every clock started from then
 * on carries the version (SlaClockStarted.policy_version); clocks already running keep the
 * deadlines they were given. As with the routing catalogue, the table in memory is swapped only
 * after the load's transaction commits. Loop thread. */
#include "sla_internal.h"

#include "arena.h"
#include "editions.h"
#include "hl_error.h"
#include "pbjson.h"
#include "slog.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const Hotline__SlaConfig *sla_table(const sla_t *self)
{
    return self->edition ? self->edition : self->cfg;
}

uint32_t sla_table_version(const sla_t *self)
{
    return self->policy_version;
}

/* The JSON as a table: decoded, its policies and ladder checked. err names the key. */
static int decode_table(const char *json, size_t len, Hotline__SlaConfig **out, char *err,
                        size_t err_size)
{
    pbjson_error_t perr;
    ProtobufCMessage *msg = NULL;
    int rc = pbjson_decode(&hotline__sla_config__descriptor, json, len, NULL, &msg, &perr);
    if (rc) {
        snprintf(err, err_size, "%.200s%s%.250s", perr.field, *perr.field ? ": " : "", perr.message);
        return HL_EINVAL;
    }
    Hotline__SlaConfig *t = (Hotline__SlaConfig *)msg;
    if (t->runtime || t->calendar) {
        snprintf(err, err_size, "%s: only \"policies\" and \"ladder\" are loaded here; the "
                 "runtime and calendar stay as configured", t->runtime ? "runtime" : "calendar");
        rc = HL_EINVAL;
    }
    if (!rc)
        rc = sla_policies_validate(t, err, err_size);
    if (rc) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return rc;
    }
    *out = t;
    return 0;
}

/* The newest stored edition: its version and JSON (valid in txn); version 0 when none. */
static int newest(sla_t *self, MDB_txn *txn, uint32_t *version, const char **json, size_t *len)
{
    edition_t e;
    int rc = editions_newest(txn, self->editions, &e);
    *version = e.version;
    *json = e.text;
    *len = e.len;
    return rc;
}

/* Use the newest stored edition, when it is not the one in use. */
static int adopt_newest(sla_t *self)
{
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc)
        return rc;
    uint32_t version;
    const char *json;
    size_t len;
    rc = newest(self, txn, &version, &json, &len);
    if (!rc && version && version != self->policy_version) {
        char err[512];
        Hotline__SlaConfig *t;
        rc = decode_table(json, len, &t, err, sizeof err);
        if (rc) {
            SLOG_ERROR("sla_edition_unusable", "version=%u reason=\"%s\" next=\"keeping "
                       "edition %u; load a corrected table\"", version, err,
                       self->policy_version);
        } else {
            if (self->edition)
                protobuf_c_message_free_unpacked(&self->edition->base, NULL);
            self->edition = t;
            self->policy_version = version;
            SLOG_INFO("sla_edition_in_use", "version=%u policies=%zu", version, t->n_policies);
        }
    }
    store_read_end(&txn);
    return rc == HL_EINVAL ? 0 : rc;
}

int sla_editions_open(sla_t *self)
{
    int rc = store_db(self->store, "policy_editions", 0, &self->editions);
    return rc ? rc : adopt_newest(self);
}

void sla_editions_after_commit(sla_t *self)
{
    if (!self->editions_dirty)
        return;
    int rc = adopt_newest(self);
    if (rc)
        SLOG_WARN("sla_edition_not_swapped", "reason=\"%s\" next=\"retry after the next "
                  "commit\"", hl_strerror(rc));
    else
        self->editions_dirty = false;
}

void sla_editions_free(sla_t *self)
{
    if (self->edition)
        protobuf_c_message_free_unpacked(&self->edition->base, NULL);
    self->edition = NULL;
}

int sla_load_policies(sla_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                      cmd_reply_t *reply)
{
    const char *json = cmd->load_policies->json ? cmd->load_policies->json : "";
    size_t len = strlen(json);
    char err[512];
    Hotline__SlaConfig *t;
    int rc = decode_table(json, len, &t, err, sizeof err);
    if (rc == HL_EINVAL)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "loadPolicies.json", "%s", err);
    if (rc)
        return rc;
    size_t count = t->n_policies;
    protobuf_c_message_free_unpacked(&t->base, NULL);
    uint32_t version;
    const char *ignored;
    size_t ignored_len;
    if ((rc = newest(self, txn, &version, &ignored, &ignored_len)))
        return rc;
    version = (version > self->policy_version ? version : self->policy_version) + 1;
    const char *by = cmd->by && cmd->by->name ? cmd->by->name : cmd->actor ? cmd->actor : "";
    rc = editions_put(txn, self->editions, version, hclock_now_ms(self->clock), by, json, len);
    if (rc)
        return rc;
    uint8_t hash[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(hash, (const uint8_t *)json, len);
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    Hotline__PoliciesLoaded body = HOTLINE__POLICIES_LOADED__INIT;
    body.version = version;
    body.policies = (uint32_t)count;
    body.sha256 = hex;
    body.by = (char *)by;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_POLICIES_LOADED;
    ev.policies_loaded = &body;
    if ((rc = evlog_append(self->log, txn, &ev)))
        return rc;
    Hotline__PoliciesResult *res = arena_calloc(reply->arena, sizeof *res);
    if (!res)
        return HL_ENOMEM;
    hotline__policies_result__init(res);
    res->version = version;
    res->policies = (uint32_t)count;
    res->sha256 = arena_strdup(reply->arena, hex);
    if (!res->sha256)
        return HL_ENOMEM;
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_POLICIES;
    reply->msg->policies = res;
    self->editions_dirty = true;
    SLOG_INFO("sla_policies_loaded", "version=%u policies=%zu by=\"%s\"", version, count, by);
    return 0;
}
