# tests/acme-clients.sh - sourced (after tests/lib.sh) by the ACME client
# tests 82-84: a DNS server the clients' hooks update, a webroot server,
# the ACME server under test, and checks of what a client saved.
#
#   ac_dns_start         bind9 named on 127.0.0.1:$AC_DNS_PORT, zones
#                        example.test and other.test (every name has an A
#                        record 127.0.0.1), dynamic updates signed with the
#                        TSIG key in $AC_TSIG_FILE (nsupdate -k), named
#                        $AC_TSIG_NAME, secret $AC_TSIG_SECRET (env only)
#                        (not acme-setup.sh's named: updates are signed
#                        as lego's rfc2136 provider signs them, and pebble
#                        resolves http-01 names through it)
#   ac_web_start DIR     python3 http.server serving DIR on $AC_HTTP_PORT
#   ac_server_start      the ACME server: $AC_SERVER=certpipe (default) or
#                        pebble (the same client plumbing against another
#                        server); sets $AC_URL (directory), $AC_ROOT (the
#                        root the issued chains end in), $AC_TLS_CA (trust
#                        for the server's https, empty for plain http);
#                        http-01 is validated at 127.0.0.1:$AC_HTTP_PORT,
#                        dns-01 against the named above; certpipe needs
#                        the http-01 names in $AC_HTTP_NAMES first
#   ac_eab               prints "KID HMAC-KEY" of a fresh EAB key
#   ac_check_cert DESC CERT CHAIN NAME...
#                        openssl verify of CERT against $AC_ROOT with the
#                        chain the client saved; SANs exactly NAME...
#   ac_issued            how many certificates the server issued so far
#   ac_check_revoked DESC CERT CHAIN
#                        the server's CRL and OCSP (pebble: its management
#                        interface) report CERT revoked
#
# Every server runs on 127.0.0.1 on a free port, is bounded by the test's
# timeout and stopped by its PID at exit ($AC_PIDS).

AC_PIDS=
AC_SERVER=${AC_SERVER:-certpipe}
trap 'for p in $AC_PIDS; do kill "$p" 2>/dev/null; done; t_cleanup' EXIT
trap 'exit 1' HUP INT TERM

ac_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ac_wait_port() { # ac_wait_port PORT: until something accepts there (10 s)
	i=0
	until /usr/bin/python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 200 ] || t_bail "nothing listens on port $1"
		sleep 0.05
	done
}

ac_dns_start() {
	command -v named >/dev/null 2>&1 || t_bail "bind9 (named) not installed"
	command -v nsupdate >/dev/null 2>&1 || t_bail "nsupdate not installed"
	d=$T_TMP/dns
	mkdir -p "$d"
	AC_DNS_PORT=$(ac_port)
	AC_TSIG_NAME=certpipe-test
	AC_TSIG_SECRET=$(openssl rand -base64 32)
	AC_TSIG_FILE=$d/tsig.key
	(umask 077 && printf 'key "%s" { algorithm hmac-sha256; secret "%s"; };\n' \
		"$AC_TSIG_NAME" "$AC_TSIG_SECRET" >"$AC_TSIG_FILE")
	{
		printf 'options { directory "%s"; pid-file none; listen-on port %s { 127.0.0.1; };\n' "$d" "$AC_DNS_PORT"
		printf '  listen-on-v6 { none; }; recursion no; dnssec-validation no; notify no;\n'
		printf '  session-keyfile "%s/session.key"; };\ncontrols { };\ninclude "%s";\n' "$d" "$AC_TSIG_FILE"
		for z in example.test other.test; do
			printf '$TTL 1\n@ SOA ns.example.test. admin.example.test. 1 60 60 600 1\n@ NS ns.example.test.\n@ A 127.0.0.1\n* A 127.0.0.1\n' >"$d/$z.zone"
			printf 'zone "%s" { type primary; file "%s/%s.zone"; allow-update { key "%s"; }; };\n' \
				"$z" "$d" "$z" "$AC_TSIG_NAME"
		done
	} >"$d/named.conf"
	named -g -4 -n 1 -c "$d/named.conf" -p "$AC_DNS_PORT" >"$d/named.log" 2>&1 &
	AC_PIDS="$AC_PIDS $!"
	i=0
	until dig +short +time=1 +tries=1 -p "$AC_DNS_PORT" @127.0.0.1 SOA example.test 2>/dev/null | grep -q admin; do
		i=$((i + 1))
		[ $i -le 100 ] || t_bail "named did not come up: $(tail -3 "$d/named.log")"
		sleep 0.1
	done
	# the one program the clients' hooks call: $AC_NSUPDATE add|del NAME VALUE
	# puts (removes) TXT VALUE at _acme-challenge.NAME ("*." dropped)
	AC_NSUPDATE=$d/txt
	cat >"$AC_NSUPDATE" <<-EOF
	#!/bin/sh
	case \$1 in add) op=add ;; del) op=delete ;; *) echo "usage: \$0 add|del NAME VALUE" >&2; exit 64 ;; esac
	printf 'server 127.0.0.1 %s\\nupdate %s _acme-challenge.%s. 1 TXT "%s"\\nsend\\n' \\
		$AC_DNS_PORT "\$op" "\${2#\\*.}" "\$3" | nsupdate -t 5 -k "$AC_TSIG_FILE"
	EOF
	chmod +x "$AC_NSUPDATE"
	export AC_DNS_PORT AC_TSIG_FILE AC_NSUPDATE
}

