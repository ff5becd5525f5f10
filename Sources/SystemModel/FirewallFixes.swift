import Parsers

/// The minimal fixes: an accept rule in the file's own syntax, placed before
/// the rule that drops (or at the end of the chain when its policy drops),
/// checked by loading the fixed files again. Fixes for several questions
/// that go before the same line are one insertion, so the findings that
/// ask for them propose identical edits and the plan merges them.
enum FirewallFixes {
    enum Placement: Hashable {
        case insert(path: String, before: Int)
        /// A zone that only exists in /usr/lib: copied to /etc with the change.
        case create(path: String, from: String, before: Int)
        case delete(path: String, line: Int)
        case createWithout(path: String, from: String, line: Int)
    }

    struct Candidate {
        var mechanism: Int
        var verdict: Int
        var placement: Placement
        /// The lines to insert (empty for deletions).
        var block: [String]
        /// Orders blocks at one place: loopback, ssh ports, ping.
        var order: Int
    }

    static func attach(_ model: inout FirewallModel, files: FileSource, context: FirewallContext) {
        var candidates: [Candidate] = []
        var manual: [Int: [Int: FirewallFix]] = [:]
        for (vi, v) in model.verdicts.enumerated() where v.answer == .dropped {
            for mv in v.perMechanism where mv.verdict.answer == .dropped {
                let found = Self.candidates(model, mechanism: mv.mechanism, verdict: vi, files: files)
                if found.isEmpty {
                    manual[vi, default: [:]][mv.mechanism] = manualEdit(model.mechanisms[mv.mechanism], mv.mechanism, v)
                } else {
                    candidates += found
                }
            }
        }
        // Check each mechanism's fixes by loading its files again with every change applied.
        for round in 0..<3 {
            var failed: [Int] = []
            for m in Set(candidates.map(\.mechanism)) {
                let mine = candidates.indices.filter { candidates[$0].mechanism == m }
                let built: MechanismBuild
                if let fast = insertedIntoFilters(model.mechanisms[m], mine.map { candidates[$0] }) {
                    built = fast
                } else {
                    var again = files
                    again.overlay = apply(mine.map { candidates[$0] }, files: files)
                    built = MechanismBuilder.build(model.mechanisms[m].recipe, files: again, context: context)
                }
                for k in mine {
                    let v = model.verdicts[candidates[k].verdict]
                    var ok = true
                    if v.question == .loopback {
                        var ranges: [ClosedRange<Int>] = []
                        ranges += built.filters[v.family]?.namedPortRanges ?? []
                        var ports = FirewallModel.loopbackPorts(context.listeners, v.family)
                        if let p = v.port { ports.append(p) }
                        if let free = PacketFilter.unnamedPort(excluding: ranges) { ports.append(free) }
                        ok = ports.allSatisfy { built.evaluate(v.question, v.family, port: $0).answer == .accepted }
                    } else {
                        ok = built.evaluate(v.question, v.family, port: nil).answer == .accepted
                    }
                    if !built.failures.isEmpty && model.mechanisms[m].build.failures.count < built.failures.count { ok = false }
                    if !ok { failed.append(k) }
                }
            }
            if failed.isEmpty { break }
            for k in failed.sorted(by: >) {
                let c = candidates.remove(at: k)
                manual[c.verdict, default: [:]][c.mechanism] = manualEdit(model.mechanisms[c.mechanism], c.mechanism, model.verdicts[c.verdict])
            }
            if round == 2 {
                for c in candidates { manual[c.verdict, default: [:]][c.mechanism] = manualEdit(model.mechanisms[c.mechanism], c.mechanism, model.verdicts[c.verdict]) }
                candidates = []
            }
        }
        let edits = groupedEdits(candidates, files: files)
        for vi in model.verdicts.indices where model.verdicts[vi].answer == .dropped {
            let v = model.verdicts[vi]
            var fixes: [FirewallFix] = []
            for mv in v.perMechanism where mv.verdict.answer == .dropped {
                for c in candidates where c.verdict == vi && c.mechanism == mv.mechanism {
                    if let e = edits[c.placement], !fixes.contains(e) { fixes.append(e) }
                }
            }
            let manualOnes = Array((manual[vi] ?? [:]).sorted { $0.key < $1.key }.map(\.value))
            model.verdicts[vi].manualFixes = manualOnes
            // An automatic fix is only offered when it covers every firewall that drops it.
            model.verdicts[vi].fixes = manualOnes.isEmpty ? fixes : []
            if !manualOnes.isEmpty { model.verdicts[vi].manualFixes = manualOnes + fixes.map { .byHand($0) } }
            var alternatives: [FirewallFix] = []
            for mv in v.perMechanism where mv.verdict.answer == .dropped {
                let d = FirewallFix.disable(model.mechanisms[mv.mechanism].disable)
                if !alternatives.contains(d) { alternatives.append(d) }
            }
            model.verdicts[vi].alternatives = alternatives
        }
        for m in model.mechanisms.indices {
            for f in model.mechanisms[m].failures.indices {
                let failure = model.mechanisms[m].failures[f]
                var fixes = failure.fixes
                // An if-pre-up.d hook that restores a file that does not exist
                // fails before ifup configures the interface, so the interface
                // stays down; it can never load those rules. (A hook script's
                // mechanism is named by its path.)
                let mechanism = model.mechanisms[m]
                let hook = mechanism.name
                if mechanism.kind == .restoreScript, failure.stopsInterface, mechanism.files.contains(hook),
                   hook.hasPrefix("/etc/network/if-pre-up.d/"), failure.line == nil, !files.root.exists(failure.path),
                   files.root.lstat(hook)?.kind == .regular {
                    fixes.insert(.moveHookAside(path: hook, missing: failure.path), at: 0)
                }
                fixes.append(.correctByHand(path: failure.path, line: failure.line?.location.line, program: failure.program, message: failure.message))
                fixes.append(.disable(model.mechanisms[m].disable))
                model.mechanisms[m].failures[f].fixes = fixes
            }
        }
    }

