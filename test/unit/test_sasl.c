/*-------------------------------------------------------------------------
 *
 * test_sasl.c
 *	  cmocka unit tests for src/sasl.c: mechanism choice (Oracle's rule),
 *	  base64 and the PLAIN, XOAUTH2 and CRAM-MD5 client messages.
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "sasl.h"

#include "bytes_check.h"

#define ALL_OFFERED \
	(SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5 | SMTP_AUTH_XOAUTH2)

/*
 * Mechanism choice
 */

/* Result of one smtp_sasl_choose() call. */
typedef struct Choice
{
	SmtpSaslChoice status;
	uint32_t	mech;
	const char *bad;
	size_t		badlen;
} Choice;

/* Call smtp_sasl_choose() with poisoned outputs and collect the results. */
static Choice
choose(const char *schemes, bool caps_known, uint32_t offered,
	   bool encrypted, bool allow_cleartext)
{
	Choice		c;

	c.mech = 0xdeadbeef;
	c.bad = "poison";
	c.badlen = 77;
	c.status = smtp_sasl_choose(schemes, caps_known, offered, encrypted,
								allow_cleartext, &c.mech, &c.bad, &c.badlen);
	if (c.status != SMTP_SASL_UNSUPPORTED)
	{
		assert_null(c.bad);
		assert_int_equal(c.badlen, 0);
	}
	if (c.status != SMTP_SASL_CHOSEN)
		assert_int_equal(c.mech, 0);
	return c;
}

/* The first listed scheme the server offers is chosen. */
static void
choose_first_listed_offered_scheme_wins(void **state)
{
	Choice		c;

	(void) state;
	c = choose("CRAM-MD5 PLAIN LOGIN", true, ALL_OFFERED, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_CRAM_MD5);
}

/* The caller's order decides, not the server's. */
static void
choose_follows_the_callers_order_not_the_servers(void **state)
{
	Choice		c;

	(void) state;
	c = choose("LOGIN PLAIN", true, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN,
			   true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_LOGIN);
}

/* Listed schemes the server does not offer are skipped. */
static void
choose_skips_listed_schemes_the_server_did_not_offer(void **state)
{
	Choice		c;

	(void) state;
	c = choose("CRAM-MD5 PLAIN LOGIN", true, SMTP_AUTH_LOGIN, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_LOGIN);
}

/* Without EHLO the first listed scheme is chosen. */
static void
choose_without_ehlo_takes_first_listed(void **state)
{
	Choice		c;

	(void) state;
	c = choose("LOGIN CRAM-MD5", false, 0, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_LOGIN);
}

/* Without EHLO the offered mask is ignored. */
static void
choose_without_ehlo_ignores_the_offered_mask(void **state)
{
	Choice		c;

	(void) state;
	c = choose("CRAM-MD5 PLAIN", false, SMTP_AUTH_PLAIN, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_CRAM_MD5);
}

/* Without EHLO cleartext schemes are still refused on plain text. */
static void
choose_without_ehlo_still_refuses_cleartext(void **state)
{
	Choice		c;

	(void) state;
	c = choose("PLAIN LOGIN", false, 0, false, false);
	assert_int_equal(c.status, SMTP_SASL_CLEARTEXT_REFUSED);
	c = choose("PLAIN CRAM-MD5", false, 0, false, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_CRAM_MD5);
}

/* NULL schemes means SMTP_ALL_SCHEMES. */
static void
choose_null_schemes_means_all_schemes(void **state)
{
	Choice		c;

	(void) state;
	c = choose(NULL, true, ALL_OFFERED, false, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_CRAM_MD5);
	c = choose(NULL, true, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_PLAIN);
	c = choose(NULL, false, 0, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_CRAM_MD5);
}

/* NULL schemes and only PLAIN/LOGIN offered, unencrypted: refused. */
static void
choose_null_schemes_refuses_cleartext_only_server_on_plain_connection(void **state)
{
	Choice		c;

	(void) state;
	c = choose(NULL, true, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN, false, false);
	assert_int_equal(c.status, SMTP_SASL_CLEARTEXT_REFUSED);
}

