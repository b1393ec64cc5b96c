#include "common/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t
sys_mono(void *ctx)
{
    struct timespec ts = {0};
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
sys_wall(void *ctx)
{
    struct timespec ts = {0};
    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct clock
clock_system(void)
{
    struct clock c = {sys_mono, sys_wall, NULL};
    return c;
}

int64_t
clock_mono_ms(const struct clock *c)
{
    return c->mono_ms(c->ctx);
}

int64_t
clock_wall_ms(const struct clock *c)
{
    return c->wall_ms(c->ctx);
}

static int64_t
fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->ms;
}

struct clock
clock_fake(struct fake_clock *fc)
{
    struct clock c = {fake_now, fake_now, fc};
    return c;
}

void
clock_rfc3339(int64_t wall_ms, char *out, unsigned long cap)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm = {0};

    gmtime_r(&t, &tm);
    if (strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && cap > 0)
        out[0] = '\0';
}

/* Read exactly n decimal digits at *p; -1 if any is not a digit. */
static int
digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return -1;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    return v;
}

/* Expect the literal ch at *p and step over it. */
static bool
expect(const char **p, char ch)
{
    if (**p != ch)
        return false;
    (*p)++;
    return true;
}

/* Parse "(Z|z|+hh:mm|-hh:mm)" into seconds east of UTC; false on error. */
static bool
parse_offset(const char *p, int64_t *off_s)
{
    int sign, oh, om;

    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        *off_s = 0;
        return true;
    }
    if (*p != '+' && *p != '-')
        return false;
    sign = *p == '-' ? -1 : 1;
    p++;
    oh = digits(&p, 2);
    if (oh < 0 || !expect(&p, ':'))
        return false;
    om = digits(&p, 2);
    if (om < 0 || *p != '\0')
        return false;
    *off_s = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    return true;
}

int64_t
clock_parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    const char *p = s;
    int64_t off_s;
    int y, mo, d, h, mi, sec;

    if (s == NULL)
        return -1;
    y = digits(&p, 4);
    if (y < 0 || !expect(&p, '-') || (mo = digits(&p, 2)) < 0 || !expect(&p, '-') ||
        (d = digits(&p, 2)) < 0 || !(expect(&p, 'T') || expect(&p, 't')) ||
        (h = digits(&p, 2)) < 0 || !expect(&p, ':') || (mi = digits(&p, 2)) < 0 ||
        !expect(&p, ':') || (sec = digits(&p, 2)) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (!parse_offset(p, &off_s))
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return ((int64_t)timegm(&tm) - off_s) * 1000;
}
