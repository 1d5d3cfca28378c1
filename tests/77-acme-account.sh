#!/bin/sh
# acme: directory, nonces and accounts with required EAB, under tcpserver
# on 127.0.0.1: certbot registers; raw JWS requests signed with
# python3-jwcrypto (tests/acme-jws.py) get the right problem documents;
# results are checked in the database with sqlite3.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; t_cleanup' EXIT
J=$T_TOP/tests/acme-jws.py
DB=$CERTPIPE_HOME/certpipe.db
q() { sqlite3 "$DB" "$1"; }

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_up() {
	i=0
	until /usr/bin/python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 200 ] || t_bail "nothing listens on port $1"
		sleep 0.05
	done
}

# --- policies and EAB keys ----------------------------------------------
certpipe ca create root --cn "ACME Root" >/dev/null 2>&1 || t_bail "ca create"
t_exit "policy create: unknown template" 66 certpipe acme policy create p1 --template nosuch
t_oneline "unknown template"
t_exit "policy create: --template is required" 64 certpipe acme policy create p1
t_ok "policy create" certpipe acme policy create p1 --template root-web-server \
	--domain '*.example.test' --domain Web.Example.ORG
t_exit "policy create: twice" 65 certpipe acme policy create p1 --template root-web-server
t_is "pre-approved domains stored normalized" \
	"$(q "SELECT group_concat(domain, ' ') FROM (SELECT domain FROM acme_policy_domains ORDER BY domain)")" \
	"*.example.test web.example.org"
t_ok "policy show --json" certpipe acme policy show p1 --json
t_grep "policy show names the template" '"template":"root-web-server"' "$T_TMP/out"
t_exit "eab create: expiry in the past" 64 certpipe acme eab create p1 --uses 1 --expires 2001-01-01
t_exit "eab create: zero uses" 64 certpipe acme eab create p1 --uses 0 --expires 2099-01-01
t_exit "eab create: unknown policy" 66 certpipe acme eab create nosuch --uses 1 --expires 2099-01-01
eab() { # eab USES EXPIRES -> "KID KEY"
	certpipe acme eab create p1 --uses "$1" --expires "$2" >eab.out || t_bail "eab create"
	echo "$(sed -n 's/^kid: //p' eab.out) $(sed -n 's/^hmac-key: //p' eab.out)"
}
set -- $(eab 2 2099-01-01); K1=$1 H1=$2
set -- $(eab 1 2099-01-01); K2=$1 H2=$2
t_ok "eab list" certpipe acme eab list
t_nogrep "eab list never shows an HMAC key" "$H1|$H2" "$T_TMP/out"
t_is "EAB keys stored: 2" "$(q "SELECT count(*) FROM acme_eab")" 2
t_is "audit events for policy and EAB keys" \
	"$(q "SELECT count(*) FROM audit WHERE event IN ('acme.policy.created', 'acme.eab.created')")" 3
t_nogrep "audit never holds an HMAC key" "$H1" "$(q "SELECT group_concat(detail, ' ') FROM audit" >audit.txt; echo audit.txt)"

# --- the server ---------------------------------------------------------
P=$(free_port)
U=http://127.0.0.1:$P
tcpserver -q -R -H 127.0.0.1 "$P" acme --base-url "$U" --timeout 5 2>acme.log &
PIDS="$PIDS $!"
wait_up "$P"

t_ok "directory" curl -sf "$U/directory"
cp "$T_TMP/out" dir.json
t_is "directory lists every resource and EAB required" \
	"$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["newNonce"], d["newAccount"], d["newOrder"], d["keyChange"], d["revokeCert"], d["renewalInfo"], d["meta"]["externalAccountRequired"])' dir.json)" \
	"$U/acme/new-nonce $U/acme/new-account $U/acme/new-order $U/acme/key-change $U/acme/revoke-cert $U/acme/renewal-info True"
curl -sI "$U/acme/new-nonce" | tr -d '\r' >head.out
t_grep "newNonce HEAD: 200" '^HTTP/1.1 200' head.out
t_grep "newNonce: Cache-Control no-store" '^Cache-Control: no-store' head.out
t_grep "newNonce: Replay-Nonce" '^Replay-Nonce: [A-Za-z0-9_-]{22}$' head.out
curl -s -D get.out -o get.body "$U/acme/new-nonce"
t_grep "newNonce GET: 204 (RFC 8555 7.2)" '^HTTP/1.1 204' get.out
t_grep "newNonce GET: Cache-Control no-store" '^Cache-Control: no-store' get.out
t_grep "newNonce GET: Replay-Nonce" '^Replay-Nonce: [A-Za-z0-9_-]{22}' get.out
t_ok "newNonce GET: no body" test ! -s get.body
curl -s -D h.out -o b.out "$U/acme/revoke-cert"
t_grep "revokeCert by GET: 405" '^HTTP/1.1 405' h.out
t_grep "revokeCert by GET: a problem document" 'urn:ietf:params:acme:error:malformed' b.out
t_grep "every response has a Replay-Nonce (an error too)" '^Replay-Nonce: ' h.out