# ac_txt NAME: the TXT values published at _acme-challenge.NAME, sorted
ac_txt() {
	dig +short -p "$AC_DNS_PORT" @127.0.0.1 TXT "_acme-challenge.$1" | tr -d '"' | sort | tr '\n' ' '
}

ac_web_start() { # ac_web_start DIR
	/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$1" "$AC_HTTP_PORT" \
		>"$T_TMP/web.log" 2>&1 &
	AC_PIDS="$AC_PIDS $!"
	ac_wait_port "$AC_HTTP_PORT"
}

ac_server_start() {
	AC_HTTP_PORT=${AC_HTTP_PORT:-$(ac_port)}
	case $AC_SERVER in
	certpipe) ac_certpipe_start ;;
	pebble) ac_pebble_start ;;
	*) t_bail "AC_SERVER=$AC_SERVER: certpipe or pebble" ;;
	esac
}

ac_pebble_start() {
	command -v pebble >/dev/null 2>&1 || t_bail "pebble not installed"
	d=$T_TMP/pebble
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/key.pem" -out "$d/cert.pem" -days 2 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null ||
		t_bail "pebble's TLS certificate"
	pp=$(ac_port) mp=$(ac_port)
	AC_PEBBLE_EAB=
	{
		printf '{"pebble": {"listenAddress": "127.0.0.1:%s", "managementListenAddress": "127.0.0.1:%s",\n' "$pp" "$mp"
		printf '"certificate": "%s/cert.pem", "privateKey": "%s/key.pem", "httpPort": %s, "tlsPort": %s,\n' \
			"$d" "$d" "$AC_HTTP_PORT" "$(ac_port)"
		printf '"ocspResponderURL": "", "externalAccountBindingRequired": true, "externalAccountMACKeys": {'
		for i in 1 2 3 4 5 6 7 8; do
			k=$(openssl rand 32 | basenc --base64url | tr -d '=\n')
			AC_PEBBLE_EAB="$AC_PEBBLE_EAB kid-$i:$k"
			[ $i -eq 1 ] || printf ','
			printf '"kid-%s": "%s"' "$i" "$k"
		done
		printf '}}}\n'
	} >"$d/config.json"
	PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
		pebble -config "$d/config.json" -dnsserver "127.0.0.1:$AC_DNS_PORT" \
		>"$d/pebble.log" 2>&1 &
	AC_PIDS="$AC_PIDS $!"
	ac_wait_port "$pp"
	ac_wait_port "$mp"
	AC_URL=https://127.0.0.1:$pp/dir
	AC_TLS_CA=$d/cert.pem
	AC_ROOT=$d/root.pem
	curl -sf --cacert "$AC_TLS_CA" "https://127.0.0.1:$mp/roots/0" >"$AC_ROOT" ||
		t_bail "pebble's root"
	AC_PEBBLE_MGMT=https://127.0.0.1:$mp
}

# The certpipe instance from tests/acme-setup.sh (acme-orders' bench: CA
# "root", example.test and other.test registered, the acme front end
# under tcpserver on plain http, the scheduler as a daemon), an ACME
# policy p1 on root-web-server, an OCSP signer for root; dcv pointed at
# the named above and, for http-01, at 127.0.0.1:$AC_HTTP_PORT for the
# names in $AC_HTTP_NAMES.
ac_certpipe_start() {
	. "${AC_SETUP:-$T_TOP/tests/acme-setup.sh}"
	trap 'for p in $AC_PIDS; do kill "$p" 2>/dev/null; done; acme_stop_all' EXIT
	acme_instance
	acme_policy p1 root-web-server
	{ certpipe ocsp create --ca root && scheduler --once; } >"$T_TMP/setup.out" 2>&1 ||
		t_bail "ocsp create: $(tail -1 "$T_TMP/setup.out")"
	AC_ROOT=$T_TMP/root.pem
	certpipe ca export root >"$AC_ROOT" || t_bail "ca export"
	AC_CRL=$CERTPIPE_HOME/pub/crl/root.crl
	CERTPIPE_DCV_RESOLVER=127.0.0.1:$AC_DNS_PORT
	CERTPIPE_DCV_HTTP_PORT=$AC_HTTP_PORT
	CERTPIPE_DCV_RESOLVE=
	for n in ${AC_HTTP_NAMES:-}; do
		CERTPIPE_DCV_RESOLVE="$CERTPIPE_DCV_RESOLVE $n:127.0.0.1"
	done
	export CERTPIPE_DCV_RESOLVER CERTPIPE_DCV_HTTP_PORT CERTPIPE_DCV_RESOLVE
	acme_sched_start --max-attempts 2
	acme_server_start
	AC_URL=$DIR_URL
	AC_TLS_CA=
}

