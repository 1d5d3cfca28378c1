#!/bin/sh
# certpipe order list / show: filters, JSON, one order's error, approvals
# and original record, job id prefixes, realm isolation. Orders are made
# by the real pipeline (parse-csr | check-policy) and checked with sqlite3.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca create root"
certpipe template create web --ca root >/dev/null || t_bail "template web"
certpipe template create gated --ca root >/dev/null || t_bail "template gated"
certpipe domain add example.com >/dev/null || t_bail "domain add"
certpipe policy create gate --template gated --approval four-eyes >/dev/null || t_bail "policy gate"
certpipe realm create other >/dev/null || t_bail "realm other"

q() { sqlite3 "$db" "$1"; }
# judge NAME CN TEMPLATE [SED]: a request by "req" through the pipeline
judge() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$2" -out "$1.csr" 2>/dev/null || t_bail "openssl req $1"
	parse-csr "$1.csr" | sed "${4:-p;d}" | CERTPIPE_ACTOR=req check-policy --template "$3" > "$1.rec" 2>"$1.err"
	[ -s "$1.rec" ] || t_bail "check-policy $1"
}
job() { rec-cat --field Id "$1.rec"; }
jobs() { # the CNs that certpipe order list --json ARGS prints, in order
	certpipe order list --json "$@" | python3 -c 'import json,sys; print(" ".join(o["cn"] for o in json.load(sys.stdin)))'
}

judge ok ok.example.com web
judge held held.example.com gated
judge bad www.evil.test web
judge spool sp.example.com web 's/^Type: csr$/Type: csr\nSource: spool/'
t_is "the pipeline made four orders" "$(q "SELECT count(*) FROM orders")" 4

t_ok "list" certpipe order list
t_grep "a header line" "^JOB +STATUS +TYPE +CREATED +DURATION +REQUESTED-BY +CN$" "$T_TMP/out"
t_is "one line per order and the header" "$(wc -l < "$T_TMP/out" | tr -d ' ')" 5
t_grep "a line names job, status, type, created, requester, CN" \
	"^$(job held) held +csr +$(q "SELECT created_at FROM orders WHERE cn = 'held.example.com'") - +req +held.example.com$" "$T_TMP/out"
t_is "--json, newest first" "$(jobs)" "sp.example.com www.evil.test held.example.com ok.example.com"
t_is "--status processing" "$(jobs --status processing)" "sp.example.com ok.example.com"
t_is "--held" "$(jobs --held)" "held.example.com"
t_is "--status failed" "$(jobs --status failed)" "www.evil.test"
t_is "--type spool" "$(jobs --type spool)" "sp.example.com"
t_is "--type csr" "$(jobs --type csr)" "www.evil.test held.example.com ok.example.com"
t_is "--cn is a substring, any case" "$(jobs --cn EXAMPLE.COM)" "sp.example.com held.example.com ok.example.com"
t_is "--cn takes % literally" "$(jobs --cn %)" ""
t_is "--limit 2: the newest two" "$(jobs --limit 2)" "sp.example.com www.evil.test"
t_is "filters combine" "$(jobs --status processing --cn ok)" "ok.example.com"
t_exit "a bad --status" 64 certpipe order list --status done
t_oneline "bad --status"
t_exit "a bad --type" 64 certpipe order list --type x509
t_exit "--held with another --status" 64 certpipe order list --held --status failed
t_exit "--limit 0" 65 certpipe order list --limit 0
t_exit "--limit not a number" 65 certpipe order list --limit 2x

# show: the failed one with its error, by its last 8 characters (ids
# start with their time: the first 8 are those of every order made here)
B=$(job bad)
t_ok "show by its last 8 characters" certpipe order show "$(echo "$B" | cut -c29-36)"
cp "$T_TMP/out" bad.txt
t_grep "the job id" "^job +$B$" bad.txt
t_grep "failed" "^status +failed$" bad.txt
t_grep "the error and its exit code" "^error +policy builtin rule domain: www.evil.test: not covered.*\\(exit 77\\)$" bad.txt
t_nogrep "no record without --request" "CERTPIPE-RECORD" bad.txt
t_ok "show --request" certpipe order show "$B" --request
sed -n '/^CERTPIPE-RECORD/,$p' "$T_TMP/out" > request.rec
t_is "--request prints the stored original record" "$(cat request.rec)" \
	"$(q "SELECT request FROM orders WHERE job = '$B'")"
t_ok "which is a whole record" rec-cat --check request.rec
t_is "with the request's CSR" "$(grep -c 'BEGIN CERTIFICATE REQUEST' request.rec)" 1

