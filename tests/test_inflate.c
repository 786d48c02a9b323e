/*
 * Unit tests for the guest's raw DEFLATE decoder.  zlib is the reference:
 * streams it makes must come back byte for byte, and on any input, good
 * or damaged, inflate_raw() must say what zlib says when called the way
 * qemu calls it for a compressed qcow2 cluster.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "inflate.h"

#define KiB		1024u
#define MiB		(1024u * KiB)
#define GUARD		64	/* canary bytes after every output buffer */
#define CANARY		0xa5

/* xorshift64*: reproducible data and damage from a seed. */
static uint64_t
rnd_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	assert_non_null(p);
	return p;
}

enum data_kind { DATA_RANDOM, DATA_TEXT, DATA_RUNS, DATA_ZERO, DATA_MIXED };

/* Test data of a kind: none of it, some of it, or all of it compresses. */
static void
fill(uint8_t *p, size_t n, enum data_kind kind, uint64_t seed)
{
	static const char *const words[] = {
		"qcow2 ", "cluster ", "refcount ", "table ", "backing ",
		"snapshot ", "L2 ", "compressed ", "the ", "a ", "\n",
	};
	uint64_t s = seed | 1;
	size_t i = 0, k, run;
	const char *w;
	uint8_t b;

	while (i < n) {
		switch (kind) {
		case DATA_RANDOM:
			p[i++] = (uint8_t)rnd_next(&s);
			break;
		case DATA_TEXT:
			w = words[rnd_next(&s) % (sizeof(words) /
			    sizeof(words[0]))];
			for (k = 0; w[k] != '\0' && i < n; k++)
				p[i++] = (uint8_t)w[k];
			break;
		case DATA_RUNS:
			b = (uint8_t)rnd_next(&s);
			run = 1 + rnd_next(&s) % 300;
			for (k = 0; k < run && i < n; k++)
				p[i++] = b;
			break;
		case DATA_ZERO:
			p[i++] = 0;
			break;
		case DATA_MIXED:
			/* Stretches of each, so blocks change their codes. */
			run = 1 + rnd_next(&s) % 5000;
			if (run > n - i)
				run = n - i;
			fill(p + i, run, (enum data_kind)(rnd_next(&s) % 4),
			    rnd_next(&s));
			i += run;
			break;
		}
	}
}

/* Raw deflate with zlib; returns the compressed length. */
static size_t
zdeflate(const uint8_t *in, size_t len, uint8_t **outp, int level,
    int strategy, int wbits)
{
	z_stream z;
	size_t cap;
	uint8_t *out;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, wbits, 9,
	    strategy), Z_OK);
	cap = deflateBound(&z, len);
	out = xmalloc(cap);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(deflateEnd(&z), Z_OK);
	*outp = out;
	return cap - z.avail_out;
}

/* What qemu's qcow2_zlib_decompress() makes of in: 0 or -1. */
static int
zref(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	assert_int_equal(inflateInit2(&z, -12), Z_OK);
	ret = inflate(&z, Z_FINISH);
	ret = (ret == Z_STREAM_END || ret == Z_BUF_ERROR) &&
	    z.avail_out == 0 ? 0 : -1;
	inflateEnd(&z);
	return ret;
}

/*
 * inflate_raw() over an exact-size copy of in (so ASan sees any read
 * past it) into a buffer with canaries after out_len; the canaries must
 * survive.  Returns what inflate_raw() returned.
 */
static int
run_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	uint8_t *icopy = xmalloc(in_len), *obuf = xmalloc(out_len + GUARD);
	size_t i;
	int ret;

	if (in_len > 0)
		memcpy(icopy, in, in_len);
	memset(obuf, CANARY, out_len + GUARD);
	ret = inflate_raw(icopy, in_len, obuf, out_len);
	for (i = 0; i < GUARD; i++)
		if (obuf[out_len + i] != CANARY)
			fail_msg("wrote past out_len at +%zu", i);
	assert_true(ret == 0 || ret == -1);
	if (out != NULL)
		memcpy(out, obuf, out_len);
	free(icopy);
	free(obuf);
	return ret;
}

/* inflate_raw() and zlib agree on in, and on the bytes when both succeed. */
static int
agree(const uint8_t *in, size_t in_len, size_t out_len)
{
	uint8_t *a = xmalloc(out_len), *b = xmalloc(out_len);
	int ra, rb;

	ra = run_inflate(in, in_len, a, out_len);
	rb = zref(in, in_len, b, out_len);
	if (ra != rb)
		fail_msg("inflate_raw %d, zlib %d (in %zu, out %zu)", ra, rb,
		    in_len, out_len);
	if (ra == 0 && memcmp(a, b, out_len) != 0)
		fail_msg("output differs from zlib's");
	free(a);
	free(b);
	return ra;
}

