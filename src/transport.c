/*-------------------------------------------------------------------------
 *
 * transport.c
 *	  Non-blocking socket and TLS I/O for SMTP connections.  Every wait is
 *	  WaitLatchOrSocket on the latch, the socket and a deadline, followed by
 *	  CHECK_FOR_INTERRUPTS(), so query cancel and statement_timeout interrupt
 *	  a connect, handshake, read or write at once.
 *
 *-------------------------------------------------------------------------
 */
#include "smtp_mail.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

/* Deadline "seconds" from now; 0 when seconds < 0 (no deadline). */
static TimestampTz
deadline_in(int seconds)
{
	if (seconds < 0)
		return 0;
	return TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
									   (int64) seconds * 1000);
}

/*
 * Close the connection, mark it broken and raise transient_error.  The
 * message reads like the reply a server gives when it drops a client, as
 * Oracle reports network failures ("421 ...").
 */
void
smtp_transport_fail(SmtpConn *conn, const char *fmt,...)
{
	char		buf[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	smtp_conn_break(conn, buf);
	ereport(ERROR,
			(errcode(ERRCODE_SMTP_TRANSIENT),
			 errmsg("SMTP transient error: 421 %s", buf),
			 errdetail("The connection to %s:%d is closed.", conn->host, conn->port),
			 errhint("Close the connection with utl_smtp.close_connection and open a new one.")));
}

/*
 * The connection's wait set (latch, postmaster death, socket), created once
 * per socket and kept: a wait then costs one epoll_wait instead of building
 * and tearing down an epoll instance each time, as WaitLatchOrSocket does.
 */
static WaitEventSet *
wait_set_for(SmtpConn *conn, uint32 events)
{
	if (conn->waitset == NULL)
	{
		WaitEventSet *set = CreateWaitEventSet(TopMemoryContext, 3);

		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		conn->wait_pos = AddWaitEventToSet(set, events, conn->sock, NULL, NULL);
		conn->wait_events = events;
		conn->waitset = set;
	}
	else if (conn->wait_events != events)
	{
		ModifyWaitEvent(conn->waitset, conn->wait_pos, events, NULL);
		conn->wait_events = events;
	}
	return conn->waitset;
}

/*
 * Wait until the socket is ready for "events", the latch is set (then
 * check for interrupts and go on waiting) or the deadline passes (then
 * fail).  A deadline in the past still polls the socket once, so a
 * tx_timeout of 0 means "do not wait" rather than "always fail".
 */
static void
transport_wait(SmtpConn *conn, uint32 events, TimestampTz deadline,
			   int seconds, const char *what)
{
	for (;;)
	{
		WaitEventSet *set = wait_set_for(conn, events);
		WaitEvent	ev;
		long		timeout = -1;
		int			n;

		if (deadline != 0)
		{
			long		secs;
			int			usecs;

			TimestampDifference(GetCurrentTimestamp(), deadline, &secs, &usecs);
			timeout = secs * 1000 + usecs / 1000;
		}
		n = WaitEventSetWait(set, timeout, &ev, 1, PG_WAIT_EXTENSION);
		if (n > 0 && (ev.events & WL_LATCH_SET))
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (n > 0 && (ev.events & events))
			return;
		if (n == 0 || (deadline != 0 && GetCurrentTimestamp() >= deadline))
			smtp_transport_fail(conn, "4.4.2 timed out after %d s %s %s:%d",
								seconds, what, conn->host, conn->port);
	}
}

/* Wait for what a TLS call asked for (SSL_ERROR_WANT_READ or _WRITE). */
static void
tls_wait(SmtpConn *conn, int ssl_error, TimestampTz deadline, int seconds,
		 const char *what)
{
	transport_wait(conn,
				   ssl_error == SSL_ERROR_WANT_WRITE ? WL_SOCKET_WRITEABLE
				   : WL_SOCKET_READABLE,
				   deadline, seconds, what);
}

/*
 * Why a TLS read or write failed: OpenSSL's first queued error, else the
 * socket error (a reset shows as SSL_ERROR_SYSCALL with an empty queue),
 * else a close without close_notify.  sys_errno is errno saved right
 * after the call.  The queue is cleared.
 */
static const char *
tls_error_text(int sys_errno)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else if (sys_errno != 0)
		strlcpy(buf, strerror(sys_errno), sizeof(buf));
	else
		strlcpy(buf, "connection closed without TLS close_notify", sizeof(buf));
	return buf;
}

