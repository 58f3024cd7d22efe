#include "CSimdJSON.h"

#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

using namespace simdjson;

static_assert(CSJ_PADDING == SIMDJSON_PADDING, "CSJ_PADDING must equal SIMDJSON_PADDING");

namespace {

/// Above this many bytes, a buffer grown for one large input is given back after use.
constexpr size_t kKeepBytes = size_t(1) << 20;

/// The native `type` names; their order is the `csj_event.type` code.
constexpr std::string_view kNativeTypes[] = {
    "job_started",   "job_items_added", "job_completed",   "job_failed",
    "job_cancelled", "agent_started",   "agent_progress",  "agent_heartbeat",
    "agent_state",   "item_completed",  "item_failed",     "agent_retrying",
    "item_dead_lettered",
};
constexpr int32_t kNativeTypeCount = int32_t(sizeof(kNativeTypes) / sizeof(kNativeTypes[0]));

}  // namespace

struct csj_parser {
    ondemand::parser parser;
    /// Used for array bodies, which may be far larger than a line; dropped after a large one.
    std::unique_ptr<ondemand::parser> array_parser;
    std::unique_ptr<char[]> padded;
    size_t padded_capacity = 0;
    std::vector<csj_span> spans;

    /// `json` itself when it has its padding, else a padded copy.
    const char *input(const char *json, size_t len, size_t readable_capacity, size_t &capacity) {
        if (readable_capacity >= len + SIMDJSON_PADDING) {
            capacity = readable_capacity;
            return json;
        }
        size_t needed = len + SIMDJSON_PADDING;
        if (padded_capacity < needed) {
            padded.reset(new char[needed]);
            padded_capacity = needed;
        }
        std::memcpy(padded.get(), json, len);
        std::memset(padded.get() + len, 0, SIMDJSON_PADDING);
        capacity = needed;
        return padded.get();
    }

    void release_large_buffers() {
        if (padded_capacity > kKeepBytes + SIMDJSON_PADDING) {
            padded.reset();
            padded_capacity = 0;
        }
    }
};

namespace {

/// Errors that say "this value cannot be used" rather than "this is not JSON".
bool is_value_error(error_code e) {
    return e == INCORRECT_TYPE || e == NUMBER_ERROR || e == NUMBER_OUT_OF_RANGE;
}

/// Objects and arrays nested deeper than this fail the line (DEPTH_ERROR) before `validate`
/// recurses further: events are flat, and each level costs a stack frame.
constexpr int kMaxDepth = 64;

/// `v`'s JSON type; a value whose first letter says `null` must be exactly the literal `null`
/// (On-Demand alone reports `nonsense` as a null).
error_code checked_type(ondemand::value &v, ondemand::json_type &t) {
    if (auto e = v.type().get(t)) return e;
    if (t == ondemand::json_type::null) {
        bool is_null = false;
        if (auto e = v.is_null().get(is_null)) return e;
        if (!is_null) return N_ATOM_ERROR;
    }
    return SUCCESS;
}

/// Reads a value that no field uses, so that bad JSON inside it (a bad escape, a broken
/// literal) still fails the line: On-Demand alone would skip it unchecked. `depth` counts the
/// objects and arrays around `v`.
error_code validate(ondemand::value &v, int depth = 0) {
    ondemand::json_type t;
    if (auto e = checked_type(v, t)) return e;
    if ((t == ondemand::json_type::object || t == ondemand::json_type::array) && depth >= kMaxDepth) {
        return DEPTH_ERROR;
    }
    switch (t) {
    case ondemand::json_type::object: {
        ondemand::object o;
        if (auto e = v.get_object().get(o)) return e;
        for (auto f : o) {
            ondemand::field field;
            std::string_view key;
            if (auto e = std::move(f).get(field)) return e;
            if (auto e = field.unescaped_key().get(key)) return e;
            if (auto e = validate(field.value(), depth + 1)) return e;
        }
        return SUCCESS;
    }
    case ondemand::json_type::array: {
        ondemand::array a;
        if (auto e = v.get_array().get(a)) return e;
        for (auto element : a) {
            ondemand::value x;
            if (auto e = element.get(x)) return e;
            if (auto e = validate(x, depth + 1)) return e;
        }
        return SUCCESS;
    }
    case ondemand::json_type::string: {
        std::string_view s;
        return v.get_string().get(s);
    }
    case ondemand::json_type::number: {
        double d;
        return v.get_double().get(d);
    }
    case ondemand::json_type::boolean: {
        bool b;
        return v.get_bool().get(b);
    }
    case ondemand::json_type::null: {
        bool is_null;
        if (auto e = v.is_null().get(is_null)) return e;
        return is_null ? SUCCESS : INCORRECT_TYPE;
    }
    }
    return INCORRECT_TYPE;
}

/// Collects the first failure of a native parse.
struct native_reader {
    csj_event *out;

