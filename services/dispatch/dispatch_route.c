/* dispatch_route: the routing catalogue (派单目录): category prefix x area (district / street /
 * community) x urgency -> a lead unit (主办) and assisting units (协办); no rule -> the
 * fallback unit (the dispatch desk).
 *
 * A catalogue is built from rules, checked as it is built so that a bad one is refused with a
 * message naming where the rule came from: the configuration's key ("routes[3].unit: ...") or
 * the line of a catalogue file ("line 12: ..."; dispatch_catalogue_text.c parses files). Once
 * built it is only read; a new edition replaces it whole (dispatch_catalogue.c). A catalogue
 * is small (tens to a few thousand rules), so matching is a linear scan: cheaper than any
 * index at that size and obviously right. Loop thread (read-only after creation). */
#include "dispatch_route.h"

#include "category.h"

#include "arena.h"
#include "hl_error.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive comparisons that do not depend on the locale (area names are often
 * not ASCII; their other bytes compare exactly). */
static bool eq_fold(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (fold(*a) != fold(*b))
            return false;
    return *a == *b;
}

static bool prefix_fold(const char *s, const char *prefix, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!s[i] || fold(s[i]) != fold(prefix[i]))
            return false;
    return true;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

#define fail dispatch_catalogue_fail

int dispatch_catalogue_fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return HL_EINVAL;
}

/* Where a rule or unit came from, for messages: "routes[3].unit" or "line 12 (lead unit)". */
static const char *where(const catalogue_spec_t *spec, char *buf, size_t size, bool unit_list,
                         size_t i, const char *field, const char *text_field)
{
    unsigned line = unit_list ? spec->units[i].line : spec->rules[i].line;
    if (spec->from_text)
        snprintf(buf, size, "line %u%s%s%s", line, *text_field ? " (" : "", text_field,
                 *text_field ? ")" : "");
    else
        snprintf(buf, size, "%s[%zu]%s%s", unit_list ? "units" : "routes", i, *field ? "." : "",
                 field);
    return buf;
}

/* Unit ids go into URLs (/v1/units/{unit}/tickets), metric labels, actor names
 * ("unit:<id>") and index keys, so they are kept to a plain token. */
bool dispatch_unit_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > DISPATCH_UNIT_ID_MAX)
        return false;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static int check_unit_id(const char *key, const char *id, char *err, size_t err_size)
{
    if (!*id)
        return fail(err, err_size, "%s: a unit id is required (e.g. \"repair-crew\")", key);
    if (!dispatch_unit_id_ok(id))
        return fail(err, err_size,
                    "%s: '%.80s' is not a unit id: 1 to %d characters of "
                    "letters, digits, '-', '_' and '.'",
                    key, id, DISPATCH_UNIT_ID_MAX);
    return 0;
}

/* "" (any category) or one capital letter and digits: W, W04, W0402. */
static bool prefix_ok(const char *p)
{
    size_t n = strlen(p);
    return n == 0 || (n <= CATALOGUE_PREFIX_MAX && category_prefix_valid(p));
}

static const catalogue_unit_t *find_unit(const dispatch_catalogue_t *self, const char *id)
{
    for (size_t i = 0; i < self->nunits; i++)
        if (strcmp(self->units[i].id, id) == 0)
            return &self->units[i];
    return NULL;
}

/* Every parent is a listed unit, and following parents never comes back to a unit. */
static int check_parents(dispatch_catalogue_t *self, const catalogue_spec_t *spec, char *err,
                         size_t err_size)
{
    for (size_t i = 0; i < self->nunits; i++) {
        const catalogue_unit_t *u = &self->units[i];
        if (!*u->parent)
            continue;
        char key[64];
        where(spec, key, sizeof key, true, i, "parent", "parent unit");
        const catalogue_unit_t *p = find_unit(self, u->parent);
        if (!p)
            return fail(err, err_size, "%s: '%s' is not %s unit", key, u->parent,
                        spec->from_text ? "a declared" : "a listed");
        for (size_t depth = 0; p; depth++) {
            if (p == u || depth > self->nunits)
                return fail(err, err_size,
                            "%s: '%s' reports, through its parents, to unit '%s' itself", key,
                            u->parent, u->id);
            p = *p->parent ? find_unit(self, p->parent) : NULL;
        }
    }
    return 0;
}

