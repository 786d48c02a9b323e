/*
 * Raw DEFLATE (RFC 1951), written for the guest: no allocation, no
 * mutable globals, about 4 KiB of stack.  A Huffman code decodes through
 * a table indexed by the next FAST_BITS input bits; the rare longer code
 * falls back to walking the canonical code a bit at a time.
 *
 * On malformed input the result is what zlib's inflate() gives qemu (see
 * inflate.h), down to which damage is an error and which only running out
 * of input once the output is full.  Each step therefore asks for exactly
 * the bits zlib would ask for before it judges them.
 */
#include "inflate.h"

#define MAXBITS		15	/* longest code (RFC 1951 3.2.7) */
#define NLITLEN		288	/* literal/length symbols, two never valid */
#define NDIST		32	/* distance symbols, two never valid */
#define NCLEN		19	/* code length code symbols */
#define MAXLITLEN	286	/* the most literal/length lengths zlib takes */
#define MAXDIST		30	/* the most distance lengths zlib takes */
#define EOB		256	/* end-of-block symbol */

/*
 * 9 bits cover nearly every literal/length code real streams use, and
 * two tables of that size keep the decoder's stack small.  A code whose
 * longest code is shorter gets a table only that wide: a hostile stream
 * of tiny blocks then cannot make each block cost a full table.
 */
#define FAST_BITS	9
#define FAST_SIZE	(1u << FAST_BITS)

/*
 * A fast table entry is a symbol and its code length; length 0 means the
 * code is longer than FAST_BITS.  SYM_INVALID is a bit pattern that an
 * incomplete code leaves unused; zlib spends one bit to find it invalid.
 */
#define ENT_SYMBITS	9
#define ENT_SYMMASK	((1u << ENT_SYMBITS) - 1)
#define SYM_INVALID	ENT_SYMMASK
#define ENT(sym, len)	((uint16_t)((sym) | (unsigned)(len) << ENT_SYMBITS))

struct huff {
	uint16_t	fast[FAST_SIZE];	/* next bits & mask -> entry */
	unsigned	mask;			/* the table's size - 1 */
	uint16_t	count[MAXBITS + 1];	/* how many codes of each length */
	uint16_t	sym[NLITLEN];		/* symbols in canonical order */
};

/*
 * The input as a bit stream, first bit lowest in buf.  Bits of buf above
 * cnt are either the input's next bits or zero past its end, never stale,
 * so a code can be looked up before it is known to be all there.
 */
struct bits {
	const uint8_t	*in;
	size_t		 in_len;
	size_t		 in_pos;	/* first byte not yet counted in buf */
	uint64_t	 buf;
	unsigned	 cnt;
};

struct inflate_ctx {
	struct bits	 br;
	uint8_t		*out;
	size_t		 out_len;
	size_t		 out_pos;
	struct huff	 lit;		/* also the code length code */
	struct huff	 dist;
	int		 have_fixed;	/* lit and dist hold the fixed codes */
};

/* How a step ended. */
enum {
	R_OK,		/* go on */
	R_END,		/* the final block is done */
	R_FULL,		/* output full, and the stream wants to add to it */
	R_SHORT,	/* the input ran out */
	R_BAD		/* the stream is malformed */
};

static const uint16_t len_base[29] = {
	3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258
};
static const uint8_t len_extra[29] = {
	0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
	3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0
};
static const uint16_t dist_base[30] = {
	1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
	257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
	8193, 12289, 16385, 24577
};
static const uint8_t dist_extra[30] = {
	0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
	7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13
};
/* The order code length code lengths come in (RFC 1951 3.2.7). */
static const uint8_t clen_order[NCLEN] = {
	16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15
};

/* Top up buf to at least 56 bits, or with all the input that is left. */
static inline void
refill(struct bits *b)
{
	if (b->in_len - b->in_pos >= 8) {
		/*
		 * One load; the bytes that do not fit whole land above cnt
		 * and are ORed in again, unchanged, next time.
		 */
		b->buf |= get_le64(b->in + b->in_pos) << b->cnt;
		b->in_pos += (63 - b->cnt) >> 3;
		b->cnt |= 56;
		return;
	}
	while (b->cnt <= 56 && b->in_pos < b->in_len) {
		b->buf |= (uint64_t)b->in[b->in_pos++] << b->cnt;
		b->cnt += 8;
	}
}

/* Whether n (<= 32) more bits are there. */
static inline int
need(struct bits *b, unsigned n)
{
	if (b->cnt < n) {
		refill(b);
		if (b->cnt < n)
			return 0;
	}
	return 1;
}

