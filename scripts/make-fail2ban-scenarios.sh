#!/bin/sh
# Rewrites the fail2ban databases of rules/fail2ban-restores-ssh-bans/tests
# with fail2ban 0.11's schema (server/database.py) and a few bans; small
# pages keep the files small. Needs python3 (its sqlite3 module).
set -eu
cd "$(dirname "$0")/../rules/fail2ban-restores-ssh-bans/tests"
for scenario in admin-banned.fail only-expired-bans.pass; do
    db="$scenario/var/lib/fail2ban/fail2ban.sqlite3"
    rm -f "$db"
    mkdir -p "$(dirname "$db")"
    python3 - "$db" "$scenario" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA page_size=512")
db.executescript("""
CREATE TABLE fail2banDb(version INTEGER);
INSERT INTO fail2banDb(version) VALUES(4);
CREATE TABLE jails(name TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1);
CREATE INDEX jails_name ON jails(name);
CREATE TABLE logs(jail TEXT NOT NULL, path TEXT, firstlinemd5 TEXT, lastfilepos INTEGER DEFAULT 0, FOREIGN KEY(jail) REFERENCES jails(name) ON DELETE CASCADE, UNIQUE(jail, path), UNIQUE(jail, path, firstlinemd5));
CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON, FOREIGN KEY(jail) REFERENCES jails(name));
CREATE INDEX bans_jail_timeofban_ip ON bans(jail, timeofban);
CREATE INDEX bans_jail_ip ON bans(jail, ip);
CREATE INDEX bans_ip ON bans(ip);
CREATE TABLE bips(ip TEXT NOT NULL, jail TEXT NOT NULL, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON, PRIMARY KEY(ip, jail), FOREIGN KEY(jail) REFERENCES jails(name));
INSERT INTO jails VALUES('sshd', 0);
INSERT INTO jails VALUES('postfix', 0);
-- expired long ago: not restored
INSERT INTO bans VALUES('sshd', '203.0.113.9', 1700000000, 600, 1, '{"failures": 5}');
-- another service's jail: does not close SSH
INSERT INTO bans VALUES('postfix', '192.0.2.77', 1764633600, -1, 1, '{}');
""")
if sys.argv[2] == "admin-banned.fail":
    # the admin's office address, banned for good after too many failed logins
    db.execute("""INSERT INTO bans VALUES('sshd', '198.51.100.23', 1764633600, -1, 5, '{"failures": 5}')""")
db.commit()
db.execute("VACUUM")
db.close()
PY
done
