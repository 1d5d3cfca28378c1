#!/bin/sh
# certpipe renew: which certificates are due, the renewal jobs and their
# CSRs (same key, or a new one with --rekey), orders and audit, paging
# across commits, exit 1 when nothing is due; then through the pipeline:
# new serials, the old certificates superseded, --rekey a new key.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
db=$CERTPIPE_HOME/certpipe.db
pass=$CERTPIPE_HOME/keys/passphrase
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe ca export root > root.pem
q() { sqlite3 "$db" "$1"; }

# Managed certificates whose keys are in the key store, as sign leaves
# them: issued by the library, recorded, key_ref set.
managed() { # managed NAME OPENSSL-ALG-ARGS...
	n=$1; shift
	openssl genpkey "$@" -out "$n.key" 2>/dev/null || t_bail "genpkey $n"
	k=$(cat /proc/sys/kernel/random/uuid)
	openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$n.key" -passout "file:$pass" \
		-out "$CERTPIPE_HOME/keys/$k.key" && chmod 600 "$CERTPIPE_HOME/keys/$k.key"
	openssl req -new -key "$n.key" -subj "/CN=$n.example.com/O=Acme" -out "$n.csr" 2>/dev/null
	"$CERTPIPE_BUILD/tests/issue-leaf" "$CERTPIPE_HOME" default sub sub-web-server "$n.csr" \
		"$n.example.com" --record > "$n.pem" || t_bail "issue $n"
	q "UPDATE certificates SET key_ref = 'file:keys/$k.key' WHERE cn = '$n.example.com'"
}
managed ec -algorithm EC -pkeyopt ec_paramgen_curve:P-256
managed rsa -algorithm RSA -pkeyopt rsa_keygen_bits:2048
managed ed -algorithm ED25519
# issued from a customer's CSR: no key here
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cust.key \
	-subj /CN=cust.example.com -out cust.csr 2>/dev/null
"$CERTPIPE_BUILD/tests/issue-leaf" "$CERTPIPE_HOME" default sub sub-web-server cust.csr \
	cust.example.com --record > cust.pem || t_bail "issue cust"
# found elsewhere, and expiring soon: not ours to renew
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-subj /CN=found.example.net -days 3 -out found.pem 2>/dev/null
certpipe cert import found.pem >/dev/null || t_bail import
jobs() { ls "$CERTPIPE_HOME/queue/incoming/new" | wc -l; }
state() { echo "$(q 'SELECT count(*) FROM orders') $(ls "$CERTPIPE_HOME/keys" | wc -l) $(jobs)"; }

before=$(state)
t_exit "nothing due within 30d: exit 1" 1 certpipe renew --within 30d
t_grep "says so" "^queued 0 renewals, skipped 0$" "$T_TMP/out"
t_ok "--dry-run lists what is due" certpipe renew --within 400d --dry-run
t_is "three due, with a key" "$(grep -c example.com "$T_TMP/out")" 3
t_grep "and the summary" "^would queue 3 renewals, skipped 1$" "$T_TMP/out"
t_ok "--dry-run --json" sh -c 'certpipe renew --within 400d --dry-run --json > d.json'
t_is "counts as JSON" "$(python3 -c 'import json; d = json.load(open("d.json")); print(d["dry_run"], d["queued"], d["skipped_no_key"], d["failed"])')" \
	"True 3 1 0"
t_is "--dry-run changed nothing" "$(state)" "$before"

# bad input: one line, a code, nothing changed
t_exit "no --within" 64 certpipe renew
t_oneline "no --within"
t_exit "a bad duration" 64 certpipe renew --within 30x
t_oneline "bad duration"
t_exit "--limit 0" 65 certpipe renew --within 400d --limit 0
t_exit "a wrong passphrase" 77 sh -c 'echo wrong-passphrase > wrong; certpipe renew --within 400d --passphrase-file wrong'
t_oneline "wrong passphrase"
t_exit "a wrong passphrase with --rekey" 77 certpipe renew --within 400d --rekey --passphrase-file wrong
t_is "refused runs changed nothing" "$(state)" "$before"