/* The next n bits, which need() has made sure of. */
static inline unsigned
take(struct bits *b, unsigned n)
{
	unsigned v = (unsigned)(b->buf & (((uint64_t)1 << n) - 1));

	b->buf >>= n;
	b->cnt -= n;
	return v;
}

/*
 * A code longer than FAST_BITS: walk the canonical code bit by bit over
 * the bits of buf (cnt of them real).  Its length goes to *len.  Taking
 * the bits by value lets the decoder keep its own in registers.
 */
static int
decode_long(uint64_t buf, unsigned cnt, const struct huff *h, unsigned *len)
{
	unsigned code = 0, first = 0, index = 0, l, n;

	for (l = 1; l <= MAXBITS; l++) {
		code |= (unsigned)(buf >> (l - 1)) & 1;
		n = h->count[l];
		/* Codes of this length are first .. first + n - 1. */
		if (code - first < n) {
			if (l > cnt)
				return -1;
			*len = l;
			return h->sym[index + (code - first)];
		}
		index += n;
		first = (first + n) << 1;
		code <<= 1;
	}
	/* build() admits no code with such a gap; refuse it all the same. */
	*len = 0;
	return SYM_INVALID;
}

/*
 * The next symbol of code h, SYM_INVALID for an unused bit pattern, or -1
 * when the input ends inside the code.  Past the input's end buf holds
 * zeros: a code that fits in what is left is the real one, and one that
 * does not cannot be told from the bits there are.
 */
static inline int
decode(struct bits *b, const struct huff *h)
{
	unsigned e, len = 0;
	int sym;

	if (b->cnt < MAXBITS)
		refill(b);
	e = h->fast[b->buf & h->mask];
	len = e >> ENT_SYMBITS;
	if (len == 0) {
		sym = decode_long(b->buf, b->cnt, h, &len);
		b->buf >>= len;
		b->cnt -= len;
		return sym;
	}
	if (len > b->cnt)
		return -1;
	b->buf >>= len;
	b->cnt -= len;
	return (int)(e & ENT_SYMMASK);
}

/*
 * Codes come first bit first, so tables are indexed by codes reversed.
 * Given one code of len bits, reversed, this is the next code of the
 * canonical order, reversed: one added at the top end, not the bottom.
 * When the next code is longer, it is that number with a zero appended,
 * which reversed is the same number, so the result carries over.
 */
static unsigned
next_rev(unsigned rev, unsigned len)
{
	unsigned bit = 1u << (len - 1);

	while (rev & bit)
		bit >>= 1;
	return bit == 0 ? 0 : (rev & (bit - 1)) + bit;
}

/*
 * The fast table of a code whose count[] and sym[] are set, max being
 * its longest code length (0 for a code with no symbols).
 */
static void
fill_fast(struct huff *h, unsigned max)
{
	unsigned len, i, j, k, rev, size;

	/* Whatever no code claims below stays invalid. */
	size = 1u << (max == 0 ? 1 : max < FAST_BITS ? max : FAST_BITS);
	h->mask = size - 1;
	for (i = 0; i < size; i++)
		h->fast[i] = ENT(SYM_INVALID, 1);
	rev = 0;
	i = 0;
	for (len = 1; len <= max; len++) {
		for (k = 0; k < h->count[len]; k++, i++) {
			if (len <= FAST_BITS) {
				/* Every index whose low len bits are the code. */
				for (j = rev; j < size; j += 1u << len)
					h->fast[j] = ENT(h->sym[i], len);
			} else {
				/* Its first FAST_BITS bits send it to the walk. */
				h->fast[rev & h->mask] = 0;
			}
			rev = next_rev(rev, len);
		}
	}
}

/*
 * Tables for the code that gives symbol s a code of lens[s] bits (0: not
 * used), n <= NLITLEN.  Returns -1 for a code zlib refuses: one that
 * over-subscribes, or one that leaves codes unused, unless incomplete_ok
 * and it is a single one-bit code.  A code with no symbols at all is
 * taken, as zlib takes it: every bit then decodes as SYM_INVALID.
 */
static int
build(struct huff *h, const uint8_t *lens, unsigned n, int incomplete_ok)
{
	uint16_t offs[MAXBITS + 1];
	unsigned len, s, max = 0;
	long left = 1;

	memset(h->count, 0, sizeof(h->count));
	for (s = 0; s < n; s++)
		h->count[lens[s]]++;
	for (len = 1; len <= MAXBITS; len++) {
		left = 2 * left - h->count[len];
		if (left < 0)
			return -1;
		if (h->count[len] != 0)
			max = len;
	}
	if (left > 0 && max != 0 && !(incomplete_ok && max == 1))
		return -1;

	/* Symbols sorted by code length, then by value: canonical order. */
	offs[1] = 0;
	for (len = 1; len < MAXBITS; len++)
		offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
	for (s = 0; s < n; s++)
		if (lens[s] != 0)
			h->sym[offs[lens[s]]++] = (uint16_t)s;
	fill_fast(h, max);
	return 0;
}

