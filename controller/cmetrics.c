#include "controller/cmetrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"

static const double buckets[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct op {
    char *name, *uid, *driver, *type;
    int64_t start_ms;
};

struct series {
    char *driver, *op, *status, *type;
    uint64_t counts[N_BUCKETS];
    uint64_t count;
    double sum;
};

struct cmetrics {
    pthread_mutex_t mu;
    struct clock clock;
    int64_t start_wall_ms;
    struct hmap ops;       /* struct op (by name and uid) -> the same op, owned */
    struct series *series; /* in first-seen order, for the rendering */
    size_t n_series;
    struct hmap by_labels; /* struct series (its four labels) -> the same series */
};

/* FNV-1a over strings joined by a 0xff byte (never part of a label). */
static uint64_t
hash_strs(const char *const *v, size_t n)
{
    static const unsigned char sep = 0xff;
    uint64_t h = HMAP_HASH_SEED;
    size_t i;

    for (i = 0; i < n; i++) {
        if (i > 0)
            h = hmap_hash_bytes(h, &sep, 1);
        h = hmap_hash_bytes(h, v[i], strlen(v[i]));
    }
    return h;
}

static uint64_t
op_hash(const void *key)
{
    const struct op *o = key;
    const char *v[] = {o->name, o->uid};

    return hash_strs(v, 2);
}

static bool
op_eq(const void *a, const void *b)
{
    const struct op *x = a, *y = b;

    return strcmp(x->name, y->name) == 0 && strcmp(x->uid, y->uid) == 0;
}

static void
op_free(void *val)
{
    struct op *o = val;

    free(o->name);
    free(o->uid);
    free(o->driver);
    free(o->type);
    free(o);
}

static uint64_t
series_hash(const void *key)
{
    const struct series *s = key;
    const char *v[] = {s->driver, s->op, s->status, s->type};

    return hash_strs(v, 4);
}

static bool
series_eq(const void *a, const void *b)
{
    const struct series *x = a, *y = b;

    return strcmp(x->driver, y->driver) == 0 && strcmp(x->op, y->op) == 0 &&
           strcmp(x->status, y->status) == 0 && strcmp(x->type, y->type) == 0;
}

static const struct hmap_type op_type = {op_hash, op_eq, NULL, NULL, op_free};
static const struct hmap_type series_type = {series_hash, series_eq, NULL, NULL, NULL};

struct cmetrics *
cmetrics_new(struct clock clock)
{
    struct cmetrics *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->series = calloc(CMETRICS_MAX_SERIES, sizeof(*m->series));
    if (m->series == NULL) {
        free(m);
        return NULL;
    }
    hmap_init(&m->ops, &op_type, CMETRICS_MAX_OPS);
    hmap_init(&m->by_labels, &series_type, CMETRICS_MAX_SERIES);
    pthread_mutex_init(&m->mu, NULL);
    m->clock = clock;
    m->start_wall_ms = clock_wall_ms(&clock);
    return m;
}

void
cmetrics_free(struct cmetrics *m)
{
    size_t i;

    if (m == NULL)
        return;
    hmap_free(&m->ops);
    hmap_free(&m->by_labels);
    for (i = 0; i < m->n_series; i++) {
        free(m->series[i].driver);
        free(m->series[i].op);
        free(m->series[i].status);
        free(m->series[i].type);
    }
    free(m->series);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* The pending operation op of uid, or NULL. */
static struct op *
op_find(struct cmetrics *m, const char *name, const char *uid)
{
    struct op k = {0};

    k.name = (char *)name; /* a lookup key: never written through */
    k.uid = (char *)uid;
    return hmap_get(&m->ops, &k);
}

void
cmetrics_start(struct cmetrics *m, const char *op, const char *uid, const char *driver,
               const char *snapshot_type)
{
    struct op *o = NULL;

    if (m == NULL || uid == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    if (op_find(m, op, uid) == NULL && hmap_len(&m->ops) < CMETRICS_MAX_OPS) {
        o = calloc(1, sizeof(*o));
        if (o != NULL) {
            o->name = strdup(op);
            o->uid = strdup(uid);
            o->driver = strdup(driver != NULL && *driver != '\0' ? driver : "unknown");
            o->type = strdup(snapshot_type);
            o->start_ms = clock_mono_ms(&m->clock);
            if (o->name == NULL || o->uid == NULL || o->driver == NULL || o->type == NULL ||
                hmap_put(&m->ops, o, o, NULL) != 0)
                op_free(o);
        }
    }
    pthread_mutex_unlock(&m->mu);
}

static struct series *
series_get(struct cmetrics *m, const char *driver, const char *op, const char *status,
           const char *type)
{
    struct series k = {0}, *s = NULL;

    k.driver = (char *)driver; /* a lookup key: never written through */
    k.op = (char *)op;
    k.status = (char *)status;
    k.type = (char *)type;
    s = hmap_get(&m->by_labels, &k);
    if (s != NULL)
        return s;
    if (m->n_series >= CMETRICS_MAX_SERIES)
        return NULL;
    s = &m->series[m->n_series];
    s->driver = strdup(driver);
    s->op = strdup(op);
    s->status = strdup(status);
    s->type = strdup(type);
    /* the map's n_max is the array's size, so a put fails only out of memory */
    if (s->driver == NULL || s->op == NULL || s->status == NULL || s->type == NULL ||
        hmap_put(&m->by_labels, s, s, NULL) != 0) {
        free(s->driver);
        free(s->op);
        free(s->status);
        free(s->type);
        memset(s, 0, sizeof(*s));
        return NULL;
    }
    m->n_series++;
    return s;
}

static void
observe(struct cmetrics *m, const char *driver, const char *op, const char *status,
        const char *type, double secs)
{
    struct series *s = series_get(m, driver, op, status, type);
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < N_BUCKETS; i++)
        if (secs <= buckets[i])
            s->counts[i]++;
    s->count++;
    s->sum += secs;
}

void
cmetrics_record(struct cmetrics *m, const char *op, const char *uid, const char *status,
                const char *driver)
{
    static const char *creates[] = {OP_CREATE_SNAPSHOT, OP_CREATE_SNAPSHOT_AND_READY};
    struct op *o = NULL;
    double secs;
    const char *drv;
    size_t i;

    if (m == NULL || uid == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    o = op_find(m, op, uid);
    if (o == NULL) {
        pthread_mutex_unlock(&m->mu);
        return;
    }
    secs = (double)(clock_mono_ms(&m->clock) - o->start_ms) / 1000.0;
    drv = driver != NULL && *driver != '\0' && strcmp(driver, "unknown") != 0 ? driver : o->driver;
    observe(m, drv, op, status != NULL ? status : "unknown", o->type, secs);
    for (i = 0; strcmp(op, OP_DELETE_SNAPSHOT) == 0 && i < 2; i++) {
        struct op *c = op_find(m, creates[i], uid);

        if (c != NULL) {
            observe(m, drv, creates[i], OP_STATUS_CANCEL, c->type, secs);
            (void)hmap_del(&m->ops, c, NULL);
        }
    }
    (void)hmap_del(&m->ops, o, NULL);
    pthread_mutex_unlock(&m->mu);
}

void
cmetrics_drop(struct cmetrics *m, const char *op, const char *uid)
{
    struct op k = {0};

    if (m == NULL || uid == NULL)
        return;
    k.name = (char *)op;
    k.uid = (char *)uid;
    pthread_mutex_lock(&m->mu);
    (void)hmap_del(&m->ops, &k, NULL);
    pthread_mutex_unlock(&m->mu);
}

size_t
cmetrics_in_flight(struct cmetrics *m)
{
    size_t n;

    pthread_mutex_lock(&m->mu);
    n = hmap_len(&m->ops);
    pthread_mutex_unlock(&m->mu);
    return n;
}

void
cmetrics_fmt_float(double v, char *out, size_t cap)
{
    char tmp[40];
    int prec, exp10;

    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        snprintf(out, cap, "0");
        return;
    }
    /* shortest round-tripping precision, as Go's 'g' with -1; %e form when exp < -4 or >= 6 */
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    exp10 = (int)strtol(strchr(tmp, 'e') + 1, NULL, 10);
    if (exp10 < -4 || exp10 >= 6) {
        /* Go: %e form "1.5e+09"; exponent at least two digits */
        char *e = strchr(tmp, 'e');

        *e = '\0';
        snprintf(out, cap, "%se%c%02d", tmp, exp10 < 0 ? '-' : '+', abs(exp10));
    } else {
        int decimals = prec - 1 - exp10;

        snprintf(out, cap, "%.*f", decimals > 0 ? decimals : 0, v);
    }
}

static int
render_series(struct buf *out, const struct series *s)
{
    char num[40];
    size_t i;
    int rc = 0;

    for (i = 0; i < N_BUCKETS && rc == 0; i++) {
        cmetrics_fmt_float(buckets[i], num, sizeof(num));
        rc = buf_addf(out,
                      "snapshot_controller_operation_total_seconds_bucket{driver_name=\"%s\","
                      "operation_name=\"%s\",operation_status=\"%s\",snapshot_type=\"%s\","
                      "le=\"%s\"} %llu\n",
                      s->driver, s->op, s->status, s->type, num, (unsigned long long)s->counts[i]);
    }
    cmetrics_fmt_float(s->sum, num, sizeof(num));
    if (rc == 0)
        rc = buf_addf(out,
                      "snapshot_controller_operation_total_seconds_bucket{driver_name=\"%s\","
                      "operation_name=\"%s\",operation_status=\"%s\",snapshot_type=\"%s\","
                      "le=\"+Inf\"} %llu\n"
                      "snapshot_controller_operation_total_seconds_sum{driver_name=\"%s\","
                      "operation_name=\"%s\",operation_status=\"%s\",snapshot_type=\"%s\"} %s\n"
                      "snapshot_controller_operation_total_seconds_count{driver_name=\"%s\","
                      "operation_name=\"%s\",operation_status=\"%s\",snapshot_type=\"%s\"} %llu\n",
                      s->driver, s->op, s->status, s->type, (unsigned long long)s->count, s->driver,
                      s->op, s->status, s->type, num, s->driver, s->op, s->status, s->type,
                      (unsigned long long)s->count);
    return rc;
}

int
cmetrics_render(struct cmetrics *m, struct buf *out, int (*extra)(void *ctx, struct buf *out),
                void *ctx)
{
    char num[40];
    size_t i;
    int rc;

    pthread_mutex_lock(&m->mu);
    cmetrics_fmt_float((double)m->start_wall_ms / 1000.0, num, sizeof(num));
    rc = buf_addf(out,
                  "# HELP process_start_time_seconds [ALPHA] Start time of the process since unix "
                  "epoch in seconds.\n"
                  "# TYPE process_start_time_seconds gauge\n"
                  "process_start_time_seconds %s\n",
                  num);
    if (rc == 0 && m->n_series > 0)
        rc = buf_adds(out, "# HELP snapshot_controller_operation_total_seconds [ALPHA] Total "
                           "number of seconds spent by the controller on an operation\n"
                           "# TYPE snapshot_controller_operation_total_seconds histogram\n");
    for (i = 0; i < m->n_series && rc == 0; i++)
        rc = render_series(out, &m->series[i]);
    if (rc == 0)
        rc = buf_addf(out,
                      "# HELP snapshot_controller_operations_in_flight [ALPHA] Total number of "
                      "operations in flight\n"
                      "# TYPE snapshot_controller_operations_in_flight gauge\n"
                      "snapshot_controller_operations_in_flight %zu\n",
                      hmap_len(&m->ops));
    pthread_mutex_unlock(&m->mu);
    if (rc == 0 && extra != NULL)
        rc = extra(ctx, out);
    return rc;
}