/* Compress, then inflate_raw() must give the data back exactly. */
static void
roundtrip(size_t len, enum data_kind kind, uint64_t seed, int level,
    int strategy, int wbits)
{
	uint8_t *data = xmalloc(len), *comp, *back = xmalloc(len);
	size_t clen;

	fill(data, len, kind, seed);
	clen = zdeflate(data, len, &comp, level, strategy, wbits);
	if (run_inflate(comp, clen, back, len) != 0)
		fail_msg("len %zu kind %d level %d strategy %d: failed", len,
		    (int)kind, level, strategy);
	if (memcmp(data, back, len) != 0)
		fail_msg("len %zu kind %d level %d strategy %d: differs", len,
		    (int)kind, level, strategy);
	free(data);
	free(comp);
	free(back);
}

static const size_t sizes[] = { 512, 4 * KiB, 64 * KiB, 2 * MiB };
#define NSIZES	(sizeof(sizes) / sizeof(sizes[0]))

static void
test_levels(void **state)
{
	int level, kind;
	size_t i;

	(void)state;
	for (i = 0; i < NSIZES; i++)
		for (level = 0; level <= 9; level++)
			for (kind = DATA_RANDOM; kind <= DATA_MIXED; kind++)
				roundtrip(sizes[i], (enum data_kind)kind,
				    i * 100 + (size_t)level, level,
				    Z_DEFAULT_STRATEGY, -12);
}

static void
test_strategies(void **state)
{
	static const int strategies[] = {
		Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED
	};
	static const int levels[] = { 1, 6, 9 };
	size_t i, j, k;
	int kind;

	(void)state;
	for (i = 0; i < NSIZES; i++)
		for (j = 0; j < 4; j++)
			for (k = 0; k < 3; k++)
				for (kind = DATA_RANDOM; kind <= DATA_MIXED;
				    kind++)
					roundtrip(sizes[i],
					    (enum data_kind)kind, i + j + k,
					    levels[k], strategies[j], -12);
}

/*
 * Blocks of every kind after one another: the strategy changes between
 * pieces of input, and flushes cut blocks short (down to empty stored
 * ones), so fixed blocks follow dynamic ones and the other way round.
 */
static void
test_block_mix(void **state)
{
	static const int strategies[] = {
		Z_DEFAULT_STRATEGY, Z_FIXED, Z_HUFFMAN_ONLY, Z_RLE, Z_FILTERED
	};
	static const int flushes[] = {
		Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_PARTIAL_FLUSH, Z_BLOCK
	};
	size_t len = 512 * KiB, cap, off, n, clen;
	uint8_t *data = xmalloc(len), *comp, *back = xmalloc(len);
	uint64_t seed, s;
	z_stream z;

	(void)state;
	for (seed = 1; seed <= 8; seed++) {
		s = seed;
		fill(data, len, DATA_MIXED, seed);
		memset(&z, 0, sizeof(z));
		assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -12, 9,
		    Z_DEFAULT_STRATEGY), Z_OK);
		cap = 2 * deflateBound(&z, len);
		comp = xmalloc(cap);
		z.next_out = comp;
		z.avail_out = (uInt)cap;
		for (off = 0; off < len; off += n) {
			n = 1 + rnd_next(&s) % (seed < 4 ? 64 : 8 * KiB);
			if (n > len - off)
				n = len - off;
			assert_int_equal(deflateParams(&z,
			    1 + (int)(rnd_next(&s) % 9),
			    strategies[rnd_next(&s) % 5]), Z_OK);
			z.next_in = data + off;
			z.avail_in = (uInt)n;
			assert_int_equal(deflate(&z, flushes[rnd_next(&s) % 5]),
			    Z_OK);
			assert_int_equal(z.avail_in, 0);
		}
		assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
		clen = cap - z.avail_out;
		assert_int_equal(deflateEnd(&z), Z_OK);
		assert_int_equal(run_inflate(comp, clen, back, len), 0);
		assert_memory_equal(data, back, len);
		assert_int_equal(agree(comp, clen, len), 0);
		free(comp);
	}
	free(data);
	free(back);
}

