/* The SCION packet codec (lib/scion.h): the golden packets of tests/data/scion decoded field by
 * field; packets built here; a mutation table that varies each header field of a valid uplink
 * packet, in every combination of IPv4 and IPv6 hosts, and asserts the verdict (code and
 * pointer) and the SCMP answer it gets; the answers' length cap, quote and checksum (recomputed
 * here without lib/csum); no answer about an SCMP error; the downlink's dispatch keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/be.h"
#include "../../lib/scion.h"
#include "check.h"

#define DATA_DIR "tests/data/scion" /* make test runs from the repository root */
#define PKT_MAX 2048
#define IA(isd, as) ((uint64_t)(isd) << 48 | (uint64_t)(as))

static struct addr
ip(const char *s)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (addr_parse(s, &a) != 0)
		abort();
	return a;
}

/* ---- an independent checksum ----
 * The SCION upper-layer checksum as the specification words it: the pseudo-header (DstIA,
 * SrcIA, DstHost, SrcHost, the upper layer's length in 32 bits, three zero bytes, the protocol)
 * laid out in a buffer of its own, then the message, then the ones' complement of the ones'
 * complement sum of all of it as 16-bit words, the carries added back once at the end. The
 * message's checksum field counts as zero. */
static uint16_t
ref_checksum(const uint8_t *pkt, size_t l4_off, size_t l4_len, uint8_t proto, size_t csum_off)
{
	static uint8_t buf[PKT_MAX + 64];
	size_t dl = 4 * (((size_t)pkt[9] >> 4 & 3) + 1), sl = 4 * (((size_t)pkt[9] & 3) + 1);
	size_t n = 0;
	uint64_t sum = 0;

	memcpy(buf + n, pkt + 12, 8); /* DstISD-AS */
	n += 8;
	memcpy(buf + n, pkt + 20, 8); /* SrcISD-AS */
	n += 8;
	memcpy(buf + n, pkt + 28, dl);
	n += dl;
	memcpy(buf + n, pkt + 28 + dl, sl);
	n += sl;
	be_put32(buf + n, (uint32_t)l4_len);
	n += 4;
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = proto;
	memcpy(buf + n, pkt + l4_off, l4_len);
	buf[n + csum_off] = buf[n + csum_off + 1] = 0;
	n += l4_len;
	buf[n] = 0; /* an odd length ends with a zero pad byte */
	for (size_t i = 0; i < n; i += 2)
		sum += (uint64_t)buf[i] * 256 + buf[i + 1];
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)(0xffff - sum);
}

/* ---- packets the test builds ---- */

/* An uplink or downlink packet: hosts (dst NULL: the service address CS), ISD-ASes, the path
 * (a standard path of seg[] hop fields when path_type is 1, else none), and the next header.
 * Info field i has the C flag when bit i of cflags is set; hop field k has ConsIngress 100 + k
 * and ConsEgress 200 + k, so the expected egress interface is easy to name. */
struct spec {
	const char *dst, *src;
	uint64_t dst_ia, src_ia;
	uint8_t path_type;
	unsigned seg[3];
	unsigned curr_inf, curr_hf;
	unsigned cflags;
	uint8_t next_hdr;
};

/* The packet of s with the plen payload bytes into p; its length. */
static size_t
build(uint8_t *p, const struct spec *s, const uint8_t *payload, size_t plen)
{
	struct addr d, a = ip(s->src);
	size_t off = 28, dlen = 4, slen = a.family == 4 ? 4 : 16;
	unsigned nseg = 0, nhops = 0, k;

	memset(p, 0, PKT_MAX);
	p[0] = 0x0b; /* version 0, traffic class 0xb8, flow ID 0xbeef */
	p[1] = 0x80;
	p[2] = 0xbe;
	p[3] = 0xef;
	p[4] = s->next_hdr;
	p[8] = s->path_type;
	be_put64(p + 12, s->dst_ia);
	be_put64(p + 20, s->src_ia);
	if (s->dst == NULL) {
		p[9] = 0x40; /* DT 1, DL 0: a service address */
		be_put16(p + off, 0x0002);
	} else {
		d = ip(s->dst);
		dlen = d.family == 4 ? 4 : 16;
		p[9] = d.family == 4 ? 0x00 : 0x30;
		memcpy(p + off, d.b, dlen);
	}
	off += dlen;
	p[9] |= a.family == 4 ? 0x0 : 0x3;
	memcpy(p + off, a.b, slen);
	off += slen;
	if (s->path_type == SCION_PATH_STANDARD) {
		uint32_t meta = (uint32_t)s->curr_inf << 30 | (uint32_t)s->curr_hf << 24 |
		    s->seg[0] << 12 | s->seg[1] << 6 | s->seg[2];

		for (k = 0; k < 3; k++) {
			nseg += s->seg[k] != 0;
			nhops += s->seg[k];
		}
		be_put32(p + off, meta);
		off += 4;
		for (k = 0; k < nseg; k++, off += 8) {
			p[off] = (uint8_t)(s->cflags >> k & 1);
			be_put16(p + off + 2, 0x1000 + k); /* SegID */
			be_put16(p + off + 6, 0x0100); /* timestamp */
		}
		for (k = 0; k < nhops; k++, off += 12) {
			p[off + 1] = 63;
			be_put16(p + off + 2, 100 + k);
			be_put16(p + off + 4, 200 + k);
			memset(p + off + 6, (int)k, 6);
		}
	}
	p[5] = (uint8_t)(off / 4);
	be_put16(p + 6, (unsigned)plen);
	memcpy(p + off, payload, plen);
	return off + plen;
}

/* A UDP datagram sport -> dport with data bytes counting up into u; its length. The checksum
 * is left 0: fill_checksum sets it once the packet is built. */
static size_t
udp(uint8_t *u, unsigned sport, unsigned dport, size_t data)
{
	be_put16(u, sport);
	be_put16(u + 2, dport);
	be_put16(u + 4, (unsigned)(8 + data));
	u[6] = u[7] = 0;
	for (size_t i = 0; i < data; i++)
		u[8 + i] = (uint8_t)i;
	return 8 + data;
}

/* Fill in the checksum of the packet's upper layer (at its HdrLen, no extension headers). */
static void
fill_checksum(uint8_t *p, size_t len)
{
	size_t off = (size_t)p[5] * 4;

	if (p[4] == SCION_PROTO_UDP)
		be_put16(p + off + 6, ref_checksum(p, off, len - off, SCION_PROTO_UDP, 6));
	else if (p[4] == SCION_PROTO_SCMP)
		be_put16(p + off + 2, ref_checksum(p, off, len - off, SCION_PROTO_SCMP, 2));
}

/* The golden packet tests/data/scion/name, checked to be want bytes long; NULL (a failed
 * check said why) when it cannot be read or has another length. */
static uint8_t *
golden(const char *name, size_t want)
{
	char path[256];
	uint8_t *buf = malloc(PKT_MAX);
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	if (buf != NULL && (f = fopen(path, "rb")) != NULL) {
		len = fread(buf, 1, PKT_MAX, f);
		fclose(f);
	}
	CHECK(len == want, "golden %s: %zu bytes (got %zu; run from the repository root)", path,
	    want, len);
	if (len != want) {
		free(buf);
		return NULL;
	}
	return buf;
}
/* ---- reading an SCMP answer back ---- */

/* Why the answer ans (n bytes) is not the Parameter Problem (code, pointer) about pkt (len
 * bytes) from (gw_ia, gw) to (tun_ia, tun); NULL when it is. */