# --- certbot ------------------------------------------------------------
cb() { # cb DIR ARGS...: certbot register against the server
	d=$1; shift
	timeout 120 certbot register --server "$U/directory" --config-dir "$d/c" \
		--work-dir "$d/w" --logs-dir "$d/l" --non-interactive --agree-tos \
		-m admin@example.test "$@"
}
t_exit "certbot without EAB fails" 1 cb cb0
t_grep "certbot was told an EAB is required" 'external account binding' "$T_TMP/err"
t_grep "server answered externalAccountRequired" 'externalAccountRequired' cb0/l/letsencrypt.log
t_ok "certbot register with EAB" cb cb1 --eab-kid "$K1" --eab-hmac-key="$H1"
t_ok "account list" certpipe acme account list
t_grep "certbot's account is listed with its contact and EAB" "valid +p1 +$K1 +\\[\"mailto:admin@example.test\"\\]" "$T_TMP/out"
t_is "EAB use counted" "$(q "SELECT uses FROM acme_eab WHERE kid = '$K1'")" 1
t_is "account.created audited" "$(q "SELECT count(*) FROM audit WHERE event = 'acme.account.created'")" 1

# --- raw JWS requests ---------------------------------------------------
NA=$U/acme/new-account
post() { "$J" post "$U" "$@" 2>body.out; }
for k in a b c d e; do "$J" key $k.json || t_bail "key"; done
"$J" key r.json rsa2048 && "$J" key weak.json rsa1024 && "$J" key ed.json ed25519 || t_bail "key"
REG='{"termsOfServiceAgreed":true,"contact":["mailto:ops@example.test"]}'

t_is "bad EAB MAC: unauthorized" "$(post a.json "$NA" "$REG" --eab "$K1:$H2")" "403 unauthorized -"
t_grep "bad EAB MAC: detail says so" 'MAC does not verify' body.out
t_is "unknown EAB kid: unauthorized" "$(post a.json "$NA" "$REG" --eab "eab-nosuch:$H1")" "403 unauthorized -"
t_is "EAB url not newAccount: unauthorized" "$(post a.json "$NA" "$REG" --eab "$K1:$H1" --eab-url "$U/x")" "403 unauthorized -"
t_is "EAB with a nonce: malformed" "$(post a.json "$NA" "$REG" --eab "$K1:$H1" --eab-nonce)" "400 malformed -"
t_is "EAB HS384 works too: created" "$(post a.json "$NA" "$REG" --eab "$K1:$H1" --eab-alg HS384 | cut -d' ' -f1,2)" "201 -"
t_is "EAB used up (2 of 2): unauthorized" "$(post b.json "$NA" "$REG" --eab "$K1:$H1")" "403 unauthorized -"
t_grep "used up: detail says so" 'used up' body.out
q "UPDATE acme_eab SET expires_at = '2001-01-01T00:00:00Z' WHERE kid = '$K2'"
t_is "expired EAB: unauthorized" "$(post b.json "$NA" "$REG" --eab "$K2:$H2")" "403 unauthorized -"
t_grep "expired: detail says so" 'expired' body.out
q "UPDATE acme_eab SET expires_at = '2099-01-01T00:00:00Z' WHERE kid = '$K2'"
t_is "no EAB: externalAccountRequired" "$(post b.json "$NA" "$REG")" "400 externalAccountRequired -"
t_is "refused registrations changed nothing" "$(q "SELECT count(*) || ' ' || (SELECT uses FROM acme_eab WHERE kid = '$K2') FROM acme_accounts")" "2 0"

t_is "onlyReturnExisting, unknown key: accountDoesNotExist" \
	"$(post b.json "$NA" '{"onlyReturnExisting":true}')" "400 accountDoesNotExist -"
set -- $(post a.json "$NA" '{"onlyReturnExisting":true}')
t_is "onlyReturnExisting, known key: 200 with Location" "$1 $2" "200 -"
ACCT=$3
t_is "Location is an account URL" "${ACCT%/*}" "$U/acme/acct"

