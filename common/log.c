#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"

/* Written once by log_init() before threads start; read-only afterwards. */
static struct {
    const char *prog;
    int verbosity;
    enum log_format format;
} log_cfg = {"snapshot", 0, LOG_FORMAT_TEXT};

void
log_init(const char *prog, int verbosity, enum log_format format)
{
    log_cfg.prog = prog;
    log_cfg.verbosity = verbosity;
    log_cfg.format = format;
}

int
log_verbosity(void)
{
    return log_cfg.verbosity;
}

static size_t
json_escape(char *dst, size_t cap, const char *s)
{
    size_t o = 0;

    for (; *s != '\0' && o + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", ch);
        } else {
            dst[o++] = (char)ch;
        }
    }
    dst[o] = '\0';
    return o;
}

static void
log_emit(char level, int v, int errnum, const char *fmt, va_list ap)
{
    char msg[LIM_LOG_LINE], line[LIM_LOG_LINE * 2], ts[40];
    struct timespec now = {0};
    struct tm tm = {0};
    size_t n;
    int len;

    /* The analyzer cannot see va_start in the callers' LOG_BODY. */
    len = vsnprintf(msg, sizeof(msg), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    if (len < 0)
        return;
    n = (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1;
    if (errnum != 0)
        snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%06ldZ", now.tv_nsec / 1000);
    if (log_cfg.format == LOG_FORMAT_JSON) {
        char esc[LIM_LOG_LINE];
        const char *lvl = level == 'E' ? "error" : level == 'W' ? "warning" : "info";
        json_escape(esc, sizeof(esc), msg);
        len =
            snprintf(line, sizeof(line),
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"v\":%d,\"caller\":\"%s\",\"msg\":\"%s\"}\n",
                     ts, lvl, v, log_cfg.prog, esc);
    } else {
        len = snprintf(line, sizeof(line), "%s %c %s %s\n", ts, level, log_cfg.prog, msg);
    }
    if (len < 0)
        return;
    n = (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1;
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}

#define LOG_BODY(level, v, errnum)           \
    do {                                     \
        va_list ap;                          \
        va_start(ap, fmt);                   \
        log_emit(level, v, errnum, fmt, ap); \
        va_end(ap);                          \
    } while (0)

void
log_info(const char *fmt, ...)
{
    LOG_BODY('I', 0, 0);
}

void
log_warn(const char *fmt, ...)
{
    int e = errno;
    LOG_BODY('W', 0, e);
}

void
log_warnx(const char *fmt, ...)
{
    LOG_BODY('W', 0, 0);
}

void
log_error(const char *fmt, ...)
{
    LOG_BODY('E', 0, 0);
}

void
log_debug(int v, const char *fmt, ...)
{
    if (v > log_cfg.verbosity)
        return;
    LOG_BODY('I', v, 0);
}

void
fatal(const char *fmt, ...)
{
    int e = errno;
    LOG_BODY('E', 0, e);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    LOG_BODY('E', 0, 0);
    exit(1);
}
