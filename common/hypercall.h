/*
 * The guest-vmm request ABI.
 *
 * The guest asks for work by writing a request block into its own memory
 * and storing the block's guest-physical address (32 bits) into a
 * doorbell: an address just past the end of guest memory, one 8-byte slot
 * per request type.  No memory backs it, so the store exits to the vmm
 * (KVM_EXIT_MMIO) with the address naming the request and the data
 * naming the block.  One exit per request, no shared rings, so the vmm
 * can check every request in isolation before it acts on it (the Solo5
 * hvt model, with a store instead of an "out": the guest's code runs in
 * user mode, where port I/O is not allowed).
 *
 * Everything here is read by the vmm from memory the guest controls, so
 * the vmm copies each block out once and validates the copy.
 */
#ifndef INSTAR_HYPERCALL_H
#define INSTAR_HYPERCALL_H

#include <stdint.h>

enum instar_hc {
	INSTAR_HC_GEOMETRY = 0,	/* struct instar_hc_geometry */
	INSTAR_HC_READ,		/* struct instar_hc_io */
	INSTAR_HC_WRITE,	/* struct instar_hc_io */
	INSTAR_HC_FLUSH,	/* struct instar_hc_flush */
	INSTAR_HC_LOG,		/* struct instar_hc_log */
	INSTAR_HC_RESULT,	/* struct instar_hc_result */
	INSTAR_HC_EXIT,		/* struct instar_hc_exit */
	INSTAR_HC_FAULT,	/* struct instar_hc_fault */
	INSTAR_HC_PROGRESS,	/* struct instar_hc_progress */
	INSTAR_HC_COPY,		/* struct instar_hc_copy */
	INSTAR_HC_TRUNCATE,	/* struct instar_hc_truncate */
	INSTAR_HC_COUNT
};

/* Return codes the vmm stores into a request's "ret" field. */
#define INSTAR_HC_OK		0
#define INSTAR_HC_EIO		(-5)
#define INSTAR_HC_EINVAL	(-22)

/* Largest single read or write: big runs, but bounded per exit. */
#define INSTAR_HC_IO_MAX	(16u * 1024 * 1024)
/* Largest host-side copy: no guest memory involved, so larger. */
#define INSTAR_HC_COPY_MAX	(256ull * 1024 * 1024)
/*
 * Longest log line or result a guest may hand over.  A result holds an
 * info record and its snapshot list (struct instar_info_result).
 */
#define INSTAR_HC_LOG_MAX	512u
#define INSTAR_HC_RESULT_MAX	(192u * 1024)
/* Devices a job may attach: an overlay, its old and its new chain. */
#define INSTAR_MAX_DEVICES	64u

#define INSTAR_DEV_WRITABLE	0x1u
/* A dry run's stand-in for a writable device: read-only to the vmm,
 * the guest keeps its writes (guest/format/shadow.h). */
#define INSTAR_DEV_SHADOW	0x2u

struct instar_hc_geometry {
	uint32_t dev;		/* in */
	uint32_t flags;		/* out: INSTAR_DEV_* */
	uint64_t size;		/* out: bytes */
	int32_t ret;		/* out */
	uint32_t pad;
};

struct instar_hc_io {
	uint32_t dev;		/* in */
	uint32_t pad;
	uint64_t offset;	/* in: byte offset on the device */
	uint64_t buf;		/* in: guest-physical address */
	uint64_t len;		/* in: bytes */
	uint64_t done;		/* out: bytes transferred (short at EOF) */
	int32_t ret;		/* out */
	uint32_t pad2;
};

/*
 * Copy len bytes from one device to another host-side, so bulk data
 * need not pass through the guest.  Bytes past the source's end copy as
 * zeros, as reads do.
 */
struct instar_hc_copy {
	uint32_t src_dev;	/* in */
	uint32_t dst_dev;	/* in: writable, not src_dev */
	uint64_t src_off;	/* in */
	uint64_t dst_off;	/* in */
	uint64_t len;		/* in */
	int32_t ret;		/* out */
	uint32_t pad;
};

/* Set a writable device's length. */
struct instar_hc_truncate {
	uint32_t dev;
	int32_t ret;		/* out */
	uint64_t size;
};

struct instar_hc_flush {
	uint32_t dev;
	int32_t ret;
};

struct instar_hc_log {
	uint64_t buf;		/* guest-physical address of text */
	uint64_t len;
};

struct instar_hc_result {
	uint64_t buf;		/* guest-physical address of result */
	uint64_t len;
	int32_t ret;
	uint32_t flags;		/* INSTAR_RESULT_* */
};

/* The result is the job's last word: the run ends with status 0, as if
 * an exit request followed (one exit instead of two). */
#define INSTAR_RESULT_EXIT	0x1u

struct instar_hc_exit {
	int32_t status;		/* 0 success, else failure */
	uint32_t pad;
};

/*
 * How far a long job has come.  It doubles as the guest's heartbeat: the
 * watchdog bounds the time between two reports, not the whole job.
 */
struct instar_hc_progress {
	uint64_t done;
	uint64_t total;
};

struct instar_hc_fault {
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip;
	uint64_t cr2;
};

/*
 * Guest-physical memory map.  The vmm owns everything below
 * INSTAR_GUEST_STACK_LOW (page tables, the boot GDT and the boot block;
 * page 0 is never mapped).  The guest is loaded at INSTAR_GUEST_LOAD, the
 * first 2 MiB boundary, so that all it owns past its stack can be mapped
 * with 2 MiB pages; it finds its job in the boot block, and everything
 * from the end of its image to INSTAR_GUEST_MEM_SIZE is its heap.  The
 * size is fixed: the same for a 1 MiB image and a 16 TiB one, so no image
 * can ask for more host memory.
 */
