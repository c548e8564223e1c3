/*-------------------------------------------------------------------------
 *
 * wallet.c
 *	  Wallets: where trust anchors (and a client identity) come from.
 *	  'system:' is the OS CA store; a directory may hold certificate files
 *	  (*.pem *.crt *.cer *.der, PEM or DER, one or many certificates each)
 *	  and/or ewallet.p12.  Loaded wallets are cached per backend, keyed by
 *	  canonical path, the files' modification times and sizes, and a digest
 *	  of the password: a renewed certificate is seen at the next
 *	  connection, and an unchanged wallet costs only stat() calls.
 *
 *-------------------------------------------------------------------------
 */
#include "smtp_mail.h"

#include <limits.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>

#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#define WALLET_SESSIONS 8

struct SmtpWallet
{
	char	   *path;			/* canonical directory, or "system:" */
	char	   *signature;		/* names, mtimes and sizes of its files */
	unsigned char pw_digest[32];
	X509_STORE *store;
	STACK_OF(X509) *certs;		/* every certificate, for diagnostics */
	char	  **sources;		/* file each certificate came from */
	X509	   *client_cert;
	EVP_PKEY   *client_key;
	STACK_OF(X509) *client_chain;
	SSL_CTX    *ctx;
	int			ctx_min_version;
	/* TLS sessions for resumption, by "host:port/name"; round robin. */
	char		session_keys[WALLET_SESSIONS][SMTP_SESSION_KEY_SIZE];
	SSL_SESSION *sessions[WALLET_SESSIONS];
	int			next_session;
	int			refcount;		/* connections using it, +1 while cached */
	bool		cached;
	struct SmtpWallet *next;
};

static SmtpWallet *wallet_cache = NULL;

/* PKCS#12 files are parsed in a library context that also has "legacy". */
static OSSL_LIB_CTX *p12_libctx = NULL;

/* Drop every cached TLS session (they belong to the SSL_CTX). */
static void
forget_sessions(SmtpWallet *w)
{
	int			i;

	for (i = 0; i < WALLET_SESSIONS; i++)
	{
		if (w->sessions[i] != NULL)
			SSL_SESSION_free(w->sessions[i]);
		w->sessions[i] = NULL;
		w->session_keys[i][0] = '\0';
	}
}

/*
 * A resumable session from an earlier verified handshake with the same
 * host, port and verified name, or NULL.  Borrowed: SSL_set_session takes
 * its own reference.
 */
SSL_SESSION *
smtp_wallet_session(SmtpWallet *wallet, const char *key)
{
	int			i;

	for (i = 0; i < WALLET_SESSIONS; i++)
		if (wallet->sessions[i] != NULL &&
			strcmp(wallet->session_keys[i], key) == 0)
			return SSL_SESSION_is_resumable(wallet->sessions[i]) ?
				wallet->sessions[i] : NULL;
	return NULL;
}

/*
 * Keep a session for resumption, replacing the one for the same key (or
 * the oldest).  Takes ownership.  Called from inside OpenSSL, so it must
 * not raise: no palloc here.
 */
bool
smtp_wallet_keep_session(SmtpWallet *wallet, const char *key,
						 SSL_SESSION *session)
{
	int			slot = -1;
	int			i;

	for (i = 0; i < WALLET_SESSIONS && slot < 0; i++)
		if (strcmp(wallet->session_keys[i], key) == 0)
			slot = i;
	if (slot < 0)
	{
		slot = wallet->next_session;
		wallet->next_session = (slot + 1) % WALLET_SESSIONS;
	}
	if (wallet->sessions[slot] != NULL)
		SSL_SESSION_free(wallet->sessions[slot]);
	wallet->sessions[slot] = session;
	strlcpy(wallet->session_keys[slot], key, SMTP_SESSION_KEY_SIZE);
	return true;
}

/* Free a wallet and every OpenSSL object it owns. */
static void
wallet_free(SmtpWallet *w)
{
	int			i;

	forget_sessions(w);
	if (w->ctx)
		SSL_CTX_free(w->ctx);
	if (w->store)
		X509_STORE_free(w->store);
	if (w->certs)
		sk_X509_pop_free(w->certs, X509_free);
	if (w->client_cert)
		X509_free(w->client_cert);
	if (w->client_key)
		EVP_PKEY_free(w->client_key);
	if (w->client_chain)
		sk_X509_pop_free(w->client_chain, X509_free);
	if (w->sources)
	{
		for (i = 0; w->sources[i] != NULL; i++)
			pfree(w->sources[i]);
		pfree(w->sources);
	}
	if (w->path)
		pfree(w->path);
	if (w->signature)
		pfree(w->signature);
	pfree(w);
}

