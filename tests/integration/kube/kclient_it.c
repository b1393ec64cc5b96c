/* Integration tests of kube/kclient.c against the real API server: CRUD and
 * /status on a custom resource, JSON/merge patch with preconditions,
 * conflicts on stale resourceVersions, delete preconditions, pagination over
 * 1,000 objects, discovery of served resources, bad credentials, TLS
 * sessions resumed on new connections. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/limits.h"
#include "kube/kinternal.h"
#include "kube/kjson.h"
#include "tests/integration/kube/itlib.h"

static const char *
rv_of(const json_t *o)
{
    struct kjson r = {0};
    kjson_init(&r, o, NULL);
    return kjson_str(&r, "metadata.resourceVersion");
}

static void
test_crud_status_patch_conflict(void)
{
    struct kclient *c = it_client(-1, 1);
    char ns[64], coll[KPATH_MAX], path[KPATH_MAX], status[KPATH_MAX];
    json_t *w, *got = NULL, *out = NULL;
    struct sc_err e = {0};
    struct kjson r = {0};

    if (c == NULL)
        return;
    snprintf(ns, sizeof(ns), "kit-crud-%s", it_suffix());
    it_namespace(c, ns);
    it_widget_path(coll, sizeof(coll), ns, NULL, NULL);
    it_widget_path(path, sizeof(path), ns, "w1", NULL);
    it_widget_path(status, sizeof(status), ns, "w1", "status");

    /* CREATE, then CREATE again: AlreadyExists */
    w = it_widget(ns, "w1", 1, NULL);
    CHECK_INT(kclient_create(c, coll, w, &out, &e), 0);
    CHECK_INT(kclient_create(c, coll, w, NULL, &e), SC_EEXIST);
    CHECK_STR(e.reason, "AlreadyExists");
    CHECK_INT(e.http_status, 409);
    json_decref(w);
    char rv1[64];
    snprintf(rv1, sizeof(rv1), "%s", rv_of(out));
    char uid[64];
    kjson_init(&r, out, NULL);
    snprintf(uid, sizeof(uid), "%s", kjson_str(&r, "metadata.uid"));
    json_decref(out);
    out = NULL;

    /* GET */
    CHECK_INT(kclient_get(c, path, &got, &e), 0);
    kjson_init(&r, got, NULL);
    CHECK_INT(kjson_int(&r, "spec.size", 0), 1);
    CHECK_STR(kjson_str(&r, "metadata.resourceVersion"), rv1);

    /* UPDATE spec with the current rv */
    json_object_set_new(json_object_get(got, "spec"), "size", json_integer(2));
    CHECK_INT(kclient_update(c, path, got, &out, &e), 0);
    char rv2[64];
    snprintf(rv2, sizeof(rv2), "%s", rv_of(out));
    CHECK(strcmp(rv1, rv2) != 0);
    json_decref(out);
    out = NULL;
    /* the same body again carries the stale rv: Conflict */
    CHECK_INT(kclient_update(c, path, got, NULL, &e), SC_ECONFLICT);
    CHECK_STR(e.reason, "Conflict");
    CHECK(strstr(e.msg, "the object has been modified") != NULL);
    json_decref(got);
    got = NULL;

    /* UPDATE /status: status changes, spec does not */
    CHECK_INT(kclient_get(c, path, &got, &e), 0);
    json_object_set_new(got, "status", json_pack("{s:b, s:s}", "ready", 1, "message", "fine"));
    json_object_set_new(json_object_get(got, "spec"), "size", json_integer(99));
    CHECK_INT(kclient_update(c, status, got, &out, &e), 0);
    kjson_init(&r, out, NULL);
    CHECK(kjson_bool(&r, "status.ready"));
    CHECK_INT(kjson_int(&r, "spec.size", 0), 2);
    char rv3[64];
    snprintf(rv3, sizeof(rv3), "%s", rv_of(out));
    json_decref(out);
    out = NULL;
    json_decref(got);
    got = NULL;

    /* MERGE PATCH spec */
    json_t *mp = json_pack("{s:{s:s}}", "spec", "color", "red");
    CHECK_INT(kclient_patch(c, path, KPATCH_MERGE, mp, &out, &e), 0);
    json_decref(mp);
    kjson_init(&r, out, NULL);
    CHECK_STR(kjson_str(&r, "spec.color"), "red");
    char rv4[64];
    snprintf(rv4, sizeof(rv4), "%s", rv_of(out));
    json_decref(out);
    out = NULL;

    /* JSON PATCH with a test on the current rv and uid: applied */
    json_t *jp = json_array();
    kpatch_add_op(jp, "test", "/metadata/resourceVersion", json_string(rv4));
    kpatch_add_op(jp, "test", "/metadata/uid", json_string(uid));
    kpatch_add_op(jp, "replace", "/spec/size", json_integer(5));
    CHECK_INT(kclient_patch(c, path, KPATCH_JSON, jp, &out, &e), 0);
    json_decref(out);
    out = NULL;
    /* ...and the same patch again: the rv test fails -> conflict */
    int rc = kclient_patch(c, path, KPATCH_JSON, jp, NULL, &e);
    if (rc != SC_ECONFLICT)
        fprintf(stderr, "stale json patch: rc=%d status=%ld reason=%s msg=%s\n", rc, e.http_status,
                e.reason, e.msg);
    CHECK_INT(rc, SC_ECONFLICT);
    json_decref(jp);
    /* a failed "test" of another path is named as a conflict; an invalid
     * patch whose tests hold stays invalid */
    jp = json_array();
    kpatch_add_op(jp, "test", "/spec/size", json_integer(4));
    kpatch_add_op(jp, "replace", "/spec/size", json_integer(6));
    rc = kclient_patch(c, path, KPATCH_JSON, jp, NULL, &e);
    CHECK_INT(rc, SC_ECONFLICT);
    CHECK(strstr(e.msg, "precondition failed: /spec/size is 5, expected 4") != NULL);
    json_decref(jp);
    jp = json_array();
    kpatch_add_op(jp, "test", "/spec/size", json_integer(5));
    kpatch_add_op(jp, "remove", "/spec/nosuchfield", NULL);
    rc = kclient_patch(c, path, KPATCH_JSON, jp, NULL, &e);
    CHECK_INT(rc, SC_EINVALID);
    json_decref(jp);
    /* a JSON patch on /status */
    jp = json_array();
    kpatch_add_op(jp, "replace", "/status/message", json_string("patched"));
    CHECK_INT(kclient_patch(c, status, KPATCH_JSON, jp, &out, &e), 0);
    kjson_init(&r, out, NULL);
    CHECK_STR(kjson_str(&r, "status.message"), "patched");
    json_decref(out);
    out = NULL;
    json_decref(jp);
    /* wrong-shape patches are refused before any request */
    json_t *notarray = json_object();
    CHECK_INT(kclient_patch(c, path, KPATCH_JSON, notarray, NULL, &e), SC_EINVALID);
    json_decref(notarray);
    (void)rv3;

    /* DELETE with a wrong uid precondition: conflict; right one: deleted */
    struct kdelete_opts dopt = {.uid = "00000000-0000-0000-0000-000000000000",
                                .propagation = KPROP_BACKGROUND};
    CHECK_INT(kclient_delete(c, path, &dopt, NULL, &e), SC_ECONFLICT);
    dopt.uid = uid;
    CHECK_INT(kclient_delete(c, path, &dopt, NULL, &e), 0);
    CHECK_INT(kclient_get(c, path, &got, &e), SC_ENOTFOUND);
    CHECK_STR(e.reason, "NotFound");
    CHECK_INT(kclient_delete(c, path, NULL, NULL, &e), SC_ENOTFOUND);
    /* invalid object: 422 with the server's message */
    w = it_widget(ns, "Bad_Name", 1, NULL);
    CHECK_INT(kclient_create(c, coll, w, NULL, &e), SC_EINVALID);
    CHECK(strstr(e.msg, "Bad_Name") != NULL);
    json_decref(w);
    kclient_free(c);
}

