/*
 * acme_acct - accounts (RFC 8555 7.3): newAccount with required external
 * account binding (7.3.4), POST-as-GET, contact update (7.3.2),
 * deactivation (7.3.6) and key rollover (7.3.5).
 *
 * Invariants: an account is bound for life to the policy (and so the
 * realm) of the EAB key it registered with; an EAB key is used by at
 * most max_uses accounts, counted in the transaction that creates the
 * account; one key belongs to at most one account (thumbprint UNIQUE).
 * Every change writes its audit event in its own transaction.
 */
#include <string.h>
#include <openssl/rand.h>
#include "acme_int.h"
#include "audit.h"
#include "clock.h"

#define MAX_CONTACTS 8

void
acme_acct_free(struct acme_acct *ac)
{
	free(ac->name);
	free(ac->status);
	free(ac->jwk);
	free(ac->thumb);
	free(ac->contact);
	free(ac->realm);
	memset(ac, 0, sizeof *ac);
}

int
acme_acct_load(struct db *db, const char *col, const char *val,
    struct acme_acct *ac, struct err *e)
{
	struct db_stmt *st = NULL;
	struct buf q = {0};
	int rc;

	acme_acct_free(ac);
	/* col is "name" or "thumbprint", never from the request */
	buf_printf(&q, "SELECT a.id, a.realm_id, a.policy_id, a.name, "
	    "a.status, a.jwk, a.thumbprint, a.contact, a.tos_agreed, r.name "
	    "FROM acme_accounts a JOIN realms r ON r.id = a.realm_id "
	    "WHERE a.%s = ?", strcmp(col, "name") == 0 ? "name" : "thumbprint");
	if ((rc = db_prep(db, &st, e, q.p, "t", val)) != 0)
		goto out;
	if ((rc = db_step(st, e)) == 0)
		rc = err_set(e, EX_NOINPUT, "no such account");
	else if (rc == 1) {
		ac->id = db_int(st, 0);
		ac->realm_id = db_int(st, 1);
		ac->policy_id = db_int(st, 2);
		ac->name = xstrdup(db_text(st, 3));
		ac->status = xstrdup(db_text(st, 4));
		ac->jwk = xstrdup(db_text(st, 5));
		ac->thumb = xstrdup(db_text(st, 6));
		ac->contact = xstrdup(db_text(st, 7));
		ac->tos = (int)db_int(st, 8);
		ac->realm = xstrdup(db_text(st, 9));
		rc = 0;
	} else
		rc = e->code;
out:
	db_finish(st);
	buf_free(&q);
	return rc;
}

/* The account object (7.1.2) with its Location. */
static int
acct_answer(struct acme_ctx *x, int status, const struct acme_acct *ac)
{
	struct buf u = {0}, o = {0};
	json_t *j, *contact;

	acme_acct_url(x->a, ac->name, &u);
	buf_printf(&o, "%s/orders", u.p);
	contact = json_loads(ac->contact, 0, NULL);
	j = json_pack("{s:s,s:o,s:b,s:s}", "status", ac->status, "contact",
	    contact ? contact : json_array(), "termsOfServiceAgreed", ac->tos,
	    "orders", o.p);
	http_resp_header(x->rs, "Location", "%s", u.p);
	buf_free(&u);
	buf_free(&o);
	return acme_json(x, status, j);
}

/* One mailto: address, RFC 8555 7.3: no hfields, one '@', printable. */
static int
mailto_ok(const char *s)
{
	const char *at, *p;

	if (strncmp(s, "mailto:", 7) != 0)
		return 0;
	s += 7;
	if (strlen(s) > 254 || (at = strchr(s, '@')) == NULL || at == s ||
	    strchr(at + 1, '@') != NULL || at[1] == '\0')
		return 0;
	for (p = s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("?,;%<>\"\\()[]:", *p))
			return 0;
	return strchr(at + 1, '.') != NULL;
}

/* Check a "contact" member; 0 with *out the canonical JSON text, or the
 * status of the problem answered. */
