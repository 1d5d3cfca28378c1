/* crl - streamed CRLs (see crl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include "clock.h"
#include "crl.h"
#include "num.h"
#include "revoke.h"

#define REASON_REMOVE 8		/* removeFromCRL, RFC 5280 5.3.1 */
#define SIGN_TRIES 64		/* ECDSA: (3/4)^64 to miss the length */
#define CHUNK 65536		/* the least the tbsCertList is written in */
#define SPILL_BUF (256 * 1024)	/* entries go to the spill file in these */
#define WINDOW (1024 * 1024)	/* of the spill file mapped at a time */
#define REUSE_MAX 16384		/* changes a reuse takes on; more: scan */

/* DER tags used below */
#define T_INT	0x02
#define T_BITS	0x03
#define T_OCT	0x04
#define T_OID	0x06
#define T_ENUM	0x0a
#define T_UTC	0x17
#define T_GEN	0x18
#define T_SEQ	0x30
#define T_CTX0	0xa0

int
crl_settings_load(struct db *db, int64_t ca_id, struct crl_settings *s,
    struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	memset(s, 0, sizeof *s);
	if ((rc = db_prep(db, &st, e, "SELECT crl_days, crl_delta_hours, "
	    "crl_shards FROM cas WHERE id = ?", "i", ca_id)) != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1) {
		s->days = db_int(st, 0);
		s->delta_hours = db_int(st, 1);
		s->shards = db_int(st, 2);
		rc = 0;
	} else if (rc == 0)
		rc = err_set(e, EX_NOINPUT, "CA %lld: no such CA",
		    (long long)ca_id);
	else
		rc = e->code;
	db_finish(st);
	return rc;
}

static const char *const kinds[] = { "full", "delta", "shard" };

void
crl_job_fmt(const struct crl_job *j, struct buf *out)
{
	buf_printf(out, "ca=%lld,number=%lld,kind=%s,shard=%lld,base=%lld,"
	    "since=%lld,freshest=%d,this=%lld,next=%lld,prev=%lld",
	    (long long)j->ca_id, (long long)j->number, kinds[j->kind],
	    (long long)j->shard, (long long)j->base, (long long)j->since,
	    j->freshest ? 1 : 0, (long long)j->this_update,
	    (long long)j->next_update, (long long)j->prev);
}

/* One "key=value" of a job into j. */
static int
job_field(struct crl_job *j, const char *k, const char *v, struct err *e)
{
	int64_t n = 0, this = 0, next = 0, freshest = 0;
	const struct { const char *name; int64_t *to, max; } f[] = {
		{ "ca", &j->ca_id, INT64_MAX }, { "number", &j->number, INT64_MAX },
		{ "shard", &j->shard, INT64_MAX }, { "base", &j->base, INT64_MAX },
		{ "since", &j->since, INT64_MAX }, { "freshest", &freshest, 1 },
		{ "this", &this, INT64_MAX }, { "next", &next, INT64_MAX },
		{ "prev", &j->prev, INT64_MAX },
	};
	size_t i;
	int kind;

	if (strcmp(k, "kind") == 0) {
		for (kind = 0; kind < 3; kind++)
			if (strcmp(v, kinds[kind]) == 0) {
				j->kind = kind;
				return 0;
			}
		return err_set(e, EX_USAGE, "CRL job: kind '%s' is none of "
		    "full, delta, shard", v);
	}
	for (i = 0; i < sizeof f / sizeof f[0]; i++)
		if (strcmp(k, f[i].name) == 0)
			break;
	if (i == sizeof f / sizeof f[0])
		return err_set(e, EX_USAGE, "CRL job: unknown field '%s'", k);
	if (num_i64(k, v, 0, f[i].max, &n, e) != 0) {
		err_prefix(e, "CRL job");
		return e->code = EX_USAGE;
	}
	*f[i].to = n;
	/* the time_t and int fields, copied whichever was set */
	if (f[i].to == &this)
		j->this_update = (time_t)n;
	else if (f[i].to == &next)
		j->next_update = (time_t)n;
	else if (f[i].to == &freshest)
		j->freshest = (int)n;
	return 0;
}

int
crl_job_parse(const char *s, struct crl_job *j, struct err *e)
{
	char *copy = xstrdup(s), *p = copy, *f, *eq;
	int rc = 0;

	memset(j, 0, sizeof *j);
	j->kind = -1;
	while (rc == 0 && (f = strsep(&p, ",")) != NULL) {
		if ((eq = strchr(f, '=')) == NULL) {
			rc = err_set(e, EX_USAGE, "CRL job: '%s' is not "
			    "key=value", f);
			break;
		}
		*eq = '\0';
		rc = job_field(j, f, eq + 1, e);
	}
	if (rc == 0 && (j->ca_id == 0 || j->number == 0 || j->kind < 0 ||
	    j->next_update <= j->this_update || (j->kind == CRL_DELTA &&
	    (j->base == 0 || j->base >= j->number)) || j->prev >= j->number ||
	    (j->kind == CRL_DELTA && j->prev != 0)))
		rc = err_set(e, EX_USAGE, "CRL job: incomplete or "
		    "inconsistent (%s)", s);
	free(copy);
	return rc;
}

/* base_url without trailing slashes, or NULL when there is none. */
static int
base(struct buf *b, const char *base_url)
{
	size_t n;

	if (base_url == NULL || *base_url == '\0')
		return 0;
	n = strlen(base_url);
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	buf_add(b, base_url, n);
	return 1;
}

void
crl_file(const char *ca, int kind, int64_t shard, struct buf *out)
{
	if (kind == CRL_DELTA)
		buf_printf(out, "%s-delta.crl", ca);
	else if (kind == CRL_SHARD)
		buf_printf(out, "%s-%lld.crl", ca, (long long)shard);
	else
		buf_printf(out, "%s.crl", ca);
}

char *
crl_url(const char *base_url, const char *ca, int kind, int64_t shard)
{
	struct buf b = {0};

	if (!base(&b, base_url))
		return NULL;
	buf_adds(&b, "/crl/");
	crl_file(ca, kind, shard, &b);
	return buf_steal(&b);
}

