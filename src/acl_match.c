/*-------------------------------------------------------------------------
 *
 * acl_match.c
 *	  Host allow-list matching: names (case-insensitive, trailing dot
 *	  ignored), "*.domain" wildcards, "*", IPv4/IPv6 addresses and CIDR
 *	  subnets.  Names only match names and addresses only addresses: the
 *	  check runs before any DNS lookup.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "acl_match.h"

/* Specificity levels: exact > longer wildcard/narrower subnet > '*'. */
#define SPEC_EXACT		100000
#define SPEC_PARTIAL	1000	/* + labels of the domain, or prefix bits */
#define SPEC_ANY		0

#define NAME_MAX_LEN	256

/* An address, v4 or v6, as 16 bytes plus its bit length. */
typedef struct AclAddr
{
	int			bits;			/* 32 or 128 */
	unsigned char b[16];
} AclAddr;

/*
 * Parse an address literal in standard form (IPv6 may be in brackets).
 * An IPv4-mapped IPv6 address is taken as the IPv4 address it carries.
 */
static bool
parse_addr(const char *s, AclAddr *a)
{
	char		buf[64];
	size_t		len = strlen(s);

	if (len >= sizeof(buf))
		return false;
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
	{
		memcpy(buf, s + 1, len - 2);
		buf[len - 2] = '\0';
	}
	else
		memcpy(buf, s, len + 1);
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->b) == 1)
	{
		a->bits = 32;
		return true;
	}
	if (inet_pton(AF_INET6, buf, a->b) == 1)
	{
		static const unsigned char mapped[12] =
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		a->bits = 128;
		if (memcmp(a->b, mapped, sizeof(mapped)) == 0)
		{
			memmove(a->b, a->b + 12, 4);
			memset(a->b + 4, 0, 12);
			a->bits = 32;
		}
		return true;
	}
	return false;
}

/*
 * Parse a host as the resolver will: besides the standard forms, every
 * IPv4 spelling inet_aton() accepts ("127.1", "2130706433", "0x7f.1",
 * "0177.0.0.1"), which getaddrinfo() takes as numeric, and an IPv6
 * address with a zone index ("fe80::1%lo").  Otherwise a row for an
 * address could be bypassed by spelling the address differently.
 */
static bool
parse_host_addr(const char *s, AclAddr *a)
{
	struct in_addr v4;
	char		buf[64];
	const char *pct;

	if (parse_addr(s, a))
		return true;
	pct = strchr(s, '%');
	if (pct != NULL && (size_t) (pct - s) < sizeof(buf))
	{
		memcpy(buf, s, pct - s);
		buf[pct - s] = '\0';
		if (strchr(buf, ':') != NULL && parse_addr(buf, a))
			return true;
	}
	if (inet_aton(s, &v4) != 0)
	{
		memset(a, 0, sizeof(*a));
		memcpy(a->b, &v4, 4);
		a->bits = 32;
		return true;
	}
	return false;
}

