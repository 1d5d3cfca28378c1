#!/bin/sh
# Keys at rest: encrypted, 0600, never shown; passphrases never in argv.
. "$(dirname "$0")/lib.sh"
new_home "$T_TMP/home"
cd "$T_TMP" || exit 1
pass=$(head -1 "$CERTPIPE_HOME/keys/passphrase")

t_ok "root" certpipe ca create root --cn "Secret Root"
keyfile=$CERTPIPE_HOME/$(sqlite3 "$CERTPIPE_HOME/certpipe.db" "SELECT substr(key_ref, 6) FROM cas WHERE name='root'")
t_is "keys/ is 0700" "$(stat -c %a "$CERTPIPE_HOME/keys")" 700
t_is "key file is 0600" "$(stat -c %a "$keyfile")" 600
t_is "passphrase file is 0600" "$(stat -c %a "$CERTPIPE_HOME/keys/passphrase")" 600
t_is "the database is 0600" "$(stat -c %a "$CERTPIPE_HOME/certpipe.db")" 600
t_ok "its WAL files are not world-readable" sh -c 'for f in "$0"/certpipe.db-*; do [ -e "$f" ] || continue; m=$(stat -c %a "$f"); [ "${m#??}" = 0 ] || exit 1; done' "$CERTPIPE_HOME"
t_grep "key is PKCS#8 encrypted" "BEGIN ENCRYPTED PRIVATE KEY" "$keyfile"
t_exit "key does not open without the passphrase" 1 openssl pkey -in "$keyfile" -passin pass: -noout
t_exit "key does not open with a wrong passphrase" 1 openssl pkey -in "$keyfile" -passin pass:wrong-passphrase -noout
t_ok "key opens with the passphrase" openssl pkey -in "$keyfile" -passin "file:$CERTPIPE_HOME/keys/passphrase" -noout
openssl asn1parse -in "$keyfile" > asn1.txt
t_grep "encrypted with AES-256-CBC" "aes-256-cbc" asn1.txt
t_grep "key derived with PBKDF2" "PBKDF2" asn1.txt

certpipe ca show root --json > show.json
certpipe ca show root > show.txt
certpipe ca list --json > list.json
cat show.json show.txt list.json > all.out
t_nogrep "show/list never print key material" "PRIVATE KEY" all.out
t_nogrep "show/list never print the passphrase" "$pass" all.out
t_nogrep "show/list never print the key path" "keys/" all.out

# The passphrase from an fd, a file, the environment: never on argv.
# (LeakSanitizer needs ptrace, which strace holds: no leak check in the
# traced runs; every other run checks leaks.)
strace_asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
printf 'fd-passphrase-1234\n' > pf
t_ok "CA with --passphrase-fd under strace" sh -c \
	'export ASAN_OPTIONS=$0; strace -f -s 4096 -e trace=execve -o trace.fd certpipe --home h2 init --no-passphrase-file >/dev/null &&
	 strace -f -s 4096 -e trace=execve -o trace.fd2 certpipe --home h2 ca create fdroot --cn FD --alg ed25519 --passphrase-fd 3 3<pf' "$strace_asan"
t_nogrep "no passphrase in any exec argv (fd)" "fd-passphrase-1234" trace.fd2
t_ok "CA with --passphrase-file" certpipe --home h2 ca create fileroot --cn File --alg ed25519 --passphrase-file pf
t_ok "CA with CERTPIPE_PASSPHRASE under strace" sh -c \
	'export ASAN_OPTIONS=$0; CERTPIPE_PASSPHRASE=fd-passphrase-1234 strace -f -s 4096 -e trace=execve -o trace.env certpipe --home h2 ca create envroot --cn Env --alg ed25519' "$strace_asan"
t_nogrep "no passphrase in any exec argv (env)" "fd-passphrase-1234" trace.env
# Watch the process list for the whole life of a slow (RSA-4096) run.
mkfifo slow
certpipe --home h2 ca create psroot --cn PS --alg rsa-4096 --passphrase-fd 3 3<slow >/dev/null 2>&1 &
pspid=$!
cat pf > slow
i=0
: > ps.txt
while kill -0 "$pspid" 2>/dev/null && [ $i -lt 2000 ]; do
	ps -eo args >> ps.txt
	i=$((i + 1))
done
wait "$pspid"
t_is "the watched run succeeded" "$?" 0
t_grep "ps saw the running command" "ca create psroot" ps.txt
t_nogrep "ps never shows the passphrase" "fd-passphrase-1234" ps.txt
t_exit "wrong passphrase for the parent key is refused" 77 certpipe --home h2 ca create sub --parent fileroot --cn Sub --passphrase-file "$CERTPIPE_HOME/keys/passphrase"
t_oneline "wrong passphrase"
t_grep "says why" "cannot decrypt" "$T_TMP/err"
t_nogrep "the error does not contain the passphrase" "$pass" "$T_TMP/err"
t_exit "no passphrase at all is a config error" 78 certpipe --home h2 ca create nopass --cn None
printf 'short\n' > spf
t_exit "a short passphrase is refused" 65 certpipe --home h2 ca create shortpass --cn S --passphrase-file spf
t_ok "help offers no option that takes a passphrase value" sh -c \
	'certpipe help ca create | grep -i passphrase | grep -v -e "--passphrase-fd" -e "--passphrase-file" -e "^Passphrase" | (! grep .)'
t_done
