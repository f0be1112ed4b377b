#include "web/permissions.h"

#include <string.h>

#include "auth/guard.h"

#define PERM_ROW_(name, id, role, desc) {PERM_##name, (id), (role), (desc)},
const struct perm_entry perm_table[] = {PERM_TABLE(PERM_ROW_)};
#undef PERM_ROW_
const size_t perm_count = sizeof(perm_table) / sizeof(perm_table[0]);

int perm_allows(enum role r, enum perm p)
{
	if ((size_t)p >= perm_count || r <= ROLE_NONE || r > ROLE_OWNER)
		return 0;
	return r >= perm_table[p].min_role;
}

const struct perm_entry *perm_find(const char *id)
{
	for (size_t i = 0; i < perm_count; i++)
		if (strcmp(perm_table[i].id, id) == 0)
			return &perm_table[i];
	return NULL;
}

int perm_render_markdown(struct buf *out)
{
	static const enum role roles[] = {ROLE_OWNER, ROLE_ADMIN, ROLE_MEMBER, ROLE_VIEWER};
	buf_puts(out, "| Action | Least role | Owner | Admin | Member | Viewer | What it allows |\n");
	buf_puts(out, "|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < perm_count; i++) {
		const struct perm_entry *e = &perm_table[i];
		buf_printf(out, "| `%s` | %s |", e->id, guard_role_name(e->min_role));
		for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
			buf_puts(out, perm_allows(roles[r], e->perm) ? " yes |" : " no |");
		buf_printf(out, " %s |\n", e->description);
	}
	return out->oom ? -1 : 0;
}