/* An unknown scheme is reported and pointed at. */
static void
choose_unsupported_scheme_is_named(void **state)
{
	const char *schemes = "NTLM LOGIN";
	Choice		c;

	(void) state;
	c = choose(schemes, true, ALL_OFFERED, true, false);
	assert_int_equal(c.status, SMTP_SASL_UNSUPPORTED);
	assert_ptr_equal(c.bad, schemes);
	assert_int_equal(c.badlen, 4);
}

/* An unknown scheme anywhere in the list fails the call. */
static void
choose_unsupported_scheme_after_a_usable_one_still_fails(void **state)
{
	const char *schemes = "LOGIN, GSSAPI";
	Choice		c;

	(void) state;
	c = choose(schemes, true, ALL_OFFERED, true, false);
	assert_int_equal(c.status, SMTP_SASL_UNSUPPORTED);
	assert_ptr_equal(c.bad, schemes + 7);
	assert_int_equal(c.badlen, 6);
}

/* Known but unimplemented schemes are unsupported. */
static void
choose_known_but_unimplemented_scheme_is_unsupported(void **state)
{
	Choice		c;

	(void) state;
	c = choose("OAUTHBEARER", true, SMTP_AUTH_OAUTHBEARER, true, false);
	assert_int_equal(c.status, SMTP_SASL_UNSUPPORTED);
	assert_int_equal(c.badlen, 11);
	c = choose("CRAM-MD5 SCRAM-SHA-256", true, ALL_OFFERED, true, false);
	assert_int_equal(c.status, SMTP_SASL_UNSUPPORTED);
	assert_bytes_equal(c.bad, c.badlen, LIT("SCRAM-SHA-256"));
}

/* Unknown schemes are reported without EHLO too. */
static void
choose_unsupported_scheme_is_reported_without_ehlo(void **state)
{
	Choice		c;

	(void) state;
	c = choose("XOAUTH DIGEST-MD5", false, 0, true, true);
	assert_int_equal(c.status, SMTP_SASL_UNSUPPORTED);
	assert_bytes_equal(c.bad, c.badlen, LIT("XOAUTH"));
}

/* PLAIN and LOGIN are refused without TLS or the flag. */
static void
choose_cleartext_refused_on_plain_connection(void **state)
{
	Choice		c;

	(void) state;
	c = choose("PLAIN LOGIN", true, ALL_OFFERED, false, false);
	assert_int_equal(c.status, SMTP_SASL_CLEARTEXT_REFUSED);
}

/* allow_cleartext permits PLAIN without TLS. */
static void
choose_cleartext_allowed_with_flag(void **state)
{
	Choice		c;

	(void) state;
	c = choose("PLAIN LOGIN", true, ALL_OFFERED, false, true);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_PLAIN);
}

/* TLS permits cleartext schemes. */
static void
choose_cleartext_allowed_with_tls(void **state)
{
	Choice		c;

	(void) state;
	c = choose("LOGIN PLAIN", true, ALL_OFFERED, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_LOGIN);
}

/* XOAUTH2 is treated as cleartext. */
static void
choose_xoauth2_counts_as_cleartext(void **state)
{
	Choice		c;

	(void) state;
	c = choose("XOAUTH2", true, SMTP_AUTH_XOAUTH2, false, false);
	assert_int_equal(c.status, SMTP_SASL_CLEARTEXT_REFUSED);
	c = choose("XOAUTH2", true, SMTP_AUTH_XOAUTH2, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_XOAUTH2);
}

/* CRAM-MD5 needs no TLS. */
static void
choose_cram_md5_is_allowed_on_plain_connection(void **state)
{
	Choice		c;

	(void) state;
	c = choose(SMTP_NON_CLEARTEXT_SCHEMES, true, ALL_OFFERED, false, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_CRAM_MD5);
}

/* Refused cleartext schemes are skipped for a later CRAM-MD5. */
static void
choose_skips_refused_cleartext_for_a_later_cram_md5(void **state)
{
	Choice		c;

	(void) state;
	c = choose("PLAIN LOGIN CRAM-MD5", true, ALL_OFFERED, false, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_CRAM_MD5);
}

/* Nothing listed and offered gives NONE_USABLE. */
static void
choose_nothing_offered_is_none_usable(void **state)
{
	Choice		c;

	(void) state;
	c = choose("CRAM-MD5 PLAIN LOGIN", true, 0, true, false);
	assert_int_equal(c.status, SMTP_SASL_NONE_USABLE);
	c = choose("CRAM-MD5", true, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN, false, true);
	assert_int_equal(c.status, SMTP_SASL_NONE_USABLE);
}

