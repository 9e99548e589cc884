/*
 * vim-cmd's commands, declared once (vimcmd_table.c) in the command
 * table's terms (cmdtable.h): a namespace ("vmsvc"), a verb
 * ("power.on"), the arguments in the order vim-cmd takes them on its
 * command line (each an option of the table: its long name is the
 * JSON-RPC param), and the result's fields.  The method is
 * "vmsvc.power.on", as for esxcli; vmkd may check a request's params
 * with cmdtable_validate() against this table.
 */
#ifndef VMK_VIMCMD_TABLE_H
#define VMK_VIMCMD_TABLE_H

#include "cmdtable.h"

extern const struct cmd_table vimcmd_table;

#endif
