/* incident: coverage and width of incidents (incident.h). */
#include "incident.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool blank(const char *s)
{
    return !s || !*s;
}

/* "" in the incident's area matches anything; otherwise the ticket must say the same. */
static bool field_matches(const char *want, const char *have)
{
    return blank(want) || (have && strcasecmp(want, have) == 0);
}

bool incident_covers(const Hotline__IncidentDeclared *inc, const incident_place_t *p)
{
    const char *prefix = inc->category_prefix ? inc->category_prefix : "";
    const char *category = p->category ? p->category : "";
    if (strncmp(category, prefix, strlen(prefix)) != 0)
        return false;
    const Hotline__IncidentArea *a = inc->area;
    if (!a)
        return true;
    return field_matches(a->district, p->district) && field_matches(a->street, p->street) &&
           field_matches(a->community, p->community);
}

bool incident_is_wide(const Hotline__IncidentLimits *limits, const char *prefix,
                      const Hotline__IncidentArea *area, char *why, size_t why_size)
{
    if (!limits)
        return false;
    size_t plen = prefix ? strlen(prefix) : 0;
    if (limits->min_prefix_chars && plen < limits->min_prefix_chars) {
        snprintf(why, why_size, "category prefix '%s' is shorter than %u characters",
                 prefix ? prefix : "", (unsigned)limits->min_prefix_chars);
        return true;
    }
    if (limits->district_alone_is_wide && area && !blank(area->district) &&
        blank(area->street) && blank(area->community)) {
        snprintf(why, why_size, "area is the whole district %s (no street or community)",
                 area->district);
        return true;
    }
    /* A street name repeats across districts: without its district it would catch that
     * street everywhere. */
    if (limits->district_alone_is_wide && area && blank(area->district) &&
        !blank(area->street)) {
        snprintf(why, why_size, "street %s is named without its district (the same name "
                 "runs in several districts)", area->street);
        return true;
    }
    return false;
}