ac_eab() {
	case $AC_SERVER in
	pebble)
		# runs in $(...): the next unused key is counted in a file
		n=$(($(cat "$T_TMP/pebble/eab.n" 2>/dev/null || echo 0) + 1))
		echo $n >"$T_TMP/pebble/eab.n"
		set -- $AC_PEBBLE_EAB
		[ $# -ge $n ] || t_bail "pebble: out of EAB keys"
		eval "k=\${$n}"
		echo "${k%%:*} ${k#*:}"
		;;
	*)
		acme_eab p1 1
		;;
	esac
}

# ac_sans CERT: its DNS names, sorted, one line
ac_sans() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
		tr ',' '\n' | sed -n 's/^ *DNS://p' | sort | tr '\n' ' ' | sed 's/ $//'
}

ac_serial() {
	openssl x509 -in "$1" -noout -serial | cut -d= -f2
}

ac_check_cert() { # ac_check_cert DESC CERT CHAIN NAME...
	desc=$1 cert=$2 chain=$3
	shift 3
	t_ok "$desc: openssl verify with the chain the client saved" \
		openssl verify -CAfile "$AC_ROOT" -untrusted "$chain" "$cert"
	t_is "$desc: exactly the requested names in the certificate" "$(ac_sans "$cert")" \
		"$(printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//')"
}

# ac_check_revoked DESC CERT CHAIN: the server reports CERT revoked -
# certpipe: in the issuing CA's CRL (openssl crl, openssl verify
# -crl_check) and by its OCSP responder (openssl ocsp); pebble: by its
# management interface (it has neither CRL nor OCSP).
ac_check_revoked() {
	desc=$1 cert=$2 chain=$3
	s=$(ac_serial "$cert")
	case $AC_SERVER in
	pebble)
		t_ok "$desc: pebble says revoked" sh -c \
			'curl -sf --cacert "$0" "$1/cert-status-by-serial/$2" | grep -q "\"Status\": *\"Revoked\""' \
			"$AC_TLS_CA" "$AC_PEBBLE_MGMT" "$(echo "$s" | tr 'A-F' 'a-f' | sed 's/^0*//')"
		return
		;;
	esac
	# what the scheduler publishes soon after a revocation, done now
	publish-crl >/dev/null 2>&1
	ocsp-sign --due >/dev/null 2>&1
	crl=$AC_CRL
	openssl crl -inform der -in "$crl" -noout -text >"$T_TMP/crl.txt" 2>&1
	t_grep "$desc: serial $s in the CRL" "Serial Number: $s" "$T_TMP/crl.txt"
	openssl crl -inform der -in "$crl" -out "$T_TMP/crl.pem" 2>/dev/null
	openssl verify -crl_check -CAfile "$AC_ROOT" -untrusted "$chain" \
		-CRLfile "$T_TMP/crl.pem" "$cert" >"$T_TMP/vfy.txt" 2>&1
	t_grep "$desc: openssl verify -crl_check: revoked" "certificate revoked" "$T_TMP/vfy.txt"
	openssl x509 -in "$chain" -out "$T_TMP/issuer.pem"
	openssl ocsp -issuer "$T_TMP/issuer.pem" -cert "$cert" -no_nonce -reqout "$T_TMP/o.req" 2>/dev/null
	ocsp <"$T_TMP/o.req" >"$T_TMP/o.resp" 2>/dev/null
	openssl ocsp -respin "$T_TMP/o.resp" -issuer "$T_TMP/issuer.pem" -cert "$cert" \
		-CAfile "$AC_ROOT" -verify_other "$chain" -no_nonce >"$T_TMP/ocsp.txt" 2>&1
	t_grep "$desc: openssl ocsp: revoked" ": revoked" "$T_TMP/ocsp.txt"
}

ac_issued() {
	case $AC_SERVER in
	pebble) grep -c 'Issued certificate serial' "$T_TMP/pebble/pebble.log" ;;
	*) sqlite3 "$DB" "SELECT count(*) FROM certificates c JOIN templates t
		ON t.id = c.template_id WHERE t.name = 'root-web-server'" ;;
	esac
}
