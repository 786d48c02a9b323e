/*
 * The format code's side of struct fmt_io: calls that say in err what
 * failed, so that every writer words an I/O error the same way.
 */
#include "format.h"

int
fmt_write_data(const struct fmt_io *io, uint64_t off, const void *buf,
    size_t len)
{
	if (io->write_data != NULL)
		return io->write_data(io->ctx, off, buf, len);
	return io->write(io->ctx, off, buf, len);
}

int
fmt_io_read(const struct fmt_io *io, uint64_t off, void *buf, size_t len,
    struct fmt_err *err)
{
	if (io->read(io->ctx, off, buf, len) != 0) {
		fmt_seterr(err, "Could not read the image: I/O error");
		return -1;
	}
	return 0;
}

int
fmt_io_write(const struct fmt_io *io, uint64_t off, const void *buf,
    size_t len, struct fmt_err *err)
{
	if (io->write(io->ctx, off, buf, len) != 0) {
		fmt_seterr(err, "Could not write to the image: I/O error");
		return -1;
	}
	return 0;
}

int
fmt_io_write_data(const struct fmt_io *io, uint64_t off, const void *buf,
    size_t len, struct fmt_err *err)
{
	if (fmt_write_data(io, off, buf, len) != 0) {
		fmt_seterr(err, "Could not write to the image: I/O error");
		return -1;
	}
	return 0;
}

int
fmt_io_flush(const struct fmt_io *io, struct fmt_err *err)
{
	if (io->flush(io->ctx) != 0) {
		fmt_seterr(err, "Could not flush the image: I/O error");
		return -1;
	}
	return 0;
}
