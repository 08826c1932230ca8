/* What the programs' parse_options share: a bad value is fatal (fatalx, naming the flag and
 * quoting the value); a stray operand prints the usage and exits 2. */
#ifndef LIB_ARGS_H
#define LIB_ARGS_H

#include <stdio.h>

/* --log-level s: set the log level from s (error, warn, info, debug), or fatal. */
void args_log_level(const char *s);

/* After getopt_long: exit 2 with prog's complaint and usage(stderr) if an operand is left. */
void args_end(const char *prog, int argc, char **argv, void (*usage)(FILE *));

/* --tls-cert and --tls-key: both or neither (NULL when not given), or fatal. */
void args_tls(const char *cert, const char *key);

#endif
