import Parsers
@testable import Plan
import TargetAccess
import Testing

@Suite struct PlanTests {
    let file = Array("one\ntwo\nthree\n".utf8)

    func build(_ actions: [RepairAction]) -> RepairPlan {
        let requests = actions.enumerated().map { ActionRequest(rule: "r\($0.offset)", findingIndex: $0.offset, action: $0.element, summary: "s\($0.offset)") }
        return PlanBuilder.build(requests) { $0 == "/etc/f" ? file : nil }
    }

    @Test func editsOfOneFileMergeIntoOneWrite() throws {
        let plan = build([
            .editLines(path: "/etc/f", edits: [.insert(["zero"], before: 1)]),
            .editLines(path: "/etc/f", edits: [.delete(line: 2)]),
        ])
        #expect(plan.conflicts.isEmpty)
        #expect(plan.actions.count == 1)
        guard case .writeFile(_, let before, let after, let content, _, _) = plan.actions[0].operation else {
            Issue.record("not a write"); return
        }
        #expect(String(decoding: content, as: UTF8.self) == "zero\none\nthree\n")
        #expect(before == sha256Hex(file))
        #expect(after == sha256Hex(content))
        #expect(plan.actionsByFinding[0]?.map(\.id) == ["A1"] && plan.actionsByFinding[1]?.map(\.id) == ["A1"])
    }

    @Test func overlappingDifferentEditsAreRefused() {
        let plan = build([
            .editLines(path: "/etc/f", edits: [.replace(line: 2, with: ["TWO"])]),
            .editLines(path: "/etc/f", edits: [.delete(line: 2)]),
        ])
        #expect(plan.actions.isEmpty)
        #expect(plan.conflicts.count == 1)
        #expect(plan.conflicts.first?.message.contains("line 2") == true)
    }

    @Test func identicalRequestsAreDeduplicated() {
        let plan = build([
            .editLines(path: "/etc/f", edits: [.delete(line: 3)]),
            .editLines(path: "/etc/f", edits: [.delete(line: 3)]),
            .enableUnit(unit: "a.service", links: [SymlinkSpec(path: "/etc/systemd/system/multi-user.target.wants/a.service", target: "/lib/systemd/system/a.service")]),
            .enableUnit(unit: "a.service", links: [SymlinkSpec(path: "/etc/systemd/system/multi-user.target.wants/a.service", target: "/lib/systemd/system/a.service")]),
        ])
        #expect(plan.actions.count == 2)
    }

    @Test func orderIsEditsThenEnablesThenChrootThenManual() {
        let plan = build([
            .manual(description: "m", commands: []),
            .chroot(command: ["dpkg", "--configure", "-a"], why: "w", undoable: false),
            .enableUnit(unit: "a.service", links: []),
            .editLines(path: "/etc/f", edits: [.delete(line: 1)]),
            .createFile(path: "/etc/new", lines: ["x"], mode: 0o644),
        ])
        #expect(plan.actions.map(\.id) == ["A1", "A2", "A3", "A4", "A5"])
        let kinds = plan.actions.map { a -> String in
            switch a.operation {
            case .writeFile(let p, _, _, _, _, _): "write \(p)"
            case .enableUnit: "enable"
            case .chroot: "chroot"
            case .manual: "manual"
            default: "other"
            }
        }
        #expect(kinds == ["write /etc/f", "write /etc/new", "enable", "chroot", "manual"])
    }

    @Test func aFileWithoutTrailingNewlineKeepsItsShape() {
        let requests = [ActionRequest(rule: "r", findingIndex: 0, action: .editLines(path: "/x", edits: [.insert(["a"], before: 1)]), summary: "s")]
        let plan = PlanBuilder.build(requests) { _ in Array("b".utf8) }
        guard case .writeFile(_, _, _, let content, _, _) = plan.actions.first?.operation else { Issue.record("no write"); return }
        #expect(content == Array("a\nb".utf8))
    }
}

/// Target paths in the commands a finding shows stay data when pasted into a shell.
@Suite struct ShownCommandTests {
    @Test func hostilePathsStayOneWord() throws {
        #expect(rootPath("/etc/network/interfaces") == "\"$ROOT\"/etc/network/interfaces")
        for path in ["/etc/x$(touch /tmp/pwned)", "/etc/it's here", "/etc/a b;reboot", "/etc/`id`"] {
            let out = try run("/bin/sh", ["-c", "printf %s " + rootPath(path)], environment: ["ROOT": "/mnt/target"])
            #expect(out.stdout == "/mnt/target" + path, "\(rootPath(path)) -> \(out.stdout)")
        }
    }
}

/// The n log n overlap check finds an overlap exactly when comparing every
/// pair of edits does (the rule the plan refuses conflicting edits by).
@Suite struct EditOverlapTests {
    static func pairwise(_ edits: [LineEdit]) -> Bool {
        for i in edits.indices {
            for j in edits.indices where j > i {
                let a = edits[i], b = edits[j]
                let r1 = a.line..<(a.line + a.removeCount), r2 = b.line..<(b.line + b.removeCount)
                if r1.overlaps(r2) || (a.removeCount == 0 && b.removeCount == 0 && a.line == b.line)
                    || (a.removeCount == 0 && r2.contains(a.line) && b.line != a.line)
                    || (b.removeCount == 0 && r1.contains(b.line) && a.line != b.line) { return true }
            }
        }
        return false
    }

    @Test func sameAnswerAsEveryPair() {
        var rng = SystemRandomNumberGenerator()
        var overlaps = 0
        for _ in 0..<3000 {
            var edits = Set<LineEdit>()
            for k in 0..<Int.random(in: 1...6, using: &rng) {
                edits.insert(LineEdit(line: Int.random(in: 1...12, using: &rng), removeCount: Int.random(in: 0...3, using: &rng), insert: ["x\(k)"]))
            }
            let list = Array(edits)
            let expected = Self.pairwise(list)
            if expected { overlaps += 1 }
            #expect(PlanBuilder.anyOverlap(list) == expected, "\(list)")
        }
        #expect(overlaps > 100 && overlaps < 2900, "both outcomes are exercised: \(overlaps)")
    }
}
