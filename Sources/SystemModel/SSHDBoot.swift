import Parsers
import TargetAccess

/// The last three links of the SSH-after-boot chain: whether sshd starts,
/// where it listens, and whether anyone can log in. Computed once when the
/// snapshot is loaded (`SSHDModel.boot`).
public struct SSHDBoot: Hashable, Sendable {
    public var starts: BootLink      // kind .sshdStarts
    public var listens: BootLink     // kind .listens
    public var ports: [Located<Int>] // the TCP ports really listened on (ssh.socket ListenStream= wins over Port)
    public var addresses: [Located<String>] // ListenAddress values; empty = all
    public var login: BootLink       // kind .login

    public init(starts: BootLink, listens: BootLink, ports: [Located<Int>], addresses: [Located<String>], login: BootLink) {
        self.starts = starts
        self.listens = listens
        self.ports = ports
        self.addresses = addresses
        self.login = login
    }
}

extension SystemSnapshot {
    /// sshd at the next boot: starts, listens, login.
    public var sshdAtBoot: SSHDBoot { sshd.boot }
}

/// One reason sshd does not start at the next boot, with what a rule needs to
/// report and repair it.
public struct SSHDStartProblem: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// No enablement link starts ssh.service, sshd.service or ssh.socket.
        case notEnabled
        /// The unit is masked.
        case masked
        /// `/etc/ssh/sshd_not_to_be_run` exists: the unit's condition skips it.
        case notToBeRun
        /// The program of `ExecStart=` is missing or not executable.
        case binaryMissing
        /// The privilege-separation user does not exist.
        case privsepUser
        /// The privilege-separation directory is not there at start.
        case privsepDirectory
        /// sshd_config is missing.
        case configMissing
    }
    public var kind: Kind
    public var message: String
    public var evidence: [SourceLine]
    /// The unit to enable (`ssh.service`), for `.notEnabled`.
    public var unit: String?
    /// The mask symlink or the file to move aside.
    public var path: String?
    /// For `.notToBeRun`: the file could be read (a regular file within the
    /// reader's cap), so a plan can record its hash and move it aside.
    public var fileReadable = false
}

/// A host key sshd is set to load, and whether it can.
public struct SSHDHostKey: Hashable, Sendable {
    public enum State: Hashable, Sendable {
        case usable
        case missing
        /// Owned by root and readable by group or others: "UNPROTECTED PRIVATE KEY FILE", not loaded.
        case unsafeMode(UInt32)
        /// Empty, not a regular file, or not a private key.
        case unreadable(String)
    }
    public var path: String
    /// The `HostKey` line, or line 0 of sshd_config for sshd's built-in defaults.
    public var source: SourceLine
    public var state: State
    /// The key file's mode and owner (symlinks followed), nil when absent.
    public var ownership: AuditedOwnership? = nil
    /// The file a symlinked key leads to; nil when the key is no symlink.
    public var realPath: String? = nil
}

/// A target path's permission bits and numeric owner, as the load found them.
public struct AuditedOwnership: Hashable, Sendable {
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public init(mode: UInt32, uid: UInt32, gid: UInt32) { self.mode = mode; self.uid = uid; self.gid = gid }
}

/// A StrictModes violation on the way to an account's authorized_keys:
/// sshd ignores the keys file.
public struct SSHDStrictModesIssue: Hashable, Sendable {
    public var account: String
    public var path: String
    public var mode: UInt32
    public var owner: UInt32
    /// What is wrong, in words.
    public var why: String
    /// `chmod go-w PATH` or `chown USER PATH`, the words of the fix (target path).
    public var fix: [String]
    /// The path itself (lstat), nil when it is a symlink or vanished: what a
    /// fix changes from.
    public var ownership: AuditedOwnership? = nil
}