char *
crl_shard_url(const char *cdp, int64_t shard)
{
	struct buf b = {0};
	size_t n = strlen(cdp);

	if (n > 4 && strcmp(cdp + n - 4, ".crl") == 0)
		n -= 4;
	buf_add(&b, cdp, n);
	buf_printf(&b, "-%lld.crl", (long long)shard);
	return buf_steal(&b);
}

/* --- DER of the entries --- */

static size_t
hdr_len(size_t len)
{
	size_t n = 2;

	if (len < 128)
		return n;
	for (; len > 0; len >>= 8)
		n++;
	return n;
}

static void
put_hdr(struct buf *b, int tag, size_t len)
{
	unsigned char h[10];
	size_t n = 0, k, v;

	h[n++] = (unsigned char)tag;
	if (len < 128)
		h[n++] = (unsigned char)len;
	else {
		for (k = 0, v = len; v; v >>= 8)
			k++;
		h[n++] = (unsigned char)(0x80 | k);
		while (k-- > 0)
			h[n++] = (unsigned char)(len >> (8 * k));
	}
	buf_add(b, h, n);
}

static int
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (n bytes at s) as DER Time contents: UTCTime
 * before 2050, else (or when gen) GeneralizedTime (RFC 5280 4.1.2.5).
 * *tag gets the tag, t[] the text; returns its length or 0 when
 * malformed. */
static size_t
der_time(const char *s, size_t len, int gen, int *tag, char t[16])
{
	size_t n = 0;

	if (s == NULL || len != 20 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' ||
	    !digits(s, 4) || !digits(s + 5, 2) || !digits(s + 8, 2) ||
	    !digits(s + 11, 2) || !digits(s + 14, 2) || !digits(s + 17, 2))
		return 0;
	if (!gen && s[0] == '1' && s[1] == '9' && s[2] < '5')
		gen = 1;
	if (!gen && !(s[0] == '2' && s[1] == '0' && s[2] < '5') &&
	    !(s[0] == '1' && s[1] == '9'))
		gen = 1;
	*tag = gen ? T_GEN : T_UTC;
	if (gen) {
		memcpy(t + n, s, 4);
		n += 4;
	} else {
		memcpy(t + n, s + 2, 2);
		n += 2;
	}
	memcpy(t + n, s + 5, 2);
	memcpy(t + n + 2, s + 8, 2);
	memcpy(t + n + 4, s + 11, 2);
	memcpy(t + n + 6, s + 14, 2);
	memcpy(t + n + 8, s + 17, 2);
	t[n + 10] = 'Z';
	return n + 11;
}

/* hex digit values + 1; 0: not a hex digit */
static const unsigned char hexv[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};
#define hexval(c) ((int)hexv[(unsigned char)(c)] - 1)

/* A positive serial in hex (n digits) as INTEGER contents (minimal,
 * 0x00 before a high bit). Returns the length, 0 when malformed. */
static size_t
der_serial(const char *hex, size_t n, unsigned char out[34])
{
	unsigned char raw[33];
	size_t i = 0, k = 0, o = 0;
	int hi, lo;

	if (n == 0 || n > 64)
		return 0;
	if (n % 2) {
		if ((lo = hexval(hex[0])) < 0)
			return 0;
		raw[k++] = (unsigned char)lo;
		i++;
	}
	for (; i < n; i += 2) {
		hi = hexval(hex[i]);
		lo = hexval(hex[i + 1]);
		if ((hi | lo) < 0)
			return 0;
		raw[k++] = (unsigned char)(hi << 4 | lo);
	}
	for (i = 0; i + 1 < k && raw[i] == 0; i++)
		;
	if (raw[i] & 0x80)
		out[o++] = 0;
	memcpy(out + o, raw + i, k - i);
	return o + k - i;
}

/* The largest entry: SEQUENCE { INTEGER (2 + 33), Time (2 + 15),
 * SEQUENCE (2) { reasonCode (2 + 10), invalidityDate (2 + 24) } } is 94
 * bytes, so every length inside an entry takes the short form. */
#define ENTRY_MAX 128

#define BAD_SERIAL	1
#define BAD_DATE	2
#define BAD_INVALID	3

/* One revokedCertificates entry into out[ENTRY_MAX]: its length in
 * *len, or BAD_SERIAL, BAD_DATE, BAD_INVALID. The strings are given
 * with their lengths (invalid NULL for none). */
static int
entry_der(unsigned char *out, size_t *len, const char *serial, size_t nsl,
    const char *date, size_t ndl, int reason, const char *invalid,
    size_t nil)
{
	static const unsigned char oid_reason[] = { T_OID, 3, 0x55, 0x1d, 0x15 },
	    oid_inval[] = { T_OID, 3, 0x55, 0x1d, 0x18 };
	unsigned char ser[34], *p = out;
	char dt[16], it[16];
	size_t ns, nd, ni = 0, rext = 0, iext = 0, exts = 0;
	int dtag, itag = 0;

	if ((ns = der_serial(serial, nsl, ser)) == 0)
		return BAD_SERIAL;
	if ((nd = der_time(date, ndl, 0, &dtag, dt)) == 0)
		return BAD_DATE;
	if (invalid && (ni = der_time(invalid, nil, 1, &itag, it)) == 0)
		return BAD_INVALID;
	/* Extension ::= SEQUENCE { OID, OCTET STRING { value } } */
	if (reason > 0)
		rext = 5 + 5;		/* OID, OCTET { ENUM, 1 byte } */
	if (ni)
		iext = 5 + 2 + 2 + ni;
	if (rext)
		exts += 2 + rext;
	if (iext)
		exts += 2 + iext;
	*p++ = T_SEQ;
	*p++ = (unsigned char)(2 + ns + 2 + nd + (exts ? 2 + exts : 0));
	*p++ = T_INT;
	*p++ = (unsigned char)ns;
	memcpy(p, ser, ns);
	p += ns;
	*p++ = (unsigned char)dtag;
	*p++ = (unsigned char)nd;
	memcpy(p, dt, nd);
	p += nd;
	if (exts) {
		*p++ = T_SEQ;
		*p++ = (unsigned char)exts;
	}
	if (rext) {
		*p++ = T_SEQ;
		*p++ = (unsigned char)rext;
		memcpy(p, oid_reason, sizeof oid_reason);
		p += sizeof oid_reason;
		*p++ = T_OCT;
		*p++ = 3;
		*p++ = T_ENUM;
		*p++ = 1;
		*p++ = (unsigned char)reason;
	}
	if (iext) {
		*p++ = T_SEQ;
		*p++ = (unsigned char)iext;
		memcpy(p, oid_inval, sizeof oid_inval);
		p += sizeof oid_inval;
		*p++ = T_OCT;
		*p++ = (unsigned char)(2 + ni);
		*p++ = (unsigned char)itag;
		*p++ = (unsigned char)ni;
		memcpy(p, it, ni);
		p += ni;
	}
	*len = (size_t)(p - out);
	return 0;
}