static const char *
answer_wrong(const uint8_t *ans, size_t n, const uint8_t *pkt, size_t len, unsigned code,
    unsigned pointer, uint64_t gw_ia, const struct addr *gw, uint64_t tun_ia,
    const struct addr *tun)
{
	size_t dl = tun->family == 4 ? 4 : 16, sl = gw->family == 4 ? 4 : 16;
	size_t hdr = 12 + 16 + dl + sl, quote = len;

	if (hdr + 8 + quote > SCION_SCMP_MAX)
		quote = SCION_SCMP_MAX - hdr - 8;
	if (n != hdr + 8 + quote)
		return "length: not the whole packet quoted, or not cut to 1232 bytes";
	if (ans[0] >> 4 != 0 || (ans[0] & 0x0f) != (pkt[0] & 0x0f) || ans[1] != pkt[1] ||
	    ans[2] != pkt[2] || ans[3] != pkt[3])
		return "version 0 with the offending packet's traffic class and flow ID";
	if (ans[4] != 202 || (size_t)ans[5] * 4 != hdr || be_get16(ans + 6) != n - hdr)
		return "NextHdr 202, HdrLen, PayloadLen";
	if (ans[8] != SCION_PATH_EMPTY)
		return "an empty path";
	if (ans[9] != ((tun->family == 4 ? 0x0 : 0x3) << 4 | (gw->family == 4 ? 0x0 : 0x3)))
		return "DT/DL/ST/SL: IP hosts of the right lengths";
	if (be_get16(ans + 10) != 0)
		return "reserved bits 0";
	if (be_get64(ans + 12) != tun_ia || be_get64(ans + 20) != gw_ia)
		return "to the tunnel's ISD-AS, from the gateway's";
	if (memcmp(ans + 28, tun->b, dl) != 0 || memcmp(ans + 28 + dl, gw->b, sl) != 0)
		return "to the tunnel's host, from the gateway's";
	if (ans[hdr] != 4 || ans[hdr + 1] != code || be_get16(ans + hdr + 4) != 0 ||
	    be_get16(ans + hdr + 6) != pointer)
		return "SCMP type 4, the code, reserved 0, the pointer";
	if (memcmp(ans + hdr + 8, pkt, quote) != 0)
		return "the quote: the offending packet's first bytes";
	if (be_get16(ans + hdr + 2) != ref_checksum(ans, hdr, n - hdr, 202, 2))
		return "checksum (recomputed here)";
	if (scion_l4_checksum(ans, n, ans + hdr, n - hdr, 202) != 0)
		return "checksum (as scion_l4_checksum reads it)";
	return NULL;
}

/* ---- the golden packets ---- */

static void
test_golden(void)
{
	struct addr v6 = ip("2001:db8::68"), v4 = ip("10.0.0.100");
	uint64_t ia111 = IA(1, 0xff0000000111ULL), ia222 = IA(2, 0xff0000000222ULL);
	uint8_t out[SCION_SCMP_MAX];
	struct scion_hdr h;
	unsigned ptr = 99;
	uint16_t port;
	uint8_t *p;
	size_t len, n;
	int rv;

	if ((p = golden("scion-udp.bin", len = 1148)) == NULL)
		return;
	rv = scion_uplink_check(p, len, ia222, &v4, &h, &ptr);
	CHECK_EQ_INT(rv, 0, "scion-udp.bin passes the uplink checks as 2-ff00:0:222,10.0.0.100");
	CHECK_EQ_INT(ptr, 0, "scion-udp.bin: pointer 0 when valid");
	CHECK(h.next_hdr == SCION_PROTO_UDP && h.hdr_len == 116 && h.payload_len == 1032 &&
		h.path_type == SCION_PATH_STANDARD,
	    "scion-udp.bin: NextHdr UDP, header 116 bytes, payload 1032, standard path");
	CHECK(
	    h.dst_ia == ia111 && h.src_ia == ia222, "scion-udp.bin: 1-ff00:0:111 <- 2-ff00:0:222");
	CHECK(h.dst.family == 6 && memcmp(h.dst.b, v6.b, 16) == 0,
	    "scion-udp.bin: destination host 2001:db8::68");
	CHECK(h.src.family == 4 && memcmp(h.src.b, v4.b, 4) == 0,
	    "scion-udp.bin: source host 10.0.0.100");
	CHECK(h.src_host_off == 44 && h.path_off == 48 && h.path_len == 68,
	    "scion-udp.bin: source host at 44, path 48..116 (meta, 2 info, 4 hop fields)");
	CHECK(h.curr_inf == 0 && h.curr_hf == 0, "scion-udp.bin: CurrINF 0, CurrHF 0");
	CHECK_EQ_INT(h.egress_if, 1,
	    "scion-udp.bin: first info field without C: egress = hop field 0's ConsIngress (1)");
	CHECK_EQ_INT(scion_l4_checksum(p, len, p + 116, len - 116, SCION_PROTO_UDP), 0,
	    "scion-udp.bin: its UDP checksum verifies");
	CHECK_EQ_INT(be_get16(p + 116 + 6), ref_checksum(p, 116, len - 116, SCION_PROTO_UDP, 6),
	    "scion-udp.bin: and so it does by the independent routine");
	p[200] ^= 1;
	CHECK(scion_l4_checksum(p, len, p + 116, len - 116, SCION_PROTO_UDP) != 0,
	    "scion-udp.bin: a payload bit flipped fails the checksum");
	p[200] ^= 1;
	rv = scion_dispatch_key(p, len, &h, &port);
	CHECK(rv == SCION_DISPATCH_UDP && port == 80, "scion-udp.bin: downlink key UDP port 80");
	CHECK_EQ_INT(
	    scion_uplink_check(p, len, ia111, &v4, &h, &ptr), SCION_BAD_SRC_ADDR, "another IA: 33");
	CHECK_EQ_INT(ptr, 20, "another IA: pointer 20");
	n = scion_param_problem(p, len, SCION_BAD_SRC_ADDR, 20, ia111, &v6, ia222, &v4, out);
	CHECK(n == 48 + 8 + 1148 &&
		answer_wrong(out, n, p, len, 33, 20, ia111, &v6, ia222, &v4) == NULL,
	    "scion-udp.bin: its Parameter Problem quotes all 1148 bytes (1204 in all)");
	free(p);

	if ((p = golden("empty-udp.bin", len = 1080)) == NULL)
		return;
	rv = scion_uplink_check(p, len, ia111, &v4, &h, &ptr);
	CHECK(rv == SCION_UNKNOWN_PATH && ptr == 8,
	    "empty-udp.bin: an empty path is refused, code 20 pointer 8 (got %d, %u)", rv, ptr);
	CHECK(h.hdr_len == 48 && h.path_off == 48 && h.path_len == 0 &&
		h.path_type == SCION_PATH_EMPTY && h.dst_ia == ia111 && h.src_ia == ia111,
	    "empty-udp.bin: header 48 bytes, no path bytes, 1-ff00:0:111 both ways");
	CHECK_EQ_INT(scion_l4_checksum(p, len, p + 48, len - 48, SCION_PROTO_UDP), 0,
	    "empty-udp.bin: its UDP checksum verifies");
	rv = scion_dispatch_key(p, len, &h, &port);
	CHECK(rv == SCION_DISPATCH_UDP && port == 80,
	    "empty-udp.bin: downlink key UDP port 80 (the path is the network's)");
	n = scion_param_problem(p, len, SCION_UNKNOWN_PATH, 8, ia222, &v4, ia111, &v6, out);
	CHECK(answer_wrong(out, n, p, len, 20, 8, ia222, &v4, ia111, &v6) == NULL,
	    "empty-udp.bin: Parameter Problem code 20 pointer 8, v4 gateway to v6 tunnel");
	free(p);

	if ((p = golden("scion-scmp-dest-unreachable.bin", len = 142)) == NULL)
		return;
	rv = scion_uplink_check(p, len, ia222, &v4, &h, &ptr);
	CHECK(rv == 0 && h.next_hdr == SCION_PROTO_SCMP && h.payload_len == 26,
	    "scion-scmp-dest-unreachable.bin: a well-formed SCMP packet over the standard path");
	CHECK(p[116] == 1 && p[117] == 6,
	    "scion-scmp-dest-unreachable.bin: Destination Unreachable, code 6");
	CHECK(scion_l4_checksum(p, len, p + 116, 26, SCION_PROTO_SCMP) != 0,
	    "scion-scmp-dest-unreachable.bin: its checksum field (0) is not filled in");
	rv = scion_dispatch_key(p, len, &h, &port);
	CHECK(rv == SCION_DISPATCH_HOST && port == 0,
	    "scion-scmp-dest-unreachable.bin: its quote (16 bytes 0xff) is no SCION packet: key "
	    "by host");
	CHECK_EQ_INT(scion_param_problem(p, len, SCION_BAD_PATH, 48, ia111, &v6, ia222, &v4, out),
	    0, "scion-scmp-dest-unreachable.bin: never an error about an SCMP error");
	free(p);
}

