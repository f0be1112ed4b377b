/* The HTML error page for browsers. */
#ifndef DROPFIX_ERROR_PAGE_H
#define DROPFIX_ERROR_PAGE_H

#include "core/str.h"

/* Renders the error page for status/code/message into out. Returns 0 or -1. */
int error_page_render(int status, const char *code, const char *message, struct buf *out);

#endif
