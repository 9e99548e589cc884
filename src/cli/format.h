/*
 * esxcli's output formatters: the default human shapes (table, struct,
 * list of structs, bare scalar) and --formatter=json|xml|csv|keyvalue.
 * All are driven by the command's declared output (cmdtable.h): field
 * order, display labels, internal names, types.
 */
#ifndef VMK_CLI_FORMAT_H
#define VMK_CLI_FORMAT_H

#include <stdio.h>

#include <jansson.h>

#include "cmdtable.h"

enum formatter { FMT_HUMAN, FMT_JSON, FMT_XML, FMT_CSV, FMT_KEYVALUE };

/* Parses a --formatter value; 0, or -1 if unknown. */
int format_parse(const char *name, enum formatter *out);
/* The names --formatter accepts, for messages. */
extern const char *format_names;

void format_print(FILE *f, const struct cmd *c, json_t *result, enum formatter fmt);

#endif
