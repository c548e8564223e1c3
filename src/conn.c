/*-------------------------------------------------------------------------
 *
 * conn.c
 *	  The backend's table of SMTP connections and their life cycle:
 *	  open, look up by (slot, nonce), send commands, read replies, DATA,
 *	  STARTTLS and AUTH, and close.  Connections outlive transactions (as
 *	  in Oracle); one interrupted in the middle of I/O is marked broken and
 *	  its socket closed, never reused in an unknown state.
 *
 *-------------------------------------------------------------------------
 */
#include "smtp_mail.h"

#include "access/xact.h"
#include "common/pg_prng.h"
#include "mb/pg_wchar.h"
#include "storage/ipc.h"
#include "utils/memutils.h"

static SmtpConn **conn_table = NULL;
static int	conn_table_size = 0;

/* Break every connection that was in the middle of I/O when an error hit. */
static void
break_interrupted(void)
{
	int			i;

	for (i = 0; i < conn_table_size; i++)
	{
		SmtpConn   *c = conn_table[i];

		if (c != NULL && c->busy)
			smtp_conn_break(c, "interrupted in the middle of a command");
	}
}

/* Transaction abort: connections stay, but interrupted ones are broken. */
static void
conn_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		break_interrupted();
}

/* Subtransaction abort (a PL/pgSQL EXCEPTION block): the same. */
static void
conn_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		break_interrupted();
}

/* Register the abort callbacks and the close-everything-at-exit hook. */
void
smtp_conn_init(void)
{
	RegisterXactCallback(conn_xact_callback, NULL);
	RegisterSubXactCallback(conn_subxact_callback, NULL);
	on_proc_exit(smtp_conn_close_all, 0);
}

/* Close every connection (backend exit); never raises. */
void
smtp_conn_close_all(int code, Datum arg)
{
	int			i;

	for (i = 0; i < conn_table_size; i++)
		if (conn_table[i] != NULL)
			smtp_conn_close(conn_table[i]);
}

/* The table, for smtp_mail.connections(). */
int
smtp_conn_slots(SmtpConn ***table)
{
	*table = conn_table;
	return conn_table_size;
}

/* Close the socket and TLS, keep the slot as broken until closed. */
void
smtp_conn_break(SmtpConn *conn, const char *reason)
{
	smtp_transport_close(conn);
	if (conn->state != SMTP_CONN_FREE)
		conn->state = SMTP_CONN_BROKEN;
	conn->busy = false;
	if (conn->broken_reason != NULL)
		pfree(conn->broken_reason);
	conn->broken_reason = MemoryContextStrdup(TopMemoryContext, reason);
}

/* Close the connection and free its slot; never raises. */
void
smtp_conn_close(SmtpConn *conn)
{
	smtp_transport_close(conn);
	if (conn->wallet != NULL)
		smtp_wallet_release(conn->wallet);
	if (conn->outbuf != NULL)
		pfree(conn->outbuf);
	if (conn->host != NULL)
		pfree(conn->host);
	if (conn->peer_subject != NULL)
		pfree(conn->peer_subject);
	if (conn->broken_reason != NULL)
		pfree(conn->broken_reason);
	if (conn->slot >= 0 && conn->slot < conn_table_size &&
		conn_table[conn->slot] == conn)
		conn_table[conn->slot] = NULL;
	pfree(conn);
}

/* Pick a slot for a new connection, enforcing smtp_mail.max_connections. */
static pg_noinline int
take_slot(void)
{
	int			open = 0;
	int			free_slot = -1;
	int			broken_slot = -1;
	int			i;

	for (i = 0; i < conn_table_size; i++)
	{
		SmtpConn   *c = conn_table[i];

		if (c == NULL)
		{
			if (free_slot < 0)
				free_slot = i;
		}
		else if (c->state == SMTP_CONN_BROKEN)
		{
			if (broken_slot < 0)
				broken_slot = i;
		}
		else
			open++;
	}
	if (open >= smtp_max_connections)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many open SMTP connections in this session"),
				 errdetail("%d connections are open; smtp_mail.max_connections is %d.",
						   open, smtp_max_connections),
				 errhint("Close connections with utl_smtp.quit or utl_smtp.close_connection.")));
	if (free_slot >= 0)
		return free_slot;
	if (conn_table_size < smtp_max_connections || broken_slot < 0)
	{
		int			newsize = Max(conn_table_size * 2, 8);

		if (conn_table == NULL)
			conn_table = MemoryContextAllocZero(TopMemoryContext,
												sizeof(SmtpConn *) * newsize);
		else
		{
			conn_table = repalloc(conn_table, sizeof(SmtpConn *) * newsize);
			memset(conn_table + conn_table_size, 0,
				   sizeof(SmtpConn *) * (newsize - conn_table_size));
		}
		free_slot = conn_table_size;
		conn_table_size = newsize;
		return free_slot;
	}
	/* Table is full of broken connections nobody closed: recycle one. */
	smtp_conn_close(conn_table[broken_slot]);
	return broken_slot;
}