/* A copy of the addresses getaddrinfo gave, so nothing leaks on longjmp. */
typedef struct ResolvedAddr
{
	int			family;
	socklen_t	len;
	struct sockaddr_storage addr;
} ResolvedAddr;

/* Resolve host:port to a palloc'd array of addresses. */
static ResolvedAddr *
resolve(SmtpConn *conn, int *naddrs)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	char		portstr[16];
	ResolvedAddr *addrs;
	int			n = 0;
	int			rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", conn->port);
	rc = getaddrinfo(conn->host, portstr, &hints, &res);
	if (rc != 0)
		smtp_transport_fail(conn, "4.4.4 could not resolve host \"%s\": %s",
							conn->host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	addrs = palloc0(sizeof(ResolvedAddr) * n);
	n = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next)
	{
		if (ai->ai_addrlen > sizeof(struct sockaddr_storage))
			continue;
		addrs[n].family = ai->ai_family;
		addrs[n].len = ai->ai_addrlen;
		memcpy(&addrs[n].addr, ai->ai_addr, ai->ai_addrlen);
		n++;
	}
	freeaddrinfo(res);
	*naddrs = n;
	return addrs;
}

/* Set the options every SMTP socket gets. */
static void
tune_socket(pgsocket sock)
{
	int			on = 1;

	/* A command must not wait 40 ms for Nagle behind the previous one. */
	(void) setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* Ask the kernel to ACK at once rather than delay (Linux only). */
static void
quickack(SmtpConn *conn)
{
#ifdef TCP_QUICKACK
	int			on = 1;

	(void) setsockopt(conn->sock, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
#else
	(void) conn;
#endif
}

/* Release the wait set, the socket and its external-FD reservation. */
static void
close_socket(SmtpConn *conn)
{
	if (conn->waitset != NULL)
	{
		FreeWaitEventSet(conn->waitset);
		conn->waitset = NULL;
	}
	if (conn->sock != PGINVALID_SOCKET)
	{
		closesocket(conn->sock);
		conn->sock = PGINVALID_SOCKET;
	}
	if (conn->fd_acquired)
	{
		ReleaseExternalFD();
		conn->fd_acquired = false;
	}
}

/*
 * Connect to conn->host:conn->port, trying every address (IPv6 and IPv4)
 * until one answers, all within smtp_mail.connect_timeout.
 */
void
smtp_transport_connect(SmtpConn *conn)
{
	TimestampTz deadline = deadline_in(smtp_connect_timeout);
	ResolvedAddr *addrs;
	int			naddrs;
	int			i;
	int			last_errno = 0;

	addrs = resolve(conn, &naddrs);
	for (i = 0; i < naddrs; i++)
	{
		int			err = 0;
		socklen_t	errlen = sizeof(err);

		if (!AcquireExternalFD())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("could not open a socket for %s:%d: too many open files",
							conn->host, conn->port)));
		conn->fd_acquired = true;
		conn->sock = socket(addrs[i].family,
							SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
							IPPROTO_TCP);
		if (conn->sock == PGINVALID_SOCKET)
		{
			last_errno = errno;
			close_socket(conn);
			continue;
		}
		tune_socket(conn->sock);
		if (connect(conn->sock, (struct sockaddr *) &addrs[i].addr,
					addrs[i].len) < 0)
		{
			if (errno != EINPROGRESS)
				err = errno;
			else
			{
				transport_wait(conn, WL_SOCKET_CONNECTED, deadline,
							   smtp_connect_timeout, "connecting to");
				if (getsockopt(conn->sock, SOL_SOCKET, SO_ERROR, &err,
							   &errlen) < 0)
					err = errno;
			}
		}
		if (err == 0)
		{
			pfree(addrs);
			return;
		}
		last_errno = err;
		close_socket(conn);
	}
	pfree(addrs);
	errno = last_errno;
	smtp_transport_fail(conn, "4.4.1 could not connect to %s:%d: %m",
						conn->host, conn->port);
}

