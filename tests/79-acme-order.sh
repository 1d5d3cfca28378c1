#!/bin/sh
# acme: orders, authorizations, challenges, finalize and certificates.
# Raw JWS flows (tests/acme-jws.py, python3-jwcrypto) against the acme
# front end under tcpserver, the scheduler running dcv | dcv-apply and
# the issuing pipeline as a daemon, a python http server for http-01 and
# bind9 named (updated with nsupdate) for dns-01; then certbot end to
# end. Certificates are checked with openssl; state with sqlite3.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acme-setup.sh"
command -v certbot >/dev/null 2>&1 || t_bail "certbot not installed"
acme_instance
cd "$T_TMP" || exit 1
J=$T_TOP/tests/acme-jws.py

acme_policy pa root-web-server --domain '*.pre.example.test'
acme_policy pb broot-web-server --realm beta
set -- $(acme_eab pa); KA=$1 HA=$2
set -- $(acme_eab pb 10 beta); KB=$1 HB=$2
sqlite3 "$DB" "SELECT cert_pem FROM cas WHERE name = 'root'" | openssl x509 -out root.pem ||
	t_bail "root certificate"

# http-01: a static server on a free port; dcv reaches every name there
mkdir -p www/.well-known/acme-challenge
HP=$(free_port)
(cd www && exec /usr/bin/python3 -m http.server -b 127.0.0.1 "$HP") >http.log 2>&1 &
HTTP_PID=$!
ACME_PIDS="$ACME_PIDS $HTTP_PID"
wait_up "$HP"
CERTPIPE_DCV_HTTP_PORT=$HP
CERTPIPE_DCV_RESOLVE="a.example.test:127.0.0.1 c.example.test:127.0.0.1 e.example.test:127.0.0.2 www.beta.test:127.0.0.1 h1.example.test:127.0.0.1 h2.example.test:127.0.0.1"
export CERTPIPE_DCV_HTTP_PORT CERTPIPE_DCV_RESOLVE
acme_dns_start
acme_server_start
acme_sched_start --max-attempts 2
U=$ACME_URL

post() { "$J" post "$U" "$@" 2>body.out; }
get() { "$J" get body.out "$1"; }
pag() { post "$1" "$2" '' --kid "$3"; }	# POST-as-GET: KEY URL KID
"$J" key a.json && "$J" key b.json && "$J" key c.json || t_bail "key"
REG='{"termsOfServiceAgreed":true}'
set -- $(post a.json "$U/acme/new-account" "$REG" --eab "$KA:$HA")
[ "$1" = 201 ] || t_bail "account A: $(cat body.out)"
A=$3
set -- $(post b.json "$U/acme/new-account" "$REG" --eab "$KB:$HB")
[ "$1" = 201 ] || t_bail "account B: $(cat body.out)"
B=$3
NO=$U/acme/new-order
ids() { # ids NAME... -> newOrder payload
	printf '{"identifiers":['
	sep=
	for n in "$@"; do printf '%s{"type":"dns","value":"%s"}' "$sep" "$n"; sep=,; done
	printf ']}'
}
neworder() { post a.json "$NO" "$(ids "$@")" --kid "$A"; }

t_ok "directory lists newOrder" curl -sf "$U/directory"
t_grep "newOrder URL" "\"newOrder\":\"$U/acme/new-order\"" "$T_TMP/out"

# --- identifiers the account may not have --------------------------------
t_is "unknown domain: rejectedIdentifier" "$(neworder a.example.test nosuch.invalid)" "403 rejectedIdentifier -"
t_grep "a subproblem names the identifier" '"subproblems":\[\{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"nosuch.invalid is not a registered domain[^"]*","identifier":\{"type":"dns","value":"nosuch.invalid"\}\}\]' body.out
t_is "policy B's realm name from an account of policy A: rejectedIdentifier" \
	"$(neworder www.beta.test)" "403 rejectedIdentifier -"
t_is "policy A's name from an account of policy B: rejectedIdentifier" \
	"$(post b.json "$NO" "$(ids a.example.test)" --kid "$B")" "403 rejectedIdentifier -"
