/* libFuzzer target: the HTTP/1.1 response parser of our own client
 * (khttp_parse_bytes in kube/khttp.c): status line, headers, Content-Length,
 * chunked framing with extensions and trailers, interim responses, bodies
 * to the end of the connection.  The first input byte picks how many bytes
 * each read hands out (1 to 256) and whether the request was a HEAD, so
 * every split of the framing is tried.  Besides the sanitizers, it checks
 * that the parser agrees with itself: the same input split otherwise gives
 * the same result, status and body, and a body never exceeds the input.
 *
 * Build and run: tests/fuzz/run.sh (FUZZ_ONLY=kube_http).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "kube/khttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
collect(void *ctx, int status, const char *p, size_t n)
{
    (void)status;
    return buf_add(ctx, p, n) != 0 ? SC_ETOOBIG : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct khttp_resp a = {0}, b = {0};
    struct sc_err ea = {0}, eb = {0};
    struct buf ba = {0}, bb = {0};
    bool ra, rb;
    int rca, rcb;

    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] & 0x7f) * 2 + 1;
    const char *method = (data[0] & 0x80) ? "HEAD" : "GET";
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    buf_init(&ba, 1u << 20);
    buf_init(&bb, 1u << 20);
    rca = khttp_parse_bytes(in, n, chunk, method, collect, &ba, &a, &ra, &ea);
    rcb = khttp_parse_bytes(in, n, n + 1, method, collect, &bb, &b, &rb, &eb);
    if (rca != rcb || (rca == 0 && (a.status != b.status || ra != rb || ba.len != bb.len ||
                                    memcmp(buf_str(&ba), buf_str(&bb), ba.len) != 0 ||
                                    strcmp(a.retry_after, b.retry_after) != 0)))
        abort();
    if (ba.len > n)
        abort();
    if (rca != 0 && ea.msg[0] == '\0')
        abort(); /* every refusal says why */
    buf_release(&ba);
    buf_release(&bb);
    return 0;
}
