#!/bin/sh
# ocsp-sign and ocsp: pre-signed responses for certificates issued by the
# real pipeline, answered by lookup (filter and HTTP under tcpserver),
# live responses with a nonce, unknown and unauthorized, caching headers,
# malformed requests; checked with openssl ocsp, curl and gnutls ocsptool.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
DB=$CERTPIPE_HOME/certpipe.db
STORE=$CERTPIPE_HOME/pub/ocsp
SRV=
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; t_cleanup' EXIT
q() { sqlite3 "$DB" "$1"; }
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe ca create other --cn Other >/dev/null || t_bail other
certpipe domain add example.com >/dev/null || t_bail domain
for n in a b c d; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout $n.key -subj "/CN=$n.example.com" -out $n.csr 2>/dev/null ||
		t_bail "csr $n"
done
parse-csr a.csr b.csr c.csr d.csr | check-policy --template sub-web-server |
	sign > issued.rec || t_bail "the pipeline"
cert_of() { # cert_of CN < records
	awk -v cn="CN: $1" '$0 == cn { on = 1 }
		on && $0 == "-----BEGIN CERTIFICATE-----" { p = 1 }
		p { print } p && $0 == "-----END CERTIFICATE-----" { exit }'
}
for n in a b c d; do
	cert_of $n.example.com < issued.rec > $n.pem
	openssl x509 -in $n.pem -noout 2>/dev/null || t_bail "no certificate for $n"
done
certpipe ca export sub > sub.pem && certpipe ca export root > root.pem &&
	certpipe ca export other > other.pem || t_bail export
id() { q "SELECT id FROM certificates WHERE cn = '$1'"; }

# No signer yet: nothing to pre-sign for, and --ca says so.
t_exit "--ca of a CA without an OCSP signer" 66 ocsp-sign --presign --ca sub
t_oneline "no signer"
t_exit "--ca of no CA" 66 ocsp-sign --presign --ca nosuch
t_exit "no mode" 64 ocsp-sign
t_exit "two modes" 64 ocsp-sign --presign --live
t_exit "a bad --days" 64 ocsp-sign --presign --days 0

# The delegated signers, issued through the pipeline.
certpipe ocsp create --ca sub >/dev/null && certpipe ocsp create --ca other >/dev/null &&
	scheduler --once >/dev/null 2>&1 || t_bail "ocsp create"
certpipe ocsp show --ca sub --pem > signer.pem && certpipe ocsp show --ca other --pem > osigner.pem ||
	t_bail "no signer certificate"
certpipe cert revoke --yes --reason keyCompromise "$(id b.example.com)" >/dev/null || t_bail revoke
certpipe cert revoke --yes --reason certificateHold "$(id c.example.com)" >/dev/null || t_bail suspend
keys_before=$(ls "$CERTPIPE_HOME/keys" | sort)
audit_before=$(q "SELECT count(*) FROM audit")

t_ok "ocsp-sign --presign" ocsp-sign --presign
t_grep "sub: four leaves and its signer, two responses each" "^sub: 5 certificates, 10 responses signed$" "$T_TMP/out"
t_grep "other: its signer" "^other: 1 certificates, 2 responses signed$" "$T_TMP/out"
t_is "12 responses in the store (root has no OCSP signer)" \
	"$(find "$STORE" -name '*.der' | wc -l | tr -d ' ')" 12
t_is "responses are 0644" "$(find "$STORE" -name '*.der' ! -perm 0644 | wc -l | tr -d ' ')" 0
t_is "no key file added, no audit event (nothing changed in the db)" \
	"$(ls "$CERTPIPE_HOME/keys" | sort; q "SELECT count(*) FROM audit")" "$keys_before
$audit_before"

# The store layout: the CertID's hashes and serial, as openssl computes them.
openssl ocsp -issuer sub.pem -cert a.pem -no_nonce -reqout a1.req 2>/dev/null
field() { openssl ocsp -reqin "$1" -req_text | awk -v f="$2" -F': ' '$1 ~ f { print tolower($2) }'; }
path=$STORE/sha1/$(field a1.req "Issuer Name Hash")-$(field a1.req "Issuer Key Hash")/$(field a1.req "Serial Number").der
t_ok "the SHA-1 response is where the CertID says" test -f "$path"