t_is "'*' inside a label: rejectedIdentifier" "$(neworder 'a*.example.test')" "400 rejectedIdentifier -"
t_is "'*.*.': rejectedIdentifier" "$(neworder '*.*.example.test')" "400 rejectedIdentifier -"
t_is "an ip identifier: unsupportedIdentifier" \
	"$(post a.json "$NO" '{"identifiers":[{"type":"ip","value":"127.0.0.1"}]}' --kid "$A")" "400 unsupportedIdentifier -"
t_is "no identifiers: malformed" "$(post a.json "$NO" '{"identifiers":[]}' --kid "$A")" "400 malformed -"
t_is "notAfter in the past: malformed" \
	"$(post a.json "$NO" '{"identifiers":[{"type":"dns","value":"a.example.test"}],"notAfter":"2001-01-01T00:00:00Z"}' --kid "$A")" "400 malformed -"
t_is "newOrder with a jwk, not a kid: malformed" "$(post a.json "$NO" "$(ids a.example.test)")" "400 malformed -"
"$J" nonce "$U" >n1
t_is "newOrder with a fresh nonce" "$(post a.json "$NO" "$(ids a.example.test)" --kid "$A" --nonce "$(cat n1)" | cut -d' ' -f1)" 201
t_is "the same nonce again: badNonce" "$(post a.json "$NO" "$(ids a.example.test)" --kid "$A" --nonce "$(cat n1)")" "400 badNonce -"
t_is "newOrder, url header of another resource: unauthorized" \
	"$(post a.json "$NO" "$(ids a.example.test)" --kid "$A" --url "$U/acme/new-account")" "403 unauthorized -"
t_is "newOrder, alg HS256: badSignatureAlgorithm" \
	"$(post a.json "$NO" "$(ids a.example.test)" --kid "$A" --alg HS256)" "400 badSignatureAlgorithm -"
t_is "newOrder, another key's signature: unauthorized" \
	"$(post c.json "$NO" "$(ids a.example.test)" --kid "$A")" "403 unauthorized -"
t_is "nothing refused was stored" "$(q "SELECT count(*) FROM acme_orders")" 1

# --- http-01 and dns-01 through the scheduler ----------------------------
set -- $(neworder b.example.test a.example.test A.Example.TEST)
t_is "newOrder: 201 with the order's Location" "$1 ${3%/*}" "201 $U/acme/order"
O1=$3
cp body.out o1.json
t_is "pending, identifiers sorted, lower-cased, duplicates dropped" \
	"$("$J" get o1.json status) $("$J" get o1.json identifiers | tr '\n' ' ')" \
	'pending {"type": "dns", "value": "a.example.test"} {"type": "dns", "value": "b.example.test"} '
t_is "two authorizations" "$("$J" get o1.json authorizations | wc -l)" 2
F1=$("$J" get o1.json finalize)
t_is "finalize before ready: orderNotReady" "$(post a.json "$F1" '{"csr":"AA"}' --kid "$A")" "403 orderNotReady -"

authz_for() { # authz_for ORDERFILE NAME -> authz URL
	for z in $("$J" get "$1" authorizations); do
		pag a.json "$z" "$A" >/dev/null
		[ "$(get identifier.value)" = "$2" ] && { echo "$z"; return; }
	done
}
chall_of() { # chall_of AUTHZ TYPE -> "URL TOKEN" (body.out: the authz)
	pag a.json "$1" "$A" >/dev/null
	/usr/bin/python3 -c 'import json,sys; a=json.load(open("body.out")); c=[c for c in a["challenges"] if c["type"]==sys.argv[1]]; print(c[0]["url"], c[0]["token"]) if c else None' "$2"
}
authz_status() { pag a.json "$1" "$A" >/dev/null; get status; }
ZA=$(authz_for o1.json a.example.test)
ZB=$(authz_for o1.json b.example.test)
t_ok "authz: POST-as-GET" pag a.json "$ZA" "$A"
t_grep "authz a: pending, http-01 and dns-01" '"status":"pending".*"type":"http-01".*"type":"dns-01"' body.out
t_is "GET an authz: 405" "$(curl -s -o /dev/null -w '%{http_code}' "$ZA")" 405
t_is "another account's authz: not found" "$(pag b.json "$ZA" "$B")" "404 malformed -"
set -- $(chall_of "$ZA" http-01); CA=$1 TA=$2
"$J" keyauth a.json "$TA" >"www/.well-known/acme-challenge/$TA"
t_is "respond to http-01: 200" "$(post a.json "$CA" '{}' --kid "$A" | cut -d' ' -f1)" 200
t_ok "authz a becomes valid" acme_wait sh -c "[ \"\$(sqlite3 '$DB' \"SELECT status FROM acme_authz WHERE name = '${ZA##*/}'\")\" = valid ]"
t_is "its challenge: valid, with validated" "$(pag a.json "$CA" "$A" >/dev/null; get status) $(get validated | cut -c1-2)" "valid 20"
set -- $(chall_of "$ZB" dns-01); CB=$1 TB=$2
acme_dns_txt _acme-challenge.b.example.test "$("$J" dns01 a.json "$TB")" || t_bail "nsupdate"
t_is "respond to dns-01: 200" "$(post a.json "$CB" '{}' --kid "$A" | cut -d' ' -f1)" 200
t_ok "authz b becomes valid" acme_wait sh -c "[ \"\$(sqlite3 '$DB' \"SELECT status FROM acme_authz WHERE name = '${ZB##*/}'\")\" = valid ]"
acme_dns_del _acme-challenge.b.example.test
t_is "the order is ready" "$(pag a.json "$O1" "$A" >/dev/null; get status)" ready