/* Offered but refused cleartext gives CLEARTEXT_REFUSED. */
static void
choose_offered_cleartext_on_plain_connection_is_refused_not_none(void **state)
{
	Choice		c;

	(void) state;
	c = choose("PLAIN CRAM-MD5", true, SMTP_AUTH_PLAIN, false, false);
	assert_int_equal(c.status, SMTP_SASL_CLEARTEXT_REFUSED);
}

/* Cleartext that was not offered gives NONE_USABLE. */
static void
choose_unoffered_cleartext_is_not_reported_as_refused(void **state)
{
	Choice		c;

	(void) state;
	c = choose("PLAIN CRAM-MD5", true, SMTP_AUTH_LOGIN, false, false);
	assert_int_equal(c.status, SMTP_SASL_NONE_USABLE);
}

/* Commas (with or without spaces) separate schemes. */
static void
choose_accepts_comma_separated_list(void **state)
{
	Choice		c;

	(void) state;
	c = choose("PLAIN,LOGIN", true, SMTP_AUTH_LOGIN, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_LOGIN);
	c = choose(" ,CRAM-MD5 , ,PLAIN,, ", true, SMTP_AUTH_PLAIN, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_PLAIN);
}

/* Tabs separate schemes. */
static void
choose_accepts_tab_separated_list(void **state)
{
	Choice		c;

	(void) state;
	c = choose("CRAM-MD5\tLOGIN", true, SMTP_AUTH_LOGIN, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_LOGIN);
}

/* Scheme names are matched in any case. */
static void
choose_scheme_names_are_case_insensitive(void **state)
{
	Choice		c;

	(void) state;
	c = choose("cram-md5 plain", true, SMTP_AUTH_PLAIN, true, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_PLAIN);
}

/* An empty or separator-only list gives NONE_USABLE. */
static void
choose_empty_scheme_list_is_none_usable(void **state)
{
	Choice		c;

	(void) state;
	c = choose("", true, ALL_OFFERED, true, true);
	assert_int_equal(c.status, SMTP_SASL_NONE_USABLE);
	c = choose(" , ,\t", false, 0, true, true);
	assert_int_equal(c.status, SMTP_SASL_NONE_USABLE);
}

/* Oracle's ALL_SCHEMES and NON_CLEARTEXT lists are usable. */
static void
oracle_scheme_constants_are_all_implemented(void **state)
{
	Choice		c;

	(void) state;
	c = choose(SMTP_ALL_SCHEMES, false, 0, true, true);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	c = choose(SMTP_NON_CLEARTEXT_SCHEMES, false, 0, false, false);
	assert_int_equal(c.status, SMTP_SASL_CHOSEN);
	assert_int_equal(c.mech, SMTP_AUTH_CRAM_MD5);
}

/* PLAIN, LOGIN and XOAUTH2 are cleartext; CRAM-MD5 is not. */
static void
cleartext_mechanisms_are_plain_login_and_xoauth2(void **state)
{
	(void) state;
	assert_true(smtp_sasl_is_cleartext(SMTP_AUTH_PLAIN));
	assert_true(smtp_sasl_is_cleartext(SMTP_AUTH_LOGIN));
	assert_true(smtp_sasl_is_cleartext(SMTP_AUTH_XOAUTH2));
	assert_false(smtp_sasl_is_cleartext(SMTP_AUTH_CRAM_MD5));
	assert_false(smtp_sasl_is_cleartext(0));
}

/* The implemented mask is PLAIN, LOGIN, CRAM-MD5 and XOAUTH2. */
static void
implemented_mechanisms_are_the_four_we_build(void **state)
{
	(void) state;
	assert_int_equal(smtp_sasl_implemented, ALL_OFFERED);
}


/*
 * Base64
 */