# show --json: approvals so far
H=$(job held)
CERTPIPE_ACTOR=alice certpipe approve "$H" >/dev/null || t_bail "approve held"
t_ok "show --json" sh -c 'certpipe order show --json "$0" > held.json' "$H"
py() { python3 -c "import json,sys; o=json.load(open('held.json')); print($1)"; }
t_is "status, mode, counted, needed" \
	"$(py 'o["status"], o["approval"], o["approvals_counted"], o["approvals_needed"]')" \
	"held four-eyes 1 2"
t_is "the approval: who and what" "$(py '[(a["approver"], a["decision"]) for a in o["approvals"]]')" \
	"[('alice', 'approve')]"
t_is "its time is the stored one" "$(py 'o["approvals"][0]["at"]')" "$(q "SELECT at FROM approvals")"
t_is "no certificate yet" "$(py 'o["serial"], o["fingerprint_sha256"]')" "None None"
t_is "no request without --request" "$(py '"request" in o')" False
t_ok "show text" certpipe order show "$H"
t_grep "approvals counted" "^approval +four-eyes \\(1 of 2 approvals\\)$" "$T_TMP/out"
t_grep "the decision" "^decisions +[0-9T:Z-]+ approve alice$" "$T_TMP/out"
t_ok "show an order that needs no approval" certpipe order show "$(job ok)"
t_grep "says automatic, no count" "^approval +automatic$" "$T_TMP/out"
t_grep "the facts check-policy passed" "^facts +$(q "SELECT facts FROM orders WHERE cn = 'ok.example.com'")$" "$T_TMP/out"

t_exit "an unknown job" 66 certpipe order show 00000000-0000-4000-8000-000000000000
t_oneline "unknown job"
t_exit "a 7-character prefix" 65 certpipe order show "$(echo "$B" | cut -c1-7)"
t_exit "7 last characters" 65 certpipe order show "$(echo "$B" | cut -c30-36)"
# two jobs whose ids share their first 24 characters, as ids made in
# the same moment do
twin() { printf 's/^\\(Id: \\|END-RECORD \\).*/\\10190abcd-ef01-7000-8000-00000000000%s/' "$1"; }
judge twin1 t1.example.com web "$(twin 1)"
judge twin2 t2.example.com web "$(twin 2)"
t_is "ids as given" "$(job twin1) $(job twin2)" \
	"0190abcd-ef01-7000-8000-000000000001 0190abcd-ef01-7000-8000-000000000002"
t_exit "a prefix two orders share" 65 certpipe order show 0190abcd-ef01-7000-8000
t_grep "is ambiguous" "ambiguous, give more of the job id" "$T_TMP/err"
t_ok "their last 8 characters" certpipe order show 00000002
t_grep "name one" "^job +0190abcd-ef01-7000-8000-000000000002$" "$T_TMP/out"
t_ok "the whole id" certpipe order show 0190abcd-ef01-7000-8000-000000000001
t_grep "names the other" "^cn +t1.example.com$" "$T_TMP/out"
t_exit "not a job id" 65 certpipe order show "../../etc/passwd"

# A complete order names its certificate (when the sign program is built).
if [ -x "$CERTPIPE_BUILD/bin/sign" ]; then
	check-policy ok.rec 2>/dev/null | sign > signed.rec 2>/dev/null
	sed -n '/BEGIN CERTIFICATE-----/,/END CERTIFICATE-----/p' signed.rec | sed '/END CERTIFICATE/q' > ok.pem
	t_ok "sign issued the processing order" openssl x509 -in ok.pem -noout
	t_ok "show the complete order" certpipe order show "$(job ok)"
	cp "$T_TMP/out" ok.txt
	t_grep "complete" "^status +complete$" ok.txt
	t_grep "with a duration" "^duration +[0-9]+\\.[0-9]{3}s$" ok.txt
	t_is "the serial is the certificate's" "$(sed -n 's/^serial  *//p' ok.txt | tr a-f A-F)" \
		"$(openssl x509 -in ok.pem -noout -serial | cut -d= -f2)"
	t_is "the fingerprint is the certificate's" "$(sed -n 's/^sha256  *//p' ok.txt)" \
		"$(openssl x509 -in ok.pem -noout -fingerprint -sha256 | cut -d= -f2)"
	t_is "list --status complete" "$(jobs --status complete)" "ok.example.com"
else
	T_N=$((T_N + 1)); echo "ok $T_N # skip sign is not built"
fi

# another realm sees none of it
t_is "another realm lists nothing" "$(certpipe --realm other order list --json)" "[]"
t_exit "nor shows it" 66 certpipe --realm other order show "$B"
t_done
