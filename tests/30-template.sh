#!/bin/sh
# certpipe template: starters, settings, enable/disable/delete, list/show,
# JSON, bad values (exit 65, one line, nothing changed), realm isolation.
. "$(dirname "$0")/lib.sh"
new_home
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca create root"
db=$CERTPIPE_HOME/certpipe.db

snapshot() { sqlite3 "$db" .dump > "$T_TMP/db.$1"; }
bad() { # bad DESCRIPTION STATUS ARGS...: fails with STATUS, one line, no change
	d=$1; s=$2; shift 2
	snapshot before
	t_exit "$d: exit $s" "$s" certpipe "$@"
	t_oneline "$d"
	cp "$T_TMP/err" "$T_TMP/bad.err"
	snapshot after
	t_ok "$d: instance unchanged" cmp -s "$T_TMP/db.before" "$T_TMP/db.after"
}
json() { # json FILE EXPR: print a Python expression over the JSON in FILE
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# The CA came with its default template.
t_ok "list" certpipe template list
t_grep "default template of the CA" "^root-web-server +root +web-server +yes +397/397" "$T_TMP/out"

# Every starter, with its defaults.
for s in web-server client code-signing email sub-ca ocsp-signing; do
	t_ok "create from $s" certpipe template create "t-$s" --ca root --from "$s"
	t_grep "create says what it made" "created template t-$s \($s, CA root\)" "$T_TMP/out"
done
certpipe template show t-client --json > "$T_TMP/client.json"
t_ok "show --json is JSON" python3 -m json.tool "$T_TMP/client.json"
t_is "client: days" "$(json "$T_TMP/client.json" 'd["days"]')" 365
t_is "client: max-days" "$(json "$T_TMP/client.json" 'd["max_days"]')" 825
t_is "client: eku" "$(json "$T_TMP/client.json" 'd["eku"]')" clientAuth
certpipe template show t-sub-ca --json > "$T_TMP/sub.json"
t_is "sub-ca: CA template" "$(json "$T_TMP/sub.json" 'd["ca_cert"]')" True
t_is "sub-ca: path length 0" "$(json "$T_TMP/sub.json" 'd["path_len"]')" 0
t_is "sub-ca: no eku" "$(json "$T_TMP/sub.json" 'd["eku"]')" None
t_is "sub-ca: key usage" "$(json "$T_TMP/sub.json" 'd["key_usage"]')" keyCertSign,cRLSign
certpipe template show t-code-signing --json > "$T_TMP/cs.json"
t_is "code-signing: no ed25519" "$(json "$T_TMP/cs.json" '"ed25519" in d["key_algs"]')" False
certpipe template show t-ocsp-signing --json > "$T_TMP/ocsp.json"
t_is "ocsp-signing: 30/90 days" "$(json "$T_TMP/ocsp.json" '"%d/%d" % (d["days"], d["max_days"])')" 30/90

# Settings at create time, applied in the order given.
t_ok "create with settings" certpipe template create web --ca root --days 90 \
	--digest sha384 --key-algs ec-256,ec-384 --eku serverAuth --subject O=Acme,C=DE \
	--subject-mode default --allow-ip on
certpipe template show web --json > "$T_TMP/web.json"
t_is "days" "$(json "$T_TMP/web.json" 'd["days"]')" 90
t_is "digest" "$(json "$T_TMP/web.json" 'd["digest"]')" sha384
t_is "key-algs" "$(json "$T_TMP/web.json" 'd["key_algs"]')" ec-256,ec-384
t_is "eku" "$(json "$T_TMP/web.json" 'd["eku"]')" serverAuth
t_is "subject" "$(json "$T_TMP/web.json" 'd["subject"]')" O=Acme,C=DE
t_is "subject-mode" "$(json "$T_TMP/web.json" 'd["subject_mode"]')" default
t_is "allow-ip" "$(json "$T_TMP/web.json" 'd["allow_ip"]')" True
t_is "derived caIssuers URL" "$(json "$T_TMP/web.json" 'd["effective_urls"]["aia"]')" http://pki.test/ca/root.crt
t_is "derived OCSP URL" "$(json "$T_TMP/web.json" 'd["effective_urls"]["ocsp"]')" http://pki.test/ocsp
t_is "derived CRL URL" "$(json "$T_TMP/web.json" 'd["effective_urls"]["crl"]')" http://pki.test/crl/root.crl
t_ok "later setting wins" certpipe template create order --ca root --days 10 --days 20
t_is "second --days applied" "$(certpipe template show order --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["days"])')" 20

# edit
t_ok "edit" certpipe template edit web --days 30 --ocsp off --crl-url http://crl.test/root.crl
t_grep "edit reports the change" "updated template web: days=30, ocsp=off, crl-url=http://crl.test/root.crl" "$T_TMP/out"
t_ok "show" certpipe template show web
t_grep "show: days" "^days +30$" "$T_TMP/out"
t_grep "show: explicit CRL URL" "^  CRL +http://crl.test/root.crl$" "$T_TMP/out"
t_grep "show: OCSP omitted" "^  OCSP +\(omitted\)$" "$T_TMP/out"
for k in name realm ca starter enabled days max-days digest key-algs key-usage eku \
    path-len subject-mode subject allow-ip aia aia-url ocsp ocsp-url cdp crl-url \
    policy policy-oid cps-url; do
	grep -Eq "^$k " "$T_TMP/out" || echo "$k" >> "$T_TMP/missing"
done
t_is "show lists every setting" "$(cat "$T_TMP/missing" 2>/dev/null)" ""
t_ok "policy with an OID" certpipe template edit web --policy-oid 1.3.6.1.4.1.99999.1 --policy on --cps-url https://pki.test/cps
t_ok "clear the subject ('')" certpipe template edit web --subject-mode request --subject ''
t_is "subject cleared" "$(certpipe template show web --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["subject"])')" None
t_exit "edit without settings is a usage error" 64 certpipe template edit web

# enable / disable
t_ok "disable" certpipe template disable web
certpipe template list > "$T_TMP/l"
t_grep "list shows it disabled" "^web +root +web-server +no " "$T_TMP/l"
t_ok "disable again is fine" certpipe template disable web
t_grep "says so" "already disabled" "$T_TMP/out"
t_ok "enable" certpipe template enable web
t_is "enabled in JSON" "$(certpipe template show web --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["enabled"])')" True

# list --json
certpipe template list --json > "$T_TMP/list.json"
t_ok "list --json is JSON" python3 -m json.tool "$T_TMP/list.json"
t_is "list --json has every template" "$(json "$T_TMP/list.json" 'len(d)')" 9

# Bad values: exit 65, one line on stderr, the instance unchanged.
bad "days 0" 65 template create x --ca root --days 0
t_grep "names setting and range" "^certpipe: template 'x': days: 0 is out of range 1..3650$" "$T_TMP/bad.err"
bad "days over max-days" 65 template create x --ca root --days 398
bad "days not a number" 65 template edit web --days ten
bad "max-days too long" 65 template edit web --max-days 3651
bad "unknown digest" 65 template edit web --digest md5
bad "unknown key type" 65 template edit web --key-algs ec-256,rsa-1024
bad "unknown key usage" 65 template edit web --key-usage digitalSignature,sign
bad "keyCertSign on a leaf" 65 template edit web --key-usage keyCertSign
bad "unknown eku" 65 template edit web --eku webAuth
bad "bad subject-mode" 65 template edit web --subject-mode strict
bad "enforce without a subject" 65 template edit web --subject-mode enforce
bad "bad subject" 65 template edit web --subject C=Germany
bad "bad switch" 65 template edit web --aia maybe
bad "bad URL" 65 template edit web --aia-url ftp://x/ca.crt
bad "URL with a comma" 65 template edit web --ocsp-url http://a,b/
bad "bad policy OID" 65 template edit web --policy-oid 1.x
bad "policy on without OID" 65 template edit order --policy on
bad "path-len on a leaf" 65 template edit web --path-len 1
bad "path-len too long" 65 template edit t-sub-ca --path-len 17
bad "unknown starter" 65 template create x --ca root --from server
bad "bad name" 65 template create ../x --ca root
bad "duplicate name" 65 template create web --ca root
bad "unknown CA" 66 template create x --ca nosuch
bad "unknown template" 66 template show nosuch
bad "edit unknown template" 66 template edit nosuch --days 5
bad "missing --ca" 64 template create x
bad "unknown option" 64 template create x --ca root --colour blue
bad "unknown sub-command" 64 template frobnicate

# delete: refused while unexpired certificates use it, else done.
tid=$(sqlite3 "$db" "SELECT id FROM templates WHERE name = 'web'")
sqlite3 "$db" "INSERT INTO certificates (realm_id, ca_id, template_id, serial, issuer,
	subject, not_before, not_after, status, source, fingerprint, pem, created_at)
	VALUES (1, 1, $tid, '01', 'CN=Test Root', 'CN=a', '2020-01-01T00:00:00Z',
	'2999-01-01T00:00:00Z', 'active', 'managed', 'AA', 'x', '2020-01-01T00:00:00Z')"
