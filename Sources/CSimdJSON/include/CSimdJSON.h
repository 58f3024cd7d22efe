/// A C-callable shim over simdjson On-Demand: reads one event object (native or prodigy)
/// into a plain struct of views, and walks a JSON array body into element spans.
#ifndef CSIMDJSON_H
#define CSIMDJSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Bytes simdjson may read past the end of its input (equals SIMDJSON_PADDING).
#define CSJ_PADDING 64

/// One parser with its buffers; use it from one thread at a time.
typedef struct csj_parser csj_parser;

/// Bytes owned by the parser, valid until its next parse. `ptr == NULL` means absent.
typedef struct csj_view {
    const char *ptr;
    size_t len;
} csj_view;

/// An element of a JSON array, as a byte range of the input.
typedef struct csj_span {
    size_t offset;
    size_t len;
} csj_span;

/// How a parse ended.
typedef enum csj_status {
    CSJ_OK = 0,
    /// Not JSON, not one object, or trailing content; `message` says what simdjson saw.
    CSJ_INVALID_JSON = 1,
    /// A known field has the wrong JSON type or an unusable number; `field` and `problem` say which.
    CSJ_INVALID_VALUE = 2,
} csj_status;

/// `type` absent (or null).
#define CSJ_TYPE_ABSENT (-1)
/// `type` present but not a native type name; the name is in `type_name`.
#define CSJ_TYPE_UNKNOWN (-2)

/// Presence bits of the number fields of `csj_event`.
enum {
    CSJ_HAS_TS = 1u << 0,
    CSJ_HAS_DEADLINE = 1u << 1,
    CSJ_HAS_TOTAL_ITEMS = 1u << 2,
    CSJ_HAS_COUNT = 1u << 3,
    CSJ_HAS_STEPS_COMPLETED = 1u << 4,
    CSJ_HAS_TOTAL_STEPS = 1u << 5,
    CSJ_HAS_ATTEMPT = 1u << 6,
    CSJ_HAS_PROGRESS = 1u << 7,
    CSJ_HAS_DURATION_SECONDS = 1u << 8,
    CSJ_HAS_WORK = 1u << 9,
    CSJ_HAS_TOTAL_WORK = 1u << 10,
};

/// One native event line. A JSON `null` reads as absent. `ts` and `deadline` are either a
/// number (bit set in `present`) or a string in `ts_string` / `deadline_string`.
typedef struct csj_event {
    /// Index into `csj_native_type_name`, or CSJ_TYPE_ABSENT / CSJ_TYPE_UNKNOWN.
    int32_t type;
    /// -1 absent, 0 false, 1 true.
    int8_t retryable;
    uint32_t present;
    csj_view type_name, job, agent, item, id, step, error, state, ts_string, deadline_string;
    double ts, deadline, progress, duration_seconds, work, total_work;
    int64_t total_items, count, steps_completed, total_steps, attempt;
    /// On CSJ_INVALID_VALUE: the field's name and what is wrong with it (static strings).
    const char *field;
    const char *problem;
    /// On CSJ_INVALID_JSON: simdjson's message (static string).
    const char *message;
} csj_event;

/// Presence bits of `csj_prodigy` numbers.
enum {
    CSJ_P_HAS_TOTAL_ITEMS = 1u << 0,
    CSJ_P_HAS_ATTEMPT = 1u << 1,
    CSJ_P_HAS_PROGRESS_PCT = 1u << 2,
    CSJ_P_HAS_DURATION = 1u << 3,
};

/// Fields of a prodigy line, as bits of `csj_prodigy.bad_fields` (index = bit number).
enum {
    CSJ_PF_TIMESTAMP = 0,
    CSJ_PF_EVENT_TYPE,
    CSJ_PF_AGENT_ID,
    CSJ_PF_ITEM_ID,
    CSJ_PF_STEP,
    CSJ_PF_ERROR,
    CSJ_PF_ERROR_SIGNATURE,
    CSJ_PF_TOTAL_ITEMS,
    CSJ_PF_ATTEMPT,
    CSJ_PF_PROGRESS_PCT,
    CSJ_PF_DURATION,
    CSJ_PF_RETRY_ELIGIBLE,
    CSJ_PF_COUNT
};

/// One prodigy line: `{"timestamp", "event": {"event_type", ...}, ...}`.
/// A field with the wrong JSON type does not fail the parse: its bit is set in `bad_fields`
/// and the caller decides, since kinds that are ignored may shape their fields as they like.
typedef struct csj_prodigy {
    /// 1 when the line has an `event` object.
    int32_t has_event;
    /// -1 absent, 0 false, 1 true.
    int8_t retry_eligible;
    uint32_t present;
    uint32_t bad_fields;
    csj_view timestamp, event_type, agent_id, item_id, step, error, error_signature;
    double progress_pct, duration_seconds;
    int64_t total_items, attempt;
    /// On CSJ_INVALID_JSON: simdjson's message (static string).
    const char *message;
} csj_prodigy;

csj_parser *csj_parser_create(void);
void csj_parser_destroy(csj_parser *parser);

/// The number of native event types, and the `type` string of each index.
int32_t csj_native_type_count(void);
const char *csj_native_type_name(int32_t index);

/// Parses one native event object from `json[0..<len]`. `readable_capacity` is how many
/// bytes from `json` may be read: with at least `len + CSJ_PADDING` the input is parsed in
/// place, else it is first copied into a padded buffer kept in the parser.
csj_status csj_parse_event(csj_parser *parser, const char *json, size_t len,
                           size_t readable_capacity, csj_event *out);

/// Parses one prodigy event line; padding as for `csj_parse_event`.
csj_status csj_parse_prodigy(csj_parser *parser, const char *json, size_t len,
                             size_t readable_capacity, csj_prodigy *out);

/// Walks a top-level JSON array and reports the byte range of each element in `*spans`
/// (`*count` of them, owned by the parser, valid until the next call of this function).
/// Elements are not validated beyond their nesting. On CSJ_INVALID_JSON the spans read
/// before the error are still reported and `*message` says what went wrong.
csj_status csj_array_spans(csj_parser *parser, const char *json, size_t len,
                           size_t readable_capacity, const csj_span **spans, size_t *count,
                           const char **message);

#ifdef __cplusplus
}
#endif

#endif
