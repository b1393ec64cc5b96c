/* kube/kconfig.c -- kubeconfig (libyaml document API) and in-cluster config. */
#include "kube/kconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "common/limits.h"
#include "kube/kinternal.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kc_parse {
    yaml_document_t *doc;
    const char *name; /* file name for messages */
    const char *dir;  /* base for relative paths */
    struct sc_err *err;
};

void
kconfig_free(struct kconfig *c)
{
    if (c == NULL)
        return;
    free(c->source);
    free(c->server);
    free(c->ca_pem);
    free(c->tls_server_name);
    free(c->cert_pem);
    if (c->key_pem != NULL) {
        explicit_bzero(c->key_pem, c->key_len);
        free(c->key_pem);
    }
    if (c->token != NULL) {
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
    }
    free(c->token_file);
    free(c->namespace);
    free(c);
}

static int
fail(struct kc_parse *p, int code, const char *field, const char *what)
{
    return sc_err_set(p->err, code, "%s: %s: %s", p->name, field, what);
}

/* Value node of key in mapping node m, or NULL. */
static yaml_node_t *
map_get(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
    yaml_node_pair_t *pair;

    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(doc, pair->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE && strlen(key) == k->data.scalar.length &&
            memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
            return yaml_document_get_node(doc, pair->value);
    }
    return NULL;
}

static bool
is_null_scalar(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "null") == 0 || strcmp(v, "~") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Read an optional scalar string at key of m.  *out is borrowed from the
 * document (NULL when absent or null).  field names it for errors. */
static int
get_str(struct kc_parse *p, yaml_node_t *m, const char *key, const char *field, const char **out)
{
    yaml_node_t *v = map_get(p->doc, m, key);

    *out = NULL;
    if (v == NULL || is_null_scalar(v))
        return 0;
    if (v->type != YAML_SCALAR_NODE)
        return fail(p, SC_EINVALID, field, "expected a string");
    if (strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
        return fail(p, SC_EINVALID, field, "contains a NUL byte");
    *out = (const char *)v->data.scalar.value;
    return 0;
}

static int
get_bool(struct kc_parse *p, yaml_node_t *m, const char *key, const char *field, bool *out)
{
    const char *s;
    int rc = get_str(p, m, key, field, &s);

    *out = false;
    if (rc != 0 || s == NULL)
        return rc;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "yes"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE") || !strcmp(s, "no"))
        *out = false;
    else
        return fail(p, SC_EINVALID, field, "expected true or false");
    return 0;
}

/* Find the entry of the named list (clusters/users/contexts) whose "name" is
 * want; returns its inner mapping (key inner) in *out and that mapping's
 * path ("clusters[2].cluster", for error messages) in prefix (cap bytes). */
static int
find_named(struct kc_parse *p, const char *list, const char *inner, const char *want,
           yaml_node_t **out, char *prefix, size_t cap)
{
    yaml_node_t *root = yaml_document_get_root_node(p->doc);
    yaml_node_t *seq = map_get(p->doc, root, list);
    char field[128];

    *out = NULL;
    if (seq == NULL || is_null_scalar(seq))
        return sc_err_set(p->err, SC_EINVALID, "%s: %s: no entry named \"%s\"", p->name, list,
                          want);
    if (seq->type != YAML_SEQUENCE_NODE)
        return fail(p, SC_EINVALID, list, "expected a list");
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        int i = (int)(it - seq->data.sequence.items.start);
        yaml_node_t *e = yaml_document_get_node(p->doc, *it);
        const char *name;
        int rc;

        snprintf(field, sizeof(field), "%s[%d]", list, i);
        if (e == NULL || e->type != YAML_MAPPING_NODE)
            return fail(p, SC_EINVALID, field, "expected a mapping");
        snprintf(field, sizeof(field), "%s[%d].name", list, i);
        rc = get_str(p, e, "name", field, &name);
        if (rc != 0)
            return rc;
        if (name == NULL || want == NULL || strcmp(name, want) != 0)
            continue;
        yaml_node_t *in = map_get(p->doc, e, inner);
        snprintf(field, sizeof(field), "%s[%d].%s", list, i, inner);
        if (in == NULL || is_null_scalar(in))
            return fail(p, SC_EINVALID, field, "missing");
        if (in->type != YAML_MAPPING_NODE)
            return fail(p, SC_EINVALID, field, "expected a mapping");
        *out = in;
        snprintf(prefix, cap, "%s", field);
        return 0;
    }
    return sc_err_set(p->err, SC_EINVALID, "%s: %s: no entry named \"%s\"", p->name, list, want);
}

