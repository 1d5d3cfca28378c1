#!/bin/sh
# kill -9 the scheduler, or one of its stages, at random moments while it
# works through 400 jobs, 24 times (in batches with --once, or in the
# daemon's long-lived pipeline, at random); then run it to completion. No
# job may
# be lost or issued twice (certpipe-spool(5), CRASH WINDOWS): every job
# ends in exactly one of done, failed (with its reason), held; the
# database holds one certificate per complete order and one complete
# order per job in done, each the certificate its record carries.
. "$(dirname "$0")/lib.sh"
new_home
H=$CERTPIPE_HOME
db=$H/certpipe.db
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Crash Root" >/dev/null || t_bail "ca root"
certpipe ca create issuing --parent root --cn "Crash Issuing" >/dev/null || t_bail "ca issuing"
certpipe template create web --ca issuing >/dev/null || t_bail "template"
certpipe domain add example.com >/dev/null || t_bail "domain"
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
q() { sqlite3 "$db" "$1"; }

# 390 records with known ids (every 19th for a name outside the
# registered domains, so it fails in the policy check), committed the
# way spool_put does (tmp/, then a rename into new/), and 10 drop-ins.
# Jobs share a few requests: each job is still its own order.
openssl ecparam -name prime256v1 -genkey -noout -out k.pem 2>/dev/null || t_bail key
for n in 0 1 2 3 4 5 6 7 8 9 stranger; do
	case $n in stranger) cn=j.stranger.org ;; *) cn=j$n.example.com ;; esac
	openssl req -new -key k.pem -subj "/CN=$cn" -out "j$n.csr" 2>/dev/null || t_bail "req $n"
done
# one writer process for all of them (a fork per file is slow)
python3 - "$H" <<'EOF' || t_bail "writing the jobs"
import os, sys, uuid, shutil
h = sys.argv[1]
inc = h + "/queue/incoming"
with open("ids", "w") as ids, open("strangers", "w") as strangers:
    for i in range(1, 401):
        c = "jstranger.csr" if i % 19 == 0 else "j%d.csr" % (i % 10)
        csr = open(c).read()
        if i > 390:
            c = "j%d.csr" % (i % 10)	# drop-ins are never refused
            shutil.copy(c, "%s/new/.j%d" % (inc, i))
            os.rename("%s/new/.j%d" % (inc, i), "%s/new/j%d.csr" % (inc, i))
            continue
        id = str(uuid.uuid4())
        with open("%s/tmp/%s" % (inc, id), "w") as f:
            f.write("CERTPIPE-RECORD 1\nId: %s\nType: csr\nTemplate: web\n"
                    "Source: cli\nRequested-By: crash-test\n\n%sEND-RECORD %s\n"
                    % (id, csr, id))
        os.rename("%s/tmp/%s" % (inc, id), "%s/new/%s" % (inc, id))
        print(id, file=ids)
        if c == "jstranger.csr":
            print(id, file=strangers)
EOF
sort -o ids ids
sort -o strangers strangers

# every known id somewhere in the spool (a copy in two queues is legal
# between a write and its remove; recovery resolves it)
present() {
	for qq in incoming deferred held done failed; do ls "$H/queue/$qq/new"; done | sort -u
}
nothing_lost() { [ -z "$(present | comm -13 - ids)" ]; }

echo "# $(date +%T) jobs ready"
# Small batches: the work lasts long enough to be cut short many times.
# The daemon keeps one pipeline for all its jobs (at most 3 in flight):
# a stage killed under it is started anew, and its jobs in flight are
# recovered, before the daemon itself is killed.
S="scheduler -v --once --batch 1 --max-attempts 1000 --template web"
D="scheduler -v --batch 3 --max-attempts 1000 --template web"
kills=0
lost=0
round=1
daemons=0
live=0
while [ $kills -lt 20 ] && [ $round -le 60 ]; do
	# odd rounds --once, even ones the daemon, which always loses a stage
	if [ $((round % 2)) -eq 1 ]; then
		$S 2>>crash.err &
		how=$(( $(rnd) % 4 ))
	else
		$D 2>>crash.err &
		daemons=$((daemons + 1))
		how=$(( $(rnd) % 3 + 1 ))
	fi
	pid=$!
	# the daemon's pipeline is up (while jobs are left), then the kills
	i=0
	while [ $how -gt 0 ] && [ $((round % 2)) -eq 0 ] && [ $i -lt 100 ] &&
		[ -z "$(pgrep -P "$pid" -x sign)" ]; do sleep 0.05; i=$((i + 1)); done
	[ $((round % 2)) -eq 0 ] && [ -n "$(pgrep -P "$pid" -x sign)" ] && live=$((live + 1))
	sleep "0.$(printf %03d $(( $(rnd) % 250 )))"
	case $how in
	0) kill -9 "$pid" 2>/dev/null ;;
	# only the children of this scheduler: pgrep -P, never by name alone
	1) kill -9 $(pgrep -P "$pid" -x sign) 2>/dev/null
	   sleep "0.$(printf %03d $(( $(rnd) % 200 )))"; kill -9 "$pid" 2>/dev/null ;;
	2) kill -9 $(pgrep -P "$pid" -x check-policy) 2>/dev/null
	   sleep "0.$(printf %03d $(( $(rnd) % 200 )))"; kill -9 "$pid" 2>/dev/null ;;
	3) kill -9 $(pgrep -P "$pid" -x parse-csr) 2>/dev/null
	   sleep "0.$(printf %03d $(( $(rnd) % 200 )))"; kill -9 "$pid" 2>/dev/null ;;
	esac
	wait "$pid" 2>/dev/null
	[ $? -eq 137 ] && kills=$((kills + 1))
	# its stages die with it; until they have, they hold the spool
	# lock, and the next round's scheduler exits 75 at once
	nothing_lost || lost=$((lost + 1))
	round=$((round + 1))
