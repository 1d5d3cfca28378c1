#!/bin/sh
# Delegated signers renewed before they expire: certpipe ocsp|tsa rotate
# --due (a third of the lifetime left, or --margin / signer_renew_days),
# run by the scheduler after its pass like the publishers; the new OCSP
# signer re-signs the store (ocsp-sign --due), the new TSA signer signs
# tokens. Short-lived signers (3 days) and a margin larger than that
# stand in for a clock moved forward. Checked with openssl x509, ocsp, ts.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
DB=$CERTPIPE_HOME/certpipe.db
POLICY=1.3.6.1.4.1.99999.7.3
q() { sqlite3 "$DB" "$1"; }
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# has_cert FILE CERT: FILE holds CERT's PEM (printed by openssl)
has_cert() {
	grep -v -e '^-----' -e '^subject' -e '^issuer' -e '^$' "$1" | tr -d '\n' > "$1.b64"
	grep -qF "$(sed '1d;$d' "$2" | tr -d '\n')" "$1.b64"
}
certpipe ca create root --cn Root >/dev/null && certpipe ca create other --cn Other >/dev/null &&
	certpipe domain add example.com >/dev/null || t_bail "CAs"
certpipe ca export root > root.pem && certpipe ca export other > other.pem || t_bail export
certpipe ocsp create --ca root --days 3 >/dev/null && certpipe ocsp create --ca other --days 3 >/dev/null &&
	certpipe tsa create --ca root --days 3 --policy $POLICY >/dev/null &&
	scheduler --once >/dev/null 2>&1 || t_bail "signers"
certpipe ocsp show --ca root --pem > o1.pem && certpipe tsa show --ca root --pem > t1.pem || t_bail "show"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout a.key \
	-subj /CN=a.example.com -out a.csr 2>/dev/null || t_bail csr
parse-csr a.csr | check-policy --template root-web-server | sign > a.rec || t_bail pipeline
awk '$0 == "-----BEGIN CERTIFICATE-----" { p = 1 } p { print } p && $0 == "-----END CERTIFICATE-----" { exit }' \
	a.rec > a.pem
ocsp-sign --presign >/dev/null || t_bail presign
t_is "a 3-day OCSP signer" $(( ($(date -d "$(openssl x509 -in o1.pem -noout -enddate | cut -d= -f2)" +%s) - \
	$(date -d "$(openssl x509 -in o1.pem -noout -startdate | cut -d= -f2)" +%s)) / 86400 )) 3
certpipe ocsp show --ca other --pem > x1.pem || t_bail "show other"

# --- the command (on CA other) ---------------------------------------------
t_exit "--due: three days left of three: not due (1)" 1 certpipe ocsp rotate --due
t_exit "--margin without --due" 64 certpipe ocsp rotate --ca other --margin 5
t_exit "--wait with --due" 64 certpipe ocsp rotate --due --wait 5
t_exit "neither --ca nor --due" 64 certpipe ocsp rotate
t_exit "a bad --margin" 65 certpipe ocsp rotate --due --margin x
t_exit "--margin 1: not due either" 1 certpipe ocsp rotate --due --margin 1
t_is "  nothing queued, nothing audited" "$(q "SELECT count(*) FROM audit WHERE event = 'signer.ocsp.rotate'")" 0
t_ok "--due --margin 5 --ca other (more than the lifetime): rotated" certpipe ocsp rotate --due --margin 5 --ca other
t_is "  one renewal order, audited" "$(q "SELECT count(*) FROM orders WHERE type = 'renewal' AND status = 'pending'") $(q "SELECT count(*) FROM audit WHERE event = 'signer.ocsp.rotate'")" "1 1"
t_exit "  again, while it is under way: nothing to do (1)" 1 certpipe ocsp rotate --due --margin 5 --ca other
t_is "  still one order" "$(q "SELECT count(*) FROM orders WHERE type = 'renewal'")" 1
t_ok "the scheduler issues it" scheduler --once
certpipe ocsp show --ca other --pem > x2.pem || t_bail "show x2"
t_ok "  a new OCSP signer" test "$(serial x1.pem)" != "$(serial x2.pem)"
t_ok "  with a new key" test "$(openssl x509 -in x1.pem -noout -pubkey)" != "$(openssl x509 -in x2.pem -noout -pubkey)"
t_is "  the old one superseded" "$(q "SELECT status FROM certificates WHERE upper(serial) = '$(serial x1.pem)'")" superseded
t_ok "  the new one verifies under other, for OCSP signing" openssl verify -CAfile other.pem -purpose ocsphelper x2.pem
t_ok "  root's were left alone" test "$(certpipe ocsp show --ca root --pem | serial /dev/stdin)" = "$(serial o1.pem)"

# --- the scheduler does it by itself, with the instance's margin ----------
echo "signer_renew_days = 5" >> "$CERTPIPE_HOME/certpipe.conf"
t_ok "scheduler --once with signer_renew_days = 5" scheduler --once -v
t_grep "  rotated the signers" "certpipe: published" "$T_TMP/err"
t_grep "  and the store re-signed after it (ocsp-sign --due)" "ocsp-sign: published" "$T_TMP/err"
certpipe ocsp show --ca root --pem > o3.pem && certpipe tsa show --ca root --pem > t3.pem || t_bail "show 3"
t_ok "  a new OCSP signer, issued in the same run" test "$(serial o1.pem)" != "$(serial o3.pem)"
t_ok "  a new TSA signer" test "$(serial t1.pem)" != "$(serial t3.pem)"
openssl ocsp -issuer root.pem -cert a.pem -no_nonce -reqout a.req 2>/dev/null
t_ok "the pre-signed answer verifies" sh -c 'ocsp < a.req > a.resp'
t_ok "  with openssl" openssl ocsp -respin a.resp -issuer root.pem -cert a.pem -CAfile root.pem -no_nonce -resp_text
t_grep "  good" "^a.pem: good$" "$T_TMP/out"
openssl ocsp -respin a.resp -resp_text -noverify > a.txt 2>/dev/null
t_ok "  signed by the new signer (its certificate in the response)" has_cert a.txt o3.pem
t_exit "  (not the old one)" 1 has_cert a.txt o1.pem
printf 'renewed\n' > data.txt
openssl ts -query -data data.txt -sha256 -cert -out q.der 2>/dev/null || t_bail "ts query"
t_ok "a timestamp" sh -c 'tsa --filter < q.der > r.der'
t_ok "  verifies" openssl ts -verify -data data.txt -in r.der -CAfile root.pem
openssl ts -reply -in r.der -token_out -out tok.der 2>/dev/null
openssl pkcs7 -inform DER -in tok.der -print_certs > tok.txt 2>/dev/null
t_ok "  signed by the new TSA signer (its certificate in the token)" has_cert tok.txt t3.pem
t_exit "then nothing is due: the new signers have 30 days" 1 certpipe ocsp rotate --due
t_exit "  nor TSA" 1 certpipe tsa rotate --due
t_exit "  and the next scheduler run has nothing to do" 1 scheduler --once
t_done