static char *
resolve(const char *dir, const char *path)
{
    char *out;

    if (path[0] == '/' || dir == NULL || dir[0] == '\0')
        return strdup(path);
    if (asprintf(&out, "%s/%s", dir, path) < 0)
        return NULL;
    return out;
}

/* Fill *data from "<key>-data" (base64) or "<key>" (a file). */
static int
get_blob(struct kc_parse *p, yaml_node_t *m, const char *prefix, const char *key, char **data,
         size_t *len)
{
    char field[160], dkey[64];
    const char *b64, *file;
    int rc;

    snprintf(dkey, sizeof(dkey), "%s-data", key);
    snprintf(field, sizeof(field), "%s.%s", prefix, dkey);
    rc = get_str(p, m, dkey, field, &b64);
    if (rc != 0)
        return rc;
    if (b64 != NULL && b64[0] != '\0') {
        if (strlen(b64) > LIM_CERT_FILE * 4 / 3 + 4)
            return fail(p, SC_ETOOBIG, field, "too large");
        rc = kbase64_decode(b64, strlen(b64), data, len);
        if (rc == SC_ENOMEM)
            return fail(p, rc, field, "out of memory");
        if (rc != 0)
            return fail(p, SC_EINVALID, field, "invalid base64");
        if (*len == 0)
            return fail(p, SC_EINVALID, field, "empty");
        return 0;
    }
    snprintf(field, sizeof(field), "%s.%s", prefix, key);
    rc = get_str(p, m, key, field, &file);
    if (rc != 0 || file == NULL || file[0] == '\0')
        return rc;
    char *path = resolve(p->dir, file);
    if (path == NULL)
        return fail(p, SC_ENOMEM, field, "out of memory");
    struct sc_err ferr = {0};
    rc = kfile_read(path, LIM_CERT_FILE, data, len, &ferr);
    free(path);
    if (rc != 0)
        return sc_err_set(p->err, rc, "%s: %s: %s", p->name, field, ferr.msg);
    return 0;
}

static int
dup_opt(struct kc_parse *p, const char *s, char **out)
{
    if (s == NULL)
        return 0;
    *out = strdup(s);
    return *out ? 0 : sc_err_set(p->err, SC_ENOMEM, "%s: out of memory", p->name);
}

/* Read prefix.key as a string into *out (borrowed). */
static int
get_field(struct kc_parse *p, yaml_node_t *m, const char *prefix, const char *key, const char **out)
{
    char f[160];

    snprintf(f, sizeof(f), "%s.%s", prefix, key);
    return get_str(p, m, key, f, out);
}

/* Copy a non-empty optional string. */
static int
dup_nonempty(struct kc_parse *p, const char *s, char **out)
{
    return (s != NULL && s[0] != '\0') ? dup_opt(p, s, out) : 0;
}

struct kc_names {
    const char *cluster, *user;
};

static int
build_context(struct kc_parse *p, yaml_node_t *root, struct kconfig *c, struct kc_names *n)
{
    yaml_node_t *ctx = NULL;
    const char *cur, *ns;
    char prefix[128], f[160];
    int rc;

    rc = get_str(p, root, "current-context", "current-context", &cur);
    if (rc != 0)
        return rc;
    if (cur == NULL || cur[0] == '\0')
        return fail(p, SC_EINVALID, "current-context", "missing");
    rc = find_named(p, "contexts", "context", cur, &ctx, prefix, sizeof(prefix));
    if (rc != 0)
        return rc;
    if ((rc = get_field(p, ctx, prefix, "cluster", &n->cluster)) != 0)
        return rc;
    if (n->cluster == NULL || n->cluster[0] == '\0') {
        snprintf(f, sizeof(f), "%s.cluster", prefix);
        return fail(p, SC_EINVALID, f, "missing");
    }
    if ((rc = get_field(p, ctx, prefix, "user", &n->user)) != 0)
        return rc;
    if ((rc = get_field(p, ctx, prefix, "namespace", &ns)) != 0)
        return rc;
    return dup_opt(p, ns, &c->namespace);
}

/* The cluster mapping cl, found at prefix. */
static int
build_cluster(struct kc_parse *p, yaml_node_t *cl, const char *prefix, struct kconfig *c)
{
    const char *server, *tsn;
    char f[160];
    int rc;

    snprintf(f, sizeof(f), "%s.server", prefix);
    if ((rc = get_str(p, cl, "server", f, &server)) != 0)
        return rc;
    if (server == NULL || server[0] == '\0')
        return fail(p, SC_EINVALID, f, "missing");
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return fail(p, SC_EINVALID, f, "must start with https:// or http://");
    if ((rc = dup_opt(p, server, &c->server)) != 0)
        return rc;
    size_t sl = strlen(c->server);
    while (sl > 0 && c->server[sl - 1] == '/')
        c->server[--sl] = '\0';
    snprintf(f, sizeof(f), "%s.insecure-skip-tls-verify", prefix);
    if ((rc = get_bool(p, cl, "insecure-skip-tls-verify", f, &c->insecure)) != 0)
        return rc;
    if ((rc = get_field(p, cl, prefix, "tls-server-name", &tsn)) != 0)
        return rc;
    if ((rc = dup_nonempty(p, tsn, &c->tls_server_name)) != 0)
        return rc;
    return get_blob(p, cl, prefix, "certificate-authority", &c->ca_pem, &c->ca_len);
}

