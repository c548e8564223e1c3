/*-------------------------------------------------------------------------
 *
 * proto.c
 *	  SMTP wire format, free of PostgreSQL and of sockets: reply lines,
 *	  commands, EHLO capabilities and the DATA body encoder.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "proto.h"

/* ASCII case-insensitive comparison of a counted string with a literal. */
static bool
ascii_eq_nocase(const char *s, size_t len, const char *lit)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		char		a = s[i];
		char		b = lit[i];

		if (b == '\0')
			return false;
		if (a >= 'a' && a <= 'z')
			a -= 'a' - 'A';
		if (b >= 'a' && b <= 'z')
			b -= 'a' - 'A';
		if (a != b)
			return false;
	}
	return lit[len] == '\0';
}

/*
 * Parse one reply line from the front of buf.  Accepts CRLF and bare LF
 * endings.  On SMTP_LINE_OK, *consumed is the length including the ending
 * and line points into buf.
 */
SmtpLineStatus
smtp_reply_line_parse(const char *buf, size_t len, size_t *consumed,
					  SmtpReplyLine *line)
{
	const char *lf;
	size_t		linelen;
	int			i;

	*consumed = 0;
	lf = memchr(buf, '\n', len);
	if (lf == NULL)
		return (len > SMTP_REPLY_MAX_LINE + 1) ? SMTP_LINE_TOO_LONG
			: SMTP_LINE_INCOMPLETE;

	linelen = (size_t) (lf - buf);
	*consumed = linelen + 1;
	if (linelen > 0 && buf[linelen - 1] == '\r')
		linelen--;
	if (linelen > SMTP_REPLY_MAX_LINE)
		return SMTP_LINE_TOO_LONG;
	if (memchr(buf, '\0', linelen) != NULL)
		return SMTP_LINE_NUL;
	if (linelen < 3)
		return SMTP_LINE_MALFORMED;
	for (i = 0; i < 3; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return SMTP_LINE_MALFORMED;
	if (buf[0] < '2' || buf[0] > '5')
		return SMTP_LINE_MALFORMED;

	line->code = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
	if (linelen == 3)
	{
		line->last = true;
		line->text = buf + 3;
		line->textlen = 0;
		return SMTP_LINE_OK;
	}
	if (buf[3] != ' ' && buf[3] != '-')
		return SMTP_LINE_MALFORMED;
	line->last = (buf[3] == ' ');
	line->text = buf + 4;
	line->textlen = linelen - 4;
	return SMTP_LINE_OK;
}

/* Start collecting a new reply. */
void
smtp_reply_init(SmtpReplyState *st)
{
	st->code = 0;
	st->nlines = 0;
	st->done = false;
}

/* Add a parsed line to the reply; checks code consistency and line count. */
SmtpReplyStatus
smtp_reply_add_line(SmtpReplyState *st, const SmtpReplyLine *line)
{
	if (st->nlines >= SMTP_REPLY_MAX_LINES)
		return SMTP_REPLY_TOO_MANY_LINES;
	if (st->nlines > 0 && line->code != st->code)
		return SMTP_REPLY_MIXED_CODES;
	st->code = line->code;
	st->nlines++;
	if (line->last)
	{
		st->done = true;
		return SMTP_REPLY_DONE;
	}
	return SMTP_REPLY_MORE;
}

/* True if s has no CR, LF or NUL: safe inside one command line. */
bool
smtp_text_is_safe(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return false;
	return true;
}

/*
 * Build one command line "VERB[ ARG][ PARAMS]\r\n" into dst.
 *
 * With path = true the argument is a mailbox for MAIL FROM:/RCPT TO: and
 * follows the verb directly: '' becomes the null path "<>", "<addr>" is kept
 * and a bare address is wrapped in angle brackets.  A NULL or empty arg
 * without path adds nothing.  Nothing is written if any part has CR, LF or
 * NUL, so a caller that checks the status cannot send an injected command.
 */
SmtpCmdStatus
smtp_command_build(char *dst, size_t dstsize, size_t *outlen,
				   const char *verb, size_t verblen,
				   const char *arg, size_t arglen,
				   const char *params, size_t paramlen,
				   bool path)
{
	size_t		n = 0;
	bool		wrap;

	*outlen = 0;
	if (arg == NULL)
		arglen = 0;
	if (params == NULL)
		paramlen = 0;
	if (!smtp_text_is_safe(verb, verblen) ||
		!smtp_text_is_safe(arg, arglen) ||
		!smtp_text_is_safe(params, paramlen))
		return SMTP_CMD_BAD_CHAR;
	if (dstsize < SMTP_CMD_SIZE(verblen, arglen, paramlen))
		return SMTP_CMD_NO_ROOM;

	memcpy(dst + n, verb, verblen);
	n += verblen;
	if (path)
	{
		wrap = (arglen == 0 || arg[0] != '<');
		if (wrap)
			dst[n++] = '<';
		if (arglen > 0)
			memcpy(dst + n, arg, arglen);
		n += arglen;
		if (wrap)
			dst[n++] = '>';
	}
	else if (arglen > 0)
	{
		dst[n++] = ' ';
		memcpy(dst + n, arg, arglen);
		n += arglen;
	}
	if (paramlen > 0)
	{
		dst[n++] = ' ';
		memcpy(dst + n, params, paramlen);
		n += paramlen;
	}
	dst[n++] = '\r';
	dst[n++] = '\n';
	*outlen = n;
	return SMTP_CMD_OK;
}

/* Forget every capability (new connection, or after the TLS handshake). */
void
smtp_caps_reset(SmtpCaps *caps)
{
	memset(caps, 0, sizeof(*caps));
}

/* Names of the AUTH mechanisms we recognise, by bit. */
static const struct
{
	uint32_t	bit;
	const char *name;
}			auth_names[] =
{
	{SMTP_AUTH_PLAIN, "PLAIN"},
	{SMTP_AUTH_LOGIN, "LOGIN"},
	{SMTP_AUTH_CRAM_MD5, "CRAM-MD5"},
	{SMTP_AUTH_XOAUTH2, "XOAUTH2"},
	{SMTP_AUTH_OAUTHBEARER, "OAUTHBEARER"},
	{SMTP_AUTH_SCRAM_SHA_1, "SCRAM-SHA-1"},
	{SMTP_AUTH_SCRAM_SHA_256, "SCRAM-SHA-256"},
};

/* Bit of a mechanism name (case-insensitive), 0 if unknown. */
uint32_t
smtp_auth_mech_from_name(const char *name, size_t len)
{
	size_t		i;

	for (i = 0; i < sizeof(auth_names) / sizeof(auth_names[0]); i++)
		if (ascii_eq_nocase(name, len, auth_names[i].name))
			return auth_names[i].bit;
	return 0;
}

/* Canonical name of a mechanism bit, NULL if unknown. */
const char *
smtp_auth_mech_name(uint32_t mech)
{
	size_t		i;

	for (i = 0; i < sizeof(auth_names) / sizeof(auth_names[0]); i++)
		if (auth_names[i].bit == mech)
			return auth_names[i].name;
	return NULL;
}

/* Length of the token at s (up to a space, '=' when eq_ends, or len). */
static size_t
token_len(const char *s, size_t len, bool eq_ends)
{
	size_t		i = 0;

	while (i < len && s[i] != ' ' && s[i] != '\t' && !(eq_ends && s[i] == '='))
		i++;
	return i;
}

/* Record the AUTH mechanisms listed in s (space separated). */
static void
caps_parse_auth(SmtpCaps *caps, const char *s, size_t len)
{
	size_t		i = 0;

	caps->flags |= SMTP_CAP_AUTH;
	while (i < len)
	{
		size_t		t;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		t = token_len(s + i, len - i, false);
		if (t > 0)
			caps->auth |= smtp_auth_mech_from_name(s + i, t);
		i += t;
	}
}

/* Parse the SIZE argument, saturating instead of overflowing. */
static uint64_t
parse_size(const char *s, size_t len)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
	{
		if (v > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t) (s[i] - '0');
	}
	return v;
}