/* qemu writes with a 4 KiB window; a 32 KiB one must decode too. */
static void
test_far_distances(void **state)
{
	size_t len = 256 * KiB, off;
	uint8_t *data = xmalloc(len), *comp, *back = xmalloc(len);
	size_t clen;

	(void)state;
	/* 20 KiB of noise, repeated: every match is about 20 KiB back. */
	fill(data, 20 * KiB, DATA_RANDOM, 7);
	for (off = 20 * KiB; off < len; off++)
		data[off] = data[off - 20 * KiB];
	clen = zdeflate(data, len, &comp, 9, Z_DEFAULT_STRATEGY, -15);
	assert_true(clen < len / 4);
	assert_int_equal(run_inflate(comp, clen, back, len), 0);
	assert_memory_equal(data, back, len);
	assert_int_equal(agree(comp, clen, len), 0);
	free(comp);
	roundtrip(2 * MiB, DATA_MIXED, 8, 9, Z_DEFAULT_STRATEGY, -15);
	roundtrip(2 * MiB, DATA_TEXT, 9, 9, Z_DEFAULT_STRATEGY, -15);
	free(data);
	free(back);
}

/*
 * qemu reads a compressed cluster with the rest of its last sector and
 * stops once the cluster is full: trailing bytes, or more stream, are
 * not looked at.
 */
static void
test_output_full(void **state)
{
	size_t len = 64 * KiB, clen, i;
	uint8_t *data = xmalloc(len), *comp, *in, *back = xmalloc(len);
	uint64_t s = 3;

	(void)state;
	fill(data, len, DATA_MIXED, 11);
	clen = zdeflate(data, len, &comp, 6, Z_DEFAULT_STRATEGY, -12);
	in = xmalloc(clen + 512);
	memcpy(in, comp, clen);
	for (i = 0; i < 512; i++)
		in[clen + i] = (uint8_t)rnd_next(&s);
	assert_int_equal(run_inflate(in, clen + 512, back, len), 0);
	assert_memory_equal(data, back, len);
	assert_int_equal(agree(in, clen + 512, len), 0);

	/* Any prefix of the output: the stream goes on past it. */
	for (i = 0; i <= len; i += 997) {
		assert_int_equal(run_inflate(comp, clen, back, i), 0);
		assert_memory_equal(data, back, i);
		assert_int_equal(agree(comp, clen, i), 0);
	}
	free(data);
	free(comp);
	free(in);
	free(back);
}

/* A stream that ends before the output is full is an error. */
static void
test_stream_ends_early(void **state)
{
	size_t len = 8 * KiB, clen;
	uint8_t *data = xmalloc(len), *comp;
	int level;

	(void)state;
	for (level = 0; level <= 9; level += 3) {
		fill(data, len, DATA_TEXT, 5);
		clen = zdeflate(data, len, &comp, level, Z_DEFAULT_STRATEGY,
		    -12);
		assert_int_equal(run_inflate(comp, clen, NULL, len + 1), -1);
		assert_int_equal(run_inflate(comp, clen, NULL, 2 * len), -1);
		assert_int_equal(agree(comp, clen, len + 1), -1);
		free(comp);
	}
	free(data);
}

/*
 * Cut short, the input cannot fill the output.  Noise compresses to
 * more than itself, so even the last few bytes of its stream matter; for
 * other data, cuts near the end may still fill the output, and then zlib
 * says which.
 */
static void
test_truncated(void **state)
{
	static const int kinds[] = { DATA_RANDOM, DATA_TEXT, DATA_RUNS };
	size_t len = 4 * KiB, clen, cut, k;
	uint8_t *data = xmalloc(len), *comp;
	int level;

	(void)state;
	for (level = 0; level <= 9; level += 9) {
		fill(data, len, DATA_RANDOM, 13);
		clen = zdeflate(data, len, &comp, level, Z_DEFAULT_STRATEGY,
		    -12);
		for (cut = 0; cut + 4 <= clen; cut++)
			assert_int_equal(run_inflate(comp, cut, NULL, len),
			    -1);
		free(comp);
	}
	for (k = 0; k < 3; k++) {
		fill(data, len, (enum data_kind)kinds[k], 17);
		clen = zdeflate(data, len, &comp, 6, Z_DEFAULT_STRATEGY, -12);
		for (cut = 0; cut < clen; cut++)
			agree(comp, cut, len);
		assert_int_equal(agree(comp, clen / 2, len), -1);
		free(comp);
	}
	free(data);
}

