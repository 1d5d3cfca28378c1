#!/bin/sh
# publish-crl: complete, delta and sharded CRLs, checked with openssl
# (crl -verify, verify -crl_check [-use_deltas]) and gnutls certtool;
# --due, CRL numbers, reasons, files, audit, failures.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crl-setup.sh"
num() { openssl crl -inform der -in "$1" -noout -crlnumber | sed 's/^crlNumber=0x//'; }
# verify FILE CRL...: openssl verify -crl_check of FILE against the CRLs
# (an argument starting with - is passed as an option)
vfy() {
	f=$1; shift
	n=$#
	while [ "$n" -gt 0 ]; do
		case $1 in
		-*) set -- "$@" "$1" ;;
		*) set -- "$@" -CRLfile "$1" ;;
		esac
		shift
		n=$((n - 1))
	done
	openssl verify -crl_check -CAfile root.pem -untrusted sub.pem "$@" "$f"
}

# An empty CRL: no revokedCertificates at all (RFC 5280 5.1.2.6).
t_ok "publish-crl, nothing revoked yet" publish-crl
t_ok "the root's CRL verifies with the root" openssl crl -inform der -in "$PUB/root.crl" -CAfile root.pem -verify -noout
openssl asn1parse -inform der -in "$PUB/sub.crl" > empty.asn1
# depth 2: the tbsCertList's fields, then the signature algorithm's OID
t_is "tbsCertList: version, algorithm, issuer, two times, extensions" \
	"$(awk '/d=2/ { sub(/.*(prim|cons): +/, ""); sub(/ *:.*/, ""); sub(/ +$/, ""); printf "%s,", $0 }' empty.asn1)" \
	"INTEGER,SEQUENCE,SEQUENCE,UTCTIME,UTCTIME,cont [ 0 ],OBJECT,"
t_ok "the DER and the PEM file hold the same CRL" sh -c \
	'openssl crl -in "$0/sub.pem" -outform der | cmp - "$0/sub.crl"' "$PUB"
t_is "the files are world-readable, not writable" "$(stat -c %a "$PUB/sub.crl" "$PUB/sub.pem" | sort -u)" 644
openssl crl -inform der -in "$PUB/sub.crl" -noout -text > empty.txt
t_grep "v2" "Version 2" empty.txt
t_grep "AKI is the CA's key id" "$(openssl x509 -in sub.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')" empty.txt
upd() { date -u -d "$(openssl crl -inform der -in "$PUB/$1" -noout "-$2" | cut -d= -f2)" +%s; }
t_is "nextUpdate 7 days after thisUpdate by default" "$(( $(upd sub.crl nextupdate) - $(upd sub.crl lastupdate) ))" 604800

# Revocations: reason codes, invalidity date, hold; unspecified has none.
issue a b c d
certpipe cert revoke --yes --reason keyCompromise --invalidity-date 2026-01-02 "$(id a)" >/dev/null || t_bail "revoke a"
certpipe cert revoke --yes --reason certificateHold "$(id b)" >/dev/null || t_bail "hold b"
certpipe cert revoke --yes --reason unspecified "$(id d)" >/dev/null || t_bail "revoke d"
n0=$(num "$PUB/sub.crl")
t_exit "--due: revocations since the last CRL make it due" 0 publish-crl --due
n1=$(num "$PUB/sub.crl")
t_ok "the CRL number increased ($n0 -> $n1)" test "$((0x$n1))" -gt "$((0x$n0))"
t_ok "openssl crl -verify accepts it" openssl crl -inform der -in "$PUB/sub.crl" -CAfile sub.pem -verify -noout
openssl crl -inform der -in "$PUB/sub.crl" -noout -text > full.txt
serial() { openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2; }
entry() { awk -v s="$(serial "$1")" '$0 ~ "Serial Number: " s { on = 1; next } on && /Serial Number/ { exit } on' full.txt; }
t_grep "a: keyCompromise" "Key Compromise" "$(entry a > e.a; echo e.a)"
t_grep "a: its invalidity date" "Invalidity Date: *$" e.a
t_grep "a: invalid since Jan 2 2026" "Jan  2 00:00:00 2026 GMT" e.a
t_grep "b: certificateHold" "Certificate Hold" "$(entry b > e.b; echo e.b)"
t_grep "d is listed" "Revocation Date" "$(entry d > e.d; echo e.d)"
t_nogrep "d: no reason code for unspecified" "Reason" e.d
t_nogrep "c is not listed" "$(serial c)" full.txt
t_exit "openssl verify -crl_check refuses revoked a" 2 vfy a.pem "$PUB/root.pem" "$PUB/sub.pem"
t_grep "as revoked" "certificate revoked" "$T_TMP/err"
t_exit "and suspended b" 2 vfy b.pem "$PUB/root.pem" "$PUB/sub.pem"
t_ok "and accepts good c" vfy c.pem "$PUB/root.pem" "$PUB/sub.pem"
t_ok "certtool --crl-info reads it" certtool --crl-info --inder --infile "$PUB/sub.crl"
t_grep "certtool: three revoked certificates" "Revoked certificates \(3\)" "$T_TMP/out"
t_ok "certtool checks its signature" certtool --verify-crl --infile "$PUB/sub.pem" --load-ca-certificate sub.pem

