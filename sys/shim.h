/* Exported one-line wrappers for DPDK's static-inline functions, thread-locals and macros,
 * which bindgen cannot bind. Keep them trivial: one call per burst is the budget; per-packet
 * work stays in Rust (these cannot inline across the language boundary). */
#ifndef TANDEM_SHIM_H
#define TANDEM_SHIM_H
#include <stdint.h>
#include <rte_mbuf.h>

uint16_t shim_rte_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t shim_rte_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
int shim_rte_errno(void);
struct rte_mbuf *shim_rte_pktmbuf_alloc(struct rte_mempool *mp);
void shim_rte_pktmbuf_free(struct rte_mbuf *m);
void shim_rte_pktmbuf_free_bulk(struct rte_mbuf **m, unsigned int n);
unsigned shim_rte_lcore_id(void);
uint64_t shim_rte_rdtsc(void);
uint64_t shim_rte_get_tsc_hz(void);
uint16_t shim_rte_mbuf_default_buf_size(void);
struct rte_lpm;
/* rte_lpm_lookup_bulk over n keys (the benchmark's rte_lpm baseline: one call per batch). */
void shim_rte_lpm_lookup_bulk(const struct rte_lpm *lpm, const uint32_t *ips, uint32_t *next_hops, unsigned n);
#endif
