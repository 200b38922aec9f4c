//! The RFC 4271 §8 finite state machine for one peer and one connection, with time as an
//! input: `handle(now, event)` returns what to do, `expired(now)` turns due timers into events.
//! The session task owns the socket and feeds this machine; tests drive it in microseconds.
//!
//! ```text
//! Idle ─Start─► Connect ─TcpUp/send OPEN─► OpenSent ─OPEN ok/send KEEPALIVE─► OpenConfirm
//!   ▲             │ TcpDown                   │                                 │ KEEPALIVE
//!   │             ▼                           ▼                                 ▼
//!   └──error/NOTIFICATION/hold expiry── Active ◄─ConnectRetry─┘          Established
//! ```

use super::packet::error::{DecodeError, Notification};
use super::packet::message::{Capability, Message, Open};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// Hold time while the peer's OPEN is awaited (RFC 4271 §8.2.2: "large value", 4 minutes).
const LARGE_HOLD: Duration = Duration::from_secs(240);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// ConnectRetryTimer_Expires
    ConnectRetry,
    /// HoldTimer_Expires
    Hold,
    /// KeepaliveTimer_Expires
    Keepalive,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// ManualStart
    Start,
    /// ManualStop
    Stop,
    /// Tcp_CR_Acked / TcpConnectionConfirmed
    TcpUp,
    /// TcpConnectionFails
    TcpDown,
    /// BGPOpen, KeepAliveMsg, UpdateMsg, NotifMsg, RouteRefresh
    Msg(Message),
    /// BGPHeaderErr / BGPOpenMsgErr
    MsgError(DecodeError),
    /// UpdateMsgErr that RFC 7606 says must reset the session.
    UpdateError(Notification),
    /// OpenCollisionDump for our connection: the session continues on the peer's connection
    /// (already installed by the session task), so start over from OPEN on it.
    Collision,
    Timer(Timer),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Open a TCP connection to the peer.
    Connect,
    Send(Message),
    /// Close the TCP connection (after sending what precedes).
    Close,
    Established,
    /// An UPDATE body for the RIB (Established only).
    Update(Vec<u8>),
    /// The session went down from Established: flush the peer's routes.
    Down(String),
    /// The peer asked for our routes again (RFC 2918).
    RouteRefresh {
        afi: u16,
        safi: u8,
    },
}

#[derive(Debug, Clone)]
pub struct PeerConf {
    pub local_as: u32,
    pub remote_as: u32,
    pub router_id: Ipv4Addr,
    pub hold_time: u16,
    pub connect_retry: Duration,
    pub capabilities: Vec<Capability>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Negotiated {
    pub hold_time: u16,
    pub four_octet_as: bool,
    pub peer_router_id: Ipv4Addr,
    pub peer_as: u32,
}

pub struct Fsm {
    pub conf: PeerConf,
    pub state: State,
    pub negotiated: Option<Negotiated>,
    pub last_error: Option<String>,
    pub established_count: u64,
    connect_retry: Option<Instant>,
    hold: Option<Instant>,
    keepalive: Option<Instant>,
}

impl Fsm {
    pub fn new(conf: PeerConf) -> Fsm {
        Fsm {
            conf,
            state: State::Idle,
            negotiated: None,
            last_error: None,
            established_count: 0,
            connect_retry: None,
            hold: None,
            keepalive: None,
        }
    }

    fn open(&self) -> Message {
        Message::Open(Open::new(
            self.conf.local_as,
            self.conf.hold_time,
            self.conf.router_id,
            self.conf.capabilities.clone(),
        ))
    }

    /// The next instant at which a timer is due, for the session task to sleep until.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.connect_retry, self.hold, self.keepalive]
            .into_iter()
            .flatten()
            .min()
    }

    /// The first timer due at `now`, if any (feed it back as `Event::Timer`).
    pub fn expired(&self, now: Instant) -> Option<Timer> {
        let due = |t: Option<Instant>| t.is_some_and(|t| now >= t);
        if due(self.hold) {
            Some(Timer::Hold)
        } else if due(self.keepalive) {
            Some(Timer::Keepalive)
        } else if due(self.connect_retry) {
            Some(Timer::ConnectRetry)
        } else {
            None
        }
    }

