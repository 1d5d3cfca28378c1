#!/bin/sh
# certpipe ca: hierarchy, every key type, extensions, export, verify.
. "$(dirname "$0")/lib.sh"
new_home

t_ok "root CA with defaults" certpipe ca create root --cn "Test Root CA" --o Test --c DE
t_ok "intermediate CA under root" certpipe ca create issuing --parent root --cn "Test Issuing CA"
t_ok "export intermediate chain (fullchain)" sh -c 'certpipe ca export issuing --part fullchain > "$0"' "$T_TMP/full.pem"
certpipe ca export root > "$T_TMP/root.pem"
certpipe ca export issuing > "$T_TMP/issuing.pem"
t_ok "openssl verify accepts the intermediate" openssl verify -x509_strict -CAfile "$T_TMP/root.pem" "$T_TMP/issuing.pem"
openssl x509 -in "$T_TMP/root.pem" -noout -text > "$T_TMP/root.txt"
openssl x509 -in "$T_TMP/issuing.pem" -noout -text > "$T_TMP/iss.txt"
t_grep "root is EC P-384 by default" "ASN1 OID: secp384r1" "$T_TMP/root.txt"
t_grep "intermediate is EC P-256 by default" "ASN1 OID: prime256v1" "$T_TMP/iss.txt"
t_grep "root signed with ecdsa-with-SHA384" "Signature Algorithm: ecdsa-with-SHA384" "$T_TMP/root.txt"
t_is "chain export = intermediate then root" "$(certpipe ca export issuing --part chain | openssl x509 -noout -subject)" "$(openssl x509 -in "$T_TMP/root.pem" -noout -subject)"
t_is "fullchain holds two certificates" "$(grep -c 'BEGIN CERTIFICATE' "$T_TMP/full.pem")" 2
certpipe ca export issuing --format der --out "$T_TMP/issuing.der"
t_ok "DER export parses" openssl x509 -inform der -in "$T_TMP/issuing.der" -noout
t_exit "DER refuses a chain" 64 certpipe ca export issuing --part chain --format der

# Every key type makes a working CA with the CA extensions.
for alg in rsa-2048 rsa-3072 rsa-4096 ec-256 ec-384 ec-521 ed25519 ed448; do
	t_ok "$alg root" certpipe ca create "r-$alg" --alg "$alg" --cn "Root $alg" --path-len 2
	t_ok "$alg intermediate" certpipe ca create "i-$alg" --alg "$alg" --parent "r-$alg" --cn "Sub $alg"
	certpipe ca export "r-$alg" > "$T_TMP/r.pem"
	certpipe ca export "i-$alg" > "$T_TMP/i.pem"
	t_ok "$alg: openssl verify" openssl verify -x509_strict -CAfile "$T_TMP/r.pem" "$T_TMP/i.pem"
	openssl x509 -in "$T_TMP/r.pem" -noout -text > "$T_TMP/r.txt"
	openssl x509 -in "$T_TMP/i.pem" -noout -text > "$T_TMP/i.txt"
	t_ok "$alg: root basicConstraints critical CA:TRUE pathlen:2" \
		grep -A1 -q 'Basic Constraints: critical' "$T_TMP/r.txt"
	t_grep "$alg: root path length 2" "CA:TRUE, pathlen:2" "$T_TMP/r.txt"
	t_grep "$alg: intermediate path length 0" "CA:TRUE, pathlen:0" "$T_TMP/i.txt"
	t_ok "$alg: keyUsage critical keyCertSign+cRLSign" sh -c \
		'grep -A1 "Key Usage: critical" "$0" | grep -q "Certificate Sign, CRL Sign"' "$T_TMP/i.txt"
	t_grep "$alg: SKI" "X509v3 Subject Key Identifier" "$T_TMP/i.txt"
	t_grep "$alg: AKI" "X509v3 Authority Key Identifier" "$T_TMP/i.txt"
	t_is "$alg: AKI of intermediate = SKI of root" \
		"$(openssl x509 -in "$T_TMP/i.pem" -noout -ext authorityKeyIdentifier | tail -1 | tr -d ' ' | sed 's/^keyid://')" \
		"$(openssl x509 -in "$T_TMP/r.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')"
	t_ok "$alg: certtool parses the intermediate" certtool --certificate-info --infile "$T_TMP/i.pem"
done
certpipe ca export r-ed25519 | openssl x509 -noout -text > "$T_TMP/ed.txt"
t_grep "ed25519 signs pure (no digest)" "Signature Algorithm: ED25519" "$T_TMP/ed.txt"

# A path length of 0 forbids sub-CAs; an intermediate cannot exceed its parent.
t_exit "parent with pathlen 0 refuses a sub-CA" 77 certpipe ca create deeper --parent issuing --cn Deeper
t_oneline "pathlen refusal"
t_exit "child path length must be below the parent's" 65 certpipe ca create wide --parent r-ec-256 --path-len 5 --cn Wide

# list / show / enable / disable
t_ok "ca list" certpipe ca list
t_grep "list names the intermediate and its parent" "^issuing +active +ec-256 +root " "$T_TMP/out"
t_ok "ca list --json is JSON" sh -c 'certpipe ca list --json | python3 -m json.tool'
t_ok "disable" certpipe ca disable issuing
t_is "status disabled" "$(certpipe ca show issuing --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" disabled
t_exit "a disabled CA cannot sign a sub-CA" 77 certpipe ca create x --parent issuing --cn X
t_ok "enable" certpipe ca enable issuing
t_ok "default web-server template exists" sh -c 'sqlite3 "$CERTPIPE_HOME/certpipe.db" "SELECT name FROM templates" | grep -qx issuing-web-server'
t_done
