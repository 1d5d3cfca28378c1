#!/bin/sh
# rec-cat: the canonical dumper. Golden output for a good stream; each bad
# record is exit 65 with one line naming the file and line.
. "$(dirname "$0")/lib.sh"
D=$T_TOP/tests/data/rec

t_ok "good stream" rec-cat "$D/good.rec"
t_is "nothing on stderr" "$(cat "$T_TMP/err")" ""
cp "$T_TMP/out" "$T_TMP/canon"	# t_ok reuses out
t_ok "canonical output equals good.ref" cmp -s "$T_TMP/canon" "$D/good.ref"
t_ok "good stream on stdin" sh -c 'rec-cat <"$1" | cmp -s - "$2"' sh "$D/good.rec" "$D/good.ref"
t_ok "good stream as '-'" sh -c 'rec-cat - <"$1" | cmp -s - "$2"' sh "$D/good.rec" "$D/good.ref"
t_ok "canonical output is a fixed point" sh -c 'rec-cat "$1" | cmp -s - "$1"' sh "$D/good.ref"
t_ok "two files make one stream" rec-cat "$D/good.ref" "$D/good.ref"
t_is "... of six records" "$(grep -c '^END-RECORD ' "$T_TMP/out")" 6

# the PEM survives byte for byte: openssl reads the CSR rec-cat wrote
sed -n '/^-----BEGIN CERTIFICATE REQUEST/,/^-----END CERTIFICATE REQUEST/p' \
	"$T_TMP/canon" | sed -n '1,/^-----END/p' >"$T_TMP/csr.pem"
t_ok "openssl verifies the CSR" openssl req -in "$T_TMP/csr.pem" -noout -verify
t_ok "openssl reads the certificate" sh -c \
	'sed -n "/^-----BEGIN CERTIFICATE-----/,/^-----END CERTIFICATE-----/p" "$1" | openssl x509 -noout' sh "$T_TMP/canon"

t_ok "--check" rec-cat --check "$D/good.rec"
t_is "--check prints nothing" "$(cat "$T_TMP/out")" ""
t_ok "--field SAN" rec-cat --field SAN "$D/good.rec"
t_is "--field SAN: every value, one a line" "$(cat "$T_TMP/out")" \
	"DNS:www.example.com
DNS:example.com"
t_ok "--field Id" rec-cat --field Id "$D/good.rec"
t_is "--field Id: one per record" "$(cat "$T_TMP/out")" \
	"3f2b9c1e-8a4d-4e6f-9b1a-2c3d4e5f6a7b
7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f
e5a40c8d-1f2e-4b3a-9c8d-7e6f5a4b3c2d"

# bad FILE LINE MESSAGE: exit 65, one line "rec-cat: FILE:LINE: MESSAGE"
bad() {
	t_exit "$1: exit 65" 65 rec-cat "$D/$1"
	t_oneline "$1"
	t_grep "$1: names line $2" "^rec-cat: .*/$1:$2: $3" "$T_TMP/err"
	t_is "$1: nothing on stdout" "$(cat "$T_TMP/out")" ""
}
bad bad-cr.rec 3 "CR in record"
bad bad-nul.rec 3 "NUL byte in record"
bad bad-header.rec 4 "header 'X-Mailer' is not allowed"
bad bad-id-not-first.rec 2 "the first header must be Id"
bad bad-blank.rec 3 "header 'CN': leading or trailing blank"
bad bad-end.rec 5 "END-RECORD does not name this record's Id"
bad bad-truncated.rec 6 "truncated record"
bad bad-base64.rec 5 "bad base64"
bad bad-label.rec 4 "PEM label not allowed"
t_exit "--check of a bad record: exit 65" 65 rec-cat --check "$D/bad-header.rec"

# good, cut off, good: the good ones pass, the bad one is named
t_exit "mixed stream: exit 65" 65 rec-cat "$D/mixed.rec"
t_oneline "mixed stream"
t_grep "mixed stream: names the cut-off record" \
	"mixed.rec:27: truncated record" "$T_TMP/err"
t_is "mixed stream: the three good records pass" \
	"$(grep -c '^END-RECORD ' "$T_TMP/out")" 3
t_exit "a bad file does not stop the others" 65 rec-cat "$D/bad-cr.rec" "$D/good.rec"
cp "$T_TMP/out" "$T_TMP/rest"
t_ok "... whose records still pass" cmp -s "$T_TMP/rest" "$D/good.ref"

t_exit "unreadable file: exit 66" 66 rec-cat "$T_TMP/nonesuch"
t_oneline "unreadable file"
t_exit "unknown option: exit 64" 64 rec-cat --bogus
t_exit "--field of a header that does not exist: exit 64" 64 rec-cat --field Bogus "$D/good.rec"
t_exit "--field without a name: exit 64" 64 rec-cat --field

rec-cat --help >"$T_TMP/help" 2>&1
t_is "usage line" "$(head -n 1 "$T_TMP/help")" \
	"Usage: rec-cat [--check] [--field NAME] [FILE...]"
if command -v mandoc >/dev/null; then
	t_is "the usage line is the man page's SYNOPSIS" \
		"$(mandoc -T ascii "$T_TOP/doc/rec-cat.1" | col -b |
			sed -n '/^SYNOPSIS/{n;p;}' | sed 's/^ *//')" \
		"rec-cat [--check] [--field NAME] [FILE...]"
fi
t_done