    /// The check for rules inserted into iptables-save files restored into
    /// flushed tables, without reading a big file again: each new line must
    /// lie inside a committed table section, parse as the restore parses it
    /// and append to the chain it names; it then goes into that chain of the
    /// loaded rules before the first rule of that file at or after its line.
    /// Nil when the case is not that simple (the full reload is used then).
    static func insertedIntoFilters(_ m: FirewallMechanism, _ cs: [Candidate]) -> MechanismBuild? {
        guard [.netfilterPersistent, .iptablesService, .restoreScript].contains(m.kind) else { return nil }
        var b = m.build
        var byPlacement: [Placement: [Candidate]] = [:]
        for c in cs { byPlacement[c.placement, default: []].append(c) }
        for (placement, list) in byPlacement {
            guard case .insert(let path, let before) = placement, let layout = b.layouts[path], !layout.noflush,
                  let section = layout.sections.first(where: { $0.header < before && before <= $0.commit }) else { return nil }
            let family: AddressFamily = layout.family == .ipv4 ? .ipv4 : .ipv6
            for text in blocks(list) {
                guard case .success(.rule(let rule)?) = IptablesSaveParser.parseLine(text, path: path, line: before, table: section.table,
                                                                                   userChains: section.chains, family: layout.family),
                      rule.insertAt == nil,
                      var filter = b.filters[family],
                      let s = filter.stages.firstIndex(where: { $0.label == "\(section.table) \(rule.chain)" }),
                      var chain = filter.stages[s].chains[rule.chain] else { return nil }
                let new = IptablesTranslation.rule(rule, family: family, table: section.table)
                let index = chain.rules.firstIndex { $0.source.location.path == path && $0.source.location.line >= before }
                    ?? (chain.rules.lastIndex { $0.source.location.path == path }.map { $0 + 1 } ?? chain.rules.count)
                chain.rules.insert(new, at: index)
                filter.stages[s].chains[rule.chain] = chain
                b.filters[family] = filter
            }
        }
        return b
    }

