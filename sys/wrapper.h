/* Only the DPDK headers tandem uses; see build.rs. */
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_eth_ring.h>
#include <rte_bus_vdev.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_eth_bond.h>
#include <rte_eth_bond_8023ad.h>
#include "shim.h"
