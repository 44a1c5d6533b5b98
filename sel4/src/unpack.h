/* unpack.h — decoder for payloads packed by sel4/tools/sel4pack (LZ4 block
 * format; container layout in sel4/tools/sel4pack/main.go). Each block is
 * decoded straight to its segment's link address, so a packed payload
 * costs no scratch frames. Bounds are checked on every step: a corrupt
 * block halts the boot with a message instead of writing past the segment. */

static int is_packed(const unsigned char *p)
{
	static const char magic[8] = "COHPAK1";
	for (int i = 0; i < 8; i++)
		if (p[i] != (unsigned char)magic[i])
			return 0;
	return 1;
}

static unsigned long rd64(const unsigned char *p)
{
	unsigned long v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* unpack_len reads a nibble's 255-extension bytes; 0 on running out. */
static int unpack_len(const unsigned char **s, const unsigned char *end, unsigned long *n)
{
	if (*n < 15)
		return 1;
	for (;;) {
		if (*s >= end)
			return 0;
		unsigned char b = *(*s)++;
		*n += b;
		if (b != 255)
			return 1;
	}
}

/* unpack_block decodes [src, src+slen) into exactly n bytes at dst;
 * returns 0 on success, -1 on a corrupt block. */
static int unpack_block(const unsigned char *src, unsigned long slen, unsigned char *dst, unsigned long n)
{
	const unsigned char *s = src, *end = src + slen;
	unsigned long o = 0;
	for (;;) {
		if (s >= end)
			return -1;
		unsigned char tok = *s++;
		unsigned long ll = tok >> 4;
		if (!unpack_len(&s, end, &ll) || ll > (unsigned long)(end - s) || ll > n - o)
			return -1;
		for (unsigned long i = 0; i < ll; i++)
			dst[o++] = *s++;
		if (s == end)
			return o == n ? 0 : -1;
		if (end - s < 2)
			return -1;
		unsigned long off = s[0] | (unsigned long)s[1] << 8, ml = tok & 15;
		s += 2;
		if (!unpack_len(&s, end, &ml))
			return -1;
		ml += 4;
		if (off == 0 || off > o || ml > n - o)
			return -1;
		for (unsigned long i = 0; i < ml; i++, o++)
			dst[o] = dst[o - off];
	}
}