    csj_status json_error(error_code e) {
        out->message = error_message(e);
        return CSJ_INVALID_JSON;
    }

    csj_status value_error(const char *field, const char *problem) {
        out->field = field;
        out->problem = problem;
        return CSJ_INVALID_VALUE;
    }

    csj_status fail(const char *field, error_code e, const char *type_problem) {
        if (e == INCORRECT_TYPE) return value_error(field, type_problem);
        if (is_value_error(e)) return value_error(field, "not a usable number");
        return json_error(e);
    }

    /// Reads the JSON type of `v`; `null` reports as absent.
    csj_status type_of(ondemand::value &v, ondemand::json_type &t) {
        if (auto e = checked_type(v, t)) return json_error(e);
        return CSJ_OK;
    }

    csj_status string(ondemand::value &v, const char *field, csj_view &dst) {
        ondemand::json_type t;
        if (auto s = type_of(v, t)) return s;
        if (t == ondemand::json_type::null) {
            dst = {nullptr, 0};
            return CSJ_OK;
        }
        if (t != ondemand::json_type::string) return value_error(field, "not a string");
        std::string_view s;
        if (auto e = v.get_string().get(s)) return fail(field, e, "not a string");
        dst = {s.data(), s.size()};
        return CSJ_OK;
    }

    csj_status number(ondemand::value &v, const char *field, uint32_t bit, double &dst) {
        ondemand::json_type t;
        if (auto s = type_of(v, t)) return s;
        if (t == ondemand::json_type::null) return CSJ_OK;
        if (t != ondemand::json_type::number) return value_error(field, "not a number");
        if (auto e = v.get_double().get(dst)) return fail(field, e, "not a number");
        out->present |= bit;
        return CSJ_OK;
    }

    /// A JSON integer, or a float with an integral value, that fits in int64.
    csj_status integer(ondemand::value &v, const char *field, uint32_t bit, int64_t &dst) {
        ondemand::json_type t;
        if (auto s = type_of(v, t)) return s;
        if (t == ondemand::json_type::null) return CSJ_OK;
        if (t != ondemand::json_type::number) return value_error(field, "not an integer");
        ondemand::number n;
        if (auto e = v.get_number().get(n)) return fail(field, e, "not an integer");
        switch (n.get_number_type()) {
        case ondemand::number_type::signed_integer:
            dst = n.get_int64();
            break;
        case ondemand::number_type::unsigned_integer:
            if (n.get_uint64() > uint64_t(INT64_MAX)) return value_error(field, "out of range");
            dst = int64_t(n.get_uint64());
            break;
        default: {
            double d = n.get_double();
            if (d != std::trunc(d)) return value_error(field, "not an integer");
            // 2^63 is exactly representable; every double below it converts without overflow.
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
                return value_error(field, "out of range");
            }
            dst = int64_t(d);
        }
        }
        out->present |= bit;
        return CSJ_OK;
    }

