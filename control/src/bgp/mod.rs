//! BGP-4 (RFC 4271) for EVPN: the message codec (`packet`), the FSM (`fsm`), one task per
//! peer (`session`), and the per-peer RIBs (`rib` in, `adj_out` out).

pub mod adj_out;
pub mod fsm;
pub mod packet;
pub mod rib;
pub mod session;
pub mod sockopt;
