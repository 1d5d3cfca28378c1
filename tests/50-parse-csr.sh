#!/bin/sh
# parse-csr: requests in, records out; proof of possession; refusals.
. "$(dirname "$0")/lib.sh"
cd "$T_TMP" || exit 1
req() { # req OUT KEYSPEC SUBJ [ADDEXT...]
	out=$1 ks=$2 subj=$3; shift 3
	openssl req -new $ks -nodes -keyout "$out.key" -subj "$subj" "$@" -out "$out" 2>/dev/null ||
		t_bail "openssl req $out"
}
req a.csr "-newkey ec -pkeyopt ec_paramgen_curve:P-256" "/CN=App.Example.com/O=Acme/emailAddress=x@y.z" \
	-addext "subjectAltName=DNS:www.example.com,IP:192.0.2.1" -addext "basicConstraints=critical,CA:TRUE"
req r.csr "-newkey rsa:3072" "/CN=r.example.com"
req e.csr "-newkey ed25519" "/CN=e.example.com"
req w.csr "-newkey rsa:1024" "/CN=weak.example.com"
req k.csr "-newkey ec -pkeyopt ec_paramgen_curve:secp256k1" "/CN=k.example.com"

t_ok "one PEM request" sh -c 'parse-csr a.csr > a.rec'
t_ok "the record is well formed" rec-cat --check a.rec
t_is "CN kept as given" "$(rec-cat --field CN a.rec)" "App.Example.com"
t_is "SANs" "$(rec-cat --field SAN a.rec | tr '\n' ' ')" "DNS:www.example.com IP:192.0.2.1 "
t_is "key" "$(rec-cat --field Key-Alg a.rec)/$(rec-cat --field Key-Bits a.rec)" "ec-256/256"
t_is "what was dropped" "$(rec-cat --field Warning a.rec | tr '\n' '|')" \
	"subject field emailAddress dropped|requested extension basicConstraints dropped|"
sed -n '/BEGIN CERTIFICATE REQUEST/,/END CERTIFICATE REQUEST/p' a.rec > a.out.csr
t_ok "the carried request verifies with openssl" openssl req -in a.out.csr -noout -verify
t_is "it is the same public key" "$(openssl req -in a.out.csr -noout -pubkey)" "$(openssl req -in a.csr -noout -pubkey)"

t_ok "DER input" sh -c 'openssl req -in r.csr -outform der | parse-csr > r.rec'
t_is "RSA 3072" "$(rec-cat --field Key-Alg r.rec)" rsa-3072
t_ok "three requests in one stream" sh -c 'cat a.csr r.csr e.csr | parse-csr > three.rec'
t_is "three records" "$(rec-cat --field Id three.rec | sort -u | wc -l)" 3
t_is "Ed25519 recognised" "$(rec-cat --field Key-Alg three.rec | tail -1)" ed25519

# Refusals: one line on stderr, exit 65, a failed record with the reason.
bad() { # bad DESC FILE PATTERN
	t_exit "$1: exit 65" 65 parse-csr "$2"
	t_oneline "$1"
	t_grep "$1: reason" "$3" "$T_TMP/err"
	t_is "$1: failed record" "$(rec-cat --field Status "$T_TMP/out")" failed
}
bad "RSA-1024" w.csr "RSA with 1024 bits"
cp "$T_TMP/out" weak.rec
t_grep "the refused request is kept in its record" "BEGIN CERTIFICATE REQUEST" weak.rec
bad "secp256k1" k.csr "curve secp256k1 is not accepted"
openssl req -in a.csr -outform der -out a.der
python3 -c 'import sys; d=bytearray(open("a.der","rb").read()); d[-5]^=1; open("broken.der","wb").write(d)'
bad "broken signature" broken.der "signature does not verify"
printf 'not a request at all' > g.txt
bad "garbage" g.txt "not a PEM or DER"
head -c 70000 /dev/urandom > big.bin
bad "oversize" big.bin "larger than"
t_exit "a missing file" 66 parse-csr nonexistent.csr
t_ok "good requests around a bad one still come out" sh -c 'cat a.csr w.csr r.csr | parse-csr > mixed.rec; test $? -eq 65'
t_is "three records from the mixed stream" "$(rec-cat --field Id mixed.rec | wc -l)" 3
t_is "one of them failed" "$(rec-cat --field Status mixed.rec)" failed

# Records in: other headers are kept, fields replaced.
{ printf 'CERTPIPE-RECORD 1\nId: 0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e11\nRealm: blue\nCN: stale.example.com\n\n'
  openssl req -in e.csr
  printf 'END-RECORD 0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e11\n'; } > in.rec
t_ok "a record in" sh -c 'parse-csr in.rec > out.rec'
t_is "its Id is kept" "$(rec-cat --field Id out.rec)" 0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e11
t_is "its Realm is kept" "$(rec-cat --field Realm out.rec)" blue
t_is "CN comes from the request" "$(rec-cat --field CN out.rec)" e.example.com
t_is "the request is not duplicated" "$(grep -c 'BEGIN CERTIFICATE REQUEST' out.rec)" 1
t_ok "certpipe runs it as a tool" sh -c 'certpipe parse-csr < a.csr | rec-cat --check'
# A stream is read as it comes: more requests than fit in memory at once
# are many records, and parse-csr's memory does not grow with them.
"$CERTPIPE_BUILD/tests/mkcsr" 12000 ec-256 example.com 20 > many.pem || t_bail "mkcsr"
t_ok "a 4.5 MB stream of 12000 requests" sh -c '/usr/bin/time -f %M -o rss.txt parse-csr < many.pem > many.rec'
t_is "12000 records" "$(grep -c '^END-RECORD' many.rec)" 12000
case $CERTPIPE_BUILD in
*asan*) ;;
*) t_ok "in under 32 MiB" test "$(cat rss.txt)" -lt 32768 ;;
esac
t_done
