/* kube/kinternal.h -- helpers shared by the kube/ sources; not part of the public API. */
#ifndef SC_KINTERNAL_H
#define SC_KINTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/sc_err.h"

/* Read a whole file of at most max bytes into a NUL-terminated malloc'd
 * buffer (*out, caller frees).  SC_EIO naming the path, SC_ETOOBIG. */
int kfile_read(const char *path, size_t max, char **out, size_t *len, struct sc_err *err);

/* Decode base64 (whitespace ignored) into a malloc'd NUL-terminated buffer. */
int kbase64_decode(const char *in, size_t n, char **out, size_t *len);

/* Monotonic deadline helper for pthread_cond_timedwait (CLOCK_MONOTONIC). */
void kts_after_ms(struct timespec *ts, int64_t ms);

/* Random-ish 64-bit value (not cryptographic). */
uint64_t krand64(void);

/* A request with a shorter timeout than the client's (klease: every attempt
 * must end within the renew deadline).  timeout_ms <= 0 or above the
 * client's timeout means the client's. */
struct kclient;
struct json_t;
int kclient_request_timeout(struct kclient *c, const char *method, const char *path,
                            const struct json_t *body, struct json_t **out, int64_t timeout_ms,
                            struct sc_err *err);

#endif
