/*
 * A guest that misbehaves on purpose, one way per job number, for
 * tests/test_vmm_guest.c.  It links with the real guest runtime, so the
 * vmm sees exactly the machine the real guest sets up; only the job
 * differs.  Freestanding, like the real guest.
 */
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "hostile_guest.h"
#include "image_info.h"
#include "runtime.h"

static struct instar_info_result result;
static uint8_t buf[4096];
static uint8_t direct[4096];

static int
deliver(void)
{
	return guest_result(&result, sizeof(result));
}

static void
read_request(uint32_t dev, uint64_t off, uint64_t gpa, uint64_t len)
{
	struct instar_hc_io io;

	memset(&io, 0, sizeof(io));
	io.dev = dev;
	io.offset = off;
	io.buf = gpa;
	io.len = len;
	hypercall(INSTAR_HC_READ, &io);
}

static void
write_request(uint32_t dev)
{
	struct instar_hc_io io;

	memset(&io, 0, sizeof(io));
	io.dev = dev;
	io.buf = (uint64_t)(uintptr_t)buf;
	io.len = sizeof(buf);
	hypercall(INSTAR_HC_WRITE, &io);
}

/* Recurse until the stack runs into the unmapped pages below it. */
static int
recurse(volatile const int *limit, int depth)
{
	volatile uint8_t pad[4096];

	pad[0] = (uint8_t)depth;
	if (depth == *limit)
		return pad[0];
	return recurse(limit, depth + 1) + pad[0];
}

/* Leave a mark in the heap, or check that the last run's mark is gone. */
static int
heap_mark(bool check)
{
	volatile uint64_t *p = guest_alloc(4096, 4096);

	if (p == NULL)
		return -1;
	if (check)
		result.status = *p == 0 ? 0 : 1;
	else
		*p = 0x5a5a5a5a5a5a5a5aull;
	return deliver();
}

/*
 * What the runtime serves from the device's head (or past its end) must
 * be what the vmm reads for the same range.
 */
static bool
head_read_matches(uint64_t off, size_t len)
{
	struct instar_hc_geometry g;

	memset(buf, 0xaa, sizeof(buf));
	memset(direct, 0x55, sizeof(direct));
	if (dev_read(0, off, buf, len) != 0)
		return false;
	memset(&g, 0, sizeof(g));
	hypercall(INSTAR_HC_GEOMETRY, &g);
	read_request(0, off, (uint64_t)(uintptr_t)direct, len);
	/* The vmm reads short at the end; the runtime zero-fills. */
	if (off < g.size && len > g.size - off)
		memset(direct + (g.size - off), 0, len - (g.size - off));
	else if (off >= g.size)
		memset(direct, 0, len);
	return memcmp(buf, direct, len) == 0;
}

static int
heads(void)
{
	struct instar_hc_geometry g;
	uint64_t size;
	uint32_t flags;
	bool ok;

	memset(&g, 0, sizeof(g));
	hypercall(INSTAR_HC_GEOMETRY, &g);
	ok = dev_geometry(0, &size, &flags) == 0 && size == g.size &&
	    flags == g.flags;
	ok = ok && head_read_matches(0, 512) &&
	    head_read_matches(100, 1000) &&
	    head_read_matches(INSTAR_HEAD_LEN - 1000, 2000) &&
	    head_read_matches(g.size - 10, 100) &&
	    head_read_matches(g.size + 4096, 4096);
	result.status = ok ? 0 : 1;
	return deliver();
}

static int
guest_run(const struct instar_boot *boot)
{
	volatile uint64_t *null = NULL;

	switch (boot->op) {
	case HOSTILE_OK:
		return deliver();
	case HOSTILE_NULL_DEREF:
		return (int)*null;
	case HOSTILE_BUF_OUTSIDE:
		read_request(0, 0, INSTAR_GUEST_MEM_SIZE - 16, 4096);
		return deliver();
	case HOSTILE_BUF_VMM_PAGES:
		read_request(0, 0, INSTAR_GUEST_PML4, 512);
		return deliver();
	case HOSTILE_NO_DEVICE:
		read_request(7, 0, (uint64_t)(uintptr_t)buf, 512);
		return deliver();
	case HOSTILE_OVER_CAP:
		read_request(0, 0, 0x200000, INSTAR_HC_IO_MAX + 4096ull);
		return deliver();
	case HOSTILE_WRITE_READONLY:
		write_request(0);
		return deliver();
	case HOSTILE_SPIN:
		for (;;)
			__asm__ volatile("" : : : "memory");
	case HOSTILE_BAD_DOORBELL:
		/* Mid-slot: a doorbell is rung only at a slot's start. */
		*(volatile uint32_t *)(uintptr_t)
		    (INSTAR_GUEST_DOORBELL + 4) = 0;
		return deliver();
	case HOSTILE_UNKNOWN_REQUEST:
		hypercall(INSTAR_HC_COUNT, buf);
		return deliver();
	case HOSTILE_RESULT_TWICE:
		deliver();
		return deliver();
	case HOSTILE_RESULT_SIZE:
		/* Shorter than the fixed record every result starts with. */
		return guest_result(&result, INSTAR_INFO_RESULT_MIN - 8);
	case HOSTILE_NO_RESULT:
		return 0;
	case HOSTILE_INVALID_OPCODE:
		__asm__ volatile("ud2");
		return deliver();
	case HOSTILE_STACK_OVERFLOW: {
		volatile int never = -1;

		return recurse(&never, 0);
	}
	case HOSTILE_HEAP_MARK:
		return heap_mark(false);
	case HOSTILE_HEAP_CHECK:
		return heap_mark(true);
	case HOSTILE_READ_EOF:
		/* Past the end of the device: a short read, zero-filled. */
		memset(buf, 0xff, sizeof(buf));
		if (dev_read(0, 1ull << 40, buf, sizeof(buf)) != 0)
			return -1;
		result.status = buf[0] == 0 && buf[4095] == 0 ? 0 : 1;
		return deliver();
	case HOSTILE_HEADS:
		return heads();
	case HOSTILE_RESULT_AT_EXIT:
		return guest_result_at_exit(&result, sizeof(result));
	case HOSTILE_RESULT_FLAGS: {
		struct instar_hc_result res;

		memset(&res, 0, sizeof(res));
		res.buf = (uint64_t)(uintptr_t)&result;
		res.len = sizeof(result);
		res.flags = 0x2;
		hypercall(INSTAR_HC_RESULT, &res);
		return 0;
	}
	default:
		return -1;
	}
}

void
guest_main(void)
{
	guest_exit(guest_run(runtime_init()) == 0 ? 0 : 1);
}
