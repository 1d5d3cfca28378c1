#!/bin/sh
# tsa: RFC 3161 timestamps and Authenticode countersignatures signed by
# the CA's delegated TSA signer (certpipe tsa create), as a filter and
# under tcpserver on 127.0.0.1. Checked with openssl ts -reply/-verify,
# openssl asn1parse/pkcs7, curl, and osslsigncode sign -ts / -t + verify
# on a PE file built here with the mingw-w64 binutils.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
POLICY=1.3.6.1.4.1.99999.7.1
PIDS=
stop() { for p in $PIDS; do kill "$p" 2>/dev/null; done; t_cleanup; }
trap stop EXIT
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# start URL LOG ARGS...: tsa ARGS under tcpserver, waiting until it answers
start() {
	url=$1; log=$2; port=${url##*:}; port=${port%/}; shift 2
	tcpserver -q -R -H 127.0.0.1 "$port" tsa "$@" 2> "$log" &
	PIDS="$PIDS $!"
	i=0
	while [ "$(curl -s -k -o /dev/null -w '%{http_code}' "$url")" = 000 ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || t_bail "tsa under tcpserver did not come up"
		sleep 0.05
	done
}

certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca export root > root.pem || t_bail "export root"
# it queues the job; the scheduler runs the pipeline
certpipe tsa create --ca root --policy $POLICY >/dev/null 2>&1
scheduler --once >/dev/null 2>&1 || t_bail scheduler
certpipe tsa show --ca root --pem > tsa.pem 2>/dev/null || t_bail "no TSA signer"
printf 'certpipe timestamp test\n' > data.txt

reply_text() { openssl ts -reply -in "$1" -text 2>/dev/null; }
query() { # query OUT ARGS...: an openssl ts query over data.txt
	out=$1; shift
	openssl ts -query -data data.txt "$@" -out "$out" 2>/dev/null ||
		t_bail "openssl ts -query $*"
}

# --- filter mode -----------------------------------------------------
query q.der -sha256 -cert
t_ok "filter: a query answered" sh -c 'tsa --ca root --filter < q.der > r.der'
t_ok "openssl ts -verify accepts the token" \
	openssl ts -verify -data data.txt -in r.der -CAfile root.pem
reply_text r.der > r.txt
t_grep "granted" "^Status: Granted" r.txt
t_grep "the signer's policy" "^Policy OID: $POLICY\$" r.txt
t_grep "SHA-256 imprint" "^Hash Algorithm: sha256" r.txt
t_grep "ordering false" "^Ordering: no" r.txt
t_grep "no accuracy unless one is set" "^Accuracy: unspecified\$" r.txt
nonce=$(openssl ts -query -in q.der -text 2>/dev/null | sed -n 's/^Nonce: //p')
t_grep "the nonce is echoed" "^Nonce: $nonce\$" r.txt
t_grep "genTime in UTC, whole seconds" "^Time stamp: .* [0-9][0-9]:[0-9][0-9]:[0-9][0-9] [0-9]{4} GMT\$" r.txt
openssl ts -reply -in r.der -token_out -out tok.der 2>/dev/null
openssl asn1parse -inform DER -in tok.der > tok.txt
t_grep "ESSCertIDv2 (RFC 5816)" ":id-smime-aa-signingCertificateV2\$" tok.txt
t_nogrep "no ESSCertID v1" ":id-smime-aa-signingCertificate\$" tok.txt
openssl pkcs7 -inform DER -in tok.der -print_certs > certs.txt 2>/dev/null
t_grep "certReq: the TSA certificate is in the token" "subject=CN ?= ?root Time Stamping Authority" certs.txt
t_is "the TSA certificate is the signer's" \
	"$(openssl pkcs7 -inform DER -in tok.der -print_certs 2>/dev/null | openssl x509 -noout -fingerprint -sha256)" \
	"$(openssl x509 -in tsa.pem -noout -fingerprint -sha256)"

query q2.der -sha512 -no_nonce
tsa --ca root --filter < q2.der > r2.der 2>/dev/null
openssl ts -reply -in r2.der -token_out -out tok2.der 2>/dev/null
t_is "no certReq: no certificates in the token" \
	"$(openssl pkcs7 -inform DER -in tok2.der -print_certs 2>/dev/null | grep -c subject)" 0
t_ok "verifies with the TSA certificate given apart" \
	openssl ts -verify -data data.txt -in r2.der -CAfile root.pem -untrusted tsa.pem
query q3.der -sha384 -tspolicy $POLICY
tsa --ca root --filter < q3.der > r3.der 2>/dev/null
t_ok "SHA-384 and the TSA's own policy asked: verifies" \
	openssl ts -verify -data data.txt -in r3.der -CAfile root.pem -untrusted tsa.pem

s1=$(reply_text r.der | sed -n 's/^Serial number: //p')
tsa --ca root --filter < q.der > r4.der 2>/dev/null
s2=$(reply_text r4.der | sed -n 's/^Serial number: //p')
t_ok "serials of 64 bits or more (got $s1)" sh -c '[ ${#1} -ge 18 ]' - "$s1"
t_ok "another process, another serial" [ "$s1" != "$s2" ]

tsa --ca root --filter --accuracy 250ms < q.der > ra.der 2>/dev/null
reply_text ra.der > ra.txt
t_grep "--accuracy 250ms" "^Accuracy: unspecified seconds, 0xFA millis" ra.txt
t_grep "genTime with milliseconds" "^Time stamp: .* [0-9:]{8}\\.[0-9]{1,3} [0-9]{4} GMT\$" ra.txt
tsa --ca root --filter --accuracy 2s < q.der > rb.der 2>/dev/null
t_grep "--accuracy 2s" "^Accuracy: 0x02 seconds" "$(reply_text rb.der > rb.txt; echo rb.txt)"

# refusals: a reply all the same, exit 65, one line
query qs.der -sha1
t_exit "SHA-1 imprint: rejected" 65 sh -c 'tsa --ca root --filter < qs.der > rs.der'
t_oneline "SHA-1"
reply_text rs.der > rs.txt
t_grep "SHA-1: rejection" "^Status: Rejected" rs.txt
t_grep "SHA-1: badAlg" "^Failure info: unrecognized or unsupported algorithm" rs.txt
query qp.der -sha256 -tspolicy 1.2.3.4
t_exit "another policy: rejected" 65 sh -c 'tsa --ca root --filter < qp.der > rp.der'
t_grep "another policy: unacceptedPolicy" "^Failure info: the requested TSA policy is not supported" \
	"$(reply_text rp.der > rp.txt; echo rp.txt)"
t_exit "garbage: rejected" 65 sh -c 'echo garbage | tsa --ca root --filter > rg.der'
t_grep "garbage: badDataFormat" "^Failure info: the data submitted has the wrong format" \
	"$(reply_text rg.der > rg.txt; echo rg.txt)"
head -c 40 q.der > trunc.der
t_exit "truncated DER: rejected" 65 sh -c 'tsa --ca root --filter < trunc.der > rt.der'
t_grep "truncated: badDataFormat" "wrong format" "$(reply_text rt.der > rt.txt; echo rt.txt)"
head -c 20000 /dev/zero > big.der
t_exit "oversize query: refused" 65 sh -c 'tsa --ca root --filter < big.der > rbig.der'
t_oneline "oversize"

t_ok "no --ca: the realm's one CA with a TSA signer" sh -c 'tsa --filter < q.der > rn.der'
t_ok "no --ca: its token verifies" openssl ts -verify -data data.txt -in rn.der -CAfile root.pem
t_exit "an unknown CA: no input" 66 sh -c 'tsa --ca nosuch --filter < q.der'
t_oneline "unknown CA"
t_exit "a wrong passphrase: no permission" 77 sh -c \
	'echo wrong-passphrase | tsa --ca root --passphrase-fd 3 --filter 3<&0 < q.der'
t_oneline "wrong passphrase"
t_exit "a CA without a TSA signer" 66 sh -c \
	'certpipe ca create other --cn Other >/dev/null && tsa --ca other --filter < q.der'
t_oneline "no TSA signer"
t_ok "no --ca: a CA without one is no rival" sh -c 'tsa --filter < q.der > /dev/null'
t_exit "another realm: no TSA signer there" 66 sh -c \
	'certpipe realm create lab >/dev/null && tsa --realm lab --filter < q.der'
certpipe tsa create --ca other --policy 1.3.6.1.4.1.99999.7.2 >/dev/null 2>&1
scheduler --once >/dev/null 2>&1 || t_bail "scheduler (second signer)"
t_exit "no --ca with two TSA signers: usage" 64 sh -c 'tsa --filter < q.der'
t_oneline "two TSA signers"
t_grep "both named" "CAs other, root have" "$T_TMP/err"
certpipe ca export other > other-ca.pem
tsa --ca other --filter < q.der > ro.der 2>/dev/null
t_grep "--ca other: its policy" "^Policy OID: 1\\.3\\.6\\.1\\.4\\.1\\.99999\\.7\\.2\$" \
	"$(reply_text ro.der > ro.txt; echo ro.txt)"
t_ok "--ca other: verifies under its CA" openssl ts -verify -data data.txt -in ro.der -CAfile other-ca.pem
t_exit "--ca other: not under root" 1 openssl ts -verify -data data.txt -in ro.der -CAfile root.pem

# --- HTTP under tcpserver ---------------------------------------------
URL=http://127.0.0.1:$(free_port)/
start "$URL" srv.err --ca root
post() { # post CONTENT-TYPE FILE OUT: HTTP status on stdout
	curl -s -o "$3" -D "$3.hdr" -w '%{http_code}' -H "Content-Type: $1" \
		--data-binary "@$2" "$URL"
}
t_is "POST timestamp-query: 200" "$(post application/timestamp-query q.der h.der)" 200
t_grep "Content-Type: application/timestamp-reply" "^Content-Type: application/timestamp-reply" h.der.hdr
t_ok "over HTTP: openssl ts -verify" openssl ts -verify -data data.txt -in h.der -CAfile root.pem
t_grep "over HTTP: nonce echoed" "^Nonce: $nonce\$" "$(reply_text h.der > h.txt; echo h.txt)"
t_is "SHA-1 over HTTP: 200 and a rejection" "$(post application/timestamp-query qs.der hs.der)" 200
t_grep "SHA-1 over HTTP: badAlg" "unsupported algorithm" "$(reply_text hs.der > hs.txt; echo hs.txt)"
echo garbage > garbage.txt
t_is "garbage query over HTTP: 200" "$(post application/timestamp-query garbage.txt hg.der)" 200
t_grep "garbage over HTTP: badDataFormat" "wrong format" "$(reply_text hg.der > hg.txt; echo hg.txt)"
t_is "garbage Authenticode request: 400" "$(post application/octet-stream garbage.txt ha.out)" 400
t_is "another content type: 415" "$(post text/plain q.der hx.out)" 415
t_is "GET: 405" "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" 405
t_is "oversize body: 413" "$(post application/timestamp-query big.der hb.out)" 413
curl -s -H 'Content-Type: application/timestamp-query' --data-binary @q.der \
	-o k1.der "$URL" -o k2.der "$URL"
t_is "keep-alive: two answers on one connection" \
	"$(grep '"POST /" 200' srv.err | tail -2 | awk '{ print $2 }' | uniq | wc -l | tr -d ' ')" 1
t_ok "keep-alive: the second verifies" openssl ts -verify -data data.txt -in k2.der -CAfile root.pem
t_nogrep "sandboxed: no warning" "warning" srv.err
t_grep "access log" "^tsa: 127\\.0\\.0\\.1:[0-9]+ \"POST /\" 200 " srv.err

# TLS on the same front end (the instance's passphrase opens no
# unencrypted key: it is simply not needed)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 -out tls.pem 2>/dev/null
chmod 600 tls.key
TLS_URL=https://127.0.0.1:$(free_port)/
start "$TLS_URL" tls.err --ca root --tls-cert tls.pem --tls-key tls.key
t_is "TLS: 200" "$(curl -s --cacert tls.pem -o ht.der -w '%{http_code}' \
	-H 'Content-Type: application/timestamp-query' --data-binary @q.der "$TLS_URL")" 200
t_ok "TLS: the token verifies" openssl ts -verify -data data.txt -in ht.der -CAfile root.pem
t_exit "--tls-cert without --tls-key: usage" 64 tsa --ca root --tls-cert tls.pem

# --- osslsigncode: RFC 3161 (-ts) and Authenticode (-t) ----------------
certpipe template create --ca root --from code-signing codesign >/dev/null || t_bail template
certpipe request --cn "Test Code Signer" --alg rsa-2048 --template codesign >/dev/null ||
	t_bail request
scheduler --once >/dev/null 2>&1 || t_bail "scheduler (code signing)"
CS=$(sqlite3 "$CERTPIPE_HOME/certpipe.db" "SELECT id FROM certificates WHERE cn = 'Test Code Signer'")
certpipe cert export "$CS" --pfx --out cs.pfx 2> pfx.err || t_bail "export pfx"
sed -n 's/^pfx password: //p' pfx.err > pw.txt
cat > hello.s <<'EOF'
	.text
	.globl	_start
_start:
	xorl	%eax, %eax
	ret
EOF
x86_64-w64-mingw32-as hello.s -o hello.o &&
	x86_64-w64-mingw32-ld --subsystem console -e _start hello.o -o hello.exe ||
	t_bail "cannot build a PE file"
t_ok "osslsigncode sign -ts (RFC 3161)" osslsigncode sign -pkcs12 cs.pfx -readpass pw.txt \
	-ts "$URL" -in hello.exe -out signed-ts.exe
t_ok "osslsigncode sign -t (Authenticode)" osslsigncode sign -pkcs12 cs.pfx -readpass pw.txt \
	-t "$URL" -in hello.exe -out signed-ac.exe
# CRLs are publish-crl's business: verify signatures and chains here
for k in ts ac; do
	osslsigncode verify -ignore-crl -in signed-$k.exe -CAfile root.pem \
		-TSA-CAfile root.pem > v-$k.txt 2>&1
	t_is "osslsigncode verify ($k): exit 0" $? 0
	t_grep "$k: the timestamp is shown" "^[[:space:]]*Timestamp time: " v-$k.txt
	t_grep "$k: timestamp signature verified" "^Timestamp Server Signature verification: ok" v-$k.txt
	t_grep "$k: by the TSA certificate" "Subject: /CN=root Time Stamping Authority" v-$k.txt
done
t_grep "ac: signingTime in the countersignature" "^[[:space:]]*Signing time: " v-ac.txt
# and the verification is real: another root does not vouch for the TSA
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout o.key \
	-subj /CN=Other -days 1 -out other.pem 2>/dev/null
osslsigncode verify -ignore-crl -in signed-ac.exe -CAfile root.pem \
	-TSA-CAfile other.pem > v-other.txt 2>&1
t_grep "another TSA root: the timestamp is refused" \
	"^Timestamp Server Signature verification: failed" v-other.txt
t_grep "server log: the Authenticode POST" "\"POST /\" 200 " srv.err
t_done
