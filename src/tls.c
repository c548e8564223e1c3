/*-------------------------------------------------------------------------
 *
 * tls.c
 *	  OpenSSL client contexts, server verification policy and certificate
 *	  inspection.  Verification is always on: chain to a wallet anchor
 *	  (partial chains allowed, so any wallet certificate is an anchor),
 *	  validity dates and the host name or IP address.
 *
 *-------------------------------------------------------------------------
 */
#include "smtp_mail.h"

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* The first verification failure of the handshake under way. */
static struct
{
	bool		failed;
	int			error;
	int			depth;
	char		subject[512];
}			verify_failure;

/*
 * Set only by smtp_mail.server_certificates while it fetches a chain: the
 * handshake then completes whatever the verdict, which is reported as
 * data.  No mail can be sent over such a connection: the function closes
 * it before returning.
 */
bool		smtp_tls_inspect_only = false;

/* Forget the previous handshake's verification failure. */
void
smtp_tls_verify_reset(void)
{
	memset(&verify_failure, 0, sizeof(verify_failure));
}

/* Record which certificate failed and why; OpenSSL decides the outcome. */
static int
verify_callback(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && !verify_failure.failed)
	{
		X509	   *cert = X509_STORE_CTX_get_current_cert(ctx);

		verify_failure.failed = true;
		verify_failure.error = X509_STORE_CTX_get_error(ctx);
		verify_failure.depth = X509_STORE_CTX_get_error_depth(ctx);
		if (cert != NULL)
			X509_NAME_oneline(X509_get_subject_name(cert),
							  verify_failure.subject,
							  sizeof(verify_failure.subject));
	}
	return ok;
}

/*
 * A new session from the server (TLS 1.2 at the end of the handshake,
 * TLS 1.3 as a ticket after it): keep it in the wallet for resumption,
 * keyed by host, port and verified name.  Only sessions of verified
 * handshakes are kept, never those of server_certificates' inspection.
 */
static int
new_session_callback(SSL *ssl, SSL_SESSION *session)
{
	SmtpConn   *conn = SSL_get_app_data(ssl);

	if (conn == NULL || conn->wallet == NULL || smtp_tls_inspect_only ||
		conn->session_key[0] == '\0' ||
		SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	return smtp_wallet_keep_session(conn->wallet, conn->session_key, session) ? 1 : 0;
}

/*
 * A new client SSL_CTX trusting the wallet's certificates, with its client
 * identity if it has one.  Returns NULL (and leaves the error queue) on
 * failure; the caller reports it.
 */
SSL_CTX *
smtp_tls_context(SmtpWallet *wallet)
{
	SSL_CTX    *ctx = SSL_CTX_new(TLS_client_method());
	X509	   *cert;
	EVP_PKEY   *key;
	STACK_OF(X509) *chain;

	if (ctx == NULL)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, smtp_tls_min_version))
	{
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set1_cert_store(ctx, smtp_wallet_store(wallet));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_callback);
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx),
								X509_V_FLAG_PARTIAL_CHAIN);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	/* Fetch whole records (and what follows) in one read(). */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
								   SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session_callback);
	if (smtp_wallet_client_identity(wallet, &cert, &key, &chain))
	{
		int			i;

		if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
			SSL_CTX_use_PrivateKey(ctx, key) != 1)
		{
			SSL_CTX_free(ctx);
			return NULL;
		}
		for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
			if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1)
			{
				SSL_CTX_free(ctx);
				return NULL;
			}
	}
	return ctx;
}

/* True if name is an IPv4 or IPv6 address literal. */
static bool
is_ip_literal(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 ||
		inet_pton(AF_INET6, name, buf) == 1;
}

/*
 * An SSL for the connection's socket, verifying "name": SNI and host name
 * check for a DNS name, IP SAN check for an address.
 */