"$J" nonce "$U" >n1
t_is "a fresh nonce works" "$(post b.json "$NA" '{"onlyReturnExisting":true}' --nonce "$(cat n1)" | cut -d' ' -f2)" "accountDoesNotExist"
t_is "the same nonce again: badNonce" "$(post b.json "$NA" '{"onlyReturnExisting":true}' --nonce "$(cat n1)")" "400 badNonce -"
t_is "a made-up nonce: badNonce" "$(post b.json "$NA" '{"onlyReturnExisting":true}' --nonce AAAAAAAAAAAAAAAAAAAAAA)" "400 badNonce -"
t_is "wrong url header: unauthorized" "$(post b.json "$NA" '{}' --url "$U/acme/key-change")" "403 unauthorized -"
t_is "alg none: badSignatureAlgorithm" "$(post b.json "$NA" '{}' --alg none)" "400 badSignatureAlgorithm -"
t_grep "badSignatureAlgorithm lists the algorithms" '"algorithms":\["RS256","ES256","ES384","ES512","EdDSA"\]' body.out
t_is "outer HS256: badSignatureAlgorithm" "$(post b.json "$NA" '{}' --alg HS256)" "400 badSignatureAlgorithm -"
t_is "ES384 claimed for a P-256 key: badSignatureAlgorithm" "$(post b.json "$NA" '{}' --alg ES384)" "400 badSignatureAlgorithm -"
t_is "both jwk and kid: malformed" "$(post b.json "$NA" '{}' --both "$ACCT")" "400 malformed -"
t_is "kid on newAccount: malformed" "$(post a.json "$NA" '{}' --kid "$ACCT")" "400 malformed -"
t_is "wrong Content-Type: 415 malformed" "$(post b.json "$NA" '{}' --ctype application/json)" "415 malformed -"
t_is "RSA 1024 key: badPublicKey" "$(post weak.json "$NA" '{}')" "400 badPublicKey -"
t_is "bad contact scheme: unsupportedContact" \
	"$(post c.json "$NA" '{"contact":["tel:+1555"]}' --eab "$K2:$H2")" "400 unsupportedContact -"
t_is "a refused JWS did not use up its nonce's EAB" "$(q "SELECT uses FROM acme_eab WHERE kid = '$K2'")" 0
t_is "RSA account with EAB: created" "$(post r.json "$NA" "$REG" --eab "$K2:$H2" | cut -d' ' -f1)" 201
t_is "raw newAccount for an Ed25519 key, EAB used up: unauthorized" \
	"$(post ed.json "$NA" "$REG" --eab "$K2:$H2" | cut -d' ' -f2)" "unauthorized"

# --- account: read, update, keyChange, deactivate ----------------------
t_is "POST-as-GET the account" "$(post a.json "$ACCT" '' --kid "$ACCT")" "200 - $ACCT"
t_grep "the account object" '"status":"valid".*"orders":' body.out
t_is "GET the account: 405" "$(curl -s -o /dev/null -w '%{http_code}' "$ACCT")" 405
t_is "another key's kid: unauthorized" "$(post b.json "$ACCT" '' --kid "$ACCT")" "403 unauthorized -"
t_is "update contact" "$(post a.json "$ACCT" '{"contact":["mailto:new@example.test"]}' --kid "$ACCT" | cut -d' ' -f1)" 200
t_is "contact stored" "$(q "SELECT contact FROM acme_accounts WHERE name = '${ACCT##*/}'")" '["mailto:new@example.test"]'
t_is "status valid is not the client's to set: malformed" \
	"$(post a.json "$ACCT" '{"status":"revoked"}' --kid "$ACCT")" "400 malformed -"

set -- $(post r.json "$NA" '{"onlyReturnExisting":true}'); RACCT=$3
t_is "keyChange to a key in use: 409 with its Location" "$("$J" keychange "$U" a.json "$ACCT" r.json 2>body.out)" "409 malformed $RACCT"
t_is "keyChange with a wrong inner url: unauthorized" \
	"$("$J" keychange "$U" a.json "$ACCT" d.json --inner-url "$NA" 2>body.out)" "403 unauthorized -"
t_is "keyChange to a new key" "$("$J" keychange "$U" a.json "$ACCT" d.json 2>body.out)" "200 - $ACCT"
t_is "the old key is refused" "$(post a.json "$ACCT" '' --kid "$ACCT")" "403 unauthorized -"
t_is "the new key works" "$(post d.json "$ACCT" '' --kid "$ACCT")" "200 - $ACCT"
t_is "the new key finds the account" "$(post d.json "$NA" '{"onlyReturnExisting":true}')" "200 - $ACCT"
t_is "the old key has no account" "$(post a.json "$NA" '{"onlyReturnExisting":true}' | cut -d' ' -f2)" "accountDoesNotExist"
# acme keeps the last account key of a connection: a keyChange on that
# connection must retire it all the same
"$J" key f.json ec256
t_is "one connection: read, keyChange, the old key refused, the new one works" \
	"$("$J" keepalive "$U" d.json "$ACCT" f.json)" "200 200 403 200"
t_is "the key of the account is the new one" "$(post f.json "$ACCT" '' --kid "$ACCT")" "200 - $ACCT"
cp f.json d.json

