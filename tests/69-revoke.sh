#!/bin/sh
# certpipe cert revoke / unsuspend: reasons, the allowed transitions,
# confirmation, refusals, what the database and the audit log keep.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
DB=$CERTPIPE_HOME/certpipe.db
q() { sqlite3 "$DB" "$1"; }
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe domain add example.com >/dev/null || t_bail domain
csr() { # csr NAME: a key and a request for NAME.example.com
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -subj "/CN=$1.example.com" -out "$1.csr" 2>/dev/null ||
		t_bail "csr $1"
}
for n in a b c d e f; do csr $n; done
# a-e through the issuance pipeline (managed)
parse-csr a.csr b.csr c.csr d.csr e.csr | check-policy --template sub-web-server |
	sign > issued.rec || t_bail "the pipeline"
cert_of() { # cert_of CN < records: the first CERTIFICATE block of CN's record
	awk -v cn="CN: $1" '$0 == cn { on = 1 }
		on && $0 == "-----BEGIN CERTIFICATE-----" { p = 1 }
		p { print } p && $0 == "-----END CERTIFICATE-----" { exit }'
}
for n in a b c d e; do
	cert_of $n.example.com < issued.rec > $n.pem
	openssl x509 -in $n.pem -noout 2>/dev/null || t_bail "no certificate for $n"
done
# f issued here but found elsewhere: imported as discovered
"$CERTPIPE_BUILD/tests/issue-leaf" "$CERTPIPE_HOME" default sub sub-web-server \
	f.csr f.example.com > f.pem || t_bail "issue f"
openssl req -x509 -new -newkey rsa:2048 -nodes -keyout o.key \
	-subj /CN=outside.example.net -days 30 -out o.pem 2>/dev/null
certpipe cert import f.pem o.pem >/dev/null || t_bail import
id() { q "SELECT id FROM certificates WHERE cn = '$1'"; }
t_is "the pipeline recorded five managed certificates with their orders" \
	"$(q "SELECT count(*) FROM certificates WHERE source = 'managed' AND order_id IS NOT NULL")" 5
status() { q "SELECT status || '|' || coalesce(revoke_reason, '') || '|' || coalesce(revoked_at, '') FROM certificates WHERE cn = '$1'"; }
A=$(id a.example.com) B=$(id b.example.com) C=$(id c.example.com)
D=$(id d.example.com) E=$(id e.example.com) F=$(id f.example.com)
O=$(id outside.example.net)
audits() { q "SELECT count(*) FROM audit WHERE event LIKE 'certificate.revoke%' OR event LIKE 'certificate.unsuspend%'"; }

# Usage errors change nothing.
t_exit "--reason is required" 64 certpipe cert revoke --yes "$A"
t_oneline "no reason"
t_exit "an unknown reason" 64 certpipe cert revoke --yes --reason stolen "$A"
t_grep "the message lists the reasons" "keyCompromise, cACompromise" "$T_TMP/err"
t_exit "removeFromCRL is not a reason one revokes with" 64 certpipe cert revoke --yes --reason removeFromCRL "$A"
t_exit "a malformed invalidity date" 64 certpipe cert revoke --yes --reason keyCompromise --invalidity-date yesterday "$A"
t_exit "an invalidity date in the future" 64 certpipe cert revoke --yes --reason keyCompromise --invalidity-date 2999-01-01 "$A"
t_exit "an unknown certificate" 66 certpipe cert revoke --yes --reason keyCompromise 999

# Never silently: no terminal and no --yes is refused.
t_exit "no terminal, no --yes: refused" 64 setsid -w certpipe cert revoke --reason keyCompromise "$A" </dev/null
t_oneline "no terminal"
t_grep "says how to go ahead" "certificate .*a.example.com.*--yes" "$T_TMP/err"
t_is "still active" "$(status a.example.com)" "active||"
t_is "no audit event for what did not happen" "$(audits)" 0

# On a terminal (script(1) gives the command one), only "y" revokes.
t_exit "answering n on the terminal" 64 sh -c 'echo n | script -qec "certpipe cert revoke --reason keyCompromise $0" /dev/null' "$A"
t_grep "the question names serial, CN and reason" "revoke $(q "SELECT serial FROM certificates WHERE id = $A") \(a.example.com\) for keyCompromise\? \[y/N\]" "$T_TMP/out"
t_is "n leaves it active" "$(status a.example.com)" "active||"
t_ok "answering y on the terminal" sh -c 'echo y | script -qec "certpipe cert revoke --reason keyCompromise --invalidity-date 2026-11-01 $0" /dev/null' "$A"
t_grep "says what it did" "revoked .*\(a.example.com\): keyCompromise" "$T_TMP/out"
t_is "revoked, with reason and time" "$(status a.example.com | cut -d'|' -f1,2)" "revoked|keyCompromise"
t_ok "revoked_at is RFC 3339 UTC" sh -c '[ -n "$(echo "$0" | grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")" ]' "$(status a.example.com | cut -d'|' -f3)"
t_is "requested, then success, in one go" "$(q "SELECT group_concat(event, ' ') FROM (SELECT event FROM audit WHERE object = 'certificate:$A' ORDER BY seq)")" \
	"certificate.revoke.requested certificate.revoke.success"
