#include <string.h>

#include "ippkt.h"

int
ippkt_parse(const uint8_t *pkt, size_t len, struct ippkt *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 1)
		return -1;
	switch (pkt[0] >> 4) {
	case 4: {
		size_t ihl, total;

		if (len < IPPKT_V4_HDR)
			return -1;
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		total = (size_t)pkt[2] << 8 | pkt[3];
		if (ihl < IPPKT_V4_HDR || ihl > len || total != len)
			return -1;
		out->family = out->src.family = out->dst.family = 4;
		out->proto = pkt[9];
		out->hdr_len = ihl;
		memcpy(out->src.b, pkt + 12, 4);
		memcpy(out->dst.b, pkt + 16, 4);
		return 0;
	}
	case 6: {
		size_t payload;

		if (len < IPPKT_V6_HDR)
			return -1;
		payload = (size_t)pkt[4] << 8 | pkt[5];
		if (IPPKT_V6_HDR + payload != len)
			return -1;
		out->family = out->src.family = out->dst.family = 6;
		out->proto = pkt[6];
		out->hdr_len = IPPKT_V6_HDR;
		memcpy(out->src.b, pkt + 8, 16);
		memcpy(out->dst.b, pkt + 24, 16);
		return 0;
	}
	default: return -1;
	}
}
