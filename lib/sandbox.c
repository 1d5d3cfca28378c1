/*
 * sandbox - no new privileges and a seccomp filter (see sandbox.h).
 *
 * The filter is a short deny list, not an allow list. An allow list
 * would have to name every call glibc, sqlite and OpenSSL make on this
 * release (getrandom, mmap, fcntl locks, fdatasync, pread64, futex,
 * ...) and would break the signer on an upgrade of any of them. What
 * the signer must never do once it holds keys is talk to the network or
 * hand control to another program, so exactly those calls are refused:
 *     socket, socketpair            no new network endpoints
 *     connect, bind, listen,        nor using one it was handed
 *     accept, accept4
 *     execve, execveat              no other program in this process
 * ptrace stays allowed: LeakSanitizer needs it at exit in test builds,
 * and no-new-privs already keeps a traced signer from gaining anything.
 * A call from another ABI of the same kernel (x32 on x86-64) is refused
 * too, so the deny list cannot be sidestepped by a different number.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "sandbox.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SANDBOX_ARCH
#define DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

static struct sock_filter filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef __x86_64__
	/* x32 numbers have bit 30 set */
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
#endif
	DENY(__NR_socket),
	DENY(__NR_socketpair),
	DENY(__NR_connect),
	DENY(__NR_bind),
	DENY(__NR_listen),
	DENY(__NR_accept),
	DENY(__NR_accept4),
	DENY(__NR_execve),
	DENY(__NR_execveat),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

int
sandbox_enter(struct err *e)
{
	struct sock_fprog prog = {
		(unsigned short)(sizeof filter / sizeof filter[0]), filter
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return err_set(e, EX_UNAVAILABLE, "sandbox: no_new_privs: %s",
		    strerror(errno));
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
		return err_set(e, EX_UNAVAILABLE, "sandbox: seccomp: %s",
		    strerror(errno));
	return 0;
}
#else
int
sandbox_enter(struct err *e)
{
	return err_set(e, EX_UNAVAILABLE, "sandbox: seccomp filter not "
	    "written for this architecture");
}
#endif