    /// A number, or a string left for the caller to read as an RFC 3339 time.
    csj_status time(ondemand::value &v, const char *field, uint32_t bit, double &number,
                    csj_view &text) {
        ondemand::json_type t;
        if (auto s = type_of(v, t)) return s;
        switch (t) {
        case ondemand::json_type::null:
            return CSJ_OK;
        case ondemand::json_type::number:
            if (auto e = v.get_double().get(number)) return fail(field, e, "not a number");
            out->present |= bit;
            text = {nullptr, 0};
            return CSJ_OK;
        case ondemand::json_type::string:
            out->present &= ~bit;
            return string(v, field, text);
        default:
            return value_error(field, "not a number or RFC 3339 time");
        }
    }

    csj_status boolean(ondemand::value &v, const char *field, int8_t &dst) {
        ondemand::json_type t;
        if (auto s = type_of(v, t)) return s;
        if (t == ondemand::json_type::null) {
            dst = -1;
            return CSJ_OK;
        }
        if (t != ondemand::json_type::boolean) return value_error(field, "not a boolean");
        bool b;
        if (auto e = v.get_bool().get(b)) return fail(field, e, "not a boolean");
        dst = b ? 1 : 0;
        return CSJ_OK;
    }

    csj_status type(ondemand::value &v) {
        if (auto s = string(v, "type", out->type_name)) return s;
        if (out->type_name.ptr == nullptr) {
            out->type = CSJ_TYPE_ABSENT;
            return CSJ_OK;
        }
        std::string_view name(out->type_name.ptr, out->type_name.len);
        out->type = CSJ_TYPE_UNKNOWN;
        for (int32_t i = 0; i < kNativeTypeCount; i++) {
            if (kNativeTypes[i] == name) {
                out->type = i;
                break;
            }
        }
        return CSJ_OK;
    }

    csj_status field(std::string_view key, ondemand::value &v) {
        csj_event &e = *out;
        switch (key.size()) {
        case 2:
            if (key == "ts") return time(v, "ts", CSJ_HAS_TS, e.ts, e.ts_string);
            if (key == "id") return string(v, "id", e.id);
            break;
        case 3:
            if (key == "job") return string(v, "job", e.job);
            break;
        case 4:
            if (key == "type") return type(v);
            if (key == "work") return number(v, "work", CSJ_HAS_WORK, e.work);
            if (key == "item") return string(v, "item", e.item);
            if (key == "step") return string(v, "step", e.step);
            break;
        case 5:
            if (key == "agent") return string(v, "agent", e.agent);
            if (key == "error") return string(v, "error", e.error);
            if (key == "state") return string(v, "state", e.state);
            if (key == "count") return integer(v, "count", CSJ_HAS_COUNT, e.count);
            break;
        case 7:
            if (key == "attempt") return integer(v, "attempt", CSJ_HAS_ATTEMPT, e.attempt);
            break;
        case 8:
            if (key == "deadline") {
                return time(v, "deadline", CSJ_HAS_DEADLINE, e.deadline, e.deadline_string);
            }
            if (key == "progress") return number(v, "progress", CSJ_HAS_PROGRESS, e.progress);
            break;
        case 9:
            if (key == "retryable") return boolean(v, "retryable", e.retryable);
            break;
        case 10:
            if (key == "total_work") return number(v, "total_work", CSJ_HAS_TOTAL_WORK, e.total_work);
            break;
        case 11:
            if (key == "total_items") {
                return integer(v, "total_items", CSJ_HAS_TOTAL_ITEMS, e.total_items);
            }
            if (key == "total_steps") {
                return integer(v, "total_steps", CSJ_HAS_TOTAL_STEPS, e.total_steps);
            }
            break;
        case 15:
            if (key == "steps_completed") {
                return integer(v, "steps_completed", CSJ_HAS_STEPS_COMPLETED, e.steps_completed);
            }
            break;
        case 16:
            if (key == "duration_seconds") {
                return number(v, "duration_seconds", CSJ_HAS_DURATION_SECONDS, e.duration_seconds);
            }
            break;
        }
        if (auto e = validate(v)) return json_error(e);
        return CSJ_OK;
    }
};

