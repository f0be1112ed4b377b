/* Storage commands: placeholder until the store module lands (issue 3). */
#include <stdio.h>

#include "cli/cli.h"

#define STORE_PENDING(name)                                                                  \
	int cmd_##name(int argc, char **argv)                                                \
	{                                                                                    \
		(void)argc;                                                                  \
		(void)argv;                                                                  \
		fprintf(stderr, "dropfix " #name ": the storage layer is not built yet\n"); \
		return 1;                                                                    \
	}                                                                                    \
	void cmd_##name##_help(FILE *out)                                                    \
	{                                                                                    \
		fprintf(out, "usage: dropfix " #name "\n");                                \
	}
STORE_PENDING(backup)
STORE_PENDING(restore)
