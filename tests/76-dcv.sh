#!/bin/sh
# dcv: http-01 against a token web server on 127.0.0.1, dns-01 against a
# real dnsmasq on 127.0.0.1; both as commands and as a record filter.
. "$(dirname "$0")/lib.sh"

command -v dnsmasq >/dev/null 2>&1 || t_bail "dnsmasq not installed"
command -v python3 >/dev/null 2>&1 || t_bail "python3 not installed"

SRV_PID= DNS_PID=
stop() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	[ -n "$DNS_PID" ] && kill "$DNS_PID" 2>/dev/null
	t_cleanup
}
trap stop EXIT

# The token server: HTTP on a free port (written to http.port once it
# listens), and a UDP socket that never answers (silent.port), for a
# resolver that times out.
cat >"$T_TMP/srv.py" <<'EOF'
import http.server, socket, struct, sys, time, threading
KA = "good.thumb"
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body=b"", loc=None):
        self.send_response(code)
        if loc: self.send_header("Location", loc)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        p = self.path.rsplit("/", 1)[-1]
        host = self.headers.get("Host", "")
        if p == "good": self.send(200, (KA + "\r\n \n").encode())
        elif p == "host": self.send(200 if host == "x.test" else 400, KA.encode())
        elif p == "wrong": self.send(200, b"good.other")
        elif p == "forbidden": self.send(403, b"no")
        elif p == "busy": self.send(503, b"later")
        elif p == "big": self.send(200, KA.encode() + b" " * 9000)
        elif p == "slow": time.sleep(5); self.send(200, KA.encode())
        elif p == "redir": self.send(302, b"", "http://y.test/.well-known/acme-challenge/good")
        elif p == "relative": self.send(301, b"", "good")
        elif p == "toport": self.send(302, b"", "http://y.test:8080/.well-known/acme-challenge/good")
        elif p == "toftp": self.send(302, b"", "ftp://y.test/good")
        elif p.startswith("hop"):
            n = int(p[3:])
            if n >= int(sys.argv[2]): self.send(200, KA.encode())
            else: self.send(307, b"", "hop%d" % (n + 1))
        else: self.send(404, b"not found")
def udp(answer):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    def loop():
        while True:
            q, peer = s.recvfrom(512)
            for r in answer(q): s.sendto(r, peer)
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]
def servfail(q): return [q[:2] + b"\x81\x82" + q[4:]]
# a forged TXT "good" (wrong id, then right id but another question)
# before the real answer, NXDOMAIN
def forged(q):
    rr = b"\xc0\x0c" + struct.pack(">HHIH", 16, 1, 60, 5) + b"\x04good"
    ok = b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
    other = q[12:].replace(b"\x01x\x04test", b"\x01y\x04test")
    return [bytes([q[0] ^ 1, q[1]]) + ok + q[12:] + rr,
            q[:2] + ok + other + rr,
            q[:2] + b"\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00" + q[12:]]
silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
silent.bind(("127.0.0.1", 0))
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
d = sys.argv[1]
open(d + "/sf.port", "w").write("%d %d" % (udp(servfail), udp(forged)))
open(d + "/silent.port.tmp", "w").write(str(silent.getsockname()[1]))
open(d + "/http.port.tmp", "w").write(str(srv.server_address[1]))
import os
os.rename(d + "/silent.port.tmp", d + "/silent.port")
os.rename(d + "/http.port.tmp", d + "/http.port")
srv.serve_forever()
EOF
python3 "$T_TMP/srv.py" "$T_TMP" 10 &
SRV_PID=$!
i=0
while [ ! -s "$T_TMP/http.port" ] && [ $i -lt 100 ]; do
	i=$((i + 1)); sleep 0.1
done
[ -s "$T_TMP/http.port" ] || t_bail "token server did not start"
HP=$(cat "$T_TMP/http.port")
SILENT=$(cat "$T_TMP/silent.port")
read -r SERVFAIL FORGED <"$T_TMP/sf.port"

