/* tests/unit/controller/fake.h -- the one recording struct sync_actions of
 * the sync tests (snapshot and group alike): every read, write, event and
 * enqueue becomes one line in a log the test compares ("PATCH vs ns/name
 * json [...]", "ENQUEUE vgs ns/name", ...); PVs, Nodes and PVCs are served
 * from JSON; created objects are kept (a second create is AlreadyExists)
 * and served by GET; failures can be injected.  Included as a .c by each
 * test (tests/unit/controller/fake.c). */
#ifndef SC_TEST_FAKE_H
#define SC_TEST_FAKE_H

#include <jansson.h>
#include <stdbool.h>

#include "common/buf.h"
#include "controller/gsync.h"
#include "controller/sync.h"

/* Recorded objects: tests/data/controller/<file>. */
#define FIXTURES       "objects.json"
#define GROUP_FIXTURES "group/objects.json"

struct fake {
    struct buf log;       /* one line per call */
    json_t *pvs;          /* name -> PV object (GET pv) */
    json_t *nodes;        /* array of Node objects (LIST nodes) */
    json_t *pvcs;         /* array of PVCs, API order (LIST pvcs; filtered by namespace only) */
    json_t *objs;         /* "kind ns/name" -> object created (GET, AlreadyExists) */
    const char *fixtures; /* FIXTURES or GROUP_FIXTURES, for fake_add_fixture() */
    int fail_create;      /* SC_E* to return from create, 0 = ok */
    int fail_patch;       /* SC_E* for the next patch, 0 = ok */
    int fail_delete;      /* SC_E* for delete */
    int fail_list;        /* SC_E* for list */
    int uidn;             /* uids given to created objects: "uid-1", ... */
    struct sync_actions act;
    struct sync_env env;
    struct fake_clock clock;
    struct cmetrics *metrics;
    struct cintern *intern; /* the records' shared strings (snapshots, contents) */
    /* indexed (set before fake_init): the snapshots' store is attached to an
     * informer without a server, with the PVC-pin index, as in the
     * controller; else a store of its own (pvc_pin_others walks) */
    bool indexed;
    struct kclient *kc;
    struct kinformer *inf;
};

/* Stores and actions for the snapshot tests: groups off (no group stores),
 * the clock at 2025-11-22T02:00:00Z, fixtures from FIXTURES. */
void fake_init(struct fake *f); /* keeps f->indexed */
/* The same with the group stores, the clock at 2026-11-22T02:00:00Z and
 * fixtures from GROUP_FIXTURES. */
void fake_init_groups(struct fake *f);
void fake_release(struct fake *f);
/* The recorded object name in tests/data/controller/<file> (new
 * reference); aborts when missing. */
json_t *fixture_from(const char *file, const char *name);
/* fixture_from(FIXTURES, name) */
json_t *fixture(const char *name);
/* Put obj into the store matching its kind (VolumeSnapshot, ...; a PVC
 * also joins the LIST answer); PVs and Nodes go to the live-read JSON.
 * obj is borrowed. */
void fake_add(struct fake *f, const json_t *obj);
/* fixture_from(f->fixtures, name) + fake_add(). */
void fake_add_fixture(struct fake *f, const char *name);
/* fake_add() then json_decref(): obj is stolen. */
void fake_put(struct fake *f, json_t *obj);
/* fake_add_fixture() of each name, up to a NULL. */
void fake_add_fixtures(struct fake *f, ...) __attribute__((sentinel));
/* Append fin to obj's metadata.finalizers, creating the list. */
void jfin(json_t *obj, const char *fin);
/* Edits of obj, up to a NULL, each one string: "path=text" sets a string,
 * "path:=json" a JSON value (true, 3, {...}), "-path" removes, "+fin"
 * appends a finalizer.  Returns obj; aborts on JSON it cannot parse. */
json_t *jedit(json_t *obj, ...) __attribute__((sentinel));
/* Set a dotted path to a value (stolen) in obj, creating objects. */
void jset(json_t *obj, const char *path, json_t *value);
/* Remove a dotted path. */
void jdel(json_t *obj, const char *path);
const char *fake_log(struct fake *f);
void fake_reset_log(struct fake *f);
/* Lines of the log that start with prefix, joined by "\n". */
const char *fake_lines(struct fake *f, const char *prefix, struct buf *tmp);

#endif