    static func manualEdit(_ m: FirewallMechanism, _ index: Int, _ v: FirewallVerdict) -> FirewallFix {
        let lines = v.perMechanism.first { $0.mechanism == index }?.verdict.evidence ?? []
        let files = Array(Set(lines.map(\.location.path) + (lines.isEmpty ? m.files : []))).sorted()
        return .addRuleByHand(firewall: m.name, question: v.question, family: v.family, files: files)
    }

    // MARK: Where the accept rule goes

    static func order(_ q: FirewallQuestion) -> Int {
        switch q {
        case .loopback: 0
        case .established: 1
        case .ssh(let p): 10 + p
        case .ping: 100_000
        }
    }

    static func candidates(_ model: FirewallModel, mechanism mi: Int, verdict vi: Int, files: FileSource) -> [Candidate] {
        let m = model.mechanisms[mi]
        let v = model.verdicts[vi]
        guard let mv = v.perMechanism.first(where: { $0.mechanism == mi }) else { return [] }
        let o = order(v.question)
        switch m.kind {
        case .netfilterPersistent, .iptablesService, .restoreScript:
            guard let stage = mv.verdict.droppingStage else { return [] }
            let parts = stage.split(separator: " ").map(String.init)
            guard parts.count == 2 else { return [] }
            let (table, chain) = (parts[0], parts[1])
            let line: String
            switch v.question {
            case .ssh(let p): line = "-A \(chain) -p tcp -m tcp --dport \(p) -j ACCEPT"
            case .loopback: line = "-A \(chain) -i lo -j ACCEPT"
            case .ping: line = v.family == .ipv4 ? "-A \(chain) -p icmp -m icmp --icmp-type 8 -j ACCEPT"
                : "-A \(chain) -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT"
            case .established: line = "-A \(chain) -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
            }
            guard case .iptables(let loads) = m.recipe else { return [] }
            let fam: IptablesFamily = v.family == .ipv4 ? .ipv4 : .ipv6
            // The last file of the family that restores the table.
            for load in loads.reversed() where load.family == v.family {
                guard let layout = m.build.layouts[load.path], layout.family == fam, let section = layout.last(table) else { continue }
                let rules = section.rules[chain] ?? []
                if rules.contains(where: { $0.inserted }) { return [] }
                let before: Int
                if let deciding = mv.verdict.decidingEntryRule {
                    guard deciding.location.path == load.path, rules.contains(where: { $0.line == deciding.location.line }) else { return [] }
                    before = deciding.location.line
                } else if let last = rules.last {
                    before = last.line + 1
                } else if section.commit > 0 {
                    before = section.commit
                } else {
                    return []
                }
                return [Candidate(mechanism: mi, verdict: vi, placement: .insert(path: load.path, before: before), block: [line], order: o)]
            }
            return []
        case .ufw:
            let paths = UfwBuilder.paths(v.family)
            let p6 = v.family == .ipv4 ? "ufw" : "ufw6"
            switch v.question {
            case .ssh(let port):
                guard let layout = m.build.layouts[paths.user], let bytes = files.bytes(paths.user) else { return [] }
                let lines = Text.lines(bytes)
                let any = v.family == .ipv4 ? "0.0.0.0/0" : "::/0"
                let block = ["", "### tuple ### allow tcp \(port) \(any) any \(any) in", "-A \(p6)-user-input -p tcp --dport \(port) -j ACCEPT"]
                let before: Int
                if let end = lines.firstIndex(where: { Text.trimmed($0) == "### END RULES ###" }) {
                    before = end + 1
                } else if let start = lines.firstIndex(where: { Text.trimmed($0) == "### RULES ###" }) {
                    before = start + 2
                } else if let commit = layout.sections.last?.commit, commit > 0 {
                    before = commit
                } else {
                    return []
                }
                return [Candidate(mechanism: mi, verdict: vi, placement: .insert(path: paths.user, before: before), block: block, order: o)]
            case .loopback, .ping, .established:
                guard let layout = m.build.layouts[paths.before], let section = layout.sections.first(where: { $0.table == "filter" }) else { return [] }
                let first = section.rules["\(p6)-before-input"]?.first?.line
                guard let before = first ?? (section.commit > 0 ? section.commit : nil) else { return [] }
                let line: String
                switch v.question {
                case .loopback: line = "-A \(p6)-before-input -i lo -j ACCEPT"
                case .ping: line = v.family == .ipv4 ? "-A ufw-before-input -p icmp --icmp-type echo-request -j ACCEPT"
                    : "-A ufw6-before-input -p icmpv6 --icmpv6-type echo-request -j ACCEPT"
                default: line = "-A \(p6)-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
                }
                return [Candidate(mechanism: mi, verdict: vi, placement: .insert(path: paths.before, before: before), block: [line], order: o)]
            }
        case .firewalld:
            guard let state = m.build.firewalld else { return [] }
            var out: [Candidate] = []
            for name in state.considered {
                guard let zone = state.zones[name] else { return [] }
                let a = state.answer(v.question, v.family, zone)
                guard a.answer == .dropped else { continue }
                let etcPath = "/etc/firewalld/zones/\(name).xml"
                let vendor = state.vendorOnly.contains(name)
                switch v.question {
                case .ssh(let port):
                    // A rich rule that drops it is for a person to change.
                    if a.evidence.contains(where: { $0.text.contains("<rule") }) { return [] }
                    guard let closing = zone.closing else { return [] }
                    let indent = zone.services.first.map { String($0.source.text.prefix { $0 == " " || $0 == "\t" }) } ?? "  "
                    let ssh22 = port == 22 && (state.serviceOpens("ssh")?.ports.contains { $0.proto == "tcp" && $0.ports.contains(22) } ?? false)
                    let line = ssh22 ? "\(indent)<service name=\"ssh\"/>" : "\(indent)<port port=\"\(port)\" protocol=\"tcp\"/>"
                    let placement: Placement = vendor ? .create(path: etcPath, from: zone.path, before: closing.location.line)
                        : .insert(path: zone.path, before: closing.location.line)
                    out.append(Candidate(mechanism: mi, verdict: vi, placement: placement, block: [line], order: o))
                case .ping:
                    guard zone.icmpBlockInversion == nil, let block = zone.icmpBlocks.first(where: { $0.value == "echo-request" }),
                          a.evidence.first == block.source else { return [] }
                    let t = Text.trimmed(block.source.text)
                    guard t.hasPrefix("<icmp-block") && t.hasSuffix("/>") && t.filter({ $0 == "<" }).count == 1 else { return [] }
                    let placement: Placement = vendor ? .createWithout(path: etcPath, from: zone.path, line: block.source.location.line)
                        : .delete(path: zone.path, line: block.source.location.line)
                    out.append(Candidate(mechanism: mi, verdict: vi, placement: placement, block: [], order: o))
                default:
                    return []
                }
            }
            return out
        case .nftables:
            guard let set = m.build.nft, let stage = mv.verdict.droppingStage else { return [] }
            // "table FAMILY NAME chain CHAIN"
            let parts = stage.split(separator: " ").map(String.init)
            guard parts.count == 5, let table = set.tables[NftRuleset.key(parts[1], parts[2])], let chain = table.chains[parts[4]] else { return [] }
            let text: String
            switch v.question {
            case .ssh(let p): text = "tcp dport \(p) accept"
            case .loopback: text = "iif lo accept"
            case .ping: text = v.family == .ipv4 ? "icmp type echo-request accept" : "icmpv6 type echo-request accept"
            case .established: text = "ct state established,related accept"
            }
            let ruleIndent = chain.rules.first?.0.indent ?? (chain.chain.closingIndent + "\t")
            if let deciding = mv.verdict.decidingEntryRule {
                guard let (rule, path, fromCommand) = chain.rules.first(where: { $0.0.source.location == deciding.location }), rule.startsLine else { return [] }
                let line = fromCommand ? "\(rule.indent)add rule \(table.family) \(table.name) \(chain.chain.name) \(text)" : rule.indent + text
                return [Candidate(mechanism: mi, verdict: vi, placement: .insert(path: path, before: deciding.location.line), block: [line], order: o)]
            }
            guard let closing = chain.chain.closing, chain.chain.closingStartsLine else { return [] }
            return [Candidate(mechanism: mi, verdict: vi, placement: .insert(path: closing.location.path, before: closing.location.line),
                              block: [ruleIndent + text], order: o)]
        }
    }