/* ---- the mutation table ---- */

/* Where an operation or a pointer is counted from. */
enum anchor {
	AT_0, /* the packet's first byte */
	AT_SRC, /* the source host */
	AT_PATH, /* the path */
	AT_HDR, /* HdrLen * 4, the payload */
	AT_END, /* the datagram's length */
};

enum op {
	OP_NONE,
	OP_SET, /* byte at anchor + off = val */
	OP_XOR, /* byte at anchor + off ^= val */
	OP_META, /* the path's meta header = val */
	OP_HDRLEN, /* HdrLen = (anchor + off) / 4, the bytes left where they are */
	OP_PAYLEN, /* PayloadLen += off */
	OP_CUT, /* the datagram ends at anchor + off */
	OP_INSERT, /* val zero bytes inserted at anchor + off, HdrLen grown by val / 4 */
	OP_IA, /* the assigned ISD-AS ^= val */
	OP_HOST, /* the assigned host's last byte ^= val */
	OP_MAPPED, /* the assigned host in the other family: v4-mapped IPv6 or the last 4 bytes */
};

struct edit {
	enum op op;
	enum anchor at;
	int off;
	uint32_t val;
};

struct mutation {
	const char *name;
	struct edit e[3];
	int code; /* 0: still valid */
	enum anchor ptr_at; /* the pointer: anchor + ptr_off */
	int ptr_off;
};

#define META(ci, ch, s0, s1, s2) \
	((uint32_t)(ci) << 30 | (uint32_t)(ch) << 24 | (s0) << 12 | (s1) << 6 | (s2))
#define ED1(o, a, f, v) \
	{ \
		{ \
			o, a, f, v \
		} \
	}
#define ED2(o, a, f, v, o2, a2, f2, v2) \
	{ \
		{o, a, f, v}, \
		{ \
			o2, a2, f2, v2 \
		} \
	}

/* The base: 2 segments of 2 hop fields, the second info field with C, CurrINF 0, CurrHF 0,
 * UDP with 64 bytes of data. Pointers: 16 at 0, 32 at 12, 20 at 8, 33 at 20 or the source
 * host, 48 and 19 at the path. */
