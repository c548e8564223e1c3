/*-------------------------------------------------------------------------
 *
 * diagnostics.c
 *	  smtp_mail.connections(), smtp_mail.wallet_certificates() and
 *	  smtp_mail.server_certificates(): what this backend has open, what a
 *	  wallet holds, and what chain a server presents.
 *
 *-------------------------------------------------------------------------
 */
#include "smtp_mail.h"

#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(smtp_mail_connections);
PG_FUNCTION_INFO_V1(smtp_mail_wallet_certificates);
PG_FUNCTION_INFO_V1(smtp_mail_server_certificates);

/* Name of a connection state for display. */
static const char *
state_name(const SmtpConn *conn)
{
	switch (conn->state)
	{
		case SMTP_CONN_OPEN:
			return "open";
		case SMTP_CONN_DATA:
			return "data";
		case SMTP_CONN_BROKEN:
			return "broken";
		case SMTP_CONN_FREE:
			break;
	}
	return "free";
}

/*
 * smtp_mail.connections(): this backend's connections with their TLS
 * parameters and byte counts.
 */
Datum
smtp_mail_connections(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SmtpConn  **table;
	int			n = smtp_conn_slots(&table);
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < n; i++)
	{
		SmtpConn   *c = table[i];
		Datum		v[10];
		bool		nulls[10];

		if (c == NULL)
			continue;
		memset(nulls, 0, sizeof(nulls));
		v[0] = Int32GetDatum(c->slot);
		v[1] = CStringGetTextDatum(c->host);
		v[2] = Int32GetDatum(c->port);
		v[3] = CStringGetTextDatum(state_name(c));
		if (c->ssl != NULL)
		{
			v[4] = CStringGetTextDatum(SSL_get_version(c->ssl));
			v[5] = CStringGetTextDatum(SSL_get_cipher_name(c->ssl));
		}
		else
			nulls[4] = nulls[5] = true;
		if (c->peer_subject != NULL && c->ssl != NULL)
			v[6] = CStringGetTextDatum(c->peer_subject);
		else
			nulls[6] = true;
		v[7] = Int64GetDatum((int64) c->bytes_in);
		v[8] = Int64GetDatum((int64) c->bytes_out);
		if (c->broken_reason != NULL && c->state == SMTP_CONN_BROKEN)
			v[9] = CStringGetTextDatum(c->broken_reason);
		else
			nulls[9] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
	}
	return (Datum) 0;
}

/* An ASN1_TIME as timestamptz. */
static Datum
asn1_time_datum(const ASN1_TIME *t, bool *isnull)
{
	struct tm	tm;

	*isnull = (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1);
	if (*isnull)
		return (Datum) 0;
	return TimestampTzGetDatum(time_t_to_timestamptz(timegm(&tm)));
}

/* Fill the common certificate columns starting at v[first]. */
static void
cert_columns(X509 *cert, Datum *v, bool *nulls, int first)
{
	v[first] = CStringGetTextDatum(smtp_tls_name_of(X509_get_subject_name(cert)));
	v[first + 1] = CStringGetTextDatum(smtp_tls_name_of(X509_get_issuer_name(cert)));
	v[first + 2] = asn1_time_datum(X509_get0_notBefore(cert), &nulls[first + 2]);
	v[first + 3] = asn1_time_datum(X509_get0_notAfter(cert), &nulls[first + 3]);
	v[first + 4] = CStringGetTextDatum(smtp_tls_fingerprint(cert));
	v[first + 5] = BoolGetDatum(X509_check_ca(cert) > 0);
}

/*
 * smtp_mail.wallet_certificates(wallet_path, wallet_password): what a
 * wallet holds, so expiry can be watched from SQL.
 */
Datum
smtp_mail_wallet_certificates(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *path = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *password = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	SmtpWallet *wallet;
	X509	  **certs;
	const char **sources;
	bool	   *has_key;
	int			n;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	wallet = smtp_wallet_open(path, password);
	n = smtp_wallet_certificates(wallet, &certs, &sources, &has_key);
	for (i = 0; i < n; i++)
	{
		Datum		v[8];
		bool		nulls[8];

		memset(nulls, 0, sizeof(nulls));
		v[0] = CStringGetTextDatum(sources[i]);
		cert_columns(certs[i], v, nulls, 1);
		v[7] = BoolGetDatum(has_key[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
	}
	smtp_wallet_release(wallet);
	return (Datum) 0;
}

/* Open a connection for inspection only (chain fetched, never verified away). */
static SmtpConn *
inspect_connect(const char *host, int port, bool starttls,
				const char *wallet_path, const char *secure_host)
{
	SmtpConn   *volatile conn = NULL;
	SmtpReply  *greeting;

	smtp_tls_inspect_only = true;
	PG_TRY();
	{
		conn = smtp_conn_open(host, port, smtp_connect_timeout, true,
							  wallet_path, NULL, !starttls, secure_host,
							  &greeting);
		if (starttls)
		{
			SmtpReply  *r = smtp_conn_command(conn, "EHLO", "localhost", -1,
											  NULL, false);

			smtp_conn_check_reply(conn, r, "EHLO");
			smtp_conn_starttls(conn, secure_host);
		}
	}
	PG_CATCH();
	{
		smtp_tls_inspect_only = false;
		/* Nobody holds a record of this connection: close it here. */
		if (conn != NULL)
			smtp_conn_close(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	smtp_tls_inspect_only = false;
	return conn;
}

/*
 * smtp_mail.server_certificates(host, port, starttls, secure_host,
 * wallet_path): the chain a server presents and whether the wallet trusts
 * it, so a DBA can build a wallet without a browser.  Subject to the ACL.
 */
Datum
smtp_mail_server_certificates(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *host;
	int			port;
	bool		starttls;
	char	   *secure_host = NULL;
	char	   *wallet_path = NULL;
	SmtpConn   *conn;
	STACK_OF(X509) *chain;
	long		vr;
	int			i;

	smtp_endpoint_arg(fcinfo, &host, &port);
	starttls = PG_ARGISNULL(2) ? (port != 465) : PG_GETARG_BOOL(2);
	if (!PG_ARGISNULL(3))
		secure_host = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!PG_ARGISNULL(4))
		wallet_path = text_to_cstring(PG_GETARG_TEXT_PP(4));

	InitMaterializedSRF(fcinfo, 0);
	smtp_acl_check(host, port);
	conn = inspect_connect(host, port, starttls, wallet_path, secure_host);
	vr = SSL_get_verify_result(conn->ssl);
	chain = SSL_get_peer_cert_chain(conn->ssl);
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
	{
		X509	   *cert = sk_X509_value(chain, i);
		Datum		v[10];
		bool		nulls[10];

		memset(nulls, 0, sizeof(nulls));
		v[0] = Int32GetDatum(i);
		cert_columns(cert, v, nulls, 1);
		v[7] = BoolGetDatum(vr == X509_V_OK);
		v[8] = CStringGetTextDatum(X509_verify_cert_error_string(vr));
		{
			BIO		   *bio = BIO_new(BIO_s_mem());
			char	   *data;
			long		len;

			if (bio != NULL && PEM_write_bio_X509(bio, cert) == 1)
			{
				len = BIO_get_mem_data(bio, &data);
				v[9] = PointerGetDatum(cstring_to_text_with_len(data, (int) len));
			}
			else
				nulls[9] = true;
			if (bio != NULL)
				BIO_free(bio);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
	}
	smtp_conn_close(conn);
	return (Datum) 0;
}
