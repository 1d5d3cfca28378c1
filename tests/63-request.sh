#!/bin/sh
# certpipe request: a key made here, its CSR, the job, the order, the
# audit event; bad input changes nothing; through the pipeline with the
# scheduler.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
db=$CERTPIPE_HOME/certpipe.db
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe ca export root > root.pem
certpipe ca export sub > sub.pem

q() { sqlite3 "$db" "$1"; }
# what must not change when a request is refused
state() {
	echo "$(q 'SELECT count(*) FROM orders') $(ls "$CERTPIPE_HOME/keys" | wc -l)" \
		"$(ls "$CERTPIPE_HOME/queue/incoming/new" | wc -l)" \
		"$(q "SELECT count(*) FROM audit WHERE event LIKE 'certificate.request%'")"
}

before=$(state)
t_exit "two enabled templates: --template is required" 64 \
	certpipe request --cn app.example.com
t_oneline "no template"
t_is "nothing changed" "$(state)" "$before"
certpipe template disable root-web-server >/dev/null || t_bail disable

# request: job file, CSR, order, key, audit
t_ok "request with the realm's only template" \
	certpipe request --cn app.example.com --san www.example.com --san 192.0.2.7 --alg ec-256
id=$(cat "$T_TMP/out")
job=$CERTPIPE_HOME/queue/incoming/new/$id
t_ok "the job is committed to queue/incoming" test -f "$job"
t_ok "the job is a whole record" rec-cat --check "$job"
rec-cat "$job" > job.rec
t_grep "Type keygen" "^Type: keygen$" job.rec
t_grep "Source cli" "^Source: cli$" job.rec
t_grep "Template" "^Template: sub-web-server$" job.rec
t_grep "Realm" "^Realm: default$" job.rec
t_grep "Key-Alg" "^Key-Alg: ec-256$" job.rec
t_is "names as headers" "$(rec-cat --field SAN job.rec | tr '\n' ' ')" "DNS:www.example.com IP:192.0.2.7 "
sed -n '/BEGIN CERTIFICATE REQUEST/,/END CERTIFICATE REQUEST/p' job.rec > job.csr
t_ok "its CSR verifies" openssl req -in job.csr -noout -verify
openssl req -in job.csr -noout -text > csr.txt
t_grep "CSR subject" "Subject: CN *= *app.example.com" csr.txt
t_grep "CSR key type" "prime256v1|P-256" csr.txt
t_grep "CSR names" "DNS:www.example.com, IP Address:192.0.2.7" csr.txt
t_is "order: automated, pending" "$(q "SELECT type, status, cn FROM orders WHERE job = '$id'")" \
	"automated|pending|app.example.com"
ref=$(q "SELECT key_ref FROM orders WHERE job = '$id'")
key=$CERTPIPE_HOME/${ref#file:}
t_is "key file mode 0600" "$(stat -c %a "$key")" 600
t_grep "key file is encrypted" "^-----BEGIN ENCRYPTED PRIVATE KEY-----" "$key"
t_is "the stored key is the CSR's" \
	"$(openssl pkey -in "$key" -passin "file:$CERTPIPE_HOME/keys/passphrase" -pubout)" \
	"$(openssl req -in job.csr -noout -pubkey)"
t_is "audited" "$(q "SELECT event, outcome FROM audit WHERE object = 'order:$id'")" \
	"certificate.request_automated.submitted|success"
t_ok "audit chain verifies" certpipe audit verify

for alg in rsa-2048 ed25519; do
	t_ok "request --alg $alg" certpipe request --cn "$alg.example.com" --alg "$alg"
	rec-cat "$CERTPIPE_HOME/queue/incoming/new/$(cat "$T_TMP/out")" |
		sed -n '/BEGIN CERTIFICATE REQUEST/,/END CERTIFICATE REQUEST/p' > "$alg.csr"
	openssl req -in "$alg.csr" -noout -text > "$alg.txt"
	case $alg in
	rsa-2048) t_grep "$alg key in the CSR" "Public-Key: \(2048 bit\)" "$alg.txt" ;;
	ed25519) t_grep "$alg key in the CSR" "Public Key Algorithm: ED25519" "$alg.txt" ;;
	esac
	t_ok "$alg CSR verifies" openssl req -in "$alg.csr" -noout -verify
done
t_ok "the default key type is the template's first" certpipe request --cn d.example.com
t_grep "rsa-2048 by default" "^Key-Alg: rsa-2048$" "$CERTPIPE_HOME/queue/incoming/new/$(cat "$T_TMP/out")"

