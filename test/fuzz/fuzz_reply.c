/*-------------------------------------------------------------------------
 *
 * fuzz_reply.c
 *	  libFuzzer target: server bytes through smtp_reply_line_parse() and
 *	  smtp_reply_add_line() the way the client reads replies.
 *
 *	  The first input byte chooses how many bytes each simulated socket
 *	  read delivers; the rest is the server's byte stream.  The stream is
 *	  parsed once with everything available and once as it trickles in,
 *	  and both must see the same lines and the same outcome.
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "proto.h"

/* What one parse step produced. */
typedef struct Event
{
	SmtpLineStatus ls;
	SmtpReplyStatus rs;			/* only for SMTP_LINE_OK */
	int			code;
	bool		last;
	size_t		start;			/* offset of the line in the stream */
	size_t		consumed;
	size_t		textoff;
	size_t		textlen;
} Event;

/* Check what smtp_reply_line_parse() says about the line at buf[0..len). */
static void
check_line(const char *buf, size_t len, SmtpLineStatus ls, size_t consumed,
		   const SmtpReplyLine *line)
{
	const char *lf = memchr(buf, '\n', len);

	CHECK(consumed <= len);
	switch (ls)
	{
		case SMTP_LINE_INCOMPLETE:
			CHECK(consumed == 0);
			CHECK(lf == NULL);
			CHECK(len <= SMTP_REPLY_MAX_LINE + 1);
			break;
		case SMTP_LINE_TOO_LONG:
			if (lf == NULL)
				CHECK(len > SMTP_REPLY_MAX_LINE + 1);
			else
				CHECK((size_t) (lf - buf) > SMTP_REPLY_MAX_LINE);
			break;
		case SMTP_LINE_NUL:
			CHECK(lf != NULL);
			CHECK(memchr(buf, '\0', (size_t) (lf - buf)) != NULL);
			break;
		case SMTP_LINE_MALFORMED:
			CHECK(lf != NULL);
			break;
		case SMTP_LINE_OK:
			{
				size_t		linelen;

				CHECK(lf != NULL);
				CHECK(consumed == (size_t) (lf - buf) + 1);
				CHECK(consumed >= 4);
				linelen = consumed - 1;
				if (buf[linelen - 1] == '\r')
					linelen--;
				CHECK(linelen >= 3 && linelen <= SMTP_REPLY_MAX_LINE);
				CHECK(memchr(buf, '\0', linelen) == NULL);
				CHECK(line->code >= 200 && line->code <= 599);
				CHECK(line->code == (buf[0] - '0') * 100 +
					  (buf[1] - '0') * 10 + (buf[2] - '0'));
				CHECK(line->text >= buf + 3);
				CHECK(line->text + line->textlen == buf + linelen);
				CHECK(line->textlen <= SMTP_REPLY_MAX_LINE - 4);
				if (linelen == 3)
					CHECK(line->last && line->textlen == 0);
				else
				{
					CHECK(buf[3] == ' ' || buf[3] == '-');
					CHECK(line->last == (buf[3] == ' '));
					CHECK(line->text == buf + 4);
				}
				CHECK(memchr(line->text, '\n', line->textlen) == NULL);
				break;
			}
		default:
			CHECK(!"unknown SmtpLineStatus");
	}
}

/* Add a parsed line to the reply and check the accumulator's answer. */
static SmtpReplyStatus
add_line(SmtpReplyState *st, const SmtpReplyLine *line)
{
	SmtpReplyState before = *st;
	SmtpReplyStatus rs = smtp_reply_add_line(st, line);

	switch (rs)
	{
		case SMTP_REPLY_MORE:
		case SMTP_REPLY_DONE:
			CHECK(before.nlines < SMTP_REPLY_MAX_LINES);
			CHECK(before.nlines == 0 || before.code == line->code);
			CHECK(st->nlines == before.nlines + 1);
			CHECK(st->code == line->code);
			CHECK(st->done == (rs == SMTP_REPLY_DONE));
			CHECK(line->last == (rs == SMTP_REPLY_DONE));
			break;
		case SMTP_REPLY_MIXED_CODES:
			CHECK(before.nlines > 0 && before.code != line->code);
			CHECK(st->nlines == before.nlines && !st->done);
			break;
		case SMTP_REPLY_TOO_MANY_LINES:
			CHECK(before.nlines == SMTP_REPLY_MAX_LINES);
			CHECK(st->nlines == before.nlines && !st->done);
			break;
		default:
			CHECK(!"unknown SmtpReplyStatus");
	}
	CHECK(st->nlines <= SMTP_REPLY_MAX_LINES);
	return rs;
}

/*
 * Parse the stream as a client does, revealing step bytes at a time (0 =
 * all at once): loop over lines, start a new reply after each complete
 * one, stop on any error.  Returns the number of events recorded.
 */
static size_t
run_client(const char *buf, size_t size, size_t step, Event *ev)
{
	SmtpReplyState st;
	size_t		avail = (step == 0) ? size : 0;
	size_t		pos = 0;
	size_t		nev = 0;

	smtp_reply_init(&st);
	for (;;)
	{
		SmtpReplyLine line;
		size_t		consumed = 12345;
		SmtpLineStatus ls;
		Event	   *e;

		ls = smtp_reply_line_parse(buf + pos, avail - pos, &consumed, &line);
		check_line(buf + pos, avail - pos, ls, consumed, &line);
		if (ls == SMTP_LINE_INCOMPLETE && avail < size)
		{
			avail = (size - avail > step) ? avail + step : size;
			continue;
		}
		e = &ev[nev++];
		memset(e, 0, sizeof(*e));
		e->ls = ls;
		e->start = pos;
		if (ls != SMTP_LINE_OK)
			break;
		e->code = line.code;
		e->last = line.last;
		e->consumed = consumed;
		e->textoff = (size_t) (line.text - buf);
		e->textlen = line.textlen;
		e->rs = add_line(&st, &line);
		if (e->rs == SMTP_REPLY_MIXED_CODES || e->rs == SMTP_REPLY_TOO_MANY_LINES)
			break;
		if (e->rs == SMTP_REPLY_DONE)
			smtp_reply_init(&st);
		pos += consumed;
		CHECK(pos <= avail);
	}
	return nev;
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *buf;
	Event	   *ev_all;
	Event	   *ev_trickle;
	size_t		n_all;
	size_t		n_trickle;
	size_t		step;
	size_t		i;

	if (size < 1)
		return 0;
	step = (size_t) data[0] % 64 + 1;
	data++;
	size--;

	/* exact-size copy, so any read past the end is caught by ASan */
	buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	ev_all = malloc(sizeof(Event) * (size / 4 + 2));
	ev_trickle = malloc(sizeof(Event) * (size / 4 + 2));

	n_all = run_client(buf, size, 0, ev_all);
	n_trickle = run_client(buf, size, step, ev_trickle);

	CHECK(n_all == n_trickle);
	for (i = 0; i < n_all; i++)
	{
		const Event *a = &ev_all[i];
		const Event *t = &ev_trickle[i];

		CHECK(a->ls == t->ls);
		CHECK(a->start == t->start);
		if (a->ls == SMTP_LINE_OK)
			CHECK(memcmp(a, t, sizeof(*a)) == 0);
	}

	free(ev_trickle);
	free(ev_all);
	free(buf);
	return 0;
}
