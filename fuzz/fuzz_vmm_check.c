/*
 * libFuzzer harness over the vmm's validation of guest requests: a
 * hostile guest chooses every field of a request, and the input also
 * chooses the devices the vmm attached.  Whatever the validator
 * accepts must be safe to carry out: inside guest memory above the
 * vmm's pages, on a device that exists, within the caps, written only
 * to a writable device below its write limit, and without overflow.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDEVS_MAX	4
#define MEM		INSTAR_GUEST_MEM_SIZE

/* The input, consumed from the front; zeros once it runs out. */
struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t
take(struct input *in, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		v <<= 8;
		if (in->left > 0) {
			v |= *in->p++;
			in->left--;
		}
	}
	return v;
}

/*
 * A number that is often near a bound: libFuzzer finds edges faster
 * when a byte picks among them than when it must guess 64 bits.
 */
static uint64_t
take_num(struct input *in)
{
	static const uint64_t edges[] = {
		0, 1, 511, 512, INSTAR_GUEST_STACK_LOW - 1,
		INSTAR_GUEST_STACK_LOW, MEM - 1, MEM, MEM + 1,
		INSTAR_HC_IO_MAX, INSTAR_HC_IO_MAX + 1ull, INSTAR_HC_COPY_MAX,
		INSTAR_HC_LOG_MAX, INSTAR_HC_RESULT_MAX, VMM_OFFSET_MAX,
		VMM_OFFSET_MAX + 1, UINT64_MAX,
	};
	uint8_t how = (uint8_t)take(in, 1);
	uint64_t v = take(in, 8);
	size_t ne = sizeof(edges) / sizeof(edges[0]);

	switch (how % 4) {
	case 0:
		return v;
	case 1:
		return edges[v % ne];
	case 2:
		return edges[v % ne] - (v >> 56);
	default:
		return edges[v % ne] + (v >> 56);
	}
}

static void
must(bool cond)
{
	if (!cond)
		abort();
}

/* An accepted guest buffer lies in guest memory, above the vmm's pages
 * when it is I/O, and does not wrap. */
static void
buffer_ok(uint64_t gpa, uint64_t len, bool io)
{
	must(gpa <= MEM && len <= MEM - gpa);
	if (io)
		must(gpa >= INSTAR_GUEST_STACK_LOW);
}

static void
write_ok(const struct vmm_policy *pol, uint32_t dev, uint64_t off,
    uint64_t len)
{
	const struct vmm_device *d = &pol->devs[dev];

	must(d->writable);
	must(off <= VMM_OFFSET_MAX && len <= VMM_OFFSET_MAX - off);
	must(off + len <= d->write_limit);
}

static void
fuzz_io(struct input *in, const struct vmm_policy *pol, bool write)
{
	struct instar_hc_io io;

	memset(&io, 0, sizeof(io));
	io.dev = (uint32_t)take(in, 4);
	io.offset = take_num(in);
	io.buf = take_num(in);
	io.len = take_num(in);
	if (vmm_check_io(pol, &io, write) != NULL)
		return;
	must(io.dev < pol->ndevs);
	must(io.len > 0 && io.len <= INSTAR_HC_IO_MAX);
	must(io.offset <= VMM_OFFSET_MAX &&
	    io.len <= VMM_OFFSET_MAX - io.offset);
	buffer_ok(io.buf, io.len, true);
	if (write)
		write_ok(pol, io.dev, io.offset, io.len);
}

static void
fuzz_copy(struct input *in, const struct vmm_policy *pol)
{
	struct instar_hc_copy cp;

	memset(&cp, 0, sizeof(cp));
	cp.src_dev = (uint32_t)take(in, 4);
	cp.dst_dev = (uint32_t)take(in, 4);
	cp.src_off = take_num(in);
	cp.dst_off = take_num(in);
	cp.len = take_num(in);
	if (vmm_check_copy(pol, &cp) != NULL)
		return;
	must(cp.src_dev < pol->ndevs && cp.dst_dev < pol->ndevs);
	must(cp.src_dev != cp.dst_dev);
	must(cp.len > 0 && cp.len <= INSTAR_HC_COPY_MAX);
	must(cp.src_off <= VMM_OFFSET_MAX &&
	    cp.len <= VMM_OFFSET_MAX - cp.src_off);
	write_ok(pol, cp.dst_dev, cp.dst_off, cp.len);
}

