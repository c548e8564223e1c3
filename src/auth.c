/*-------------------------------------------------------------------------
 *
 * auth.c
 *	  The AUTH dialogue over a connection: choose the mechanism (sasl.c),
 *	  send the initial response, answer a bounded number of 334
 *	  challenges.  Credentials are never logged (the trace shows
 *	  "<redacted>") and are wiped from memory when done.
 *
 *-------------------------------------------------------------------------
 */
#include "smtp_mail.h"

#include "mb/pg_wchar.h"

/* At most this many 334 challenges before we give up with "*". */
#define AUTH_MAX_ROUNDS 4

/* Raise 29249/29250 for a mechanism choice that failed. */
static void
choice_error(SmtpConn *conn, SmtpSaslChoice choice, const char *schemes,
			 const char *bad, size_t badlen)
{
	StringInfoData offered;
	uint32		bit;

	if (choice == SMTP_SASL_UNSUPPORTED)
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_UNSUPPORTED_SCHEME),
				 errmsg("authentication scheme \"%.*s\" is not supported", (int) badlen, bad),
				 errhint("Supported schemes are CRAM-MD5, PLAIN, LOGIN and XOAUTH2.")));

	initStringInfo(&offered);
	for (bit = 1; bit != 0 && bit <= SMTP_AUTH_SCRAM_SHA_256; bit <<= 1)
		if (conn->caps.auth & bit)
			appendStringInfo(&offered, "%s%s", offered.len ? " " : "",
							 smtp_auth_mech_name(bit));
	if (choice == SMTP_SASL_CLEARTEXT_REFUSED)
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_NO_SUPPORTED_SCHEME),
				 errmsg("refusing to send a password in cleartext over an unencrypted SMTP connection"),
				 errdetail("Requested schemes: %s.", schemes ? schemes : SMTP_ALL_SCHEMES),
				 errhint("Call utl_smtp.starttls first, or connect with secure_connection_before_smtp => true. A superuser may set smtp_mail.allow_plaintext_auth for a trusted network.")));
	ereport(ERROR,
			(errcode(ERRCODE_SMTP_NO_SUPPORTED_SCHEME),
			 errmsg("no supported authentication scheme is offered by SMTP server %s:%d",
					conn->host, conn->port),
			 errdetail("Requested schemes: %s. Offered by the server: %s.",
					   schemes ? schemes : SMTP_ALL_SCHEMES,
					   conn->caps.known ? (offered.len ? offered.data : "none")
					   : "unknown (no EHLO)"),
			 errhint("Send EHLO (after STARTTLS, if used) before AUTH, and list a scheme the server offers.")));
}

/* "AUTH MECH[ base64(raw)]": the trace shows the mechanism only. */
static void
send_auth_command(SmtpConn *conn, const char *mech, const char *raw, size_t rawlen)
{
	StringInfoData line;
	int			shown;

	initStringInfo(&line);
	appendStringInfo(&line, "AUTH %s", mech);
	shown = line.len;
	if (raw != NULL)
	{
		enlargeStringInfo(&line, (int) SMTP_B64_ENCODED_SIZE(rawlen) + 3);
		line.data[line.len++] = ' ';
		line.len += (int) smtp_base64_encode((const unsigned char *) raw, rawlen,
											 line.data + line.len);
	}
	appendStringInfoString(&line, "\r\n");
	smtp_conn_send_line(conn, line.data, line.len, raw ? shown + 1 : -1);
	explicit_bzero(line.data, line.len);
	pfree(line.data);
}

/* One base64 response line to a challenge, redacted in the trace. */
static void
send_response(SmtpConn *conn, const char *raw, size_t rawlen)
{
	size_t		size = SMTP_B64_ENCODED_SIZE(rawlen) + 2;
	char	   *buf = palloc(size);
	size_t		n = smtp_base64_encode((const unsigned char *) raw, rawlen, buf);

	buf[n++] = '\r';
	buf[n++] = '\n';
	smtp_conn_send_line(conn, buf, n, 0);
	explicit_bzero(buf, size);
	pfree(buf);
}