/*
 * Flip bits of good streams: whatever happens, nothing is read or
 * written out of bounds, success means a full buffer, and zlib agrees.
 */
static void
test_bit_flips(void **state)
{
	static const int strategies[] = {
		Z_DEFAULT_STRATEGY, Z_FIXED, Z_HUFFMAN_ONLY, Z_RLE
	};
	uint64_t seed, s;
	size_t len, clen, i, nflip;
	uint8_t *data, *comp;
	int ok = 0;

	(void)state;
	for (seed = 1; seed <= 3000; seed++) {
		s = seed;
		len = 256 + rnd_next(&s) % (16 * KiB);
		data = xmalloc(len);
		fill(data, len, (enum data_kind)(seed % 5), seed);
		clen = zdeflate(data, len, &comp, (int)(seed % 10),
		    strategies[seed / 5 % 4], -12);
		nflip = 1 + rnd_next(&s) % 4;
		for (i = 0; i < nflip; i++)
			comp[rnd_next(&s) % clen] ^=
			    (uint8_t)(1u << rnd_next(&s) % 8);
		if (agree(comp, clen, len) == 0)
			ok++;
		free(data);
		free(comp);
	}
	/* Some damage goes unnoticed (a flipped literal); most does not. */
	print_message("bit flips: %d of 3000 still decode\n", ok);
}

/* Noise as input, with and without a plausible first block header. */
static void
test_noise(void **state)
{
	uint8_t in[2048];
	uint64_t seed, s;
	size_t len, i;

	(void)state;
	for (seed = 1; seed <= 20000; seed++) {
		s = seed;
		len = rnd_next(&s) % sizeof(in);
		for (i = 0; i < len; i++)
			in[i] = (uint8_t)rnd_next(&s);
		/* Mostly dynamic blocks: the header parser sees the most. */
		if (len > 0 && seed % 4 != 0)
			in[0] = (uint8_t)((in[0] & ~6u) | 4u);
		agree(in, len, 1 + rnd_next(&s) % (8 * KiB));
		agree(in, len, rnd_next(&s) % 8);
	}
}

/* ---- hand-made streams ---- */

/* Bits, first bit lowest, as DEFLATE packs them. */
struct bw {
	uint8_t buf[512];
	size_t nbits;
};

static void
put(struct bw *w, unsigned v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++, w->nbits++) {
		assert_true(w->nbits / 8 < sizeof(w->buf));
		if (i < 32 && (v >> i & 1))
			w->buf[w->nbits / 8] |= (uint8_t)(1u << w->nbits % 8);
	}
}

/* A Huffman code goes most significant bit first. */
static void
put_code(struct bw *w, unsigned code, unsigned len)
{
	while (len-- > 0)
		put(w, code >> len & 1, 1);
}

static size_t
bw_len(const struct bw *w)
{
	return (w->nbits + 7) / 8;
}

/* A literal/length symbol of the fixed code. */
static void
put_fixed(struct bw *w, unsigned sym)
{
	if (sym < 144)
		put_code(w, 0x30 + sym, 8);
	else if (sym < 256)
		put_code(w, 0x190 + sym - 144, 9);
	else if (sym < 280)
		put_code(w, sym - 256, 7);
	else
		put_code(w, 0xc0 + sym - 280, 8);
}

/* The stream's verdict, which zlib must share. */
static int
verdict(const struct bw *w, size_t out_len)
{
	return agree(w->buf, bw_len(w), out_len);
}

static void
test_block_type_3(void **state)
{
	struct bw w;

	(void)state;
	memset(&w, 0, sizeof(w));
	put(&w, 1, 1);
	put(&w, 3, 2);
	put(&w, 0, 16);
	assert_int_equal(verdict(&w, 1), -1);
	assert_int_equal(verdict(&w, 0), -1);
}

static void
stored_block(struct bw *w, int last, unsigned len, unsigned nlen,
    const char *bytes)
{
	unsigned i;

	put(w, (unsigned)last, 1);
	put(w, 0, 2);
	w->nbits = (w->nbits + 7) / 8 * 8;
	put(w, len, 16);
	put(w, nlen, 16);
	for (i = 0; i < len; i++)
		put(w, (uint8_t)bytes[i], 8);
}

