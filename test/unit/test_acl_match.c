/*-------------------------------------------------------------------------
 *
 * test_acl_match.c
 *	  cmocka unit tests for src/acl_match.c: the host allow-list decision
 *	  of DESIGN §2.4 (most specific host wins, then port ranges, then role
 *	  and dates), host pattern matching and pattern validation.
 *
 *	  Most cases live in tables (one cmocka test per row, named after it);
 *	  the named tests below them spell out the rules one scenario each.
 *
 *	  Build standalone:
 *	    gcc -Wall -Wextra -Werror -I src test/unit/test_acl_match.c \
 *	        src/acl_match.c -lcmocka -o /tmp/test_acl_match
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acl_match.h"

/* Rows of one decision case (a few at most). */
#define MAX_ROWS	6

/*
 * Row shorthands.  "Mine" rows name a role the user has the privileges of
 * and are within their dates; "other" rows name a role the user lacks;
 * "expired" rows name the user but are outside their dates.
 */
#define MINE(h)				{(h), -1, -1, true, true}
#define OTHER(h)			{(h), -1, -1, false, true}
#define EXPIRED(h)			{(h), -1, -1, true, false}
#define MINE_PORTS(h, l, u)	{(h), (l), (u), true, true}
#define OTHER_PORTS(h, l, u) {(h), (l), (u), false, true}
#define NO_ROWS				{{NULL, -1, -1, false, false}}

/* A decision case: the rows, the request, the answer. */
typedef struct DecideCase
{
	const char *name;
	int			nrows;
	SmtpAclRow	rows[MAX_ROWS];
	const char *host;
	int			port;
	bool		granted;
	int			deciding;		/* rows that took part; -1 = not checked */
} DecideCase;

/* A pattern against a host: does it match at all? */
typedef struct MatchCase
{
	const char *pattern;
	const char *host;
	bool		matches;
} MatchCase;

/* For this host, "better" is strictly more specific than "worse". */
typedef struct OrderCase
{
	const char *host;
	const char *better;
	const char *worse;
} OrderCase;

/* Is the pattern accepted by the table's CHECK? */
typedef struct PatternCase
{
	const char *pattern;
	bool		valid;
} PatternCase;

/*
 * The decision, case by case.  Hosts under example.com / 192.0.2.0/24 /
 * 2001:db8::/32 are documentation names and addresses.
 */
