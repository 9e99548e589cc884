/*
 * CPUID for the guest.
 *
 * Start from KVM_GET_SUPPORTED_CPUID (what the host CPU and KVM can give
 * a guest) and make it describe this VM: N vCPUs as N cores of one
 * package with one thread each, APIC ids 0..N-1, the hypervisor bit set,
 * and nothing that promises hardware vmx does not model (performance
 * counters, turbo, PDCM).  Leaves 1, 4, 0xB and 0x1F must agree on the
 * topology or Linux prints warnings and builds wrong scheduler domains.
 */
#include "x86/cpuid.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"

#define CPUID_1_ECX_PDCM (1u << 15)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_6_EAX_TURBO (1u << 1)
#define CPUID_EXT1_ECX_CMP_LEGACY (1u << 1)
#define TOPO_LEVEL_SMT 1
#define TOPO_LEVEL_CORE 2

static struct kvm_cpuid2 *get_supported(int kvm_fd)
{
	for (unsigned int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

static unsigned int bits_for(unsigned int count)
{
	unsigned int b = 0;
	while ((1u << b) < count)
		b++;
	return b;
}

static void fix_topology_leaf(struct kvm_cpuid_entry2 *e, unsigned int id,
			      unsigned int nr_cpus)
{
	e->edx = id;
	switch (e->index) {
	case 0: /* SMT level: one thread per core */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (TOPO_LEVEL_SMT << 8) | 0;
		break;
	case 1: /* core level: every vCPU a core of one package */
		e->eax = bits_for(nr_cpus);
		e->ebx = nr_cpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | 1;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

static void fix_entry(struct kvm_cpuid_entry2 *e, unsigned int id, unsigned int nr_cpus)
{
	switch (e->function) {
	case 1:
		e->ebx = (id << 24) | (nr_cpus << 16) | (8u << 8) | (e->ebx & 0xff);
		e->ecx &= ~CPUID_1_ECX_PDCM;
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (nr_cpus > 1)
			e->edx |= CPUID_1_EDX_HTT;
		else
			e->edx &= ~CPUID_1_EDX_HTT;
		break;
	case 4: /* cores per package - 1 in EAX[31:26]; one thread shares each cache level */
		e->eax = (e->eax & 0x3ff) | ((nr_cpus - 1) << 26);
		break;
	case 6:
		e->eax &= ~CPUID_6_EAX_TURBO;
		break;
	case 0xa: /* no virtual PMU */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xb:
	case 0x1f:
		fix_topology_leaf(e, id, nr_cpus);
		break;
	case 0x80000001:
		if (nr_cpus > 1)
			e->ecx |= CPUID_EXT1_ECX_CMP_LEGACY;
		break;
	case 0x80000008: /* AMD: number of cores - 1, APIC id size */
		e->ecx = (bits_for(nr_cpus) << 12) | (nr_cpus - 1);
		break;
	}
}

int cpuid_setup(struct vm *vm, int vcpu_fd, unsigned int id)
{
	struct kvm_cpuid2 *c = get_supported(vm->kvm_fd);
	if (!c) {
		log_error("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		return -1;
	}
	for (unsigned int i = 0; i < c->nent; i++)
		fix_entry(&c->entries[i], id, vm->nr_vcpus);
	int r = ioctl(vcpu_fd, KVM_SET_CPUID2, c);
	if (r < 0)
		log_error("vCPU %u: KVM_SET_CPUID2 failed: %s", id, strerror(errno));
	free(c);
	return r < 0 ? -1 : 0;
}
