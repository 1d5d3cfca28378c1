#!/bin/sh
# sign: parse-csr | check-policy | sign issues certificates that openssl
# accepts, never twice, and never for a record changed after the check.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca create root"
certpipe ca create sub --parent root --cn "Test Sub" >/dev/null || t_bail "ca create sub"
certpipe domain add example.com >/dev/null || t_bail "domain add"
certpipe ca export root > root.pem || t_bail "export root"
q() { sqlite3 "$db" "$1"; }
csr() { # csr NAME KEYSPEC SUBJ [SAN]
	n=$1 ks=$2 subj=$3 san=${4:-}
	set -- openssl req -new $ks -nodes -keyout "$n.key" -subj "$subj" -out "$n.csr"
	[ -n "$san" ] && set -- "$@" -addext "subjectAltName=$san"
	"$@" 2>/dev/null || t_bail "openssl req $n"
}
# the signed record's PEM blocks: leaf, then the CA and its chain
pems() { sed -n '/BEGIN CERTIFICATE-----/,/END CERTIFICATE-----/p' "$1"; }
leaf() { pems "$1" | sed '/END CERTIFICATE/q'; }

csr ec "-newkey ec -pkeyopt ec_paramgen_curve:P-256" /CN=ec.example.com DNS:www.example.com
csr rsa "-newkey rsa:2048" /CN=rsa.example.com
csr ed "-newkey ed25519" /CN=ed.example.com
for k in ec rsa ed; do
	parse-csr "$k.csr" | check-policy --template sub-web-server > "$k.pol" ||
		t_bail "check-policy $k"
	t_ok "$k: sign" sh -c 'sign < "$0.pol" > "$0.rec"' "$k"
	t_is "$k: status complete" "$(rec-cat --field Status "$k.rec")" complete
	t_is "$k: stage sign" "$(rec-cat --field Stage "$k.rec")" sign
	pems "$k.rec" > "$k.chain"
	leaf "$k.rec" > "$k.pem"
	t_ok "$k: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem \
		-untrusted "$k.chain" "$k.pem"
	t_is "$k: three certificates (leaf, sub, root)" "$(grep -c 'BEGIN CERTIFICATE-----' "$k.chain")" 3
	t_is "$k: the key is the request's" "$(openssl x509 -in "$k.pem" -noout -pubkey)" \
		"$(openssl req -in "$k.csr" -noout -pubkey)"
	openssl x509 -in "$k.pem" -noout -text > "$k.txt"
	t_grep "$k: SAN has the CN" "DNS:$k.example.com" "$k.txt"
	t_grep "$k: serverAuth" "TLS Web Server Authentication" "$k.txt"
	t_grep "$k: digitalSignature" "Digital Signature" "$k.txt"
	t_grep "$k: AKI" "X509v3 Authority Key Identifier" "$k.txt"
	t_grep "$k: SKI" "X509v3 Subject Key Identifier" "$k.txt"
	t_grep "$k: AIA caIssuers" "CA Issuers - URI:http://pki.test/ca/sub.crt" "$k.txt"
	t_grep "$k: OCSP" "OCSP - URI:http://pki.test/ocsp" "$k.txt"
	t_grep "$k: CDP" "URI:http://pki.test/crl/sub.crl" "$k.txt"
	serial=$(openssl x509 -in "$k.pem" -noout -serial | cut -d= -f2)
	t_ok "$k: serial of at least 64 bits" test "${#serial}" -ge 16
	t_is "$k: Serial header" "$(rec-cat --field Serial "$k.rec")" \
		"$(echo "$serial" | tr 'A-F' 'a-f' | sed 's/^0*//')"
	t_is "$k: Fingerprint header" "$(rec-cat --field Fingerprint "$k.rec")" \
		"$(openssl x509 -in "$k.pem" -noout -fingerprint -sha256 | cut -d= -f2)"
	t_is "$k: order complete" "$(q "SELECT status FROM orders WHERE job = '$(rec-cat --field Id "$k.rec")'")" complete
