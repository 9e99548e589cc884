/*
 * The vCPU threads' sandbox: a seccomp filter that lets each vCPU thread
 * make only the system calls that running a guest needs.
 *
 * A vCPU thread runs every exit handler: port and MMIO emulation, virtio
 * queue processing (virtio-blk I/O, TAP transmit), the vhost-user set-up
 * at DRIVER_OK.  That is where guest-controlled data is parsed, so that is
 * what a guest that found a bug would control first.  Confined, the
 * thread itself cannot open a file, create a socket, map executable
 * memory, run a program or rewire the VM's eventfds: it can go on doing
 * I/O on the fds vmx opened for it.
 *
 * The filter is per thread (no TSYNC): the main thread keeps its rights,
 * because it re-executes vmx when the guest resets (--on-reset restart)
 * and serves the control socket.  It shares the address space, so code
 * that took over a vCPU thread could still reach the main thread through
 * memory: the filter narrows what a bug in an exit handler gives at once,
 * it does not isolate the process (a filter for the main thread needs an
 * in-process reset first).  A forbidden call stops the VM with a
 * line naming it (SIGSYS, then the default action).  Sanitizer builds
 * only log forbidden calls (SECCOMP_RET_LOG): the sanitizers' own
 * reporting makes calls no guest path does.
 */
#ifndef VMX_SANDBOX_H
#define VMX_SANDBOX_H
#include <stdbool.h>
#include <stddef.h>

/* Builds the filter, in the main thread before the vCPUs start.  0, or
 * -1 with one line in err. */
int sandbox_init(char *err, size_t errlen);

/* Confines the calling thread; 0, or -errno.  sandbox_init first. */
int sandbox_enter(void);

/* "enforcing", "log only (sanitizer build)" or "off". */
const char *sandbox_mode(void);

/* The number of system calls the filter allows. */
unsigned int sandbox_allowed(void);

#endif
