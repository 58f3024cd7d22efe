/// A C-callable shim over RE2 (Debian: libre2-dev): compile a pattern once, then test whole
/// strings against it in time linear in their length, from any number of threads.
#ifndef CRE2_H
#define CRE2_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A compiled RE2 pattern (UTF-8, RE2 syntax as Prometheus uses it). Immutable once made;
/// matching is safe from any number of threads at once.
typedef struct pe_re2_pattern pe_re2_pattern;

/// Compiles `len` bytes of `pattern`. Returns NULL when RE2 refuses it; then `*error` (when
/// `error` is not NULL) is a NUL-terminated copy of RE2's reason, to be freed with
/// `pe_re2_free_error`. Nothing is logged.
pe_re2_pattern *pe_re2_compile(const char *pattern, size_t len, char **error);

/// 1 when the whole of `text` (`len` bytes) matches, else 0: RE2::FullMatch, no partial matches.
int pe_re2_full_match(const pe_re2_pattern *pattern, const char *text, size_t len);

/// Frees a pattern from `pe_re2_compile`; NULL is allowed.
void pe_re2_free(pe_re2_pattern *pattern);

/// Frees an error string from `pe_re2_compile`; NULL is allowed.
void pe_re2_free_error(char *error);

#ifdef __cplusplus
}
#endif

#endif
