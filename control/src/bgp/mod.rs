//! BGP-4 (RFC 4271) for the BGP-EVPN issue. Today: the message codec (`packet`); the FSM,
//! sessions, RIBs and the EVPN NLRI come next.

pub mod fsm;
pub mod packet;
pub mod rib;
pub mod session;
