/* phone: caller keys (phone.h). */
#include "phone.h"

#include <ctype.h>
#include <string.h>

size_t phone_key(const char *phone, char out[PHONE_KEY_MAX + 1])
{
    size_t n = 0;
    for (const char *p = phone; p && *p && n < PHONE_KEY_MAX; p++)
        if (isdigit((unsigned char)*p))
            out[n++] = *p;
    out[n] = '\0';
    if (n == 15 && strncmp(out, "0086", 4) == 0) {
        memmove(out, out + 4, n - 3);
        n -= 4;
    } else if (n == 13 && strncmp(out, "86", 2) == 0) {
        memmove(out, out + 2, n - 1);
        n -= 2;
    }
    return n;
}
