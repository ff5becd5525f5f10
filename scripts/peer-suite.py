#!/usr/bin/env python3
"""The peer suite (issue 16): the upstream projects' own test and example
configuration files, each placed into a realistic root, audited by
rescue-audit and compared with the real tool's verdict on the same input.
Run it through scripts/peer-suite.sh, which documents the arguments."""
import argparse, hashlib, json, os, re, shutil, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = os.path.join(REPO, ".oracles", "root")
LIBS = ORACLE + "/usr/lib/x86_64-linux-gnu"
LINE_LEVEL = re.compile(r"applies the rest|activates the rest|does not stop the network at boot")
SYNTAX_RULES = {"config-syntax-error", "firewall-rules-unparseable", "sshd-config-invalid"}

# Upstream sources, pinned. Debian 12's source packages (apt-get source
# --download-only with a private sources list and state directory: nothing on
# the host changes), and, where deb.debian.org has no orig tarball or the
# release is newer than Debian 12, GitHub repositories at a tag or commit,
# read from bare git directories under --mirror (owner+name/repo, as
# `git clone --bare https://github.com/owner/name owner+name/repo` leaves them).
DEBSRC = {
    "systemd": "252.39-1~deb12u2",
    "netplan.io": "0.106-2+deb12u1",
    "network-manager": "1.42.4-1+deb12u1",
    "ifupdown": "0.8.41",
    "ifupdown2": "3.0.0-1.1",
    "iptables": "1.8.9-2",
}
GIT = {
    "netplan": ("canonical/netplan", "1.1.2"),
    "ifupdown-ng": ("ifupdown-ng/ifupdown-ng", "e42da09625dbc153501e93b9db9b3e1db3cb5300"),
    # nftables 1.0.6 (its configure.ac) as Debian packages it, with a fullcone patch that adds no test file.
    "nftables": ("debiansid/nftables-fullcone", "a47023d"),
    "firewalld": ("firewalld/firewalld", "v1.3.3"),
}


def sh(args, **kw):
    return subprocess.run(args, capture_output=True, **kw)


class Sources:
    def __init__(self, mirror, work):
        self.mirror, self.work = mirror, work

    def git_dir(self, key):
        repo = GIT[key][0]
        d = os.path.join(self.mirror, repo.replace("/", "+"), "repo")
        if not os.path.isdir(d):
            raise SystemExit(f"peer-suite: {repo} is not under {self.mirror}: git clone --bare https://github.com/{repo} {d}")
        return d

    def git_files(self, key, ref, pattern):
        """(name, bytes) of the files at `ref` whose path matches `pattern`."""
        d = self.git_dir(key)
        ref = ref or GIT[key][1] or "HEAD"
        names = sh(["git", "--git-dir", d, "ls-tree", "-r", "--name-only", ref], check=True).stdout.decode().split("\n")
        out = []
        for n in names:
            if re.search(pattern, n):
                blob = sh(["git", "--git-dir", d, "show", f"{ref}:{n}"]).stdout
                out.append((n, blob))
        return out, sh(["git", "--git-dir", d, "rev-parse", "--short", ref]).stdout.decode().strip()

    def debsrc(self, pkg):
        """The unpacked upstream tarball of Debian 12's source package `pkg`."""
        version = DEBSRC[pkg]
        top = os.path.join(self.work, "src")
        out = os.path.join(top, pkg + "-" + version)
        if os.path.isdir(out):
            return out
        apt = os.path.join(self.work, "apt")
        os.makedirs(os.path.join(apt, "lists", "partial"), exist_ok=True)
        os.makedirs(os.path.join(apt, "cache", "archives", "partial"), exist_ok=True)
        with open(os.path.join(apt, "sources.list"), "w") as f:
            for suite in ("bookworm", "bookworm-updates"):
                f.write(f"deb-src http://deb.debian.org/debian {suite} main\n")
            f.write("deb-src http://deb.debian.org/debian-security bookworm-security main\n")
        opts = ["-o", f"Dir::Etc::SourceList={apt}/sources.list", "-o", "Dir::Etc::SourceParts=/dev/null",
                "-o", f"Dir::State::Lists={apt}/lists", "-o", f"Dir::Cache={apt}/cache"]
        upstream = version.split("-")[0] if "-" in version else version
        tarballs = [f for f in os.listdir(top) if f.startswith(f"{pkg}_{upstream}.") and ".tar." in f and ".debian." not in f] if os.path.isdir(top) else []
        if not tarballs:
            os.makedirs(top, exist_ok=True)
            if not os.listdir(os.path.join(apt, "lists")) or len(os.listdir(os.path.join(apt, "lists"))) < 3:
                subprocess.run(["apt-get", *opts, "update"], check=True, capture_output=True)
            subprocess.run(["apt-get", *opts, "source", "--download-only", f"{pkg}={version}"], cwd=top, check=True, capture_output=True)
            tarballs = [f for f in os.listdir(top) if f.startswith(f"{pkg}_{upstream}.") and ".tar." in f and ".debian." not in f]
        os.makedirs(out)
        subprocess.run(["tar", "-xf", os.path.join(top, tarballs[0]), "-C", out, "--strip-components=1"], check=True)
        return out

    def debsrc_files(self, pkg, pattern):
        top = self.debsrc(pkg)
        out = []
        for dirpath, _, names in os.walk(top):
            for n in sorted(names):
                rel = os.path.relpath(os.path.join(dirpath, n), top)
                if re.search(pattern, rel):
                    out.append((rel, open(os.path.join(dirpath, n), "rb").read()))
        return sorted(out), DEBSRC[pkg]