static const struct mutation mutations[] = {
    {"unchanged", {{OP_NONE, AT_0, 0, 0}}, 0, AT_0, 0},
    {"traffic class and flow ID changed", ED2(OP_XOR, AT_0, 1, 0xff, OP_XOR, AT_0, 3, 0xff), 0,
	AT_0, 0},
    {"NextHdr TCP (the uplink leaves L4 alone)", ED1(OP_SET, AT_0, 4, 6), 0, AT_0, 0},
    {"common header RSV bits set", ED2(OP_SET, AT_0, 10, 0xff, OP_SET, AT_0, 11, 0xff), 0, AT_0, 0},
    {"destination ISD-AS changed", ED1(OP_XOR, AT_0, 12, 0xff), 0, AT_0, 0},
    {"destination host changed", ED1(OP_XOR, AT_0, 28, 0xff), 0, AT_0, 0},
    {"meta header RSV bits set", ED1(OP_XOR, AT_PATH, 1, 0xfc), 0, AT_0, 0},
    {"CurrINF 1, CurrHF 2 (second segment)", ED1(OP_META, AT_PATH, 0, META(1, 2, 2, 2, 0)), 0, AT_0,
	0},
    {"CurrINF 1, CurrHF 3 (last hop)", ED1(OP_META, AT_PATH, 0, META(1, 3, 2, 2, 0)), 0, AT_0, 0},

    {"version 1", ED1(OP_XOR, AT_0, 0, 0x10), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"version 15", ED1(OP_XOR, AT_0, 0, 0xf0), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"version 8 and a bad source (the common header first)",
	ED2(OP_XOR, AT_0, 0, 0x80, OP_IA, AT_0, 0, 1), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"datagram empty", ED1(OP_CUT, AT_0, 0, 0), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"datagram of 11 bytes", ED1(OP_CUT, AT_0, 11, 0), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"datagram of 12 bytes", ED1(OP_CUT, AT_0, 12, 0), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"datagram cut in the address header", ED1(OP_CUT, AT_0, 30, 0), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"datagram cut in the path", ED1(OP_CUT, AT_PATH, 6, 0), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"HdrLen 0", ED1(OP_SET, AT_0, 5, 0), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"HdrLen 8 (32 bytes)", ED1(OP_SET, AT_0, 5, 8), SCION_BAD_COMMON_HDR, AT_0, 0},
    {"HdrLen 255, past the datagram", ED1(OP_SET, AT_0, 5, 255), SCION_BAD_COMMON_HDR, AT_0, 0},

    {"DT 2 (reserved)", ED1(OP_XOR, AT_0, 9, 0x80), SCION_BAD_ADDR_HDR, AT_0, 12},
    {"DT 3 (reserved)", ED1(OP_XOR, AT_0, 9, 0xc0), SCION_BAD_ADDR_HDR, AT_0, 12},
    {"DT 1 with DL 16 bytes (reserved)", ED1(OP_SET, AT_0, 9, 0x70), SCION_BAD_ADDR_HDR, AT_0, 12},
    {"DL 8 bytes (reserved for IP)", ED1(OP_SET, AT_0, 9, 0x10), SCION_BAD_ADDR_HDR, AT_0, 12},
    {"DL 12 bytes (reserved for IP)", ED1(OP_SET, AT_0, 9, 0x20), SCION_BAD_ADDR_HDR, AT_0, 12},
    {"two IPv6 hosts in HdrLen 9 (36 bytes)", ED2(OP_SET, AT_0, 9, 0x33, OP_SET, AT_0, 5, 9),
	SCION_BAD_ADDR_HDR, AT_0, 12},

    {"source ISD changed", ED1(OP_XOR, AT_0, 21, 0x01), SCION_BAD_SRC_ADDR, AT_0, 20},
    {"source AS changed", ED1(OP_XOR, AT_0, 27, 0x01), SCION_BAD_SRC_ADDR, AT_0, 20},
    {"assigned another ISD-AS", ED1(OP_IA, AT_0, 0, 0x10000), SCION_BAD_SRC_ADDR, AT_0, 20},
    {"source ISD-AS and host both wrong (the IA first)",
	ED2(OP_XOR, AT_0, 20, 0x80, OP_XOR, AT_SRC, 0, 1), SCION_BAD_SRC_ADDR, AT_0, 20},
    {"source host's first byte changed", ED1(OP_XOR, AT_SRC, 0, 0x80), SCION_BAD_SRC_ADDR, AT_SRC,
	0},
    {"source host's last byte changed", ED1(OP_XOR, AT_PATH, -1, 0x01), SCION_BAD_SRC_ADDR, AT_SRC,
	0},
    {"assigned another host", ED1(OP_HOST, AT_0, 0, 0x01), SCION_BAD_SRC_ADDR, AT_SRC, 0},
    {"assigned the same host in the other family (no v4-mapped equivalence)",
	ED1(OP_MAPPED, AT_0, 0, 0), SCION_BAD_SRC_ADDR, AT_SRC, 0},
    {"ST 1: a service source", ED1(OP_XOR, AT_0, 9, 0x04), SCION_BAD_SRC_ADDR, AT_SRC, 0},
    {"ST 2 (reserved)", ED1(OP_XOR, AT_0, 9, 0x08), SCION_BAD_SRC_ADDR, AT_SRC, 0},
    {"ST 3 (reserved)", ED1(OP_XOR, AT_0, 9, 0x0c), SCION_BAD_SRC_ADDR, AT_SRC, 0},
    {"source host wrong and an empty path (the source first)",
	ED2(OP_XOR, AT_SRC, 0, 1, OP_SET, AT_0, 8, 0), SCION_BAD_SRC_ADDR, AT_SRC, 0},

    {"path type 0 (empty)", ED1(OP_SET, AT_0, 8, 0), SCION_UNKNOWN_PATH, AT_0, 8},
    {"path type 2 (one-hop)", ED1(OP_SET, AT_0, 8, 2), SCION_UNKNOWN_PATH, AT_0, 8},
    {"path type 3 (EPIC)", ED1(OP_SET, AT_0, 8, 3), SCION_UNKNOWN_PATH, AT_0, 8},
    {"path type 255", ED1(OP_SET, AT_0, 8, 255), SCION_UNKNOWN_PATH, AT_0, 8},
    {"path type 2 and a broken meta header (the type first)",
	ED2(OP_SET, AT_0, 8, 2, OP_META, AT_PATH, 0, META(3, 63, 0, 0, 0)), SCION_UNKNOWN_PATH,
	AT_0, 8},
    {"path type 0 and PayloadLen + 1 (the type first)",
	ED2(OP_SET, AT_0, 8, 0, OP_PAYLEN, AT_0, 1, 0), SCION_UNKNOWN_PATH, AT_0, 8},

    {"SegLen 2,0,2 (a hole)", ED1(OP_META, AT_PATH, 0, META(0, 0, 2, 0, 2)), SCION_BAD_PATH,
	AT_PATH, 0},
    {"SegLen 0,2,2 (a hole)", ED1(OP_META, AT_PATH, 0, META(0, 0, 0, 2, 2)), SCION_BAD_PATH,
	AT_PATH, 0},
    {"SegLen 0,0,4 (holes)", ED1(OP_META, AT_PATH, 0, META(0, 0, 0, 0, 4)), SCION_BAD_PATH, AT_PATH,
	0},
    {"SegLen 0,0,0 (no segment)", ED1(OP_META, AT_PATH, 0, META(0, 0, 0, 0, 0)), SCION_BAD_PATH,
	AT_PATH, 0},
    {"SegLen 2,3 (a hop field more than the header holds)",
	ED1(OP_META, AT_PATH, 0, META(0, 0, 2, 3, 0)), SCION_BAD_PATH, AT_PATH, 0},
    {"SegLen 2,1 (a hop field less: 12 bytes left over)",
	ED1(OP_META, AT_PATH, 0, META(0, 0, 2, 1, 0)), SCION_BAD_PATH, AT_PATH, 0},
    {"SegLen 2,2,2 (a third segment the header lacks)",
	ED1(OP_META, AT_PATH, 0, META(0, 0, 2, 2, 2)), SCION_BAD_PATH, AT_PATH, 0},
    {"SegLen 63,63,63 (189 hop fields)", ED1(OP_META, AT_PATH, 0, META(0, 0, 63, 63, 63)),
	SCION_BAD_PATH, AT_PATH, 0},
    {"CurrINF 2 of 2 segments", ED1(OP_META, AT_PATH, 0, META(2, 0, 2, 2, 0)), SCION_BAD_PATH,
	AT_PATH, 0},
    {"CurrINF 3", ED1(OP_META, AT_PATH, 0, META(3, 0, 2, 2, 0)), SCION_BAD_PATH, AT_PATH, 0},
    {"CurrHF 4 of 4 hop fields", ED1(OP_META, AT_PATH, 0, META(1, 4, 2, 2, 0)), SCION_BAD_PATH,
	AT_PATH, 0},
    {"CurrHF 63", ED1(OP_META, AT_PATH, 0, META(1, 63, 2, 2, 0)), SCION_BAD_PATH, AT_PATH, 0},
    {"CurrHF 2 (segment 1) with CurrINF 0", ED1(OP_META, AT_PATH, 0, META(0, 2, 2, 2, 0)),
	SCION_BAD_PATH, AT_PATH, 0},
    {"CurrHF 1 (segment 0) with CurrINF 1", ED1(OP_META, AT_PATH, 0, META(1, 1, 2, 2, 0)),
	SCION_BAD_PATH, AT_PATH, 0},
    {"no room for the meta header (HdrLen ends at the path)", ED1(OP_HDRLEN, AT_PATH, 0, 0),
	SCION_BAD_PATH, AT_PATH, 0},
    {"the last hop field past HdrLen", ED1(OP_HDRLEN, AT_HDR, -4, 0), SCION_BAD_PATH, AT_PATH, 0},
    {"a bad path and PayloadLen + 1 (the path first)",
	ED2(OP_META, AT_PATH, 0, META(2, 0, 2, 2, 0), OP_PAYLEN, AT_0, 1, 0), SCION_BAD_PATH,
	AT_PATH, 0},
    {"4 bytes left between the path and HdrLen", ED1(OP_INSERT, AT_HDR, 0, 4), SCION_BAD_PATH,
	AT_PATH, 0},
    {"a fourth info field after the path (a 4th segment cannot be written)",
	ED1(OP_INSERT, AT_HDR, 0, 8), SCION_BAD_PATH, AT_PATH, 0},

    {"PayloadLen + 1", ED1(OP_PAYLEN, AT_0, 1, 0), SCION_BAD_SIZE, AT_PATH, 0},
    {"PayloadLen - 1", ED1(OP_PAYLEN, AT_0, -1, 0), SCION_BAD_SIZE, AT_PATH, 0},
    {"PayloadLen + 65535 (wraps to - 1)", ED1(OP_PAYLEN, AT_0, 65535, 0), SCION_BAD_SIZE, AT_PATH,
	0},
    {"datagram cut by a byte", ED1(OP_CUT, AT_END, -1, 0), SCION_BAD_SIZE, AT_PATH, 0},
    {"datagram cut at the payload", ED1(OP_CUT, AT_HDR, 0, 0), SCION_BAD_SIZE, AT_PATH, 0},
    {"a byte appended", ED1(OP_CUT, AT_END, 1, 0), SCION_BAD_SIZE, AT_PATH, 0},
};

struct variant {
	uint8_t p[PKT_MAX];
	size_t len;
	uint64_t ia;
	struct addr host;
};

static size_t
anchor(const struct variant *v, enum anchor at)
{
	size_t dl = 4 * ((size_t)(v->p[9] >> 4 & 3) + 1);

	switch (at) {
	case AT_SRC: return 28 + dl;
	case AT_PATH: return 28 + dl + 4 * ((size_t)(v->p[9] & 3) + 1);
	case AT_HDR: return (size_t)v->p[5] * 4;
	case AT_END: return v->len;
	default: return 0;
	}
}