/// How one account fares at sshd's login.
public struct SSHDAccountLogin: Hashable, Sendable {
    public var name: String
    public var uid: Int
    /// It can log in (by `method`).
    public var canLogin: Bool
    /// Whether the answer depends on things not known offline (the client's address, a command).
    public var uncertain: Bool
    /// `a key in /home/a/.ssh/authorized_keys`, `a password`.
    public var method: String?
    /// Why not, when it cannot.
    public var reasons: [String]
    public var evidence: [SourceLine]
}

/// sshd as the target will run it after the next boot.
public struct SSHDModel: Sendable {
    public var config = SshdConfigModel()
    /// Whether sshd is on the target at all (a unit, an init script, the binary or the package).
    public var present = false
    /// The unit or init script that starts it at boot, with its evidence.
    public var startedBy: String?
    /// Socket activation: the socket unit whose `ListenStream=` decides the port.
    public var socketActivated = false
    public var startProblems: [SSHDStartProblem] = []
    public var hostKeys: [SSHDHostKey] = []
    /// What creates host keys at boot, when something does (`sshd-keygen@.service`, `ssh-keygen -A` in ExecStartPre).
    public var keygenAtBoot: SourceLine?
    /// The sshd program the unit runs.
    public var binary: String?
    /// Whether that binary links libwrap (and so reads hosts.allow/hosts.deny); nil when unknown.
    public var linksLibwrap: Bool?
    /// Debian's and Ubuntu's build of sshd, whose user-group-modes patch lets
    /// StrictModes accept a path writable by its owner's one-member group;
    /// with the evidence it was judged from (the dpkg stanza, or the binary).
    public var userGroupModes: SourceLine?
    public var accounts: [SSHDAccountLogin] = []
    public var strictModes: [SSHDStrictModesIssue] = []
    /// The target's ssh-keygen (openssh-client), an executable regular file, when it has one.
    public var keygenProgram: String?
    /// /etc/tmpfiles.d/sshd-privsep.conf exists (any kind, dangling included).
    public var privsepTmpfilesConfExists = false
    /// The first of /usr/sbin/nologin, /sbin/nologin, /bin/false that is a regular file.
    public var nologinShell: String?
    /// /etc/nologin, when it exists.
    public var nologin: SourceLine?
    /// /etc/nologin could be read (a regular file within the reader's cap):
    /// a plan can record its hash and move it aside.
    public var nologinReadable = false
    /// hosts.deny lines that refuse sshd for every client, when libwrap is linked.
    public var hostsDenyAll: [SourceLine] = []
    /// fail2ban's database, when fail2ban starts at boot and keeps one.
    public var fail2banDatabase: String?
    /// Bans for SSH that fail2ban restores from it when it starts.
    public var fail2banBans: [Fail2banBan] = []
    public var boot = SSHDBoot(starts: BootLink(.sshdStarts, .cannotTell, "not evaluated"),
                               listens: BootLink(.listens, .cannotTell, "not evaluated"),
                               ports: [], addresses: [], login: BootLink(.login, .cannotTell, "not evaluated"))
    public var diagnostics: [Diagnostic] = []

    public init() {}

    public var configDiagnostics: [ConfigDiagnostic] {
        diagnostics.map { ConfigDiagnostic($0, format: "sshd", impact: .tolerated) }
    }

    /// Whether no host key can be loaded (so sshd exits "no hostkeys available").
    public var noUsableHostKey: Bool { !hostKeys.isEmpty && !hostKeys.contains { $0.state == .usable } }
}

extension SystemSnapshot {
    /// sshd as it would be at the next boot with `overlay`'s changes made to
    /// the target, everything else as loaded: a rule checks that a fix it
    /// proposes really lets someone in before it proposes it.
    public func sshd(after overlay: TargetOverlay) -> SSHDModel {
        SSHDModel.load(root.overlaying(overlay), SSHDContext(units: units, initSystem: initSystem, packages: packages,
                                                             claims: claims, listeners: listeners))
    }
}