SSL *
smtp_tls_new(SmtpConn *conn, const char *name)
{
	SSL_CTX    *ctx = smtp_wallet_ssl_ctx(conn->wallet);
	SSL		   *ssl;
	bool		ok;

	ERR_clear_error();
	ssl = SSL_new(ctx);
	if (ssl == NULL)
		smtp_tls_report_failure(conn, name, SSL_ERROR_SSL);
	if (is_ip_literal(name))
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
	else
	{
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = SSL_set_tlsext_host_name(ssl, name) == 1 &&
			SSL_set1_host(ssl, name) == 1;
	}
	if (smtp_tls_inspect_only)
		SSL_set_verify(ssl, SSL_VERIFY_NONE, verify_callback);
	if (!ok || SSL_set_fd(ssl, conn->sock) != 1)
	{
		SSL_free(ssl);
		smtp_tls_report_failure(conn, name, SSL_ERROR_SSL);
	}

	/*
	 * Resume an earlier session with the same host, port and verified name:
	 * a new connection per message then skips the certificate exchange.
	 */
	SSL_set_app_data(ssl, conn);
	if (snprintf(conn->session_key, sizeof(conn->session_key), "%s:%d/%s",
				 conn->host, conn->port, name) >= (int) sizeof(conn->session_key))
		conn->session_key[0] = '\0';	/* too long to key safely: no cache */
	if (!smtp_tls_inspect_only && conn->session_key[0] != '\0')
	{
		SSL_SESSION *session = smtp_wallet_session(conn->wallet, conn->session_key);

		if (session != NULL)
			(void) SSL_set_session(ssl, session);
	}
	return ssl;
}

/*
 * Report a failed handshake: 29024 when the server's certificate did not
 * verify (which one and why), 29019 for any other TLS failure.  The
 * connection is closed first.
 */
void
smtp_tls_report_failure(SmtpConn *conn, const char *name, int ssl_error)
{
	char		reason[256];
	const char *wallet = conn->wallet ? smtp_wallet_name(conn->wallet) : "?";
	unsigned long e;

	if (verify_failure.failed)
	{
		char		subject[512];
		int			depth = verify_failure.depth;
		int			verr = verify_failure.error;

		strlcpy(subject, verify_failure.subject, sizeof(subject));
		smtp_conn_break(conn, "TLS certificate verification failed");
		ereport(ERROR,
				(errcode(ERRCODE_SMTP_CERT_INVALID),
				 errmsg("certificate of SMTP server %s:%d not accepted: %s",
						conn->host, conn->port,
						X509_verify_cert_error_string(verr)),
				 errdetail("Certificate at depth %d (%s) failed verification for the name \"%s\" against wallet \"%s\".",
						   depth, subject[0] ? subject : "no subject", name, wallet),
				 errhint("Inspect the chain the server presents with SELECT * FROM smtp_mail.server_certificates('%s', %d); and add its root or intermediate certificate to the wallet.",
						 conn->host, conn->port)));
	}

	e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN)
		strlcpy(reason, "the server closed the connection during the handshake",
				sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "SSL error %d", ssl_error);
	ERR_clear_error();
	smtp_conn_break(conn, "TLS handshake failed");
	ereport(ERROR,
			(errcode(ERRCODE_SMTP_TLS_FAILURE),
			 errmsg("TLS handshake with SMTP server %s:%d failed: %s",
					conn->host, conn->port, reason),
			 errhint("A port that expects STARTTLS (usually 25 or 587) needs secure_connection_before_smtp => false and utl_smtp.starttls; implicit TLS is usually port 465.")));
}

/* A certificate name in RFC 2253 form, palloc'd. */
char *
smtp_tls_name_of(X509_NAME *name)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data;
	long		len;
	char	   *result;

	if (bio == NULL)
		return pstrdup("");
	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
	len = BIO_get_mem_data(bio, &data);
	result = pnstrdup(data, (Size) Max(len, 0));
	BIO_free(bio);
	return result;
}

/* SHA-256 fingerprint as colon-separated upper-case hex, palloc'd. */
char *
smtp_tls_fingerprint(X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	StringInfoData buf;
	unsigned int i;

	initStringInfo(&buf);
	if (X509_digest(cert, EVP_sha256(), md, &len) != 1)
		return buf.data;
	for (i = 0; i < len; i++)
		appendStringInfo(&buf, "%s%02X", i ? ":" : "", md[i]);
	return buf.data;
}
