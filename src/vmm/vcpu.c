/*
 * vCPU threads.
 *
 * Each vCPU thread loops on KVM_RUN and handles port I/O and MMIO exits
 * synchronously on the buses.  To pull a vCPU out of the guest (stop,
 * pause) another thread sets kvm_run.immediate_exit and sends SIGUSR1:
 * the signal interrupts a running KVM_RUN, and immediate_exit catches a
 * vCPU that was about to enter.  Application processors wait in the
 * kernel for INIT-SIPI-SIPI from the boot processor's local APIC.
 */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "sandbox.h"
#include "x86/cpuid.h"
#include "x86/regs.h"

const char *const vcpu_exit_names[VCPU_EXIT_KINDS] = {
	"io", "mmio", "hlt", "shutdown", "system_event", "intr",
	"internal_error", "other",
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void kick_handler(int sig)
{
	(void)sig;
}

static void count_exit(struct vcpu *v, enum vcpu_exit_kind k)
{
	atomic_fetch_add_explicit(&v->stats.exits[k], 1, memory_order_relaxed);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	for (uint32_t i = 0; i < run->io.count; i++) {
		bus_access(&v->vm->pio, run->io.port, data, run->io.size, is_write);
		data += run->io.size;
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned int len = run->mmio.len <= 8 ? run->mmio.len : 8;
	bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
		   run->mmio.is_write);
}

static void handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, VM_STOP_RESET, 0);
		break;
	default:
		vm_request_stop(v->vm, VM_STOP_POWEROFF, 0);
		break;
	}
}

static void report_internal_error(struct vcpu *v)
{
	struct kvm_regs regs;
	unsigned long long rip = 0;
	if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	log_error("vCPU %u: KVM internal error (suberror %u) at rip 0x%llx",
		  v->id, v->run->internal.suberror, rip);
	vm_request_stop(v->vm, VM_STOP_ERROR, 1);
}

