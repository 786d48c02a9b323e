/*
 * KVM set-up and the vCPU loop.  The guest is untrusted: every request it
 * makes is copied out of its memory once, validated with vmm_check_*,
 * and only then served.  Anything unexpected ends the run with an error.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include <linux/kvm.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "vmm.h"

#define KVM_TSS_ADDR		0xfffbd000ul
/* Writes at least this long start their writeback at once. */
#define VMM_WRITEBACK_MIN	(256u * 1024)
#define VMM_BOUNCE_LEN		(1024u * 1024)
#define VMM_COPY_PIECE		(8u * 1024 * 1024)
/* How a worker stopped by the crash-injection tests exits. */
#define VMM_TEST_STOP_STATUS	99

/* Page-table entry bits. */
#define PTE_P		0x1ull
#define PTE_W		0x2ull
#define PTE_U		0x4ull
#define PTE_PS		0x80ull			/* a 2 MiB page */
#define PAGE_2M		(2ull * 1024 * 1024)

#define CR0_PE		0x1ull
#define CR0_MP		0x2ull
#define CR0_ET		0x10ull
#define CR0_NE		0x20ull
#define CR0_WP		0x10000ull
#define CR0_PG		0x80000000ull
#define CR4_PAE		0x20ull
#define EFER_LME	0x100ull
#define EFER_LMA	0x400ull

/* GDT entries, and the selectors that index them. */
#define GDT_KERNEL_CODE	0x00af9a000000ffffull	/* 64-bit, DPL 0 */
#define GDT_KERNEL_DATA	0x00cf92000000ffffull
#define GDT_USER_DATA	0x00cff2000000ffffull	/* DPL 3 */
#define GDT_USER_CODE	0x00affa000000ffffull	/* 64-bit, DPL 3 */
#define GDT_ENTRIES	7			/* the TSS takes two */
#define SEL_KERNEL_CODE	0x08
#define SEL_USER_DATA	(0x18 | 3)
#define SEL_USER_CODE	(0x20 | 3)
#define SEL_TSS		0x28
#define GUEST_TSS	(INSTAR_GUEST_GDT + 0x100)
#define TSS_SIZE	104
#define TSS_RSP0	4
#define TSS_IOMAP	102
#define IDT_VECTORS	32
#define IDT_GATE_INTR	0x8e

struct vmm {
	int kvm_fd;
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	uint64_t mem_size;
	const uint8_t *guest_image;
	size_t guest_len;
	struct instar_guest_header header;
	uint64_t isr[IDT_VECTORS];	/* exception handler addresses */
	uint8_t *bounce;		/* for copies the kernel will not do */
};

/* State of one run, for the request handlers. */
struct vmm_ctx {
	struct vmm *vm;
	const struct vmm_job *job;
	struct vmm_policy policy;
	bool have_result;
	bool exited;
	int exit_status;
	char *err;
	size_t errlen;
	/* The job's rate limit: bytes written since start. */
	uint64_t written;
	uint32_t write_requests;
	struct timespec start;
};

static volatile sig_atomic_t watchdog_fired;
static struct kvm_run *watchdog_run;

static int watchdog_install(void);
static void rate_limit(struct vmm_ctx *, uint64_t);

static void
watchdog_handler(int sig)
{
	(void)sig;
	watchdog_fired = 1;
	/* Covers a signal that lands just before KVM_RUN is entered. */
	if (watchdog_run != NULL)
		watchdog_run->immediate_exit = 1;
}

/*
 * The guest executes no CPUID and uses no feature beyond long mode, which
 * KVM checks against the guest's CPUID when the vmm sets EFER.LME.  So
 * the table holds just that, instead of what KVM_GET_SUPPORTED_CPUID
 * offers: that call alone took about 0.35 ms of a 5 ms job here.
 */
