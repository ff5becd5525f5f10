internal import CYAML

/// One node of a YAML document as libyaml's loader sees it, with its 1-based
/// line. Mappings keep every pair in file order, repeated keys included:
/// netplan walks a mapping pair by pair, so a key written twice is applied
/// twice (a repeated mapping merges, a repeated scalar's later value wins),
/// and a reader that folds pairs into a dictionary would disagree with it.
public indirect enum YAMLNode: Sendable, Hashable {
    case scalar(String, line: Int)
    case sequence([YAMLNode], line: Int)
    case mapping([YAMLPair], line: Int)

    public var line: Int {
        switch self {
        case .scalar(_, let line), .sequence(_, let line), .mapping(_, let line): line
        }
    }

    /// The scalar's text; nil for a sequence or a mapping.
    public var string: String? {
        if case .scalar(let s, _) = self { return s }
        return nil
    }
}

public struct YAMLPair: Sendable, Hashable {
    public var key: YAMLNode
    public var value: YAMLNode
}

/// Reads YAML bytes with libyaml's event parser (the library netplan uses)
/// into `YAMLNode`s, in one bounded pass.
///
/// Syntax errors carry libyaml's own line (on the raw bytes, so invalid UTF-8
/// and control characters are caught as netplan's libyaml catches them). An
/// alias becomes the anchored node itself (shared storage, no copy), and the
/// size the document reaches once every alias is expanded is counted while
/// reading: a "billion laughs" file is refused with a clear verdict before
/// anything walks it, so walking an accepted tree is bounded by `limit`.
enum YAMLGuard {
    enum Verdict: Equatable {
        /// The first document (nil when the stream has none) and its node count, aliases expanded.
        case ok(YAMLNode?, expandedNodes: Int)
        /// libyaml rejects the bytes; `line` is 1-based.
        case syntaxError(line: Int, message: String)
        /// The document, aliases expanded, has more than `limit` nodes;
        /// `byAliases` when it is small as written (an alias bomb).
        case tooLarge(line: Int, limit: Int, byAliases: Bool)
    }

    /// An open sequence or mapping: its anchor, its line, its children so
    /// far and their expanded size.
    private struct Open {
        var anchor: String?
        var line: Int
        var isMapping: Bool
        var items: [YAMLNode] = []
        var size = 1
    }

    /// Reads the first document of `bytes`, as netplan (`yaml_parser_load`) does.
    static func read(_ bytes: [UInt8], limit: Int) -> Verdict {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return .syntaxError(line: 0, message: "libyaml could not start") }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeBufferPointer { buffer -> Verdict in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            // Each anchor's node and its expanded size.
            var anchors: [String: (node: YAMLNode, size: Int)] = [:]
            var stack: [Open] = []
            var root: YAMLNode?
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
                var finished: (anchor: String?, node: YAMLNode, size: Int)?
                switch event.type {
                case YAML_STREAM_END_EVENT, YAML_DOCUMENT_END_EVENT:
                    // netplan (yaml_parser_load) reads the first document only.
                    return .ok(root, expandedNodes: total)
                case YAML_SCALAR_EVENT:
                    let s = event.data.scalar
                    let text = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(s.length)), as: UTF8.self) } ?? ""
                    finished = (name(s.anchor), .scalar(text, line: line), 1)
                case YAML_ALIAS_EVENT:
                    // libyaml's loader refuses an alias to an anchor not seen before.
                    guard let anchor = name(event.data.alias.anchor), let target = anchors[anchor] else {
                        return .syntaxError(line: line, message: "found undefined alias")
                    }
                    finished = (nil, target.node, target.size)
                case YAML_SEQUENCE_START_EVENT:
                    stack.append(Open(anchor: name(event.data.sequence_start.anchor), line: line, isMapping: false))
                case YAML_MAPPING_START_EVENT:
                    stack.append(Open(anchor: name(event.data.mapping_start.anchor), line: line, isMapping: true))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let open = stack.popLast() else { break }
                    let node: YAMLNode
                    if open.isMapping {
                        var pairs: [YAMLPair] = []
                        pairs.reserveCapacity(open.items.count / 2)
                        var i = 0
                        while i + 1 < open.items.count {
                            pairs.append(YAMLPair(key: open.items[i], value: open.items[i + 1]))
                            i += 2
                        }
                        node = .mapping(pairs, line: open.line)
                    } else {
                        node = .sequence(open.items, line: open.line)
                    }
                    finished = (open.anchor, node, open.size)
                default:
                    break
                }
                guard let (anchor, node, size) = finished else { continue }
                if let anchor { anchors[anchor] = (node, size) }
                if stack.isEmpty {
                    total = total.addingReportingOverflow(size).partialValue
                    if total > limit || total < 0 { return .tooLarge(line: line, limit: limit, byAliases: written <= limit) }
                    if root == nil { root = node }
                } else {
                    let sum = stack[stack.count - 1].size.addingReportingOverflow(size)
                    if sum.overflow || sum.partialValue > limit { return .tooLarge(line: line, limit: limit, byAliases: written <= limit) }
                    stack[stack.count - 1].size = sum.partialValue
                    stack[stack.count - 1].items.append(node)
                }
            }
        }
    }

    private static func name(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let p else { return nil }
        return String(cString: p)
    }
}
