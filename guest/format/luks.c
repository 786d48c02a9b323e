/*
 * A LUKS1 header, checked and described as qemu 7.2 does when it opens
 * an encrypted qcow2 image without a key (QCRYPTO_BLOCK_OPEN_NO_IO):
 * crypto/block-luks.c's check_header() and parse_header(), in their
 * order, with their words.  Nothing here needs the key: the fields are
 * the header's plain text.
 */
#include "luks.h"

#define LUKS_MAGIC		"LUKS\xba\xbe"
#define LUKS_MAGIC_LEN		6
#define LUKS_VERSION		1
/* The key slot offset, 4096 bytes, in sectors. */
#define LUKS_HDR_SECTORS	(4096u / INSTAR_LUKS_SECTOR)
#define LUKS_STRIPES		4000u
#define LUKS_SLOT_ENABLED	0x00ac71f3u
#define LUKS_SLOT_DISABLED	0x0000deadu
#define LUKS_FIELD_LEN		32	/* cipher name, mode, hash spec */

/* Where the fields lie in the 592-byte header. */
#define OFF_VERSION		6
#define OFF_CIPHER_NAME		8
#define OFF_CIPHER_MODE		40
#define OFF_HASH_SPEC		72
#define OFF_PAYLOAD		104
#define OFF_KEY_BYTES		108
#define OFF_MK_ITERS		164
#define OFF_UUID		168
#define UUID_LEN		40
#define OFF_SLOTS		208
#define SLOT_LEN		48

struct slot {
	uint32_t active, iters, key_offset, stripes;
};

struct header {
	uint32_t payload_offset, key_bytes, mk_iters;
	char cipher_name[LUKS_FIELD_LEN];
	char cipher_mode[LUKS_FIELD_LEN];
	char hash_spec[LUKS_FIELD_LEN];
	struct slot slots[INSTAR_LUKS_SLOTS];
};

/* QAPI's QCryptoHashAlgorithm, with qcrypto_hash_digest_len(). */
static const struct {
	const char	*name;
	uint32_t	 digest_len;
} hashes[] = {
	{ "md5", 16 }, { "sha1", 20 }, { "sha224", 28 }, { "sha256", 32 },
	{ "sha384", 48 }, { "sha512", 64 }, { "ripemd160", 20 },
};

static const char *const modes[] = { "ecb", "cbc", "xts", "ctr" };
static const char *const ivgens[] = { "plain", "plain64", "essiv" };
#define MODE_XTS		2
#define IVGEN_ESSIV		2

/* qcrypto_block_luks_cipher_name_map: each family's key sizes. */
struct cipher_size {
	uint32_t	 key_bytes;
	const char	*alg;		/* QCryptoCipherAlgorithm */
};

static const struct cipher_size aes_sizes[] = {
	{ 16, "aes-128" }, { 24, "aes-192" }, { 32, "aes-256" }, { 0, NULL },
};
static const struct cipher_size cast5_sizes[] = {
	{ 16, "cast5-128" }, { 0, NULL },
};
static const struct cipher_size serpent_sizes[] = {
	{ 16, "serpent-128" }, { 24, "serpent-192" }, { 32, "serpent-256" },
	{ 0, NULL },
};
static const struct cipher_size twofish_sizes[] = {
	{ 16, "twofish-128" }, { 24, "twofish-192" }, { 32, "twofish-256" },
	{ 0, NULL },
};

static const struct cipher_family {
	const char		*name;
	const char		*essiv_name;	/* for "No %s cipher ..." */
	const struct cipher_size *sizes;
} families[] = {
	{ "aes", "AES", aes_sizes },
	{ "cast5", NULL, cast5_sizes },
	{ "serpent", "Serpent", serpent_sizes },
	{ "twofish", "Twofish", twofish_sizes },
};

#define NELEM(a)		(sizeof(a) / sizeof((a)[0]))

