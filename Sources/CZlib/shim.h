#ifndef PROGRESS_EXPORTER_CZLIB_SHIM_H
#define PROGRESS_EXPORTER_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2 and inflateInit2 are macros, which Swift does not import; these wrappers
   call them with a gzip wrapper (windowBits 15 + 16) and the library's defaults otherwise. */

static inline int pe_deflate_init_gzip(z_streamp stream, int level)
{
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

/* 15 + 16 accepts the gzip wrapper only (32 would also accept zlib's). */
static inline int pe_inflate_init_gzip(z_streamp stream)
{
    return inflateInit2(stream, 15 + 16);
}

#endif
