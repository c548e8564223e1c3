/*-------------------------------------------------------------------------
 *
 * fuzz_sasl.c
 *	  libFuzzer target: base64 decode of arbitrary input, encode/decode
 *	  round trips, smtp_sasl_choose() on arbitrary scheme lists (against a
 *	  reference model) and the SASL message builders.
 *
 *	  Input: byte 0 = flags (caps_known, encrypted, allow_cleartext, NULL
 *	  schemes), byte 1 = mechanisms the server offers, rest = the data.
 *
 *	  Every input the strict reference decoder refuses must be refused.
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "proto.h"
#include "sasl.h"

static const char b64chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of a base64 alphabet character, -1 if it is not one. */
static int
b64_value(char c)
{
	const char *p = (c != '\0') ? strchr(b64chars, c) : NULL;

	return p ? (int) (p - b64chars) : -1;
}

/*
 * Reference strict RFC 4648 decoder: length a multiple of 4, alphabet
 * only, '=' only as the final one or two characters.  Padding bits are
 * not checked.
 */
static bool
reference_b64_decode(const char *in, size_t len, unsigned char *out,
					 size_t *outlen)
{
	size_t		i;
	size_t		o = 0;

	*outlen = 0;
	if (len % 4 != 0)
		return false;
	for (i = 0; i < len; i += 4)
	{
		int			v[4];
		int			k;
		int			pad = 0;
		bool		final = (i + 4 == len);

		for (k = 0; k < 4; k++)
		{
			char		c = in[i + k];

			if (c == '=' && final && k >= 2)
			{
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return false;	/* data after padding */
			v[k] = b64_value(c);
			if (v[k] < 0)
				return false;
		}
		out[o++] = (unsigned char) ((v[0] << 2) | (v[1] >> 4));
		if (pad < 2)
			out[o++] = (unsigned char) (((v[1] & 0xf) << 4) | (v[2] >> 2));
		if (pad < 1)
			out[o++] = (unsigned char) (((v[2] & 0x3) << 6) | v[3]);
	}
	*outlen = o;
	return true;
}

/* Decode arbitrary bytes and compare with the reference decoder. */
static void
fuzz_decode(const char *in, size_t len)
{
	unsigned char *out = malloc(SMTP_B64_DECODED_SIZE(len));
	unsigned char *ref = malloc(SMTP_B64_DECODED_SIZE(len));
	size_t		outlen = 12345;
	size_t		reflen;
	bool		ok = smtp_base64_decode(in, len, out, &outlen);
	bool		refok = reference_b64_decode(in, len, ref, &reflen);

	if (ok)
	{
		CHECK(outlen <= len / 4 * 3);
		CHECK(outlen < SMTP_B64_DECODED_SIZE(len));
	}
	else
		CHECK(outlen == 0);
	if (refok)
	{
		CHECK(ok);
		CHECK(outlen == reflen);
		CHECK(memcmp(out, ref, reflen) == 0);
	}
	else
		CHECK(!ok);
	free(ref);
	free(out);
}

/* Encode, check the text, decode again and compare. */
static void
fuzz_round_trip(const unsigned char *data, size_t len)
{
	size_t		esize = SMTP_B64_ENCODED_SIZE(len);
	char	   *enc = malloc(esize);
	unsigned char *dec;
	size_t		elen = smtp_base64_encode(data, len, enc);
	size_t		dlen = 12345;
	size_t		i;

	CHECK(elen == 4 * ((len + 2) / 3));
	CHECK(elen + 1 == esize);
	CHECK(enc[elen] == '\0');
	for (i = 0; i < elen; i++)
		CHECK(b64_value(enc[i]) >= 0 || (enc[i] == '=' && i + 2 >= elen));

	dec = malloc(SMTP_B64_DECODED_SIZE(elen));
	CHECK(smtp_base64_decode(enc, elen, dec, &dlen));
	CHECK(dlen == len);
	CHECK(memcmp(dec, data, len) == 0);
	free(dec);
	free(enc);
}

/* Implemented mechanism named by s[0..len) (any case), 0 if none. */
static uint32_t
reference_mech(const char *s, size_t len)
{
	static const struct
	{
		const char *name;
		uint32_t	bit;
	}			names[] =
	{
		{"PLAIN", SMTP_AUTH_PLAIN},
		{"LOGIN", SMTP_AUTH_LOGIN},
		{"CRAM-MD5", SMTP_AUTH_CRAM_MD5},
		{"XOAUTH2", SMTP_AUTH_XOAUTH2},
	};
	size_t		i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len &&
			strncasecmp(s, names[i].name, len) == 0)
			return names[i].bit;
	return 0;
}