done
t_ok "killed the scheduler at work 20 times ($kills in $((round - 1)) rounds, $daemons daemons)" test $kills -ge 20
t_ok "... $daemons of them daemons, $live with their pipeline running, each losing a stage first" \
	test $live -gt 0
t_is "no job was missing from the spool after any kill" $lost 0
t_ok "work was left for the final run" test -n "$(find "$H/queue/incoming/new" "$H/queue/deferred/new" -type f)"

left() { find "$H/queue/incoming/new" "$H/queue/deferred/new" -type f; }
echo "# $(date +%T) kills done, $(left | wc -l) jobs left; $(grep -c 'pipeline died' crash.err) batches lost a stage," \
	"$(grep -c 'recovered:' crash.err) restarts recovered something"
round=0
while [ $round -lt 10 ]; do
	for f in "$H"/queue/deferred/new/*; do
		[ -e "$f" ] || continue
		sed "s/^Retry-At: .*/Retry-At: 2000-01-01T00:00:00Z/" "$f" >due && cat due >"$f"
	done
	scheduler --once --max-attempts 1000 --template web >/dev/null 2>>final.err
	[ -z "$(left)" ] && break
	round=$((round + 1))
done
t_is "incoming and deferred are empty" "$(left)" ""
echo "# $(date +%T) $round final runs"
t_is "no unfinished write or adoption is left" \
	"$(find "$H"/queue/*/tmp "$H/queue/incoming/adopt" -type f | wc -l | tr -d ' ')" 0
for qq in done failed held; do ls "$H/queue/$qq/new"; done | sort >final
t_is "400 jobs in done, failed and held" "$(wc -l <final | tr -d ' ')" 400
t_is "no job in two queues" "$(uniq -d final)" ""
t_is "every submitted id is among them" "$(comm -23 ids final)" ""
ls "$H/queue/failed/new" | sort >failed
t_is "failed holds exactly the refused requests" "$(cat failed)" "$(cat strangers)"
t_is "... each with the policy's reason" \
	"$(cd "$H/queue/failed/new" && rec-cat --field Error * | grep -c 'not covered by an enabled domain')" \
	"$(wc -l <strangers | tr -d ' ')"
done=$(ls "$H/queue/done/new" | wc -l | tr -d ' ')
t_is "done holds the rest" "$done" $((400 - $(wc -l <strangers)))
t_is "no order with two certificates" \
	"$(q 'SELECT order_id FROM certificates GROUP BY order_id HAVING count(*) > 1')" ""
t_is "no repeated (issuer, serial)" \
	"$(q 'SELECT serial FROM certificates GROUP BY issuer, serial HAVING count(*) > 1')" ""
t_is "certificates == complete orders == jobs in done" \
	"$(q 'SELECT count(*) FROM certificates')/$(q "SELECT count(*) FROM orders WHERE status = 'complete'")" \
	"$done/$done"
# each job in done carries the one certificate the database holds for it
(cd "$H/queue/done/new" && for f in *; do
	printf '%s %s\n' "$f" "$(rec-cat --field Serial "$f")"
done) | sort >done.serials
q "SELECT o.job || ' ' || c.serial FROM certificates c JOIN orders o ON o.id = c.order_id ORDER BY o.job" >db.serials
t_ok "every done record carries its order's certificate" cmp -s done.serials db.serials
t_ok "the audit chain verifies" certpipe audit verify
t_done
