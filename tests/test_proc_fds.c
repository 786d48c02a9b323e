/*
 * proc_fds: the monitor takes a worker that holds none of the images for
 * one that can write no more, so a descriptor it misses would let a
 * write outlast the command.  Each case runs a child that holds exactly
 * the descriptors it names, files made in a temporary directory.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_fds.h"

static char top[PATH_MAX];
static char image[PATH_MAX], other[PATH_MAX], image_link[PATH_MAX];

struct holder {
	pid_t pid;
	int release;		/* closing it lets the child exit */
};

static void
make_file(char *buf, const char *name)
{
	int fd;

	assert_true(snprintf(buf, PATH_MAX, "%s/%s", top, name) < PATH_MAX);
	fd = open(buf, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
}

static int
setup(void **state)
{
	(void)state;
	if (snprintf(top, sizeof(top), "%s/instar-proc-fds.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp") >=
	    (int)sizeof(top) || mkdtemp(top) == NULL)
		return -1;
	make_file(image, "image");
	make_file(other, "other");
	if (snprintf(image_link, sizeof(image_link), "%s/image-link", top) >=
	    (int)sizeof(image_link))
		return -1;
	return link(image, image_link);
}

static int
teardown(void **state)
{
	(void)state;
	unlink(image);
	unlink(other);
	unlink(image_link);
	return rmdir(top);
}

/*
 * Start a child that opens path (if any) read-write at descriptor
 * number at, closes its copy of everything else it was given, says it is
 * ready and waits until released.
 */
static struct holder
hold(const char *path, int at)
{
	struct holder h;
	int ready[2], release[2];
	char c = 0;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(release), 0);
	h.pid = fork();
	assert_true(h.pid >= 0);
	if (h.pid == 0) {
		int fd;

		close(ready[0]);
		close(release[1]);
		if (path != NULL) {
			if ((fd = open(path, O_RDWR)) < 0 ||
			    dup2(fd, at) != at)
				_exit(2);
			if (fd != at)
				close(fd);
		}
		if (write(ready[1], &c, 1) != 1)
			_exit(2);
		(void)read(release[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	h.release = release[1];
	return h;
}

static void
let_go(struct holder *h)
{
	int status;

	close(h->release);
	assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static struct file_id
id_of(const char *path)
{
	struct file_id id;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(file_id_of(fd, &id), 0);
	close(fd);
	return id;
}

static void
test_holding_the_image(void **state)
{
	struct file_id images[2] = { id_of(other), id_of(image) };
	struct holder h = hold(image, 57);

	(void)state;
	assert_true(proc_may_hold(h.pid, images, 2));
	let_go(&h);
}

static void
test_holding_it_by_another_name(void **state)
{
	struct file_id images[1] = { id_of(image) };
	struct holder h = hold(image_link, 9);

	(void)state;
	assert_true(proc_may_hold(h.pid, images, 1));
	let_go(&h);
}

static void
test_holding_only_another_file(void **state)
{
	struct file_id images[1] = { id_of(image) };
	struct holder h = hold(other, 9);

	(void)state;
	assert_false(proc_may_hold(h.pid, images, 1));
	let_go(&h);
}

static void
test_holding_nothing(void **state)
{
	struct file_id images[1] = { id_of(image) };
	struct holder h = hold(NULL, 0);

	(void)state;
	assert_false(proc_may_hold(h.pid, images, 1));
	let_go(&h);
}

/* A process that cannot be seen is not known to hold nothing. */
static void
test_gone_counts_as_holding(void **state)
{
	struct file_id images[1] = { id_of(image) };
	struct holder h = hold(NULL, 0);
	pid_t pid = h.pid;

	(void)state;
	let_go(&h);
	assert_true(proc_may_hold(pid, images, 1));
	assert_true(proc_may_hold(0, images, 1));
	assert_true(proc_may_hold(-1, images, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holding_the_image),
		cmocka_unit_test(test_holding_it_by_another_name),
		cmocka_unit_test(test_holding_only_another_file),
		cmocka_unit_test(test_holding_nothing),
		cmocka_unit_test(test_gone_counts_as_holding),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
