#!/bin/sh
# certpipe ocsp / tsa: delegated signer certificates through the pipeline,
# checked with openssl (extensions, purposes, a real OCSP response and a
# real RFC 3161 token made with the signer's key); signer_find after
# rotate; renew keeps a working key; bad input changes nothing.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
db=$CERTPIPE_HOME/certpipe.db
keyget=$CERTPIPE_BUILD/tests/signer-key
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe ca export root > root.pem
certpipe ca export sub > sub.pem
cat sub.pem root.pem > chain.pem

q() { sqlite3 "$db" "$1"; }
state() {
	echo "$(q 'SELECT count(*) FROM orders') $(q 'SELECT count(*) FROM templates')" \
		"$(ls "$CERTPIPE_HOME/keys" | wc -l)" \
		"$(ls "$CERTPIPE_HOME/queue/incoming/new" | wc -l)" \
		"$(q 'SELECT count(*) FROM audit')"
}
# the extensions section of a certificate, one line each
exts() { openssl x509 -in "$1" -noout -text | sed -n '/X509v3 extensions/,/Signature Algorithm/p'; }

# --- bad input: one line, a documented code, nothing changed
before=$(state)
t_exit "ocsp create without --ca" 64 certpipe ocsp create
t_oneline "no --ca"
t_exit "an unknown CA" 66 certpipe ocsp create --ca nope
t_oneline "unknown CA"
t_exit "tsa create without a policy" 64 certpipe tsa create --ca sub
t_oneline "no policy"
t_grep "says what is missing" "--policy: required" "$T_TMP/err"
t_exit "a malformed policy OID" 65 certpipe tsa create --ca sub --policy 1.x.3
t_exit "--policy is not an ocsp option" 64 certpipe ocsp create --ca sub --policy 1.2.3.4
t_exit "an unknown key type" 65 certpipe ocsp create --ca sub --alg rsa-1024
t_exit "--days 0" 65 certpipe ocsp create --ca sub --days 0
t_exit "--wait not a number" 65 certpipe ocsp create --ca sub --wait soon
t_exit "rotate without a signer" 66 certpipe ocsp rotate --ca sub
t_oneline "rotate without a signer"
t_grep "says to create one" "use create" "$T_TMP/err"
t_exit "show without a signer" 66 certpipe tsa show --ca sub
t_exit "a wrong kind's template under the signer's name" 65 sh -c '
	certpipe template create sub-ocsp-signing --ca root --from ocsp-signing >/dev/null &&
	certpipe ocsp create --ca sub'
certpipe template delete sub-ocsp-signing >/dev/null || t_bail "template delete"
t_is "refused commands changed nothing (but the test's own template)" \
	"$(state | cut -d' ' -f1-4)" "$(echo "$before" | cut -d' ' -f1-4)"

# --- ocsp create: a job, then the scheduler
t_ok "ocsp create" certpipe ocsp create --ca sub --alg ec-256
job=$(cat "$T_TMP/out")
t_ok "the job is committed to queue/incoming" test -f "$CERTPIPE_HOME/queue/incoming/new/$job"
t_is "the template is made from the starter" \
	"$(q "SELECT t.starter, c.name, t.days, t.max_days, t.ocsp FROM templates t JOIN cas c ON c.id = t.ca_id WHERE t.name = 'sub-ocsp-signing'")" \
	"ocsp-signing|sub|30|90|0"
t_is "order: automated, pending, with a key" \
	"$(q "SELECT type, status, key_ref LIKE 'file:keys/%' FROM orders WHERE job = '$job'")" "automated|pending|1"
t_is "audited with the template, in one transaction" \
	"$(q "SELECT group_concat(event || ' ' || object, ', ') FROM (SELECT event, object FROM audit ORDER BY seq DESC LIMIT 2)")" \
	"signer.ocsp.create order:$job, template.created template:sub-ocsp-signing"