# Filter mode, checked by openssl.
check() { # check NAME REQ-OPTIONS...: ask through the filter, verify with openssl
	n=$1; shift
	openssl ocsp -issuer sub.pem "$@" -cert $n.pem -no_nonce -reqout $n.req 2>/dev/null
	ocsp < $n.req > $n.resp
	openssl ocsp -respin $n.resp -issuer sub.pem "$@" -cert $n.pem -CAfile root.pem -no_nonce
}
t_ok "filter: good" check a
t_grep "  openssl verifies the signature" "Response verify OK" "$T_TMP/err"
t_grep "  a is good" "^a.pem: good$" "$T_TMP/out"
tu=$(sed -n 's/^\tThis Update: //p' "$T_TMP/out") nu=$(sed -n 's/^\tNext Update: //p' "$T_TMP/out")
t_is "  nextUpdate is thisUpdate + 7 days" $(( $(date -ud "$nu" +%s) - $(date -ud "$tu" +%s) )) 604800
t_ok "  thisUpdate is within a minute of now" test $(( $(date +%s) - $(date -ud "$tu" +%s) )) -lt 60
t_ok "  the response is the stored file, byte for byte" cmp a.resp "$path"
t_ok "filter: revoked" check b
t_grep "  b is revoked" "^b.pem: revoked$" "$T_TMP/out"
t_grep "  for keyCompromise" "Reason: keyCompromise" "$T_TMP/out"
rt=$(q "SELECT revoked_at FROM certificates WHERE cn = 'b.example.com'")
t_is "  at the time the database has" "$(date -ud "$(sed -n 's/^\tRevocation Time: //p' "$T_TMP/out")" +%Y-%m-%dT%H:%M:%SZ)" "$rt"
t_ok "filter: suspended" check c
t_grep "  c is revoked for certificateHold" "Reason: certificateHold" "$T_TMP/out"
t_ok "filter: a SHA-256 CertID" check a -sha256
t_grep "  good" "^a.pem: good$" "$T_TMP/out"

# Responder ID by key: SHA-1 of the signer key's BIT STRING value.
openssl x509 -in signer.pem -pubkey -noout | openssl pkey -pubin -outform DER > spki.der
bs=$(openssl asn1parse -inform DER -in spki.der | grep 'BIT STRING' | head -1)
off=${bs%%:*} hl=$(echo "$bs" | sed 's/.*hl= *\([0-9]*\).*/\1/')
want=$(tail -c +$((off + hl + 2)) spki.der | openssl sha1 -r | cut -c1-40 | tr a-f A-F)
t_is "responder ID is the key hash" "$(openssl ocsp -respin a.resp -resp_text -noverify | sed -n 's/^ *Responder Id: //p')" "$want"

# Live: a serial never issued, an issuer not served, garbage.
openssl ocsp -issuer sub.pem -serial 0x1234 -no_nonce -reqout u.req 2>/dev/null
t_ok "filter: a never-issued serial" sh -c 'ocsp < u.req > u.resp'
t_ok "  signed live, verified" openssl ocsp -respin u.resp -issuer sub.pem -serial 0x1234 -CAfile root.pem -no_nonce
t_grep "  unknown" "^0x1234: unknown$" "$T_TMP/out"
t_ok "--non-issued-revoked" sh -c 'ocsp --non-issued-revoked < u.req > u2.resp'
openssl ocsp -respin u2.resp -issuer sub.pem -serial 0x1234 -CAfile root.pem -no_nonce -resp_text >u2.txt 2>&1
t_grep "  revoked since 1970, certificateHold (RFC 6960 4.4.8)" "Revocation Time: Jan  1 00:00:00 1970 GMT" u2.txt
t_grep "  with the extended-revoke extension (OpenSSL calls it valid)" "^ *valid: *$" u2.txt
openssl ocsp -issuer root.pem -serial 0x1234 -no_nonce -reqout r.req 2>/dev/null
t_exit "filter: an issuer with no store: unauthorized (77)" 77 sh -c 'ocsp < r.req > r.resp'
t_oneline "unauthorized"
t_grep "  the response says so" "unauthorized" "$(openssl ocsp -respin r.resp -resp_text > r.txt 2>&1; echo r.txt)"
head -c 40 a1.req > t.req
t_exit "filter: a truncated request: malformedRequest (65)" 65 sh -c 'ocsp < t.req > t.resp'
openssl ocsp -respin t.resp -resp_text > t.txt 2>&1
t_grep "  the response is malformedRequest" "malformedrequest" t.txt
t_exit "filter: --no-live: tryLater for what needs a signature" 75 sh -c 'ocsp --no-live < u.req > n.resp'
t_exit "a store that does not exist" 66 ocsp --store "$T_TMP/nostore" < a1.req

