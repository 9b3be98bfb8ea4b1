/* dispatch_route: the routing catalogue (派单目录): category prefix x district -> unit.
 *
 * Built once at start from the configuration, checked as it is built so that a bad catalogue
 * stops start-up with a message naming the key, then only read. The catalogue is small
 * (tens to a few hundred rows), so matching is a linear scan: cheaper than any index at that
 * size and obviously right. Loop thread (read-only after creation). */
#include "dispatch.h"

#include "category.h"

#include "arena.h"
#include "hl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX_MAX 16          /* as Ticket.category_code */
#define DISTRICT_MAX_BYTES 800 /* Location.district: 200 characters of up to 4 bytes */
#define UNIT_NAME_MAX_BYTES 400

typedef struct route {
    const char *prefix; /* "" = any category */
    size_t prefix_len;
    const char *district; /* "" = any district */
    const char *unit;
    const char *text; /* "W04 in Gulou -> repair-crew-north" */
} route_t;

typedef struct unit_entry {
    const char *id;
    const char *name;
} unit_entry_t;

struct dispatch_catalogue {
    arena_t *arena; /* every string and array below */
    route_t *routes;
    size_t nroutes;
    unit_entry_t *units; /* as configured; empty = unit ids are not checked against a list */
    size_t nunits;
    const char *fallback;
    const char *fallback_text;
};

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive comparisons that do not depend on the locale (district names are
 * often not ASCII; their other bytes compare exactly). */
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

static int fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return HL_EINVAL;
}

/* Unit ids go into URLs (/v1/units/{unit}/tickets), metric labels, actor names
 * ("unit:<id>") and index keys, so they are kept to a plain token. */
static bool unit_id_ok(const char *id)
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
    if (!unit_id_ok(id))
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
    return n == 0 || (n <= PREFIX_MAX && category_prefix_valid(p));
}

static const unit_entry_t *find_unit(const dispatch_catalogue_t *self, const char *id)
{
    for (size_t i = 0; i < self->nunits; i++)
        if (strcmp(self->units[i].id, id) == 0)
            return &self->units[i];
    return NULL;
}

static int build_units(dispatch_catalogue_t *self, const Hotline__DispatchConfig *cfg, char *err,
                       size_t err_size)
{
    self->units = arena_calloc(self->arena, (cfg->n_units + 1) * sizeof *self->units);
    if (!self->units)
        return HL_ENOMEM;
    for (size_t i = 0; i < cfg->n_units; i++) {
        const Hotline__Unit *u = cfg->units[i];
        char key[48];
        snprintf(key, sizeof key, "units[%zu].id", i);
        const char *id = str_or_empty(u->id);
        int rc = check_unit_id(key, id, err, err_size);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(self->units[j].id, id) == 0)
                return fail(err, err_size,
                            "%s: '%s' is listed twice (also units[%zu]); "
                            "keep one entry per unit",
                            key, id, j);
        const char *name = str_or_empty(u->name);
        if (strlen(name) > UNIT_NAME_MAX_BYTES)
            return fail(err, err_size, "units[%zu].name: longer than %d bytes", i,
                        UNIT_NAME_MAX_BYTES);
        self->units[i].id = arena_strdup(self->arena, id);
        self->units[i].name = arena_strdup(self->arena, *name ? name : id);
        if (!self->units[i].id || !self->units[i].name)
            return HL_ENOMEM;
        self->nunits = i + 1;
    }
    return 0;
}

/* A route's unit (or the fallback) must be one of units, when units are given. */
static int check_listed(const dispatch_catalogue_t *self, const char *key, const char *id,
                        char *err, size_t err_size)
{
    if (self->nunits == 0 || find_unit(self, id))
        return 0;
    return fail(err, err_size,
                "%s: unit '%s' is not in units; add {\"id\": \"%s\", \"name\": "
                "...} to units, or name a listed unit",
                key, id, id);
}