# --due with nothing due: exit 1, nothing changes.
rows=$(q "SELECT count(*) FROM crls") ev=$(q "SELECT count(*) FROM audit")
cp "$PUB/sub.crl" before.crl
t_exit "--due with nothing due" 1 publish-crl --due
t_is "no CRL made" "$(q "SELECT count(*) FROM crls")" "$rows"
t_is "no audit event" "$(q "SELECT count(*) FROM audit")" "$ev"
t_ok "the file is unchanged" cmp before.crl "$PUB/sub.crl"
t_is "every publication was audited" \
	"$(q "SELECT count(*) FROM audit WHERE event = 'crl.published'")" \
	"$(q "SELECT count(*) FROM crls WHERE status = 'published'")"

# Unsuspending is a change too.
certpipe cert unsuspend "$(id b)" >/dev/null || t_bail unsuspend
t_exit "--due after an unsuspension" 0 publish-crl --due --ca sub
t_ok "b is good again" vfy b.pem "$PUB/root.pem" "$PUB/sub.pem"

# Delta CRLs.
certpipe cert revoke --yes --reason certificateHold "$(id b)" >/dev/null || t_bail "hold b again"
t_ok "deltas on" certpipe ca set sub --delta-hours 24
t_ok "publish-crl: base and delta" publish-crl --ca sub
base=$(num "$PUB/sub.crl")
openssl crl -inform der -in "$PUB/sub.crl" -noout -text > base.txt
t_grep "the base names its delta (freshestCRL)" "URI:http://pki.test/crl/sub-delta.crl" base.txt
issue e f
openssl x509 -in e.pem -noout -ext freshestCRL > e.ext
t_grep "certificates issued now carry freshestCRL" "URI:http://pki.test/crl/sub-delta.crl" e.ext
certpipe cert revoke --yes --reason superseded "$(id e)" >/dev/null || t_bail "revoke e"
certpipe cert unsuspend "$(id b)" >/dev/null || t_bail "unsuspend b"
cp "$PUB/sub.crl" base.crl
t_exit "--due: with deltas, a revocation is due as a delta" 0 publish-crl --due
t_ok "and only as a delta: the base is unchanged" cmp base.crl "$PUB/sub.crl"
delta=$(num "$PUB/sub-delta.crl")
t_ok "the delta's number ($delta) is above its base's ($base)" test "$((0x$delta))" -gt "$((0x$base))"
openssl crl -inform der -in "$PUB/sub-delta.crl" -noout -text > delta.txt
t_grep "critical deltaCRLIndicator" "Delta CRL Indicator: critical" delta.txt
t_is "with the base's number" "$(awk '/Delta CRL Indicator/ { getline; print $1 }' delta.txt)" "$((0x$base))"
t_grep "e in the delta, superseded" "Superseded" delta.txt
t_grep "b in the delta: removeFromCRL" "Remove From CRL" delta.txt
t_nogrep "a (revoked before the base) is not in the delta" "$(serial a)" delta.txt
t_ok "openssl crl -verify accepts the delta" openssl crl -inform der -in "$PUB/sub-delta.crl" -CAfile sub.pem -verify -noout
t_ok "base alone: e still passes" vfy e.pem "$PUB/root.pem" "$PUB/sub.pem"
t_exit "base + delta (-use_deltas): e is refused" 2 vfy e.pem "$PUB/root.pem" "$PUB/sub.pem" "$PUB/sub-delta.pem" -use_deltas
t_grep "as revoked" "certificate revoked" "$T_TMP/err"
t_ok "base + delta: f is accepted" vfy f.pem "$PUB/root.pem" "$PUB/sub.pem" "$PUB/sub-delta.pem" -use_deltas
t_ok "base + delta: b, off hold, is accepted" vfy b.pem "$PUB/root.pem" "$PUB/sub.pem" "$PUB/sub-delta.pem" -use_deltas
t_exit "base alone: b is still on hold" 2 vfy b.pem "$PUB/root.pem" "$PUB/sub.pem"
t_ok "certtool reads the delta" certtool --crl-info --inder --infile "$PUB/sub-delta.crl"
t_exit "--delta --due right after: nothing" 1 publish-crl --delta --due --ca sub
t_exit "--delta: a delta now" 0 publish-crl --delta --ca sub
t_ok "base unchanged by --delta" cmp base.crl "$PUB/sub.crl"

