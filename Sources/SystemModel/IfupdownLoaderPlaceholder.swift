import Parsers
import TargetAccess

/// Temporary: reads the main file only, until the include-aware loader lands.
public enum IfupdownLoader {
    public static func load(_ root: TargetRoot, path: String = "/etc/network/interfaces") -> IfupdownConfig? {
        guard let bytes = root.bytes(path) else { return nil }
        let f = IfupdownParser.parse(bytes, path: path)
        return IfupdownConfig(mainPath: path, files: [path], items: f.items, diagnostics: f.diagnostics)
    }
}
