#!/bin/sh
# acme revokeCert and renewalInfo under tcpserver on 127.0.0.1, with raw
# JWS requests signed by python3-jwcrypto (tests/acme-jws.py):
# revocation by the certificate's key, by the account that ordered it,
# by an account holding authorizations for its names; refusals (another
# account, another key, bad reasons, already revoked, not ours); the CRL
# (openssl crl) and OCSP (openssl ocsp) then say revoked with the reason.
# renewalInfo windows follow the template's renewal rule (checked with
# python's cryptography, not certpipe's code), are stable per
# certificate, lie in the past for revoked ones; 404 and 400 cases.
#
# Certificates come from `certpipe submit` and the scheduler. The order
# flow (newOrder/finalize) is not on this branch: an account's order of
# a certificate and its authorizations are rows inserted with sqlite3
# here; once the order flow is merged, these can come from real orders.
. "$(dirname "$0")/lib.sh"
new_home
H=$CERTPIPE_HOME
cd "$T_TMP" || exit 1
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; t_cleanup' EXIT
J=$T_TOP/tests/acme-jws.py
DB=$H/certpipe.db
q() { sqlite3 "$DB" "$1"; }
PY=/usr/bin/python3

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_up() {
	i=0
	until $PY -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 200 ] || t_bail "nothing listens on port $1"
		sleep 0.05
	done
}

# --- a CA, certificates with keys of our own, an OCSP responder ---------
certpipe ca create root --cn "Revoke Root" >/dev/null 2>&1 || t_bail "ca root"
certpipe ca create issuing --parent root --cn "Revoke Issuing" >/dev/null 2>&1 || t_bail "ca issuing"
t_exit "template: a bad renewal rule is refused" 65 certpipe template create web --ca issuing --days 90 --renew-before 0%
t_exit "template: a rule without a unit is refused" 65 certpipe template create web --ca issuing --days 90 --renew-before 30
t_ok "template with renewal rule 30d" certpipe template create web --ca issuing --days 90 --renew-before 30d
t_ok "template show" certpipe template show web
t_grep "template show prints the rule" '^renew-before +30d$' "$T_TMP/out"
certpipe domain add example.test >/dev/null || t_bail "domain"
certpipe ca export issuing >issuing.pem && certpipe ca export issuing --part fullchain >chain.pem || t_bail "export"
for n in a b c d e f; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout $n.key -subj "/CN=$n.example.test" \
		-addext "subjectAltName=DNS:$n.example.test" -out $n.csr 2>/dev/null || t_bail "csr $n"
	certpipe submit $n.csr --template web >/dev/null || t_bail "submit $n"
done
certpipe ocsp create --ca issuing >/dev/null || t_bail "ocsp create"
scheduler --once >/dev/null 2>&1
cid() { q "SELECT id FROM certificates WHERE cn = '$1.example.test'"; }
for n in a b c d e f; do
	[ -n "$(cid $n)" ] || t_bail "no certificate for $n"
	certpipe cert export "$(cid $n)" >$n.pem || t_bail "export $n"
done
b64der() { openssl x509 -in "$1" -outform DER | basenc --base64url | tr -d '=\n'; }
# another CA's certificate with the same subject
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout o.key -subj /CN=a.example.test -days 30 -out o.pem 2>/dev/null

# --- the server, an ACME policy, two accounts ---------------------------
certpipe acme policy create p1 --template web >/dev/null || t_bail "policy"
certpipe acme eab create p1 --uses 2 --expires 2099-01-01 >eab.out || t_bail "eab"
KID=$(sed -n 's/^kid: //p' eab.out) HMAC=$(sed -n 's/^hmac-key: //p' eab.out)
P=$(free_port)
U=http://127.0.0.1:$P
tcpserver -q -R -H 127.0.0.1 "$P" acme --base-url "$U" --timeout 5 2>acme.log &
PIDS="$PIDS $!"
wait_up "$P"
RV=$U/acme/revoke-cert
post() { "$J" post "$U" "$@" 2>body.out; }
for k in acct1 acct2 other; do "$J" key $k.json || t_bail "key"; done
for n in a b c d e f; do "$J" pemkey $n.json $n.key || t_bail "pemkey $n"; done
REG='{"termsOfServiceAgreed":true}'
set -- $(post acct1.json "$U/acme/new-account" "$REG" --eab "$KID:$HMAC"); A1=$3
set -- $(post acct2.json "$U/acme/new-account" "$REG" --eab "$KID:$HMAC"); A2=$3
[ "${A1%/*}" = "$U/acme/acct" ] && [ "${A2%/*}" = "$U/acme/acct" ] || t_bail "accounts"
AID1=$(q "SELECT id FROM acme_accounts WHERE name = '${A1##*/}'")

