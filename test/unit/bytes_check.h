/*-------------------------------------------------------------------------
 *
 * bytes_check.h
 *	  Byte-string assertions shared by the cmocka unit tests: compare with
 *	  escaped output on failure, and guard bytes around output buffers.
 *	  Include after <cmocka.h>.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SMTP_BYTES_CHECK_H
#define SMTP_BYTES_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Byte written around output buffers to catch writes past their end. */
#define GUARD		0x5a

/* Bytes of a string literal, without its terminating NUL. */
#define LIT(s)		(s), (sizeof(s) - 1)

/* Print a counted byte string with C escapes, for failure messages. */
static void
print_escaped(const char *label, const void *data, size_t len)
{
	const unsigned char *s = data;
	char		buf[1024];
	size_t		o = 0;
	size_t		i;

	for (i = 0; i < len && o + 5 < sizeof(buf); i++)
	{
		unsigned char c = s[i];

		if (c == '\r')
			o += snprintf(buf + o, sizeof(buf) - o, "\\r");
		else if (c == '\n')
			o += snprintf(buf + o, sizeof(buf) - o, "\\n");
		else if (c < 0x20 || c >= 0x7f || c == '\\')
			o += snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
		else
			buf[o++] = (char) c;
	}
	buf[o] = '\0';
	print_error("%s (%zu bytes): \"%s\"\n", label, len, buf);
}

/* Fail unless got[0..gotlen) equals want[0..wantlen), showing both. */
static void
assert_bytes_equal(const void *got, size_t gotlen,
				   const void *want, size_t wantlen)
{
	if (gotlen == wantlen && memcmp(got, want, gotlen) == 0)
		return;
	print_escaped("expected", want, wantlen);
	print_escaped("got     ", got, gotlen);
	fail();
}

/* True if every byte of buf[0..len) is the guard byte. */
static bool
guard_intact(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t		i;

	for (i = 0; i < len; i++)
		if (p[i] != GUARD)
			return false;
	return true;
}

#endif							/* SMTP_BYTES_CHECK_H */