done
t_grep "ec: both names in the SAN" "DNS:ec.example.com, DNS:www.example.com" ec.txt
t_nogrep "EC: no keyEncipherment" "Key Encipherment" ec.txt
t_grep "RSA: keyEncipherment" "Key Encipherment" rsa.txt
t_grep "EC: signature by the sub CA (P-256)" "Signature Algorithm: ecdsa-with-SHA256" ec.txt

certpipe cert list --json > list.json || t_bail "cert list"
t_is "cert list: three managed certificates" "$(python3 -c 'import json; print(sorted(c["cn"] + "/" + c["source"] for c in json.load(open("list.json"))))')" \
	"['ec.example.com/managed', 'ed.example.com/managed', 'rsa.example.com/managed']"
t_is "rows name their orders" "$(q "SELECT count(*) FROM certificates c JOIN orders o ON o.id = c.order_id")" 3
t_is "audit: certificate.issued per certificate" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.issued' AND object = 'cert:$(rec-cat --field Serial ec.rec)' AND detail = 'order $(rec-cat --field Id ec.rec)'")" 1

# A replay of the signed stage: the same certificate, one row.
t_ok "replay: sign the same input again" sh -c 'sign < ec.pol > ec2.rec'
t_is "replay: the same certificate" "$(leaf ec2.rec)" "$(cat ec.pem)"
t_is "replay: the same chain" "$(pems ec2.rec)" "$(cat ec.chain)"
t_is "replay: one row" "$(q "SELECT count(*) FROM certificates WHERE cn = 'ec.example.com'")" 1
t_is "replay: one issued event" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.issued' AND detail = 'order $(rec-cat --field Id ec.rec)'")" 1
t_ok "replay: a signed record passes through unchanged" sh -c 'sign < ec.rec > ec3.rec && cmp ec.rec ec3.rec'

# A record edited after check-policy is refused: nothing signed.
csr ed2 "-newkey ec -pkeyopt ec_paramgen_curve:P-256" /CN=edit.example.com
parse-csr ed2.csr | check-policy --template sub-web-server > ed2.pol || t_bail "check-policy ed2"
sed 's/^CN: edit.example.com$/CN: evil.example.com/' ed2.pol > ed2.bad
t_exit "edited CN: exit 77" 77 sign ed2.bad
t_oneline "edited CN"
cp "$T_TMP/out" ed2.out
t_is "edited CN: record failed" "$(rec-cat --field Status ed2.out)/$(rec-cat --field Error-Code ed2.out)/$(rec-cat --field Stage ed2.out)" failed/77/sign
t_nogrep "edited CN: no certificate in the record" "BEGIN CERTIFICATE-----" ed2.out
t_is "edited CN: order failed" "$(q "SELECT status, error_code FROM orders WHERE job = '$(rec-cat --field Id ed2.pol)'")" "failed|77"
t_is "edited CN: no certificate row" "$(q "SELECT count(*) FROM certificates WHERE cn IN ('evil.example.com', 'edit.example.com')")" 0
t_is "edited CN: an alert" "$(q "SELECT count(*) FROM alerts WHERE kind = 'order.failed'")" 1
t_exit "the original record of a failed order is refused too" 77 sign ed2.pol
t_is "still no certificate" "$(q "SELECT count(*) FROM certificates WHERE cn = 'edit.example.com'")" 0

csr san "-newkey ec -pkeyopt ec_paramgen_curve:P-256" /CN=san.example.com DNS:a.example.com
parse-csr san.csr | check-policy --template sub-web-server > san.pol || t_bail "check-policy san"
sed 's/^SAN: DNS:a.example.com$/SAN: DNS:b.example.com/' san.pol > san.bad
t_exit "edited SAN: exit 77" 77 sign san.bad
t_is "edited SAN: no certificate" "$(q "SELECT count(*) FROM certificates WHERE cn = 'san.example.com'")" 0

