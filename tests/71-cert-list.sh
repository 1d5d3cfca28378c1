#!/bin/sh
# certpipe cert list / show: every filter, realm scoping, what show
# prints (checked against openssl), and --records feeding check-policy
# --explain ("what if this policy applied to the inventory?").
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
DB=$CERTPIPE_HOME/certpipe.db
q() { sqlite3 "$DB" "$1"; }
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe domain add example.com >/dev/null || t_bail domain

# Managed: through the pipeline, EC from sub (two names) and RSA from root.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout w.key \
	-subj /CN=web1.example.com -addext subjectAltName=DNS:web1.example.com,DNS:www.web1.example.com \
	-out web1.csr 2>/dev/null
for n in web2 web3 web4; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout $n.key \
		-subj /CN=$n.example.com -out $n.csr 2>/dev/null
done
openssl req -new -newkey rsa:3072 -nodes -keyout api.key -subj /CN=api.example.com -out api.csr 2>/dev/null
{ parse-csr web1.csr web2.csr web3.csr web4.csr | check-policy --template sub-web-server &&
  parse-csr api.csr | check-policy --template root-web-server; } | sign > issued.rec || t_bail pipeline
# Discovered: an outside certificate with every kind of name, one with
# LIKE's wildcards in its CN, and an expired one.
openssl req -x509 -new -newkey rsa:2048 -nodes -keyout o.key -subj /CN=outside.example.net \
	-addext "subjectAltName=DNS:outside.example.net,IP:192.0.2.1,email:ops@example.net,URI:https://outside.example.net/" \
	-days 20 -out o.pem 2>/dev/null
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout p.key \
	-subj "/CN=100%_sure.example.net" -days 90 -out p.pem 2>/dev/null
mkdir -p oca/new && : > oca/index.txt && echo 01 > oca/serial
cat > oca.cnf <<'X'
[ca]
default_ca = d
[d]
dir = oca
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/new
default_md = sha256
policy = p
[p]
commonName = supplied
X
openssl req -new -key o.key -subj /CN=old.example.net -out old.csr 2>/dev/null
openssl ca -batch -config oca.cnf -selfsign -keyfile o.key -in old.csr \
	-startdate 20200101000000Z -enddate 20200201000000Z -out old.pem 2>/dev/null || t_bail "openssl ca"
certpipe cert import o.pem p.pem old.pem >/dev/null || t_bail import
id() { q "SELECT id FROM certificates WHERE cn = '$1'"; }
certpipe cert revoke --yes --reason keyCompromise "$(id web2.example.com)" >/dev/null || t_bail revoke
certpipe cert revoke --yes --reason certificateHold "$(id web3.example.com)" >/dev/null || t_bail hold
# nothing renews yet: mark one superseded as a renewal will
q "UPDATE certificates SET status = 'superseded' WHERE cn = 'web4.example.com'"
# Another realm with its own CA and certificate.
certpipe realm create other >/dev/null
certpipe --realm other ca create oroot --cn ORoot >/dev/null || t_bail oroot
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout x.key \
	-subj /CN=web1.other.test -out x.csr 2>/dev/null
"$CERTPIPE_BUILD/tests/issue-leaf" "$CERTPIPE_HOME" other oroot oroot-web-server x.csr \
	web1.other.test --record > x.pem || t_bail "issue other"

json() { certpipe cert list --json "$@" | python3 -c 'import json,sys; print(" ".join(sorted(c["cn"] for c in json.load(sys.stdin))))'; }
ALL="100%_sure.example.net api.example.com old.example.net outside.example.net web1.example.com web2.example.com web3.example.com web4.example.com"
t_is "all of the realm" "$(json)" "$ALL"
t_is "--status active" "$(json --status active)" "100%_sure.example.net api.example.com outside.example.net web1.example.com"
t_is "--status expired" "$(json --status expired)" "old.example.net"
t_is "--status revoked" "$(json --status revoked)" "web2.example.com"
t_is "--status suspended" "$(json --status suspended)" "web3.example.com"
t_is "--status superseded" "$(json --status superseded)" "web4.example.com"
t_is "--source managed" "$(json --source managed)" "api.example.com web1.example.com web2.example.com web3.example.com web4.example.com"
t_is "--source discovered" "$(json --source discovered)" "100%_sure.example.net old.example.net outside.example.net"
t_is "--ca sub" "$(json --ca sub)" "web1.example.com web2.example.com web3.example.com web4.example.com"
t_is "--ca root" "$(json --ca root)" "api.example.com"
t_exit "--ca of another realm" 66 certpipe cert list --ca oroot
t_is "--expiring 30: the 20-day one" "$(json --expiring 30)" "outside.example.net"
t_is "--expiring 400: active ones only" "$(json --expiring 400)" "100%_sure.example.net api.example.com outside.example.net web1.example.com"
t_is "--cn contains, any case" "$(json --cn WEB1)" "web1.example.com"
t_is "--cn: % is a character, not a wildcard" "$(json --cn %)" "100%_sure.example.net"
t_is "--cn: _ is a character, not a wildcard" "$(json --cn _)" "100%_sure.example.net"
t_is "filters combine" "$(json --source managed --status active --cn example.com)" "api.example.com web1.example.com"
t_is "the other realm sees its own only" "$(json --realm other)" "web1.other.test"
t_exit "bad --status" 64 certpipe cert list --status valid
t_oneline "bad status"
t_exit "bad --source" 64 certpipe cert list --source elsewhere
t_exit "bad --expiring" 64 certpipe cert list --expiring soon
t_ok "the table" certpipe cert list
t_is "one line per certificate and a header" "$(wc -l < "$T_TMP/out" | tr -d ' ')" 9