static int build_units(dispatch_catalogue_t *self, const catalogue_spec_t *spec, char *err,
                       size_t err_size)
{
    self->units = arena_calloc(self->arena, (spec->nunits + 1) * sizeof *self->units);
    if (!self->units)
        return HL_ENOMEM;
    for (size_t i = 0; i < spec->nunits; i++) {
        const catalogue_unit_t *u = &spec->units[i];
        char key[64];
        where(spec, key, sizeof key, true, i, "id", "unit id");
        const char *id = str_or_empty(u->id);
        int rc = check_unit_id(key, id, err, err_size);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(self->units[j].id, id) == 0) {
                char other[64];
                return fail(err, err_size,
                            "%s: '%s' is listed twice (also %s); keep one entry per unit", key,
                            id, where(spec, other, sizeof other, true, j, "", ""));
            }
        const char *name = str_or_empty(u->name);
        if (strlen(name) > CATALOGUE_UNIT_NAME_MAX)
            return fail(err, err_size, "%s: longer than %d bytes",
                        where(spec, key, sizeof key, true, i, "name", "unit name"),
                        CATALOGUE_UNIT_NAME_MAX);
        self->units[i].id = arena_strdup(self->arena, id);
        self->units[i].name = arena_strdup(self->arena, *name ? name : id);
        self->units[i].line = u->line;
        self->units[i].parent = arena_strdup(self->arena, u->parent ? u->parent : "");
        if (!self->units[i].id || !self->units[i].name || !self->units[i].parent)
            return HL_ENOMEM;
        self->nunits = i + 1;
    }
    return check_parents(self, spec, err, err_size);
}

/* A rule's unit (or the fallback) must be one of units, when units are given (a catalogue file
 * always gives them). */
static int check_listed(const dispatch_catalogue_t *self, const catalogue_spec_t *spec,
                        const char *key, const char *id, char *err, size_t err_size)
{
    if ((self->nunits == 0 && !spec->from_text) || find_unit(self, id))
        return 0;
    if (spec->from_text)
        return fail(err, err_size,
                    "%s: unit '%s' is not declared; add a line \"unit | %s | <name>\" or name a "
                    "declared unit",
                    key, id, id);
    return fail(err, err_size,
                "%s: unit '%s' is not in units; add {\"id\": \"%s\", \"name\": "
                "...} to units, or name a listed unit",
                key, id, id);
}

static int area_depth(const catalogue_rule_t *r)
{
    return *r->community ? 3 : *r->street ? 2 : *r->district ? 1 : 0;
}

static bool same_condition(const catalogue_rule_t *a, const catalogue_rule_t *b)
{
    return eq_fold(a->prefix, b->prefix) && eq_fold(a->district, b->district) &&
           eq_fold(a->street, b->street) && eq_fold(a->community, b->community) &&
           a->urgent_only == b->urgent_only;
}

/* "W04 in Gulou / Wuyi Rd, urgent -> repair-crew-north + drainage" */
static const char *rule_text(arena_t *arena, const catalogue_rule_t *r)
{
    const char *area = !*r->district   ? ""
                       : !*r->street   ? arena_printf(arena, " in %s", r->district)
                       : !*r->community ? arena_printf(arena, " in %s / %s", r->district, r->street)
                                        : arena_printf(arena, " in %s / %s / %s", r->district,
                                                       r->street, r->community);
    size_t assist_len = 0;
    for (size_t i = 0; i < r->nassist; i++)
        assist_len += strlen(r->assist[i]) + 3;
    char *assist = arena_alloc(arena, assist_len + 1);
    if (!area || !assist)
        return NULL;
    assist[0] = '\0';
    for (size_t i = 0; i < r->nassist; i++)
        strcat(strcat(assist, " + "), r->assist[i]);
    return arena_printf(arena, "%s%s%s -> %s%s", *r->prefix ? r->prefix : "any category", area,
                        r->urgent_only ? ", urgent" : "", r->unit, assist);
}