/* Drop one reference; the last one frees the wallet. */
void
smtp_wallet_release(SmtpWallet *wallet)
{
	if (--wallet->refcount <= 0)
		wallet_free(wallet);
}

/* The wallet's name for messages. */
const char *
smtp_wallet_name(const SmtpWallet *wallet)
{
	return wallet->path;
}

/* The trust anchors. */
X509_STORE *
smtp_wallet_store(const SmtpWallet *wallet)
{
	return wallet->store;
}

/* The client certificate and key from ewallet.p12, if any. */
bool
smtp_wallet_client_identity(const SmtpWallet *wallet, X509 **cert,
							EVP_PKEY **key, STACK_OF(X509) **chain)
{
	*cert = wallet->client_cert;
	*key = wallet->client_key;
	*chain = wallet->client_chain;
	return wallet->client_cert != NULL && wallet->client_key != NULL;
}

/* The wallet's SSL_CTX for the current smtp_mail.tls_min_version. */
SSL_CTX *
smtp_wallet_ssl_ctx(SmtpWallet *wallet)
{
	if (wallet->ctx != NULL && wallet->ctx_min_version != smtp_tls_min_version)
	{
		forget_sessions(wallet);
		SSL_CTX_free(wallet->ctx);
		wallet->ctx = NULL;
	}
	if (wallet->ctx == NULL)
	{
		ERR_clear_error();
		wallet->ctx = smtp_tls_context(wallet);
		if (wallet->ctx == NULL)
		{
			char		reason[256];

			ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
			ERR_clear_error();
			ereport(ERROR,
					(errcode(ERRCODE_SMTP_WALLET),
					 errmsg("could not set up TLS with wallet \"%s\": %s",
							wallet->path, reason)));
		}
		wallet->ctx_min_version = smtp_tls_min_version;
	}
	return wallet->ctx;
}

/* Every certificate of the wallet with where it came from. */
int
smtp_wallet_certificates(const SmtpWallet *wallet, X509 ***certs,
						 const char ***sources, bool **has_key)
{
	int			n = wallet->certs ? sk_X509_num(wallet->certs) : 0;
	int			i;

	*certs = palloc(sizeof(X509 *) * (n + 1));
	*sources = palloc(sizeof(char *) * (n + 1));
	*has_key = palloc(sizeof(bool) * (n + 1));
	for (i = 0; i < n; i++)
	{
		X509	   *c = sk_X509_value(wallet->certs, i);

		(*certs)[i] = c;
		(*sources)[i] = wallet->sources[i];
		(*has_key)[i] = (wallet->client_cert != NULL && wallet->client_key != NULL &&
						 X509_cmp(c, wallet->client_cert) == 0);
	}
	return n;
}

/* Raise wallet_error (29759). */
static void
wallet_error(const char *path, const char *msg, const char *hint)
	pg_attribute_noreturn();

static void
wallet_error(const char *path, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_SMTP_WALLET),
			 errmsg("cannot open wallet \"%s\": %s", path, msg),
			 hint ? errhint("%s", hint) : 0));
}

/* True if path is inside (or is) one of the ':'-separated roots. */
static bool
path_under_roots(const char *path, const char *roots)
{
	char	   *copy = pstrdup(roots);
	char	   *tok;
	char	   *save = NULL;

	for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
	{
		char		root[PATH_MAX];
		size_t		n;

		if (realpath(tok, root) == NULL)
			strlcpy(root, tok, sizeof(root));
		n = strlen(root);
		while (n > 1 && root[n - 1] == '/')
			root[--n] = '\0';
		if (strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0'))
			return true;
	}
	return false;
}

/* Refuse a wallet outside smtp_mail.wallet_root for a non-superuser. */
static void
check_wallet_root(const char *given, const char *path)
{
	if (superuser())
		return;
	if (smtp_wallet_root == NULL || smtp_wallet_root[0] == '\0' ||
		!path_under_roots(path, smtp_wallet_root))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for wallet \"%s\"", given),
				 errdetail("Non-superusers may only use wallets under smtp_mail.wallet_root (currently \"%s\") or 'system:'.",
						   smtp_wallet_root ? smtp_wallet_root : ""),
				 errhint("A superuser can add the directory to smtp_mail.wallet_root.")));
}

