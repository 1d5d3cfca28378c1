#!/bin/sh
# certpipe cert export --pfx: a server-side key, its certificate and the
# chain as PKCS#12 under a one-time random password, checked with openssl
# and certtool. `certpipe request` generates the key (kept in the key
# store, certificates.key_ref); the scheduler runs it through the
# pipeline.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
DB=$CERTPIPE_HOME/certpipe.db
q() { sqlite3 "$DB" "$1"; }
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe ca export root > root.pem || t_bail "export root"
certpipe domain add example.com >/dev/null || t_bail domain
certpipe request --cn k.example.com --alg rsa-2048 --template sub-web-server >/dev/null ||
	t_bail request
scheduler --once >/dev/null || t_bail scheduler
# and one from a CSR, whose key stays with its owner
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout csr.key \
	-subj /CN=csr.example.com -out csr.csr 2>/dev/null
parse-csr csr.csr | check-policy --template sub-web-server | sign >/dev/null || t_bail pipeline
K=$(q "SELECT id FROM certificates WHERE cn = 'k.example.com'")
N=$(q "SELECT id FROM certificates WHERE cn = 'csr.example.com'")
[ -n "$K" ] && [ -n "$N" ] || t_bail "no certificates"
t_ok "the requested certificate has a server-side key" [ -n "$(q "SELECT key_ref FROM certificates WHERE id = $K")" ]
t_is "the CSR one has none" "$(q "SELECT count(*) FROM certificates WHERE id = $N AND key_ref IS NULL")" 1
q "SELECT pem FROM certificates WHERE id = $K" > k.pem

t_ok "export --pfx --out" certpipe cert export "$K" --pfx --out k.pfx
t_is "stdout stays empty" "$(wc -c < "$T_TMP/out" | tr -d ' ')" 0
t_is "one line on stderr" "$(wc -l < "$T_TMP/err" | tr -d ' ')" 1
pw=$(sed -n 's/^pfx password: //p' "$T_TMP/err")
t_ok "the password is 24 base64url characters (144 bits)" sh -c 'echo "$0" | grep -Eq "^[A-Za-z0-9_-]{24}$"' "$pw"
t_is "the file is mode 0600" "$(stat -c %a k.pfx)" 600
printf '%s\n' "$pw" > pw.txt
t_ok "openssl opens it with the printed password" sh -c 'openssl pkcs12 -in k.pfx -passin fd:3 -nodes -out all.pem 3<pw.txt'
t_exit "a wrong password fails" 1 sh -c 'echo wrong-password | openssl pkcs12 -in k.pfx -passin fd:3 -nodes -out /dev/null 3<&0'
t_ok "certtool (GnuTLS) opens it too" certtool --p12-info --inder --infile k.pfx --password "$pw"
openssl pkcs12 -in k.pfx -passin fd:3 -nodes -info -nokeys -nocerts 3<pw.txt 2> info.txt >/dev/null
t_grep "bags: AES-256-CBC under PBKDF2" "PBES2, PBKDF2, AES-256-CBC" info.txt
t_grep "PBKDF2 with HMAC-SHA-256" "PRF hmacWithSHA256" info.txt
t_grep "MAC: SHA-256" "^MAC: sha256" info.txt
openssl pkey -in all.pem -pubout -out key.pub 2>/dev/null
openssl x509 -in k.pem -noout -pubkey > cert.pub
t_ok "the key is the certificate's key" cmp key.pub cert.pub
t_is "key, leaf and chain: three certificates" "$(grep -c 'BEGIN CERTIFICATE' all.pem)" 3
t_grep "the issuing CA is inside" "^subject=CN ?= ?Sub" all.pem
t_grep "the root is inside" "^subject=CN ?= ?Root" all.pem
openssl pkcs12 -in k.pfx -passin fd:3 -nokeys -cacerts -out chain.pem 3<pw.txt 2>/dev/null
openssl pkcs12 -in k.pfx -passin fd:3 -nokeys -clcerts -out leaf.pem 3<pw.txt 2>/dev/null
t_ok "the leaf verifies with the chain inside" openssl verify -CAfile root.pem -untrusted chain.pem leaf.pem
t_is "the leaf inside is the certificate" "$(openssl x509 -in leaf.pem -noout -fingerprint -sha256)" "$(openssl x509 -in k.pem -noout -fingerprint -sha256)"

# The password is shown once and kept nowhere.
t_is "not in the database" "$(grep -c -- "$pw" "$DB" "$DB-wal" 2>/dev/null | awk -F: '{ s += $NF } END { print s + 0 }')" 0
t_is "the download is audited" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.download_pfx.success' AND object = 'certificate:$K'")" 1
t_is "the audit detail has no password" "$(q "SELECT count(*) FROM audit WHERE instr(coalesce(detail, ''), '$pw') > 0")" 0

# To standard output, with a fresh password each time.
t_ok "export --pfx to a pipe" sh -c 'certpipe cert export "$0" --pfx > s.pfx' "$K"
pw2=$(sed -n 's/^pfx password: //p' "$T_TMP/err")
t_ok "a new password each export" sh -c '[ -n "$0" ] && [ "$0" != "$1" ]' "$pw2" "$pw"
printf '%s\n' "$pw2" > pw2.txt
t_ok "the piped file opens with its own password" sh -c 'openssl pkcs12 -in s.pfx -passin fd:3 -nodes -out /dev/null 3<pw2.txt'
t_exit "the first password does not open it" 1 sh -c 'openssl pkcs12 -in s.pfx -passin fd:3 -nodes -out /dev/null 3<pw.txt'

# Refusals.
t_exit "no binary on a terminal" 64 script -qec "certpipe cert export $K --pfx" /dev/null
t_exit "a certificate from a CSR has no key here" 65 certpipe cert export "$N" --pfx --out n.pfx
t_oneline "no server-side key"
t_grep "says why" "no server-side key: the private key never left its owner" "$T_TMP/err"
t_exit "--pfx does not combine with --part" 64 certpipe cert export "$K" --pfx --part chain --out x.pfx
echo wrong-passphrase > wrong.pass
t_exit "a wrong instance passphrase" 77 certpipe cert export "$K" --pfx --out w.pfx --passphrase-file wrong.pass
t_ok "refusals write no file" sh -c '[ ! -e w.pfx ] && [ ! -e n.pfx ] && [ ! -e x.pfx ]'
t_is "refusals are not downloads" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.download_pfx.success'")" 2
certpipe realm create other >/dev/null
t_exit "another realm cannot export it" 66 certpipe --realm other cert export "$K" --pfx --out o.pfx

# The PEM and DER exports are still there.
t_ok "export --part fullchain" sh -c 'certpipe cert export "$0" --part fullchain > full.pem' "$K"
t_ok "it verifies" openssl verify -CAfile root.pem -untrusted full.pem full.pem
t_ok "export --format der" sh -c 'certpipe cert export "$0" --format der --out k.der && openssl x509 -inform der -in k.der -noout' "$K"
t_ok "the audit chain verifies" certpipe audit verify
t_done
