#!/bin/sh
# kill -9 a spool writer at random moments, 40 times: the spool must
# always be in a legal state (certpipe-spool(5), INVARIANTS and CRASH
# RECOVERY) - every committed file is a whole record named by its Id, no
# logged job is lost, a job is in two queues only across a stage's
# write-new-then-remove-old window, and recovery leaves no tmp/ file.
. "$(dirname "$0")/lib.sh"
W=$CERTPIPE_BUILD/tests/spool-writer
[ -x "$W" ] || t_bail "no $W (make all)"
H=$T_TMP/home
LOG=$T_TMP/committed
: >"$LOG"
: >"$T_TMP/lasts"
rnd() { od -An -N1 -tu1 /dev/urandom | tr -d ' '; }

# one id a line: every id in the new/ of the writer's queues
present() {
	for q in incoming policy done; do
		ls "$H/queue/$q/new"
	done
}

# every file in new/ parses whole and its Id is its name
whole() {
	for q in incoming policy done; do
		set -- "$H/queue/$q/new"/*
		[ -e "$1" ] || continue
		rec-cat --field Id "$@" >"$T_TMP/ids" || return 1
		ls "$H/queue/$q/new" | cmp -s - "$T_TMP/ids" || return 1
	done
}

# logged ids are all present; an id is in two queues only if it was the
# last one logged before a kill (the rewrite window)
nothing_lost() {
	grep -E '^[0-9a-f-]{36}$' "$LOG" | sort >"$T_TMP/logged"
	present | sort >"$T_TMP/all"
	sort -u "$T_TMP/all" >"$T_TMP/present"
	comm -23 "$T_TMP/logged" "$T_TMP/present" >"$T_TMP/lost"
	[ -s "$T_TMP/lost" ] && { sed 's/^/# lost: /' "$T_TMP/lost"; return 1; }
	uniq -d "$T_TMP/all" >"$T_TMP/dups"
	sort "$T_TMP/lasts" | comm -23 "$T_TMP/dups" - >"$T_TMP/baddups"
	[ -s "$T_TMP/baddups" ] && { sed 's/^/# twice: /' "$T_TMP/baddups"; return 1; }
	# at most one committed-but-unlogged job per kill
	[ "$(comm -13 "$T_TMP/logged" "$T_TMP/present" | wc -l)" -le "$1" ]
}

tmp_empty() {
	[ -z "$(find "$H"/queue/*/tmp -type f -print | head -1)" ]
}

# the spool exists before the first kill (one killed while creating it
# has nothing to recover yet)
t_ok "spool created" "$W" "$H" "$LOG" 0
leftovers=0
i=1
while [ "$i" -le 40 ]; do
	"$W" "$H" "$LOG" >"$T_TMP/w.out" 2>"$T_TMP/w.err" &
	pid=$!
	sleep "0.$(printf %02d $(( $(rnd) % 20 )))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	# 137: killed as intended; 0 only if it was killed before it began
	t_ok "run $i: the writer died by SIGKILL, not by an error" \
		sh -c "[ $rc -eq 137 ] || { cat '$T_TMP/w.err' >&2; exit 1; }"
	tail -n 1 "$LOG" >>"$T_TMP/lasts"
	t_ok "run $i: every committed file is a whole record named by its Id" whole
	t_ok "run $i: no logged job lost or doubled" nothing_lost "$i"
	tmp_empty || leftovers=$((leftovers + 1))
	t_ok "run $i: recovery" "$W" --recover "$H"
	t_ok "run $i: no tmp/ file after recovery" tmp_empty
	i=$((i + 1))
done
n=$(grep -cE '^[0-9a-f-]{36}$' "$LOG")
echo "# $n jobs committed; $leftovers of 40 kills left a tmp/ file to recover;" \
	"$(wc -l <"$T_TMP/dups") jobs were cut in the rewrite window"
t_ok "the writer committed jobs at all" test "$n" -gt 0
t_done