/* Does the file name end in a certificate extension? */
static bool
is_cert_file(const char *name)
{
	static const char *const exts[] = {".pem", ".crt", ".cer", ".der"};
	size_t		len = strlen(name);
	int			i;

	for (i = 0; i < 4; i++)
		if (len > 4 && pg_strcasecmp(name + len - 4, exts[i]) == 0)
			return true;
	return false;
}

/* The files a wallet directory contributes, sorted, and its signature. */
typedef struct WalletListing
{
	List	   *cert_files;		/* full paths */
	char	   *p12;			/* ewallet.p12 path or NULL */
	bool		has_sso;
	char	   *signature;
} WalletListing;

/* Comparison for sorting file names. */
static int
cmp_names(const ListCell *a, const ListCell *b)
{
	return strcmp((char *) lfirst(a), (char *) lfirst(b));
}

/* List the directory and stat its files (no file is read). */
static WalletListing
list_wallet(const char *dir)
{
	WalletListing l = {NIL, NULL, false, NULL};
	StringInfoData sig;
	DIR		   *d;
	struct dirent *de;
	ListCell   *lc;
	struct stat st;

	d = AllocateDir(dir);
	if (d == NULL)
		wallet_error(dir, strerror(errno), NULL);
	while ((de = ReadDir(d, dir)) != NULL)
	{
		char	   *full;

		if (de->d_name[0] == '.')
			continue;
		full = psprintf("%s/%s", dir, de->d_name);
		if (strcmp(de->d_name, "ewallet.p12") == 0)
			l.p12 = full;
		else if (strcmp(de->d_name, "cwallet.sso") == 0)
			l.has_sso = true;
		else if (is_cert_file(de->d_name))
			l.cert_files = lappend(l.cert_files, full);
	}
	FreeDir(d);
	list_sort(l.cert_files, cmp_names);

	initStringInfo(&sig);
	foreach(lc, l.cert_files)
	{
		char	   *f = lfirst(lc);

		if (stat(f, &st) == 0)
			appendStringInfo(&sig, "%s:%ld.%09ld:%ld;", f, (long) st.st_mtim.tv_sec,
							 (long) st.st_mtim.tv_nsec, (long) st.st_size);
	}
	if (l.p12 && stat(l.p12, &st) == 0)
		appendStringInfo(&sig, "%s:%ld.%09ld:%ld;", l.p12, (long) st.st_mtim.tv_sec,
						 (long) st.st_mtim.tv_nsec, (long) st.st_size);
	l.signature = sig.data;
	return l;
}

/* Keep a certificate (and where it came from) for diagnostics; takes it. */
static bool
remember_cert(SmtpWallet *w, X509 *cert, const char *source, int *nsources)
{
	if (!sk_X509_push(w->certs, cert))
	{
		X509_free(cert);
		return false;
	}
	w->sources = repalloc(w->sources, sizeof(char *) * (*nsources + 2));
	w->sources[(*nsources)++] = MemoryContextStrdup(TopMemoryContext, source);
	w->sources[*nsources] = NULL;
	return true;
}

/* Add a certificate to the wallet as an anchor; takes ownership. */
static bool
add_cert(SmtpWallet *w, X509 *cert, const char *source, int *nsources)
{
	if (X509_STORE_add_cert(w->store, cert) != 1)
	{
		/* A duplicate is harmless; anything else is not. */
		unsigned long e = ERR_peek_last_error();

		if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE)
		{
			X509_free(cert);
			return false;
		}
		ERR_clear_error();
	}
	return remember_cert(w, cert, source, nsources);
}

/*
 * Load the certificates of one file, PEM (any number) or DER (one).
 * Returns NULL on success or a static error text.
 */