/* The diagnostic for entry_der's failure bad. */
static int
entry_err(int bad, const char *serial, size_t ns, const char *date,
    size_t nd, const char *invalid, size_t ni, struct err *e)
{
	if (bad == BAD_SERIAL)
		return err_set(e, EX_DATAERR, "serial '%.*s' is not hex",
		    (int)(ns > 80 ? 80 : ns), serial);
	if (bad == BAD_DATE)
		return err_set(e, EX_DATAERR, "serial %.*s: revocation date "
		    "'%.*s' is not RFC 3339 UTC", (int)ns, serial,
		    (int)(nd > 80 ? 80 : nd), date ? date : "");
	return err_set(e, EX_DATAERR, "serial %.*s: invalidity date '%.*s' "
	    "is not RFC 3339 UTC", (int)ns, serial, (int)(ni > 80 ? 80 : ni),
	    invalid);
}

int
crl_entry(struct buf *out, const char *serial, const char *date,
    int reason, const char *invalid, struct err *e)
{
	unsigned char der[ENTRY_MAX];
	size_t ns = strlen(serial), nd = date ? strlen(date) : 0,
	    ni = invalid ? strlen(invalid) : 0, n = 0;
	int bad;

	if ((bad = entry_der(der, &n, serial, ns, date, nd, reason, invalid,
	    ni)) != 0)
		return entry_err(bad, serial, ns, date, nd, invalid, ni, e);
	buf_add(out, der, n);
	return 0;
}

/* --- the rows --- */

/* A spill's state: the entries on their way to the unlinked spill file,
 * encoded in place into buf and written out SPILL_BUF bytes at a time. */
struct spill {
	int fd;
	unsigned char *buf;
	size_t len, total;
	int64_t count;
	struct reasons *names;
};

static int row_entry(void *arg, const struct db_row *r, struct err *e);

/* Every row's entry into sp (db_each calls row_entry for each). */
static int
rows(struct db *db, const struct crl_signer *s, const struct crl_job *j,
    struct spill *sp, struct err *e)
{
	static const char cols[] = "serial, revoked_at, revoke_reason, "
	    "invalidity_date, status";
	struct buf now = {0};
	int rc;

	clock_fmt(&now, j->this_update);
	/* a scan reads each page once: a small page cache touches less
	 * fresh memory (page faults cost more than the reads saved) */
	if ((rc = db_exec(db, e, "PRAGMA cache_size = -256", "")) != 0)
		goto out;
	if (j->kind == CRL_DELTA)
		rc = db_each(db, e, row_entry, sp, "c.serial, coalesce("
		    "c.revoked_at, ch.at), c.revoke_reason, c.invalidity_date, "
		    "c.status", "FROM (SELECT cert_id, max(at) AS at FROM "
		    "crl_changes WHERE ca_id = ? AND seq > ? GROUP BY cert_id) "
		    "ch JOIN certificates c ON c.id = ch.cert_id WHERE "
		    "c.realm_id = ? AND c.ca_id = ?", "iiii", j->ca_id,
		    j->since, s->realm_id, j->ca_id);
	else
		rc = db_each(db, e, row_entry, sp, cols, "FROM certificates "
		    "WHERE ca_id = ? AND realm_id = ? AND status IN ('revoked', "
		    "'suspended') AND not_after > ? AND (? OR crl_shard = ?)",
		    "iitii", j->ca_id, s->realm_id, now.p,
		    (int64_t)(j->kind != CRL_SHARD), j->shard);
out:
	buf_free(&now);
	return rc;
}

/* The reason names seen in one scan and their codes: revoke_reason
 * compares without case against every name, once per distinct text
 * instead of once per row. */
struct reasons {
	struct { char name[32]; size_t len; int code; } r[8];
	size_t n;
};

static int
reason_code(struct reasons *c, const char *p, size_t len)
{
	const struct revoke_reason *r;
	char name[32];
	size_t i;
	int code;

	if (p == NULL || len == 0 || len >= sizeof name)
		return -1;
	for (i = 0; i < c->n; i++)
		if (c->r[i].len == len && memcmp(c->r[i].name, p, len) == 0)
			return c->r[i].code;
	memcpy(name, p, len);
	name[len] = '\0';
	code = (r = revoke_reason(name)) != NULL && r->code != 0 ? r->code :
	    -1;
	if (c->n < sizeof c->r / sizeof c->r[0]) {
		memcpy(c->r[c->n].name, name, len);
		c->r[c->n].len = len;
		c->r[c->n++].code = code;
	}
	return code;
}

static int spill_write(struct spill *sp, struct err *e);

/* The entry of a row (serial, revoked_at, revoke_reason,
 * invalidity_date, status) into out[ENTRY_MAX], its length in *n. */