/* Encode in[0..len) into a guarded buffer of exactly the advertised size. */
static void
check_encode(const char *in, size_t len, const char *want)
{
	size_t		size = SMTP_B64_ENCODED_SIZE(len);
	char	   *out = malloc(size + 16);
	size_t		n;

	assert_non_null(out);
	memset(out, GUARD, size + 16);
	n = smtp_base64_encode((const unsigned char *) in, len, out);
	assert_bytes_equal(out, n, want, strlen(want));
	assert_int_equal(out[n], '\0');
	assert_true(n + 1 <= size);
	assert_true(guard_intact(out + size, 16));
	free(out);
}

/*
 * Decode a NUL-terminated string into a guarded buffer of exactly the
 * advertised size; returns the status and leaves the bytes in out.
 */
static bool
decode(const char *in, unsigned char *out, size_t *outlen)
{
	size_t		len = strlen(in);
	size_t		size = SMTP_B64_DECODED_SIZE(len);
	bool		ok;

	assert_true(size + 16 <= 256);
	memset(out, GUARD, 256);
	ok = smtp_base64_decode(in, len, out, outlen);
	assert_true(guard_intact(out + size, 16));
	return ok;
}

/* Decode in and expect success with want[0..wantlen). */
static void
check_decode(const char *in, const char *want, size_t wantlen)
{
	unsigned char out[256];
	size_t		n = 99;

	if (!decode(in, out, &n))
	{
		print_escaped("input", in, strlen(in));
		fail_msg("smtp_base64_decode rejected valid input");
	}
	assert_bytes_equal(out, n, want, wantlen);
}

/* Decode in and expect it to be refused. */
static void
check_decode_rejects(const char *in)
{
	unsigned char out[256];
	size_t		n = 99;

	if (decode(in, out, &n))
	{
		print_escaped("input", in, strlen(in));
		print_escaped("decoded to", (const char *) out, n);
		fail_msg("smtp_base64_decode accepted invalid input");
	}
}

/* Encoding matches the RFC 4648 section 10 vectors. */
static void
base64_encodes_rfc4648_vectors(void **state)
{
	(void) state;
	check_encode(LIT(""), "");
	check_encode(LIT("f"), "Zg==");
	check_encode(LIT("fo"), "Zm8=");
	check_encode(LIT("foo"), "Zm9v");
	check_encode(LIT("foob"), "Zm9vYg==");
	check_encode(LIT("fooba"), "Zm9vYmE=");
	check_encode(LIT("foobar"), "Zm9vYmFy");
}

/* Decoding matches the RFC 4648 section 10 vectors. */
static void
base64_decodes_rfc4648_vectors(void **state)
{
	(void) state;
	check_decode("", LIT(""));
	check_decode("Zg==", LIT("f"));
	check_decode("Zm8=", LIT("fo"));
	check_decode("Zm9v", LIT("foo"));
	check_decode("Zm9vYg==", LIT("foob"));
	check_decode("Zm9vYmE=", LIT("fooba"));
	check_decode("Zm9vYmFy", LIT("foobar"));
}

/* '+', '/' and zero bytes decode correctly. */
static void
base64_decodes_binary_with_plus_and_slash(void **state)
{
	(void) state;
	check_decode("+/8A", LIT("\xfb\xff\x00"));
	check_decode("AAAA", LIT("\0\0\0"));
}

/* Encode then decode gives back every length 0..300. */
static void
base64_round_trips_every_length_and_byte(void **state)
{
	unsigned char in[300];
	char		enc[SMTP_B64_ENCODED_SIZE(300)];
	unsigned char dec[SMTP_B64_DECODED_SIZE(sizeof(enc))];
	size_t		len;
	size_t		i;

	(void) state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char) (i * 7 + 3);
	for (len = 0; len <= sizeof(in); len++)
	{
		size_t		elen = smtp_base64_encode(in, len, enc);
		size_t		dlen = 99;

		assert_int_equal(elen, 4 * ((len + 2) / 3));
		assert_int_equal(strlen(enc), elen);
		assert_true(smtp_base64_decode(enc, elen, dec, &dlen));
		assert_bytes_equal(dec, dlen, in, len);
	}
}

/* A length that is not a multiple of 4 is refused. */
static void
base64_decode_rejects_length_not_multiple_of_four(void **state)
{
	(void) state;
	check_decode_rejects("Q");
	check_decode_rejects("QQ");
	check_decode_rejects("QQ=");
	check_decode_rejects("QUJDR");
	check_decode_rejects("Zm9vYg=");
}