/* A random non-zero nonce for the connection record's private_state. */
static int32
new_nonce(void)
{
	int32		n = 0;

	while (n == 0)
	{
		if (!pg_strong_random(&n, sizeof(n)))
			n = (int32) pg_prng_uint32(&pg_global_prng_state);
	}
	return n;
}

/*
 * Open a connection: connect, optionally TLS at once, read the greeting.
 * On any failure the slot is freed again and the error re-thrown.
 */
SmtpConn *
smtp_conn_open(const char *host, int port, int tx_timeout, bool open_wallet,
			   const char *wallet_path, const char *wallet_password,
			   bool implicit_tls, const char *secure_host, SmtpReply **greeting)
{
	int			slot = take_slot();
	SmtpConn   *conn;

	conn = MemoryContextAllocZero(TopMemoryContext, sizeof(SmtpConn));
	conn->slot = slot;
	conn->nonce = new_nonce();
	conn->host = MemoryContextStrdup(TopMemoryContext, host);
	conn->port = port;
	conn->tx_timeout = tx_timeout;
	conn->sock = PGINVALID_SOCKET;
	conn->state = SMTP_CONN_OPEN;
	conn->busy = true;
	conn_table[slot] = conn;

	PG_TRY();
	{
		if (open_wallet || implicit_tls)
			conn->wallet = smtp_wallet_open(wallet_path, wallet_password);
		smtp_transport_connect(conn);
		if (implicit_tls)
			smtp_transport_handshake(conn, secure_host ? secure_host : host);
		*greeting = smtp_conn_read_reply(conn);
		if ((*greeting)->code != 220)
		{
			conn->busy = false;
			smtp_reply_raise(host, port, *greeting, "the connection greeting",
							 "No connection was opened; try again later or another server.");
			smtp_transport_fail(conn, "4.5.0 unexpected greeting %d from %s:%d",
								(*greeting)->code, host, port);
		}
	}
	PG_CATCH();
	{
		if (conn_table[conn->slot] == conn)
			smtp_conn_close(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	conn->busy = false;
	return conn;
}

/*
 * The open connection for a record's (slot, nonce), checked for the state
 * the caller needs: in_data for write_data/close_data, otherwise a
 * connection not inside DATA.  Raises invalid_operation otherwise.
 */
SmtpConn *
smtp_conn_get(int slot, int32 nonce, bool in_data)
{
	SmtpConn   *conn = smtp_conn_lookup(slot, nonce);

	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_INVALID_OPERATION),
				 errmsg("invalid SMTP connection"),
				 errdetail("The connection record does not match an open connection of this session: it was closed, comes from another session, or was forged."),
				 errhint("Open a connection with utl_smtp.open_connection.")));
	if (conn->busy)
		smtp_conn_break(conn, "interrupted in the middle of a command");
	if (conn->state == SMTP_CONN_BROKEN)
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_INVALID_OPERATION),
				 errmsg("SMTP connection to %s:%d is broken", conn->host, conn->port),
				 errdetail("An earlier call failed: %s.", conn->broken_reason),
				 errhint("Close it with utl_smtp.close_connection and open a new one.")));
	if (in_data && conn->state != SMTP_CONN_DATA)
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_INVALID_OPERATION),
				 errmsg("no SMTP data transfer is in progress"),
				 errhint("Call utl_smtp.open_data before write_data and close_data.")));
	if (!in_data && conn->state == SMTP_CONN_DATA)
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_INVALID_OPERATION),
				 errmsg("SMTP command not allowed during a data transfer"),
				 errhint("Only write_data, write_raw_data and close_data may follow open_data.")));
	return conn;
}

/* The connection for (slot, nonce), or NULL if none matches. */
SmtpConn *
smtp_conn_lookup(int slot, int32 nonce)
{
	SmtpConn   *conn;

	if (slot < 0 || slot >= conn_table_size)
		return NULL;
	conn = conn_table[slot];
	if (conn == NULL || conn->nonce != nonce || conn->state == SMTP_CONN_FREE)
		return NULL;
	return conn;
}

