#!/bin/sh
# scheduler and the status services: --once publishes what is due (the
# first CRL of every CA, OCSP responses once a responder exists), a
# revocation pokes the daemon, which publishes a CRL and an OCSP response
# that say so within seconds; a publisher that cannot run is reported in
# the exit status.
. "$(dirname "$0")/lib.sh"
new_home
H=$CERTPIPE_HOME
cd "$T_TMP" || exit 1
certpipe ca create root --cn "Test Root" >/dev/null || t_bail "ca root"
certpipe ca create issuing --parent root --cn "Test Issuing" >/dev/null || t_bail "ca issuing"
certpipe template create web --ca issuing >/dev/null || t_bail "template web"
certpipe domain add example.com >/dev/null || t_bail "domain add"
certpipe ca export issuing --part fullchain >chain.pem || t_bail "ca export"

job=$(certpipe request --cn www.example.com --template web --alg ec-256 | head -1)
t_exit "--once: the job is issued (exit 0)" 0 scheduler --once -v
t_grep "-v: the publisher says it published" "publish-crl: published" "$T_TMP/err"
t_ok "the issuing CA's CRL is published" test -f "$H/pub/crl/issuing.crl"
t_ok "... and the root's" test -f "$H/pub/crl/root.crl"
t_ok "it verifies with the CA's key" openssl crl -inform DER -in "$H/pub/crl/issuing.crl" \
	-CAfile chain.pem -noout
t_exit "--once again: nothing to do, nothing due (exit 1)" 1 scheduler --once
t_is "... silently" "$(cat "$T_TMP/err")" ""

id=$(sqlite3 "$H/certpipe.db" "SELECT c.id FROM certificates c JOIN orders o ON o.id = c.order_id WHERE o.job = '$job'")
serial=$(sqlite3 "$H/certpipe.db" "SELECT upper(serial) FROM certificates WHERE id = $id" | tr -d ':')
certpipe cert export "$id" > leaf.pem
t_ok "the certificate verifies against the published CRL" \
	openssl verify -crl_check -CAfile chain.pem -CRLfile "$H/pub/crl/issuing.crl" leaf.pem

# OCSP: a responder certificate for the issuing CA, issued by the same
# pass; the publish step then pre-signs a response for the leaf.
ocsp_status() { # what the pre-signed store answers for leaf.pem now
	openssl ocsp -issuer issuing.pem -cert leaf.pem -no_nonce -reqout req.der >/dev/null 2>&1 &&
	ocsp --no-live < req.der > resp.der &&
	openssl ocsp -respin resp.der -issuer issuing.pem -cert leaf.pem -CAfile chain.pem 2>/dev/null |
		sed -n 's/^leaf.pem: //p'
}
certpipe ca export issuing > issuing.pem || t_bail "export issuing"
t_ok "ocsp create" certpipe ocsp create --ca issuing
t_exit "--once issues the responder certificate" 0 scheduler --once -v
t_grep "... and ocsp-sign publishes" "ocsp-sign: published" "$T_TMP/err"
t_is "the store answers good for the leaf" "$(ocsp_status)" good

# The daemon: a revocation pulls the trigger; the CRL follows.
scheduler --interval 3600 2>daemon.err &
spid=$!
# up once it listens on the trigger FIFO (with --interval 3600, only a
# poke can make it publish within the test's time)
i=0
until ls -l /proc/$spid/fd 2>/dev/null | grep -q "$H/trigger"; do
	i=$((i + 1)); [ $i -lt 100 ] || { kill $spid; t_bail "daemon not up"; }
	sleep 0.1
done
t_ok "revoke" certpipe cert revoke "$id" --reason keyCompromise --yes
i=0
until openssl crl -inform DER -in "$H/pub/crl/issuing.crl" -noout -text 2>/dev/null |
	grep -q "Serial Number: $serial"; do
	i=$((i + 1)); [ $i -lt 300 ] || break
	sleep 0.1
done
t_ok "the daemon published a CRL that lists it within 30 s" test $i -lt 300
i=0
until [ "$(ocsp_status)" = revoked ]; do
	i=$((i + 1)); [ $i -lt 300 ] || break
	sleep 0.1
done
t_is "and an OCSP response that says revoked" "$(ocsp_status)" revoked
t_exit "which openssl now refuses it with" 2 \
	openssl verify -crl_check -CAfile chain.pem -CRLfile "$H/pub/crl/issuing.crl" leaf.pem
kill -TERM $spid
wait $spid
t_is "the daemon stops cleanly on SIGTERM" "$?" 0

# A publisher that cannot run: the jobs still run, the failure is told.
mkdir lone
for p in scheduler parse-csr check-policy sign; do cp "$CERTPIPE_BUILD/bin/$p" lone/; done
certpipe request --cn two.example.com --template web --alg ec-256 >/dev/null
t_exit "no publish-crl next to the stages: exit 69" 69 lone/scheduler --once
t_grep "one line says which" "publish-crl: cannot run" "$T_TMP/err"
t_is "the job was issued all the same" \
	"$(sqlite3 "$H/certpipe.db" "SELECT status FROM orders WHERE cn = 'two.example.com'")" complete
t_done
