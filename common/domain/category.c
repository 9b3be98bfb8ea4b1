/* category: category code and prefix rules. */
#include "category.h"

#include <string.h>

bool category_prefix_valid(const char *p)
{
    if (!p || p[0] < 'A' || p[0] > 'Z')
        return false;
    for (size_t i = 1; p[i]; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

bool category_code_valid(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    return n >= 3 && n <= 7 && category_prefix_valid(code);
}
