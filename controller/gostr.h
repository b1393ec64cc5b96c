/* controller/gostr.h -- Go-compatible string formatting that upstream's
 * messages depend on: strconv.Quote (the %q verb) and the BinarySI form of
 * resource.Quantity.
 *
 * Both append to a caller-owned struct buf and return 0 or SC_ETOOBIG.
 */
#ifndef SC_GOSTR_H
#define SC_GOSTR_H

#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"

/* Append s quoted as Go's %q does: "..." with \" \\ \n \t \r \a \b \f \v
 * escaped, other control bytes and invalid UTF-8 as \x.., U+007F and
 * non-printable runes as \u..../\U........; valid printable UTF-8 is kept. */
SC_MUST_CHECK int gostr_quote(struct buf *b, const char *s);

/* Append a byte count as resource.Quantity in BinarySI format, the way
 * upstream's restoreSize reads: 1073741824 -> "1Gi", 1000 -> "1000",
 * 1536 -> "1536", 0 -> "0". */
SC_MUST_CHECK int gostr_quantity_binsi(struct buf *b, int64_t bytes);

#endif
