#!/bin/sh
# acme with uacme: EAB registration, http-01 for two names (the hook
# writes into a webroot a python3 http.server on 127.0.0.1 serves), dns-01
# through the hook running nsupdate against a bind9 named on 127.0.0.1, a
# wildcard plus its base name, a forced renewal, a revocation signed with
# the certificate's own key, reported by the CRL and OCSP; refusals (no
# EAB, a bad EAB MAC, a name outside the policy, a challenge not served)
# issue nothing. AC_SERVER=pebble runs the same client steps against
# pebble (its https trusted by a private mount namespace, as uacme has no
# trust option).
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tests/acme-clients.sh"
command -v uacme >/dev/null 2>&1 || t_bail "uacme not installed"
ac_dns_start
AC_HTTP_NAMES="a.example.test b.example.test n.example.test"
ac_server_start
cd "$T_TMP" || exit 1
mkdir -p www/.well-known/acme-challenge unserved
ac_web_start www

# the hook: accepts the challenge type $AC_TYPE only, so uacme uses that;
# $AC_WEBROOT is where http-01 files go
AC_WEBROOT=$T_TMP/www/.well-known/acme-challenge
export AC_WEBROOT
cat >hook.sh <<'EOF'
#!/bin/sh
[ "$2" = "$AC_TYPE" ] || exit 1
case $1:$2 in
begin:http-01) printf '%s' "$5" >"$AC_WEBROOT/$4" ;;
done:http-01 | failed:http-01) rm -f "$AC_WEBROOT/$4" ;;
begin:dns-01) exec "$AC_NSUPDATE" add "$3" "$5" ;;
done:dns-01 | failed:dns-01) exec "$AC_NSUPDATE" del "$3" "$5" ;;
*) exit 1 ;;
esac
EOF
chmod +x hook.sh

ua() { # ua CONFDIR TYPE ARGS...: uacme; ua.out holds its log
	cd=$1 AC_TYPE=$2
	export AC_TYPE
	shift 2
	if [ -n "$AC_TLS_CA" ]; then
		# uacme's libcurl trusts the system bundle only: a private view
		timeout 120 unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt &&
			exec uacme "$@"' "$AC_TLS_CA" -v -o -a "$AC_URL" -c "$T_TMP/$cd" \
			-h "$T_TMP/hook.sh" "$@" >ua.out 2>&1
	else
		timeout 120 uacme -v -o -a "$AC_URL" -c "$T_TMP/$cd" -h "$T_TMP/hook.sh" \
			"$@" >ua.out 2>&1
	fi
}
# uacme takes its nonces with GET newNonce and wants 204 No Content (RFC
# 8555 7.2: HEAD 200, GET 204); on anything else it stops at once.
nn=$(curl -s ${AC_TLS_CA:+--cacert "$AC_TLS_CA"} "$AC_URL" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["newNonce"])')
st=$(curl -s -o /dev/null -w '%{http_code}' ${AC_TLS_CA:+--cacert "$AC_TLS_CA"} "$nn")
t_is "GET newNonce: 204" "$st" 204
set -- $(ac_eab); KID=$1 HMAC=$2
set -- $(ac_eab); KID2=$1
issued0=$(ac_issued)

# --- refusals -----------------------------------------------------------
t_exit "no EAB: refused" 2 ua u0 - -y new admin@example.test
t_grep "  the server required an external account" 'externalAccountRequired|external (account|credentials)' ua.out
t_exit "a bad EAB MAC: refused" 2 ua u0 - -y -e "$KID2:$HMAC" new admin@example.test
t_grep "  the server said unauthorized" 'unauthorized' ua.out
t_is "  nothing issued" "$(ac_issued)" "$issued0"

# --- register, http-01 for two names ------------------------------------
t_ok "register with EAB" ua u1 - -y -e "$KID:$HMAC" new admin@example.test
t_ok "http-01, two names" ua u1 http-01 -t EC issue a.example.test b.example.test
# cert.pem holds the certificate, then the chain
sp() { # sp FILE: FILE.leaf and FILE.chain
	awk -v l="$1.leaf" -v c="$1.chain" '/BEGIN CERT/ { n++ } { print > (n == 1 ? l : c) }' "$1"
}
sp u1/a.example.test/cert.pem
ac_check_cert "http-01" u1/a.example.test/cert.pem.leaf u1/a.example.test/cert.pem.chain a.example.test b.example.test
s1=$(ac_serial u1/a.example.test/cert.pem.leaf)
t_is "  the hook removed its challenge files" "$(ls www/.well-known/acme-challenge)" ""

# --- dns-01 through the hook ---------------------------------------------
t_ok "dns-01 through the nsupdate hook" ua u1 dns-01 -t EC issue d.example.test
sp u1/d.example.test/cert.pem
ac_check_cert "dns-01" u1/d.example.test/cert.pem.leaf u1/d.example.test/cert.pem.chain d.example.test
t_is "  the hook removed its TXT record" "$(ac_txt d.example.test)" ""

# --- a wildcard and its base name ----------------------------------------
t_ok "wildcard and base name" ua u1 dns-01 -t EC issue '*.w.example.test' w.example.test
sp u1/w.example.test/cert.pem
ac_check_cert "wildcard" u1/w.example.test/cert.pem.leaf u1/w.example.test/cert.pem.chain '*.w.example.test' w.example.test

# --- a forced renewal ---------------------------------------------------
t_exit "no renewal while the certificate is current" 1 ua u1 http-01 issue a.example.test b.example.test
t_ok "forced renewal" ua u1 http-01 -f issue a.example.test b.example.test
sp u1/a.example.test/cert.pem
ac_check_cert "renewal" u1/a.example.test/cert.pem.leaf u1/a.example.test/cert.pem.chain a.example.test b.example.test
s2=$(ac_serial u1/a.example.test/cert.pem.leaf)
t_ok "  a new serial ($s1 -> $s2)" test "$s1" != "$s2"

# --- refusals with an account -------------------------------------------
n=$(ac_issued)
if [ "$AC_SERVER" = pebble ]; then
	echo "ok $((T_N += 1)) # SKIP pebble accepts any name"
else
	t_exit "a name outside the policy: refused" 2 ua u1 http-01 issue www.nosuch.test
	t_grep "  uacme reports rejectedIdentifier" 'rejectedIdentifier' ua.out
fi
AC_WEBROOT=$T_TMP/unserved
t_exit "challenge not served: fails" 2 ua u1 http-01 issue n.example.test
t_grep "  uacme reports the invalid challenge" 'invalid' ua.out
t_is "  nothing issued" "$(ac_issued)" "$n"
t_ok "  no certificate saved" test ! -e u1/n.example.test/cert.pem
AC_WEBROOT=$T_TMP/www/.well-known/acme-challenge

# --- revocation, signed with the certificate's key ----------------------
cp u1/d.example.test/cert.pem.leaf d.pem && cp u1/d.example.test/cert.pem.chain d.chain
t_ok "revoke with the certificate's key" ua u9 - -r 1 revoke u1/d.example.test/cert.pem u1/private/d.example.test/key.pem
ac_check_revoked "revoked" d.pem d.chain
t_done