    // MARK: Edits

    /// The blocks going to one place, in a fixed order, without repeats.
    static func blocks(_ cs: [Candidate]) -> [String] {
        var seen: [[String]] = []
        for c in cs.sorted(by: { $0.order < $1.order }) where !seen.contains(c.block) { seen.append(c.block) }
        return seen.flatMap { $0 }
    }

    /// File contents with every candidate applied (for the check).
    static func apply(_ cs: [Candidate], files: FileSource) -> [String: [UInt8]] {
        var byPath: [String: [Candidate]] = [:]
        for c in cs {
            switch c.placement {
            case .insert(let p, _), .create(let p, _, _), .delete(let p, _), .createWithout(let p, _, _): byPath[p, default: []].append(c)
            }
        }
        var out: [String: [UInt8]] = [:]
        for (path, list) in byPath {
            var source = path
            if case .create(_, let from, _)? = list.first?.placement { source = from }
            if case .createWithout(_, let from, _)? = list.first?.placement { source = from }
            guard let bytes = files.bytes(source) else { continue }
            out[path] = render(bytes, list)
        }
        return out
    }

    static func render(_ bytes: [UInt8], _ list: [Candidate]) -> [UInt8] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        let endsWithNewline = bytes.last == 0x0A
        if endsWithNewline { lines.removeLast() }
        var inserts: [Int: [Candidate]] = [:]
        var deletes: Set<Int> = []
        for c in list {
            switch c.placement {
            case .insert(_, let b), .create(_, _, let b): inserts[b, default: []].append(c)
            case .delete(_, let l), .createWithout(_, _, let l): deletes.insert(l)
            }
        }
        for at in Set(inserts.keys).union(deletes).sorted(by: >) {
            if deletes.contains(at), at >= 1, at <= lines.count { lines.remove(at: at - 1) }
            if let cs = inserts[at] {
                let index = max(0, min(at - 1, lines.count))
                lines.insert(contentsOf: blocks(cs).map { Array($0.utf8) }, at: index)
            }
        }
        var out: [UInt8] = []
        for (i, l) in lines.enumerated() {
            out += l
            if i < lines.count - 1 || endsWithNewline || lines.isEmpty { out.append(0x0A) }
        }
        return out
    }

    static func groupedEdits(_ cs: [Candidate], files: FileSource) -> [Placement: FirewallFix] {
        var out: [Placement: FirewallFix] = [:]
        var byPlacement: [Placement: [Candidate]] = [:]
        for c in cs { byPlacement[c.placement, default: []].append(c) }
        // Creating a zone copy: every change to that copy is one file.
        var creates: [String: [Candidate]] = [:]
        for c in cs {
            switch c.placement {
            case .create(let p, _, _), .createWithout(let p, _, _): creates[p, default: []].append(c)
            default: break
            }
        }
        for (placement, list) in byPlacement {
            switch placement {
            case .insert(let path, let before):
                out[placement] = .insert(path: path, before: before, lines: blocks(list))
            case .delete(let path, let line):
                let text = files.bytes(path).map { Text.lines($0) }.flatMap { line <= $0.count ? Text.trimmed($0[line - 1]) : nil } ?? ""
                out[placement] = .delete(path: path, line: line, text: text)
            case .create(let path, let from, _), .createWithout(let path, let from, _):
                let all = creates[path] ?? list
                guard let bytes = files.bytes(from) else { continue }
                let lines = Text.lines(render(bytes, all))
                out[placement] = .createZone(path: path, from: from, lines: lines, added: blocks(all).filter { !$0.isEmpty }.map { Text.trimmed($0) })
            }
        }
        return out
    }
}