# Records sign has nothing to do with pass through; garbage is refused.
parse-csr ed.csr > parsed.rec
t_ok "a record before check-policy passes through" sh -c 'sign parsed.rec > pass.rec && cmp parsed.rec pass.rec'
t_exit "a processing record without an order: 77" 77 sh -c 'sed "s/^Stage: parse-csr$/Status: processing/" parsed.rec | sign'
printf 'this is not a record\n' > junk.txt
t_exit "garbage input: 65" 65 sign junk.txt
t_oneline "garbage"
t_exit "a missing file: 66" 66 sign nothing.rec
t_exit "bad --batch: 64" 64 sign --batch 0 ec.pol
t_exit "unknown --ca: 66" 66 sign --ca nosuch ec.pol

# Keys: a wrong passphrase stops before any record is read.
t_exit "wrong passphrase: 77" 77 sh -c 'echo wrong-passphrase | sign --passphrase-fd 0 ec.pol'
t_oneline "wrong passphrase"
t_nogrep "the passphrase is not echoed" "wrong-passphrase" "$T_TMP/err"
echo wrong-passphrase > wrong.pass
t_exit "wrong --passphrase-file: 77" 77 sign --passphrase-file wrong.pass ec.pol
t_exit "wrong \$CERTPIPE_PASSPHRASE: 77" 77 env CERTPIPE_PASSPHRASE=wrong-passphrase sign ec.pol

# --ca: only that CA's key is open; the other CA's jobs are refused.
csr r2 "-newkey ec -pkeyopt ec_paramgen_curve:P-256" /CN=r2.example.com
parse-csr r2.csr | check-policy --template root-web-server > r2.pol || t_bail "check-policy r2"
t_exit "--ca sub refuses a job of root" 77 sign --ca sub r2.pol
t_grep "names the closed key" "CA root: its key is not open" "$T_TMP/err"
t_is "that order is failed, not signed" "$(q "SELECT status FROM orders WHERE job = '$(rec-cat --field Id r2.pol)'")" failed

# Renewal-Of: the new certificate supersedes the old one.
old=$(rec-cat --field Serial rsa.rec)
csr rn "-newkey rsa:2048" /CN=rsa.example.com
id=$(cat /proc/sys/kernel/random/uuid)
{ printf 'CERTPIPE-RECORD 1\nId: %s\nType: renew\nRenewal-Of: %s\n\n' "$id" "$old"
  openssl req -in rn.csr; printf 'END-RECORD %s\n' "$id"; } > rn.in
parse-csr rn.in | check-policy --template sub-web-server > rn.pol || t_bail "check-policy rn"
t_ok "renewal: sign" sh -c 'sign rn.pol > rn.rec'
new=$(rec-cat --field Serial rn.rec)
t_is "renewal: the old certificate is superseded by the new" \
	"$(q "SELECT o.status, n.serial FROM certificates o JOIN certificates n ON n.id = o.superseded_by WHERE o.serial = '$old'")" "superseded|$new"
t_is "renewal: audited" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.superseded' AND object = 'cert:$old'")" 1
csr rx "-newkey ec -pkeyopt ec_paramgen_curve:P-256" /CN=rx.example.com
parse-csr rx.csr | check-policy --template sub-web-server > rx.pol || t_bail "check-policy rx"
ecserial=$(rec-cat --field Serial ec.rec)
awk -v s="$ecserial" '{print} /^Id: /{print "Renewal-Of: " s}' rx.pol > rx.bad
t_exit "a Renewal-Of added after check-policy: 77" 77 sign rx.bad
t_is "the named certificate stays active" "$(q "SELECT status FROM certificates WHERE serial = '$ecserial'")" active
# A revoked certificate stays revoked: its renewal is refused.
certpipe cert revoke "$ecserial" --reason keyCompromise --yes >/dev/null || t_bail "revoke"
id=$(cat /proc/sys/kernel/random/uuid)
{ printf 'CERTPIPE-RECORD 1\nId: %s\nType: renew\nRenewal-Of: %s\n\n' "$id" "$ecserial"
  openssl req -in rx.csr; printf 'END-RECORD %s\n' "$id"; } > rv.in