/* Log one line of the dialogue when smtp_mail.trace is on. */
static void
trace_line(SmtpConn *conn, char dir, const char *line, size_t len,
		   int show)
{
	if (!smtp_trace)
		return;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	/* No statement or context: the calling SQL may hold a password. */
	if (show >= 0 && (size_t) show < len)
		ereport(LOG,
				(errmsg("smtp_mail %s:%d %c: %.*s<redacted>",
						conn->host, conn->port, dir, show, line),
				 errhidestmt(true), errhidecontext(true)));
	else
		ereport(LOG,
				(errmsg("smtp_mail %s:%d %c: %.*s",
						conn->host, conn->port, dir, (int) len, line),
				 errhidestmt(true), errhidecontext(true)));
}

/*
 * Send one command line.  redact_after >= 0 logs only that many bytes of
 * it in the trace (AUTH payloads); the whole line goes on the wire.
 */
void
smtp_conn_send_line(SmtpConn *conn, const char *line, size_t len,
					int redact_after)
{
	trace_line(conn, 'C', line, len, redact_after);
	smtp_transport_write(conn, line, len);
}

/* Copy reply text into the database encoding; undecodable bytes become '?'. */
static char *
reply_text_copy(const char *s, size_t len)
{
	char	   *out = pnstrdup(s, len);
	size_t		i;
	bool		ascii = true;

	for (i = 0; i < len; i++)
		if ((unsigned char) out[i] >= 0x80)
			ascii = false;
	if (ascii)
		return out;
	if (GetDatabaseEncoding() == PG_UTF8 &&
		pg_verify_mbstr(PG_UTF8, out, (int) len, true))
		return out;
	for (i = 0; i < len; i++)
		if ((unsigned char) out[i] >= 0x80)
			out[i] = '?';
	return out;
}

/* Close the connection and raise: the server broke the protocol. */
static void
protocol_error(SmtpConn *conn, const char *what)
{
	smtp_transport_fail(conn, "4.5.0 protocol error: %s from %s:%d",
						what, conn->host, conn->port);
}

/* Read one whole (possibly multi-line) reply, enforcing the limits. */
SmtpReply *
smtp_conn_read_reply(SmtpConn *conn)
{
	SmtpReply  *reply = palloc0(sizeof(SmtpReply));
	SmtpReplyState st;

	smtp_reply_init(&st);
	reply->lines = palloc(sizeof(char *) * SMTP_REPLY_MAX_LINES);
	for (;;)
	{
		SmtpReplyLine line;
		size_t		consumed;
		SmtpLineStatus ls;
		const char *raw = conn->inbuf + conn->inpos;

		ls = smtp_reply_line_parse(raw,
								   conn->inlen - conn->inpos, &consumed, &line);
		if (ls == SMTP_LINE_INCOMPLETE)
		{
			if (conn->inpos > 0)
			{
				memmove(conn->inbuf, conn->inbuf + conn->inpos,
						conn->inlen - conn->inpos);
				conn->inlen -= conn->inpos;
				conn->inpos = 0;
			}
			conn->inlen += smtp_transport_read(conn, conn->inbuf + conn->inlen,
											   SMTP_INBUF_SIZE - conn->inlen);
			continue;
		}
		if (ls == SMTP_LINE_TOO_LONG)
			protocol_error(conn, "reply line longer than 4096 bytes");
		if (ls == SMTP_LINE_NUL)
			protocol_error(conn, "NUL byte in a reply");
		if (ls == SMTP_LINE_MALFORMED)
			protocol_error(conn, "malformed reply line");
		conn->inpos += consumed;
		trace_line(conn, 'S', raw, consumed, -1);
		switch (smtp_reply_add_line(&st, &line))
		{
			case SMTP_REPLY_MIXED_CODES:
				protocol_error(conn, "reply lines with different codes");
				break;
			case SMTP_REPLY_TOO_MANY_LINES:
				protocol_error(conn, "reply of more than 100 lines");
				break;
			case SMTP_REPLY_MORE:
			case SMTP_REPLY_DONE:
				break;
		}
		reply->lines[reply->nlines++] = reply_text_copy(line.text, line.textlen);
		if (st.done)
			break;
	}
	reply->code = st.code;
	conn->last_code = st.code;
	return reply;
}

