/* dispatch_route: the routing catalogue (派单目录), its rules and how a ticket is matched.
 *
 *   dispatch_route.c           build a catalogue from rules (checked), match, unit names
 *   dispatch_catalogue_text.c  the catalogue file: parse (errors name the line), render, diff
 *   dispatch_catalogue.c       editions: stored, loaded by command, shown over HTTP
 *
 * A rule: category prefix ("" any) x area (district, street, community; "" any) x urgency
 * (any, or urgent only) -> lead unit (主办) + assisting units (协办). The most specific rule
 * wins: the longest prefix, then the narrowest area, then urgent-only; no rule -> the fallback
 * unit. A fallback "by district" is a rule with no prefix and a district. Comparisons ignore
 * ASCII case. */
#ifndef HOTLINE_DISPATCH_ROUTE_H
#define HOTLINE_DISPATCH_ROUTE_H

#include "arena.h"
#include "hotline/config.pb-c.h"
#include "hotline/ticket.pb-c.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISPATCH_UNIT_ID_MAX 64
#define CATALOGUE_PREFIX_MAX 16     /* as Ticket.category_code */
#define CATALOGUE_AREA_MAX 800      /* Location.district etc.: 200 characters of up to 4 bytes */
#define CATALOGUE_UNIT_NAME_MAX 400
#define CATALOGUE_ASSIST_MAX 8
#define CATALOGUE_RULES_MAX 20000
#define CATALOGUE_TEXT_MAX (1024 * 1024)

typedef struct catalogue_unit {
    const char *id;
    const char *name;
    const char *parent; /* the unit it reports to ("" none): the parent may sub-dispatch to it */
    unsigned line;      /* in the file; 0 from the configuration */
} catalogue_unit_t;

typedef struct catalogue_rule {
    const char *prefix; /* "" = any category */
    size_t prefix_len;
    const char *district, *street, *community; /* "" = any */
    bool urgent_only;
    const char *unit;
    const char **assist;
    size_t nassist;
    unsigned line;    /* in the file; 0 from the configuration */
    const char *text; /* "W04 in Gulou -> repair-crew-north + drainage" (built ones only) */
} catalogue_rule_t;

/* Rules as written, before they are checked: from the configuration or a file. */
typedef struct catalogue_spec {
    bool from_text; /* messages name lines, not keys; units must be declared */
    const char *label;
    catalogue_unit_t *units;
    size_t nunits;
    catalogue_rule_t *rules;
    size_t nrules;
    const char *fallback;
    unsigned fallback_line;
} catalogue_spec_t;

typedef struct dispatch_catalogue {
    arena_t *arena; /* every string and array below */
    catalogue_rule_t *rules;
    size_t nrules;
    catalogue_unit_t *units; /* as given; from the configuration may be empty (unchecked) */
    size_t nunits;
    const char *fallback;
    const char *fallback_text;
    unsigned fallback_line;
    uint32_t version;  /* 0: built from the configuration; 1, 2, ...: loaded editions */
    const char *label; /* the file's "version | ..." line, "configuration" for 0 */
    char sha256[65];   /* of the edition's text, hex; "" for the configuration's */
} dispatch_catalogue_t;

/* Where a ticket goes. Strings are borrowed from the catalogue. */
typedef struct dispatch_match {
    const char *unit;
    const char *route; /* the rule that matched, for people: "W04 in Gulou -> crew-north" */
    int index;         /* its row in rules[], -1 for the fallback */
    unsigned line;     /* its line in the edition's text (0: configuration) */
    uint32_t version;  /* the catalogue edition */
    const char *const *assist;
    size_t nassist;
} dispatch_match_t;

/* What a ticket is matched on. NULL strings count as "". */
typedef struct dispatch_where {
    const char *category;
    const char *district, *street, *community;
    bool urgent; /* URGENT or VERY_URGENT */
} dispatch_where_t;

/* Check spec and build the catalogue (it copies what it needs). Errors: HL_EINVAL with err
 * holding one line that starts with where the fault is ("routes[3].unit: ...", "line 12 (lead
 * unit): ..."), HL_ENOMEM. */
int dispatch_catalogue_build(dispatch_catalogue_t **out, const catalogue_spec_t *spec, char *err,
                             size_t err_size);
/* The catalogue of cfg's routes, fallbackUnit and units (version 0). Errors as above. */
int dispatch_catalogue_create(dispatch_catalogue_t **out, const Hotline__DispatchConfig *cfg,
                              char *err, size_t err_size);
void dispatch_catalogue_destroy(dispatch_catalogue_t **self);

/* Set the edition's version and the hash of its text. */
void dispatch_catalogue_stamp(dispatch_catalogue_t *self, uint32_t version, const char *text,
                              size_t len);

void dispatch_catalogue_route(const dispatch_catalogue_t *self, const dispatch_where_t *w,
                              dispatch_match_t *out);
/* The same for a category and a district only, any urgency. */
void dispatch_catalogue_match(const dispatch_catalogue_t *self, const char *category,
                              const char *district, dispatch_match_t *out);

/* The unit's display name, or NULL when the catalogue does not name it anywhere (neither in
 * units, nor in a rule, nor as the fallback). For a unit with no entry in units the name is
 * its id. */
const char *dispatch_catalogue_unit_name(const dispatch_catalogue_t *self, const char *unit);

/* The unit's parent ("" when it has none, NULL when the catalogue does not list it). */
const char *dispatch_catalogue_parent(const dispatch_catalogue_t *self, const char *unit);

/* URGENT and VERY_URGENT take urgent-only rules. */
bool dispatch_urgent(Hotline__Urgency u);

/* Write a refusal into err; returns HL_EINVAL. */
int dispatch_catalogue_fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A plain token: 1..DISPATCH_UNIT_ID_MAX of letters, digits, '-', '_', '.'. */
bool dispatch_unit_id_ok(const char *id);

/* ---- dispatch_catalogue_text.c ---- */

/* Parse a catalogue file (len bytes, UTF-8) and build it. Errors: HL_EINVAL with err naming
 * the line and the rule ("line 12 (lead unit): unit 'x' is not declared; ..."), HL_ENOMEM. */
int dispatch_catalogue_parse(dispatch_catalogue_t **out, const char *text, size_t len,
                             char *err, size_t err_size);
/* The catalogue as a file that parses back to the same rules. Caller frees; NULL on ENOMEM. */
char *dispatch_catalogue_render(const dispatch_catalogue_t *self);
/* The catalogue as JSON for GET /v1/catalogue. New reference; NULL on ENOMEM. */
json_t *dispatch_catalogue_json(const dispatch_catalogue_t *self);
/* What changes from old to new, as JSON: {"from", "unitsAdded", "unitsRemoved",
 * "unitsRenamed", "rulesAdded", "rulesRemoved", "rulesChanged", "same"}; rules are matched by
 * their condition (category, area, urgency). New reference; NULL on ENOMEM. */
json_t *dispatch_catalogue_diff(const dispatch_catalogue_t *old, const dispatch_catalogue_t *new);

#endif
