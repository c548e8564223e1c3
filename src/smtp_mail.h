/*-------------------------------------------------------------------------
 *
 * smtp_mail.h
 *	  Shared types, SQLSTATEs and prototypes of the smtp_mail extension.
 *
 *	  Data flows one way: utl_smtp.c (SQL wrappers) -> conn.c (state,
 *	  commands, replies) -> transport.c (socket and TLS I/O) and back.
 *	  proto.c and sasl.c know nothing of PostgreSQL or sockets.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SMTP_MAIL_H
#define SMTP_MAIL_H

#include "postgres.h"

#include <openssl/ssl.h>

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

#include "proto.h"
#include "sasl.h"

/* SQLSTATEs (DESIGN §2.3); Oracle's error numbers where there is one. */
#define ERRCODE_SMTP_INVALID_OPERATION	MAKE_SQLSTATE('2','9','2','7','7')
#define ERRCODE_SMTP_TRANSIENT			MAKE_SQLSTATE('2','9','2','7','8')
#define ERRCODE_SMTP_PERMANENT			MAKE_SQLSTATE('2','9','2','7','9')
#define ERRCODE_SMTP_UNSUPPORTED_SCHEME MAKE_SQLSTATE('2','9','2','4','9')
#define ERRCODE_SMTP_NO_SUPPORTED_SCHEME MAKE_SQLSTATE('2','9','2','5','0')
#define ERRCODE_SMTP_CERT_INVALID		MAKE_SQLSTATE('2','9','0','2','4')
#define ERRCODE_SMTP_TLS_FAILURE		MAKE_SQLSTATE('2','9','0','1','9')
#define ERRCODE_SMTP_WALLET				MAKE_SQLSTATE('2','9','7','5','9')

/* Settings (module.c). */
extern char *smtp_default_wallet;
extern char *smtp_wallet_root;
extern int	smtp_tls_min_version;
extern bool smtp_allow_plaintext_auth;
extern int	smtp_connect_timeout;
extern int	smtp_max_connections;
extern bool smtp_trace;

/* Size of a connection's receive buffer and of its DATA send buffer. */
#define SMTP_INBUF_SIZE		16384
#define SMTP_OUTBUF_SIZE	65536

/* Room for "host:port/verified-name" keying cached TLS sessions. */
#define SMTP_SESSION_KEY_SIZE	600

typedef enum SmtpConnState
{
	SMTP_CONN_FREE = 0,			/* slot unused */
	SMTP_CONN_BROKEN,			/* socket gone after a failure; awaits close */
	SMTP_CONN_OPEN,				/* greeting received, commands allowed */
	SMTP_CONN_DATA				/* between open_data and close_data */
} SmtpConnState;

/* What a wallet gives a connection (wallet.c); cached per backend. */
typedef struct SmtpWallet SmtpWallet;

/* One SMTP connection, in TopMemoryContext, owned by the handle table. */
typedef struct SmtpConn
{
	SmtpConnState state;
	int			slot;
	int32		nonce;			/* private_state of the SQL record */
	bool		busy;			/* I/O under way; still set = interrupted */
	char	   *host;
	int			port;
	int			tx_timeout;		/* seconds, -1 = wait for ever */
	pgsocket	sock;
	bool		fd_acquired;
	struct WaitEventSet *waitset;	/* latch, postmaster death, sock */
	int			wait_pos;		/* the socket's position in it */
	uint32		wait_events;	/* what the socket entry waits for */
	SSL		   *ssl;			/* NULL until TLS is up */
	char		session_key[SMTP_SESSION_KEY_SIZE];	/* host:port/name */
	SmtpWallet *wallet;			/* trust anchors for TLS */
	char	   *peer_subject;	/* server certificate subject once TLS is up */
	SmtpCaps	caps;
	int			last_code;		/* code of the last reply (334: AUTH under way) */
	char		inbuf[SMTP_INBUF_SIZE];
	size_t		inpos;			/* first unread byte */
	size_t		inlen;			/* end of buffered bytes */
	char	   *outbuf;			/* DATA buffer, SMTP_OUTBUF_SIZE */
	size_t		outlen;
	SmtpBodyEncoder body;
	uint64		bytes_in;
	uint64		bytes_out;
	char	   *broken_reason;
} SmtpConn;

