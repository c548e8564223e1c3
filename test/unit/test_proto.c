/*-------------------------------------------------------------------------
 *
 * test_proto.c
 *	  cmocka unit tests for src/proto.c: reply line parser and accumulator,
 *	  command builder, EHLO capability parser and the DATA body encoder.
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

#include "bytes_check.h"

/*
 * Reply line parser
 */

/* Parse a NUL-terminated test string as one reply line. */
static SmtpLineStatus
parse(const char *s, size_t *consumed, SmtpReplyLine *line)
{
	return smtp_reply_line_parse(s, strlen(s), consumed, line);
}

/* Build "250 xxx...\r\n" (or bare LF) whose line is linelen bytes long. */
static char *
make_long_line(size_t linelen, bool crlf, size_t *buflen)
{
	char	   *buf = malloc(linelen + 2);

	assert_non_null(buf);
	assert_true(linelen >= 4);
	memcpy(buf, "250 ", 4);
	memset(buf + 4, 'x', linelen - 4);
	*buflen = linelen;
	if (crlf)
		buf[(*buflen)++] = '\r';
	buf[(*buflen)++] = '\n';
	return buf;
}

/* "250 OK\r\n" gives code, last flag, text and consumed length. */
static void
reply_line_parses_final_line_with_crlf(void **state)
{
	const char *s = "250 OK\r\n";
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse(s, &consumed, &line), SMTP_LINE_OK);
	assert_int_equal(consumed, 8);
	assert_int_equal(line.code, 250);
	assert_true(line.last);
	assert_ptr_equal(line.text, s + 4);
	assert_bytes_equal(line.text, line.textlen, LIT("OK"));
}

/* A line ended by a bare LF is accepted like CRLF. */
static void
reply_line_accepts_bare_lf(void **state)
{
	const char *s = "250 OK\n";
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse(s, &consumed, &line), SMTP_LINE_OK);
	assert_int_equal(consumed, 7);
	assert_int_equal(line.code, 250);
	assert_true(line.last);
	assert_bytes_equal(line.text, line.textlen, LIT("OK"));
}

/* A '-' after the code marks a continuation line. */
static void
reply_line_dash_marks_continuation(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("250-PIPELINING\r\n", &consumed, &line),
					 SMTP_LINE_OK);
	assert_int_equal(consumed, 16);
	assert_int_equal(line.code, 250);
	assert_false(line.last);
	assert_bytes_equal(line.text, line.textlen, LIT("PIPELINING"));
}

/* A line of just the code is a final line with empty text. */
static void
reply_line_accepts_three_digits_only(void **state)
{
	const char *s = "354\r\n";
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse(s, &consumed, &line), SMTP_LINE_OK);
	assert_int_equal(consumed, 5);
	assert_int_equal(line.code, 354);
	assert_true(line.last);
	assert_ptr_equal(line.text, s + 3);
	assert_int_equal(line.textlen, 0);
}

/* A code-only line may end in a bare LF too. */
static void
reply_line_accepts_three_digits_with_bare_lf(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("221\n", &consumed, &line), SMTP_LINE_OK);
	assert_int_equal(consumed, 4);
	assert_int_equal(line.code, 221);
	assert_true(line.last);
	assert_int_equal(line.textlen, 0);
}

/* "250 " is a final line with empty text. */
static void
reply_line_accepts_empty_text_after_space(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("250 \r\n", &consumed, &line), SMTP_LINE_OK);
	assert_true(line.last);
	assert_int_equal(line.textlen, 0);
}

/* "250-" is a continuation line with empty text. */
static void
reply_line_accepts_empty_text_after_dash(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("250-\r\n", &consumed, &line), SMTP_LINE_OK);
	assert_false(line.last);
	assert_int_equal(line.textlen, 0);
}

/* Only the first line is parsed; consumed points at the next. */
static void
reply_line_parses_only_the_first_line_of_the_buffer(void **state)
{
	const char *s = "250-first\r\n250 second\r\n";
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse(s, &consumed, &line), SMTP_LINE_OK);
	assert_int_equal(consumed, 11);
	assert_false(line.last);
	assert_bytes_equal(line.text, line.textlen, LIT("first"));

	assert_int_equal(parse(s + consumed, &consumed, &line), SMTP_LINE_OK);
	assert_int_equal(consumed, 12);
	assert_true(line.last);
	assert_bytes_equal(line.text, line.textlen, LIT("second"));
}

/* Codes 200 and 599 are the accepted bounds. */
static void
reply_line_accepts_lowest_and_highest_codes(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("200 a\r\n", &consumed, &line), SMTP_LINE_OK);
	assert_int_equal(line.code, 200);
	assert_int_equal(parse("599 a\r\n", &consumed, &line), SMTP_LINE_OK);
	assert_int_equal(line.code, 599);
}

/* Without an LF the line is incomplete and nothing is consumed. */
static void
reply_line_without_line_end_is_incomplete(void **state)
{
	size_t		consumed = 99;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("250 OK", &consumed, &line), SMTP_LINE_INCOMPLETE);
	assert_int_equal(consumed, 0);
}

/* A CR without its LF is still incomplete. */
static void
reply_line_ending_in_cr_only_is_incomplete(void **state)
{
	size_t		consumed = 99;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("250 OK\r", &consumed, &line),
					 SMTP_LINE_INCOMPLETE);
	assert_int_equal(consumed, 0);
}

/* An empty buffer is incomplete. */
static void
reply_line_empty_buffer_is_incomplete(void **state)
{
	size_t		consumed = 99;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(smtp_reply_line_parse("", 0, &consumed, &line),
					 SMTP_LINE_INCOMPLETE);
	assert_int_equal(consumed, 0);
}

/* A NUL in the text is reported as SMTP_LINE_NUL. */
static void
reply_line_rejects_nul_in_text(void **state)
{
	static const char s[] = "250 O\0K\r\n";
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(smtp_reply_line_parse(s, sizeof(s) - 1, &consumed, &line),
					 SMTP_LINE_NUL);
}

/* A NUL in the code is reported as SMTP_LINE_NUL. */
static void
reply_line_rejects_nul_in_code(void **state)
{
	static const char s[] = "2\00050 OK\r\n";
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(smtp_reply_line_parse(s, sizeof(s) - 1, &consumed, &line),
					 SMTP_LINE_NUL);
}

/* A NUL after the LF belongs to the next line, not this one. */
static void
reply_line_ignores_nul_after_the_line_end(void **state)
{
	static const char s[] = "250 OK\r\n\0";
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(smtp_reply_line_parse(s, sizeof(s) - 1, &consumed, &line),
					 SMTP_LINE_OK);
	assert_int_equal(consumed, 8);
}

/* An empty line is malformed. */
static void
reply_line_rejects_empty_line(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("\n", &consumed, &line), SMTP_LINE_MALFORMED);
}