parse-csr rv.in | check-policy --template sub-web-server > rv.pol || t_bail "check-policy rv"
t_exit "the renewal of a revoked certificate: 77" 77 sign rv.pol
t_grep "says why" "is revoked, not renewed" "$T_TMP/err"
t_is "it stays revoked" "$(q "SELECT status FROM certificates WHERE serial = '$ecserial'")" revoked
# Only a renewal order supersedes: a csr job naming a certificate is refused.
id=$(cat /proc/sys/kernel/random/uuid)
{ printf 'CERTPIPE-RECORD 1\nId: %s\nType: csr\nRenewal-Of: %s\n\n' "$id" "$new"
  openssl req -in rx.csr; printf 'END-RECORD %s\n' "$id"; } > rc.in
parse-csr rc.in | check-policy --template sub-web-server > rc.pol || t_bail "check-policy rc"
t_exit "Renewal-Of on a csr order: 77" 77 sign rc.pol
t_is "the named certificate stays active" "$(q "SELECT status FROM certificates WHERE serial = '$new'")" active

# A locked database: the batch fails as temporary, orders stay processing.
csr lk "-newkey ec -pkeyopt ec_paramgen_curve:P-256" /CN=lock.example.com
parse-csr lk.csr | check-policy --template sub-web-server > lk.pol || t_bail "check-policy lk"
mkfifo hold
# hold a write lock until hold is written to (no sleeps: the lock holder
# answers on locked when it has the lock)
( { echo 'BEGIN IMMEDIATE;'; echo "SELECT 'locked';"; read -r _ < hold; echo 'ROLLBACK;'; } |
	sqlite3 -cmd '.timeout 10000' "$db" > locked ) &
i=0; until [ -s locked ] || [ $i -ge 500 ]; do i=$((i + 1)); sleep 0.01; done
t_is "the lock is held" "$(cat locked)" locked
t_exit "locked database: exit 75" 75 sign lk.pol
echo go > hold
wait
cp "$T_TMP/out" lk.out
t_is "locked: record failed as temporary" "$(rec-cat --field Status lk.out)/$(rec-cat --field Error-Code lk.out)" failed/75
t_is "locked: the order is still processing" "$(q "SELECT status FROM orders WHERE job = '$(rec-cat --field Id lk.pol)'")" processing
t_ok "after the lock, the same record signs" sh -c 'sign lk.pol > lk.rec'
t_is "and completes" "$(rec-cat --field Status lk.rec)" complete

# A CA disabled while a signer holds its key: refused from then on.
csr dis "-newkey ec -pkeyopt ec_paramgen_curve:P-256" /CN=dis.example.com
parse-csr dis.csr | check-policy --template sub-web-server > dis.pol || t_bail "check-policy dis"
mkfifo dis.in
sign < dis.in > dis.out 2> dis.err &
pid=$!
exec 4> dis.in
i=0; until grep -q '^Seccomp:.*2' "/proc/$pid/status" || [ $i -ge 1000 ]; do i=$((i + 1)); sleep 0.01; done
t_ok "the signer has opened its keys" grep -q '^Seccomp:.*2' "/proc/$pid/status"
certpipe ca disable sub >/dev/null || t_bail "ca disable"
cat dis.pol >&4
exec 4>&-
wait "$pid"
t_is "a job of the disabled CA: 77" "$?" 77
t_is "refused" "$(rec-cat --field Status dis.out)" failed
t_grep "why" "CA sub is no longer active" dis.err

t_ok "the audit chain verifies" certpipe audit verify
t_done
