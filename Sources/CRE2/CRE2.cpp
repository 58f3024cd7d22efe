#include "CRE2.h"

#include <re2/re2.h>

#include <cstdlib>
#include <cstring>
#include <string>

struct pe_re2_pattern {
    re2::RE2 regex;
    pe_re2_pattern(const re2::StringPiece &source, const re2::RE2::Options &options) : regex(source, options) {}
};

namespace {

char *copy_error(const std::string &text) {
    char *copy = static_cast<char *>(std::malloc(text.size() + 1));
    if (copy != nullptr) {
        std::memcpy(copy, text.data(), text.size());
        copy[text.size()] = '\0';
    }
    return copy;
}

}  // namespace

extern "C" pe_re2_pattern *pe_re2_compile(const char *pattern, size_t len, char **error) {
    if (error != nullptr) *error = nullptr;
    re2::RE2::Options options;  // UTF-8, leftmost-first, RE2's default memory budget (8 MiB)
    options.set_log_errors(false);
    pe_re2_pattern *compiled = nullptr;
    // No C++ exception may cross into Swift.
    try {
        compiled = new pe_re2_pattern(re2::StringPiece(pattern == nullptr ? "" : pattern, len), options);
    } catch (...) {
        if (error != nullptr) *error = copy_error("out of memory");
        return nullptr;
    }
    if (!compiled->regex.ok()) {
        if (error != nullptr) *error = copy_error(compiled->regex.error());
        delete compiled;
        return nullptr;
    }
    return compiled;
}

extern "C" int pe_re2_full_match(const pe_re2_pattern *pattern, const char *text, size_t len) {
    if (pattern == nullptr) return 0;
    try {
        return re2::RE2::FullMatch(re2::StringPiece(text == nullptr ? "" : text, len), pattern->regex) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

extern "C" void pe_re2_free(pe_re2_pattern *pattern) { delete pattern; }

extern "C" void pe_re2_free_error(char *error) { std::free(error); }