/// After the top-level value: anything but the end of input is trailing content.
bool at_end(ondemand::document &doc) {
    const char *location;
    return doc.current_location().get(location) == OUT_OF_BOUNDS;
}

/// Collects a prodigy line; wrong field types are recorded, not fatal.
struct prodigy_reader {
    csj_prodigy *out;

    void bad(int bit) { out->bad_fields |= 1u << bit; }

    /// Returns a JSON error, or SUCCESS with the type of `v`.
    error_code type_of(ondemand::value &v, ondemand::json_type &t) { return checked_type(v, t); }

    error_code string(ondemand::value &v, int bit, csj_view &dst) {
        ondemand::json_type t;
        if (auto e = type_of(v, t)) return e;
        if (t == ondemand::json_type::null) return SUCCESS;
        if (t != ondemand::json_type::string) {
            bad(bit);
            return validate(v);
        }
        std::string_view s;
        if (auto e = v.get_string().get(s)) return e;
        dst = {s.data(), s.size()};
        return SUCCESS;
    }

    error_code number(ondemand::value &v, int bit, double &dst, bool &ok) {
        ok = false;
        ondemand::json_type t;
        if (auto e = type_of(v, t)) return e;
        if (t == ondemand::json_type::null) return SUCCESS;
        if (t != ondemand::json_type::number) {
            bad(bit);
            return validate(v);
        }
        auto e = v.get_double().get(dst);
        if (is_value_error(e)) {
            bad(bit);
            return SUCCESS;
        }
        ok = e == SUCCESS;
        return e;
    }

    error_code integer(ondemand::value &v, int bit, uint32_t present, int64_t &dst) {
        double d;
        bool ok;
        if (auto e = number(v, bit, d, ok)) return e;
        if (!ok) return SUCCESS;
        if (d != std::trunc(d) || !(d >= -9007199254740992.0 && d <= 9007199254740992.0)) {
            bad(bit);
            return SUCCESS;
        }
        dst = int64_t(d);
        out->present |= present;
        return SUCCESS;
    }

    /// `[seconds, nanoseconds]`, or serde's `{"secs", "nanos"}`.
    error_code duration(ondemand::value &v) {
        ondemand::json_type t;
        if (auto e = type_of(v, t)) return e;
        double parts[2] = {0, 0};
        size_t n = 0;
        bool well_formed = true;
        if (t == ondemand::json_type::array) {
            ondemand::array a;
            if (auto e = v.get_array().get(a)) return e;
            for (auto element : a) {
                ondemand::value x;
                if (auto e = element.get(x)) return e;
                bool ok;
                double d;
                if (auto e = number(x, CSJ_PF_DURATION, d, ok)) return e;
                if (!ok || n == 2) well_formed = false;
                else parts[n] = d;
                n++;
            }
        } else if (t == ondemand::json_type::object) {
            ondemand::object o;
            if (auto e = v.get_object().get(o)) return e;
            for (auto f : o) {
                ondemand::field field;
                if (auto e = std::move(f).get(field)) return e;
                std::string_view key;
                if (auto e = field.unescaped_key().get(key)) return e;
                int index = key == "secs" ? 0 : key == "nanos" ? 1 : -1;
                if (index < 0) {
                    if (auto e = validate(field.value())) return e;
                    continue;
                }
                bool ok;
                double d;
                if (auto e = number(field.value(), CSJ_PF_DURATION, d, ok)) return e;
                if (!ok) well_formed = false;
                else parts[index] = d;
                n++;
            }
        } else if (t == ondemand::json_type::null) {
            return SUCCESS;
        } else {
            well_formed = false;
            if (auto e = validate(v)) return e;
        }
        if (!well_formed || n != 2) {
            bad(CSJ_PF_DURATION);
            return SUCCESS;
        }
        out->duration_seconds = parts[0] + parts[1] / 1e9;
        out->present |= CSJ_P_HAS_DURATION;
        return SUCCESS;
    }