    fn go_idle(&mut self, now: Instant, why: String, out: &mut Vec<Out>) -> State {
        if self.state == State::Established {
            out.push(Out::Down(why.clone()));
        }
        self.last_error = Some(why);
        self.negotiated = None;
        self.hold = None;
        self.keepalive = None;
        // Automatic restart after the connect-retry interval (IdleHold folded into it).
        self.connect_retry = Some(now + self.conf.connect_retry);
        State::Idle
    }

    fn notify_and_idle(&mut self, now: Instant, n: Notification, out: &mut Vec<Out>) -> State {
        let why = format!("sent NOTIFICATION {n}");
        out.push(Out::Send(Message::Notification(n)));
        out.push(Out::Close);
        self.go_idle(now, why, out)
    }

    fn check_open(&self, o: &Open) -> Result<Negotiated, Notification> {
        let peer_as = o.asn();
        if peer_as != self.conf.remote_as {
            return Err(Notification::new(2, 2, Vec::new()));
        }
        if o.router_id == self.conf.router_id && self.conf.remote_as == self.conf.local_as {
            return Err(Notification::new(2, 3, Vec::new()));
        }
        let four = o
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)));
        Ok(Negotiated {
            hold_time: o.hold_time.min(self.conf.hold_time),
            four_octet_as: four,
            peer_router_id: o.router_id,
            peer_as,
        })
    }

    fn restart_hold(&mut self, now: Instant) {
        self.hold = match &self.negotiated {
            Some(n) if n.hold_time > 0 => Some(now + Duration::from_secs(u64::from(n.hold_time))),
            Some(_) => None,
            None => Some(now + LARGE_HOLD),
        };
    }

    fn restart_keepalive(&mut self, now: Instant) {
        self.keepalive = match &self.negotiated {
            Some(n) if n.hold_time > 0 => {
                Some(now + Duration::from_secs(u64::from(n.hold_time / 3).max(1)))
            }
            _ => None,
        };
    }

    pub fn handle(&mut self, now: Instant, ev: Event) -> Vec<Out> {
        let mut out = Vec::new();
        use State::*;
        let next = match (self.state, ev) {
            (Idle, Event::Start) | (Idle, Event::Timer(Timer::ConnectRetry)) => {
                self.connect_retry = Some(now + self.conf.connect_retry);
                out.push(Out::Connect);
                Connect
            }
            // A connection from the peer while we wait to retry: automatic start with passive
            // TCP establishment (RFC 4271 §8.1.1, event 5), else two peers that both back off
            // can keep refusing each other's connections in lockstep.
            (Idle, Event::TcpUp) => {
                self.connect_retry = None;
                out.push(Out::Send(self.open()));
                self.hold = Some(now + LARGE_HOLD);
                OpenSent
            }
            (Idle, _) => Idle,
            (_, Event::Stop) => {
                self.notify_and_idle(now, Notification::new(6, 2, Vec::new()), &mut out)
            }
            (Connect | Active, Event::TcpUp) => {
                self.connect_retry = None;
                out.push(Out::Send(self.open()));
                self.hold = Some(now + LARGE_HOLD);
                OpenSent
            }
            (Connect | Active, Event::TcpDown) => {
                self.connect_retry = Some(now + self.conf.connect_retry);
                Active
            }
            (Connect | Active, Event::Timer(Timer::ConnectRetry)) => {
                self.connect_retry = Some(now + self.conf.connect_retry);
                out.push(Out::Connect);
                Connect
            }
            (Connect | Active, _) => Active,
            (OpenSent, Event::Msg(Message::Open(o))) => match self.check_open(&o) {
                Ok(n) => {
                    self.negotiated = Some(n);
                    out.push(Out::Send(Message::Keepalive));
                    self.restart_hold(now);
                    self.restart_keepalive(now);
                    OpenConfirm
                }
                Err(n) => self.notify_and_idle(now, n, &mut out),
            },
            (OpenConfirm, Event::Msg(Message::Keepalive)) => {
                self.restart_hold(now);
                self.established_count += 1;
                out.push(Out::Established);
                Established
            }
            (Established, Event::Msg(Message::Keepalive)) => {
                self.restart_hold(now);
                Established
            }
            (Established, Event::Msg(Message::Update(b))) => {
                self.restart_hold(now);
                out.push(Out::Update(b));
                Established
            }
            (Established, Event::Msg(Message::RouteRefresh { afi, safi, .. })) => {
                self.restart_hold(now);
                out.push(Out::RouteRefresh { afi, safi });
                Established
            }
            (OpenSent | OpenConfirm | Established, Event::Timer(Timer::Keepalive)) => {
                out.push(Out::Send(Message::Keepalive));
                self.restart_keepalive(now);
                self.state
            }
            (_, Event::Timer(Timer::Hold)) => {
                self.notify_and_idle(now, Notification::new(4, 0, Vec::new()), &mut out)
            }
            (_, Event::Msg(Message::Notification(n))) => {
                out.push(Out::Close);
                self.go_idle(now, format!("received NOTIFICATION {n}"), &mut out)
            }
            (_, Event::UpdateError(n)) => self.notify_and_idle(now, n, &mut out),
            (OpenSent | OpenConfirm, Event::Collision) => {
                self.negotiated = None;
                out.push(Out::Send(self.open()));
                self.hold = Some(now + LARGE_HOLD);
                self.keepalive = None;
                OpenSent
            }
            (_, Event::MsgError(e)) => match e.notification().cloned() {
                Some(n) => self.notify_and_idle(now, n, &mut out),
                None => {
                    out.push(Out::Close);
                    self.go_idle(now, e.to_string(), &mut out)
                }
            },
            (_, Event::TcpDown) => self.go_idle(now, "connection closed".into(), &mut out),
            // FSM error: unexpected message for the state (RFC 6608 subcodes).
            (s, Event::Msg(_)) => {
                let sub = match s {
                    OpenSent => 1,
                    OpenConfirm => 2,
                    _ => 3,
                };
                self.notify_and_idle(now, Notification::new(5, sub, Vec::new()), &mut out)
            }
            (s, _) => s,
        };
        if next != self.state {
            tracing::info!(from = ?self.state, to = ?next, "bgp fsm");
        }
        self.state = next;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::packet::message::{afi, safi};

    fn conf() -> PeerConf {
        PeerConf {
            local_as: 65001,
            remote_as: 65002,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            hold_time: 9,
            connect_retry: Duration::from_secs(5),
            capabilities: vec![Capability::Multiprotocol {
                afi: afi::L2VPN,
                safi: safi::EVPN,
            }],
        }
    }

    fn peer_open(asn: u32, hold: u16) -> Event {
        Event::Msg(Message::Open(Open::new(
            asn,
            hold,
            Ipv4Addr::new(10, 0, 0, 2),
            vec![],
        )))
    }

    fn up(f: &mut Fsm, t0: Instant) {
        assert_eq!(f.handle(t0, Event::Start), vec![Out::Connect]);
        let o = f.handle(t0, Event::TcpUp);
        assert!(matches!(&o[..], [Out::Send(Message::Open(_))]));
        assert_eq!(
            f.handle(t0, peer_open(65002, 30)),
            vec![Out::Send(Message::Keepalive)]
        );
        assert_eq!(f.state, State::OpenConfirm);
        assert_eq!(
            f.handle(t0, Event::Msg(Message::Keepalive)),
            vec![Out::Established]
        );
    }

    #[test]
    fn reaches_established_and_negotiates_the_smaller_hold_time() {
        let t0 = Instant::now();
        let mut f = Fsm::new(conf());
        up(&mut f, t0);
        assert_eq!(f.state, State::Established);
        assert_eq!(f.negotiated.as_ref().map(|n| n.hold_time), Some(9));
        assert_eq!(
            f.next_deadline(),
            Some(t0 + Duration::from_secs(3)),
            "keepalive every hold/3"
        );
        assert_eq!(
            f.expired(t0 + Duration::from_secs(3)),
            Some(Timer::Keepalive)
        );
        assert_eq!(
            f.handle(t0 + Duration::from_secs(3), Event::Timer(Timer::Keepalive)),
            vec![Out::Send(Message::Keepalive)]
        );
    }

    /// While backing off in Idle, a connection from the peer is taken (passive start), so two
    /// peers with the same retry period cannot refuse each other forever.
    #[test]
    fn idle_takes_the_peers_connection() {
        let t0 = Instant::now();
        let mut f = Fsm::new(conf());
        up(&mut f, t0);
        f.handle(t0, Event::TcpDown);
        assert_eq!(f.state, State::Idle);
        let o = f.handle(t0, Event::TcpUp);
        assert!(matches!(&o[..], [Out::Send(Message::Open(_))]), "{o:?}");
        assert_eq!(f.state, State::OpenSent);
        assert_eq!(
            f.expired(t0 + Duration::from_secs(5)),
            None,
            "no retry timer left"
        );
    }

    #[test]
    fn route_refresh_asks_for_a_readvertisement() {
        let t0 = Instant::now();
        let mut f = Fsm::new(conf());
        up(&mut f, t0);
        let o = f.handle(
            t0,
            Event::Msg(Message::RouteRefresh {
                afi: afi::L2VPN,
                subtype: 0,
                safi: safi::EVPN,
            }),
        );
        assert_eq!(
            o,
            vec![Out::RouteRefresh {
                afi: afi::L2VPN,
                safi: safi::EVPN
            }]
        );
        assert_eq!(f.state, State::Established);
    }

    #[test]
    fn hold_timer_expiry_sends_4_0_and_flushes() {
        let t0 = Instant::now();
        let mut f = Fsm::new(conf());
        up(&mut f, t0);
        let t = t0 + Duration::from_secs(9);
        assert_eq!(f.expired(t), Some(Timer::Hold));
        let o = f.handle(t, Event::Timer(Timer::Hold));
        assert_eq!(
            o[0],
            Out::Send(Message::Notification(Notification::new(4, 0, vec![])))
        );
        assert!(o.contains(&Out::Close));
        assert!(matches!(o.last(), Some(Out::Down(_))));
        assert_eq!(f.state, State::Idle);
        // and it comes back by itself after the retry interval
        assert_eq!(
            f.expired(t + Duration::from_secs(5)),
            Some(Timer::ConnectRetry)
        );
        assert_eq!(
            f.handle(
                t + Duration::from_secs(5),
                Event::Timer(Timer::ConnectRetry)
            ),
            vec![Out::Connect]
        );
    }

    #[test]
    fn wrong_peer_as_is_2_2() {
        let t0 = Instant::now();
        let mut f = Fsm::new(conf());
        f.handle(t0, Event::Start);
        f.handle(t0, Event::TcpUp);
        let o = f.handle(t0, peer_open(65003, 90));
        assert_eq!(
            o[0],
            Out::Send(Message::Notification(Notification::new(2, 2, vec![])))
        );
        assert_eq!(f.state, State::Idle);
    }

    #[test]
    fn updates_flow_only_when_established_and_restart_hold() {
        let t0 = Instant::now();
        let mut f = Fsm::new(conf());
        f.handle(t0, Event::Start);
        f.handle(t0, Event::TcpUp);
        let o = f.handle(t0, Event::Msg(Message::Update(vec![0, 0, 0, 0])));
        assert_eq!(
            o[0],
            Out::Send(Message::Notification(Notification::new(5, 1, vec![]))),
            "UPDATE in OpenSent"
        );
        let mut f = Fsm::new(conf());
        up(&mut f, t0);
        let t = t0 + Duration::from_secs(8);
        assert_eq!(
            f.handle(t, Event::Msg(Message::Update(vec![0, 0, 0, 0]))),
            vec![Out::Update(vec![0, 0, 0, 0])]
        );
        assert_eq!(
            f.expired(t0 + Duration::from_secs(10)),
            Some(Timer::Keepalive),
            "hold restarted by the UPDATE"
        );
    }

    #[test]
    fn collision_restarts_from_open_on_the_kept_connection() {
        let t0 = Instant::now();
        let mut f = Fsm::new(conf());
        f.handle(t0, Event::Start);
        f.handle(t0, Event::TcpUp);
        f.handle(t0, peer_open(65002, 30));
        assert_eq!(f.state, State::OpenConfirm);
        let o = f.handle(t0, Event::Collision);
        assert!(matches!(&o[..], [Out::Send(Message::Open(_))]));
        assert_eq!((f.state, f.negotiated.is_none()), (State::OpenSent, true));
    }

    #[test]
    fn connect_failure_retries_from_active() {
        let t0 = Instant::now();
        let mut f = Fsm::new(conf());
        f.handle(t0, Event::Start);
        assert!(f.handle(t0, Event::TcpDown).is_empty());
        assert_eq!(f.state, State::Active);
        assert_eq!(
            f.handle(
                t0 + Duration::from_secs(5),
                Event::Timer(Timer::ConnectRetry)
            ),
            vec![Out::Connect]
        );
        assert_eq!(f.state, State::Connect);
    }
}