t_ok "scheduler --once" scheduler --once
t_is "order complete" "$(q "SELECT status FROM orders WHERE job = '$job'")" complete
t_ok "ocsp show" certpipe ocsp show --ca sub
t_grep "show: the CA" "^ca: +sub$" "$T_TMP/out"
t_grep "show: the key kind" "^key: +ec-256, file" "$T_TMP/out"
t_grep "show: validity" "^not after: +20[0-9-]+T" "$T_TMP/out"
certpipe ocsp show --ca sub --pem > ocsp1.pem
exts ocsp1.pem > ocsp1.txt
t_grep "EKU OCSP Signing" "^ +OCSP Signing$" ocsp1.txt
t_grep "id-pkix-ocsp-nocheck" "OCSP No Check" ocsp1.txt
t_is "KU digitalSignature only" "$(grep -A1 'Key Usage: critical' ocsp1.txt | tail -1 | tr -d ' ')" DigitalSignature
t_nogrep "no OCSP URL in the responder's own certificate" "OCSP - URI" ocsp1.txt
t_nogrep "no SAN" "Subject Alternative Name" ocsp1.txt
t_is "subject" "$(openssl x509 -in ocsp1.pem -noout -subject -nameopt RFC2253)" "subject=CN=sub OCSP Responder"
t_ok "verifies as an OCSP helper against the chain" \
	openssl verify -purpose ocsphelper -CAfile root.pem -untrusted sub.pem ocsp1.pem
t_exit "but not as a timestamp signer" 2 \
	openssl verify -purpose timestampsign -CAfile root.pem -untrusted sub.pem ocsp1.pem
t_ok "signer_find + signer_key open it" "$keyget" ocsp sub okey.pem
read -r oid oserial olen opol < "$T_TMP/out"
t_is "signer_find: the certificate shown, with the chain to the root" \
	"$oserial $olen" "$(openssl x509 -in ocsp1.pem -noout -serial | sed 's/serial=//' | tr A-F a-f) 2"
t_is "signer_key: the certificate's key" "$(openssl pkey -in okey.pem -pubout)" \
	"$(openssl x509 -in ocsp1.pem -noout -pubkey)"

before=$(state)
t_exit "a second create is rotate's job" 65 certpipe ocsp create --ca sub
t_oneline "second create"
t_grep "says so" "use rotate" "$T_TMP/err"
t_is "and changes nothing" "$(state)" "$before"

# --- tsa create --wait with a scheduler running
t_ok "tsa create --policy --wait with a scheduler" sh -c '
	scheduler >/dev/null 2>&1 & s=$!
	certpipe tsa create --ca sub --policy 1.3.6.1.4.1.99999.7 --wait 30; rc=$?
	kill $s; wait $s; exit $rc'
t_grep "reports the certificate" "^complete: certificate [0-9]+" "$T_TMP/out"
t_is "the policy is the template's" \
	"$(q "SELECT starter, policy_oid FROM templates WHERE name = 'sub-timestamping'")" \
	"timestamping|1.3.6.1.4.1.99999.7"
certpipe tsa show --ca sub --pem > tsa1.pem
exts tsa1.pem > tsa1.txt
t_grep "EKU critical" "Extended Key Usage: critical" tsa1.txt
t_is "timeStamping is the only EKU" "$(grep -A1 'Extended Key Usage' tsa1.txt | tail -1 | tr -d ' ')" TimeStamping
t_is "KU digitalSignature, nonRepudiation" \
	"$(grep -A1 'Key Usage: critical' tsa1.txt | head -2 | tail -1 | tr -d ' ')" "DigitalSignature,NonRepudiation"
t_nogrep "no OCSP No Check on a TSA" "OCSP No Check" tsa1.txt
t_nogrep "no SAN" "Subject Alternative Name" tsa1.txt
t_ok "verifies as a timestamp signer against the chain" \
	openssl verify -purpose timestampsign -CAfile root.pem -untrusted sub.pem tsa1.pem
