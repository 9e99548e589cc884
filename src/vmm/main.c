/*
 * vmx: one virtual machine, one process.
 *
 * Setup runs in a fixed order, and any failure undoes what was made
 * (console socket, control socket) before the one-line error exits:
 *   KVM VM and RAM -> devices -> ACPI and MP tables -> kernel, initrd,
 *   command line -> vCPUs -> control socket -> sandbox -> run.
 * The main thread then serves the event loop (console input, TAP frames,
 * control clients) until something stops the VM; the stop reason gives
 * the exit status.
 */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "boot/loader.h"
#include "config.h"
#include "control.h"
#include "devices/acpi_ged.h"
#include "devices/acpi_pm.h"
#include "devices/console.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"
#include "devices/virtio/net_vhost.h"
#include "evloop.h"
#include "kvm.h"
#include "log.h"
#include "sandbox.h"
#include "vcpu.h"
#include "x86/acpi.h"
#include "x86/mptable.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ 4

static struct vm the_vm;
static struct console *console;
static struct serial *com1;

static void teardown(void)
{
	control_close();
	/* vCPUs are joined or never ran: sockets (vhost-user) go with it */
	virtio_mmio_destroy_all();
	acpi_ged_destroy(&the_vm);
	if (console) {
		console_close(console);
		console = NULL;
	}
}

static int create_legacy_devices(struct vm *vm)
{
	console = console_open(vm->cfg->serial, vm->cfg->serial_path);
	if (!console) {
		log_error("%s", console_error());
		return -1;
	}
	com1 = serial_init(vm, COM1_PORT, COM1_IRQ, console);
	if (!com1 || i8042_init(vm) < 0 ||
	    acpi_pm_init(vm) < 0 || acpi_ged_init(vm) < 0 ||
	    (vm->cfg->debug_exit && debug_exit_init(vm) < 0)) {
		log_error("cannot create legacy devices");
		return -1;
	}
	return 0;
}

/* What `query` needs of each adapter: its --net and its device. */
static struct nic_slot {
	const struct nic_config *cfg;
	void *dev;              /* struct virtio_mmio (TAP) or struct vhost_net */
} nic_slots[VMX_MAX_NICS];

/* A TAP adapter is there as long as vmx runs. */
static void tap_nic_info(void *opaque, struct nic_info *out)
{
	struct nic_slot *s = opaque;

	out->backend = "tap";
	out->path = s->cfg->tap;
	virtio_mmio_read_config(s->dev, 0, out->mac, 6);
	out->connected = true;
}

static void vhost_nic_info(void *opaque, struct nic_info *out)
{
	struct nic_slot *s = opaque;

	out->backend = "vhost-user";
	out->path = s->cfg->vhost_user;
	virtio_net_vhost_state(s->dev, out->mac, &out->connected);
}

static int create_nic(struct vm *vm, unsigned int i, char *err, size_t errlen)
{
	struct nic_slot *s = &nic_slots[i];

	s->cfg = &vm->cfg->nic[i];
	if (s->cfg->vhost_user) {
		s->dev = virtio_net_vhost_init(vm, s->cfg, err, errlen);
		if (!s->dev)
			return -1;
		control_register_nic(i, vhost_nic_info, s);
		return 0;
	}
	if (virtio_net_init(vm, s->cfg, err, errlen) < 0)
		return -1;
	s->dev = virtio_mmio_get(virtio_mmio_count() - 1);
	control_register_nic(i, tap_nic_info, s);
	return 0;
}

static int create_virtio_devices(struct vm *vm)
{
	char err[256];
	for (unsigned int i = 0; i < vm->cfg->nr_disks; i++)
		if (virtio_blk_init(vm, &vm->cfg->disk[i], err, sizeof(err)) < 0)
			goto fail;
	for (unsigned int i = 0; i < vm->cfg->nr_nics; i++)
		if (create_nic(vm, i, err, sizeof(err)) < 0)
			goto fail;
	return 0;
fail:
	log_error("%s", err);
	return -1;
}

