#!/bin/sh
# ca delete refuses while the CA has live certificates, unless forced.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe ca create empty --cn Empty >/dev/null || t_bail empty
keyfile=$CERTPIPE_HOME/$(sqlite3 "$CERTPIPE_HOME/certpipe.db" "SELECT substr(key_ref, 6) FROM cas WHERE name='sub'")

t_ok "a CA with nothing issued deletes" certpipe ca delete empty
t_exit "deleted CA is gone" 66 certpipe ca show empty
t_exit "root with a live sub-CA is refused" 77 certpipe ca delete root
t_oneline "refusal"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout l.key -out l.csr -subj /CN=a.example.com 2>/dev/null
"$CERTPIPE_BUILD/tests/issue-leaf" "$CERTPIPE_HOME" default sub sub-web-server l.csr a.example.com --record > l.pem || t_bail "issue"
t_exit "sub with a live certificate is refused" 77 certpipe ca delete sub
t_grep "says how many" "1 unexpired, unrevoked" "$T_TMP/err"
t_ok "still there" certpipe ca show sub
t_ok "refusal is audited" sh -c 'sqlite3 "$CERTPIPE_HOME/certpipe.db" "SELECT outcome FROM audit WHERE event = '"'ca.deleted'"' AND object = '"'ca:sub'"'" | grep -qx refused'
sqlite3 "$CERTPIPE_HOME/certpipe.db" "UPDATE certificates SET status = 'revoked'"
t_ok "after revocation the CA deletes" certpipe ca delete sub
t_ok "its key file is gone" test ! -e "$keyfile"
t_exit "its template went with it" 1 sh -c 'sqlite3 "$CERTPIPE_HOME/certpipe.db" "SELECT name FROM templates" | grep -q sub-web-server'
t_ok "the certificate stays in the inventory" sh -c 'test "$(sqlite3 "$CERTPIPE_HOME/certpipe.db" "SELECT count(*) FROM certificates")" = 1'
t_ok "--force deletes a CA with live certificates" sh -c \
	'certpipe ca create s2 --parent root --cn S2 >/dev/null && certpipe ca delete root --force'
t_done