struct counter {
    int n;
    int bad;
};

static int
count_item(void *ctx, const json_t *item)
{
    struct counter *k = ctx;
    struct kjson r = {0};
    kjson_init(&r, item, NULL);
    if (kjson_str(&r, "metadata.name") == NULL)
        k->bad++;
    k->n++;
    return 0;
}

static void
test_pagination_1000(void)
{
    struct kclient *c = it_client(-1, 1);
    char ns[64], coll[KPATH_MAX], name[64], rv[64];
    struct sc_err e = {0};
    struct counter k = {0};
    int created = 0;

    if (c == NULL)
        return;
    snprintf(ns, sizeof(ns), "kit-page-%s", it_suffix());
    it_namespace(c, ns);
    it_widget_path(coll, sizeof(coll), ns, NULL, NULL);
    int64_t t0 = it_now_ms();
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "w-%04d", i);
        json_t *w = it_widget(ns, name, i, "page");
        if (kclient_create(c, coll, w, NULL, &e) == 0)
            created++;
        else
            fprintf(stderr, "create %s: %s\n", name, e.msg);
        json_decref(w);
    }
    int64_t t1 = it_now_ms();
    CHECK_INT(created, 1000);
    printf("figure: sequential CREATE through one client: %.0f requests/s (1000 in %lld ms)\n",
           1000.0 * 1000 / (double)(t1 - t0 + 1), (long long)(t1 - t0));

    struct klist_opts lo = {.limit = 77, .label_selector = "test=page"};
    CHECK_INT(kclient_list(c, coll, &lo, count_item, &k, rv, sizeof(rv), &e), 0);
    CHECK_INT(k.n, 1000);
    CHECK_INT(k.bad, 0);
    CHECK(rv[0] != '\0');
    struct kclient_stats st = {0};
    kclient_get_stats(c, &st);
    /* 1000 creates + ceil(1000/77)=13 pages */
    CHECK_INT(st.requests, 1000 + 13 + 1);
    /* the default page size is LIM_LIST_PAGE (500): 2 pages + 1 empty-continue-free end */
    k.n = 0;
    CHECK_INT(kclient_list(c, coll, NULL, count_item, &k, rv, sizeof(rv), &e), 0);
    CHECK_INT(k.n, 1000);
    /* GET of 1000 objects through the same client */
    int64_t t2 = it_now_ms();
    char path[KPATH_MAX];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "w-%04d", i);
        it_widget_path(path, sizeof(path), ns, name, NULL);
        json_t *o = NULL;
        CHECK_INT(kclient_get(c, path, &o, &e), 0);
        json_decref(o);
    }
    int64_t t3 = it_now_ms();
    printf("figure: sequential GET through one client: %.0f requests/s\n",
           1000.0 * 1000 / (double)(t3 - t2 + 1));
    /* a callback error stops the list and is returned */
    CHECK_INT(kclient_request(c, "DELETE", "/api/v1/namespaces/x-nonexistent-x", NULL, NULL, NULL,
                              NULL, &e),
              SC_ENOTFOUND);
    /* clean up the namespace (deletes the widgets too) */
    char nspath[KPATH_MAX];
    kpath(nspath, sizeof(nspath), NULL, "v1", "namespaces", NULL, ns, NULL);
    CHECK_INT(kclient_delete(c, nspath, NULL, NULL, &e), 0);
    kclient_free(c);
}

