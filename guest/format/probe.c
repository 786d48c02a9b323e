/*
 * Deciding an image's format from its first sector, the way qemu's
 * bdrv_probe_all() does, and dispatching "info" to the format.
 */
#include "format.h"

/* qemu probes exactly one sector, zero-padded past the end of the file. */
#define PROBE_LEN	512

struct probe_sig {
	const char	*name;
	size_t		 off;
	const char	*magic;
	size_t		 len;		/* 0: strlen(magic) */
};

/*
 * Formats qemu would recognise that instar refuses to handle.  Each must
 * be an error naming the format, never a silent fall-back to raw, or a
 * guest could be handed someone else's metadata as disk contents.
 */
static const struct probe_sig refused[] = {
	{ "qed",	0,	"QED\0",		4 },
	{ "vpc",	0,	"conectix",		8 },
	{ "vhdx",	0,	"vhdxfile",		8 },
	{ "vdi",	0x40,	"\x7f\x10\xda\xbe",	4 },
	{ "luks",	0,	"LUKS\xba\xbe\x00\x01",	8 },
	{ "cloop",	0,	"#!/bin/sh\n#V2.0 Format\n"
	    "modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n",
	    0 },
};

static bool
has_sig(const uint8_t *buf, const struct probe_sig *s)
{
	size_t len = s->len != 0 ? s->len : strlen(s->magic);

	if (s->off + len > PROBE_LEN)
		return false;
	return memcmp(buf + s->off, s->magic, len) == 0;
}

static bool
is_parallels(const uint8_t *buf)
{
	if (memcmp(buf, "WithoutFreeSpace", 16) != 0 &&
	    memcmp(buf, "WithouFreSpacExt", 16) != 0)
		return false;
	return get_le32(buf + 16) == 2;
}

/* Fixed-size NUL-terminated field compare, as bochs_probe's strcmp. */
static bool
field_is(const uint8_t *field, size_t size, const char *want)
{
	size_t n = strlen(want);

	return n < size && memcmp(field, want, n + 1) == 0;
}

static bool
is_bochs(const uint8_t *buf)
{
	uint32_t v;

	if (!field_is(buf, 32, "Bochs Virtual HD Image") ||
	    !field_is(buf + 32, 16, "Redolog") ||
	    !field_is(buf + 48, 16, "Growing"))
		return false;
	v = get_le32(buf + 64);
	return v == 0x00020000 || v == 0x00010000;
}

/* A "version=N" line after only comments and blank lines (vmdk_probe). */
static bool
is_vmdk_text(const uint8_t *buf, size_t len)
{
	size_t p = 0;

	while (p < len) {
		if (buf[p] == '#') {
			while (p < len && buf[p] != '\n')
				p++;
			p++;
			continue;
		}
		if (buf[p] == ' ') {
			while (p < len && buf[p] == ' ')
				p++;
			if (p < len && buf[p] == '\r')
				p++;
			if (p == len || buf[p] != '\n')
				return false;
			p++;
			continue;
		}
		if (len - p < 10 || memcmp(buf + p, "version=", 8) != 0 ||
		    buf[p + 8] < '1' || buf[p + 8] > '3')
			return false;
		if (buf[p + 9] == '\n')
			return true;
		return len - p >= 11 && buf[p + 9] == '\r' &&
		    buf[p + 10] == '\n';
	}
	return false;
}

static int
refuse(const char *name, struct fmt_err *err)
{
	fmt_seterr(err, "Image format '%s' is not supported", name);
	return -1;
}

int
fmt_probe(const struct fmt_io *io, uint32_t *fmt, struct fmt_err *err)
{
	uint8_t buf[PROBE_LEN];
	uint32_t magic;
	size_t i;

	*fmt = INSTAR_FMT_RAW;
	/* qemu treats an empty file as raw without reading it. */
	if (io->size == 0)
		return 0;
	if (io->read(io->ctx, 0, buf, sizeof(buf)) != 0) {
		fmt_seterr(err, "Could not read image for determining its "
		    "format");
		return -1;
	}
	magic = get_be32(buf);
	if (magic == 0x514649fbu) {		/* "QFI\xfb" */
		if (get_be32(buf + 4) >= 2) {
			*fmt = INSTAR_FMT_QCOW2;
			return 0;
		}
		if (get_be32(buf + 4) == 1)
			return refuse("qcow", err);
		/* Version 0 matches no driver; qemu falls back to raw. */
		return 0;
	}
	if (magic == 0x4b444d56u || magic == 0x434f5744u ||	/* KDMV COWD */
	    is_vmdk_text(buf, sizeof(buf))) {
		*fmt = INSTAR_FMT_VMDK;
		return 0;
	}
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (has_sig(buf, &refused[i]))
			return refuse(refused[i].name, err);
	if (is_parallels(buf))
		return refuse("parallels", err);
	if (is_bochs(buf))
		return refuse("bochs", err);
	return 0;
}

int
fmt_info(const struct fmt_io *io, uint32_t fmt, enum fmt_open mode,
    struct instar_image_info *info, struct fmt_snapshots *snaps,
    struct fmt_bitmaps *bitmaps, struct fmt_err *err)
{
	/* Only qcow2 has internal snapshots and bitmaps. */
	snaps->len = 0;
	snaps->count = 0;
	if (bitmaps != NULL) {
		bitmaps->len = 0;
		bitmaps->count = 0;
	}
	switch (fmt) {
	case INSTAR_FMT_RAW:
		return raw_info(io, info, err);
	case INSTAR_FMT_QCOW2:
		return qcow2_info(io, mode, info, snaps, bitmaps, err);
	case INSTAR_FMT_VMDK:
		return vmdk_info(io, info, err);
	default:
		memset(info, 0, sizeof(*info));
		fmt_seterr(err, "Unknown image format %u", (unsigned)fmt);
		return -1;
	}
}
