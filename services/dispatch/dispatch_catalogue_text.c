/* dispatch_catalogue_text: the routing catalogue as a file people edit, review and diff, one
 * thing per line, fields separated by '|' (spaces around them do not matter), '#' starts a
 * comment line:
 *
 *   version  | 2026-12 rev 3                       the edition's label (optional, once)
 *   unit     | repair-crew-north | Repair crews, north (Gulou) | repair-crew   (its parent)
 *   route    | W04 | Gulou | repair-crew-north | drainage, network-works | urgent
 *   route    | W0402 | * | repair-crew-mains
 *   fallback | Gulou | dispatch-desk-north        any category in Gulou no rule covers
 *   fallback | * | dispatch-desk                  the catch-all (required, once)
 *
 * A route: category prefix (* = any) | area | lead unit (主办) [| assisting units (协办),
 * comma-separated | "urgent" for a rule only urgent tickets take]. An area is * or
 * District[/Street[/Community]]. Every unit a line names must be declared by a unit line.
 * A file that breaks a rule is refused whole, the message naming the line.
 * Loop thread (pure functions of their arguments). */
#include "dispatch_route.h"

#include "hl_error.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LABEL_MAX 200
#define MAX_FIELDS 8

#define fail dispatch_catalogue_fail

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Split line (modified) at '|' into at most MAX_FIELDS trimmed fields; returns the count,
 * MAX_FIELDS + 1 when there are more. */
static int split(char *line, char *fields[MAX_FIELDS])
{
    int n = 0;
    for (char *p = line;;) {
        char *bar = strchr(p, '|');
        if (bar)
            *bar = '\0';
        if (n == MAX_FIELDS)
            return MAX_FIELDS + 1;
        fields[n++] = trim(p);
        if (!bar)
            return n;
        p = bar + 1;
    }
}

/* * or District[/Street[/Community]], each part trimmed and not empty. */
static int parse_area(char *text, unsigned line, catalogue_rule_t *r, char *err, size_t err_size)
{
    r->district = r->street = r->community = "";
    if (strcmp(text, "*") == 0)
        return 0;
    const char **parts[3] = {&r->district, &r->street, &r->community};
    char *p = text;
    for (int i = 0; i < 3; i++) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        char *part = trim(p);
        if (!*part || strcmp(part, "*") == 0)
            return fail(err, err_size,
                        "line %u (area): '%s' is not an area: * (anywhere) or "
                        "District[/Street[/Community]], no part empty",
                        line, text);
        *parts[i] = part;
        if (!slash)
            return 0;
        p = slash + 1;
    }
    return fail(err, err_size, "line %u (area): at most District/Street/Community", line);
}

