//! One BGP peer: a tokio task that owns the TCP connection and the FSM, and reports to the
//! instance. Sockets are made inside the VRF's host namespace (the exception path) on a
//! short-lived thread, so the session crosses the DPDK ports like any traffic to the appliance.
//!
//! ```text
//!   deadline ─┐                      ┌─► PeerEvent::{State, Established, Update, Down} ─► instance
//!   socket ───┼─► Fsm::handle ─► Out ┤
//!   connect ──┘                      └─► write / connect / close
//! ```

use super::adj_out::{AdjRibOut, LocalRib, OutCxt};
use super::fsm::{Event, Fsm, Out, PeerConf, State};
use super::packet::message::{afi, safi};
use super::packet::update::{Action, DecodeCxt, Decoded, Update};
use super::packet::{message_len, Message, Notification};
use super::sockopt::{self, SockOpts};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

#[derive(Debug)]
pub enum PeerEvent {
    State(State),
    Established {
        four_octet_as: bool,
        peer_router_id: std::net::Ipv4Addr,
        hold_time: u16,
    },
    Update(Box<Decoded>),
    Down(String),
    /// Messages written to the peer.
    Sent(u64),
    Received,
    /// What the peer holds of ours after a sync: routes, and totals so far.
    AdjOut {
        routes: usize,
        advertised: u64,
        withdrawn: u64,
    },
    RefreshRequested,
}

pub type PeerTx = mpsc::Sender<(IpAddr, PeerEvent)>;

/// Connects from inside network namespace `netns`: the socket is made there (and keeps it)
/// with the neighbour's options set before the SYN.
async fn connect_in(netns: String, addr: SocketAddr, opts: SockOpts) -> std::io::Result<TcpStream> {
    let s = in_netns(netns, move || {
        let s = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        sockopt::apply(s.as_raw_fd(), addr.is_ipv6(), addr.ip(), &opts)?;
        if let Some(src) = opts.source {
            s.bind(SocketAddr::new(src, 0))?;
        }
        s.set_nodelay(true)?;
        Ok(s)
    })
    .await?;
    tokio::time::timeout(Duration::from_secs(3), s.connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// Runs `f` on a short-lived thread inside network namespace `netns`.
async fn in_netns<T: Send + 'static>(
    netns: String,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let r = (|| {
            let ns = std::fs::File::open(format!("/run/netns/{netns}"))?;
            // SAFETY: setns on this thread only; the fd is valid for the call.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            f()
        })();
        let _ = tx.send(r);
    });
    rx.await
        .map_err(|_| std::io::Error::other("netns thread died"))?
}

/// Listens for BGP connections in `netns` and hands each to the session of its source
/// address; connections from unknown addresses are closed.
pub async fn listen(
    netns: String,
    port: u16,
    sessions: std::collections::HashMap<IpAddr, (mpsc::Sender<TcpStream>, SockOpts)>,
) {
    let keys: Vec<(IpAddr, Vec<u8>)> = sessions
        .iter()
        .filter_map(|(a, (_, o))| o.md5_key.clone().map(|k| (*a, k)))
        .collect();
    let l = in_netns(netns.clone(), move || {
        let (l, v6) = match std::net::TcpListener::bind(("::", port)) {
            Ok(l) => (l, true),
            Err(_) => (std::net::TcpListener::bind(("0.0.0.0", port))?, false),
        };
        // TCP-MD5 keys go on the listener, per peer: the kernel checks the SYN against them.
        for (peer, k) in &keys {
            sockopt::set_md5(l.as_raw_fd(), v6, *peer, k)?;
        }
        l.set_nonblocking(true)?;
        Ok(l)
    })
    .await
    .and_then(tokio::net::TcpListener::from_std);
    let l = match l {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%netns, port, "cannot listen for BGP: {e}");
            return;
        }
    };
    tracing::info!(%netns, port, "listening for BGP");
    loop {
        let Ok((s, from)) = l.accept().await else {
            continue;
        };
        let ip = match from.ip() {
            IpAddr::V6(v) => v.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v)),
            v4 => v4,
        };
        match sessions.get(&ip) {
            Some((tx, o)) => {
                let _ = s.set_nodelay(true);
                if let Some(h) = o.ttl_hops {
                    if let Err(e) = sockopt::set_gtsm(s.as_raw_fd(), from.is_ipv6(), h) {
                        tracing::warn!(%from, "GTSM on an accepted connection: {e}");
                    }
                }
                let _ = tx.send(s).await;
            }
            None => tracing::warn!(%from, "BGP connection from an unconfigured address: closed"),
        }
    }
}

