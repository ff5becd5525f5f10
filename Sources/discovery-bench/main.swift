// A hidden benchmark and test driver for Discovery: opens a target the way
// `rescue-audit audit` will, reads /etc/os-release through the confined
// reader, and closes it, N times. Not a product; benchmarks/audit-image.sh uses it.
//
//   discovery-bench TARGET [RUNS] [--hold SECONDS]
//   discovery-bench --devices [TARGET...]
import Discovery
import Glibc

let args = CommandLine.arguments
if args.count >= 2, args[1] == "--devices" {
    do {
        print(renderDevicesText(try TargetOpener.devices(Array(args.dropFirst(2)))), terminator: "")
        exit(0)
    } catch {
        print("rescue-audit: \(error)")
        exit(2)
    }
}
guard args.count >= 2 else {
    print("usage: discovery-bench TARGET [RUNS] [--hold SECONDS]")
    exit(64)
}
let target = args[1]
let runs = args.count >= 3 ? Int(args[2]) ?? 1 : 1
let hold = args.firstIndex(of: "--hold").flatMap { i in i + 1 < args.count ? UInt32(args[i + 1]) : nil }

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

var times: [Double] = []
var opened = ""
for _ in 0..<max(1, runs) {
    let start = now()
    do {
        let t = try TargetOpener.open(target)
        do {
            let root = try t.openRoot()
            let bytes = root.bytes("/etc/os-release") ?? []
            opened = "\(t.description.osName ?? "?") on \(t.description.device ?? "?") partition \(t.description.partition ?? 0), "
                + "submounts \(t.description.submounts.map(\.mountPoint)), os-release \(bytes.count) bytes"
        } catch {
            print("rescue-audit: \(error)")
        }
        if let hold {
            print("mounted \(t.description.device ?? "") at \(t.rootPath); holding \(hold)s")
            sleep(hold)
        }
        t.close()
    } catch {
        print("rescue-audit: \(error)")
        exit(2)
    }
    times.append((now() - start) * 1000)
}
let sorted = times.sorted()
print(opened)
print("runs \(sorted.count) median_ms \(sorted[sorted.count / 2]) max_ms \(sorted[sorted.count - 1])")
