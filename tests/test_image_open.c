/*
 * How the monitor opens images: regular files only, never blocking on a
 * FIFO, and backing references confined beneath the backing roots --
 * through openat2 and, where the kernel lacks it, through the walk one
 * component at a time.  Everything lives in a temporary directory:
 *
 *   root/                      the backing root
 *   root/img, root/sub/deep    regular files
 *   root/sub/up -> ..          a way back up, still inside
 *   root/abs -> ROOT/img       an absolute link that stays inside
 *   root/esc -> ../secret      a link that leads out
 *   root/fifo                  a FIFO
 *   secret                     outside the root
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "image_open.h"

static char top[PATH_MAX];

static void
path_of(char *buf, const char *rel)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", top, rel);

	assert_true(n > 0 && n < PATH_MAX);
}

static void
make_file(const char *rel)
{
	char p[PATH_MAX];
	int fd;

	path_of(p, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
}

static void
make_link(const char *target, const char *rel)
{
	char p[PATH_MAX];

	path_of(p, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int
setup(void **state)
{
	char p[PATH_MAX];

	(void)state;
	snprintf(top, sizeof(top), "%s/instar-image-open.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		return -1;
	path_of(p, "root");
	if (mkdir(p, 0700) != 0)
		return -1;
	path_of(p, "root/sub");
	if (mkdir(p, 0700) != 0)
		return -1;
	make_file("root/img");
	make_file("root/sub/deep");
	make_file("secret");
	make_link("..", "root/sub/up");
	path_of(p, "root/img");
	make_link(p, "root/abs");
	make_link("../secret", "root/esc");
	path_of(p, "root/fifo");
	return mkfifo(p, 0600);
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	image_roots_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* image_open of rel (under top) as origin; the fd is closed. */
static int
try_open(const char *rel, enum image_origin origin, char *why, size_t len)
{
	char p[PATH_MAX];
	struct stat st;
	int fd, saved;

	path_of(p, rel);
	fd = image_open(p, O_RDONLY, origin, &st, why, len);
	if (fd < 0)
		return -errno - 1;
	saved = fcntl(fd, F_GETFL);
	close(fd);
	/* A regular file is handed on blocking, as qemu opens it. */
	return (saved & O_NONBLOCK) != 0 ? -1000 : 0;
}

static void
set_root(void)
{
	char p[PATH_MAX];

	image_roots_reset();
	path_of(p, "root");
	image_root_add(p);
	assert_int_equal(image_roots_init(), 0);
	assert_true(image_roots_set());
}

static void
test_unconfined(void **state)
{
	char why[PATH_MAX + 256];

	(void)state;
	image_roots_reset();
	assert_int_equal(image_roots_init(), 0);
	assert_false(image_roots_set());
	assert_int_equal(try_open("secret", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), 0);
	assert_int_equal(try_open("root/esc", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), 0);
	/* Refused at once, not waited on: errno 0 marks a refusal. */
	assert_int_equal(try_open("root/fifo", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "' to be a regular file"));
	assert_int_equal(try_open("root/sub", IMAGE_FROM_USER, why,
	    sizeof(why)), -1);
	assert_int_equal(try_open("none", IMAGE_FROM_USER, why, sizeof(why)),
	    -ENOENT - 1);
	assert_non_null(strstr(why, ": No such file or directory"));
}

/* What must hold beneath a root, by whichever walk the kernel offers. */
static void
check_confined(void)
{
	char why[PATH_MAX + 256];

	set_root();
	assert_int_equal(try_open("root/img", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), 0);
	assert_int_equal(try_open("root/sub/deep", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), 0);
	assert_int_equal(try_open("root/sub/up/img", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), 0);
	assert_int_equal(try_open("root/abs", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), 0);
	assert_int_equal(try_open("root/sub/../img", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), 0);
	assert_int_equal(try_open("secret", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "secret' is not beneath a backing root"));
	assert_int_equal(try_open("root/../secret", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "' (that is '"));
	assert_int_equal(try_open("root/sub/up/../secret", IMAGE_FROM_IMAGE,
	    why, sizeof(why)), -1);
	assert_int_equal(try_open("root/esc", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "esc' (that is '"));
	/* The root itself is no image beneath it. */
	assert_int_equal(try_open("root", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), -1);
	assert_int_equal(try_open("root/fifo", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "' to be a regular file"));
	assert_int_equal(try_open("root/none", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), -ENOENT - 1);
	/* The command line is the user's choice. */
	assert_int_equal(try_open("secret", IMAGE_FROM_USER, why,
	    sizeof(why)), 0);
	assert_int_equal(try_open("root/esc", IMAGE_FROM_USER, why,
	    sizeof(why)), 0);
}

static void
test_confined(void **state)
{
	(void)state;
	check_confined();
}

/* As a kernel before 5.6 answers: openat2 does not exist. */
static void
test_confined_without_openat2(void **state)
{
	scmp_filter_ctx ctx;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (ctx == NULL || seccomp_rule_add(ctx,
		    SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) != 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    seccomp_load(ctx) != 0)
			_exit(2);
		check_confined();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_roots_from_env(void **state)
{
	char env[3 * PATH_MAX], why[PATH_MAX + 256];

	(void)state;
	image_roots_reset();
	snprintf(env, sizeof(env), "%s/root/sub:%s/root", top, top);
	assert_int_equal(setenv("INSTAR_BACKING_ROOT", env, 1), 0);
	assert_int_equal(image_roots_init(), 0);
	assert_int_equal(try_open("root/img", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), 0);
	assert_int_equal(try_open("secret", IMAGE_FROM_IMAGE, why,
	    sizeof(why)), -1);
	/* An empty entry is an error, not "the working directory". */
	image_roots_reset();
	snprintf(env, sizeof(env), "%s/root::%s", top, top);
	assert_int_equal(setenv("INSTAR_BACKING_ROOT", env, 1), 0);
	assert_int_equal(image_roots_init(), -1);
	/* Set but empty: no roots. */
	image_roots_reset();
	assert_int_equal(setenv("INSTAR_BACKING_ROOT", "", 1), 0);
	assert_int_equal(image_roots_init(), 0);
	assert_false(image_roots_set());
	/* A root that is not a directory. */
	image_roots_reset();
	snprintf(env, sizeof(env), "%s/secret", top);
	assert_int_equal(setenv("INSTAR_BACKING_ROOT", env, 1), 0);
	assert_int_equal(image_roots_init(), -1);
	assert_int_equal(unsetenv("INSTAR_BACKING_ROOT"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unconfined),
		cmocka_unit_test(test_confined),
		cmocka_unit_test(test_confined_without_openat2),
		cmocka_unit_test(test_roots_from_env),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