static const char *
load_cert_file(SmtpWallet *w, const char *file, int *nsources)
{
	BIO		   *bio = BIO_new_file(file, "rb");
	STACK_OF(X509_INFO) *infos;
	int			found = 0;
	int			i;

	if (bio == NULL)
		return "cannot read a certificate file";
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	for (i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++)
	{
		X509_INFO  *info = sk_X509_INFO_value(infos, i);

		if (info->x509 == NULL)
			continue;
		if (!add_cert(w, info->x509, file, nsources))
		{
			info->x509 = NULL;
			sk_X509_INFO_pop_free(infos, X509_INFO_free);
			BIO_free(bio);
			return "cannot add a certificate to the trust store";
		}
		info->x509 = NULL;
		found++;
	}
	if (infos != NULL)
		sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (found == 0)
	{
		X509	   *der;

		ERR_clear_error();
		(void) BIO_reset(bio);
		der = d2i_X509_bio(bio, NULL);
		if (der != NULL && add_cert(w, der, file, nsources))
			found++;
	}
	BIO_free(bio);
	ERR_clear_error();
	return found > 0 ? NULL : "a file holds no certificate in PEM or DER form";
}

/* The library context for PKCS#12: default plus legacy algorithms. */
static OSSL_LIB_CTX *
pkcs12_libctx(void)
{
	if (p12_libctx == NULL)
	{
		OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();

		if (ctx == NULL)
			return NULL;
		(void) OSSL_PROVIDER_load(ctx, "default");
		(void) OSSL_PROVIDER_load(ctx, "legacy");
		p12_libctx = ctx;
	}
	return p12_libctx;
}

/*
 * Load ewallet.p12: its certificates become anchors, its key and
 * certificate the client identity.  Legacy algorithms (RC2, 3DES) are
 * available only while parsing, in a library context of our own, so the
 * backend's default context never gains the legacy provider.
 */
static const char *
load_pkcs12(SmtpWallet *w, const char *file, const char *password,
			int *nsources)
{
	OSSL_LIB_CTX *libctx = pkcs12_libctx();
	OSSL_LIB_CTX *prev;
	BIO		   *bio;
	PKCS12	   *p12 = NULL;
	EVP_PKEY   *key = NULL;
	X509	   *cert = NULL;
	STACK_OF(X509) *ca = NULL;
	const char *err = NULL;
	const char *pass = password ? password : "";

	if (libctx == NULL)
		return "cannot create an OpenSSL library context";
	bio = BIO_new_file(file, "rb");
	if (bio == NULL)
		return "cannot read ewallet.p12";
	prev = OSSL_LIB_CTX_set0_default(libctx);
	p12 = d2i_PKCS12_bio(bio, NULL);
	if (p12 == NULL)
		err = "ewallet.p12 is not a PKCS#12 file";
	else if (PKCS12_mac_present(p12) && !PKCS12_verify_mac(p12, pass, -1))
		err = "wrong wallet password";
	else if (!PKCS12_parse(p12, pass, &key, &cert, &ca))
		err = "cannot decrypt ewallet.p12 (wrong password or unsupported algorithm)";
	OSSL_LIB_CTX_set0_default(prev);
	BIO_free(bio);
	if (p12 != NULL)
		PKCS12_free(p12);
	ERR_clear_error();
	if (err != NULL)
		return err;

	if (ca != NULL)
	{
		while (sk_X509_num(ca) > 0)
		{
			X509	   *c = sk_X509_shift(ca);

			if (w->client_chain == NULL)
				w->client_chain = sk_X509_new_null();
			if (w->client_chain != NULL && X509_up_ref(c))
				if (!sk_X509_push(w->client_chain, c))
					X509_free(c);
			if (!add_cert(w, c, file, nsources))
				err = "cannot add a certificate to the trust store";
		}
		sk_X509_free(ca);
	}
	if (cert != NULL)
	{
		if (X509_up_ref(cert) && !add_cert(w, cert, file, nsources))
			err = "cannot add a certificate to the trust store";
		w->client_cert = cert;
	}
	w->client_key = key;
	return err;
}

/* Record the system store's certificates for wallet_certificates(). */
static const char *
list_store(SmtpWallet *w, int *nsources)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(w->store);
	int			i;

	for (i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs); i++)
	{
		X509	   *c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

		if (c == NULL || !X509_up_ref(c))
			continue;
		if (!remember_cert(w, c, "system:", nsources))
			return "out of memory in OpenSSL";
	}
	return NULL;
}

