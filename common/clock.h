/* common/clock.h -- injectable clocks, so queues, backoff and sync steps can
 * be tested with a fake clock.  A struct clock is a small value the owner
 * embeds; clock_system() returns the real one. */
#ifndef SC_CLOCK_H
#define SC_CLOCK_H

#include <stdint.h>

struct clock {
    int64_t (*mono_ms)(void *ctx); /* monotonic milliseconds */
    int64_t (*wall_ms)(void *ctx); /* milliseconds since the Unix epoch */
    void *ctx;
};

struct clock clock_system(void);
int64_t clock_mono_ms(const struct clock *c);
int64_t clock_wall_ms(const struct clock *c);

/* A fake clock for tests: both readings come from *ms (wall = mono). */
struct fake_clock {
    int64_t ms;
};
struct clock clock_fake(struct fake_clock *fc);

/* Format wall milliseconds as RFC 3339 ("2026-11-22T01:02:03Z") into out
 * (at least 32 bytes). */
void clock_rfc3339(int64_t wall_ms, char *out, unsigned long cap);
/* Parse RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm)"; -1 on error. */
int64_t clock_parse_rfc3339(const char *s);

#endif
