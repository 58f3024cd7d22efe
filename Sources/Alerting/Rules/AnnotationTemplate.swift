import Foundation

/// Expands `{{name}}` placeholders in annotations: `job` and `job_name` (the job id), `agent`, `value`,
/// `threshold`, and any label.
enum AnnotationTemplate {
    static func expand(_ template: String, labels: [String: String], values: AnnotationValues) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            // `{{job}}` is the job id, as documented before the label became `job_name`, even when a
            // rule adds a label named `job`.
            out += values[name] ?? (name == AlertLabels.deprecatedJob ? labels[AlertLabels.job] : labels[name]) ?? ""
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}