/* All lines of a reply joined by newlines (the single-reply text). */
char *
smtp_reply_text(const SmtpReply *reply)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < reply->nlines; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, '\n');
		appendStringInfoString(&buf, reply->lines[i]);
	}
	return buf.data;
}

/* The reply as the server sent it ("250-a\n250 b"), for error details. */
static char *
reply_as_sent(const SmtpReply *reply)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < reply->nlines; i++)
		appendStringInfo(&buf, "%s%d%c%s", i > 0 ? "\n" : "", reply->code,
						 i + 1 < reply->nlines ? '-' : ' ', reply->lines[i]);
	return buf.data;
}

/*
 * Raise transient_error for a 4xx reply and permanent_error for 5xx, as
 * Oracle's procedures do; other replies return.
 */
void
smtp_conn_check_reply(SmtpConn *conn, SmtpReply *reply, const char *command)
{
	const char *hint = NULL;

	/* 421: the server is closing the channel (RFC 5321 3.8); so do we. */
	if (reply->code == 421)
	{
		smtp_conn_break(conn, "the server replied 421 and closed the connection");
		hint = "The server closed the connection; close it with utl_smtp.close_connection and open a new one later.";
	}
	smtp_reply_raise(conn->host, conn->port, reply, command, hint);
}

/*
 * Raise for a 4xx/5xx reply.  hint replaces the default one, which says
 * the connection stays open (callers whose connection does not stay open
 * say so).
 */
void
smtp_reply_raise(const char *host, int port, SmtpReply *reply,
				 const char *command, const char *hint)
{
	const char *first = reply->nlines > 0 ? reply->lines[0] : "";

	if (reply->code >= 400 && reply->code < 500)
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_TRANSIENT),
				 errmsg("SMTP transient error: %d %s", reply->code, first),
				 errdetail("%s:%d answered %s with:\n%s", host, port,
						   command, reply_as_sent(reply)),
				 errhint("%s", hint ? hint : "The failure is temporary; try again later. The connection stays open.")));
	if (reply->code >= 500)
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_PERMANENT),
				 errmsg("SMTP permanent error: %d %s", reply->code, first),
				 errdetail("%s:%d answered %s with:\n%s", host, port,
						   command, reply_as_sent(reply)),
				 errhint("%s", hint ? hint : "The server refused the command; retrying it unchanged will fail again. The connection stays open.")));
}

/*
 * How much of a command line the trace may show: all of it, except after a
 * 334 challenge (the line is a SASL response) and beyond the mechanism
 * name of an AUTH command (an initial response), as PL/SQL code that does
 * AUTH by hand with utl_smtp.command sends them.
 */
static int
command_visible_prefix(SmtpConn *conn, const char *verb, const char *arg,
					   int arglen)
{
	int			n = 0;

	if (conn->last_code == 334)
		return 0;
	if (pg_strcasecmp(verb, "AUTH") != 0 || arg == NULL)
		return -1;
	while (n < arglen && arg[n] != ' ')
		n++;
	return (int) strlen(verb) + 1 + n;
}

/* The name of a command for error details, never a SASL response. */
const char *
smtp_conn_command_label(SmtpConn *conn, const char *verb)
{
	if (conn->last_code == 334)
		return "an AUTH response";
	return verb;
}

/*
 * Send "VERB[ ARG][ PARAMS]" and read the reply.  arg and params are
 * already in UTF-8.  CR, LF or NUL anywhere raise 22023 before any byte
 * is sent.  path wraps arg as a mailbox (MAIL FROM:, RCPT TO:).
 */
SmtpReply *
smtp_conn_command(SmtpConn *conn, const char *verb, const char *arg,
				  int arglen, const char *params, bool path)
{
	size_t		verblen = strlen(verb);
	size_t		paramlen = params ? strlen(params) : 0;
	size_t		size;
	size_t		len;
	char	   *buf;
	SmtpReply  *reply;

	if (arg != NULL && arglen < 0)
		arglen = (int) strlen(arg);
	size = SMTP_CMD_SIZE(verblen, arg ? (size_t) arglen : 0, paramlen);
	buf = palloc(size);
	if (smtp_command_build(buf, size, &len, verb, verblen, arg,
						   arg ? (size_t) arglen : 0, params, paramlen,
						   path) != SMTP_CMD_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("SMTP command argument contains a carriage return, line feed or NUL"),
				 errdetail("Such a character would end the %s command early and let the rest be read as another command.",
						   smtp_text_is_safe(verb, verblen) ?
						   smtp_conn_command_label(conn, verb) : "SMTP"),
				 errhint("Nothing was sent; remove the line break from the argument.")));

	conn->busy = true;
	smtp_conn_send_line(conn, buf, len,
						command_visible_prefix(conn, verb, arg, arglen));
	explicit_bzero(buf, len);
	pfree(buf);
	reply = smtp_conn_read_reply(conn);
	conn->busy = false;
	return reply;
}

