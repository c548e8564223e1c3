/*-------------------------------------------------------------------------
 *
 * utl_smtp.c
 *	  SQL-callable functions of schema utl_smtp: argument checks, calls
 *	  into conn.c, reply records.  Each keeps Oracle's name and argument
 *	  names; Oracle's procedures become functions that return the reply
 *	  and raise on a 4xx/5xx reply, as the procedures do.
 *
 *-------------------------------------------------------------------------
 */
#include "smtp_mail.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(utl_smtp_open_connection);
PG_FUNCTION_INFO_V1(utl_smtp_helo);
PG_FUNCTION_INFO_V1(utl_smtp_ehlo);
PG_FUNCTION_INFO_V1(utl_smtp_starttls);
PG_FUNCTION_INFO_V1(utl_smtp_auth);
PG_FUNCTION_INFO_V1(utl_smtp_mail);
PG_FUNCTION_INFO_V1(utl_smtp_rcpt);
PG_FUNCTION_INFO_V1(utl_smtp_data);
PG_FUNCTION_INFO_V1(utl_smtp_open_data);
PG_FUNCTION_INFO_V1(utl_smtp_write_data);
PG_FUNCTION_INFO_V1(utl_smtp_write_raw_data);
PG_FUNCTION_INFO_V1(utl_smtp_close_data);
PG_FUNCTION_INFO_V1(utl_smtp_rset);
PG_FUNCTION_INFO_V1(utl_smtp_noop);
PG_FUNCTION_INFO_V1(utl_smtp_quit);
PG_FUNCTION_INFO_V1(utl_smtp_vrfy);
PG_FUNCTION_INFO_V1(utl_smtp_help);
PG_FUNCTION_INFO_V1(utl_smtp_command);
PG_FUNCTION_INFO_V1(utl_smtp_command_replies);
PG_FUNCTION_INFO_V1(utl_smtp_close_connection);
PG_FUNCTION_INFO_V1(utl_smtp_all_schemes);
PG_FUNCTION_INFO_V1(utl_smtp_non_cleartext_password_schemes);

/* Raise 22023 for a NULL argument that needs a value. */
static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must not be NULL", name)));
}

/*
 * The host (argument 0) and port (argument 1) of open_connection and
 * server_certificates, checked: 22023 for NULL, an empty host or one with
 * a line break, a port outside 1..65535.
 */
void
smtp_endpoint_arg(FunctionCallInfo fcinfo, char **host, int *port)
{
	require_arg(fcinfo, 0, "host");
	require_arg(fcinfo, 1, "port");
	*host = text_to_cstring(PG_GETARG_TEXT_PP(0));
	*port = PG_GETARG_INT32(1);
	if ((*host)[0] == '\0' || !smtp_text_is_safe(*host, strlen(*host)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid SMTP host name \"%s\"", *host)));
	if (*port < 1 || *port > 65535)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("SMTP port %d is out of range", *port),
				 errhint("A TCP port is between 1 and 65535.")));
}

/* Text argument converted to UTF-8 (NULL stays NULL). */
static char *
arg_utf8(FunctionCallInfo fcinfo, int argno, int *len)
{
	text	   *t;
	char	   *s;
	char	   *u;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
	{
		if (len)
			*len = 0;
		return NULL;
	}
	t = PG_GETARG_TEXT_PP(argno);
	s = text_to_cstring(t);
	u = pg_server_to_any(s, (int) strlen(s), PG_UTF8);
	if (len)
		*len = (int) strlen(u);
	return u;
}

/*
 * The (slot, nonce) a connection record in argument 0 carries; false if
 * the record or either field is NULL.
 */
static bool
record_handle(FunctionCallInfo fcinfo, int *slot, int32 *nonce)
{
	HeapTupleHeader rec;
	bool		null1;
	bool		null2;
	Datum		s;
	Datum		n;

	if (PG_ARGISNULL(0))
		return false;
	rec = PG_GETARG_HEAPTUPLEHEADER(0);
	s = GetAttributeByName(rec, "private_tcp_con", &null1);
	n = GetAttributeByName(rec, "private_state", &null2);
	if (null1 || null2)
		return false;
	*slot = DatumGetInt32(s);
	*nonce = DatumGetInt32(n);
	return true;
}

