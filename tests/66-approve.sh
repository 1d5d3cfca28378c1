#!/bin/sh
# certpipe approve / decline: the four-eyes and manual rules, the job
# released from queue/held (and check-policy passing it), declines that
# fail the order, realm isolation; every refusal is one line, exit 77, an
# audit event and no other change.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
sp=$CERTPIPE_HOME/queue
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca create root"
certpipe template create web --ca root >/dev/null || t_bail "template web"
certpipe domain add example.com >/dev/null || t_bail "domain add"
certpipe policy create gate --template web --approval four-eyes >/dev/null || t_bail "policy gate"
certpipe realm create other >/dev/null || t_bail "realm other"

q() { sqlite3 "$db" "$1"; }
# held NAME CN: a request by "req" that check-policy holds, in NAME.rec
held() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$2" -out "$1.csr" 2>/dev/null || t_bail "openssl req $1"
	parse-csr "$1.csr" | CERTPIPE_ACTOR=req check-policy --template web > "$1.rec" ||
		t_bail "check-policy $1"
	[ "$(rec-cat --field Status "$1.rec")" = held ] || t_bail "$1 is not held"
}
# spool NAME: commit NAME.rec into queue/held as the scheduler does
# (write into tmp/, rename into new/: certpipe-spool(5))
spool() {
	id=$(rec-cat --field Id "$1.rec")
	cp "$1.rec" "$sp/held/tmp/$id" && mv "$sp/held/tmp/$id" "$sp/held/new/$id" ||
		t_bail "spool $1"
}
job() { rec-cat --field Id "$1.rec"; }
as() { who=$1; shift; CERTPIPE_ACTOR=$who certpipe "$@"; }
# the database without its audit log, to compare before and after
state() { sqlite3 "$db" .dump | grep -v '^INSERT INTO audit ' > "$1"; }
audits() { q "SELECT count(*) FROM audit WHERE event = '$1' AND outcome = '${2:-success}'"; }
# refused DESC CMD...: exit 77, one line, an audit event, nothing else
refused() {
	d=$1; shift
	state before.sql
	n=$(audits certificate.approval.refused refused)
	t_exit "$d: exit 77" 77 "$@"
	t_oneline "$d"
	cp "$T_TMP/err" refused.err
	state after.sql
	t_ok "$d: nothing changed but the audit log" cmp -s before.sql after.sql
	t_is "$d: audited as refused" "$(audits certificate.approval.refused refused)" $((n + 1))
}

# Four-eyes: two approvers, neither the requester, each once.
held a a.example.com
spool a
A=$(job a)
t_is "the order is held, four-eyes, requested by req" \
	"$(q "SELECT status, approval, requested_by FROM orders WHERE job = '$A'")" "held|four-eyes|req"
refused "the requester cannot approve" as req approve "$A"
t_grep "says why" "requester cannot approve" refused.err
t_ok "alice approves" as alice approve "$A"
t_is "one of two" "$(cat "$T_TMP/out")" "order $A: approved (1 of 2); waiting for a second approver"
t_is "her approval is stored" "$(q "SELECT approver, decision FROM approvals")" "alice|approve"
t_is "approved event" "$(audits certificate.approval.approved)" 1
t_ok "the job is still held" test -f "$sp/held/new/$A"
refused "the same approver twice does not count" as alice approve "$A"
t_is "still one approval" "$(q "SELECT count(*) FROM approvals")" 1
refused "approving by the job id's 8-character prefix, as the requester" as req approve "$(echo "$A" | cut -c1-8)"
t_ok "bob approves by an 8-character prefix" as bob approve "$(echo "$A" | cut -c1-8)"
t_is "two of two: released" "$(cat "$T_TMP/out")" "order $A: approved; job queued for signing"
t_ok "the job left queue/held" test ! -e "$sp/held/new/$A"
t_ok "the job is in queue/incoming" test -f "$sp/incoming/new/$A"
t_ok "check-policy passes the released job" sh -c 'check-policy "$0" > a2.rec' "$sp/incoming/new/$A"
t_is "status processing" "$(rec-cat --field Status a2.rec)" processing
t_is "approved by alice and bob" "$(rec-cat --field Approved-By a2.rec | sort | tr '\n' ' ')" "alice bob "
t_is "the order is processing" "$(q "SELECT status FROM orders WHERE job = '$A'")" processing
refused "a third approver of an order no longer held" as carol approve "$A"
t_grep "says it is not held" "not held for approval \\(status processing\\)" refused.err