/* Returns false when the vCPU should stop. */
static bool handle_exit(struct vcpu *v)
{
	switch (v->run->exit_reason) {
	case KVM_EXIT_IO: count_exit(v, VCPU_EXIT_IO); handle_io(v); return true;
	case KVM_EXIT_MMIO: count_exit(v, VCPU_EXIT_MMIO); handle_mmio(v); return true;
	case KVM_EXIT_HLT: count_exit(v, VCPU_EXIT_HLT); return true;
	case KVM_EXIT_INTR: count_exit(v, VCPU_EXIT_INTR); return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault resets a PC. */
		count_exit(v, VCPU_EXIT_SHUTDOWN);
		vm_request_stop(v->vm, VM_STOP_RESET, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		count_exit(v, VCPU_EXIT_SYSTEM_EVENT);
		handle_system_event(v);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		count_exit(v, VCPU_EXIT_INTERNAL_ERROR);
		report_internal_error(v);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		count_exit(v, VCPU_EXIT_OTHER);
		log_error("vCPU %u: entry failed (reason 0x%llx)", v->id,
			  (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
		vm_request_stop(v->vm, VM_STOP_ERROR, 1);
		return false;
	default:
		count_exit(v, VCPU_EXIT_OTHER);
		log_error("vCPU %u: unexpected exit reason %u", v->id, v->run->exit_reason);
		vm_request_stop(v->vm, VM_STOP_ERROR, 1);
		return false;
	}
}

/* Parks the calling vCPU while the VM is paused; false when it should stop. */
static bool wait_while_paused(struct vcpu *v)
{
	struct vm *vm = v->vm;
	/* The common case, not paused, costs one atomic load and no lock. */
	if (!atomic_load_explicit(&vm->paused, memory_order_acquire))
		return atomic_load(&vm->stop_reason) == VM_RUNNING;
	pthread_mutex_lock(&vm->state_lock);
	if (vm->paused) {
		vm->nr_paused++;
		pthread_cond_broadcast(&vm->state_cond);
		while (vm->paused && atomic_load(&vm->stop_reason) == VM_RUNNING)
			pthread_cond_wait(&vm->state_cond, &vm->state_lock);
		vm->nr_paused--;
	}
	pthread_mutex_unlock(&vm->state_lock);
	return atomic_load(&vm->stop_reason) == VM_RUNNING;
}

/* vmkd names a VM's world by vCPU 0's thread id: vcpus_start waits for it. */
static void publish_tid(struct vcpu *v)
{
	pthread_mutex_lock(&v->vm->state_lock);
	v->tid = (int)gettid();
	pthread_cond_broadcast(&v->vm->state_cond);
	pthread_mutex_unlock(&v->vm->state_lock);
}

static void wait_tids(struct vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		while (vm->vcpu[i].started && vm->vcpu[i].tid == 0)
			pthread_cond_wait(&vm->state_cond, &vm->state_lock);
	pthread_mutex_unlock(&vm->state_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	publish_tid(v);
	if (!v->vm->cfg->no_sandbox) {
		int r = sandbox_enter();
		if (r < 0) {
			log_error("vCPU %u: cannot enter the sandbox: %s", v->id, strerror(-r));
			vm_request_stop(v->vm, VM_STOP_ERROR, 1);
			return NULL;
		}
	}

	while (atomic_load(&v->vm->stop_reason) == VM_RUNNING) {
		if (!wait_while_paused(v))
			break;
		uint64_t t0 = now_ns();
		int r = ioctl(v->fd, KVM_RUN, 0);
		atomic_fetch_add_explicit(&v->stats.run_ns, now_ns() - t0, memory_order_relaxed);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				count_exit(v, VCPU_EXIT_INTR);
				continue;
			}
			log_error("vCPU %u: KVM_RUN failed: %s", v->id, strerror(errno));
			vm_request_stop(v->vm, VM_STOP_ERROR, 1);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

static void kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		if (!v->run)
			continue;
		v->run->immediate_exit = 1;
		if (v->started)
			pthread_kill(v->thread, SIGUSR1);
	}
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int status)
{
	int expected = VM_RUNNING;
	pthread_mutex_lock(&vm->state_lock);
	if (atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)why))
		vm->exit_status = status;
	pthread_cond_broadcast(&vm->state_cond);
	pthread_mutex_unlock(&vm->state_lock);
	kick_all(vm);
	evloop_stop();
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	if (vm->paused) {
		pthread_mutex_unlock(&vm->state_lock);
		return;
	}
	vm->paused = true;
	pthread_mutex_unlock(&vm->state_lock);
	kick_all(vm);
	pthread_mutex_lock(&vm->state_lock);
	while (vm->nr_paused < vm->nr_vcpus && atomic_load(&vm->stop_reason) == VM_RUNNING)
		pthread_cond_wait(&vm->state_cond, &vm->state_lock);
	pthread_mutex_unlock(&vm->state_lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	vm->paused = false;
	pthread_cond_broadcast(&vm->state_cond);
	pthread_mutex_unlock(&vm->state_lock);
}

static int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int id)
{
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		log_error("cannot create vCPU %u: %s", id, strerror(errno));
		return -1;
	}
	v->run = mmap(NULL, (size_t)vm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		log_error("cannot map vCPU %u: %s", id, strerror(errno));
		return -1;
	}
	if (cpuid_setup(vm, v->fd, id) < 0 || regs_setup_common(v->fd) < 0)
		return -1;
	return id == 0 ? regs_setup_boot(vm, v->fd) : 0;
}

int vcpus_create(struct vm *vm)
{
	vm->nr_vcpus = vm->cfg->cpus;
	vm->vcpu = calloc(vm->nr_vcpus, sizeof(*vm->vcpu));
	if (!vm->vcpu)
		return -1;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_create(vm, &vm->vcpu[i], i) < 0)
			return -1;
	return 0;
}

int vcpus_start(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigaction(SIGUSR1, &sa, NULL);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		if (pthread_create(&v->thread, NULL, vcpu_thread, v) != 0) {
			log_error("cannot start vCPU %u thread", i);
			return -1;
		}
		v->started = true;
	}
	wait_tids(vm);
	return 0;
}

void vcpus_join(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpu[i].started)
			pthread_join(vm->vcpu[i].thread, NULL);
}

void vcpus_destroy(struct vm *vm)
{
	for (unsigned int i = 0; vm->vcpu && i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		if (v->run)
			munmap(v->run, (size_t)vm->vcpu_mmap_size);
		if (v->fd > 0)
			close(v->fd);
	}
	free(vm->vcpu);
	vm->vcpu = NULL;
}