/* The connection a record names; in_data as for smtp_conn_get. */
static SmtpConn *
conn_arg(FunctionCallInfo fcinfo, bool in_data)
{
	int			slot = -1;
	int32		nonce = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_INVALID_OPERATION),
				 errmsg("invalid SMTP connection"),
				 errdetail("The connection is NULL."),
				 errhint("Open a connection with utl_smtp.open_connection.")));
	if (!record_handle(fcinfo, &slot, &nonce))
		slot = -1;
	return smtp_conn_get(slot, nonce, in_data);
}

/* A utl_smtp.reply datum (code, text) for the given tuple descriptor. */
static Datum
reply_datum(TupleDesc desc, int code, const char *text)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};

	values[0] = Int32GetDatum(code);
	values[1] = CStringGetTextDatum(text);
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* The function's utl_smtp.reply result: last code, all text. */
static Datum
reply_result(FunctionCallInfo fcinfo, SmtpReply *reply)
{
	TupleDesc	desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	return reply_datum(desc, reply->code, smtp_reply_text(reply));
}

/* The function's utl_smtp.reply[] result: one element per line. */
static Datum
replies_result(FunctionCallInfo fcinfo, SmtpReply *reply)
{
	Oid			arraytype = get_fn_expr_rettype(fcinfo->flinfo);
	Oid			elemtype = get_element_type(arraytype);
	TupleDesc	desc;
	Datum	   *elems;
	int			i;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (!OidIsValid(elemtype))
		elog(ERROR, "return type must be an array of utl_smtp.reply");
	desc = BlessTupleDesc(lookup_rowtype_tupdesc_copy(elemtype, -1));
	elems = palloc(sizeof(Datum) * Max(reply->nlines, 1));
	for (i = 0; i < reply->nlines; i++)
		elems[i] = reply_datum(desc, reply->code, reply->lines[i]);
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, reply->nlines, elemtype,
										  typlen, typbyval, typalign));
}

/* Send a command, raise on 4xx/5xx, return the reply. */
static SmtpReply *
checked_command(SmtpConn *conn, const char *verb, const char *arg, int arglen,
				const char *params, bool path)
{
	const char *label = smtp_conn_command_label(conn, verb);
	SmtpReply  *reply = smtp_conn_command(conn, verb, arg, arglen, params, path);

	smtp_conn_check_reply(conn, reply, label);
	return reply;
}

/*
 * UTL_SMTP.OPEN_CONNECTION(host, port, tx_timeout, wallet_path,
 *   wallet_password, secure_connection_before_smtp, secure_host)
 *   RETURN connection
 * Raises: 22023 bad argument, 42501 not in the ACL, 29759 wallet,
 *   29278 cannot connect / timeout / 4xx greeting, 29279 5xx greeting,
 *   29024 / 29019 implicit TLS failures, 53400 too many connections.
 */
Datum
utl_smtp_open_connection(PG_FUNCTION_ARGS)
{
	char	   *host;
	int			port;
	int			tx_timeout = -1;
	char	   *wallet_path = NULL;
	char	   *wallet_password = NULL;
	bool		implicit_tls = false;
	char	   *secure_host = NULL;
	SmtpConn   *conn;
	SmtpReply  *greeting;
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	smtp_endpoint_arg(fcinfo, &host, &port);
	if (!PG_ARGISNULL(2))
	{
		tx_timeout = PG_GETARG_INT32(2);
		if (tx_timeout < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("tx_timeout must be NULL (wait for ever) or at least 0 seconds")));
	}
	if (!PG_ARGISNULL(3))
		wallet_path = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!PG_ARGISNULL(4))
		wallet_password = text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (!PG_ARGISNULL(5))
		implicit_tls = PG_GETARG_BOOL(5);
	if (!PG_ARGISNULL(6))
		secure_host = text_to_cstring(PG_GETARG_TEXT_PP(6));

	smtp_acl_check(host, port);
	conn = smtp_conn_open(host, port, tx_timeout, wallet_path != NULL,
						  wallet_path, wallet_password, implicit_tls,
						  secure_host, &greeting);
	if (wallet_password != NULL)
		explicit_bzero(wallet_password, strlen(wallet_password));

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	values[0] = CStringGetTextDatum(host);
	values[1] = Int32GetDatum(port);
	values[2] = Int32GetDatum(tx_timeout);
	nulls[2] = (tx_timeout < 0);
	values[3] = Int32GetDatum(conn->slot);
	values[4] = Int32GetDatum(conn->nonce);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * UTL_SMTP.HELO(c, domain) RETURN reply
 * Raises: 29277, 29278, 29279, 22023.
 */
