#!/bin/sh
# README command 1's script, on a throwaway instance: twice (re-running
# is harmless), then the exported chain must pass openssl verify, and the
# certificate it issued through the pipeline must verify against it.
. "$(dirname "$0")/lib.sh"
qs=$T_TOP/scripts/quickstart
t_ok "quickstart on a new instance" "$qs" "$T_TMP/qs"
t_ok "quickstart again" "$qs" "$T_TMP/qs"
t_is "still two CAs" "$(certpipe --home "$T_TMP/qs" ca list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
pub=$T_TMP/qs/pub/ca
t_ok "exported chain verifies" openssl verify -x509_strict -CAfile "$pub/root.pem" "$pub/issuing.pem"
t_ok "fullchain verifies" openssl verify -x509_strict -CAfile "$pub/root.pem" -untrusted "$pub/issuing-fullchain.pem" "$pub/issuing.pem"
t_grep "root is EC P-384" "secp384r1" "$(openssl x509 -in "$pub/root.pem" -noout -text > "$T_TMP/r.txt"; echo "$T_TMP/r.txt")"
t_grep "issuing CA is EC P-256" "prime256v1" "$(openssl x509 -in "$pub/issuing.pem" -noout -text > "$T_TMP/i.txt"; echo "$T_TMP/i.txt")"
t_ok "DER copies parse" openssl x509 -inform der -in "$pub/root.crt" -noout
leaf=$T_TMP/qs/pub/certs/www.example.test.pem
t_ok "the issued certificate verifies with the chain" openssl verify -x509_strict \
	-CAfile "$pub/root.pem" -untrusted "$pub/issuing.pem" "$leaf"
openssl x509 -in "$leaf" -noout -ext subjectAltName > "$T_TMP/san.txt" 2>&1
t_grep "with both names" "DNS:www.example.test, DNS:example.test" "$T_TMP/san.txt"
t_is "two certificates issued by two runs, both managed and active" \
	"$(certpipe --home "$T_TMP/qs" cert list --source managed --status active | grep -c www.example.test)" 2
t_is "two complete orders" \
	"$(sqlite3 "$T_TMP/qs/certpipe.db" "SELECT count(*) FROM orders WHERE status = 'complete' AND type = 'automated'")" 2
t_is "nothing left in the queue" "$(ls "$T_TMP/qs/queue/incoming/new" | wc -l)" 0
t_done
