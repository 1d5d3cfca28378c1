#!/bin/sh
# serve and the HTTP front-end skeleton: under tcpserver and socat on
# 127.0.0.1, checked with curl, openssl s_client and raw sockets.
. "$(dirname "$0")/lib.sh"
new_home
cd "$T_TMP" || exit 1
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; t_cleanup' EXIT

# --- the files to serve: a certpipe CA certificate, an openssl CRL ------
mkdir -p "$CERTPIPE_HOME/pub/ca" && certpipe ca create root --cn "HTTP Root" >/dev/null || t_bail "ca create"
certpipe ca export root | openssl x509 -outform DER -out "$CERTPIPE_HOME/pub/ca/root.crt" ||
	t_bail "ca export"
mkdir -p "$CERTPIPE_HOME/pub/crl" ocrl/new && : > ocrl/index.txt && echo 01 > ocrl/crlnumber
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ocrl.key \
	-subj /CN=CRL-Issuer -days 30 -out ocrl.pem 2>/dev/null || t_bail "crl issuer"
cat > ocrl.cnf <<'X'
[ca]
default_ca = d
[d]
database = ocrl/index.txt
crlnumber = ocrl/crlnumber
default_md = sha256
default_crl_days = 7
X
openssl ca -batch -config ocrl.cnf -gencrl -keyfile ocrl.key -cert ocrl.pem -out crl.pem 2>/dev/null ||
	t_bail "gencrl"
openssl crl -in crl.pem -outform DER -out "$CERTPIPE_HOME/pub/crl/root.crl"
cp ocrl.pem "$CERTPIPE_HOME/pub/crl/issuer.pem"
mkdir "$CERTPIPE_HOME/pub/ca/sub.crt"			# a directory
ln -s "$CERTPIPE_HOME/certpipe.conf" "$CERTPIPE_HOME/pub/ca/link.crt"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_up PORT: bounded wait until something accepts on PORT
wait_up() {
	i=0
	until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 200 ] || t_bail "nothing listens on port $1"
		sleep 0.05
	done
}
# wait_grep PATTERN FILE: bounded wait until FILE holds PATTERN
wait_grep() {
	i=0
	until grep -Eq -- "$1" "$2" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 200 ] && sleep 0.05 || return 1
	done
}

P=$(free_port)
tcpserver -q -R -H 127.0.0.1 "$P" serve --timeout 2 2>tcp.log &
PIDS="$PIDS $!"
wait_up "$P"
U=http://127.0.0.1:$P

# --- static files -------------------------------------------------------
t_ok "GET a CA certificate" curl -sS -D h1 -o got.crt "$U/ca/root.crt"
t_grep "200" "^HTTP/1.1 200 OK" h1
t_grep "Content-Type pkix-cert" "^Content-Type: application/pkix-cert" h1
t_grep "Date" "^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT" h1
t_grep "Content-Length is the file's size" "^Content-Length: $(stat -c %s "$CERTPIPE_HOME/pub/ca/root.crt")" h1
t_grep "Cache-Control" "^Cache-Control: public, max-age=3600" h1
t_ok "the same bytes" cmp got.crt "$CERTPIPE_HOME/pub/ca/root.crt"
t_is "it is the CA's certificate" "$(openssl x509 -inform DER -in got.crt -noout -subject)" "subject=CN = HTTP Root"

t_ok "GET a CRL" curl -sS -D h2 -o got.crl "$U/crl/root.crl"
t_grep "Content-Type pkix-crl" "^Content-Type: application/pkix-crl" h2
t_ok "the CRL verifies" openssl crl -inform DER -in got.crl -CAfile ocrl.pem -noout
t_ok "GET a PEM file" curl -sS -D h3 -o /dev/null "$U/crl/issuer.pem"
t_grep "Content-Type x-pem-file" "^Content-Type: application/x-pem-file" h3

etag=$(sed -n 's/^ETag: \(.*\)\r$/\1/p' h2)
lm=$(sed -n 's/^Last-Modified: \(.*\)\r$/\1/p' h2)
t_is "an ETag" "$(printf %s "$etag" | grep -c '^".*"$')" 1
t_is "If-None-Match: 304" "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "If-None-Match: $etag" "$U/crl/root.crl")" "304 0"
t_is "If-Modified-Since: 304" "$(curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$U/crl/root.crl")" 304
t_is "an old If-Modified-Since: 200" "$(curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT" "$U/crl/root.crl")" 200
t_is "another ETag: 200" "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "nope"' "$U/crl/root.crl")" 200
touch -d '2030-01-01' "$CERTPIPE_HOME/pub/crl/root.crl"
t_is "a touched file has a new ETag" "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$U/crl/root.crl")" 200