Datum
utl_smtp_helo(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);
	int			len;
	char	   *domain;
	SmtpReply  *reply;

	require_arg(fcinfo, 1, "domain");
	domain = arg_utf8(fcinfo, 1, &len);
	reply = checked_command(conn, "HELO", domain, len, NULL, false);
	smtp_caps_reset(&conn->caps);
	PG_RETURN_DATUM(reply_result(fcinfo, reply));
}

/*
 * UTL_SMTP.EHLO(c, domain) RETURN replies
 * Records the capabilities (STARTTLS, AUTH, SIZE, ...) for starttls/auth.
 * Raises: 29277, 29278, 29279, 22023.
 */
Datum
utl_smtp_ehlo(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);
	int			len;
	char	   *domain;
	SmtpReply  *reply;
	int			i;

	require_arg(fcinfo, 1, "domain");
	domain = arg_utf8(fcinfo, 1, &len);
	reply = checked_command(conn, "EHLO", domain, len, NULL, false);
	smtp_caps_reset(&conn->caps);
	conn->caps.known = true;
	for (i = 1; i < reply->nlines; i++)
		smtp_caps_parse_line(&conn->caps, reply->lines[i], strlen(reply->lines[i]));
	return replies_result(fcinfo, reply);
}

/*
 * UTL_SMTP.STARTTLS(c, secure_host) RETURN reply
 * Raises: 29277, 29278, 29279, 29024, 29019, 29759.
 */
Datum
utl_smtp_starttls(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);
	char	   *secure_host = NULL;

	if (!PG_ARGISNULL(1))
		secure_host = text_to_cstring(PG_GETARG_TEXT_PP(1));
	PG_RETURN_DATUM(reply_result(fcinfo, smtp_conn_starttls(conn, secure_host)));
}

/*
 * UTL_SMTP.AUTH(c, username, password, schemes) RETURN reply
 * Raises: 29249 unsupported scheme, 29250 no supported scheme (or only
 *   cleartext without TLS), 29278, 29279 (e.g. 535), 29277, 22023.
 */
Datum
utl_smtp_auth(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);
	char	   *user;
	char	   *password;
	char	   *schemes = NULL;
	SmtpReply  *reply;

	require_arg(fcinfo, 1, "username");
	require_arg(fcinfo, 2, "password");
	user = arg_utf8(fcinfo, 1, NULL);
	password = arg_utf8(fcinfo, 2, NULL);
	if (!PG_ARGISNULL(3))
		schemes = text_to_cstring(PG_GETARG_TEXT_PP(3));
	reply = smtp_conn_auth(conn, user, password, schemes);
	explicit_bzero(password, strlen(password));
	smtp_conn_check_reply(conn, reply, "AUTH");
	PG_RETURN_DATUM(reply_result(fcinfo, reply));
}

/* MAIL FROM: / RCPT TO: with the mailbox in argument 1, parameters in 2. */
static Datum
path_command(FunctionCallInfo fcinfo, const char *verb, const char *argname)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);
	int			len;
	char	   *mailbox;
	char	   *params;

	require_arg(fcinfo, 1, argname);
	mailbox = arg_utf8(fcinfo, 1, &len);
	params = arg_utf8(fcinfo, 2, NULL);
	return reply_result(fcinfo, checked_command(conn, verb, mailbox, len, params, true));
}

