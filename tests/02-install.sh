#!/bin/sh
# make install honours PREFIX and DESTDIR; the tree's layout is right.
. "$(dirname "$0")/lib.sh"
dest=$T_TMP/dest
o=$(basename "$CERTPIPE_BUILD")
t_ok "make install" make -s -C "$T_TOP" O="$o" $( [ "${o%asan}" != "$o" ] && echo SAN=1 ) \
	PREFIX=/opt/cp DESTDIR="$dest" install
t_ok "certpipe in bin/" test -x "$dest/opt/cp/bin/certpipe"
t_ok "plumbing in libexec/certpipe/" test -x "$dest/opt/cp/libexec/certpipe/rec-cat"
t_ok "no plumbing in bin/" test ! -e "$dest/opt/cp/bin/rec-cat"
t_ok "man pages in share/man" test -f "$dest/opt/cp/share/man/man1/certpipe.1"
t_ok "section 5 and 7 pages" sh -c 'test -f "$0/opt/cp/share/man/man5/certpipe-envelope.5" && test -f "$0/opt/cp/share/man/man7/certpipe.7"' "$dest"
t_ok "installed certpipe runs" "$dest/opt/cp/bin/certpipe" --home "$T_TMP/h" init
# git-style: the installed certpipe finds tools next to itself first
cp "$dest/opt/cp/libexec/certpipe/rec-cat" "$dest/opt/cp/bin/rec-cat"
t_ok "certpipe TOOL runs a plumbing tool" sh -c 'printf "" | "$0/opt/cp/bin/certpipe" rec-cat --check' "$dest"
t_exit "an unknown tool is a usage error" 64 "$dest/opt/cp/bin/certpipe" no-such-tool
t_exit "a tool name with a path is refused" 64 "$dest/opt/cp/bin/certpipe" ../rec-cat
t_done
