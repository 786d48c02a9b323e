/*
 * Guest runtime: machine set-up after the vmm's entry, exception
 * reporting, heap and device wrappers.  The guest trusts nothing it reads
 * from a device, and the vmm trusts nothing the guest asks for.
 *
 * The set-up runs in kernel mode; the job then runs in user mode.  That is
 * not a protection boundary (the vmm validates everything either way) but
 * a matter of speed: the paravirtual nested KVM of some hosts (PVM) runs
 * a guest's user-mode code natively and its kernel-mode code one
 * instruction at a time, about a thousand times slower.  So the kernel
 * part is kept to a few hundred instructions, and exceptions (the only
 * way back into it) end the job.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "runtime.h"

void guest_main(void);
void guest_exception(const uint64_t *frame);

extern const uint64_t isr_table[32];
extern char _end[];

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

#define GDT_CODE_SELECTOR	0x08
#define GDT_USER_DATA_SELECTOR	(0x18 | 3)
#define GDT_USER_CODE_SELECTOR	(0x20 | 3)
#define GDT_TSS_SELECTOR	0x28
#define IDT_INTERRUPT_GATE	0x8e
#define RFLAGS_RESERVED		0x2

/* 64-bit TSS: only rsp0 matters, the stack exceptions from user mode use. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp0;
	uint64_t rsp1;
	uint64_t rsp2;
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static struct idt_gate idt[32] __attribute__((aligned(16)));
static uint64_t gdt[7] __attribute__((aligned(16)));
static struct tss tss __attribute__((aligned(16)));
static uint8_t kernel_stack[16384] __attribute__((aligned(16)));
static uintptr_t heap_next;
static uintptr_t heap_end;

static void
idt_install(void)
{
	struct idt_ptr ptr;
	size_t i;

	for (i = 0; i < 32; i++) {
		uint64_t handler = isr_table[i];

		idt[i].offset_low = (uint16_t)handler;
		idt[i].selector = GDT_CODE_SELECTOR;
		idt[i].ist = 0;
		idt[i].type_attr = IDT_INTERRUPT_GATE;
		idt[i].offset_mid = (uint16_t)(handler >> 16);
		idt[i].offset_high = (uint32_t)(handler >> 32);
		idt[i].reserved = 0;
	}
	ptr.limit = sizeof(idt) - 1;
	ptr.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

/*
 * Kernel and user segments, and the TSS whose rsp0 gives exceptions from
 * user mode a stack of their own.
 */
static void
gdt_install(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss;
	struct idt_ptr ptr;

	tss.rsp0 = (uint64_t)(uintptr_t)(kernel_stack + sizeof(kernel_stack));
	tss.iomap_base = sizeof(tss);
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull;		/* kernel code, 64-bit */
	gdt[2] = 0x00cf92000000ffffull;		/* kernel data */
	gdt[3] = 0x00cff2000000ffffull;		/* user data */
	gdt[4] = 0x00affa000000ffffull;		/* user code, 64-bit */
	gdt[5] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 |
	    0x89ull << 40 | ((base >> 24) & 0xff) << 56;
	gdt[6] = base >> 32;
	ptr.limit = sizeof(gdt) - 1;
	ptr.base = (uint64_t)(uintptr_t)gdt;
	__asm__ volatile("lgdt %0" : : "m"(ptr));
	__asm__ volatile("ltr %w0" : : "r"((uint16_t)GDT_TSS_SELECTOR));
}

/* Drop to user mode at entry, on the stack that ends at stack_top. */
__attribute__((noreturn)) static void
enter_user_mode(void (*entry)(void), uint64_t stack_top)
{
	__asm__ volatile(
	    "pushq %0\n\t"
	    "pushq %1\n\t"
	    "pushq %2\n\t"
	    "pushq %3\n\t"
	    "pushq %4\n\t"
	    "iretq"
	    : : "i"(GDT_USER_DATA_SELECTOR), "r"(stack_top),
	    "i"(RFLAGS_RESERVED), "i"(GDT_USER_CODE_SELECTOR),
	    "r"((uint64_t)(uintptr_t)entry)
	    : "memory");
	__builtin_unreachable();
}

