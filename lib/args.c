#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "args.h"
#include "log.h"
#include "version.h"

void
args_version(const char *prog)
{
	printf("%s %s\n", prog, SNAPTUN_VERSION);
	exit(0);
}

void
args_log_level(const char *s)
{
	int level;

	if ((level = log_level_parse(s)) < 0)
		fatalx("--log-level \"%s\": expected error, warn, info or debug", s);
	log_set_level((enum log_level)level);
}

void
args_log_format(const char *s)
{
	int f;

	if ((f = log_format_parse(s)) < 0)
		fatalx("--log-format \"%s\": expected text or json", s);
	log_set_format((enum log_format)f);
}

void
args_end(const char *prog, int argc, char **argv, void (*usage)(FILE *))
{
	if (optind == argc)
		return;
	fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
	usage(stderr);
	exit(2);
}

void
args_tls(const char *cert, const char *key)
{
	if ((cert == NULL) != (key == NULL))
		fatalx("--tls-cert and --tls-key go together");
}

double
args_number(const char *flag, const char *s, double min, double max)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= min && v <= max))
		fatalx("%s \"%s\": expected a number from %g to %g", flag, s, min, max);
	return v;
}

uint64_t
args_uint(const char *flag, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	/* strtoull would take a sign or leading spaces ("-1" is 2^64 - 1): a digit first */
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < min || v > max)
		fatalx("%s \"%s\": expected a whole number from %llu to %llu", flag, s,
		    (unsigned long long)min, (unsigned long long)max);
	return v;
}
