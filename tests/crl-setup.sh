# tests/crl-setup.sh - sourced by the CRL tests after tests/lib.sh: a new
# instance with CAs root and sub (exported to root.pem, sub.pem),
# example.com registered, and
#   q SQL        sqlite3 on the instance's database
#   issue NAME.. certificates NAME.example.com from sub through the
#                pipeline (template $TMPL, default sub-web-server), each
#                exported to NAME.pem
#   id NAME      the certificate's id
new_home
cd "$T_TMP" || exit 1
DB=$CERTPIPE_HOME/certpipe.db
PUB=$CERTPIPE_HOME/pub/crl
q() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }
certpipe ca create root --cn Root >/dev/null || t_bail root
certpipe ca create sub --parent root --cn Sub >/dev/null || t_bail sub
certpipe domain add example.com >/dev/null || t_bail domain
certpipe ca export root > root.pem && certpipe ca export sub > sub.pem || t_bail export
issue() {
	for n in "$@"; do
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout "$n.key" -subj "/CN=$n.example.com" \
			-out "$n.csr" 2>/dev/null || t_bail "csr $n"
	done
	for n in "$@"; do echo "$n.csr"; done | xargs parse-csr |
		check-policy --template "${TMPL:-sub-web-server}" | sign > issued.rec ||
		t_bail "pipeline $*"
	for n in "$@"; do
		certpipe cert export "$(id "$n")" > "$n.pem" || t_bail "export $n"
	done
}
id() { q "SELECT id FROM certificates WHERE cn = '$1.example.com'"; }
