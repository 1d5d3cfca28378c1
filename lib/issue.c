/* issue - one certificate from template + CA + request (see issue.h). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "crl.h"
#include "domain.h"
#include "issue.h"
#include "keys.h"
#include "x509.h"

/* "DNS:name" or "IP:addr" for a CN that is a host name or address;
 * NULL for a CN that is neither (a person's name, say). */
static char *
cn_san(const char *cn)
{
	unsigned char addr[16];
	struct buf b = {0};
	struct err e = {0};
	char *copy;
	int ok;

	if (inet_pton(AF_INET, cn, addr) == 1 ||
	    inet_pton(AF_INET6, cn, addr) == 1) {
		buf_printf(&b, "IP:%s", cn);
		return buf_steal(&b);
	}
	copy = xstrdup(cn);
	ok = domain_normalize(copy, 1, &e) == 0 && strchr(copy, '.') != NULL;
	if (ok)
		buf_printf(&b, "DNS:%s", copy);
	free(copy);
	err_free(&e);
	return ok ? buf_steal(&b) : NULL;
}

static int
is_starter(const struct tmpl *t, const char *name)
{
	return t->starter != NULL && strcmp(t->starter, name) == 0;
}

int
issue_cert(const struct issue_req *r, X509 **out, int *capped,
    struct err *e)
{
	const struct tmpl *t = r->tmpl;
	struct x509_issue in;
	struct buf eku = {0};
	const char **san = NULL;
	char *cnsan = NULL, *aia = NULL, *ocsp = NULL, *crl = NULL, *url;
	char *fresh = NULL;
	int64_t days = r->days ? r->days : t->days;
	unsigned ku = 0;
	size_t i, n = 0;
	int rc, cut = 0;

	*out = NULL;
	if (days < 1)
		return err_set(e, EX_DATAERR, "validity: %lld days is not "
		    "positive", (long long)days);
	if (days > t->max_days) {
		days = t->max_days;
		cut = 1;
	}
	if ((rc = x509_ku_parse(t->key_usage, &ku, e)) != 0)
		return rc;
	if (EVP_PKEY_get_base_id(r->pub) != EVP_PKEY_RSA)
		ku &= ~(unsigned)KU_KEY_ENCIPHERMENT;
	san = xcalloc(r->nsan + 1, sizeof *san);
	if (r->cn && (cnsan = cn_san(r->cn)) != NULL) {
		for (i = 0; i < r->nsan; i++)
			if (strcasecmp(r->san[i], cnsan) == 0)
				break;
		if (i == r->nsan)
			san[n++] = cnsan;
	}
	for (i = 0; i < r->nsan; i++)
		san[n++] = r->san[i];
	aia = tmpl_url(t, "aia", r->base_url, r->ca_name);
	ocsp = tmpl_url(t, "ocsp", r->base_url, r->ca_name);
	crl = tmpl_url(t, "crl", r->base_url, r->ca_name);
	if (crl && r->sharded) {
		url = crl_shard_url(crl, r->shard);
		free(crl);
		crl = url;
	} else if (crl && r->delta)
		fresh = crl_url(r->base_url, r->ca_name, CRL_DELTA, 0);
	memset(&in, 0, sizeof in);
	in.subject = r->subject;
	in.subject_fields = r->subject_fields;
	in.pubkey = r->pub;
	in.spki = r->spki;
	in.issuer = r->ca_cert;
	in.issuer_key = r->ca_key;
	in.digest = t->digest;
	in.not_before = r->now - 60;	/* tolerate small clock skew */
	in.not_after = r->now + (time_t)days * 86400;
	in.ca = t->ca;
	in.path_len = (int)t->path_len;
	in.ku = ku;
	in.eku = t->eku;
	/* RFC 3161 2.3: the TSA's only EKU, and critical */
	if (is_starter(t, "timestamping") && t->eku) {
		buf_printf(&eku, "critical,%s", t->eku);
		in.eku = eku.p;
	}
	/* a responder is not asked about itself (RFC 6960 4.2.2.2.1) */
	if (is_starter(t, "ocsp-signing")) {
		free(ocsp);
		ocsp = NULL;
		in.ocsp_nocheck = 1;
	}
	in.san = san;
	in.nsan = n;
	in.aia_issuer_url = aia;
	in.ocsp_url = ocsp;
	in.crl_url = crl;
	in.freshest_url = fresh;
	in.policy_oid = t->policy ? t->policy_oid : NULL;
	in.cps_url = t->policy ? t->cps_url : NULL;
	in.later = r->later;
	rc = x509_issue(&in, out, capped, e);
	if (rc == 0 && capped && cut)
		*capped = 1;
	buf_free(&eku);
	free(san);
	free(cnsan);
	free(aia);
	free(ocsp);
	free(crl);
	free(fresh);
	return rc;
}