/* Reference model of Oracle's rule, written independently of sasl.c. */
static SmtpSaslChoice
reference_choose(const char *s, bool caps_known, uint32_t offered,
				 bool encrypted, bool allow, uint32_t *mech,
				 const char **bad, size_t *badlen)
{
	size_t		len = strlen(s);
	size_t		i;
	bool		refused = false;

	*mech = 0;
	*bad = NULL;
	*badlen = 0;

	/* any unknown or unimplemented name fails the whole list */
	for (i = 0; i < len;)
	{
		size_t		t = strcspn(s + i, " ,\t");

		if (t > 0 && reference_mech(s + i, t) == 0)
		{
			*bad = s + i;
			*badlen = t;
			return SMTP_SASL_UNSUPPORTED;
		}
		i += (t > 0) ? t : 1;
	}
	for (i = 0; i < len;)
	{
		size_t		t = strcspn(s + i, " ,\t");
		uint32_t	m = (t > 0) ? reference_mech(s + i, t) : 0;

		i += (t > 0) ? t : 1;
		if (m == 0 || (caps_known && !(offered & m)))
			continue;
		if (m != SMTP_AUTH_CRAM_MD5 && !encrypted && !allow)
		{
			refused = true;
			continue;
		}
		*mech = m;
		return SMTP_SASL_CHOSEN;
	}
	return refused ? SMTP_SASL_CLEARTEXT_REFUSED : SMTP_SASL_NONE_USABLE;
}

/* smtp_sasl_choose() on an arbitrary list, compared with the model. */
static void
fuzz_choose(const char *data, size_t len, uint8_t flags, uint32_t offered)
{
	char	   *schemes = malloc(len + 1);
	const char *arg;
	uint32_t	mech;
	const char *bad;
	size_t		badlen;
	uint32_t	rmech;
	const char *rbad;
	size_t		rbadlen;
	SmtpSaslChoice got;
	SmtpSaslChoice want;

	memcpy(schemes, data, len);
	schemes[len] = '\0';
	arg = (flags & 8) ? NULL : schemes;
	got = smtp_sasl_choose(arg, flags & 1, offered, flags & 2, flags & 4,
						   &mech, &bad, &badlen);
	want = reference_choose(arg ? arg : SMTP_ALL_SCHEMES, flags & 1, offered,
							flags & 2, flags & 4, &rmech, &rbad, &rbadlen);
	CHECK(got == want);
	CHECK(mech == rmech);
	if (got == SMTP_SASL_UNSUPPORTED)
	{
		CHECK(arg != NULL);
		CHECK(bad == rbad && badlen == rbadlen);
	}
	else
		CHECK(bad == NULL && badlen == 0);
	if (got == SMTP_SASL_CHOSEN)
	{
		CHECK(mech & smtp_sasl_implemented);
		CHECK((mech & (mech - 1)) == 0);
		CHECK(!(flags & 1) || (offered & mech));
		CHECK(!smtp_sasl_is_cleartext(mech) || (flags & 2) || (flags & 4));
	}
	free(schemes);
}

/* The message builders: exact fit works, one byte less returns 0. */
static void
fuzz_messages(const char *data, size_t len)
{
	size_t		ulen = len / 2;
	const char *user = data;
	const char *pass = data + ulen;
	size_t		plen = len - ulen;
	size_t		need;
	char	   *out;
	size_t		i;

	need = ulen + plen + 2;
	out = malloc(need);
	CHECK(smtp_sasl_plain_message(out, need - 1, user, ulen, pass, plen) == 0);
	CHECK(smtp_sasl_plain_message(out, need, user, ulen, pass, plen) == need);
	CHECK(out[0] == '\0' && out[1 + ulen] == '\0');
	CHECK(memcmp(out + 1, user, ulen) == 0);
	CHECK(memcmp(out + 2 + ulen, pass, plen) == 0);
	free(out);

	need = 5 + ulen + 13 + plen + 2;
	out = malloc(need);
	CHECK(smtp_sasl_xoauth2_message(out, need - 1, user, ulen, pass, plen) == 0);
	CHECK(smtp_sasl_xoauth2_message(out, need, user, ulen, pass, plen) == need);
	CHECK(memcmp(out, "user=", 5) == 0);
	CHECK(memcmp(out + 5 + ulen, "\001auth=Bearer ", 13) == 0);
	CHECK(memcmp(out + need - 2, "\001\001", 2) == 0);
	free(out);

	need = ulen + 1 + 32;
	out = malloc(need);
	CHECK(smtp_sasl_cram_md5_message(out, need - 1, user, ulen, pass, plen,
									 (const unsigned char *) data, len) == 0);
	CHECK(smtp_sasl_cram_md5_message(out, need, user, ulen, pass, plen,
									 (const unsigned char *) data, len) == need);
	CHECK(memcmp(out, user, ulen) == 0 && out[ulen] == ' ');
	for (i = ulen + 1; i < need; i++)
		CHECK((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f'));
	free(out);
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		flags;
	uint32_t	offered;
	char	   *copy;

	if (size < 2)
		return 0;
	flags = data[0];
	offered = data[1] & 0x7f;	/* the seven SMTP_AUTH_* bits */
	data += 2;
	size -= 2;

	/* exact-size copy, so any read past the end is caught by ASan */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);

	fuzz_decode(copy, size);
	fuzz_round_trip((const unsigned char *) copy, size);
	fuzz_choose(copy, size, flags, offered);
	fuzz_messages(copy, size);

	free(copy);
	return 0;
}
