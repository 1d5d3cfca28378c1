#!/bin/sh
# publish-crl makes a complete CRL (and each shard) from the last one
# published when it can: the last one's entries, less the certificates
# changed or expired since, plus the changed ones' current entries. Each
# such CRL must list exactly what one made from the database alone
# (--rebuild) lists, and verify with openssl and certtool; a previous
# file that is damaged, stale or not the CA's falls back to the database.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crl-setup.sh"
serial() { openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2; }
# entries FILE: one sorted line per entry, serial, date and extensions
entries() {
	openssl crl -inform der -in "$1" -noout -text | awk '
		/Serial Number:/ { if (e != "") print e; e = $3; next }
		/Signature Algorithm/ && e != "" { print e; e = ""; exit }
		e != "" { gsub(/^ +| +$/, ""); e = e "|" $0 }
		END { if (e != "") print e }' | sort
}
# publish LABEL [SHARDFILE]: a CRL from the last one (publish-crl -v),
# then one from the database; both verify and list the same entries.
# $how gets what sign said of the first.
publish() {
	f=${2:-sub.crl}
	publish-crl -v --ca sub 2> how.txt || t_bail "publish-crl $1: $(cat how.txt)"
	how=$(grep "${3:-complete} CRL" how.txt | head -1)
	cp "$PUB/$f" reused.crl
	entries reused.crl > reused.txt
	t_ok "$1: it verifies" openssl crl -inform der -in reused.crl -CAfile sub.pem -verify -noout
	publish-crl --rebuild --ca sub 2> rebuild.err || t_bail "rebuild $1: $(cat rebuild.err)"
	entries "$PUB/$f" > rebuilt.txt
	t_ok "$1: the same entries as from the database" cmp reused.txt rebuilt.txt
}
count() { grep -c . reused.txt; }
# made DESCRIPTION PATTERN: what sign said of the last publish matches
made() {
	case $how in $2) r=0 ;; *) r=1 ;; esac
	t_is "$1 ($how)" "$r" 0
}

issue a b c d e f
t_ok "the first CRLs, nothing revoked" publish-crl

certpipe cert revoke --yes --reason keyCompromise --invalidity-date 2026-01-02 "$(id a)" >/dev/null || t_bail "revoke a"
certpipe cert revoke --yes --reason certificateHold "$(id b)" >/dev/null || t_bail "hold b"
publish "two revoked"
made "made from the last CRL: two added" '*from CRL*0 kept, 0 dropped, 2 added*'
t_is "two entries" "$(count)" 2
t_grep "a with its reason" "$(serial a)[|].*Key Compromise" reused.txt
t_grep "and its invalidity date" "$(serial a)[|].*Invalidity Date.*Jan  2 00:00:00 2026" reused.txt
t_grep "b on hold" "$(serial b)[|].*Certificate Hold" reused.txt
t_exit "openssl verify -crl_check refuses a" 2 openssl verify -crl_check -CAfile root.pem -untrusted sub.pem -CRLfile "$PUB/root.crl" -CRLfile reused.crl a.pem
t_ok "and accepts c" openssl verify -crl_check -CAfile root.pem -untrusted sub.pem -CRLfile "$PUB/root.crl" -CRLfile reused.crl c.pem
t_ok "certtool reads and checks it" certtool --crl-info --inder --infile reused.crl --load-ca-certificate sub.pem

certpipe cert unsuspend "$(id b)" >/dev/null || t_bail unsuspend
publish "b unsuspended"
made "b dropped, a kept" '*from CRL*1 kept, 1 dropped, 0 added*'
t_nogrep "b is gone" "$(serial b)" reused.txt

certpipe cert revoke --yes --reason certificateHold "$(id c)" >/dev/null || t_bail "hold c"
publish-crl --ca sub || t_bail "publish c held"
certpipe cert revoke --yes --reason keyCompromise "$(id c)" >/dev/null || t_bail "revoke c"
certpipe cert revoke --yes --reason superseded "$(id d)" >/dev/null || t_bail "revoke d"
publish "hold made permanent, one more"
made "c's hold replaced, d added" '*1 kept, 1 dropped, 2 added*'
t_grep "c now keyCompromise" "$(serial c)[|].*Key Compromise" reused.txt
t_nogrep "and no longer on hold" "$(serial c)[|].*Hold" reused.txt

