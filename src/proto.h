/*-------------------------------------------------------------------------
 *
 * proto.h
 *	  SMTP wire format: reply parser, command builder, EHLO capabilities and
 *	  the DATA body encoder.  Pure C (libc only): no PostgreSQL, no sockets,
 *	  so it can be unit tested and fuzzed on its own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SMTP_PROTO_H
#define SMTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on what a server may send us (DESIGN §3, Protocol). */
#define SMTP_REPLY_MAX_LINE		4096	/* bytes, without the line ending */
#define SMTP_REPLY_MAX_LINES	100

/* Result of smtp_reply_line_parse(). */
typedef enum SmtpLineStatus
{
	SMTP_LINE_OK = 0,			/* a complete, valid line was parsed */
	SMTP_LINE_INCOMPLETE,		/* no line end yet: read more */
	SMTP_LINE_TOO_LONG,			/* line longer than SMTP_REPLY_MAX_LINE */
	SMTP_LINE_NUL,				/* line contains a NUL byte */
	SMTP_LINE_MALFORMED			/* not "DDD", "DDD text" or "DDD-text" */
} SmtpLineStatus;

/* One reply line; text points into the caller's buffer (not terminated). */
typedef struct SmtpReplyLine
{
	int			code;			/* 200..599 */
	bool		last;			/* separator was ' ' (or none) */
	const char *text;			/* after the separator */
	size_t		textlen;
} SmtpReplyLine;

/* Accumulates the lines of one (possibly multi-line) reply. */
typedef struct SmtpReplyState
{
	int			code;			/* code of the first line, 0 before it */
	int			nlines;
	bool		done;
} SmtpReplyState;

typedef enum SmtpReplyStatus
{
	SMTP_REPLY_MORE = 0,		/* line accepted, reply continues */
	SMTP_REPLY_DONE,			/* line accepted, reply complete */
	SMTP_REPLY_MIXED_CODES,		/* line's code differs from the first */
	SMTP_REPLY_TOO_MANY_LINES
} SmtpReplyStatus;

extern SmtpLineStatus smtp_reply_line_parse(const char *buf, size_t len,
											size_t *consumed,
											SmtpReplyLine *line);
extern void smtp_reply_init(SmtpReplyState *st);
extern SmtpReplyStatus smtp_reply_add_line(SmtpReplyState *st,
										   const SmtpReplyLine *line);

/* Command builder. */
typedef enum SmtpCmdStatus
{
	SMTP_CMD_OK = 0,
	SMTP_CMD_BAD_CHAR,			/* CR, LF or NUL in the verb or argument */
	SMTP_CMD_NO_ROOM			/* destination buffer too small */
} SmtpCmdStatus;

/* Worst-case size of a built command: verb, ' ', "<" arg ">", params, CRLF. */
#define SMTP_CMD_SIZE(verblen, arglen, paramlen) \
	((verblen) + (arglen) + (paramlen) + 8)

extern SmtpCmdStatus smtp_command_build(char *dst, size_t dstsize,
										size_t *outlen,
										const char *verb, size_t verblen,
										const char *arg, size_t arglen,
										const char *params, size_t paramlen,
										bool path);
extern bool smtp_text_is_safe(const char *s, size_t len);

/* EHLO capabilities (DESIGN §3). */
#define SMTP_CAP_STARTTLS			(1u << 0)
#define SMTP_CAP_AUTH				(1u << 1)
#define SMTP_CAP_SIZE				(1u << 2)
#define SMTP_CAP_PIPELINING			(1u << 3)
#define SMTP_CAP_8BITMIME			(1u << 4)
#define SMTP_CAP_SMTPUTF8			(1u << 5)
#define SMTP_CAP_ENHANCEDSTATUSCODES (1u << 6)
#define SMTP_CAP_CHUNKING			(1u << 7)

/* AUTH mechanisms we know by name. */
#define SMTP_AUTH_PLAIN			(1u << 0)
#define SMTP_AUTH_LOGIN			(1u << 1)
#define SMTP_AUTH_CRAM_MD5		(1u << 2)
#define SMTP_AUTH_XOAUTH2		(1u << 3)
#define SMTP_AUTH_OAUTHBEARER	(1u << 4)
#define SMTP_AUTH_SCRAM_SHA_1	(1u << 5)
#define SMTP_AUTH_SCRAM_SHA_256 (1u << 6)

typedef struct SmtpCaps
{
	bool		known;			/* an EHLO reply has been parsed */
	uint32_t	flags;			/* SMTP_CAP_* */
	uint32_t	auth;			/* SMTP_AUTH_* offered */
	uint64_t	size_limit;		/* SIZE argument, 0 = none given */
} SmtpCaps;

extern void smtp_caps_reset(SmtpCaps *caps);
extern void smtp_caps_parse_line(SmtpCaps *caps, const char *text, size_t len);
extern uint32_t smtp_auth_mech_from_name(const char *name, size_t len);
extern const char *smtp_auth_mech_name(uint32_t mech);

/*
 * DATA body encoder: a streaming state machine that turns arbitrary bytes
 * into a safe SMTP body.  Bare CR and bare LF become CRLF, a dot at the
 * start of a line is doubled, and all of it holds whatever the chunking of
 * the input, so no body can terminate the message early.  Output is at most
 * twice the input.
 */
typedef enum SmtpBodyState
{
	SMTP_BODY_LINE_START = 0,	/* at the start of a line */
	SMTP_BODY_AFTER_CR,			/* CR seen and CRLF emitted; an LF is eaten */
	SMTP_BODY_MID_LINE
} SmtpBodyState;

typedef struct SmtpBodyEncoder
{
	SmtpBodyState state;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
} SmtpBodyEncoder;

/* Bytes smtp_body_finish() may write at most: CRLF "." CRLF. */
#define SMTP_BODY_FINISH_MAX	5

extern void smtp_body_init(SmtpBodyEncoder *enc);
extern size_t smtp_body_encode(SmtpBodyEncoder *enc,
							   const char *in, size_t inlen, size_t *consumed,
							   char *out, size_t outsize);
extern size_t smtp_body_finish(SmtpBodyEncoder *enc, char *out);

#endif							/* SMTP_PROTO_H */