static const DecideCase decide_cases[] = {
	/* default deny */
	{"no rows: denied", 0, NO_ROWS, "smtp.example.com", 25, false, 0},
	{"no rows: denied for an address", 0, NO_ROWS, "127.0.0.1", 25, false, 0},
	{"a row for another host only: denied", 1, {MINE("mail.example.com")},
	"smtp.example.com", 25, false, 0},

	/* '*', exact, wildcard */
	{"'*' allows a name", 1, {MINE("*")}, "smtp.example.com", 25, true, 1},
	{"'*' allows an IPv4 address", 1, {MINE("*")}, "192.0.2.1", 25, true, 1},
	{"'*' allows an IPv6 address", 1, {MINE("*")}, "2001:db8::1", 587, true, 1},
	{"exact name allows", 1, {MINE("smtp.example.com")},
	"smtp.example.com", 25, true, 1},
	{"wildcard allows a subdomain", 1, {MINE("*.example.com")},
	"smtp.example.com", 25, true, 1},
	{"wildcard allows a deeper subdomain", 1, {MINE("*.example.com")},
	"a.b.example.com", 25, true, 1},
	{"wildcard does not allow the domain itself", 1, {MINE("*.example.com")},
	"example.com", 25, false, 0},
	{"wildcard does not allow a name that merely ends the same", 1,
	{MINE("*.example.com")}, "badexample.com", 25, false, 0},

	/* most specific host wins: exact > *.domain > * */
	{"exact name for another role shadows '*'", 2,
	{MINE("*"), OTHER("smtp.example.com")}, "smtp.example.com", 25, false, 1},
	{"exact name for another role shadows the wildcard", 2,
	{MINE("*.example.com"), OTHER("smtp.example.com")},
	"smtp.example.com", 25, false, 1},
	{"wildcard for another role shadows '*'", 2,
	{MINE("*"), OTHER("*.example.com")}, "smtp.example.com", 25, false, 1},
	{"exact name allows under a wildcard for another role", 2,
	{OTHER("*.example.com"), MINE("smtp.example.com")},
	"smtp.example.com", 25, true, 1},
	{"exact name allows under '*' for another role", 2,
	{OTHER("*"), MINE("smtp.example.com")}, "smtp.example.com", 25, true, 1},
	{"an exact row for another host does not shadow '*'", 2,
	{MINE("*"), OTHER("mail.example.com")}, "smtp.example.com", 25, true, 1},
	{"a wildcard for another domain does not shadow '*'", 2,
	{MINE("*"), OTHER("*.example.org")}, "smtp.example.com", 25, true, 1},

	/* longer wildcard beats shorter */
	{"longer wildcard for another role shadows shorter", 2,
	{MINE("*.example.com"), OTHER("*.mail.example.com")},
	"a.mail.example.com", 25, false, 1},
	{"longer wildcard allows under shorter for another role", 2,
	{OTHER("*.example.com"), MINE("*.mail.example.com")},
	"a.mail.example.com", 25, true, 1},
	{"longer wildcard that does not match leaves the shorter", 2,
	{MINE("*.example.com"), OTHER("*.mail.example.com")},
	"a.smtp.example.com", 25, true, 1},

	/* case and trailing dot */
	{"row in upper case allows a lower-case host", 1,
	{MINE("SMTP.Example.COM")}, "smtp.example.com", 25, true, 1},
	{"row in lower case allows an upper-case host", 1,
	{MINE("smtp.example.com")}, "SMTP.EXAMPLE.COM", 25, true, 1},
	{"row with a trailing dot allows the host without", 1,
	{MINE("smtp.example.com.")}, "smtp.example.com", 25, true, 1},
	{"row without a trailing dot allows the host with one", 1,
	{MINE("smtp.example.com")}, "smtp.example.com.", 25, true, 1},
	{"wildcard: case and trailing dots on both sides", 1,
	{MINE("*.EXAMPLE.com.")}, "A.example.COM.", 25, true, 1},
	{"upper-case exact row with a dot still shadows '*'", 2,
	{MINE("*"), OTHER("SMTP.EXAMPLE.COM.")}, "smtp.example.com", 25, false, 1},

	/* IPv4 */
	{"IPv4 exact allows", 1, {MINE("192.0.2.10")}, "192.0.2.10", 25, true, 1},
	{"IPv4 exact does not allow its neighbour", 1, {MINE("192.0.2.10")},
	"192.0.2.11", 25, false, 0},
	{"IPv4 /24 allows inside", 1, {MINE("192.0.2.0/24")}, "192.0.2.200", 25, true, 1},
	{"IPv4 /24 denies outside", 1, {MINE("192.0.2.0/24")}, "192.0.3.1", 25, false, 0},
	{"IPv4 /16 allows inside", 1, {MINE("10.20.0.0/16")}, "10.20.255.1", 25, true, 1},
	{"IPv4 /16 denies outside", 1, {MINE("10.20.0.0/16")}, "10.21.0.1", 25, false, 0},
	{"IPv4 /0 allows any IPv4 address", 1, {MINE("0.0.0.0/0")}, "203.0.113.9", 25, true, 1},
	{"IPv4 /8 allows loopback", 1, {MINE("127.0.0.0/8")}, "127.0.0.1", 25, true, 1},
	{"narrower subnet for another role shadows wider", 2,
	{MINE("10.0.0.0/8"), OTHER("10.1.0.0/16")}, "10.1.2.3", 25, false, 1},
	{"narrower subnet allows under wider for another role", 2,
	{OTHER("10.0.0.0/8"), MINE("10.1.0.0/16")}, "10.1.2.3", 25, true, 1},
	{"exact address for another role shadows its subnet", 2,
	{MINE("10.1.0.0/16"), OTHER("10.1.2.3")}, "10.1.2.3", 25, false, 1},
	{"exact address allows under a subnet for another role", 2,
	{OTHER("10.1.0.0/16"), MINE("10.1.2.3")}, "10.1.2.3", 25, true, 1},
	{"subnet for another role shadows '*'", 2,
	{MINE("*"), OTHER("192.0.2.0/24")}, "192.0.2.7", 25, false, 1},
	{"a subnet that does not hold the host does not shadow '*'", 2,
	{MINE("*"), OTHER("192.0.2.0/24")}, "198.51.100.7", 25, true, 1},

	/* IPv6 */
	{"IPv6 exact allows", 1, {MINE("2001:db8::25")}, "2001:db8::25", 25, true, 1},
	{"IPv6 exact allows another spelling of the address", 1,
	{MINE("2001:db8::25")}, "2001:DB8:0:0:0:0:0:25", 25, true, 1},
	{"IPv6 /64 allows inside", 1, {MINE("2001:db8:1:2::/64")},
	"2001:db8:1:2:abcd::1", 25, true, 1},
	{"IPv6 /64 denies outside", 1, {MINE("2001:db8:1:2::/64")},
	"2001:db8:1:3::1", 25, false, 0},
	{"'::1' allows '::1'", 1, {MINE("::1")}, "::1", 25, true, 1},
	{"'[::1]' row allows '::1'", 1, {MINE("[::1]")}, "::1", 25, true, 1},
	{"'::1' row allows '[::1]'", 1, {MINE("::1")}, "[::1]", 25, true, 1},
	{"IPv6 exact for another role shadows its /64", 2,
	{MINE("2001:db8:1:2::/64"), OTHER("2001:db8:1:2::25")},
	"2001:db8:1:2::25", 25, false, 1},

	/* families and kinds never cross */
	{"IPv4 /0 does not allow an IPv6 host", 1, {MINE("0.0.0.0/0")}, "::1", 25, false, 0},
	{"IPv6 /0 does not allow an IPv4 host", 1, {MINE("::/0")}, "127.0.0.1", 25, false, 0},
	{"IPv4 row does not allow IPv6 loopback", 1, {MINE("127.0.0.1")}, "::1", 25, false, 0},
	{"IPv6 row does not allow IPv4 loopback", 1, {MINE("::1")}, "127.0.0.1", 25, false, 0},
	{"a name row does not allow an address", 1, {MINE("localhost")},
	"127.0.0.1", 25, false, 0},
	{"an address row does not allow a name", 1, {MINE("127.0.0.1")},
	"localhost", 25, false, 0},
	{"a subnet row does not allow a name", 1, {MINE("0.0.0.0/0")},
	"localhost", 25, false, 0},
	{"an address row for another role does not shadow '*' for a name", 2,
	{MINE("*"), OTHER("127.0.0.1")}, "localhost", 25, true, 1},
	{"a name row for another role does not shadow '*' for an address", 2,
	{MINE("*"), OTHER("localhost")}, "127.0.0.1", 25, true, 1},

	/* ports */
	{"port range for the port beats no range at the same host", 2,
	{OTHER("smtp.example.com"), MINE_PORTS("smtp.example.com", 25, 25)},
	"smtp.example.com", 25, true, 1},
	{"port range for another role shadows no range at the same host", 2,
	{MINE("smtp.example.com"), OTHER_PORTS("smtp.example.com", 1, 1024)},
	"smtp.example.com", 25, false, 1},
	{"range excluding the port is ignored at the same host", 2,
	{MINE("smtp.example.com"), OTHER_PORTS("smtp.example.com", 587, 587)},
	"smtp.example.com", 25, true, 1},
	{"range excluding the port falls back to a less specific host", 2,
	{MINE("*"), OTHER_PORTS("smtp.example.com", 587, 587)},
	"smtp.example.com", 25, true, 1},
	{"range excluding the port: the less specific host denies", 2,
	{OTHER("*"), MINE_PORTS("smtp.example.com", 587, 587)},
	"smtp.example.com", 25, false, 1},
	{"range holding the port: the more specific host allows", 2,
	{OTHER("*"), MINE_PORTS("smtp.example.com", 587, 587)},
	"smtp.example.com", 587, true, 1},
	{"only a range excluding the port: denied", 1,
	{MINE_PORTS("smtp.example.com", 587, 587)}, "smtp.example.com", 25, false, 0},
	{"range includes its lower bound", 1, {MINE_PORTS("smtp.example.com", 25, 587)},
	"smtp.example.com", 25, true, 1},
	{"range includes its upper bound", 1, {MINE_PORTS("smtp.example.com", 25, 587)},
	"smtp.example.com", 587, true, 1},
	{"range excludes below its lower bound", 1,
	{MINE_PORTS("smtp.example.com", 25, 587)}, "smtp.example.com", 24, false, 0},
	{"range excludes above its upper bound", 1,
	{MINE_PORTS("smtp.example.com", 25, 587)}, "smtp.example.com", 588, false, 0},
	{"upper_port -1 means the lower port: that port allowed", 1,
	{MINE_PORTS("smtp.example.com", 25, -1)}, "smtp.example.com", 25, true, 1},
	{"upper_port -1 means the lower port: the next port denied", 1,
	{MINE_PORTS("smtp.example.com", 25, -1)}, "smtp.example.com", 26, false, 0},
	{"host specificity comes before port ranges", 2,
	{MINE_PORTS("*", 25, 25), OTHER("smtp.example.com")},
	"smtp.example.com", 25, false, 1},
	{"port range on an address", 2,
	{OTHER("127.0.0.1"), MINE_PORTS("127.0.0.1", 2500, 2599)}, "127.0.0.1", 2525, true, 1},

	/* role and dates at the deciding level */
	{"row for a role the user lacks: denied", 1, {OTHER("smtp.example.com")},
	"smtp.example.com", 25, false, 1},
	{"row outside its dates: denied", 1, {EXPIRED("smtp.example.com")},
	"smtp.example.com", 25, false, 1},
	{"row outside its dates shadows '*'", 2,
	{MINE("*"), EXPIRED("smtp.example.com")}, "smtp.example.com", 25, false, 1},
	{"row outside its dates shadows the wildcard", 2,
	{MINE("*.example.com"), EXPIRED("smtp.example.com")},
	"smtp.example.com", 25, false, 1},
	{"one granting row among the most specific is enough", 3,
	{OTHER("smtp.example.com"), EXPIRED("smtp.example.com"), MINE("smtp.example.com")},
	"smtp.example.com", 25, true, 3},
	{"no granting row among the most specific: denied", 3,
	{MINE("*"), OTHER("smtp.example.com"), EXPIRED("smtp.example.com")},
	"smtp.example.com", 25, false, 2},
	{"a row needs both its role and its dates", 1,
	{{"smtp.example.com", -1, -1, false, false}}, "smtp.example.com", 25, false, 1},
};

