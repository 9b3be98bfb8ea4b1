/* config: a service's configuration as a protobuf message, layered:
 *   1. the service's embedded defaults (a JSON document compiled into the binary),
 *   2. an optional JSON file given with --config,
 *   3. environment variables: PREFIX + the field path in upper case joined by '_'
 *      (HOTLINE_RUNTIME_HTTP_PORT=8081 sets runtime.http.port). Field names hold '_' too
 *      (HOTLINE_RUNTIME_HTTP_MAX_BODY_BYTES is runtime.http.max_body_bytes): every split is
 *      tried, longer field names first. Scalars take their text form (numbers and enum names
 *      as pbjson reads them from strings, strictly; bools true/false/1/0/yes/no); repeated and
 *      message fields take JSON (a list replaces the list, an object merges). Variables that
 *      name no field are ignored. Variables are applied in envp order.
 * then checked against a bounds table (one row per numeric key: path, min, max). A key inside
 * a sub-message that is absent after all layers is not checked.
 *
 * JSON goes through pbjson (pbjson_default_limits()), so the file uses proto3 JSON names (or
 * the proto names) and every error names the key, as a JSON path, and the source
 * ("runtime.http.port: 70000 is above the maximum 65535 (file /etc/hotline/intake.json)",
 * "runtime.http.maxBodyBytes: expected an integer, got \"x\" (environment
 * HOTLINE_RUNTIME_HTTP_MAX_BODY_BYTES)"; the source of a bound violation is the layer that
 * last set the key: defaults, file or variable).
 * Runs at start-up, before the loop. */
#ifndef HOTLINE_CONFIG_H
#define HOTLINE_CONFIG_H

#include <protobuf-c/protobuf-c.h>
#include <stdarg.h>
#include <stddef.h>

typedef struct config_bound {
    const char *path; /* dotted field path, "runtime.http.port"; proto or JSON names */
    double min;
    double max;
} config_bound_t;

typedef struct config_source {
    const char *defaults_json;    /* embedded defaults; required */
    const char *file_path;        /* NULL = no file */
    char *const *envp;            /* NULL = no environment layer; pass environ normally */
    const char *env_prefix;       /* "HOTLINE_"; NULL = "" */
    const config_bound_t *bounds; /* terminated by a row with path NULL; may be NULL */
} config_source_t;

/* Build the configuration. On success *out is a message of type desc (free with
 * protobuf_c_message_free_unpacked(msg, NULL)). On failure *out is NULL and err holds one line
 * naming the key, the rule and the source (defaults / file path / environment variable).
 * Errors: HL_EINVAL (also a bounds row that names no numeric field, or a file over 16 MiB),
 * HL_ENOTFOUND (file missing), HL_EIO (file unreadable), HL_ENOMEM. */
int config_load(const ProtobufCMessageDescriptor *desc, const config_source_t *src,
                ProtobufCMessage **out, char *err, size_t err_size);

/* Find a field by dotted path (for the bounds table and tools), proto or JSON names. Returns a
 * pointer to the field's storage inside msg and its descriptor (field_out may be NULL), or NULL
 * (and *field_out NULL) if the path names no field, passes through a repeated field or an unset
 * sub-message, or ends at a oneof member that is not the one set. */
void *config_field(ProtobufCMessage *msg, const char *path,
                   const ProtobufCFieldDescriptor **field_out);

/* One line for a service's own checks (service_desc_t.check_config and what it calls): err =
 * "<where>.<field>: <rule>", where the block ("crews[0]", "survey") and field its key, so the
 * message names the key as config_load's do. Returns HL_EINVAL. */
int config_error(char *err, size_t err_size, const char *where, const char *field, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
int config_verror(char *err, size_t err_size, const char *where, const char *field, const char *fmt,
                  va_list ap) __attribute__((format(printf, 5, 0)));

#endif
