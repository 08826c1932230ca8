#include <getopt.h>
#include <stdlib.h>

#include "args.h"
#include "log.h"

void
args_log_level(const char *s)
{
	int level;

	if ((level = log_level_parse(s)) < 0)
		fatalx("--log-level \"%s\": expected error, warn, info or debug", s);
	log_set_level((enum log_level)level);
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
