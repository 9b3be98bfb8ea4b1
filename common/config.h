/* config: a service's configuration as a protobuf message, layered:
 *   1. the service's embedded defaults (a JSON document compiled into the binary),
 *   2. an optional JSON file given with --config,
 *   3. environment variables: PREFIX + the field path in upper case joined by '_'
 *      (HOTLINE_RUNTIME_HTTP_PORT=8081 sets runtime.http.port). Scalars take their text form;
 *      repeated and message fields take JSON. Variables that name no field are ignored.
 * then checked against a bounds table (one row per numeric key: path, min, max).
 *
 * JSON goes through pbjson, so the file uses proto3 JSON names and every error names the key
 * ("runtime.http.port: 70000 is above the maximum 65535 (file /etc/hotline/intake.json)").
 * Runs at start-up, before the loop. */
#ifndef HOTLINE_CONFIG_H
#define HOTLINE_CONFIG_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct config_bound {
    const char *path; /* dotted field path, "runtime.http.port" */
    double min;
    double max;
} config_bound_t;

typedef struct config_source {
    const char *defaults_json;    /* embedded defaults; required */
    const char *file_path;        /* NULL = no file */
    char *const *envp;            /* NULL = no environment layer; pass environ normally */
    const char *env_prefix;       /* "HOTLINE_" */
    const config_bound_t *bounds; /* terminated by a row with path NULL; may be NULL */
} config_source_t;

/* Build the configuration. On success *out is a message of type desc (free with
 * protobuf_c_message_free_unpacked(msg, NULL)). On failure err holds one line naming the key,
 * the rule and the source (defaults / file path / environment variable).
 * Errors: HL_EINVAL, HL_ENOTFOUND (file missing), HL_EIO, HL_ENOMEM. */
int config_load(const ProtobufCMessageDescriptor *desc, const config_source_t *src,
                ProtobufCMessage **out, char *err, size_t err_size);

/* Find a field by dotted path (for the bounds table and tools). Returns a pointer to the
 * field's storage inside msg and its descriptor, or NULL if the path names no field or passes
 * through an unset sub-message. */
void *config_field(ProtobufCMessage *msg, const char *path,
                   const ProtobufCFieldDescriptor **field_out);

#endif
