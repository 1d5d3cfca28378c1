#!/bin/sh
# certpipe realm: create and list; every object is confined to its realm.
. "$(dirname "$0")/lib.sh"
new_home
db=$CERTPIPE_HOME/certpipe.db

t_ok "list" certpipe realm list
t_grep "the default realm exists" "^default " "$T_TMP/out"
t_ok "create" certpipe realm create tenant-a
t_ok "create another" certpipe realm create tenant-b
t_exit "duplicate" 65 certpipe realm create tenant-a
t_oneline "duplicate realm"
t_exit "bad name" 65 certpipe realm create Tenant_A
t_oneline "bad realm name"
t_exit "missing name" 64 certpipe realm create
t_exit "unknown realm" 66 certpipe --realm nosuch template list
t_oneline "unknown realm"
certpipe realm list --json > "$T_TMP/r.json"
t_ok "list --json is JSON" python3 -m json.tool "$T_TMP/r.json"
t_is "three realms" "$(python3 -c 'import json,sys; print(",".join(r["name"] for r in json.load(open(sys.argv[1]))))' "$T_TMP/r.json")" "default,tenant-a,tenant-b"
t_is "realm.created names the new realm" \
	"$(sqlite3 "$db" "SELECT realm || ' ' || object FROM audit WHERE event = 'realm.created' ORDER BY seq")" \
	"tenant-a realm:tenant-a
tenant-b realm:tenant-b"

# Objects made in realm A are invisible from realm B, and the other way.
A="--realm tenant-a"; B="--realm tenant-b"
certpipe $A ca create ca-a --cn "CA A" >/dev/null || t_bail "ca in A"
certpipe $B ca create ca-b --cn "CA B" >/dev/null || t_bail "ca in B"
certpipe $A template create tpl-a --ca ca-a >/dev/null || t_bail "template in A"
certpipe $B template create tpl-b --ca ca-b >/dev/null || t_bail "template in B"
certpipe $A domain add a.example >/dev/null || t_bail "domain in A"
certpipe $B domain add b.example >/dev/null || t_bail "domain in B"
for pair in "a:$A:$B:ca-a:tpl-a:a.example" "b:$B:$A:ca-b:tpl-b:b.example"; do
	IFS=: read -r x mine theirs ca tpl dom <<-EOF2
	$pair
	EOF2
	t_exit "$x: CA invisible via the other realm" 66 certpipe $theirs ca show "$ca"
	t_exit "$x: template invisible via the other realm" 66 certpipe $theirs template show "$tpl"
	t_exit "$x: domain does not cover in the other realm" 1 certpipe $theirs domain check "www.$dom"
	t_ok "$x: visible in its own realm (CA)" certpipe $mine ca show "$ca"
	t_ok "$x: visible in its own realm (template)" certpipe $mine template show "$tpl"
	t_ok "$x: covered in its own realm" certpipe $mine domain check "www.$dom"
	certpipe $theirs ca list > "$T_TMP/l"; certpipe $theirs template list >> "$T_TMP/l"
	certpipe $theirs domain list >> "$T_TMP/l"; certpipe $theirs audit list >> "$T_TMP/l"
	t_nogrep "$x: no list in the other realm names its objects" "$ca|$tpl|$dom" "$T_TMP/l"
done
t_ok "default realm sees none of them" sh -c 'certpipe ca list; certpipe template list; certpipe domain list' 
t_nogrep "default realm lists nothing of A or B" "ca-a|ca-b|tpl-|example" "$T_TMP/out"
certpipe realm list --json > "$T_TMP/r.json"
t_is "list counts objects per realm" "$(python3 -c 'import json,sys; print([(r["name"], r["cas"], r["templates"], r["domains"]) for r in json.load(open(sys.argv[1]))])' "$T_TMP/r.json")" \
	"[('default', 0, 0, 0), ('tenant-a', 1, 2, 1), ('tenant-b', 1, 2, 1)]"
t_done
