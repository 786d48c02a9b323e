/* Format names and cache modes on the command line: see options.h. */
#include <stdbool.h>
#include <string.h>

#include "log.h"
#include "options.h"

int
format_parse(const char *name, Instar__Format *fmt)
{
	if (strcmp(name, "qcow2") == 0)
		*fmt = INSTAR__FORMAT__FORMAT_QCOW2;
	else if (strcmp(name, "vmdk") == 0)
		*fmt = INSTAR__FORMAT__FORMAT_VMDK;
	else if (strcmp(name, "raw") == 0)
		*fmt = INSTAR__FORMAT__FORMAT_RAW;
	else
		return -1;
	return 0;
}

const char *
format_name(Instar__Format fmt)
{
	switch (fmt) {
	case INSTAR__FORMAT__FORMAT_QCOW2:
		return "qcow2";
	case INSTAR__FORMAT__FORMAT_VMDK:
		return "vmdk";
	case INSTAR__FORMAT__FORMAT_RAW:
		return "raw";
	default:
		return "unknown";
	}
}

bool
cache_mode_valid(const char *mode)
{
	static const char *const modes[] = {
		"off", "none", "directsync", "writeback", "unsafe",
		"writethrough",
	};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			return true;
	return false;
}

bool
format_known_to_qemu(const char *name)
{
	static const char *const known[] = {
		"blkdebug", "blklogwrites", "blkverify", "bochs", "cloop",
		"compress", "copy-before-write", "copy-on-read", "dmg",
		"file", "ftp", "ftps", "gluster", "host_cdrom",
		"host_device", "http", "https", "iscsi", "iser", "luks",
		"nbd", "nfs", "null-aio", "null-co", "nvme", "parallels",
		"preallocate", "qcow", "qed", "quorum", "rbd",
		"replication", "snapshot-access", "ssh", "throttle", "vdi",
		"vhdx", "vpc", "vvfat",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	return false;
}

int
format_option(const char *filename, const char *name, Instar__Format *fmt)
{
	*fmt = INSTAR__FORMAT__FORMAT_PROBE;
	if (name == NULL || format_parse(name, fmt) == 0)
		return 0;
	if (format_known_to_qemu(name))
		error("Unknown or unsupported format '%s' (instar handles "
		    "qcow2, vmdk and raw)", name);
	else
		error("Could not open '%s': Unknown driver '%s'", filename,
		    name);
	return -1;
}