t_ok "directory" curl -sf "$U/directory"
t_is "the directory lists revokeCert and renewalInfo" \
	"$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["revokeCert"], d["renewalInfo"])' "$T_TMP/out")" \
	"$U/acme/revoke-cert $U/acme/renewal-info"

# b was ordered by account 1 (an ACME order linked to the pipeline
# order that issued it); account 1 holds a valid authorization for
# c.example.test, and one for d.example.test that has expired.
q "INSERT INTO acme_orders (name, account_id, realm_id, status, identifiers, expires_at, order_id, cert_id, created_at, updated_at)
   SELECT 'ob', $AID1, 1, 'valid', '[{\"type\":\"dns\",\"value\":\"b.example.test\"}]', '2099-01-01T00:00:00Z', order_id, id, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
   FROM certificates WHERE id = $(cid b)" || t_bail "order row"
q "INSERT INTO acme_authz (name, account_id, realm_id, identifier, status, expires_at, created_at, updated_at) VALUES
   ('zc', $AID1, 1, 'c.example.test', 'valid', '2099-01-01T00:00:00Z', 'x', 'x'),
   ('zd', $AID1, 1, 'd.example.test', 'valid', '2001-01-01T00:00:00Z', 'x', 'x')" || t_bail "authz rows"

status() { q "SELECT status || '|' || coalesce(revoke_reason, '') FROM certificates WHERE id = $(cid $1)"; }
cert() { printf '{"certificate":"%s"%s}' "$(b64der $1.pem)" "${2:+,\"reason\":$2}"; }

# --- refusals -----------------------------------------------------------
t_is "another key than the certificate's: unauthorized" "$(post other.json "$RV" "$(cert d 1)")" "403 unauthorized -"
t_is "another certificate's key: unauthorized" "$(post a.json "$RV" "$(cert d 1)")" "403 unauthorized -"
t_is "account 2 for b (account 1 ordered it): unauthorized" "$(post acct2.json "$RV" "$(cert b 1)" --kid "$A2")" "403 unauthorized -"
t_is "account 1 for d (its authorization expired): unauthorized" "$(post acct1.json "$RV" "$(cert d 1)" --kid "$A1")" "403 unauthorized -"
t_is "account 1 for e (no order, no authorization): unauthorized" "$(post acct1.json "$RV" "$(cert e)" --kid "$A1")" "403 unauthorized -"
for r in 7 8 9 10 11 -1 2 6; do
	t_is "reason $r: badRevocationReason" "$(post b.json "$RV" "$(cert b $r)")" "400 badRevocationReason -"
done
t_is "reason as a string: badRevocationReason" "$(post b.json "$RV" "$(cert b '"1"')")" "400 badRevocationReason -"
t_is "another CA's certificate: 404 malformed" "$(post other.json "$RV" "$(cert o 1)")" "404 malformed -"
t_is "not a certificate: malformed" "$(post b.json "$RV" '{"certificate":"MIIB"}')" "400 malformed -"
t_is "no certificate: malformed" "$(post b.json "$RV" '{"reason":1}')" "400 malformed -"
t_is "POST-as-GET: malformed" "$(post b.json "$RV" '')" "400 malformed -"
t_is "wrong url header: unauthorized" "$(post b.json "$RV" "$(cert b 1)" --url "$U/acme/new-account")" "403 unauthorized -"
t_is "nothing was revoked" "$(q "SELECT count(*) FROM certificates WHERE status <> 'active'")" 0

