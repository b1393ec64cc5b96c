/* tests/unit/controller/fake.h -- a recording sync_actions for the sync
 * tests: every write, event and enqueue becomes one line in a log the test
 * compares; PVs are served from a JSON map; failures can be injected. */
#ifndef SC_TEST_FAKE_H
#define SC_TEST_FAKE_H

#include <jansson.h>
#include <stdbool.h>

#include "common/buf.h"
#include "controller/sync.h"

struct fake {
    struct buf log;  /* one line per call */
    json_t *pvs;     /* name -> PV object */
    json_t *nodes;   /* array of Node objects */
    int fail_create; /* SC_E* to return from create_content, 0 = ok */
    int fail_patch;  /* SC_E* for the next patch, 0 = ok */
    int fail_delete; /* SC_E* for delete_content */
    struct sync_actions act;
    struct sync_env env;
    struct fake_clock clock;
    struct cmetrics *metrics;
};

/* Build stores and actions; objects come from tests/data/controller/<file>
 * by name with fake_add(). */
void fake_init(struct fake *f);
void fake_release(struct fake *f);
/* The recorded object named name in tests/data/controller/objects.json (new
 * reference). */
json_t *fixture(const char *name);
/* Put obj into the store matching its kind (VolumeSnapshot, ...); PVs go to
 * the live-GET map.  obj is borrowed. */
void fake_add(struct fake *f, const json_t *obj);
/* fixture(name) + fake_add(). */
void fake_add_fixture(struct fake *f, const char *name);
/* Set a dotted path to a value (stolen) in obj, creating objects. */
void jset(json_t *obj, const char *path, json_t *value);
/* Remove a dotted path. */
void jdel(json_t *obj, const char *path);
const char *fake_log(struct fake *f);
void fake_reset_log(struct fake *f);
/* Lines of the log that start with prefix, joined by "\n". */
const char *fake_lines(struct fake *f, const char *prefix, struct buf *tmp);

#endif
