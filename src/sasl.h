/*-------------------------------------------------------------------------
 *
 * sasl.h
 *	  AUTH mechanisms for SMTP: choosing one (Oracle's rule) and building the
 *	  client responses for PLAIN, LOGIN, CRAM-MD5 and XOAUTH2.  libc and
 *	  OpenSSL's crypto only: no PostgreSQL, no sockets.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SMTP_SASL_H
#define SMTP_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What Oracle's UTL_SMTP.ALL_SCHEMES and NON_CLEARTEXT_PASSWORD_SCHEMES say. */
#define SMTP_ALL_SCHEMES			"CRAM-MD5 PLAIN LOGIN"
#define SMTP_NON_CLEARTEXT_SCHEMES	"CRAM-MD5"

/* Mechanisms this client implements (SMTP_AUTH_* bits from proto.h). */
extern const uint32_t smtp_sasl_implemented;

typedef enum SmtpSaslChoice
{
	SMTP_SASL_CHOSEN = 0,
	SMTP_SASL_UNSUPPORTED,		/* a listed scheme is not implemented */
	SMTP_SASL_NONE_USABLE,		/* nothing both implemented and offered */
	SMTP_SASL_CLEARTEXT_REFUSED /* only cleartext ones, and no TLS */
} SmtpSaslChoice;

/*
 * Pick the mechanism for AUTH.  schemes is a space- or comma-separated list
 * (NULL means SMTP_ALL_SCHEMES); the first listed scheme the server offered
 * wins, or the first listed one if caps_known is false.  Cleartext schemes
 * are skipped unless encrypted or allow_cleartext.  On
 * SMTP_SASL_UNSUPPORTED, *bad and *badlen name the offending scheme.
 */
extern SmtpSaslChoice smtp_sasl_choose(const char *schemes, bool caps_known,
									   uint32_t offered, bool encrypted,
									   bool allow_cleartext, uint32_t *mech,
									   const char **bad, size_t *badlen);
extern bool smtp_sasl_is_cleartext(uint32_t mech);

/* Base64 (RFC 4648, with padding).  Sizes include room for a NUL. */
#define SMTP_B64_ENCODED_SIZE(n)	(4 * (((n) + 2) / 3) + 1)
#define SMTP_B64_DECODED_SIZE(n)	(3 * (((n) + 3) / 4) + 1)

extern size_t smtp_base64_encode(const unsigned char *in, size_t len,
								 char *out);
extern bool smtp_base64_decode(const char *in, size_t len,
							   unsigned char *out, size_t *outlen);

/* Raw (not yet base64) client messages; return length, 0 if no room. */
extern size_t smtp_sasl_plain_message(char *out, size_t outsize,
									  const char *user, size_t userlen,
									  const char *pass, size_t passlen);
extern size_t smtp_sasl_xoauth2_message(char *out, size_t outsize,
										const char *user, size_t userlen,
										const char *token, size_t tokenlen);
extern size_t smtp_sasl_cram_md5_message(char *out, size_t outsize,
										 const char *user, size_t userlen,
										 const char *pass, size_t passlen,
										 const unsigned char *challenge,
										 size_t challengelen);

#endif							/* SMTP_SASL_H */
