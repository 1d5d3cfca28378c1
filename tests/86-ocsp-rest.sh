#!/bin/sh
# ocsp-sign --due removes the responses of expired certificates once their
# nextUpdate has passed; signed OCSP requests (RFC 6960 4.1.2) are checked:
# a bad signature gets unauthorized, and with --require-signed an unsigned
# request gets sigRequired. Requests from openssl ocsp -signer/-signkey,
# answers checked with openssl ocsp; the old response is made by Python's
# cryptography package (no clock knob here, see lib/clock.h).
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
DB=$CERTPIPE_HOME/certpipe.db
STORE=$CERTPIPE_HOME/pub/ocsp
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; t_cleanup' EXIT
q() { sqlite3 "$DB" "$1"; }
cert_of() { # cert_of CN < records
	awk -v cn="CN: $1" '$0 == cn { on = 1 }
		on && $0 == "-----BEGIN CERTIFICATE-----" { p = 1 }
		p { print } p && $0 == "-----END CERTIFICATE-----" { exit }'
}
certpipe ca create root --cn Root >/dev/null && certpipe ca create sub --parent root --cn Sub >/dev/null &&
	certpipe domain add example.com >/dev/null || t_bail "CAs"
for n in a e; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
		-subj "/CN=$n.example.com" -out $n.csr 2>/dev/null || t_bail "csr $n"
done
parse-csr a.csr e.csr | check-policy --template sub-web-server | sign > issued.rec || t_bail "pipeline"
for n in a e; do cert_of $n.example.com < issued.rec > $n.pem; done
certpipe ocsp create --ca sub >/dev/null && scheduler --once >/dev/null 2>&1 || t_bail "signer"
certpipe ca export root > root.pem && certpipe ca export sub > sub.pem &&
	certpipe ocsp show --ca sub --pem > signer.pem || t_bail export
ocsp-sign --presign >/dev/null || t_bail presign
field() { openssl ocsp -reqin "$1" -req_text | awk -v f="$2" -F': ' '$1 ~ f { print tolower($2) }'; }
store_path() { # store_path ALG REQ
	echo "$STORE/$1/$(field "$2" "Issuer Name Hash")-$(field "$2" "Issuer Key Hash")/$(field "$2" "Serial Number").der"
}
openssl ocsp -issuer sub.pem -cert e.pem -no_nonce -reqout e1.req 2>/dev/null
openssl ocsp -issuer sub.pem -sha256 -cert e.pem -no_nonce -reqout e2.req 2>/dev/null
e1=$(store_path sha1 e1.req) e2=$(store_path sha256 e2.req)
t_ok "e's two responses are in the store" test -f "$e1" -a -f "$e2"
total=$(find "$STORE" -name '*.der' | wc -l | tr -d ' ')

# --- pruning -------------------------------------------------------------
# e expires (as the database has it): its responses are still valid
# until their nextUpdate, so they stay.
q "UPDATE certificates SET not_after = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hour') WHERE cn = 'e.example.com'"
t_exit "--due: e expired, its responses not yet past nextUpdate: nothing to do" 1 ocsp-sign --due
t_ok "  both kept" test -f "$e1" -a -f "$e2"
t_nogrep "  nothing removed" "removed" "$T_TMP/out"
# Their nextUpdate passes: responses signed by the same signer ten days
# ago, valid until three days ago.
"$CERTPIPE_BUILD/tests/signer-key" ocsp sub signer.key >/dev/null || t_bail "signer key"
old_response() { # old_response ALG OUT
	/usr/bin/python3 - "$1" "$2" <<'PY' || t_bail "an old response"
import datetime, sys
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.hazmat.primitives import hashes, serialization
ld = lambda f: x509.load_pem_x509_certificate(open(f, "rb").read())
leaf, issuer, signer = ld("e.pem"), ld("sub.pem"), ld("signer.pem")
key = serialization.load_pem_private_key(open("signer.key", "rb").read(), None)
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
alg = hashes.SHA1() if sys.argv[1] == "sha1" else hashes.SHA256()
b = ocsp.OCSPResponseBuilder().add_response(cert=leaf, issuer=issuer, algorithm=alg,
    cert_status=ocsp.OCSPCertStatus.GOOD, this_update=now - datetime.timedelta(days=10),
    next_update=now - datetime.timedelta(days=3), revocation_time=None, revocation_reason=None)
b = b.responder_id(ocsp.OCSPResponderEncoding.HASH, signer).certificates([signer])
open(sys.argv[2], "wb").write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
PY
}
old_response sha1 "$e1"; old_response sha256 "$e2"
t_ok "  (the old response verifies with openssl)" openssl ocsp -respin "$e1" -issuer sub.pem -cert e.pem \
	-CAfile root.pem -no_nonce