static void
test_stored(void **state)
{
	uint8_t out[16];
	struct bw w;

	(void)state;
	/* Good: two blocks, an empty one between. */
	memset(&w, 0, sizeof(w));
	stored_block(&w, 0, 3, 0xfffc, "abc");
	stored_block(&w, 0, 0, 0xffff, "");
	stored_block(&w, 1, 2, 0xfffd, "de");
	assert_int_equal(run_inflate(w.buf, bw_len(&w), out, 5), 0);
	assert_memory_equal(out, "abcde", 5);
	assert_int_equal(verdict(&w, 5), 0);
	assert_int_equal(verdict(&w, 4), 0);
	assert_int_equal(verdict(&w, 6), -1);

	/* NLEN is not LEN's complement. */
	memset(&w, 0, sizeof(w));
	stored_block(&w, 1, 3, 0x0003, "abc");
	assert_int_equal(verdict(&w, 3), -1);
	memset(&w, 0, sizeof(w));
	stored_block(&w, 1, 3, 0xfffd, "abc");
	assert_int_equal(verdict(&w, 3), -1);

	/* LEN past the end of the input. */
	memset(&w, 0, sizeof(w));
	stored_block(&w, 1, 5, 0xfffa, "abcde");
	assert_int_equal(agree(w.buf, bw_len(&w) - 1, 5), -1);
	assert_int_equal(agree(w.buf, bw_len(&w) - 1, 4), 0);
}

static void
test_fixed(void **state)
{
	uint8_t out[16];
	struct bw w;

	(void)state;
	/* "ab", then 6 bytes from 2 back (length 257, distance code 1). */
	memset(&w, 0, sizeof(w));
	put(&w, 1, 1);
	put(&w, 1, 2);
	put_fixed(&w, 'a');
	put_fixed(&w, 'b');
	put_fixed(&w, 260);
	put_code(&w, 1, 5);
	put_fixed(&w, 256);
	assert_int_equal(run_inflate(w.buf, bw_len(&w), out, 8), 0);
	assert_memory_equal(out, "abababab", 8);
	assert_int_equal(verdict(&w, 8), 0);

	/* Distance 3 with two bytes out: before the start of the output. */
	memset(&w, 0, sizeof(w));
	put(&w, 1, 1);
	put(&w, 1, 2);
	put_fixed(&w, 'a');
	put_fixed(&w, 'b');
	put_fixed(&w, 260);
	put_code(&w, 2, 5);
	put_fixed(&w, 256);
	assert_int_equal(verdict(&w, 8), -1);
	/* ... unless the output is already full, when it is never used. */
	assert_int_equal(verdict(&w, 2), 0);
}

/* Fixed-code symbols that exist but mean nothing. */
static void
test_fixed_invalid_symbols(void **state)
{
	static const unsigned litlen[] = { 286, 287 };
	static const unsigned dist[] = { 30, 31 };
	struct bw w;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		memset(&w, 0, sizeof(w));
		put(&w, 1, 1);
		put(&w, 1, 2);
		put_fixed(&w, 'a');
		put_fixed(&w, litlen[i]);
		put_code(&w, 0, 5);
		put_fixed(&w, 256);
		assert_int_equal(verdict(&w, 4), -1);
		/* Even with the output full: zlib checks the code first. */
		assert_int_equal(verdict(&w, 1), -1);

		memset(&w, 0, sizeof(w));
		put(&w, 1, 1);
		put(&w, 1, 2);
		put_fixed(&w, 'a');
		put_fixed(&w, 257);
		put_code(&w, dist[i], 5);
		put_fixed(&w, 256);
		assert_int_equal(verdict(&w, 4), -1);
		assert_int_equal(verdict(&w, 1), -1);
	}
}

/*
 * A dynamic block header, spelled out: the code length code (a length
 * for each of its 19 symbols) and the code length symbols it codes, each
 * with the extra bits a repeat (16, 17, 18) takes.
 */
struct dyn {
	unsigned nlen, ndist;
	uint8_t clens[19];		/* code length code, by symbol */
	unsigned syms[400];		/* code length symbols */
	unsigned extra[400];		/* their extra bits, if repeats */
	size_t nsyms;
};

static const uint8_t order[19] = {
	16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15
};

/* Canonical codes for lens[0..n) (a test-side builder). */
static void
canon(const uint8_t *lens, size_t n, unsigned *codes)
{
	unsigned count[16] = { 0 }, next[16], code = 0, len;
	size_t s;

	for (s = 0; s < n; s++)
		count[lens[s]]++;
	count[0] = 0;
	for (len = 1; len < 16; len++) {
		code = (code + count[len - 1]) << 1;
		next[len] = code;
	}
	for (s = 0; s < n; s++)
		if (lens[s] != 0)
			codes[s] = next[lens[s]]++;
}

