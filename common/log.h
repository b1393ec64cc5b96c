/* common/log.h -- one line per call on stderr, written with a single write(2)
 * so threads never interleave.
 *
 * Text lines are "<RFC3339 time> <I|W|E|D> <prog> <message>"; with
 * LOG_FORMAT_JSON each line is {"ts":..,"level":..,"v":..,"prog":..,"msg":..}.
 * log_init() is called once from main() before any thread starts; the
 * settings are only read afterwards (the one tolerated global, STYLE.md 3.4).
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#include "common/compiler.h"

enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

void log_init(const char *prog, int verbosity, enum log_format format);
int log_verbosity(void);
void log_info(const char *fmt, ...) SC_PRINTF(1, 2);
void log_warn(const char *fmt, ...) SC_PRINTF(1, 2); /* appends ": strerror(errno)" */
void log_warnx(const char *fmt, ...) SC_PRINTF(1, 2);
void log_error(const char *fmt, ...) SC_PRINTF(1, 2);
void log_debug(int v, const char *fmt, ...) SC_PRINTF(2, 3); /* only if -v >= v */
_Noreturn void fatal(const char *fmt, ...) SC_PRINTF(1, 2);  /* startup only; ": strerror" */
_Noreturn void fatalx(const char *fmt, ...) SC_PRINTF(1, 2); /* startup only */

#endif