static void
test_rate_limit_real(void)
{
    struct kclient *c = it_client(20, 5);
    struct sc_err e = {0};

    if (c == NULL)
        return;
    int64_t t0 = it_now_ms();
    for (int i = 0; i < 25; i++) {
        json_t *o = NULL;
        CHECK_INT(kclient_get(c, "/api/v1/namespaces/default", &o, &e), 0);
        json_decref(o);
    }
    int64_t dt = it_now_ms() - t0;
    /* 5 free, then 20 more at 20/s: about one second, never much less */
    CHECK(dt >= 900);
    struct kclient_stats st = {0};
    kclient_get_stats(c, &st);
    CHECK(st.throttled_ms > 0);
    printf("figure: 25 GETs at qps=20 burst=5 took %lld ms\n", (long long)dt);
    kclient_free(c);
}

static void
test_served(void)
{
    struct kclient *c = it_client(-1, 1);
    struct sc_err e = {0};

    if (c == NULL)
        return;
    CHECK_INT(kclient_served(c, W_GROUP, "v1", "widgets", &e), 1);
    CHECK_INT(kclient_served(c, "", "v1", "persistentvolumeclaims", &e), 1);
    CHECK_INT(kclient_served(c, W_GROUP, "v1", "gadgets", &e), 0);
    CHECK(strstr(e.msg, "resource not served") != NULL);
    CHECK_INT(kclient_served(c, "groupsnapshot.example.invalid", "v1", "things", &e), 0);
    CHECK(strstr(e.msg, "not served") != NULL);
    kclient_free(c);
}