# dnsmasq on a free port (asked of the kernel, then given to dnsmasq)
DP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
digest() { printf '%s' "$1" | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '='; }
D1=$(digest tok.thumb)
long=$(printf '%0200d' 0)
dnsmasq --no-daemon --port="$DP" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --local=/test/ \
	--txt-record=_acme-challenge.x.test,good \
	--txt-record=_acme-challenge.x.test,bad \
	--txt-record=_acme-challenge.d.test,"$D1" \
	--txt-record=_acme-challenge.m.test,"part1-","part2" \
	--txt-record=_acme-challenge.target.test,viacname \
	--cname=_acme-challenge.c.test,_acme-challenge.target.test \
	--txt-record=_acme-challenge.big.test,"a$long" \
	--txt-record=_acme-challenge.big.test,"b$long" \
	--txt-record=_acme-challenge.big.test,"c$long" \
	--txt-record=_acme-challenge.big.test,"last" \
	--pid-file="$T_TMP/dnsmasq.pid" >"$T_TMP/dnsmasq.log" 2>&1 &
DNS_PID=$!
R="--resolver 127.0.0.1:$DP"
i=0
until dcv $R --timeout 1 dns-01 x.test good 2>/dev/null || [ $i -ge 50 ]; do
	i=$((i + 1)); sleep 0.1
done
kill -0 "$DNS_PID" 2>/dev/null || t_bail "dnsmasq: $(cat "$T_TMP/dnsmasq.log")"

# --- dns-01 ---------------------------------------------------------
t_ok "dns-01: one of two TXT records matches" dcv $R dns-01 x.test good
t_exit "dns-01: no TXT record matches" 1 dcv $R dns-01 x.test other
t_grep "the problem names what was wrong" \
	'^dcv: dns-01 x.test: no TXT record matches \(2 seen\)$' "$T_TMP/err"
t_oneline "no match"
t_ok "dns-01: any of several expected values" dcv $R dns-01 x.test nope bad
t_ok "dns-01: a key authorization is compared by its digest (openssl's)" \
	dcv $R dns-01 d.test tok.thumb
t_ok "dns-01: the digest itself is accepted" dcv $R dns-01 d.test "$D1"
t_exit "dns-01: a key authorization is not compared as it is" 1 \
	dcv $R dns-01 x.test good.thumb
t_ok "dns-01: a multi-string TXT record is concatenated" \
	dcv $R dns-01 m.test part1-part2
t_exit "dns-01: one string of it alone does not match" 1 \
	dcv $R dns-01 m.test part2
t_ok "dns-01: CNAME followed" dcv $R dns-01 c.test viacname
t_ok "dns-01: a truncated UDP answer (over 512 bytes) is read over TCP" \
	dcv $R dns-01 big.test last
t_exit "dns-01: NXDOMAIN is final" 1 dcv $R dns-01 nx.test good
t_grep "NXDOMAIN named" 'no TXT record at _acme-challenge.nx.test \(NXDOMAIN\)' \
	"$T_TMP/err"
t_exit "dns-01: REFUSED is transient" 75 dcv $R dns-01 x.example good
t_grep "REFUSED named" 'rcode 5 \(REFUSED\)' "$T_TMP/err"
t_exit "dns-01: a server that never answers times out (75)" 75 \
	dcv --resolver 127.0.0.1:"$SILENT" --timeout 1 dns-01 x.test good
t_grep "timeout named" 'udp: timed out$' "$T_TMP/err"
t_oneline "timeout"
t_exit "dns-01: SERVFAIL is transient" 75 \
	dcv --resolver 127.0.0.1:"$SERVFAIL" dns-01 x.test good
t_grep "SERVFAIL named" 'rcode 2 \(SERVFAIL\)' "$T_TMP/err"
t_exit "dns-01: replies with another id or question are ignored" 1 \
	dcv --resolver 127.0.0.1:"$FORGED" dns-01 x.test good
