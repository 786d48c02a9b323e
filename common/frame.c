/*
 * Framing for the monitor-worker socket.  The length prefix is checked
 * against INSTAR_FRAME_MAX before a byte of the body is allocated, and a
 * frame either arrives whole or is an error.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"

int
frame_put_length(uint8_t hdr[4], size_t len)
{
	if (len == 0 || len > INSTAR_FRAME_MAX)
		return -1;
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	return 0;
}

int
frame_get_length(const uint8_t hdr[4], size_t *len)
{
	uint32_t v = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];

	if (v == 0 || v > INSTAR_FRAME_MAX)
		return -1;
	*len = v;
	return 0;
}

Instar__Envelope *
frame_decode(const uint8_t *buf, size_t len)
{
	Instar__Envelope *env;

	env = instar__envelope__unpack(NULL, len, buf);
	if (env != NULL && env->body_case == INSTAR__ENVELOPE__BODY__NOT_SET) {
		instar__envelope__free_unpacked(env, NULL);
		return NULL;
	}
	return env;
}

static int
send_all(int sock, struct msghdr *msg)
{
	while (msg->msg_iovlen > 0) {
		ssize_t n = sendmsg(sock, msg, MSG_NOSIGNAL);
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		/* Descriptors go with the first byte only. */
		msg->msg_control = NULL;
		msg->msg_controllen = 0;
		left = (size_t)n;
		while (msg->msg_iovlen > 0 && left >= msg->msg_iov->iov_len) {
			left -= msg->msg_iov->iov_len;
			msg->msg_iov++;
			msg->msg_iovlen--;
		}
		if (msg->msg_iovlen > 0) {
			msg->msg_iov->iov_base =
			    (uint8_t *)msg->msg_iov->iov_base + left;
			msg->msg_iov->iov_len -= left;
		}
	}
	return 0;
}

int
frame_send(int sock, const Instar__Envelope *env, const int *fds,
    size_t nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * INSTAR_FRAME_FDS_MAX)];
	} cmsgbuf;
	struct msghdr msg;
	struct iovec iov[2];
	uint8_t hdr[4], *body;
	size_t len;
	int ret;

	if (nfds > INSTAR_FRAME_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	len = instar__envelope__get_packed_size(env);
	if (frame_put_length(hdr, len) != 0) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((body = malloc(len)) == NULL)
		return -1;
	instar__envelope__pack(env, body);
	memset(&msg, 0, sizeof(msg));
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = body;
	iov[1].iov_len = len;
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	if (nfds > 0) {
		struct cmsghdr *cmsg;

		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	ret = send_all(sock, &msg);
	free(body);
	return ret;
}

static int
wait_readable(int sock, int timeout_ms, const char **why)
{
	struct pollfd pfd;
	int n;

	if (timeout_ms < 0)
		return 0;
	pfd.fd = sock;
	pfd.events = POLLIN;
	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		*why = "poll failed";
		return -1;
	}
	if (n == 0) {
		*why = "timed out waiting for the peer";
		return -1;
	}
	return 0;
}

/*
 * Take the descriptors a message carried; refuse anything unexpected.
 * Every descriptor not stored in fds is closed here: once received it
 * is ours, and a peer must not be able to fill our table.
 */
static int
collect_fds(struct msghdr *msg, int *fds, size_t maxfds, size_t *nfds,
    const char **why)
{
	struct cmsghdr *cmsg;
	int bad = 0;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(msg, cmsg)) {
		size_t n, i;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(fd));
			if (fds != NULL && *nfds < maxfds)
				fds[(*nfds)++] = fd;
			else {
				close(fd);
				bad = 1;
			}
		}
	}
	if (bad || (msg->msg_flags & MSG_CTRUNC)) {
		*why = "unexpected descriptors with a frame";
		return -1;
	}
	return 0;
}

static void
close_fds(int *fds, size_t *nfds)
{
	while (*nfds > 0)
		close(fds[--(*nfds)]);
}

/*
 * Read exactly len bytes, keeping any descriptors that arrive.  EOF
 * before the first byte of a frame (at_start) is the peer going away;
 * anywhere else it is a truncated frame.
 */
static int
recv_exact(int sock, uint8_t *buf, size_t len, bool at_start,
    int timeout_ms, int *fds, size_t maxfds, size_t *nfds, const char **why)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * INSTAR_FRAME_FDS_MAX)];
	} cmsgbuf;
	size_t got = 0;

	while (got < len) {
		struct msghdr msg;
		struct iovec iov;
		ssize_t n;

		if (wait_readable(sock, timeout_ms, why) != 0)
			return -1;
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf + got;
		iov.iov_len = len - got;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = "receive failed";
			return -1;
		}
		if (n == 0) {
			*why = got == 0 && at_start ?
			    "peer closed the connection" : "truncated frame";
			return -1;
		}
		if (msg.msg_controllen > 0 &&
		    collect_fds(&msg, fds, maxfds, nfds, why) != 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

Instar__Envelope *
frame_recv(int sock, int timeout_ms, int *fds, size_t maxfds, size_t *nfds,
    const char **why)
{
	Instar__Envelope *env;
	uint8_t hdr[4], *body;
	size_t len;

	*nfds = 0;
	if (maxfds > INSTAR_FRAME_FDS_MAX)
		maxfds = INSTAR_FRAME_FDS_MAX;
	if (recv_exact(sock, hdr, sizeof(hdr), true, timeout_ms, fds, maxfds,
	    nfds, why) != 0)
		goto fail;
	if (frame_get_length(hdr, &len) != 0) {
		*why = "frame length out of range";
		goto fail;
	}
	if ((body = malloc(len)) == NULL) {
		*why = "out of memory";
		goto fail;
	}
	if (recv_exact(sock, body, len, false, timeout_ms, fds, maxfds,
	    nfds, why) != 0) {
		free(body);
		goto fail;
	}
	env = frame_decode(body, len);
	free(body);
	if (env == NULL) {
		*why = "malformed frame";
		goto fail;
	}
	return env;
 fail:
	close_fds(fds, nfds);
	return NULL;
}