    error_code boolean(ondemand::value &v, int bit, int8_t &dst) {
        ondemand::json_type t;
        if (auto e = type_of(v, t)) return e;
        if (t == ondemand::json_type::null) return SUCCESS;
        if (t != ondemand::json_type::boolean) {
            bad(bit);
            return validate(v);
        }
        bool b;
        if (auto e = v.get_bool().get(b)) return e;
        dst = b ? 1 : 0;
        return SUCCESS;
    }

    error_code event_field(std::string_view key, ondemand::value &v) {
        csj_prodigy &p = *out;
        if (key == "event_type") return string(v, CSJ_PF_EVENT_TYPE, p.event_type);
        if (key == "agent_id") return string(v, CSJ_PF_AGENT_ID, p.agent_id);
        if (key == "item_id") return string(v, CSJ_PF_ITEM_ID, p.item_id);
        if (key == "step") return string(v, CSJ_PF_STEP, p.step);
        if (key == "error") return string(v, CSJ_PF_ERROR, p.error);
        if (key == "error_signature") return string(v, CSJ_PF_ERROR_SIGNATURE, p.error_signature);
        if (key == "total_items") {
            return integer(v, CSJ_PF_TOTAL_ITEMS, CSJ_P_HAS_TOTAL_ITEMS, p.total_items);
        }
        if (key == "attempt") return integer(v, CSJ_PF_ATTEMPT, CSJ_P_HAS_ATTEMPT, p.attempt);
        if (key == "progress_pct") {
            bool ok;
            if (auto e = number(v, CSJ_PF_PROGRESS_PCT, p.progress_pct, ok)) return e;
            if (ok) p.present |= CSJ_P_HAS_PROGRESS_PCT;
            return SUCCESS;
        }
        if (key == "duration") return duration(v);
        if (key == "retry_eligible") return boolean(v, CSJ_PF_RETRY_ELIGIBLE, p.retry_eligible);
        return validate(v);
    }

    error_code event(ondemand::value &v) {
        ondemand::object o;
        if (auto e = v.get_object().get(o)) return e;
        out->has_event = 1;
        for (auto f : o) {
            ondemand::field field;
            if (auto e = std::move(f).get(field)) return e;
            std::string_view key;
            if (auto e = field.unescaped_key().get(key)) return e;
            if (auto e = event_field(key, field.value())) return e;
        }
        return SUCCESS;
    }

    error_code line(ondemand::document &doc) {
        ondemand::object o;
        if (auto e = doc.get_object().get(o)) return e;
        for (auto f : o) {
            ondemand::field field;
            if (auto e = std::move(f).get(field)) return e;
            std::string_view key;
            if (auto e = field.unescaped_key().get(key)) return e;
            if (key == "timestamp") {
                if (auto e = string(field.value(), CSJ_PF_TIMESTAMP, out->timestamp)) return e;
            } else if (key == "event") {
                ondemand::json_type t;
                if (auto e = field.value().type().get(t)) return e;
                if (t == ondemand::json_type::object) {
                    if (auto e = event(field.value())) return e;
                } else if (auto e = validate(field.value())) {
                    return e;
                }
            } else if (auto e = validate(field.value())) {
                return e;
            }
        }
        return at_end(doc) ? SUCCESS : TRAILING_CONTENT;
    }
};

}  // namespace