t_ok "HEAD" curl -sS -I -o h4 "$U/ca/root.crt"
t_grep "HEAD: 200" "^HTTP/1.1 200" h4
t_grep "HEAD: the GET's Content-Length" "^Content-Length: $(stat -c %s "$CERTPIPE_HOME/pub/ca/root.crt")" h4
printf 'HEAD /ca/root.crt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | socat -t 5 - "TCP:127.0.0.1:$P" > head.raw
t_is "HEAD: no body on the wire" "$(awk 'BEGIN{RS="\r\n\r\n"} NR==2' head.raw | wc -c)" 0

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
t_is "no such file: 404" "$(code "$U/ca/nope.crt")" 404
t_is "no such route: 404" "$(code "$U/")" 404
t_is "a directory: 404" "$(code "$U/ca/sub.crt")" 404
t_is "a symlink: 404" "$(code "$U/ca/link.crt")" 404
t_is "dot-dot: 404" "$(code --path-as-is "$U/ca/../certpipe.conf")" 404
t_is "encoded dot-dot: 404" "$(code "$U/ca/%2e%2e%2fcertpipe.conf")" 404
t_is "encoded slash: 404" "$(code "$U/crl/%2froot.crl")" 404
t_is "a hidden name: 404" "$(code "$U/ca/.root.crt")" 404
t_is "encoded name: 200" "$(code "$U/ca/r%6fot.crt")" 200

t_ok "POST to a GET route" curl -sS -D h5 -o /dev/null -d x "$U/ca/root.crt"
t_grep "405" "^HTTP/1.1 405" h5
t_grep "405 says what is allowed" "^Allow: GET, HEAD" h5
t_is "DELETE: 405" "$(code -X DELETE "$U/ca/root.crt")" 405
t_is "an unknown method: 501" "$(code -X BREW "$U/ca/root.crt")" 501
head -c 70000 /dev/zero > big
t_is "a body over the cap: 413" "$(code --data-binary @big "$U/ca/root.crt")" 413
t_is "a chunked body: 501" "$(code -H 'Transfer-Encoding: chunked' --data-binary @big "$U/ca/root.crt")" 501
long=$(head -c 9000 /dev/zero | tr '\0' a)
t_is "a target over 8192 bytes: 414" "$(code "$U/ca/$long")" 414
t_is "a header block over 16 KiB: 431" "$(code -H "X-Big: $(head -c 17000 /dev/zero | tr '\0' b)" "$U/ca/root.crt")" 431

# raw REQUEST: the status line of the first answer
raw() { printf "$1" | socat -t 5 - "TCP:127.0.0.1:$P" | head -1 | tr -d '\r'; }
t_is "a garbage request line: 400" "$(raw 'garbage\r\n\r\n')" "HTTP/1.1 400 Bad Request"
t_is "binary garbage: 400" "$(raw '\001\002\003 \377 x\r\n\r\n')" "HTTP/1.1 400 Bad Request"
t_is "HTTP/1.1 without Host: 400" "$(raw 'GET /ca/root.crt HTTP/1.1\r\n\r\n')" "HTTP/1.1 400 Bad Request"
t_is "POST without Content-Length: 411" "$(raw 'POST /ca/root.crt HTTP/1.1\r\nHost: x\r\n\r\n')" "HTTP/1.1 411 Length Required"
t_is "two different Content-Lengths: 400" "$(raw 'POST /ca/root.crt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab')" "HTTP/1.1 400 Bad Request"
t_is "a folded header: 400" "$(raw 'GET /ca/root.crt HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n')" "HTTP/1.1 400 Bad Request"
t_is "HTTP/2.0: 505" "$(raw 'GET /ca/root.crt HTTP/2.0\r\n\r\n')" "HTTP/1.1 505 HTTP Version Not Supported"
t_is "HTTP/1.0 without Host: 200" "$(raw 'GET /ca/root.crt HTTP/1.0\r\n\r\n')" "HTTP/1.1 200 OK"
t_is "absolute-form target: 200" "$(raw 'GET http://pki.test/ca/root.crt HTTP/1.1\r\nHost: pki.test\r\n\r\n')" "HTTP/1.1 200 OK"

