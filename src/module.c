/*-------------------------------------------------------------------------
 *
 * module.c
 *	  Library entry point and the smtp_mail.* settings.
 *
 *-------------------------------------------------------------------------
 */
#include "smtp_mail.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

char	   *smtp_default_wallet = NULL;
char	   *smtp_wallet_root = NULL;
int			smtp_tls_min_version = TLS1_2_VERSION;
bool		smtp_allow_plaintext_auth = false;
int			smtp_connect_timeout = 30;
int			smtp_max_connections = 16;
bool		smtp_trace = false;

/* Only versions that are still safe: the setting cannot weaken TLS. */
static const struct config_enum_entry tls_version_options[] = {
	{"TLSv1.2", TLS1_2_VERSION, false},
	{"TLSv1.3", TLS1_3_VERSION, false},
	{NULL, 0, false}
};

void		_PG_init(void);

/* Define the smtp_mail.* settings. */
static void
define_settings(void)
{
	DefineCustomStringVariable("smtp_mail.default_wallet",
							   "Wallet used when open_connection is given no wallet_path.",
							   "'system:' is the operating system's CA store; otherwise 'file:/dir' or '/dir'.",
							   &smtp_default_wallet, "system:",
							   PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("smtp_mail.wallet_root",
							   "Directories (separated by ':') under which non-superusers may name wallets.",
							   "Empty means non-superusers may only use 'system:' and the default wallet.",
							   &smtp_wallet_root, "",
							   PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("smtp_mail.tls_min_version",
							 "Oldest TLS version accepted for SMTP connections.",
							 NULL,
							 &smtp_tls_min_version, TLS1_2_VERSION,
							 tls_version_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("smtp_mail.allow_plaintext_auth",
							 "Allow AUTH PLAIN, LOGIN and XOAUTH2 on unencrypted connections.",
							 NULL,
							 &smtp_allow_plaintext_auth, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("smtp_mail.connect_timeout",
							"Seconds allowed to connect and complete the TLS handshake.",
							NULL,
							&smtp_connect_timeout, 30, 1, 3600,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("smtp_mail.max_connections",
							"Open SMTP connections allowed in one backend.",
							NULL,
							&smtp_max_connections, 16, 1, 1000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("smtp_mail.trace",
							 "Log the SMTP dialogue at LOG level (AUTH payloads redacted).",
							 NULL,
							 &smtp_trace, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("smtp_mail");
}

/* Load-time initialisation: settings, then each subsystem. */
void
_PG_init(void)
{
	define_settings();
	smtp_conn_init();
}