/* A two-digit code is malformed. */
static void
reply_line_rejects_two_digit_code(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("25\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("25 OK\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
}

/* Letters in the code are malformed. */
static void
reply_line_rejects_non_digit_code(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("2a0 OK\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("25a OK\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("OK 250\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
}

/* 1xx and 0xx codes are malformed. */
static void
reply_line_rejects_code_below_200(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("199 x\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("100\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("000 x\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
}

/* 6xx and above are malformed. */
static void
reply_line_rejects_code_above_599(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("600 x\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("999\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
}

/* Anything but ' ' or '-' after the code is malformed. */
static void
reply_line_rejects_bad_separator(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse("250OK\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("250\tOK\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("2500\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
	assert_int_equal(parse("250\r\r\n", &consumed, &line), SMTP_LINE_MALFORMED);
}

/* A space before the code is malformed. */
static void
reply_line_rejects_leading_space(void **state)
{
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(parse(" 250 OK\r\n", &consumed, &line),
					 SMTP_LINE_MALFORMED);
}

/* A 4096-byte line plus CRLF is the longest accepted. */
static void
reply_line_of_exactly_4096_bytes_is_accepted(void **state)
{
	size_t		len;
	char	   *buf = make_long_line(SMTP_REPLY_MAX_LINE, true, &len);
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(smtp_reply_line_parse(buf, len, &consumed, &line),
					 SMTP_LINE_OK);
	assert_int_equal(consumed, SMTP_REPLY_MAX_LINE + 2);
	assert_int_equal(line.textlen, SMTP_REPLY_MAX_LINE - 4);
	free(buf);
}

/* A 4096-byte line plus bare LF is accepted. */
static void
reply_line_of_exactly_4096_bytes_with_bare_lf_is_accepted(void **state)
{
	size_t		len;
	char	   *buf = make_long_line(SMTP_REPLY_MAX_LINE, false, &len);
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(smtp_reply_line_parse(buf, len, &consumed, &line),
					 SMTP_LINE_OK);
	assert_int_equal(consumed, SMTP_REPLY_MAX_LINE + 1);
	assert_int_equal(line.textlen, SMTP_REPLY_MAX_LINE - 4);
	free(buf);
}

/* A 4097-byte line plus CRLF is too long. */
static void
reply_line_of_4097_bytes_is_too_long(void **state)
{
	size_t		len;
	char	   *buf = make_long_line(SMTP_REPLY_MAX_LINE + 1, true, &len);
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(smtp_reply_line_parse(buf, len, &consumed, &line),
					 SMTP_LINE_TOO_LONG);
	free(buf);
}

/* A 4097-byte line plus bare LF is too long. */
static void
reply_line_of_4097_bytes_with_bare_lf_is_too_long(void **state)
{
	size_t		len;
	char	   *buf = make_long_line(SMTP_REPLY_MAX_LINE + 1, false, &len);
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	assert_int_equal(smtp_reply_line_parse(buf, len, &consumed, &line),
					 SMTP_LINE_TOO_LONG);
	free(buf);
}

/* 4096 bytes and a CR without LF may still become valid. */
static void
reply_line_4096_bytes_and_cr_without_lf_is_incomplete(void **state)
{
	size_t		len;
	char	   *buf = make_long_line(SMTP_REPLY_MAX_LINE, true, &len);
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	/* 4097 bytes, no LF yet: may still be a valid 4096-byte line + CRLF */
	assert_int_equal(smtp_reply_line_parse(buf, len - 1, &consumed, &line),
					 SMTP_LINE_INCOMPLETE);
	assert_int_equal(consumed, 0);
	free(buf);
}

/* 4098 bytes without LF can never become valid. */
static void
reply_line_over_4097_bytes_without_lf_is_too_long(void **state)
{
	size_t		len;
	char	   *buf = make_long_line(SMTP_REPLY_MAX_LINE + 2, true, &len);
	size_t		consumed;
	SmtpReplyLine line;

	(void) state;
	/* 4098 bytes and still no LF: can never become a valid line */
	assert_int_equal(smtp_reply_line_parse(buf, SMTP_REPLY_MAX_LINE + 2,
										   &consumed, &line),
					 SMTP_LINE_TOO_LONG);
	free(buf);
}


/*
 * Reply accumulator
 */

/* Parse s and add it to st, asserting that the line itself is valid. */
static SmtpReplyStatus
add(SmtpReplyState *st, const char *s)
{
	size_t		consumed;
	SmtpReplyLine line;

	assert_int_equal(parse(s, &consumed, &line), SMTP_LINE_OK);
	return smtp_reply_add_line(st, &line);
}

/* smtp_reply_init() clears code, line count and done. */
static void
reply_init_starts_empty(void **state)
{
	SmtpReplyState st;

	(void) state;
	memset(&st, 0x7f, sizeof(st));
	smtp_reply_init(&st);
	assert_int_equal(st.code, 0);
	assert_int_equal(st.nlines, 0);
	assert_false(st.done);
}

/* A single final line completes the reply. */
static void
reply_single_line_is_done(void **state)
{
	SmtpReplyState st;

	(void) state;
	smtp_reply_init(&st);
	assert_int_equal(add(&st, "220 mail.example.com ESMTP\r\n"),
					 SMTP_REPLY_DONE);
	assert_int_equal(st.code, 220);
	assert_int_equal(st.nlines, 1);
	assert_true(st.done);
}

/* Continuation lines give MORE until the final line gives DONE. */
static void
reply_multi_line_continues_until_space_separator(void **state)
{
	SmtpReplyState st;

	(void) state;
	smtp_reply_init(&st);
	assert_int_equal(add(&st, "250-mail.example.com\r\n"), SMTP_REPLY_MORE);
	assert_false(st.done);
	assert_int_equal(add(&st, "250-PIPELINING\r\n"), SMTP_REPLY_MORE);
	assert_int_equal(add(&st, "250 SIZE 1000\r\n"), SMTP_REPLY_DONE);
	assert_int_equal(st.code, 250);
	assert_int_equal(st.nlines, 3);
	assert_true(st.done);
}

/* A final line whose code differs from the first is refused. */
static void
reply_rejects_mixed_codes(void **state)
{
	SmtpReplyState st;

	(void) state;
	smtp_reply_init(&st);
	assert_int_equal(add(&st, "250-first\r\n"), SMTP_REPLY_MORE);
	assert_int_equal(add(&st, "251 second\r\n"), SMTP_REPLY_MIXED_CODES);
	assert_int_equal(st.code, 250);
	assert_int_equal(st.nlines, 1);
	assert_false(st.done);
}

/* A continuation line with another code is refused too. */
static void
reply_rejects_mixed_codes_on_a_continuation_line(void **state)
{
	SmtpReplyState st;

	(void) state;
	smtp_reply_init(&st);
	assert_int_equal(add(&st, "250-first\r\n"), SMTP_REPLY_MORE);
	assert_int_equal(add(&st, "550-second\r\n"), SMTP_REPLY_MIXED_CODES);
}

/* A reply of exactly 100 lines is accepted. */
static void
reply_accepts_100_lines(void **state)
{
	SmtpReplyState st;
	int			i;

	(void) state;
	smtp_reply_init(&st);
	for (i = 0; i < SMTP_REPLY_MAX_LINES - 1; i++)
		assert_int_equal(add(&st, "250-line\r\n"), SMTP_REPLY_MORE);
	assert_int_equal(add(&st, "250 last\r\n"), SMTP_REPLY_DONE);
	assert_int_equal(st.nlines, SMTP_REPLY_MAX_LINES);
	assert_true(st.done);
}

/* The 101st line of a reply is refused. */
static void
reply_rejects_101st_line(void **state)
{
	SmtpReplyState st;
	int			i;

	(void) state;
	smtp_reply_init(&st);
	for (i = 0; i < SMTP_REPLY_MAX_LINES; i++)
		assert_int_equal(add(&st, "250-line\r\n"), SMTP_REPLY_MORE);
	assert_int_equal(add(&st, "250 last\r\n"), SMTP_REPLY_TOO_MANY_LINES);
	assert_int_equal(st.nlines, SMTP_REPLY_MAX_LINES);
	assert_false(st.done);
}

/* After a reset the next reply may have another code. */
static void
reply_init_after_done_accepts_a_new_code(void **state)
{
	SmtpReplyState st;

	(void) state;
	smtp_reply_init(&st);
	assert_int_equal(add(&st, "250 OK\r\n"), SMTP_REPLY_DONE);
	smtp_reply_init(&st);
	assert_int_equal(add(&st, "354 go ahead\r\n"), SMTP_REPLY_DONE);
	assert_int_equal(st.code, 354);
	assert_int_equal(st.nlines, 1);
}


/*
 * Command builder
 */

/* Build a command into a guarded buffer of dstsize bytes. */
static SmtpCmdStatus
build(char *dst, size_t dstsize, size_t *outlen,
	  const char *verb, const char *arg, size_t arglen,
	  const char *params, size_t paramlen, bool path)
{
	memset(dst, GUARD, dstsize + 16);
	return smtp_command_build(dst, dstsize, outlen, verb, strlen(verb),
							  arg, arglen, params, paramlen, path);
}

/* A verb alone becomes "VERB\r\n". */
static void
command_builds_verb_only(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "QUIT", NULL, 0, NULL, 0, false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("QUIT\r\n"));
	assert_true(guard_intact(buf + len, 64 + 16 - len));
}

/* Verb and argument are joined by one space. */
static void
command_joins_verb_and_argument_with_space(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "EHLO", LIT("client.example.org"),
						   NULL, 0, false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("EHLO client.example.org\r\n"));
}

/* An empty argument adds neither space nor text. */
static void
command_empty_argument_adds_nothing(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "NOOP", LIT(""), NULL, 0, false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("NOOP\r\n"));
}

/* A NULL argument adds nothing, whatever its length says. */
static void
command_null_argument_ignores_its_length(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "RSET", NULL, 12345, NULL, 0, false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("RSET\r\n"));
}

/* Parameters follow the argument after a space. */
static void
command_appends_params_after_argument(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "AUTH", LIT("PLAIN"),
						   LIT("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"), false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len,
					   LIT("AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"));
}

/* Parameters without an argument follow the verb. */
static void
command_params_without_argument(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "HELP", NULL, 0, LIT("DATA"), false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("HELP DATA\r\n"));
}

/* Empty parameters add nothing. */
static void
command_empty_params_add_nothing(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "VRFY", LIT("bob"), LIT(""), false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("VRFY bob\r\n"));
}

/* NULL parameters add nothing, whatever their length says. */
static void
command_null_params_ignore_their_length(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "VRFY", LIT("bob"), NULL, 999, false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("VRFY bob\r\n"));
}