static int build_routes(dispatch_catalogue_t *self, const Hotline__DispatchConfig *cfg, char *err,
                        size_t err_size)
{
    self->routes = arena_calloc(self->arena, (cfg->n_routes + 1) * sizeof *self->routes);
    if (!self->routes)
        return HL_ENOMEM;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const Hotline__Route *r = cfg->routes[i];
        const char *prefix = str_or_empty(r->category_prefix);
        const char *district = str_or_empty(r->district);
        const char *unit = str_or_empty(r->unit);
        char key[48];
        if (!prefix_ok(prefix))
            return fail(err, err_size,
                        "routes[%zu].categoryPrefix: '%.40s' is not a category "
                        "prefix: one capital letter then digits, at most %d characters (W04, "
                        "W0402), or \"\" for any category",
                        i, prefix, PREFIX_MAX);
        if (strlen(district) > DISTRICT_MAX_BYTES)
            return fail(err, err_size, "routes[%zu].district: longer than %d bytes", i,
                        DISTRICT_MAX_BYTES);
        snprintf(key, sizeof key, "routes[%zu].unit", i);
        int rc = check_unit_id(key, unit, err, err_size);
        if (!rc)
            rc = check_listed(self, key, unit, err, err_size);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++) {
            const route_t *o = &self->routes[j];
            if (eq_fold(o->prefix, prefix) && eq_fold(o->district, district))
                return fail(err, err_size,
                            "routes[%zu]: same categoryPrefix '%s' and district "
                            "'%s' as routes[%zu], so a ticket could go either way; remove one",
                            i, prefix, district, j);
        }
        route_t *dst = &self->routes[i];
        dst->prefix = arena_strdup(self->arena, prefix);
        dst->prefix_len = strlen(prefix);
        dst->district = arena_strdup(self->arena, district);
        dst->unit = arena_strdup(self->arena, unit);
        dst->text = arena_printf(self->arena, "%s%s%s -> %s", *prefix ? prefix : "any category",
                                 *district ? " in " : "", district, unit);
        if (!dst->prefix || !dst->district || !dst->unit || !dst->text)
            return HL_ENOMEM;
        self->nroutes = i + 1;
    }
    return 0;
}

int dispatch_catalogue_create(dispatch_catalogue_t **out, const Hotline__DispatchConfig *cfg,
                              char *err, size_t err_size)
{
    *out = NULL;
    dispatch_catalogue_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    int rc = arena_create(&self->arena);
    if (!rc)
        rc = build_units(self, cfg, err, err_size);
    if (!rc)
        rc = build_routes(self, cfg, err, err_size);
    if (!rc) {
        const char *fb = str_or_empty(cfg->fallback_unit);
        rc = check_unit_id("fallbackUnit", fb, err, err_size);
        if (!rc)
            rc = check_listed(self, "fallbackUnit", fb, err, err_size);
        if (!rc) {
            self->fallback = arena_strdup(self->arena, fb);
            self->fallback_text = arena_printf(self->arena, "fallback -> %s", fb);
            if (!self->fallback || !self->fallback_text)
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

void dispatch_catalogue_destroy(dispatch_catalogue_t **self)
{
    if (!self || !*self)
        return;
    arena_destroy(&(*self)->arena);
    free(*self);
    *self = NULL;
}

void dispatch_catalogue_match(const dispatch_catalogue_t *self, const char *category,
                              const char *district, dispatch_match_t *out)
{
    category = str_or_empty(category);
    district = str_or_empty(district);
    const route_t *best = NULL;
    size_t best_score = 0;
    for (size_t i = 0; i < self->nroutes; i++) {
        const route_t *r = &self->routes[i];
        if (!prefix_fold(category, r->prefix, r->prefix_len))
            continue;
        bool named = *r->district != '\0';
        if (named && !eq_fold(r->district, district))
            continue;
        /* Prefix length first, the district as the tie-breaker: W0402 anywhere beats W04 in
         * the ticket's district. +1 so that the catch-all route ("" anywhere) scores too. */
        size_t score = r->prefix_len * 2 + (named ? 1 : 0) + 1;
        if (score > best_score) {
            best = r;
            best_score = score;
            out->index = (int)i;
        }
    }
    if (best) {
        out->unit = best->unit;
        out->route = best->text;
    } else {
        out->unit = self->fallback;
        out->route = self->fallback_text;
        out->index = -1;
    }
}

const char *dispatch_catalogue_unit_name(const dispatch_catalogue_t *self, const char *unit)
{
    const unit_entry_t *u = find_unit(self, unit);
    if (u)
        return u->name;
    if (strcmp(unit, self->fallback) == 0)
        return self->fallback;
    for (size_t i = 0; i < self->nroutes; i++)
        if (strcmp(self->routes[i].unit, unit) == 0)
            return self->routes[i].unit;
    return NULL;
}
