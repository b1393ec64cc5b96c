/* controller/cintern.c: equal strings get one copy, kept until the table is
 * freed; too long a string, a full table or no table gives NULL (the caller
 * copies); threads asking at once get the same copy.  Views parsed with the
 * table point into it for their namespace, class and driver, and read the
 * same as views parsed without it. */
#include "controller/cintern.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cpack.h"
#include "controller/cview.h"
#include "tests/lib/harness.h"

static void
test_one_copy(void)
{
    struct cintern *t = cintern_new();
    char a[] = "bench-cache", b[] = "bench-cache", c[] = "bench-cache-2";
    const char *x, *y, *z;

    x = cintern_get(t, a, strlen(a));
    y = cintern_get(t, b, strlen(b));
    z = cintern_get(t, c, strlen(c));
    CHECK(x != NULL && x == y);
    CHECK(x != a && x != b);
    CHECK(z != NULL && z != x);
    a[0] = 'X';
    CHECK_STR(x, "bench-cache");
    CHECK_STR(z, "bench-cache-2");
    CHECK_INT(cintern_len(t), 2);
    CHECK(cintern_bytes(t) >= sizeof("bench-cache") + sizeof("bench-cache-2"));
    CHECK(cintern_get(NULL, "x", 1) == NULL);
    CHECK(cintern_get(t, "xy", 1) == NULL); /* not NUL-terminated at len */
    cintern_free(t);
    cintern_free(NULL);
}

static void
test_limits(void)
{
    struct cintern *t = cintern_new();
    char s[LIM_INTERN_LEN + 2];
    const char *first;
    int i;

    memset(s, 'a', sizeof(s) - 1);
    s[sizeof(s) - 1] = '\0';
    CHECK(cintern_get(t, s, strlen(s)) == NULL); /* one byte too long */
    s[LIM_INTERN_LEN] = '\0';
    CHECK(cintern_get(t, s, strlen(s)) != NULL); /* the longest kept */
    for (i = 1; i < LIM_INTERN_STRINGS; i++) {
        char name[32];

        snprintf(name, sizeof(name), "ns-%d", i);
        CHECK(cintern_get(t, name, strlen(name)) != NULL);
    }
    CHECK_INT(cintern_len(t), LIM_INTERN_STRINGS);
    CHECK(cintern_get(t, "one-more", 8) == NULL); /* full: the caller copies */
    first = cintern_get(t, "ns-1", 4);            /* what is there is still found */
    CHECK(first != NULL && strcmp(first, "ns-1") == 0);
    CHECK_INT(cintern_len(t), LIM_INTERN_STRINGS);
    cintern_free(t);
}

enum { THREADS = 4, NAMES = 200 };

struct race {
    struct cintern *t;
    const char *got[NAMES];
};

static void *
race_main(void *arg)
{
    struct race *r = arg;

    for (int i = 0; i < NAMES; i++) {
        char name[32];

        snprintf(name, sizeof(name), "namespace-%d", (i * 7) % NAMES);
        r->got[(i * 7) % NAMES] = cintern_get(r->t, name, strlen(name));
    }
    return NULL;
}

static void
test_threads_share_one_copy(void)
{
    struct cintern *t = cintern_new();
    struct race r[THREADS] = {0};
    pthread_t th[THREADS];
    int i, k;

    for (i = 0; i < THREADS; i++) {
        r[i].t = t;
        CHECK(pthread_create(&th[i], NULL, race_main, &r[i]) == 0);
    }
    for (i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (k = 0; k < NAMES; k++)
        for (i = 1; i < THREADS; i++)
            CHECK(r[i].got[k] != NULL && r[i].got[k] == r[0].got[k]);
    CHECK_INT(cintern_len(t), NAMES);
    cintern_free(t);
}

static json_t *
content(const char *name, const char *uid)
{
    return json_pack("{s:{s:s,s:s},s:{s:{s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:{s:s}}}", "metadata",
                     "name", name, "uid", "c-uid", "spec", "volumeSnapshotRef", "name", "snap",
                     "namespace", "team-a", "uid", uid, "kind", "VolumeSnapshot",
                     "volumeSnapshotClassName", "gold", "driver", "hostpath.csi.k8s.io",
                     "deletionPolicy", "Delete", "source", "volumeHandle", "vol-1");
}

/* Two contents parsed with the table share its copies of the referent's
 * namespace, the class and the driver; parsed without it, each has its own,
 * and every field reads the same either way. */
static void
test_views_share(void)
{
    struct cintern *t = cintern_new();
    json_t *o1 = content("snapcontent-u1", "u1"), *o2 = content("snapcontent-u2", "u2");
    struct cvsc *a = NULL, *b = NULL, *plain = NULL;

    CHECK_INT(cvsc_parse_shared(o1, t, &a, NULL), 0);
    CHECK_INT(cvsc_parse_shared(o2, t, &b, NULL), 0);
    CHECK_INT(cvsc_parse(o1, &plain, NULL), 0);
    if (a != NULL && b != NULL && plain != NULL) {
        CHECK(a->ref_ns == b->ref_ns && a->class_name == b->class_name && a->driver == b->driver);
        CHECK(a->ref_ns == cintern_get(t, "team-a", 6));
        CHECK(plain->ref_ns != a->ref_ns && plain->driver != a->driver);
        CHECK_STR(a->ref_ns, plain->ref_ns);
        CHECK_STR(a->class_name, plain->class_name);
        CHECK_STR(a->driver, plain->driver);
        CHECK_STR(a->ref_uid, "u1");
        CHECK_STR(a->m.name, "snapcontent-u1");
        CHECK(a->ref_uid == a->m.name + strlen("snapcontent-")); /* inside its name */
        /* team-a, gold, hostpath.csi.k8s.io: not in the shared views' blocks */
        CHECK_INT(cview_bytes(&plain->m) - cview_bytes(&a->m), 7 + 5 + 20);
    }
    CVIEW_UNREF(a);
    CVIEW_UNREF(b);
    CVIEW_UNREF(plain);
    json_decref(o1);
    json_decref(o2);
    cintern_free(t);
}

TEST_MAIN(TEST(test_one_copy), TEST(test_limits), TEST(test_threads_share_one_copy),
          TEST(test_views_share))
