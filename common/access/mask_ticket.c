/* mask_message: every string a message holds, as a reader who may not see the caller gets
 * it. Walks protobuf-c descriptors, so new fields and event kinds are covered without a list
 * to keep. Pure; any thread. */
#include "mask.h"

#include <stdbool.h>
#include <string.h>

/* Strings protobuf-c left at its static "" must not be written. */
static bool writable(const char *s)
{
    return s && *s && s != protobuf_c_empty_string;
}

static size_t mask_string(const ProtobufCMessageDescriptor *owner,
                          const ProtobufCFieldDescriptor *f, char *s)
{
    if (!writable(s))
        return 0;
    if (strcmp(f->name, "phone") == 0) {
        mask_phone_field(s, s, strlen(s) + 1);
        return 0;
    }
    if (owner == &hotline__contact__descriptor && strcmp(f->name, "name") == 0) {
        mask_name(s, s, strlen(s) + 1); /* never longer */
        return 0;
    }
    if (strcmp(f->name, "email") == 0) { /* "ming@x" -> "m***@x", in place */
        for (char *p = s + 1; *p && *p != '@'; p++)
            *p = '*';
        return 0;
    }
    return mask_phones(s);
}

size_t mask_message(ProtobufCMessage *msg)
{
    if (!msg)
        return 0;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    size_t n = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        void *member = (char *)msg + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
            *(const uint32_t *)((const char *)msg + f->quantifier_offset) != f->id)
            continue; /* another member of the oneof is the one set */
        size_t count = 1;
        void **items = member;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *)((const char *)msg + f->quantifier_offset);
            items = *(void ***)member;
        }
        for (size_t k = 0; items && k < count; k++) {
            if (f->type == PROTOBUF_C_TYPE_STRING)
                n += mask_string(d, f, items[k]);
            else
                n += mask_message(items[k]);
        }
    }
    return n;
}

size_t mask_ticket(Hotline__Ticket *t)
{
    return t ? mask_message(&t->base) : 0;
}
