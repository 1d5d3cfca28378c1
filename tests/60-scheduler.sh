#!/bin/sh
# scheduler: drop-ins issued by --once through the real pipeline, bad and
# refused requests kept in failed with their reason, held jobs, the exit
# codes, deferral and retry when the stages cannot run, the daemon woken
# by a poke, and the spool lock.
. "$(dirname "$0")/lib.sh"
new_home
H=$CERTPIPE_HOME
db=$H/certpipe.db
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca root"
certpipe ca create issuing --parent root --cn "Test Issuing" >/dev/null || t_bail "ca issuing"
certpipe template create web --ca issuing >/dev/null || t_bail "template web"
certpipe template create gated --ca issuing >/dev/null || t_bail "template gated"
certpipe policy create gate --template gated --approval manual >/dev/null || t_bail "policy gate"
certpipe domain add example.com >/dev/null || t_bail "domain add"
certpipe ca export issuing --part fullchain >chain.pem || t_bail "ca export"

csr() { # csr FILE CN: an EC request for CN (with CN as its SAN)
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T_TMP/$1.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-out "$1" 2>/dev/null || t_bail "openssl req $1"
}
drop() { # drop FILE NAME: the way a user drops: a dotfile, renamed in
	cp "$1" "$H/queue/incoming/new/.$2" && mv "$H/queue/incoming/new/.$2" "$H/queue/incoming/new/$2"
}
count() { ls "$H/queue/$1/new" | wc -l | tr -d ' '; }
only() { ls "$H/queue/$1/new"/*; }	# the one job of a queue
q() { sqlite3 "$db" "$1"; }
field() { rec-cat --field "$2" "$1" | tr '\n' '|'; }

t_exit "--once on an empty spool: nothing to do, exit 1" 1 scheduler --once
t_is "... and says nothing" "$(cat "$T_TMP/err")" ""

csr good.csr www.example.com
drop good.csr good.csr
t_exit "a dropped CSR is issued: exit 0" 0 scheduler --once --template web -v
t_grep "-v: one line for the batch" "batch: 1 jobs: 1 done, 0 held, 0 failed, 0 deferred" "$T_TMP/err"
t_is "the drop-in is gone from incoming" "$(ls -A "$H/queue/incoming/new")" ""
t_is "one job in done" "$(count done)" 1
job=$(only done)
id=$(basename "$job")
t_is "its Status is complete" "$(field "$job" Status)" "complete|"
t_is "it came from the spool, from the file's owner" "$(field "$job" Source)$(field "$job" Requested-By)" \
	"spool|$(id -un)|"
rec-cat "$job" | awk '/-----BEGIN CERTIFICATE-----/ {n++} n == 1' | sed '/-----END CERTIFICATE-----/q' >leaf.pem
t_ok "the certificate verifies against the CA chain (openssl)" openssl verify -CAfile chain.pem leaf.pem
t_ok "... and holds the requested name" sh -c 'openssl x509 -in leaf.pem -noout -ext subjectAltName | grep -q "DNS:www.example.com"'
t_ok "... for the requester's key" sh -c \
	'[ "$(openssl x509 -in leaf.pem -noout -pubkey)" = "$(openssl pkey -in good.csr.key -pubout)" ]'
t_ok "certpipe cert list shows it" sh -c 'certpipe cert list | grep -q "www.example.com"'
t_is "its order is complete and names the job" "$(q "SELECT status FROM orders WHERE job = '$id'")" complete
t_is "one certificate" "$(q 'SELECT count(*) FROM certificates')" 1

printf 'this is not a request\n' >bad.csr
drop bad.csr bad.csr
t_exit "a garbage drop-in: exit 65" 65 scheduler --once --template web
t_grep "one line names the job and the reason" "^scheduler: [0-9a-f-]{36}: failed: CSR: " "$T_TMP/err"
t_is "it is in failed" "$(count failed)" 1
bad=$(only failed)
t_is "failed, with the parse error" "$(field "$bad" Status)$(field "$bad" Stage)" "failed|parse-csr|"
t_grep "the Error says why" "^CSR: " "$(printf '%s' "$(rec-cat --field Error "$bad")" >e.txt; echo e.txt)"
t_is "its order is failed with the reason" \
	"$(q "SELECT status FROM orders WHERE job = '$(basename "$bad")'")" failed

csr stranger.csr www.stranger.org
drop stranger.csr stranger.csr
t_exit "a name outside the registered domains: exit 77" 77 scheduler --once --template web
t_is "two jobs in failed" "$(count failed)" 2
t_ok "the policy reason is kept" sh -c "rec-cat --field Error '$H'/queue/failed/new/* | grep -q 'www.stranger.org: not covered'"
t_is "still one certificate" "$(q 'SELECT count(*) FROM certificates')" 1

# A dropped record may name its template; gated holds for approval.
csr gated.csr app.example.com
{ echo "CERTPIPE-RECORD 1"; echo "Id: 00000000-0000-4000-8000-000000000001"; echo "Template: gated"
  echo "Requested-By: someone-else"; echo; cat gated.csr
  echo "END-RECORD 00000000-0000-4000-8000-000000000001"; } >gated.rec
drop gated.rec gated.rec
t_exit "a job held for approval: exit 0" 0 scheduler --once
held=$(only held)
t_is "it is in held" "$(field "$held" Status)$(field "$held" Template)" "held|gated|"
t_ok "with a new Id, not the dropped one" test "$(basename "$held")" != 00000000-0000-4000-8000-000000000001
t_is "the requester is the file's owner, not what the record claimed" "$(field "$held" Requested-By)" \
	"$(id -un)|"
t_is "its order is held" "$(q "SELECT status FROM orders WHERE job = '$(basename "$held")'")" held

# Stages that cannot run: the jobs are deferred with a reason and retried
# later; after --max-attempts they fail for good. The copy of the
# scheduler below has no stages next to it (and none are installed).
[ -e /usr/local/libexec/certpipe/parse-csr ] && t_bail "installed stages in /usr/local/libexec/certpipe"
mkdir lone && cp "$CERTPIPE_BUILD/bin/scheduler" lone/
csr later.csr later.example.com
drop later.csr later.csr
t0=$(date -u +%s)
t_exit "stages that cannot run: exit 75" 75 lone/scheduler --once --template web
t1=$(date -u +%s)
t_grep "one line for the batch" "batch: 1 of 1 jobs not returned, deferred: pipeline died: " "$T_TMP/err"
t_is "the job is deferred" "$(count deferred)" 1
def=$(only deferred)
t_is "attempt 1, temporary" "$(field "$def" Attempt)$(field "$def" Error-Code)" "1|75|"
t_grep "the Error says why" "^pipeline died: parse-csr exited 69" "$(rec-cat --field Error "$def" >e.txt; echo e.txt)"
at=$(date -u -d "$(rec-cat --field Retry-At "$def")" +%s)
t_ok "Retry-At is 30 s after the run" test $((at - t0)) -ge 30 -a $((at - t1)) -le 30
t_exit "not due yet: nothing to do" 1 scheduler --once --template web
t_is "still deferred" "$(count deferred)" 1
# Make it due (as the clock would), then the real stages issue it.
sed "s/^Retry-At: .*/Retry-At: 2000-01-01T00:00:00Z/" "$def" >due.rec && cat due.rec >"$def"
t_exit "due: retried and issued" 0 scheduler --once --template web
t_is "deferred is empty" "$(count deferred)" 0
t_is "two jobs in done" "$(count done)" 2
t_is "the retry kept its Attempt and lost the old Error" \
	"$(field "$H/queue/done/new/$(basename "$def")" Attempt)$(field "$H/queue/done/new/$(basename "$def")" Error)" "1|"

csr never.csr never.example.com
drop never.csr never.csr
t_exit "--max-attempts 1: the first temporary failure is final" 65 lone/scheduler --once --max-attempts 1
t_grep "the reason" "failed: gave up after 1 attempts: pipeline died" "$T_TMP/err"
t_is "three jobs in failed" "$(count failed)" 3
# It never reached check-policy: the scheduler opens its order, failed,
# with the reason, an open alert and the audit event.
nid=$(q "SELECT job FROM orders WHERE error LIKE 'gave up after%'")
t_ok "one order given up on, its job in failed" test -f "$H/queue/failed/new/$nid"
t_is "its order is failed, as a spool order, with the reason" \
	"$(q "SELECT type || ' ' || status || ' ' || error_code || ' ' || error FROM orders WHERE job = '$nid'")" \
	"spool failed 75 gave up after 1 attempts: pipeline died: parse-csr exited 69, check-policy exited 69, sign exited 69"
t_is "an open alert" "$(q "SELECT count(*) FROM alerts a JOIN orders o ON o.id = a.order_id WHERE o.job = '$nid' AND a.acked_at IS NULL")" 1
t_is "audited" "$(q "SELECT outcome FROM audit WHERE event = 'order.failed' AND object = 'order:$nid'")" failure
t_ok "the audit chain verifies" certpipe audit verify


t_exit "bad --batch" 64 scheduler --once --batch 0
t_exit "bad --interval" 64 scheduler --interval x
t_exit "no arguments" 64 scheduler --once extra
t_oneline "an argument"
t_exit "not an instance" 78 scheduler --once --home "$T_TMP/nothing"

# The daemon: a first job shows it is up; the second is picked up after a
# poke of the trigger although the interval is an hour.
csr d1.csr d1.example.com
csr d2.csr d2.example.com
drop d1.csr d1.csr
scheduler --interval 3600 --template web 2>daemon.err &
pid=$!
wait_for() { # wait_for N: until done holds N jobs, at most 10 s
	i=0
	while [ "$(count done)" -lt "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	[ "$(count done)" -ge "$1" ]
}
t_ok "the daemon issues what was there at start" wait_for 3
t_exit "a second scheduler is refused while it runs" 75 scheduler --once
t_grep "... saying so" "spool is locked by another process" "$T_TMP/err"
drop d2.csr d2.csr
t0=$(date +%s%N)
timeout 5 sh -c 'printf x >"$0"' "$H/trigger"
# picked up: adopted, so gone from incoming/new (at most 5 s)
i=0
while [ -e "$H/queue/incoming/new/d2.csr" ] && [ $i -lt 1000 ]; do sleep 0.005; i=$((i + 1)); done
t1=$(date +%s%N)
t_ok "a poke wakes the daemon at once (picked up after $(( (t1 - t0) / 1000000 )) ms)" \
	test $(( (t1 - t0) / 1000000 )) -lt 1000
t_ok "... and it issues the job" wait_for 4
# Its pipeline outlives the jobs; a stage that dies between jobs is
# replaced when the next job comes, which is issued all the same.
sp=$(pgrep -P "$pid" -x sign)
t_ok "the daemon keeps its pipeline running between jobs" test -n "$sp"
kill -9 $sp
csr d3.csr d3.example.com
drop d3.csr d3.csr
timeout 5 sh -c 'printf x >"$0"' "$H/trigger"
t_ok "a stage killed between jobs: the next job is issued" wait_for 5
t_ok "... by a new pipeline" sh -c 'n=$(pgrep -P "$0" -x sign) && [ "$n" != "$1" ]' "$pid" "$sp"
t_grep "... which it says once" "^scheduler: pipeline ended with no job in flight: sign killed by signal 9" daemon.err
t_is "... in one line" "$(wc -l <daemon.err | tr -d ' ')" 1
: >daemon.err
# A CA and a template made while the pipeline runs: its sign opened the
# CA keys at start, so the daemon starts a new pipeline for the next job.
failed_before=$(count failed)
certpipe ca create late --parent root --cn "Test Late" >/dev/null || t_bail "ca late"
certpipe template create lateweb --ca late >/dev/null || t_bail "template lateweb"
csr late.csr late.example.com
{ echo "CERTPIPE-RECORD 1"; echo "Id: 00000000-0000-4000-8000-0000000000aa"; echo "Template: lateweb"
  echo; cat late.csr; echo "END-RECORD 00000000-0000-4000-8000-0000000000aa"; } >late.rec
drop late.rec late.rec
timeout 5 sh -c 'printf x >"$0"' "$H/trigger"
late_done() { grep -l "^Template: lateweb" "$H"/queue/done/new/* 2>/dev/null; }
i=0
while [ -z "$(late_done)" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
t_ok "a job for a CA made after the pipeline started is issued" test -n "$(late_done)"
t_is "... by the new CA" "$(rec-cat --field CA $(late_done))" late
t_is "... nothing failed" "$(count failed)" "$failed_before"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
t_ok "SIGTERM stops it" sh -c '! kill -0 "$0" 2>/dev/null' "$pid"
wait "$pid"
t_is "... with exit 0" "$?" 0
t_is "the daemon logged nothing" "$(cat daemon.err)" ""

# SIGTERM in the middle of the work: the batch in flight is finished
# (nothing is cut short and deferred), the rest waits in incoming.
csr many.csr many.example.com
before=$(count done)
n=1
while [ $n -le 40 ]; do drop many.csr "many$n.csr"; n=$((n + 1)); done
scheduler --batch 1 --template web 2>term.err &
pid=$!
t_ok "the daemon is at work" wait_for $((before + 1))
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
wait "$pid"
t_is "SIGTERM at work: exit 0" "$?" 0
t_is "no batch was cut short" "$(count deferred)/$(cat term.err)" "0/"
t_is "every job is done or still waiting" $(( $(count done) + $(count incoming) - before )) 40
t_ok "some are still waiting" test "$(count incoming)" -gt 0
t_exit "--once finishes them" 0 scheduler --once --template web
t_is "all in done" $(( $(count done) - before )) 40

# An instance without a passphrase file: the passphrase reaches sign on a
# descriptor (read once, relayed to each batch's sign) or as a file name,
# never in argv; without one, sign cannot open the key and the jobs wait.
H2=$T_TMP/home2
certpipe --home "$H2" init --base-url http://pki.test --no-passphrase-file >/dev/null || t_bail "init home2"
printf 'correct horse battery staple\n' >pass.txt
certpipe --home "$H2" ca create root2 --cn "Root 2" --passphrase-file pass.txt >/dev/null || t_bail "ca root2"
certpipe --home "$H2" template create web2 --ca root2 >/dev/null || t_bail "template web2"
certpipe --home "$H2" domain add example.com >/dev/null || t_bail "domain home2"
drop2() { cp "$1" "$H2/queue/incoming/new/.$1" && mv "$H2/queue/incoming/new/.$1" "$H2/queue/incoming/new/$1"; }
count2() { ls "$H2/queue/$1/new" | wc -l | tr -d ' '; }
csr p1.csr p1.example.com
csr p2.csr p2.example.com
drop2 p1.csr
t_exit "no passphrase: sign cannot start, the job waits" 75 scheduler --home "$H2" --once --template web2
t_grep "sign says why" "^sign: .*no passphrase" "$T_TMP/err"
t_is "deferred" "$(count2 deferred)" 1
f=$(ls "$H2"/queue/deferred/new/*)
sed "s/^Retry-At: .*/Retry-At: 2000-01-01T00:00:00Z/" "$f" >due.rec && cat due.rec >"$f"
drop2 p2.csr
t_exit "--passphrase-fd, one job per batch: both issued" 0 \
	sh -c 'scheduler --home "$0" --once --template web2 --batch 1 -v --passphrase-fd 3 3<pass.txt' "$H2"
t_is "two batches" "$(grep -c 'batch: 1 jobs: 1 done' "$T_TMP/err")" 2
t_is "two jobs in done" "$(count2 done)" 2
csr p3.csr p3.example.com
drop2 p3.csr
t_exit "--passphrase-file: issued" 0 scheduler --home "$H2" --once --template web2 --passphrase-file pass.txt
t_is "three jobs in done" "$(count2 done)" 3
t_exit "not both" 64 scheduler --home "$H2" --once --passphrase-file pass.txt --passphrase-fd 0

t_is "certificates == complete orders == jobs in done" \
	"$(q 'SELECT count(*) FROM certificates')/$(q "SELECT count(*) FROM orders WHERE status = 'complete'")" \
	"$(count done)/$(count done)"
t_ok "the audit chain verifies" certpipe audit verify

# A pipeline that dies with several jobs: they run again one at a time,
# so each pays an attempt only for a pipeline that died on it alone.
for n in p1 p2 p3; do csr $n.csr $n.example.com; drop $n.csr $n.csr; done
t_exit "three jobs, stages that cannot run: exit 75" 75 lone/scheduler --once --template web
t_grep "the batch says it retries them alone" "3 of 3 jobs not returned .*running them one at a time" "$T_TMP/err"
t_is "then one line each" "$(grep -c 'batch: 1 of 1 jobs not returned, deferred' "$T_TMP/err")" 3
t_is "three deferred" "$(count deferred)" 3
t_is "each with one attempt" "$(cat "$H"/queue/deferred/new/* | grep -c '^Attempt: 1$')" 3
# A front door killed between its order's commit and the spool write:
# the order is pending, its job in no queue. The scheduler leaves it for
# five minutes (the front door may still be writing), then puts the job
# back from the request the order keeps, and it is issued once.
lost=$(certpipe request --cn lost.example.com --template web --alg ec-256 | head -1)
t_ok "request printed a job id" test -f "$H/queue/incoming/new/$lost"
mv "$H/queue/incoming/new/$lost" lost.rec
t_exit "a young lost job is left alone" 1 scheduler --once --template web
q "UPDATE orders SET updated_at = '2020-01-01T00:00:00Z' WHERE job = '$lost'"
t_exit "an older one is put back and issued" 0 scheduler --once --template web -v
t_grep "it says so" "re-queued 1 lost job from their orders" "$T_TMP/err"
t_is "its order is complete, with one certificate" \
	"$(q "SELECT o.status || ' ' || count(c.id) FROM orders o JOIN certificates c ON c.order_id = o.id WHERE o.job = '$lost'")" "complete 1"
t_is "audited" "$(q "SELECT count(*) FROM audit WHERE event = 'order.requeued' AND object = 'order:$lost'")" 1
t_exit "and never again" 1 scheduler --once --template web
t_done
