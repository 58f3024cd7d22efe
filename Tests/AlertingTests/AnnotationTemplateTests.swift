import Testing
@testable import Alerting

/// `{{name}}` placeholders, found on the UTF-8 bytes.
@Suite struct AnnotationTemplateTests {
    let labels = ["job_name": "etl", "agent": "a-ü", "job": "team"]
    let values = AnnotationValues(value: .duration(301), threshold: .integer(3))

    func expand(_ template: String) -> String { AnnotationTemplate.expand(template, labels: labels, values: values) }

    @Test func namesValuesAndLabels() {
        #expect(expand("{{agent}} of {{job}}: {{value}} over {{threshold}}") == "a-ü of etl: 5m 1s over 3")
        #expect(expand("{{ value }} / {{\tagent\u{3000}}}") == "5m 1s / a-ü")
        #expect(expand("{{job_name}} {{unknown}}.") == "etl .")
    }

    @Test func textAroundAndBrokenPlaceholdersStay() {
        #expect(expand("") == "")
        #expect(expand("no placeholder, é ✓") == "no placeholder, é ✓")
        #expect(expand("é {{value}} ü {{agent") == "é 5m 1s ü {{agent")
        #expect(expand("{ {value} }} {{{value}}}") == "{ {value} }} }")
        #expect(expand("{{}}x{{ }}") == "x")
    }
}
