#include "http/error_page.h"

#include <microhttpd.h>

#include "http/views.h"

int error_page_render(int status, const char *code, const char *message, struct buf *out)
{
	(void)code;
	const struct tmpl_set *set = views();
	if (!set)
		return -1; /* templates not loaded (unit tests): the caller answers JSON */
	const char *title = MHD_get_reason_phrase_for((unsigned)status);
	return tmpl_render_error_page(set, status, title && *title ? title : "Error", message, out);
}
