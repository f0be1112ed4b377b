#include <stdio.h>

#include "cli/cli.h"

void cmd_serve_help(FILE *out)
{
	fprintf(out, "usage: dropfix serve\n");
}

int cmd_serve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 1;
}
