/*-------------------------------------------------------------------------
 *
 * acl_match.h
 *	  The host allow-list decision as a pure function (libc only), so it
 *	  can be unit tested over a table of cases.  acl.c feeds it the rows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SMTP_ACL_MATCH_H
#define SMTP_ACL_MATCH_H

#include <stdbool.h>

/* One row of smtp_mail.host_acl, with the role and date tests done. */
typedef struct SmtpAclRow
{
	const char *host;			/* pattern: name, *.domain, *, address, CIDR */
	int			lower_port;		/* -1 = no range */
	int			upper_port;		/* -1 = same as lower_port */
	bool		principal_ok;	/* the user has the privileges of the role */
	bool		date_ok;		/* now is within start_date..end_date */
} SmtpAclRow;

/* How specifically pattern matches host; -1 when it does not match. */
extern int	smtp_acl_host_specificity(const char *pattern, const char *host);

/* Whether the pattern is well-formed (for the table's CHECK). */
extern bool smtp_acl_pattern_valid(const char *pattern);

/*
 * The decision (DESIGN §2.4): among rows whose host matches and whose port
 * range (if any) holds the port, keep the most specific host; among those,
 * rows with a port range beat rows without; grant if any remaining row's
 * principal and dates are satisfied.  *deciding is set to the number of
 * rows that took part in the final choice.
 */
extern bool smtp_acl_decide(const SmtpAclRow *rows, int nrows,
							const char *host, int port, int *deciding);

#endif							/* SMTP_ACL_MATCH_H */
