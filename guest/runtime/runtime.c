/*
 * Guest runtime: the user-mode entry, exception reporting, heap and
 * device wrappers.  The guest trusts nothing it reads
 * from a device, and the vmm trusts nothing the guest asks for.
 *
 * The job runs in user mode.  That is not a protection boundary (the vmm
 * validates everything either way) but a matter of speed: the paravirtual
 * nested KVM of some hosts (PVM) runs a guest's user-mode code natively
 * and its kernel-mode code one instruction at a time, about a thousand
 * times slower.  So the vmm builds the descriptor tables and enters user
 * mode directly; kernel mode is entered only by an exception, which ends
 * the job.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "runtime.h"

void guest_exception(const uint64_t *frame);

extern char _end[];

static uintptr_t heap_next;
static uintptr_t heap_end;

/* What the vmm told of each device at boot (struct instar_boot_dev). */
static struct instar_boot_dev devs[INSTAR_MAX_DEVICES];
static uint32_t ndevs;
/* Whether a device's head still holds what the device does. */
static bool head_ok[INSTAR_MAX_DEVICES];

/* A result to deliver with the exit request, in one exit. */
static const void *final_buf;
static size_t final_len;

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
	struct instar_hc_result res;

	if (final_buf != NULL) {
		memset(&res, 0, sizeof(res));
		res.buf = (uint64_t)(uintptr_t)final_buf;
		res.len = final_len;
		res.flags = status == 0 ? INSTAR_RESULT_EXIT : 0;
		final_buf = NULL;
		hypercall(INSTAR_HC_RESULT, &res);
	}
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

	if (dev < ndevs) {
		*size = devs[dev].size;
		*flags = devs[dev].flags;
		return 0;
	}
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
 * Serve a read from the device's head if the head holds all of it (a
 * head that holds the whole device also answers for the zeros past its
 * end).  A read that reaches further goes to the vmm whole: copying part
 * of it here would only touch more pages.
 */
static bool
read_from_head(uint32_t dev, uint64_t off, uint8_t *p, size_t len)
{
	const struct instar_boot_dev *d;
	size_t n;

	if (dev >= ndevs || !head_ok[dev])
		return false;
	d = &devs[dev];
	if (d->head_len != d->size && (off > d->head_len ||
	    len > d->head_len - off))
		return false;
	n = off < d->head_len ? (size_t)(d->head_len - off) : 0;
	n = n < len ? n : len;
	memcpy(p, (const uint8_t *)(uintptr_t)(d->head_gpa + off), n);
	memset(p + n, 0, len - n);
	return true;
}

/* A device the job changes no longer reads as its head. */
static void
head_drop(uint32_t dev)
{
	if (dev < ndevs)
		head_ok[dev] = false;
}

/*
 * Read exactly len bytes, split into runs the vmm accepts; bytes past the
 * end of the device read as zeros, as the format code expects.
 */
int
dev_read(uint32_t dev, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (read_from_head(dev, off, p, len))
		return 0;
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

/* Write exactly len bytes, split into runs the vmm accepts. */
int
dev_write(uint32_t dev, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	head_drop(dev);
	while (len > 0) {
		struct instar_hc_io req;
		size_t chunk = len < INSTAR_HC_IO_MAX ? len : INSTAR_HC_IO_MAX;

		memset(&req, 0, sizeof(req));
		req.dev = dev;
		req.offset = off;
		req.buf = (uint64_t)(uintptr_t)p;
		req.len = chunk;
		hypercall(INSTAR_HC_WRITE, &req);
		if (req.ret != INSTAR_HC_OK)
			return req.ret;
		if (req.done != chunk)
			return INSTAR_HC_EIO;
		p += chunk;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/* Copy len bytes host-side, split into runs the vmm accepts. */
int
dev_copy(uint32_t dst, uint64_t off, uint32_t src, uint64_t src_off,
    uint64_t len)
{
	head_drop(dst);
	while (len > 0) {
		struct instar_hc_copy req;
		uint64_t chunk = len < INSTAR_HC_COPY_MAX ? len :
		    INSTAR_HC_COPY_MAX;

		memset(&req, 0, sizeof(req));
		req.src_dev = src;
		req.dst_dev = dst;
		req.src_off = src_off;
		req.dst_off = off;
		req.len = chunk;
		hypercall(INSTAR_HC_COPY, &req);
		if (req.ret != INSTAR_HC_OK)
			return req.ret;
		off += chunk;
		src_off += chunk;
		len -= chunk;
	}
	return 0;
}

int
dev_truncate(uint32_t dev, uint64_t size)
{
	struct instar_hc_truncate req;

	head_drop(dev);
	memset(&req, 0, sizeof(req));
	req.dev = dev;
	req.size = size;
	hypercall(INSTAR_HC_TRUNCATE, &req);
	return req.ret;
}

int
dev_flush(uint32_t dev)
{
	struct instar_hc_flush req;

	memset(&req, 0, sizeof(req));
	req.dev = dev;
	hypercall(INSTAR_HC_FLUSH, &req);
	return req.ret;
}

void
guest_progress(uint64_t done, uint64_t total)
{
	struct instar_hc_progress req;

	req.done = done;
	req.total = total;
	hypercall(INSTAR_HC_PROGRESS, &req);
}

int
guest_result_at_exit(const void *buf, size_t len)
{
	final_buf = buf;
	final_len = len;
	return 0;
}

/* Everything left of the heap, for a job that lends it to the format code. */
void *
guest_alloc_rest(size_t *size)
{
	*size = heap_end - heap_next;
	return guest_alloc(*size, 1);
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

/*
 * The device table, taken only where it makes sense: a head must lie
 * in the heads area and within its device.
 */
static void
load_devices(const struct instar_boot *boot)
{
	const struct instar_boot_dev *t = (const struct instar_boot_dev *)
	    (uintptr_t)INSTAR_GUEST_DEVTAB;
	uint32_t i;

	ndevs = boot->ndevices < INSTAR_MAX_DEVICES ? boot->ndevices :
	    INSTAR_MAX_DEVICES;
	for (i = 0; i < ndevs; i++) {
		devs[i] = t[i];
		head_ok[i] = devs[i].head_len > 0 &&
		    devs[i].head_len <= devs[i].size &&
		    devs[i].head_gpa >= boot->heads_start &&
		    devs[i].head_gpa <= boot->mem_size &&
		    devs[i].head_len <= boot->mem_size - devs[i].head_gpa;
	}
}

const struct instar_boot *
runtime_init(void)
{
	const struct instar_boot *boot =
	    (const struct instar_boot *)(uintptr_t)INSTAR_GUEST_BOOT;

	if (boot->magic != INSTAR_BOOT_MAGIC ||
	    boot->mem_size > INSTAR_GUEST_MEM_SIZE ||
	    boot->mem_size < (uint64_t)(uintptr_t)_end)
		guest_exit(2);
	heap_next = (uintptr_t)_end;
	heap_end = (uintptr_t)boot->mem_size;
	if (boot->heads_start >= heap_next && boot->heads_start <= heap_end)
		heap_end = (uintptr_t)boot->heads_start;
	load_devices(boot);
	return boot;
}