static void
test_bad_token_unauthorized(void)
{
    struct sc_err e = {0};
    /* no client certificate, a made-up token */
    struct kclient *c = it_token_client("not-a-valid-token");

    if (c == NULL)
        return;
    json_t *o = NULL;
    int64_t t0 = it_now_ms();
    CHECK_INT(kclient_get(c, "/api/v1/namespaces", &o, &e), SC_EUNAUTHORIZED);
    CHECK_INT(e.http_status, 401);
    CHECK(it_now_ms() - t0 < 2000);
    struct kclient_stats st = {0};
    kclient_get_stats(c, &st);
    CHECK_INT(st.requests, 1); /* no retry loop on 401 without a token file */
    kclient_free(c);
}

static void
test_wrong_ca_is_transport_error(void)
{
    struct kconfig *cfg = NULL;
    struct sc_err e = {0};

    if (getenv("KUBECONFIG") == NULL || kconfig_load(NULL, &cfg, &e) != 0) {
        CHECK(0);
        return;
    }
    free(cfg->ca_pem);
    cfg->ca_pem = NULL; /* system store: the test CA is unknown */
    cfg->ca_len = 0;
    struct kclient *c = kclient_new(cfg, NULL, &e);
    kconfig_free(cfg);
    CHECK_INT(kclient_get(c, "/api/v1/namespaces", NULL, &e), SC_EIO);
    CHECK(strstr(e.msg, "certificate") != NULL || strstr(e.msg, "SSL") != NULL);
    kclient_free(c);
}

static void
test_oversized_body(void)
{
    struct kconfig *cfg = NULL;
    struct sc_err e = {0};

    if (getenv("KUBECONFIG") == NULL || kconfig_load(NULL, &cfg, &e) != 0) {
        CHECK(0);
        return;
    }
    struct kclient_opts o = {0};
    kclient_opts_default(&o);
    o.max_body = 2048; /* the /api/v1 discovery document is larger */
    struct kclient *c = kclient_new(cfg, &o, &e);
    kconfig_free(cfg);
    json_t *out = NULL;
    CHECK_INT(kclient_get(c, "/api/v1", &out, &e), SC_ETOOBIG);
    CHECK(out == NULL);
    CHECK(strstr(e.msg, "exceeds the 2048 byte limit") != NULL);
    /* a small answer still works on the same client */
    CHECK_INT(kclient_get(c, "/api/v1/namespaces/default", &out, &e), 0);
    json_decref(out);
    kclient_free(c);
}

/* Writes whose answer comes back as bytes (kclient_create_bytes(),
 * kclient_patch_bytes()): the object the API server answered, errors as
 * the tree-returning calls give them, and the caller's cap. */
