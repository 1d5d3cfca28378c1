#!/bin/sh
# Drop-ins: files put into queue/incoming/new/ become jobs exactly once,
# whatever they hold; what cannot run is kept in failed with its reason;
# the scheduler never follows a link or reads a FIFO; an adoption a crash
# cut short is finished under the same id.
. "$(dirname "$0")/lib.sh"
new_home
H=$CERTPIPE_HOME
IN=$H/queue/incoming/new
db=$H/certpipe.db
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Drop Root" >/dev/null || t_bail "ca root"
certpipe template create web --ca root >/dev/null || t_bail "template"
certpipe domain add example.com >/dev/null || t_bail "domain"

csr() { # csr FILE CN [openssl req options]
	f=$1 cn=$2; shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$f.key" \
		-subj "/CN=$cn" "$@" -out "$f" 2>/dev/null || t_bail "openssl req $f"
}
count() { find "$H/queue/$1/new" -type f | wc -l | tr -d ' '; }
sched() { scheduler --once --template web "$@"; }
# the job that came from drop-in NAME, by the line the scheduler logged
# (in the stderr of the last t_exit, saved by keep)
keep() { cp "$T_TMP/err" "$T_TMP/sched.err"; }
job_of() { sed -n "s/^scheduler: \([0-9a-f-]*\): .*$1.*/\1/p" "$T_TMP/sched.err" | head -1; }

: >"$IN/.being-written"
mkdir "$IN/a-directory"
t_exit "a dotfile and a directory are not drop-ins: nothing to do" 1 sched
t_ok "both are left alone" test -f "$IN/.being-written" -a -d "$IN/a-directory"
rm -rf "$IN/.being-written" "$IN/a-directory"

csr der.pem der.example.com
openssl req -in der.pem -outform der -out "$IN/request.der"
csr crlf.pem crlf.example.com
sed 's/$/\r/' crlf.pem >"$IN/crlf.csr"
csr nobody.pem nobody.example.com
cp nobody.pem "$IN/nobody.csr" && chown nobody "$IN/nobody.csr"
t_exit "DER, CRLF PEM and another user's drop-in are issued" 0 sched -v
t_is "three jobs in done" "$(count done)" 3
t_is "nothing left in incoming" "$(ls -A "$IN")" ""
t_ok "the job is the file owner's" sh -c "rec-cat --field Requested-By '$H'/queue/done/new/* | grep -qx nobody"
t_is "three complete orders of type spool" \
	"$(sqlite3 "$db" "SELECT count(*) FROM orders WHERE status = 'complete' AND type = 'spool'")" 3

# A dropped record keeps what it asks for, not what it claims to be.
csr rec.pem rec.example.com
{ echo "CERTPIPE-RECORD 1"; echo "Id: 00000000-0000-4000-8000-0000000000aa"
  echo "Type: revoke"; echo "Template: web"; echo "Days: 30"; echo "Status: complete"; echo "Serial: 01"
  echo "Requested-By: the-ca-admin"; echo "Source: acme"; echo; cat rec.pem
  echo "END-RECORD 00000000-0000-4000-8000-0000000000aa"; } >"$IN/job.rec"
t_exit "a dropped record is issued" 0 sched -v
keep
id=$(job_of job.rec)
r=$H/queue/done/new/$id
t_ok "under a new id" test -n "$id" -a -f "$r" -a ! -e "$H/queue/done/new/00000000-0000-4000-8000-0000000000aa"
t_is "its Days and Template are kept" "$(rec-cat --field Days "$r")/$(rec-cat --field Template "$r")" "30/web"
t_is "Type, Source, Requested-By are the spool's" \
	"$(rec-cat --field Type "$r")/$(rec-cat --field Source "$r")/$(rec-cat --field Requested-By "$r")" \
	"csr/spool/$(id -un)"
t_ok "its claimed Serial is not kept" sh -c "[ \"\$(rec-cat --field Serial '$r')\" != 01 ]"
t_is "the certificate lives 30 days" \
	"$(( ($(date -d "$(rec-cat --field Not-After "$r")" +%s) - $(date -d "$(rec-cat --field Not-Before "$r")" +%s)) / 86400 ))" 30

