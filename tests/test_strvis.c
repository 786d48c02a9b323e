/*
 * The encoding of untrusted text for terminals and logs (strvis.h), and
 * the error path that applies it to every message (log.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "strvis.h"

/* Encode n bytes and compare with want. */
static void
expect(const char *src, size_t n, const char *want)
{
	char buf[STRVIS_SIZE(64)];

	assert_true(n <= 64);
	assert_int_equal(strvis_encode(buf, sizeof(buf), src, n),
	    strlen(want));
	assert_string_equal(buf, want);
}

static void
test_printable_unchanged(void **state)
{
	static const char s[] = "base dir/im age-1_2.qcow2 \"q\" 'a' "
	    "~!@#$%^&*()";

	(void)state;
	expect(s, sizeof(s) - 1, s);
	/* A backslash is not doubled: names print as qemu-img's do. */
	expect("a\\b\\n", 5, "a\\b\\n");
}

static void
test_named_escapes(void **state)
{
	(void)state;
	expect("a\nb", 3, "a\\nb");
	expect("\t\r", 2, "\\t\\r");
	expect("x\nimage: /etc/passwd", 20, "x\\nimage: /etc/passwd");
}

static void
test_octal_escapes(void **state)
{
	(void)state;
	expect("\001\037\033[2J\177", 7, "\\001\\037\\033[2J\\177");
	expect("\b\f\v\a", 4, "\\010\\014\\013\\007");
	/* An embedded NUL when a length is given. */
	expect("a\0b", 3, "a\\000b");
}

/* UTF-8, and bytes that are not, pass as they are. */
static void
test_high_bytes_unchanged(void **state)
{
	static const char s[] = "caf\303\251 \342\202\254 \360\237\230\200 "
	    "\377\376\200\233";

	(void)state;
	expect(s, sizeof(s) - 1, s);
}

/* Each possible byte: one form, and a control byte never survives. */
static void
test_every_byte(void **state)
{
	char src[1], buf[STRVIS_SIZE(1)];
	unsigned int c;
	size_t n;

	(void)state;
	for (c = 0; c < 256; c++) {
		src[0] = (char)c;
		n = strvis_encode(buf, sizeof(buf), src, 1);
		if (c >= 0x20 && c != 0x7f) {
			assert_int_equal(n, 1);
			assert_int_equal((unsigned char)buf[0], c);
			continue;
		}
		assert_true(n == 2 || n == 4);
		assert_int_equal(buf[0], '\\');
		assert_null(memchr(buf, '\n', n));
		assert_true(buf[1] >= 0x20 && buf[n - 1] >= 0x20);
	}
}

/* A short buffer ends at a whole escape, always NUL-terminated. */
static void
test_truncation(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(strvis_encode(buf, 6, "ab\001cd", 5), 2);
	assert_string_equal(buf, "ab");
	assert_int_equal(buf[6], 'X');
	assert_int_equal(strvis_encode(buf, 7, "ab\001cd", 5), 6);
	assert_string_equal(buf, "ab\\001");
	assert_int_equal(strvis_encode(buf, 1, "abc", 3), 0);
	assert_string_equal(buf, "");
	assert_int_equal(strvis_encode(buf, 0, "abc", 3), 0);
	assert_string_equal(strvis(buf, sizeof(buf), "a\nb"), "a\\nb");
}

static char *
fwrite_encoded(const char *src, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(strvis_fwrite(f, src, n), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
test_fwrite(void **state)
{
	char *s;

	(void)state;
	s = fwrite_encoded("a\nb\0c\303\251", 7);
	assert_string_equal(s, "a\\nb\\000c\303\251");
	free(s);
}

/* Send stderr into a pipe until capture_end(), which returns its text. */
static int capture_pipe = -1, capture_saved = -1;

static void
capture_begin(void)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	capture_saved = dup(STDERR_FILENO);
	assert_true(capture_saved >= 0);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	capture_pipe = p[0];
}

static const char *
capture_end(void)
{
	static char buf[1024];
	ssize_t n;

	assert_int_equal(dup2(capture_saved, STDERR_FILENO), STDERR_FILENO);
	close(capture_saved);
	n = read(capture_pipe, buf, sizeof(buf) - 1);
	close(capture_pipe);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* One line per message, whatever the arguments hold. */
static void
test_error_one_line(void **state)
{
	(void)state;
	log_init("instar");
	capture_begin();
	error("Could not open '%s': bad", "x\nimage: /etc/passwd\033[0m");
	assert_string_equal(capture_end(), "instar: Could not open "
	    "'x\\nimage: /etc/passwd\\033[0m': bad\n");
	capture_begin();
	error_plain("Is another process using the image [%s]?", "a\rb");
	assert_string_equal(capture_end(),
	    "Is another process using the image [a\\rb]?\n");
	capture_begin();
	error_f("%s", "caf\303\251");
	assert_string_equal(capture_end(),
	    "instar: test_error_one_line: caf\303\251\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable_unchanged),
		cmocka_unit_test(test_named_escapes),
		cmocka_unit_test(test_octal_escapes),
		cmocka_unit_test(test_high_bytes_unchanged),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_fwrite),
		cmocka_unit_test(test_error_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