# --- Oracles -----------------------------------------------------------------

def oracle_env(extra=None):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LD_LIBRARY_PATH": LIBS,
           "XTABLES_LIBDIR": LIBS + "/xtables"}
    env.update(extra or {})
    return env


def netplan_generate(files):
    """netplan.io 0.106's generate on a scratch root holding only `files`."""
    exe = next((p for p in (ORACLE + "/usr/libexec/netplan/generate", ORACLE + "/usr/lib/netplan/generate") if os.path.exists(p)), None)
    if not exe:
        return None, "netplan generate not unpacked"
    with tempfile.TemporaryDirectory() as d:
        for path, data in files.items():
            os.makedirs(os.path.dirname(d + path), exist_ok=True)
            with open(d + path, "wb") as f:
                f.write(data)
            os.chmod(d + path, 0o600)
        r = sh([exe, "--root-dir", d], env=oracle_env(), timeout=60)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()[-300:]


def iptables_restore(data, v6):
    exe = ORACLE + "/usr/sbin/xtables-legacy-multi"
    if not os.path.exists(exe):
        return None, "iptables not unpacked"
    with tempfile.NamedTemporaryFile() as f:
        f.write(data); f.flush()
        r = sh(["unshare", "-n", exe, "ip6tables-restore" if v6 else "iptables-restore", "--test", f.name], env=oracle_env(), timeout=60)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()[-300:]


def nft_check(data):
    if not os.path.exists(ORACLE + "/usr/sbin/nft"):
        return None, "nft not unpacked"
    with tempfile.TemporaryDirectory() as d:
        with open(d + "/nftables.conf", "wb") as f:
            f.write(data)
        r = sh(["unshare", "-n", ORACLE + "/usr/sbin/nft", "-I", d, "-c", "-f", d + "/nftables.conf"], env=oracle_env(), timeout=60)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()[-300:]


