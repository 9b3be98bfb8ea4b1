/* mask: the one masking function for personal data in text that leaves a service publicly
 * (Open311 address, description and notes, analytics timelines, logs, status views shown to
 * roles that may not see the caller).
 *
 * A phone number is a run of at least 7 digits written with spaces, dashes, dots or brackets
 * between them, with or without a +86 / 0086 country prefix: "13812345678", "138 0013 8000",
 * "138-0013-8000", "(010) 6552 8899", "010.6552.8899", "+86 138 0013 8000", "0086-10-65528899".
 * Masking replaces its digits with '*' in place (the text keeps its length and shape): the
 * country prefix and the last 4 digits stay, and the first 3 national digits of an 11-digit or
 * longer number ("138****8000"). Left alone, because they are not phones and people need to
 * read them: ticket ids (20261125-1-000123), other ids that start with a date and a dash
 * (INC-20261125-001), dates (2026-12-04, 2026.12.04, 2026/12/04) and
 * IPv4 addresses. Full-width digits and separators are not recognised.
 *
 * Pure; any thread. */
#ifndef HOTLINE_MASK_H
#define HOTLINE_MASK_H

#include "hotline/ticket.pb-c.h"

#include <stddef.h>

/* Mask every phone number in the first len bytes of text, in place. Returns how many. */
size_t mask_phones_n(char *text, size_t len);

/* The same for a NUL-terminated string. */
size_t mask_phones(char *text);

/* A copy of text with its phones masked (malloc; the caller frees), or NULL on ENOMEM.
 * text NULL gives "". */
char *mask_phones_dup(const char *text);

/* A phone field shown to a role that may not see it: every digit but the last 4 (and the
 * first 3 of an 11-digit or longer number) becomes '*', whatever the length. */
void mask_phone_field(const char *phone, char *out, size_t out_size);

/* A name shown to a role that may not see it: its first character, then one '*' per further
 * character ("张三" -> "张*", "Li Wei" -> "L*****"). */
void mask_name(const char *name, char *out, size_t out_size);

/* Mask a message in place, for a reader who may not see the caller: every field named phone
 * (mask_phone_field), a Contact's name, every e-mail, and phone numbers in every other string,
 * in sub-messages and lists too (ids, codes and dates are left readable by mask_phones' rules).
 * The strings must be writable: an unpacked message. Returns how many phone numbers were
 * masked in free text. */
size_t mask_message(ProtobufCMessage *msg);

/* mask_message of a ticket (NULL: nothing). */
size_t mask_ticket(Hotline__Ticket *t);

#endif