static void
apply(struct variant *v, const struct edit *e)
{
	size_t at = anchor(v, e->at) + (size_t)(long)e->off;

	switch (e->op) {
	case OP_SET: v->p[at] = (uint8_t)e->val; break;
	case OP_XOR: v->p[at] ^= (uint8_t)e->val; break;
	case OP_META: be_put32(v->p + at, e->val); break;
	case OP_HDRLEN: v->p[5] = (uint8_t)(at / 4); break;
	case OP_PAYLEN: be_put16(v->p + 6, (be_get16(v->p + 6) + (unsigned)e->off) & 0xffff); break;
	case OP_CUT: v->len = at; break;
	case OP_INSERT:
		memmove(v->p + at + e->val, v->p + at, v->len - at);
		memset(v->p + at, 0, e->val);
		v->len += e->val;
		v->p[5] += (uint8_t)(e->val / 4);
		break;
	case OP_IA: v->ia ^= e->val; break;
	case OP_HOST: v->host.b[v->host.family == 4 ? 3 : 15] ^= (uint8_t)e->val; break;
	case OP_MAPPED:
		if (v->host.family == 4) {
			memmove(v->host.b + 12, v->host.b, 4);
			memset(v->host.b, 0, 10);
			v->host.b[10] = v->host.b[11] = 0xff;
			v->host.family = 6;
		} else {
			memmove(v->host.b, v->host.b + 12, 4);
			memset(v->host.b + 4, 0, 12);
			v->host.family = 4;
		}
		break;
	default: break;
	}
}

static void
test_mutations(void)
{
	/* Every combination of destination and source family; the IPv6 source ends in the IPv4
	 * source's bytes so that the v4-mapped row is a real near miss. */
	static const char *const hosts[][2] = {
	    {"192.0.2.80", "10.0.0.7"},
	    {"2001:db8:1::80", "10.0.0.7"},
	    {"192.0.2.80", "2001:db8:2::a00:7"},
	    {"2001:db8:1::80", "2001:db8:2::a00:7"},
	};
	const struct addr gw4 = ip("192.0.2.1"), gw6 = ip("2001:db8:ffff::1");
	const uint64_t gw_ia = IA(1, 0xff0000000110ULL);
	uint8_t payload[128], out[SCION_SCMP_MAX];
	struct spec s = {
	    .dst_ia = IA(2, 0xff0000000220ULL),
	    .src_ia = IA(1, 0xff0000000110ULL),
	    .path_type = SCION_PATH_STANDARD,
	    .seg = {2, 2, 0},
	    .cflags = 2,
	    .next_hdr = SCION_PROTO_UDP,
	};
	size_t nrows = sizeof(mutations) / sizeof(mutations[0]), plen;
	static struct variant base, v;

	plen = udp(payload, 40000, 443, 64);
	for (size_t f = 0; f < 4; f++) {
		int bad = 0, bad_answers = 0;

		s.dst = hosts[f][0];
		s.src = hosts[f][1];
		base.len = build(base.p, &s, payload, plen);
		fill_checksum(base.p, base.len);
		base.ia = s.src_ia;
		base.host = ip(s.src);
		for (size_t r = 0; r < nrows; r++) {
			const struct mutation *m = &mutations[r];
			const struct addr *gw = f % 2 ? &gw6 : &gw4;
			struct scion_hdr h;
			unsigned ptr = 12345, want_ptr;
			const char *why;
			size_t n;
			int rv;

			v = base;
			for (int i = 0; i < 3; i++)
				apply(&v, &m->e[i]);
			want_ptr = (unsigned)(anchor(&base, m->ptr_at) + (size_t)(long)m->ptr_off);
			rv = scion_uplink_check(v.p, v.len, v.ia, &v.host, &h, &ptr);
			if (rv != m->code || ptr != (m->code ? want_ptr : 0)) {
				CHECK(0, "%s -> %s: code %d pointer %u (got %d, %u)", hosts[f][1],
				    m->name, m->code, m->code ? want_ptr : 0, rv, ptr);
				bad++;
				continue;
			}
			if (rv == 0)
				continue;
			/* The answer goes back into the tunnel; the gateway's family alternates. */
			n = scion_param_problem(
			    v.p, v.len, (unsigned)rv, ptr, gw_ia, gw, v.ia, &v.host, out);
			why = answer_wrong(
			    out, n, v.p, v.len, (unsigned)rv, ptr, gw_ia, gw, v.ia, &v.host);
			if (v.len <= 4)
				why =
				    n == 0 ? NULL : "no answer about a datagram without a NextHdr";
			if (why != NULL) {
				CHECK(0, "%s -> %s: its answer: %s", hosts[f][1], m->name, why);
				bad_answers++;
			}
		}
		CHECK(bad == 0,
		    "dst %s src %s: each of the %zu mutations gets its verdict (code and "
		    "pointer)",
		    hosts[f][0], hosts[f][1], nrows);
		CHECK(bad_answers == 0,
		    "dst %s src %s: each refused mutation gets its Parameter Problem (length, "
		    "fields, quote, checksum)",
		    hosts[f][0], hosts[f][1]);
	}
}

/* ---- packets built whole: path shapes, the egress interface, the destination ---- */

static void
test_built(void)
{
	static const struct {
		const char *name;
		unsigned seg[3], curr_inf, curr_hf, cflags;
		int code;
		unsigned egress;
	} rows[] = {
	    {"one segment of 2, C set", {2, 0, 0}, 0, 0, 1, 0, 200},
	    {"one segment of 2, C clear", {2, 0, 0}, 0, 1, 0, 0, 101},
	    {"one segment of 1 hop field", {1, 0, 0}, 0, 0, 1, 0, 200},
	    {"three segments 2,3,4 in the third, C set", {2, 3, 4}, 2, 7, 4, 0, 207},
	    {"three segments 2,3,4 in the second, C clear", {2, 3, 4}, 1, 4, 4, 0, 104},
	    {"64 hop fields (32,32)", {32, 32, 0}, 1, 63, 3, 0, 263},
	    {"64 hop fields (21,21,22)", {21, 21, 22}, 2, 42, 0, 0, 142},
	    {"65 hop fields (33,32)", {33, 32, 0}, 0, 0, 0, SCION_BAD_PATH, 0},
	    {"65 hop fields (22,22,21)", {22, 22, 21}, 0, 0, 0, SCION_BAD_PATH, 0},
	};
	struct spec s = {
	    .dst = "203.0.113.9",
	    .src = "10.1.2.3",
	    .dst_ia = IA(3, 0x300),
	    .src_ia = IA(1, 0x100),
	    .path_type = SCION_PATH_STANDARD,
	    .next_hdr = SCION_PROTO_UDP,
	};
	struct addr host = ip("10.1.2.3");
	uint8_t p[PKT_MAX], payload[64];
	struct scion_hdr h;
	unsigned ptr;
	size_t len, plen = udp(payload, 1, 2, 0);
	int rv;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memcpy(s.seg, rows[i].seg, sizeof(s.seg));
		s.curr_inf = rows[i].curr_inf;
		s.curr_hf = rows[i].curr_hf;
		s.cflags = rows[i].cflags;
		len = build(p, &s, payload, plen);
		rv = scion_uplink_check(p, len, s.src_ia, &host, &h, &ptr);
		if (rows[i].code != 0) {
			CHECK(rv == rows[i].code && ptr == 36,
			    "%s (%zu-byte header): code %d at the path", rows[i].name, h.hdr_len,
			    rows[i].code);
			continue;
		}
		CHECK(rv == 0 && h.curr_inf == rows[i].curr_inf && h.curr_hf == rows[i].curr_hf &&
			h.egress_if == rows[i].egress,
		    "%s: valid, CurrINF %u CurrHF %u, egress interface %u (got %d, %u)",
		    rows[i].name, rows[i].curr_inf, rows[i].curr_hf, rows[i].egress, rv,
		    h.egress_if);
	}

	/* A service destination (the control service) is an address the network can route. */
	s.dst = NULL;
	s.seg[0] = 2;
	s.seg[1] = s.seg[2] = 0;
	s.curr_inf = s.curr_hf = 0;
	len = build(p, &s, payload, plen);
	rv = scion_uplink_check(p, len, s.src_ia, &host, &h, &ptr);
	CHECK(rv == 0 && h.dst.family == 0 && h.src.family == 4 && h.src_host_off == 32,
	    "a service destination passes the uplink (destination family 0)");
	{
		uint16_t port;

		CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), -1,
		    "but a downlink packet to a service address belongs to no tunnel");
	}

	/* No payload at all is a size like any other. */
	s.dst = "203.0.113.9";
	len = build(p, &s, payload, 0);
	CHECK_EQ_INT(scion_uplink_check(p, len, s.src_ia, &host, &h, &ptr), 0,
	    "an empty payload (PayloadLen 0) is valid");

	/* An assigned address of neither family matches nothing. */
	{
		struct addr none = host;

		none.family = 0;
		rv = scion_uplink_check(p, len, s.src_ia, &none, &h, &ptr);
		CHECK(rv == SCION_BAD_SRC_ADDR && ptr == 32,
		    "an assigned host of family 0 matches no source");
	}
}

