/* auth: roles parse and print, tokens are random and checked by hash only, the registry
 * refuses bad records naming the field, and expiry / revocation are told apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "auth.h"
#include "hl_error.h"
#include "unit.h"

#include <sodium.h>
#include <sys/stat.h>

static void test_roles(void **state)
{
    (void)state;
    Hotline__Role role;
    char subject[AUTH_NAME_MAX + 1], err[256];
    assert_int_equal(auth_role_parse("operator", &role, subject, err, sizeof err), 0);
    assert_int_equal(role, HOTLINE__ROLE__ROLE_OPERATOR);
    assert_string_equal(subject, "");
    assert_int_equal(auth_role_parse("unit:water-supply", &role, subject, err, sizeof err), 0);
    assert_int_equal(role, HOTLINE__ROLE__ROLE_UNIT);
    assert_string_equal(subject, "water-supply");
    assert_int_equal(auth_role_parse("unit", &role, subject, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "unit:<id>"));
    assert_int_equal(auth_role_parse("admin:x", &role, subject, err, sizeof err), HL_EINVAL);
    assert_int_equal(auth_role_parse("root", &role, subject, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "callback-agent"));
    assert_int_equal(auth_role_parse("unit:a/b", &role, subject, err, sizeof err), HL_EINVAL);

    auth_principal_t p = {.role = HOTLINE__ROLE__ROLE_UNIT};
    snprintf(p.subject, sizeof p.subject, "billing");
    char text[80];
    auth_principal_format(&p, text, sizeof text);
    assert_string_equal(text, "unit:billing");
    assert_true(auth_allows(AUTH_UNIT | AUTH_OPERATOR, &p));
    assert_false(auth_allows(AUTH_OPERATOR | AUTH_ADMIN, &p));
    assert_true(auth_allows(AUTH_PUBLIC, &p));
    auth_principal_t nobody = {0};
    assert_false(auth_allows(AUTH_ANY_ROLE, &nobody));
    assert_true(auth_allows(AUTH_PUBLIC, &nobody));
    auth_roles_describe(AUTH_OPERATOR | AUTH_UNIT | AUTH_ADMIN, text, sizeof text);
    assert_string_equal(text, "operator, unit:<id> or admin");
}

static Hotline__TokenRecord *record(const char *name, Hotline__Role role, const char *subject,
                                    const uint8_t hash[AUTH_HASH_BYTES])
{
    Hotline__TokenRecord *r = calloc(1, sizeof *r);
    hotline__token_record__init(r);
    r->name = strdup(name);
    r->role = role;
    r->subject = strdup(subject);
    r->hash = malloc(2 * AUTH_HASH_BYTES + 1);
    sodium_bin2hex(r->hash, 2 * AUTH_HASH_BYTES + 1, hash, AUTH_HASH_BYTES);
    r->id = strdup(name);
    return r;
}

static void test_registry(void **state)
{
    (void)state;
    char *dir = unit_tmpdir();
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/tokens.json", dir);
    char t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1], t3[AUTH_TOKEN_LEN + 1];
    uint8_t h1[AUTH_HASH_BYTES], h2[AUTH_HASH_BYTES], h3[AUTH_HASH_BYTES];
    auth_token_new(t1, h1);
    auth_token_new(t2, h2);
    auth_token_new(t3, h3);
    assert_int_equal(strlen(t1), AUTH_TOKEN_LEN);
    assert_memory_equal(t1, "hlt_", 4);
    assert_string_not_equal(t1, t2);

    Hotline__TokenRegistry reg = HOTLINE__TOKEN_REGISTRY__INIT;
    Hotline__TokenRecord *recs[3] = {
        record("desk-1", HOTLINE__ROLE__ROLE_OPERATOR, "", h1),
        record("water", HOTLINE__ROLE__ROLE_UNIT, "water-supply", h2),
        record("old", HOTLINE__ROLE__ROLE_ADMIN, "", h3),
    };
    recs[2]->revoked_ms = 1000;
    recs[1]->expires_ms = 5000;
    reg.tokens = recs;
    reg.n_tokens = 3;
    assert_int_equal(auth_registry_file_write(path, &reg, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* The file holds hashes only. */
    FILE *f = fopen(path, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_null(strstr(text, t1 + 4));

    auth_registry_t *r;
    assert_int_equal(auth_registry_load(&r, path, false, err, sizeof err), 0);
    assert_int_equal(auth_registry_count(r), 3);
    auth_principal_t p;
    int64_t when = 0;
    assert_int_equal(auth_registry_check(r, t1, strlen(t1), 0, &p, &when), AUTH_OK);
    assert_int_equal(p.role, HOTLINE__ROLE__ROLE_OPERATOR);
    assert_string_equal(p.name, "desk-1");
    assert_int_equal(auth_registry_check(r, t2, strlen(t2), 4999, &p, &when), AUTH_OK);
    assert_string_equal(p.subject, "water-supply");
    assert_int_equal(auth_registry_check(r, t2, strlen(t2), 5000, &p, &when), AUTH_EXPIRED);
    assert_int_equal(when, 5000);
    assert_int_equal(auth_registry_check(r, t3, strlen(t3), 0, &p, &when), AUTH_REVOKED);
    assert_int_equal(when, 1000);
    assert_int_equal(auth_registry_check(r, t1, strlen(t1) - 1, 0, &p, &when), AUTH_UNKNOWN);
    assert_int_equal(auth_registry_check(r, "", 0, 0, &p, &when), AUTH_MISSING);
    auth_registry_destroy(&r);
    assert_null(r);

    /* Bad records are refused, naming the field. */
    recs[1]->subject[0] = '\0';
    assert_int_equal(auth_registry_build(&r, &reg, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "tokens[1].subject"));
    recs[1]->subject[0] = 'w';
    recs[0]->hash[5] = 'x';
    assert_int_equal(auth_registry_build(&r, &reg, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "tokens[0].hash"));
    for (int i = 0; i < 3; i++)
        hotline__token_record__free_unpacked(recs[i], NULL);

    /* A file that is not a registry names the file and the field. */
    f = fopen(path, "w");
    fputs("{\"tokens\": [{\"role\": \"ROLE_KING\"}]}", f);
    fclose(f);
    assert_int_equal(auth_registry_load(&r, path, false, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "tokens[0].role"));
    /* Missing: an error, or empty when allowed. */
    snprintf(path, sizeof path, "%s/none.json", dir);
    assert_int_equal(auth_registry_load(&r, path, false, err, sizeof err), HL_ENOTFOUND);
    assert_int_equal(auth_registry_load(&r, path, true, err, sizeof err), 0);
    assert_int_equal(auth_registry_count(r), 0);
    auth_registry_destroy(&r);
    unit_tmpdir_cleanup(dir);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