/* A bare address in a path is wrapped in angle brackets. */
static void
mail_path_wraps_bare_address(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "MAIL FROM:", LIT("alice@example.com"),
						   NULL, 0, true),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("MAIL FROM:<alice@example.com>\r\n"));
}

/* An address already in angle brackets is kept as it is. */
static void
mail_path_keeps_bracketed_address(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "RCPT TO:", LIT("<bob@example.com>"),
						   NULL, 0, true),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("RCPT TO:<bob@example.com>\r\n"));
}

/* An empty path becomes the null path "<>". */
static void
empty_path_is_null_reverse_path(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "MAIL FROM:", LIT(""), NULL, 0, true),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("MAIL FROM:<>\r\n"));
}

/* A NULL path becomes the null path "<>". */
static void
null_path_is_null_reverse_path(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "MAIL FROM:", NULL, 7, NULL, 0, true),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("MAIL FROM:<>\r\n"));
}

/* ESMTP parameters follow the path after a space. */
static void
mail_path_is_followed_by_params(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "MAIL FROM:", LIT("a@b.c"),
						   LIT("SIZE=1000 BODY=8BITMIME"), true),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len,
					   LIT("MAIL FROM:<a@b.c> SIZE=1000 BODY=8BITMIME\r\n"));
}

/* An LF in the argument is refused before anything is written. */
static void
command_refuses_lf_in_argument_and_writes_nothing(void **state)
{
	char		buf[64 + 16];
	size_t		len = 99;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "VRFY", LIT("bob\nQUIT"),
						   NULL, 0, false),
					 SMTP_CMD_BAD_CHAR);
	assert_int_equal(len, 0);
	assert_true(guard_intact(buf, 64 + 16));
}

/* A CR in the argument is refused before anything is written. */
static void
command_refuses_cr_in_argument_and_writes_nothing(void **state)
{
	char		buf[64 + 16];
	size_t		len = 99;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "VRFY", LIT("bob\rQUIT"),
						   NULL, 0, false),
					 SMTP_CMD_BAD_CHAR);
	assert_int_equal(len, 0);
	assert_true(guard_intact(buf, 64 + 16));
}

/* A NUL in the argument is refused before anything is written. */
static void
command_refuses_nul_in_argument_and_writes_nothing(void **state)
{
	char		buf[64 + 16];
	size_t		len = 99;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "VRFY", LIT("bob\0x"), NULL, 0, false),
					 SMTP_CMD_BAD_CHAR);
	assert_int_equal(len, 0);
	assert_true(guard_intact(buf, 64 + 16));
}

/* A CRLF in the verb is refused before anything is written. */
static void
command_refuses_crlf_in_verb_and_writes_nothing(void **state)
{
	char		buf[64 + 16];
	size_t		len = 99;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "NOOP\r\nQUIT", NULL, 0, NULL, 0,
						   false),
					 SMTP_CMD_BAD_CHAR);
	assert_int_equal(len, 0);
	assert_true(guard_intact(buf, 64 + 16));
}

/* An LF in the parameters is refused before anything is written. */
static void
command_refuses_lf_in_params_and_writes_nothing(void **state)
{
	char		buf[64 + 16];
	size_t		len = 99;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "MAIL FROM:", LIT("a@b"),
						   LIT("SIZE=1\nRSET"), true),
					 SMTP_CMD_BAD_CHAR);
	assert_int_equal(len, 0);
	assert_true(guard_intact(buf, 64 + 16));
}

/* A path smuggling a second RCPT TO: is refused. */
static void
command_refuses_crlf_injection_in_mail_path(void **state)
{
	char		buf[64 + 16];
	size_t		len = 99;

	(void) state;
	assert_int_equal(build(buf, 64, &len, "RCPT TO:",
						   LIT("a@b>\r\nRCPT TO:<evil@x"), NULL, 0, true),
					 SMTP_CMD_BAD_CHAR);
	assert_int_equal(len, 0);
	assert_true(guard_intact(buf, 64 + 16));
}