# Sharding: a CA of its own, four shards.
certpipe ca create shardca --parent root --cn Shard >/dev/null || t_bail shardca
certpipe ca export shardca > shardca.pem
t_ok "shards on" certpipe ca set shardca --crl-shards 4
TMPL=shardca-web-server issue s1 s2 s3 s4 s5 s6 s7 s8
t_is "each certificate got a shard in 0..3" \
	"$(q "SELECT count(*) FROM certificates c JOIN cas a ON a.id = c.ca_id WHERE a.name = 'shardca' AND c.crl_shard BETWEEN 0 AND 3")" 8
sh=$(q "SELECT crl_shard FROM certificates WHERE cn = 's1.example.com'")
t_is "its CDP names its shard's CRL" "$(openssl x509 -in s1.pem -noout -ext crlDistributionPoints | awk '/URI:/ { sub(/^ *URI:/, ""); print }')" \
	"http://pki.test/crl/shardca-$sh.crl"
certpipe cert revoke --yes --reason keyCompromise "$(id s1)" >/dev/null || t_bail "revoke s1"
t_exit "--due publishes the shards" 0 publish-crl --due --ca shardca
for i in 0 1 2 3; do
	t_ok "shard $i CRL verifies" openssl crl -inform der -in "$PUB/shardca-$i.crl" -CAfile shardca.pem -verify -noout
done
# one sign run wrote the five CRLs as one stream, cut here into files
for f in shardca shardca-0 shardca-1 shardca-2 shardca-3; do
	t_ok "$f.pem is openssl's PEM of $f.crl, byte for byte" sh -c \
		'openssl crl -inform der -in "$0.crl" -outform pem | cmp - "$0.pem"' "$PUB/$f"
done
t_is "no temporary file is left in pub/crl" "$(ls -A "$PUB" | grep -c tmp)" 0
openssl crl -inform der -in "$PUB/shardca-$sh.crl" -noout -text > shard.txt
t_grep "critical issuingDistributionPoint" "Issuing Distribution Point: critical" shard.txt
t_grep "whose fullName is the certificate's CDP" "URI:http://pki.test/crl/shardca-$sh.crl$" shard.txt
t_grep "s1 is in its shard" "$(serial s1)" shard.txt
other=$(q "SELECT substr(cn, 1, 2) FROM certificates WHERE crl_shard = $sh AND cn LIKE 's%' AND cn <> 's1.example.com' LIMIT 1")
far=$(q "SELECT substr(cn, 1, 2) FROM certificates WHERE crl_shard <> $sh AND cn LIKE 's%' LIMIT 1")
svfy() { openssl verify -crl_check -CAfile root.pem -untrusted shardca.pem -CRLfile "$PUB/root.pem" -CRLfile "$2" "$1"; }
t_exit "openssl verify with the shard refuses s1" 2 svfy s1.pem "$PUB/shardca-$sh.pem"
t_grep "as revoked, not as out of scope" "certificate revoked" "$T_TMP/err"
if [ -n "$other" ]; then
	t_ok "and accepts $other, good, in the same shard" svfy "$other.pem" "$PUB/shardca-$sh.pem"
else
	t_ok "s2 is accepted with its own shard" svfy s2.pem "$PUB/shardca-$(q "SELECT crl_shard FROM certificates WHERE cn = 's2.example.com'").pem"
