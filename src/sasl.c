/*-------------------------------------------------------------------------
 *
 * sasl.c
 *	  AUTH mechanism choice and client messages (PLAIN, LOGIN, CRAM-MD5,
 *	  XOAUTH2).  The challenge/response loop itself lives in conn.c.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proto.h"
#include "sasl.h"

const uint32_t smtp_sasl_implemented =
	SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5 | SMTP_AUTH_XOAUTH2;

/* Mechanisms that put the password (or token) on the wire as it is. */
bool
smtp_sasl_is_cleartext(uint32_t mech)
{
	return (mech & (SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_XOAUTH2)) != 0;
}

/* Pick the mechanism for AUTH; see sasl.h for the rule. */
SmtpSaslChoice
smtp_sasl_choose(const char *schemes, bool caps_known, uint32_t offered,
				 bool encrypted, bool allow_cleartext, uint32_t *mech,
				 const char **bad, size_t *badlen)
{
	const char *s = schemes ? schemes : SMTP_ALL_SCHEMES;
	size_t		len = strlen(s);
	size_t		i = 0;
	bool		refused_cleartext = false;
	uint32_t	chosen = 0;

	*mech = 0;
	*bad = NULL;
	*badlen = 0;

	/* First pass: every listed name must be one we implement. */
	while (i < len)
	{
		size_t		start;
		uint32_t	m;

		while (i < len && (s[i] == ' ' || s[i] == ',' || s[i] == '\t'))
			i++;
		start = i;
		while (i < len && s[i] != ' ' && s[i] != ',' && s[i] != '\t')
			i++;
		if (i == start)
			continue;
		m = smtp_auth_mech_from_name(s + start, i - start);
		if ((m & smtp_sasl_implemented) == 0)
		{
			*bad = s + start;
			*badlen = i - start;
			return SMTP_SASL_UNSUPPORTED;
		}
		if (chosen != 0)
			continue;
		if (caps_known && (offered & m) == 0)
			continue;
		if (smtp_sasl_is_cleartext(m) && !encrypted && !allow_cleartext)
		{
			refused_cleartext = true;
			continue;
		}
		chosen = m;
	}
	if (chosen != 0)
	{
		*mech = chosen;
		return SMTP_SASL_CHOSEN;
	}
	return refused_cleartext ? SMTP_SASL_CLEARTEXT_REFUSED : SMTP_SASL_NONE_USABLE;
}

/* Base64-encode len bytes; out needs SMTP_B64_ENCODED_SIZE(len). */
size_t
smtp_base64_encode(const unsigned char *in, size_t len, char *out)
{
	if (len == 0)
	{
		out[0] = '\0';
		return 0;
	}
	return (size_t) EVP_EncodeBlock((unsigned char *) out, in, (int) len);
}

/* Is c in the base64 alphabet (padding excluded)? */
static bool
is_base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Strict base64 decode; false on bad input.  out needs
 * SMTP_B64_DECODED_SIZE.  EVP_DecodeBlock alone would skip white space and
 * take '=' anywhere as zero bits, so the text is checked first: only the
 * alphabet, and '=' only as the last one or two characters.
 */
bool
smtp_base64_decode(const char *in, size_t len, unsigned char *out,
				   size_t *outlen)
{
	int			n;
	size_t		pad = 0;
	size_t		i;

	*outlen = 0;
	if (len == 0)
		return true;
	if (len % 4 != 0 || len > (size_t) 0x7fffffff)
		return false;
	if (in[len - 1] == '=')
		pad = (in[len - 2] == '=') ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (!is_base64_char(in[i]))
			return false;
	n = EVP_DecodeBlock(out, (const unsigned char *) in, (int) len);
	if (n < 0)
		return false;
	/* EVP_DecodeBlock counts padding as zero bytes; drop them. */
	*outlen = (size_t) n - pad;
	return true;
}

/* "\0user\0password" (RFC 4616, empty authorisation identity). */
size_t
smtp_sasl_plain_message(char *out, size_t outsize, const char *user,
						size_t userlen, const char *pass, size_t passlen)
{
	size_t		need = userlen + passlen + 2;

	if (outsize < need)
		return 0;
	out[0] = '\0';
	memcpy(out + 1, user, userlen);
	out[1 + userlen] = '\0';
	memcpy(out + 2 + userlen, pass, passlen);
	return need;
}

/* "user=U\1auth=Bearer T\1\1" (Google's and Microsoft's XOAUTH2). */
size_t
smtp_sasl_xoauth2_message(char *out, size_t outsize, const char *user,
						  size_t userlen, const char *token, size_t tokenlen)
{
	static const char p1[] = "user=";
	static const char p2[] = "\001auth=Bearer ";
	size_t		need = (sizeof(p1) - 1) + userlen + (sizeof(p2) - 1) + tokenlen + 2;
	size_t		n = 0;

	if (outsize < need)
		return 0;
	memcpy(out + n, p1, sizeof(p1) - 1);
	n += sizeof(p1) - 1;
	memcpy(out + n, user, userlen);
	n += userlen;
	memcpy(out + n, p2, sizeof(p2) - 1);
	n += sizeof(p2) - 1;
	memcpy(out + n, token, tokenlen);
	n += tokenlen;
	out[n++] = '\001';
	out[n++] = '\001';
	return n;
}

/* "user hex(HMAC-MD5(password, challenge))" (RFC 2195). */
size_t
smtp_sasl_cram_md5_message(char *out, size_t outsize, const char *user,
						   size_t userlen, const char *pass, size_t passlen,
						   const unsigned char *challenge, size_t challengelen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	size_t		need;
	size_t		n;
	unsigned int i;

	if (passlen > (size_t) 0x7fffffff)
		return 0;
	if (HMAC(EVP_md5(), pass, (int) passlen, challenge, challengelen,
			 digest, &dlen) == NULL)
		return 0;
	need = userlen + 1 + 2 * (size_t) dlen;
	if (outsize < need)
	{
		memset(digest, 0, sizeof(digest));
		return 0;
	}
	memcpy(out, user, userlen);
	n = userlen;
	out[n++] = ' ';
	for (i = 0; i < dlen; i++)
	{
		out[n++] = hex[digest[i] >> 4];
		out[n++] = hex[digest[i] & 0xf];
	}
	memset(digest, 0, sizeof(digest));
	return n;
}
