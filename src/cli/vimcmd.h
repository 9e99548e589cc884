/*
 * vim-cmd's output (vimcmd_print.c): each command's result as the
 * reference prints it, and the fault dump of a refused operation.
 */
#ifndef VMK_CLI_VIMCMD_H
#define VMK_CLI_VIMCMD_H

#include <stdio.h>

#include <jansson.h>

#include "cmdtable.h"

/* Prints c's result (nothing for the commands that print nothing). */
void vimcmd_print(FILE *f, const struct cmd *c, json_t *result);

/* "OP failed: (vim.fault.TYPE) { ... msg = "..." }" from vmkd's error
 * message (op: "Power on", used when the message names none). */
void vimcmd_print_fault(FILE *f, const char *op, const char *message);

#endif
