/* cli_catalogue: hotline catalogue show | diff FILE | load FILE, the routing catalogue that
 * dispatch routes every ticket by (docs/operations.md, "The routing catalogue"). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (1024 * 1024)

char *cli_read_file(const cli_t *cli, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot read %s: %s\n", cli->cmd, path, strerror(errno));
        return NULL;
    }
    char *text = malloc(FILE_MAX + 2);
    size_t n = text ? fread(text, 1, FILE_MAX + 1, f) : 0;
    bool bad = !text || ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad || n > FILE_MAX) {
        fprintf(stderr, "%s: %s: %s\n", cli->cmd, path,
                bad ? "cannot read it" : "larger than 1 MiB");
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

int cli_no_operands(cli_t *cli, int argc, char **argv, int want)
{
    int c;
    while ((c = cli_getopt(cli, argc, argv, NULL)) >= 0)
        ;
    if (c != CLI_OPT_END)
        return cli_opt_exit(c);
    if (argc - optind != want)
        return cli_usage_error(cli, want ? "needs exactly one FILE (- for standard input)"
                                         : "takes no arguments");
    return -1;
}

static int show(cli_t *cli, int argc, char **argv)
{
    int rc = cli_no_operands(cli, argc, argv, 0);
    if (rc >= 0)
        return rc;
    json_t *ans;
    int status = cli_http(cli, SVC_DISPATCH, "GET", "/v1/catalogue", NULL, &ans);
    rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK) {
        if (cli->json)
            cli_print_json(ans);
        else
            fputs(json_string_value(json_object_get(ans, "text")), stdout);
    }
    json_decref(ans);
    return rc;
}

static void print_list(const char *mark, json_t *list)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v))
            printf("%s %s\n", mark, json_string_value(v));
        else if (json_object_get(v, "id"))
            printf("%s unit %s: \"%s\" -> \"%s\"\n", mark,
                   json_string_value(json_object_get(v, "id")),
                   json_string_value(json_object_get(v, "from")),
                   json_string_value(json_object_get(v, "to")));
        else
            printf("%s %s\n    (was %s)\n", mark, json_string_value(json_object_get(v, "to")),
                   json_string_value(json_object_get(v, "from")));
    }
}

/* diff and load: post the file; load prints the edition, diff what would change. */
static int post_file(cli_t *cli, int argc, char **argv, bool load)
{
    int rc = cli_no_operands(cli, argc, argv, 1);
    if (rc >= 0)
        return rc;
    char *text = cli_read_file(cli, argv[optind]);
    if (!text)
        return CLI_USAGE;
    json_t *body = json_pack("{s:s}", "text", text), *ans;
    free(text);
    if (!body) {
        fprintf(stderr, "%s: %s is not UTF-8 text\n", cli->cmd, argv[optind]);
        return CLI_USAGE;
    }
    int status = cli_http(cli, SVC_DISPATCH, "POST", load ? "/v1/catalogue" : "/v1/catalogue/diff",
                          body, &ans);
    json_decref(body);
    rc = cli_finish(cli, status, ans);
    if (rc == CLI_OK && cli->json) {
        cli_print_json(ans);
    } else if (rc == CLI_OK && load) {
        json_t *r = json_object_get(ans, "catalogue");
        printf("catalogue edition %lld in use (%s): %lld rules, %lld units\n",
               json_integer_value(json_object_get(r, "version")),
               json_string_value(json_object_get(r, "label")) ?: "no label",
               json_integer_value(json_object_get(r, "rules")),
               json_integer_value(json_object_get(r, "units")));
    } else if (rc == CLI_OK) {
        printf("against edition %lld in use: %lld rules unchanged\n",
               json_integer_value(json_object_get(ans, "from")),
               json_integer_value(json_object_get(ans, "rulesSame")));
        print_list("+", json_object_get(ans, "rulesAdded"));
        print_list("-", json_object_get(ans, "rulesRemoved"));
        print_list("~", json_object_get(ans, "rulesChanged"));
        print_list("+ unit", json_object_get(ans, "unitsAdded"));
        print_list("- unit", json_object_get(ans, "unitsRemoved"));
        print_list("~", json_object_get(ans, "unitsRenamed"));
        json_t *fb = json_object_get(ans, "fallbackChanged");
        if (fb)
            printf("~ fallback %s -> %s\n", json_string_value(json_object_get(fb, "from")),
                   json_string_value(json_object_get(fb, "to")));
    }
    json_decref(ans);
    return rc;
}

static int diff(cli_t *cli, int argc, char **argv)
{
    return post_file(cli, argc, argv, false);
}

static int load(cli_t *cli, int argc, char **argv)
{
    return post_file(cli, argc, argv, true);
}

const cli_verb_t cli_catalogue_verbs[] = {
    {"show", show, NULL, "catalogue show [--json]",
     "the edition in use, as a file to edit (with --json: its rules as JSON)", NULL},
    {"diff", diff, NULL, "catalogue diff FILE",
     "what loading FILE would change: rules added, removed and changed, units; a file that\n"
     "breaks a rule is refused naming the line. Nothing is stored",
     NULL},
    {"load", load, NULL, "catalogue load FILE",
     "check FILE and make it the edition every ticket dispatched from now on is routed by\n"
     "(no restart; supervisor or admin token)",
     NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