static int check_text(const char *key, const char *what, const char *s, size_t max, char *err,
                      size_t err_size)
{
    if (strlen(s) > max)
        return fail(err, err_size, "%s: %s longer than %zu bytes", key, what, max);
    if (strchr(s, '|') || strchr(s, '/') || strchr(s, '\n'))
        return fail(err, err_size,
                    "%s: %s '%.60s' has a '|', '/' or line break, which the catalogue file "
                    "uses to separate fields",
                    key, what, s);
    return 0;
}

static int build_rule(dispatch_catalogue_t *self, const catalogue_spec_t *spec, size_t i,
                      char *err, size_t err_size)
{
    const catalogue_rule_t *r = &spec->rules[i];
    char key[64];
    const char *prefix = str_or_empty(r->prefix);
    const char *district = str_or_empty(r->district);
    const char *street = str_or_empty(r->street);
    const char *community = str_or_empty(r->community);
    const char *unit = str_or_empty(r->unit);
    if (!prefix_ok(prefix))
        return fail(err, err_size,
                    "%s: '%.40s' is not a category prefix: one capital letter then digits, at "
                    "most %d characters (W04, W0402), or %s for any category",
                    where(spec, key, sizeof key, false, i, "categoryPrefix", "category"), prefix,
                    CATALOGUE_PREFIX_MAX, spec->from_text ? "*" : "\"\"");
    int rc = check_text(where(spec, key, sizeof key, false, i, "district", "area"), "district",
                        district, CATALOGUE_AREA_MAX, err, err_size);
    if (!rc)
        rc = check_text(key, "street", street, CATALOGUE_AREA_MAX, err, err_size);
    if (!rc)
        rc = check_text(key, "community", community, CATALOGUE_AREA_MAX, err, err_size);
    if (rc)
        return rc;
    if ((*street && !*district) || (*community && !*street))
        return fail(err, err_size,
                    "%s: a street needs its district and a community its street (street names "
                    "repeat across districts)",
                    where(spec, key, sizeof key, false, i, "street", "area"));
    where(spec, key, sizeof key, false, i, "unit", "lead unit");
    rc = check_unit_id(key, unit, err, err_size);
    if (!rc)
        rc = check_listed(self, spec, key, unit, err, err_size);
    if (rc)
        return rc;
    if (r->nassist > CATALOGUE_ASSIST_MAX)
        return fail(err, err_size, "%s: at most %d assisting units",
                    where(spec, key, sizeof key, false, i, "assistingUnits", "assisting units"),
                    CATALOGUE_ASSIST_MAX);
    catalogue_rule_t *dst = &self->rules[i];
    dst->assist = arena_calloc(self->arena, (r->nassist + 1) * sizeof *dst->assist);
    if (!dst->assist)
        return HL_ENOMEM;
    for (size_t k = 0; k < r->nassist; k++) {
        const char *a = str_or_empty(r->assist[k]);
        char akey[96];
        if (spec->from_text)
            snprintf(akey, sizeof akey, "line %u (assisting unit %zu)", r->line, k + 1);
        else
            snprintf(akey, sizeof akey, "routes[%zu].assistingUnits[%zu]", i, k);
        rc = check_unit_id(akey, a, err, err_size);
        if (!rc)
            rc = check_listed(self, spec, akey, a, err, err_size);
        if (rc)
            return rc;
        if (strcmp(a, unit) == 0)
            return fail(err, err_size, "%s: '%s' is the lead unit; a unit does not assist itself",
                        akey, a);
        for (size_t j = 0; j < k; j++)
            if (strcmp(dst->assist[j], a) == 0)
                return fail(err, err_size, "%s: '%s' is named twice", akey, a);
        if (!(dst->assist[k] = arena_strdup(self->arena, a)))
            return HL_ENOMEM;
    }
    dst->nassist = r->nassist;
    dst->prefix = arena_strdup(self->arena, prefix);
    dst->prefix_len = strlen(prefix);
    dst->district = arena_strdup(self->arena, district);
    dst->street = arena_strdup(self->arena, street);
    dst->community = arena_strdup(self->arena, community);
    dst->unit = arena_strdup(self->arena, unit);
    dst->urgent_only = r->urgent_only;
    dst->line = r->line;
    if (!dst->prefix || !dst->district || !dst->street || !dst->community || !dst->unit)
        return HL_ENOMEM;
    for (size_t j = 0; j < i; j++)
        if (same_condition(&self->rules[j], dst)) {
            char other[64];
            return fail(err, err_size,
                        "%s: same category, area and urgency as %s, so a ticket could go either "
                        "way; remove one",
                        where(spec, key, sizeof key, false, i, "", ""),
                        where(spec, other, sizeof other, false, j, "", ""));
        }
    if (!(dst->text = rule_text(self->arena, dst)))
        return HL_ENOMEM;
    self->nrules = i + 1;
    return 0;
}