t_ok "renew --within 400d" certpipe renew --within 400d
t_grep "summary" "^queued 3 renewals, skipped 1$" "$T_TMP/out"
t_grep "the customer's certificate is named as skipped" \
	"^1 certificate skipped: no server-side key; submit a new CSR$" "$T_TMP/out"
t_is "three renewal orders, pending, linked, with the certificate's key" \
	"$(q "SELECT count(*) FROM orders o JOIN certificates c ON c.id = o.renewal_of
		WHERE o.type = 'renewal' AND o.status = 'pending' AND o.key_ref = c.key_ref")" 3
t_is "audited per job" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.renewal.queued'")" 3
t_is "three jobs" "$(jobs)" 3
for n in ec rsa ed; do
	serial=$(openssl x509 -in $n.pem -noout -serial | cut -d= -f2 | tr A-F a-f)
	f=$(grep -l "^Renewal-Of: $serial$" "$CERTPIPE_HOME"/queue/incoming/new/*)
	t_ok "$n: a job renews it" test -f "$f"
	rec-cat "$f" > $n.rec
	t_grep "$n: Type renew, Source renewal" "^Type: renew$" $n.rec
	t_grep "$n: Source renewal" "^Source: renewal$" $n.rec
	t_grep "$n: the certificate's template" "^Template: sub-web-server$" $n.rec
	sed -n '/BEGIN CERTIFICATE REQUEST/,/END CERTIFICATE REQUEST/p' $n.rec > $n.req
	t_ok "$n: its CSR verifies" openssl req -in $n.req -noout -verify
	t_is "$n: signed by the certificate's key" "$(openssl req -in $n.req -noout -pubkey)" \
		"$(openssl x509 -in $n.pem -noout -pubkey)"
	t_is "$n: same subject" "$(openssl req -in $n.req -noout -subject | sed 's/^subject=//')" \
		"$(openssl x509 -in $n.pem -noout -subject | sed 's/^subject=//')"
	t_is "$n: same names" "$(openssl req -in $n.req -noout -text | grep -A1 'Subject Alternative Name' | tail -1 | tr -d ' ')" \
		"$(openssl x509 -in $n.pem -noout -ext subjectAltName | tail -1 | tr -d ' ')"
done
t_exit "a second run finds renewals under way: exit 1" 1 certpipe renew --within 400d
t_grep "nothing queued" "^queued 0 renewals, skipped 1$" "$T_TMP/out"

# A crash between the orders' commit and the spool: an order pending for
# over five minutes whose job is in no queue gets its job back, once.
lost=$(q "SELECT job FROM orders WHERE type = 'renewal' ORDER BY id LIMIT 1")
cp "$CERTPIPE_HOME/queue/incoming/new/$lost" lost.rec
rm "$CERTPIPE_HOME/queue/incoming/new/$lost"
t_exit "a lost job younger than five minutes is left alone" 1 certpipe renew --within 400d
q "UPDATE orders SET updated_at = '2020-01-01T00:00:00Z' WHERE type = 'renewal'"
t_ok "an older one is re-queued" certpipe renew --within 400d
t_grep "and counted" "^re-queued 1 lost renewal job$" "$T_TMP/out"
t_is "the same job as before" "$(rec-cat "$CERTPIPE_HOME/queue/incoming/new/$lost")" "$(rec-cat lost.rec)"
t_is "audited" "$(q "SELECT count(*) FROM audit WHERE event = 'order.requeued' AND object = 'order:$lost'")" 1
t_exit "only once" 1 certpipe renew --within 400d

# --rekey: a new key of the same type, stored encrypted, named by the order
q "UPDATE orders SET status = 'failed' WHERE type = 'renewal'"
rm -f "$CERTPIPE_HOME"/queue/incoming/new/*
t_ok "renew --rekey" certpipe renew --within 400d --rekey
t_is "three new keys" "$(q "SELECT count(*) FROM orders o JOIN certificates c ON c.id = o.renewal_of
	WHERE o.status = 'pending' AND o.key_ref <> c.key_ref")" 3
for n in ec rsa ed; do
	serial=$(openssl x509 -in $n.pem -noout -serial | cut -d= -f2 | tr A-F a-f)
	f=$(grep -l "^Renewal-Of: $serial$" "$CERTPIPE_HOME"/queue/incoming/new/*)
	rec-cat "$f" | sed -n '/BEGIN CERTIFICATE REQUEST/,/END CERTIFICATE REQUEST/p' > $n.rk
	t_ok "$n: rekeyed CSR verifies" openssl req -in $n.rk -noout -verify
	t_ok "$n: with a different public key" sh -c "test \"\$(openssl req -in $n.rk -noout -pubkey)\" != \
		\"\$(openssl x509 -in $n.pem -noout -pubkey)\""
	ref=$(q "SELECT o.key_ref FROM orders o JOIN certificates c ON c.id = o.renewal_of
		WHERE o.status = 'pending' AND c.serial = '$serial'")
	t_is "$n: the new key is stored, 0600" "$(stat -c %a "$CERTPIPE_HOME/${ref#file:}")" 600
	t_is "$n: and is the CSR's" "$(openssl pkey -in "$CERTPIPE_HOME/${ref#file:}" -passin "file:$pass" -pubout)" \
		"$(openssl req -in $n.rk -noout -pubkey)"
	t_is "$n: same key type" "$(openssl req -in $n.rk -noout -text | grep 'Public Key Algorithm')" \
		"$(openssl x509 -in $n.pem -noout -text | grep 'Public Key Algorithm')"
done

# --limit, and paging: 1050 due certificates with one not_after cross
# two commits of 500; each is queued once.
q "UPDATE orders SET status = 'failed' WHERE type = 'renewal'"
rm -f "$CERTPIPE_HOME"/queue/incoming/new/*
t_ok "--limit 2" certpipe renew --within 400d --limit 2
t_grep "queues two" "^queued 2 renewals" "$T_TMP/out"
q "UPDATE orders SET status = 'failed' WHERE type = 'renewal'"
rm -f "$CERTPIPE_HOME"/queue/incoming/new/*
q "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1050)
	INSERT INTO certificates (realm_id, ca_id, template_id, serial, issuer, subject, cn,
		not_before, not_after, source, fingerprint, pem, created_at, key_ref)
	SELECT c.realm_id, c.ca_id, c.template_id, printf('%x%04x', 4660, i), c.issuer, c.subject,
		c.cn, c.not_before, c.not_after, 'managed', c.fingerprint, c.pem, c.created_at, c.key_ref
	FROM certificates c, n WHERE c.cn = 'ec.example.com'"
t_ok "renew 1053 certificates" certpipe renew --within 400d
t_grep "one summary" "^queued 1053 renewals, skipped 1$" "$T_TMP/out"
t_is "one job each" "$(jobs)" 1053
t_is "one pending order each" \
	"$(q "SELECT count(DISTINCT renewal_of) || ' ' || count(*) FROM orders WHERE status = 'pending'")" "1053 1053"
t_exit "then nothing is due" 1 certpipe renew --within 400d
t_ok "the audit chain verifies" certpipe audit verify

new_home "$T_TMP/home2"
db=$CERTPIPE_HOME/certpipe.db
pass=$CERTPIPE_HOME/keys/passphrase
certpipe ca create root --cn Root >/dev/null || t_bail root2
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub2
certpipe domain add example.com >/dev/null || t_bail domain
certpipe template disable root-web-server >/dev/null
certpipe ca export root > root2.pem
for a in ec-256 rsa-2048; do
	certpipe request --cn "$a.example.com" --san "www.$a.example.com" --alg $a >/dev/null ||
		t_bail "request $a"
done
scheduler --once >/dev/null 2>&1
t_is "two managed certificates" "$(q "SELECT count(*) FROM certificates WHERE source = 'managed' AND key_ref IS NOT NULL")" 2
q "SELECT serial FROM certificates ORDER BY id" > old.serials
t_ok "renew --within 400d" certpipe renew --within 400d
t_exit "a second run queues nothing" 1 certpipe renew --within 400d
t_ok "scheduler --once" scheduler --once
t_is "renewals complete" "$(q "SELECT count(*) FROM orders WHERE type = 'renewal' AND status = 'complete'")" 2
t_is "the old certificates are superseded" "$(q "SELECT count(*) FROM certificates WHERE status = 'superseded'")" 2
for a in ec-256 rsa-2048; do
	new=$(q "SELECT id FROM certificates WHERE cn = '$a.example.com' AND status = 'active'")
	old=$(q "SELECT id FROM certificates WHERE cn = '$a.example.com' AND status = 'superseded'")
	certpipe cert export "$new" > n.pem; certpipe cert export "$old" > o.pem
	certpipe cert export "$new" --part chain > n.chain
	t_ok "$a: renewed certificate verifies -x509_strict" openssl verify -x509_strict \
		-CAfile root2.pem -untrusted n.chain n.pem
	t_ok "$a: a new serial" sh -c 'test "$(openssl x509 -in n.pem -noout -serial)" != "$(openssl x509 -in o.pem -noout -serial)"'
	t_is "$a: same names" "$(openssl x509 -in n.pem -noout -ext subjectAltName)" \
		"$(openssl x509 -in o.pem -noout -ext subjectAltName)"
	t_is "$a: same key" "$(openssl x509 -in n.pem -noout -pubkey)" "$(openssl x509 -in o.pem -noout -pubkey)"
done
# the new certificates expire within 400 days too
t_ok "renew --rekey" certpipe renew --within 400d --rekey
t_grep "renews the new ones" "^queued 2 renewals" "$T_TMP/out"
t_exit "nothing due while it runs" 1 certpipe renew --within 400d
t_ok "scheduler --once" scheduler --once
for a in ec-256 rsa-2048; do
	ids=$(q "SELECT id FROM certificates WHERE cn = '$a.example.com' ORDER BY id DESC LIMIT 2" | tr '\n' ' ')
	set -- $ids
	certpipe cert export "$1" > n.pem; certpipe cert export "$2" > o.pem
	t_ok "$a: --rekey gives a different public key" \
		sh -c 'test "$(openssl x509 -in n.pem -noout -pubkey)" != "$(openssl x509 -in o.pem -noout -pubkey)"'
done
# Overlapping runs: both read the same certificates as due while a third
# party holds the write lock; once it is released, only the first to
# commit queues them, the other skips them and removes its new keys.
# The holder waits for the lock (.timeout): the probe below takes it for
# a moment, and a holder without a timeout would give up for good then.
q "UPDATE orders SET status = 'complete' WHERE type = 'renewal' AND status <> 'complete'"
mkfifo lock.in
sqlite3 -cmd ".timeout 30000" "$db" < lock.in > /dev/null 2>&1 &
lockpid=$!
exec 7> lock.in
echo "BEGIN IMMEDIATE;" >&7
i=0
while sqlite3 -cmd ".timeout 0" "$db" "BEGIN IMMEDIATE; ROLLBACK;" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || t_bail "no write lock"; sleep 0.1
done
keys0=$(ls "$CERTPIPE_HOME/keys" | wc -l)
certpipe renew --within 400d --rekey > run1.out 2>&1 & r1=$!
certpipe renew --within 400d --rekey > run2.out 2>&1 & r2=$!
i=0
while [ "$(ls "$CERTPIPE_HOME/keys" | wc -l)" -lt $((keys0 + 4)) ]; do
	i=$((i + 1)); [ $i -lt 100 ] || t_bail "runs made no keys"; sleep 0.1
done
echo "COMMIT;" >&7
exec 7>&-
wait $lockpid
wait $r1; rc1=$?
wait $r2; rc2=$?
t_is "one run queues (0), the other finds nothing left to queue (1)" \
	"$(printf '%s\n' $rc1 $rc2 | sort | tr '\n' ' ')" "0 1 "
t_is "one renewal order per certificate" \
	"$(q "SELECT count(*) FROM orders WHERE type = 'renewal' AND status = 'pending'") $(q "SELECT count(*) FROM (SELECT renewal_of FROM orders WHERE status = 'pending' GROUP BY renewal_of HAVING count(*) > 1)")" "2 0"
t_is "one run queued them, the other skipped them" \
	"$(cat run1.out run2.out | grep -c -e '^queued 2 renewals, skipped 0$' -e '^2 certificates skipped: renewed by another run meanwhile$')" 2
t_is "the loser's new keys are removed" "$(ls "$CERTPIPE_HOME/keys" | wc -l)" $((keys0 + 2))
t_done