/* Parse "addr/prefix"; a plain address has the full prefix. */
static bool
parse_cidr(const char *s, AclAddr *a, int *prefix)
{
	const char *slash = strchr(s, '/');
	char		buf[64];
	char	   *end;
	long		p;

	if (slash == NULL)
	{
		if (!parse_addr(s, a))
			return false;
		*prefix = a->bits;
		return true;
	}
	if ((size_t) (slash - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (!parse_addr(buf, a) || slash[1] == '\0')
		return false;
	if (slash[1] < '0' || slash[1] > '9')
		return false;			/* strtol would take " 8" and "+8" */
	p = strtol(slash + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > a->bits)
		return false;
	*prefix = (int) p;
	return true;
}

/* Do the first "prefix" bits of two addresses agree? */
static bool
prefix_equal(const AclAddr *x, const AclAddr *y, int prefix)
{
	int			full = prefix / 8;
	int			rest = prefix % 8;

	if (x->bits != y->bits)
		return false;
	if (memcmp(x->b, y->b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((x->b[full] ^ y->b[full]) & (0xff << (8 - rest))) == 0;
}

/* Lower-case a host name and drop one trailing dot; false if too long. */
static bool
normalize_name(const char *s, char *out)
{
	size_t		len = strlen(s);
	size_t		i;

	if (len >= NAME_MAX_LEN)
		return false;
	for (i = 0; i < len; i++)
		out[i] = (char) tolower((unsigned char) s[i]);
	out[len] = '\0';
	if (len > 1 && out[len - 1] == '.')
		out[len - 1] = '\0';
	return true;
}

/* Number of labels in a domain name ("example.com" has 2). */
static int
count_labels(const char *s)
{
	int			n = 1;

	for (; *s; s++)
		if (*s == '.')
			n++;
	return n;
}

/* How specifically pattern matches host; -1 when it does not match. */
int
smtp_acl_host_specificity(const char *pattern, const char *host)
{
	AclAddr		ha;
	AclAddr		pa;
	int			prefix;
	char		p[NAME_MAX_LEN];
	char		h[NAME_MAX_LEN];
	size_t		plen;
	size_t		hlen;

	if (strcmp(pattern, "*") == 0)
		return SPEC_ANY;
	if (parse_host_addr(host, &ha))
	{
		if (!parse_cidr(pattern, &pa, &prefix))
			return -1;
		if (!prefix_equal(&ha, &pa, prefix))
			return -1;
		return prefix == pa.bits ? SPEC_EXACT : SPEC_PARTIAL + prefix;
	}
	if (!normalize_name(pattern, p) || !normalize_name(host, h))
		return -1;
	if (strcmp(p, h) == 0)
		return SPEC_EXACT;
	if (p[0] != '*' || p[1] != '.')
		return -1;
	/* "*.example.com" matches "a.example.com" and "a.b.example.com". */
	plen = strlen(p + 1);
	hlen = strlen(h);
	if (hlen <= plen || strcmp(h + hlen - plen, p + 1) != 0)
		return -1;
	return SPEC_PARTIAL + count_labels(p + 2);
}

/* Whether the pattern is well-formed. */
bool
smtp_acl_pattern_valid(const char *pattern)
{
	AclAddr		a;
	int			prefix;
	const char *s;

	if (strcmp(pattern, "*") == 0)
		return true;
	if (parse_cidr(pattern, &a, &prefix))
		return true;
	if (strchr(pattern, '/') != NULL || pattern[0] == '\0' ||
		strlen(pattern) >= NAME_MAX_LEN)
		return false;
	s = pattern;
	if (s[0] == '*')
	{
		if (s[1] != '.' || s[2] == '\0')
			return false;
		s += 2;
	}
	for (; *s; s++)
		if (!(isalnum((unsigned char) *s) || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

/* Does the row's port range (if any) hold port? */
static bool
port_in_range(const SmtpAclRow *r, int port)
{
	int			upper;

	if (r->lower_port < 0)
		return true;
	upper = r->upper_port < 0 ? r->lower_port : r->upper_port;
	return port >= r->lower_port && port <= upper;
}

/* The decision; see acl_match.h. */
bool
smtp_acl_decide(const SmtpAclRow *rows, int nrows, const char *host, int port,
				int *deciding)
{
	int			best_spec = -1;
	bool		best_ranged = false;
	bool		granted = false;
	int			i;

	*deciding = 0;
	/* Find the most specific host, then whether a ranged row exists there. */
	for (i = 0; i < nrows; i++)
	{
		int			spec;

		if (!port_in_range(&rows[i], port))
			continue;
		spec = smtp_acl_host_specificity(rows[i].host, host);
		if (spec < 0)
			continue;
		if (spec > best_spec)
		{
			best_spec = spec;
			best_ranged = false;
		}
		if (spec == best_spec && rows[i].lower_port >= 0)
			best_ranged = true;
	}
	if (best_spec < 0)
		return false;
	for (i = 0; i < nrows; i++)
	{
		if (!port_in_range(&rows[i], port) ||
			smtp_acl_host_specificity(rows[i].host, host) != best_spec ||
			(rows[i].lower_port >= 0) != best_ranged)
			continue;
		(*deciding)++;
		if (rows[i].principal_ok && rows[i].date_ok)
			granted = true;
	}
	return granted;
}
