#include "common/sc_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
sc_err_set(struct sc_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    err->http_status = 0;
    err->retry_after = 0;
    err->reason[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return code;
}

int
sc_err_wrap(struct sc_err *err, int code, const char *fmt, ...)
{
    char prefix[SC_ERR_MSG_LEN];
    char old[SC_ERR_MSG_LEN];
    va_list ap;

    if (err == NULL)
        return code;
    if (err->code == 0)
        err->code = code;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    {
        size_t n = strlen(prefix);
        if (n > sizeof(err->msg) - 3)
            n = sizeof(err->msg) - 3;
        memcpy(err->msg, prefix, n);
        memcpy(err->msg + n, ": ", 2);
        n += 2;
        size_t rest = strnlen(old, sizeof(old) - 1);
        if (rest > sizeof(err->msg) - 1 - n)
            rest = sizeof(err->msg) - 1 - n;
        memcpy(err->msg + n, old, rest);
        err->msg[n + rest] = '\0';
    }
    return err->code;
}

void
sc_err_clear(struct sc_err *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

const char *
sc_err_str(int code)
{
    switch (code) {
    case SC_OK:
        return "ok";
    case SC_ENOMEM:
        return "out of memory";
    case SC_EIO:
        return "i/o error";
    case SC_EPROTO:
        return "protocol error";
    case SC_ENOTFOUND:
        return "not found";
    case SC_ECONFLICT:
        return "conflict";
    case SC_EGONE:
        return "gone";
    case SC_EINVALID:
        return "invalid";
    case SC_EFORBIDDEN:
        return "forbidden";
    case SC_ESERVER:
        return "server error";
    case SC_ETOOBIG:
        return "too big";
    case SC_ESTATE:
        return "state database unusable";
    case SC_EEXIST:
        return "already exists";
    case SC_EUNAUTHORIZED:
        return "unauthorized";
    case SC_ETOOMANY:
        return "too many requests";
    case SC_ETIMEOUT:
        return "timeout";
    case SC_ESHUTDOWN:
        return "shutting down";
    default:
        return "unknown error";
    }
}

int
sc_err_retryable(int code)
{
    return code == SC_EIO || code == SC_ESERVER || code == SC_ETOOMANY || code == SC_ETIMEOUT ||
           code == SC_ECONFLICT;
}
