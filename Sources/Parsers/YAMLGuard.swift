// libyaml is Yams' own C target; its event parser lets us measure a document
// before Yams builds a tree from it.
internal import CYaml

/// A first pass over YAML bytes with libyaml's event parser, before Yams
/// composes them. It reports syntax errors with libyaml's own line (on the raw
/// bytes, so invalid UTF-8 and control characters are caught as netplan's
/// libyaml catches them), and measures how many nodes the document becomes
/// once every alias is expanded.
///
/// Why: Yams resolves an alias to the anchored node itself, so composing a
/// "billion laughs" file is cheap, but walking the tree, or hashing an alias
/// used as a mapping key (Yams checks duplicate keys while composing), visits
/// every expanded node. Measuring the expanded size here is linear in the
/// file, and lets the parser refuse a bomb before anything walks it.
enum YAMLGuard {
    enum Verdict: Equatable {
        case ok(expandedNodes: Int)
        /// libyaml rejects the bytes; `line` is 1-based.
        case syntaxError(line: Int, message: String)
        /// The document, aliases expanded, has more than `limit` nodes;
        /// `byAliases` when it is small as written (an alias bomb).
        case tooLarge(line: Int, limit: Int, byAliases: Bool)
    }

    static func check(_ bytes: [UInt8], limit: Int) -> Verdict {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return .syntaxError(line: 0, message: "libyaml could not start") }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeBufferPointer { buffer -> Verdict in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var sizes: [String: Int] = [:]
            // Open containers: their anchor and the expanded size of the children so far.
            var stack: [(anchor: String?, size: Int)] = []
            var total = 0
            var written = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                    let context = parser.context.map { String(cString: $0) }
                    let message = context.map { "\(problem) \($0)" } ?? problem
                    if parser.error == YAML_READER_ERROR {
                        // Encoding errors carry a byte offset, not a mark.
                        let offset = min(Int(parser.problem_offset), buffer.count)
                        let line = 1 + buffer[..<offset].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                        return .syntaxError(line: line, message: message)
                    }
                    return .syntaxError(line: Int(parser.problem_mark.line) + 1, message: message)
                }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                written += 1
                var finished: (anchor: String?, size: Int)?
                switch event.type {
                case YAML_STREAM_END_EVENT, YAML_DOCUMENT_END_EVENT:
                    // netplan (yaml_parser_load) reads the first document only.
                    return .ok(expandedNodes: total)
                case YAML_SCALAR_EVENT:
                    finished = (name(event.data.scalar.anchor), 1)
                case YAML_ALIAS_EVENT:
                    // An undefined alias is Yams' error to report; count it as one node.
                    finished = (nil, name(event.data.alias.anchor).flatMap { sizes[$0] } ?? 1)
                case YAML_SEQUENCE_START_EVENT:
                    stack.append((name(event.data.sequence_start.anchor), 1))
                case YAML_MAPPING_START_EVENT:
                    stack.append((name(event.data.mapping_start.anchor), 1))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    finished = stack.popLast()
                default:
                    break
                }
                guard let (anchor, size) = finished else { continue }
                if let anchor { sizes[anchor] = size }
                if stack.isEmpty {
                    total = total.addingReportingOverflow(size).partialValue
                    if total > limit || total < 0 { return .tooLarge(line: line, limit: limit, byAliases: written <= limit) }
                } else {
                    let sum = stack[stack.count - 1].size.addingReportingOverflow(size)
                    if sum.overflow || sum.partialValue > limit { return .tooLarge(line: line, limit: limit, byAliases: written <= limit) }
                    stack[stack.count - 1].size = sum.partialValue
                }
            }
        }
    }

    private static func name(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let p else { return nil }
        return String(cString: p)
    }
}
