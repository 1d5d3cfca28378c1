#!/bin/sh
# certpipe cert: the inventory: import, list filters, show, export.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe ca export root > root.pem
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout a.key \
	-subj /CN=a.example.com -out a.csr 2>/dev/null
"$CERTPIPE_BUILD/tests/issue-leaf" "$CERTPIPE_HOME" default sub sub-web-server a.csr a.example.com > a.pem ||
	t_bail issue

# An outside certificate, and an outside one that has already expired.
openssl req -x509 -new -newkey rsa:2048 -nodes -keyout o.key -subj /CN=outside.example.net \
	-days 20 -out o.pem 2>/dev/null
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
openssl ca -batch -config oca.cnf -selfsign -keyfile o.key -in "$(openssl req -new -key o.key -subj /CN=old.example.net -out old.csr && echo old.csr)" \
	-startdate 20200101000000Z -enddate 20200201000000Z -out old.pem 2>/dev/null || t_bail "openssl ca"

t_ok "import our own leaf, an outside and an expired certificate" certpipe cert import a.pem o.pem old.pem
t_grep "counts them" "imported 3 certificates as discovered" "$T_TMP/out"
t_exit "importing one again is refused" 65 certpipe cert import o.pem
t_oneline "duplicate import"
t_exit "a file that holds no certificate" 65 certpipe cert import a.csr
t_exit "a missing file" 66 certpipe cert import nothing.pem
t_is "refused imports changed nothing" "$(sqlite3 "$CERTPIPE_HOME/certpipe.db" 'SELECT count(*) FROM certificates')" 3

json() { certpipe cert list --json "$@" | python3 -c 'import json,sys; print(" ".join(sorted(c["cn"] for c in json.load(sys.stdin))))'; }
t_is "all" "$(json)" "a.example.com old.example.net outside.example.net"
t_is "--status expired" "$(json --status expired)" "old.example.net"
t_is "--status active" "$(json --status active)" "a.example.com outside.example.net"
t_is "--expiring 30" "$(json --expiring 30)" "outside.example.net"
t_is "--ca sub finds the leaf its key signed" "$(json --ca sub)" "a.example.com"
t_is "--cn search" "$(json --cn outside)" "outside.example.net"
t_is "--source discovered" "$(json --source discovered)" "a.example.com old.example.net outside.example.net"
t_is "--source managed" "$(json --source managed)" ""
t_exit "bad --status" 64 certpipe cert list --status bogus
t_exit "another realm sees nothing" 0 certpipe realm create other
t_is "realm isolation" "$(json --realm other)" ""
t_exit "another realm cannot show it" 66 certpipe --realm other cert show 1

id=$(certpipe cert list --json --cn a.example | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
t_ok "show by id" certpipe cert show "$id"
cp "$T_TMP/out" show.txt
t_is "fingerprint equals openssl's" "sha256       $(openssl x509 -in a.pem -noout -fingerprint -sha256 | cut -d= -f2)" \
	"$(grep '^sha256' show.txt)"
t_grep "key type" "^key +ec-256, 256 bits" show.txt
t_grep "issuing CA" "^ca +sub" show.txt
t_grep "days left" "^days left +39[67]" show.txt
t_ok "show by serial" certpipe cert show "$(openssl x509 -in a.pem -noout -serial | cut -d= -f2)"
t_ok "show by fingerprint" certpipe cert show "$(openssl x509 -in a.pem -noout -fingerprint -sha256 | cut -d= -f2)"
t_ok "show --json is JSON" sh -c 'certpipe cert show "$0" --json | python3 -m json.tool' "$id"
t_is "expired shows as expired" "$(certpipe cert show --json "$(openssl x509 -in old.pem -noout -fingerprint -sha256 | cut -d= -f2)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" expired

t_ok "export fullchain" sh -c 'certpipe cert export "$0" --part fullchain > full.pem' "$id"
t_ok "the exported chain verifies with openssl" openssl verify -CAfile root.pem -untrusted full.pem full.pem
t_ok "export DER" sh -c 'certpipe cert export "$0" --format der > a.der' "$id"
t_ok "DER is the certificate's DER" sh -c 'openssl x509 -in a.pem -outform der | cmp - a.der'
t_ok "export --out" certpipe cert export "$id" --out leaf.pem
t_ok "the leaf is the certificate" cmp leaf.pem a.pem
t_ok "export --part chain" sh -c 'certpipe cert export "$0" --part chain > chain.pem' "$id"
t_is "chain: the issuing CA, then the root" "$(openssl crl2pkcs7 -nocrl -certfile chain.pem | openssl pkcs7 -print_certs -noout | grep '^subject' | tr '\n' ' ')" \
	"subject=CN = Sub subject=CN = Root "
t_ok "the chain verifies the leaf" openssl verify -CAfile root.pem -untrusted chain.pem a.pem
t_exit "no chain for an outside certificate" 65 certpipe cert export "$(openssl x509 -in o.pem -noout -fingerprint -sha256 | cut -d= -f2)" --part chain
t_is "views and downloads are audited" \
	"$(sqlite3 "$CERTPIPE_HOME/certpipe.db" "SELECT count(*) FROM audit WHERE event IN ('certificate.view.accessed','certificate.download.success')")" 9
t_ok "the audit chain still verifies" certpipe audit verify
t_done