# What cannot run goes to failed, with the reason, without being read.
echo "top secret" >secret.txt
ln -s "$T_TMP/secret.txt" "$IN/link.csr"
ln secret.txt "$IN/hardlink.csr"
mkfifo "$IN/fifo.csr"
: >"$IN/empty.csr"
head -c 70000 /dev/zero | tr '\0' A >"$IN/big.csr"
cat der.pem crlf.pem >"$IN/two.csr"
t_exit "six drop-ins that cannot run: exit 65" 65 timeout 20 scheduler --once --template web
keep
t_is "one line each" "$(grep -c '^scheduler: [0-9a-f-]*: failed: ' "$T_TMP/sched.err")" 6
for n in link.csr:'not a regular file with one link' hardlink.csr:'not a regular file with one link' \
	fifo.csr:'not a regular file with one link' empty.csr:'is empty' big.csr:'more than 65536' \
	two.csr:'several PEM blocks'; do
	name=${n%%:*} why=${n#*:}
	id=$(job_of "$name")
	t_ok "$name: in failed" test -n "$id" -a -f "$H/queue/failed/new/$id"
	t_grep "$name: $why" "$why" "$(rec-cat --field Error "$H/queue/failed/new/$id" >why.txt; echo why.txt)"
done
t_is "the drop-ins are gone" "$(ls -A "$IN")" ""
t_ok "the link's target is untouched" test "$(cat secret.txt)" = "top secret"
t_nogrep "and was never read into a job" "top secret|dG9wIHNlY3JldA" "$(cat "$H"/queue/failed/new/* >all.rec; echo all.rec)"
t_ok "the two requests are kept in the failed job" sh -c \
	"rec-cat '$H/queue/failed/new/$(job_of two.csr)' | grep -q 'BEGIN CERTIFICATE REQUEST'"

# A file named like a job is a job: when it is not a whole record named
# by its Id (in incoming or deferred), its bytes are kept in failed.
echo "junk" >"$IN/12345678-1234-4234-8234-123456789abc"
echo "junk" >"$H/queue/deferred/new/22345678-1234-4234-8234-123456789abc"
t_exit "files that are not records: exit 65" 65 sched
t_is "one line each" "$(grep -c 'not a job record, moved from [a-z]* to failed' "$T_TMP/err")" 2
t_ok "kept in failed as they were" sh -c "cat '$H/queue/failed/new/12345678-1234-4234-8234-123456789abc' \
	'$H/queue/failed/new/22345678-1234-4234-8234-123456789abc' | grep -c junk | grep -qx 2"
t_is "incoming and deferred are empty" "$(ls -A "$IN" "$H/queue/deferred/new" | grep -c '^[0-9a-f]')" 0

# Such a file whose job has an open order (queued by certpipe submit, then
# damaged): kept in failed, and its order failed with the reason, so
# whoever waits on the order (an ACME finalize) learns it.
csr dmg.pem dmg.example.com
id=$(certpipe submit dmg.pem --template web) || t_bail "submit"
t_is "submitted: its order is pending" "$(sqlite3 "$db" "SELECT status FROM orders WHERE job = '$id'")" pending
echo "junk" >"$IN/$id"
t_exit "the damaged job: exit 65" 65 sched
t_ok "kept in failed" test -f "$H/queue/failed/new/$id"
t_is "its order failed, saying why" \
	"$(sqlite3 "$db" "SELECT status || ' ' || substr(error, 1, 16) FROM orders WHERE job = '$id'")" "failed not a job record"
t_is "audited" "$(sqlite3 "$db" "SELECT count(*) FROM audit WHERE event = 'order.failed' AND object = 'order:$id'")" 1

# A crash after the drop-in was staged (renamed to adopt/ID): the next
# run finishes it under that id. A crash after the commit, before the
# staged file was removed: still one job.
mkdir -p "$H/queue/incoming/adopt"
csr staged.pem staged.example.com
cp staged.pem "$H/queue/incoming/adopt/11111111-2222-4333-8444-555555555555"
csr twice.pem twice.example.com
cp twice.pem "$H/queue/incoming/adopt/66666666-7777-4888-8999-aaaaaaaaaaaa"
{ echo "CERTPIPE-RECORD 1"; echo "Id: 66666666-7777-4888-8999-aaaaaaaaaaaa"; echo "Type: csr"
  echo "Source: spool"; echo "Requested-By: root"; echo "Realm: default"; echo; cat twice.pem
  echo "END-RECORD 66666666-7777-4888-8999-aaaaaaaaaaaa"; } >"$IN/66666666-7777-4888-8999-aaaaaaaaaaaa"
t_exit "staged drop-ins are finished" 0 sched
t_ok "under their staged ids" test -f "$H/queue/done/new/11111111-2222-4333-8444-555555555555" \
	-a -f "$H/queue/done/new/66666666-7777-4888-8999-aaaaaaaaaaaa"
t_is "adopt/ is empty" "$(ls -A "$H/queue/incoming/adopt")" ""
t_is "one order each" "$(sqlite3 "$db" "SELECT count(*) FROM orders WHERE job IN
	('11111111-2222-4333-8444-555555555555', '66666666-7777-4888-8999-aaaaaaaaaaaa')")" 2
t_is "certificates == complete orders == jobs in done" \
	"$(sqlite3 "$db" 'SELECT count(*) FROM certificates')/$(sqlite3 "$db" "SELECT count(*) FROM orders WHERE status = 'complete'")" \
	"$(count done)/$(count done)"

# Whoever drops a request is its requester, by the name approve knows:
# with a manual approval, they cannot approve it themselves.
certpipe policy create gate --template web --approval manual >/dev/null || t_bail "policy"
csr mine.pem mine.example.com
cp mine.pem "$IN/.mine" && mv "$IN/.mine" "$IN/mine.pem"
t_exit "held for approval" 0 sched
job=$(ls "$H/queue/held/new")
t_is "the order's requester is the file's owner" \
	"$(sqlite3 "$db" "SELECT requested_by FROM orders WHERE job = '$job'")" "$(id -un)"
t_exit "the owner cannot approve their own drop-in" 77 env CERTPIPE_ACTOR="$(id -un)" certpipe approve "$job"
t_exit "someone else can" 0 env CERTPIPE_ACTOR=someone-else certpipe approve "$job"
t_exit "and then it is issued" 0 sched
t_ok "in done" test -f "$H/queue/done/new/$job"
t_done
