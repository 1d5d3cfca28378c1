#!/bin/sh
# certpipe submit: a CSR made elsewhere becomes a job and an order; a bad
# CSR is refused before anything changes; then through the pipeline.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
db=$CERTPIPE_HOME/certpipe.db
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe ca export root > root.pem
q() { sqlite3 "$db" "$1"; }
state() {
	echo "$(q 'SELECT count(*) FROM orders') $(ls "$CERTPIPE_HOME/queue/incoming/new" | wc -l)" \
		"$(q "SELECT count(*) FROM audit WHERE event LIKE 'certificate.request%'")"
}

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout a.key \
	-subj /CN=a.example.com/O=Acme -addext subjectAltName=DNS:a.example.com,DNS:b.example.com \
	-out a.csr 2>/dev/null || t_bail "openssl req"
openssl req -in a.csr -outform der -out a.der

t_ok "submit a PEM CSR" certpipe submit --template sub-web-server --days 30 a.csr
id=$(cat "$T_TMP/out")
job=$CERTPIPE_HOME/queue/incoming/new/$id
t_ok "the job is committed to queue/incoming" rec-cat --check "$job"
rec-cat "$job" > job.rec
t_grep "Type csr" "^Type: csr$" job.rec
t_grep "Source cli" "^Source: cli$" job.rec
t_grep "Requested-By" "^Requested-By: .+" job.rec
t_grep "Days" "^Days: 30$" job.rec
t_grep "Template" "^Template: sub-web-server$" job.rec
t_is "names from the CSR" "$(rec-cat --field SAN job.rec | tr '\n' ' ')" "DNS:a.example.com DNS:b.example.com "
sed -n '/BEGIN CERTIFICATE REQUEST/,/END CERTIFICATE REQUEST/p' job.rec > job.csr
t_is "the CSR travels unchanged" "$(openssl req -in job.csr -outform der | od -An -tx1)" "$(od -An -tx1 a.der)"
t_is "order: csr, pending" "$(q "SELECT type, status, cn, key_ref IS NULL FROM orders WHERE job = '$id'")" \
	"csr|pending|a.example.com|1"
t_is "audited" "$(q "SELECT event FROM audit WHERE object = 'order:$id'")" \
	"certificate.request_csr.submitted"

t_ok "submit DER from standard input" sh -c 'certpipe submit --template sub-web-server - < a.der'
t_ok "a second job" rec-cat --check "$CERTPIPE_HOME/queue/incoming/new/$(cat "$T_TMP/out")"

# bad input: one line, a code, nothing changed
before=$(state)
printf 'not a request\n' > junk.csr
t_exit "not a CSR" 65 certpipe submit --template sub-web-server junk.csr
t_oneline "not a CSR"
# a request damaged in transit
sed '2s/^M/N/' a.csr > forged.csr
t_exit "a corrupted CSR" 65 certpipe submit --template sub-web-server forged.csr
t_oneline "forged"
openssl req -new -newkey rsa:1024 -nodes -keyout /dev/null -subj /CN=weak.example.com \
	-out weak.csr 2>/dev/null
t_exit "a weak key" 65 certpipe submit --template sub-web-server weak.csr
t_oneline "weak key"
head -c 70000 /dev/zero | tr '\0' A > big.csr
t_exit "larger than 64 KiB" 65 certpipe submit --template sub-web-server big.csr
t_exit "a missing file" 66 certpipe submit --template sub-web-server nothing.csr
t_oneline "missing file"
t_exit "two templates and none named" 64 certpipe submit a.csr
t_exit "an unknown template" 66 certpipe submit --template nope a.csr
t_exit "no file" 64 certpipe submit --template sub-web-server
t_is "refused submissions changed nothing" "$(state)" "$before"

certpipe domain add example.com >/dev/null || t_bail domain
scheduler --once >/dev/null 2>&1
t_ok "submit, then scheduler --once" certpipe submit --template sub-web-server a.csr
sid=$(cat "$T_TMP/out")
t_ok "scheduler --once" scheduler --once
t_is "order complete" "$(q "SELECT status FROM orders WHERE job = '$sid'")" complete
cid=$(q "SELECT c.id FROM certificates c JOIN orders o ON c.order_id = o.id WHERE o.job = '$sid'")
certpipe cert export "$cid" > s.pem
certpipe cert export "$cid" --part chain > s.chain
t_ok "the certificate verifies -x509_strict" openssl verify -x509_strict \
	-CAfile root.pem -untrusted s.chain s.pem
t_is "for the CSR's key" "$(openssl x509 -in s.pem -noout -pubkey)" "$(openssl pkey -in a.key -pubout)"
openssl x509 -in s.pem -noout -ext subjectAltName > s.san
t_grep "with the CSR's names" "DNS:a.example.com, DNS:b.example.com" s.san
t_done
