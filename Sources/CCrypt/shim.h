#ifndef PROGRESS_EXPORTER_CCRYPT_SHIM_H
#define PROGRESS_EXPORTER_CCRYPT_SHIM_H
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <crypt.h>

/* libcrypt's crypt_r (Debian: libcrypt-dev, libxcrypt) for bcrypt hashes ($2b$, $2y$, $2a$).
   Hashes `phrase` with the salt and cost of `setting` into `out` (NUL-terminated). Returns the
   length written, or -1 when the setting is not one crypt understands or `out` is too small.
   Its work area (about 32 KB) is allocated per call, so calls on different threads never share one. */
static inline long pe_crypt(const char *phrase, const char *setting, char *out, size_t capacity)
{
    struct crypt_data *data = calloc(1, sizeof *data);
    if (data == NULL) return -1;
    const char *hash = crypt_r(phrase, setting, data);
    long written = -1;
    /* libxcrypt fails with NULL or with a string starting '*' (never a valid hash). */
    if (hash != NULL && hash[0] != '*') {
        size_t length = strlen(hash);
        if (length < capacity) {
            memcpy(out, hash, length + 1);
            written = (long)length;
        }
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return written;
}

#endif