t_ok "signer_find + signer_key for the TSA" "$keyget" tsa sub tkey.pem
t_is "signer_find: the TSA policy" "$(cut -d' ' -f4 "$T_TMP/out")" 1.3.6.1.4.1.99999.7
t_ok "tsa show --json" sh -c 'certpipe tsa show --ca sub --json > tsa.json'
t_is "--json" "$(python3 -c 'import json; d = json.load(open("tsa.json")); print(d["kind"], d["ca"], d["policy_oid"], d["key_alg"])')" \
	"tsa sub 1.3.6.1.4.1.99999.7 rsa-2048"

# --- the signers sign what relying parties verify with openssl
cat > ts.cnf <<EOF
[ tsa ]
default_tsa = t
[ t ]
serial = $T_TMP/tsaserial
crypto_device = builtin
signer_cert = $T_TMP/tsa1.pem
certs = $T_TMP/sub.pem
signer_key = $T_TMP/tkey.pem
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.7
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF
echo 01 > tsaserial
echo "hello" > data.txt
openssl ts -query -data data.txt -sha256 -cert -out req.tsq 2>/dev/null || t_bail "ts query"
t_ok "openssl ts -reply signs a token with the TSA key" \
	openssl ts -reply -config ts.cnf -queryfile req.tsq -out resp.tsr
t_ok "openssl ts -verify accepts it against the chain" \
	openssl ts -verify -queryfile req.tsq -in resp.tsr -CAfile root.pem -untrusted sub.pem
printf 'V\t301231235959Z\t\t%s\tunknown\t/CN=sub Time Stamping Authority\n' \
	"$(openssl x509 -in tsa1.pem -noout -serial | sed 's/serial=//')" > index.txt
openssl ocsp -issuer sub.pem -cert tsa1.pem -no_nonce -reqout oreq.der >/dev/null 2>&1 || t_bail "ocsp req"
t_ok "openssl ocsp signs a response with the delegated responder key" \
	openssl ocsp -index index.txt -rsigner ocsp1.pem -rkey okey.pem -CA sub.pem \
		-reqin oreq.der -respout oresp.der -ndays 1
t_ok "openssl ocsp verifies the delegated response" sh -c '
	openssl ocsp -respin oresp.der -issuer sub.pem -cert tsa1.pem -CAfile root.pem \
		-verify_other sub.pem > ocsp.out 2>&1 &&
	grep -q "Response verify OK" ocsp.out && grep -q "tsa1.pem: good" ocsp.out'

# --- rotate: a new key, signer_find returns the new one, the old stays valid
t_ok "ocsp rotate" certpipe ocsp rotate --ca sub
rjob=$(cat "$T_TMP/out")
t_grep "a renewal job with a new key" "^Rekey: yes$" "$CERTPIPE_HOME/queue/incoming/new/$rjob"
t_exit "a second rotate while one is under way" 75 certpipe ocsp rotate --ca sub
t_oneline "rotate under way"
t_ok "scheduler --once" scheduler --once
certpipe ocsp show --ca sub --pem > ocsp2.pem
t_ok "the new one is shown" sh -c '! cmp -s ocsp1.pem ocsp2.pem'
t_ok "signer_find returns the new one" "$keyget" ocsp sub okey2.pem
read -r nid nserial nlen npol < "$T_TMP/out"
t_is "its serial" "$nserial" "$(openssl x509 -in ocsp2.pem -noout -serial | sed 's/serial=//' | tr A-F a-f)"
t_ok "with a new key" sh -c '! cmp -s okey.pem okey2.pem'
t_is "signer_key: the new certificate's key" "$(openssl pkey -in okey2.pem -pubout)" \
	"$(openssl x509 -in ocsp2.pem -noout -pubkey)"
openssl pkey -in okey2.pem -noout -text > okey2.txt
t_grep "the key type is kept" "prime256v1|P-256" okey2.txt
t_is "the old one is superseded, not revoked" \
	"$(q "SELECT status, superseded_by FROM certificates WHERE id = $oid")" "superseded|$nid"
t_ok "the old one still verifies" \
	openssl verify -purpose ocsphelper -CAfile root.pem -untrusted sub.pem ocsp1.pem
