/* SCION ISD-AS identifiers: ISD in the top 16 bits, AS in the low 48 (proto/README.md §1.3). */
#ifndef LIB_ISDAS_H
#define LIB_ISDAS_H

#include <stdint.h>

#define ISDAS_STRLEN 32
#define ISDAS_ISD(ia) ((uint16_t)((ia) >> 48))
#define ISDAS_AS(ia) ((ia)&0xffffffffffffULL)

/* Parse "1-ff00:0:110" or "1-64512" (decimal AS only below 2^32). Zero parts are accepted here;
 * callers that need a concrete ISD-AS check ISDAS_ISD/ISDAS_AS. Returns 0 or -1 with a
 * reason for the user in *why. */
int isdas_parse(const char *s, uint64_t *ia, const char **why);

/* Canonical text form into buf (ISDAS_STRLEN bytes). */
void isdas_format(uint64_t ia, char *buf);

#endif