# Two approvers at once: the decisions are serialised, so exactly one
# of them sees the second approval and releases the job.
held c c.example.com
spool c
C=$(job c)
as alice approve "$C" > c1.out 2>&1 & p1=$!
as bob approve "$C" > c2.out 2>&1 & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
t_is "concurrent approvers both succeed" "$r1 $r2" "0 0"
t_is "one waits for a second approver" "$(cat c1.out c2.out | grep -c 'approved (1 of 2)')" 1
t_is "the other releases the job" "$(cat c1.out c2.out | grep -c 'approved; job queued for signing')" 1
t_ok "the job is in queue/incoming" test -f "$sp/incoming/new/$C"

# A crash between the last approval's commit and the move: the next
# approve finds the approvals complete and only moves the job.
held r r.example.com
spool r
R=$(job r)
as alice approve "$R" >/dev/null && as bob approve "$R" >/dev/null || t_bail "approve r"
mv "$sp/incoming/new/$R" "$sp/held/new/$R" || t_bail "crash r"
state before.sql
t_ok "approve after a crash releases the held job" as carol approve "$R"
t_grep "says so" "approvals were complete; job queued for signing" "$T_TMP/out"
t_ok "the job is in queue/incoming" test -f "$sp/incoming/new/$R"
state after.sql
t_ok "no approval recorded for carol" cmp -s before.sql after.sql

# Manual: one approver, still never the requester.
certpipe policy edit gate --approval manual >/dev/null || t_bail "policy manual"
held m m.example.com
spool m
M=$(job m)
refused "manual: the requester cannot approve either" as req approve "$M"
t_ok "manual: one approver" as alice approve "$M"
t_is "released at once" "$(cat "$T_TMP/out")" "order $M: approved; job queued for signing"
t_ok "check-policy passes it" sh -c 'check-policy "$0" > m2.rec' "$sp/incoming/new/$M"
t_is "processing" "$(rec-cat --field Status m2.rec)" processing
certpipe policy edit gate --approval four-eyes >/dev/null || t_bail "policy four-eyes"

# A job that never was in the spool (a pipe): the approvals are stored,
# and its record passes when it goes through check-policy again.
held p p.example.com
P=$(job p)
as alice approve "$P" >/dev/null || t_bail "approve p"
t_ok "approving a pipe-only job" as bob approve "$P"
t_grep "says to resubmit" "approved; the job is not in queue/held: resubmit" "$T_TMP/out"
t_ok "resubmitted, check-policy passes it" sh -c 'check-policy p.rec > p2.rec'
t_is "processing" "$(rec-cat --field Status p2.rec)" processing

# Realm isolation: another realm neither sees nor decides the order.
held i i.example.com
spool i
I=$(job i)
state before.sql
t_exit "another realm cannot approve it" 66 as alice certpipe --realm other approve "$I"
t_oneline "another realm's approve"
t_exit "nor decline it" 66 as alice certpipe --realm other decline "$I" --reason no
t_exit "nor show it" 66 certpipe --realm other order show "$I"
state after.sql
t_ok "the other realm changed nothing" cmp -s before.sql after.sql
t_ok "the job is still held" test -f "$sp/held/new/$I"

# Decline: the order fails with its reason, an alert, the job in failed.
held d d.example.com
spool d
D=$(job d)
as alice approve "$D" >/dev/null || t_bail "approve d"
state before.sql
t_exit "decline needs a reason" 64 as carol decline "$D"
t_oneline "decline without a reason"
t_exit "a reason is one line" 64 as carol decline "$D" --reason "$(printf 'a\nb')"
t_exit "alice has approved already: no decline" 77 as alice decline "$D" --reason "changed my mind"
state after.sql
t_ok "none of these changed anything" cmp -s before.sql after.sql
t_ok "carol declines" as carol decline "$D" --reason "wrong team"
t_is "says where the job went" "$(cat "$T_TMP/out")" "order $D: declined; job moved to queue/failed"
t_is "the order failed with the reason" \
	"$(q "SELECT status, error, error_code FROM orders WHERE job = '$D'")" \
	"failed|declined by carol: wrong team|77"
