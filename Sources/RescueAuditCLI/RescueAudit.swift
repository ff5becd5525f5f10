import ArgumentParser
import RescueSys

public struct RescueAudit: ParsableCommand {
    public init() {}
    public func run() throws { print(Blkid.libraryVersion) }
}
