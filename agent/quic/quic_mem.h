/* The memory allocator every ngtcp2 connection of this process uses (quic_mem.c), and what it
 * counts. Below the connection core: it knows ngtcp2's allocator interface, not connections.
 *
 * ngtcp2 0.12 keeps a few large blocks per connection for as long as the connection lives: its
 * object pools (frame chains, sent packets, streams: 64 objects each) and the node blocks of its
 * skip lists (8 nodes of up to 31 keys each), 4 to 12 KiB apiece, of which an idle connection
 * uses the first few hundred bytes. Taken from malloc, each such block is resident whole (malloc
 * writes headers at both ends and hands out pages others dirtied). Here a block of a page or
 * more gets whole pages of its own instead: the pages ngtcp2 never writes are never faulted in,
 * and when a block is freed its pages past the first are given back to the kernel
 * (MADV_DONTNEED), so a reused block is as cheap as a fresh one. Smaller requests, and zeroed
 * ones (calloc: objects ngtcp2 fills in whole), go to malloc. */
#ifndef AGENT_QUIC_MEM_H
#define AGENT_QUIC_MEM_H

#include <stddef.h>

#include <ngtcp2/ngtcp2.h>

/* What ngtcp2 holds through quic_mem() right now. */
struct quic_mem_stats {
	size_t bytes; /* allocated to ngtcp2: usable bytes of malloc'd ones + whole paged blocks */
	size_t allocs; /* live allocations */
	size_t paged_bytes; /* of bytes, in page blocks (resident only where ngtcp2 wrote) */
	size_t paged_blocks;
	size_t paged_free_bytes; /* page blocks kept for reuse (their first pages are resident) */
};

/* The allocator to give ngtcp2_conn_server_new()/client_new(). One per process, for the one
 * thread that runs the QUIC connections (not thread-safe). */
const ngtcp2_mem *quic_mem(void);

/* Its counters, into *st. */
void quic_mem_stats(struct quic_mem_stats *st);

#endif