t_is "the audit detail keeps reason and invalidity date" "$(q "SELECT detail FROM audit WHERE event = 'certificate.revoke.success' AND object = 'certificate:$A'")" \
	"reason keyCompromise (1), invalid since 2026-11-01T00:00:00Z"
t_is "and the row keeps the invalidity date" "$(q "SELECT invalidity_date FROM certificates WHERE id = $A")" "2026-11-01T00:00:00Z"

# Revocation is permanent.
n=$(audits)
t_exit "revoking again" 65 certpipe cert revoke --yes --reason unspecified "$A"
t_oneline "already revoked"
t_grep "says so" "already revoked" "$T_TMP/err"
t_exit "a revoked certificate is not put on hold" 65 certpipe cert revoke --yes --reason certificateHold "$A"
t_exit "nor unsuspended" 65 certpipe cert unsuspend "$A"
t_oneline "revoked for good"
t_is "refusals changed nothing" "$(status a.example.com | cut -d'|' -f1,2)|$(audits)" "revoked|keyCompromise|$n"

# certificateHold suspends; unsuspend lifts it; a hold can become final.
t_ok "hold" certpipe cert revoke --yes --reason certificatehold "$B"
t_grep "says suspended" "^suspended .*certificateHold" "$T_TMP/out"
t_is "suspended with reason certificateHold" "$(status b.example.com | cut -d'|' -f1,2)" "suspended|certificateHold"
t_exit "a second hold" 65 certpipe cert revoke --yes --reason certificateHold "$B"
t_grep "already suspended" "already suspended" "$T_TMP/err"
certpipe cert show "$B" > show.txt
t_grep "show: status" "^status +suspended" show.txt
t_grep "show: reason and time" "^revocation +certificateHold at [0-9-]+T[0-9:]+Z" show.txt
t_ok "unsuspend" certpipe cert unsuspend "$B"
t_is "active again, reason and time cleared" "$(status b.example.com)" "active||"
t_is "unsuspend is audited" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.unsuspend.success' AND object = 'certificate:$B'")" 1
t_exit "unsuspending an active certificate" 65 certpipe cert unsuspend "$B"
t_grep "not suspended" "not suspended" "$T_TMP/err"
t_ok "hold again" certpipe cert revoke --yes --reason certificateHold "$B"
t_ok "then revoke for good" certpipe cert revoke --yes --reason cessationOfOperation "$B"
t_is "revoked, the reason replaced" "$(status b.example.com | cut -d'|' -f1,2)" "revoked|cessationOfOperation"
t_exit "and that is final" 65 certpipe cert unsuspend "$B"

# Superseded (renewed) certificates are revoked, not held.
q "UPDATE certificates SET status = 'superseded' WHERE id = $C"
t_exit "no hold for a superseded certificate" 65 certpipe cert revoke --yes --reason certificateHold "$C"
t_ok "but it can be revoked" certpipe cert revoke --yes --reason superseded "$C"
t_is "superseded -> revoked" "$(status c.example.com | cut -d'|' -f1,2)" "revoked|superseded"

# What a CA of the realm did not issue, certpipe cannot revoke.
t_exit "an outside certificate" 65 certpipe cert revoke --yes --reason keyCompromise "$O"
t_oneline "not ours"
t_grep "says why" "outside.example.net.*not issued by a CA of this realm" "$T_TMP/err"
t_is "unchanged" "$(status outside.example.net)" "active||"
t_ok "a discovered certificate our CA issued can be" certpipe cert revoke --yes --reason affiliationChanged "$F"
t_is "discovered, revoked" "$(q "SELECT source, status FROM certificates WHERE id = $F")" "discovered|revoked"

# Realms are separate; names work as in show.
certpipe realm create other >/dev/null
t_exit "another realm cannot revoke it" 66 certpipe --realm other cert revoke --yes --reason keyCompromise "$D"
# by serial; stdin is not a terminal, so the question goes to /dev/tty
t_ok "by serial, asked on /dev/tty" sh -c 'echo y | script -qec "certpipe cert revoke --reason unspecified $0 </dev/null" /dev/null' \
	"$(openssl x509 -in d.pem -noout -serial | cut -d= -f2)"
t_grep "the question came" "for unspecified\? \[y/N\]" "$T_TMP/out"
t_ok "by fingerprint" certpipe cert revoke --yes --reason certificateHold "$(openssl x509 -in e.pem -noout -fingerprint -sha256 | cut -d= -f2)"

# What list shows.
json() { certpipe cert list --json "$@" | python3 -c 'import json,sys; print(" ".join(sorted(c["cn"] + ":" + (c["revoke_reason"] or "") for c in json.load(sys.stdin))))'; }
t_is "--status revoked" "$(json --status revoked)" \
	"a.example.com:keyCompromise b.example.com:cessationOfOperation c.example.com:superseded d.example.com:unspecified f.example.com:affiliationChanged"
t_is "--status suspended" "$(json --status suspended)" "e.example.com:certificateHold"
t_is "--status active" "$(json --status active)" "outside.example.net:"
t_is "--expiring leaves out revoked and suspended" "$(json --expiring 400)" "outside.example.net:"
t_is "events: one requested per success" \
	"$(q "SELECT count(*) FROM audit WHERE event = 'certificate.revoke.requested'") $(q "SELECT count(*) FROM audit WHERE event = 'certificate.revoke.success'")" "8 8"
t_ok "the audit chain verifies" certpipe audit verify
t_done
