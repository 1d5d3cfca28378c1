/*
 * ocsp_front - the OCSP front end's answers (see ocsp.h): by lookup in
 * the pre-signed store, or through the live signer on its pipe pair.
 *
 * Trust: runs on hostile input and holds no key and no database. What
 * needs a signature made now goes to `ocsp-sign --live` as a checked
 * request, and its answer comes back as is.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "diag.h"
#include "ocsp.h"

void
ocsp_front_init(struct ocsp_front *f, int store_fd, char *const *helper)
{
	memset(f, 0, sizeof *f);
	f->store.fd = store_fd;
	f->helper = helper;
	f->to = f->from = -1;
}

/* The last request and response (see ocsp.h) are dropped with the
 * front end. */
static void
front_forget(struct ocsp_front *f)
{
	buf_free(&f->last_req);
	buf_free(&f->last_resp);
	memset(&f->last_q, 0, sizeof f->last_q);
	f->etag[0] = '\0';
}

void
ocsp_front_close(struct ocsp_front *f)
{
	int st;

	if (f->to >= 0)
		close(f->to);
	if (f->from >= 0)
		close(f->from);
	f->to = f->from = -1;
	if (f->pid > 0)
		while (waitpid(f->pid, &st, 0) < 0 && errno == EINTR)
			;
	f->pid = 0;
	front_forget(f);
}

/* Start the helper on a pipe pair (its stdin and stdout). */
static int
helper_start(struct ocsp_front *f)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	pid_t pid;

	if (pipe(in) != 0 || pipe(out) != 0)
		goto fail;
	/* our ends must not leak into the helper or other children */
	fcntl(in[1], F_SETFD, FD_CLOEXEC);
	fcntl(out[0], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) < 0)
		goto fail;
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(EX_OSERR);
		if (in[0] > 1)
			close(in[0]);
		if (out[1] > 1)
			close(out[1]);
		execv(f->helper[0], f->helper);
		diag("%s: %s", f->helper[0], strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	close(in[0]);
	close(out[1]);
	f->pid = pid;
	f->to = in[1];
	f->from = out[0];
	return 0;
fail:
	diag("live signer: cannot start: %s", strerror(errno));
	if (in[0] >= 0) {
		close(in[0]);
		close(in[1]);
	}
	if (out[0] >= 0) {
		close(out[0]);
		close(out[1]);
	}
	return -1;
}

static void
fail(struct ocsp_answer *a, int status)
{
	ocsp_error(status, &a->der);
	a->status = status;
}

/* One request through the helper; tryLater when there is none or it
 * failed (it said why on stderr). */
static void
live(struct ocsp_front *f, const void *der, size_t len,
    struct ocsp_answer *a)
{
	struct err e = {0};
	int rc;

	if (f->helper == NULL || f->dead ||
	    (f->pid == 0 && helper_start(f) != 0)) {
		f->dead = 1;
		fail(a, OCSP_RESPONSE_STATUS_TRYLATER);
		return;
	}
	if ((rc = ocsp_frame_write(f->to, der, len, &e)) == 0 &&
	    (rc = ocsp_frame_read(f->from, OCSP_MAX_RESPONSE, &a->der,
	    &e)) == 0) {
		a->status = ocsp_status_of(a->der.p, a->der.len);
		return;
	}
	if (rc == 1)
		err_set(&e, EX_UNAVAILABLE, "exited");
	diag("live signer: %s", err_str(&e));
	err_free(&e);
	ocsp_front_close(f);
	f->dead = 1;
	fail(a, OCSP_RESPONSE_STATUS_TRYLATER);
}

/* What a stored response says, from the last one's when the bytes are
 * the same. */
static int
stored(struct ocsp_front *f, const struct buf *der, struct ocsp_stored *s,
    struct err *e)
{
	if (der->len > 0 && der->len == f->last_resp.len &&
	    memcmp(der->p, f->last_resp.p, der->len) == 0) {
		*s = f->last_st;
		return 0;
	}
	buf_reset(&f->last_resp);
	f->etag[0] = '\0';
	if (ocsp_stored_read(der->p, der->len, s, e) != 0)
		return -1;
	buf_add(&f->last_resp, der->p, der->len);
	f->last_st = *s;
	return 0;
}

void
ocsp_answer(struct ocsp_front *f, const void *der, size_t len, time_t now,
    struct ocsp_answer *a)
{
	struct ocsp_query q;
	struct ocsp_stored s;
	struct err e = {0};
	int got;

	memset(a, 0, sizeof *a);
	memset(&q, 0, sizeof q);
	if (len > 0 && len == f->last_req.len &&
	    memcmp(der, f->last_req.p, len) == 0)
		q = f->last_q;		/* the same bytes parse the same */
	else if ((got = ocsp_query_parse(der, len, &q, &e)) != 0) {
		fail(a, got == EX_NOPERM ? OCSP_RESPONSE_STATUS_UNAUTHORIZED :
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		goto out;
	} else {
		buf_reset(&f->last_req);
		buf_add(&f->last_req, der, len);
		f->last_q = q;
		f->last_q.req = NULL;
	}
	if (f->require_signed && !q.sig) {
		fail(a, OCSP_RESPONSE_STATUS_SIGREQUIRED);
		goto out;
	}
	/* a nonce or several CertIDs need a signature made now */
	if (q.nonce || q.n > 1) {
		if (!ocsp_store_issuer(&f->store, &q.key))
			fail(a, OCSP_RESPONSE_STATUS_UNAUTHORIZED);
		else
			live(f, der, len, a);
		goto out;
	}
	got = ocsp_store_get(&f->store, &q.key, &a->der, &e);
	if (got == OCSP_NOISSUER)
		fail(a, OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	else if (got == OCSP_NOSERIAL)
		live(f, der, len, a);
	else if (got < 0 || stored(f, &a->der, &s, &e) != 0) {
		diag("store: %s", err_str(&e));
		fail(a, OCSP_RESPONSE_STATUS_INTERNALERROR);
	} else if (s.next_update != 0 && s.next_update <= now)
		live(f, der, len, a);	/* never serve a stale response */
	else {
		a->status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
		a->stored = 1;
		a->this_update = s.this_update;
		a->next_update = s.next_update;
	}
out:
	ocsp_query_free(&q);
	err_free(&e);
}

void
ocsp_answer_free(struct ocsp_answer *a)
{
	buf_free(&a->der);
}
