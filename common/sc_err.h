/* common/sc_err.h -- the project's one error vocabulary.
 *
 * Every fallible function in common/, kube/, state/, controller/ and webhook/
 * returns 0 (SC_OK) or a negative SC_E* code, and fills an optional,
 * caller-owned struct sc_err with the detail.  Libraries never log: the
 * handler that decides what to do (requeue, Event, denial) logs once.
 *
 * HTTP statuses are mapped to codes in exactly one place (kube/kclient.c).
 */
#ifndef SC_SC_ERR_H
#define SC_SC_ERR_H

#include "common/compiler.h"

enum sc_err_code {
    SC_OK = 0,
    SC_ENOMEM = -1,         /* allocation failed */
    SC_EIO = -2,            /* connect, TLS, timeout, file I/O: retry with backoff */
    SC_EPROTO = -3,         /* response or object is not what the API promises */
    SC_ENOTFOUND = -4,      /* HTTP 404 */
    SC_ECONFLICT = -5,      /* HTTP 409 (not AlreadyExists): re-read, then retry */
    SC_EGONE = -6,          /* HTTP 410: the watch must relist */
    SC_EINVALID = -7,       /* HTTP 422/400, or input we refuse */
    SC_EFORBIDDEN = -8,     /* HTTP 403: RBAC, do not hammer */
    SC_ESERVER = -9,        /* HTTP 5xx: retry with backoff */
    SC_ETOOBIG = -10,       /* a size cap was hit: body, buffer, list */
    SC_ESTATE = -11,        /* state/ database unusable: rebuild it */
    SC_EEXIST = -12,        /* HTTP 409 reason AlreadyExists */
    SC_EUNAUTHORIZED = -13, /* HTTP 401: bad or expired credentials */
    SC_ETOOMANY = -14,      /* HTTP 429: honour retry_after */
    SC_ETIMEOUT = -15,      /* request or wait timed out */
    SC_ESHUTDOWN = -16,     /* the component is shutting down */
};

#define SC_ERR_REASON_LEN 48
#define SC_ERR_MSG_LEN    512

struct sc_err {
    int code;                       /* enum sc_err_code */
    long http_status;               /* 0 when no HTTP exchange happened */
    int retry_after;                /* seconds from Retry-After, 0 if none */
    char reason[SC_ERR_REASON_LEN]; /* metav1.Status reason, e.g. "Conflict" */
    char msg[SC_ERR_MSG_LEN];       /* human-readable, lower-case, no trailing period */
};

/* Fill *err (if err is not NULL) and return code, so callers can write
 * "return sc_err_set(err, SC_EPROTO, ...);".  Resets http_status, reason and
 * retry_after. */
int sc_err_set(struct sc_err *err, int code, const char *fmt, ...) SC_PRINTF(3, 4);

/* Prefix err->msg with "context: " (keeps code and the rest); returns err->code
 * or code if err is NULL. */
int sc_err_wrap(struct sc_err *err, int code, const char *fmt, ...) SC_PRINTF(3, 4);

void sc_err_clear(struct sc_err *err);

/* Static lower-case name of a code ("conflict"); never NULL. */
const char *sc_err_str(int code);

/* True for codes that a retry with backoff can cure (EIO, ESERVER, ETOOMANY,
 * ETIMEOUT, ECONFLICT). */
int sc_err_retryable(int code);

#endif