/* ---- SCMP answers ---- */

/* A packet from the tunnel's host 10.0.0.7 in 1-0:0:110 out to 198.51.100.1 in 2-0:0:220. */
static const struct spec tunnel_uplink = {
    .dst = "198.51.100.1",
    .src = "10.0.0.7",
    .dst_ia = IA(2, 0x220),
    .src_ia = IA(1, 0x110),
    .path_type = SCION_PATH_STANDARD,
    .seg = {2, 0, 0},
    .cflags = 1,
    .next_hdr = SCION_PROTO_UDP,
};

static void
test_answers(void)
{
	const struct addr gw4 = ip("192.0.2.1"), gw6 = ip("2001:db8:ffff::1");
	const struct addr tun4 = ip("10.0.0.7"), tun6 = ip("2001:db8:2::7");
	const uint64_t gw_ia = IA(1, 0x110), tun_ia = IA(1, 0x110);
	struct spec s = tunnel_uplink;
	static uint8_t p[PKT_MAX], payload[PKT_MAX], out[SCION_SCMP_MAX], again[SCION_SCMP_MAX];
	size_t len, n, plen, hdr;
	struct scion_hdr h;
	uint16_t port;

	/* The length cap: a 1500-byte packet is cut to fit 1232 in all, each family pair. */
	plen = udp(payload, 5000, 6000, 1500 - 36 - 4 - 8 - 24 - 8);
	len = build(p, &s, payload, plen);
	CHECK_EQ_INT(len, 1500, "a 1500-byte packet");
	n = scion_param_problem(p, len, SCION_BAD_PATH, 36, gw_ia, &gw4, tun_ia, &tun4, out);
	CHECK(n == 1232 && answer_wrong(out, n, p, len, 48, 36, gw_ia, &gw4, tun_ia, &tun4) == NULL,
	    "v4 gateway to v4 tunnel: 1232 bytes, 36 of header, 8 of SCMP, 1188 quoted");
	n = scion_param_problem(p, len, SCION_BAD_PATH, 36, gw_ia, &gw6, tun_ia, &tun6, out);
	CHECK(n == 1232 && answer_wrong(out, n, p, len, 48, 36, gw_ia, &gw6, tun_ia, &tun6) == NULL,
	    "v6 gateway to v6 tunnel: 1232 bytes, 60 of header, 1164 quoted");
	n = scion_param_problem(p, len, SCION_BAD_PATH, 36, gw_ia, &gw6, tun_ia, &tun4, out);
	CHECK(n == 1232 && answer_wrong(out, n, p, len, 48, 36, gw_ia, &gw6, tun_ia, &tun4) == NULL,
	    "v6 gateway to v4 tunnel: 1232 bytes, 48 of header");
	hdr = (size_t)out[5] * 4;
	CHECK(
	    hdr == 48 && memcmp(out + hdr + 8, p, 1232 - 48 - 8) == 0 && be_get16(out + 6) == 1184,
	    "the quote is the packet's first 1176 bytes, PayloadLen 1184");

	/* Exactly at the cap, and one byte below it: the whole packet fits. */
	plen = udp(payload, 5000, 6000, 1232 - 44 - 72 - 8);
	len = build(p, &s, payload, plen);
	n = scion_param_problem(p, len, SCION_BAD_SIZE, 36, gw_ia, &gw4, tun_ia, &tun4, out);
	CHECK(n == 1232 && memcmp(out + 44, p, len) == 0,
	    "a %zu-byte packet is quoted whole in a 1232-byte answer", len);
	n = scion_param_problem(p, len + 1, SCION_BAD_SIZE, 36, gw_ia, &gw4, tun_ia, &tun4, out);
	CHECK(n == 1232 &&
		answer_wrong(out, n, p, len + 1, 19, 36, gw_ia, &gw4, tun_ia, &tun4) == NULL,
	    "a byte more is cut off");

	/* A small packet, whole; the answer's own key downlink is the quoted UDP source port. */
	plen = udp(payload, 5000, 6000, 20);
	len = build(p, &s, payload, plen);
	n = scion_param_problem(p, len, SCION_BAD_SRC_ADDR, 32, gw_ia, &gw4, tun_ia, &tun4, out);
	CHECK(n == 36 + 8 + len &&
		answer_wrong(out, n, p, len, 33, 32, gw_ia, &gw4, tun_ia, &tun4) == NULL,
	    "a %zu-byte packet is quoted whole: %zu bytes", len, n);
	CHECK(scion_dispatch_key(out, n, &h, &port) == SCION_DISPATCH_SCMP_QUOTE && port == 5000 &&
		h.dst.family == 4 && memcmp(h.dst.b, tun4.b, 4) == 0,
	    "the answer is dispatched to the tunnel's host by the quoted source port");
	CHECK_EQ_INT(
	    scion_param_problem(out, n, SCION_BAD_PATH, 0, gw_ia, &gw4, tun_ia, &tun4, again), 0,
	    "no answer about the answer");
	out[n - 1] ^= 1;
	CHECK(scion_l4_checksum(out, n, out + 36, n - 36, SCION_PROTO_SCMP) != 0,
	    "a quoted byte changed fails the answer's checksum");

	/* What cannot be carried. */
	{
		struct addr none = gw4;

		none.family = 0;
		CHECK_EQ_INT(scion_param_problem(p, len, 33, 32, gw_ia, &none, tun_ia, &tun4, out),
		    0, "no answer from a gateway host of family 0");
		none.family = 5;
		CHECK_EQ_INT(scion_param_problem(p, len, 33, 32, gw_ia, &gw4, tun_ia, &none, out),
		    0, "no answer to a tunnel host of family 5");
		CHECK_EQ_INT(scion_param_problem(p, len, 256, 0, gw_ia, &gw4, tun_ia, &tun4, out),
		    0, "no answer with a code over 8 bits");
		CHECK_EQ_INT(
		    scion_param_problem(p, len, 33, 65536, gw_ia, &gw4, tun_ia, &tun4, out), 0,
		    "no answer with a pointer over 16 bits");
		CHECK(scion_param_problem(p, len, 33, 65535, gw_ia, &gw4, tun_ia, &tun4, out) != 0,
		    "a pointer past the quote (65535) is carried as it is");
	}

	/* Never an error about an SCMP error; an SCMP informational message may have one. */
	{
		static const struct {
			const char *name;
			uint8_t nh; /* the common header's NextHdr */
			uint8_t body[16]; /* extension headers, then the message */
			size_t blen;
			int answered;
		} rows[] = {
		    {"SCMP Destination Unreachable", 202, {1, 0, 0, 0, 0, 0, 0, 0}, 8, 0},
		    {"SCMP Packet Too Big", 202, {2, 0, 0, 0, 0, 0, 5, 0}, 8, 0},
		    {"SCMP Parameter Problem", 202, {4, 0, 0, 0, 0, 0, 0, 0}, 8, 0},
		    {"SCMP error type 0", 202, {0, 0, 0, 0}, 4, 0},
		    {"SCMP error type 127", 202, {127, 0, 0, 0}, 4, 0},
		    {"SCMP error cut after its type", 202, {1}, 1, 0},
		    {"SCMP without even a type byte", 202, {0}, 0, 0},
		    {"hop-by-hop, then an SCMP error", 200, {202, 0, 1, 0, 1, 0, 0, 0}, 8, 0},
		    {"end-to-end, then an SCMP error", 201, {202, 1, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0},
			12, 0},
		    {"hop-by-hop, end-to-end, then an SCMP error", 200,
			{201, 0, 0, 0, 202, 0, 0, 0, 4, 0, 0, 0}, 12, 0},
		    {"a hop-by-hop header cut (ExtLen past the end)", 200, {17, 9, 0, 0}, 4, 0},
		    {"end-to-end before hop-by-hop", 201, {200, 0, 0, 0, 17, 0, 0, 0}, 8, 0},
		    {"SCMP Echo Request", 202, {128, 0, 0, 0, 0, 1, 0, 1}, 8, 1},
		    {"SCMP Echo Reply", 202, {129, 0, 0, 0, 0, 1, 0, 1}, 8, 1},
		    {"SCMP informational type 200", 202, {200, 0, 0, 0}, 4, 1},
		    {"SCMP informational type 255", 202, {255, 0, 0, 0}, 4, 1},
		    {"hop-by-hop, then an SCMP Echo Request", 200, {202, 0, 0, 0, 128, 0, 0, 0}, 8,
			1},
		    {"hop-by-hop, then UDP", 200, {17, 0, 0, 0, 0, 1, 0, 2}, 8, 1},
		    {"TCP", 6, {0, 80, 0, 80}, 4, 1},
		    {"NextHdr 0", 0, {0}, 0, 1},
		};

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			s.next_hdr = rows[i].nh;
			len = build(p, &s, rows[i].body, rows[i].blen);
			n = scion_param_problem(p, len, 48, 36, gw_ia, &gw4, tun_ia, &tun4, out);
			CHECK(rows[i].answered ? answer_wrong(out, n, p, len, 48, 36, gw_ia, &gw4,
						     tun_ia, &tun4) == NULL
					       : n == 0,
			    "%s: %s", rows[i].name, rows[i].answered ? "answered" : "no answer");
		}
		s.next_hdr = SCION_PROTO_SCMP;
		len = build(p, &s, rows[0].body, 8);
		n = 0;
		for (size_t cut = 0; cut < 6; cut++)
			n += scion_param_problem(p, cut, 16, 0, gw_ia, &gw4, tun_ia, &tun4, out);
		CHECK_EQ_INT(n, 0,
		    "an SCMP packet cut to 0-5 bytes (no NextHdr, or no HdrLen): no "
		    "answer");
		p[5] = 8; /* 32 bytes: the message would start inside the headers */
		CHECK_EQ_INT(scion_param_problem(p, len, 16, 0, gw_ia, &gw4, tun_ia, &tun4, out), 0,
		    "NextHdr SCMP with HdrLen 8: too broken to tell, no answer");
		p[5] = 255;
		CHECK_EQ_INT(scion_param_problem(p, len, 16, 0, gw_ia, &gw4, tun_ia, &tun4, out), 0,
		    "NextHdr SCMP with HdrLen past the datagram: no answer");
		p[4] = SCION_PROTO_UDP;
		p[0] = 0x3b; /* version 3 */
		n = scion_param_problem(p, len, 16, 0, gw_ia, &gw4, tun_ia, &tun4, out);
		CHECK(answer_wrong(out, n, p, len, 16, 0, gw_ia, &gw4, tun_ia, &tun4) == NULL,
		    "NextHdr UDP in a broken header (version 3, HdrLen past the end): answered");
		n = scion_param_problem(p, 5, 16, 0, gw_ia, &gw4, tun_ia, &tun4, out);
		CHECK(answer_wrong(out, n, p, 5, 16, 0, gw_ia, &gw4, tun_ia, &tun4) == NULL,
		    "5 bytes with NextHdr UDP: answered, quoting the 5");
		s.next_hdr = SCION_PROTO_UDP;
	}
}