# --- keep-alive and pipelining -----------------------------------------
: > tcp.log
curl -sv -o /dev/null -o /dev/null "$U/ca/root.crt" "$U/crl/root.crl" 2> ka.err
t_grep "curl re-uses the connection" "Re-using existing connection" ka.err
wait_grep "root.crl" tcp.log
t_is "both requests came from one client port" "$(awk '{print $2}' tcp.log | sort -u | wc -l)" 1

printf 'GET /ca/root.crt HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nHEAD /crl/root.crl HTTP/1.1\r\nHost: x\r\n\r\nGET /crl/root.crl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /ca/root.crt HTTP/1.1\r\nHost: x\r\n\r\n' |
	socat -t 5 - "TCP:127.0.0.1:$P" > pipe.raw
t_is "pipelined: answered in order, stopped at Connection: close" \
	"$(grep -aoE 'HTTP/1.1 [0-9]{3} [A-Za-z ]+' pipe.raw | tr '\n' ,)" \
	"HTTP/1.1 200 OK,HTTP/1.1 404 Not Found,HTTP/1.1 200 OK,HTTP/1.1 200 OK,"
t_is "the last one says Connection: close" "$(grep -ac '^Connection: close' pipe.raw)" 1
printf 'GET /ca/root.crt HTTP/1.0\r\n\r\nGET /ca/root.crt HTTP/1.0\r\n\r\n' | socat -t 5 - "TCP:127.0.0.1:$P" > h10.raw
t_is "HTTP/1.0 closes after one answer" "$(grep -aoE 'HTTP/1.1 200 OK' h10.raw | wc -l)" 1
printf 'GET /ca/root.crt HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /crl/root.crl HTTP/1.0\r\n\r\n' | socat -t 5 - "TCP:127.0.0.1:$P" > h10k.raw
t_is "HTTP/1.0 with keep-alive answers both" "$(grep -aoE 'HTTP/1.1 200 OK' h10k.raw | wc -l)" 2
t_grep "and says keep-alive" "^Connection: keep-alive" h10k.raw

# --- the access log -----------------------------------------------------
: > tcp.log
curl -s -o /dev/null "$U/ca/root.crt?x=1"
wait_grep "root.crt" tcp.log
t_grep "access line: peer, method, target, status, bytes, ms" \
	"^serve: 127\.0\.0\.1:[0-9]+ \"GET /ca/root\.crt\?x=1\" 200 $(stat -c %s "$CERTPIPE_HOME/pub/ca/root.crt") [0-9]+ms$" tcp.log
: > tcp.log
printf 'GE\"T\001 /x HTTP/1.1\r\n\r\n' | socat -t 5 - "TCP:127.0.0.1:$P" >/dev/null
wait_grep " 400 " tcp.log
t_is "a hostile request is one escaped log line" "$(wc -l < tcp.log | tr -d ' ')" 1
t_nogrep "no control bytes in the log" "$(printf '\001')" tcp.log

# --- timeouts: idle connections and slowloris --------------------------
cat > slow.py <<'X'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), 5)
s.settimeout(0.2)
t0 = time.monotonic()
got = b""
if mode == "slow":
    s.sendall(b"GET /ca/root.crt HTTP/1.1\r\nHost: x\r\n")
while time.monotonic() - t0 < 15:
    try:
        d = s.recv(4096)
        if not d:
            break
        got += d
    except socket.timeout:
        pass
    except OSError:
        break
    if mode == "slow":
        try:
            s.sendall(b"X-a: b\r\n")	# one header line every 0.2 s, forever
        except OSError:
            break
print("%.1f %s" % (time.monotonic() - t0, got.split(b"\r\n")[0].decode() or "closed"))
X
python3 slow.py "$P" slow > slow.out
t_grep "slowloris is answered 408" " HTTP/1.1 408 Request Timeout$" slow.out
t_is "within the 2 s deadline" "$(awk '{print ($1 >= 1.5 && $1 < 4) ? "yes" : $1}' slow.out)" yes
python3 slow.py "$P" idle > idle.out
t_grep "an idle connection is closed quietly" " closed$" idle.out
t_is "after the 2 s idle timeout" "$(awk '{print ($1 >= 1.5 && $1 < 4) ? "yes" : $1}' idle.out)" yes
printf 'GET /ca/root.crt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab' > part.req
t_is "a body that stops coming: 408" \
	"$(python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),10); s.sendall(open("part.req","rb").read()); print(s.recv(100).split(b"\r\n")[0].decode())' "$P")" \
	"HTTP/1.1 408 Request Timeout"

