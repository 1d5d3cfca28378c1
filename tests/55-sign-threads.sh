#!/bin/sh
# sign --threads: a batch's signatures made on several threads give the
# records one thread gives, in the same order: every certificate valid
# (openssl verify), one row and a distinct serial each, a refused record
# failed alone; --threads 1 starts no thread.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
cd "$T_TMP" || exit 1
q() { sqlite3 "$db" "$1"; }
certpipe domain add example.com >/dev/null || t_bail "domain add"
for c in ec:ec-256 rsa:rsa-2048 ed:ed25519; do
	certpipe ca create "${c%%:*}" --alg "${c#*:}" --cn "Test ${c%%:*}" >/dev/null ||
		t_bail "ca create ${c%%:*}"
	certpipe ca export "${c%%:*}" >> roots.pem || t_bail "export ${c%%:*}"
done
policy() { # policy N ALG CA: N processing records for CA's web-server template
	"$CERTPIPE_BUILD/tests/mkcsr" "$1" "$2" "$3.example.com" 5 | parse-csr |
		check-policy --template "$3-web-server" || t_bail "check-policy $3"
}
# 240 records in batches of 100: the 2nd and 3rd mix two CAs each
{ policy 120 ec-256 ec; policy 60 rsa-2048 rsa; policy 60 ec-256 ed; } > all.pol
n=$(rec-cat --field Id all.pol | wc -l)
t_is "240 processing records" "$n" 240
sqlite3 "$db" ".backup before.db" || t_bail "backup"

# leafs OUT: each record's certificate (its first block) into OUT.N.pem
leafs() {
	awk -v o="$1" '/^-----BEGIN CERTIFICATE-----$/ && !seen {f = sprintf("%s.%03d.pem", o, ++i); seen = 1; w = 1}
		w {print > f} /^-----END CERTIFICATE-----$/ && w {w = 0; close(f)}
		/^END-RECORD/ {seen = 0}' "$1.out"
}
for t in 1 4; do
	sqlite3 "$db" ".restore before.db" || t_bail "restore"
	sign --threads "$t" --batch 100 all.pol > "t$t.out" 2> "t$t.err"
	t_is "--threads $t: exit 0" "$?" 0
	t_is "--threads $t: 240 complete" "$(rec-cat --field Status "t$t.out" | sort | uniq -c | tr -s ' ')" " 240 complete"
	t_is "--threads $t: output in input order" "$(rec-cat --field Id "t$t.out" | tr '\n' ' ')" \
		"$(rec-cat --field Id all.pol | tr '\n' ' ')"
	t_is "--threads $t: one row per order, serials distinct" \
		"$(q "SELECT count(DISTINCT order_id), count(DISTINCT serial) FROM certificates")" "240|240"
	t_is "--threads $t: the records' serials are the rows'" \
		"$(rec-cat --field Serial "t$t.out" | sort | tr '\n' ' ')" \
		"$(q "SELECT serial FROM certificates ORDER BY serial" | tr '\n' ' ')"
	leafs "t$t"
	t_is "--threads $t: openssl verifies all 240" \
		"$(openssl verify -x509_strict -CAfile roots.pem t$t.*.pem 2>&1 | grep -c ': OK$')" 240
	# each certificate but for its serial, validity and signature value
	cat t$t.*.pem | openssl storeutl -noout -text -certs /dev/stdin |
		awk '/Serial Number:/ {skip = 1; next} skip {skip = 0; next}
		/Not (Before|After)/ {next} /Signature Value:/ {sig = 1; next}
		sig && /^        [0-9a-f][0-9a-f]:/ {next} {sig = 0; print}' > "text.$t"
done
t_is "240 certificates printed" "$(grep -c '^Certificate:' text.4)" 240
t_is "the same certificates (subject, issuer, key, extensions) in the same order" \
	"$(cmp text.1 text.4 && echo same)" same

# Threads are started (counted by strace; LeakSanitizer, which cannot
# run under it, off).
if command -v strace >/dev/null; then
	for t in 1 4; do
		sqlite3 "$db" ".restore before.db" || t_bail "restore"
		ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=clone,clone3 -o "clone.$t" \
			sign --threads "$t" --batch 100 all.pol > /dev/null 2>&1
	done
	t_is "--threads 1 starts no thread" "$(grep -c clone "clone.1")" 0
	t_ok "--threads 4 starts threads" test "$(grep -c clone "clone.4")" -ge 3
else
	T_N=$((T_N + 2)); echo "ok $((T_N - 1)) # SKIP no strace"; echo "ok $T_N # SKIP no strace"
fi

# A refused record in a threaded batch fails alone, in its place.
sqlite3 "$db" ".restore before.db" || t_bail "restore"
awk '/^CN: host3\.rsa/{sub("host3", "other")} {print}' all.pol > mix.pol
t_exit "a batch with one edited record: 77" 77 sign --threads 4 mix.pol
cp "$T_TMP/out" mix.out
t_is "one failed, 239 complete" "$(rec-cat --field Status mix.out | sort | uniq -c | tr -s ' ' | tr '\n' ' ')" \
	" 239 complete  1 failed "
t_is "the failed one is the edited one" "$(awk '/^CN: /{cn = $2} /^Status: failed/{print cn}' mix.out)" \
	other.rsa.example.com
t_is "output in input order" "$(rec-cat --field Id mix.out | tr '\n' ' ')" "$(rec-cat --field Id all.pol | tr '\n' ' ')"
t_is "239 rows" "$(q "SELECT count(*) FROM certificates")" 239

# Usage.
for bad in 0 257 x -1; do
	t_exit "--threads $bad: usage" 64 sign --threads "$bad" mix.pol
done
t_ok "the audit chain verifies" certpipe audit verify
t_done