/* Characters outside the alphabet are refused. */
static void
base64_decode_rejects_characters_outside_the_alphabet(void **state)
{
	(void) state;
	check_decode_rejects("QQ!=");
	check_decode_rejects("Q*==");
	check_decode_rejects("QU\x80" "D");
	check_decode_rejects("Zm9v_-==");
}

/* Whitespace inside the data is refused. */
static void
base64_decode_rejects_embedded_whitespace(void **state)
{
	(void) state;
	check_decode_rejects("QU D");
	check_decode_rejects("Zm\r\nYmFy");
}

/* Padding followed by more groups is refused (fails today). */
static void
base64_decode_rejects_padding_in_the_middle(void **state)
{
	(void) state;
	check_decode_rejects("QQ==QQ==");
}

/* Data after '=' in the last group is refused (fails today). */
static void
base64_decode_rejects_data_after_padding(void **state)
{
	(void) state;
	check_decode_rejects("QQ=A");
}

/* A group of mostly padding is refused (fails today). */
static void
base64_decode_rejects_only_padding(void **state)
{
	(void) state;
	check_decode_rejects("====");
	check_decode_rejects("A===");
}

/* Leading whitespace is refused (fails today). */
static void
base64_decode_rejects_leading_whitespace(void **state)
{
	(void) state;
	check_decode_rejects("    QQ==");
}

/* Trailing whitespace is refused (fails today: wrong length). */
static void
base64_decode_rejects_trailing_whitespace_after_padding(void **state)
{
	(void) state;
	/* currently accepted as 3 bytes "A\0\0" instead of being refused */
	check_decode_rejects("QQ==    ");
	check_decode_rejects("QQ==\r\n\r\n");
}


/*
 * Client messages
 */

/* PLAIN message and base64 match RFC 4616's example. */
static void
sasl_plain_message_matches_rfc4616_example(void **state)
{
	char		raw[64];
	char		b64[SMTP_B64_ENCODED_SIZE(sizeof(raw))];
	size_t		n;

	(void) state;
	n = smtp_sasl_plain_message(raw, sizeof(raw), LIT("tim"),
								LIT("tanstaaftanstaaf"));
	assert_bytes_equal(raw, n, LIT("\0tim\0tanstaaftanstaaf"));
	n = smtp_base64_encode((const unsigned char *) raw, n, b64);
	assert_bytes_equal(b64, n, LIT("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"));
}

/* The PLAIN message fits in exactly user + pass + 2 bytes. */
static void
sasl_plain_message_fits_exactly(void **state)
{
	char		raw[9 + 16];
	size_t		n;

	(void) state;
	memset(raw, GUARD, sizeof(raw));
	n = smtp_sasl_plain_message(raw, 9, LIT("bob"), LIT("pass"));
	assert_bytes_equal(raw, n, LIT("\0bob\0pass"));
	assert_true(guard_intact(raw + 9, 16));
}

/* One byte short, PLAIN returns 0 and writes nothing. */
static void
sasl_plain_message_without_room_returns_zero(void **state)
{
	char		raw[8 + 16];

	(void) state;
	memset(raw, GUARD, sizeof(raw));
	assert_int_equal(smtp_sasl_plain_message(raw, 8, LIT("bob"), LIT("pass")),
					 0);
	assert_true(guard_intact(raw, sizeof(raw)));
}

/* Empty user and password give two NULs. */
static void
sasl_plain_message_with_empty_user_and_password(void **state)
{
	char		raw[2];
	size_t		n;

	(void) state;
	n = smtp_sasl_plain_message(raw, sizeof(raw), "", 0, "", 0);
	assert_bytes_equal(raw, n, LIT("\0\0"));
}

/* XOAUTH2 message and base64 match Google's documented example. */
static void
sasl_xoauth2_message_matches_google_example(void **state)
{
	static const char token[] = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
	char		raw[128];
	char		b64[SMTP_B64_ENCODED_SIZE(sizeof(raw))];
	size_t		n;

	(void) state;
	n = smtp_sasl_xoauth2_message(raw, sizeof(raw), LIT("someuser@example.com"),
								  LIT(token));
	assert_bytes_equal(raw, n,
					   LIT("user=someuser@example.com\001auth=Bearer "
						   "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
						   "\001\001"));
	n = smtp_base64_encode((const unsigned char *) raw, n, b64);
	assert_bytes_equal(b64, n,
					   LIT("dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJl"
						   "ciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1s"
						   "emRHRXVZMjl0Q2cBAQ=="));
}

