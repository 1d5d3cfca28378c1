#!/bin/sh
# valgrind finds no leaks or errors in the main commands.
. "$(dirname "$0")/lib.sh"
case $CERTPIPE_BUILD in
*asan*) echo "1..0 # SKIP valgrind does not run sanitizer builds"; exit 0 ;;
esac
command -v valgrind >/dev/null || { echo "1..0 # SKIP no valgrind"; exit 0; }
new_home
vg() {
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 "$@"
}
t_ok "valgrind: ca create (root)" vg certpipe ca create root --cn Root
t_ok "valgrind: ca create (intermediate)" vg certpipe ca create sub --parent root --cn Sub --alg rsa-2048
t_ok "valgrind: ca create --csr-only" vg certpipe ca create pend --csr-only --cn Pend
t_ok "valgrind: ca list --json" vg certpipe ca list --json
t_ok "valgrind: ca show" vg certpipe ca show sub
t_ok "valgrind: ca export fullchain" vg certpipe ca export sub --part fullchain
t_exit "valgrind: a failing ca create is clean too" 65 vg certpipe ca create bad --cn X --days 0
t_ok "valgrind: status" vg certpipe status
certpipe ca export sub > "$T_TMP/sub.pem"
t_ok "valgrind: cert import" vg certpipe cert import "$T_TMP/sub.pem"
t_ok "valgrind: cert list" vg certpipe cert list --expiring 5000
t_ok "valgrind: cert show" vg certpipe cert show 1
t_ok "valgrind: cert export" vg certpipe cert export 1 --part fullchain
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-subj /CN=a.example.com -addext "subjectAltName=DNS:b.example.com" -out "$T_TMP/a.csr" 2>/dev/null
t_ok "valgrind: parse-csr" sh -c 'cat "$0" "$0" | valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 parse-csr > /dev/null' "$T_TMP/a.csr"
t_exit "valgrind: parse-csr refusing garbage" 65 sh -c 'echo junk | valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 parse-csr > /dev/null' 

# The pipeline's other stages and the commands around it.
certpipe domain add example.com >/dev/null || t_bail "domain add"
certpipe policy create gate --template sub-web-server --approval manual >/dev/null || t_bail "policy"
parse-csr "$T_TMP/a.csr" > "$T_TMP/a.rec" 2>/dev/null
t_ok "valgrind: check-policy" sh -c 'vg() { valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 "$@"; }; vg check-policy --template root-web-server "$0" "$0" > "$0.out"' "$T_TMP/a.rec"
t_ok "valgrind: check-policy --explain" sh -c 'valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 check-policy --explain --template sub-web-server "$0" > /dev/null 2>&1' "$T_TMP/a.rec"
t_ok "valgrind: request" vg certpipe request --cn www.example.com --template root-web-server
t_ok "valgrind: submit" vg certpipe submit "$T_TMP/a.csr" --template sub-web-server
t_exit "valgrind: scheduler --once (one issued, one held)" 0 vg scheduler --once
held=$(certpipe order list --held | awk 'NR > 1 { print $1; exit }')
t_ok "valgrind: order list" vg certpipe order list
t_ok "valgrind: order show" vg certpipe order show "$held" --request
t_ok "valgrind: approve" env CERTPIPE_ACTOR=carol valgrind -q --leak-check=full \
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 certpipe approve "$held"
t_ok "valgrind: alert list" vg certpipe alert list
t_done