/* Bytes beyond the given lengths are neither checked nor copied. */
static void
command_looks_only_at_counted_bytes(void **state)
{
	char		buf[64 + 16];
	size_t		len;

	(void) state;
	/* the CRLF lies beyond arglen and must be neither checked nor copied */
	assert_int_equal(build(buf, 64, &len, "VRFY", "bob\r\nQUIT", 3,
						   NULL, 0, false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("VRFY bob\r\n"));
}

/* One byte under SMTP_CMD_SIZE is no room, and nothing is written. */
static void
command_reports_no_room_and_writes_nothing(void **state)
{
	char		buf[64 + 16];
	size_t		len = 99;
	size_t		need = SMTP_CMD_SIZE(4, 3, 0);

	(void) state;
	assert_int_equal(build(buf, need - 1, &len, "VRFY", LIT("bob"),
						   NULL, 0, false),
					 SMTP_CMD_NO_ROOM);
	assert_int_equal(len, 0);
	assert_true(guard_intact(buf, need - 1 + 16));
}

/* A zero-sized buffer is no room. */
static void
command_no_room_in_zero_sized_buffer(void **state)
{
	char		buf[16];
	size_t		len = 99;

	(void) state;
	assert_int_equal(build(buf, 0, &len, "QUIT", NULL, 0, NULL, 0, false),
					 SMTP_CMD_NO_ROOM);
	assert_int_equal(len, 0);
	assert_true(guard_intact(buf, 16));
}

/* A bad character is reported even when there is no room either. */
static void
command_bad_char_is_reported_before_no_room(void **state)
{
	char		buf[16];
	size_t		len = 99;

	(void) state;
	assert_int_equal(build(buf, 0, &len, "VRFY", LIT("a\nb"), NULL, 0, false),
					 SMTP_CMD_BAD_CHAR);
	assert_true(guard_intact(buf, 16));
}

/* SMTP_CMD_SIZE is enough for both the path and the plain form. */
static void
command_fits_in_worst_case_size(void **state)
{
	char		buf[64 + 16];
	size_t		len;
	size_t		need;

	(void) state;
	/* path form: verb "<" arg ">" " " params CRLF */
	need = SMTP_CMD_SIZE(10, 3, 6);
	assert_int_equal(build(buf, need, &len, "MAIL FROM:", LIT("a@b"),
						   LIT("SIZE=1"), true),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("MAIL FROM:<a@b> SIZE=1\r\n"));
	assert_true(len <= need);
	assert_true(guard_intact(buf + need, 16));

	/* plain form: verb " " arg " " params CRLF */
	need = SMTP_CMD_SIZE(4, 5, 4);
	assert_int_equal(build(buf, need, &len, "AUTH", LIT("PLAIN"), LIT("AA=="),
						   false),
					 SMTP_CMD_OK);
	assert_bytes_equal(buf, len, LIT("AUTH PLAIN AA==\r\n"));
	assert_true(len <= need);
	assert_true(guard_intact(buf + need, 16));
}

/* Text without CR, LF or NUL (or empty) is safe. */
static void
text_is_safe_accepts_ordinary_text(void **state)
{
	(void) state;
	assert_true(smtp_text_is_safe(LIT("hello <a@b> \t\x7f\xff")));
	assert_true(smtp_text_is_safe(LIT("")));
}

/* CR, LF and NUL each make text unsafe. */
static void
text_is_safe_rejects_cr_lf_and_nul(void **state)
{
	(void) state;
	assert_false(smtp_text_is_safe(LIT("a\rb")));
	assert_false(smtp_text_is_safe(LIT("a\nb")));
	assert_false(smtp_text_is_safe(LIT("a\0b")));
	assert_false(smtp_text_is_safe(LIT("\n")));
}


/*
 * EHLO capabilities
 */

/* Parse one EHLO line (NUL-terminated) into freshly reset caps. */
static void
caps_from(SmtpCaps *caps, const char *text)
{
	smtp_caps_reset(caps);
	smtp_caps_parse_line(caps, text, strlen(text));
}

/* smtp_caps_reset() forgets every capability. */
static void
caps_reset_clears_everything(void **state)
{
	SmtpCaps	caps;

	(void) state;
	memset(&caps, 0xff, sizeof(caps));
	smtp_caps_reset(&caps);
	assert_false(caps.known);
	assert_int_equal(caps.flags, 0);
	assert_int_equal(caps.auth, 0);
	assert_true(caps.size_limit == 0);
}

/* "AUTH PLAIN LOGIN CRAM-MD5" sets AUTH and the three mechanisms. */
static void
ehlo_auth_line_lists_mechanisms(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "AUTH PLAIN LOGIN CRAM-MD5");
	assert_true(caps.known);
	assert_int_equal(caps.flags, SMTP_CAP_AUTH);
	assert_int_equal(caps.auth,
					 SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5);
}

/* The old "AUTH=LOGIN PLAIN" form is understood. */
static void
ehlo_auth_equals_form_is_understood(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "AUTH=LOGIN PLAIN");
	assert_int_equal(caps.flags, SMTP_CAP_AUTH);
	assert_int_equal(caps.auth, SMTP_AUTH_LOGIN | SMTP_AUTH_PLAIN);
}

/* "AUTH" or "AUTH=" alone sets the flag and no mechanism. */
static void
ehlo_auth_without_mechanisms_sets_only_the_flag(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "AUTH");
	assert_int_equal(caps.flags, SMTP_CAP_AUTH);
	assert_int_equal(caps.auth, 0);
	caps_from(&caps, "AUTH=");
	assert_int_equal(caps.flags, SMTP_CAP_AUTH);
	assert_int_equal(caps.auth, 0);
}

/* Keyword and mechanism names are matched in any case. */
static void
ehlo_auth_is_case_insensitive(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "auth plain Cram-Md5 xoauth2");
	assert_int_equal(caps.flags, SMTP_CAP_AUTH);
	assert_int_equal(caps.auth,
					 SMTP_AUTH_PLAIN | SMTP_AUTH_CRAM_MD5 | SMTP_AUTH_XOAUTH2);
}

/* Mechanisms we do not know are skipped. */
static void
ehlo_auth_ignores_unknown_mechanisms(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "AUTH NTLM GSSAPI LOGIN DIGEST-MD5");
	assert_int_equal(caps.auth, SMTP_AUTH_LOGIN);
}

/* Names that merely start or end like a known one do not match. */
static void
ehlo_auth_does_not_match_mechanism_prefixes(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "AUTH PLAINX CRAM LOG CRAM-MD5-PLUS SCRAM-SHA-256-PLUS");
	assert_int_equal(caps.flags, SMTP_CAP_AUTH);
	assert_int_equal(caps.auth, 0);
}

/* All seven known mechanism names are recognised. */
static void
ehlo_auth_recognises_every_known_mechanism(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER "
			  "SCRAM-SHA-1 SCRAM-SHA-256");
	assert_int_equal(caps.auth,
					 SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5 |
					 SMTP_AUTH_XOAUTH2 | SMTP_AUTH_OAUTHBEARER |
					 SMTP_AUTH_SCRAM_SHA_1 | SMTP_AUTH_SCRAM_SHA_256);
}

/* Runs of spaces and tabs separate mechanisms. */
static void
ehlo_auth_tolerates_extra_spaces_and_tabs(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "AUTH  PLAIN\t\tLOGIN  ");
	assert_int_equal(caps.auth, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN);
}

/* Several AUTH lines add up. */
static void
ehlo_auth_accumulates_over_several_lines(void **state)
{
	SmtpCaps	caps;

	(void) state;
	smtp_caps_reset(&caps);
	smtp_caps_parse_line(&caps, LIT("AUTH PLAIN"));
	smtp_caps_parse_line(&caps, LIT("AUTH=LOGIN"));
	smtp_caps_parse_line(&caps, LIT("STARTTLS"));
	assert_int_equal(caps.flags, SMTP_CAP_AUTH | SMTP_CAP_STARTTLS);
	assert_int_equal(caps.auth, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN);
}

/* Only the given length of the line is looked at. */
static void
ehlo_parses_only_the_counted_bytes(void **state)
{
	SmtpCaps	caps;

	(void) state;
	smtp_caps_reset(&caps);
	smtp_caps_parse_line(&caps, "AUTH PLAIN LOGIN", 10);
	assert_int_equal(caps.auth, SMTP_AUTH_PLAIN);
}

/* "SIZE n" sets the flag and the limit. */
static void
ehlo_size_with_number(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "SIZE 35882577");
	assert_int_equal(caps.flags, SMTP_CAP_SIZE);
	assert_true(caps.size_limit == 35882577);
}

/* "SIZE" alone sets the flag with limit 0 (none). */
static void
ehlo_size_without_number_means_no_limit(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "SIZE");
	assert_int_equal(caps.flags, SMTP_CAP_SIZE);
	assert_true(caps.size_limit == 0);
}

/* "size" is SIZE. */
static void
ehlo_size_is_case_insensitive(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "size 1000");
	assert_int_equal(caps.flags, SMTP_CAP_SIZE);
	assert_true(caps.size_limit == 1000);
}

/* The limit is the leading digits only. */
static void
ehlo_size_stops_at_first_non_digit(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "SIZE 1024k");
	assert_true(caps.size_limit == 1024);
	caps_from(&caps, "SIZE abc");
	assert_int_equal(caps.flags, SMTP_CAP_SIZE);
	assert_true(caps.size_limit == 0);
}

