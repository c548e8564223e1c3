/*-------------------------------------------------------------------------
 *
 * acl.c
 *	  The host allow-list check: read smtp_mail.host_acl as the extension
 *	  owner (PUBLIC cannot read it), test role membership and dates for the
 *	  calling user, and let acl_match.c decide.  Default deny, for every
 *	  role, superusers included; runs before any DNS lookup.
 *
 *-------------------------------------------------------------------------
 */
#include "smtp_mail.h"

#include "acl_match.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(smtp_mail_host_pattern_valid);

/* Rows for the decision; principal and dates evaluated for "user". */
static const char *const acl_query =
"SELECT a.host, a.lower_port, a.upper_port,"
"       CASE WHEN pg_catalog.lower(a.principal) OPERATOR(pg_catalog.=) 'public' THEN true"
"            WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r"
"                             WHERE r.rolname OPERATOR(pg_catalog.=) a.principal) THEN false"
"            ELSE pg_catalog.pg_has_role($1, a.principal, 'USAGE') END,"
"       (a.start_date IS NULL OR a.start_date OPERATOR(pg_catalog.<=) pg_catalog.now()) AND"
"       (a.end_date IS NULL OR a.end_date OPERATOR(pg_catalog.>) pg_catalog.now())"
"  FROM smtp_mail.host_acl a";

/* Both queries, planned once per backend (the plan cache replans them). */
static SPIPlanPtr owner_plan = NULL;
static SPIPlanPtr acl_plan = NULL;

/* Prepare and keep a plan on first use. */
static SPIPlanPtr
saved_plan(SPIPlanPtr *plan, const char *query, int nargs, Oid *argtypes)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(query, nargs, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = p;
	}
	return *plan;
}

/* The role that owns the extension. */
static Oid
extension_owner(void)
{
	bool		isnull;
	Datum		d;
	SPIPlanPtr	plan = saved_plan(&owner_plan,
								  "SELECT extowner FROM pg_catalog.pg_extension"
								  " WHERE extname OPERATOR(pg_catalog.=) 'smtp_mail'",
								  0, NULL);

	if (SPI_execute_plan(plan, NULL, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension smtp_mail is not installed in this database")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetObjectId(d);
}

/* Fetch the ACL rows as the extension owner, tests done for user. */
static SmtpAclRow *
fetch_rows(Oid user, int *nrows)
{
	Oid			owner;
	Oid			save_user;
	int			save_sec;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	SmtpAclRow *rows;
	uint64		i;
	int			save_nestlevel;

	/*
	 * The query runs as the (superuser) owner: no name in it may resolve
	 * to an object the caller planted in its search_path.  Everything is
	 * qualified, and the path is pinned as well.
	 */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	owner = extension_owner();
	args[0] = ObjectIdGetDatum(user);
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		if (SPI_execute_plan(saved_plan(&acl_plan, acl_query, 1, argtypes),
							 args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read smtp_mail.host_acl");
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
	AtEOXact_GUC(false, save_nestlevel);

	rows = palloc0(sizeof(SmtpAclRow) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		v;

		rows[i].host = SPI_getvalue(t, d, 1);
		v = SPI_getbinval(t, d, 2, &isnull);
		rows[i].lower_port = isnull ? -1 : DatumGetInt32(v);
		v = SPI_getbinval(t, d, 3, &isnull);
		rows[i].upper_port = isnull ? -1 : DatumGetInt32(v);
		v = SPI_getbinval(t, d, 4, &isnull);
		rows[i].principal_ok = !isnull && DatumGetBool(v);
		v = SPI_getbinval(t, d, 5, &isnull);
		rows[i].date_ok = !isnull && DatumGetBool(v);
	}
	*nrows = (int) SPI_processed;
	return rows;
}

/* Quote a string as an SQL literal for the hint. */
static char *
literal(const char *s)
{
	return quote_literal_cstr(s);
}

/*
 * Raise 42501 unless the current user may reach host:port.  Called by
 * open_connection and server_certificates before any DNS lookup.
 */
void
smtp_acl_check(const char *host, int port)
{
	Oid			user = GetUserId();
	char	   *user_name = GetUserNameFromId(user, false);
	MemoryContext caller = CurrentMemoryContext;
	SmtpAclRow *rows;
	int			nrows;
	int			deciding;
	bool		granted;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rows = fetch_rows(user, &nrows);
	granted = smtp_acl_decide(rows, nrows, host, port, &deciding);
	SPI_finish();
	MemoryContextSwitchTo(caller);

	if (!granted)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not connect to SMTP host \"%s\" port %d",
						user_name, host, port),
				 deciding > 0
				 ? errdetail("The most specific entries of smtp_mail.host_acl for this host and port do not name a role \"%s\" has the privileges of, or are outside their dates.", user_name)
				 : errdetail("No entry of smtp_mail.host_acl matches this host and port (the list denies by default, superusers included)."),
				 errhint("A superuser can allow it with: INSERT INTO smtp_mail.host_acl (host, lower_port, upper_port, principal) VALUES (%s, %d, %d, %s);",
						 literal(host), port, port, literal(user_name))));
}

/*
 * smtp_mail.host_pattern_valid(text) RETURNS boolean: the CHECK on
 * host_acl.host, so bad patterns are refused when inserted.
 */
Datum
smtp_mail_host_pattern_valid(PG_FUNCTION_ARGS)
{
	char	   *p = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_BOOL(smtp_acl_pattern_valid(p));
}
