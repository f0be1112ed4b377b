/* dropfix workspace token create|list|revoke: a workspace's API tokens from the host
 * (src/auth/api_token.h). `create` prints one JSON object with the token, the only time
 * it is shown; every change is in the workspace audit log (actor: cli). */
#ifndef DROPFIX_CMD_WORKSPACE_TOKEN_H
#define DROPFIX_CMD_WORKSPACE_TOKEN_H

#include <stdio.h>

/* Runs `dropfix workspace token …`: argv[0] is "token", argv[1] the subcommand.
 * Returns the exit status (0, 1 on failure, EXIT_USAGE on bad arguments). */
int cmd_workspace_token(int argc, char **argv);
/* Writes the usage text to out. */
void cmd_workspace_token_help(FILE *out);

#endif