static int
contacts(struct acme_ctx *x, json_t *c, char **out)
{
	size_t i;
	json_t *v;

	*out = NULL;
	if (c == NULL)
		c = json_array();
	else
		json_incref(c);
	if (!json_is_array(c) || json_array_size(c) > MAX_CONTACTS) {
		json_decref(c);
		return acme_problem(x, 400, ACME_ERR "invalidContact", "contact "
		    "must be an array of at most %d mailto: URLs",
		    MAX_CONTACTS);
	}
	json_array_foreach(c, i, v) {
		if (!json_is_string(v) || strncmp(json_string_value(v),
		    "mailto:", 7) != 0) {
			json_decref(c);
			return acme_problem(x, 400, ACME_ERR
			    "unsupportedContact", "only mailto: contacts "
			    "are supported");
		}
		if (!mailto_ok(json_string_value(v))) {
			json_decref(c);
			return acme_problem(x, 400, ACME_ERR "invalidContact",
			    "contact %zu is not a valid mailto: address", i);
		}
	}
	*out = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	return 0;
}

struct eab {
	int64_t id, realm_id, policy_id, uses, max_uses;
	char *realm;
};

/* Check the EAB JWS of a newAccount (7.3.4) inside the transaction.
 * 0 with eab filled, or the status of the problem answered. */
static int
eab_check(struct acme_ctx *x, json_t *o, const char *thumb, struct eab *eb)
{
	struct jws in = {0};
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf tp = {0}, now = {0};
	json_t *key = NULL;
	const void *mac;
	size_t mlen = 0;
	int s = 0, row = 0;

	if (jws_parse_json(o, &in, &e) != 0)
		s = acme_problem(x, 400, ACME_ERR "malformed",
		    "externalAccountBinding: %s", err_str(&e));
	else if (in.nonce != NULL || in.jwk != NULL || in.kid == NULL)
		s = acme_problem(x, 400, ACME_ERR "malformed",
		    "externalAccountBinding: must have a kid, no nonce, no jwk");
	else if (strncmp(in.alg, "HS", 2) != 0 || (strcmp(in.alg + 2, "256") &&
	    strcmp(in.alg + 2, "384") && strcmp(in.alg + 2, "512")))
		s = acme_problem(x, 400, ACME_ERR "badSignatureAlgorithm",
		    "externalAccountBinding: alg must be HS256, HS384 or HS512");
	else if (in.url == NULL || strcmp(in.url, x->url.p) != 0)
		s = acme_problem(x, 403, ACME_ERR "unauthorized",
		    "externalAccountBinding: url is not the newAccount URL");
	else if ((key = json_loadb(in.payload.p, in.payload.len, 0,
	    NULL)) == NULL || jwk_thumbprint(key, &tp, &e) != 0 ||
	    strcmp(tp.p, thumb) != 0)
		s = acme_problem(x, 400, ACME_ERR "malformed",
		    "externalAccountBinding: payload is not the account key");
	if (s != 0)
		goto out;
	clock_fmt(&now, clock_now());
	if (db_prep(x->a->db, &st, &e, "SELECT k.id, k.realm_id, k.policy_id, "
	    "k.uses, k.max_uses, k.hmac_key, k.expires_at <= ?, r.name "
	    "FROM acme_eab k JOIN realms r ON r.id = k.realm_id "
	    "WHERE k.kid = ?", "tt", now.p, in.kid) != 0 ||
	    (row = db_step(st, &e)) < 0) {
		s = acme_internal(x, &e);
		goto out;
	}
	mac = row ? db_blob(st, 5, &mlen) : NULL;
	if (mac == NULL)
		s = acme_problem(x, 403, ACME_ERR "unauthorized",
		    "externalAccountBinding: unknown key id");
	else if (jws_hmac_verify(&in, mac, mlen, &e) != 0)
		s = acme_problem(x, 403, ACME_ERR "unauthorized",
		    "externalAccountBinding: %s", err_str(&e));
	else if (db_int(st, 6))
		s = acme_problem(x, 403, ACME_ERR "unauthorized",
		    "externalAccountBinding: the key has expired");
	else if (db_int(st, 3) >= db_int(st, 4))
		s = acme_problem(x, 403, ACME_ERR "unauthorized",
		    "externalAccountBinding: the key is used up (%lld of %lld)",
		    (long long)db_int(st, 3), (long long)db_int(st, 4));
	else {
		eb->id = db_int(st, 0);
		eb->realm_id = db_int(st, 1);
		eb->policy_id = db_int(st, 2);
		eb->realm = xstrdup(db_text(st, 7));
	}
out:
	db_finish(st);
	json_decref(key);
	jws_free(&in);
	buf_free(&tp);
	buf_free(&now);
	err_free(&e);
	return s;
}