static void
test_write_answers_as_bytes(void)
{
    struct kclient *c = it_client(-1, 1);
    char ns[64], coll[KPATH_MAX], path[KPATH_MAX], missing[KPATH_MAX];
    struct buf b = {0};
    struct sc_err e = {0};
    json_t *w = NULL, *obj = NULL, *mp = NULL, *jp = NULL;
    struct kjson r = {0};

    if (c == NULL)
        return;
    snprintf(ns, sizeof(ns), "kit-bytes-%s", it_suffix());
    it_namespace(c, ns);
    it_widget_path(coll, sizeof(coll), ns, NULL, NULL);
    it_widget_path(path, sizeof(path), ns, "w1", NULL);
    it_widget_path(missing, sizeof(missing), ns, "nope", NULL);
    buf_init(&b, LIM_API_BODY);
    w = it_widget(ns, "w1", 3, NULL);
    CHECK_INT(kclient_create_bytes(c, coll, w, &b, &e), 0);
    CHECK_INT(kjson_parse(buf_str(&b), b.len, LIM_API_BODY, &obj, &e), 0);
    kjson_init(&r, obj, NULL);
    CHECK_STR(kjson_str(&r, "metadata.name"), "w1");
    CHECK_INT(kjson_int(&r, "spec.size", 0), 3);
    json_decref(obj);
    obj = NULL;
    /* the same create again: AlreadyExists, nothing appended */
    buf_reset(&b);
    CHECK_INT(kclient_create_bytes(c, coll, w, &b, &e), SC_EEXIST);
    CHECK_STR(e.reason, "AlreadyExists");
    CHECK_INT(b.len, 0);
    /* a merge patch: the patched object */
    mp = json_pack("{s:{s:s}}", "spec", "color", "blue");
    CHECK_INT(kclient_patch_bytes(c, path, KPATCH_MERGE, mp, &b, &e), 0);
    CHECK_INT(kjson_parse(buf_str(&b), b.len, LIM_API_BODY, &obj, &e), 0);
    kjson_init(&r, obj, NULL);
    CHECK_STR(kjson_str(&r, "spec.color"), "blue");
    /* a JSON patch whose resourceVersion test fails: a conflict, as
     * kclient_patch() reports it */
    jp = json_array();
    kpatch_add_op(jp, "test", "/metadata/resourceVersion", json_string("1"));
    kpatch_add_op(jp, "replace", "/spec/size", json_integer(4));
    buf_reset(&b);
    CHECK_INT(kclient_patch_bytes(c, path, KPATCH_JSON, jp, &b, &e), SC_ECONFLICT);
    /* not found */
    CHECK_INT(kclient_patch_bytes(c, missing, KPATCH_MERGE, mp, &b, &e), SC_ENOTFOUND);
    CHECK_STR(e.reason, "NotFound");
    buf_release(&b);
    /* an answer over the caller's cap */
    buf_init(&b, 64);
    e = (struct sc_err){0};
    CHECK_INT(kclient_patch_bytes(c, path, KPATCH_MERGE, mp, &b, &e), SC_ETOOBIG);
    CHECK(strstr(e.msg, "exceeds the 64 byte limit") != NULL);
    buf_release(&b);
    json_decref(jp);
    json_decref(mp);
    json_decref(obj);
    json_decref(w);
    kclient_free(c);
}

static int
sh(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(cmd, sizeof(cmd), fmt, a, b);
#pragma GCC diagnostic pop
    return system(cmd);
}

/* A token file that rotates is re-read: a valid ServiceAccount token is
 * accepted (403 or 200, not 401), garbage is 401, and a fresh token works
 * again without a new client. */
static void
test_token_file_rotation(void)
{
    const char *tools = getenv("TOOLS_BIN");
    struct kconfig *cfg = NULL;
    struct sc_err e = {0};
    char dir[] = "/tmp/kit-token-XXXXXX", tok[600];

    if (tools == NULL || getenv("KUBECONFIG") == NULL || kconfig_load(NULL, &cfg, &e) != 0) {
        CHECK(0);
        return;
    }
    CHECK(mkdtemp(dir) != NULL);
    snprintf(tok, sizeof(tok), "%s/token", dir);
    sh("%s/kubectl create serviceaccount kit-sa -n default >/dev/null 2>&1; true", tools, "");
    CHECK_INT(sh("%s/kubectl create token kit-sa -n default > %s", tools, tok), 0);
    free(cfg->cert_pem);
    free(cfg->key_pem);
    cfg->cert_pem = cfg->key_pem = NULL;
    cfg->token_file = strdup(tok);
    struct kclient *c = kclient_new(cfg, NULL, &e);
    kconfig_free(cfg);
    int rc = kclient_get(c, "/api/v1/namespaces/default", NULL, &e);
    CHECK(rc == 0 || rc == SC_EFORBIDDEN);
    if (rc == SC_EFORBIDDEN)
        CHECK(strstr(e.msg, "system:serviceaccount:default:kit-sa") != NULL);
    usleep(20000); /* a different mtime */
    CHECK_INT(sh("echo garbage-token > %s%s", tok, ""), 0);
    CHECK_INT(kclient_get(c, "/api/v1/namespaces/default", NULL, &e), SC_EUNAUTHORIZED);
    usleep(20000);
    CHECK_INT(sh("%s/kubectl create token kit-sa -n default > %s", tools, tok), 0);
    rc = kclient_get(c, "/api/v1/namespaces/default", NULL, &e);
    CHECK(rc == 0 || rc == SC_EFORBIDDEN);
    struct kclient_stats st = {0};
    kclient_get_stats(c, &st);
    CHECK(st.token_reloads >= 3);
    kclient_free(c);
    sh("rm -rf %s%s", dir, "");
}