t_exit "delete refused while a live certificate uses it" 77 certpipe template delete web
t_oneline "delete refused"
t_ok "still there" certpipe template show web
sqlite3 "$db" "UPDATE certificates SET status = 'revoked'"
t_ok "delete once the certificate is revoked" certpipe template delete web
t_exit "gone" 66 certpipe template show web
t_is "the certificate row stays, without a template" \
	"$(sqlite3 "$db" "SELECT count(*) FROM certificates WHERE template_id IS NULL")" 1

# Realm isolation: a template in one realm is invisible from another.
certpipe realm create other >/dev/null || t_bail "realm create"
t_ok "list in the other realm" certpipe --realm other template list
t_nogrep "no templates leak into the other realm" "root" "$T_TMP/out"
t_exit "show from the other realm" 66 certpipe --realm other template show t-client
t_exit "edit from the other realm" 66 certpipe --realm other template edit t-client --days 5
t_exit "delete from the other realm" 66 certpipe --realm other template delete t-client
t_exit "the other realm cannot use this realm's CA" 66 certpipe --realm other template create x --ca root
certpipe --realm other ca create oroot --cn "Other Root" >/dev/null
t_ok "same template name in another realm" certpipe --realm other template create t-client --ca oroot --from client
t_ok "list in the default realm" certpipe template list
t_nogrep "the other realm's templates do not show here" "oroot" "$T_TMP/out"
t_exit "the default realm cannot use the other realm's CA" 66 certpipe template create y --ca oroot
t_is "other realm lists only its own" "$(certpipe --realm other template list --json | python3 -c 'import json,sys; print(sorted(t["name"] for t in json.load(sys.stdin)))')" "['oroot-web-server', 't-client']"
t_done