# --due: nothing changed; then a revocation; then a wide margin.
t_exit "--due with nothing to do: 1" 1 ocsp-sign --due
t_grep "  nothing signed" "^sub: 5 certificates, 0 responses signed$" "$T_TMP/out"
certpipe cert revoke --yes --reason superseded "$(id d.example.com)" >/dev/null || t_bail "revoke d"
t_ok "--due after revoking d" ocsp-sign --due
t_grep "  re-signs d's two responses" "^sub: 5 certificates, 2 responses signed$" "$T_TMP/out"
t_ok "  d is revoked now" check d
t_grep "  superseded" "Reason: superseded" "$T_TMP/out"
t_ok "--due --margin 200 (past nextUpdate) re-signs all" ocsp-sign --due --margin 200
t_grep "  every response" "^sub: 5 certificates, 10 responses signed$" "$T_TMP/out"

# A rotated signer makes every response of its CA due; the scheduler
# that issues the new signer runs ocsp-sign --due after its pass.
certpipe ocsp rotate --ca sub >/dev/null || t_bail rotate
t_ok "the scheduler issues the new signer" scheduler --once -v
t_grep "  and re-signs with it (ocsp-sign --due)" "ocsp-sign: published" "$T_TMP/err"
certpipe ocsp show --ca sub --pem > signer2.pem || t_bail "rotated signer"
t_exit "then --due finds nothing left to re-sign" 1 ocsp-sign --due
t_ok "--due --margin 200 re-signs all of sub (the new signer's certificate too)" ocsp-sign --due --margin 200
t_grep "  every response" "^sub: 6 certificates, 12 responses signed$" "$T_TMP/out"
t_ok "  verified" check a
rid=$(openssl ocsp -respin a.resp -resp_text -noverify | sed -n 's/^ *Responder Id: //p')
t_grep "  by the new signer" "$rid" "$(openssl x509 -in signer2.pem -noout -ext subjectKeyIdentifier | tr -d ': ' | tr a-f A-F > ski2.txt; echo ski2.txt)"

# HTTP under tcpserver on 127.0.0.1.
tcpserver -q -R -H -l0 127.0.0.1 0 ocsp --prefix /ocsp 2>srv.log &
SRV=$!
P=
for i in $(seq 100); do
	P=$(ss -ltnpH 2>/dev/null | grep "pid=$SRV," | awk '{ sub(/.*:/, "", $4); print $4 }')
	[ -n "$P" ] && break
	sleep 0.05
done
[ -n "$P" ] || t_bail "tcpserver did not listen"
URL=http://127.0.0.1:$P/ocsp
ask() { openssl ocsp -url "$URL" -issuer sub.pem -CAfile root.pem "$@"; }
t_ok "POST with a nonce: good" ask -cert a.pem
t_grep "  verified" "Response verify OK" "$T_TMP/err"
t_nogrep "  the nonce came back" "WARNING: no nonce" "$T_TMP/err"
t_grep "  good" "^a.pem: good$" "$T_TMP/out"
t_ok "POST with a nonce: revoked" ask -cert b.pem
t_grep "  keyCompromise" "Reason: keyCompromise" "$T_TMP/out"
t_ok "POST, two certificates in one request" ask -cert a.pem -cert c.pem
t_grep "  both answered" "^c.pem: revoked$" "$T_TMP/out"
t_ok "POST -no_nonce: pre-signed" ask -cert a.pem -no_nonce
t_grep "  good" "^a.pem: good$" "$T_TMP/out"
t_ok "POST, never issued" ask -serial 0x99 -no_nonce
t_grep "  unknown" "^0x99: unknown$" "$T_TMP/out"
t_ok "another CA on the same responder" openssl ocsp -url "$URL" -issuer other.pem -cert osigner.pem -CAfile other.pem
t_grep "  its signer is good" "^osigner.pem: good$" "$T_TMP/out"
t_exit "a CA without a store: unauthorized" 1 openssl ocsp -url "$URL" -issuer root.pem -cert sub.pem -no_nonce
t_grep "  says so" "Responder Error: unauthorized" "$T_TMP/out"

