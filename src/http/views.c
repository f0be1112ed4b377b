#include "http/views.h"

static struct tmpl_set *view_set;

int views_init(char *err, size_t errlen)
{
	if (view_set)
		return 0;
	return tmpl_set_load_embedded(&view_set, err, errlen);
}

const struct tmpl_set *views(void)
{
	return view_set;
}

void views_free(void)
{
	tmpl_set_free(view_set);
	view_set = NULL;
}