void
guest_exception(const uint64_t *frame)
{
	struct instar_hc_fault fault;
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	fault.vector = frame[0];
	fault.error_code = frame[1];
	fault.rip = frame[2];
	fault.cr2 = cr2;
	hypercall(INSTAR_HC_FAULT, &fault);
	for (;;)
		__asm__ volatile("hlt");
}

void
guest_exit(int status)
{
	struct instar_hc_exit req;

	memset(&req, 0, sizeof(req));
	req.status = status;
	hypercall(INSTAR_HC_EXIT, &req);
	for (;;)
		__asm__ volatile("hlt");
}

void
guest_log(const char *fmt, ...)
{
	struct instar_hc_log req;
	char line[INSTAR_HC_LOG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	req.buf = (uint64_t)(uintptr_t)line;
	req.len = strnlen(line, sizeof(line));
	hypercall(INSTAR_HC_LOG, &req);
}

void *
guest_alloc(size_t size, size_t align)
{
	uintptr_t p;

	if (align == 0 || (align & (align - 1)) != 0)
		return NULL;
	p = (heap_next + align - 1) & ~(uintptr_t)(align - 1);
	if (p < heap_next || p > heap_end || size > heap_end - p)
		return NULL;
	heap_next = p + size;
	return (void *)p;
}

int
dev_geometry(uint32_t dev, uint64_t *size, uint32_t *flags)
{
	struct instar_hc_geometry req;

	memset(&req, 0, sizeof(req));
	req.dev = dev;
	hypercall(INSTAR_HC_GEOMETRY, &req);
	if (req.ret != INSTAR_HC_OK)
		return req.ret;
	*size = req.size;
	*flags = req.flags;
	return 0;
}

/*
 * Read exactly len bytes, split into runs the vmm accepts; bytes past the
 * end of the device read as zeros, as the format code expects.
 */
int
dev_read(uint32_t dev, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		struct instar_hc_io req;
		size_t chunk = len < INSTAR_HC_IO_MAX ? len : INSTAR_HC_IO_MAX;

		memset(&req, 0, sizeof(req));
		req.dev = dev;
		req.offset = off;
		req.buf = (uint64_t)(uintptr_t)p;
		req.len = chunk;
		hypercall(INSTAR_HC_READ, &req);
		if (req.ret != INSTAR_HC_OK)
			return req.ret;
		if (req.done > chunk)
			return INSTAR_HC_EIO;
		if (req.done < chunk)
			memset(p + req.done, 0, chunk - req.done);
		p += chunk;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

int
guest_result(const void *buf, size_t len)
{
	struct instar_hc_result req;

	memset(&req, 0, sizeof(req));
	req.buf = (uint64_t)(uintptr_t)buf;
	req.len = len;
	hypercall(INSTAR_HC_RESULT, &req);
	return req.ret;
}

static struct instar_boot boot_copy;
static const struct instar_boot *boot_block;

/* User mode from here on: the job, then the exit request. */
static void
user_main(void)
{
	guest_exit(guest_run(boot_block) == 0 ? 0 : 1);
}

void
guest_main(void)
{
	const struct instar_boot *boot =
	    (const struct instar_boot *)(uintptr_t)INSTAR_GUEST_BOOT;

	idt_install();
	gdt_install();
	if (boot->magic != INSTAR_BOOT_MAGIC ||
	    boot->mem_size > INSTAR_GUEST_MEM_SIZE ||
	    boot->mem_size < (uint64_t)(uintptr_t)_end)
		guest_exit(2);
	/* The boot block is the vmm's page; the job gets its own copy. */
	boot_copy = *boot;
	boot_block = &boot_copy;
	heap_next = (uintptr_t)_end;
	heap_end = (uintptr_t)boot->mem_size;
	enter_user_mode(user_main, INSTAR_GUEST_STACK_TOP);
}
