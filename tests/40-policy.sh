#!/bin/sh
# certpipe policy: create/edit/delete/list/show, the what-if check and its
# exit statuses (0 pass, 2 soft-fail, 3 hold, 1 fail), JSON, audit events,
# bad values (exit 65, one line, nothing changed), realm isolation.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca create root"
certpipe template create web --ca root --allow-ip on >/dev/null || t_bail "template web"
certpipe template create mail --ca root --from email >/dev/null || t_bail "template mail"
certpipe domain add example.com >/dev/null || t_bail "domain add"
certpipe domain add old.test >/dev/null && certpipe domain disable old.test >/dev/null ||
	t_bail "domain old.test"

snapshot() { sqlite3 "$db" .dump > "$T_TMP/db.$1"; }
bad() { # bad DESCRIPTION STATUS ARGS...: fails with STATUS, one line, no change
	d=$1; s=$2; shift 2
	snapshot before
	t_exit "$d: exit $s" "$s" certpipe "$@"
	t_oneline "$d"
	cp "$T_TMP/err" "$T_TMP/bad.err"
	snapshot after
	t_ok "$d: instance unchanged" cmp -s "$T_TMP/db.before" "$T_TMP/db.after"
}
json() { # json FILE EXPR: print a Python expression over the JSON in FILE
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
check() { # check WANT DESCRIPTION ARGS...: policy check exits WANT
	w=$1; d=$2; shift 2
	t_exit "$d" "$w" certpipe policy check --template web --alg ec-256 "$@"
	cp "$T_TMP/out" "$T_TMP/check.out"
}

# No policy: the built-in checks alone.
t_ok "empty list" certpipe policy list
t_grep "list header" "^NAME +TEMPLATE +APPROVAL +RULES +ENFORCE" "$T_TMP/out"
check 0 "covered name: pass" --cn www.example.com --san DNS:www.example.com
t_grep "outcome printed" "^outcome: pass$" "$T_TMP/check.out"
t_grep "a line per name" "^builtin +domain +hard +ok +www.example.com: covered by example.com" "$T_TMP/check.out"
check 0 "wildcard covered by its base" --san 'DNS:*.example.com'
check 1 "unregistered name: fail" --cn www.example.com --san DNS:evil.test
t_grep "names the uncovered name" "FAIL +evil.test: not covered" "$T_TMP/check.out"
check 1 "disabled domain: fail" --cn www.old.test
check 1 "CN that is a host name is checked too" --cn www.evil.test
check 0 "CN that is a person's name is not" --cn "Jane Doe" --san DNS:a.example.com
check 1 "explicit days above the template cap" --cn www.example.com --days 398
check 0 "explicit days at the cap" --cn www.example.com --days 397
check 1 "key type outside the template's" --cn www.example.com --alg rsa-1024
check 1 "digest other than the template's" --cn www.example.com --digest sha512
t_exit "IP SAN without allow-ip" 1 certpipe policy check --template mail --cn a.example.com --san IP:192.0.2.1 --alg ec-256
certpipe template disable web >/dev/null
check 1 "disabled template" --cn www.example.com
certpipe template enable web >/dev/null

# create, with every kind of option
t_ok "create a realm-wide policy" certpipe policy create baseline --rule max-days=90 \
	--soft-rule wildcards=off --enforce "C=DE, O=Acme" --approval manual
t_grep "create says what it made" "^created policy baseline \(every template, approval manual, enforce O=Acme,C=DE, rules max-days=90 \(hard\), wildcards=off \(soft\)\)" "$T_TMP/out"
t_ok "create a template policy" certpipe policy create web-keys --template web \
	--rule key-algs=ec-256,ec-384 --soft-rule max-sans=3 --rule cn-required=yes
t_ok "create an empty policy" certpipe policy create nothing
t_ok "list" certpipe policy list
t_grep "list: baseline" "^baseline +\* +manual +2 +O=Acme,C=DE$" "$T_TMP/out"
t_grep "list: web-keys" "^web-keys +web +automatic +3 +-$" "$T_TMP/out"
t_ok "show" certpipe policy show baseline
t_grep "show: template" "^template +\* \(every template\)$" "$T_TMP/out"
t_grep "show: a rule" "^ +wildcards=off \(soft\)$" "$T_TMP/out"
certpipe policy show web-keys --json > "$T_TMP/wk.json"
t_ok "show --json is JSON" python3 -m json.tool "$T_TMP/wk.json"
t_is "json: template" "$(json "$T_TMP/wk.json" 'd["template"]')" web
t_is "json: approval" "$(json "$T_TMP/wk.json" 'd["approval"]')" automatic
t_is "json: rules, sorted, switches canonical" \
	"$(json "$T_TMP/wk.json" '",".join("%s=%s/%s" % (r["rule"], r["value"], r["mode"]) for r in d["rules"])')" \
	"cn-required=on/hard,key-algs=ec-256,ec-384/hard,max-sans=3/soft"
certpipe policy list --json > "$T_TMP/list.json"
t_ok "list --json is JSON" python3 -m json.tool "$T_TMP/list.json"
t_is "json list: names" "$(json "$T_TMP/list.json" '" ".join(p["name"] for p in d)')" "baseline nothing web-keys"
t_is "json list: every template is null" "$(json "$T_TMP/list.json" 'd[0]["template"]')" None

# check with policies: hold (manual), fill on the automated path
check 3 "manual approval: hold" --cn www.example.com --o Acme --c DE
t_grep "approval printed" "^approval: manual$" "$T_TMP/check.out"
t_grep "default days capped by the policy" "^days: 90$" "$T_TMP/check.out"
check 1 "CSR without the enforced values: fail" --cn www.example.com
t_grep "enforce line" "^baseline +enforce +hard +FAIL +O=Acme required, the CSR has no O" "$T_TMP/check.out"
check 1 "CSR with a different value: fail" --cn www.example.com --o Other --c DE
check 3 "automated path fills them in" --cn www.example.com --path automated
t_grep "fill O" "^fill: O=Acme$" "$T_TMP/check.out"
t_grep "fill C" "^fill: C=DE$" "$T_TMP/check.out"
check 1 "hard rule: days above the policy cap" --cn www.example.com --o Acme --c DE --days 91
t_grep "the rule line fails" "^baseline +max-days +hard +FAIL" "$T_TMP/check.out"
check 3 "soft violation with approval: hold, warning kept" --cn www.example.com \
	--san 'DNS:*.example.com' --o Acme --c DE
t_grep "warning line" "^baseline +wildcards +soft +warn" "$T_TMP/check.out"
check 1 "locked key types" --cn www.example.com --o Acme --c DE --alg rsa-2048
check 1 "cn-required" --san DNS:www.example.com --o Acme --c DE
certpipe policy check --template web --alg ec-256 --cn www.example.com --path automated \
	--json > "$T_TMP/v.json"
t_is "check --json exits with the verdict" "$?" 3
t_ok "check --json is JSON" python3 -m json.tool "$T_TMP/v.json"
t_is "json: outcome" "$(json "$T_TMP/v.json" 'd["outcome"]')" hold
t_is "json: fill" "$(json "$T_TMP/v.json" '",".join(d["fill"])')" "O=Acme,C=DE"
t_is "json: days" "$(json "$T_TMP/v.json" 'd["days"]')" 90
t_is "json: every line passes" "$(json "$T_TMP/v.json" 'all(l["ok"] for l in d["lines"])')" True
t_is "json: lines name their policy" \
	"$(json "$T_TMP/v.json" '" ".join(sorted(set(l["policy"] for l in d["lines"])))')" \
	"baseline builtin nothing web-keys"
t_exit "the template's policy does not apply to another template" 3 \
	certpipe policy check --template mail --cn a.example.com --alg rsa-2048 --o Acme --c DE

# edit: approval, rules removed and replaced, scope
t_ok "edit" certpipe policy edit baseline --approval automatic --rule max-days= --enforce ''
t_grep "edit says what changed" "^updated policy baseline: approval=automatic, enforce=, rule max-days=$" "$T_TMP/out"
check 2 "soft violation alone: soft-fail" --cn www.example.com --san 'DNS:*.example.com'
check 0 "pass once nothing is violated" --cn www.example.com
t_ok "a soft rule becomes hard" certpipe policy edit baseline --rule wildcards=off
check 1 "now a wildcard fails" --cn www.example.com --san 'DNS:*.example.com'
t_ok "four-eyes" certpipe policy edit nothing --approval four-eyes
check 3 "strictest approval wins" --cn www.example.com
t_is "four-eyes reported" "$(grep '^approval:' "$T_TMP/check.out")" "approval: four-eyes"
t_ok "narrow to a template" certpipe policy edit nothing --template mail
check 0 "no longer applies to web" --cn www.example.com
t_ok "back to every template" certpipe policy edit nothing --template ''
t_is "every template again" "$(certpipe policy show nothing --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["template"])')" None

# Bad input: one line, a documented status, nothing changed.
bad "unknown rule" 65 policy create x --rule max-day=90
t_grep "names the rule" "rule 'max-day': unknown" "$T_TMP/bad.err"
bad "max-days 0" 65 policy create x --rule max-days=0
bad "max-days not a number" 65 policy create x --rule max-days=90d
bad "unknown key type" 65 policy create x --rule key-algs=ec-256,rsa-1024
bad "bad digest" 65 policy create x --rule digest=md5
bad "max-sans too large" 65 policy create x --soft-rule max-sans=1000
bad "switch neither on nor off" 65 policy create x --rule wildcards=maybe
bad "rule without =" 65 policy create x --rule wildcards
bad "empty rule value on create" 65 policy create x --rule wildcards=
bad "bad approval" 65 policy create x --approval sometimes
bad "enforced CN" 65 policy create x --enforce CN=foo
bad "bad enforced country" 65 policy create x --enforce C=Germany
bad "bad policy name" 65 policy create ../x
bad "duplicate name" 65 policy create baseline
bad "unknown template" 66 policy create x --template nosuch
bad "edit: bad value" 65 policy edit baseline --rule max-days=-1
bad "edit: remove a rule that is not set" 65 policy edit baseline --rule digest=
bad "edit: unknown policy" 66 policy edit nosuch --approval manual
bad "edit: nothing to change" 64 policy edit baseline
bad "delete: unknown policy" 66 policy delete nosuch
bad "show: unknown policy" 66 policy show nosuch
bad "check: no template" 64 policy check --cn www.example.com
bad "check: unknown template" 66 policy check --template nosuch
bad "check: bad path" 65 policy check --template web --path ftp
bad "check: bad days" 65 policy check --template web --days x
bad "unknown option" 64 policy create x --bogus

# delete
t_ok "delete" certpipe policy delete web-keys
t_exit "gone" 66 certpipe policy show web-keys
t_is "its rules are gone" "$(sqlite3 "$db" "SELECT count(*) FROM policy_rules WHERE policy_id NOT IN (SELECT id FROM policies)")" 0

# Deleting a template deletes the policies made for it alone.
certpipe policy create mail-only --template mail --rule max-days=30 >/dev/null
certpipe template delete mail >/dev/null || t_bail "template delete"
t_exit "a template's policy goes with it" 66 certpipe policy show mail-only
t_ok "realm-wide policies stay" certpipe policy show baseline

# Audit events.
certpipe audit list --event policy --json > "$T_TMP/a.json"
t_is "audit events" "$(json "$T_TMP/a.json" '" ".join(e["event"] for e in d)')" \
	"policy.created policy.created policy.created policy.updated policy.updated policy.updated policy.updated policy.updated policy.deleted policy.created"
t_is "audit object" "$(json "$T_TMP/a.json" 'd[0]["object"]')" "policy:baseline"
t_ok "audit chain intact" certpipe audit verify

# Realm isolation.
certpipe realm create other >/dev/null || t_bail "realm create"
t_ok "list in the other realm" certpipe --realm other policy list
t_nogrep "no policies leak into the other realm" "baseline" "$T_TMP/out"
t_exit "show from the other realm" 66 certpipe --realm other policy show baseline
t_exit "edit from the other realm" 66 certpipe --realm other policy edit baseline --approval manual
t_exit "delete from the other realm" 66 certpipe --realm other policy delete baseline
t_exit "the other realm cannot name this realm's template" 66 \
	certpipe --realm other policy create x --template web
certpipe --realm other ca create oroot --cn "Other Root" >/dev/null
t_ok "same policy name in another realm" certpipe --realm other policy create baseline --approval four-eyes
t_exit "the other realm's domains do not cover here" 1 \
	certpipe --realm other policy check --template oroot-web-server --alg ec-256 --cn www.example.com
certpipe policy edit nothing --approval automatic >/dev/null
t_exit "its own policies only: the other realm's four-eyes does not hold here" 0 \
	certpipe policy check --template web --alg ec-256 --cn www.example.com
certpipe --realm other domain add other.test >/dev/null
t_exit "the other realm's own policy holds there" 3 \
	certpipe --realm other policy check --template oroot-web-server --alg ec-256 --cn www.other.test
t_is "the other realm's events stay there" \
	"$(certpipe --realm other audit list --event policy --json | python3 -c 'import json,sys; print(" ".join(e["event"] for e in json.load(sys.stdin)))')" \
	"policy.created"
t_done
