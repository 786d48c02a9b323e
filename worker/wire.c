/*
 * The worker's words on the wire: formats between the guest's numbers and
 * the protobuf enum, and the failures any job may report.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "image_info_check.h"
#include "log.h"
#include "worker.h"

void
send_failure(int sock, const char *msg)
{
	send_failure_hint(sock, msg, NULL);
}

void
send_failure_hint(int sock, const char *msg, const char *hint)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Failure fail = INSTAR__FAILURE__INIT;

	fail.message = (char *)msg;
	if (hint != NULL && hint[0] != '\0')
		fail.hint = (char *)hint;
	env.body_case = INSTAR__ENVELOPE__BODY_FAILURE;
	env.failure = &fail;
	if (frame_send(sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

Instar__Format
format_to_pb(uint32_t fmt)
{
	switch (fmt) {
	case INSTAR_FMT_QCOW2:
		return INSTAR__FORMAT__FORMAT_QCOW2;
	case INSTAR_FMT_VMDK:
		return INSTAR__FORMAT__FORMAT_VMDK;
	default:
		return INSTAR__FORMAT__FORMAT_RAW;
	}
}

uint32_t
format_from_pb(Instar__Format fmt)
{
	switch (fmt) {
	case INSTAR__FORMAT__FORMAT_QCOW2:
		return INSTAR_FMT_QCOW2;
	case INSTAR__FORMAT__FORMAT_VMDK:
		return INSTAR_FMT_VMDK;
	case INSTAR__FORMAT__FORMAT_RAW:
		return INSTAR_FMT_RAW;
	default:
		return INSTAR_FMT_PROBE;
	}
}

const char *
result_problem(bool whole, const char *invalid, int32_t status, char *error,
    size_t size)
{
	if (!whole)
		return "wrong size";
	if (invalid != NULL)
		return invalid;
	if (status != 0)
		return image_info_sanitize_error(error, size);
	return NULL;
}

void
send_malformed(struct worker *w, const char *why)
{
	char err[512];

	snprintf(err, sizeof(err), "sandbox returned a malformed result (%s)",
	    why);
	send_failure(w->sock, err);
}

void
send_run_failure(struct worker *w, bool whole, const char *invalid,
    int32_t status, char *error, size_t size, const char *vmm_err)
{
	if (status != 0 && result_problem(whole, invalid, status, error,
	    size) == NULL)
		send_failure(w->sock, error);
	else
		send_failure(w->sock, vmm_err);
}
