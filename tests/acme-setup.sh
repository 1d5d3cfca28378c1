# tests/acme-setup.sh - the ACME test bench, sourced after tests/lib.sh by
# the ACME tests (79-acme-order and the client tests): an instance with a
# CA, registered domains, ACME policies and EAB keys; the acme front end
# under tcpserver; the scheduler as a daemon; a loopback DNS server
# (bind9 named) with a zone the tests and clients' hooks update with
# nsupdate. Everything listens on 127.0.0.1 on free ports and is stopped
# by PID at exit (acme_stop_all, called from the EXIT trap set here).
#
#   acme_instance             new_home, CA "root", domains example.test and
#                             other.test (realm default), realm "beta"
#                             with beta.test; sets DB
#   acme_policy NAME TEMPLATE [--realm R] [--domain D]...
#   acme_eab POLICY [USES] [REALM]   -> prints "KID HMACKEY"
#   acme_dns_start            named on $DNS_PORT, zone "test." (NS only),
#                             updatable from 127.0.0.1 without a key;
#                             exports CERTPIPE_DCV_RESOLVER
#   acme_dns_txt NAME VALUE | acme_dns_del NAME   (nsupdate)
#   acme_server_start         acme under tcpserver; sets ACME_URL, DIR_URL
#   acme_sched_start [ARGS]   scheduler daemon (-v log in sched.log);
#                             sets SCHED_PID; acme_sched_stop stops it
#   acme_wait CMD...          retry CMD up to 20 s (0.1 s apart)
#   free_port, wait_up PORT
#
# dcv gets its settings from the environment the scheduler inherits:
# CERTPIPE_DCV_RESOLVER (the named above), CERTPIPE_DCV_HTTP_PORT and
# CERTPIPE_DCV_RESOLVE ("name:127.0.0.1 ...") set before acme_sched_start.

ACME_PIDS=
DB=
acme_stop_all() {
	for p in $ACME_PIDS; do kill "$p" 2>/dev/null; done
	for p in $ACME_PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
	done
	t_cleanup
}
trap 'acme_stop_all' EXIT

q() { sqlite3 "$DB" "$1"; }

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_up() {
	i=0
	until /usr/bin/python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 200 ] || t_bail "nothing listens on port $1"
		sleep 0.05
	done
}

acme_wait() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 200 ] || return 1
		sleep 0.1
	done
}

acme_instance() {
	new_home
	DB=$CERTPIPE_HOME/certpipe.db
	certpipe ca create root --cn "ACME Test Root" >/dev/null 2>&1 ||
		t_bail "ca create"
	certpipe domain add example.test >/dev/null &&
		certpipe domain add other.test >/dev/null ||
		t_bail "domain add"
	certpipe realm create beta >/dev/null &&
		certpipe --realm beta ca create broot --cn "Beta Root" >/dev/null 2>&1 &&
		certpipe --realm beta domain add beta.test >/dev/null ||
		t_bail "realm beta"
}

acme_policy() { # acme_policy NAME TEMPLATE [--realm R] [ARGS...]
	n=$1 t=$2; shift 2
	r=default
	if [ "${1:-}" = --realm ]; then r=$2; shift 2; fi
	certpipe --realm "$r" acme policy create "$n" --template "$t" "$@" \
		>/dev/null || t_bail "acme policy create $n"
}

acme_eab() { # acme_eab POLICY [USES] [REALM] -> "KID HMACKEY"
	certpipe --realm "${3:-default}" acme eab create "$1" --uses "${2:-10}" \
		--expires 2099-01-01 >"$T_TMP/eab.out" || t_bail "eab create"
	echo "$(sed -n 's/^kid: //p' "$T_TMP/eab.out") $(sed -n 's/^hmac-key: //p' "$T_TMP/eab.out")"
}

acme_dns_start() {
	command -v named >/dev/null 2>&1 || t_bail "named (bind9) not installed"
	DNS_PORT=$(free_port)
	d=$T_TMP/named
	mkdir -p "$d"
	cat >"$d/test.zone" <<EOF
\$TTL 1
@ IN SOA ns.test. hostmaster.test. 1 1 1 1 1
@ IN NS ns.test.
ns IN A 127.0.0.1
EOF
	cat >"$d/named.conf" <<EOF
options {
	directory "$d";
	pid-file "$d/named.pid";
	listen-on port $DNS_PORT { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	allow-query { 127.0.0.1; };
	notify no;
};
controls { };
zone "test" {
	type primary;
	file "$d/test.zone";
	allow-update { 127.0.0.1; };
	journal "$d/test.zone.jnl";
};
EOF
	named -g -c "$d/named.conf" -p "$DNS_PORT" >"$d/named.log" 2>&1 &
	ACME_PIDS="$ACME_PIDS $!"
	CERTPIPE_DCV_RESOLVER=127.0.0.1:$DNS_PORT
	export CERTPIPE_DCV_RESOLVER DNS_PORT
	acme_wait sh -c "dig +short +time=1 +tries=1 -p $DNS_PORT @127.0.0.1 ns.test A | grep -q 127.0.0.1" ||
		t_bail "named did not start: $(tail -5 "$d/named.log")"
}

acme_dns_txt() { # acme_dns_txt NAME VALUE: add a TXT record
	printf 'server 127.0.0.1 %s\nzone test\nupdate add %s 1 TXT "%s"\nsend\n' \
		"$DNS_PORT" "$1" "$2" | nsupdate
}

acme_dns_del() { # acme_dns_del NAME: remove its TXT records
	printf 'server 127.0.0.1 %s\nzone test\nupdate delete %s TXT\nsend\n' \
		"$DNS_PORT" "$1" | nsupdate
}

acme_server_start() {
	ACME_PORT=$(free_port)
	ACME_URL=http://127.0.0.1:$ACME_PORT
	DIR_URL=$ACME_URL/directory
	tcpserver -q -R -H -l0 127.0.0.1 "$ACME_PORT" acme --base-url "$ACME_URL" \
		--timeout 10 2>"$T_TMP/acme.log" &
	ACME_PIDS="$ACME_PIDS $!"
	wait_up "$ACME_PORT"
}

acme_sched_start() { # sets SCHED_PID; the log goes on in sched.log
	scheduler -v --interval 2 "$@" 2>>"$T_TMP/sched.log" &
	SCHED_PID=$!
	ACME_PIDS="$ACME_PIDS $SCHED_PID"
}

acme_sched_stop() {
	kill "$SCHED_PID" 2>/dev/null
	while kill -0 "$SCHED_PID" 2>/dev/null; do sleep 0.1; done
}