t_grep "the real answer counted" 'NXDOMAIN' "$T_TMP/err"
kill_port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
t_exit "dns-01: connection refused (75)" 75 \
	dcv --resolver 127.0.0.1:"$kill_port" dns-01 x.test good
t_exit "dns-01: a bad resolver address is a usage error" 64 \
	dcv --resolver 127.0.0.1:99999 dns-01 x.test good
t_exit "dns-01: a name that is not a DNS name" 64 dcv $R dns-01 'x..test' good
CERTPIPE_DCV_RESOLVER=127.0.0.1:$DP t_ok "dns-01: resolver from the environment" \
	dcv dns-01 x.test good

# --- http-01 --------------------------------------------------------
H="--http-port $HP --resolve x.test:127.0.0.1 --resolve y.test:127.0.0.1"
t_ok "http-01: body equals the key authorization (trailing space ok)" \
	dcv $H http-01 x.test good good.thumb
t_ok "http-01: Host is the name, without the test port" \
	dcv $H http-01 x.test host good.thumb
t_exit "http-01: wrong body" 1 dcv $H http-01 x.test wrong good.thumb
t_grep "wrong body named" 'http-01 x.test: body does not match' "$T_TMP/err"
t_exit "http-01: 404 is final" 1 dcv $H http-01 x.test missing good.thumb
t_exit "http-01: 403 is final" 1 dcv $H http-01 x.test forbidden good.thumb
t_grep "status named" '^dcv: http-01 x.test: got 403$' "$T_TMP/err"
t_oneline "403"
t_exit "http-01: 503 is transient" 75 dcv $H http-01 x.test busy good.thumb
t_exit "http-01: a body over 8 KiB is refused, not truncated" 1 \
	dcv $H http-01 x.test big good.thumb
t_grep "oversize named" 'body larger than 8192 bytes' "$T_TMP/err"
t_ok "http-01: redirect to another name on port 80" \
	dcv $H http-01 x.test redir good.thumb
t_ok "http-01: relative redirect" dcv $H http-01 x.test relative good.thumb
t_ok "http-01: 10 redirects are followed" dcv $H http-01 x.test hop0 good.thumb
t_exit "http-01: the 11th redirect is refused" 1 \
	dcv $H http-01 x.test hop-1 good.thumb
t_grep "too many named" 'more than 10 redirects' "$T_TMP/err"
t_exit "http-01: redirect to a non-default port refused" 1 \
	dcv $H http-01 x.test toport good.thumb
t_grep "port refusal named" 'redirect to http://y.test:8080/.* refused' "$T_TMP/err"
t_exit "http-01: redirect to ftp refused" 1 dcv $H http-01 x.test toftp good.thumb
t_exit "http-01: a slow server times out (75)" 75 \
	dcv $H --timeout 1 http-01 x.test slow good.thumb
t_exit "http-01: connection refused (75)" 75 \
	dcv --http-port "$kill_port" --resolve x.test:127.0.0.1 http-01 x.test good good.thumb
t_oneline "connection refused"
t_exit "http-01: a token outside base64url" 64 dcv $H http-01 x.test ../good good.thumb
CERTPIPE_DCV_HTTP_PORT=$HP CERTPIPE_DCV_RESOLVE="x.test:127.0.0.1" \
	t_ok "http-01: port and name resolution from the environment" \
	dcv http-01 x.test good good.thumb