# GET (RFC 5019) and its caching headers.
b64=$(base64 -w0 a1.req)
t_ok "GET" curl -sf -D h1 -o g1.resp "$URL/$b64"
t_ok "  the stored response" cmp g1.resp "$path"
hv() { tr -d '\r' < "$1" | sed -n "s/^$2: //Ip"; }
t_is "  Content-Type" "$(hv h1 Content-Type)" application/ocsp-response
tu=$(openssl ocsp -respin g1.resp -resp_text -noverify | sed -n 's/^ *This Update: //p')
nu=$(openssl ocsp -respin g1.resp -resp_text -noverify | sed -n 's/^ *Next Update: //p')
t_is "  Last-Modified is thisUpdate" "$(date -ud "$(hv h1 Last-Modified)" +%s)" "$(date -ud "$tu" +%s)"
t_is "  Expires is nextUpdate" "$(date -ud "$(hv h1 Expires)" +%s)" "$(date -ud "$nu" +%s)"
cc=$(hv h1 Cache-Control)
t_ok "  Cache-Control: max-age, public, no-transform, must-revalidate ($cc)" \
	sh -c 'echo "$0" | grep -Eq "^max-age=[0-9]+, public, no-transform, must-revalidate$"' "$cc"
age=$(echo "$cc" | sed 's/max-age=\([0-9]*\),.*/\1/')
t_ok "  max-age reaches nextUpdate" test $(( $(date -ud "$nu" +%s) - $(date +%s) - age )) -le 5
etag=$(hv h1 ETag)
t_ok "  an ETag" test -n "$etag"
t_ok "GET with If-None-Match" curl -s -D h2 -o g2.body -H "If-None-Match: $etag" "$URL/$b64"
t_grep "  304" "^HTTP/1.1 304" h2
t_ok "  no body" test ! -s g2.body
t_ok "GET with another ETag" curl -s -D h3 -o g3.resp -H 'If-None-Match: "x"' "$URL/$b64"
t_grep "  200" "^HTTP/1.1 200" h3
enc=$(printf %s "$b64" | sed 's/+/%2B/g; s|/|%2F|g; s/=/%3D/g')
t_ok "GET URL-encoded" curl -sf -o g4.resp "$URL/$enc"
t_ok "  the same response" cmp g4.resp "$path"
t_ok "GET garbage" curl -sf -D h5 -o g5.resp "$URL/not-base64!"
openssl ocsp -respin g5.resp -resp_text > g5.txt 2>&1
t_grep "  malformedRequest" "malformedrequest" g5.txt
t_grep "  not cached" "Cache-Control: no-store" h5

# Malformed POSTs.
t_ok "POST of the wrong content type" curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary @a1.req "$URL"
t_is "  415" "$(cat "$T_TMP/out")" 415
head -c 9000 /dev/zero > big.req
t_ok "POST over 8 KiB" curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/ocsp-request' --data-binary @big.req "$URL"
t_is "  413" "$(cat "$T_TMP/out")" 413
t_ok "POST a truncated request" curl -sf -o tp.resp -H 'Content-Type: application/ocsp-request' --data-binary @t.req "$URL"
openssl ocsp -respin tp.resp -resp_text > tp.txt 2>&1
t_grep "  malformedRequest" "malformedrequest" tp.txt

# gnutls ocsptool: asks with a nonce, verifies against the CA.
t_ok "ocsptool --ask: good" ocsptool --ask="$URL" --load-issuer sub.pem --load-cert a.pem --load-trust sub.pem
t_grep "  verified" "Verifying OCSP Response: Success" "$T_TMP/out"
t_grep "  good" "Certificate Status: good" "$T_TMP/out"
t_ok "ocsptool -e on the revoked response" ocsptool -e --load-trust sub.pem --infile b.resp
t_grep "  verified" "Verifying OCSP Response: Success" "$T_TMP/out"
t_ok "ocsptool -j: revoked" ocsptool -j --infile b.resp
t_grep "  revoked" "Certificate Status: revoked" "$T_TMP/out"

t_ok "the server is still up" kill -0 "$SRV"
t_nogrep "no sanitizer report in the server log" "ERROR: AddressSanitizer|runtime error" srv.log
t_done
