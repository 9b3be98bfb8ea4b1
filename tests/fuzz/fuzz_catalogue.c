/* fuzz_catalogue: arbitrary bytes as a routing catalogue file (services/dispatch/
 * dispatch_catalogue_text.c), the text `hotline catalogue load` sends.
 *
 * Beyond "no crash, no leak": a refused file gets a message that names where ("line N",
 * "file"); an accepted one routes any ticket to a unit it declares, renders to a file that
 * parses back, and the diff of the two finds every rule unchanged. */
#include "dispatch.h"

#include "hl_error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    dispatch_catalogue_t *cat = NULL;
    int rc = dispatch_catalogue_parse(&cat, (const char *)data, size, err, sizeof err);
    if (rc) {
        if (rc != HL_EINVAL || (strncmp(err, "line ", 5) != 0 && strncmp(err, "file", 4) != 0))
            abort();
        return 0;
    }
    static const char *const categories[] = {"W01", "W0402", "P7", ""};
    for (size_t i = 0; i < 4; i++) {
        dispatch_where_t w = {.category = categories[i], .district = "Gulou", .urgent = i & 1};
        dispatch_match_t m;
        dispatch_catalogue_route(cat, &w, &m);
        if (!m.unit || !dispatch_catalogue_unit_name(cat, m.unit))
            abort();
    }
    char *text = dispatch_catalogue_render(cat);
    dispatch_catalogue_t *again = NULL;
    if (!text || dispatch_catalogue_parse(&again, text, strlen(text), err, sizeof err) != 0)
        abort();
    json_t *diff = dispatch_catalogue_diff(cat, again);
    if (json_integer_value(json_object_get(diff, "rulesSame")) != (json_int_t)cat->nrules ||
        json_array_size(json_object_get(diff, "rulesChanged")) != 0)
        abort();
    json_decref(diff);
    free(text);
    dispatch_catalogue_destroy(&again);
    dispatch_catalogue_destroy(&cat);
    return 0;
}
