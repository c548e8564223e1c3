/*-------------------------------------------------------------------------
 *
 * fuzz_body.c
 *	  libFuzzer target: the DATA body encoder under arbitrary chunking and
 *	  output buffer sizes, checked against a reference decoder.
 *
 *	  The first 8 input bytes seed the choice of chunk and buffer sizes;
 *	  the rest is the message body.
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "proto.h"

/* xorshift64: cheap deterministic choices from the seed. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Encode body in one call with room for everything, then finish. */
static size_t
encode_one_shot(const char *body, size_t len, char *stream)
{
	SmtpBodyEncoder enc;
	size_t		consumed;
	size_t		n;

	smtp_body_init(&enc);
	n = smtp_body_encode(&enc, body, len, &consumed, stream, 2 * len);
	CHECK(consumed == len);
	CHECK(n <= 2 * len);
	n += smtp_body_finish(&enc, stream + n);
	CHECK(enc.bytes_in == len);
	CHECK(enc.bytes_out == n);
	return n;
}

/*
 * Encode body in pseudo-random chunks through pseudo-random, exactly
 * allocated output buffers (so ASan sees any overrun), then finish.
 */
static size_t
encode_chunked(const char *body, size_t len, uint64_t seed, char *stream)
{
	SmtpBodyEncoder enc;
	size_t		total = 0;
	size_t		pos = 0;
	char	   *fin;

	smtp_body_init(&enc);
	while (pos < len)
	{
		uint64_t	r = next_rand(&seed);
		size_t		chunk = (r % 8 == 0) ? 0 : 1 + (size_t) (r >> 8) % 40;
		size_t		rem;

		if (chunk > len - pos)
			chunk = len - pos;
		rem = chunk;
		do
		{
			uint64_t	r2 = next_rand(&seed);
			size_t		outsize;
			size_t		consumed = 12345;
			size_t		n;
			char	   *out;

			switch (r2 % 6)
			{
				case 0:
					outsize = (size_t) (r2 >> 8) % 2;	/* too small: no progress */
					break;
				case 1:
					outsize = 2 * rem;	/* roomy: takes the whole chunk */
					break;
				default:
					outsize = 2 + (size_t) (r2 >> 8) % 9;
					break;
			}
			out = malloc(outsize);
			n = smtp_body_encode(&enc, body + pos, rem, &consumed, out, outsize);
			CHECK(consumed <= rem);
			CHECK(n <= outsize);
			CHECK(n <= 2 * consumed);
			if (outsize < 2)
				CHECK(consumed == 0 && n == 0);
			else if (rem > 0)
				CHECK(consumed > 0);
			if (outsize >= 2 * rem)
				CHECK(consumed == rem);
			CHECK(total + n <= 2 * len);
			memcpy(stream + total, out, n);
			free(out);
			total += n;
			pos += consumed;
			rem -= consumed;
		} while (rem > 0);
	}
	fin = malloc(SMTP_BODY_FINISH_MAX);
	{
		size_t		n = smtp_body_finish(&enc, fin);

		CHECK(n == 3 || n == SMTP_BODY_FINISH_MAX);
		memcpy(stream + total, fin, n);
		total += n;
	}
	free(fin);
	CHECK(enc.bytes_in == len);
	CHECK(enc.bytes_out == total);
	return total;
}

/* The input with every CRLF, bare CR and bare LF as CRLF, last line ended. */
static size_t
reference_normalise(const char *in, size_t len, char *out)
{
	size_t		o = 0;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		if (in[i] == '\r' || in[i] == '\n')
		{
			if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
				i++;
			out[o++] = '\r';
			out[o++] = '\n';
		}
		else
			out[o++] = in[i];
	}
	if (o > 0 && !(o >= 2 && out[o - 2] == '\r' && out[o - 1] == '\n'))
	{
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

/*
 * Check that stream is a well-formed SMTP body followed by the terminator,
 * and return its dot-unstuffed content (lines with their CRLF) in out.
 */
static size_t
reference_decode(const char *stream, size_t total, char *out)
{
	size_t		bodylen;
	size_t		o = 0;
	size_t		i;

	CHECK(total >= 3);
	CHECK(memcmp(stream + total - 3, ".\r\n", 3) == 0);
	bodylen = total - 3;

	/* no terminator before the real one */
	if (bodylen > 0)
		CHECK(memcmp(stream, ".\r\n", 3) != 0);
	for (i = 0; i + 5 <= total; i++)
		if (memcmp(stream + i, "\r\n.\r\n", 5) == 0)
			CHECK(i == total - 5);

	/* only CRLF line ends, and the body's last line is ended */
	for (i = 0; i < bodylen; i++)
	{
		if (stream[i] == '\r')
			CHECK(i + 1 < bodylen && stream[i + 1] == '\n');
		if (stream[i] == '\n')
			CHECK(i > 0 && stream[i - 1] == '\r');
	}
	if (bodylen > 0)
		CHECK(bodylen >= 2 && stream[bodylen - 2] == '\r' &&
			  stream[bodylen - 1] == '\n');

	/* dot-unstuff line by line; a leading dot must have been doubled */
	i = 0;
	while (i < bodylen)
	{
		const char *eol = memchr(stream + i, '\r', bodylen - i);
		size_t		linelen;

		CHECK(eol != NULL);
		linelen = (size_t) (eol - (stream + i));
		if (linelen > 0 && stream[i] == '.')
		{
			CHECK(linelen >= 2 && stream[i + 1] == '.');
			i++;
			linelen--;
		}
		memcpy(out + o, stream + i, linelen + 2);
		o += linelen + 2;
		i += linelen + 2;
	}
	return o;
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	seed = 0x9e3779b97f4a7c15ULL;
	char	   *body;
	size_t		len;
	char	   *one;
	char	   *chunked;
	char	   *decoded;
	char	   *expected;
	size_t		n_one;
	size_t		n_chunked;
	size_t		n_decoded;
	size_t		n_expected;
	size_t		i;

	for (i = 0; i < 8 && i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	if (seed == 0)
		seed = 1;
	if (size > 8)
	{
		data += 8;
		size -= 8;
	}
	else
		size = 0;

	len = size;
	body = malloc(len ? len : 1);
	memcpy(body, data, len);
	one = malloc(2 * len + SMTP_BODY_FINISH_MAX);
	chunked = malloc(2 * len + SMTP_BODY_FINISH_MAX);
	decoded = malloc(2 * len + SMTP_BODY_FINISH_MAX);
	expected = malloc(2 * len + 2);

	n_one = encode_one_shot(body, len, one);
	n_chunked = encode_chunked(body, len, seed, chunked);
	CHECK(n_chunked == n_one);
	CHECK(memcmp(chunked, one, n_one) == 0);

	n_decoded = reference_decode(one, n_one, decoded);
	n_expected = reference_normalise(body, len, expected);
	CHECK(n_decoded == n_expected);
	CHECK(memcmp(decoded, expected, n_expected) == 0);

	free(expected);
	free(decoded);
	free(chunked);
	free(one);
	free(body);
	return 0;
}