/* Build a wallet from a directory listing (or the system store). */
static SmtpWallet *
wallet_load(const char *path, const WalletListing *l, const char *password)
{
	SmtpWallet *w = MemoryContextAllocZero(TopMemoryContext, sizeof(SmtpWallet));
	const char *err = NULL;
	int			nsources = 0;
	ListCell   *lc;

	w->path = MemoryContextStrdup(TopMemoryContext, path);
	w->signature = MemoryContextStrdup(TopMemoryContext, l ? l->signature : "");
	w->sources = MemoryContextAllocZero(TopMemoryContext, sizeof(char *));
	w->store = X509_STORE_new();
	w->certs = sk_X509_new_null();
	if (w->store == NULL || w->certs == NULL)
		err = "out of memory in OpenSSL";
	else if (l == NULL)
	{
		if (X509_STORE_set_default_paths(w->store) != 1)
			err = "cannot load the system CA store";
		else
			err = list_store(w, &nsources);
	}
	else
	{
		foreach(lc, l->cert_files)
		{
			if ((err = load_cert_file(w, lfirst(lc), &nsources)) != NULL)
				break;
		}
		if (err == NULL && l->p12 != NULL)
			err = load_pkcs12(w, l->p12, password, &nsources);
	}
	ERR_clear_error();
	if (err != NULL)
	{
		wallet_free(w);
		wallet_error(path, err, NULL);
	}
	return w;
}

/* SHA-256 of the password (the cache never keeps the password itself). */
static void
password_digest(const char *password, unsigned char *out)
{
	unsigned int len = 0;
	const char *p = password ? password : "";

	memset(out, 0, 32);
	(void) EVP_Digest(p, strlen(p), out, &len, EVP_sha256(), NULL);
	if (password == NULL)
		out[0] ^= 0x5a;			/* NULL and '' are different keys */
}

/* Strip the 'file:' prefix of a wallet path. */
static const char *
strip_file_prefix(const char *wallet_path)
{
	if (pg_strncasecmp(wallet_path, "file:", 5) == 0)
		return wallet_path + 5;
	return wallet_path;
}

/*
 * Open the wallet named by wallet_path (NULL = smtp_mail.default_wallet)
 * and take a reference to it; release it with smtp_wallet_release.
 */
SmtpWallet *
smtp_wallet_open(const char *wallet_path, const char *password)
{
	const char *given = wallet_path;
	char		canon[PATH_MAX];
	const char *dir;
	WalletListing listing;
	unsigned char digest[32];
	SmtpWallet *w;
	SmtpWallet **link;

	if (given == NULL)
		given = (smtp_default_wallet && smtp_default_wallet[0]) ?
			smtp_default_wallet : "system:";

	if (pg_strcasecmp(given, "system:") == 0)
	{
		strlcpy(canon, "system:", sizeof(canon));
		listing.signature = "";
	}
	else
	{
		dir = strip_file_prefix(given);
		if (dir[0] != '/')
			wallet_error(given, "the path must be absolute",
						 "Write 'file:/path/to/wallet', '/path/to/wallet' or 'system:'.");
		/* Check the path as written first, so a refusal reveals nothing. */
		if (wallet_path != NULL)
			check_wallet_root(given, dir);
		if (realpath(dir, canon) == NULL)
			wallet_error(given, strerror(errno), NULL);
		if (wallet_path != NULL)
			check_wallet_root(given, canon);
		listing = list_wallet(canon);
		if (listing.cert_files == NIL && listing.p12 == NULL)
		{
			if (listing.has_sso)
				wallet_error(given, "cwallet.sso (Oracle auto-login wallet) is a proprietary format",
							 "Export the certificates with Oracle's orapki (orapki wallet export) or openssl to PEM files or ewallet.p12 and put those in the directory.");
			wallet_error(given, "the directory holds no certificate (*.pem, *.crt, *.cer, *.der) and no ewallet.p12", NULL);
		}
	}

	password_digest(password, digest);
	for (link = &wallet_cache; *link != NULL; link = &(*link)->next)
	{
		w = *link;
		if (strcmp(w->path, canon) != 0)
			continue;
		if (strcmp(w->signature, listing.signature) == 0 &&
			memcmp(w->pw_digest, digest, 32) == 0)
		{
			w->refcount++;
			return w;
		}
		/* Files changed (or another password): drop the old entry. */
		*link = w->next;
		w->cached = false;
		smtp_wallet_release(w);
		break;
	}

	w = wallet_load(canon, strcmp(canon, "system:") == 0 ? NULL : &listing,
					password);
	memcpy(w->pw_digest, digest, 32);
	w->cached = true;
	w->refcount = 2;			/* the cache's and the caller's */
	w->next = wallet_cache;
	wallet_cache = w;
	return w;
}