/* Symbols first .. first + n - 1, all with codes of len bits. */
struct run {
	uint16_t	first;
	uint16_t	n;
	uint8_t		len;
};

/*
 * The fixed codes of RFC 1951 3.2.6, as runs in canonical order.  Known
 * in advance, they need neither counting nor sorting: a hostile stream
 * that puts a fixed block after every dynamic one makes us build them
 * again and again.
 */
static const struct run fixed_lit[] = {
	{ 256, 24, 7 }, { 0, 144, 8 }, { 280, 8, 8 }, { 144, 112, 9 }
};
static const struct run fixed_dist[] = {
	{ 0, NDIST, 5 }
};

static void
build_runs(struct huff *h, const struct run *r, size_t nruns)
{
	unsigned i = 0, s, max = 0;

	memset(h->count, 0, sizeof(h->count));
	for (; nruns > 0; nruns--, r++) {
		h->count[r->len] = (uint16_t)(h->count[r->len] + r->n);
		for (s = r->first; s < r->first + r->n; s++)
			h->sym[i++] = (uint16_t)s;
		if (r->len > max)
			max = r->len;
	}
	fill_fast(h, max);
}

/*
 * Copy a match of len bytes from dist back, into out at *pos (out_len
 * bytes in all).  The bytes may overlap the ones being written (a run),
 * so this goes a byte at a time, forwards.  (Eight at a time where they
 * cannot overlap ran more instructions on text: its matches are short.)
 */
static inline int
copy_match(uint8_t *out, size_t out_len, size_t *pos, unsigned len,
    unsigned dist)
{
	size_t room = out_len - *pos, n = len, i;
	uint8_t *d;
	const uint8_t *s;

	if (room == 0)
		return R_FULL;
	/* Checked only once there is room, as zlib does. */
	if (dist > *pos)
		return R_BAD;
	if (n > room)
		n = room;
	d = out + *pos;
	s = d - dist;
	for (i = 0; i < n; i++)
		d[i] = s[i];
	*pos += n;
	return n < len ? R_FULL : R_OK;
}

/*
 * The symbols of one Huffman-coded block, up to its end-of-block.  The
 * bit stream and the output position are worked on in copies: stores of
 * output bytes may alias anything, and would otherwise send them back
 * to memory after every byte.
 */
static int
codes(struct inflate_ctx *c)
{
	struct bits b = c->br;
	uint8_t *out = c->out;
	size_t out_len = c->out_len, pos = c->out_pos;
	unsigned len, dist;
	int sym, r;

	for (;;) {
		sym = decode(&b, &c->lit);
		if (sym < 0) {
			r = R_SHORT;
			break;
		}
		if (sym < EOB) {
			if (pos == out_len) {
				r = R_FULL;
				break;
			}
			out[pos++] = (uint8_t)sym;
			continue;
		}
		r = R_OK;
		if (sym == EOB)
			break;
		/* Lengths 286 and 287, and unused patterns. */
		sym -= EOB + 1;
		r = R_BAD;
		if (sym >= 29)
			break;
		r = R_SHORT;
		if (!need(&b, len_extra[sym]))
			break;
		len = len_base[sym] + take(&b, len_extra[sym]);

		sym = decode(&b, &c->dist);
		if (sym < 0)
			break;
		r = R_BAD;
		if (sym >= MAXDIST)
			break;
		r = R_SHORT;
		if (!need(&b, dist_extra[sym]))
			break;
		dist = dist_base[sym] + take(&b, dist_extra[sym]);

		if ((r = copy_match(out, out_len, &pos, len, dist)) != R_OK)
			break;
	}
	c->br = b;
	c->out_pos = pos;
	return r;
}

/* A stored block: its length, the length's complement, the bytes. */
static int
stored(struct inflate_ctx *c)
{
	struct bits *b = &c->br;
	unsigned len, nlen;
	size_t room, n;

	/* cnt counts back from a byte boundary of the input. */
	take(b, b->cnt & 7);
	if (!need(b, 32))
		return R_SHORT;
	len = take(b, 16);
	nlen = take(b, 16);
	if (len != (~nlen & 0xffff))
		return R_BAD;

	/* Whole bytes already in buf come first. */
	while (len > 0 && b->cnt >= 8) {
		if (c->out_pos == c->out_len)
			return R_FULL;
		c->out[c->out_pos++] = (uint8_t)take(b, 8);
		len--;
	}
	if (len == 0)
		return R_OK;
	room = c->out_len - c->out_pos;
	if (room == 0)
		return R_FULL;
	n = len < room ? len : room;
	/* Short of input: the output cannot fill, so the rest is moot. */
	if (b->in_len - b->in_pos < n)
		return R_SHORT;
	memcpy(c->out + c->out_pos, b->in + b->in_pos, n);
	c->out_pos += n;
	b->in_pos += n;
	/* buf is empty; its bits past cnt were the bytes just copied. */
	b->buf = 0;
	return n < len ? R_FULL : R_OK;
}