static void
put_dyn_header(struct bw *w, const struct dyn *d)
{
	unsigned ccodes[19];
	size_t i;
	unsigned sym;

	canon(d->clens, 19, ccodes);
	put(w, d->nlen - 257, 5);
	put(w, d->ndist - 1, 5);
	put(w, 19 - 4, 4);
	for (i = 0; i < 19; i++)
		put(w, d->clens[order[i]], 3);
	for (i = 0; i < d->nsyms; i++) {
		sym = d->syms[i];
		put_code(w, ccodes[sym], d->clens[sym]);
		if (sym == 16)
			put(w, d->extra[i], 2);
		else if (sym == 17)
			put(w, d->extra[i], 3);
		else if (sym == 18)
			put(w, d->extra[i], 7);
	}
}

/* A code length code where symbols 0..15 take 4 bits and 16..18 none. */
static void
dyn_init(struct dyn *d, unsigned nlen, unsigned ndist)
{
	unsigned i;

	memset(d, 0, sizeof(*d));
	d->nlen = nlen;
	d->ndist = ndist;
	for (i = 0; i < 16; i++)
		d->clens[i] = 4;
}

static void
dyn_len(struct dyn *d, unsigned len)
{
	assert_true(d->nsyms < 400);
	d->syms[d->nsyms++] = len;
}

/* Literal/length lengths: 'a' and 'b' 2 bits, 256 and 257 2 bits. */
static void
dyn_simple_lits(struct dyn *d)
{
	unsigned s;

	for (s = 0; s < d->nlen; s++)
		dyn_len(d, s == 'a' || s == 'b' || s == 256 || s == 257 ? 2 :
		    0);
}

/* Codes for dyn_simple_lits(): a=00, b=01, 256=10, 257=11. */
static void
dyn_put_lit(struct bw *w, unsigned sym)
{
	put_code(w, sym == 'a' ? 0 : sym == 'b' ? 1 : sym == 256 ? 2 : 3, 2);
}

static void
dyn_start(struct bw *w, const struct dyn *d)
{
	memset(w, 0, sizeof(*w));
	put(w, 1, 1);
	put(w, 2, 2);
	put_dyn_header(w, d);
}

static void
test_dynamic_good(void **state)
{
	uint8_t out[8];
	struct dyn d;
	struct bw w;
	unsigned s;

	(void)state;
	/* One distance code of one bit: incomplete, allowed. */
	dyn_init(&d, 258, 1);
	dyn_simple_lits(&d);
	dyn_len(&d, 1);
	dyn_start(&w, &d);
	dyn_put_lit(&w, 'a');
	dyn_put_lit(&w, 'b');
	dyn_put_lit(&w, 257);		/* length 3 */
	put_code(&w, 0, 1);		/* distance 1 */
	dyn_put_lit(&w, 256);
	assert_int_equal(run_inflate(w.buf, bw_len(&w), out, 5), 0);
	assert_memory_equal(out, "abbbb", 5);
	assert_int_equal(verdict(&w, 5), 0);

	/* ... but its unused pattern is an invalid distance code. */
	dyn_start(&w, &d);
	dyn_put_lit(&w, 'a');
	dyn_put_lit(&w, 257);
	put_code(&w, 1, 1);
	dyn_put_lit(&w, 256);
	assert_int_equal(verdict(&w, 4), -1);

	/* No distance codes at all: fine while no match needs one. */
	dyn_init(&d, 258, 1);
	dyn_simple_lits(&d);
	dyn_len(&d, 0);
	dyn_start(&w, &d);
	dyn_put_lit(&w, 'b');
	dyn_put_lit(&w, 'a');
	dyn_put_lit(&w, 256);
	assert_int_equal(run_inflate(w.buf, bw_len(&w), out, 2), 0);
	assert_memory_equal(out, "ba", 2);
	assert_int_equal(verdict(&w, 2), 0);
	dyn_start(&w, &d);
	dyn_put_lit(&w, 'b');
	dyn_put_lit(&w, 257);
	put(&w, 0, 1);
	dyn_put_lit(&w, 256);
	assert_int_equal(verdict(&w, 4), -1);

	/* Only an end-of-block code, of one bit: an empty block. */
	dyn_init(&d, 257, 1);
	for (s = 0; s < 257; s++)
		dyn_len(&d, s == 256 ? 1 : 0);
	dyn_len(&d, 0);
	dyn_start(&w, &d);
	put_code(&w, 0, 1);
	assert_int_equal(verdict(&w, 0), 0);
	assert_int_equal(verdict(&w, 1), -1);
}