/* tokenFile: resolved against the kubeconfig's directory and readable now;
 * the client re-reads it later. */
static int
build_token_file(struct kc_parse *p, const char *prefix, const char *tokf, struct kconfig *c)
{
    char f[160], *t = NULL;
    struct sc_err ferr = {0};
    int rc;

    snprintf(f, sizeof(f), "%s.tokenFile", prefix);
    c->token_file = resolve(p->dir, tokf);
    if (c->token_file == NULL)
        return fail(p, SC_ENOMEM, f, "out of memory");
    rc = kfile_read(c->token_file, LIM_TOKEN_FILE, &t, NULL, &ferr);
    free(t);
    if (rc != 0)
        return sc_err_set(p->err, rc, "%s: %s: %s", p->name, f, ferr.msg);
    return 0;
}

/* The user mapping us, found at prefix. */
static int
build_user(struct kc_parse *p, yaml_node_t *us, const char *prefix, struct kconfig *c)
{
    const char *tok, *tokf;
    char f[160];
    int rc;

    if ((rc = get_blob(p, us, prefix, "client-certificate", &c->cert_pem, &c->cert_len)) != 0)
        return rc;
    if ((rc = get_blob(p, us, prefix, "client-key", &c->key_pem, &c->key_len)) != 0)
        return rc;
    if ((c->cert_pem == NULL) != (c->key_pem == NULL)) {
        snprintf(f, sizeof(f), "%s.%s", prefix, c->cert_pem ? "client-key" : "client-certificate");
        return fail(p, SC_EINVALID, f, "missing (certificate and key come in pairs)");
    }
    if ((rc = get_field(p, us, prefix, "token", &tok)) != 0)
        return rc;
    if ((rc = dup_nonempty(p, tok, &c->token)) != 0)
        return rc;
    if ((rc = get_field(p, us, prefix, "tokenFile", &tokf)) != 0)
        return rc;
    if (tokf != NULL && tokf[0] != '\0' && c->token == NULL)
        return build_token_file(p, prefix, tokf, c);
    return 0;
}

static int
build(struct kc_parse *p, struct kconfig *c)
{
    yaml_node_t *root = yaml_document_get_root_node(p->doc), *node = NULL;
    struct kc_names n = {0};
    char prefix[128];
    int rc;

    if (root == NULL || is_null_scalar(root))
        return sc_err_set(p->err, SC_EINVALID, "%s: empty document", p->name);
    if (root->type != YAML_MAPPING_NODE)
        return sc_err_set(p->err, SC_EINVALID, "%s: expected a mapping at the top", p->name);
    if ((rc = build_context(p, root, c, &n)) != 0)
        return rc;
    rc = find_named(p, "clusters", "cluster", n.cluster, &node, prefix, sizeof(prefix));
    if (rc != 0 || (rc = build_cluster(p, node, prefix, c)) != 0)
        return rc;
    if (n.user == NULL || n.user[0] == '\0')
        return 0;
    if ((rc = find_named(p, "users", "user", n.user, &node, prefix, sizeof(prefix))) != 0)
        return rc;
    return build_user(p, node, prefix, c);
}