fi
t_exit "another shard's CRL is out of scope for s1" 2 svfy s1.pem "$PUB/shardca-$(( (sh + 1) % 4 )).pem"
t_grep "openssl says so" "unable to get certificate CRL|different CRL scope" "$T_TMP/err"
t_exit "the complete CRL refuses s1 too" 2 svfy s1.pem "$PUB/shardca.pem"
[ -n "$far" ] && t_ok "$far (another shard) is good" svfy "$far.pem" "$PUB/shardca-$(q "SELECT crl_shard FROM certificates WHERE cn = '$far.example.com'").pem"

# Numbers: strictly increasing per CA, shared by every kind.
t_is "CRL numbers strictly increase in order of making, per CA" \
	"$(q "SELECT count(*) FROM crls a JOIN crls b ON a.ca_id = b.ca_id AND b.id > a.id AND b.number <= a.number")" 0
t_is "one sequence for full, delta and shard CRLs of a CA" \
	"$(q "SELECT count(DISTINCT kind) FROM crls WHERE ca_id = (SELECT id FROM cas WHERE name = 'sub')")" 2

# Digests: RSA with the CA's digest, Ed25519 pure.
certpipe ca create rsaca --cn RSA --alg rsa-3072 --digest sha384 >/dev/null || t_bail rsaca
certpipe ca create edca --cn Ed --alg ed25519 >/dev/null || t_bail edca
t_ok "publish-crl for RSA and Ed25519 CAs" publish-crl --ca rsaca && publish-crl --ca edca
certpipe ca export rsaca > rsaca.pem && certpipe ca export edca > edca.pem
t_grep "RSA CA: its digest" "sha384WithRSAEncryption" "$(openssl crl -inform der -in "$PUB/rsaca.crl" -noout -text > r.txt; echo r.txt)"
t_ok "RSA CA CRL verifies" openssl crl -inform der -in "$PUB/rsaca.crl" -CAfile rsaca.pem -verify -noout
t_grep "Ed25519 CA: pure EdDSA" "Signature Algorithm: ED25519" "$(openssl crl -inform der -in "$PUB/edca.crl" -noout -text > ed.txt; echo ed.txt)"
t_ok "Ed25519 CA CRL verifies" openssl crl -inform der -in "$PUB/edca.crl" -CAfile edca.pem -verify -noout

# Failures: one line, a sysexits code, the published files unchanged,
# the attempt kept as failed with its audit event.
t_exit "an argument" 64 publish-crl extra
t_oneline "an argument"
t_exit "an unknown CA" 66 publish-crl --ca nosuch
t_oneline "unknown CA"
# sign --crl -, as publish-crl runs it: the specs on its stdin
t_exit "sign --crl - with another --crl" 64 sign --ca sub --crl - --crl ca=1
t_oneline "sign --crl - with another --crl"
t_ok "sign --crl - with no specs signs nothing" sh -c 'sign --ca sub --crl - < /dev/null > none.der'
t_is "and writes nothing" "$(wc -c < none.der)" 0
head -c 600 /dev/zero | tr '\0' a > long.spec
t_exit "sign --crl -: a spec line too long" 65 sh -c 'sign --ca sub --crl - < long.spec'
t_grep "says which line" "spec 1: longer than 512 bytes" "$T_TMP/err"
printf 'wrong passphrase\n' > wrong
cp "$PUB/sub.crl" before.crl
t_exit "a wrong passphrase: sign refuses, exit 77" 77 publish-crl --ca sub --passphrase-file wrong
t_grep "publish-crl says which CA" "^publish-crl: CA sub: " "$T_TMP/err"
t_ok "the published CRL is unchanged" cmp before.crl "$PUB/sub.crl"
t_is "no temporary file left" "$(ls "$PUB" | grep -c tmp)" 0
t_is "the attempt is kept as failed" "$(q "SELECT status FROM crls ORDER BY id DESC LIMIT 1")" failed
t_is "with a crl.failed audit event" "$(q "SELECT event FROM audit ORDER BY seq DESC LIMIT 1")" crl.failed
t_ok "the passphrase from an fd works" sh -c 'publish-crl --ca sub --passphrase-fd 3 3<"$0"' "$CERTPIPE_HOME/keys/passphrase"

# A run killed while it writes leaves its temporary files; the next run,
# holding the directory's lock, removes them.
: > "$PUB/sub.crl.tmp.99999"
: > "$PUB/sub.pem.tmp.99999"
t_ok "publish-crl after a killed run" publish-crl --ca sub --rebuild
t_is "the killed run's temporary files are gone" "$(ls -A "$PUB" | grep -c tmp)" 0
t_ok "the audit chain is intact" certpipe audit verify
t_done
