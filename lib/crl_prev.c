/* crl_prev - the parts of a published CRL that a new one reuses (see
 * crl.h). Only structure is checked here: the caller verifies the
 * signature over tbs before it trusts a byte of it. */
#include <string.h>
#include "crl.h"

/* One TLV at p, left bytes: its tag, header and content lengths. 0, or
 * -1 when it is malformed (not DER: long form where the short would do,
 * leading zero octets, an indefinite length) or runs past left. */
static int
tlv(const unsigned char *p, size_t left, int *tag, size_t *hl, size_t *cl)
{
	size_t n, k, len = 0;

	if (left < 2 || (p[0] & 0x1f) == 0x1f)
		return -1;
	*tag = p[0];
	if (p[1] < 0x80) {
		*hl = 2;
		len = p[1];
	} else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 4 || left < 2 + n || p[2] == 0)
			return -1;
		for (k = 0; k < n; k++)
			len = len << 8 | p[2 + k];
		if (len < 0x80)
			return -1;
		*hl = 2 + n;
	}
	if (len > left - *hl)
		return -1;
	*cl = len;
	return 0;
}

/* The next TLV of [*p, end) if its tag is want: its contents in *c,
 * *cn, and *p moved past it. */
static int
next(const unsigned char **p, const unsigned char *end, int want,
    const unsigned char **c, size_t *cn)
{
	size_t hl, cl;
	int tag;

	if (*p >= end || tlv(*p, (size_t)(end - *p), &tag, &hl, &cl) != 0 ||
	    tag != want)
		return -1;
	*c = *p + hl;
	*cn = cl;
	*p += hl + cl;
	return 0;
}

/* The tag of the next TLV of [p, end), -1 at the end. */
static int
peek(const unsigned char *p, const unsigned char *end)
{
	return p < end ? p[0] : -1;
}

/* crlExtensions: the CRL number, and whether it is a delta. */
static int
exts(const unsigned char *p, const unsigned char *end, struct crl_prev *cp)
{
	static const unsigned char crl_number[] = { 0x55, 0x1d, 0x14 },
	    delta[] = { 0x55, 0x1d, 0x1b };
	const unsigned char *x, *xe, *oid, *val, *c, *q;
	size_t n, no, nv, nc, i;
	int numbers = 0;

	if (next(&p, end, 0x30, &x, &n) != 0 || p != end)
		return -1;
	for (xe = x + n; x < xe; ) {
		if (next(&x, xe, 0x30, &c, &nc) != 0)
			return -1;
		q = c;
		if (next(&q, c + nc, 0x06, &oid, &no) != 0)
			return -1;
		if (peek(q, c + nc) == 0x01 && next(&q, c + nc, 0x01, &val,
		    &nv) != 0)
			return -1;
		if (next(&q, c + nc, 0x04, &val, &nv) != 0 || q != c + nc)
			return -1;
		if (no == sizeof delta && memcmp(oid, delta, no) == 0)
			cp->delta = 1;
		if (no != sizeof crl_number || memcmp(oid, crl_number, no) != 0)
			continue;
		/* OCTET STRING { INTEGER }, positive, at most 63 bits */
		q = val;
		if (numbers++ || next(&q, val + nv, 0x02, &c, &nc) != 0 ||
		    q != val + nv || nc == 0 || nc > 8 || (c[0] & 0x80) ||
		    (nc > 1 && c[0] == 0 && !(c[1] & 0x80)))
			return -1;
		for (cp->number = 0, i = 0; i < nc; i++)
			cp->number = cp->number << 8 | c[i];
	}
	return numbers == 1 ? 0 : -1;
}

int
crl_prev_parse(const unsigned char *der, size_t len, struct crl_prev *cp)
{
	const unsigned char *p = der, *end = der + len, *o, *t, *te, *c, *a;
	size_t on, tn, cn, an;
	int tag;

	memset(cp, 0, sizeof *cp);
	if (next(&p, end, 0x30, &o, &on) != 0 || p != end)
		return -1;
	end = o + on;
	p = o;
	cp->tbs_off = (size_t)(p - der);
	if (next(&p, end, 0x30, &t, &tn) != 0)
		return -1;
	cp->tbs_len = (size_t)(p - der) - cp->tbs_off;
	cp->sigalg_off = (size_t)(p - der);
	if (next(&p, end, 0x30, &a, &an) != 0)
		return -1;
	cp->sigalg_len = (size_t)(p - der) - cp->sigalg_off;
	/* BIT STRING, no unused bits */
	if (next(&p, end, 0x03, &c, &cn) != 0 || p != end || cn < 2 ||
	    c[0] != 0)
		return -1;
	cp->sig_off = (size_t)(c + 1 - der);
	cp->sig_len = cn - 1;

	te = t + tn;
	/* version v2, signature, issuer, thisUpdate, nextUpdate */
	if (next(&t, te, 0x02, &c, &cn) != 0 || cn != 1 || c[0] != 1)
		return -1;
	a = t;
	if (next(&t, te, 0x30, &c, &cn) != 0 ||
	    (size_t)(t - a) != cp->sigalg_len ||
	    memcmp(a, der + cp->sigalg_off, cp->sigalg_len) != 0)
		return -1;
	cp->issuer_off = (size_t)(t - der);
	if (next(&t, te, 0x30, &c, &cn) != 0)
		return -1;
	cp->issuer_len = (size_t)(t - der) - cp->issuer_off;
	tag = peek(t, te);
	if ((tag != 0x17 && tag != 0x18) || next(&t, te, tag, &c, &cn) != 0)
		return -1;
	tag = peek(t, te);
	if ((tag == 0x17 || tag == 0x18) && next(&t, te, tag, &c, &cn) != 0)
		return -1;
	if (peek(t, te) == 0x30) {
		if (next(&t, te, 0x30, &c, &cn) != 0)
			return -1;
		cp->ent_off = (size_t)(c - der);
		cp->ent_len = cn;
	}
	if (peek(t, te) != 0xa0 || next(&t, te, 0xa0, &c, &cn) != 0 ||
	    t != te)
		return -1;
	return exts(c, c + cn, cp);
}

int
crl_prev_entry(const unsigned char *p, size_t left,
    const unsigned char **serial, size_t *slen, size_t *elen)
{
	const unsigned char *c, *q;
	size_t cn;

	if (left == 0)
		return 0;
	/* every entry certpipe writes: short lengths, the serial first */
	if (left >= 4 && p[0] == 0x30 && p[1] < 0x80 && p[2] == 0x02 &&
	    p[3] > 0 && p[3] < 0x80 && (size_t)p[1] + 2 <= left &&
	    (size_t)p[3] + 2 <= p[1]) {
		*serial = p + 4;
		*slen = p[3];
		*elen = (size_t)p[1] + 2;
		return 1;
	}
	q = p;
	if (next(&q, p + left, 0x30, &c, &cn) != 0)
		return -1;
	*elen = (size_t)(q - p);
	q = c;
	if (next(&q, c + cn, 0x02, serial, slen) != 0 || *slen == 0)
		return -1;
	return 1;
}