/* The decoded challenge of a 334 reply (first line), palloc'd. */
static unsigned char *
decode_challenge(SmtpReply *reply, size_t *len)
{
	const char *b64 = reply->nlines > 0 ? reply->lines[0] : "";
	size_t		n = strlen(b64);
	unsigned char *out = palloc(SMTP_B64_DECODED_SIZE(n));

	if (!smtp_base64_decode(b64, n, out, len))
		*len = (size_t) -1;
	return out;
}

/*
 * Authenticate.  Returns the final reply (235 on success); the caller
 * raises for 4xx/5xx.  user and password are in UTF-8.
 */
SmtpReply *
smtp_conn_auth(SmtpConn *conn, const char *user, const char *password,
			   const char *schemes)
{
	uint32		mech;
	const char *bad;
	size_t		badlen;
	SmtpSaslChoice choice;
	size_t		ulen = strlen(user);
	size_t		plen = strlen(password);
	size_t		rawsize = ulen + plen + 64;
	char	   *raw = palloc(rawsize);
	size_t		rawlen = 0;
	SmtpReply  *reply;
	int			round;

	choice = smtp_sasl_choose(schemes, conn->caps.known, conn->caps.auth,
							  conn->ssl != NULL, smtp_allow_plaintext_auth,
							  &mech, &bad, &badlen);
	if (choice != SMTP_SASL_CHOSEN)
		choice_error(conn, choice, schemes, bad, badlen);

	conn->busy = true;
	if (mech == SMTP_AUTH_PLAIN)
		rawlen = smtp_sasl_plain_message(raw, rawsize, user, ulen, password, plen);
	else if (mech == SMTP_AUTH_XOAUTH2)
		rawlen = smtp_sasl_xoauth2_message(raw, rawsize, user, ulen, password, plen);
	send_auth_command(conn, smtp_auth_mech_name(mech), rawlen ? raw : NULL, rawlen);
	explicit_bzero(raw, rawsize);

	reply = smtp_conn_read_reply(conn);
	for (round = 0; reply->code == 334; round++)
	{
		size_t		clen;
		unsigned char *challenge;

		if (round >= AUTH_MAX_ROUNDS)
		{
			smtp_conn_send_line(conn, "*\r\n", 3, -1);
			reply = smtp_conn_read_reply(conn);
			break;
		}
		if (mech == SMTP_AUTH_LOGIN && round == 0)
			send_response(conn, user, ulen);
		else if (mech == SMTP_AUTH_LOGIN && round == 1)
			send_response(conn, password, plen);
		else if (mech == SMTP_AUTH_CRAM_MD5 && round == 0)
		{
			challenge = decode_challenge(reply, &clen);
			if (clen == (size_t) -1)
			{
				smtp_conn_send_line(conn, "*\r\n", 3, -1);
				reply = smtp_conn_read_reply(conn);
				break;
			}
			rawlen = smtp_sasl_cram_md5_message(raw, rawsize, user, ulen,
												password, plen, challenge, clen);
			send_response(conn, raw, rawlen);
			explicit_bzero(raw, rawsize);
		}
		else if (mech == SMTP_AUTH_XOAUTH2 || mech == SMTP_AUTH_PLAIN)
		{
			/*
			 * XOAUTH2 reports a bad token as a 334 carrying JSON; the client
			 * answers with an empty line and gets the final 535.
			 */
			smtp_conn_send_line(conn, "\r\n", 2, 0);
		}
		else
			smtp_conn_send_line(conn, "*\r\n", 3, -1);
		reply = smtp_conn_read_reply(conn);
	}
	explicit_bzero(raw, rawsize);
	pfree(raw);
	conn->busy = false;
	return reply;
}