/// RFC 4271 §10 jitter: a factor in [0.75, 1.0].
fn jitter(d: Duration) -> Duration {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d.mul_f64(0.75 + f64::from(n % 1000) / 4000.0)
}

/// How a session task talks with the instance.
pub struct Links {
    /// The routes to advertise.
    pub local: tokio::sync::watch::Receiver<LocalRib>,
    /// Connections the listener accepted from this peer.
    pub incoming: mpsc::Receiver<TcpStream>,
    /// Reports to the instance.
    pub tx: PeerTx,
    /// Set once, on shutdown.
    pub stop: tokio::sync::watch::Receiver<bool>,
    /// End the session with this NOTIFICATION (max-prefix).
    pub cease: mpsc::Receiver<Notification>,
    /// Advertise only these EVPN route types (None: all).
    pub route_types: Option<Vec<u8>>,
    /// BGP next hop of our routes (the VXLAN tunnel source); default: the router id.
    pub next_hop: Option<IpAddr>,
}

pub async fn run(conf: PeerConf, addr: SocketAddr, netns: String, opts: SockOpts, links: Links) {
    let Links {
        mut local,
        mut incoming,
        tx,
        mut stop,
        mut cease,
        route_types,
        next_hop,
    } = links;
    let peer = addr.ip();
    let ebgp = conf.local_as != conf.remote_as;
    let mut conf = conf;
    conf.connect_retry = jitter(conf.connect_retry);
    let mut fsm = Fsm::new(conf);
    let mut sock: Option<TcpStream> = None;
    let mut buf: Vec<u8> = Vec::with_capacity(65536);
    let mut cx = DecodeCxt {
        four_octet_as: true,
        ebgp,
    };
    let mut pending = vec![Event::Start];
    let mut last_state = fsm.state;
    let mut adj_out = AdjRibOut::default();
    let mut out_cx = OutCxt {
        local_as: fsm.conf.local_as,
        ebgp,
        next_hop: next_hop.unwrap_or(IpAddr::V4(fsm.conf.router_id)),
        four_octet_as: true,
    };
    let mut stopping = false;
    loop {
        // Feed queued events, act on the outputs.
        while let Some(ev) = pending.pop() {
            for o in fsm.handle(Instant::now(), ev) {
                match o {
                    Out::Connect => match connect_in(netns.clone(), addr, opts.clone()).await {
                        Ok(s) => {
                            sock = Some(s);
                            buf.clear();
                            pending.push(Event::TcpUp);
                        }
                        Err(e) => {
                            tracing::debug!(%peer, "connect: {e}");
                            pending.push(Event::TcpDown);
                        }
                    },
                    Out::Send(m) => {
                        if let Some(s) = sock.as_mut() {
                            if s.write_all(&m.encode()).await.is_err() {
                                sock = None;
                                pending.push(Event::TcpDown);
                            } else {
                                let _ = tx.send((peer, PeerEvent::Sent(1))).await;
                            }
                        }
                    }
                    Out::Close => sock = None,
                    Out::Established => {
                        if let Some(n) = &fsm.negotiated {
                            cx.four_octet_as = n.four_octet_as;
                            out_cx.four_octet_as = n.four_octet_as;
                            let _ = tx
                                .send((
                                    peer,
                                    PeerEvent::Established {
                                        four_octet_as: n.four_octet_as,
                                        peer_router_id: n.peer_router_id,
                                        hold_time: n.hold_time,
                                    },
                                ))
                                .await;
                            adj_out.reset();
                            local.mark_changed();
                        }
                    }
                    Out::RouteRefresh { afi: a, safi: s } => {
                        if (a, s) == (afi::L2VPN, safi::EVPN) {
                            let _ = tx.send((peer, PeerEvent::RefreshRequested)).await;
                            adj_out.reset();
                            local.mark_changed();
                        }
                    }
                    Out::Update(body) => {
                        let d = Update::decode(&body, &cx);
                        if d.action == Action::SessionReset {
                            let n = d
                                .notification()
                                .unwrap_or_else(|| Notification::new(3, 1, Vec::new()));
                            tracing::warn!(%peer, errors = ?d.errors, "UPDATE calls for a session reset");
                            pending.push(Event::UpdateError(n));
                        } else {
                            if !d.errors.is_empty() || !d.nlri_errors.is_empty() {
                                tracing::warn!(%peer, action = ?d.action, errors = ?d.errors, nlri = ?d.nlri_errors, "UPDATE errors (RFC 7606)");
                            }
                            let _ = tx.send((peer, PeerEvent::Update(Box::new(d)))).await;
                        }
                    }
                    Out::Down(why) => {
                        adj_out.reset();
                        let _ = tx.send((peer, PeerEvent::Down(why))).await;
                    }
                }
            }
            if fsm.state != last_state {
                last_state = fsm.state;
                let _ = tx.send((peer, PeerEvent::State(fsm.state))).await;
            }
        }
        if stopping {
            // ManualStop sent its Cease and closed: the task ends with the instance.
            if let Some(mut s) = sock.take() {
                let _ = s.shutdown().await;
            }
            return;
        }
        // Wait for the next timer or bytes from the peer.
        let deadline = fsm.next_deadline().map(tokio::time::Instant::from_std);
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let established = fsm.state == State::Established && sock.is_some();
        let mut chunk = [0u8; 16384];
        let read = async {
            match sock.as_mut() {
                Some(s) => s.read(&mut chunk).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(n) = cease.recv() => {
                // The instance ends the session (max-prefix): NOTIFICATION, then Idle.
                pending.push(Event::UpdateError(n));
            }
            _ = stop.changed() => {
                // Administrative shutdown: Cease (RFC 4486 subcode 2) so the peer re-elects
                // and re-routes at once instead of after its hold time.
                stopping = true;
                pending.push(Event::Stop);
            }
            r = local.changed(), if established => {
                if r.is_err() {
                    pending.push(Event::Stop); // the instance is gone
                    continue;
                }
                let mut want = local.borrow_and_update().clone();
                if let Some(types) = &route_types {
                    want = std::sync::Arc::new(
                        want.iter()
                            .filter(|(k, _)| types.contains(&k.code()))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    );
                }
                let bodies = adj_out.sync(&want, &out_cx);
                let n = bodies.len();
                let mut failed = false;
                if let Some(s) = sock.as_mut() {
                    for b in bodies {
                        if s.write_all(&Message::Update(b).encode()).await.is_err() {
                            failed = true;
                            break;
                        }
                    }
                }
                if failed {
                    sock = None;
                    pending.push(Event::TcpDown);
                } else if n > 0 {
                    let _ = tx.send((peer, PeerEvent::Sent(n as u64))).await;
                    let _ = tx
                        .send((peer, PeerEvent::AdjOut {
                            routes: adj_out.len(),
                            advertised: adj_out.advertised,
                            withdrawn: adj_out.withdrawn,
                        }))
                        .await;
                }
            }
            Some(s) = incoming.recv() => {
                // RFC 4271 §6.8, simplified: an Established session wins; otherwise the
                // connection initiated by the higher BGP identifier wins, taking the peer's
                // address for its identifier until its OPEN is read (true when the router id is
                // the session address, as in the labs).
                let peer_id = match peer { IpAddr::V4(a) => u32::from(a), IpAddr::V6(_) => 0 };
                let ours_wins = u32::from(fsm.conf.router_id) > peer_id;
                match fsm.state {
                    State::Established => drop(s),
                    State::Idle | State::Connect | State::Active => {
                        sock = Some(s);
                        buf.clear();
                        pending.push(Event::TcpUp);
                    }
                    State::OpenSent | State::OpenConfirm if !ours_wins => {
                        tracing::info!(%peer, "connection collision: keeping the peer's connection");
                        sock = Some(s);
                        buf.clear();
                        pending.push(Event::Collision);
                    }
                    State::OpenSent | State::OpenConfirm => drop(s),
                }
            }
            _ = sleep => {
                if let Some(t) = fsm.expired(Instant::now()) {
                    pending.push(Event::Timer(t));
                }
            }
            r = read => match r {
                Ok(0) | Err(_) => {
                    sock = None;
                    pending.push(Event::TcpDown);
                }
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    let mut evs = Vec::new();
                    loop {
                        match message_len(&buf) {
                            Ok(Some(len)) if buf.len() >= len => {
                                let m: Vec<u8> = buf.drain(..len).collect();
                                let _ = tx.send((peer, PeerEvent::Received)).await;
                                match Message::decode(&m) {
                                    Ok(msg) => evs.push(Event::Msg(msg)),
                                    Err(e) => {
                                        evs.push(Event::MsgError(e));
                                        break;
                                    }
                                }
                            }
                            Ok(_) => break,
                            Err(e) => {
                                evs.push(Event::MsgError(e));
                                buf.clear();
                                break;
                            }
                        }
                    }
                    evs.reverse(); // `pending` pops from the end
                    pending.extend(evs);
                }
            },
        }
    }
}