/* The header says more symbols than there can be. */
static void
test_dynamic_too_many(void **state)
{
	struct bw w;

	(void)state;
	memset(&w, 0, sizeof(w));
	put(&w, 1, 1);
	put(&w, 2, 2);
	put(&w, 29, 5);			/* 286 literal/lengths: fine */
	put(&w, 30, 5);			/* 31 distances: too many */
	put(&w, 0, 4);
	put(&w, 0, 32);
	/* With out full, running out later would be fine: this is not. */
	assert_int_equal(verdict(&w, 0), -1);
	assert_int_equal(verdict(&w, 1), -1);
	memset(&w, 0, sizeof(w));
	put(&w, 1, 1);
	put(&w, 2, 2);
	put(&w, 30, 5);			/* 287 literal/lengths */
	put(&w, 0, 5);
	put(&w, 0, 4);
	put(&w, 0, 32);
	assert_int_equal(verdict(&w, 0), -1);
	assert_int_equal(verdict(&w, 1), -1);
}

static void
test_dynamic_bad_code_lengths(void **state)
{
	struct dyn d;
	struct bw w;
	unsigned i;

	(void)state;
	/* Code length code over-subscribed: 17 codes of 4 bits. */
	dyn_init(&d, 258, 1);
	d.clens[16] = 4;
	dyn_simple_lits(&d);
	dyn_len(&d, 1);
	dyn_start(&w, &d);
	dyn_put_lit(&w, 256);
	assert_int_equal(verdict(&w, 0), -1);

	/* Code length code incomplete: 15 codes of 4 bits. */
	dyn_init(&d, 258, 1);
	d.clens[15] = 0;
	dyn_simple_lits(&d);
	dyn_len(&d, 1);
	dyn_start(&w, &d);
	dyn_put_lit(&w, 256);
	assert_int_equal(verdict(&w, 0), -1);

	/* A single one-bit code length code: incomplete, never allowed. */
	memset(&w, 0, sizeof(w));
	put(&w, 1, 1);
	put(&w, 2, 2);
	put(&w, 0, 5);
	put(&w, 0, 5);
	put(&w, 15, 4);
	for (i = 0; i < 19; i++)
		put(&w, order[i] == 1 ? 1 : 0, 3);
	put(&w, 0, 300);
	assert_int_equal(verdict(&w, 0), -1);

	/*
	 * Code length code empty: zlib reads each bit as a zero length and
	 * finds no end-of-block only once it has all 258 of them: the 74
	 * header bits and 254 more are 41 bytes, 4 short.
	 */
	memset(&w, 0, sizeof(w));
	put(&w, 1, 1);
	put(&w, 2, 2);
	put(&w, 0, 5);
	put(&w, 0, 5);
	put(&w, 15, 4);
	put(&w, 0, 57);
	put(&w, 0, 254);
	assert_int_equal(verdict(&w, 0), 0);
	put(&w, 0, 8);
	assert_int_equal(verdict(&w, 0), -1);
	assert_int_equal(verdict(&w, 1), -1);
}

static void
test_dynamic_bad_repeats(void **state)
{
	struct dyn d;
	struct bw w;
	unsigned s;

	(void)state;
	/* Repeat the previous length with none before it. */
	dyn_init(&d, 258, 1);
	d.clens[16] = 4;
	d.clens[15] = 0;
	dyn_len(&d, 16);
	dyn_simple_lits(&d);
	dyn_start(&w, &d);
	assert_int_equal(verdict(&w, 0), -1);

	/* Zeros past the last length (17 and 18). */
	for (s = 17; s <= 18; s++) {
		dyn_init(&d, 258, 1);
		d.clens[s] = 4;
		d.clens[14] = 0;
		dyn_simple_lits(&d);
		dyn_len(&d, s);
		d.extra[d.nsyms - 1] = 3;	/* 6 or 14 zeros, room for 1 */
		dyn_start(&w, &d);
		dyn_put_lit(&w, 256);
		assert_int_equal(verdict(&w, 0), -1);
	}

	/* A repeat that ends exactly at the last length is fine. */
	dyn_init(&d, 258, 3);
	d.clens[17] = 4;
	d.clens[14] = 0;
	dyn_simple_lits(&d);
	dyn_len(&d, 17);
	d.extra[d.nsyms - 1] = 0;
	dyn_start(&w, &d);
	dyn_put_lit(&w, 'a');
	dyn_put_lit(&w, 256);
	assert_int_equal(verdict(&w, 1), 0);
	assert_int_equal(verdict(&w, 2), -1);
}

