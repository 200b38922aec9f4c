#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include "shim.h"

uint16_t shim_rte_eth_rx_burst(uint16_t p, uint16_t q, struct rte_mbuf **b, uint16_t n) { return rte_eth_rx_burst(p, q, b, n); }
uint16_t shim_rte_eth_tx_burst(uint16_t p, uint16_t q, struct rte_mbuf **b, uint16_t n) { return rte_eth_tx_burst(p, q, b, n); }
int shim_rte_errno(void) { return rte_errno; }
struct rte_mbuf *shim_rte_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
void shim_rte_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
void shim_rte_pktmbuf_free_bulk(struct rte_mbuf **m, unsigned int n) { rte_pktmbuf_free_bulk(m, n); }
unsigned shim_rte_lcore_id(void) { return rte_lcore_id(); }
uint64_t shim_rte_rdtsc(void) { return rte_rdtsc(); }
uint64_t shim_rte_get_tsc_hz(void) { return rte_get_tsc_hz(); }
uint16_t shim_rte_mbuf_default_buf_size(void) { return RTE_MBUF_DEFAULT_BUF_SIZE; }

#include <rte_lpm.h>
void shim_rte_lpm_lookup_bulk(const struct rte_lpm *lpm, const uint32_t *ips, uint32_t *next_hops, unsigned n)
{
	rte_lpm_lookup_bulk(lpm, ips, next_hops, n);
}