t_grep "  (its signature is good)" "Response verify OK" "$T_TMP/err"
t_grep "  (its nextUpdate is past)" "Status times invalid" "$T_TMP/out"
t_ok "--due: now removed" ocsp-sign --due
t_grep "  says so" "^sub: 2 responses of expired certificates removed$" "$T_TMP/out"
t_ok "  the SHA-1 one gone" test ! -e "$e1"
t_ok "  the SHA-256 one gone" test ! -e "$e2"
t_is "  nothing else touched" "$(find "$STORE" -name '*.der' | wc -l | tr -d ' ')" $((total - 2))
t_exit "--due again: nothing to do" 1 ocsp-sign --due
t_ok "ocsp answers for e from the live signer" sh -c 'ocsp < e1.req > e1.resp'
t_ok "  verified" openssl ocsp -respin e1.resp -issuer sub.pem -cert e.pem -CAfile root.pem -no_nonce
t_grep "  unknown" "^e.pem: unknown$" "$T_TMP/out"
t_ok "a's responses stay" test -f "$(openssl ocsp -issuer sub.pem -cert a.pem -no_nonce -reqout a1.req 2>/dev/null;
	store_path sha1 a1.req)"

# --- signed requests -------------------------------------------------------
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rq.key \
	-subj /CN=Requestor -days 30 -out rq.pem 2>/dev/null || t_bail "requestor"
sreq() { # sreq OUT ARGS...: a request for a signed by the requestor
	out=$1; shift
	openssl ocsp -issuer sub.pem -cert a.pem -no_nonce -signer rq.pem -signkey rq.key "$@" -reqout "$out" \
		2>/dev/null || t_bail "signed request"
}
sreq s.req
t_grep "a signed request names its requestor" "Requestor Name: DirName:CN = Requestor" \
	"$(openssl ocsp -reqin s.req -req_text > s.txt; echo s.txt)"
t_ok "a good signature: answered" sh -c 'ocsp < s.req > s.resp'
t_ok "  verified" openssl ocsp -respin s.resp -issuer sub.pem -cert a.pem -CAfile root.pem -no_nonce
t_grep "  good" "^a.pem: good$" "$T_TMP/out"
# a changed CertID serial: still DER, the signature no longer matches
openssl ocsp -issuer sub.pem -serial 0x1234 -no_nonce -signer rq.pem -signkey rq.key -reqout s2.req 2>/dev/null
/usr/bin/python3 -c 'import sys; b = open("s2.req", "rb").read(); n = b.replace(bytes([2, 2, 0x12, 0x34]), bytes([2, 2, 0x12, 0x35]), 1)
assert n != b; open("bad.req", "wb").write(n)' || t_bail "tamper"
t_ok "  (the tampered request still parses)" openssl ocsp -reqin bad.req -req_text
t_exit "a signature that does not verify: unauthorized (77)" 77 sh -c 'ocsp < bad.req > bad.resp'
t_grep "  the response says so" "unauthorized" "$(openssl ocsp -respin bad.resp -resp_text > bad.txt 2>&1; echo bad.txt)"
sreq nc.req -no_certs
t_exit "signed without the signer's certificate: unauthorized" 77 sh -c 'ocsp < nc.req > nc.resp'
t_ok "an unsigned request without --require-signed: answered" sh -c 'ocsp < a1.req > a1.resp'
t_exit "with --require-signed: sigRequired (77)" 77 sh -c 'ocsp --require-signed < a1.req > u.resp'
t_grep "  the response says so" "sigrequired" "$(openssl ocsp -respin u.resp -resp_text > u.txt 2>&1; echo u.txt)"
t_ok "with --require-signed, a signed one is answered" sh -c 'ocsp --require-signed < s.req > s3.resp'
t_ok "  verified" openssl ocsp -respin s3.resp -issuer sub.pem -cert a.pem -CAfile root.pem -no_nonce

# The same through serve --ocsp --ocsp-require-signed on 127.0.0.1, with a
# nonce too (the live signer checks the signature again).
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tcpserver -q -R -H -l0 127.0.0.1 "$P" serve --ocsp --ocsp-require-signed --timeout 5 2>srv.log &
PIDS="$PIDS $!"
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/ca/x")" != 000 ]; do
	i=$((i + 1)); [ $i -le 200 ] || t_bail "serve did not come up"; sleep 0.05
done
U=http://127.0.0.1:$P/ocsp
t_exit "serve: unsigned: sigRequired" 1 openssl ocsp -url "$U" -issuer sub.pem -cert a.pem -CAfile root.pem
t_grep "  says so" "Responder Error: sigrequired" "$T_TMP/out"
t_ok "serve: signed, with a nonce: good" openssl ocsp -url "$U" -issuer sub.pem -cert a.pem -CAfile root.pem \
	-signer rq.pem -signkey rq.key
t_grep "  good" "^a.pem: good$" "$T_TMP/out"
t_nogrep "  the nonce came back" "WARNING: no nonce" "$T_TMP/err"
t_is "serve: tampered: unauthorized" "$(curl -s -H 'Content-Type: application/ocsp-request' --data-binary @bad.req "$U" |
	openssl ocsp -respin /dev/stdin -resp_text 2>&1 | sed -n 's/^Responder Error: //p')" "unauthorized (6)"
t_exit "--ocsp-require-signed without --ocsp" 64 serve --ocsp-require-signed < /dev/null
t_done
