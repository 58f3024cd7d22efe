#ifndef PROGRESS_EXPORTER_CISAL_SHIM_H
#define PROGRESS_EXPORTER_CISAL_SHIM_H
#include <isa-l/igzip_lib.h>
#include <isa-l/crc.h>

/* The level buffer sizes are macro expressions, which Swift does not import: the library's
   default size of the buffer isal_deflate needs for levels 1 to 3 (0 for level 0, which needs none). */
static inline unsigned int pe_isal_level_buf_size(int level)
{
    switch (level) {
    case 1: return ISAL_DEF_LVL1_DEFAULT;
    case 2: return ISAL_DEF_LVL2_DEFAULT;
    case 3: return ISAL_DEF_LVL3_DEFAULT;
    default: return 0;
    }
}

/* Whether the stream has written its last block and the gzip trailer. */
static inline int pe_isal_finished(const struct isal_zstream *stream)
{
    return stream->internal_state.state == ZSTATE_END;
}

#endif