# --- a peer that goes away mid-answer ------------------------------------
head -c 3000000 /dev/urandom > "$CERTPIPE_HOME/pub/crl/big.crl"
: > tcp.log
python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),5); s.sendall(b"GET /crl/big.crl HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(10); s.close()' "$P"
wait_grep "big.crl" tcp.log
t_nogrep "a reset peer does not crash serve" "Segmentation|Broken pipe|Aborted|ERROR" tcp.log
t_ok "and the server still answers" curl -sSf -o /dev/null "$U/ca/root.crt"

# --- socat instead of tcpserver ------------------------------------------
S=$(free_port)
socat "TCP-LISTEN:$S,bind=127.0.0.1,reuseaddr,fork" EXEC:"serve --timeout 2" 2>socat.log &
PIDS="$PIDS $!"
wait_up "$S"
t_ok "under socat: two files on one connection" curl -sSf -o s1 -o s2 "http://127.0.0.1:$S/ca/root.crt" "http://127.0.0.1:$S/crl/root.crl"
t_ok "the same bytes" cmp s1 "$CERTPIPE_HOME/pub/ca/root.crt"
wait_grep "root.crl" socat.log
t_grep "socat's peer address in the log" "^serve: 127\.0\.0\.1:[0-9]+ \"GET /crl/root.crl\" 200" socat.log

# --- TLS -----------------------------------------------------------------
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tca.key \
	-subj /CN=TLS-CA -days 30 -out tca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout web.key \
	-subj /CN=localhost -out web.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > web.ext
openssl x509 -req -in web.csr -CA tca.pem -CAkey tca.key -CAcreateserial -days 30 \
	-extfile web.ext -out web.pem 2>/dev/null || t_bail "tls cert"
cat web.pem tca.pem > chain.pem
chmod 600 web.key
echo "tls secret" > web.pass
openssl pkey -in web.key -aes256 -passout file:web.pass -out web.enc.key && chmod 600 web.enc.key

T=$(free_port)
tcpserver -q -R -H 127.0.0.1 "$T" serve --timeout 2 --tls-cert chain.pem --tls-key web.enc.key \
	--passphrase-file web.pass 2>tls.log &
PIDS="$PIDS $!"
wait_up "$T"
t_ok "TLS: curl verifies and fetches" curl -sSf --cacert tca.pem -o t1 -o t2 \
	"https://127.0.0.1:$T/ca/root.crt" "https://localhost:$T/crl/root.crl" --resolve "localhost:$T:127.0.0.1"
t_ok "TLS: the same bytes" cmp t1 "$CERTPIPE_HOME/pub/ca/root.crt"
printf 'GET /crl/root.crl HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
	openssl s_client -quiet -connect "127.0.0.1:$T" -servername localhost -CAfile tca.pem \
	-verify_return_error > sc.out 2> sc.err
t_grep "TLS: openssl s_client gets 200" "^HTTP/1.1 200 OK" sc.out
t_grep "TLS: s_client verified the chain" "verify return:1" sc.err
t_is "TLS: plain HTTP on the TLS port gets nothing" "$(code --max-time 5 "http://127.0.0.1:$T/ca/root.crt")" 000
t_ok "TLS: the server still answers" curl -sSf --cacert tca.pem -o /dev/null "https://127.0.0.1:$T/ca/root.crt"
t_nogrep "the passphrase is never logged" "tls secret" tls.log

chmod 644 web.key
t_exit "a key readable by others is refused" 77 serve --tls-cert chain.pem --tls-key web.key </dev/null
chmod 640 web.key
t_exit "a key readable by the group is refused" 77 serve --tls-cert chain.pem --tls-key web.key </dev/null
t_oneline "group-readable key"
t_grep "says why" "web.key: key file is readable by group or others" "$T_TMP/err"
chmod 600 web.key
echo wrong-passphrase > wrong.pass
t_exit "a wrong passphrase" 77 serve --tls-cert chain.pem --tls-key web.enc.key --passphrase-file wrong.pass </dev/null
t_oneline "wrong passphrase"
t_exit "an encrypted key without passphrase" 78 env -u CERTPIPE_PASSPHRASE sh -c \
	'sed -i /passphrase_file/d "$CERTPIPE_HOME/certpipe.conf"; serve --tls-cert chain.pem --tls-key web.enc.key </dev/null'
t_exit "a certificate without key" 64 serve --tls-cert chain.pem </dev/null
t_exit "a bad --timeout" 64 serve --timeout 0 </dev/null
t_exit "a stray argument" 64 serve extra </dev/null
t_oneline "stray argument"

t_done
