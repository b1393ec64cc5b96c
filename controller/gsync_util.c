/* controller/gsync_util.c -- group helpers that are not a sync step:
 * member object names, group secret templates, and the hooks the
 * VolumeSnapshot side (snapshot_sync.c) asks about groups (gsync.h). */
#include "controller/gsync.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/limits.h"
#include "controller/sync_int.h"

/* ---- member names ---- */

int
gsync_member_names(const char *vgs_uid, const char *volume_handle, char *vs_name, char *vsc_name,
                   size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0, i;
    char h[2 * EVP_MAX_MD_SIZE + 1];
    EVP_MD_CTX *ctx;
    int ok;

    if (cap < GSYNC_MEMBER_NAME_LEN)
        return SC_ETOOBIG;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return SC_ENOMEM;
    /* the plain concatenation, no separator (upstream) */
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, vgs_uid, strlen(vgs_uid)) == 1 &&
         EVP_DigestUpdate(ctx, volume_handle, strlen(volume_handle)) == 1 &&
         EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return SC_ENOMEM;
    for (i = 0; i < md_len; i++) {
        h[(size_t)i * 2] = hex[md[i] >> 4];
        h[(size_t)i * 2 + 1] = hex[md[i] & 15];
    }
    h[(size_t)md_len * 2] = '\0';
    snprintf(vs_name, cap, "snapshot-%s", h);
    snprintf(vsc_name, cap, "snapcontent-%s", h);
    return 0;
}

/* ---- group secret templates (os.Expand semantics) ---- */

int
gsync_secret_ref(const struct gclass *cls, const char *content_name, const char *vgs_ns,
                 const char *vgs_name, bool *has_ref, char *name, char *ns, size_t cap,
                 struct sc_err *err)
{
    const struct tmpl_param ns_params[] = {
        {"volumegroupsnapshotcontent.name", content_name},
        {"volumegroupsnapshot.namespace", vgs_ns},
    };
    const struct tmpl_param name_params[] = {
        {"volumegroupsnapshotcontent.name", content_name},
        {"volumegroupsnapshot.name", vgs_name},
        {"volumegroupsnapshot.namespace", vgs_ns},
    };
    int rc;

    *has_ref = false;
    if (cls->has_secret_name != cls->has_secret_ns)
        return sc_err_set(err, SC_EINVALID,
                          "failed to get name and namespace template from params: either name and "
                          "namespace for GroupSnapshotter secrets specified, Both must be "
                          "specified");
    if (!cls->has_secret_name)
        return 0;
    if (cls->secret_name == NULL || cls->secret_name[0] == '\0' || cls->secret_ns == NULL ||
        cls->secret_ns[0] == '\0')
        return sc_err_set(err, SC_EINVALID,
                          "failed to get name and namespace template from params: "
                          "GroupSnapshotter secrets specified in parameters but value of either "
                          "namespace or name is empty");
    rc = sync_resolve_secret_template(cls->secret_ns, ns_params, SC_ARRAY_LEN(ns_params), true, ns,
                                      cap, err);
    if (rc == 0)
        rc = sync_resolve_secret_template(cls->secret_name, name_params, SC_ARRAY_LEN(name_params),
                                          false, name, cap, err);
    if (rc == 0)
        *has_ref = true;
    return rc;
}

/* ---- hooks for the VolumeSnapshot side ---- */

bool
gsync_group_exists(struct cstore *groups, const char *ns, const char *name)
{
    char key[LIM_KEY];
    struct cmeta *m = NULL;
    bool gone;

    if (groups == NULL || ns == NULL || name == NULL || name[0] == '\0')
        return false;
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    m = cstore_get(groups, key);
    /* deleting with no finalizer left: the API server removed it already
     * (a write response may reach the store after the delete event) */
    gone = m == NULL || (m->deleting && m->n_fins == 0);
    cview_unref(m);
    return !gone;
}

void
gsync_member_delete_msg(const char *ns, const char *vs, const char *vgs, char *out, size_t cap)
{
    snprintf(out, cap,
             "deletion of the individual volume snapshot %s/%s is not allowed as it belongs to "
             "group snapshot %s/%s. Deleting the group snapshot will trigger the deletion of all "
             "the individual volume snapshots that are part of the group.",
             ns, vs, ns, vgs);
}

struct handle_scan {
    const char *handle;
    char name[LIM_KEY];
    bool found;
};

static int
handle_fn(const struct cmeta *m, void *arg)
{
    const struct gvgsc *c = (const struct gvgsc *)m;
    struct handle_scan *s = arg;

    if (c->group_handle != NULL && strcmp(c->group_handle, s->handle) == 0 && c->ref_name != NULL) {
        snprintf(s->name, sizeof(s->name), "%s", c->ref_name);
        s->found = true;
        return 1;
    }
    return 0;
}

bool
gsync_group_name_for_handle(struct cstore *group_contents, const char *handle, char *out,
                            size_t cap)
{
    struct handle_scan s = {0};

    if (group_contents == NULL || handle == NULL || cap == 0)
        return false;
    memset(&s, 0, sizeof(s));
    s.handle = handle;
    cstore_each(group_contents, handle_fn, &s);
    if (s.found)
        snprintf(out, cap, "%s", s.name);
    return s.found;
}
