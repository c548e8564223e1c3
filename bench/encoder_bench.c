/*
 * encoder_bench.c — the DATA body encoder of src/proto.c (smtp_body_encode)
 * against the one-switch-per-byte loop it replaced (kept here as the
 * reference: it is the plain statement of the rules).
 *
 *     cc $(pg_config --cflags) -Isrc bench/encoder_bench.c src/proto.c \
 *        -o /tmp/encoder_bench && /tmp/encoder_bench
 *
 * smtp_body_encode copies runs inside a line byte by byte up to 16 bytes
 * (SHORT_RUN) and uses memchr and memcpy only beyond that (9095510).
 *
 * First checks that both give the same bytes on random inputs rich in CR,
 * LF and dots, with random input splits and output-buffer sizes; then times
 * them on 20 MiB bodies of several shapes (best of 5).  Not run by
 * bench/run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto.h"

/* The reference: one switch per byte (src/proto.c before b040b8b). */
static size_t
reference_encode(SmtpBodyEncoder *enc, const char *in, size_t inlen,
				 size_t *consumed, char *out, size_t outsize)
{
	size_t		i = 0;
	size_t		o = 0;
	SmtpBodyState st = enc->state;

	while (i < inlen && o + 2 <= outsize)
	{
		char		ch = in[i++];

		switch (ch)
		{
			case '\r':
				out[o++] = '\r';
				out[o++] = '\n';
				st = SMTP_BODY_AFTER_CR;
				break;
			case '\n':
				if (st != SMTP_BODY_AFTER_CR)
				{
					out[o++] = '\r';
					out[o++] = '\n';
				}
				st = SMTP_BODY_LINE_START;
				break;
			case '.':
				if (st != SMTP_BODY_MID_LINE)
					out[o++] = '.';
				out[o++] = '.';
				st = SMTP_BODY_MID_LINE;
				break;
			default:
				out[o++] = ch;
				st = SMTP_BODY_MID_LINE;
				break;
		}
	}
	enc->state = st;
	enc->bytes_in += i;
	enc->bytes_out += o;
	*consumed = i;
	return o;
}

typedef size_t (*encode_fn) (SmtpBodyEncoder *, const char *, size_t,
							 size_t *, char *, size_t);

/*
 * Encode in, split in chunks of "chunk" bytes, through an output buffer of
 * outsize bytes (appended to out when out is not NULL); the output length.
 */
static size_t
run(encode_fn fn, const char *in, size_t len, size_t chunk, size_t outsize,
	char *out)
{
	SmtpBodyEncoder enc;
	size_t		total = 0;
	char	   *buf = malloc(outsize + SMTP_BODY_FINISH_MAX);

	smtp_body_init(&enc);
	for (size_t off = 0; off < len; off += chunk)
	{
		const char *p = in + off;
		size_t		left = len - off < chunk ? len - off : chunk;

		while (left > 0)
		{
			size_t		consumed;
			size_t		n = fn(&enc, p, left, &consumed, buf, outsize);

			if (out)
				memcpy(out + total, buf, n);
			total += n;
			p += consumed;
			left -= consumed;
		}
	}
	{
		size_t		n = smtp_body_finish(&enc, buf);

		if (out)
			memcpy(out + total, buf, n);
		total += n;
	}
	free(buf);
	return total;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Fill body with copies of pattern. */
static void
fill(char *body, size_t len, const char *pattern)
{
	size_t		pl = strlen(pattern);

	for (size_t off = 0; off < len; off++)
		body[off] = pattern[off % pl];
}

/* Best of 5, in ms, of encoding body in 32 KiB chunks through 64 KiB. */
static double
best_ms(encode_fn fn, const char *body, size_t len)
{
	double		best = 1e9;

	for (int r = 0; r < 5; r++)
	{
		double		t0 = now();
		double		t;

		run(fn, body, len, 32768, 65536, NULL);
		t = now() - t0;
		if (t < best)
			best = t;
	}
	return best * 1e3;
}

int
main(void)
{
	const size_t len = (size_t) 640 * 32768;
	char	   *body = malloc(len);
	char	   *a = malloc(2 * len + 16);
	char	   *b = malloc(2 * len + 16);
	static const struct
	{
		const char *name;
		const char *pattern;
	}			shapes[] = {
		{"76-char lines, CRLF (bench body)",
		"The quick brown fox jumps over the lazy dog 0123456789 The quick brown fox ju\r\n"},
		{"one line, no CR/LF", "abcdefghijklmnopqrstuvwxyz0123456789"},
		{"bare LF lines of 10", "123456789\n"},
		{"dot-stuffed short lines", ".a\r\n"},
		{"only CR", "\r"},
	};

	srand(42);
	for (int t = 0; t < 20000; t++)
	{
		const char	alphabet[] = "ab.\r\n.\n\r";
		size_t		n = (size_t) (rand() % 300);
		size_t		ch = 1 + (size_t) (rand() % 40);
		size_t		os = 2 + (size_t) (rand() % 40);
		size_t		la;
		size_t		lb;

		for (size_t k = 0; k < n; k++)
			body[k] = alphabet[rand() % (sizeof(alphabet) - 1)];
		la = run(reference_encode, body, n, ch, os, a);
		lb = run(smtp_body_encode, body, n, ch, os, b);
		if (la != lb || memcmp(a, b, la) != 0)
		{
			fprintf(stderr, "MISMATCH (src) on random input %d\n", t);
			return 1;
		}
	}
	printf("smtp_body_encode == reference on 20000 random split inputs\n\n");
	printf("%-34s %-20s %-20s\n", "20 MiB body, ms (ns/byte)", "reference",
		   "src/proto.c");
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		double		r;
		double		n;
		size_t		la;
		size_t		lb;

		fill(body, len, shapes[s].pattern);
		la = run(reference_encode, body, len, 32768, 65536, a);
		lb = run(smtp_body_encode, body, len, 32768, 65536, b);
		if (la != lb || memcmp(a, b, la) != 0)
		{
			fprintf(stderr, "MISMATCH on shape %s\n", shapes[s].name);
			return 1;
		}
		r = best_ms(reference_encode, body, len);
		n = best_ms(smtp_body_encode, body, len);
		printf("%-34s %6.2f (%.2f)        %6.2f (%.2f)\n", shapes[s].name,
			   r, r * 1e6 / len, n, n * 1e6 / len);
	}
	return 0;
}
