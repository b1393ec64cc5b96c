/* common/compiler.h -- attribute macros shared by every component. */
#ifndef SC_COMPILER_H
#define SC_COMPILER_H

#define SC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define SC_MUST_CHECK        __attribute__((warn_unused_result))
#define SC_UNUSED            __attribute__((unused))
#define SC_ARRAY_LEN(a)      (sizeof(a) / sizeof((a)[0]))

#endif