#define INSTAR_GUEST_MEM_SIZE	(64ull * 1024 * 1024)
#define INSTAR_GUEST_PML4	0x1000ull
#define INSTAR_GUEST_PDPT	0x2000ull
#define INSTAR_GUEST_PD		0x3000ull
#define INSTAR_GUEST_GDT	0x4000ull	/* GDT and TSS */
#define INSTAR_GUEST_BOOT	0x5000ull	/* readable in user mode */
#define INSTAR_GUEST_IDT	0x6000ull
#define INSTAR_GUEST_DEVTAB	0x7000ull	/* readable in user mode */
/* Page tables: the first 2 MiB's, the last 2 MiB's, the doorbell's. */
#define INSTAR_GUEST_PT		0x10000ull
#define INSTAR_GUEST_STACK_LOW	0x40000ull
#define INSTAR_GUEST_STACK_TOP	0x200000ull
#define INSTAR_GUEST_LOAD	0x200000ull
/* Largest guest image the vmm will load. */
#define INSTAR_GUEST_IMAGE_MAX	(4ull * 1024 * 1024)
/* The doorbell page: request nr is a 4-byte store at DOORBELL + 8 * nr. */
#define INSTAR_GUEST_DOORBELL	INSTAR_GUEST_MEM_SIZE
#define INSTAR_HC_SLOT		8u

#define INSTAR_BOOT_MAGIC	0x52415453u	/* "STAR" */

enum instar_op {
	INSTAR_OP_INFO = 1,
	INSTAR_OP_REBASE = 2,	/* parameters: struct instar_rebase_params */
	INSTAR_OP_COMMIT = 3,	/* parameters: struct instar_commit_params */
	INSTAR_OP_CHECK = 4,	/* parameters: struct instar_check_params */
	/* An info job and, if it succeeds, a check without repair. */
	INSTAR_OP_INFO_CHECK = 5,	/* the same parameters */
	/*
	 * An info job that opens the image as a check does (qemu's
	 * BDRV_O_CHECK): qcow2's snapshot table is left to the check, and
	 * a header without a refcount table is taken.
	 */
	INSTAR_OP_INFO_FOR_CHECK = 6,
	/*
	 * An info job for "info" itself, which qemu opens without I/O
	 * (BDRV_O_NO_IO): qcow2's external data file is not required.
	 * INSTAR_OP_INFO opens an image as a job that reads its data does.
	 */
	INSTAR_OP_INFO_NO_IO = 7,
};

enum instar_fmt {
	INSTAR_FMT_PROBE = 0,
	INSTAR_FMT_RAW = 1,
	INSTAR_FMT_QCOW2 = 2,
	INSTAR_FMT_VMDK = 3,
};

/*
 * The first bytes of the guest image.  The image is the worker's own (built
 * in, never from a file), so the vmm may take its word for where things
 * are; it still checks every address lies inside the image.  With these
 * the vmm builds the GDT, TSS and IDT itself and starts the vCPU directly
 * in user mode: the guest executes no set-up code in kernel mode, which
 * some paravirtual nested hosts (PVM) run one instruction at a time.
 */
#define INSTAR_GUEST_HEADER_MAGIC	0x52545347u	/* "GSTR" */

struct instar_guest_header {
	uint32_t magic;
	uint32_t reserved;
	uint64_t user_entry;		/* where user mode starts */
	uint64_t isr_table;		/* 32 handler addresses, vectors 0-31 */
	uint64_t kernel_stack_top;	/* the stack exceptions run on */
};

/* Written by the vmm at INSTAR_GUEST_BOOT before the vCPU starts. */
struct instar_boot {
	uint32_t magic;
	uint32_t op;		/* enum instar_op */
	uint32_t ndevices;
	uint32_t format;	/* enum instar_fmt requested for device 0 */
	uint64_t mem_size;
	uint32_t params_len;	/* the job's parameters follow the block */
	uint32_t pad;
	uint64_t heads_start;	/* the heap ends here; heads follow */
};

/*
 * What the vmm tells the guest of each device before it starts, at
 * INSTAR_GUEST_DEVTAB, one entry per device: what a geometry request
 * would say, and the device's first bytes (its head), read into the top
 * of guest memory.  Every job starts by reading headers, and on some
 * hosts each request costs the better part of 100 us: a small job then
 * needs no request but its result.  The guest stops using a device's
 * head once it writes to the device.
 */
struct instar_boot_dev {
	uint64_t size;		/* bytes, as a geometry request says */
	uint32_t flags;		/* INSTAR_DEV_* */
	uint32_t head_len;	/* the first head_len bytes of the device */
	uint64_t head_gpa;	/* are at this guest address */
};

_Static_assert(INSTAR_MAX_DEVICES * sizeof(struct instar_boot_dev) <= 4096,
    "the device table must fit its page");

/*
 * Room for heads at the top of guest memory, and each one's length:
 * enough for every header instar parses (a qcow2 header with its
 * extensions, a VMDK header with its descriptor), and no more, since
 * each page the guest touches costs a fault on nested KVM too.
 */
#define INSTAR_HEAD_LEN		(16u * 1024)
#define INSTAR_GUEST_HEADS_SIZE	(INSTAR_MAX_DEVICES * INSTAR_HEAD_LEN)

/* Room for parameters after struct instar_boot in the boot page. */
#define INSTAR_BOOT_PARAMS_MAX	(4096u - sizeof(struct instar_boot))

#endif
