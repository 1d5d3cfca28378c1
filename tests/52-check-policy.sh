#!/bin/sh
# check-policy: records from parse-csr judged against templates, domains
# and policies; orders opened and updated; audit events; approvals as
# recorded in the database; failed jobs kept; --explain changes nothing.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca create root"
certpipe template create web --ca root --allow-ip on >/dev/null || t_bail "template web"
certpipe template create strict --ca root >/dev/null || t_bail "template strict"
certpipe template create org --ca root --subject-mode default --subject "O=Acme Corp,C=DE" >/dev/null ||
	t_bail "template org"
certpipe domain add example.com >/dev/null || t_bail "domain add"
certpipe domain add old.test >/dev/null && certpipe domain disable old.test >/dev/null || t_bail "old.test"
certpipe realm create other >/dev/null || t_bail "realm other"
certpipe --realm other domain add other.test >/dev/null || t_bail "other.test"

csr() { # csr NAME SUBJ [SAN] [KEYSPEC]
	n=$1 subj=$2 san=${3:-} ks=${4:-"-newkey ec -pkeyopt ec_paramgen_curve:P-256"}
	set -- $ks
	[ -n "$san" ] && set -- "$@" -addext "subjectAltName=$san"
	openssl req -new "$@" -nodes -keyout "$n.key" -subj "$subj" -out "$n.csr" 2>/dev/null ||
		t_bail "openssl req $n"
}
q() { sqlite3 "$db" "$1"; }
judge() { # judge NAME [ARGS...]: parse-csr | check-policy into NAME.rec
	n=$1; shift
	parse-csr "$n.csr" 2>/dev/null | check-policy "$@" > "$n.rec" 2>"$n.err"
}
field() { rec-cat --field "$2" "$1.rec" | tr '\n' '|'; }
order() { q "SELECT $2 FROM orders WHERE job = '$(rec-cat --field Id "$1.rec")'"; }

csr ok /CN=app.example.com DNS:www.example.com
t_ok "a covered request passes" judge ok --template web
t_is "status processing" "$(field ok Status)" "processing|"
t_is "verdict pass" "$(field ok Verdict)" "pass|"
t_is "effective CA, template, days, digest" \
	"$(field ok CA)$(field ok Template)$(field ok Days)$(field ok Digest)$(field ok Realm)" \
	"root|web|397|sha256|default|"
t_is "order processing, type csr" "$(order ok status),$(order ok type)" "processing,csr"
t_is "order stores a facts digest" "$(order ok 'length(facts)')" 64
t_is "order keeps the original request" "$(order ok "instr(request, 'CERTIFICATE REQUEST') > 0")" 1
t_is "submitted event" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.request_csr.submitted'")" 1
t_ok "the output is a well-formed record" rec-cat --check ok.rec

t_ok "judging the same job again (a replay) passes again" sh -c 'check-policy ok.rec > ok2.rec'
t_is "still one order" "$(q "SELECT count(*) FROM orders")" 1
t_is "facts unchanged by the replay" "$(q 'SELECT facts FROM orders')" "$(order ok facts)"
t_is "no second submitted event" "$(q "SELECT count(*) FROM audit WHERE event LIKE 'certificate.request%'")" 1

# Domain coverage.
refused() { # refused NAME DESC PATTERN [ARGS...]
	n=$1 d=$2 p=$3; shift 3
	t_exit "$d: exit 77" 77 judge "$n" "$@"
	t_is "$d: status failed" "$(field "$n" Status)" "failed|"
	t_grep "$d: error names it" "$p" "$n.rec"
	t_is "$d: one line on stderr" "$(wc -l < "$n.err" | tr -d ' ')" 1
	t_is "$d: order failed with the reason" "$(order "$n" status)" failed
	t_is "$d: order error code" "$(order "$n" error_code)" 77
}
csr unreg /CN=www.evil.test
refused unreg "unregistered CN" "^Error: policy builtin rule domain: www.evil.test: not covered" --template web
csr dis /CN=a.example.com DNS:a.old.test
refused dis "disabled domain" "a.old.test: not covered" --template web
csr wild /CN=example.com "DNS:*.example.com"
t_ok "a wildcard under a registered domain passes" judge wild --template web
csr otherdom /CN=x.other.test
refused otherdom "another realm's domain" "x.other.test: not covered" --template web
t_is "an alert is raised for a failed order" \
	"$(q "SELECT count(*) FROM alerts WHERE kind = 'order.failed' AND order_id = (SELECT id FROM orders WHERE job = '$(rec-cat --field Id otherdom.rec)')")" 1
