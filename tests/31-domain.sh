#!/bin/sh
# certpipe domain: add/enable/disable/remove/list, check for scripts,
# normalization, bad names, realm isolation.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
snapshot() { sqlite3 "$db" .dump > "$T_TMP/db.$1"; }
bad() { # bad DESCRIPTION STATUS ARGS...: fails with STATUS, one line, no change
	d=$1; s=$2; shift 2
	snapshot before
	t_exit "$d: exit $s" "$s" certpipe "$@"
	t_oneline "$d"
	cp "$T_TMP/err" "$T_TMP/bad.err"
	snapshot after
	t_ok "$d: instance unchanged" cmp -s "$T_TMP/db.before" "$T_TMP/db.after"
}

t_ok "add" certpipe domain add Example.COM.
t_grep "stored normalized" "^added domain example.com$" "$T_TMP/out"
t_ok "add an internal name" certpipe domain add corp
t_ok "add a subdomain" certpipe domain add lab.example.org

t_ok "check the apex" certpipe domain check example.com
t_is "prints the apex" "$(cat "$T_TMP/out")" "covered by example.com"
t_ok "check a name below" certpipe domain check www.EXAMPLE.com
t_ok "check a wildcard" certpipe domain check '*.example.com'
t_ok "check a deep wildcard" certpipe domain check '*.a.b.example.com'
t_ok "internal name" certpipe domain check host.corp
t_exit "a parent of a registered name is not covered" 1 certpipe domain check example.org
t_is "prints not covered" "$(cat "$T_TMP/out")" "not covered"
t_exit "a look-alike is not covered" 1 certpipe domain check notexample.com
t_exit "a suffix trick is not covered" 1 certpipe domain check example.com.evil.test
t_ok "check --json" sh -c 'certpipe domain check www.example.com --json | python3 -m json.tool'
t_exit "check an invalid name" 65 certpipe domain check 'a..b'
t_oneline "invalid name in check"

t_ok "disable" certpipe domain disable example.com
t_exit "a disabled domain covers nothing" 1 certpipe domain check www.example.com
t_ok "disable again is fine" certpipe domain disable example.com
t_grep "says so" "already disabled" "$T_TMP/out"
t_ok "enable" certpipe domain enable example.com
t_ok "covers again" certpipe domain check www.example.com

t_ok "list" certpipe domain list
t_grep "list names the domain" "^example.com +yes " "$T_TMP/out"
certpipe domain list --json > "$T_TMP/l.json"
t_ok "list --json is JSON" python3 -m json.tool "$T_TMP/l.json"
t_is "list --json names" "$(python3 -c 'import json,sys; print(",".join(d["name"] for d in json.load(open(sys.argv[1]))))' "$T_TMP/l.json")" "corp,example.com,lab.example.org"

bad "duplicate" 65 domain add EXAMPLE.com
t_grep "names domain and realm" "^certpipe: domain 'example.com': exists in realm 'default'$" "$T_TMP/bad.err"
bad "empty label" 65 domain add 'a..example.com'
bad "leading hyphen" 65 domain add -- -x.example.com
bad "trailing hyphen" 65 domain add x-.example.com
bad "underscore" 65 domain add a_b.example.com
bad "label too long" 65 domain add "$(printf '%064d' 0 | tr 0 a).example.com"
bad "wildcard cannot be registered" 65 domain add '*.example.net'
bad "IP address" 65 domain add 192.0.2.1
bad "remove unknown" 66 domain remove nosuch.example
bad "enable unknown" 66 domain enable nosuch.example
bad "missing name" 64 domain add
bad "unknown sub-command" 64 domain frobnicate

t_ok "remove" certpipe domain remove lab.example.org
t_exit "removed: not covered" 1 certpipe domain check www.lab.example.org

# Realm isolation: domains of one realm cover nothing in another.
certpipe realm create other >/dev/null || t_bail "realm create"
t_exit "not covered in the other realm" 1 certpipe --realm other domain check www.example.com
t_ok "list in the other realm" certpipe --realm other domain list
t_nogrep "other realm lists none of ours" "example.com|corp" "$T_TMP/out"
t_exit "disable from the other realm" 66 certpipe --realm other domain disable example.com
t_exit "remove from the other realm" 66 certpipe --realm other domain remove example.com
t_ok "the same domain in the other realm" certpipe --realm other domain add example.com
t_ok "other realm: covered" certpipe --realm other domain check www.example.com
t_ok "other realm disables its own" certpipe --realm other domain disable example.com
t_exit "other realm: not covered" 1 certpipe --realm other domain check www.example.com
t_ok "default realm unaffected" certpipe domain check www.example.com
t_ok "other realm only domain" certpipe --realm other domain add only-b.test
t_exit "not covered in the default realm" 1 certpipe domain check www.only-b.test

certpipe audit list --event domain --all-realms --json > "$T_TMP/a.json"
t_is "audit events" "$(python3 -c 'import json,sys; print(" ".join(e["event"] for e in json.load(open(sys.argv[1]))))' "$T_TMP/a.json")" \
	"domain.added domain.added domain.added domain.disabled domain.enabled domain.removed domain.added domain.disabled domain.added"
t_done
