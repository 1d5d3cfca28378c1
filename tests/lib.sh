# tests/lib.sh - shared by the numbered shell tests; emits TAP for prove.
#
# Each test: ". tests/lib.sh" (path relative to the checkout), then
# new_home to get a throwaway instance, then t_ok / t_is / t_exit checks,
# then t_done. Binaries come from $CERTPIPE_BUILD/bin (make check sets it;
# default build/). Nothing here touches the network or the checkout's
# spool/; every instance lives under a temporary directory removed at exit.

set -u
T_TOP=$(cd "$(dirname "$0")/.." && pwd)
CERTPIPE_BUILD=${CERTPIPE_BUILD:-$T_TOP/build}
PATH=$CERTPIPE_BUILD/bin:$PATH
export PATH CERTPIPE_BUILD
unset CERTPIPE_HOME CERTPIPE_PASSPHRASE CERTPIPE_ACTOR
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/certpipe-test.XXXXXX")
trap 't_cleanup' EXIT
T_N=0
T_FAILED=0
# sanitizer builds: make leaks fatal and reports one line
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

t_cleanup() {
	[ -n "${T_KEEP:-}" ] || rm -rf "$T_TMP"
}

# new_home [DIR]: create and initialise an instance, export CERTPIPE_HOME.
new_home() {
	CERTPIPE_HOME=${1:-$T_TMP/home}
	export CERTPIPE_HOME
	certpipe init --base-url http://pki.test >"$T_TMP/init.out" 2>&1 ||
		t_bail "certpipe init failed: $(cat "$T_TMP/init.out")"
}

t_why() { # t_why LINE: a failed check's LINE and its command's stderr, as
	# TAP comments, on stderr too: prove shows that without -v, so a
	# CI log says why
	set -- "$1" "$(sed 's/^/#   stderr: /' "$T_TMP/err" | head -60)"
	[ -n "$2" ] || set -- "$1"
	printf '%s\n' "$@"
	printf '%s\n' "$@" >&2
}

t_ok() { # t_ok DESCRIPTION COMMAND... : passes when COMMAND exits 0
	desc=$1; shift
	T_N=$((T_N + 1))
	if "$@" >"$T_TMP/out" 2>"$T_TMP/err"; then
		echo "ok $T_N - $desc"
	else
		rc=$?
		echo "not ok $T_N - $desc"
		t_why "#   exit $rc: $*"
		T_FAILED=$((T_FAILED + 1))
	fi
}

t_exit() { # t_exit DESCRIPTION WANT COMMAND... : passes when exit == WANT
	desc=$1; want=$2; shift 2
	T_N=$((T_N + 1))
	"$@" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		echo "ok $T_N - $desc"
	else
		echo "not ok $T_N - $desc"
		t_why "#   got exit $rc, want $want: $*"
		T_FAILED=$((T_FAILED + 1))
	fi
}

t_is() { # t_is DESCRIPTION GOT WANT
	T_N=$((T_N + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $T_N - $1"
	else
		echo "not ok $T_N - $1"
		printf '#   got  "%s"\n#   want "%s"\n' "$2" "$3"
		T_FAILED=$((T_FAILED + 1))
	fi
}

t_grep() { # t_grep DESCRIPTION PATTERN FILE : FILE contains PATTERN (ERE)
	T_N=$((T_N + 1))
	if grep -Eq -- "$2" "$3"; then
		echo "ok $T_N - $1"
	else
		echo "not ok $T_N - $1"
		echo "#   /$2/ not found in $3:"
		head -20 "$3" | sed 's/^/#   /'
		T_FAILED=$((T_FAILED + 1))
	fi
}

t_nogrep() { # t_nogrep DESCRIPTION PATTERN FILE : FILE lacks PATTERN
	T_N=$((T_N + 1))
	if grep -Eq -- "$2" "$3"; then
		echo "not ok $T_N - $1"
		grep -En -- "$2" "$3" | head -5 | sed 's/^/#   found: /'
		T_FAILED=$((T_FAILED + 1))
	else
		echo "ok $T_N - $1"
	fi
}

# one line on stderr of the last t_ok/t_exit
t_oneline() { # t_oneline DESCRIPTION
	t_is "$1 (one-line error)" "$(wc -l <"$T_TMP/err" | tr -d ' ')" 1
}

t_bail() {
	echo "Bail out! $*"
	exit 1
}

t_done() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}