/* Send the buffered DATA bytes. */
static void
data_flush(SmtpConn *conn)
{
	if (conn->outlen == 0)
		return;
	conn->busy = true;
	smtp_transport_write(conn, conn->outbuf, conn->outlen);
	conn->busy = false;
	conn->outlen = 0;
}

/* DATA: send the command, expect 354, enter the data state. */
SmtpReply *
smtp_conn_data_begin(SmtpConn *conn)
{
	SmtpReply  *reply = smtp_conn_command(conn, "DATA", NULL, 0, NULL, false);

	smtp_conn_check_reply(conn, reply, "DATA");
	if (reply->code != 354)
		protocol_error(conn, "DATA not answered with 354");
	if (conn->outbuf == NULL)
		conn->outbuf = MemoryContextAlloc(TopMemoryContext, SMTP_OUTBUF_SIZE);
	conn->outlen = 0;
	smtp_body_init(&conn->body);
	conn->state = SMTP_CONN_DATA;
	return reply;
}

/* Encode message bytes (already UTF-8) into the buffer, flushing when full. */
void
smtp_conn_data_write(SmtpConn *conn, const char *data, size_t len)
{
	while (len > 0)
	{
		size_t		consumed;

		if (SMTP_OUTBUF_SIZE - conn->outlen < 2)
			data_flush(conn);
		conn->outlen += smtp_body_encode(&conn->body, data, len, &consumed,
										 conn->outbuf + conn->outlen,
										 SMTP_OUTBUF_SIZE - conn->outlen);
		data += consumed;
		len -= consumed;
	}
}

/* End the message: terminator, flush, leave the data state, read reply. */
SmtpReply *
smtp_conn_data_end(SmtpConn *conn)
{
	SmtpReply  *reply;

	if (SMTP_OUTBUF_SIZE - conn->outlen < SMTP_BODY_FINISH_MAX)
		data_flush(conn);
	conn->outlen += smtp_body_finish(&conn->body, conn->outbuf + conn->outlen);
	if (smtp_trace)
		ereport(LOG,
				(errmsg("smtp_mail %s:%d C: <message body of " UINT64_FORMAT " bytes>",
						conn->host, conn->port, conn->body.bytes_out),
				 errhidestmt(true), errhidecontext(true)));
	data_flush(conn);
	conn->state = SMTP_CONN_OPEN;
	conn->busy = true;
	reply = smtp_conn_read_reply(conn);
	conn->busy = false;
	return reply;
}

/*
 * STARTTLS: ask, check for injected plaintext, handshake, and forget the
 * capabilities learned in the clear (EHLO must be sent again).
 */
SmtpReply *
smtp_conn_starttls(SmtpConn *conn, const char *secure_host)
{
	SmtpReply  *reply;

	if (conn->ssl != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_INVALID_OPERATION),
				 errmsg("TLS is already active on this SMTP connection")));
	/* Open the wallet first: a wallet error must leave the session as it was. */
	if (conn->wallet == NULL)
		conn->wallet = smtp_wallet_open(NULL, NULL);
	reply = smtp_conn_command(conn, "STARTTLS", NULL, 0, NULL, false);
	smtp_conn_check_reply(conn, reply, "STARTTLS");
	if (reply->code != 220)
		protocol_error(conn, "STARTTLS not answered with 220");
	if (conn->inpos < conn->inlen)
	{
		size_t		extra = conn->inlen - conn->inpos;

		smtp_conn_break(conn, "plaintext bytes injected after the STARTTLS reply");
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_TLS_FAILURE),
				 errmsg("SMTP server %s:%d sent %zu bytes after its STARTTLS reply, before the TLS handshake",
						conn->host, conn->port, extra),
				 errdetail("Bytes that arrive in the clear cannot be trusted once TLS starts (a man in the middle can inject them); the connection was closed."),
				 errhint("Check the network path to the server.")));
	}
	conn->busy = true;
	smtp_transport_handshake(conn, secure_host ? secure_host : conn->host);
	conn->busy = false;
	smtp_caps_reset(&conn->caps);
	return reply;
}
