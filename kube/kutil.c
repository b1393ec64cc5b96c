/* kube/kutil.c -- small helpers shared by kube/ (kinternal.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kinternal.h"

/* Read all of fd into a growing buffer capped at max bytes. */
static int
read_all(int fd, size_t max, char **out, size_t *len)
{
    size_t n = 0, cap = 4096;
    char *data = malloc(cap + 1);

    if (data == NULL)
        return SC_ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap >= max + 1) {
                free(data);
                return SC_ETOOBIG;
            }
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *p = realloc(data, cap + 1);
            if (p == NULL) {
                free(data);
                return SC_ENOMEM;
            }
            data = p;
        }
        ssize_t r = read(fd, data + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(data);
            return SC_EIO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        free(data);
        return SC_ETOOBIG;
    }
    data[n] = '\0';
    *out = data;
    *len = n;
    return 0;
}

int
kfile_read(const char *path, size_t max, char **out, size_t *len, struct sc_err *err)
{
    struct stat st = {0};
    size_t n = 0;
    int fd, rc, e;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sc_err_set(err, SC_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
        close(fd);
        return sc_err_set(err, SC_ETOOBIG, "%s: file of %lld bytes exceeds the %zu byte limit",
                          path, (long long)st.st_size, max);
    }
    rc = read_all(fd, max, out, &n);
    e = errno;
    close(fd);
    if (rc == SC_ETOOBIG)
        return sc_err_set(err, rc, "%s: file exceeds the %zu byte limit", path, max);
    if (rc == SC_EIO)
        return sc_err_set(err, rc, "%s: %s", path, strerror(e));
    if (rc != 0)
        return sc_err_set(err, rc, "%s: out of memory", path);
    if (len != NULL)
        *len = n;
    return 0;
}

static int
b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int
kbase64_decode(const char *in, size_t n, char **out, size_t *len)
{
    char *o = malloc(n / 4 * 3 + 4);
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    size_t k = 0;

    if (o == NULL)
        return SC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        int v;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad > 0)
            goto bad; /* data after padding */
        v = b64val(c);
        if (v < 0)
            goto bad;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (pad > 2 || bits >= 6)
        goto bad;
    o[k] = '\0';
    *out = o;
    *len = k;
    return 0;
bad:
    free(o);
    return SC_EINVALID;
}

void
kts_after_ms(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    if (ms < 0)
        ms = 0;
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

uint64_t
krand64(void)
{
    static _Thread_local uint64_t s;
    if (s == 0) {
        struct timespec ts = {0};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
            (uint64_t)(uintptr_t)&ts;
        if (s == 0)
            s = 0x9e3779b97f4a7c15ull;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}