static int
set_cpuid(struct vmm *vm, char *err, size_t errlen)
{
	/* A kvm_cpuid2 and its two entries, suitably aligned. */
	uint64_t buf[(sizeof(struct kvm_cpuid2) +
	    2 * sizeof(struct kvm_cpuid_entry2) + 7) / 8];
	struct kvm_cpuid2 *cpuid = (struct kvm_cpuid2 *)(void *)buf;

	memset(buf, 0, sizeof(buf));
	cpuid->nent = 2;
	cpuid->entries[0].function = 0x80000000u;	/* highest leaf */
	cpuid->entries[0].eax = 0x80000001u;
	cpuid->entries[1].function = 0x80000001u;
	cpuid->entries[1].edx = 1u << 29;		/* long mode */
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0) {
		errbuf_set(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Guest memory is 2 MiB-aligned, and the part the guest maps with 2 MiB
 * pages asks for transparent huge pages: KVM maps a guest's 2 MiB page
 * with one entry only where the host page behind it is huge as well.
 * The first and last 2 MiB are mapped with 4 KiB pages and stay small on
 * the host too, where a huge page would cost 2 MiB of zeroing for a few
 * pages used.  Without huge pages it all still works, only slower.
 */
static int
map_guest_memory(struct vmm *vm, char *err, size_t errlen)
{
	size_t len = vm->mem_size + PAGE_2M;
	uint8_t *p, *aligned;
	size_t head;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		errbuf_set(err, errlen, "guest memory: %s", strerror(errno));
		return -1;
	}
	aligned = (uint8_t *)(((uintptr_t)p + PAGE_2M - 1) &
	    ~(uintptr_t)(PAGE_2M - 1));
	head = (size_t)(aligned - p);
	if (head > 0)
		munmap(p, head);
	munmap(aligned + vm->mem_size, len - head - vm->mem_size);
	vm->mem = aligned;
	(void)madvise(vm->mem, PAGE_2M, MADV_NOHUGEPAGE);
	(void)madvise(vm->mem + PAGE_2M, vm->mem_size - 2 * PAGE_2M,
	    MADV_HUGEPAGE);
	(void)madvise(vm->mem + vm->mem_size - PAGE_2M, PAGE_2M,
	    MADV_NOHUGEPAGE);
	return 0;
}

static int
create_machine(struct vmm *vm, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region region;
	int mmap_size;

	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		errbuf_set(err, errlen,
		    "/dev/kvm has an unexpected API version");
		return -1;
	}
	if ((vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0)) < 0) {
		errbuf_set(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		errbuf_set(err, errlen,
		    "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	if (map_guest_memory(vm, err, errlen) != 0)
		return -1;
	memset(&region, 0, sizeof(region));
	region.memory_size = vm->mem_size;
	region.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		errbuf_set(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s",
		    strerror(errno));
		return -1;
	}
	if ((vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0)) < 0) {
		errbuf_set(err, errlen, "KVM_CREATE_VCPU: %s", strerror(errno));
		return -1;
	}
	mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run)) {
		errbuf_set(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s",
		    strerror(errno));
		return -1;
	}
	vm->run_size = (size_t)mmap_size;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		errbuf_set(err, errlen, "mmap kvm_run: %s", strerror(errno));
		return -1;
	}
	return set_cpuid(vm, err, errlen);
}

static bool
in_image(const struct vmm *vm, uint64_t addr, uint64_t len)
{
	return addr >= INSTAR_GUEST_LOAD &&
	    addr - INSTAR_GUEST_LOAD <= vm->guest_len &&
	    len <= vm->guest_len - (addr - INSTAR_GUEST_LOAD);
}

/* Where the built-in guest keeps its entry point and exception entries. */
static int
read_guest_header(struct vmm *vm, char *err, size_t errlen)
{
	struct instar_guest_header *h = &vm->header;
	size_t i;

	if (vm->guest_len < sizeof(*h)) {
		errbuf_set(err, errlen, "built-in guest image has no header");
		return -1;
	}
	memcpy(h, vm->guest_image, sizeof(*h));
	if (h->magic != INSTAR_GUEST_HEADER_MAGIC ||
	    !in_image(vm, h->user_entry, 1) ||
	    !in_image(vm, h->isr_table, sizeof(vm->isr)) ||
	    h->kernel_stack_top <= INSTAR_GUEST_LOAD ||
	    h->kernel_stack_top > INSTAR_GUEST_MEM_SIZE ||
	    h->kernel_stack_top % 16 != 0) {
		errbuf_set(err, errlen,
		    "built-in guest image has a bad header");
		return -1;
	}
	memcpy(vm->isr, vm->guest_image + (h->isr_table - INSTAR_GUEST_LOAD),
	    sizeof(vm->isr));
	for (i = 0; i < IDT_VECTORS; i++) {
		if (!in_image(vm, vm->isr[i], 1)) {
			errbuf_set(err, errlen,
			    "built-in guest image has a bad "
			    "exception table");
			return -1;
		}
	}
	return 0;
}

/*
 * Move *fd to the lowest free number if that is lower.  The images the
 * worker receives take the lowest free numbers, and its sandbox allows
 * file I/O only above every descriptor open when it goes on: /dev/kvm's
 * closed number must not be left free below the VM's.
 */
static int
compact_fd(int *fd)
{
	int nfd;

	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	if (nfd < *fd) {
		close(*fd);
		*fd = nfd;
	} else
		close(nfd);
	return 0;
}