static void
test_dynamic_bad_codes(void **state)
{
	struct dyn d;
	struct bw w;
	unsigned s;

	(void)state;
	/* No end-of-block code. */
	dyn_init(&d, 258, 1);
	for (s = 0; s < 258; s++)
		dyn_len(&d, s == 'a' || s == 'b' || s == 'c' ||
		    s == 257 ? 2 : 0);
	dyn_len(&d, 1);
	dyn_start(&w, &d);
	put(&w, 0, 16);
	assert_int_equal(verdict(&w, 0), -1);

	/* Literal/length code over-subscribed: five 2-bit codes. */
	dyn_init(&d, 258, 1);
	for (s = 0; s < 258; s++)
		dyn_len(&d, s == 'a' || s == 'b' || s == 'c' ||
		    s == 256 || s == 257 ? 2 : 0);
	dyn_len(&d, 1);
	dyn_start(&w, &d);
	put(&w, 0, 16);
	assert_int_equal(verdict(&w, 0), -1);

	/* Literal/length code incomplete: three 2-bit codes. */
	dyn_init(&d, 258, 1);
	for (s = 0; s < 258; s++)
		dyn_len(&d, s == 'a' || s == 256 || s == 257 ? 2 : 0);
	dyn_len(&d, 1);
	dyn_start(&w, &d);
	put(&w, 0, 16);
	assert_int_equal(verdict(&w, 0), -1);

	/* Distance code over-subscribed, and incomplete beyond one bit. */
	dyn_init(&d, 258, 3);
	dyn_simple_lits(&d);
	dyn_len(&d, 1);
	dyn_len(&d, 1);
	dyn_len(&d, 1);
	dyn_start(&w, &d);
	dyn_put_lit(&w, 256);
	assert_int_equal(verdict(&w, 0), -1);
	dyn_init(&d, 258, 3);
	dyn_simple_lits(&d);
	dyn_len(&d, 1);
	dyn_len(&d, 2);
	dyn_len(&d, 2);
	dyn_start(&w, &d);
	dyn_put_lit(&w, 256);
	assert_int_equal(verdict(&w, 0), 0);
	dyn_init(&d, 258, 3);
	dyn_simple_lits(&d);
	dyn_len(&d, 2);
	dyn_len(&d, 2);
	dyn_len(&d, 0);
	dyn_start(&w, &d);
	dyn_put_lit(&w, 256);
	assert_int_equal(verdict(&w, 0), -1);
}

/*
 * With the output full, zlib still reads on to the next byte the stream
 * would produce: a bad block header on the way is an error, running out
 * of input is not.
 */
static void
test_full_then_more(void **state)
{
	struct bw w;

	(void)state;
	memset(&w, 0, sizeof(w));
	stored_block(&w, 0, 2, 0xfffd, "ab");
	assert_int_equal(verdict(&w, 2), 0);
	put(&w, 1, 1);
	assert_int_equal(verdict(&w, 2), 0);	/* header cut short */
	put(&w, 3, 2);
	assert_int_equal(verdict(&w, 2), -1);	/* block type 3 */

	/* A further stored block with data: it ends the look. */
	memset(&w, 0, sizeof(w));
	stored_block(&w, 0, 2, 0xfffd, "ab");
	stored_block(&w, 0, 1, 0xfffe, "c");
	put(&w, 1, 1);
	put(&w, 3, 2);
	assert_int_equal(verdict(&w, 2), 0);
	assert_int_equal(verdict(&w, 3), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_strategies),
		cmocka_unit_test(test_block_mix),
		cmocka_unit_test(test_far_distances),
		cmocka_unit_test(test_output_full),
		cmocka_unit_test(test_stream_ends_early),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_noise),
		cmocka_unit_test(test_block_type_3),
		cmocka_unit_test(test_stored),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_fixed_invalid_symbols),
		cmocka_unit_test(test_dynamic_good),
		cmocka_unit_test(test_dynamic_too_many),
		cmocka_unit_test(test_dynamic_bad_code_lengths),
		cmocka_unit_test(test_dynamic_bad_repeats),
		cmocka_unit_test(test_dynamic_bad_codes),
		cmocka_unit_test(test_full_then_more),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
