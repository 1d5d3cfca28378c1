#!/bin/sh
# certpipe init: layout, modes, migrations, re-runs, version guards.
. "$(dirname "$0")/lib.sh"
h=$T_TMP/inst
t_ok "init a new instance" certpipe --home "$h" init --base-url http://pki.example.com
t_grep "says it created it" "^created: instance" "$T_TMP/out"
t_ok "config written" grep -qx "base_url = http://pki.example.com" "$h/certpipe.conf"
t_is "keys/ 0700" "$(stat -c %a "$h/keys")" 700
t_is "database 0600" "$(stat -c %a "$h/certpipe.db")" 600
t_is "WAL mode" "$(sqlite3 "$h/certpipe.db" 'PRAGMA journal_mode')" wal
latest=$(sqlite3 "$h/certpipe.db" 'PRAGMA user_version')
t_ok "schema at a migration number" test "$latest" -ge 1
t_ok "trigger is a FIFO" test -p "$h/trigger"
for q in incoming policy held sign submit dcv deploy done failed deferred; do
	t_ok "queue $q" sh -c 'test -d "$0/queue/$1/tmp" && test -d "$0/queue/$1/new"' "$h" "$q"
done
t_is "default realm" "$(sqlite3 "$h/certpipe.db" 'SELECT name FROM realms')" default
t_is "instance.created audited" "$(sqlite3 "$h/certpipe.db" 'SELECT event FROM audit')" instance.created

certpipe --home "$h" ca create root --cn Root >/dev/null
sqlite3 "$h/certpipe.db" .dump > "$T_TMP/before"
cp "$h/keys/passphrase" "$T_TMP/pass.before"
t_ok "init again" certpipe --home "$h" init --base-url http://other.example.com
t_grep "says it is ready" "^ready: instance" "$T_TMP/out"
t_grep "warns that base_url stays" "base_url unchanged" "$T_TMP/err"
sqlite3 "$h/certpipe.db" .dump > "$T_TMP/after"
t_ok "re-running changed nothing in the database" cmp -s "$T_TMP/before" "$T_TMP/after"
t_ok "nor the passphrase" cmp -s "$T_TMP/pass.before" "$h/keys/passphrase"
t_ok "nor the config" grep -qx "base_url = http://pki.example.com" "$h/certpipe.conf"

sqlite3 "$h/certpipe.db" "PRAGMA user_version = $((latest + 1))"
t_exit "a database newer than the build is refused by init" 78 certpipe --home "$h" init
t_exit "and by every command" 78 certpipe --home "$h" ca list
t_grep "says what to do" "newer than this build knows.*use a newer certpipe" "$T_TMP/err"
sqlite3 "$h/certpipe.db" "PRAGMA user_version = $((latest - 1))"
t_exit "an older database is refused too" 78 certpipe --home "$h" ca list
t_grep "and sent to init" "run 'certpipe init' to upgrade" "$T_TMP/err"
sqlite3 "$h/certpipe.db" "PRAGMA user_version = $latest"
t_ok "back at the known version it works" certpipe --home "$h" ca list
echo "frobnicate = yes" >> "$h/certpipe.conf"
t_exit "an unknown setting is a config error" 78 certpipe --home "$h" ca list
t_grep "names the line" "certpipe.conf:[0-9]+: unknown setting 'frobnicate'" "$T_TMP/err"
t_exit "init with a bad URL" 65 certpipe --home "$T_TMP/x" init --base-url "ftp://nope"
t_ok "--no-passphrase-file" certpipe --home "$T_TMP/np" init --no-passphrase-file
t_ok "makes no passphrase file" test ! -e "$T_TMP/np/keys/passphrase"
t_done