int dispatch_catalogue_build(dispatch_catalogue_t **out, const catalogue_spec_t *spec, char *err,
                             size_t err_size)
{
    *out = NULL;
    dispatch_catalogue_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    int rc = arena_create(&self->arena);
    if (!rc)
        rc = build_units(self, spec, err, err_size);
    if (!rc && spec->nrules > CATALOGUE_RULES_MAX)
        rc = fail(err, err_size, "%s: %zu rules; at most %d", spec->from_text ? "file" : "routes",
                  spec->nrules, CATALOGUE_RULES_MAX);
    if (!rc && !(self->rules = arena_calloc(self->arena, (spec->nrules + 1) * sizeof *self->rules)))
        rc = HL_ENOMEM;
    for (size_t i = 0; !rc && i < spec->nrules; i++)
        rc = build_rule(self, spec, i, err, err_size);
    if (!rc) {
        const char *fb = str_or_empty(spec->fallback);
        char key[64];
        if (spec->from_text)
            snprintf(key, sizeof key, "line %u (fallback)", spec->fallback_line);
        else
            snprintf(key, sizeof key, "fallbackUnit");
        if (spec->from_text && !*fb)
            rc = fail(err, err_size,
                      "file: no catch-all line \"fallback | * | <unit>\": name the desk that "
                      "routes by hand what no rule covers");
        if (!rc)
            rc = check_unit_id(key, fb, err, err_size);
        if (!rc)
            rc = check_listed(self, spec, key, fb, err, err_size);
        if (!rc) {
            self->fallback = arena_strdup(self->arena, fb);
            self->fallback_text = arena_printf(self->arena, "fallback -> %s", fb);
            self->fallback_line = spec->fallback_line;
            self->label = arena_strdup(self->arena, str_or_empty(spec->label));
            if (!self->fallback || !self->fallback_text || !self->label)
                rc = HL_ENOMEM;
        }
    }
    if (rc) {
        if (rc == HL_ENOMEM)
            fail(err, err_size, "out of memory building the catalogue");
        dispatch_catalogue_destroy(&self);
        return rc;
    }
    *out = self;
    return 0;
}

/* The configuration's routes, units and fallbackUnit as a spec (borrowing cfg's strings). */
int dispatch_catalogue_create(dispatch_catalogue_t **out, const Hotline__DispatchConfig *cfg,
                              char *err, size_t err_size)
{
    catalogue_spec_t spec = {.fallback = cfg->fallback_unit, .label = "configuration"};
    spec.units = calloc(cfg->n_units + 1, sizeof *spec.units);
    spec.rules = calloc(cfg->n_routes + 1, sizeof *spec.rules);
    if (!spec.units || !spec.rules) {
        free(spec.units);
        free(spec.rules);
        fail(err, err_size, "out of memory building the catalogue");
        return HL_ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_units; i++)
        spec.units[i] = (catalogue_unit_t){.id = cfg->units[i]->id,
                                           .name = cfg->units[i]->name,
                                           .parent = cfg->units[i]->parent};
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const Hotline__Route *r = cfg->routes[i];
        spec.rules[i] = (catalogue_rule_t){
            .prefix = r->category_prefix,
            .district = r->district,
            .street = r->street,
            .community = r->community,
            .unit = r->unit,
            .assist = (const char **)r->assisting_units,
            .nassist = r->n_assisting_units,
            .urgent_only = r->urgent_only,
        };
    }
    spec.nunits = cfg->n_units;
    spec.nrules = cfg->n_routes;
    int rc = dispatch_catalogue_build(out, &spec, err, err_size);
    free(spec.units);
    free(spec.rules);
    return rc;
}