/* Write all of buf, waiting as needed within the connection's tx_timeout. */
void
smtp_transport_write(SmtpConn *conn, const char *buf, size_t len)
{
	TimestampTz deadline = deadline_in(conn->tx_timeout);

	while (len > 0)
	{
		ssize_t		n;

		if (conn->ssl != NULL)
		{
			int			chunk = (int) Min(len, (size_t) INT_MAX);

			ERR_clear_error();
			errno = 0;
			n = SSL_write(conn->ssl, buf, chunk);
			if (n <= 0)
			{
				int			sys_errno = errno;
				int			e = SSL_get_error(conn->ssl, (int) n);

				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				{
					tls_wait(conn, e, deadline, conn->tx_timeout, "writing to");
					continue;
				}
				smtp_transport_fail(conn, "4.4.2 TLS write to %s:%d failed: %s",
									conn->host, conn->port, tls_error_text(sys_errno));
			}
		}
		else
		{
			n = send(conn->sock, buf, len, MSG_NOSIGNAL);
			if (n < 0)
			{
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				{
					transport_wait(conn, WL_SOCKET_WRITEABLE, deadline,
								   conn->tx_timeout, "writing to");
					continue;
				}
				smtp_transport_fail(conn, "4.4.2 write to %s:%d failed: %m",
									conn->host, conn->port);
			}
		}
		buf += n;
		len -= (size_t) n;
		conn->bytes_out += (uint64) n;
	}
}

/* Read at least one byte into buf, waiting within the tx_timeout. */
size_t
smtp_transport_read(SmtpConn *conn, char *buf, size_t size)
{
	TimestampTz deadline = deadline_in(conn->tx_timeout);

	quickack(conn);

	/*
	 * A reply is read right after its command was sent, so it is almost
	 * never there yet: wait first instead of spending a read on EAGAIN,
	 * unless TLS already holds bytes (read-ahead).
	 */
	if (conn->ssl == NULL || !SSL_has_pending(conn->ssl))
		transport_wait(conn, WL_SOCKET_READABLE, deadline, conn->tx_timeout,
					   "waiting for a reply from");
	for (;;)
	{
		ssize_t		n;

		if (conn->ssl != NULL)
		{
			int			e;
			int			sys_errno;

			ERR_clear_error();
			errno = 0;
			n = SSL_read(conn->ssl, buf, (int) Min(size, (size_t) INT_MAX));
			if (n > 0)
			{
				conn->bytes_in += (uint64) n;
				return (size_t) n;
			}
			sys_errno = errno;
			e = SSL_get_error(conn->ssl, (int) n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			{
				tls_wait(conn, e, deadline, conn->tx_timeout,
						 "waiting for a reply from");
				continue;
			}
			if (e == SSL_ERROR_ZERO_RETURN)
				smtp_transport_fail(conn, "4.4.2 connection closed by %s:%d",
									conn->host, conn->port);
			smtp_transport_fail(conn, "4.4.2 TLS read from %s:%d failed: %s",
								conn->host, conn->port, tls_error_text(sys_errno));
		}
		n = recv(conn->sock, buf, size, 0);
		if (n > 0)
		{
			conn->bytes_in += (uint64) n;
			return (size_t) n;
		}
		if (n == 0)
			smtp_transport_fail(conn, "4.4.2 connection closed by %s:%d",
								conn->host, conn->port);
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			smtp_transport_fail(conn, "4.4.2 read from %s:%d failed: %m",
								conn->host, conn->port);
		transport_wait(conn, WL_SOCKET_READABLE, deadline, conn->tx_timeout,
					   "waiting for a reply from");
	}
}

/*
 * Run the TLS handshake on the connected socket, verifying the server
 * against conn->wallet and "name", within smtp_mail.connect_timeout.
 */
void
smtp_transport_handshake(SmtpConn *conn, const char *name)
{
	TimestampTz deadline = deadline_in(smtp_connect_timeout);
	X509	   *peer;

	conn->ssl = smtp_tls_new(conn, name);
	smtp_tls_verify_reset();
	for (;;)
	{
		int			rc;
		int			e;

		ERR_clear_error();
		rc = SSL_connect(conn->ssl);
		if (rc == 1)
			break;
		e = SSL_get_error(conn->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		{
			tls_wait(conn, e, deadline, smtp_connect_timeout,
					 "in the TLS handshake with");
			continue;
		}
		smtp_tls_report_failure(conn, name, e);
	}

	peer = SSL_get1_peer_certificate(conn->ssl);
	if (peer != NULL)
	{
		conn->peer_subject = MemoryContextStrdup(TopMemoryContext,
												 smtp_tls_name_of(X509_get_subject_name(peer)));
		X509_free(peer);
	}
}

/* Drop TLS and the socket; never raises. */
void
smtp_transport_close(SmtpConn *conn)
{
	if (conn->ssl != NULL)
	{
		/* One non-blocking close_notify, as a courtesy; the result is moot. */
		ERR_clear_error();
		(void) SSL_shutdown(conn->ssl);
		SSL_free(conn->ssl);
		conn->ssl = NULL;
		ERR_clear_error();
	}
	close_socket(conn);
}