/*
 * Parse the text of one EHLO reply line after the first (which carries the
 * server's name), e.g. "AUTH PLAIN LOGIN", "AUTH=LOGIN", "SIZE 35882577".
 */
void
smtp_caps_parse_line(SmtpCaps *caps, const char *text, size_t len)
{
	size_t		kw = token_len(text, len, true);
	size_t		rest;
	const char *arg;

	caps->known = true;
	if (kw == 0)
		return;
	rest = (kw < len) ? kw + 1 : len;
	arg = text + rest;

	if (ascii_eq_nocase(text, kw, "STARTTLS"))
		caps->flags |= SMTP_CAP_STARTTLS;
	else if (ascii_eq_nocase(text, kw, "AUTH"))
		caps_parse_auth(caps, arg, len - rest);
	else if (ascii_eq_nocase(text, kw, "SIZE"))
	{
		caps->flags |= SMTP_CAP_SIZE;
		caps->size_limit = parse_size(arg, len - rest);
	}
	else if (ascii_eq_nocase(text, kw, "PIPELINING"))
		caps->flags |= SMTP_CAP_PIPELINING;
	else if (ascii_eq_nocase(text, kw, "8BITMIME"))
		caps->flags |= SMTP_CAP_8BITMIME;
	else if (ascii_eq_nocase(text, kw, "SMTPUTF8"))
		caps->flags |= SMTP_CAP_SMTPUTF8;
	else if (ascii_eq_nocase(text, kw, "ENHANCEDSTATUSCODES"))
		caps->flags |= SMTP_CAP_ENHANCEDSTATUSCODES;
	else if (ascii_eq_nocase(text, kw, "CHUNKING"))
		caps->flags |= SMTP_CAP_CHUNKING;
}

