/* What the programs' parse_options share: a bad value is fatal (fatalx, naming the flag and
 * quoting the value); a stray operand prints the usage and exits 2. */
#ifndef LIB_ARGS_H
#define LIB_ARGS_H

#include <stdint.h>
#include <stdio.h>

/* --log-level s: set the log level from s (error, warn, info, debug), or fatal. */
void args_log_level(const char *s);

/* --log-format s: text or json (lib/log.h), or fatal. */
void args_log_format(const char *s);

/* flag's value s as a number from min to max (decimal, fractions and exponents allowed), or
 * fatal: `--enroll-rate "x": expected a number from 0.0001 to 1e+06`. */
double args_number(const char *flag, const char *s, double min, double max);

/* flag's value s as a whole decimal number from min to max (no sign, no spaces), or fatal:
 * `--max-conns "0": expected a whole number from 1 to 1000000`. Exact up to 2^64 - 1, which
 * a double is not. */
uint64_t args_uint(const char *flag, const char *s, uint64_t min, uint64_t max);

/* --version: print "prog SNAPTUN_VERSION" on stdout and exit 0. */
void args_version(const char *prog) __attribute__((noreturn));

/* After getopt_long: exit 2 with prog's complaint and usage(stderr) if an operand is left. */
void args_end(const char *prog, int argc, char **argv, void (*usage)(FILE *));

/* --tls-cert and --tls-key: both or neither (NULL when not given), or fatal. */
void args_tls(const char *cert, const char *key);

#endif
