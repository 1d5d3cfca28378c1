#!/bin/sh
# A CSR-only intermediate, signed by a root made with plain openssl,
# imported, then issuing a certificate that openssl verify accepts.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1

# The outside root, with nothing but openssl.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
	-keyout outside.key -out outside.pem -days 3650 -subj "/CN=Outside Root" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
	t_bail "openssl could not make the outside root"

t_ok "CSR-only intermediate" sh -c 'certpipe ca create sub --csr-only --cn "Sub CA" --o Example > sub.csr'
t_ok "the CSR verifies" openssl req -in sub.csr -noout -verify
t_is "CSR subject" "$(openssl req -in sub.csr -noout -subject)" "subject=O = Example, CN = Sub CA"
t_is "pending CA" "$(certpipe ca show sub --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" pending
t_exit "a pending CA cannot be exported" 65 certpipe ca export sub
t_exit "a pending CA cannot be enabled" 65 certpipe ca enable sub

cat > ext.cnf <<'X'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
X
openssl x509 -req -in sub.csr -CA outside.pem -CAkey outside.key -CAcreateserial \
	-days 1825 -extfile ext.cnf -out sub.crt 2>/dev/null || t_bail "openssl could not sign"

# Wrong inputs first: each leaves the CA pending.
echo "not a certificate" > garbage.pem
t_exit "malformed certificate refused" 65 certpipe ca import sub garbage.pem --root outside.pem
t_oneline "malformed certificate"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
	-out other.crt -days 30 -subj "/CN=Sub CA" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
t_exit "certificate for another key refused" 65 certpipe ca import sub other.crt --root outside.pem
t_oneline "key mismatch"
t_grep "names the mismatch" "does not match the pending key" "$T_TMP/err"
t_exit "unknown root refused" 65 certpipe ca import sub sub.crt
t_oneline "untrusted chain"
t_is "still pending after refusals" "$(certpipe ca show sub --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" pending

t_ok "import with the outside root" certpipe ca import sub sub.crt --root outside.pem
t_is "now active" "$(certpipe ca show sub --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" active
t_exit "a second import is refused" 65 certpipe ca import sub sub.crt --root outside.pem
certpipe ca export sub --part chain > chain.pem
t_is "exported chain is the outside root" "$(openssl x509 -in chain.pem -noout -fingerprint -sha256)" \
	"$(openssl x509 -in outside.pem -noout -fingerprint -sha256)"

# Issue a leaf from the imported CA with the library's issuing call.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
	-out leaf.csr -subj "/CN=app.example.com" 2>/dev/null
t_ok "issue a leaf from the imported CA" sh -c '"$CERTPIPE_BUILD/tests/issue-leaf" "$CERTPIPE_HOME" default sub sub-web-server leaf.csr app.example.com > leaf.pem'
t_ok "openssl verify: leaf -> imported CA -> outside root" \
	openssl verify -x509_strict -CAfile outside.pem -untrusted sub.crt leaf.pem
openssl x509 -in leaf.pem -noout -text > leaf.txt
t_grep "leaf SAN" "DNS:app.example.com" leaf.txt
t_grep "leaf EKU from the web-server template" "TLS Web Server Authentication" leaf.txt
t_grep "leaf CA:FALSE" "CA:FALSE" leaf.txt
t_nogrep "EC leaf has no keyEncipherment" "Key Encipherment" leaf.txt
t_grep "leaf AIA points at the CA" "CA Issuers - URI:http://pki.test/ca/sub.crt" leaf.txt
t_grep "leaf CRL DP" "URI:http://pki.test/crl/sub.crl" leaf.txt
t_ok "certtool verifies the chain too" sh -c 'cat leaf.pem sub.crt | certtool --verify --load-ca-certificate outside.pem'
t_done