/* Insert the account, count the EAB use, audit: in the transaction. */
static int
acct_insert(struct acme_ctx *x, const struct eab *eb, const char *thumb,
    const char *contact, int tos, struct acme_acct *ac, struct err *e)
{
	unsigned char r[12];
	struct buf name = {0}, now = {0}, obj = {0}, det = {0};
	char *jwk = json_dumps(x->jws.jwk, JSON_COMPACT | JSON_SORT_KEYS);
	struct audit_ev ev;
	int rc;

	if (RAND_bytes(r, sizeof r) != 1) {
		rc = err_ssl(e, EX_SOFTWARE, "account name");
		goto out;
	}
	/* hex: a name is a command-line argument too (certpipe acme
	 * account show NAME), and base64url may start with '-' */
	for (size_t i = 0; i < sizeof r; i++)
		buf_printf(&name, "%02x", r[i]);
	clock_fmt(&now, clock_now());
	buf_printf(&obj, "acme-account:%s", name.p);
	buf_printf(&det, "eab use %lld of %lld, key %s", (long long)eb->uses + 1,
	    (long long)eb->max_uses, thumb);
	ev = (struct audit_ev){ "acme.account.created", "acme", eb->realm,
	    obj.p, "success", det.p };
	if ((rc = db_exec(x->a->db, e, "INSERT INTO acme_accounts (realm_id, "
	    "policy_id, eab_id, name, thumbprint, jwk, status, contact, "
	    "tos_agreed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
	    "'valid', ?, ?, ?, ?)", "iiittttitt", eb->realm_id, eb->policy_id,
	    eb->id, name.p, thumb, jwk, contact, (int64_t)tos, now.p,
	    now.p)) != 0 ||
	    (rc = db_exec(x->a->db, e, "UPDATE acme_eab SET uses = uses + 1 "
	    "WHERE id = ? AND uses < max_uses", "i", eb->id)) != 0)
		goto out;
	if (db_changes(x->a->db) != 1) {
		rc = err_set(e, EX_TEMPFAIL, "EAB key use raced");
		goto out;
	}
	if ((rc = audit_log(x->a->db, &ev, e)) == 0)
		rc = acme_acct_load(x->a->db, "name", name.p, ac, e);
out:
	free(jwk);
	buf_free(&name);
	buf_free(&now);
	buf_free(&obj);
	buf_free(&det);
	return rc;
}

