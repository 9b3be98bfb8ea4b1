/* incident: what an incident covers and when it is wide, decided in one place for intake (the
 * door), dispatch (linking by rule, who may declare) and the tests. Pure; any thread. */
#ifndef HOTLINE_INCIDENT_H
#define HOTLINE_INCIDENT_H

#include "hotline/config.pb-c.h"
#include "hotline/event.pb-c.h"

#include <stdbool.h>
#include <stddef.h>

/* A ticket's place, as incidents match on it. NULL strings count as "". */
typedef struct incident_place {
    const char *category;
    const char *district;
    const char *street;
    const char *community;
} incident_place_t;

/* Whether inc covers a ticket: the category code begins with the incident's prefix, and each
 * of the area's district / street / community is "" (any) or the ticket's, ignoring ASCII case. */
bool incident_covers(const Hotline__IncidentDeclared *inc, const incident_place_t *p);

/* Whether an incident with this prefix and area is wide under limits (NULL: nothing is): a
 * prefix shorter than min_prefix_chars, or, with district_alone_is_wide, an area naming a
 * district but no street and no community, or a street without its district. When wide, why says which, in one phrase. */
bool incident_is_wide(const Hotline__IncidentLimits *limits, const char *prefix,
                      const Hotline__IncidentArea *area, char *why, size_t why_size);

#endif
