/*-------------------------------------------------------------------------
 *
 * fuzz_ehlo.c
 *	  libFuzzer target: smtp_caps_parse_line() on arbitrary EHLO lines,
 *	  checked against a small independent model of the keywords.
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

#define ALL_CAPS	(SMTP_CAP_STARTTLS | SMTP_CAP_AUTH | SMTP_CAP_SIZE | \
					 SMTP_CAP_PIPELINING | SMTP_CAP_8BITMIME | \
					 SMTP_CAP_SMTPUTF8 | SMTP_CAP_ENHANCEDSTATUSCODES | \
					 SMTP_CAP_CHUNKING)
#define ALL_AUTH	(SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5 | \
					 SMTP_AUTH_XOAUTH2 | SMTP_AUTH_OAUTHBEARER | \
					 SMTP_AUTH_SCRAM_SHA_1 | SMTP_AUTH_SCRAM_SHA_256)

static const struct
{
	const char *name;
	uint32_t	flag;
}			keywords[] =
{
	{"STARTTLS", SMTP_CAP_STARTTLS},
	{"AUTH", SMTP_CAP_AUTH},
	{"SIZE", SMTP_CAP_SIZE},
	{"PIPELINING", SMTP_CAP_PIPELINING},
	{"8BITMIME", SMTP_CAP_8BITMIME},
	{"SMTPUTF8", SMTP_CAP_SMTPUTF8},
	{"ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES},
	{"CHUNKING", SMTP_CAP_CHUNKING},
};

static const char *const mechs[] = {
	"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-1",
	"SCRAM-SHA-256"
};

/* Model: the capability flag the line's keyword stands for, 0 if none. */
static uint32_t
model_keyword(const char *s, size_t len, size_t *kwlen)
{
	size_t		kw = 0;
	size_t		i;

	while (kw < len && s[kw] != ' ' && s[kw] != '\t' && s[kw] != '=')
		kw++;
	*kwlen = kw;
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (kw > 0 && strlen(keywords[i].name) == kw &&
			strncasecmp(s, keywords[i].name, kw) == 0)
			return keywords[i].flag;
	return 0;
}

/* Model: the AUTH mechanisms named in s[0..len). */
static uint32_t
model_auth(const char *s, size_t len)
{
	uint32_t	bits = 0;
	size_t		i = 0;

	while (i < len)
	{
		size_t		start;
		size_t		m;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		for (m = 0; m < sizeof(mechs) / sizeof(mechs[0]); m++)
			if (i > start && strlen(mechs[m]) == i - start &&
				strncasecmp(s + start, mechs[m], i - start) == 0)
				bits |= smtp_auth_mech_from_name(mechs[m], strlen(mechs[m]));
	}
	return bits;
}

/* Parse one line from an exact-size copy and compare with the model. */
static void
check_line(SmtpCaps *caps, const uint8_t *data, size_t len)
{
	char	   *text = malloc(len ? len : 1);
	SmtpCaps	before = *caps;
	SmtpCaps	one;
	size_t		kwlen;
	uint32_t	flag;

	memcpy(text, data, len);
	smtp_caps_parse_line(caps, text, len);
	CHECK(caps->known);
	CHECK((caps->flags & ~ALL_CAPS) == 0);
	CHECK((caps->auth & ~ALL_AUTH) == 0);
	CHECK((caps->flags & before.flags) == before.flags);
	CHECK((caps->auth & before.auth) == before.auth);
	if (caps->auth != 0)
		CHECK(caps->flags & SMTP_CAP_AUTH);

	/* the same line alone, against the model */
	smtp_caps_reset(&one);
	smtp_caps_parse_line(&one, text, len);
	flag = model_keyword(text, len, &kwlen);
	CHECK(one.flags == flag);
	if (flag == SMTP_CAP_AUTH)
		CHECK(one.auth == model_auth(text + kwlen + (kwlen < len),
									 len - kwlen - (kwlen < len)));
	else
		CHECK(one.auth == 0);
	if (flag != SMTP_CAP_SIZE)
		CHECK(one.size_limit == 0);
	else if (kwlen + 1 < len && text[kwlen + 1] >= '1' && text[kwlen + 1] <= '9')
		CHECK(one.size_limit > 0);
	if (flag != SMTP_CAP_SIZE)
		CHECK(caps->size_limit == before.size_limit);
	free(text);
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SmtpCaps	caps;
	size_t		start = 0;
	size_t		i;
	uint32_t	bit;

	/* the whole input as one line */
	smtp_caps_reset(&caps);
	check_line(&caps, data, size);

	/* then line by line, accumulating like one EHLO reply */
	smtp_caps_reset(&caps);
	for (i = 0; i <= size; i++)
	{
		if (i == size || data[i] == '\n')
		{
			check_line(&caps, data + start, i - start);
			start = i + 1;
		}
	}

	/* a mechanism name lookup never matches a different name */
	{
		char	   *name = malloc(size ? size : 1);

		memcpy(name, data, size);
		bit = smtp_auth_mech_from_name(name, size);
		if (bit != 0)
		{
			const char *canon = smtp_auth_mech_name(bit);

			CHECK(canon != NULL);
			CHECK(strlen(canon) == size);
			CHECK(strncasecmp(canon, name, size) == 0);
		}
		free(name);
	}
	return 0;
}