/* Pattern against host: matches or not. */
static const MatchCase match_cases[] = {
	{"*", "smtp.example.com", true},
	{"*", "192.0.2.1", true},
	{"*", "::1", true},
	{"*", "[::1]", true},
	{"smtp.example.com", "smtp.example.com", true},
	{"smtp.example.com", "SMTP.EXAMPLE.COM", true},
	{"smtp.example.com", "smtp.example.com.", true},
	{"SMTP.Example.Com.", "smtp.example.com", true},
	{"smtp.example.com", "smtp.example.co", false},
	{"smtp.example.com", "xsmtp.example.com", false},
	{"smtp.example.com", "mail.example.com", false},
	{"smtp.example.com", "a.smtp.example.com", false},
	{"*.example.com", "a.example.com", true},
	{"*.example.com", "a.b.example.com", true},
	{"*.example.com", "A.B.EXAMPLE.COM.", true},
	{"*.EXAMPLE.COM.", "a.example.com", true},
	{"*.example.com", "example.com", false},
	{"*.example.com", "example.com.", false},
	{"*.example.com", "badexample.com", false},
	{"*.example.com", ".example.com", false},
	{"*.example.com", "a.example.com.evil.org", false},
	{"*.example.com", "a.example.org", false},
	{"*.mail.example.com", "a.example.com", false},
	{"127.0.0.1", "127.0.0.1", true},
	{"127.0.0.1", "127.0.0.2", false},
	{"127.0.0.1/32", "127.0.0.1", true},
	{"127.0.0.0/8", "127.255.255.254", true},
	{"127.0.0.0/8", "128.0.0.1", false},
	{"192.0.2.0/24", "192.0.2.0", true},
	{"192.0.2.0/24", "192.0.2.255", true},
	{"192.0.2.0/24", "192.0.3.0", false},
	{"10.20.0.0/16", "10.20.255.1", true},
	{"10.20.0.0/16", "10.21.0.1", false},
	{"10.128.0.0/9", "10.200.1.1", true},
	{"10.128.0.0/9", "10.127.1.1", false},
	{"0.0.0.0/0", "203.0.113.9", true},
	{"::1", "::1", true},
	{"::1", "0:0:0:0:0:0:0:1", true},
	{"::1", "::2", false},
	{"[::1]", "::1", true},
	{"::1", "[::1]", true},
	{"[::1]", "[::1]", true},
	{"2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
	{"2001:db8:1:2::/64", "2001:db8:1:3::", false},
	{"2001:db8::/32", "2001:0DB8:ABCD::1", true},
	{"::/0", "2001:db8::1", true},
	{"0.0.0.0/0", "::1", false},
	{"127.0.0.0/8", "::1", false},
	{"::/0", "127.0.0.1", false},
	{"127.0.0.1", "::1", false},
	{"::1", "127.0.0.1", false},
	{"localhost", "127.0.0.1", false},
	{"localhost", "::1", false},
	{"127.0.0.1", "localhost", false},
	{"0.0.0.0/0", "localhost", false},
	{"::/0", "localhost", false},
	{"127.0.0.1", "127.0.0.1.example.com", false},
};

/* Strict specificity order for one host. */
static const OrderCase order_cases[] = {
	{"smtp.example.com", "smtp.example.com", "*.example.com"},
	{"smtp.example.com", "*.example.com", "*"},
	{"smtp.example.com", "smtp.example.com", "*"},
	{"a.mail.example.com", "*.mail.example.com", "*.example.com"},
	{"a.b.c.example.com", "*.b.c.example.com", "*.c.example.com"},
	{"a.b.c.example.com", "*.c.example.com", "*.example.com"},
	{"a.b.c.example.com", "*.example.com", "*.com"},
	{"SMTP.EXAMPLE.COM.", "smtp.example.com", "*.example.com"},
	{"10.1.2.3", "10.1.2.3", "10.1.2.0/24"},
	{"10.1.2.3", "10.1.2.0/24", "10.1.0.0/16"},
	{"10.1.2.3", "10.1.0.0/16", "10.0.0.0/8"},
	{"10.1.2.3", "10.1.2.0/25", "10.1.2.0/24"},
	{"10.1.2.3", "10.0.0.0/8", "0.0.0.0/0"},
	{"10.1.2.3", "10.0.0.0/8", "*"},
	{"10.1.2.3", "10.1.2.3", "*"},
	{"2001:db8::1", "2001:db8::1", "2001:db8::/64"},
	{"2001:db8::1", "2001:db8::/64", "2001:db8::/32"},
	{"2001:db8::1", "2001:db8::/32", "*"},
	{"::1", "[::1]", "::/0"},
};

/* What the table's CHECK accepts and refuses. */
static const PatternCase pattern_cases[] = {
	{"*", true},
	{"smtp.example.com", true},
	{"SMTP.Example.COM.", true},
	{"*.example.com", true},
	{"*.com", true},
	{"mail-1.example.com", true},
	{"localhost", true},
	{"127.0.0.1", true},
	{"10.0.0.0/8", true},
	{"192.0.2.0/24", true},
	{"0.0.0.0/0", true},
	{"10.0.0.1/32", true},
	{"::1", true},
	{"[::1]", true},
	{"2001:db8::/64", true},
	{"2001:db8::1/128", true},
	{"::/0", true},
	{"", false},
	{"a b", false},
	{" smtp.example.com", false},
	{"smtp.example.com ", false},
	{"*.", false},
	{"*", true},
	{"**", false},
	{"*example.com", false},
	{"**.example.com", false},
	{"*.*.example.com", false},
	{"a.*.example.com", false},
	{"smtp*.example.com", false},
	{"x/33", false},
	{"smtp.example.com/24", false},
	{"10.0.0.0/33", false},
	{"10.0.0.0/", false},
	{"10.0.0.0/-1", false},
	{"10.0.0.0/8x", false},
	{"10.0.0.0//8", false},
	{"::1/129", false},
	{"[::1", false},
	{"::1]", false},
	{"smtp.example.com\n", false},
	{"smtp.example.com;", false},
	{"a,b", false},
	{"smtp@example.com", false},
};

/* Run one decision case. */
static void
decide_case(void **state)
{
	const DecideCase *c = *state;
	int			deciding = -12345;
	bool		got = smtp_acl_decide(c->rows, c->nrows, c->host, c->port, &deciding);

	if (got != c->granted)
		print_error("%s:%d: expected %s, got %s\n", c->host, c->port,
					c->granted ? "granted" : "denied", got ? "granted" : "denied");
	assert_int_equal(got, c->granted);
	if (c->deciding >= 0)
		assert_int_equal(deciding, c->deciding);
}

/* Run one match case. */
static void
match_case(void **state)
{
	const MatchCase *c = *state;
	int			spec = smtp_acl_host_specificity(c->pattern, c->host);

	if ((spec >= 0) != c->matches)
		print_error("pattern \"%s\", host \"%s\": specificity %d\n",
					c->pattern, c->host, spec);
	assert_int_equal(spec >= 0, c->matches);
}

/* Run one order case. */
static void
order_case(void **state)
{
	const OrderCase *c = *state;
	int			better = smtp_acl_host_specificity(c->better, c->host);
	int			worse = smtp_acl_host_specificity(c->worse, c->host);

	if (!(worse >= 0 && better > worse))
		print_error("host \"%s\": \"%s\" -> %d, \"%s\" -> %d\n",
					c->host, c->better, better, c->worse, worse);
	assert_true(worse >= 0);
	assert_true(better > worse);
}

/* Run one pattern case. */
static void
pattern_case(void **state)
{
	const PatternCase *c = *state;

	if (smtp_acl_pattern_valid(c->pattern) != c->valid)
		print_error("pattern \"%s\": expected %s\n", c->pattern,
					c->valid ? "valid" : "invalid");
	assert_int_equal(smtp_acl_pattern_valid(c->pattern), c->valid);
}

/* Decide over the given rows; deciding is returned through *deciding. */
static bool
decide(const SmtpAclRow *rows, int n, const char *host, int port, int *deciding)
{
	int			d;

	return smtp_acl_decide(rows, n, host, port, deciding ? deciding : &d);
}

/* The specificity ladder for one name: exact > wildcard > '*' > none. */
static void
exact_name_beats_wildcard_beats_star(void **state)
{
	int			exact = smtp_acl_host_specificity("smtp.example.com", "smtp.example.com");
	int			wild = smtp_acl_host_specificity("*.example.com", "smtp.example.com");
	int			star = smtp_acl_host_specificity("*", "smtp.example.com");
	int			none = smtp_acl_host_specificity("mail.example.com", "smtp.example.com");

	(void) state;
	assert_true(exact > wild);
	assert_true(wild > star);
	assert_true(star >= 0);
	assert_int_equal(none, -1);
}

/* Whatever order the rows come in, the most specific row decides. */
static void
row_order_does_not_matter(void **state)
{
	const SmtpAclRow a[] = {MINE("*"), MINE("*.example.com"), OTHER("smtp.example.com")};
	const SmtpAclRow b[] = {OTHER("smtp.example.com"), MINE("*.example.com"), MINE("*")};
	const SmtpAclRow c[] = {MINE("*.example.com"), OTHER("smtp.example.com"), MINE("*")};

	(void) state;
	assert_false(decide(a, 3, "smtp.example.com", 25, NULL));
	assert_false(decide(b, 3, "smtp.example.com", 25, NULL));
	assert_false(decide(c, 3, "smtp.example.com", 25, NULL));
	/* ... and for a sibling the wildcard (mine) decides */
	assert_true(decide(a, 3, "mail.example.com", 25, NULL));
	assert_true(decide(b, 3, "mail.example.com", 25, NULL));
	assert_true(decide(c, 3, "mail.example.com", 25, NULL));
}

/* Deny by shadowing: a row for another role at the top hides mine below. */
static void
most_specific_row_for_another_role_denies(void **state)
{
	const SmtpAclRow rows[] = {MINE("*"), MINE("*.example.com"), OTHER("smtp.example.com")};
	int			deciding;

	(void) state;
	assert_false(decide(rows, 3, "smtp.example.com", 25, &deciding));
	assert_int_equal(deciding, 1);
}

/* Deny by shadowing with dates: an expired row at the top hides mine below. */
static void
most_specific_row_out_of_date_denies(void **state)
{
	const SmtpAclRow rows[] = {MINE("*"), MINE("10.0.0.0/8"), EXPIRED("10.1.0.0/16")};

	(void) state;
	assert_false(decide(rows, 3, "10.1.2.3", 25, NULL));
	assert_true(decide(rows, 3, "10.2.0.1", 25, NULL));
}

/* No rows at all: denied, and nothing took part. */
static void
no_rows_denies(void **state)
{
	int			deciding = 99;

	(void) state;
	assert_false(smtp_acl_decide(NULL, 0, "smtp.example.com", 25, &deciding));
	assert_int_equal(deciding, 0);
	assert_false(smtp_acl_decide(NULL, 0, "127.0.0.1", 25, &deciding));
	assert_int_equal(deciding, 0);
}

/* A narrower subnet is more specific, however the prefix is written. */
static void
narrower_subnet_beats_wider_bit_by_bit(void **state)
{
	int			prev = smtp_acl_host_specificity("0.0.0.0/0", "10.1.2.3");
	int			bits;

	(void) state;
	assert_true(prev >= 0);
	for (bits = 1; bits <= 32; bits++)
	{
		char		pattern[32];
		int			spec;

		/* host bits set in the pattern: only the prefix is compared */
		snprintf(pattern, sizeof(pattern), "10.1.2.3/%d", bits);
		spec = smtp_acl_host_specificity(pattern, "10.1.2.3");
		if (!(spec > prev))
			print_error("/%d gives %d, /%d gave %d\n", bits, spec, bits - 1, prev);
		assert_true(spec > prev);
		prev = spec;
	}
	assert_int_equal(prev, smtp_acl_host_specificity("10.1.2.3", "10.1.2.3"));
}

/* The port ladder at one host: ranged row > unranged row; misses ignored. */
static void
port_range_beats_no_range_and_misses_are_ignored(void **state)
{
	const SmtpAclRow rows[] = {
		MINE("smtp.example.com"),
		OTHER_PORTS("smtp.example.com", 465, 465),
		MINE_PORTS("smtp.example.com", 587, -1),
	};

	(void) state;
	assert_true(decide(rows, 3, "smtp.example.com", 25, NULL));	/* no range decides */
	assert_false(decide(rows, 3, "smtp.example.com", 465, NULL));	/* other role's range */
	assert_true(decide(rows, 3, "smtp.example.com", 587, NULL));	/* my range */
	assert_true(decide(rows, 3, "smtp.example.com", 588, NULL));	/* -1: only 587 */
}

/* Pattern validity for every prefix length an address family allows. */
static void
every_prefix_length_is_valid_and_one_more_is_not(void **state)
{
	char		p[64];
	int			bits;

	(void) state;
	for (bits = 0; bits <= 32; bits++)
	{
		snprintf(p, sizeof(p), "10.0.0.0/%d", bits);
		assert_true(smtp_acl_pattern_valid(p));
	}
	for (bits = 0; bits <= 128; bits++)
	{
		snprintf(p, sizeof(p), "2001:db8::/%d", bits);
		assert_true(smtp_acl_pattern_valid(p));
	}
	assert_false(smtp_acl_pattern_valid("10.0.0.0/33"));
	assert_false(smtp_acl_pattern_valid("2001:db8::/129"));
}

/* A name of 255 characters is valid; 256 and more are not, and never match. */
static void
overlong_names_are_invalid_and_match_only_star(void **state)
{
	char		name[400];

	(void) state;
	memset(name, 'a', sizeof(name));
	memcpy(name + 255 - 12, ".example.com", 12);
	name[255] = '\0';
	assert_true(smtp_acl_pattern_valid(name));
	memset(name, 'a', sizeof(name));
	name[300] = '\0';
	assert_false(smtp_acl_pattern_valid(name));
	/* a host too long to normalise matches '*' only, never a name row */
	memset(name, 'a', sizeof(name));
	memcpy(name + 300 - 12, ".example.com", 12);
	name[300] = '\0';
	assert_int_equal(smtp_acl_host_specificity("*.example.com", name), -1);
	assert_true(smtp_acl_host_specificity("*", name) >= 0);
}

/*
 * getaddrinfo() reads "127.1", "2130706433", "0x7f.1", "0177.0.0.1" and
 * "127.000.000.001" as the address 127.0.0.1 (inet_aton's forms), so the
 * ACL must not judge them as names: otherwise a row that denies
 * 127.0.0.1 (by shadowing) is bypassed through '*'.  Either judging them
 * as the address or refusing them satisfies this test.
 */
static void
numeric_host_forms_cannot_bypass_an_address_row(void **state)
{
	static const char *const forms[] = {
		"127.0.0.1", "127.1", "2130706433", "0x7f.1", "0177.0.0.1",
		"127.000.000.001", "0x7f000001",
	};
	const SmtpAclRow rows[] = {MINE("*"), OTHER("127.0.0.1")};
	size_t		i;
	int			bad = 0;

	(void) state;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
	{
		if (decide(rows, 2, forms[i], 25, NULL))
		{
			print_error("host \"%s\" (127.0.0.1 to getaddrinfo) granted through '*'\n",
						forms[i]);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/*
 * An IPv4-mapped IPv6 address (::ffff:127.0.0.1) connects to the IPv4
 * host, and a zone index (fe80::1%lo) to fe80::1: neither may slip past a
 * row that denies that address by shadowing.
 */
static void
ipv6_host_forms_cannot_bypass_an_address_row(void **state)
{
	const SmtpAclRow v4[] = {MINE("*"), OTHER("127.0.0.0/8")};
	const SmtpAclRow ll[] = {MINE("*"), OTHER("fe80::/10")};
	int			bad = 0;

	(void) state;
	if (decide(v4, 2, "::ffff:127.0.0.1", 25, NULL))
	{
		print_error("host \"::ffff:127.0.0.1\" granted through '*' past 127.0.0.0/8\n");
		bad++;
	}
	if (decide(ll, 2, "fe80::1%lo", 25, NULL))
	{
		print_error("host \"fe80::1%%lo\" granted through '*' past fe80::/10\n");
		bad++;
	}
	assert_int_equal(bad, 0);
}

/* A CIDR prefix is digits only: no sign, no blanks ("10.0.0.0/ 8"). */
static void
cidr_prefix_is_digits_only(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0/ 8", "10.0.0.0/+8", "10.0.0.0/\t8", "::1/ 128",
	};
	size_t		i;
	int			accepted = 0;

	(void) state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		if (smtp_acl_pattern_valid(bad[i]))
		{
			print_error("pattern \"%s\" accepted\n", bad[i]);
			accepted++;
		}
	}
	assert_int_equal(accepted, 0);
}

#define N_DECIDE	(sizeof(decide_cases) / sizeof(decide_cases[0]))
#define N_MATCH		(sizeof(match_cases) / sizeof(match_cases[0]))
#define N_ORDER		(sizeof(order_cases) / sizeof(order_cases[0]))
#define N_PATTERN	(sizeof(pattern_cases) / sizeof(pattern_cases[0]))

/* The named tests. */
static const struct CMUnitTest named_tests[] = {
	cmocka_unit_test(exact_name_beats_wildcard_beats_star),
	cmocka_unit_test(row_order_does_not_matter),
	cmocka_unit_test(most_specific_row_for_another_role_denies),
	cmocka_unit_test(most_specific_row_out_of_date_denies),
	cmocka_unit_test(no_rows_denies),
	cmocka_unit_test(narrower_subnet_beats_wider_bit_by_bit),
	cmocka_unit_test(port_range_beats_no_range_and_misses_are_ignored),
	cmocka_unit_test(every_prefix_length_is_valid_and_one_more_is_not),
	cmocka_unit_test(overlong_names_are_invalid_and_match_only_star),
	cmocka_unit_test(numeric_host_forms_cannot_bypass_an_address_row),
	cmocka_unit_test(ipv6_host_forms_cannot_bypass_an_address_row),
	cmocka_unit_test(cidr_prefix_is_digits_only),
};

#define N_NAMED		(sizeof(named_tests) / sizeof(named_tests[0]))

static struct CMUnitTest tests[N_DECIDE + N_MATCH + N_ORDER + N_PATTERN + N_NAMED];

/* A test name for a table row, printf-style (kept for the whole run). */
static const char *
case_name(const char *fmt,...)
{
	char		buf[512];
	va_list		ap;
	size_t		i;
	char	   *s;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* keep the report on one line per test */
	for (i = 0; buf[i]; i++)
		if (buf[i] == '\n' || buf[i] == '\t')
			buf[i] = ' ';
	s = strdup(buf);
	if (s == NULL)
		abort();
	return s;
}

/* Add one table-driven test. */
static void
add_test(size_t *n, const char *name, CMUnitTestFunction fn, const void *arg)
{
	tests[*n].name = name;
	tests[*n].test_func = fn;
	tests[*n].setup_func = NULL;
	tests[*n].teardown_func = NULL;
	tests[*n].initial_state = (void *) arg;
	(*n)++;
}

/* Run every acl_match.c test: one per table row, then the named ones. */
int
main(void)
{
	size_t		n = 0;
	size_t		i;

	for (i = 0; i < N_DECIDE; i++)
		add_test(&n, case_name("decide: %s", decide_cases[i].name),
				 decide_case, &decide_cases[i]);
	for (i = 0; i < N_MATCH; i++)
		add_test(&n, case_name("match: \"%s\" %s \"%s\"", match_cases[i].pattern,
							   match_cases[i].matches ? "matches" : "does not match",
							   match_cases[i].host),
				 match_case, &match_cases[i]);
	for (i = 0; i < N_ORDER; i++)
		add_test(&n, case_name("order: for \"%s\", \"%s\" beats \"%s\"",
							   order_cases[i].host, order_cases[i].better,
							   order_cases[i].worse),
				 order_case, &order_cases[i]);
	for (i = 0; i < N_PATTERN; i++)
		add_test(&n, case_name("pattern: \"%s\" is %s", pattern_cases[i].pattern,
							   pattern_cases[i].valid ? "valid" : "invalid"),
				 pattern_case, &pattern_cases[i]);
	for (i = 0; i < N_NAMED; i++)
		tests[n++] = named_tests[i];

	return _cmocka_run_group_tests("acl_match", tests, n, NULL, NULL);
}
