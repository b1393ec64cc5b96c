/* common/flags.h -- Go `flag`-package compatible command-line parsing.
 *
 * Semantics follow upstream's binaries: "-x" and "--x" are the same flag;
 * a value is given as "--x=v" or "--x v"; a bool takes a value only with
 * "=" ("--leader-election=false"); "--" ends the flags.  An unknown flag or
 * a bad value is an error (the caller exits 2, as Go's flag package does).
 * Durations use Go syntax ("1h2m3.5s", "300ms", "10us").
 *
 * The table is caller-owned; string flags point into argv (borrowed) or at
 * the default the caller set.
 */
#ifndef SC_FLAGS_H
#define SC_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

enum flag_type { FLAG_BOOL, FLAG_INT, FLAG_FLOAT, FLAG_STRING, FLAG_DURATION };

struct flag {
    const char *name;
    enum flag_type type;
    void *value; /* bool *, int *, double *, const char **, int64_t * (milliseconds) */
    const char *usage;
};

enum flags_result {
    FLAGS_OK = 0,
    FLAGS_HELP = 1,   /* -h/--help/-help seen: print usage, exit 0 */
    FLAGS_ERROR = -1, /* message in err: print it and usage, exit 2 */
};

/* Parse argv[1..]; positional arguments are an error.  err gets a message
 * such as "flag provided but not defined: -foo". */
SC_MUST_CHECK int flags_parse(const struct flag *tab, size_t n, int argc, char **argv, char *err,
                              size_t errlen);

/* Parse a Go duration into milliseconds (sub-millisecond parts truncate;
 * "0" is allowed); -1 on error. */
int flags_parse_duration(const char *s, int64_t *out_ms);

/* Print "  --name type\n    usage (default ...)" lines for the table. */
void flags_usage(const struct flag *tab, size_t n, const char *prog, void *stream);

#endif