/* A block with the fixed codes of RFC 1951 3.2.6. */
static int
fixed(struct inflate_ctx *c)
{
	/* Built once for a run of fixed blocks, however short they are. */
	if (!c->have_fixed) {
		build_runs(&c->lit, fixed_lit,
		    sizeof(fixed_lit) / sizeof(fixed_lit[0]));
		build_runs(&c->dist, fixed_dist,
		    sizeof(fixed_dist) / sizeof(fixed_dist[0]));
		c->have_fixed = 1;
	}
	return codes(c);
}

/*
 * The code lengths of a dynamic block, coded with the code length code
 * in c->lit, into lens[0..n).
 */
static int
code_lengths(struct inflate_ctx *c, uint8_t *lens, unsigned n)
{
	struct bits *b = &c->br;
	unsigned i = 0, rep, val;
	int sym;

	while (i < n) {
		sym = decode(b, &c->lit);
		if (sym < 0)
			return R_SHORT;
		/*
		 * Only an empty code length code has unused patterns, and
		 * zlib reads each bit of it as a length of 0; it fails later,
		 * at the missing end-of-block, if the input lasts that long.
		 */
		if (sym == (int)SYM_INVALID)
			sym = 0;
		if (sym < 16) {
			lens[i++] = (uint8_t)sym;
			continue;
		}
		if (sym == 16) {
			if (!need(b, 2))
				return R_SHORT;
			if (i == 0)
				return R_BAD;	/* nothing to repeat */
			val = lens[i - 1];
			rep = 3 + take(b, 2);
		} else if (sym == 17) {
			if (!need(b, 3))
				return R_SHORT;
			val = 0;
			rep = 3 + take(b, 3);
		} else {
			if (!need(b, 7))
				return R_SHORT;
			val = 0;
			rep = 11 + take(b, 7);
		}
		if (rep > n - i)
			return R_BAD;
		while (rep-- > 0)
			lens[i++] = (uint8_t)val;
	}
	return R_OK;
}

/* A block that carries its own codes (RFC 1951 3.2.7). */
static int
dynamic(struct inflate_ctx *c)
{
	struct bits *b = &c->br;
	uint8_t lens[MAXLITLEN + MAXDIST];
	unsigned nlen, ndist, ncode, i;
	int r;

	c->have_fixed = 0;
	if (!need(b, 14))
		return R_SHORT;
	nlen = 257 + take(b, 5);
	ndist = 1 + take(b, 5);
	ncode = 4 + take(b, 4);
	if (nlen > MAXLITLEN || ndist > MAXDIST)
		return R_BAD;

	memset(lens, 0, NCLEN);
	for (i = 0; i < ncode; i++) {
		if (!need(b, 3))
			return R_SHORT;
		lens[clen_order[i]] = (uint8_t)take(b, 3);
	}
	if (build(&c->lit, lens, NCLEN, 0) != 0)
		return R_BAD;
	if ((r = code_lengths(c, lens, nlen + ndist)) != R_OK)
		return r;

	if (lens[EOB] == 0)
		return R_BAD;
	if (build(&c->lit, lens, nlen, 1) != 0 ||
	    build(&c->dist, lens + nlen, ndist, 1) != 0)
		return R_BAD;
	return codes(c);
}

int
inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	struct inflate_ctx c;
	unsigned last, type;
	int r;

	memset(&c.br, 0, sizeof(c.br));
	c.br.in = in;
	c.br.in_len = in_len;
	c.out = out;
	c.out_len = out_len;
	c.out_pos = 0;
	c.have_fixed = 0;

	do {
		if (!need(&c.br, 3)) {
			r = R_SHORT;
			break;
		}
		last = take(&c.br, 1);
		type = take(&c.br, 2);
		if (type == 0)
			r = stored(&c);
		else if (type == 1)
			r = fixed(&c);
		else if (type == 2)
			r = dynamic(&c);
		else
			r = R_BAD;
		if (r == R_OK && last)
			r = R_END;
	} while (r == R_OK);

	/* Running out or ending early is only wrong if out is not full. */
	if (r == R_BAD || c.out_pos != c.out_len)
		return -1;
	return 0;
}