def ifquery(data):
    exe = next((p for p in (ORACLE + "/sbin/ifquery", ORACLE + "/usr/sbin/ifquery") if os.path.exists(p)), None)
    if not exe:
        return None, "ifquery not unpacked"
    with tempfile.TemporaryDirectory() as d:
        with open(d + "/interfaces", "wb") as f:
            f.write(data)
        r = sh([exe, "-i", d + "/interfaces", "--state-dir=" + d + "/state", "--no-mappings", "--list", "-a"],
               env=oracle_env(), timeout=60)
    err = r.stderr.decode(errors="replace").strip()
    return r.returncode == 0 and "error" not in err.lower() and "misplaced" not in err.lower(), err[-300:]


# --- Cases -------------------------------------------------------------------

class Case:
    """One upstream file in one realistic root. `oracle` is a callable
    returning (accepted, message) from the real tool, or None when the
    upstream suite's own expectation (`expected`) is the judge."""
    def __init__(self, corpus, name, base, files, target, oracle=None, expected=True, modes=None, dpkg=None):
        self.corpus, self.name, self.base, self.files, self.target = corpus, name, base, files, target
        self.oracle, self.expected, self.modes, self.dpkg = oracle, expected, modes or {}, dpkg or {}


def scenario(rule, name):
    return os.path.join(REPO, "rules", rule, "tests", name)


BASE = {
    "netplan-0.106": scenario("config-syntax-error", "netplan-per-type-renderer.pass"),
    "netplan-1.1": scenario("config-syntax-error", "netplan-newer-keys-on-1.1.pass"),
    "networkd": scenario("config-syntax-error", "networkd-match-path-only.pass"),
    "nm": scenario("no-network-configured", "nm-auto-default.pass"),
    "ifcfg": os.path.join(REPO, "Tests/RescueAuditTests/Fixtures/healthy/rhel9-ifcfg"),
    "ifupdown": scenario("config-syntax-error", "clean-interfaces.pass"),
    "ifupdown2": scenario("config-syntax-error", "ifupdown2-syntax.pass"),
    "iptables": scenario("firewall-rules-unparseable", "valid-rules.pass"),
    "nft": scenario("firewall-rules-unparseable", "nftables-reject-concat-define.pass"),
    "firewalld": scenario("firewall-blocks-ssh", "firewalld-stock-public.pass"),
}
# Files of the base that the upstream file replaces.
REPLACES = {
    "netplan": ["/etc/netplan"], "networkd": ["/etc/systemd/network"],
    "nm-keyfile": ["/etc/NetworkManager/system-connections"], "ifcfg": ["/etc/sysconfig/network-scripts"],
    "iptables": ["/etc/iptables/rules.v4", "/etc/iptables/rules.v6"],
}


def iptables_t_files(files):
    """extensions/*.t (`RULE;SAVED-FORM;OK|FAIL` lines): the rules a .t file expects to load (`RULE;OK`) become
    one iptables-save file per table (all must load), and each rule it
    expects to be refused (`RULE;FAIL`) a file of its own. The .t verdict is
    the upstream expectation; iptables-restore --test is the oracle."""
    out = []
    for name, blob in files:
        base = os.path.basename(name)
        if base.startswith(("libarpt", "libebt")):
            continue
        fams = [False] if base.startswith("libipt_") else [True] if base.startswith("libip6t_") else [False, True]
        table, chains, ok = "filter", ["INPUT"], {}
        for i, line in enumerate(blob.decode(errors="replace").split("\n")):
            if line.startswith(":"):
                chains = [c for c in line[1:].split(",") if c] or chains
                continue
            if line.startswith("*"):
                table = line[1:].strip()
                continue
            parts = line.split(";")
            # RULE;EXPECTED-SAVE-OUTPUT;OK|FAIL
            if len(parts) < 3 or parts[2].strip() not in ("OK", "FAIL") or not parts[0].strip().startswith("-"):
                continue
            rule = f"-A {chains[0]} {parts[0].strip()}"
            if parts[2].strip() == "OK":
                ok.setdefault(table, []).append(rule)
            else:
                for v6 in fams:
                    out.append((f"{base}:{i + 1}{':v6' if v6 else ''}", f"*{table}\n{rule}\nCOMMIT\n".encode(), v6, False))
        for t, rules in ok.items():
            for v6 in fams:
                text = f"*{t}\n" + "\n".join(rules) + "\nCOMMIT\n"
                out.append((f"{base}:{t}:OK{':v6' if v6 else ''}", text.encode(), v6, True))
    return out


