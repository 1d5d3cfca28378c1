#!/bin/sh
# serve --ocsp --tsa: every status service on one tcpserver port on
# 127.0.0.1 (the shipped scripts/tcpserver-run): CA certificates and CRLs,
# OCSP by lookup and live (a nonce), RFC 3161 timestamps, also all on one
# keep-alive connection; checked with openssl ocsp, openssl ts -verify,
# openssl crl -verify and curl. Without the options serve holds no key.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
DB=$CERTPIPE_HOME/certpipe.db
POLICY=1.3.6.1.4.1.99999.7.2
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; t_cleanup' EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_up() { # wait_up PORT: bounded wait until something accepts on PORT
	i=0
	until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 200 ] || t_bail "nothing listens on port $1"
		sleep 0.05
	done
}
# start LOG OPTION...: serve OPTIONS under the shipped tcpserver command; sets U
start() {
	log=$1; shift
	P=$(free_port)
	CERTPIPE_LIBEXEC=$CERTPIPE_BUILD/bin sh "$T_TOP/scripts/tcpserver-run" serve 127.0.0.1 "$P" \
		-- --timeout 5 "$@" 2>"$log" &
	PIDS="$PIDS $!"
	wait_up "$P"
	U=http://127.0.0.1:$P
}
cert_of() { # cert_of CN < records
	awk -v cn="CN: $1" '$0 == cn { on = 1 }
		on && $0 == "-----BEGIN CERTIFICATE-----" { p = 1 }
		p { print } p && $0 == "-----END CERTIFICATE-----" { exit }'
}

# --- an instance: root > sub, two leaves (one revoked), both signers ---
certpipe ca create root --cn Root >/dev/null && certpipe ca create sub --parent root --cn Sub >/dev/null &&
	certpipe domain add example.com >/dev/null || t_bail "CAs"
for n in a b; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
		-subj "/CN=$n.example.com" -out $n.csr 2>/dev/null || t_bail "csr $n"
done
parse-csr a.csr b.csr | check-policy --template sub-web-server | sign > issued.rec || t_bail "pipeline"
for n in a b; do cert_of $n.example.com < issued.rec > $n.pem; done
certpipe ocsp create --ca sub >/dev/null && certpipe tsa create --ca sub --policy $POLICY >/dev/null &&
	scheduler --once >/dev/null 2>&1 || t_bail "signers"
certpipe cert revoke --yes --reason keyCompromise \
	"$(sqlite3 "$DB" "SELECT id FROM certificates WHERE cn = 'b.example.com'")" >/dev/null || t_bail revoke
publish-crl >/dev/null && ocsp-sign --presign >/dev/null || t_bail "publish"
certpipe ca export root > root.pem && certpipe ca export sub > sub.pem || t_bail export
mkdir -p "$CERTPIPE_HOME/pub/ca" && openssl x509 -in sub.pem -outform DER -out "$CERTPIPE_HOME/pub/ca/sub.crt"
printf 'served on one port\n' > data.txt
openssl ts -query -data data.txt -sha256 -cert -out q.der 2>/dev/null || t_bail "ts query"

# --- options --------------------------------------------------------------
t_exit "--tsa-ca without --tsa" 64 serve --tsa-ca sub < /dev/null
t_oneline "--tsa-ca"
t_exit "--tsa where no CA has a TSA signer" 66 serve --tsa --tsa-ca root < /dev/null
t_oneline "no TSA signer"

# --- without --ocsp and --tsa: files only, no key ------------------------
start plain.log
t_is "no /ocsp route" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/ocsp-request' --data-binary @q.der "$U/ocsp")" 404
t_is "no /tsa route" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/timestamp-query' --data-binary @q.der "$U/tsa")" 404
t_is "the CA certificate is there" "$(curl -s -o /dev/null -w '%{http_code}' "$U/ca/sub.crt")" 200