void dispatch_catalogue_destroy(dispatch_catalogue_t **self)
{
    if (!self || !*self)
        return;
    arena_destroy(&(*self)->arena);
    free(*self);
    *self = NULL;
}

static bool area_matches(const catalogue_rule_t *r, const dispatch_where_t *w)
{
    return (!*r->district || eq_fold(r->district, str_or_empty(w->district))) &&
           (!*r->street || eq_fold(r->street, str_or_empty(w->street))) &&
           (!*r->community || eq_fold(r->community, str_or_empty(w->community)));
}

void dispatch_catalogue_route(const dispatch_catalogue_t *self, const dispatch_where_t *w,
                              dispatch_match_t *out)
{
    const char *category = str_or_empty(w->category);
    const catalogue_rule_t *best = NULL;
    size_t best_score = 0;
    for (size_t i = 0; i < self->nrules; i++) {
        const catalogue_rule_t *r = &self->rules[i];
        if (!prefix_fold(category, r->prefix, r->prefix_len) || !area_matches(r, w) ||
            (r->urgent_only && !w->urgent))
            continue;
        /* The longest prefix first, then the narrowest area, then a rule for urgent tickets
         * over one for any: W0402 anywhere beats W04 in the ticket's street. +1 so that the
         * catch-all rule ("" anywhere) scores too. */
        size_t score = r->prefix_len * 16 + (size_t)area_depth(r) * 2 + (r->urgent_only ? 1 : 0) + 1;
        if (score > best_score) {
            best = r;
            best_score = score;
            out->index = (int)i;
        }
    }
    out->version = self->version;
    if (best) {
        out->unit = best->unit;
        out->route = best->text;
        out->line = best->line;
        out->assist = best->assist;
        out->nassist = best->nassist;
    } else {
        out->unit = self->fallback;
        out->route = self->fallback_text;
        out->line = self->fallback_line;
        out->index = -1;
        out->assist = NULL;
        out->nassist = 0;
    }
}

const char *dispatch_catalogue_parent(const dispatch_catalogue_t *self, const char *unit)
{
    const catalogue_unit_t *u = find_unit(self, unit);
    return u ? u->parent : NULL;
}

bool dispatch_urgent(Hotline__Urgency u)
{
    return u == HOTLINE__URGENCY__URGENCY_URGENT || u == HOTLINE__URGENCY__URGENCY_VERY_URGENT;
}

void dispatch_catalogue_match(const dispatch_catalogue_t *self, const char *category,
                              const char *district, dispatch_match_t *out)
{
    dispatch_where_t w = {.category = category, .district = district};
    dispatch_catalogue_route(self, &w, out);
}

const char *dispatch_catalogue_unit_name(const dispatch_catalogue_t *self, const char *unit)
{
    const catalogue_unit_t *u = find_unit(self, unit);
    if (u)
        return u->name;
    if (strcmp(unit, self->fallback) == 0)
        return self->fallback;
    for (size_t i = 0; i < self->nrules; i++)
        if (strcmp(self->rules[i].unit, unit) == 0)
            return self->rules[i].unit;
    return NULL;
}

void dispatch_catalogue_stamp(dispatch_catalogue_t *self, uint32_t version, const char *text,
                              size_t len)
{
    self->version = version;
    uint8_t hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const uint8_t *)text, len);
    sodium_bin2hex(self->sha256, sizeof self->sha256, hash, sizeof hash);
}