def build_cases(src, only):
    cases = []
    want = lambda c: not only or c in only

    if want("netplan-0.106") or want("netplan-1.1.2"):
        for ref, corpus in (("0.106", "netplan-0.106"), ("1.1.2", "netplan-1.1.2")):
            if not want(corpus):
                continue
            if ref == "0.106":
                files, rev = src.debsrc_files("netplan.io", r"^examples/[^/]+\.ya?ml$")
            else:
                files, rev = src.git_files("netplan", ref, r"^examples/[^/]+\.ya?ml$")
            for n, b in files:
                path = "/etc/netplan/" + os.path.basename(n)
                # On a root with netplan.io 0.106: 0.106's generate is the oracle.
                cases.append(Case(corpus + "@0.106-root", n, BASE["netplan-0.106"], {path: b}, path,
                                  oracle=(lambda b=b, path=path: netplan_generate({path: b})), modes={path: 0o600}))
                if corpus == "netplan-1.1.2":
                    # On a root with netplan.io 1.1: upstream's own examples are valid for it.
                    # A root that uses Open vSwitch has openvswitch-switch installed (netplan needs its ovs-vsctl).
                    extra = {"/usr/bin/ovs-vsctl": b"#!/bin/sh\n"} if b"openvswitch:" in b else {}
                    cases.append(Case(corpus + "@1.1-root", n, BASE["netplan-1.1"], {path: b, **extra}, path,
                                      modes={path: 0o600, "/usr/bin/ovs-vsctl": 0o755}))

    if want("networkd"):
        conf = os.path.join(src.debsrc("systemd"), "test/test-network/conf")
        for dirpath, _, names in sorted(os.walk(conf)):
            for n in sorted(names):
                full = os.path.join(dirpath, n)
                rel = os.path.relpath(full, conf)
                if not re.search(r"\.(network|netdev|link)$|\.(network|netdev|link)\.d/[^/]+\.conf$", rel):
                    continue
                path = "/etc/systemd/network/" + rel
                cases.append(Case("networkd", rel, BASE["networkd"], {path: open(full, "rb").read()}, path))

    if want("nm-keyfile"):
        files, _ = src.debsrc_files("network-manager", r"settings/plugins/keyfile/tests/keyfiles/[^/]+$")
        for n, b in files:
            base = os.path.basename(n)
            if base.endswith((".pem", ".der", ".p12", ".key", ".crt", ".cer")) or "Test_" not in base and not base.endswith(".nmconnection"):
                continue
            path = "/etc/NetworkManager/system-connections/" + base
            cases.append(Case("nm-keyfile", n, BASE["nm"], {path: b}, path, modes={path: 0o600}))

    if want("ifcfg"):
        files, _ = src.debsrc_files("network-manager", r"settings/plugins/ifcfg-rh/tests/network-scripts/ifcfg-[^/]+$")
        byname = {os.path.basename(n): b for n, b in files}
        for n, b in files:
            path = "/etc/sysconfig/network-scripts/" + os.path.basename(n)
            placed = {path: b}
            # An alias file is read with its parent (NetworkManager's tests read them together).
            parent = os.path.basename(n).split(":")[0]
            if ":" in os.path.basename(n) and parent in byname:
                placed["/etc/sysconfig/network-scripts/" + parent] = byname[parent]
            cases.append(Case("ifcfg", n, BASE["ifcfg"], placed, path))

    if want("ifupdown"):
        for n, data in src.debsrc_files("ifupdown", r"^(examples/[^/]+|tests/linux/testcase\.[^/]+)$")[0]:
            if b"iface" not in data or n.endswith((".sh", ".pl")):
                continue
            cases.append(Case("ifupdown", n, BASE["ifupdown"], {"/etc/network/interfaces": data}, "/etc/network/interfaces",
                              oracle=(lambda data=data: ifquery(data))))

    if want("ifupdown2"):
        files, _ = src.debsrc_files("ifupdown2", r"^(tests/eni/[^/]+|docs/examples/.+)$")
        for n, b in files:
            if b"iface" not in b or n.endswith((".py", ".json", ".sh")):
                continue
            cases.append(Case("ifupdown2", n, BASE["ifupdown2"], {"/etc/network/interfaces": b}, "/etc/network/interfaces"))

    if want("ifupdown-ng"):
        files, _ = src.git_files("ifupdown-ng", None, r"^tests/fixtures/[^/]+\.interfaces$")
        for n, b in files:
            cases.append(Case("ifupdown-ng", n, BASE["ifupdown"], {"/etc/network/interfaces": b}, "/etc/network/interfaces",
                              dpkg={"ifupdown": "ifupdown-ng"}))

    if want("iptables"):
        files, _ = src.debsrc_files("iptables", r"iptables/tests/shell/testcases/.*dumps/[^/]+$|testcases/ipt-save/[^/]+\.txt$")
        for n, b in files:
            if b"COMMIT" not in b:
                continue
            v6 = "ip6" in os.path.basename(n)
            path = "/etc/iptables/rules.v6" if v6 else "/etc/iptables/rules.v4"
            cases.append(Case("iptables-dumps", n, BASE["iptables"], {path: b}, path,
                              oracle=(lambda b=b, v6=v6: iptables_restore(b, v6))))
        tfiles, _ = src.debsrc_files("iptables", r"^extensions/[^/]+\.t$")
        for name, text, v6, ok in iptables_t_files(tfiles):
            path = "/etc/iptables/rules.v6" if v6 else "/etc/iptables/rules.v4"
            cases.append(Case("iptables-extensions", name, BASE["iptables"], {path: text}, path,
                              oracle=(lambda text=text, v6=v6: iptables_restore(text, v6)), expected=ok))

    if want("nftables"):
        files, _ = src.git_files("nftables", None, r"tests/shell/testcases/.*/dumps/[^/]+\.nft$|^files/(examples|nftables)/[^/]+\.nft$")
        for n, b in files:
            cases.append(Case("nftables", n, BASE["nft"], {"/etc/nftables.conf": b}, "/etc/nftables.conf",
                              oracle=(lambda b=b: nft_check(b))))

    if want("firewalld"):
        files, _ = src.git_files("firewalld", None, r"^config/(zones|services)/[^/]+\.xml$")
        for n, b in files:
            kind = n.split("/")[1]
            path = f"/etc/firewalld/{kind}/" + os.path.basename(n)
            cases.append(Case("firewalld", n, BASE["firewalld"], {path: b}, path))
    return cases


