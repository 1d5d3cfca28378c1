#!/bin/sh
# certpipe alert list / ack: failed orders (a policy refusal, a decline)
# raise alerts; ack records who and when, all or none; realm isolation.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca create root"
certpipe template create web --ca root >/dev/null || t_bail "template web"
certpipe domain add example.com >/dev/null || t_bail "domain add"
certpipe policy create gate --template web --approval manual >/dev/null || t_bail "policy gate"
certpipe realm create other >/dev/null || t_bail "realm other"

q() { sqlite3 "$db" "$1"; }
judge() { # judge NAME CN: a request by "req" through the pipeline
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$2" -out "$1.csr" 2>/dev/null || t_bail "openssl req $1"
	parse-csr "$1.csr" | CERTPIPE_ACTOR=req check-policy --template web > "$1.rec" 2>/dev/null
	[ -s "$1.rec" ] || t_bail "check-policy $1"
}
ids() { # the alert ids certpipe alert list --json ARGS prints
	certpipe alert list --json "$@" | python3 -c 'import json,sys; print(" ".join(str(a["id"]) for a in json.load(sys.stdin)))'
}
state() { sqlite3 "$db" .dump | grep -v '^INSERT INTO audit ' > "$1"; }

t_ok "no alerts in a new instance" certpipe alert list
t_is "just the header" "$(wc -l < "$T_TMP/out" | tr -d ' ')" 1

judge bad www.evil.test
judge dec d.example.com
CERTPIPE_ACTOR=carol certpipe decline "$(rec-cat --field Id dec.rec)" --reason "not ours" >/dev/null ||
	t_bail "decline"
t_is "two failed orders, two alerts" "$(q "SELECT count(*) FROM alerts")" 2
t_ok "list" certpipe alert list
t_grep "the policy refusal, with its job" \
	"^1 +[0-9T:Z-]+ +order.failed +$(rec-cat --field Id bad.rec) +- +policy builtin rule domain: www.evil.test" "$T_TMP/out"
t_grep "the decline, with its reason" \
	"^2 +[0-9T:Z-]+ +order.failed +$(rec-cat --field Id dec.rec) +- +declined by carol: not ours$" "$T_TMP/out"
t_is "--json lists both" "$(ids)" "1 2"

t_ok "alice acknowledges alert 1" env CERTPIPE_ACTOR=alice certpipe alert ack 1
t_is "who and when are stored" "$(q "SELECT acked_by, acked_at IS NOT NULL FROM alerts WHERE id = 1")" "alice|1"
t_is "an alert.acked event" \
	"$(q "SELECT actor, object FROM audit WHERE event = 'alert.acked'")" "alice|alert:1"
t_is "list shows the open one only" "$(ids)" "2"
t_is "--all shows both" "$(ids --all)" "1 2"
t_is "--all --json says who acked" \
	"$(certpipe alert list --all --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["acked_by"])')" alice

state before.sql
t_exit "acknowledging twice is refused" 77 certpipe alert ack 1
t_oneline "ack twice"
t_exit "an unknown alert" 66 certpipe alert ack 2 99
t_oneline "unknown alert"
t_exit "not a number" 65 certpipe alert ack 2 x
t_exit "no id" 64 certpipe alert ack
t_exit "another realm cannot acknowledge it" 66 certpipe --realm other alert ack 2
state after.sql
t_ok "none of these changed anything: all or none" cmp -s before.sql after.sql
t_is "another realm sees none" "$(certpipe --realm other alert list --all --json)" "[]"

t_ok "acknowledge the rest" certpipe alert ack 2
t_is "nothing open" "$(ids)" ""
t_ok "the audit chain verifies" certpipe audit verify
t_done
