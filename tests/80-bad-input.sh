#!/bin/sh
# Bad input through both ways in (a pipe and a spool drop-in): a broken
# signature, a weak key, an unregistered, a disabled and another realm's
# name, garbage, an oversize file. Each gives one line, a documented exit
# status and a failed job kept with its reason (a failed order where the
# job got as far as an Id); nothing is issued and the good job beside
# them is.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
IN=$CERTPIPE_HOME/queue/incoming/new
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca create"
certpipe domain add example.com >/dev/null || t_bail "domain"
certpipe domain add old.test >/dev/null && certpipe domain disable old.test >/dev/null || t_bail "old.test"
certpipe realm create other >/dev/null && certpipe --realm other domain add other.test >/dev/null ||
	t_bail "realm other"
q() { sqlite3 "$db" "$1"; }
csr() { # csr NAME CN [KEYSPEC]
	ks=${3:-"-newkey ec -pkeyopt ec_paramgen_curve:P-256"}
	# shellcheck disable=SC2086
	openssl req -new $ks -nodes -keyout "$1.key" -subj "/CN=$2" -outform der -out "$1.csr" 2>/dev/null ||
		t_bail "openssl req $1"
}
csr good www.example.com
csr badsig www.example.com
# flip the last byte of the signature: the request no longer verifies
n=$(wc -c < badsig.csr)
{ head -c $((n - 1)) badsig.csr; printf '\001'; } > badsig.tmp && mv badsig.tmp badsig.csr
csr weak w.example.com "-newkey rsa:1024"
csr unreg www.evil.test
csr disabled a.old.test
csr otherrealm x.other.test
head -c 600 /dev/urandom > garbage.csr
head -c 70000 /dev/zero | tr '\0' 'A' > oversize.csr

# The pipe: one line, the documented code, a failed order with the reason.
pipe() { # pipe NAME CODE PATTERN
	t_exit "pipe, $1: exit $2" "$2" sh -c "parse-csr $1.csr | check-policy --template root-web-server | sign > $1.rec"
	t_oneline "pipe, $1"
	t_grep "pipe, $1: why" "$3" "$T_TMP/err"
	t_is "pipe, $1: the record says failed" "$(rec-cat --field Status "$1.rec")" failed
	t_is "pipe, $1: a failed order keeps the reason" \
		"$(q "SELECT status, error_code, error LIKE '%' || '$4' || '%' FROM orders WHERE job = '$(rec-cat --field Id "$1.rec")'")" \
		"failed|$2|1"
}
pipe badsig 65 "signature does not verify" "signature does not verify"
pipe weak 65 "RSA with 1024 bits" "1024 bits"
pipe unreg 77 "www.evil.test: not covered" "not covered"
pipe disabled 77 "a.old.test: not covered" "not covered"
pipe otherrealm 77 "x.other.test: not covered" "not covered"
pipe garbage 65 "not a PEM or DER" "not a PEM or DER"
t_exit "pipe, an oversize request: exit 65" 65 sh -c 'parse-csr oversize.csr | check-policy --template root-web-server | sign > oversize.rec'
t_oneline "pipe, oversize"
t_grep "pipe, oversize: why" "larger than" "$T_TMP/err"
t_exit "pipe, an oversize record: exit 65" 65 sh -c \
	"{ printf 'CERTPIPE-RECORD 1\nId: 3f2b9c1e-8a4d-4e6f-9b1a-2c3d4e5f6a7b\nCN: '; head -c 5000 /dev/zero | tr '\0' a; printf '\n\nEND-RECORD 3f2b9c1e-8a4d-4e6f-9b1a-2c3d4e5f6a7b\n'; } | check-policy --template root-web-server > big.out"
t_oneline "pipe, oversize record"
t_is "no certificate from any of them" "$(q 'SELECT count(*) FROM certificates')" 0

# The spool: the same files dropped beside a good one.
for f in good badsig weak unreg disabled otherrealm garbage oversize; do
	cp "$f.csr" "$IN/.$f" && mv "$IN/.$f" "$IN/$f.csr"
done
orders=$(q 'SELECT count(*) FROM orders')
t_exit "scheduler: the first failure's code" 65 scheduler --once --template root-web-server
t_is "one line per failed job" "$(grep -c ': failed: ' "$T_TMP/err")" 7
t_is "the good one is issued" "$(ls "$CERTPIPE_HOME/queue/done/new" | wc -l)" 1
t_is "seven kept in failed" "$(ls "$CERTPIPE_HOME/queue/failed/new" | wc -l)" 7
t_is "one certificate" "$(q 'SELECT count(*) FROM certificates')" 1
t_ok "which verifies" sh -c "certpipe ca export root > root.pem && sed -n '/BEGIN CERT/,/END CERT/p' '$CERTPIPE_HOME'/queue/done/new/* | openssl verify -x509_strict -CAfile root.pem"
t_is "six more failed orders (the oversize drop-in never became a request), seven from the pipe" \
	"$(q "SELECT count(*) FROM orders WHERE status = 'failed'") $(($(q 'SELECT count(*) FROM orders') - orders))" \
	"13 7"
for why in "signature does not verify" "1024 bits" "www.evil.test: not covered" "a.old.test: not covered" \
	"x.other.test: not covered" "not a PEM or DER" "70000 bytes, more than 65536"; do
	t_ok "a failed job says: $why" sh -c "rec-cat --field Error '$CERTPIPE_HOME'/queue/failed/new/* | grep -q '$why'"
done
t_ok "the audit chain is intact" certpipe audit verify
t_done
