/* phone: one caller, however the number was written. Intake links repeat callers on it and
 * callback calls each caller of an incident once. Pure; any thread. */
#ifndef HOTLINE_PHONE_H
#define HOTLINE_PHONE_H

#include <stddef.h>

#define PHONE_KEY_MAX 24 /* digits kept at most */

/* The digits of phone without the country code: +86 138-1234-5678, 0086 13812345678 and
 * 13812345678 give the same key. out holds PHONE_KEY_MAX + 1 bytes; returns the length (0 for
 * NULL or no digits). */
size_t phone_key(const char *phone, char out[PHONE_KEY_MAX + 1]);

#endif