/* The largest values that fit are kept. */
static void
ehlo_size_of_uint64_max_is_kept(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "SIZE 18446744073709551615");
	assert_true(caps.size_limit == UINT64_MAX);
	caps_from(&caps, "SIZE 18446744073709551609");
	assert_true(caps.size_limit == UINT64_C(18446744073709551609));
}

/* Larger values saturate at UINT64_MAX. */
static void
ehlo_size_saturates_instead_of_overflowing(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "SIZE 18446744073709551616");
	assert_true(caps.size_limit == UINT64_MAX);
	caps_from(&caps, "SIZE 999999999999999999999999999999");
	assert_true(caps.size_limit == UINT64_MAX);
}

/* Each argument-less keyword sets exactly its flag. */
static void
ehlo_simple_keywords_set_their_flags(void **state)
{
	static const struct
	{
		const char *text;
		uint32_t	flag;
	}			cases[] =
	{
		{"STARTTLS", SMTP_CAP_STARTTLS},
		{"PIPELINING", SMTP_CAP_PIPELINING},
		{"8BITMIME", SMTP_CAP_8BITMIME},
		{"SMTPUTF8", SMTP_CAP_SMTPUTF8},
		{"ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES},
		{"CHUNKING", SMTP_CAP_CHUNKING},
	};
	SmtpCaps	caps;
	size_t		i;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		caps_from(&caps, cases[i].text);
		assert_true(caps.known);
		assert_int_equal(caps.flags, cases[i].flag);
		assert_int_equal(caps.auth, 0);
	}
}

/* Keywords are matched in any case. */
static void
ehlo_keywords_are_case_insensitive(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "starttls");
	assert_int_equal(caps.flags, SMTP_CAP_STARTTLS);
	caps_from(&caps, "Pipelining");
	assert_int_equal(caps.flags, SMTP_CAP_PIPELINING);
	caps_from(&caps, "8bitmime");
	assert_int_equal(caps.flags, SMTP_CAP_8BITMIME);
}

/* An unknown keyword sets nothing but known. */
static void
ehlo_unknown_keyword_only_marks_caps_known(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "DSN");
	assert_true(caps.known);
	assert_int_equal(caps.flags, 0);
	caps_from(&caps, "X-EXPS GSSAPI NTLM");
	assert_true(caps.known);
	assert_int_equal(caps.flags, 0);
	assert_int_equal(caps.auth, 0);
}

/* A keyword must match whole, not as a prefix. */
static void
ehlo_keyword_prefix_or_extension_is_not_matched(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "STARTTLSX");
	assert_int_equal(caps.flags, 0);
	caps_from(&caps, "SIZEX 100");
	assert_int_equal(caps.flags, 0);
	assert_true(caps.size_limit == 0);
	caps_from(&caps, "AUTHX PLAIN");
	assert_int_equal(caps.flags, 0);
	assert_int_equal(caps.auth, 0);
	caps_from(&caps, "START");
	assert_int_equal(caps.flags, 0);
}

/* An empty line sets nothing but known. */
static void
ehlo_empty_line_only_marks_caps_known(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, "");
	assert_true(caps.known);
	assert_int_equal(caps.flags, 0);
}

/* A line starting with a space has no keyword. */
static void
ehlo_line_starting_with_space_is_ignored(void **state)
{
	SmtpCaps	caps;

	(void) state;
	caps_from(&caps, " STARTTLS");
	assert_true(caps.known);
	assert_int_equal(caps.flags, 0);
}

/* Every mechanism bit has a name that maps back to it. */
static void
auth_mech_names_round_trip(void **state)
{
	static const uint32_t bits[] = {
		SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN, SMTP_AUTH_CRAM_MD5,
		SMTP_AUTH_XOAUTH2, SMTP_AUTH_OAUTHBEARER, SMTP_AUTH_SCRAM_SHA_1,
		SMTP_AUTH_SCRAM_SHA_256
	};
	size_t		i;

	(void) state;
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
	{
		const char *name = smtp_auth_mech_name(bits[i]);

		assert_non_null(name);
		assert_int_equal(smtp_auth_mech_from_name(name, strlen(name)), bits[i]);
	}
	assert_string_equal(smtp_auth_mech_name(SMTP_AUTH_CRAM_MD5), "CRAM-MD5");
}

/* Unknown or combined bits have no name. */
static void
auth_mech_name_of_unknown_bit_is_null(void **state)
{
	(void) state;
	assert_null(smtp_auth_mech_name(0));
	assert_null(smtp_auth_mech_name(1u << 20));
	assert_null(smtp_auth_mech_name(SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN));
}

/* Name lookup ignores case and uses the given length. */
static void
auth_mech_from_name_is_case_insensitive_and_counted(void **state)
{
	(void) state;
	assert_int_equal(smtp_auth_mech_from_name(LIT("cram-md5")),
					 SMTP_AUTH_CRAM_MD5);
	assert_int_equal(smtp_auth_mech_from_name("PLAINTEXT", 5), SMTP_AUTH_PLAIN);
	assert_int_equal(smtp_auth_mech_from_name("PLAIN", 4), 0);
	assert_int_equal(smtp_auth_mech_from_name(LIT("")), 0);
	assert_int_equal(smtp_auth_mech_from_name(LIT("NTLM")), 0);
}


/*
 * DATA body encoder
 */

/* One encoder case: input bytes and the whole expected output. */
typedef struct BodyCase
{
	const char *in;
	size_t		inlen;
	const char *out;
	size_t		outlen;
} BodyCase;

#define BODY_CASE(name, in, out) \
	static const BodyCase body_case_##name = {LIT(in), LIT(out)}

/* The table: name, input, expected stream (encoded body and terminator). */
BODY_CASE(empty_body_is_only_the_terminator, "", ".\r\n");
BODY_CASE(one_char_gets_a_line_end, "a", "a\r\n.\r\n");
BODY_CASE(crlf_line_is_kept, "a\r\n", "a\r\n.\r\n");
BODY_CASE(dot_line_between_crlf_is_stuffed, "a\r\n.\r\nb",
		  "a\r\n..\r\nb\r\n.\r\n");
BODY_CASE(dot_line_between_bare_lf_is_stuffed, "\n.\n", "\r\n..\r\n.\r\n");
BODY_CASE(lone_dot_is_stuffed, ".", "..\r\n.\r\n");
BODY_CASE(terminator_lookalike_is_defused, "\r\n.\r\n", "\r\n..\r\n.\r\n");
BODY_CASE(lone_cr_becomes_crlf, "\r", "\r\n.\r\n");
BODY_CASE(lone_lf_becomes_crlf, "\n", "\r\n.\r\n");
BODY_CASE(cr_cr_lf_is_two_line_ends, "\r\r\n", "\r\n\r\n.\r\n");
BODY_CASE(bare_cr_mid_line_becomes_crlf, "a\rb", "a\r\nb\r\n.\r\n");
BODY_CASE(bare_lf_mid_line_becomes_crlf, "a\nb", "a\r\nb\r\n.\r\n");
BODY_CASE(lf_cr_is_two_line_ends, "\n\r", "\r\n\r\n.\r\n");
BODY_CASE(crlf_then_bare_lf_is_two_line_ends, "\r\n\n", "\r\n\r\n.\r\n");
BODY_CASE(two_bare_cr_after_text, "a\r\r", "a\r\n\r\n.\r\n");
BODY_CASE(blank_crlf_lines_are_kept, "\r\n\r\n", "\r\n\r\n.\r\n");
BODY_CASE(leading_double_dot_gets_a_third, "..x", "...x\r\n.\r\n");
BODY_CASE(double_dot_line_gets_a_third, "x\r\n..\r\n", "x\r\n...\r\n.\r\n");
BODY_CASE(dot_mid_line_is_not_stuffed, "a.b.\r\n", "a.b.\r\n.\r\n");
BODY_CASE(dot_crlf_at_start_is_stuffed, ".\r\n", "..\r\n.\r\n");
BODY_CASE(trailing_dot_after_crlf_is_stuffed, "\r\n.", "\r\n..\r\n.\r\n");
BODY_CASE(dot_after_bare_cr_is_stuffed, "\r.\r", "\r\n..\r\n.\r\n");
BODY_CASE(dots_after_every_kind_of_line_end, ".\n.\r.\r\n.",
		  "..\r\n..\r\n..\r\n..\r\n.\r\n");