/*
 * UTL_SMTP.MAIL(c, sender, parameters) RETURN reply
 * A bare address is sent as <address>; '' is the null reverse-path <>.
 * Raises: 29277, 29278, 29279, 22023.
 */
Datum
utl_smtp_mail(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(path_command(fcinfo, "MAIL FROM:", "sender"));
}

/*
 * UTL_SMTP.RCPT(c, recipient, parameters) RETURN reply
 * Raises: 29277, 29278, 29279, 22023.
 */
Datum
utl_smtp_rcpt(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(path_command(fcinfo, "RCPT TO:", "recipient"));
}

/* Write a text argument (converted to UTF-8) into the message body. */
static void
write_text_arg(FunctionCallInfo fcinfo, SmtpConn *conn, int argno)
{
	text	   *t;
	char	   *u;
	int			len;

	if (PG_ARGISNULL(argno))
		return;
	t = PG_GETARG_TEXT_PP(argno);
	len = VARSIZE_ANY_EXHDR(t);
	u = (char *) pg_server_to_any(VARDATA_ANY(t), len, PG_UTF8);
	if (u != VARDATA_ANY(t))
		len = (int) strlen(u);
	smtp_conn_data_write(conn, u, (size_t) len);
}

/*
 * UTL_SMTP.DATA(c, body) RETURN reply
 * DATA, the body (line endings normalised, dots stuffed), the terminator.
 * Raises: 29277, 29278, 29279.
 */
Datum
utl_smtp_data(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);
	SmtpReply  *reply;

	smtp_conn_data_begin(conn);
	write_text_arg(fcinfo, conn, 1);
	reply = smtp_conn_data_end(conn);
	smtp_conn_check_reply(conn, reply, "the end of the message");
	PG_RETURN_DATUM(reply_result(fcinfo, reply));
}

/*
 * UTL_SMTP.OPEN_DATA(c) RETURN reply (354)
 * Raises: 29277, 29278, 29279.
 */
Datum
utl_smtp_open_data(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);

	PG_RETURN_DATUM(reply_result(fcinfo, smtp_conn_data_begin(conn)));
}

/*
 * UTL_SMTP.WRITE_DATA(c, data)
 * Any fragment: a CRLF may be split across calls.  Raises: 29277, 29278.
 */
Datum
utl_smtp_write_data(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, true);

	write_text_arg(fcinfo, conn, 1);
	PG_RETURN_VOID();
}

/*
 * UTL_SMTP.WRITE_RAW_DATA(c, data RAW)
 * Bytes as given (no encoding conversion).  Raises: 29277, 29278.
 */
Datum
utl_smtp_write_raw_data(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, true);
	bytea	   *b;

	if (!PG_ARGISNULL(1))
	{
		b = PG_GETARG_BYTEA_PP(1);
		smtp_conn_data_write(conn, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	}
	PG_RETURN_VOID();
}

/*
 * UTL_SMTP.CLOSE_DATA(c) RETURN reply
 * Raises: 29277, 29278, 29279.
 */
Datum
utl_smtp_close_data(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, true);
	SmtpReply  *reply = smtp_conn_data_end(conn);

	smtp_conn_check_reply(conn, reply, "the end of the message");
	PG_RETURN_DATUM(reply_result(fcinfo, reply));
}

/* UTL_SMTP.RSET(c) RETURN reply.  Raises: 29277, 29278, 29279. */
Datum
utl_smtp_rset(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);

	PG_RETURN_DATUM(reply_result(fcinfo, checked_command(conn, "RSET", NULL, 0, NULL, false)));
}

/* UTL_SMTP.NOOP(c) RETURN reply.  Raises: 29277, 29278, 29279. */
Datum
utl_smtp_noop(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);

	PG_RETURN_DATUM(reply_result(fcinfo, checked_command(conn, "NOOP", NULL, 0, NULL, false)));
}

