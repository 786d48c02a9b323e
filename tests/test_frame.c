/*
 * The monitor-worker framing: round trips, descriptors, and every way a
 * hostile or broken peer can send a bad frame.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"

struct pair {
	int a, b;
};

static int
setup(void **state)
{
	struct pair *p = malloc(sizeof(*p));
	int sv[2];

	if (p == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	p->a = sv[0];
	p->b = sv[1];
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct pair *p = *state;

	close(p->a);
	close(p->b);
	free(p);
	return 0;
}

static void
send_raw(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void
test_length_prefix(void **state)
{
	uint8_t hdr[4];
	size_t len;

	(void)state;
	assert_int_equal(frame_put_length(hdr, 0x012345), 0);
	assert_memory_equal(hdr, "\x00\x01\x23\x45", 4);
	assert_int_equal(frame_get_length(hdr, &len), 0);
	assert_int_equal(len, 0x012345);
	assert_int_equal(frame_put_length(hdr, INSTAR_FRAME_MAX), 0);
	assert_int_equal(frame_put_length(hdr, INSTAR_FRAME_MAX + 1), -1);
	assert_int_equal(frame_put_length(hdr, 0), -1);
	memcpy(hdr, "\xff\xff\xff\xff", 4);
	assert_int_equal(frame_get_length(hdr, &len), -1);
	memcpy(hdr, "\x00\x00\x00\x00", 4);
	assert_int_equal(frame_get_length(hdr, &len), -1);
}

static void
test_round_trip(void **state)
{
	struct pair *p = *state;
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Failure fail = INSTAR__FAILURE__INIT;
	Instar__Envelope *got;
	const char *why = NULL;
	int fds[1];
	size_t nfds;

	fail.message = (char *)"Image is not in qcow2 format";
	env.body_case = INSTAR__ENVELOPE__BODY_FAILURE;
	env.failure = &fail;
	assert_int_equal(frame_send(p->a, &env, NULL, 0), 0);
	got = frame_recv(p->b, 1000, fds, 1, &nfds, &why);
	assert_non_null(got);
	assert_int_equal(nfds, 0);
	assert_int_equal(got->body_case, INSTAR__ENVELOPE__BODY_FAILURE);
	assert_string_equal(got->failure->message, fail.message);
	instar__envelope__free_unpacked(got, NULL);
}

static void
test_descriptor_passing(void **state)
{
	struct pair *p = *state;
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__OpenImage oi = INSTAR__OPEN_IMAGE__INIT;
	Instar__Envelope *got;
	struct stat st1, st2;
	const char *why = NULL;
	int fd, fds[1];
	size_t nfds;

	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	oi.format = INSTAR__FORMAT__FORMAT_QCOW2;
	env.body_case = INSTAR__ENVELOPE__BODY_OPEN_IMAGE;
	env.open_image = &oi;
	assert_int_equal(frame_send(p->a, &env, &fd, 1), 0);
	got = frame_recv(p->b, 1000, fds, 1, &nfds, &why);
	assert_non_null(got);
	assert_int_equal(nfds, 1);
	assert_int_equal(fstat(fd, &st1), 0);
	assert_int_equal(fstat(fds[0], &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(got->open_image->format,
	    INSTAR__FORMAT__FORMAT_QCOW2);
	close(fds[0]);
	close(fd);
	instar__envelope__free_unpacked(got, NULL);
}

static void
test_unexpected_descriptor(void **state)
{
	struct pair *p = *state;
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Done done = INSTAR__DONE__INIT;
	const char *why = NULL;
	int fd, fds[1];
	size_t nfds;

	fd = open("/dev/null", O_RDONLY);
	env.body_case = INSTAR__ENVELOPE__BODY_DONE;
	env.done = &done;
	assert_int_equal(frame_send(p->a, &env, &fd, 1), 0);
	close(fd);
	assert_null(frame_recv(p->b, 1000, fds, 0, &nfds, &why));
	assert_string_equal(why, "unexpected descriptors with a frame");
	assert_int_equal(nfds, 0);
}

/* Descriptors this process holds, less the one reading /proc/self/fd. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* Send a Done frame carrying n copies of /dev/null, then close ours. */
static void
send_with_fds(int sock, size_t n)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Done done = INSTAR__DONE__INIT;
	int fds[INSTAR_FRAME_FDS_MAX];
	size_t i;

	assert_true(n <= INSTAR_FRAME_FDS_MAX);
	for (i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDONLY);
		assert_true(fds[i] >= 0);
	}
	env.body_case = INSTAR__ENVELOPE__BODY_DONE;
	env.done = &done;
	assert_int_equal(frame_send(sock, &env, fds, n), 0);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * A caller that wants no descriptors (fds NULL) refuses a frame that
 * carries some, and is left holding none of them.
 */
