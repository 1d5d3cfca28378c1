/*
 * tsa - the timestamp authority's signing side: RFC 3161 replies
 * (with RFC 5816's ESSCertIDv2) and the legacy Authenticode
 * countersignature, made with a delegated TSA key the caller opened.
 *
 * RFC 3161: the request is decoded and judged by OpenSSL's TS_RESP_CTX
 * (the library's job, not ours): SHA-256/384/512 imprints only (any
 * other: rejection, failInfo badAlg), an imprint of the wrong length
 * or undecodable DER is badDataFormat, a reqPolicy other than the
 * TSA's policy is unacceptedPolicy, extensions are unacceptedExtension.
 * A granted token carries the TSA's policy, genTime in UTC (with
 * milliseconds when the accuracy has a millisecond part), the accuracy
 * when one is set, ordering false, the request's nonce, ESSCertIDv2
 * with SHA-256, the signer certificate and its chain only when the
 * request set certReq, and a serial of 127 bits from the CSPRNG (never
 * a counter: no state to lose or roll back across restarts).
 *
 * Authenticode (what signtool /t and osslsigncode -t speak): the body
 * is base64 of a TimeStampRequest (countersignatureType
 * 1.3.6.1.4.1.311.3.2.1, attributes, content: id-data carrying the
 * signature to be countersigned). The answer is base64 of a PKCS#7
 * SignedData over that signature, whose one SignerInfo (contentType,
 * signingTime, messageDigest signed with SHA-256) is the
 * countersignature the client puts into its own SignerInfo, plus the
 * TSA certificate and its chain.
 *
 * Contract: 0 or a sysexits code with e filled. tsa_reply answers
 * every request, however bad, with a TimeStampResp (0); it fails only
 * when no reply can be made at all (EX_SOFTWARE). tsa_authenticode
 * fails with EX_DATAERR on a request it cannot decode. Output buffers
 * are appended to and belong to the caller.
 */
#ifndef CERTPIPE_TSA_H
#define CERTPIPE_TSA_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "buf.h"
#include "err.h"

#define TSA_MAX_QUERY	(16 * 1024)	/* a query is ~100 bytes */

struct tsa_opts {
	X509 *cert;			/* the TSA certificate */
	EVP_PKEY *key;			/* its key */
	STACK_OF(X509) *chain;		/* issuing CA up to the root, or NULL */
	const char *policy;		/* dotted TSA policy OID */
	int64_t accuracy_ms;		/* 0: no accuracy stated */
};

struct tsa;

/* A TSA over o (certificates and key are referenced, not copied: keep
 * them until tsa_free). EX_CONFIG when the certificate is not a TSA
 * certificate (critical EKU timeStamping only), does not match the key,
 * the key cannot sign PKCS#7 (EdDSA) or the policy is not an OID. */
int tsa_new(const struct tsa_opts *o, struct tsa **out, struct err *e);
void tsa_free(struct tsa *t);

/* The PKIStatus values a reply carries (RFC 3161 2.4.2). */
#define TSA_GRANTED	0
#define TSA_REJECTION	2

/* Answer one DER TimeStampReq with a DER TimeStampResp in out; status
 * (may be NULL) gets its PKIStatus. */
int tsa_reply(struct tsa *t, const unsigned char *req, size_t len,
    struct buf *out, int *status, struct err *e);

/* The status text of a DER TimeStampResp (for diagnostics: "Message
 * digest algorithm is not supported."), appended to out; "rejected"
 * when it carries none or does not decode. */
void tsa_reply_text(const unsigned char *resp, size_t len, struct buf *out);

/* The signature an Authenticode request asks to countersign (decoded
 * from the base64 body; whitespace is allowed), into sig. */
int tsa_authenticode_decode(const unsigned char *body, size_t len,
    struct buf *sig, struct err *e);
/* Answer an Authenticode request body with base64 PKCS#7 in out. */
int tsa_authenticode(struct tsa *t, const unsigned char *body, size_t len,
    struct buf *out, struct err *e);

/*
 * The HTTP handler (lib/http.h) over a struct tsa given as arg, on POST:
 *   application/timestamp-query  -> 200 application/timestamp-reply, a
 *                                   TimeStampResp granted or rejected
 *   application/octet-stream     -> Authenticode: 200 base64 PKCS#7
 *                                   (application/octet-stream, which
 *                                   osslsigncode insists on), or 400
 *   anything else                -> 415
 * A TSA that cannot sign answers 500 (logged once on stderr).
 */
struct http_req;
struct http_resp;
int tsa_http(const struct http_req *r, struct http_resp *rs, void *arg);

/* Parse an accuracy "250ms", "1s", "1500ms" or "0" into milliseconds
 * (at most one hour). EX_DATAERR naming what. */
int tsa_accuracy_parse(const char *what, const char *s, int64_t *ms,
    struct err *e);

#endif
