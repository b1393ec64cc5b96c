/* libFuzzer target: kubeconfig YAML parsing (kube/kconfig.c).
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 \
 *     -D_GNU_SOURCE -DSC_VERSION='"fuzz"' -I. -pthread \
 *     $(pkg-config --cflags libcurl jansson yaml-0.1 openssl) \
 *     -o build-fuzz/kube_kubeconfig_fuzz tests/fuzz/kube_kubeconfig_fuzz.c kube/k*.c
 * common/[a-z]*.c \
 *     $(pkg-config --libs libcurl jansson yaml-0.1 openssl) -lm
 *   build-fuzz/kube_kubeconfig_fuzz -max_total_time=30 tests/fuzz/corpus/kube_kubeconfig_fuzz
 *
 * Any input must give either a config or an error naming the source; never a
 * crash, leak or sanitizer report.  Relative file references resolve under a
 * directory that does not exist, so inputs cannot read the fuzzer's files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kconfig *c = NULL;
    struct sc_err e = {0};
    int rc = kconfig_parse((const char *)data, size, "fuzz.yaml", "/nonexistent-fuzz-dir", &c, &e);

    if (rc == 0) {
        if (c == NULL || c->server == NULL)
            abort();
        kconfig_free(c);
    } else {
        if (c != NULL || strncmp(e.msg, "fuzz.yaml", 9) != 0)
            abort();
    }
    return 0;
}
