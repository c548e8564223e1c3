/*
 * swift_demangle_stub.c
 *	  Preloaded after the sanitizer runtime (see run.sh and README.md).
 *
 * Debian's postgres links libp11-kit (through libldap and GnuTLS), whose
 * constructor calls newlocale() before the preloaded sanitizer runtime has
 * run its own constructor.  newlocale's malloc() then initialises the
 * runtime, which looks up "swift_demangle" with dlsym(); the failed lookup
 * makes dlerror() translate its message with gettext inside newlocale, and
 * glibc's _nl_state_lock is left corrupted: the next bindtextdomain() in
 * postgres's main() blocks for ever.  When the symbol exists the lookup
 * succeeds, no error message is built, and start-up goes on.  The runtime
 * only calls it for names that start with "_T" (Swift), which C never has.
 */
#include <stddef.h>

char	   *swift_demangle(const char *mangled, size_t len, char *out,
						   size_t *outlen, unsigned flags);

/* Never demangles anything. */
char *
swift_demangle(const char *mangled, size_t len, char *out, size_t *outlen,
			   unsigned flags)
{
	(void) mangled;
	(void) len;
	(void) out;
	(void) outlen;
	(void) flags;
	return NULL;
}