t_is "deactivate" "$(post d.json "$ACCT" '{"status":"deactivated"}' --kid "$ACCT" | cut -d' ' -f1)" 200
t_grep "deactivated in the answer" '"status":"deactivated"' body.out
t_is "a deactivated account is refused" "$(post d.json "$ACCT" '' --kid "$ACCT")" "403 unauthorized -"
t_is "a deactivated account cannot keyChange" "$("$J" keychange "$U" d.json "$ACCT" e.json 2>body.out)" "403 unauthorized -"
t_is "account events audited" \
	"$(q "SELECT group_concat(event, ' ') FROM (SELECT event FROM audit WHERE event LIKE 'acme.account.%' ORDER BY seq)")" \
	"acme.account.created acme.account.created acme.account.created acme.account.updated acme.account.key-changed acme.account.key-changed acme.account.deactivated"
t_ok "audit chain intact" certpipe audit verify

# --- the CLI side of accounts --------------------------------------------
R=${RACCT##*/}
t_ok "account show" certpipe acme account show "$R"
t_grep "account show: status and policy" '^status: +valid' "$T_TMP/out"
t_nogrep "account show never prints an HMAC key" "$H1|$H2" "$T_TMP/out"
t_ok "account deactivate" certpipe acme account deactivate "$R"
t_is "deactivated by the administrator: refused" "$(post r.json "$RACCT" '' --kid "$RACCT")" "403 unauthorized -"
t_exit "deactivate twice: no such valid account" 66 certpipe acme account deactivate "$R"
t_oneline "deactivate twice"
t_exit "policy delete while accounts are bound" 65 certpipe acme policy delete p1
t_ok "other realms see no accounts" sh -c 'certpipe realm create other >/dev/null && certpipe --realm other acme account list --json'
t_is "other realm: empty list" "$(cat "$T_TMP/out")" "[]"
t_ok "unused policy deletes" sh -c 'certpipe acme policy create p2 --template root-web-server && certpipe acme policy delete p2'
t_nogrep "no request body or key in the access log" 'hmac|signature|protected' acme.log

# --- TLS on the connection (an encrypted key, its passphrase from a file) --
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tca.key \
	-subj /CN=TLS-CA -days 30 -out tca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout web.key \
	-subj /CN=localhost -out web.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >web.ext
openssl x509 -req -in web.csr -CA tca.pem -CAkey tca.key -CAcreateserial -days 30 \
	-extfile web.ext -out web.pem 2>/dev/null || t_bail "tls cert"
cat web.pem tca.pem >tls-chain.pem
echo "tls secret" >web.pass
openssl pkey -in web.key -aes256 -passout file:web.pass -out web.enc.key && chmod 600 web.enc.key
t_exit "--tls-cert without --tls-key: usage" 64 acme --tls-cert tls-chain.pem </dev/null
t_oneline "--tls-cert alone"
T=$(free_port)
TU=https://localhost:$T
tcpserver -q -R -H 127.0.0.1 "$T" acme --base-url "$TU" --timeout 5 --tls-cert tls-chain.pem \
	--tls-key web.enc.key --passphrase-file web.pass 2>acme-tls.log &
PIDS="$PIDS $!"
wait_up "$T"
t_ok "TLS: curl verifies the server and gets the directory" \
	curl -sSf --cacert tca.pem --resolve "localhost:$T:127.0.0.1" "$TU/directory"
t_grep "TLS: the directory's URLs are https" "\"newAccount\":\"$TU/acme/new-account\"" "$T_TMP/out"
set -- $(eab 1 2099-01-01); K3=$1 H3=$2
t_ok "TLS: certbot registers with EAB over https (its own trust option)" \
	env REQUESTS_CA_BUNDLE="$T_TMP/tca.pem" timeout 120 certbot register \
	--server "https://127.0.0.1:$T/directory" --config-dir cbt/c --work-dir cbt/w \
	--logs-dir cbt/l --non-interactive --agree-tos -m tls@example.test \
	--eab-kid "$K3" --eab-hmac-key="$H3"
t_is "TLS: the EAB key was used" "$(q "SELECT uses FROM acme_eab WHERE kid = '$K3'")" 1

# An HMAC key is random base64url: one in 64 starts with '-', which a
# client reads as an option unless given as --opt=KEY (certbot failed
# so, now and then, before the tests passed it that way). Such a key
# still works.
i=0
while :; do
	set -- $(eab 1 2099-01-01); K4=$1 H4=$2
	case $H4 in -*) break ;; esac
	i=$((i + 1))
	[ "$i" -lt 1000 ] || t_bail "no HMAC key starting with '-' in 1000"
done
t_ok "certbot registers with an HMAC key that starts with '-'" \
	cb cb4 --eab-kid "$K4" --eab-hmac-key="$H4"
t_is "and that EAB key was used" "$(q "SELECT uses FROM acme_eab WHERE kid = '$K4'")" 1

t_done