static unsigned int serial_counters(void *dev, struct stat_counter *out, unsigned int max)
{
	struct serial_stats st;
	serial_stats(dev, &st);
	const struct stat_counter c[] = {
		{ "tx_bytes", st.tx_bytes }, { "rx_bytes", st.rx_bytes },
		{ "interrupts", st.interrupts }, { "overruns", st.overruns },
	};
	unsigned int n = sizeof(c) / sizeof(c[0]) < max ? sizeof(c) / sizeof(c[0]) : max;
	memcpy(out, c, n * sizeof(c[0]));
	return n;
}

static unsigned int virtio_counters(void *dev, struct stat_counter *out, unsigned int max)
{
	return virtio_mmio_stats(dev, out, max);
}

/* Names like "serial0", "virtio-blk0", "virtio-net1" for the stats method. */
static void register_stats(struct serial *com1)
{
	static char names[VM_MAX_VIRTIO][24];
	unsigned int per_kind[2] = { 0, 0 };
	control_register_stats("serial0", serial_counters, com1);
	for (unsigned int i = 0; i < virtio_mmio_count() && i < VM_MAX_VIRTIO; i++) {
		struct virtio_mmio *t = virtio_mmio_get(i);
		const char *kind = virtio_mmio_name(t);
		unsigned int *n = &per_kind[strcmp(kind, "virtio-net") == 0];
		snprintf(names[i], sizeof(names[i]), "%s%u", kind, (*n)++);
		control_register_stats(names[i], virtio_counters, t);
	}
}

/* The vCPU threads' filter (sandbox.h); each thread loads it as it starts. */
static int build_sandbox(void)
{
	char err[160];

	if (sandbox_init(err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	log_info("sandbox: vCPU threads confined by seccomp, %u system calls allowed, %s",
		 sandbox_allowed(), sandbox_mode());
	return 0;
}

static int build_machine(struct vm *vm, const struct vmx_config *cfg)
{
	if (kvm_vm_create(vm, cfg) < 0)
		return -1;
	vm->nr_vcpus = cfg->cpus;  /* the tables below need the count */
	if (create_legacy_devices(vm) < 0 || create_virtio_devices(vm) < 0)
		return -1;
	if (acpi_build(vm) < 0 || mptable_build(vm) < 0) {
		log_error("cannot write ACPI/MP tables into guest RAM");
		return -1;
	}
	if (boot_load(vm) < 0 || vcpus_create(vm) < 0)
		return -1;
	register_stats(com1);
	if (cfg->control && control_init(vm, cfg->control) < 0)
		return -1;
	return cfg->no_sandbox ? 0 : build_sandbox();
}

static void on_signal(void *opaque, uint32_t events)
{
	int fd = *(int *)opaque;
	struct signalfd_siginfo si;
	(void)events;
	if (read(fd, &si, sizeof(si)) == sizeof(si))
		vm_request_stop(&the_vm, VM_STOP_REQUEST, 0);
}

static int watch_signals(void)
{
	static int sfd;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);  /* vCPU kicks: only vCPU threads take it */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGUSR1);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	return sfd < 0 ? -1 : evloop_add(sfd, EPOLLIN, on_signal, &sfd);
}

static int exit_status(const struct vm *vm)
{
	switch (atomic_load(&vm->stop_reason)) {
	case VM_STOP_DEBUG_EXIT: return vm->exit_status;
	case VM_STOP_ERROR: return 1;
	default: return 0;
	}
}

/* A reset with --on-reset restart starts the same VM afresh: the same process image. */
static void restart(char **argv)
{
	log_info("guest reset: restarting");
	execv("/proc/self/exe", argv);
	log_error("cannot restart after guest reset: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct vmx_config cfg;
	log_set_prog("vmx");
	int r = config_parse(&cfg, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 1;
	if (evloop_init() < 0 || watch_signals() < 0)
		die("cannot set up the event loop: %s", strerror(errno));
	if (build_machine(&the_vm, &cfg) < 0) {
		teardown();
		return 1;
	}
	the_vm.paused = cfg.start_paused;
	if (vcpus_start(&the_vm) < 0) {
		vm_request_stop(&the_vm, VM_STOP_ERROR, 1);
	} else {
		evloop_run();
	}
	vcpus_join(&the_vm);
	teardown();
	int reason = atomic_load(&the_vm.stop_reason);
	if (reason == VM_STOP_RESET && cfg.on_reset == RESET_RESTART)
		restart(argv);
	return exit_status(&the_vm);
}
