/*
 * sandbox - confine a key holder once its keys are open: no new
 * privileges (setuid binaries lose their power) and a seccomp filter
 * under which the system calls that reach the network or run another
 * program fail with EPERM. What it leaves alone is everything a filter
 * over records needs: files (the database, its WAL, stdio), memory,
 * randomness, time, locks.
 *
 * Contract: 0, or a sysexits code with e filled when the kernel or the
 * architecture offers no seccomp; the caller warns once and goes on
 * (a missing sandbox is a weaker signer, not a broken one). Call it at
 * most once; it cannot be undone.
 */
#ifndef CERTPIPE_SANDBOX_H
#define CERTPIPE_SANDBOX_H
#include "err.h"

int sandbox_enter(struct err *e);

#endif