/*
 * UTL_SMTP.QUIT(c) RETURN reply
 * Always closes the connection, even when QUIT fails.
 * Raises: 29277, 29278, 29279.
 */
Datum
utl_smtp_quit(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);
	SmtpReply  *reply = NULL;
	char	   *host = pstrdup(conn->host);
	int			port = conn->port;

	PG_TRY();
	{
		reply = smtp_conn_command(conn, "QUIT", NULL, 0, NULL, false);
	}
	PG_FINALLY();
	{
		/* A failed QUIT may have closed it already (slot then broken). */
		smtp_conn_close(conn);
	}
	PG_END_TRY();
	smtp_reply_raise(host, port, reply, "QUIT", "The connection is closed.");
	PG_RETURN_DATUM(reply_result(fcinfo, reply));
}

/*
 * UTL_SMTP.VRFY(c, recipient) RETURN reply
 * Raises: 29277, 29278, 29279, 22023.
 */
Datum
utl_smtp_vrfy(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);
	int			len;
	char	   *recipient;

	require_arg(fcinfo, 1, "recipient");
	recipient = arg_utf8(fcinfo, 1, &len);
	PG_RETURN_DATUM(reply_result(fcinfo, checked_command(conn, "VRFY", recipient, len, NULL, false)));
}

/*
 * UTL_SMTP.HELP(c, command) RETURN replies
 * Raises: 29277, 29278, 29279, 22023.
 */
Datum
utl_smtp_help(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);
	int			len;
	char	   *command = arg_utf8(fcinfo, 1, &len);

	return replies_result(fcinfo, checked_command(conn, "HELP", command, len, NULL, false));
}

/* Send "cmd[ arg]" for command/command_replies. */
static SmtpReply *
generic_command(FunctionCallInfo fcinfo, SmtpConn *conn)
{
	char	   *cmd;
	char	   *arg;
	int			cmdlen;
	int			arglen;

	require_arg(fcinfo, 1, "cmd");
	cmd = arg_utf8(fcinfo, 1, &cmdlen);
	arg = arg_utf8(fcinfo, 2, &arglen);
	if (cmdlen == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"cmd\" must not be empty")));
	return checked_command(conn, cmd, arg, arglen, NULL, false);
}

/*
 * UTL_SMTP.COMMAND(c, cmd, arg) RETURN reply
 * Raises only on 4xx/5xx (a 334 challenge is a normal reply).
 */
Datum
utl_smtp_command(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);

	PG_RETURN_DATUM(reply_result(fcinfo, generic_command(fcinfo, conn)));
}

/* UTL_SMTP.COMMAND_REPLIES(c, cmd, arg) RETURN replies */
Datum
utl_smtp_command_replies(PG_FUNCTION_ARGS)
{
	SmtpConn   *conn = conn_arg(fcinfo, false);

	return replies_result(fcinfo, generic_command(fcinfo, conn));
}

/*
 * UTL_SMTP.CLOSE_CONNECTION(c)
 * Closes without QUIT.  Never raises: an unknown record is ignored.
 */
Datum
utl_smtp_close_connection(PG_FUNCTION_ARGS)
{
	int			slot;
	int32		nonce;
	SmtpConn   *conn;

	if (record_handle(fcinfo, &slot, &nonce) &&
		(conn = smtp_conn_lookup(slot, nonce)) != NULL)
		smtp_conn_close(conn);
	PG_RETURN_VOID();
}

/* UTL_SMTP.ALL_SCHEMES: Oracle's constant 'CRAM-MD5 PLAIN LOGIN'. */
Datum
utl_smtp_all_schemes(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(SMTP_ALL_SCHEMES));
}

/* UTL_SMTP.NON_CLEARTEXT_PASSWORD_SCHEMES: 'CRAM-MD5'. */
Datum
utl_smtp_non_cleartext_password_schemes(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(SMTP_NON_CLEARTEXT_SCHEMES));
}
