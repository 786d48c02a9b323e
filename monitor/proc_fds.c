/*
 * Which files another process holds open, as /proc shows them.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "proc_fds.h"

int
file_id_of(int fd, struct file_id *id)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

/* Whether descriptor entry name in fd_dir may be open on one of files. */
static bool
entry_may_hold(int fd_dir, const char *name, const struct file_id *files,
    size_t n)
{
	struct stat st;
	size_t i;

	/* Through the link: the file the descriptor is open on. */
	if (fstatat(fd_dir, name, &st, 0) != 0)
		return errno != ENOENT;	/* ENOENT: closed as we looked */
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return false;
	for (i = 0; i < n; i++)
		if (files[i].dev == st.st_dev && files[i].ino == st.st_ino)
			return true;
	return false;
}

bool
proc_may_hold(pid_t pid, const struct file_id *files, size_t n)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	bool held = false;
	int fd;

	if (pid <= 0)
		return true;
	(void)snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return true;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return true;
	}
	while (!held) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			held = errno != 0;
			break;
		}
		if (de->d_name[0] != '.')
			held = entry_may_hold(dirfd(dir), de->d_name, files, n);
	}
	closedir(dir);
	return held;
}