/* ---- the downlink's dispatch keys ---- */

/* The downlink packet with payload body (blen bytes) and next header nh into p; its length. */
static size_t
downlink(uint8_t *p, uint8_t nh, const uint8_t *body, size_t blen)
{
	struct spec s = {
	    .dst = "10.0.0.7",
	    .src = "2001:db8:9::1",
	    .dst_ia = IA(1, 0x110),
	    .src_ia = IA(2, 0x220),
	    .path_type = SCION_PATH_STANDARD,
	    .seg = {2, 0, 0},
	    .curr_hf = 1,
	    .cflags = 1,
	    .next_hdr = nh,
	};

	return build(p, &s, body, blen);
}

/* An SCMP error of type t quoting (cut to qlen bytes) the packet q into m; its length. */
static size_t
scmp_error(uint8_t *m, uint8_t t, const uint8_t *q, size_t qlen)
{
	size_t off = t == 5 ? 20 : t == 6 ? 28 : 8;

	memset(m, 0, off);
	m[0] = t;
	memcpy(m + off, q, qlen);
	return off + qlen;
}

static void
test_dispatch(void)
{
	static uint8_t p[PKT_MAX], m[PKT_MAX], q[PKT_MAX], body[PKT_MAX];
	struct scion_hdr h;
	struct spec qs = tunnel_uplink; /* what the network quotes back */
	size_t len, blen, qlen, ql4;
	uint16_t port;
	int rv;

	blen = udp(body, 443, 31000, 10);
	len = downlink(p, SCION_PROTO_UDP, body, blen);
	rv = scion_dispatch_key(p, len, &h, &port);
	CHECK(rv == SCION_DISPATCH_UDP && port == 31000 && h.dst.family == 4 &&
		memcmp(h.dst.b, ip("10.0.0.7").b, 4) == 0 && h.curr_inf == 0 && h.egress_if == 0,
	    "UDP: its destination port 31000, destination host 10.0.0.7, path left unread");
	CHECK_EQ_INT(scion_dispatch_key(p, len - 1, &h, &port), -1,
	    "UDP cut by a byte: lengths inconsistent, -1");
	len = downlink(p, SCION_PROTO_UDP, body, 7);
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), -1, "a 7-byte UDP header: -1");

	/* SCMP informational messages: the identifier. */
	{
		static const struct {
			uint8_t type;
			size_t len;
			int rv;
		} rows[] = {
		    {128, 8, SCION_DISPATCH_SCMP_ID},
		    {129, 40, SCION_DISPATCH_SCMP_ID},
		    {130, 24, SCION_DISPATCH_SCMP_ID},
		    {131, 24, SCION_DISPATCH_SCMP_ID},
		    {128, 7, -1},
		    {130, 23, -1},
		    {200, 4, SCION_DISPATCH_HOST},
		    {200, 3, -1},
		};

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			memset(m, 0, sizeof(m));
			m[0] = rows[i].type;
			be_put16(m + 4, 0x1234);
			be_put16(m + 6, 7);
			len = downlink(p, SCION_PROTO_SCMP, m, rows[i].len);
			rv = scion_dispatch_key(p, len, &h, &port);
			CHECK(
			    rv == rows[i].rv && port == (rv == SCION_DISPATCH_SCMP_ID ? 0x1234 : 0),
			    "SCMP type %u, %zu bytes: key %d (port 0x1234 for an identifier; got %d, "
			    "%#x)",
			    rows[i].type, rows[i].len, rows[i].rv, rv, port);
		}
	}

	/* SCMP errors: the source port of the quoted UDP packet our host sent. */
	blen = udp(body, 5555, 443, 100);
	qlen = build(q, &qs, body, blen);
	ql4 = (size_t)q[5] * 4;
	{
		static const uint8_t types[] = {1, 2, 4, 5, 6};

		for (size_t i = 0; i < sizeof(types); i++) {
			len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, types[i], q, qlen));
			rv = scion_dispatch_key(p, len, &h, &port);
			CHECK(rv == SCION_DISPATCH_SCMP_QUOTE && port == 5555,
			    "SCMP error type %u quoting UDP: the quoted source port 5555",
			    types[i]);
		}
	}
	len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, 2, q, ql4 + 2));
	rv = scion_dispatch_key(p, len, &h, &port);
	CHECK(rv == SCION_DISPATCH_SCMP_QUOTE && port == 5555,
	    "a quote cut right after the UDP source port: still 5555");
	len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, 2, q, ql4 + 1));
	rv = scion_dispatch_key(p, len, &h, &port);
	CHECK(
	    rv == SCION_DISPATCH_HOST && port == 0, "a quote cut inside the source port: by host");
	len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, 1, q, 40));
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), SCION_DISPATCH_HOST,
	    "a quote cut in the SCION header: by host");
	len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, 1, q, 0));
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), SCION_DISPATCH_HOST,
	    "an SCMP error quoting nothing: by host");
	m[0] = 5;
	len = downlink(p, SCION_PROTO_SCMP, m, 19);
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), -1,
	    "External Interface Down shorter than its 20 bytes of fields: -1");
	m[0] = 3;
	len = downlink(p, SCION_PROTO_SCMP, m, 40);
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), SCION_DISPATCH_HOST,
	    "an SCMP error of an unassigned type (3): by host");

	/* A quote with an extension header, and quotes of SCMP. */
	{
		uint8_t qb[256];

		memcpy(qb, "\x11\x01\x00\x00\x00\x00\x00\x00", 8); /* hop-by-hop, 8 bytes */
		blen = udp(qb + 8, 6666, 443, 4);
		qs.next_hdr = SCION_PROTO_HBH;
		qlen = build(q, &qs, qb, 8 + blen);
		len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, 1, q, qlen));
		rv = scion_dispatch_key(p, len, &h, &port);
		CHECK(rv == SCION_DISPATCH_SCMP_QUOTE && port == 6666,
		    "a quote with a hop-by-hop header before UDP: 6666");

		memset(qb, 0, 8);
		qb[0] = 128;
		be_put16(qb + 4, 0x4242);
		qs.next_hdr = SCION_PROTO_SCMP;
		qlen = build(q, &qs, qb, 8);
		len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, 1, q, qlen));
		rv = scion_dispatch_key(p, len, &h, &port);
		CHECK(rv == SCION_DISPATCH_SCMP_ID && port == 0x4242,
		    "an error quoting our echo request: its identifier");
		qb[0] = 129;
		qlen = build(q, &qs, qb, 8);
		len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, 1, q, qlen));
		CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), SCION_DISPATCH_HOST,
		    "an error quoting an echo reply: by host");
		qb[0] = 1;
		qlen = build(q, &qs, qb, 8);
		len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, 4, q, qlen));
		CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), SCION_DISPATCH_HOST,
		    "an error quoting an error: by host");
		qs.next_hdr = 6;
		qlen = build(q, &qs, qb, 20);
		len = downlink(p, SCION_PROTO_SCMP, m, scmp_error(m, 1, q, qlen));
		CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), SCION_DISPATCH_HOST,
		    "an error quoting TCP: by host");
	}

	/* Extension headers before the upper layer. */
	{
		static const struct {
			const char *name;
			uint8_t nh; /* the common header's NextHdr */
			uint8_t ext[16];
			size_t elen;
			uint8_t l4; /* what follows: an echo request (202) or UDP */
			int rv;
		} rows[] = {
		    {"hop-by-hop (4 bytes) then UDP", 200, {17, 0, 0, 0}, 4, 17,
			SCION_DISPATCH_UDP},
		    {"end-to-end (8 bytes) then UDP", 201, {17, 1, 0, 0, 0, 0, 0, 0}, 8, 17,
			SCION_DISPATCH_UDP},
		    {"hop-by-hop then end-to-end then UDP", 200, {201, 0, 0, 0, 17, 0, 0, 0}, 8, 17,
			SCION_DISPATCH_UDP},
		    {"hop-by-hop then SCMP echo", 200, {202, 0, 0, 0}, 4, 202,
			SCION_DISPATCH_SCMP_ID},
		    {"end-to-end then hop-by-hop", 201, {200, 0, 0, 0, 17, 0, 0, 0}, 8, 17, -1},
		    {"two hop-by-hop headers", 200, {200, 0, 0, 0, 17, 0, 0, 0}, 8, 17, -1},
		    {"two end-to-end headers", 201, {201, 0, 0, 0, 17, 0, 0, 0}, 8, 17, -1},
		    {"hop-by-hop longer than the packet", 200, {17, 200, 0, 0}, 4, 17, -1},
		    {"hop-by-hop then TCP", 200, {6, 0, 0, 0}, 4, 17, -1},
		};

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			memcpy(body, rows[i].ext, rows[i].elen);
			if (rows[i].l4 == SCION_PROTO_SCMP) {
				memset(body + rows[i].elen, 0, 8);
				body[rows[i].elen] = 128;
				be_put16(body + rows[i].elen + 4, 77);
				blen = rows[i].elen + 8;
			} else {
				blen = rows[i].elen + udp(body + rows[i].elen, 1, 77, 3);
			}
			len = downlink(p, rows[i].nh, body, blen);
			rv = scion_dispatch_key(p, len, &h, &port);
			CHECK(rv == rows[i].rv && (rv < 0 || port == 77), "%s: %d (got %d)",
			    rows[i].name, rows[i].rv, rv);
		}
	}

	/* Neither UDP nor SCMP, and malformed packets. */
	blen = udp(body, 443, 31000, 10);
	len = downlink(p, 6, body, blen);
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), -1, "TCP: -1");
	len = downlink(p, 0, body, blen);
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), -1, "NextHdr 0: -1");
	len = downlink(p, SCION_PROTO_UDP, body, blen);
	p[7]++;
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), -1, "PayloadLen + 1: -1");
	p[7]--;
	p[0] |= 0x10;
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), -1, "version 1: -1");
	p[0] &= 0x0f;
	p[9] = 0x80 | (p[9] & 0x0f);
	CHECK_EQ_INT(scion_dispatch_key(p, len, &h, &port), -1, "DT 2 (reserved): -1");
	p[9] = 0x33;
	p[5] = 9;
	CHECK_EQ_INT(
	    scion_dispatch_key(p, len, &h, &port), -1, "an address header longer than HdrLen: -1");
	CHECK_EQ_INT(scion_dispatch_key(p, 0, &h, &port), -1, "an empty datagram: -1");
}

int
main(void)
{
	test_golden();
	test_mutations();
	test_built();
	test_answers();
	test_dispatch();
	return check_done();
}