static void
test_no_fd_array_no_leak(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	size_t nfds = 7;
	int before;

	before = open_fds();
	send_with_fds(p->a, INSTAR_FRAME_FDS_MAX);
	assert_null(frame_recv(p->b, 1000, NULL, 0, &nfds, &why));
	assert_string_equal(why, "unexpected descriptors with a frame");
	assert_int_equal(nfds, 0);
	assert_int_equal(open_fds(), before);
	/* The same when the caller passes a count but no array. */
	send_with_fds(p->a, 1);
	assert_null(frame_recv(p->b, 1000, NULL, 4, &nfds, &why));
	assert_int_equal(open_fds(), before);
}

/* More descriptors than the caller takes: refused, none kept. */
static void
test_excess_fds_no_leak(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	int fds[2] = { -1, -1 };
	size_t nfds;
	int before;

	before = open_fds();
	send_with_fds(p->a, 3);
	assert_null(frame_recv(p->b, 1000, fds, 2, &nfds, &why));
	assert_string_equal(why, "unexpected descriptors with a frame");
	assert_int_equal(nfds, 0);
	assert_int_equal(open_fds(), before);
}

/* Send a frame header promising 8 bytes, with fd, and no body. */
static void
send_header_with_fd(int sock, int fd)
{
	static const uint8_t hdr[4] = { 0, 0, 0, 8 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = { (void *)(uintptr_t)hdr, sizeof(hdr) };
	struct msghdr msg;
	struct cmsghdr *cm;

	memset(&msg, 0, sizeof(msg));
	memset(&c, 0, sizeof(c));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = c.buf;
	msg.msg_controllen = sizeof(c.buf);
	cm = CMSG_FIRSTHDR(&msg);
	assert_non_null(cm);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)sizeof(hdr));
}

/* A frame that fails after its descriptors arrived leaves none open. */
static void
test_bad_frame_fds_no_leak(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	int fd, fds[1];
	size_t nfds;
	int before;

	before = open_fds();
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	send_header_with_fd(p->a, fd);
	close(fd);
	shutdown(p->a, SHUT_WR);
	assert_null(frame_recv(p->b, 1000, fds, 1, &nfds, &why));
	assert_string_equal(why, "truncated frame");
	assert_int_equal(nfds, 0);
	assert_int_equal(open_fds(), before);
}

static void
test_oversized_frame(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	size_t nfds;

	/* 16 MiB announced: refused before anything is allocated or read. */
	send_raw(p->a, "\x01\x00\x00\x00", 4);
	assert_null(frame_recv(p->b, 1000, NULL, 0, &nfds, &why));
	assert_string_equal(why, "frame length out of range");
}

static void
test_truncated_frame(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	size_t nfds;

	send_raw(p->a, "\x00\x00\x00\x10" "abc", 7);
	shutdown(p->a, SHUT_WR);
	assert_null(frame_recv(p->b, 1000, NULL, 0, &nfds, &why));
	assert_string_equal(why, "truncated frame");
}

static void
test_truncated_header(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	size_t nfds;

	send_raw(p->a, "\x00\x00", 2);
	shutdown(p->a, SHUT_WR);
	assert_null(frame_recv(p->b, 1000, NULL, 0, &nfds, &why));
	assert_string_equal(why, "truncated frame");
}

static void
test_peer_closed(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	size_t nfds;

	shutdown(p->a, SHUT_WR);
	assert_null(frame_recv(p->b, 1000, NULL, 0, &nfds, &why));
	assert_string_equal(why, "peer closed the connection");
}

static void
test_garbage_body(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	size_t nfds;

	send_raw(p->a, "\x00\x00\x00\x04\xff\xff\xff\xff", 8);
	assert_null(frame_recv(p->b, 1000, NULL, 0, &nfds, &why));
	assert_string_equal(why, "malformed frame");
}

static void
test_empty_envelope(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	size_t nfds;

	/* A well-formed protobuf with no body set is not a message. */
	send_raw(p->a, "\x00\x00\x00\x02\x78\x01", 6);
	assert_null(frame_recv(p->b, 1000, NULL, 0, &nfds, &why));
	assert_string_equal(why, "malformed frame");
}

static void
test_timeout(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	size_t nfds;

	assert_null(frame_recv(p->b, 50, NULL, 0, &nfds, &why));
	assert_string_equal(why, "timed out waiting for the peer");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length_prefix),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_passing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unexpected_descriptor,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fd_array_no_leak,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_excess_fds_no_leak,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_frame_fds_no_leak,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_frame, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_truncated_frame, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_truncated_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_peer_closed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_garbage_body, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_envelope, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