struct vmm *
vmm_open(const uint8_t *guest_image, size_t guest_len, char *err,
    size_t errlen)
{
	struct vmm *vm;

	if (guest_len == 0 || guest_len > INSTAR_GUEST_IMAGE_MAX) {
		errbuf_set(err, errlen, "built-in guest image has a bad size");
		return NULL;
	}
	if ((vm = calloc(1, sizeof(*vm))) == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	vm->vm_fd = vm->vcpu_fd = -1;
	vm->mem_size = INSTAR_GUEST_MEM_SIZE;
	vm->guest_image = guest_image;
	vm->guest_len = guest_len;
	if (read_guest_header(vm, err, errlen) != 0) {
		free(vm);
		return NULL;
	}
	if ((vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		errbuf_set(err, errlen, "cannot open /dev/kvm: %s%s",
		    strerror(errno), errno == ENOENT ?
		    " (is KVM available on this host?)" : "");
		free(vm);
		return NULL;
	}
	if (create_machine(vm, err, errlen) != 0) {
		vmm_close(vm);
		return NULL;
	}
	/* The VM and vCPU descriptors are all a running job needs. */
	close(vm->kvm_fd);
	vm->kvm_fd = -1;
	if (compact_fd(&vm->vm_fd) != 0 || compact_fd(&vm->vcpu_fd) != 0) {
		errbuf_set(err, errlen, "fcntl: %s", strerror(errno));
		vmm_close(vm);
		return NULL;
	}
	if (watchdog_install() != 0) {
		errbuf_set(err, errlen, "sigaction: %s", strerror(errno));
		vmm_close(vm);
		return NULL;
	}
	return vm;
}

int
vmm_vcpu_fd(const struct vmm *vm)
{
	return vm->vcpu_fd;
}

void
vmm_close(struct vmm *vm)
{
	if (vm == NULL)
		return;
	if (vm->run != NULL)
		munmap(vm->run, vm->run_size);
	if (vm->mem != NULL)
		munmap(vm->mem, vm->mem_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->bounce);
	free(vm);
}

static void
put64(uint8_t *mem, uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

/* The rights of a 4 KiB page of the first 2 MiB, at gpa. */
static uint64_t
low_page_bits(uint64_t gpa)
{
	if (gpa == 0)
		return 0;			/* NULL faults */
	if (gpa >= INSTAR_GUEST_STACK_LOW)
		return PTE_P | PTE_W | PTE_U;	/* the job's stack */
	if (gpa == INSTAR_GUEST_BOOT || gpa == INSTAR_GUEST_DEVTAB)
		return PTE_P | PTE_U;		/* the job reads its orders */
	return PTE_P | PTE_W;			/* the vmm's */
}

/*
 * Identity-map guest memory.  The first 2 MiB, the vmm's pages and the
 * stack, use 4 KiB pages, each with its own rights (low_page_bits()).
 * Everything from INSTAR_GUEST_LOAD up (the guest's image, its heap and
 * the device heads) is the job's alone, and all but the last 2 MiB of it
 * is mapped with 2 MiB pages: on a nested paravirtual KVM the first touch
 * of each guest page costs a fault of some 40 us, which a big buffer
 * paid for every 4 KiB it spans.  The last 2 MiB, mostly the heads of
 * which a job reads a few pages, keep 4 KiB pages (see
 * map_guest_memory()).  The doorbell page is mapped just past the end of
 * memory, where no RAM backs it.  Nothing else is mapped.
 */
static void
build_page_tables(struct vmm *vm)
{
	uint64_t npd = vm->mem_size / PAGE_2M, i;
	uint64_t low_pt = INSTAR_GUEST_PT;
	uint64_t top_pt = INSTAR_GUEST_PT + 4096;
	uint64_t doorbell_pt = INSTAR_GUEST_PT + 2 * 4096;
	uint64_t top = vm->mem_size - PAGE_2M;
	uint64_t table = PTE_P | PTE_W | PTE_U;

	put64(vm->mem, INSTAR_GUEST_PML4, INSTAR_GUEST_PDPT | table);
	put64(vm->mem, INSTAR_GUEST_PDPT, INSTAR_GUEST_PD | table);
	put64(vm->mem, INSTAR_GUEST_PD, low_pt | table);
	for (i = 0; i < PAGE_2M / 4096; i++)
		put64(vm->mem, low_pt + i * 8, (i * 4096) |
		    low_page_bits(i * 4096));
	for (i = 1; i + 1 < npd; i++)
		put64(vm->mem, INSTAR_GUEST_PD + i * 8, (i * PAGE_2M) |
		    PTE_P | PTE_W | PTE_U | PTE_PS);
	put64(vm->mem, INSTAR_GUEST_PD + (npd - 1) * 8, top_pt | table);
	for (i = 0; i < PAGE_2M / 4096; i++)
		put64(vm->mem, top_pt + i * 8, (top + i * 4096) | PTE_P |
		    PTE_W | PTE_U);
	put64(vm->mem, INSTAR_GUEST_PD + npd * 8, doorbell_pt | table);
	put64(vm->mem, doorbell_pt, INSTAR_GUEST_DOORBELL | table);
}

static void
set_segment(struct kvm_segment *seg, uint16_t selector, uint8_t type,
    bool code)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = type;
	seg->present = 1;
	seg->dpl = selector & 3;
	seg->s = 1;
	seg->g = 1;
	seg->l = code ? 1 : 0;
	seg->db = code ? 0 : 1;
}

/*
 * GDT with kernel and user segments and a TSS whose rsp0 is the guest's
 * exception stack; an IDT whose gates are the guest's exception entries.
 */
static void
build_descriptor_tables(struct vmm *vm)
{
	uint64_t tss = GUEST_TSS, i;
	uint16_t iomap = TSS_SIZE;

	put64(vm->mem, INSTAR_GUEST_GDT, 0);
	put64(vm->mem, INSTAR_GUEST_GDT + 8, GDT_KERNEL_CODE);
	put64(vm->mem, INSTAR_GUEST_GDT + 16, GDT_KERNEL_DATA);
	put64(vm->mem, INSTAR_GUEST_GDT + 24, GDT_USER_DATA);
	put64(vm->mem, INSTAR_GUEST_GDT + 32, GDT_USER_CODE);
	put64(vm->mem, INSTAR_GUEST_GDT + 40, (TSS_SIZE - 1) |
	    (tss & 0xffffff) << 16 | 0x89ull << 40 |
	    ((tss >> 24) & 0xff) << 56);
	put64(vm->mem, INSTAR_GUEST_GDT + 48, tss >> 32);
	memcpy(vm->mem + tss + TSS_RSP0, &vm->header.kernel_stack_top, 8);
	memcpy(vm->mem + tss + TSS_IOMAP, &iomap, sizeof(iomap));
	for (i = 0; i < IDT_VECTORS; i++) {
		uint64_t h = vm->isr[i];

		put64(vm->mem, INSTAR_GUEST_IDT + i * 16, (h & 0xffff) |
		    (uint64_t)SEL_KERNEL_CODE << 16 |
		    (uint64_t)IDT_GATE_INTR << 40 |
		    ((h >> 16) & 0xffff) << 48);
		put64(vm->mem, INSTAR_GUEST_IDT + i * 16 + 8, h >> 32);
	}
}

/* Enter the guest's user-mode entry point, tables in place. */
static int
reset_vcpu(struct vmm *vm, char *err, size_t errlen)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
		errbuf_set(err, errlen, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	set_segment(&sregs.cs, SEL_USER_CODE, 0xb, true);
	set_segment(&sregs.ds, SEL_USER_DATA, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.base = GUEST_TSS;
	sregs.tr.limit = TSS_SIZE - 1;
	sregs.tr.selector = SEL_TSS;
	sregs.tr.type = 0xb;		/* busy 64-bit TSS */
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = 0x2;
	sregs.ldt.unusable = 1;
	sregs.gdt.base = INSTAR_GUEST_GDT;
	sregs.gdt.limit = GDT_ENTRIES * 8 - 1;
	sregs.idt.base = INSTAR_GUEST_IDT;
	sregs.idt.limit = IDT_VECTORS * 16 - 1;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.cr3 = INSTAR_GUEST_PML4;
	/* No OSFXSR: SSE faults in the guest, as the build assumes. */
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0) {
		errbuf_set(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
		return -1;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rip = vm->header.user_entry;
	regs.rsp = INSTAR_GUEST_STACK_TOP;
	regs.rflags = 0x2;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		errbuf_set(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Give the guest zeroed memory, so nothing an earlier run left behind
 * (planted code, tables or data from a hostile image) survives into the
 * next.  Only pages that were ever touched can hold anything, and
 * mincore() names them.  They are zeroed in place rather than dropped
 * with MADV_DONTNEED: dropping them would make the guest fault each one
 * back in, and a fault costs far more than a 4 KiB memset under nested
 * KVM.
 */
static int
wipe_memory(struct vmm *vm, char *err, size_t errlen)
{
	static unsigned char resident[INSTAR_GUEST_MEM_SIZE / 4096];
	size_t pages = vm->mem_size / 4096, i, run;

	if (pages > sizeof(resident) ||
	    mincore(vm->mem, vm->mem_size, resident) != 0) {
		errbuf_set(err, errlen, "mincore: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < pages; i += run) {
		for (run = 0; i + run < pages && (resident[i + run] & 1); run++)
			;
		if (run > 0)
			memset(vm->mem + i * 4096, 0, run * 4096);
		else
			run = 1;
	}
	return 0;
}

/* pread until len bytes, end of file or an error; bytes read. */
static size_t
read_head(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, buf + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

/*
 * The device table and the devices' heads (see struct instar_boot_dev).
 * A head that cannot be read is simply not offered: the guest then
 * asks, and gets the error where it would have before.
 */
/* What the guest is told of a device. */
static uint32_t
device_flags(const struct vmm_device *d)
{
	if (d->writable)
		return INSTAR_DEV_WRITABLE;
	return d->shadow ? INSTAR_DEV_SHADOW : 0;
}

static void
load_devices(struct vmm *vm, const struct vmm_job *job,
    struct instar_boot *boot)
{
	struct instar_boot_dev d;
	uint64_t at, end = vm->mem_size, want;
	uint32_t i;

	at = vm->mem_size >= 2 * INSTAR_GUEST_HEADS_SIZE ?
	    vm->mem_size - INSTAR_GUEST_HEADS_SIZE : vm->mem_size;
	boot->heads_start = at;
	for (i = 0; i < job->ndevs; i++) {
		memset(&d, 0, sizeof(d));
		d.size = job->devs[i].size;
		d.flags = device_flags(&job->devs[i]);
		want = INSTAR_HEAD_LEN;
		if (want > d.size)
			want = d.size;
		if (want > end - at)
			want = 0;
		if (want > 0) {
			d.head_len = (uint32_t)read_head(job->devs[i].fd,
			    vm->mem + at, (size_t)want);
			d.head_gpa = d.head_len > 0 ? at : 0;
			at += (d.head_len + 4095) & ~4095ull;
		}
		memcpy(vm->mem + INSTAR_GUEST_DEVTAB + i * sizeof(d), &d,
		    sizeof(d));
	}
}

static int
reset_machine(struct vmm *vm, const struct vmm_job *job, char *err,
    size_t errlen)
{
	struct instar_boot boot;

	if (wipe_memory(vm, err, errlen) != 0)
		return -1;
	build_page_tables(vm);
	build_descriptor_tables(vm);
	memset(&boot, 0, sizeof(boot));
	boot.magic = INSTAR_BOOT_MAGIC;
	boot.op = job->op;
	boot.ndevices = job->ndevs;
	boot.format = job->format;
	boot.mem_size = vm->mem_size;
	boot.params_len = job->params_len;
	load_devices(vm, job, &boot);
	memcpy(vm->mem + INSTAR_GUEST_BOOT, &boot, sizeof(boot));
	if (job->params_len > 0)
		memcpy(vm->mem + INSTAR_GUEST_BOOT + sizeof(boot), job->params,
		    job->params_len);
	memcpy(vm->mem + INSTAR_GUEST_LOAD, vm->guest_image, vm->guest_len);
	return reset_vcpu(vm, err, errlen);
}

/* Copy a request block out of guest memory, or fail the run. */
static int
fetch_block(struct vmm_ctx *c, uint32_t gpa, void *blk, size_t len)
{
	const char *why;

	if ((why = vmm_check_guest_range(c->vm->mem_size, gpa, len)) != NULL) {
		errbuf_set(c->err, c->errlen,
		    "bad guest request block: %s", why);
		return -1;
	}
	memcpy(blk, c->vm->mem + gpa, len);
	return 0;
}

static void
store_block(struct vmm_ctx *c, uint32_t gpa, const void *blk, size_t len)
{
	memcpy(c->vm->mem + gpa, blk, len);
}

static int
bad_request(struct vmm_ctx *c, const char *what, const char *why)
{
	errbuf_set(c->err, c->errlen, "guest made a bad %s request: %s", what,
	    why);
	return -1;
}

static int
hc_geometry(struct vmm_ctx *c, uint32_t gpa)
{
	struct instar_hc_geometry g;
	const char *why;

	if (fetch_block(c, gpa, &g, sizeof(g)) != 0)
		return -1;
	if ((why = vmm_check_device(&c->policy, g.dev)) != NULL)
		return bad_request(c, "geometry", why);
	g.size = c->policy.devs[g.dev].size;
	g.flags = device_flags(&c->policy.devs[g.dev]);
	g.ret = INSTAR_HC_OK;
	store_block(c, gpa, &g, sizeof(g));
	return 0;
}

/*
 * A write that the file size limit stopped ends the job: the limit is
 * what the job's plan can need (or what the user allows), so the guest
 * asked for more than any image it was given could take.
 */
static int
too_large(struct vmm_ctx *c, const char *what, uint32_t dev)
{
	errbuf_set(c->err, c->errlen, "cannot %s device %u: %s", what, dev,
	    strerror(EFBIG));
	return -1;
}

static int
hc_io(struct vmm_ctx *c, uint32_t gpa, bool write)
{
	struct instar_hc_io io;
	const char *why;
	uint8_t *p;
	int fd;

	if (fetch_block(c, gpa, &io, sizeof(io)) != 0)
		return -1;
	if ((why = vmm_check_io(&c->policy, &io, write)) != NULL)
		return bad_request(c, write ? "write" : "read", why);
	fd = c->policy.devs[io.dev].fd;
	p = c->vm->mem + io.buf;
	io.done = 0;
	io.ret = INSTAR_HC_OK;
	while (io.done < io.len) {
		off_t off = (off_t)(io.offset + io.done);
		size_t want = (size_t)(io.len - io.done);
		ssize_t n = write ? pwrite(fd, p + io.done, want, off) :
		    pread(fd, p + io.done, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EFBIG)
			return too_large(c, "write", io.dev);
		if (n < 0) {
			io.ret = INSTAR_HC_EIO;
			break;
		}
		if (n == 0)
			break;
		io.done += (uint64_t)n;
	}
	/*
	 * Start writing big runs back now, while the guest goes on: the
	 * flush that orders them then has little left to wait for.  Only a
	 * hint; a failure here is caught by that flush.
	 */
	if (write && io.ret == INSTAR_HC_OK && io.done >= VMM_WRITEBACK_MIN)
		(void)sync_file_range(fd, (off_t)io.offset, (off_t)io.done,
		    SYNC_FILE_RANGE_WRITE);
	store_block(c, gpa, &io, sizeof(io));
	if (write)
		rate_limit(c, io.done);
	return 0;
}

/*
 * Hold the job to its rate limit: after len more bytes written, sleep
 * until the bytes so far are no more than the limit allows by now.
 */
static void
rate_limit(struct vmm_ctx *c, uint64_t len)
{
	struct timespec now, ts;
	uint64_t elapsed_ns, due_ns;

	c->written += len;
	if (c->job->rate_limit == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed_ns = (uint64_t)(now.tv_sec - c->start.tv_sec) * 1000000000ull +
	    (uint64_t)now.tv_nsec - (uint64_t)c->start.tv_nsec;
	due_ns = c->written / c->job->rate_limit * 1000000000ull +
	    c->written % c->job->rate_limit * 1000000000ull /
	    c->job->rate_limit;
	if (due_ns <= elapsed_ns)
		return;
	ts.tv_sec = (time_t)((due_ns - elapsed_ns) / 1000000000ull);
	ts.tv_nsec = (long)((due_ns - elapsed_ns) % 1000000000ull);
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR &&
	    !watchdog_fired)
		;
}

/* Copy through the vmm's buffer, zeros past the source's end. */
static int
copy_bounce(struct vmm *vm, int src, int dst, uint64_t soff, uint64_t doff,
    uint64_t len)
{
	if (vm->bounce == NULL &&
	    (vm->bounce = malloc(VMM_BOUNCE_LEN)) == NULL)
		return -1;
	while (len > 0) {
		size_t want = len < VMM_BOUNCE_LEN ? (size_t)len :
		    VMM_BOUNCE_LEN;
		size_t got = 0;
		ssize_t n;

		while (got < want) {
			n = pread(src, vm->bounce + got, want - got,
			    (off_t)(soff + got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
			if (n == 0)
				break;
			got += (size_t)n;
		}
		memset(vm->bounce + got, 0, want - got);
		for (got = 0; got < want; got += (size_t)n) {
			n = pwrite(dst, vm->bounce + got, want - got,
			    (off_t)(doff + got));
			if (n < 0 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n == 0)
				errno = EIO;
			if (n <= 0)
				return -1;
		}
		soff += want;
		doff += want;
		len -= want;
	}
	return 0;
}

/*
 * copy_file_range in pieces, each one's writeback started as soon as it
 * is copied, so the flush that follows the copy waits for little.
 */
static int
copy_range(struct vmm *vm, int src, int dst, uint64_t soff, uint64_t doff,
    uint64_t len)
{
	while (len > 0) {
		off_t so = (off_t)soff, d = (off_t)doff;
		size_t want = len < VMM_COPY_PIECE ? (size_t)len :
		    VMM_COPY_PIECE;
		ssize_t n = copy_file_range(src, &so, dst, &d, want, 0);

		if (n < 0 && errno == EINTR)
			continue;
		/* Not between these files, or past the source's end. */
		if (n <= 0)
			return copy_bounce(vm, src, dst, soff, doff, len);
		if ((uint64_t)n >= VMM_WRITEBACK_MIN)
			(void)sync_file_range(dst, (off_t)doff, (off_t)n,
			    SYNC_FILE_RANGE_WRITE);
		soff += (uint64_t)n;
		doff += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int
hc_copy(struct vmm_ctx *c, uint32_t gpa)
{
	struct instar_hc_copy cp;
	const char *why;
	int dst;

	if (fetch_block(c, gpa, &cp, sizeof(cp)) != 0)
		return -1;
	if ((why = vmm_check_copy(&c->policy, &cp)) != NULL)
		return bad_request(c, "copy", why);
	dst = c->policy.devs[cp.dst_dev].fd;
	cp.ret = INSTAR_HC_OK;
	if (copy_range(c->vm, c->policy.devs[cp.src_dev].fd, dst,
	    cp.src_off, cp.dst_off, cp.len) != 0) {
		if (errno == EFBIG)
			return too_large(c, "copy to", cp.dst_dev);
		cp.ret = INSTAR_HC_EIO;
	}
	store_block(c, gpa, &cp, sizeof(cp));
	rate_limit(c, cp.len);
	return 0;
}

static int
hc_truncate(struct vmm_ctx *c, uint32_t gpa)
{
	struct instar_hc_truncate t;
	const char *why;

	if (fetch_block(c, gpa, &t, sizeof(t)) != 0)
		return -1;
	if ((why = vmm_check_truncate(&c->policy, &t)) != NULL)
		return bad_request(c, "truncate", why);
	t.ret = INSTAR_HC_OK;
	if (ftruncate(c->policy.devs[t.dev].fd, (off_t)t.size) != 0) {
		if (errno == EFBIG)
			return too_large(c, "resize", t.dev);
		t.ret = INSTAR_HC_EIO;
	}
	store_block(c, gpa, &t, sizeof(t));
	return 0;
}

static int
hc_flush(struct vmm_ctx *c, uint32_t gpa)
{
	struct instar_hc_flush f;
	const char *why;

	if (fetch_block(c, gpa, &f, sizeof(f)) != 0)
		return -1;
	if ((why = vmm_check_device(&c->policy, f.dev)) != NULL)
		return bad_request(c, "flush", why);
	if (!c->policy.devs[f.dev].writable)
		return bad_request(c, "flush", "device is read-only");
	f.ret = fdatasync(c->policy.devs[f.dev].fd) == 0 ? INSTAR_HC_OK :
	    INSTAR_HC_EIO;
	store_block(c, gpa, &f, sizeof(f));
	return 0;
}

/* Guest text reaches a terminal: show only printable ASCII. */
static void
print_guest_text(const uint8_t *p, size_t len)
{
	char line[INSTAR_HC_LOG_MAX + 1];
	size_t i;

	for (i = 0; i < len; i++)
		line[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	line[len] = '\0';
	fprintf(stderr, "instar-worker: guest: %s\n", line);
}

static int
hc_log(struct vmm_ctx *c, uint32_t gpa)
{
	struct instar_hc_log log;
	const char *why;

	if (fetch_block(c, gpa, &log, sizeof(log)) != 0)
		return -1;
	if ((why = vmm_check_text(&c->policy, &log)) != NULL)
		return bad_request(c, "log", why);
	if (c->job->verbose)
		print_guest_text(c->vm->mem + log.buf, (size_t)log.len);
	return 0;
}

static int
hc_result(struct vmm_ctx *c, uint32_t gpa)
{
	struct instar_hc_result res;
	const char *why;

	if (fetch_block(c, gpa, &res, sizeof(res)) != 0)
		return -1;
	if (c->have_result)
		return bad_request(c, "result", "result delivered twice");
	if ((why = vmm_check_result(&c->policy, &res, c->job->result_min,
	    c->job->result_len)) != NULL)
		return bad_request(c, "result", why);
	memcpy(c->job->result, c->vm->mem + res.buf, (size_t)res.len);
	/* Nothing of an earlier run may pass for part of this result. */
	memset((uint8_t *)c->job->result + res.len, 0,
	    c->job->result_len - (size_t)res.len);
	if (c->job->result_got != NULL)
		*c->job->result_got = (size_t)res.len;
	c->have_result = true;
	res.ret = INSTAR_HC_OK;
	store_block(c, gpa, &res, sizeof(res));
	if (res.flags & INSTAR_RESULT_EXIT) {
		c->exited = true;
		c->exit_status = 0;
	}
	return 0;
}

static int
hc_exit(struct vmm_ctx *c, uint32_t gpa)
{
	struct instar_hc_exit ex;

	if (fetch_block(c, gpa, &ex, sizeof(ex)) != 0)
		return -1;
	c->exited = true;
	c->exit_status = ex.status;
	return 0;
}

static const char *
vector_name(uint64_t vector)
{
	static const char *const names[] = {
		"divide error", "debug", "NMI", "breakpoint", "overflow",
		"bound range", "invalid opcode", "device not available",
		"double fault", "coprocessor overrun", "invalid TSS",
		"segment not present", "stack fault", "general protection",
		"page fault",
	};

	if (vector < sizeof(names) / sizeof(names[0]))
		return names[vector];
	return "exception";
}

static int
hc_fault(struct vmm_ctx *c, uint32_t gpa)
{
	struct instar_hc_fault f;

	if (fetch_block(c, gpa, &f, sizeof(f)) != 0)
		return -1;
	errbuf_set(c->err, c->errlen,
	    "guest fault: %s (vector %llu, error 0x%llx) at rip 0x%llx, "
	    "address 0x%llx", vector_name(f.vector),
	    (unsigned long long)f.vector, (unsigned long long)f.error_code,
	    (unsigned long long)f.rip, (unsigned long long)f.cr2);
	return -1;
}

/*
 * KVM's words on an exit it could not handle: the suberror, and the data
 * it adds (for an exit during event delivery: the event, the exit reason
 * and its details), which say where a guest broke a host's KVM.
 */
static void
internal_error(struct vmm_ctx *c, const struct kvm_run *run)
{
	char data[160];
	size_t used = 0;
	uint32_t i, n = run->internal.ndata;

	data[0] = '\0';
	if (n > 6)
		n = 6;
	for (i = 0; i < n && used < sizeof(data); i++) {
		int k = snprintf(data + used, sizeof(data) - used, " 0x%llx",
		    (unsigned long long)run->internal.data[i]);

		if (k < 0)
			break;
		used += (size_t)k;
	}
	errbuf_set(c->err, c->errlen, "KVM internal error (suberror %u%s%s)",
	    run->internal.suberror, n > 0 ? ", data" : "", data);
}

static int watchdog_arm(struct vmm *, uint32_t);

static int
hc_progress(struct vmm_ctx *c, uint32_t gpa)
{
	struct instar_hc_progress p;

	if (fetch_block(c, gpa, &p, sizeof(p)) != 0)
		return -1;
	if (p.done > p.total)
		return bad_request(c, "progress", "done exceeds total");
	if (watchdog_arm(c->vm, c->job->timeout_ms) != 0) {
		errbuf_set(c->err, c->errlen, "watchdog: %s", strerror(errno));
		return -1;
	}
	if (c->job->progress != NULL)
		c->job->progress(c->job->progress_arg, p.done, p.total);
	return 0;
}

/*
 * The crash-injection tests' stop: after the N-th write request the
 * process ends on the spot, leaving the images as a crash would.  Only
 * the test worker (instar-worker-test) has it: see test_hooks_refused().
 */
#ifndef INSTAR_TEST_HOOKS
static void
test_crash_point(struct vmm_ctx *c, uint32_t nr)
{
	(void)c;
	(void)nr;
}
#else
static void
test_crash_point(struct vmm_ctx *c, uint32_t nr)
{
	if (c->job->stop_after_writes == 0 || (nr != INSTAR_HC_WRITE &&
	    nr != INSTAR_HC_COPY && nr != INSTAR_HC_TRUNCATE))
		return;
	/* The system call itself: the sanitizers' _exit would do more. */
	if (++c->write_requests >= c->job->stop_after_writes)
		syscall(SYS_exit_group, VMM_TEST_STOP_STATUS);
}
#endif

/*
 * An installed worker refuses a job that asks for the test stop rather
 * than ignore it: whatever sent it (a test run against the wrong
 * worker, a confused monitor) learns so before anything is written.
 */
static bool
test_hooks_refused(const struct vmm_job *job, char *err, size_t errlen)
{
#ifndef INSTAR_TEST_HOOKS
	if (job->stop_after_writes != 0) {
		errbuf_set(err, errlen, "this worker has no test hooks "
		    "(the crash-injection stop needs instar-worker-test)");
		return true;
	}
#else
	(void)job;
	(void)err;
	(void)errlen;
#endif
	return false;
}

static int
dispatch(struct vmm_ctx *c, uint32_t nr, uint32_t gpa)
{
	switch (nr) {
	case INSTAR_HC_GEOMETRY:
		return hc_geometry(c, gpa);
	case INSTAR_HC_READ:
		return hc_io(c, gpa, false);
	case INSTAR_HC_WRITE:
		return hc_io(c, gpa, true);
	case INSTAR_HC_FLUSH:
		return hc_flush(c, gpa);
	case INSTAR_HC_LOG:
		return hc_log(c, gpa);
	case INSTAR_HC_RESULT:
		return hc_result(c, gpa);
	case INSTAR_HC_EXIT:
		return hc_exit(c, gpa);
	case INSTAR_HC_FAULT:
		return hc_fault(c, gpa);
	case INSTAR_HC_PROGRESS:
		return hc_progress(c, gpa);
	case INSTAR_HC_COPY:
		return hc_copy(c, gpa);
	case INSTAR_HC_TRUNCATE:
		return hc_truncate(c, gpa);
	default:
		errbuf_set(c->err, c->errlen,
		    "guest made unknown request %u", nr);
		return -1;
	}
}

static int
handle_hypercall(struct vmm_ctx *c, uint32_t nr, uint32_t gpa)
{
	int r = dispatch(c, nr, gpa);

	if (r == 0)
		test_crash_point(c, nr);
	return r;
}

static int
handle_mmio_exit(struct vmm_ctx *c)
{
	struct kvm_run *run = c->vm->run;
	const char *why;
	uint32_t nr, gpa;

	why = vmm_check_doorbell(run->mmio.phys_addr, run->mmio.len,
	    run->mmio.is_write != 0, &nr);
	if (why != NULL) {
		errbuf_set(c->err, c->errlen,
		    "guest made a bad memory access at "
		    "0x%llx: %s", (unsigned long long)run->mmio.phys_addr, why);
		return -1;
	}
	memcpy(&gpa, run->mmio.data, sizeof(gpa));
	return handle_hypercall(c, nr, gpa);
}

static int
handle_exit(struct vmm_ctx *c)
{
	struct kvm_run *run = c->vm->run;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		return handle_mmio_exit(c);
	case KVM_EXIT_IO:
		errbuf_set(c->err, c->errlen,
		    "guest made an unexpected port access "
		    "(port 0x%x)", run->io.port);
		return -1;
	case KVM_EXIT_HLT:
		errbuf_set(c->err, c->errlen, "guest halted without finishing");
		return -1;
	case KVM_EXIT_SHUTDOWN:
		errbuf_set(c->err, c->errlen, "guest triple-faulted");
		return -1;
	case KVM_EXIT_FAIL_ENTRY:
		errbuf_set(c->err, c->errlen, "KVM could not enter the guest "
		    "(reason 0x%llx)", (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason);
		return -1;
	case KVM_EXIT_INTERNAL_ERROR:
		internal_error(c, run);
		return -1;
	default:
		errbuf_set(c->err, c->errlen, "unexpected KVM exit %u",
		    run->exit_reason);
		return -1;
	}
}

/* Installed once at open, so the sandbox need not allow sigaction. */
static int
watchdog_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return EINTR when it fires. */
	return sigaction(SIGALRM, &sa, NULL);
}

static int
watchdog_arm(struct vmm *vm, uint32_t timeout_ms)
{
	struct itimerval it;

	watchdog_fired = 0;
	watchdog_run = vm->run;
	vm->run->immediate_exit = 0;
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = timeout_ms / 1000;
	it.it_value.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	return setitimer(ITIMER_REAL, &it, NULL);
}

static void
watchdog_disarm(struct vmm *vm)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	watchdog_run = NULL;
	vm->run->immediate_exit = 0;
}

static int
run_loop(struct vmm_ctx *c)
{
	while (!c->exited) {
		if (ioctl(c->vm->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR && watchdog_fired) {
				errbuf_set(c->err, c->errlen,
				    "guest ran longer "
				    "than %u ms and was stopped",
				    c->job->timeout_ms);
				return -1;
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			errbuf_set(c->err, c->errlen, "KVM_RUN: %s",
			    strerror(errno));
			return -1;
		}
		if (handle_exit(c) != 0)
			return -1;
	}
	return 0;
}

int
vmm_run(struct vmm *vm, const struct vmm_job *job, char *err,
    size_t errlen)
{
	struct vmm_ctx c;
	int ret;

	if (job->ndevs > INSTAR_MAX_DEVICES || job->timeout_ms == 0 ||
	    job->result_len > INSTAR_HC_RESULT_MAX ||
	    job->result_min > job->result_len ||
	    job->params_len > INSTAR_BOOT_PARAMS_MAX ||
	    (job->params_len > 0 && job->params == NULL)) {
		errbuf_set(err, errlen, "invalid job");
		return -1;
	}
	if (test_hooks_refused(job, err, errlen))
		return -1;
	if (job->result_got != NULL)
		*job->result_got = 0;
	memset(&c, 0, sizeof(c));
	c.vm = vm;
	c.job = job;
	c.policy.mem_size = vm->mem_size;
	c.policy.devs = job->devs;
	c.policy.ndevs = job->ndevs;
	c.err = err;
	c.errlen = errlen;
	clock_gettime(CLOCK_MONOTONIC, &c.start);
	if (reset_machine(vm, job, err, errlen) != 0)
		return -1;
	if (watchdog_arm(vm, job->timeout_ms) != 0) {
		errbuf_set(err, errlen, "watchdog: %s", strerror(errno));
		return -1;
	}
	ret = run_loop(&c);
	watchdog_disarm(vm);
	if (ret != 0)
		return -1;
	if (c.exit_status != 0 || !c.have_result) {
		errbuf_set(err, errlen, "guest exited with status %d%s",
		    c.exit_status, c.have_result ? "" : " and no result");
		return -1;
	}
	return 0;
}