# --- revocations --------------------------------------------------------
t_is "by the certificate's own key, keyCompromise" "$(post a.json "$RV" "$(cert a 1)")" "200 - -"
t_is "a: revoked, keyCompromise" "$(status a)" "revoked|keyCompromise"
t_is "again: alreadyRevoked" "$(post a.json "$RV" "$(cert a 4)")" "400 alreadyRevoked -"
t_is "by the account that ordered it, superseded" "$(post acct1.json "$RV" "$(cert b 4)" --kid "$A1")" "200 - -"
t_is "b: revoked, superseded" "$(status b)" "revoked|superseded"
t_is "by an account with a valid authorization, no reason" "$(post acct1.json "$RV" "$(cert c)" --kid "$A1")" "200 - -"
t_is "c: revoked, unspecified" "$(status c)" "revoked|unspecified"
t_is "by the account, again: alreadyRevoked" "$(post acct1.json "$RV" "$(cert c 1)" --kid "$A1")" "400 alreadyRevoked -"
t_ok "a suspended certificate can be revoked for good" certpipe cert revoke --yes --reason certificateHold "$(cid f)"
t_is "f by its key, cessationOfOperation" "$(post f.json "$RV" "$(cert f 5)")" "200 - -"
t_is "f: revoked, cessationOfOperation" "$(status f)" "revoked|cessationOfOperation"
ME=$($PY -c "import pwd, os; print(pwd.getpwuid(os.getuid()).pw_name)")
t_is "the audit log names who revoked" \
	"$(q "SELECT group_concat(actor, ' ') FROM (SELECT actor FROM audit WHERE event = 'certificate.revoke.success' ORDER BY seq)" | sed "s/${A1##*/}/A1/g")" \
	"acme:certificate-key acme:account:A1 acme:account:A1 $ME acme:certificate-key"
t_ok "audit chain intact" certpipe audit verify

# --- the CRL and OCSP say so --------------------------------------------
scheduler --once >/dev/null 2>&1
openssl crl -inform DER -in "$H/pub/crl/issuing.crl" -noout -text >crl.txt 2>/dev/null || t_bail "crl"
serial() { q "SELECT upper(serial) FROM certificates WHERE id = $(cid $1)"; }
crl_reason() { # the reason line of serial $1 in crl.txt, or "listed" / "absent"
	awk -v s="Serial Number: $1" '
		index($0, s) { on = 1; found = 1; next }
		on && /Serial Number:/ { exit }
		on && /Reason Code:/ { getline; sub(/^ +/, ""); print; r = 1; exit }
		END { if (!found) print "absent"; else if (!r) print "listed" }' crl.txt
}
t_is "CRL: a keyCompromise" "$(crl_reason "$(serial a)")" "Key Compromise"
t_is "CRL: b superseded" "$(crl_reason "$(serial b)")" "Superseded"
t_is "CRL: c listed (unspecified has no reason code)" "$(crl_reason "$(serial c)")" "listed"
t_is "CRL: f cessationOfOperation" "$(crl_reason "$(serial f)")" "Cessation Of Operation"
t_is "CRL: d absent" "$(crl_reason "$(serial d)")" "absent"
t_exit "openssl verify -crl_check refuses a" 2 openssl verify -crl_check -CAfile chain.pem -CRLfile "$H/pub/crl/issuing.crl" a.pem
t_ok "... and accepts d" openssl verify -crl_check -CAfile chain.pem -CRLfile "$H/pub/crl/issuing.crl" d.pem
ocsp_of() { # status and reason of $1.pem from the pre-signed store
	openssl ocsp -issuer issuing.pem -cert $1.pem -no_nonce -reqout req.der >/dev/null 2>&1 &&
	ocsp --no-live <req.der >resp.der &&
	openssl ocsp -respin resp.der -issuer issuing.pem -cert $1.pem -CAfile chain.pem 2>/dev/null >ocsp.txt &&
	echo "$(sed -n "s/^$1.pem: //p" ocsp.txt) $(sed -n 's/^[[:space:]]*Reason: //p' ocsp.txt)" | sed 's/ $//'
}
t_is "OCSP: a revoked, keyCompromise" "$(ocsp_of a)" "revoked keyCompromise"
t_is "OCSP: b revoked, superseded" "$(ocsp_of b)" "revoked superseded"
t_is "OCSP: d good" "$(ocsp_of d)" "good"

# --- renewalInfo --------------------------------------------------------
certid() { # CertID of a PEM certificate, by python's cryptography
	$PY - "$1" <<'EOF'
import base64, sys
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = c.serial_number
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
print(b(aki) + "." + b(n.to_bytes((n.bit_length() + 8) // 8, "big")))
EOF
}
RI=$U/acme/renewal-info
window() { # window PEM RULE: "ok" when the answer fits RULE (Nd or N%)
	curl -s -D ri.h -o ri.json "$RI/$(certid "$1")"
	$PY - "$1" "$2" ri.json <<'EOF'
import json, sys, datetime as dt
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
na, nb = c.not_valid_after, c.not_valid_before
r = sys.argv[2]
b = dt.timedelta(days=int(r[:-1])) if r[-1] == "d" else (na - nb) * int(r[:-1]) / 100
sec = dt.timedelta(seconds=1)
w = json.load(open(sys.argv[3]))["suggestedWindow"]
p = lambda s: dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
s, e = p(w["start"]), p(w["end"])
ok = nb <= s and na - b - sec <= s and e <= na - b / 2 + sec and abs(e - s - b / 4) <= sec
print("ok" if ok else "bad: %s %s nb %s na %s" % (s, e, nb, na))
EOF
}
t_is "d: inside [notAfter-30d, notAfter-15d], 7.5 days long" "$(window d.pem 30d)" ok
t_grep "with Retry-After" '^Retry-After: [0-9]+' ri.h
t_grep "as JSON" '^Content-Type: application/json' ri.h
cp ri.json d1.json
window d.pem 30d >/dev/null
t_ok "the same answer again" cmp -s ri.json d1.json
window e.pem 30d >/dev/null
t_ok "e (issued with d) gets its own slice" sh -c '! cmp -s ri.json d1.json'
t_ok "template edit --renew-before 50%" certpipe template edit web --renew-before 50%
t_is "d now follows 50% of 90 days" "$(window d.pem 50%)" ok
curl -s -o ri.json "$RI/$(certid a.pem)"
t_is "a (revoked): the window is in the past" \
	"$($PY -c 'import json,sys,datetime as dt; w=json.load(open(sys.argv[1]))["suggestedWindow"]; print(dt.datetime.strptime(w["end"], "%Y-%m-%dT%H:%M:%SZ") < dt.datetime.utcnow())' ri.json)" True
code() { curl -s -o ri.json -w '%{http_code}' "$@"; }
ptype() { $PY -c 'import json,sys; print(json.load(open("ri.json"))["type"].split(":")[-1])'; }
t_is "another CA's certificate: 404" "$(code "$RI/$(certid o.pem 2>/dev/null || echo AQ.AQ)")" 404
AKI=$(certid d.pem | cut -d. -f1)
t_is "an unknown serial: 404" "$(code "$RI/$AKI.ASNFZ4mrze8")" 404
t_is "... malformed" "$(ptype)" malformed
t_is "a known serial, another AKI: 404" "$(code "$RI/AQID.$(certid d.pem | cut -d. -f2)")" 404
t_is "no dot: 400" "$(code "$RI/$AKI")" 400
t_is "... malformed" "$(ptype)" malformed
t_is "a negative serial: 400" "$(code "$RI/$AKI.gA")" 400
t_is "padding: 400" "$(code "$RI/$AKI.AQ==")" 400
t_is "nothing after renewal-info/: 404" "$(code "$RI/")" 404
t_is "POST: 405" "$(code -X POST -H 'Content-Type: application/jose+json' -d '{}' "$RI/$(certid d.pem)")" 405
# --- rate limits: the policy's settings (counted in t_acme_rate) -------
t_exit "policy rate: no window" 64 certpipe acme policy rate p1 --account 5
t_exit "policy rate: a bad window" 64 certpipe acme policy rate p1 --window 3w --account 5
t_oneline "bad window"
t_exit "policy rate: --off with a limit" 64 certpipe acme policy rate p1 --off --account 5
t_exit "policy rate: unknown policy" 66 certpipe acme policy rate nosuch --window 1h --account 5
t_ok "policy rate" certpipe acme policy rate p1 --window 3h --account 50 --domain 20
t_is "stored" "$(q "SELECT rate_window || ' ' || rate_account || ' ' || rate_domain FROM acme_policies WHERE name = 'p1'")" "10800 50 20"
t_ok "policy show" certpipe acme policy show p1
t_grep "policy show prints them" '^rate: +window 10800s, account 50, domain 20$' "$T_TMP/out"
t_ok "policy rate --off" certpipe acme policy rate p1 --off
t_is "cleared" "$(q "SELECT rate_window || ' ' || rate_account || ' ' || rate_domain FROM acme_policies WHERE name = 'p1'")" "0 0 0"
t_is "audited" "$(q "SELECT count(*) FROM audit WHERE event = 'acme.policy.updated'")" 2
t_nogrep "no request body in the access log" 'protected|signature' acme.log
t_nogrep "acme had no sanitizer reports (ASan builds)" "Sanitizer|runtime error" acme.log

t_done