static void
test_keepalive(void)
{
    struct kclient *c = it_client(-1, 1);
    struct sc_err e = {0};

    if (c == NULL)
        return;
    for (int i = 0; i < 20; i++)
        CHECK_INT(kclient_get(c, "/api/v1/namespaces/default", NULL, &e), 0);
    struct kclient_stats st = {0};
    kclient_get_stats(c, &st);
    CHECK_INT(st.requests, 20);
    CHECK_INT(st.connects, 1); /* one kept-alive HTTP/1.1 connection */
    kclient_free(c);
}

static int
drop_chunk(void *ctx, const char *data, size_t n)
{
    (void)data;
    *(size_t *)ctx += n;
    return 0;
}

/* A new connection offers the TLS session the API server gave the one
 * before, and the server takes it: each watch's connection (a stream never
 * takes a pooled one, and is closed at its end) is resumed, not a full
 * handshake, also after a resumed one was closed. */
static void
test_tls_session_resumed(void)
{
    struct kclient *c = it_client(-1, 1);
    struct kclient_stats st = {0};
    struct sc_err e = {0};
    size_t got = 0;

    if (c == NULL)
        return;
    CHECK_INT(kclient_get(c, "/api/v1/namespaces/default", NULL, &e), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(kclient_stream(c, "/api/v1/namespaces", "watch=1&timeoutSeconds=1", drop_chunk,
                                 &got, NULL, 10000, &e),
                  0);
    }
    CHECK(got > 0); /* the ADDED events of the namespaces there */
    kclient_get_stats(c, &st);
    CHECK_INT(st.connects, 1);
    CHECK_INT(st.resumed, 3);
    kclient_free(c);
}

/* The field managers kubectl shows for widget ns/name, "a,b" (kclient's
 * reads drop managedFields). */
static void
managers(const char *ns, const char *name, char *out, size_t cap)
{
    char cmd[512];
    FILE *p;
    size_t n = 0;

    snprintf(cmd, sizeof(cmd),
             "\"$TOOLS_BIN/kubectl\" -n %s get widgets.%s %s --show-managed-fields "
             "-o jsonpath='{.metadata.managedFields[*].manager}'",
             ns, W_GROUP, name);
    out[0] = '\0';
    p = popen(cmd, "r");
    if (p == NULL)
        return;
    n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    pclose(p);
    for (char *q = out; *q != '\0'; q++)
        if (*q == ' ')
            *q = ',';
}

/* One pooled handle through POST, GET, PATCH, DELETE and GET again (no
 * curl_easy_reset between them: each exchange sets its method and body
 * from a plain GET), with our User-Agent header: the API server names the
 * field manager after it. */
static void
test_methods_on_one_handle(void)
{
    struct kconfig *cfg = NULL;
    struct kclient_opts o = {0};
    struct kclient *c = NULL;
    struct sc_err e = {0};
    char ns[64], coll[KPATH_MAX], path[KPATH_MAX], mgrs[256];
    json_t *w, *out = NULL, *patch;
    struct kclient_stats st = {0};

    if (getenv("KUBECONFIG") == NULL || kconfig_load(NULL, &cfg, &e) != 0) {
        CHECK(0);
        return;
    }
    kclient_opts_default(&o);
    o.qps = -1;
    o.user_agent = "kclient-it/9.9 (test)";
    c = kclient_new(cfg, &o, &e);
    kconfig_free(cfg);
    if (c == NULL) {
        CHECK(c != NULL);
        return;
    }
    snprintf(ns, sizeof(ns), "kit-ua-%s", it_suffix());
    it_namespace(c, ns);
    it_widget_path(coll, sizeof(coll), ns, NULL, NULL);
    it_widget_path(path, sizeof(path), ns, "w1", NULL);
    w = it_widget(ns, "w1", 1, NULL);
    CHECK_INT(kclient_create(c, coll, w, NULL, &e), 0);
    json_decref(w);
    CHECK_INT(kclient_get(c, path, &out, &e), 0);
    CHECK_INT((int)json_integer_value(json_object_get(json_object_get(out, "spec"), "size")), 1);
    json_decref(out);
    out = NULL;
    managers(ns, "w1", mgrs, sizeof(mgrs));
    CHECK_STR(mgrs, "kclient-it"); /* named after our User-Agent header */
    patch = json_pack("{s:{s:i}}", "spec", "size", 7);
    CHECK_INT(kclient_patch(c, path, KPATCH_MERGE, patch, &out, &e), 0);
    json_decref(patch);
    CHECK_INT((int)json_integer_value(json_object_get(json_object_get(out, "spec"), "size")), 7);
    json_decref(out);
    out = NULL;
    CHECK_INT(kclient_delete(c, path, NULL, NULL, &e), 0);
    CHECK_INT(kclient_get(c, path, &out, &e), SC_ENOTFOUND);
    CHECK(out == NULL);
    CHECK_INT(kclient_get(c, coll, &out, &e), 0); /* the list: a GET after a DELETE */
    CHECK_INT((int)json_array_size(json_object_get(out, "items")), 0);
    json_decref(out);
    kclient_get_stats(c, &st);
    CHECK_INT(st.connects, 1);
    kclient_free(c);
}

