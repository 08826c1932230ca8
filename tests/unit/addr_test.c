/* Prefixes and the pool-relative address index. */
#include <string.h>

#include "../../lib/addr.h"
#include "check.h"

static int
parse(const char *s, struct prefix *p, const char **why)
{
	static char whybuf[96];

	return prefix_parse(s, p, whybuf, sizeof(whybuf), why);
}

static void
test_parse(void)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
	    {"10.0.0.0", "missing /length"},
	    {"10.0.0.0/33", "length over 32"},
	    {"2001:db8::/129", "length over 128"},
	    {"10.0.0.1/24", "host bits are set (the network is 10.0.0.0/24)"},
	    {"2001:db8::1/64", "host bits are set (the network is 2001:db8::/64)"},
	    {"10.0.0/24", "not an IPv4 or IPv6 address before the /"},
	    {"10.0.0.0/", "length must be a decimal number"},
	    {"10.0.0.0/024", "length must be a decimal number"},
	    {"10.0.0.0/-1", "length must be a decimal number"},
	    {"10.0.0.0/24x", "length must be a decimal number"},
	};
	struct prefix p;
	char buf[PREFIX_STRLEN];
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rv = parse(bad[i].in, &p, &why);
		CHECK(rv < 0 && why != NULL && strcmp(why, bad[i].why) == 0,
		    "refuse \"%s\": %s (got %s)", bad[i].in, bad[i].why, why ? why : "success");
	}
	CHECK(parse("2001:DB8:0::/64", &p, &why) == 0, "parse an IPv6 /64");
	prefix_format(&p, buf);
	CHECK(strcmp(buf, "2001:db8::/64") == 0, "format it canonically (%s)", buf);
	CHECK(
	    parse("0.0.0.0/0", &p, &why) == 0 && prefix_host_bits(&p) == 32, "/0 has 32 host bits");
}

static void
test_usable_and_index(void)
{
	struct prefix p;
	struct addr a;
	const char *why;
	char buf[ADDR_STRLEN];
	uint64_t first, last, idx;

	parse("10.0.0.0/24", &p, &why);
	prefix_usable(&p, &first, &last);
	CHECK(first == 1 && last == 254, "an IPv4 /24 leaves out network and broadcast");
	parse("10.0.0.0/31", &p, &why);
	prefix_usable(&p, &first, &last);
	CHECK(first == 0 && last == 1, "an IPv4 /31 uses both addresses (RFC 3021)");
	parse("10.0.0.7/32", &p, &why);
	prefix_usable(&p, &first, &last);
	CHECK(first == 0 && last == 0, "an IPv4 /32 is one address");
	parse("2001:db8::/64", &p, &why);
	prefix_usable(&p, &first, &last);
	CHECK(first == 1 && last == UINT64_MAX, "an IPv6 /64 leaves out the anycast index 0");
	prefix_addr_at(&p, UINT64_MAX, &a);
	addr_format(&a, buf);
	CHECK(strcmp(buf, "2001:db8::ffff:ffff:ffff:ffff") == 0, "top index of a /64 (%s)", buf);
	CHECK(prefix_index_of(&p, &a, &idx) == 0 && idx == UINT64_MAX, "and back to its index");
	addr_parse("2001:db8:0:1::5", &a);
	CHECK(prefix_index_of(&p, &a, &idx) < 0, "an address outside the /64 has no index");
	addr_parse("10.0.0.5", &a);
	CHECK(prefix_index_of(&p, &a, &idx) < 0, "an IPv4 address has no index in an IPv6 prefix");
	parse("192.168.4.0/22", &p, &why);
	addr_parse("192.168.6.9", &a);
	CHECK(prefix_index_of(&p, &a, &idx) == 0 && idx == 2 * 256 + 9, "index inside a /22");
	prefix_addr_at(&p, 1023, &a);
	addr_format(&a, buf);
	CHECK(strcmp(buf, "192.168.7.255") == 0, "address at the last index of a /22 (%s)", buf);
}

static void
test_overlap(void)
{
	struct prefix a, b;
	const char *why;

	parse("10.0.0.0/8", &a, &why);
	parse("10.1.0.0/16", &b, &why);
	CHECK(prefix_overlap(&a, &b) && prefix_overlap(&b, &a), "a /16 inside a /8 overlaps");
	parse("11.0.0.0/8", &b, &why);
	CHECK(!prefix_overlap(&a, &b), "neighbouring /8s do not overlap");
	parse("::/0", &b, &why);
	CHECK(!prefix_overlap(&a, &b), "IPv4 and IPv6 never overlap");
}

static void
test_contains(void)
{
	struct prefix p;
	struct addr a;
	const char *why;

	parse("10.9.0.0/22", &p, &why);
	addr_parse("10.9.3.255", &a);
	CHECK(prefix_contains(&p, &a), "10.9.3.255 in 10.9.0.0/22");
	addr_parse("10.9.4.0", &a);
	CHECK(!prefix_contains(&p, &a), "10.9.4.0 not in 10.9.0.0/22 (the partial byte)");
	addr_parse("::a09:1", &a);
	CHECK(!prefix_contains(&p, &a), "an IPv6 address with the same bytes is not");
	parse("2001:db8::/32", &p, &why);
	addr_parse("2001:db8:ffff::1", &a);
	CHECK(prefix_contains(&p, &a), "2001:db8:ffff::1 in 2001:db8::/32");
	parse("::/0", &p, &why);
	CHECK(prefix_contains(&p, &a), "::/0 holds every IPv6 address");
}

/* Pools of special-use space are refused; private, shared and documentation space is not. */
static void
test_special_use(void)
{
	static const char *const refused[] = {"::1/128", "ff02::/64", "::ffff:10.0.0.0/120",
	    "::/128", "fe80::/64", "fec0::/64", "127.0.0.0/24", "169.254.1.0/24", "224.0.0.0/24",
	    "255.255.255.255/32", "0.0.0.0/24", "120.0.0.0/5"};
	static const char *const allowed[] = {"10.0.0.0/8", "100.64.0.0/10", "192.168.0.0/16",
	    "192.0.2.0/24", "2001:db8::/64", "fd00::/64", "2a00:1::/64", "64:ff9b::/96"};
	struct prefix p;
	const char *why;
	int bad = 0;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		parse(refused[i], &p, &why);
		if (prefix_special_use(&p) == NULL ||
		    strncmp(prefix_special_use(&p), "overlaps ", 9))
			bad++, check_report(1, __FILE__, __LINE__, "", "  %s passed", refused[i]);
	}
	CHECK(bad == 0,
	    "loopback, multicast, link-local, site-local, v4-mapped, unspecified, "
	    "this-network and reserved space (and a prefix covering some) is refused");
	bad = 0;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		parse(allowed[i], &p, &why);
		if (prefix_special_use(&p) != NULL)
			bad++, check_report(1, __FILE__, __LINE__, "", "  %s refused", allowed[i]);
	}
	CHECK(bad == 0, "private, shared, documentation, ULA, global and NAT64 space is not");
}

int
main(void)
{
	test_parse();
	test_usable_and_index();
	test_overlap();
	test_contains();
	test_special_use();
	return check_done();
}