# --- finalize --------------------------------------------------------------
csr() { # csr NAME... -> base64url DER CSR (key in k.pem)
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout k.pem -subj "/CN=$1" -outform DER -out csr.der \
		-addext "subjectAltName=$(printf 'DNS:%s,' "$@" | sed 's/,$//')" 2>/dev/null &&
		"$J" b64u csr.der
}
t_is "finalize with a name too many: badCSR" \
	"$(post a.json "$F1" "{\"csr\":\"$(csr a.example.test b.example.test c.example.test)\"}" --kid "$A")" "400 badCSR -"
t_is "finalize with a name missing: badCSR" \
	"$(post a.json "$F1" "{\"csr\":\"$(csr a.example.test)\"}" --kid "$A")" "400 badCSR -"
t_is "finalize with a CSR that is not one: badCSR" "$(post a.json "$F1" '{"csr":"AAAA"}' --kid "$A")" "400 badCSR -"
t_is "refused CSRs opened no pipeline order" "$(q "SELECT count(*) FROM orders")" 0
t_is "finalize" "$(post a.json "$F1" "{\"csr\":\"$(csr b.example.test a.example.test)\"}" --kid "$A" | cut -d' ' -f1)" 200
t_ok "the order becomes valid" acme_wait sh -c "$J post $U a.json $O1 '' --kid $A 2>&1 | grep -q '\"status\":\"valid\"'"
pag a.json "$O1" "$A" >/dev/null
CERT=$(get certificate)
t_is "certificate URL" "${CERT%/*}" "$U/acme/cert"
curl -s -D h.out -o /dev/null -d '' "$CERT"
t_is "certificate download with a plain POST: refused" "$(sed -n 1p h.out | tr -d '\r')" "HTTP/1.1 415 Unsupported Media Type"
"$J" post "$U" a.json "$CERT" '' --kid "$A" 2>chain.pem >h.out
t_is "certificate: 200" "$(cut -d' ' -f1 h.out)" 200
csplit -s -z -f part chain.pem '/-----BEGIN CERTIFICATE-----/' '{*}'
t_is "leaf and its issuer" "$(ls part* | wc -l)" 2
cat part01 >ca.pem
t_ok "openssl verify against the served chain" openssl verify -CAfile ca.pem part00
t_is "the served chain ends in the instance's root" "$(openssl x509 -in ca.pem -noout -fingerprint -sha256)" \
	"$(openssl x509 -in root.pem -noout -fingerprint -sha256)"
t_is "exactly the requested SANs" "$(openssl x509 -in part00 -noout -ext subjectAltName | tail -n +2 | tr -d ' ')" \
	"DNS:b.example.test,DNS:a.example.test"
t_is "the pipeline order is of type acme, requested by the account" \
	"$(q "SELECT type || ' ' || requested_by FROM orders")" "acme acme:${A##*/}"
t_is "finalize again: orderNotReady" "$(post a.json "$F1" "{\"csr\":\"$(csr a.example.test b.example.test)\"}" --kid "$A")" "403 orderNotReady -"