BODY_CASE(unterminated_last_line_gets_crlf, "line1\r\nline2",
		  "line1\r\nline2\r\n.\r\n");
BODY_CASE(nul_and_high_bytes_pass_through, "a\0b\xff.", "a\0b\xff.\r\n.\r\n");
BODY_CASE(run_of_dots_gets_one_more, "....\n", ".....\r\n.\r\n");

/* Output buffer sizes used to force partial consumption (2 is the least). */
static const size_t body_outsizes[] = {2, 3, 4, 5, 7, 64};

/*
 * Encode c->in cut at cuts[0..ncuts) through an output buffer of outsize
 * bytes, then finish; checks the per-call contract and returns the stream.
 */
static size_t
body_encode_pieces(const BodyCase *c, const size_t *cuts, int ncuts,
				   size_t outsize, char *result, size_t resultsize)
{
	SmtpBodyEncoder enc;
	char		buf[64 + 16];
	size_t		total = 0;
	size_t		start = 0;
	size_t		n;
	int			k;

	smtp_body_init(&enc);
	for (k = 0; k <= ncuts; k++)
	{
		size_t		end = (k < ncuts) ? cuts[k] : c->inlen;
		const char *p = c->in + start;
		size_t		rem = end - start;

		/* call at least once, so empty chunks are exercised as well */
		do
		{
			size_t		consumed = 99;

			memset(buf, GUARD, sizeof(buf));
			n = smtp_body_encode(&enc, p, rem, &consumed, buf, outsize);
			assert_true(consumed <= rem);
			assert_true(n <= outsize);
			assert_true(n <= 2 * consumed);
			assert_true(guard_intact(buf + outsize, sizeof(buf) - outsize));
			if (rem > 0)
				assert_true(consumed > 0);
			assert_true(total + n <= resultsize);
			memcpy(result + total, buf, n);
			total += n;
			p += consumed;
			rem -= consumed;
		} while (rem > 0);
		start = end;
	}
	memset(buf, GUARD, sizeof(buf));
	n = smtp_body_finish(&enc, buf);
	assert_true(n <= SMTP_BODY_FINISH_MAX);
	assert_true(guard_intact(buf + SMTP_BODY_FINISH_MAX,
							 sizeof(buf) - SMTP_BODY_FINISH_MAX));
	assert_true(total + n <= resultsize);
	memcpy(result + total, buf, n);
	total += n;
	assert_true(enc.bytes_in == c->inlen);
	assert_true(enc.bytes_out == total);
	return total;
}

/* Check one chunking of a case against its expected output. */
static void
body_check_pieces(const BodyCase *c, const size_t *cuts, int ncuts,
				  size_t outsize)
{
	char		result[256];
	size_t		len;
	int			k;

	len = body_encode_pieces(c, cuts, ncuts, outsize, result, sizeof(result));
	if (len == c->outlen && memcmp(result, c->out, len) == 0)
		return;
	print_error("outsize %zu, cuts:", outsize);
	for (k = 0; k < ncuts; k++)
		print_error(" %zu", cuts[k]);
	print_error("\n");
	print_escaped("input   ", c->in, c->inlen);
	assert_bytes_equal(result, len, c->out, c->outlen);
}

/* A table case encoded in one call with plenty of room. */
static void
body_case_one_shot(void **state)
{
	const BodyCase *c = *state;

	body_check_pieces(c, NULL, 0, 64);
}

/* A table case split into 2 and 3 chunks and 1-byte pieces, small buffers. */
static void
body_case_every_split(void **state)
{
	const BodyCase *c = *state;
	size_t		s;

	for (s = 0; s < sizeof(body_outsizes) / sizeof(body_outsizes[0]); s++)
	{
		size_t		outsize = body_outsizes[s];
		size_t		cuts[64];
		size_t		i;
		size_t		j;

		for (i = 0; i <= c->inlen; i++)
		{
			cuts[0] = i;
			body_check_pieces(c, cuts, 1, outsize);
			for (j = i; j <= c->inlen; j++)
			{
				cuts[1] = j;
				body_check_pieces(c, cuts, 2, outsize);
			}
		}
		assert_true(c->inlen < sizeof(cuts) / sizeof(cuts[0]));
		for (i = 0; i < c->inlen; i++)
			cuts[i] = i + 1;
		body_check_pieces(c, cuts, (int) c->inlen, outsize);
	}
}

/* Feed pieces (NULL-terminated list) through a roomy buffer and finish. */
static size_t
body_feed(const char *const *pieces, char *out)
{
	SmtpBodyEncoder enc;
	size_t		total = 0;
	size_t		consumed;

	smtp_body_init(&enc);
	for (; *pieces != NULL; pieces++)
	{
		total += smtp_body_encode(&enc, *pieces, strlen(*pieces), &consumed,
								  out + total, 64);
		assert_int_equal(consumed, strlen(*pieces));
	}
	total += smtp_body_finish(&enc, out + total);
	return total;
}

/* A dot starting the next chunk after an LF is still stuffed. */
static void
body_dot_stuffing_survives_split_between_lf_and_dot(void **state)
{
	static const char *const pieces[] = {"a\n", ".b", NULL};
	char		out[256];
	size_t		len;

	(void) state;
	len = body_feed(pieces, out);
	assert_bytes_equal(out, len, LIT("a\r\n..b\r\n.\r\n"));
}

/* A dot alone in a chunk after a CRLF is still stuffed. */
static void
body_dot_stuffing_survives_split_between_crlf_and_dot(void **state)
{
	static const char *const pieces[] = {"a\r\n", ".", "\r\n", NULL};
	char		out[256];
	size_t		len;

	(void) state;
	len = body_feed(pieces, out);
	assert_bytes_equal(out, len, LIT("a\r\n..\r\n.\r\n"));
}

/* CR and LF in different chunks give one CRLF, not two. */
static void
body_crlf_split_between_cr_and_lf_is_one_line_end(void **state)
{
	static const char *const pieces[] = {"a\r", "\nb", NULL};
	char		out[256];
	size_t		len;

	(void) state;
	len = body_feed(pieces, out);
	assert_bytes_equal(out, len, LIT("a\r\nb\r\n.\r\n"));
}

/* A dot after a bare CR ending the previous chunk is stuffed. */
static void
body_dot_after_cr_in_next_chunk_is_stuffed(void **state)
{
	static const char *const pieces[] = {"a\r", ".b", NULL};
	char		out[256];
	size_t		len;

	(void) state;
	len = body_feed(pieces, out);
	assert_bytes_equal(out, len, LIT("a\r\n..b\r\n.\r\n"));
}

/* Encoding nothing writes nothing and keeps the state. */
static void
body_empty_chunk_changes_nothing(void **state)
{
	SmtpBodyEncoder enc;
	char		out[8];
	size_t		consumed = 99;

	(void) state;
	smtp_body_init(&enc);
	assert_int_equal(smtp_body_encode(&enc, "", 0, &consumed, out, sizeof(out)),
					 0);
	assert_int_equal(consumed, 0);
	assert_int_equal(enc.state, SMTP_BODY_LINE_START);
	assert_true(enc.bytes_in == 0 && enc.bytes_out == 0);
}

