#!/bin/sh
# acme with dehydrated: EAB registration, http-01 for two names (files in
# a webroot a python3 http.server on 127.0.0.1 serves), dns-01 through a
# dehydrated hook that runs nsupdate against a bind9 named on 127.0.0.1,
# a wildcard plus its base name, a forced renewal, a revocation reported
# by the CRL and OCSP; refusals (no EAB, a bad EAB MAC, a name outside
# the policy, a challenge not served) issue nothing. AC_SERVER=pebble
# runs the same client steps against pebble.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tests/acme-clients.sh"
command -v dehydrated >/dev/null 2>&1 || t_bail "dehydrated not installed"
ac_dns_start
AC_HTTP_NAMES="a.example.test b.example.test n.example.test"
ac_server_start
cd "$T_TMP" || exit 1
mkdir -p www/.well-known/acme-challenge unserved
ac_web_start www

# the dns-01 hook: dehydrated calls it for every event; only the two
# challenge events are ours (HOOK_CHAIN=no: one name per call)
cat >hook.sh <<'EOF'
#!/bin/sh
case $1 in
deploy_challenge) exec "$AC_NSUPDATE" add "$2" "$4" ;;
clean_challenge) exec "$AC_NSUPDATE" del "$2" "$4" ;;
esac
exit 0
EOF
chmod +x hook.sh

dh_conf() { # dh_conf NAME [LINE...]: a config with its own BASEDIR
	cf=$1; shift
	mkdir -p "$cf"
	{
		echo "BASEDIR=$T_TMP/$cf"
		echo "CA=$AC_URL"
		echo "WELLKNOWN=$T_TMP/www/.well-known/acme-challenge"
		echo "CONTACT_EMAIL=admin@example.test"
		echo "KEY_ALGO=prime256v1"
		[ -z "$AC_TLS_CA" ] || echo "CURL_OPTS='--cacert $AC_TLS_CA'"
		for l in "$@"; do echo "$l"; done
	} >"$cf/config"
}
dh() { # dh NAME ARGS...: dehydrated with NAME's config; dh.out its output
	cf=$1; shift
	timeout 120 dehydrated -f "$T_TMP/$cf/config" "$@" >dh.out 2>&1
}
set -- $(ac_eab); KID=$1 HMAC=$2
set -- $(ac_eab); KID2=$1
issued0=$(ac_issued)

# --- refusals -----------------------------------------------------------
dh_conf d0
t_exit "no EAB: refused" 1 dh d0 --register --accept-terms
t_grep "  dehydrated says the CA requires an external account" 'requires an external account' dh.out
dh_conf d0 "EAB_KID=$KID2" "EAB_HMAC_KEY=$HMAC"
t_exit "a bad EAB MAC: refused" 1 dh d0 --register --accept-terms
t_grep "  the server said unauthorized" 'unauthorized' dh.out
t_is "  nothing issued" "$(ac_issued)" "$issued0"

# --- register, http-01 for two names ------------------------------------
dh_conf d1 "EAB_KID=$KID" "EAB_HMAC_KEY=$HMAC"
t_ok "register with EAB" dh d1 --register --accept-terms
C=d1/certs
t_ok "http-01, two names" dh d1 -c -t http-01 -d a.example.test -d b.example.test
t_grep "  dehydrated's challenges were answered" 'Challenge is valid' dh.out
ac_check_cert "http-01" $C/a.example.test/cert.pem $C/a.example.test/chain.pem a.example.test b.example.test
s1=$(ac_serial $C/a.example.test/cert.pem)
t_is "  dehydrated removed its challenge files" "$(ls www/.well-known/acme-challenge)" ""

# --- dns-01 through the hook ---------------------------------------------
t_ok "dns-01 through the nsupdate hook" dh d1 -c -t dns-01 -k "$T_TMP/hook.sh" -d d.example.test
ac_check_cert "dns-01" $C/d.example.test/cert.pem $C/d.example.test/chain.pem d.example.test
t_is "  the hook removed its TXT record" "$(ac_txt d.example.test)" ""

# --- a wildcard and its base name ----------------------------------------
t_ok "wildcard and base name" dh d1 -c -t dns-01 -k "$T_TMP/hook.sh" \
	-d '*.w.example.test' -d w.example.test --alias w
ac_check_cert "wildcard" $C/w/cert.pem $C/w/chain.pem '*.w.example.test' w.example.test

# --- a forced renewal ---------------------------------------------------
t_ok "forced renewal" dh d1 -c -x -t http-01 -d a.example.test -d b.example.test
ac_check_cert "renewal" $C/a.example.test/cert.pem $C/a.example.test/chain.pem a.example.test b.example.test
s2=$(ac_serial $C/a.example.test/cert.pem)
t_ok "  a new serial ($s1 -> $s2)" test "$s1" != "$s2"

# --- refusals with an account -------------------------------------------
n=$(ac_issued)
if [ "$AC_SERVER" = pebble ]; then
	echo "ok $((T_N += 1)) # SKIP pebble accepts any name"
else
	t_exit "a name outside the policy: refused" 1 dh d1 -c -t http-01 -d www.nosuch.test
	t_grep "  dehydrated reports rejectedIdentifier" 'rejectedIdentifier' dh.out
fi
cp d1/config d1/config.ok
echo "WELLKNOWN=$T_TMP/unserved" >>d1/config
t_exit "challenge not served: fails" 1 dh d1 -c -t http-01 -d n.example.test
t_grep "  dehydrated reports the invalid challenge" 'Challenge is invalid|invalid' dh.out
t_is "  nothing issued" "$(ac_issued)" "$n"
t_ok "  no certificate saved" test ! -e $C/n.example.test/cert.pem
mv d1/config.ok d1/config

# --- revocation ---------------------------------------------------------
cp $C/d.example.test/cert.pem d.pem && cp $C/d.example.test/chain.pem d.chain
t_ok "revoke" dh d1 -r $C/d.example.test/cert.pem
ac_check_revoked "revoked" d.pem d.chain
t_done
