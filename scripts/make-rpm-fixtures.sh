#!/bin/sh
# Remakes Tests/RescueAuditTests/Fixtures/rpm/: a real rpmdb.sqlite written by
# Debian 12's rpm 4.18 (unpacked from its .debs with dpkg-deb, never
# installed) from tiny noarch packages built with its rpmbuild and recorded
# with `rpm -i --justdb`, the `rpm -qa` listing of it (the oracle the parser
# is checked against), and a dnf history.sqlite made with sqlite3 from
# libdnf's schema (libdnf/transaction/sql/create_tables.sql) whose last
# transaction never recorded its end (state 0, dt_end NULL), as a dnf killed
# mid-transaction leaves it.
set -eu
cd "$(dirname "$0")/.."
out=Tests/RescueAuditTests/Fixtures/rpm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download rpm rpm-common librpm9 librpmio9 librpmbuild9 librpmsign9 debugedit libfsverity0 liblua5.3-0 libpopt0 >/dev/null)
for f in "$work"/*.deb; do dpkg-deb -x "$f" "$work/root"; done
export LD_LIBRARY_PATH="$work/root/usr/lib/x86_64-linux-gnu" PATH="$work/root/usr/bin:$PATH"
R="$work/root/usr/lib/rpm"
run() { c=$1; shift; "$c" --rcfile "$R/rpmrc" --macros "$R/macros:$R/platform/x86_64-linux/macros" --define "_rpmconfigdir $R" \
    --define "_topdir $work/build" --define "_db_backend sqlite" --dbpath "$work/db" "$@"; }
mkdir -p "$work/build/SPECS" "$work/db"
for p in "openssh-server 8.7p1 38.el9" "NetworkManager 1.46.0 19.el9" "cloud-init 23.4 7.el9" \
         "selinux-policy-targeted 38.1.35 2.el9" "firewalld 1.3.4 1.el9"; do
    set -- $p
    printf 'Name: %s\nVersion: %s\nRelease: %s\nSummary: stand-in for %s\nLicense: MIT\nBuildArch: noarch\n%%description\nA stand-in package: only its name, version and release matter.\n%%files\n' \
        "$1" "$2" "$3" "$1" > "$work/build/SPECS/$1.spec"
    run rpmbuild -bb --quiet "$work/build/SPECS/$1.spec" >/dev/null
done
run rpmdb --initdb
run rpm -i --justdb --nodeps --nosignature "$work"/build/RPMS/noarch/*.rpm 2>/dev/null
cp "$work/db/rpmdb.sqlite" "$out/rpmdb.sqlite"
run rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}\n' 2>/dev/null | sort > "$out/rpm-qa.txt"
rm -f "$out/history.sqlite"
sqlite3 "$out/history.sqlite" <<'SQL'
CREATE TABLE trans (id INTEGER PRIMARY KEY AUTOINCREMENT, dt_begin INTEGER NOT NULL, dt_end INTEGER, rpmdb_version_begin TEXT, rpmdb_version_end TEXT, releasever TEXT NOT NULL, user_id INTEGER NOT NULL, cmdline TEXT, state INTEGER NOT NULL);
CREATE TABLE repo (id INTEGER PRIMARY KEY, repoid TEXT NOT NULL);
CREATE TABLE console_output (id INTEGER PRIMARY KEY, trans_id INTEGER REFERENCES trans(id), file_descriptor INTEGER NOT NULL, line TEXT NOT NULL);
CREATE TABLE item (id INTEGER PRIMARY KEY, item_type INTEGER NOT NULL);
CREATE TABLE trans_item (id INTEGER PRIMARY KEY AUTOINCREMENT, trans_id INTEGER REFERENCES trans(id), item_id INTEGER REFERENCES item(id), repo_id INTEGER REFERENCES repo(id), action INTEGER NOT NULL, reason INTEGER NOT NULL, state INTEGER NOT NULL);
CREATE TABLE item_replaced_by (trans_item_id INTEGER REFERENCES trans_item(id), by_trans_item_id INTEGER REFERENCES trans_item(id), PRIMARY KEY (trans_item_id, by_trans_item_id));
CREATE TABLE trans_with (id INTEGER PRIMARY KEY AUTOINCREMENT, trans_id INTEGER REFERENCES trans(id), item_id INTEGER REFERENCES item(id), CONSTRAINT trans_with_unique_trans_item UNIQUE (trans_id, item_id));
CREATE TABLE rpm (item_id INTEGER UNIQUE NOT NULL, name TEXT NOT NULL, epoch INTEGER NOT NULL, version TEXT NOT NULL, release TEXT NOT NULL, arch TEXT NOT NULL, FOREIGN KEY(item_id) REFERENCES item(id), CONSTRAINT rpm_unique_nevra UNIQUE (name, epoch, version, release, arch));
CREATE INDEX rpm_name ON rpm(name);
CREATE INDEX trans_item_item_id ON trans_item(item_id);
CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO config VALUES ('version', '1.1');
INSERT INTO repo VALUES (1, 'baseos'), (2, '@System');
INSERT INTO trans VALUES (1, 1714000000, 1714000042, '5:aaa', '5:bbb', '9', 0, 'dnf -y install cloud-init', 1);
INSERT INTO trans VALUES (2, 1717000000, NULL, '5:bbb', NULL, '9', 0, 'dnf -y upgrade', 0);
INSERT INTO item VALUES (1, 1), (2, 1), (3, 1);
INSERT INTO rpm VALUES (1, 'cloud-init', 0, '23.4', '7.el9', 'noarch'), (2, 'openssh-server', 0, '8.7p1', '43.el9', 'x86_64'), (3, 'openssh-server', 0, '8.7p1', '38.el9', 'x86_64');
INSERT INTO trans_item VALUES (1, 1, 1, 1, 1, 2, 1);
INSERT INTO trans_item VALUES (2, 2, 2, 1, 6, 2, 0), (3, 2, 3, 2, 7, 2, 0);
SQL
echo "wrote $out"