# --- challenges that fail ----------------------------------------------------
order_authz() { # order_authz NAME TYPE: a new order for NAME; sets O Z C T
	set -- "$1" "$2" $(neworder "$1")
	O=$5
	cp body.out o.json
	Z=$("$J" get o.json authorizations.0)
	set -- $(chall_of "$Z" "$2")
	C=$1 T=$2
}
order_status() { pag a.json "$1" "$A" >/dev/null; get status; }
order_authz c.example.test http-01
t_is "challenge not served: responded" "$(post a.json "$C" '{}' --kid "$A" | cut -d' ' -f1)" 200
t_ok "not served: the order becomes invalid" acme_wait sh -c "$J post $U a.json $O '' --kid $A 2>&1 | grep -q '\"status\":\"invalid\"'"
pag a.json "$O" "$A" >/dev/null
t_grep "not served: the order's error has the challenge's problem as a subproblem" \
	'"error":\{.*"subproblems":\[\{"type":"urn:ietf:params:acme:error:incorrectResponse","detail":"authorization for c.example.test is invalid: http-01 c.example.test: got 404","identifier":\{"type":"dns","value":"c.example.test"\}' body.out
t_is "not served: challenge and authz invalid" "$(pag a.json "$C" "$A" >/dev/null; get status) $(authz_status "$Z")" "invalid invalid"
pag a.json "$C" "$A" >/dev/null
t_is "not served: the challenge's error" "$(get error.type)" "urn:ietf:params:acme:error:incorrectResponse"

order_authz d.example.test dns-01
t_is "TXT not published: responded" "$(post a.json "$C" '{}' --kid "$A" | cut -d' ' -f1)" 200
t_ok "TXT not published: the authz becomes invalid" acme_wait sh -c "[ \"\$(sqlite3 '$DB' \"SELECT status FROM acme_authz WHERE name = '${Z##*/}'\")\" = invalid ]"
pag a.json "$C" "$A" >/dev/null
t_is "TXT not published: unauthorized, named" "$(get error.type) $(get error.detail | grep -c 'no TXT record at _acme-challenge.d.example.test')" \
	"urn:ietf:params:acme:error:unauthorized 1"
t_is "TXT not published: the order is invalid" "$(order_status "$O")" invalid

# e.example.test resolves to 127.0.0.2, where nothing listens: dcv cannot
# decide (75); the job is deferred, tried again, and after --max-attempts
# (2) the challenge is invalid
order_authz e.example.test http-01
t_is "unreachable: responded" "$(post a.json "$C" '{}' --kid "$A" | cut -d' ' -f1)" 200
t_ok "unreachable: the job is deferred, Attempt 1" acme_wait sh -c "grep -l '^Challenge-Token: $T' '$CERTPIPE_HOME'/queue/deferred/new/* | xargs grep -q '^Attempt: 1'"
t_is "unreachable: still processing meanwhile" "$(pag a.json "$C" "$A" >/dev/null; get status)" processing
sleep 5	# the first retry is 5 s later; nothing to poll for before
t_ok "unreachable: gave up after 2 attempts" acme_wait sh -c "[ \"\$(sqlite3 '$DB' \"SELECT status FROM acme_challenges WHERE token = '$T'\")\" = invalid ]"
pag a.json "$C" "$A" >/dev/null
t_is "unreachable: connection problem, gave up" "$(get error.type) $(get error.detail | cut -c1-24)" \
	"urn:ietf:params:acme:error:connection gave up after 2 attempts"
t_is "the validation jobs ended in done, none lost" \
	"$(grep -l '^Challenge-Type' "$CERTPIPE_HOME"/queue/done/new/* | wc -l) $(find "$CERTPIPE_HOME"/queue/dcv/new "$CERTPIPE_HOME"/queue/deferred/new -type f | wc -l)" "5 0"