/* XOAUTH2 fits exactly, and returns 0 one byte short. */
static void
sasl_xoauth2_message_fits_exactly_or_returns_zero(void **state)
{
	/* "user=" u "\1auth=Bearer " t "\1\1" */
	size_t		need = 5 + 1 + 13 + 1 + 2;
	char		raw[64];
	size_t		n;

	(void) state;
	memset(raw, GUARD, sizeof(raw));
	assert_int_equal(smtp_sasl_xoauth2_message(raw, need - 1, LIT("u"), LIT("t")),
					 0);
	assert_true(guard_intact(raw, sizeof(raw)));
	n = smtp_sasl_xoauth2_message(raw, need, LIT("u"), LIT("t"));
	assert_bytes_equal(raw, n, LIT("user=u\001auth=Bearer t\001\001"));
	assert_true(guard_intact(raw + need, sizeof(raw) - need));
}

/* CRAM-MD5 answers RFC 2195's example challenge correctly. */
static void
sasl_cram_md5_matches_rfc2195_example(void **state)
{
	static const char challenge64[] =
		"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
	unsigned char challenge[SMTP_B64_DECODED_SIZE(sizeof(challenge64))];
	size_t		clen;
	char		raw[64];
	char		b64[SMTP_B64_ENCODED_SIZE(sizeof(raw))];
	size_t		n;

	(void) state;
	assert_true(smtp_base64_decode(LIT(challenge64), challenge, &clen));
	assert_bytes_equal(challenge, clen,
					   LIT("<1896.697170952@postoffice.reston.mci.net>"));
	n = smtp_sasl_cram_md5_message(raw, sizeof(raw), LIT("tim"),
								   LIT("tanstaaftanstaaf"), challenge, clen);
	assert_bytes_equal(raw, n, LIT("tim b913a602c7eda7a495b4e6e7334d3890"));
	n = smtp_base64_encode((const unsigned char *) raw, n, b64);
	assert_bytes_equal(b64, n,
					   LIT("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"));
}

/* A password over 64 bytes is hashed first, as HMAC requires. */
static void
sasl_cram_md5_hashes_a_password_longer_than_the_block(void **state)
{
	char		pass[100];
	char		raw[64];
	size_t		n;

	(void) state;
	memset(pass, 'k', sizeof(pass));
	n = smtp_sasl_cram_md5_message(raw, sizeof(raw), LIT("u"),
								   pass, sizeof(pass),
								   (const unsigned char *) "challenge", 9);
	assert_bytes_equal(raw, n, LIT("u 9a45e89e9dd2afa1cb2c161d0eda73b1"));
}

/* An empty password is an empty HMAC key. */
static void
sasl_cram_md5_accepts_empty_password(void **state)
{
	char		raw[64];
	size_t		n;

	(void) state;
	n = smtp_sasl_cram_md5_message(raw, sizeof(raw), LIT("u"), "", 0,
								   (const unsigned char *) "x", 1);
	assert_bytes_equal(raw, n, LIT("u 5a470ef74cd7af75c375be99c6ef771f"));
}

/* CRAM-MD5 fits exactly, and returns 0 one byte short. */
static void
sasl_cram_md5_fits_exactly_or_returns_zero(void **state)
{
	size_t		need = 3 + 1 + 32;
	char		raw[64];
	size_t		n;

	(void) state;
	memset(raw, GUARD, sizeof(raw));
	assert_int_equal(smtp_sasl_cram_md5_message(raw, need - 1, LIT("tim"),
												LIT("p"),
												(const unsigned char *) "c", 1),
					 0);
	assert_true(guard_intact(raw, sizeof(raw)));
	n = smtp_sasl_cram_md5_message(raw, need, LIT("tim"), LIT("p"),
								   (const unsigned char *) "c", 1);
	assert_int_equal(n, need);
	assert_true(guard_intact(raw + need, sizeof(raw) - need));
}


