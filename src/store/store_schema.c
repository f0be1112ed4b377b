/* The single list of global tables (ARCHITECTURE §8b "Tables"). Every table not named
 * here is a tenant table: workspace_id first in its primary, unique and foreign keys,
 * REFERENCES workspaces ON DELETE CASCADE, ENABLE + FORCE ROW LEVEL SECURITY on
 * PostgreSQL, reachable only through a workspace transaction. Adding a name here is a
 * security decision: say why in the commit. */
#include <strings.h>

#include "store/store.h"

const char *const store_global_tables[] = {
	"schema_migrations",   /* applied migrations */
	"installation_meta",   /* key/value: sealed key-check value, setup state */
	"workspace_ids",       /* every workspace id ever issued (never reused) */
	"workspaces",
	"accounts",
	"sessions",
	"memberships",
	"invites",             /* token tables: invite, reset, verify, API tokens by hash */
	"password_resets",
	"email_verifications",
	"api_tokens",
	"workspace_keys",      /* ingestion key hash -> workspace */
	"jobs",
	"install_audit",       /* installation audit log */
	NULL,
};

int store_is_global_table(const char *name, size_t n)
{
	for (int i = 0; store_global_tables[i]; i++) {
		const char *g = store_global_tables[i];
		size_t gn = 0;
		while (g[gn])
			gn++;
		if (gn == n && strncasecmp(g, name, n) == 0)
			return 1;
	}
	return 0;
}