t_is "hard-fail event" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.policy_hard_fail'")" 3

# Realm taken from the record: the other realm's template and domain.
certpipe --realm other ca create oroot --cn "Other Root" >/dev/null || t_bail "other root"
parse-csr otherdom.csr | sed 's/^Type: csr$/Type: csr\nRealm: other/' > in.rec
t_ok "the record's realm is used" sh -c 'check-policy --template oroot-web-server in.rec > in.out'
t_is "passes in its own realm" "$(rec-cat --field Status in.out)" processing
t_is "the order belongs to that realm" \
	"$(q "SELECT r.name FROM orders o JOIN realms r ON r.id = o.realm_id WHERE o.job = '$(rec-cat --field Id in.out)'")" other
sed 's/^Realm: other$/Realm: default/' in.out > moved.rec
t_exit "a job cannot change realm" 77 sh -c 'check-policy moved.rec > moved.out'

# Locked fields: key type, digest, validity.
certpipe policy create keys --template strict --rule key-algs=rsa-2048,rsa-3072 --rule max-days=90 \
	--rule digest=sha256 >/dev/null || t_bail "policy keys"
csr ec /CN=k.example.com
refused ec "locked key type" "rule key-algs: .*ec-256" --template strict
csr rsa /CN=r.example.com "" "-newkey rsa:2048"
t_ok "the allowed key type passes" judge rsa --template strict
t_is "validity capped by the policy" "$(field rsa Days)" "90|"
parse-csr rsa.csr | sed 's/^Type: csr$/Type: csr\nDays: 200/' > days.rec
t_exit "an explicit validity over the lock fails" 77 sh -c 'check-policy --template strict days.rec > days.out'
t_grep "names max-days" "rule max-days" days.out
parse-csr rsa.csr | sed 's/^Type: csr$/Type: csr\nDigest: sha512/' > dig.rec
t_exit "a digest other than the locked one fails" 77 sh -c 'check-policy --template strict dig.rec > dig.out'

# Soft rule: passes with a warning and an audit event.
certpipe policy create sans --template web --soft-rule max-sans=1 >/dev/null || t_bail "policy sans"
csr soft /CN=s.example.com DNS:t.example.com,DNS:u.example.com
t_ok "a soft violation passes" judge soft --template web
t_is "verdict soft-fail" "$(field soft Verdict)" "soft-fail|"
t_grep "with a warning naming the rule" "^Warning: policy sans rule max-sans:" soft.rec
t_is "soft-fail event" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.policy_soft_fail'")" 1
certpipe policy edit sans --rule max-sans=1 >/dev/null || t_bail "policy sans hard"
csr hard /CN=h.example.com DNS:t.example.com,DNS:u.example.com
refused hard "the same rule made hard" "rule max-sans" --template web
certpipe policy delete sans >/dev/null

# Enforced subject values on the CSR path; template subject defaults.
certpipe policy create subj --template web --enforce "O=Acme" >/dev/null || t_bail "policy subj"
csr noo /CN=n.example.com
refused noo "enforced O missing from the CSR" "rule enforce: O=Acme required" --template web
csr wrongo "/CN=w.example.com/O=Evil"
refused wrongo "enforced O contradicted" "rule enforce: O=Acme required" --template web
csr goodo "/CN=g.example.com/O=Acme"
t_ok "the enforced value present passes" judge goodo --template web
# The automated path (a server-side key): the enforced value is filled
# in, replacing what was asked for, and the certificate carries it.
job=$(certpipe request --cn auto.example.com --o Other --template web) || t_bail "request"
t_ok "automated path: passes" sh -c "parse-csr '$CERTPIPE_HOME/queue/incoming/new/$job' | check-policy > auto.rec"
t_is "the policy's O replaces the requested one" "$(field auto O)$(field auto Status)" "Acme|processing|"
t_ok "and sign puts it in the certificate" sh -c 'sign auto.rec > auto.out'
awk '/BEGIN CERTIFICATE-/{n++} n==1' auto.out | sed '/END CERTIFICATE-/q' > auto.pem
t_grep "subject O=Acme" "O *= *Acme" "$(openssl x509 -in auto.pem -noout -subject > auto.subj; echo auto.subj)"
rm -f "$CERTPIPE_HOME/queue/incoming/new/$job"
certpipe policy delete subj >/dev/null
csr dflt /CN=d.example.com
t_ok "template subject defaults" judge dflt --template org
t_is "defaults filled in" "$(field dflt O)$(field dflt C)" "Acme Corp|DE|"