# --- pre-approved domains, reuse, deactivation, the orders list ----------------
set -- $(neworder x.pre.example.test '*.y.pre.example.test')
O=$3
t_is "pre-approved names: the order is ready at once" "$(get status)" ready
cp body.out o.json
Z=$("$J" get o.json authorizations.0)
pag a.json "$Z" "$A" >/dev/null
t_is "pre-approved authz: valid, no challenges" "$(get status) $(get challenges | wc -l)" "valid 0"
t_is "pre-approved authz stored as such" "$(q "SELECT group_concat(preapproved) FROM acme_authz WHERE identifier LIKE '%pre.example.test'")" "1,1"
F=$(get_f() { "$J" get o.json finalize; }; get_f)
t_is "pre-approved: finalize" "$(post a.json "$F" "{\"csr\":\"$(csr x.pre.example.test '*.y.pre.example.test')\"}" --kid "$A" | cut -d' ' -f1)" 200
t_ok "pre-approved: issued without a challenge" acme_wait sh -c "$J post $U a.json $O '' --kid $A 2>&1 | grep -q '\"status\":\"valid\"'"
t_is "no challenge was ever made for them" "$(q "SELECT count(*) FROM acme_challenges c JOIN acme_authz a ON a.id = c.authz_id WHERE a.preapproved = 1")" 0

set -- $(neworder a.example.test)
t_is "a name with a valid authz: ready at once (reused)" "$(get status)" ready
cp body.out o.json
t_is "the reused authz is the first order's" "$("$J" get o.json authorizations.0)" "$ZA"

order_authz f.example.test http-01
t_is "deactivate an authz" "$(post a.json "$Z" '{"status":"deactivated"}' --kid "$A" | cut -d' ' -f1) $(get status)" "200 deactivated"
t_is "its order is invalid" "$(order_status "$O")" invalid
t_is "deactivate again: refused" "$(post a.json "$Z" '{"status":"deactivated"}' --kid "$A")" "403 unauthorized -"
t_is "an authz status other than deactivated: malformed" "$(post a.json "$ZB" '{"status":"valid"}' --kid "$A")" "400 malformed -"
t_is "responding to a challenge of a deactivated authz changes nothing" \
	"$(post a.json "$C" '{}' --kid "$A" | cut -d' ' -f1) $(get status)" "200 pending"

pag a.json "$A/orders" "$A" >/dev/null
cp body.out list.json
t_is "the account's orders list has every order" "$("$J" get list.json orders | wc -l)" "$(q "SELECT count(*) FROM acme_orders WHERE account_id = (SELECT id FROM acme_accounts WHERE name = '${A##*/}')")"
t_grep "the first order is listed" "$O1" list.json
t_is "another account's orders list: unauthorized" "$(pag b.json "$A/orders" "$B")" "403 unauthorized -"
t_is "another account's order: not found" "$(pag b.json "$O1" "$B")" "404 malformed -"
t_is "another account's certificate: not found" "$(pag b.json "$CERT" "$B")" "404 malformed -"

# --- policy B's account gets its own realm's names -----------------------------
set -- $(post b.json "$NO" "$(ids www.beta.test)" --kid "$B")
t_is "account B: a name of realm beta" "$1" 201
OB=$3
cp body.out ob.json
ZBB=$("$J" get ob.json authorizations.0)
pag b.json "$ZBB" "$B" >/dev/null
set -- $(/usr/bin/python3 -c 'import json; a=json.load(open("body.out")); c=[c for c in a["challenges"] if c["type"]=="http-01"][0]; print(c["url"], c["token"])')
"$J" keyauth b.json "$2" >"www/.well-known/acme-challenge/$2"
post b.json "$1" '{}' --kid "$B" >/dev/null
t_ok "account B: http-01 valid, order ready" acme_wait sh -c "$J post $U b.json $OB '' --kid $B 2>&1 | grep -q '\"status\":\"ready\"'"
t_is "account B: finalize" "$("$J" post "$U" b.json "$("$J" get ob.json finalize)" "{\"csr\":\"$(csr www.beta.test)\"}" --kid "$B" 2>/dev/null | cut -d' ' -f1)" 200
t_ok "account B: valid" acme_wait sh -c "$J post $U b.json $OB '' --kid $B 2>&1 | grep -q '\"status\":\"valid\"'"
t_is "account B's certificate is realm beta's, issued by its CA" \
	"$(q "SELECT r.name || ' ' || c.issuer FROM certificates c JOIN realms r ON r.id = c.realm_id JOIN acme_orders o ON o.cert_id = c.id WHERE o.name = '${OB##*/}'")" \
	"beta CN=Beta Root"

