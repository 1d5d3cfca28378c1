#!/bin/sh
# certpipe audit: events with the right names, filters, JSON; verify
# detects an edited row and a deleted row.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db
export CERTPIPE_ACTOR=alice

certpipe ca create root --cn Root >/dev/null || t_bail "ca create"
certpipe template create web --ca root --days 30 >/dev/null
certpipe template edit web --days 60 >/dev/null
certpipe template disable web >/dev/null
certpipe template enable web >/dev/null
certpipe template delete web >/dev/null
certpipe domain add example.com >/dev/null
certpipe domain disable example.com >/dev/null
certpipe domain enable example.com >/dev/null
certpipe domain remove example.com >/dev/null
certpipe realm create other >/dev/null
certpipe --realm other domain add other.example >/dev/null
certpipe template create x --ca root --days 0 2>/dev/null	# fails: no event

t_ok "list" certpipe audit list
t_grep "header" "^ +SEQ +AT +ACTOR +REALM +EVENT +OBJECT +OUTCOME +DETAIL" "$T_TMP/out"
t_grep "actor from CERTPIPE_ACTOR" " alice +default +template.created +template:web +success" "$T_TMP/out"
certpipe audit list --event template --json > "$T_TMP/t.json"
t_ok "list --json is JSON" python3 -m json.tool "$T_TMP/t.json"
t_is "template events, oldest first" \
	"$(python3 -c 'import json,sys; print(" ".join(e["event"] for e in json.load(open(sys.argv[1]))))' "$T_TMP/t.json")" \
	"template.created template.created template.updated template.disabled template.enabled template.deleted"
t_is "objects" "$(python3 -c 'import json,sys; print(sorted(set(e["object"] for e in json.load(open(sys.argv[1])))))' "$T_TMP/t.json")" \
	"['template:root-web-server', 'template:web']"
t_is "domain events" "$(certpipe audit list --event domain --json | python3 -c 'import json,sys; print(" ".join(e["event"] for e in json.load(sys.stdin)))')" \
	"domain.added domain.disabled domain.enabled domain.removed"
t_is "exact event" "$(certpipe audit list --event template.updated --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1
t_is "prefix on a dot boundary only" "$(certpipe audit list --event templ --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 0
t_is "--object" "$(certpipe audit list --object domain:example.com --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 4
t_is "--limit: the last N, oldest first" "$(certpipe audit list --limit 2 --json | python3 -c 'import json,sys; print(" ".join(e["event"] for e in json.load(sys.stdin)))')" \
	"domain.enabled domain.removed"
t_is "--since the future: nothing" "$(certpipe audit list --since 2999-01-01 --json)" "[]"
t_is "--since the past: everything" "$(certpipe audit list --since 2000-01-01T00:00:00Z --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
	"$(certpipe audit list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
t_exit "bad --since" 65 certpipe audit list --since yesterday
t_oneline "bad --since"
t_exit "bad --limit" 65 certpipe audit list --limit 0
t_oneline "bad --limit"
t_ok "current realm only" certpipe audit list
t_nogrep "the other realm's events stay out" "other.example" "$T_TMP/out"
t_ok "--all-realms" certpipe audit list --all-realms
t_grep "realm.created in the new realm" " other +realm.created +realm:other " "$T_TMP/out"
t_grep "the other realm's events" " other +domain.added +domain:other.example " "$T_TMP/out"
t_ok "other realm sees its own" certpipe --realm other audit list
t_nogrep "and not the default realm's" "template:web" "$T_TMP/out"
t_is "a failed command writes no event" "$(sqlite3 "$db" "SELECT count(*) FROM audit WHERE object = 'template:x'")" 0

n=$(sqlite3 "$db" "SELECT count(*) FROM audit")
t_ok "verify" certpipe audit verify
t_is "verify reports the count" "$(cat "$T_TMP/out")" "audit log intact: $n events"
t_ok "verify --json" sh -c 'certpipe audit verify --json | python3 -m json.tool'

# Tampering: an edited row is found, and so is a deleted one.
cp "$db" "$T_TMP/pristine.db"
t_ok "the log refuses UPDATE" sh -c '! sqlite3 "$0" "UPDATE audit SET actor = '"'mallory'"' WHERE seq = 2"' "$db"
t_grep "the trigger says why" "append-only" "$T_TMP/err"
sqlite3 "$db" "DROP TRIGGER audit_no_update; UPDATE audit SET actor='mallory' WHERE seq=2;"
t_exit "verify finds the edit" 65 certpipe audit verify
t_oneline "broken chain"
t_grep "names event 2" "^certpipe: audit log broken at event 2: " "$T_TMP/err"
t_is "nothing on stdout" "$(cat "$T_TMP/out")" ""
t_exit "verify --json also fails" 65 certpipe audit verify --json
t_is "JSON names event 2" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["broken_at"])' "$T_TMP/out")" 2

cp "$T_TMP/pristine.db" "$db"
rm -f "$db-wal" "$db-shm"
t_ok "restored log verifies" certpipe audit verify
sqlite3 "$db" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 5;"
t_exit "verify finds a deleted middle row" 65 certpipe audit verify
t_grep "names the missing event" "^certpipe: audit log broken at event 5: event missing$" "$T_TMP/err"
t_done