# --- every service on one port --------------------------------------------
start all.log --ocsp --tsa
ask() { openssl ocsp -url "$U/ocsp" -issuer sub.pem -CAfile root.pem "$@"; }
t_ok "OCSP POST -no_nonce: good" ask -cert a.pem -no_nonce
t_grep "  good" "^a.pem: good$" "$T_TMP/out"
t_grep "  verified" "Response verify OK" "$T_TMP/err"
t_ok "OCSP POST with a nonce (live signer): revoked" ask -cert b.pem
t_grep "  revoked" "^b.pem: revoked$" "$T_TMP/out"
t_grep "  keyCompromise" "Reason: keyCompromise" "$T_TMP/out"
t_grep "  verified" "Response verify OK" "$T_TMP/err"
t_nogrep "  the nonce came back" "WARNING: no nonce" "$T_TMP/err"
t_ok "OCSP, a serial never issued" ask -serial 0x99 -no_nonce
t_grep "  unknown" "^0x99: unknown$" "$T_TMP/out"
t_ok "TSA: a timestamp over curl" curl -sf -o r.der -H 'Content-Type: application/timestamp-query' \
	--data-binary @q.der "$U/tsa"
t_ok "  openssl ts -verify accepts it" openssl ts -verify -data data.txt -in r.der -CAfile root.pem -untrusted sub.pem
t_grep "  the signer's policy" "^Policy OID: $POLICY\$" "$(openssl ts -reply -in r.der -text > r.txt 2>/dev/null; echo r.txt)"
t_ok "the CRL" curl -sf -o sub.crl "$U/crl/sub.crl"
t_ok "  verifies and lists b" sh -c "openssl crl -inform DER -in sub.crl -CAfile sub.pem -noout -text |
	grep -qi \"$(openssl x509 -in b.pem -noout -serial | cut -d= -f2)\""
t_ok "the CA certificate" curl -sf -o sub.crt "$U/ca/sub.crt"
t_ok "  is sub's" cmp sub.crt "$CERTPIPE_HOME/pub/ca/sub.crt"

# --- all of it on one keep-alive connection ------------------------------
openssl ocsp -issuer sub.pem -cert a.pem -no_nonce -reqout get.req 2>/dev/null
openssl ocsp -issuer sub.pem -cert b.pem -reqout live.req 2>/dev/null
cat all.log >> all.before; : > all.log
t_ok "curl: CA, CRL, OCSP GET, OCSP POST with a nonce, TSA, one connection" \
	curl -sf -o k.crt "$U/ca/sub.crt" -o k.crl "$U/crl/sub.crl" \
	-o k-get.resp "$U/ocsp/$(base64 -w0 get.req)" \
	--next -sf -H 'Content-Type: application/ocsp-request' --data-binary @live.req -o k-live.resp "$U/ocsp" \
	--next -sf -H 'Content-Type: application/timestamp-query' --data-binary @q.der -o k-ts.der "$U/tsa"
i=0; until [ "$(wc -l < all.log)" -ge 5 ] || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.05; done
t_is "  five requests logged" "$(grep -c '^serve: ' all.log)" 5
t_is "  from one peer address:port (one connection)" "$(awk '{ print $2 }' all.log | sort -u | wc -l | tr -d ' ')" 1
t_is "  all 200" "$(grep -c '" 200 ' all.log)" 5
t_ok "  the CA certificate" cmp k.crt "$CERTPIPE_HOME/pub/ca/sub.crt"
t_ok "  the CRL verifies" openssl crl -inform DER -in k.crl -CAfile sub.pem -noout
t_ok "  the GET answer is good" openssl ocsp -respin k-get.resp -reqin get.req -issuer sub.pem -cert a.pem \
	-CAfile root.pem -no_nonce
t_grep "    good" "^a.pem: good$" "$T_TMP/out"
t_ok "  the live answer verifies, with the request's nonce" openssl ocsp -respin k-live.resp -reqin live.req \
	-issuer sub.pem -CAfile root.pem -resp_text
t_grep "    revoked" "Cert Status: revoked" "$T_TMP/out"
t_nogrep "    nonce checked" "WARNING: no nonce" "$T_TMP/err"
t_ok "  the token verifies" openssl ts -verify -data data.txt -in k-ts.der -CAfile root.pem -untrusted sub.pem

# --- the live signer starts only when needed, and ends with serve ----------
t_ok "a pre-signed answer alone" ask -cert a.pem -no_nonce
i=0; until ! pgrep -f "ocsp-sign --live --home $CERTPIPE_HOME" >/dev/null || [ $i -ge 100 ]; do
	i=$((i + 1)); sleep 0.05
done
t_exit "  no ocsp-sign left behind" 1 pgrep -f "ocsp-sign --live --home $CERTPIPE_HOME"
t_nogrep "no warnings or errors in the log" "warning|error|cannot" all.log
t_done
