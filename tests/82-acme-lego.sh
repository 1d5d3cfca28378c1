#!/bin/sh
# acme with lego: EAB registration, http-01 for two names (lego's own
# standalone server), dns-01 through lego's rfc2136 provider against a
# bind9 named on 127.0.0.1, a wildcard plus its base name, a forced
# renewal, a revocation reported by the CRL and OCSP; refusals (no EAB, a
# bad EAB MAC, a name outside the policy, a challenge not served) issue
# nothing. AC_SERVER=pebble runs the same client steps against pebble.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tests/acme-clients.sh"
command -v lego >/dev/null 2>&1 || t_bail "lego not installed"
ac_dns_start
AC_HTTP_NAMES="a.example.test b.example.test n.example.test"
ac_server_start
cd "$T_TMP" || exit 1
LEGO_CA_CERTIFICATES=$AC_TLS_CA
RFC2136_NAMESERVER=127.0.0.1:$AC_DNS_PORT
RFC2136_TSIG_ALGORITHM=hmac-sha256.
RFC2136_TSIG_KEY=$AC_TSIG_NAME
RFC2136_TSIG_SECRET=$AC_TSIG_SECRET
RFC2136_PROPAGATION_TIMEOUT=30
RFC2136_POLLING_INTERVAL=1
export LEGO_CA_CERTIFICATES RFC2136_NAMESERVER RFC2136_TSIG_ALGORITHM \
	RFC2136_TSIG_KEY RFC2136_TSIG_SECRET RFC2136_PROPAGATION_TIMEOUT \
	RFC2136_POLLING_INTERVAL
HTTP="--http --http.port 127.0.0.1:$AC_HTTP_PORT"
DNS="--dns rfc2136 --dns.resolvers 127.0.0.1:$AC_DNS_PORT --dns.disable-cp"
lg() { # lg DIR ARGS...: lego with its state in DIR; lego.out holds its log
	d=$1; shift
	timeout 120 lego --server "$AC_URL" --path "$T_TMP/$d" --accept-tos \
		--email admin@example.test --http-timeout 30 --cert.timeout 60 "$@" >lego.out 2>&1
}
set -- $(ac_eab); KID=$1 HMAC=$2
EAB="--eab --kid=$KID --hmac=$HMAC"
C=l1/certificates
issued0=$(ac_issued)

# --- refusals before an account exists ----------------------------------
t_exit "no EAB: lego refuses" 1 lg l0 -d a.example.test $HTTP run
t_grep "  lego says the server requires EAB" 'External Account Binding' lego.out
set -- $(ac_eab); KID2=$1
t_exit "a bad EAB MAC: refused" 1 lg l0 --eab --kid="$KID2" --hmac="$HMAC" -d a.example.test $HTTP run
t_grep "  the server said unauthorized" 'unauthorized|malformed' lego.out
t_is "  nothing issued" "$(ac_issued)" "$issued0"

# --- http-01, two names --------------------------------------------------
t_ok "http-01, two names" lg l1 $EAB -d a.example.test -d b.example.test $HTTP run
t_grep "  lego served the key authorization" 'Served key authentication' lego.out
ac_check_cert "http-01" $C/a.example.test.crt $C/a.example.test.issuer.crt a.example.test b.example.test
s1=$(ac_serial $C/a.example.test.crt)

# --- dns-01 through rfc2136 ----------------------------------------------
t_ok "dns-01 through the rfc2136 provider" lg l1 $EAB -d d.example.test $DNS run
t_grep "  lego solved dns-01" 'DNS-01' lego.out
ac_check_cert "dns-01" $C/d.example.test.crt $C/d.example.test.issuer.crt d.example.test
t_is "  lego removed its TXT record" "$(ac_txt d.example.test)" ""

# --- a wildcard and its base name (dns-01, two TXT values) ---------------
t_ok "wildcard and base name" lg l1 $EAB -d '*.w.example.test' -d w.example.test $DNS run
ac_check_cert "wildcard" $C/_.w.example.test.crt $C/_.w.example.test.issuer.crt '*.w.example.test' w.example.test

# --- a forced renewal ---------------------------------------------------
t_ok "forced renewal" lg l1 $EAB -d a.example.test -d b.example.test $HTTP renew --days 100000 --no-random-sleep
ac_check_cert "renewal" $C/a.example.test.crt $C/a.example.test.issuer.crt a.example.test b.example.test
s2=$(ac_serial $C/a.example.test.crt)
t_ok "  a new serial ($s1 -> $s2)" test "$s1" != "$s2"

# --- refusals with an account -------------------------------------------
n=$(ac_issued)
if [ "$AC_SERVER" = pebble ]; then
	echo "ok $((T_N += 1)) # SKIP pebble accepts any name"
else
	t_exit "a name outside the policy: refused" 1 lg l1 $EAB -d www.nosuch.test $HTTP run
	t_grep "  lego reports rejectedIdentifier" 'rejectedIdentifier' lego.out
fi
# a webroot nobody serves: the test's web server serves another directory
mkdir -p served unserved
ac_web_start served
t_exit "challenge not served: fails" 1 lg l1 $EAB -d n.example.test --http --http.webroot unserved run
t_grep "  lego reports the failed validation" 'urn:ietf:params:acme:error:' lego.out
t_is "  nothing issued" "$(ac_issued)" "$n"
t_ok "  no certificate saved" test ! -e $C/n.example.test.crt

# --- revocation ---------------------------------------------------------
cp $C/d.example.test.crt d.pem && cp $C/d.example.test.issuer.crt d.chain
t_ok "revoke" lg l1 $EAB -d d.example.test revoke --reason 1
ac_check_revoked "revoked" d.pem d.chain
t_done
