/// Parses interfaces(5). Placeholder until the full grammar lands.
public enum IfupdownParser {
    public static func parse(_ bytes: [UInt8], path: String) -> IfupdownFile {
        IfupdownFile(path: path)
    }
}
