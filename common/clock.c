#include "common/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t
sys_mono(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
sys_wall(void *ctx)
{
    struct timespec ts;
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
    struct tm tm;

    gmtime_r(&t, &tm);
    if (strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && cap > 0)
        out[0] = '\0';
}

int64_t
clock_parse_rfc3339(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
    const char *p;
    int64_t t;

    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    p = s + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (*p == '+' || *p == '-') {
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return -1;
        if (*p == '-') {
            oh = -oh;
            om = -om;
        }
    } else if (*p != 'Z' && *p != 'z') {
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = (int64_t)timegm(&tm);
    return (t - (int64_t)oh * 3600 - (int64_t)om * 60) * 1000;
}