# bad input: one line, a documented code, nothing changed
before=$(state)
t_exit "no --cn" 64 certpipe request --alg ec-256
t_oneline "no --cn"
t_exit "unknown key type" 65 certpipe request --cn x.example.com --alg rsa-1024
t_oneline "rsa-1024"
t_exit "a bad DNS name" 65 certpipe request --cn x.example.com --san 'DNS:bad..name'
t_oneline "bad name"
t_exit "a comma in a name" 65 certpipe request --cn x.example.com --san 'DNS:a,DNS:b'
t_exit "--days 0" 65 certpipe request --cn x.example.com --days 0
t_exit "--wait not a number" 65 certpipe request --cn x.example.com --wait soon
t_exit "an unknown template" 66 certpipe request --cn x.example.com --template nope
t_exit "a disabled template" 77 certpipe request --cn x.example.com --template root-web-server
t_oneline "disabled template"
certpipe template create cs --ca sub --from code-signing >/dev/null || t_bail cs
t_exit "a key type the template does not allow" 65 \
	certpipe request --cn x.example.com --template cs --alg ed25519
t_oneline "key type not allowed"
t_exit "no passphrase file: no key left behind" 66 \
	certpipe request --cn x.example.com --template cs --passphrase-file nothing
certpipe realm create other >/dev/null || t_bail realm
before=$(state)
t_exit "a realm without templates" 64 certpipe --realm other request --cn x.example.com
t_is "refused requests changed nothing" "$(state)" "$before"
t_nogrep "no passphrase in any message" "$(cat "$CERTPIPE_HOME/keys/passphrase")" "$T_TMP/err"

t_ok "--json" sh -c 'certpipe request --cn j.example.com --template cs --json > j.json'
t_is "--json prints the job" "$(python3 -c 'import json; d = json.load(open("j.json")); print(d["status"], d["certificate"], len(d["job"]))')" \
	"pending None 36"

# --wait without a scheduler: still pending, the job is kept
t_exit "--wait 1 with nobody to process: 75" 75 \
	certpipe request --cn w.example.com --template cs --wait 1
t_grep "says so" "not done yet" "$T_TMP/out"
t_ok "the job is kept" test -f "$CERTPIPE_HOME/queue/incoming/new/$(head -1 "$T_TMP/out")"

# Through the pipeline: check-policy, sign, the scheduler.
certpipe domain add example.com >/dev/null || t_bail domain
scheduler --once >/dev/null 2>&1
for alg in rsa-2048 ec-256 ed25519; do
	t_ok "request --alg $alg, then scheduler --once" \
		certpipe request --template sub-web-server --cn "p-$alg.example.com" \
			--san "www.p-$alg.example.com" --alg "$alg"
	pid=$(cat "$T_TMP/out")
	t_ok "scheduler --once" scheduler --once
	t_is "$alg order complete" "$(q "SELECT status FROM orders WHERE job = '$pid'")" complete
	cid=$(q "SELECT c.id FROM certificates c JOIN orders o ON c.order_id = o.id WHERE o.job = '$pid'")
	certpipe cert export "$cid" > "p-$alg.pem"
	certpipe cert export "$cid" --part chain > "p-$alg.chain"
	t_ok "$alg certificate verifies -x509_strict" openssl verify -x509_strict \
		-CAfile root.pem -untrusted "p-$alg.chain" "p-$alg.pem"
	openssl x509 -in "p-$alg.pem" -noout -ext subjectAltName > "p-$alg.san"
	t_grep "$alg names" "DNS:www.p-$alg.example.com" "p-$alg.san"
	t_is "$alg certificate holds the stored key" \
		"$(openssl x509 -in "p-$alg.pem" -noout -pubkey)" \
		"$(openssl pkey -in "$CERTPIPE_HOME/$(q "SELECT substr(key_ref, 6) FROM orders WHERE job = '$pid'")" \
			-passin "file:$CERTPIPE_HOME/keys/passphrase" -pubout)"
done
t_ok "--wait with a scheduler running" sh -c '
	scheduler >/dev/null 2>&1 & s=$!
	certpipe request --template sub-web-server --cn wait.example.com --wait 30; rc=$?
	kill $s; wait $s; exit $rc'
t_grep "reports the certificate" "^complete: certificate [0-9]+" "$T_TMP/out"
t_exit "--wait: refused by policy is 77" 77 sh -c '
	scheduler >/dev/null 2>&1 & s=$!
	certpipe request --template sub-web-server --cn x.example.org --wait 30; rc=$?
	kill $s; wait $s; exit $rc'
t_grep "with the reason" "^failed: .*example.org" "$T_TMP/out"
certpipe policy create hold --template cs --approval manual >/dev/null || t_bail policy
t_exit "--wait: held for approval is 75" 75 sh -c '
	scheduler >/dev/null 2>&1 & s=$!
	certpipe request --template cs --cn held.example.com --wait 30; rc=$?
	kill $s; wait $s; exit $rc'
t_grep "says so" "^held for approval$" "$T_TMP/out"
t_ok "--wait --json: one document" sh -c '
	scheduler >/dev/null 2>&1 & s=$!
	certpipe request --template sub-web-server --cn jw.example.com --wait 30 --json > jw.json; rc=$?
	kill $s; wait $s; exit $rc'
t_is "with the certificate" "$(python3 -c 'import json; d = json.load(open("jw.json")); print(d["status"], d["certificate"] == int(d["certificate"]))')" \
	"complete True"
t_done