/* "a, b" -> rule's assisting units ("" and "-" are none). */
static int parse_assist(arena_t *arena, char *text, unsigned line, catalogue_rule_t *r,
                        char *err, size_t err_size)
{
    r->assist = NULL;
    r->nassist = 0;
    if (!*text || strcmp(text, "-") == 0)
        return 0;
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    if (n > CATALOGUE_ASSIST_MAX)
        return fail(err, err_size, "line %u (assisting units): at most %d", line,
                    CATALOGUE_ASSIST_MAX);
    r->assist = arena_calloc(arena, n * sizeof *r->assist);
    if (!r->assist)
        return HL_ENOMEM;
    for (char *p = text;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        r->assist[r->nassist++] = trim(p);
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

typedef struct parser {
    arena_t *arena;
    catalogue_spec_t spec;
    size_t cap_units, cap_rules;
    unsigned label_line;
} parser_t;

static void *grow(arena_t *arena, void *old, size_t *cap, size_t used, size_t size)
{
    if (used < *cap)
        return old;
    size_t cap2 = *cap ? *cap * 2 : 32;
    void *p = arena_alloc(arena, cap2 * size);
    if (p && used)
        memcpy(p, old, used * size);
    *cap = cap2;
    return p;
}

static int parse_line(parser_t *ps, char *text, unsigned line, char *err, size_t err_size)
{
    char *f[MAX_FIELDS];
    int nf = split(text, f);
    catalogue_spec_t *spec = &ps->spec;
    if (strcmp(f[0], "version") == 0) {
        if (nf != 2 || !*f[1] || strlen(f[1]) > LABEL_MAX)
            return fail(err, err_size,
                        "line %u: a version line is \"version | <label>\", the label 1 to %d "
                        "bytes",
                        line, LABEL_MAX);
        if (ps->label_line)
            return fail(err, err_size, "line %u: a second version line (the first is line %u)",
                        line, ps->label_line);
        spec->label = f[1];
        ps->label_line = line;
        return 0;
    }
    if (strcmp(f[0], "unit") == 0) {
        if (nf < 2 || nf > 4)
            return fail(err, err_size,
                        "line %u: a unit line is \"unit | <id> | <name> [| <parent unit>]\"",
                        line);
        spec->units = grow(ps->arena, spec->units, &ps->cap_units, spec->nunits,
                           sizeof *spec->units);
        if (!spec->units)
            return HL_ENOMEM;
        spec->units[spec->nunits++] =
            (catalogue_unit_t){.id = f[1], .name = nf >= 3 ? f[2] : "",
                               .parent = nf == 4 ? f[3] : "", .line = line};
        return 0;
    }
    bool route = strcmp(f[0], "route") == 0;
    if (!route && strcmp(f[0], "fallback") != 0)
        return fail(err, err_size,
                    "line %u: '%.40s' is not a kind of line: use version, unit, route or "
                    "fallback (or # for a comment)",
                    line, f[0]);
    if (route ? nf < 4 || nf > 6 : nf != 3)
        return fail(err, err_size,
                    route ? "line %u: a route line is \"route | <category or *> | <area or *> | "
                            "<lead unit> [| <assisting units, comma-separated> [| urgent]]\""
                          : "line %u: a fallback line is \"fallback | <area or *> | <unit>\"",
                    line);
    catalogue_rule_t r = {.line = line, .prefix = ""};
    if (!route && strcmp(f[1], "*") == 0) {
        if (spec->fallback)
            return fail(err, err_size,
                        "line %u: a second catch-all \"fallback | * | ...\" (the first is line "
                        "%u); keep one",
                        line, spec->fallback_line);
        spec->fallback = f[2];
        spec->fallback_line = line;
        return 0;
    }
    int rc;
    if (route) {
        r.prefix = strcmp(f[1], "*") == 0 ? "" : f[1];
        if (!*f[1])
            return fail(err, err_size, "line %u (category): empty; use * for any category",
                        line);
        r.unit = f[3];
        rc = parse_area(f[2], line, &r, err, err_size);
        if (!rc && nf >= 5)
            rc = parse_assist(ps->arena, f[4], line, &r, err, err_size);
        if (!rc && nf == 6) {
            if (strcmp(f[5], "urgent") == 0)
                r.urgent_only = true;
            else if (*f[5] && strcmp(f[5], "any") != 0)
                return fail(err, err_size,
                            "line %u (options): '%.40s' is not an option: \"urgent\" (only "
                            "urgent tickets take this rule) or nothing",
                            line, f[5]);
        }
    } else {
        r.unit = f[2];
        rc = parse_area(f[1], line, &r, err, err_size);
    }
    if (rc)
        return rc;
    spec->rules = grow(ps->arena, spec->rules, &ps->cap_rules, spec->nrules, sizeof *spec->rules);
    if (!spec->rules)
        return HL_ENOMEM;
    spec->rules[spec->nrules++] = r;
    return 0;
}

int dispatch_catalogue_parse(dispatch_catalogue_t **out, const char *text, size_t len,
                             char *err, size_t err_size)
{
    *out = NULL;
    if (len > CATALOGUE_TEXT_MAX)
        return fail(err, err_size, "file: %zu bytes; at most %d", len, CATALOGUE_TEXT_MAX);
    if (!utf8_valid(text, len) || memchr(text, '\0', len))
        return fail(err, err_size, "file: not UTF-8 text");
    parser_t ps = {.spec = {.from_text = true}};
    int rc = arena_create(&ps.arena);
    if (rc)
        return rc;
    char *copy = arena_strndup(ps.arena, text, len);
    rc = copy ? 0 : HL_ENOMEM;
    unsigned line = 0;
    for (char *p = copy; !rc && p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line++;
        char *t = trim(p);
        if (*t && *t != '#')
            rc = parse_line(&ps, t, line, err, err_size);
        p = nl ? nl + 1 : NULL;
    }
    if (!rc && ps.spec.nunits == 0)
        rc = fail(err, err_size,
                  "file: no unit lines; declare every unit (\"unit | <id> | <name>\") that the "
                  "rules name");
    if (!rc)
        rc = dispatch_catalogue_build(out, &ps.spec, err, err_size);
    if (rc == HL_ENOMEM)
        fail(err, err_size, "out of memory reading the catalogue");
    arena_destroy(&ps.arena);
    return rc;
}

/* ---- rendering ---------------------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    bool oom;
} buf_t;

static void put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf_t *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static void put_area(buf_t *b, const catalogue_rule_t *r)
{
    if (!*r->district)
        put(b, "*");
    else if (!*r->street)
        put(b, "%s", r->district);
    else if (!*r->community)
        put(b, "%s/%s", r->district, r->street);
    else
        put(b, "%s/%s/%s", r->district, r->street, r->community);
}

char *dispatch_catalogue_render(const dispatch_catalogue_t *self)
{
    buf_t b = {.cap = 4096};
    if (!(b.p = malloc(b.cap)))
        return NULL;
    b.p[0] = '\0';
    put(&b, "# Hotline routing catalogue, edition %u. One thing per line, fields separated by |.\n"
            "#   unit     | <id> | <name> [| <parent unit: it may sub-dispatch to this one>]\n"
            "#   route    | <category prefix or *> | <area: * or District[/Street[/Community]]> "
            "| <lead unit> [| <assisting units, comma-separated> [| urgent]]\n"
            "#   fallback | <area or *> | <unit>   (what no route covers; one catch-all *)\n",
        self->version);
    if (*self->label && self->version)
        put(&b, "version | %s\n", self->label);
    put(&b, "\n");
    for (size_t i = 0; i < self->nunits; i++) {
        put(&b, "unit | %s | %s", self->units[i].id, self->units[i].name);
        if (*self->units[i].parent)
            put(&b, " | %s", self->units[i].parent);
        put(&b, "\n");
    }
    /* A catalogue from the configuration may leave units unlisted: declare the ones it names,
     * so that the file it renders loads. */
    if (self->nunits == 0) {
        for (size_t i = 0; i <= self->nrules; i++) {
            const char *u = i < self->nrules ? self->rules[i].unit : self->fallback;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = strcmp(self->rules[j].unit, u) == 0;
            if (!seen)
                put(&b, "unit | %s | %s\n", u, u);
        }
    }
    put(&b, "\n");
    for (size_t i = 0; i < self->nrules; i++) {
        const catalogue_rule_t *r = &self->rules[i];
        if (!*r->prefix && *r->district && !r->nassist && !r->urgent_only) {
            put(&b, "fallback | ");
            put_area(&b, r);
            put(&b, " | %s\n", r->unit);
            continue;
        }
        put(&b, "route | %s | ", *r->prefix ? r->prefix : "*");
        put_area(&b, r);
        put(&b, " | %s", r->unit);
        if (r->nassist || r->urgent_only) {
            put(&b, " | ");
            for (size_t k = 0; k < r->nassist; k++)
                put(&b, "%s%s", k ? ", " : "", r->assist[k]);
        }
        if (r->urgent_only)
            put(&b, " | urgent");
        put(&b, "\n");
    }
    put(&b, "fallback | * | %s\n", self->fallback);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- JSON and diff ------------------------------------------------------------------------ */

static json_t *rule_json(const catalogue_rule_t *r)
{
    json_t *o = json_object();
    json_t *assist = json_array();
    for (size_t k = 0; k < r->nassist; k++)
        json_array_append_new(assist, json_string(r->assist[k]));
    json_object_set_new(o, "categoryPrefix", json_string(r->prefix));
    if (*r->district)
        json_object_set_new(o, "district", json_string(r->district));
    if (*r->street)
        json_object_set_new(o, "street", json_string(r->street));
    if (*r->community)
        json_object_set_new(o, "community", json_string(r->community));
    json_object_set_new(o, "unit", json_string(r->unit));
    if (r->nassist)
        json_object_set_new(o, "assistingUnits", assist);
    else
        json_decref(assist);
    if (r->urgent_only)
        json_object_set_new(o, "urgentOnly", json_true());
    if (r->line)
        json_object_set_new(o, "line", json_integer(r->line));
    json_object_set_new(o, "text", json_string(r->text));
    return o;
}

json_t *dispatch_catalogue_json(const dispatch_catalogue_t *self)
{
    json_t *routes = json_array(), *units = json_array();
    for (size_t i = 0; i < self->nrules; i++)
        json_array_append_new(routes, rule_json(&self->rules[i]));
    for (size_t i = 0; i < self->nunits; i++)
        json_array_append_new(units, json_pack("{s:s, s:s, s:s*}", "id", self->units[i].id,
                                               "name", self->units[i].name, "parent",
                                               *self->units[i].parent ? self->units[i].parent
                                                                      : NULL));
    json_t *o = json_pack("{s:I, s:s, s:o, s:s, s:o}", "version", (json_int_t)self->version,
                          "label", self->label, "routes", routes, "fallbackUnit", self->fallback,
                          "units", units);
    if (o && *self->sha256)
        json_object_set_new(o, "sha256", json_string(self->sha256));
    return o;
}

static const catalogue_rule_t *find_same(const dispatch_catalogue_t *cat,
                                         const catalogue_rule_t *r)
{
    for (size_t i = 0; i < cat->nrules; i++) {
        const catalogue_rule_t *o = &cat->rules[i];
        if (strcasecmp(o->prefix, r->prefix) == 0 && strcasecmp(o->district, r->district) == 0 &&
            strcasecmp(o->street, r->street) == 0 &&
            strcasecmp(o->community, r->community) == 0 && o->urgent_only == r->urgent_only)
            return o;
    }
    return NULL;
}

static bool same_units(const catalogue_rule_t *a, const catalogue_rule_t *b)
{
    if (strcmp(a->unit, b->unit) != 0 || a->nassist != b->nassist)
        return false;
    for (size_t k = 0; k < a->nassist; k++)
        if (strcmp(a->assist[k], b->assist[k]) != 0)
            return false;
    return true;
}

static json_t *line_text(const catalogue_rule_t *r)
{
    return r->line ? json_sprintf("line %u: %s", r->line, r->text) : json_string(r->text);
}

static const catalogue_unit_t *unit_in(const dispatch_catalogue_t *cat, const char *id)
{
    for (size_t i = 0; i < cat->nunits; i++)
        if (strcmp(cat->units[i].id, id) == 0)
            return &cat->units[i];
    return NULL;
}

json_t *dispatch_catalogue_diff(const dispatch_catalogue_t *old, const dispatch_catalogue_t *new)
{
    json_t *added = json_array(), *removed = json_array(), *changed = json_array();
    json_t *uadded = json_array(), *uremoved = json_array(), *urenamed = json_array();
    size_t same = 0;
    for (size_t i = 0; i < new->nrules; i++) {
        const catalogue_rule_t *r = &new->rules[i];
        const catalogue_rule_t *o = find_same(old, r);
        if (!o)
            json_array_append_new(added, line_text(r));
        else if (!same_units(o, r))
            json_array_append_new(changed,
                                  json_pack("{s:s, s:o}", "from", o->text, "to", line_text(r)));
        else
            same++;
    }
    for (size_t i = 0; i < old->nrules; i++)
        if (!find_same(new, &old->rules[i]))
            json_array_append_new(removed, json_string(old->rules[i].text));
    for (size_t i = 0; i < new->nunits; i++) {
        const catalogue_unit_t *u = &new->units[i], *o = unit_in(old, u->id);
        if (!o)
            json_array_append_new(uadded, json_sprintf("line %u: %s (%s)", u->line, u->id, u->name));
        else if (strcmp(o->name, u->name) != 0)
            json_array_append_new(urenamed, json_pack("{s:s, s:s, s:s}", "id", u->id, "from",
                                                      o->name, "to", u->name));
    }
    for (size_t i = 0; i < old->nunits; i++)
        if (!unit_in(new, old->units[i].id))
            json_array_append_new(uremoved, json_string(old->units[i].id));
    json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "from",
                          (json_int_t)old->version, "rulesAdded", added, "rulesRemoved", removed,
                          "rulesChanged", changed, "unitsAdded", uadded, "unitsRemoved", uremoved,
                          "unitsRenamed", urenamed, "rulesSame", (json_int_t)same);
    if (o && strcmp(old->fallback, new->fallback) != 0)
        json_object_set_new(o, "fallbackChanged",
                            json_pack("{s:s, s:s}", "from", old->fallback, "to", new->fallback));
    return o;
}
