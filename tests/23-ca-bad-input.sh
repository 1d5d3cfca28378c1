#!/bin/sh
# Bad input: one line on stderr, a documented status, nothing changed.
. "$(dirname "$0")/lib.sh"
new_home
certpipe ca create root --cn Root >/dev/null || t_bail "root"

snapshot() {
	sqlite3 "$CERTPIPE_HOME/certpipe.db" .dump > "$T_TMP/db.$1"
	ls -la "$CERTPIPE_HOME/keys" | awk '{print $1, $NF}' > "$T_TMP/keys.$1"
}
unchanged() {
	snapshot after
	t_ok "$1: instance unchanged" sh -c 'cmp -s "$0/db.before" "$0/db.after" && cmp -s "$0/keys.before" "$0/keys.after"' "$T_TMP"
}

bad() { # bad DESCRIPTION STATUS ARGS...
	d=$1; s=$2; shift 2
	snapshot before
	t_exit "$d: exit $s" "$s" certpipe "$@"
	t_oneline "$d"
	cp "$T_TMP/err" "$T_TMP/lasterr"
	unchanged "$d"
}

bad "unknown key type" 65 ca create x --alg rsa-1024 --cn X
t_grep "names the bad value" "unknown key type 'rsa-1024'" "$T_TMP/lasterr"
bad "validity 0 days" 65 ca create x --days 0 --cn X
bad "validity 99999 days" 65 ca create x --days 99999 --cn X
bad "validity not a number" 65 ca create x --days 10d --cn X
bad "missing CN" 65 ca create x
t_grep "names the CN" "common name \(CN\) is required" "$T_TMP/lasterr"
bad "bad country code" 65 ca create x --cn X --c Germany
bad "bad CA name" 65 ca create "../x" --cn X
bad "duplicate CA name" 65 ca create root --cn Again
bad "unknown parent" 66 ca create x --parent nosuch --cn X
bad "unknown digest" 65 ca create x --cn X --digest md5
bad "digest with EdDSA" 65 ca create x --cn X --alg ed25519 --digest sha256
bad "unknown option" 64 ca create x --cn X --bogus
bad "missing name" 64 ca create --cn X
bad "unknown realm" 66 --realm nosuch ca list
bad "unknown CA" 66 ca show nosuch
bad "unknown subcommand" 64 ca frobnicate
echo garbage > "$T_TMP/g.pem"
certpipe ca create pend --csr-only --cn Pend > /dev/null
bad "malformed imported certificate" 65 ca import pend "$T_TMP/g.pem"
bad "missing certificate file" 66 ca import pend "$T_TMP/nonexistent.pem"
certpipe ca export root > "$T_TMP/root.pem"
bad "a certificate that does not match the pending key" 65 ca import pend "$T_TMP/root.pem"
t_exit "no instance is a config error" 78 certpipe --home "$T_TMP/nothing" ca list
t_oneline "no instance"
t_done
