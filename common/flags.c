#include "common/flags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read one "<number><unit>" term of a Go duration at *s into milliseconds. */
static int
duration_term(const char **s, double *ms)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1},
                 {"s", 1e3},   {"m", 60e3},  {"h", 3600e3}};
    char *end;
    double v;

    if (!((**s >= '0' && **s <= '9') || **s == '.'))
        return -1;
    errno = 0;
    v = strtod(*s, &end);
    if (end == *s || errno != 0)
        return -1;
    for (size_t i = 0; i < SC_ARRAY_LEN(units); i++) {
        size_t n = strlen(units[i].unit);
        /* "m" must not swallow the "m" of "ms": longer units come first. */
        if (strncmp(end, units[i].unit, n) == 0) {
            *ms = v * units[i].ms;
            *s = end + n;
            return 0;
        }
    }
    return -1; /* Go requires a unit */
}

int
flags_parse_duration(const char *s, int64_t *out_ms)
{
    double total = 0;
    int neg = 0;

    if (s == NULL || *s == '\0')
        return -1;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *out_ms = 0;
        return 0;
    }
    if (*s == '\0')
        return -1;
    while (*s != '\0') {
        double ms;
        if (duration_term(&s, &ms) != 0)
            return -1;
        total += ms;
        if (total > 9.2e15)
            return -1;
    }
    *out_ms = (int64_t)floor(total) * (neg ? -1 : 1);
    return 0;
}

static int
parse_bool(const char *v, bool *out)
{
    static const char *t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *f[] = {"0", "f", "F", "FALSE", "false", "False"};
    size_t i;

    for (i = 0; i < SC_ARRAY_LEN(t); i++) {
        if (strcmp(v, t[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(v, f[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int
set_value(const struct flag *f, const char *v)
{
    char *end;

    switch (f->type) {
    case FLAG_BOOL:
        return parse_bool(v, f->value);
    case FLAG_INT: {
        long n;
        errno = 0;
        n = strtol(v, &end, 0);
        if (errno != 0 || *v == '\0' || *end != '\0' || n < -2147483647L || n > 2147483647L)
            return -1;
        *(int *)f->value = (int)n;
        return 0;
    }
    case FLAG_FLOAT: {
        double d;
        errno = 0;
        d = strtod(v, &end);
        if (errno != 0 || *v == '\0' || *end != '\0' || !isfinite(d))
            return -1;
        *(double *)f->value = d;
        return 0;
    }
    case FLAG_STRING:
        *(const char **)f->value = v;
        return 0;
    case FLAG_DURATION:
        return flags_parse_duration(v, f->value);
    }
    return -1;
}

static const struct flag *
find_flag(const struct flag *tab, size_t n, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strlen(tab[i].name) == len && strncmp(tab[i].name, name, len) == 0)
            return &tab[i];
    return NULL;
}

/* Apply one "-name[=value]" argument at argv[*i] (may consume the next one). */
static int
parse_one(const struct flag *tab, size_t n, int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *a = argv[*i], *name, *eq, *val;
    const struct flag *f = NULL;
    size_t len;

    name = a[1] == '-' ? a + 2 : a + 1;
    if (*name == '\0' || *name == '-' || *name == '=') {
        snprintf(err, errlen, "bad flag syntax: %s", a);
        return FLAGS_ERROR;
    }
    eq = strchr(name, '=');
    len = eq ? (size_t)(eq - name) : strlen(name);
    f = find_flag(tab, n, name, len);
    if (f == NULL) {
        if ((len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0))
            return FLAGS_HELP;
        snprintf(err, errlen, "flag provided but not defined: -%.*s", (int)len, name);
        return FLAGS_ERROR;
    }
    if (eq != NULL) {
        val = eq + 1;
    } else if (f->type == FLAG_BOOL) {
        val = "true";
    } else if (*i + 1 < argc) {
        val = argv[++*i];
    } else {
        snprintf(err, errlen, "flag needs an argument: -%s", f->name);
        return FLAGS_ERROR;
    }
    if (set_value(f, val) != 0) {
        snprintf(err, errlen, "invalid value \"%s\" for flag -%s", val, f->name);
        return FLAGS_ERROR;
    }
    return FLAGS_OK;
}

int
flags_parse(const struct flag *tab, size_t n, int argc, char **argv, char *err, size_t errlen)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        rc = parse_one(tab, n, argc, argv, &i, err, errlen);
        if (rc != FLAGS_OK)
            return rc;
    }
    if (i < argc) {
        snprintf(err, errlen, "unexpected argument: %s", argv[i]);
        return FLAGS_ERROR;
    }
    return FLAGS_OK;
}

void
flags_usage(const struct flag *tab, size_t n, const char *prog, void *stream)
{
    FILE *fp = stream;
    size_t i;

    fprintf(fp, "Usage of %s:\n", prog);
    for (i = 0; i < n; i++) {
        const struct flag *f = &tab[i];
        static const char *tn[] = {"", " int", " float", " string", " duration"};
        fprintf(fp, "  --%s%s\n    \t%s", f->name, tn[f->type], f->usage);
        switch (f->type) {
        case FLAG_BOOL:
            fprintf(fp, " (default %s)", *(bool *)f->value ? "true" : "false");
            break;
        case FLAG_INT:
            fprintf(fp, " (default %d)", *(int *)f->value);
            break;
        case FLAG_FLOAT:
            fprintf(fp, " (default %g)", *(double *)f->value);
            break;
        case FLAG_STRING:
            if (*(const char **)f->value != NULL && **(const char **)f->value != '\0')
                fprintf(fp, " (default \"%s\")", *(const char **)f->value);
            break;
        case FLAG_DURATION:
            fprintf(fp, " (default %lldms)", (long long)*(int64_t *)f->value);
            break;
        }
        fputc('\n', fp);
    }
}