/* Runs inside a line shorter than this are copied without memchr. */
#define SHORT_RUN 16

/* Start a new message body. */
void
smtp_body_init(SmtpBodyEncoder *enc)
{
	enc->state = SMTP_BODY_LINE_START;
	enc->bytes_in = 0;
	enc->bytes_out = 0;
}

/*
 * Encode as much of in[0..inlen) as fits in out[0..outsize).  Returns the
 * bytes written; *consumed says how much input was taken.  Every input byte
 * produces at most two output bytes, so outsize >= 2 * inlen takes it all.
 */
size_t
smtp_body_encode(SmtpBodyEncoder *enc, const char *in, size_t inlen,
				 size_t *consumed, char *out, size_t outsize)
{
	size_t		i = 0;
	size_t		o = 0;
	SmtpBodyState st = enc->state;

	/* Where the next CR and LF are (inlen: none); found lazily, once. */
	size_t		next_cr = 0;
	size_t		next_lf = 0;
	bool		cr_known = false;
	bool		lf_known = false;

	while (i < inlen && o + 2 <= outsize)
	{
		char		ch;

		/*
		 * Inside a line only CR and LF matter: copy the run up to the next
		 * one in a block.  Short runs are copied byte by byte; past
		 * SHORT_RUN bytes memchr finds the rest, and the CR and LF positions
		 * it finds are remembered, so the input is scanned once whatever
		 * its shape.
		 */
		if (st == SMTP_BODY_MID_LINE)
		{
			size_t		limit = inlen - i;
			size_t		n = 0;

			if (limit > outsize - o)
				limit = outsize - o;
			while (n < limit && n < SHORT_RUN &&
				   in[i + n] != '\r' && in[i + n] != '\n')
			{
				out[o + n] = in[i + n];
				n++;
			}
			if (n == SHORT_RUN && n < limit)
			{
				size_t		done = n;
				size_t		stop;

				if (!cr_known || next_cr < i + done)
				{
					const char *p = memchr(in + i + done, '\r', inlen - i - done);

					next_cr = p ? (size_t) (p - in) : inlen;
					cr_known = true;
				}
				if (!lf_known || next_lf < i + done)
				{
					const char *p = memchr(in + i + done, '\n', inlen - i - done);

					next_lf = p ? (size_t) (p - in) : inlen;
					lf_known = true;
				}
				stop = next_cr < next_lf ? next_cr : next_lf;
				n = stop - i;
				if (n > limit)
					n = limit;
				memcpy(out + o + done, in + i + done, n - done);
			}
			i += n;
			o += n;
			if (i >= inlen || o + 2 > outsize)
				break;
		}

		ch = in[i++];

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

/*
 * End the body: a CRLF if the last line is unterminated, then ".\r\n".
 * out must have room for SMTP_BODY_FINISH_MAX bytes.
 */
size_t
smtp_body_finish(SmtpBodyEncoder *enc, char *out)
{
	size_t		o = 0;

	if (enc->state == SMTP_BODY_MID_LINE)
	{
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	enc->state = SMTP_BODY_LINE_START;
	enc->bytes_out += o;
	return o;
}