# --- replaces (RFC 9773 section 5) and rate limits --------------------------------
"$J" post "$U" a.json "$CERT" '' --kid "$A" 2>chain1.pem >/dev/null
openssl x509 -in chain1.pem -out old.pem
certid() { # CertID of a PEM certificate, by python's cryptography
	/usr/bin/python3 - "$1" <<'PY'
import base64, sys
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = c.serial_number
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
print(b(aki) + "." + b(n.to_bytes((n.bit_length() + 8) // 8, "big")))
PY
}
ID=$(certid old.pem)
rep() { printf '{"identifiers":[{"type":"dns","value":"a.example.test"}],"replaces":"%s"}' "$1"; }
t_is "replaces: not a CertID: malformed" "$(post a.json "$NO" "$(rep AA)" --kid "$A")" "400 malformed -"
t_is "replaces: a number: malformed" \
	"$(post a.json "$NO" '{"identifiers":[{"type":"dns","value":"a.example.test"}],"replaces":7}' --kid "$A")" "400 malformed -"
t_is "replaces: another account's certificate: unauthorized" \
	"$(post b.json "$NO" "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.beta.test\"}],\"replaces\":\"$ID\"}" --kid "$B")" "403 unauthorized -"
set -- $(post a.json "$NO" "$(rep "$ID")" --kid "$A")
t_is "replaces: the account's own certificate: 201" "$1" 201
OR=$3
t_is "replaces is stored with the order" "$(q "SELECT replaces FROM acme_orders WHERE name = '${OR##*/}'")" "$ID"
cp body.out or.json
t_is "replacing order: ready (the authz is reused), finalize" \
	"$("$J" get or.json status) $(post a.json "$("$J" get or.json finalize)" "{\"csr\":\"$(csr a.example.test)\"}" --kid "$A" | cut -d' ' -f1)" "ready 200"
t_ok "replacing order: valid" acme_wait sh -c "$J post $U a.json $OR '' --kid $A 2>&1 | grep -q '\"status\":\"valid\"'"
t_is "replaces the same certificate again: alreadyReplaced" "$(post a.json "$NO" "$(rep "$ID")" --kid "$A")" "409 alreadyReplaced -"

n=$(q "SELECT count(*) FROM acme_orders WHERE account_id = (SELECT id FROM acme_accounts WHERE name = '${A##*/}')")
t_ok "rate limit: one more order per hour for the account" certpipe acme policy rate pa --window 1h --account $((n + 1))
t_is "rate limit: the next order passes" "$(neworder a.example.test | cut -d' ' -f1)" 201
t_is "rate limit: the one after is rateLimited" \
	"$(post a.json "$NO" "$(ids a.example.test)" --kid "$A" --hdr-out rl.h)" "429 rateLimited -"
t_ok "rate limit: Retry-After within the hour" sh -c 'r=$(sed -n "s/^Retry-After: //p" rl.h); [ "$r" -ge 1 ] && [ "$r" -le 3600 ]'
t_is "rate limit: nothing stored for the refused order" \
	"$(q "SELECT count(*) FROM acme_orders WHERE account_id = (SELECT id FROM acme_accounts WHERE name = '${A##*/}')")" $((n + 1))
t_is "rate limit: account B is not counted with A" "$(post b.json "$NO" "$(ids www.beta.test)" --kid "$B" | cut -d' ' -f1)" 201
t_ok "rate limit off" certpipe acme policy rate pa --off
t_is "rate limit off: orders pass again" "$(neworder a.example.test | cut -d' ' -f1)" 201

# --- expiry, a scheduler that is down, a pipeline that refuses --------------------
order_authz g.example.test http-01
q "UPDATE acme_authz SET expires_at = '2001-01-01T00:00:00Z' WHERE name = '${Z##*/}'"
t_is "an authz past its expiry reads expired" "$(authz_status "$Z")" expired
t_is "its order is invalid" "$(order_status "$O")" invalid
set -- $(neworder z.pre.example.test)
O=$3
q "UPDATE acme_orders SET expires_at = '2001-01-01T00:00:00Z' WHERE name = '${O##*/}'"
t_is "a ready order past its expiry reads invalid" "$(order_status "$O")" invalid
t_grep "expired: its error says so" '"error":\{"type":"urn:ietf:params:acme:error:unauthorized","detail":"the order expired before it was finalized"\}' body.out

acme_sched_stop
order_authz k.example.test dns-01
acme_dns_txt _acme-challenge.k.example.test "$("$J" dns01 a.json "$T")"
t_is "scheduler down: the challenge response is taken" "$(post a.json "$C" '{}' --kid "$A" | cut -d' ' -f1) $(get status)" "200 processing"
t_is "the validation job waits in queue/dcv" "$(grep -l "^Challenge-Token: $T" "$CERTPIPE_HOME"/queue/dcv/new/* | wc -l)" 1
acme_sched_start --max-attempts 2
t_ok "the restarted scheduler validates it" acme_wait sh -c "[ \"\$(sqlite3 '$DB' \"SELECT status FROM acme_authz WHERE name = '${Z##*/}'\")\" = valid ]"
t_is "the order is ready" "$(order_status "$O")" ready
acme_dns_del _acme-challenge.k.example.test

set -- $(neworder p1.pre.example.test p2.pre.example.test)
O=$3
cp body.out o.json
certpipe policy create one-name --template root-web-server --rule max-sans=1 >/dev/null || t_bail "policy create"
t_is "finalize an order the pipeline will refuse" \
	"$(post a.json "$("$J" get o.json finalize)" "{\"csr\":\"$(csr p1.pre.example.test p2.pre.example.test)\"}" --kid "$A" | cut -d' ' -f1)" 200
t_ok "the refused order becomes invalid" acme_wait sh -c "$J post $U a.json $O '' --kid $A 2>&1 | grep -q '\"status\":\"invalid\"'"
pag a.json "$O" "$A" >/dev/null
t_grep "with the pipeline's error" '"error":\{"type":"urn:ietf:params:acme:error:unauthorized","detail":"the request was refused: [^"]*max-sans' body.out
t_is "and no certificate" "$(get certificate)" ""
certpipe policy delete one-name >/dev/null || t_bail "policy delete"

# --- certbot -------------------------------------------------------------------
# http-01 with certbot's own standalone server on the port dcv was given
# (the static server above leaves it); dns-01 through manual hooks that
# update the loopback named with nsupdate.
kill "$HTTP_PID"
while kill -0 "$HTTP_PID" 2>/dev/null; do sleep 0.1; done
set -- $(acme_eab pa); KC=$1 HC=$2
for h in add delete; do
	cat >"hook-$h.sh" <<EOF
#!/bin/sh
printf 'server 127.0.0.1 $DNS_PORT\nzone test\nupdate $h _acme-challenge.%s 1 TXT "%s"\nsend\n' "\$CERTBOT_DOMAIN" "\$CERTBOT_VALIDATION" | nsupdate
EOF
done
chmod +x hook-add.sh hook-delete.sh
cb() { # cb ARGS...: certbot against the server, state under cb/; when
	# it fails, the end of its log and of the server's go to stderr
	timeout 180 certbot --server "$DIR_URL" --config-dir cb/c --work-dir cb/w \
		--logs-dir cb/l --non-interactive --agree-tos -m ops@example.test "$@" && return
	set -- $?
	tail -n 40 cb/l/letsencrypt.log 2>/dev/null | sed 's/^/certbot.log: /' >&2
	tail -n 10 "$T_TMP/acme.log" 2>/dev/null | sed 's/^/acme.log: /' >&2
	return "$1"
}
cbdns() { cb certonly --manual --preferred-challenges dns \
	--manual-auth-hook "$T_TMP/hook-add.sh" --manual-cleanup-hook "$T_TMP/hook-delete.sh" "$@"; }
check_cert() { # check_cert NAME SAN...: certbot's files for cert NAME
	n=$1; shift
	d=cb/c/live/$n
	want=$(for s in "$@"; do echo "DNS:$s"; done | sort | tr '\n' ' ')
	t_ok "certbot $n: openssl verify against the chain certbot saved" \
		openssl verify -CAfile "$d/chain.pem" "$d/cert.pem"
	t_is "certbot $n: exactly the requested SANs" \
		"$(openssl x509 -in "$d/cert.pem" -noout -ext subjectAltName | tail -n +2 | tr -d ' ' | tr ',' '\n' | sort | tr '\n' ' ')" "$want"
}
t_ok "certbot register with EAB" cb register --eab-kid "$KC" --eab-hmac-key="$HC"
t_ok "certbot http-01 for two names (standalone)" cb certonly --standalone \
	--http-01-address 127.0.0.1 --http-01-port "$HP" --cert-name h -d h1.example.test -d h2.example.test
check_cert h h1.example.test h2.example.test
t_ok "certbot dns-01 (manual hooks, nsupdate)" cbdns --cert-name d -d d1.example.test
check_cert d d1.example.test
t_ok "certbot wildcard and its base name (dns-01)" cbdns --cert-name w -d '*.w.example.test' -d w.example.test
check_cert w '*.w.example.test' w.example.test
t_is "the wildcard's authz is for the base name, wildcard" \
	"$(q "SELECT count(*) FROM acme_authz WHERE identifier = 'w.example.test' AND wildcard = 1")" 1
S1=$(openssl x509 -in cb/c/live/h/cert.pem -noout -serial)
t_ok "certbot forced renewal" cb renew --cert-name h --force-renewal --no-random-sleep-on-renew \
	--http-01-address 127.0.0.1 --http-01-port "$HP"
t_is "renewed: a new serial" "$(openssl x509 -in cb/c/live/h/cert.pem -noout -serial | grep -c "^$S1\$")" 0
check_cert h h1.example.test h2.example.test
t_exit "certbot for a name outside the realm fails" 1 cbdns --cert-name x -d x.nosuch.test
t_grep "certbot was told rejectedIdentifier" 'rejectedIdentifier' cb/l/letsencrypt.log
t_exit "certbot dns-01 without the TXT record fails" 1 cb certonly --manual \
	--preferred-challenges dns --manual-auth-hook /bin/true --cert-name n -d n.example.test
t_is "every finalized order is a complete acme pipeline order" \
	"$(q "SELECT count(*) FROM orders WHERE type = 'acme' AND status = 'complete'")" 8

# certbot revokes with its account key; the scheduler republishes the CRL
# and the OCSP responses, which then say revoked
t_ok "an OCSP signer for root, issued by the running scheduler" certpipe ocsp create --ca root --wait 60
cp cb/c/live/d/cert.pem rv.pem && cp cb/c/live/d/chain.pem rv.chain
RS=$(openssl x509 -in rv.pem -noout -serial | cut -d= -f2)
t_ok "certbot revoke (keyCompromise)" cb revoke --cert-path "$T_TMP/cb/c/live/d/cert.pem" \
	--reason keycompromise --no-delete-after-revoke
t_is "revoked in the inventory" \
	"$(certpipe cert list --status revoked --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1
RCRL=$CERTPIPE_HOME/pub/crl/root.crl
crl_has() { openssl crl -inform der -in "$RCRL" -noout -text 2>/dev/null | grep -q "Serial Number: $RS"; }
ocsp_says() {
	openssl ocsp -issuer rv.chain -cert rv.pem -no_nonce -reqout rv.req 2>/dev/null &&
		ocsp <rv.req >rv.resp 2>/dev/null &&
		openssl ocsp -respin rv.resp -issuer rv.chain -cert rv.pem -CAfile root.pem \
			-verify_other rv.chain -no_nonce 2>/dev/null | grep -q ": revoked"
}
i=0
until { crl_has && ocsp_says; } || [ $i -ge 300 ]; do i=$((i + 1)); sleep 0.2; done
t_ok "the scheduler put it on the CRL" crl_has
openssl crl -inform der -in "$RCRL" -out rv.crl 2>/dev/null
t_ok "openssl verify -crl_check: certificate revoked" sh -c \
	'openssl verify -crl_check -CAfile root.pem -untrusted rv.chain -CRLfile rv.crl rv.pem 2>&1 | grep -q "certificate revoked"'
t_ok "the pre-signed OCSP response says revoked" ocsp_says

t_is "challenge events audited" "$(q "SELECT count(*) FROM audit WHERE event = 'acme.challenge.valid'") $(q "SELECT count(*) FROM audit WHERE event = 'acme.challenge.invalid'")" "9 4"
t_ok "audit chain intact" certpipe audit verify
t_nogrep "no key authorization or CSR in the access log" 'csr|keyAuthorization' acme.log

t_done