static void
fuzz_truncate(struct input *in, const struct vmm_policy *pol)
{
	struct instar_hc_truncate t;

	memset(&t, 0, sizeof(t));
	t.dev = (uint32_t)take(in, 4);
	t.size = take_num(in);
	if (vmm_check_truncate(pol, &t) != NULL)
		return;
	must(t.dev < pol->ndevs);
	must(pol->devs[t.dev].writable);
	must(t.size <= VMM_OFFSET_MAX &&
	    t.size <= pol->devs[t.dev].write_limit);
}

static void
fuzz_text(struct input *in, const struct vmm_policy *pol)
{
	struct instar_hc_log log;

	log.buf = take_num(in);
	log.len = take_num(in);
	if (vmm_check_text(pol, &log) != NULL)
		return;
	must(log.len <= INSTAR_HC_LOG_MAX);
	buffer_ok(log.buf, log.len, false);
}

static void
fuzz_result(struct input *in, const struct vmm_policy *pol)
{
	struct instar_hc_result res;
	uint64_t min_len = take_num(in), max_len = take_num(in);

	memset(&res, 0, sizeof(res));
	res.buf = take_num(in);
	res.len = take_num(in);
	if (vmm_check_result(pol, &res, min_len, max_len) != NULL)
		return;
	must(res.len <= INSTAR_HC_RESULT_MAX);
	must(res.len >= min_len && res.len <= max_len);
	buffer_ok(res.buf, res.len, false);
}

static void
fuzz_doorbell(struct input *in)
{
	uint64_t addr = INSTAR_GUEST_DOORBELL + take_num(in) % 65536 -
	    take(in, 1);
	uint32_t len = (uint32_t)take(in, 1), nr = UINT32_MAX;
	bool is_write = take(in, 1) & 1;

	if (take(in, 1) & 1)
		addr = take_num(in);
	if (vmm_check_doorbell(addr, len, is_write, &nr) != NULL)
		return;
	must(is_write && len == 4);
	must(nr < INSTAR_HC_COUNT);
	must(addr == INSTAR_GUEST_DOORBELL + (uint64_t)nr * INSTAR_HC_SLOT);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_device devs[NDEVS_MAX];
	struct vmm_policy pol;
	struct input in = { data, size };
	uint32_t i;
	uint8_t which;

	memset(devs, 0, sizeof(devs));
	pol.mem_size = MEM;
	pol.devs = devs;
	pol.ndevs = (uint32_t)take(&in, 1) % (NDEVS_MAX + 1);
	for (i = 0; i < pol.ndevs; i++) {
		devs[i].fd = 10 + (int)i;
		devs[i].size = take_num(&in);
		devs[i].writable = take(&in, 1) & 1;
		/* The worker gives read-only devices a write limit of 0;
		 * any limit here, so that the writable rule is held on its
		 * own. */
		devs[i].write_limit = take_num(&in);
	}
	which = (uint8_t)take(&in, 1);
	switch (which % 7) {
	case 0:
		fuzz_io(&in, &pol, false);
		break;
	case 1:
		fuzz_io(&in, &pol, true);
		break;
	case 2:
		fuzz_copy(&in, &pol);
		break;
	case 3:
		fuzz_truncate(&in, &pol);
		break;
	case 4:
		fuzz_text(&in, &pol);
		break;
	case 5:
		fuzz_result(&in, &pol);
		break;
	default:
		fuzz_doorbell(&in);
		break;
	}
	return 0;
}