/* A valid CA that did not sign the API server's certificate: refused at
 * the handshake (the kubeconfig's CA is the only one trusted). */
static void
test_other_ca_is_refused(void)
{
    struct kconfig *cfg = NULL;
    struct sc_err e = {0};
    char path[512];

    if (getenv("KUBECONFIG") == NULL || kconfig_load(NULL, &cfg, &e) != 0) {
        CHECK(0);
        return;
    }
    free(cfg->ca_pem);
    cfg->ca_pem = NULL;
    snprintf(path, sizeof(path), "%s/webhook/certs/a.crt", harness_data_dir());
    CHECK_INT(kfile_read(path, 1 << 16, &cfg->ca_pem, &cfg->ca_len, NULL), 0);
    struct kclient *c = kclient_new(cfg, NULL, &e);
    kconfig_free(cfg);
    CHECK(c != NULL);
    CHECK_INT(kclient_get(c, "/api/v1/namespaces", NULL, &e), SC_EIO);
    CHECK(strstr(e.msg, "certificate") != NULL || strstr(e.msg, "SSL") != NULL);
    kclient_free(c);
}

/* A port on loopback that nothing listens on (bound, then closed). */
static int
closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The proxy variables still count (curl reads them when one is set at the
 * client's start), and without them requests go straight to the server. */
static void
test_proxy_environment(void)
{
    static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                       "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
    char *saved[sizeof(vars) / sizeof(vars[0])];
    char proxy[64];
    struct sc_err e = {0};
    struct kclient *c = NULL;
    int port = closed_port();

    CHECK(port > 0);
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);

        saved[i] = v != NULL ? strdup(v) : NULL;
        unsetenv(vars[i]);
    }
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", port);
    setenv("https_proxy", proxy, 1);
    setenv("http_proxy", proxy, 1);
    c = it_client(-1, 1);
    CHECK(c != NULL);
    CHECK_INT(kclient_get(c, "/api/v1/namespaces", NULL, &e), SC_EIO);
    CHECK(strstr(e.msg, "onnect") != NULL); /* the proxy's port refused the connection */
    kclient_free(c);

    unsetenv("https_proxy");
    unsetenv("http_proxy");
    c = it_client(-1, 1);
    CHECK(c != NULL);
    json_t *o = NULL;
    CHECK_INT(kclient_get(c, "/api/v1/namespaces", &o, &e), 0);
    json_decref(o);
    /* a variable set after the start changes nothing for this client */
    setenv("https_proxy", proxy, 1);
    setenv("http_proxy", proxy, 1);
    o = NULL;
    CHECK_INT(kclient_get(c, "/api/v1/namespaces", &o, &e), 0);
    json_decref(o);
    kclient_free(c);

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (saved[i] != NULL)
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
    }
}

TEST_MAIN(TEST(test_proxy_environment), TEST(test_other_ca_is_refused),
          TEST(test_methods_on_one_handle), TEST(test_token_file_rotation), TEST(test_keepalive),
          TEST(test_oversized_body), TEST(test_crud_status_patch_conflict),
          TEST(test_pagination_1000), TEST(test_rate_limit_real), TEST(test_served),
          TEST(test_bad_token_unauthorized), TEST(test_wrong_ca_is_transport_error),
          TEST(test_tls_session_resumed), TEST(test_write_answers_as_bytes))