t_is "the decision keeps the reason" \
	"$(q "SELECT decision, reason FROM approvals WHERE approver = 'carol'")" "decline|wrong team"
t_is "an alert is raised" \
	"$(q "SELECT kind, message FROM alerts WHERE order_id = (SELECT id FROM orders WHERE job = '$D')")" \
	"order.failed|declined by carol: wrong team"
t_is "declined event" "$(audits certificate.approval.declined)" 1
t_ok "the job left queue/held" test ! -e "$sp/held/new/$D"
t_ok "the failed record is a whole record" rec-cat --check "$sp/failed/new/$D"
t_is "it carries the failure" \
	"$(for f in Status Error Error-Code Stage; do rec-cat --field $f "$sp/failed/new/$D"; done | tr '\n' '|')" \
	"failed|declined by carol: wrong team|77|decline|"
t_is "and still its request" "$(grep -c 'BEGIN CERTIFICATE REQUEST' "$sp/failed/new/$D")" 1
refused "approving a declined order" as bob approve "$D"
refused "declining it again" as bob decline "$D" --reason again
t_exit "check-policy fails the declined job too" 77 sh -c 'check-policy d.rec > d2.rec'

# End to end with the scheduler (when it and sign are built): a CSR
# dropped into the spool is held, approved twice, issued.
if [ -x "$CERTPIPE_BUILD/bin/scheduler" ] && [ -x "$CERTPIPE_BUILD/bin/sign" ]; then
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout e.key \
		-subj /CN=e.example.com -out e.csr 2>/dev/null || t_bail "openssl req e"
	cp e.csr "$sp/incoming/new/.e.csr" && mv "$sp/incoming/new/.e.csr" "$sp/incoming/new/e.csr" ||
		t_bail "drop e"
	scheduler --once --template web >/dev/null 2>&1
	E=$(ls "$sp/held/new" | while read -r f; do
		[ "$(rec-cat --field CN "$sp/held/new/$f")" = e.example.com ] && echo "$f"; done)
	t_ok "the scheduler held the dropped request" test -n "$E"
	as alice approve "$E" >/dev/null && as bob approve "$E" >/dev/null || t_bail "approve e"
	t_ok "the approved job went back to incoming" test -f "$sp/incoming/new/$E"
	t_ok "the scheduler runs it" scheduler --once
	t_is "the order is complete" "$(q "SELECT status FROM orders WHERE job = '$E'")" complete
	t_is "with a certificate" "$(q "SELECT count(*) FROM certificates c JOIN orders o ON o.id = c.order_id WHERE o.job = '$E'")" 1
	t_is "the done record names both approvers" \
		"$(rec-cat --field Approved-By "$sp/done/new/$E" | sort | tr '\n' ' ')" "alice bob "
else
	T_N=$((T_N + 1)); echo "ok $T_N # skip the scheduler or sign is not built"
fi

# A decline commits first, then moves the job: interrupted between the
# two, the order is failed and the job still in queue/held (made here by
# hand: the decision as a decline commits it); declining again finishes
# the move, with the committed reason, and records nothing new.
held k k.example.com
spool k
K=$(job k)
q "INSERT INTO approvals (order_id, approver, decision, reason, at) SELECT id, 'carol', 'decline', 'first try', 'x' FROM orders WHERE job = '$K'"
q "UPDATE orders SET status = 'failed', error = 'declined by carol: first try', error_code = 77 WHERE job = '$K'"
t_ok "declining again after a crash" as carol decline "$K" --reason "second try"
t_grep "says it finished the move" "already failed; job moved to queue/failed" "$T_TMP/out"
t_is "the order keeps the committed reason" "$(q "SELECT status, error FROM orders WHERE job = '$K'")" "failed|declined by carol: first try"
t_ok "the held copy is gone" test ! -e "$sp/held/new/$K"
t_is "the failed copy carries the reason" "$(rec-cat --field Error "$sp/failed/new/$K")" "declined by carol: first try"
t_is "no second decision" "$(q "SELECT count(*) FROM approvals a JOIN orders o ON o.id = a.order_id WHERE o.job = '$K'")" 1

t_exit "an unknown order" 66 certpipe approve 00000000-0000-4000-8000-000000000000
t_exit "a key that is no job id" 65 certpipe approve "x' OR 1=1"
t_exit "no order named" 64 certpipe approve
t_ok "the audit chain verifies" certpipe audit verify
t_done