int
kconfig_parse(const char *yaml, size_t len, const char *name, const char *dir, struct kconfig **out,
              struct sc_err *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct kconfig *c = NULL;
    struct kc_parse p = {.doc = &doc, .name = name ? name : "kubeconfig", .dir = dir, .err = err};
    int rc;

    if (len > LIM_KUBECONFIG_FILE)
        return sc_err_set(err, SC_ETOOBIG, "%s: exceeds the %u byte limit", p.name,
                          LIM_KUBECONFIG_FILE);
    if (!yaml_parser_initialize(&parser))
        return sc_err_set(err, SC_ENOMEM, "%s: out of memory", p.name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = sc_err_set(err, SC_EINVALID, "%s: yaml error at line %zu column %zu: %s", p.name,
                        parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                        parser.problem ? parser.problem : "unknown");
        yaml_parser_delete(&parser);
        return rc;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        rc = sc_err_set(err, SC_ENOMEM, "%s: out of memory", p.name);
        goto out;
    }
    rc = build(&p, c);
    if (rc == 0) {
        c->source = strdup(p.name);
        if (c->source == NULL)
            rc = sc_err_set(err, SC_ENOMEM, "%s: out of memory", p.name);
    }
    if (rc != 0) {
        kconfig_free(c);
        goto out;
    }
    *out = c;
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int
kconfig_load_file(const char *path, struct kconfig **out, struct sc_err *err)
{
    char *data, *dir, *slash;
    size_t len;
    int rc;

    rc = kfile_read(path, LIM_KUBECONFIG_FILE, &data, &len, err);
    if (rc != 0)
        return rc;
    dir = strdup(path);
    if (dir == NULL) {
        free(data);
        return sc_err_set(err, SC_ENOMEM, "%s: out of memory", path);
    }
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        dir[0] = '\0';
    rc = kconfig_parse(data, len, path, slash ? (dir[0] ? dir : "/") : NULL, out, err);
    free(dir);
    free(data);
    return rc;
}

/* The service account's namespace file, trimmed; NULL when absent or
 * empty (caller frees). */
static char *
sa_namespace(const char *sa_dir)
{
    char path[1024];
    char *ns = NULL;
    size_t n;

    snprintf(path, sizeof(path), "%s/namespace", sa_dir);
    if (kfile_read(path, 4096, &ns, NULL, NULL) != 0)
        return NULL;
    n = strlen(ns);
    while (n > 0 && (ns[n - 1] == '\n' || ns[n - 1] == ' ' || ns[n - 1] == '\r'))
        ns[--n] = '\0';
    if (n > 0)
        return ns;
    free(ns);
    return NULL;
}

int
kconfig_in_cluster(const char *host, const char *port, const char *sa_dir, struct kconfig **out,
                   struct sc_err *err)
{
    struct kconfig *c = NULL;
    char path[1024];
    int rc;

    if (host == NULL)
        host = getenv("KUBERNETES_SERVICE_HOST");
    if (port == NULL)
        port = getenv("KUBERNETES_SERVICE_PORT");
    if (sa_dir == NULL)
        sa_dir = SA_DIR;
    if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0')
        return sc_err_set(err, SC_ENOTFOUND,
                          "not running in a cluster: KUBERNETES_SERVICE_HOST and "
                          "KUBERNETES_SERVICE_PORT must be set");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    c->source = strdup("in-cluster");
    if (strchr(host, ':') != NULL)
        rc = asprintf(&c->server, "https://[%s]:%s", host, port);
    else
        rc = asprintf(&c->server, "https://%s:%s", host, port);
    if (rc < 0 || c->source == NULL) {
        c->server = NULL;
        kconfig_free(c);
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    }
    snprintf(path, sizeof(path), "%s/token", sa_dir);
    {
        char *t = NULL;
        rc = kfile_read(path, LIM_TOKEN_FILE, &t, NULL, err);
        free(t);
        if (rc != 0) {
            kconfig_free(c);
            return sc_err_wrap(err, rc, "in-cluster config");
        }
    }
    c->token_file = strdup(path);
    snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
    rc = kfile_read(path, LIM_CERT_FILE, &c->ca_pem, &c->ca_len, err);
    if (rc != 0 || c->token_file == NULL) {
        kconfig_free(c);
        return sc_err_wrap(err, rc ? rc : SC_ENOMEM, "in-cluster config");
    }
    c->namespace = sa_namespace(sa_dir);
    *out = c;
    return 0;
}

int
kconfig_load(const char *flag_path, struct kconfig **out, struct sc_err *err)
{
    const char *env;

    if (flag_path != NULL && flag_path[0] != '\0')
        return kconfig_load_file(flag_path, out, err);
    env = getenv("KUBECONFIG");
    if (env != NULL && env[0] != '\0') {
        char *list = strdup(env), *save = NULL, *first = NULL;
        int rc = SC_ENOTFOUND;
        if (list == NULL)
            return sc_err_set(err, SC_ENOMEM, "out of memory");
        for (char *tok = strtok_r(list, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
            struct stat st = {0};
            if (first == NULL)
                first = tok;
            if (stat(tok, &st) == 0) {
                rc = kconfig_load_file(tok, out, err);
                free(list);
                return rc;
            }
        }
        if (first != NULL)
            rc = sc_err_set(err, SC_EIO, "KUBECONFIG: %s: no such file", first);
        else
            rc = sc_err_set(err, SC_EINVALID, "KUBECONFIG: no file named");
        free(list);
        return rc;
    }
    return kconfig_in_cluster(NULL, NULL, NULL, out, err);
}