/* Run every sasl.c test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* mechanism choice */
		cmocka_unit_test(choose_first_listed_offered_scheme_wins),
		cmocka_unit_test(choose_follows_the_callers_order_not_the_servers),
		cmocka_unit_test(choose_skips_listed_schemes_the_server_did_not_offer),
		cmocka_unit_test(choose_without_ehlo_takes_first_listed),
		cmocka_unit_test(choose_without_ehlo_ignores_the_offered_mask),
		cmocka_unit_test(choose_without_ehlo_still_refuses_cleartext),
		cmocka_unit_test(choose_null_schemes_means_all_schemes),
		cmocka_unit_test(choose_null_schemes_refuses_cleartext_only_server_on_plain_connection),
		cmocka_unit_test(choose_unsupported_scheme_is_named),
		cmocka_unit_test(choose_unsupported_scheme_after_a_usable_one_still_fails),
		cmocka_unit_test(choose_known_but_unimplemented_scheme_is_unsupported),
		cmocka_unit_test(choose_unsupported_scheme_is_reported_without_ehlo),
		cmocka_unit_test(choose_cleartext_refused_on_plain_connection),
		cmocka_unit_test(choose_cleartext_allowed_with_flag),
		cmocka_unit_test(choose_cleartext_allowed_with_tls),
		cmocka_unit_test(choose_xoauth2_counts_as_cleartext),
		cmocka_unit_test(choose_cram_md5_is_allowed_on_plain_connection),
		cmocka_unit_test(choose_skips_refused_cleartext_for_a_later_cram_md5),
		cmocka_unit_test(choose_nothing_offered_is_none_usable),
		cmocka_unit_test(choose_offered_cleartext_on_plain_connection_is_refused_not_none),
		cmocka_unit_test(choose_unoffered_cleartext_is_not_reported_as_refused),
		cmocka_unit_test(choose_accepts_comma_separated_list),
		cmocka_unit_test(choose_accepts_tab_separated_list),
		cmocka_unit_test(choose_scheme_names_are_case_insensitive),
		cmocka_unit_test(choose_empty_scheme_list_is_none_usable),
		cmocka_unit_test(oracle_scheme_constants_are_all_implemented),
		cmocka_unit_test(cleartext_mechanisms_are_plain_login_and_xoauth2),
		cmocka_unit_test(implemented_mechanisms_are_the_four_we_build),

		/* base64 */
		cmocka_unit_test(base64_encodes_rfc4648_vectors),
		cmocka_unit_test(base64_decodes_rfc4648_vectors),
		cmocka_unit_test(base64_decodes_binary_with_plus_and_slash),
		cmocka_unit_test(base64_round_trips_every_length_and_byte),
		cmocka_unit_test(base64_decode_rejects_length_not_multiple_of_four),
		cmocka_unit_test(base64_decode_rejects_characters_outside_the_alphabet),
		cmocka_unit_test(base64_decode_rejects_embedded_whitespace),
		cmocka_unit_test(base64_decode_rejects_padding_in_the_middle),
		cmocka_unit_test(base64_decode_rejects_data_after_padding),
		cmocka_unit_test(base64_decode_rejects_only_padding),
		cmocka_unit_test(base64_decode_rejects_leading_whitespace),
		cmocka_unit_test(base64_decode_rejects_trailing_whitespace_after_padding),

		/* client messages */
		cmocka_unit_test(sasl_plain_message_matches_rfc4616_example),
		cmocka_unit_test(sasl_plain_message_fits_exactly),
		cmocka_unit_test(sasl_plain_message_without_room_returns_zero),
		cmocka_unit_test(sasl_plain_message_with_empty_user_and_password),
		cmocka_unit_test(sasl_xoauth2_message_matches_google_example),
		cmocka_unit_test(sasl_xoauth2_message_fits_exactly_or_returns_zero),
		cmocka_unit_test(sasl_cram_md5_matches_rfc2195_example),
		cmocka_unit_test(sasl_cram_md5_hashes_a_password_longer_than_the_block),
		cmocka_unit_test(sasl_cram_md5_accepts_empty_password),
		cmocka_unit_test(sasl_cram_md5_fits_exactly_or_returns_zero),
	};

	return cmocka_run_group_tests_name("sasl", tests, NULL, NULL);
}