/* newAccount for a key without an account: EAB, then the insert. */
static int
acct_create(struct acme_ctx *x, const char *thumb)
{
	json_t *p = x->payload, *tos = json_object_get(p, "termsOfServiceAgreed");
	json_t *eabj = json_object_get(p, "externalAccountBinding");
	struct acme_acct ac = {0};
	struct eab eb = {0};
	struct err e = {0};
	char *contact = NULL;
	int st, intx = 0;

	if ((st = contacts(x, json_object_get(p, "contact"), &contact)) != 0)
		goto out;
	if (tos != NULL && !json_is_boolean(tos)) {
		st = acme_problem(x, 400, ACME_ERR "malformed",
		    "termsOfServiceAgreed must be a boolean");
		goto out;
	}
	if (x->a->tos != NULL && !json_is_true(tos)) {
		st = acme_problem(x, 403, ACME_ERR "userActionRequired",
		    "agree to the terms of service %s", x->a->tos);
		goto out;
	}
	if (eabj == NULL) {
		st = acme_problem(x, 400, ACME_ERR "externalAccountRequired",
		    "this server requires an externalAccountBinding (EAB key "
		    "id and HMAC key from your CA administrator)");
		goto out;
	}
	if (db_begin(x->a->db, &e) != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	intx = 1;
	if ((st = eab_check(x, eabj, thumb, &eb)) != 0)
		goto out;
	if (acct_insert(x, &eb, thumb, contact, json_is_true(tos), &ac,
	    &e) != 0 || db_commit(x->a->db, &e) != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	intx = 0;
	st = acct_answer(x, 201, &ac);
out:
	if (intx)
		db_rollback(x->a->db);
	acme_acct_free(&ac);
	free(eb.realm);
	free(contact);
	err_free(&e);
	return st;
}

int
acme_new_account(struct acme_ctx *x)
{
	struct acme_acct ac = {0};
	struct buf tp = {0};
	struct err e = {0};
	json_t *only;
	int st, rc;

	if (x->payload == NULL) {
		st = acme_problem(x, 400, ACME_ERR "malformed",
		    "newAccount needs a payload");
		goto out;
	}
	if (jwk_thumbprint(x->jws.jwk, &tp, &e) != 0) {
		st = acme_problem(x, 400, ACME_ERR "badPublicKey", "%s",
		    err_str(&e));
		goto out;
	}
	if ((rc = acme_acct_load(x->a->db, "thumbprint", tp.p, &ac, &e)) == 0) {
		st = acct_answer(x, 200, &ac);	/* 7.3.1: the existing one */
		goto out;
	}
	if (rc != EX_NOINPUT) {
		st = acme_internal(x, &e);
		goto out;
	}
	only = json_object_get(x->payload, "onlyReturnExisting");
	if (json_is_true(only))
		st = acme_problem(x, 400, ACME_ERR "accountDoesNotExist",
		    "no account has this key");
	else
		st = acct_create(x, tp.p);
out:
	acme_acct_free(&ac);
	buf_free(&tp);
	err_free(&e);
	return st;
}

/* One change of an account row with its audit event, in a transaction. */
static int
acct_change(struct acme_ctx *x, const char *event, const char *set,
    const char *val1, const char *val2, const char *detail)
{
	struct buf sql = {0}, obj = {0}, now = {0};
	struct err e = {0};
	struct audit_ev ev;
	char *name = NULL;
	int rc;

	clock_fmt(&now, clock_now());
	buf_printf(&obj, "acme-account:%s", x->acct.name);
	/* set is one of this file's fixed column lists */
	buf_printf(&sql, "UPDATE acme_accounts SET %s, updated_at = ? "
	    "WHERE id = ? AND status = 'valid'", set);
	ev = (struct audit_ev){ event, "acme", x->acct.realm, obj.p,
	    "success", detail };
	if ((rc = db_begin(x->a->db, &e)) != 0)
		goto out;
	if (val2 != NULL)
		rc = db_exec(x->a->db, &e, sql.p, "ttti", val1, val2, now.p,
		    x->acct.id);
	else
		rc = db_exec(x->a->db, &e, sql.p, "tti", val1, now.p,
		    x->acct.id);
	if (rc == 0 && db_changes(x->a->db) != 1)
		rc = err_set(&e, EX_TEMPFAIL, "account changed meanwhile");
	if (rc == 0)
		rc = audit_log(x->a->db, &ev, &e);
	if (rc == 0)
		rc = db_commit(x->a->db, &e);
	if (rc != 0)
		db_rollback(x->a->db);
	else {
		/* acme_acct_load empties x->acct first: keep the name */
		name = xstrdup(x->acct.name);
		rc = acme_acct_load(x->a->db, "name", name, &x->acct, &e);
	}
out:
	rc = rc ? acme_internal(x, &e) : 0;
	free(name);
	buf_free(&sql);
	buf_free(&obj);
	buf_free(&now);
	err_free(&e);
	return rc;
}

int
acme_account(struct acme_ctx *x, const char *name)
{
	json_t *status, *contact;
	char *c = NULL;
	int st;

	if (strcmp(name, x->acct.name) != 0)
		return acme_problem(x, 403, ACME_ERR "unauthorized",
		    "the kid is not this account");
	if (x->payload == NULL)
		return acct_answer(x, 200, &x->acct);
	status = json_object_get(x->payload, "status");
	contact = json_object_get(x->payload, "contact");
	if (status != NULL && (!json_is_string(status) ||
	    strcmp(json_string_value(status), "deactivated") != 0))
		return acme_problem(x, 400, ACME_ERR "malformed", "a client "
		    "may only set status to \"deactivated\"");
	if (contact != NULL && (st = contacts(x, contact, &c)) != 0)
		return st;
	st = 0;
	if (c != NULL)
		st = acct_change(x, "acme.account.updated", "contact = ?", c,
		    NULL, "contact");
	if (st == 0 && status != NULL)
		st = acct_change(x, "acme.account.deactivated",
		    "status = ?", "deactivated", NULL, NULL);
	free(c);
	return st ? st : acct_answer(x, 200, &x->acct);
}

int
acme_account_orders(struct acme_ctx *x, const char *name)
{
	if (strcmp(name, x->acct.name) != 0)
		return acme_problem(x, 403, ACME_ERR "unauthorized",
		    "the kid is not this account");
	return acme_orders_list(x);
}

/* The inner JWS of a keyChange (7.3.5): signed by the new key, same url,
 * payload {account, oldKey}. 0 with the new key's thumbprint and JWK
 * text, or the status of the problem answered. */
static int
inner_check(struct acme_ctx *x, struct buf *tp, char **jwk)
{
	struct jws in = {0};
	struct err e = {0};
	struct buf acct = {0}, old = {0};
	EVP_PKEY *k = NULL;
	json_t *p = NULL;
	const char *a;
	int st = 0;

	acme_acct_url(x->a, x->acct.name, &acct);
	if (x->payload == NULL || jws_parse_json(x->payload, &in, &e) != 0)
		st = acme_problem(x, 400, ACME_ERR "malformed", "keyChange: "
		    "the payload must be a JWS: %s", err_str(&e));
	else if (in.jwk == NULL || in.kid != NULL || in.nonce != NULL)
		st = acme_problem(x, 400, ACME_ERR "malformed", "keyChange: "
		    "the inner JWS has a jwk, no kid and no nonce");
	else if (in.url == NULL || strcmp(in.url, x->url.p) != 0)
		st = acme_problem(x, 403, ACME_ERR "unauthorized", "keyChange: "
		    "the inner url is not the keyChange URL");
	else if (jwk_key(in.jwk, &k, &e) != 0)
		st = acme_problem(x, 400, ACME_ERR "badPublicKey",
		    "keyChange: %s", err_str(&e));
	else if (jws_verify(&in, k, &e) != 0)
		st = acme_problem(x, in.bad_alg ? 400 : 403, in.bad_alg ?
		    ACME_ERR "badSignatureAlgorithm" : ACME_ERR "unauthorized",
		    "keyChange: inner JWS: %s", err_str(&e));
	else if ((p = json_loadb(in.payload.p, in.payload.len,
	    JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    (a = json_string_value(json_object_get(p, "account"))) == NULL ||
	    jwk_thumbprint(json_object_get(p, "oldKey"), &old, &e) != 0)
		st = acme_problem(x, 400, ACME_ERR "malformed", "keyChange: "
		    "the inner payload needs account and oldKey");
	else if (strcmp(a, acct.p) != 0)
		st = acme_problem(x, 403, ACME_ERR "unauthorized", "keyChange: "
		    "account is not the kid's account");
	else if (strcmp(old.p, x->acct.thumb) != 0)
		st = acme_problem(x, 403, ACME_ERR "unauthorized", "keyChange: "
		    "oldKey is not the account's key");
	else if (jwk_thumbprint(in.jwk, tp, &e) != 0)
		st = acme_internal(x, &e);
	else
		*jwk = json_dumps(in.jwk, JSON_COMPACT | JSON_SORT_KEYS);
	EVP_PKEY_free(k);
	json_decref(p);
	jws_free(&in);
	buf_free(&acct);
	buf_free(&old);
	err_free(&e);
	return st;
}

int
acme_key_change(struct acme_ctx *x)
{
	struct acme_acct other = {0};
	struct buf tp = {0}, u = {0}, det = {0};
	struct err e = {0};
	char *jwk = NULL;
	int st, rc;

	if ((st = inner_check(x, &tp, &jwk)) != 0)
		goto out;
	if ((rc = acme_acct_load(x->a->db, "thumbprint", tp.p, &other,
	    &e)) == 0) {
		acme_acct_url(x->a, other.name, &u);
		http_resp_header(x->rs, "Location", "%s", u.p);
		st = acme_problem(x, 409, ACME_ERR "malformed", "keyChange: "
		    "the new key already belongs to an account");
		goto out;
	}
	if (rc != EX_NOINPUT) {
		st = acme_internal(x, &e);
		goto out;
	}
	buf_printf(&det, "key %s -> %s", x->acct.thumb, tp.p);
	if ((st = acct_change(x, "acme.account.key-changed",
	    "jwk = ?, thumbprint = ?", jwk, tp.p, det.p)) == 0)
		st = acct_answer(x, 200, &x->acct);
out:
	acme_acct_free(&other);
	free(jwk);
	buf_free(&tp);
	buf_free(&u);
	buf_free(&det);
	err_free(&e);
	return st;
}