/* A whole reply; lines in the caller's memory context. */
typedef struct SmtpReply
{
	int			code;
	int			nlines;
	char	  **lines;			/* text of each line, after "DDD " */
} SmtpReply;

/* conn.c */
extern SmtpConn *smtp_conn_open(const char *host, int port, int tx_timeout,
								bool open_wallet, const char *wallet_path,
								const char *wallet_password, bool implicit_tls,
								const char *secure_host, SmtpReply **greeting);
extern SmtpConn *smtp_conn_lookup(int slot, int32 nonce);
extern SmtpConn *smtp_conn_get(int slot, int32 nonce, bool in_data);
extern void smtp_conn_close(SmtpConn *conn);
extern void smtp_conn_break(SmtpConn *conn, const char *reason);
extern void smtp_conn_close_all(int code, Datum arg);
extern void smtp_conn_init(void);
extern int	smtp_conn_slots(SmtpConn ***table);
extern SmtpReply *smtp_conn_command(SmtpConn *conn, const char *verb,
									const char *arg, int arglen,
									const char *params, bool path);
extern const char *smtp_conn_command_label(SmtpConn *conn, const char *verb);
extern SmtpReply *smtp_conn_read_reply(SmtpConn *conn);
extern void smtp_conn_send_line(SmtpConn *conn, const char *line, size_t len,
								int redact_after);
extern void smtp_conn_check_reply(SmtpConn *conn, SmtpReply *reply,
								  const char *command);
extern void smtp_reply_raise(const char *host, int port, SmtpReply *reply,
							 const char *command, const char *hint);
extern SmtpReply *smtp_conn_data_begin(SmtpConn *conn);
extern void smtp_conn_data_write(SmtpConn *conn, const char *data, size_t len);
extern SmtpReply *smtp_conn_data_end(SmtpConn *conn);
extern SmtpReply *smtp_conn_starttls(SmtpConn *conn, const char *secure_host);
extern SmtpReply *smtp_conn_auth(SmtpConn *conn, const char *user,
								 const char *password, const char *schemes);
extern char *smtp_reply_text(const SmtpReply *reply);

/* transport.c */
extern void smtp_transport_connect(SmtpConn *conn);
extern void smtp_transport_write(SmtpConn *conn, const char *buf, size_t len);
extern size_t smtp_transport_read(SmtpConn *conn, char *buf, size_t size);
extern void smtp_transport_handshake(SmtpConn *conn, const char *name);
extern void smtp_transport_close(SmtpConn *conn);
extern void smtp_transport_fail(SmtpConn *conn, const char *fmt,...)
			pg_attribute_printf(2, 3) pg_attribute_noreturn();

/* tls.c */
extern SSL_CTX *smtp_tls_context(SmtpWallet *wallet);
extern SSL *smtp_tls_new(SmtpConn *conn, const char *name);
extern void smtp_tls_report_failure(SmtpConn *conn, const char *name,
									int ssl_error) pg_attribute_noreturn();
extern char *smtp_tls_name_of(X509_NAME *name);
extern char *smtp_tls_fingerprint(X509 *cert);
extern void smtp_tls_verify_reset(void);
extern bool smtp_tls_inspect_only;

/* wallet.c */
extern SmtpWallet *smtp_wallet_open(const char *wallet_path,
									const char *password);
extern const char *smtp_wallet_name(const SmtpWallet *wallet);
extern X509_STORE *smtp_wallet_store(const SmtpWallet *wallet);
extern bool smtp_wallet_client_identity(const SmtpWallet *wallet,
										X509 **cert, EVP_PKEY **key,
										STACK_OF(X509) **chain);
extern void smtp_wallet_release(SmtpWallet *wallet);
extern SSL_CTX *smtp_wallet_ssl_ctx(SmtpWallet *wallet);
extern SSL_SESSION *smtp_wallet_session(SmtpWallet *wallet, const char *key);
extern bool smtp_wallet_keep_session(SmtpWallet *wallet, const char *key,
									 SSL_SESSION *session);
extern int	smtp_wallet_certificates(const SmtpWallet *wallet, X509 ***certs,
									 const char ***sources, bool **has_key);

/* utl_smtp.c */
extern void smtp_endpoint_arg(FunctionCallInfo fcinfo, char **host, int *port);

/* acl.c */
extern void smtp_acl_check(const char *host, int port);

#endif							/* SMTP_MAIL_H */