/* With less than 2 bytes of room nothing is consumed or written. */
static void
body_output_buffer_under_two_bytes_consumes_nothing(void **state)
{
	SmtpBodyEncoder enc;
	char		out[16];
	size_t		consumed = 99;

	(void) state;
	smtp_body_init(&enc);
	memset(out, GUARD, sizeof(out));
	assert_int_equal(smtp_body_encode(&enc, LIT("abc"), &consumed, out, 1), 0);
	assert_int_equal(consumed, 0);
	assert_int_equal(smtp_body_encode(&enc, LIT("abc"), &consumed, out, 0), 0);
	assert_int_equal(consumed, 0);
	assert_true(guard_intact(out, sizeof(out)));
	assert_int_equal(enc.state, SMTP_BODY_LINE_START);
}

/* 2 bytes of room are enough for a stuffed dot. */
static void
body_two_byte_buffer_takes_a_stuffed_dot(void **state)
{
	SmtpBodyEncoder enc;
	char		out[2];
	size_t		consumed;
	size_t		n;

	(void) state;
	smtp_body_init(&enc);
	n = smtp_body_encode(&enc, LIT(".x"), &consumed, out, sizeof(out));
	assert_int_equal(consumed, 1);
	assert_bytes_equal(out, n, LIT(".."));
}

/* Encoding stops before a byte whose output would not fit. */
static void
body_partial_consumption_stops_before_a_byte_that_does_not_fit(void **state)
{
	SmtpBodyEncoder enc;
	char		out[3];
	size_t		consumed;
	size_t		n;

	(void) state;
	smtp_body_init(&enc);
	n = smtp_body_encode(&enc, LIT("ab\ncd"), &consumed, out, sizeof(out));
	assert_int_equal(consumed, 2);
	assert_bytes_equal(out, n, LIT("ab"));
	n = smtp_body_encode(&enc, LIT("\ncd"), &consumed, out, sizeof(out));
	assert_int_equal(consumed, 1);
	assert_bytes_equal(out, n, LIT("\r\n"));
}

/* finish adds CRLF only when the last line has no line end. */
static void
body_finish_adds_crlf_only_after_an_unterminated_line(void **state)
{
	SmtpBodyEncoder enc;
	char		out[64];
	char		fin[SMTP_BODY_FINISH_MAX];
	size_t		consumed;
	size_t		n;

	(void) state;
	smtp_body_init(&enc);
	smtp_body_encode(&enc, LIT("a"), &consumed, out, sizeof(out));
	n = smtp_body_finish(&enc, fin);
	assert_bytes_equal(fin, n, LIT("\r\n.\r\n"));

	smtp_body_init(&enc);
	smtp_body_encode(&enc, LIT("a\n"), &consumed, out, sizeof(out));
	n = smtp_body_finish(&enc, fin);
	assert_bytes_equal(fin, n, LIT(".\r\n"));

	smtp_body_init(&enc);
	smtp_body_encode(&enc, LIT("a\r"), &consumed, out, sizeof(out));
	n = smtp_body_finish(&enc, fin);
	assert_bytes_equal(fin, n, LIT(".\r\n"));
}

/* bytes_in and bytes_out count input and output, finish included. */
static void
body_counts_bytes_in_and_out(void **state)
{
	SmtpBodyEncoder enc;
	char		out[64];
	size_t		consumed;
	size_t		n;

	(void) state;
	smtp_body_init(&enc);
	n = smtp_body_encode(&enc, LIT(".a\nb"), &consumed, out, sizeof(out));
	assert_int_equal(n, 6);		/* "..a\r\nb" */
	assert_true(enc.bytes_in == 4);
	assert_true(enc.bytes_out == 6);
	n = smtp_body_finish(&enc, out);
	assert_int_equal(n, 5);
	assert_true(enc.bytes_in == 4);
	assert_true(enc.bytes_out == 11);
}

/* smtp_body_init() resets state and counters. */
static void
body_init_forgets_the_previous_message(void **state)
{
	SmtpBodyEncoder enc;
	char		out[64];
	size_t		consumed;
	size_t		n;

	(void) state;
	smtp_body_init(&enc);
	smtp_body_encode(&enc, LIT("abc"), &consumed, out, sizeof(out));
	assert_int_equal(enc.state, SMTP_BODY_MID_LINE);
	smtp_body_init(&enc);
	assert_int_equal(enc.state, SMTP_BODY_LINE_START);
	assert_true(enc.bytes_in == 0 && enc.bytes_out == 0);
	n = smtp_body_encode(&enc, LIT("."), &consumed, out, sizeof(out));
	assert_bytes_equal(out, n, LIT(".."));
}

/* Output for all 256 byte values fits in twice the input. */
static void
body_all_byte_values_stay_within_twice_the_input(void **state)
{
	SmtpBodyEncoder enc;
	char		in[256];
	char		out[2 * 256 + 16];
	size_t		consumed;
	size_t		n;
	int			i;

	(void) state;
	for (i = 0; i < 256; i++)
		in[i] = (char) i;
	memset(out, GUARD, sizeof(out));
	smtp_body_init(&enc);
	n = smtp_body_encode(&enc, in, sizeof(in), &consumed, out, 2 * 256);
	assert_int_equal(consumed, 256);
	assert_true(n <= 2 * 256);
	assert_true(guard_intact(out + 2 * 256, 16));
}