static int
row_der(const struct db_row *r, struct reasons *names, unsigned char *out,
    size_t *n, struct err *e)
{
	size_t ls, ld, lw, li, lst;
	const char *serial = db_row_blob(r, 0, &ls), *date = db_row_blob(r,
	    1, &ld), *why = db_row_blob(r, 2, &lw), *inval = db_row_blob(r, 3,
	    &li), *status = db_row_blob(r, 4, &lst);
	int reason, bad;

	if (serial == NULL)
		serial = "";
	if (lst == 9 && memcmp(status, "suspended", 9) == 0)
		reason = REVOKE_HOLD;
	else if (lst != 7 || memcmp(status, "revoked", 7) != 0)
		reason = REASON_REMOVE;
	else
		reason = reason_code(names, why, lw);
	if (reason == REASON_REMOVE)
		inval = NULL;
	if ((bad = entry_der(out, n, serial, ls, date, ld, reason, inval,
	    li)) != 0)
		return entry_err(bad, serial, ls, date, ld, inval, li, e);
	return 0;
}

/* The current row's entry into the spill (a db_row_fn). */
static int
row_entry(void *arg, const struct db_row *r, struct err *e)
{
	struct spill *sp = arg;
	size_t n = 0;
	int rc;

	if (sp->len + ENTRY_MAX > SPILL_BUF && (rc = spill_write(sp, e)) != 0)
		return rc;
	if ((rc = row_der(r, sp->names, sp->buf + sp->len, &n, e)) != 0)
		return rc;
	sp->len += n;
	sp->total += n;
	sp->count++;
	return 0;
}

/* --- the fixed parts --- */

static int
ext_add(struct buf *b, X509_EXTENSION *x, struct err *e)
{
	unsigned char *der = NULL;
	int n;

	if (x == NULL || (n = i2d_X509_EXTENSION(x, &der)) <= 0) {
		X509_EXTENSION_free(x);
		return err_ssl(e, EX_SOFTWARE, "CRL extension");
	}
	buf_add(b, der, (size_t)n);
	OPENSSL_free(der);
	X509_EXTENSION_free(x);
	return 0;
}

static ASN1_INTEGER *
int_of(int64_t v)
{
	ASN1_INTEGER *a = ASN1_INTEGER_new();

	if (a && !ASN1_INTEGER_set_int64(a, v)) {
		ASN1_INTEGER_free(a);
		a = NULL;
	}
	return a;
}

/* A DIST_POINT_NAME with one URI. */
static DIST_POINT_NAME *
dpname(const char *url)
{
	DIST_POINT_NAME *n = DIST_POINT_NAME_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *u = ASN1_IA5STRING_new();

	if (n == NULL || g == NULL || u == NULL ||
	    !ASN1_STRING_set(u, url, -1) ||
	    (n->name.fullname = sk_GENERAL_NAME_new_null()) == NULL)
		goto bad;
	GENERAL_NAME_set0_value(g, GEN_URI, u);
	u = NULL;
	if (!sk_GENERAL_NAME_push(n->name.fullname, g))
		goto bad;
	n->type = 0;
	return n;
bad:
	ASN1_IA5STRING_free(u);
	GENERAL_NAME_free(g);
	DIST_POINT_NAME_free(n);
	return NULL;
}

static X509_EXTENSION *
ext_idp(const char *url)
{
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	X509_EXTENSION *x = NULL;

	if (idp && (idp->distpoint = dpname(url)) != NULL)
		x = X509V3_EXT_i2d(NID_issuing_distribution_point, 1, idp);
	ISSUING_DIST_POINT_free(idp);
	return x;
}

static X509_EXTENSION *
ext_freshest(const char *url)
{
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	X509_EXTENSION *x = NULL;

	if (dps && dp && (dp->distpoint = dpname(url)) != NULL &&
	    sk_DIST_POINT_push(dps, dp)) {
		dp = NULL;
		x = X509V3_EXT_i2d(NID_freshest_crl, 0, dps);
	}
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return x;
}

/* The CA's subjectKeyIdentifier; for a CA certificate without one
 * (imported), the SHA-1 of its public key (RFC 5280 4.2.1.2 (1)). */
static X509_EXTENSION *
ext_aki(X509 *ca)
{
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	X509_EXTENSION *x = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (akid == NULL)
		return NULL;
	if (ski)
		akid->keyid = ASN1_OCTET_STRING_dup(ski);
	else if (X509_pubkey_digest(ca, EVP_sha1(), md, &n) == 1 &&
	    (akid->keyid = ASN1_OCTET_STRING_new()) != NULL &&
	    !ASN1_OCTET_STRING_set(akid->keyid, md, (int)n)) {
		ASN1_OCTET_STRING_free(akid->keyid);
		akid->keyid = NULL;
	}
	if (akid->keyid)
		x = X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid);
	AUTHORITY_KEYID_free(akid);
	return x;
}

static X509_EXTENSION *
ext_int(int nid, int crit, int64_t v)
{
	ASN1_INTEGER *a = int_of(v);
	X509_EXTENSION *x = a ? X509V3_EXT_i2d(nid, crit, a) : NULL;

	ASN1_INTEGER_free(a);
	return x;
}

/* crlExtensions as [0] EXPLICIT SEQUENCE OF Extension. */
static int
crl_exts(const struct crl_signer *s, const struct crl_job *j, struct buf *out,
    struct err *e)
{
	struct buf b = {0};
	char *url = NULL;
	int rc;

	if ((rc = ext_add(&b, ext_aki(s->cert), e)) != 0 ||
	    (rc = ext_add(&b, ext_int(NID_crl_number, 0, j->number), e)) != 0)
		goto out;
	if (j->kind == CRL_DELTA &&
	    (rc = ext_add(&b, ext_int(NID_delta_crl, 1, j->base), e)) != 0)
		goto out;
	if (j->kind == CRL_SHARD || (j->kind == CRL_FULL && j->freshest)) {
		url = crl_url(s->base_url, s->ca_name, j->kind == CRL_SHARD ?
		    CRL_SHARD : CRL_DELTA, j->shard);
		if (url == NULL) {
			rc = err_set(e, EX_CONFIG, "%s: no base_url in "
			    "certpipe.conf for the CRL's URLs", s->ca_name);
			goto out;
		}
		if ((rc = ext_add(&b, j->kind == CRL_SHARD ? ext_idp(url) :
		    ext_freshest(url), e)) != 0)
			goto out;
	}
	put_hdr(out, T_CTX0, hdr_len(b.len) + b.len);
	put_hdr(out, T_SEQ, b.len);
	buf_add(out, b.p, b.len);
out:
	free(url);
	buf_free(&b);
	return rc;
}

