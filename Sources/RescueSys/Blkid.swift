import CBlkid

/// The libblkid this process runs with.
public enum Blkid {
    /// The version and release date libblkid reports (blkid_get_library_version).
    public static var libraryVersion: (version: String, date: String) {
        var ver: UnsafePointer<CChar>?
        var date: UnsafePointer<CChar>?
        _ = blkid_get_library_version(&ver, &date)
        return (ver.map { String(cString: $0) } ?? "unknown", date.map { String(cString: $0) } ?? "unknown")
    }
}
