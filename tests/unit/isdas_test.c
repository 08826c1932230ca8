/* ISD-AS text form (proto/README.md §1.3): parse, canonical format, rejections. */
#include <string.h>

#include "../../lib/isdas.h"
#include "check.h"

static const struct {
	const char *in;
	uint64_t ia;
	const char *canonical;
} good[] = {
    {"1-ff00:0:110", 0x0001ff0000000110ULL, "1-ff00:0:110"},
    {"1-64512", 0x000100000000fc00ULL, "1-64512"},
    {"65535-ffff:ffff:ffff", 0xffffffffffffffffULL, "65535-ffff:ffff:ffff"},
    {"1-4294967295", 0x00010000ffffffffULL, "1-4294967295"},
    {"1-1:0:0", 0x0001000100000000ULL, "1-1:0:0"},
    {"1-0:0:1", 0x0001000000000001ULL, "1-1"}, /* small AS in hex form: decimal is canonical */
    {"2-FF00:0:0110", 0x0002ff0000000110ULL, "2-ff00:0:110"},
    {"0-0", 0, "0-0"},
};

static const char *const bad[] = {
    "",
    "1",
    "1-",
    "-1",
    "x-1",
    "1-x",
    "65536-1",
    "1-4294967296",
    "01-1",
    "1-01",
    "1-ff00:0",
    "1-ff00:0:110:1",
    "1-fffff:0:0",
    "1-:0:0",
    "1-ff00::110",
    "1--1",
    " 1-1",
    "1-1 ",
    "1-g:0:0",
    "99999999999999999999-1",
};

int
main(void)
{
	char buf[ISDAS_STRLEN];
	const char *why;
	uint64_t ia;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rv = isdas_parse(good[i].in, &ia, &why);
		CHECK(rv == 0 && ia == good[i].ia, "parse \"%s\"", good[i].in);
		isdas_format(good[i].ia, buf);
		CHECK(strcmp(buf, good[i].canonical) == 0, "format \"%s\" as \"%s\" (got \"%s\")",
		    good[i].in, good[i].canonical, buf);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rv = isdas_parse(bad[i], &ia, &why);
		CHECK(rv < 0 && why != NULL && why[0] != '\0', "refuse \"%s\" (%s)", bad[i],
		    why ? why : "no reason");
	}
	return check_done();
}
