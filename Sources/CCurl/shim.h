// libcurl (Debian: libcurl4-openssl-dev) for alert delivery and event streams. curl_easy_setopt and curl_easy_getinfo are
// variadic, which Swift cannot call; these typed wrappers can. Nothing else is added to libcurl's API.
#ifndef PROGRESS_EXPORTER_CCURL_SHIM_H
#define PROGRESS_EXPORTER_CCURL_SHIM_H

#include <curl/curl.h>
#include <string.h>

static inline CURLcode pe_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode pe_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode pe_curl_setopt_headers(CURL *handle, struct curl_slist *headers) {
    return curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
}

/// The request body, copied by libcurl (the size must be set before the copy).
static inline CURLcode pe_curl_set_body(CURL *handle, const char *data, curl_off_t size) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, size);
    if (code != CURLE_OK) return code;
    return curl_easy_setopt(handle, CURLOPT_COPYPOSTFIELDS, data);
}

/// The first bytes of a response body: enough for an error message; the rest is read and discarded.
typedef struct {
    char bytes[256];
    size_t length;
} pe_curl_excerpt;

static size_t pe_curl_write_excerpt(char *data, size_t size, size_t count, void *context) {
    pe_curl_excerpt *excerpt = (pe_curl_excerpt *)context;
    size_t total = size * count;
    size_t room = sizeof(excerpt->bytes) - excerpt->length;
    size_t take = total < room ? total : room;
    memcpy(excerpt->bytes + excerpt->length, data, take);
    excerpt->length += take;
    return total;
}

static inline CURLcode pe_curl_capture_excerpt(CURL *handle, pe_curl_excerpt *excerpt) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, pe_curl_write_excerpt);
    if (code != CURLE_OK) return code;
    return curl_easy_setopt(handle, CURLOPT_WRITEDATA, (void *)excerpt);
}

static inline long pe_curl_response_code(CURL *handle) {
    long status = 0;
    if (curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) return 0;
    return status;
}

/// The result of a finished transfer from a CURLMSG_DONE message (a union member Swift reads awkwardly).
static inline CURLcode pe_curl_message_result(const CURLMsg *message) {
    return message->data.result;
}

/// Callbacks for a streamed response (event streams): body bytes and header lines, each with its context.
typedef size_t (*pe_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode pe_curl_set_write_callback(CURL *handle, pe_curl_data_callback callback, void *context) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
    if (code != CURLE_OK) return code;
    return curl_easy_setopt(handle, CURLOPT_WRITEDATA, context);
}

static inline CURLcode pe_curl_set_header_callback(CURL *handle, pe_curl_data_callback callback, void *context) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
    if (code != CURLE_OK) return code;
    return curl_easy_setopt(handle, CURLOPT_HEADERDATA, context);
}

/// `progress-exporter top` reads the exporter's event stream with a write callback too.
typedef pe_curl_data_callback pe_curl_write_function;

static inline CURLcode pe_curl_set_writer(CURL *handle, pe_curl_write_function function, void *context) {
    return pe_curl_set_write_callback(handle, function, context);
}

#endif