# --- the record filter ---------------------------------------------
rec() { # rec ID HEADER... : one record on stdout
	id=$1; shift
	printf 'CERTPIPE-RECORD 1\nId: %s\n' "$id"
	for h in "$@"; do printf '%s\n' "$h"; done
	printf '\nEND-RECORD %s\n' "$id"
}
I1=11111111-1111-4111-8111-111111111111
I2=22222222-2222-4222-8222-222222222222
I3=33333333-3333-4333-8333-333333333333
I4=44444444-4444-4444-8444-444444444444
I5=55555555-5555-4555-8555-555555555555
{
	rec $I1 "Type: challenge" "Challenge-Type: http-01" "Challenge-Name: x.test" \
		"Challenge-Token: good" "Challenge-Expect: good.thumb"
	rec $I2 "Type: challenge" "Challenge-Type: dns-01" "Challenge-Name: x.test" \
		"Challenge-Expect: nope" "Challenge-Expect: also-nope"
	rec $I3 "Type: csr" "Realm: default"
	rec $I4 "Type: challenge" "Challenge-Type: dns-01" "Challenge-Name: x.example" \
		"Challenge-Expect: good"
	rec $I5 "Type: challenge" "Challenge-Type: tls-alpn-01" "Challenge-Name: x.test" \
		"Challenge-Expect: good"
} >"$T_TMP/in.rec"
dcv $H $R <"$T_TMP/in.rec" >"$T_TMP/out.rec" 2>"$T_TMP/filter.err"
t_is "filter: exit is the first failure's (transient)" "$?" 75
t_is "filter: every record written" \
	"$(rec-cat --field Id "$T_TMP/out.rec" | tr '\n' ' ')" "$I1 $I2 $I3 $I4 $I5 "
t_is "filter: results" \
	"$(rec-cat --field Challenge-Result "$T_TMP/out.rec" | tr '\n' ' ')" "valid invalid "
t_grep "filter: the invalid one says why" \
	'^Challenge-Error: dns-01 x.test: no TXT record matches \(2 seen\)$' "$T_TMP/out.rec"
t_grep "filter: a transient one is deferred with 75" '^Error-Code: 75$' "$T_TMP/out.rec"
t_grep "filter: an unknown type fails with 65" '^Error-Code: 65$' "$T_TMP/out.rec"
rec-cat "$T_TMP/in.rec" | sed -n "/$I3/,/END-RECORD $I3/p" >"$T_TMP/a"
rec-cat "$T_TMP/out.rec" | sed -n "/$I3/,/END-RECORD $I3/p" >"$T_TMP/b"
t_ok "filter: a record without a challenge passes unchanged" cmp "$T_TMP/a" "$T_TMP/b"
t_is "filter: one diagnostic line per failed check" "$(wc -l <"$T_TMP/filter.err" | tr -d ' ')" 3
rec $I1 "Type: challenge" "Challenge-Type: http-01" "Challenge-Name: x.test" \
	"Challenge-Token: good" "Challenge-Expect: good.thumb" >"$T_TMP/one.rec"
t_ok "filter: exit 0 when every check completed" dcv $H "$T_TMP/one.rec"
rec $I2 "Type: challenge" "Challenge-Type: dns-01" "Challenge-Name: x.test" \
	"Challenge-Expect: good" "Status: failed" "Error: refused" \
	"Error-Code: 77" >"$T_TMP/failed.rec"
dcv $R "$T_TMP/failed.rec" >"$T_TMP/failed.out" 2>/dev/null
t_is "filter: a failed record passes with its code" "$?" 77
t_ok "filter: ... unchanged" cmp "$T_TMP/failed.rec" "$T_TMP/failed.out"
rec $I2 "Type: challenge" "Challenge-Type: dns-01" "Challenge-Expect: good" \
	>"$T_TMP/noname.rec"
t_exit "filter: a challenge without a name fails with 65" 65 dcv $R "$T_TMP/noname.rec"
t_grep "filter: ... kept with its reason" '^Error: dns-01: no Challenge-Name' "$T_TMP/out"

t_exit "usage: unknown option" 64 dcv --nope
t_exit "usage: bad port" 64 dcv --http-port 0 http-01 x.test good good.thumb
t_exit "usage: wrong argument count" 64 dcv http-01 x.test good
t_exit "usage: a bad --resolve fails the run, not each record" 64 \
	dcv --resolve x.test "$T_TMP/one.rec"
t_is "... and writes no record" "$(wc -c <"$T_TMP/out" | tr -d ' ')" 0
t_oneline "bad --resolve"
t_done