# show, checked against openssl.
O=$(id outside.example.net)
certpipe cert show "$O" > show.txt || t_bail show
t_grep "CN" "^cn +outside.example.net$" show.txt
t_grep "every kind of SAN" "^sans +DNS:outside.example.net, IP:192.0.2.1, email:ops@example.net, URI:https://outside.example.net/$" show.txt
t_grep "issuer" "^issuer +CN=outside.example.net$" show.txt
t_grep "key algorithm and size" "^key +rsa-2048, 2048 bits$" show.txt
t_grep "digest" "^digest +sha256$" show.txt
utc() { date -u -d "$(openssl x509 -in "$1" -noout "-$2" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ; }
t_is "not before as openssl says" "$(sed -n 's/^not before *//p' show.txt)" "$(utc o.pem startdate)"
t_is "not after as openssl says" "$(sed -n 's/^not after *//p' show.txt)" "$(utc o.pem enddate)"
t_grep "days until expiry" "^days left +(19|20)$" show.txt
t_grep "status" "^status +active$" show.txt
t_grep "source" "^source +discovered$" show.txt
t_is "SHA-256 fingerprint as openssl prints it" "$(sed -n 's/^sha256 *//p' show.txt)" \
	"$(openssl x509 -in o.pem -noout -fingerprint -sha256 | cut -d= -f2)"
t_nogrep "no revocation line for an active one" "^revocation" show.txt
certpipe cert show "$(id web2.example.com)" > rev.txt
t_grep "revoked: reason and time" "^revocation +keyCompromise at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$" rev.txt
t_grep "a P-384 key" "^key +ec-384, 384 bits$" rev.txt
t_is "show --json" "$(certpipe cert show --json "$(id web3.example.com)" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["revoke_reason"], d["key_alg"], d["key_bits"], d["digest"], d["source"], d["ca"])')" \
	"suspended certificateHold ec-384 384 sha256 managed sub"

# --records: one renewal record per certificate, a CERTIFICATE in place of a CSR.
t_ok "--records" sh -c 'certpipe cert list --records > all.rec'
t_ok "they are valid records" rec-cat --check all.rec
t_is "one per certificate" "$(rec-cat --field Type all.rec | sort | uniq -c | tr -s ' ')" " 8 renew"
certpipe cert list --records --cn web1 > web1.rec
t_is "names" "$(rec-cat --field CN web1.rec) $(rec-cat --field SAN web1.rec | tr '\n' ' ')" \
	"web1.example.com DNS:web1.example.com DNS:www.web1.example.com "
t_is "key, validity, realm, template" \
	"$(for h in Key-Alg Key-Bits Days Digest Realm Template; do rec-cat --field $h web1.rec; done | tr '\n' ' ')" \
	"ec-256 256 397 sha256 default sub-web-server "
t_is "no request block" "$(grep -c 'BEGIN CERTIFICATE REQUEST' web1.rec)" 0
awk '$0 == "-----BEGIN CERTIFICATE-----" { p = 1 } p { print } $0 == "-----END CERTIFICATE-----" { p = 0 }' web1.rec > web1.pem
t_is "the certificate in the record is the one listed" "$(openssl x509 -in web1.pem -noout -fingerprint -sha256 | cut -d= -f2)" \
	"$(q "SELECT fingerprint FROM certificates WHERE cn = 'web1.example.com'")"
t_is "Renewal-Of names it" "$(rec-cat --field Renewal-Of web1.rec)" \
	"$(openssl x509 -in web1.pem -noout -fingerprint -sha256 | cut -d= -f2)"
t_is "filters apply" "$(certpipe cert list --records --status active --source managed | rec-cat --field CN | sort | tr '\n' ' ')" \
	"api.example.com web1.example.com "
t_exit "--records or --json, not both" 64 certpipe cert list --records --json

# What if a 90-day cap applied to the managed, active inventory?
certpipe policy create short --template sub-web-server --rule max-days=90 >/dev/null || t_bail policy
sqlite3 "$DB" .dump > before.dump
t_ok "certpipe cert list --records | check-policy --explain" \
	sh -c 'certpipe cert list --records --source managed --status active | check-policy --explain > what-if.txt'
t_is "a table per certificate" "$(grep -c '^record ' what-if.txt)" 2
t_grep "the new cap fails the 397-day one" "^short +max-days +hard +FAIL +requested 397 days, policy cap 90" what-if.txt
t_is "outcomes: root's template has no cap" "$(grep '^outcome' what-if.txt | sort | tr '\n' ' ')" "outcome: fail outcome: pass "
sqlite3 "$DB" .dump > after.dump
t_ok "a what-if changes nothing" cmp -s before.dump after.dump
t_ok "the audit chain verifies" certpipe audit verify
t_done