extern "C" {

csj_parser *csj_parser_create(void) { return new (std::nothrow) csj_parser(); }

void csj_parser_destroy(csj_parser *parser) { delete parser; }

int32_t csj_native_type_count(void) { return kNativeTypeCount; }

const char *csj_native_type_name(int32_t index) {
    if (index < 0 || index >= kNativeTypeCount) return nullptr;
    return kNativeTypes[index].data();
}

csj_status csj_parse_event(csj_parser *parser, const char *json, size_t len,
                           size_t readable_capacity, csj_event *out) {
    *out = csj_event{};
    out->type = CSJ_TYPE_ABSENT;
    out->retryable = -1;
    native_reader reader{out};

    size_t capacity;
    const char *input = parser->input(json, len, readable_capacity, capacity);
    ondemand::document doc;
    if (auto e = parser->parser.iterate(input, len, capacity).get(doc)) return reader.json_error(e);
    ondemand::object object;
    if (auto e = doc.get_object().get(object)) {
        if (e == INCORRECT_TYPE) {
            out->message = "not a JSON object";
            return CSJ_INVALID_JSON;
        }
        return reader.json_error(e);
    }
    for (auto f : object) {
        ondemand::field field;
        if (auto e = std::move(f).get(field)) return reader.json_error(e);
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return reader.json_error(e);
        if (auto status = reader.field(key, field.value())) return status;
    }
    if (!at_end(doc)) return reader.json_error(TRAILING_CONTENT);
    return CSJ_OK;
}

csj_status csj_parse_prodigy(csj_parser *parser, const char *json, size_t len,
                             size_t readable_capacity, csj_prodigy *out) {
    *out = csj_prodigy{};
    out->retry_eligible = -1;

    size_t capacity;
    const char *input = parser->input(json, len, readable_capacity, capacity);
    ondemand::document doc;
    error_code e = parser->parser.iterate(input, len, capacity).get(doc);
    if (e == SUCCESS) e = prodigy_reader{out}.line(doc);
    if (e == INCORRECT_TYPE && !out->has_event) {
        out->message = "not a JSON object";
        return CSJ_INVALID_JSON;
    }
    if (e != SUCCESS) {
        out->message = error_message(e);
        return CSJ_INVALID_JSON;
    }
    return CSJ_OK;
}

csj_status csj_array_spans(csj_parser *parser, const char *json, size_t len,
                           size_t readable_capacity, const csj_span **spans, size_t *count,
                           const char **message) {
    parser->spans.clear();
    *spans = parser->spans.data();
    *count = 0;
    *message = nullptr;
    if (!parser->array_parser) {
        parser->array_parser.reset(new (std::nothrow) ondemand::parser());
        if (!parser->array_parser) {
            *message = error_message(MEMALLOC);
            return CSJ_INVALID_JSON;
        }
    }

    size_t capacity;
    const char *input = parser->input(json, len, readable_capacity, capacity);
    error_code error = SUCCESS;
    {
        ondemand::document doc;
        ondemand::array array;
        error = parser->array_parser->iterate(input, len, capacity).get(doc);
        if (error == SUCCESS) error = doc.get_array().get(array);
        if (error == SUCCESS) {
            for (auto element : array) {
                ondemand::value value;
                ondemand::json_type type;
                std::string_view raw;
                if ((error = element.get(value))) break;
                if ((error = value.type().get(type))) break;
                if (type == ondemand::json_type::object) {
                    ondemand::object o;
                    if ((error = value.get_object().get(o))) break;
                    error = o.raw_json().get(raw);
                } else if (type == ondemand::json_type::array) {
                    ondemand::array a;
                    if ((error = value.get_array().get(a))) break;
                    error = a.raw_json().get(raw);
                } else {
                    raw = value.raw_json_token();
                }
                if (error) break;
                // raw_json_token keeps trailing whitespace; the span is the value alone.
                while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' ||
                                        raw.back() == '\n' || raw.back() == '\r')) {
                    raw.remove_suffix(1);
                }
                parser->spans.push_back({size_t(raw.data() - input), raw.size()});
            }
            if (error == SUCCESS && !at_end(doc)) error = TRAILING_CONTENT;
        }
    }
    if (len > kKeepBytes) parser->array_parser.reset();
    parser->release_large_buffers();

    *spans = parser->spans.data();
    *count = parser->spans.size();
    if (error != SUCCESS) {
        *message = error == INCORRECT_TYPE && *count == 0 ? "not a JSON array" : error_message(error);
        return CSJ_INVALID_JSON;
    }
    return CSJ_OK;
}

}  // extern "C"