static int
time_der(time_t t, struct buf *out, struct err *e)
{
	ASN1_TIME *a = ASN1_TIME_set(NULL, t);
	unsigned char *der = NULL;
	int n;

	if (a == NULL || (n = i2d_ASN1_TIME(a, &der)) <= 0) {
		ASN1_TIME_free(a);
		return err_ssl(e, EX_SOFTWARE, "CRL time");
	}
	buf_add(out, der, (size_t)n);
	OPENSSL_free(der);
	ASN1_TIME_free(a);
	return 0;
}

/* The signing context, the AlgorithmIdentifier it produces and the
 * signature's fixed length. */
struct sig {
	EVP_MD_CTX *md;
	int eddsa;
	struct buf algid, tbs;		/* tbs: EdDSA only */
	struct buf pend;		/* written and digested in chunks */
	size_t len;
	FILE *out;
};

static int
sig_init(struct sig *g, const struct crl_signer *s, FILE *out, struct err *e)
{
	unsigned char algid[128];
	OSSL_PARAM p[2];
	EVP_PKEY_CTX *pc = NULL;
	const EVP_MD *md = NULL;

	g->out = out;
	g->eddsa = s->digest == NULL;
	if (s->digest && (md = EVP_get_digestbyname(s->digest)) == NULL)
		return err_set(e, EX_CONFIG, "CA %s: unknown digest %s",
		    s->ca_name, s->digest);
	if ((g->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(g->md, &pc, md, NULL, s->key) != 1)
		return err_ssl(e, EX_SOFTWARE, "CA %s: signing", s->ca_name);
	p[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_SIGNATURE_PARAM_ALGORITHM_ID, algid, sizeof algid);
	p[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_get_params(pc, p) != 1 || p[0].return_size == 0 ||
	    p[0].return_size > sizeof algid)
		return err_ssl(e, EX_SOFTWARE, "CA %s: signature algorithm",
		    s->ca_name);
	buf_add(&g->algid, algid, p[0].return_size);
	g->len = (size_t)EVP_PKEY_get_size(s->key);
	return 0;
}

static void
sig_free(struct sig *g)
{
	EVP_MD_CTX_free(g->md);
	buf_free(&g->algid);
	buf_free(&g->tbs);
	buf_free(&g->pend);
}


/* Part of the tbsCertList to out and the digest, as is. */
static int
put(struct sig *g, const void *p, size_t n, struct err *e)
{
	if (n == 0)
		return 0;
	if (g->eddsa)
		buf_add(&g->tbs, p, n);
	else if (EVP_DigestSignUpdate(g->md, p, n) != 1)
		return err_ssl(e, EX_SOFTWARE, "CRL digest");
	if (fwrite(p, 1, n, g->out) != n)
		return err_set(e, EX_IOERR, "CRL output: write failed");
	return 0;
}

/* The pending part of the tbsCertList to out and the digest. */
static int
flush(struct sig *g, struct err *e)
{
	int rc = put(g, g->pend.p, g->pend.len, e);

	buf_reset(&g->pend);
	return rc;
}

/* Part of the tbsCertList, passed on in chunks of at least CHUNK. */
static int
emit(struct sig *g, const void *p, size_t n, struct err *e)
{
	buf_add(&g->pend, p, n);
	return g->pend.len >= CHUNK ? flush(g, e) : 0;
}

/* The signature, of exactly g->len bytes. */
static int
sig_final(struct sig *g, unsigned char *sig, struct err *e)
{
	size_t n;
	int i;

	for (i = 0; i < SIGN_TRIES; i++) {
		n = g->len;
		if (g->eddsa ? EVP_DigestSign(g->md, sig, &n,
		    (const unsigned char *)g->tbs.p, g->tbs.len) != 1 :
		    EVP_DigestSignFinal(g->md, sig, &n) != 1)
			return err_ssl(e, EX_SOFTWARE, "CRL signature");
		if (n == g->len)
			return 0;
		if (g->eddsa)
			break;
	}
	return err_set(e, EX_SOFTWARE, "CRL signature: no signature of "
	    "%zu bytes in %d tries", g->len, i);
}

static int
spill_write(struct spill *sp, struct err *e)
{
	const unsigned char *p = sp->buf;
	size_t n = sp->len;
	ssize_t k;

	while (n > 0) {
		if ((k = write(sp->fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return err_set(e, EX_IOERR, "CRL entries: temporary "
			    "file: write failed: %s", k < 0 ? strerror(errno) :
			    "no progress");
		p += k;
		n -= (size_t)k;
	}
	sp->len = 0;
	return 0;
}

/* The entries, encoded into the spill file, counted. */
static int
spill(struct db *db, const struct crl_signer *s, const struct crl_job *j,
    struct spill *sp, struct err *e)
{
	struct reasons names;
	int rc;

	memset(&names, 0, sizeof names);
	sp->names = &names;
	sp->total = 0;
	sp->count = 0;
	if ((rc = rows(db, s, j, sp, e)) == 0)
		rc = spill_write(sp, e);
	sp->names = NULL;
	return rc;
}

/* The spilled entries into the tbsCertList, mapped a WINDOW at a time
 * (the file's pages, no copy; memory stays at one window). */
static int
unspill(struct sig *g, int fd, size_t total, struct err *e)
{
	size_t off, n;
	void *p;
	int rc;

	if ((rc = flush(g, e)) != 0)
		return rc;
	for (off = 0; off < total && rc == 0; off += n) {
		n = total - off < WINDOW ? total - off : WINDOW;
		p = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, (off_t)off);
		if (p == MAP_FAILED)
			return err_set(e, EX_IOERR, "CRL entries: temporary "
			    "file: mmap: %s", strerror(errno));
		rc = put(g, p, n, e);
		munmap(p, n);
	}
	return rc;
}

/* An unlinked temporary file in dir. */
static int
spill_file(const char *dir, int *fd, struct err *e)
{
	struct buf path = {0};
	int rc = 0;

	buf_printf(&path, "%s/.crl-entries.XXXXXX", dir);
	if ((*fd = mkstemp(path.p)) >= 0)
		unlink(path.p);
	else
		rc = err_set(e, EX_CANTCREAT, "%s: temporary file: %s", dir,
		    strerror(errno));
	buf_free(&path);
	return rc;
}

/* --- reusing the previous complete CRL (crl.h) --- */

/* A serial as INTEGER contents. */
struct serial {
	unsigned char len, b[34];
};

struct reuse {
	unsigned char *map;	/* the previous CRL's file */
	size_t size;
	struct crl_prev cp;
	struct serial *gone;	/* changed or expired since */
	size_t ngone;
	uint32_t *set;		/* gone, open-addressed: index + 1 */
	size_t cap;
	struct buf add;		/* the changed ones' entries now */
	int64_t nadd, count;
	size_t *cut;		/* offsets of the entries dropped, in order */
	size_t ncut, cutlen, total;
	struct reasons *names;
	const char *now;	/* this_update, RFC 3339 */
	int failed;		/* a row that rules reuse out */
};

/* Serials are random (at least 64 bits of CSPRNG output): their last
 * eight bytes, mixed, spread well enough. */
static size_t
serial_hash(const unsigned char *b, size_t n)
{
	uint64_t h = 0;
	size_t i = n > 8 ? n - 8 : 0;

	for (; i < n; i++)
		h = h << 8 | b[i];
	return (size_t)((h ^ n) * 0x9e3779b97f4a7c15ULL >> 32);
}

/* The set's slot for serial b (n bytes): where it is, or the empty one
 * where it would go. */
static uint32_t *
serial_slot(const struct reuse *ru, const unsigned char *b, size_t n)
{
	size_t i = serial_hash(b, n) & (ru->cap - 1);
	const struct serial *s;

	while (ru->set[i]) {
		s = &ru->gone[ru->set[i] - 1];
		if (s->len == n && memcmp(s->b, b, n) == 0)
			break;
		i = (i + 1) & (ru->cap - 1);
	}
	return &ru->set[i];
}

/* Serial hex (n digits) into the list; -1 when it is not a serial or
 * there are too many (then the CRL is made from the database). */
static int
gone_add(struct reuse *ru, const char *hex, size_t n)
{
	unsigned char b[34];
	size_t len;

	if (hex == NULL || (len = der_serial(hex, n, b)) == 0 ||
	    ru->ngone == REUSE_MAX)
		return -1;
	if (ru->ngone % 1024 == 0)
		ru->gone = xrealloc(ru->gone, (ru->ngone + 1024) *
		    sizeof *ru->gone);
	ru->gone[ru->ngone].len = (unsigned char)len;
	memcpy(ru->gone[ru->ngone++].b, b, len);
	return 0;
}

/* The list into the set, twice its size (a serial listed twice counts
 * once). */
static void
gone_index(struct reuse *ru)
{
	uint32_t *sl;
	size_t i;

	for (ru->cap = 16; ru->cap < 2 * ru->ngone; ru->cap *= 2)
		;
	ru->set = xcalloc(ru->cap, sizeof *ru->set);
	for (i = 0; i < ru->ngone; i++)
		if (*(sl = serial_slot(ru, ru->gone[i].b, ru->gone[i].len)) == 0)
			*sl = (uint32_t)i + 1;
}

/* A changed certificate (a db_row_fn): columns as rows() reads them,
 * then whether it belongs on this CRL now. */
static int
changed(void *arg, const struct db_row *r, struct err *e)
{
	struct reuse *ru = arg;
	unsigned char der[ENTRY_MAX];
	size_t ls, lst, n = 0;
	const char *serial = db_row_blob(r, 0, &ls), *status = db_row_blob(r,
	    4, &lst), *in = db_row_blob(r, 5, &n);
	int rc;

	if (ru->failed || gone_add(ru, serial, ls) != 0) {
		ru->failed = 1;
		return 0;
	}
	if (in == NULL || n != 1 || *in != '1' || !((lst == 7 &&
	    memcmp(status, "revoked", 7) == 0) || (lst == 9 &&
	    memcmp(status, "suspended", 9) == 0)))
		return 0;
	if ((rc = row_der(r, ru->names, der, &n, e)) != 0)
		return rc;
	buf_add(&ru->add, der, n);
	ru->nadd++;
	return 0;
}

/* An expired certificate's serial (a db_row_fn). */
static int
expired(void *arg, const struct db_row *r, struct err *e)
{
	struct reuse *ru = arg;
	size_t n;
	const char *serial = db_row_blob(r, 0, &n);

	if (!ru->failed && gone_add(ru, serial, n) != 0)
		ru->failed = 1;
	return 0;
}

/* What changed since the previous CRL: 0, or -1 when the CRL is to be
 * made from the database (too much, a row gone, no such CRL row). */
static int
reuse_changes(struct db *db, const struct crl_signer *s,
    const struct crl_job *j, struct reuse *ru)
{
	struct db_stmt *st = NULL;
	struct err e = {0};
	char *prev_this = NULL;
	int64_t upto = 0, n = 0, full = j->kind != CRL_SHARD;
	int rc;

	if (db_prep(db, &st, &e, "SELECT upto, this_update FROM crls WHERE "
	    "ca_id = ? AND number = ? AND status = 'published' AND kind = ? "
	    "AND coalesce(shard, 0) = ?", "iiti", j->ca_id, j->prev,
	    kinds[j->kind], j->shard) != 0)
		goto out;
	if (db_step(st, &e) == 1) {
		upto = db_int(st, 0);
		prev_this = xstrdup(db_text(st, 1));
	}
	db_finish(st);
	if (prev_this == NULL)
		goto out;
	/* too many to take on: known before any is read */
	if (db_exec(db, &e, "PRAGMA cache_size = -256", "") != 0 ||
	    db_int64(db, &n, &e, "SELECT count(*) FROM (SELECT 1 FROM "
	    "crl_changes WHERE ca_id = ? AND seq > ? LIMIT ?)", "iii",
	    j->ca_id, upto, (int64_t)REUSE_MAX + 1) != 0 || n > REUSE_MAX)
		goto out;
	rc = db_each(db, &e, changed, ru, "c.serial, c.revoked_at, "
	    "c.revoke_reason, c.invalidity_date, c.status, c.not_after > ? "
	    "AND c.realm_id = ? AND (? OR c.crl_shard = ?)", "FROM (SELECT "
	    "DISTINCT cert_id FROM crl_changes WHERE ca_id = ? AND seq > ?) "
	    "ch LEFT JOIN certificates c ON c.id = ch.cert_id LIMIT ?",
	    "tiiiiii", ru->now, s->realm_id, full, j->shard, j->ca_id, upto,
	    (int64_t)REUSE_MAX + 1);
	if (rc != 0 || ru->failed)
		goto out;
	rc = db_each(db, &e, expired, ru, "serial", "FROM certificates WHERE "
	    "ca_id = ? AND realm_id = ? AND status IN ('revoked', "
	    "'suspended') AND not_after > ? AND not_after <= ? AND (? OR "
	    "crl_shard = ?) LIMIT ?", "iittiii", j->ca_id, s->realm_id,
	    prev_this, ru->now, full, j->shard, (int64_t)REUSE_MAX + 1);
	if (rc == 0 && !ru->failed) {
		free(prev_this);
		err_free(&e);
		return 0;
	}
out:
	free(prev_this);
	err_free(&e);
	return -1;
}

/* Pages of the map below off are no longer needed: out of memory. */
static void
reuse_release(struct reuse *ru, size_t off)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = off / pg * pg;

	if (n > 0)
		madvise(ru->map, n, MADV_DONTNEED);
}

/* The previous CRL's signature verified, its entries walked: those of
 * the gone serials noted as cuts, the rest counted. */
static int
reuse_walk(const struct crl_signer *s, struct reuse *ru)
{
	const struct crl_prev *cp = &ru->cp;
	const unsigned char *ser;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const EVP_MD *dg = EVP_get_digestbyname(s->digest);
	size_t pos = cp->tbs_off, end = cp->tbs_off + cp->tbs_len, n, sl, el,
	    at = cp->ent_off, ee = cp->ent_off + cp->ent_len;
	int ok = 0, k;

	gone_index(ru);
	ru->cut = xcalloc(ru->ngone ? ru->ngone : 1, sizeof *ru->cut);
	if (md == NULL || dg == NULL || EVP_DigestVerifyInit(md, NULL, dg,
	    NULL, X509_get0_pubkey(s->cert)) != 1)
		goto out;
	while (pos < end) {
		n = end - pos < WINDOW ? end - pos : WINDOW;
		if (EVP_DigestVerifyUpdate(md, ru->map + pos, n) != 1)
			goto out;
		pos += n;
		/* the entries up to the window's end */
		while (at < ee && at < pos) {
			if ((k = crl_prev_entry(ru->map + at, ee - at, &ser,
			    &sl, &el)) != 1)
				goto out;
			if (ru->ngone && sl <= 34 && *serial_slot(ru, ser, sl)) {
				if (ru->ncut == ru->ngone)
					goto out;	/* a serial twice */
				ru->cut[ru->ncut++] = at;
				ru->cutlen += el;
			} else
				ru->count++;
			at += el;
		}
		reuse_release(ru, pos < at ? pos : at);
	}
	ok = at == ee && EVP_DigestVerifyFinal(md, ru->map + cp->sig_off,
	    cp->sig_len) == 1;
out:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok ? 0 : -1;
}

static void
reuse_free(struct reuse *ru)
{
	if (ru->map)
		munmap(ru->map, ru->size);
	free(ru->gone);
	free(ru->set);
	free(ru->cut);
	buf_free(&ru->add);
	memset(ru, 0, sizeof *ru);
}

/* Whether job j can be made from its previous CRL (0, ru ready) or is
 * made from the database (-1). The previous file must parse, be signed
 * by this CA's key with this signature algorithm, by this issuer name,
 * have the number j->prev and not be a delta. */
static int
reuse_open(struct db *db, const struct crl_signer *s, const struct crl_job *j,
    const struct sig *g, const unsigned char *issuer, size_t ni,
    const char *now, struct reasons *names, struct reuse *ru)
{
	struct buf path = {0};
	struct stat st;
	int fd = -1;

	memset(ru, 0, sizeof *ru);
	ru->names = names;
	ru->now = now;
	if (j->prev == 0 || j->kind == CRL_DELTA || g->eddsa ||
	    s->crldir == NULL)
		return -1;
	buf_printf(&path, "%s/", s->crldir);
	crl_file(s->ca_name, j->kind, j->shard, &path);
	fd = open(path.p, O_RDONLY | O_CLOEXEC);
	buf_free(&path);
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 2 ||
	    (uint64_t)st.st_size > 0xffffffffu)
		goto no;
	ru->size = (size_t)st.st_size;
	ru->map = mmap(NULL, ru->size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	fd = -1;
	if (ru->map == MAP_FAILED) {
		ru->map = NULL;
		goto no;
	}
	madvise(ru->map, ru->size, MADV_SEQUENTIAL);
	if (crl_prev_parse(ru->map, ru->size, &ru->cp) != 0 || ru->cp.delta ||
	    ru->cp.number != j->prev || ru->cp.sigalg_len != g->algid.len ||
	    memcmp(ru->map + ru->cp.sigalg_off, g->algid.p, g->algid.len) ||
	    ru->cp.issuer_len != ni || memcmp(ru->map + ru->cp.issuer_off,
	    issuer, ni) != 0)
		goto no;
	if (reuse_changes(db, s, j, ru) != 0 || reuse_walk(s, ru) != 0)
		goto no;
	ru->total = ru->cp.ent_len - ru->cutlen + ru->add.len;
	ru->count += ru->nadd;
	return 0;
no:
	if (fd >= 0)
		close(fd);
	reuse_free(ru);
	return -1;
}

/* The new entries into the tbsCertList: the previous ones but the cut,
 * then the changed ones. */
static int
reuse_emit(struct sig *g, struct reuse *ru, struct err *e)
{
	size_t at = ru->cp.ent_off, ee = ru->cp.ent_off + ru->cp.ent_len,
	    i = 0, stop, n, sl, el;
	const unsigned char *ser;
	int rc;

	if ((rc = flush(g, e)) != 0)
		return rc;
	while (at < ee) {
		stop = i < ru->ncut ? ru->cut[i] : ee;
		for (; at < stop && rc == 0; at += n) {
			n = stop - at < WINDOW ? stop - at : WINDOW;
			rc = put(g, ru->map + at, n, e);
			reuse_release(ru, at);
		}
		if (rc != 0)
			return rc;
		if (i < ru->ncut) {
			/* walked before: it parses */
			crl_prev_entry(ru->map + at, ee - at, &ser, &sl, &el);
			at += el;
			i++;
		}
	}
	return put(g, ru->add.p, ru->add.len, e);
}

static size_t
tlv(size_t len)
{
	return hdr_len(len) + len;
}

/* Everything but the entries, in order, and the lengths around them. */
static int
build(struct db *db, const struct crl_signer *s, const struct crl_job *j,
    struct sig *g, struct crl_stats *stats, struct err *e)
{
	static const unsigned char version[] = { T_INT, 1, 1 };
	struct buf head = {0}, exts = {0}, outer = {0}, tail = {0}, now = {0};
	unsigned char *issuer = NULL, *sig = NULL;
	struct spill sp = { -1, NULL, 0, 0, 0, NULL };
	struct reasons names;
	struct reuse ru;
	size_t total, tbs, body;
	int64_t count;
	int ni, rc, reused;

	memset(&names, 0, sizeof names);
	memset(&ru, 0, sizeof ru);
	if ((ni = i2d_X509_NAME(X509_get_subject_name(s->cert), &issuer)) <= 0) {
		rc = err_ssl(e, EX_SOFTWARE, "CA %s: issuer name", s->ca_name);
		goto out;
	}
	clock_fmt(&now, j->this_update);
	reused = reuse_open(db, s, j, g, issuer, (size_t)ni, now.p, &names,
	    &ru) == 0;
	if (reused) {
		total = ru.total;
		count = ru.count;
	} else {
		sp.buf = xmalloc(SPILL_BUF);
		if ((rc = spill_file(s->tmpdir, &sp.fd, e)) != 0 ||
		    (rc = spill(db, s, j, &sp, e)) != 0)
			goto out;
		total = sp.total;
		count = sp.count;
	}
	if ((rc = crl_exts(s, j, &exts, e)) != 0)
		goto out;
	buf_add(&head, version, sizeof version);
	buf_add(&head, g->algid.p, g->algid.len);
	buf_add(&head, issuer, (size_t)ni);
	if ((rc = time_der(j->this_update, &head, e)) != 0 ||
	    (rc = time_der(j->next_update, &head, e)) != 0)
		goto out;
	/* revokedCertificates is omitted when empty (RFC 5280 5.1.2.6) */
	tbs = head.len + (count ? tlv(total) : 0) + exts.len;
	body = tlv(tbs) + g->algid.len + tlv(g->len + 1);
	put_hdr(&outer, T_SEQ, body);
	if (fwrite(outer.p, 1, outer.len, g->out) != outer.len) {
		rc = err_set(e, EX_IOERR, "CRL output: write failed");
		goto out;
	}
	buf_reset(&outer);
	put_hdr(&outer, T_SEQ, tbs);
	buf_add(&outer, head.p, head.len);
	if (count)
		put_hdr(&outer, T_SEQ, total);
	if ((rc = emit(g, outer.p, outer.len, e)) != 0 ||
	    (rc = reused ? reuse_emit(g, &ru, e) : unspill(g, sp.fd, total,
	    e)) != 0 ||
	    (rc = emit(g, exts.p, exts.len, e)) != 0 ||
	    (rc = flush(g, e)) != 0)
		goto out;
	sig = xmalloc(g->len);
	if ((rc = sig_final(g, sig, e)) != 0)
		goto out;
	buf_add(&tail, g->algid.p, g->algid.len);
	put_hdr(&tail, T_BITS, g->len + 1);
	buf_addc(&tail, 0);
	buf_add(&tail, sig, g->len);
	if (fwrite(tail.p, 1, tail.len, g->out) != tail.len)
		rc = err_set(e, EX_IOERR, "CRL output: write failed");
	if (stats) {
		memset(stats, 0, sizeof *stats);
		stats->entries = count;
		if (reused) {
			stats->from = j->prev;
			stats->added = ru.nadd;
			stats->kept = count - ru.nadd;
			stats->dropped = (int64_t)ru.ncut;
		}
	}
out:
	if (sp.fd >= 0)
		close(sp.fd);
	free(sp.buf);
	reuse_free(&ru);
	buf_free(&now);
	OPENSSL_free(issuer);
	free(sig);
	buf_free(&head);
	buf_free(&exts);
	buf_free(&outer);
	buf_free(&tail);
	return rc;
}

int
crl_sign(struct db *db, const struct crl_signer *s, const struct crl_job *j,
    FILE *out, struct crl_stats *st, struct err *e)
{
	struct sig g;
	int rc;

	memset(&g, 0, sizeof g);
	if ((rc = sig_init(&g, s, out, e)) != 0)
		goto out;
	rc = build(db, s, j, &g, st, e);
	if (rc == 0 && fflush(out) != 0)
		rc = err_set(e, EX_IOERR, "CRL output: write failed");
out:
	if (rc != 0)
		err_prefix(e, "CA %s: CRL %lld", s->ca_name,
		    (long long)j->number);
	sig_free(&g);
	return rc;
}