# Expiry: a listed certificate whose notAfter passes between two CRLs,
# with no change recorded in between, leaves the next one.
soon=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
q "UPDATE certificates SET not_after = '$soon' WHERE id = $(id d)"
publish "d expiring in 3 seconds"
t_grep "d still listed" "$(serial d)" reused.txt
sleep 4
publish "d expired"
made "d dropped by expiry" '*from CRL*2 kept, 1 dropped, 0 added*'
t_nogrep "d is gone" "$(serial d)" reused.txt

# A row inserted already revoked (an import, a restore) is a change too.
q "INSERT INTO certificates (realm_id, ca_id, serial, issuer, subject,
    not_before, not_after, status, source, fingerprint, pem, created_at,
    revoked_at, revoke_reason) SELECT 1, id, '7abcdef0123456789', 'CN=Sub',
    'CN=x', '2026-01-01T00:00:00Z', '2049-01-01T00:00:00Z', 'revoked',
    'managed', 'fp-x', '', '2026-01-01T00:00:00Z', '2026-06-01T12:00:00Z',
    'affiliationChanged' FROM cas WHERE name = 'sub'"
publish "a revoked row inserted"
made "it is added" '*from CRL*1 added*'
t_grep "with its reason" "7ABCDEF0123456789[|].*Affiliation Changed" reused.txt

# The last file is only a hint: damaged, stale or foreign, it is not used.
publish-crl --ca sub 2>/dev/null || t_bail "publish"
cp "$PUB/sub.crl" older.crl
certpipe cert revoke --yes --reason keyCompromise "$(id e)" >/dev/null || t_bail "revoke e"
publish-crl --ca sub 2>/dev/null || t_bail "publish e"
cp older.crl "$PUB/sub.crl"
certpipe cert revoke --yes --reason keyCompromise "$(id f)" >/dev/null || t_bail "revoke f"
publish "an older CRL in the file"
made "stale: made from the database" '*from the database*'
t_grep "e is listed" "$(serial e)" reused.txt
t_grep "f is listed" "$(serial f)" reused.txt

# one byte of an entry changed: the signature no longer verifies
size=$(stat -c %s "$PUB/sub.crl")
printf '\377' | dd of="$PUB/sub.crl" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
publish "a damaged CRL in the file"
made "damaged: made from the database" '*from the database*'
t_is "all five listed" "$(count)" 5

openssl crl -inform der -in "$PUB/root.crl" -outform der > "$PUB/sub.crl"
publish "the root's CRL in sub's file"
made "foreign: made from the database" '*from the database*'

: > "$PUB/sub.crl"
publish "an empty file"
made "empty: made from the database" '*from the database*'

q "DELETE FROM certificates WHERE serial = '7abcdef0123456789'"
publish "a listed row deleted"
made "deleted: made from the database" '*from the database*'
t_nogrep "the deleted one is gone" "7ABCDEF0123456789" reused.txt
publish "after the fallback"
made "reused again" '*from CRL*4 kept, 0 dropped, 0 added*'

# Shards: each shard's CRL from its own last one.
certpipe ca set sub --crl-shards 2 >/dev/null || t_bail shards
issue g h i j k
publish-crl --ca sub || t_bail "publish shards"
for n in g h i j; do
	certpipe cert revoke --yes --reason keyCompromise "$(id $n)" >/dev/null || t_bail "revoke $n"
done
for s in 0 1; do
	publish "shard $s" "sub-$s.crl" "shard $s"
	made "shard $s made from its last CRL" '*from CRL*'
	t_ok "shard $s verifies" openssl crl -inform der -in reused.crl -CAfile sub.pem -verify -noout
done

# With delta CRLs: the base made from the last one, and the delta on it.
certpipe ca set sub --delta-hours 24 >/dev/null || t_bail deltas
certpipe cert revoke --yes --reason superseded "$(id k)" >/dev/null || t_bail "revoke k"
publish "base with deltas on"
made "the base made from the last one" '*from CRL*1 added*'
t_ok "the delta verifies" openssl crl -inform der -in "$PUB/sub-delta.crl" -CAfile sub.pem -verify -noout
t_done