exts ocsp2.pem > ocsp2.txt
t_grep "the rotated one has OCSP No Check" "OCSP No Check" ocsp2.txt
t_ok "ocsp list" certpipe ocsp list
t_is "list: both, the new one marked active" \
	"$(cut -c1-8 "$T_TMP/out" | tr -s ' ' | tr '\n' '/')" " $oid /* $nid /"
t_ok "ocsp list --json" sh -c 'certpipe ocsp list --json > list.json'
t_is "--json" "$(python3 -c 'import json; print(" ".join("%d:%s:%s" % (r["certificate"], r["status"], r["active_signer"]) for r in json.load(open("list.json"))))')" \
	"$oid:superseded:False $nid:active:True"

# --- renew: the signer is due (30 days) and keeps a working key
t_ok "renew --within 40d" certpipe renew --within 40d
t_grep "only the OCSP signer is due" "^queued 1 renewal" "$T_TMP/out"
t_ok "scheduler --once" scheduler --once
t_ok "signer_find after renew" "$keyget" ocsp sub okey3.pem
read -r rid rserial rlen rpol < "$T_TMP/out"
t_ok "a newer certificate" test "$rid" -gt "$nid"
t_ok "the same key" cmp -s okey2.pem okey3.pem
certpipe ocsp show --ca sub --pem > ocsp3.pem
t_is "which the renewed certificate holds" "$(openssl pkey -in okey3.pem -pubout)" \
	"$(openssl x509 -in ocsp3.pem -noout -pubkey)"
exts ocsp3.pem > ocsp3.txt
t_grep "the renewal has OCSP No Check" "OCSP No Check" ocsp3.txt
t_ok "renew --rekey --within 40d" certpipe renew --rekey --within 40d
t_ok "scheduler --once" scheduler --once
t_ok "signer_find after renew --rekey" "$keyget" ocsp sub okey4.pem
t_ok "a new key" sh -c '! cmp -s okey3.pem okey4.pem'
certpipe ocsp show --ca sub --pem > ocsp4.pem
t_is "which the renewed certificate holds" "$(openssl pkey -in okey4.pem -pubout)" \
	"$(openssl x509 -in ocsp4.pem -noout -pubkey)"
t_ok "it verifies as an OCSP helper" \
	openssl verify -purpose ocsphelper -CAfile root.pem -untrusted sub.pem ocsp4.pem

# --- tsa rotate keeps the policy; a revoked signer is not found
t_ok "tsa rotate --alg ec-384 --wait" sh -c '
	scheduler >/dev/null 2>&1 & s=$!
	certpipe tsa rotate --ca sub --alg ec-384 --wait 30; rc=$?
	kill $s; wait $s; exit $rc'
certpipe tsa show --ca sub --pem > tsa2.pem
t_ok "the new TSA verifies as a timestamp signer" \
	openssl verify -purpose timestampsign -CAfile root.pem -untrusted sub.pem tsa2.pem
openssl x509 -in tsa2.pem -noout -text > tsa2.txt
t_grep "with the key type asked for" "secp384r1|P-384" tsa2.txt
t_ok "revoke the active TSA certificate" certpipe cert revoke --yes --reason keyCompromise \
	"$(openssl x509 -in tsa2.pem -noout -serial | sed 's/serial=//' | tr A-F a-f)"
t_exit "a revoked signer is not the active one" 66 "$keyget" tsa sub tkey3.pem
t_exit "signer_key: a wrong passphrase is 77" 77 env CERTPIPE_PASSPHRASE=not-the-passphrase \
	"$keyget" ocsp sub okey5.pem
t_ok "and writes no key" test ! -e okey5.pem
certpipe ca create other --parent root --cn Other >/dev/null || t_bail other
certpipe ca disable other >/dev/null || t_bail disable
before=$(state)
t_exit "a disabled CA gets no signer" 77 certpipe ocsp create --ca other
t_oneline "disabled CA"
t_is "and nothing changed" "$(state)" "$before"
t_ok "audit chain verifies" certpipe audit verify
t_nogrep "no passphrase in any message" "$(cat "$CERTPIPE_HOME/keys/passphrase")" "$T_TMP/err"
t_done