#define BODY_TESTS(name) \
	{"body_" #name, body_case_one_shot, NULL, NULL, \
	 (void *) &body_case_##name}, \
	{"body_" #name "_survives_every_split", body_case_every_split, NULL, NULL, \
	 (void *) &body_case_##name}

/* Run every proto.c test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* reply line parser */
		cmocka_unit_test(reply_line_parses_final_line_with_crlf),
		cmocka_unit_test(reply_line_accepts_bare_lf),
		cmocka_unit_test(reply_line_dash_marks_continuation),
		cmocka_unit_test(reply_line_accepts_three_digits_only),
		cmocka_unit_test(reply_line_accepts_three_digits_with_bare_lf),
		cmocka_unit_test(reply_line_accepts_empty_text_after_space),
		cmocka_unit_test(reply_line_accepts_empty_text_after_dash),
		cmocka_unit_test(reply_line_parses_only_the_first_line_of_the_buffer),
		cmocka_unit_test(reply_line_accepts_lowest_and_highest_codes),
		cmocka_unit_test(reply_line_without_line_end_is_incomplete),
		cmocka_unit_test(reply_line_ending_in_cr_only_is_incomplete),
		cmocka_unit_test(reply_line_empty_buffer_is_incomplete),
		cmocka_unit_test(reply_line_rejects_nul_in_text),
		cmocka_unit_test(reply_line_rejects_nul_in_code),
		cmocka_unit_test(reply_line_ignores_nul_after_the_line_end),
		cmocka_unit_test(reply_line_rejects_empty_line),
		cmocka_unit_test(reply_line_rejects_two_digit_code),
		cmocka_unit_test(reply_line_rejects_non_digit_code),
		cmocka_unit_test(reply_line_rejects_code_below_200),
		cmocka_unit_test(reply_line_rejects_code_above_599),
		cmocka_unit_test(reply_line_rejects_bad_separator),
		cmocka_unit_test(reply_line_rejects_leading_space),
		cmocka_unit_test(reply_line_of_exactly_4096_bytes_is_accepted),
		cmocka_unit_test(reply_line_of_exactly_4096_bytes_with_bare_lf_is_accepted),
		cmocka_unit_test(reply_line_of_4097_bytes_is_too_long),
		cmocka_unit_test(reply_line_of_4097_bytes_with_bare_lf_is_too_long),
		cmocka_unit_test(reply_line_4096_bytes_and_cr_without_lf_is_incomplete),
		cmocka_unit_test(reply_line_over_4097_bytes_without_lf_is_too_long),

		/* reply accumulator */
		cmocka_unit_test(reply_init_starts_empty),
		cmocka_unit_test(reply_single_line_is_done),
		cmocka_unit_test(reply_multi_line_continues_until_space_separator),
		cmocka_unit_test(reply_rejects_mixed_codes),
		cmocka_unit_test(reply_rejects_mixed_codes_on_a_continuation_line),
		cmocka_unit_test(reply_accepts_100_lines),
		cmocka_unit_test(reply_rejects_101st_line),
		cmocka_unit_test(reply_init_after_done_accepts_a_new_code),

		/* command builder */
		cmocka_unit_test(command_builds_verb_only),
		cmocka_unit_test(command_joins_verb_and_argument_with_space),
		cmocka_unit_test(command_empty_argument_adds_nothing),
		cmocka_unit_test(command_null_argument_ignores_its_length),
		cmocka_unit_test(command_appends_params_after_argument),
		cmocka_unit_test(command_params_without_argument),
		cmocka_unit_test(command_empty_params_add_nothing),
		cmocka_unit_test(command_null_params_ignore_their_length),
		cmocka_unit_test(mail_path_wraps_bare_address),
		cmocka_unit_test(mail_path_keeps_bracketed_address),
		cmocka_unit_test(empty_path_is_null_reverse_path),
		cmocka_unit_test(null_path_is_null_reverse_path),
		cmocka_unit_test(mail_path_is_followed_by_params),
		cmocka_unit_test(command_refuses_lf_in_argument_and_writes_nothing),
		cmocka_unit_test(command_refuses_cr_in_argument_and_writes_nothing),
		cmocka_unit_test(command_refuses_nul_in_argument_and_writes_nothing),
		cmocka_unit_test(command_refuses_crlf_in_verb_and_writes_nothing),
		cmocka_unit_test(command_refuses_lf_in_params_and_writes_nothing),
		cmocka_unit_test(command_refuses_crlf_injection_in_mail_path),
		cmocka_unit_test(command_looks_only_at_counted_bytes),
		cmocka_unit_test(command_reports_no_room_and_writes_nothing),
		cmocka_unit_test(command_no_room_in_zero_sized_buffer),
		cmocka_unit_test(command_bad_char_is_reported_before_no_room),
		cmocka_unit_test(command_fits_in_worst_case_size),
		cmocka_unit_test(text_is_safe_accepts_ordinary_text),
		cmocka_unit_test(text_is_safe_rejects_cr_lf_and_nul),

		/* EHLO capabilities */
		cmocka_unit_test(caps_reset_clears_everything),
		cmocka_unit_test(ehlo_auth_line_lists_mechanisms),
		cmocka_unit_test(ehlo_auth_equals_form_is_understood),
		cmocka_unit_test(ehlo_auth_without_mechanisms_sets_only_the_flag),
		cmocka_unit_test(ehlo_auth_is_case_insensitive),
		cmocka_unit_test(ehlo_auth_ignores_unknown_mechanisms),
		cmocka_unit_test(ehlo_auth_does_not_match_mechanism_prefixes),
		cmocka_unit_test(ehlo_auth_recognises_every_known_mechanism),
		cmocka_unit_test(ehlo_auth_tolerates_extra_spaces_and_tabs),
		cmocka_unit_test(ehlo_auth_accumulates_over_several_lines),
		cmocka_unit_test(ehlo_parses_only_the_counted_bytes),
		cmocka_unit_test(ehlo_size_with_number),
		cmocka_unit_test(ehlo_size_without_number_means_no_limit),
		cmocka_unit_test(ehlo_size_is_case_insensitive),
		cmocka_unit_test(ehlo_size_stops_at_first_non_digit),
		cmocka_unit_test(ehlo_size_of_uint64_max_is_kept),
		cmocka_unit_test(ehlo_size_saturates_instead_of_overflowing),
		cmocka_unit_test(ehlo_simple_keywords_set_their_flags),
		cmocka_unit_test(ehlo_keywords_are_case_insensitive),
		cmocka_unit_test(ehlo_unknown_keyword_only_marks_caps_known),
		cmocka_unit_test(ehlo_keyword_prefix_or_extension_is_not_matched),
		cmocka_unit_test(ehlo_empty_line_only_marks_caps_known),
		cmocka_unit_test(ehlo_line_starting_with_space_is_ignored),
		cmocka_unit_test(auth_mech_names_round_trip),
		cmocka_unit_test(auth_mech_name_of_unknown_bit_is_null),
		cmocka_unit_test(auth_mech_from_name_is_case_insensitive_and_counted),

		/* DATA body encoder: table, one shot and every chunking */
		BODY_TESTS(empty_body_is_only_the_terminator),
		BODY_TESTS(one_char_gets_a_line_end),
		BODY_TESTS(crlf_line_is_kept),
		BODY_TESTS(dot_line_between_crlf_is_stuffed),
		BODY_TESTS(dot_line_between_bare_lf_is_stuffed),
		BODY_TESTS(lone_dot_is_stuffed),
		BODY_TESTS(terminator_lookalike_is_defused),
		BODY_TESTS(lone_cr_becomes_crlf),
		BODY_TESTS(lone_lf_becomes_crlf),
		BODY_TESTS(cr_cr_lf_is_two_line_ends),
		BODY_TESTS(bare_cr_mid_line_becomes_crlf),
		BODY_TESTS(bare_lf_mid_line_becomes_crlf),
		BODY_TESTS(lf_cr_is_two_line_ends),
		BODY_TESTS(crlf_then_bare_lf_is_two_line_ends),
		BODY_TESTS(two_bare_cr_after_text),
		BODY_TESTS(blank_crlf_lines_are_kept),
		BODY_TESTS(leading_double_dot_gets_a_third),
		BODY_TESTS(double_dot_line_gets_a_third),
		BODY_TESTS(dot_mid_line_is_not_stuffed),
		BODY_TESTS(dot_crlf_at_start_is_stuffed),
		BODY_TESTS(trailing_dot_after_crlf_is_stuffed),
		BODY_TESTS(dot_after_bare_cr_is_stuffed),
		BODY_TESTS(dots_after_every_kind_of_line_end),
		BODY_TESTS(unterminated_last_line_gets_crlf),
		BODY_TESTS(nul_and_high_bytes_pass_through),
		BODY_TESTS(run_of_dots_gets_one_more),

		/* DATA body encoder: named scenarios */
		cmocka_unit_test(body_dot_stuffing_survives_split_between_lf_and_dot),
		cmocka_unit_test(body_dot_stuffing_survives_split_between_crlf_and_dot),
		cmocka_unit_test(body_crlf_split_between_cr_and_lf_is_one_line_end),
		cmocka_unit_test(body_dot_after_cr_in_next_chunk_is_stuffed),
		cmocka_unit_test(body_empty_chunk_changes_nothing),
		cmocka_unit_test(body_output_buffer_under_two_bytes_consumes_nothing),
		cmocka_unit_test(body_two_byte_buffer_takes_a_stuffed_dot),
		cmocka_unit_test(body_partial_consumption_stops_before_a_byte_that_does_not_fit),
		cmocka_unit_test(body_finish_adds_crlf_only_after_an_unterminated_line),
		cmocka_unit_test(body_counts_bytes_in_and_out),
		cmocka_unit_test(body_init_forgets_the_previous_message),
		cmocka_unit_test(body_all_byte_values_stay_within_twice_the_input),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