/* memchr(s, '\0', len) != NULL; the guest runtime has strnlen only. */
static bool
has_nul(const char *s, size_t len)
{
	return strnlen(s, len) < len;
}

static char *
find_char(char *s, char c)
{
	for (; *s != '\0'; s++)
		if (*s == c)
			return s;
	return NULL;
}

/* qapi_enum_parse(): an exact match, or -1. */
static int
enum_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

static int
hash_index(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(hashes); i++)
		if (strcmp(hashes[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
decode(const uint8_t *b, struct header *h)
{
	size_t i;

	h->payload_offset = get_be32(b + OFF_PAYLOAD);
	h->key_bytes = get_be32(b + OFF_KEY_BYTES);
	h->mk_iters = get_be32(b + OFF_MK_ITERS);
	memcpy(h->cipher_name, b + OFF_CIPHER_NAME, LUKS_FIELD_LEN);
	memcpy(h->cipher_mode, b + OFF_CIPHER_MODE, LUKS_FIELD_LEN);
	memcpy(h->hash_spec, b + OFF_HASH_SPEC, LUKS_FIELD_LEN);
	for (i = 0; i < INSTAR_LUKS_SLOTS; i++) {
		const uint8_t *s = b + OFF_SLOTS + i * SLOT_LEN;

		h->slots[i].active = get_be32(s);
		h->slots[i].iters = get_be32(s + 4);
		h->slots[i].key_offset = get_be32(s + 40);
		h->slots[i].stripes = get_be32(s + 44);
	}
}

/*
 * qcrypto_block_luks_splitkeylen_sectors(), in its own arithmetic: the
 * key length times the stripes in 32 bits (both are uint32_t there),
 * then whole sectors rounded up to the header's 8.
 */
static uint32_t
split_key_sectors(uint32_t key_bytes, uint32_t stripes)
{
	uint32_t split = key_bytes * stripes;
	uint64_t sectors = ((uint64_t)split + INSTAR_LUKS_SECTOR - 1) /
	    INSTAR_LUKS_SECTOR;

	return (uint32_t)((sectors + LUKS_HDR_SECTORS - 1) &
	    ~(uint64_t)(LUKS_HDR_SECTORS - 1));
}

/*
 * One key slot against the payload and the slots after it.  qemu adds
 * start and length as unsigned int, so the sums wrap as they do there.
 */
static int
check_slot(const struct header *h, size_t i, struct fmt_err *err)
{
	const struct slot *s1 = &h->slots[i];
	uint32_t len1 = split_key_sectors(h->key_bytes, s1->stripes);
	size_t j;

	if (s1->stripes != LUKS_STRIPES) {
		fmt_seterr(err, "Keyslot %zu is corrupted (stripes %d != %d)",
		    i, (int)s1->stripes, (int)LUKS_STRIPES);
		return -1;
	}
	if (s1->active != LUKS_SLOT_DISABLED &&
	    s1->active != LUKS_SLOT_ENABLED) {
		fmt_seterr(err, "Keyslot %zu state (active/disable) is "
		    "corrupted", i);
		return -1;
	}
	if (s1->active == LUKS_SLOT_ENABLED && s1->iters == 0) {
		fmt_seterr(err, "Keyslot %zu iteration count is zero", i);
		return -1;
	}
	if (s1->key_offset < LUKS_HDR_SECTORS) {
		fmt_seterr(err, "Keyslot %zu is overlapping with the LUKS "
		    "header", i);
		return -1;
	}
	if ((uint32_t)(s1->key_offset + len1) > h->payload_offset) {
		fmt_seterr(err, "Keyslot %zu is overlapping with the encrypted "
		    "payload", i);
		return -1;
	}
	/* Later slots' stripes are not checked yet: qemu uses them as is. */
	for (j = i + 1; j < INSTAR_LUKS_SLOTS; j++) {
		const struct slot *s2 = &h->slots[j];
		uint32_t len2 = split_key_sectors(h->key_bytes, s2->stripes);

		if ((uint32_t)(s1->key_offset + len1) > s2->key_offset &&
		    (uint32_t)(s2->key_offset + len2) > s1->key_offset) {
			fmt_seterr(err, "Keyslots %zu and %zu are overlapping "
			    "in the header", i, j);
			return -1;
		}
	}
	return 0;
}

/* qcrypto_block_luks_check_header() */
static int
check_header(const uint8_t *b, const struct header *h, struct fmt_err *err)
{
	size_t i;

	if (memcmp(b, LUKS_MAGIC, LUKS_MAGIC_LEN) != 0) {
		fmt_seterr(err, "Volume is not in LUKS format");
		return -1;
	}
	if (get_be16(b + OFF_VERSION) != LUKS_VERSION) {
		fmt_seterr(err, "LUKS version %u is not supported",
		    (unsigned)get_be16(b + OFF_VERSION));
		return -1;
	}
	if (!has_nul(h->cipher_name, LUKS_FIELD_LEN)) {
		fmt_seterr(err, "LUKS header cipher name is not NUL "
		    "terminated");
		return -1;
	}
	if (!has_nul(h->cipher_mode, LUKS_FIELD_LEN)) {
		fmt_seterr(err, "LUKS header cipher mode is not NUL "
		    "terminated");
		return -1;
	}
	if (!has_nul(h->hash_spec, LUKS_FIELD_LEN)) {
		fmt_seterr(err, "LUKS header hash spec is not NUL terminated");
		return -1;
	}
	if (h->payload_offset < LUKS_HDR_SECTORS) {
		fmt_seterr(err, "LUKS payload is overlapping with the header");
		return -1;
	}
	if (h->mk_iters == 0) {
		fmt_seterr(err, "LUKS key iteration count is zero");
		return -1;
	}
	for (i = 0; i < INSTAR_LUKS_SLOTS; i++)
		if (check_slot(h, i, err) != 0)
			return -1;
	return 0;
}

/* qcrypto_block_luks_cipher_name_lookup(): the family and key size. */
static int
cipher_lookup(const struct header *h, int mode, const struct cipher_family **fp,
    const struct cipher_size **sp, struct fmt_err *err)
{
	uint32_t key_bytes = h->key_bytes;
	const struct cipher_size *s;
	size_t i;

	if (mode == MODE_XTS)
		key_bytes /= 2;
	for (i = 0; i < NELEM(families); i++) {
		if (strcmp(families[i].name, h->cipher_name) != 0)
			continue;
		for (s = families[i].sizes; s->alg != NULL; s++) {
			if (s->key_bytes == key_bytes) {
				*fp = &families[i];
				*sp = s;
				return 0;
			}
		}
	}
	fmt_seterr(err, "Algorithm '%s' with key size %d bytes not supported",
	    h->cipher_name, (int)key_bytes);
	return -1;
}

/*
 * qcrypto_block_luks_essiv_cipher(): ESSIV keys its cipher with the
 * hash's digest, so a digest of another length than the key needs a
 * sibling cipher of that key size, which cast5 lacks.
 */
static int
check_essiv(const struct cipher_family *f, const struct cipher_size *s,
    int ivhash, struct fmt_err *err)
{
	uint32_t digest_len = hashes[ivhash].digest_len;
	const struct cipher_size *t;

	if (digest_len == s->key_bytes)
		return 0;
	if (f->essiv_name == NULL) {
		fmt_seterr(err, "Cipher %s not supported with essiv", s->alg);
		return -1;
	}
	for (t = f->sizes; t->alg != NULL; t++)
		if (t->key_bytes == digest_len)
			return 0;
	fmt_seterr(err, "No %s cipher with key size %u available",
	    f->essiv_name, (unsigned)digest_len);
	return -1;
}

static void
put_name(char *dst, const char *name)
{
	size_t n = strnlen(name, INSTAR_CRYPTO_NAME_MAX - 1);

	memcpy(dst, name, n);
	dst[n] = '\0';
}

/*
 * qcrypto_block_luks_parse_header(): the mode string is
 * "<mode>-<ivgen>[:<ivhash>]", e.g. "xts-plain64" or "cbc-essiv:sha256";
 * an ivhash is looked up whatever the ivgen, but only ESSIV uses it.
 */
static int
parse_cipher(const struct header *h, struct instar_luks_info *out,
    struct fmt_err *err)
{
	char spec[LUKS_FIELD_LEN];
	char *ivgen_name, *ivhash_name;
	const struct cipher_family *family;
	const struct cipher_size *size;
	int mode, hash, ivgen, ivhash = -1;

	memcpy(spec, h->cipher_mode, sizeof(spec));
	if ((ivgen_name = find_char(spec, '-')) == NULL) {
		fmt_seterr(err, "Unexpected cipher mode string format '%s'",
		    h->cipher_mode);
		return -1;
	}
	*ivgen_name++ = '\0';
	if ((ivhash_name = find_char(ivgen_name, ':')) != NULL) {
		*ivhash_name++ = '\0';
		if ((ivhash = hash_index(ivhash_name)) < 0) {
			fmt_seterr(err, "Hash algorithm '%s' not supported",
			    ivhash_name);
			return -1;
		}
	}
	if ((mode = enum_index(modes, NELEM(modes), spec)) < 0) {
		fmt_seterr(err, "Cipher mode '%s' not supported", spec);
		return -1;
	}
	if (cipher_lookup(h, mode, &family, &size, err) != 0)
		return -1;
	if ((hash = hash_index(h->hash_spec)) < 0) {
		fmt_seterr(err, "Hash algorithm '%s' not supported",
		    h->hash_spec);
		return -1;
	}
	if ((ivgen = enum_index(ivgens, NELEM(ivgens), ivgen_name)) < 0) {
		fmt_seterr(err, "IV generator '%s' not supported", ivgen_name);
		return -1;
	}
	if (ivgen == IVGEN_ESSIV) {
		if (ivhash < 0) {
			fmt_seterr(err, "Missing IV generator hash "
			    "specification");
			return -1;
		}
		if (check_essiv(family, size, ivhash, err) != 0)
			return -1;
		put_name(out->ivgen_hash_alg, hashes[ivhash].name);
	}
	put_name(out->cipher_alg, size->alg);
	put_name(out->cipher_mode, modes[mode]);
	put_name(out->ivgen_alg, ivgens[ivgen]);
	put_name(out->hash_alg, hashes[hash].name);
	return 0;
}

/* qcrypto_block_luks_get_info(): what "qemu-img info" lists. */
static void
describe(const uint8_t *b, const struct header *h, struct instar_luks_info *out)
{
	size_t i, n;

	n = strnlen((const char *)b + OFF_UUID, UUID_LEN);
	memcpy(out->uuid, b + OFF_UUID, n);
	out->uuid[n] = '\0';
	out->payload_offset_sector = h->payload_offset;
	out->master_key_iters = h->mk_iters;
	for (i = 0; i < INSTAR_LUKS_SLOTS; i++) {
		const struct slot *s = &h->slots[i];
		struct instar_luks_slot *o = &out->slots[i];

		o->active = s->active == LUKS_SLOT_ENABLED;
		o->key_offset_sector = s->key_offset;
		if (o->active) {
			o->iters = s->iters;
			o->stripes = s->stripes;
		}
	}
}

int
luks_parse(const uint8_t hdr[LUKS_HDR_LEN], struct instar_luks_info *out,
    struct fmt_err *err)
{
	struct header h;

	memset(out, 0, sizeof(*out));
	decode(hdr, &h);
	if (check_header(hdr, &h, err) != 0 ||
	    parse_cipher(&h, out, err) != 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	describe(hdr, &h, out);
	return 0;
}
