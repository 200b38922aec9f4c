//! tandem's control plane: the `tandemd` daemon's instance, its management API, the
//! neighbour table and the exception path set-up.

pub mod api;
pub mod bgp;
pub mod daemon;
pub mod events;
pub mod evpn;
pub mod hostif;
pub mod lacp;
pub mod mcast;
pub mod neigh;
pub mod overlay;
pub mod segment;
pub mod server;