# --- Running -----------------------------------------------------------------

def make_root(case, scratch):
    root = os.path.join(scratch, "root")
    if os.path.exists(root):
        shutil.rmtree(root)
    shutil.copytree(case.base, root, symlinks=True)
    key = next((k for k in REPLACES if case.corpus.startswith(k)), None)
    if key:
            for p in REPLACES[key]:
                full = root + p
                if os.path.isdir(full) and not os.path.islink(full):
                    for n in os.listdir(full):
                        q = os.path.join(full, n)
                        if os.path.isfile(q) or os.path.islink(q):
                            os.unlink(q)
                elif os.path.lexists(full) and p.startswith("/etc/iptables/"):
                    os.unlink(full)
    for path, data in case.files.items():
        os.makedirs(os.path.dirname(root + path), exist_ok=True)
        with open(root + path, "wb") as f:
            f.write(data)
        os.chmod(root + path, case.modes.get(path, 0o644))
    if case.dpkg:
        status = root + "/var/lib/dpkg/status"
        text = open(status).read()
        for old, new in case.dpkg.items():
            text = text.replace(f"Package: {old}\n", f"Package: {new}\n")
        open(status, "w").write(text)
    return root


def audit(binary, root, target):
    t0 = time.time()
    for attempt in range(30):
        try:
            r = sh([binary, root, "--format", "json"], timeout=120)
            break
        except subprocess.TimeoutExpired:
            return "crash", ["timeout after 120 s"], 120.0
        except OSError:  # the binary is being relinked by a build
            time.sleep(10)
    else:
        raise SystemExit(f"peer-suite: cannot run {binary}")
    elapsed = time.time() - t0
    err = r.stderr.decode(errors="replace")
    if r.returncode < 0 or r.returncode >= 3 or "Fatal error" in err:
        return "crash", [f"exit {r.returncode}: {err.strip()[-300:]}"], elapsed
    try:
        report = json.loads(r.stdout)
    except ValueError:
        return "crash", [f"exit {r.returncode}, no JSON: {err.strip()[-300:]}"], elapsed
    hits, refused = [], False
    for f in report.get("findings", []):
        if f.get("rule") not in SYNTAX_RULES:
            continue
        paths = {e.get("path") for e in f.get("evidence", [])}
        if target in paths or target in f.get("message", ""):
            hits.append(f"{f['rule']} ({f.get('severity')}): {f.get('message', '')[:300]} -- {f.get('atBoot', '')[:200]}")
            # A line the tool skips, as networkd, the ifcfg readers and NetworkManager do
            # with a value they cannot parse, is a warning: the file itself is accepted.
            refused |= not LINE_LEVEL.search(f.get("atBoot", ""))
    return ("rejects" if refused else "warns" if hits else "accepts"), hits, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(REPO, ".build/debug/rescue-audit"))
    ap.add_argument("--mirror", default=os.environ.get("PEER_MIRROR", "/work/.mirror"))
    ap.add_argument("--work", default=os.path.join(REPO, ".build/peer"))
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--limit", type=int, default=0, help="at most N files per corpus")
    ap.add_argument("--details", default=None, help="write every disagreement here (TSV)")
    ap.add_argument("--sample", default=None, help="write a CI sample here: a few files per corpus with the verdicts")
    ap.add_argument("--replay", default=None, help="replay a committed sample (its MANIFEST) instead of fetching")
    args = ap.parse_args()
    if args.replay:
        sys.exit(replay(args.binary, args.replay))
    os.makedirs(args.work, exist_ok=True)
    src = Sources(args.mirror, args.work)
    cases = build_cases(src, set(args.only))
    per = {}
    if args.limit:
        kept, counts = [], {}
        for c in cases:
            counts[c.corpus] = counts.get(c.corpus, 0) + 1
            if counts[c.corpus] <= args.limit:
                kept.append(c)
        cases = kept
    details = open(args.details, "w") if args.details else None
    sample = {}
    scratch = tempfile.mkdtemp(prefix="peer-suite-")
    try:
        for i, c in enumerate(cases):
            s = per.setdefault(c.corpus, {"files": 0, "agree": 0, "fp": 0, "fn": 0, "crash": 0, "oracle": 0, "warns": 0, "secs": 0.0})
            s["files"] += 1
            expected, how = c.expected, "upstream"
            if c.oracle is not None:
                verdict, msg = c.oracle()
                if verdict is not None:
                    expected, how = verdict, "oracle"
                    s["oracle"] += 1
            root = make_root(c, scratch)
            ours, hits, secs = audit(args.binary, root, c.target)
            s["secs"] += secs
            kind = "agree"
            if ours == "crash":
                kind = "crash"
            elif ours == "rejects" and expected:
                kind = "fp"
            elif ours != "rejects" and not expected:
                kind = "fn"
            s[kind] += 1
            s["warns"] += ours == "warns"
            if details and (kind != "agree" or ours == "warns"):
                details.write(f"{c.corpus}\t{c.name}\t{kind if kind != 'agree' else 'warns'}\t{how}\t{' | '.join(hits)[:600]}\n")
                details.flush()
            if args.sample is not None and kind == "agree":
                lst = sample.setdefault(c.corpus, [])
                # A few of each verdict per corpus, and every line warning (the classes fixed for issue 16).
                if sum(1 for x in lst if x[1] == expected) < 3 or (ours == "warns" and len(lst) < 8):
                    lst.append((c, expected, how))
            sys.stderr.write(f"\r[{i + 1}/{len(cases)}] {c.corpus} {c.name[:60]:60}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    sys.stderr.write("\n")
    print("| corpus | files | judged by the real tool | agree | of which line warnings | false positives | false negatives | crashes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for k, s in per.items():
        print(f"| {k} | {s['files']} | {s['oracle']} | {s['agree']} | {s['warns']} | {s['fp']} | {s['fn']} | {s['crash']} |")
    if args.sample is not None:
        write_sample(args.sample, sample)


def write_sample(dest, sample):
    """The CI sample: each file under DEST/CORPUS/, and DEST/MANIFEST with the
    base root, the path it is placed at, the dpkg renames, and the verdict
    the real tool (or the upstream suite) gave."""
    os.makedirs(dest, exist_ok=True)
    manifest = os.path.join(dest, "MANIFEST")
    # Appends to an existing sample (a second run with --only adds its corpora).
    lines = [l.rstrip("\n") for l in open(manifest) if not l.startswith("#") and l.strip()] if os.path.exists(manifest) else []
    lines = [l for l in lines if l.split("\t")[0] not in sample]
    for corpus, items in sorted(sample.items()):
        for c, expected, how in items:
            path, data = next(iter(c.files.items()))
            name = hashlib.sha1(data).hexdigest()[:12] + "-" + re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(c.name))
            os.makedirs(os.path.join(dest, corpus), exist_ok=True)
            with open(os.path.join(dest, corpus, name), "wb") as f:
                f.write(data)
            base = os.path.relpath(c.base, REPO)
            dpkg = ",".join(f"{a}={b}" for a, b in c.dpkg.items()) or "-"
            lines.append("\t".join([corpus, name, base, path, oct(c.modes.get(path, 0o644)), dpkg,
                                    "accept" if expected else "refuse", how, c.name]))
    with open(manifest, "w") as f:
        f.write("# corpus\tfile\tbase root\tplaced at\tmode\tdpkg renames\tverdict\tjudged by\tupstream path\n")
        f.write("\n".join(lines) + "\n")


def replay(binary, dest):
    """Each sample file in its base root: the tool's verdict must be the one
    the real tool (or upstream's suite) gave when the sample was taken."""
    failures, n = [], 0
    scratch = tempfile.mkdtemp(prefix="peer-replay-")
    try:
        for line in open(os.path.join(dest, "MANIFEST")):
            if line.startswith("#") or not line.strip():
                continue
            corpus, name, base, path, mode, dpkg, verdict, how, upstream = line.rstrip("\n").split("\t")
            data = open(os.path.join(dest, corpus, name), "rb").read()
            renames = dict(x.split("=") for x in dpkg.split(",")) if dpkg != "-" else {}
            c = Case(corpus, upstream, os.path.join(REPO, base), {path: data}, path, modes={path: int(mode, 8)}, dpkg=renames)
            ours, hits, _ = audit(binary, make_root(c, scratch), path)
            n += 1
            if (ours == "rejects") != (verdict == "refuse"):
                failures.append(f"{corpus}/{name} ({upstream}): {how} says {verdict}, rescue-audit {ours} {' | '.join(hits)[:300]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for f in failures:
        print("peer-suite replay: DISAGREES " + f)
    print(f"peer-suite replay: {n - len(failures)}/{n} sample files agree with the recorded verdicts")
    return 1 if failures or n == 0 else 0


if __name__ == "__main__":
    main()