# Approval modes: held until the approvals check-policy finds suffice.
certpipe policy create gate --template strict --approval four-eyes >/dev/null || t_bail "policy gate"
csr held /CN=hold.example.com "" "-newkey rsa:2048"
parse-csr held.csr | sed 's/^Type: csr$/Type: csr\nRequested-By: alice/' > held.in
t_ok "four-eyes: held" sh -c 'check-policy --template strict held.in > held.rec'
t_is "status held, verdict hold" "$(field held Status)$(field held Verdict)" "held|hold|"
t_is "order held, four-eyes" "$(order held status),$(order held approval)" "held,four-eyes"
t_is "approval requested event" "$(q "SELECT count(*) FROM audit WHERE event = 'certificate.approval.requested'")" 1
oid=$(order held id)
approve() { q "INSERT INTO approvals (order_id, approver, decision, at) VALUES ($oid, '$1', '${2:-approve}', '2026-12-01T00:00:00Z')"; }
approve alice
t_ok "the requester's own approval does not count" sh -c 'check-policy held.rec > held2.rec'
t_is "still held" "$(rec-cat --field Status held2.rec)" held
approve bob
t_ok "one approver of two" sh -c 'check-policy held.rec > held3.rec'
t_is "still held with one" "$(rec-cat --field Status held3.rec)" held
approve carol
t_ok "two distinct approvers" sh -c 'check-policy held.rec > held4.rec'
t_is "passes" "$(rec-cat --field Status held4.rec)" processing
t_is "names both approvers" "$(rec-cat --field Approved-By held4.rec | tr '\n' ' ')" "bob carol "
t_is "order processing" "$(order held status)" processing

certpipe policy edit gate --approval manual >/dev/null || t_bail "policy gate manual"
csr man /CN=man.example.com "" "-newkey rsa:2048"
t_ok "manual: held" judge man --template strict
t_is "held" "$(field man Status)" "held|"
oid=$(order man id)
approve dave decline
t_exit "a decline fails the job" 77 sh -c 'check-policy man.rec > man2.rec'
t_grep "with who declined" "^Error: declined by dave" man2.rec

# Failed records from parse-csr become failed orders; nothing is lost.
head -c 300 /dev/urandom > junk.csr
parse-csr junk.csr > junk.in 2>/dev/null
t_exit "a refused request passes through with its code" 65 sh -c 'check-policy --template web junk.in > junk.rec'
t_is "still failed" "$(rec-cat --field Status junk.rec)" failed
t_is "kept as a failed order" "$(order junk status),$(order junk error_code)" "failed,65"
t_exit "no template at all" 65 sh -c 'parse-csr ok.csr | check-policy > nt.rec'
t_is "no template: failed record" "$(rec-cat --field Status nt.rec)" failed
t_is "no template: order kept" "$(order nt status)" failed
t_exit "an unknown template" 66 sh -c 'parse-csr ok.csr | check-policy --template nope > nope.rec'
t_grep "names the template" "nope" nope.rec
t_exit "an unknown realm" 66 sh -c "parse-csr ok.csr | sed 's/^Type: csr\$/Type: csr\nRealm: nowhere/' | check-policy --template web > nr.rec"
t_exit "garbage input" 65 sh -c 'head -c 500 /dev/urandom | check-policy > /dev/null'

# --explain: the table per record, and nothing changes.
sqlite3 "$db" .dump > before.dump
t_ok "explain over many records" sh -c 'cat ok.csr unreg.csr rsa.csr | parse-csr | check-policy --explain --template web > ex.out 2> ex.err'
t_is "one table per record" "$(grep -c '^record ' ex.out)" 3
t_grep "the failing one says why" "FAIL +www.evil.test: not covered" ex.out
t_grep "summary" "2 pass, 0 soft-fail, 0 hold, 1 fail" ex.err
t_exit "explain goes on past a record it cannot judge" 65 sh -c 'cat ok.csr rsa.csr | parse-csr | check-policy --explain > ex2.out 2> ex2.err'
t_is "both named on one line each" "$(grep -c 'not judged: no template' ex2.err)" 2
t_is "no record is echoed" "$(grep -c CERTPIPE-RECORD ex2.out)" 0
t_grep "the summary counts them" "0 fail, 2 not judged" ex2.err
sqlite3 "$db" .dump > after.dump
t_ok "explain changed nothing" cmp -s before.dump after.dump
t_ok "the audit chain is intact" certpipe audit verify
t_done
