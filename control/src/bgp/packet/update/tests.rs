//! Golden UPDATEs from shared/spec/evpn-routes.md §5 both ways, and the RFC 7606 outcome of
//! each malformation (bgp-core.md §5): the action is asserted, and treat-as-withdraw keeps the
//! routes it withdraws.

use super::*;
use crate::bgp::packet::ecomm::{df_alg, tunnel};
use crate::bgp::packet::evpn::{Esi, Rd};
use crate::bgp::packet::{hex, Message, HEADER_LEN};

const CX: DecodeCxt = DecodeCxt {
    four_octet_as: true,
    ebgp: false,
};

fn rt4() -> EvpnRoute {
    EvpnRoute::EthernetSegment {
        rd: Rd([0x00, 0x01, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x64]),
        esi: Esi([0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x64, 0x00]),
        originator: "192.0.2.1".parse().expect("ip"),
    }
}

const RT4_UPDATE: &str = "ffffffffffffffffffffffffffffffff 0066 02 0000 004f
    90 0e 0022 0019 46 04 c0000201 00
       04 17 0001c00002010064 01001122334455006400 20 c0000201
    40 01 01 00
    40 02 00
    40 05 04 00000064
    c0 10 18 0602001122334455 0606010000000000 030c000000000008";

fn rt4_update() -> Update {
    Update {
        attrs: Attrs {
            mp_reach: Some(MpReach {
                afi: afi::L2VPN,
                safi: safi::EVPN,
                next_hop: vec!["192.0.2.1".parse().expect("ip")],
                nlri: MpNlri::Evpn(vec![rt4()]),
            }),
            origin: Some(0),
            as_path: Some(vec![]),
            local_pref: Some(100),
            ext_communities: vec![
                ExtCommunity::es_import(config::MacAddr([0x00, 0x11, 0x22, 0x33, 0x44, 0x55])),
                ExtCommunity::df_election(df_alg::HRW, 0, 0),
                ExtCommunity::encapsulation(tunnel::VXLAN),
            ],
            ..Attrs::default()
        },
        ..Update::default()
    }
}

fn body(m: &str) -> Vec<u8> {
    hex(m)[HEADER_LEN..].to_vec()
}

fn wrap(body: &[u8]) -> Vec<u8> {
    Message::Update(body.to_vec()).encode()
}

#[test]
fn golden_rt4_update_both_ways() {
    let d = Update::decode(&body(RT4_UPDATE), &CX);
    assert_eq!(d.action, Action::None, "{:?}", d.errors);
    assert_eq!(d.update, rt4_update());
    assert_eq!(wrap(&rt4_update().encode(true)), hex(RT4_UPDATE));
}

const RT4_WITHDRAW: &str = "ffffffffffffffffffffffffffffffff 0037 02 0000 0020 90 0f 001c 0019 46
    04 17 00 01 c0 00 02 01 00 64 01 00 11 22 33 44 55 00 64 00 20 c0 00 02 01";

#[test]
fn golden_withdrawal_and_end_of_rib() {
    let w = Update {
        attrs: Attrs {
            mp_unreach: Some(MpUnreach {
                afi: afi::L2VPN,
                safi: safi::EVPN,
                nlri: MpNlri::Evpn(vec![rt4()]),
            }),
            ..Attrs::default()
        },
        ..Update::default()
    };
    let d = Update::decode(&body(RT4_WITHDRAW), &CX);
    assert_eq!((d.action, &d.update), (Action::None, &w));
    assert_eq!(wrap(&w.encode(true)), hex(RT4_WITHDRAW));
    let eor = hex("ffffffffffffffffffffffffffffffff 001d 02 0000 0006 80 0f 03 0019 46");
    assert_eq!(
        wrap(&Update::end_of_rib(afi::L2VPN, safi::EVPN).encode(true)),
        eor
    );
    let d = Update::decode(&eor[HEADER_LEN..], &CX);
    assert_eq!(d.action, Action::None);
    assert!(
        matches!(&d.update.attrs.mp_unreach, Some(MpUnreach { nlri: MpNlri::Evpn(r), .. }) if r.is_empty())
    );
}

/// Replaces the path attributes of the golden UPDATE (keeping MP_REACH first) and decodes.
fn with_attrs(extra: &str) -> Decoded {
    let mut attrs = hex(
        "90 0e 0022 0019 46 04 c0000201 00 04 17 0001c00002010064 01001122334455006400 20 c0000201",
    );
    attrs.extend(hex(extra));
    let mut b = vec![0, 0];
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend(attrs);
    Update::decode(&b, &CX)
}

#[test]
fn rfc7606_outcomes() {
    let ok = "40 01 01 00 40 02 00";
    let cases: &[(&str, &str, Action)] = &[
        ("well-formed", ok, Action::None),
        (
            "ORIGIN value 3",
            "40 01 01 03 40 02 00",
            Action::TreatAsWithdraw,
        ),
        (
            "ORIGIN length 2",
            "40 01 02 00 00 40 02 00",
            Action::TreatAsWithdraw,
        ),
        (
            "ORIGIN with optional flag",
            "c0 01 01 00 40 02 00",
            Action::TreatAsWithdraw,
        ),
        ("missing AS_PATH", "40 01 01 00", Action::TreatAsWithdraw),
        (
            "AS_PATH segment type 7",
            "40 01 01 00 40 02 06 07 01 00 00 fd e8",
            Action::TreatAsWithdraw,
        ),
        (
            "AS_PATH overrun",
            "40 01 01 00 40 02 06 02 02 00 00 fd e8",
            Action::TreatAsWithdraw,
        ),
        (
            "EXT_COMMUNITIES length 7",
            "40 01 01 00 40 02 00 c0 10 07 06 02 00 11 22 33 44",
            Action::TreatAsWithdraw,
        ),
        (
            "COMMUNITIES length 0",
            "40 01 01 00 40 02 00 c0 08 00",
            Action::TreatAsWithdraw,
        ),
        (
            "ATOMIC_AGGREGATE length 1",
            "40 01 01 00 40 02 00 40 06 01 00",
            Action::AttributeDiscard,
        ),
        (
            "ORIGIN twice (first kept)",
            "40 01 01 00 40 01 01 02 40 02 00",
            Action::AttributeDiscard,
        ),
        (
            "attribute overruns the attributes",
            "40 01 01 00 40 02 00 c0 10 40 00",
            Action::TreatAsWithdraw,
        ),
        (
            "unknown well-known attribute",
            "40 01 01 00 40 02 00 40 63 01 00",
            Action::SessionReset,
        ),
        (
            "unknown optional transitive: carried",
            "40 01 01 00 40 02 00 c0 63 01 2a",
            Action::None,
        ),
        (
            "MP_REACH twice",
            "40 01 01 00 40 02 00 90 0e 00 05 00 19 46 04 c0 00 02 01 00",
            Action::SessionReset,
        ),
    ];
    for (name, attrs, want) in cases {
        let d = with_attrs(attrs);
        assert_eq!(d.action, *want, "{name}: {:?}", d.errors);
        if *want == Action::TreatAsWithdraw {
            // The route is still known, so it can be withdrawn.
            assert!(
                matches!(&d.update.attrs.mp_reach, Some(MpReach { nlri: MpNlri::Evpn(r), .. }) if r.len() == 1),
                "{name}"
            );
        }
    }
    let d = with_attrs("40 01 01 00 40 02 00 c0 63 01 2a");
    assert_eq!(
        d.update.attrs.other,
        vec![RawAttr {
            flags: 0xe0,
            code: 0x63,
            value: vec![0x2a]
        }],
        "Partial bit set"
    );
}

#[test]
fn local_pref_from_ebgp_is_discarded() {
    let mut b = body(RT4_UPDATE);
    let d = Update::decode(
        &b,
        &DecodeCxt {
            four_octet_as: true,
            ebgp: true,
        },
    );
    assert_eq!(d.action, Action::AttributeDiscard);
    assert_eq!(d.update.attrs.local_pref, None);
    b[3] = 0xff; // attribute length beyond the message
    let d = Update::decode(&b, &CX);
    assert_eq!(d.action, Action::SessionReset);
    assert_eq!(d.notification(), Some(Notification::new(3, 1, vec![])));
}

#[test]
fn evpn_nlri_errors() {
    // An RT-2 with IP length 24 after the RT-4: that route alone is dropped.
    let d = with_attrs("40 01 01 00 40 02 00");
    assert!(d.nlri_errors.is_empty());
    let mut attrs = hex(
        "90 0e 0049 0019 46 04 c0000201 00 04 17 0001c00002010064 01001122334455006400 20 c0000201",
    );
    attrs.extend(hex(
        "02 25 0001c00002010064 01001122334455006400 00000001 30 aabbccddee01 18 c6336401 000000",
    ));
    attrs.extend(hex("40 01 01 00 40 02 00"));
    let mut b = vec![0, 0];
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend(attrs);
    let d = Update::decode(&b, &CX);
    assert_eq!(d.action, Action::None);
    assert_eq!(d.nlri_errors.len(), 1);
    assert!(
        matches!(&d.update.attrs.mp_reach, Some(MpReach { nlri: MpNlri::Evpn(r), .. }) if r.len() == 1)
    );
    // An unknown route type (11) is no error: it is kept aside as Unknown for the RIB to skip.
    let mut attrs = hex("90 0e 0027 0019 46 04 c0000201 00 04 17 0001c00002010064 01001122334455006400 20 c0000201 0b 03 010203");
    attrs.extend(hex("40 01 01 00 40 02 00"));
    let mut b = vec![0, 0];
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend(attrs);
    let d = Update::decode(&b, &CX);
    assert_eq!((d.action, d.nlri_errors.len()), (Action::None, 0));
    assert!(
        matches!(&d.update.attrs.mp_reach, Some(MpReach { nlri: MpNlri::Evpn(r), .. }) if r.len() == 2 && r[1].code() == 11)
    );
    // A Length that runs past the attribute cannot be walked: session reset.
    let mut attrs = hex("90 0e 000e 0019 46 04 c0000201 00 04 17 0001");
    attrs.extend(hex("40 01 01 00 40 02 00"));
    let mut b = vec![0, 0];
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend(attrs);
    let d = Update::decode(&b, &CX);
    assert_eq!(d.action, Action::SessionReset);
    assert_eq!(d.notification(), Some(Notification::new(3, 9, vec![])));
}

proptest::proptest! {
    #[test]
    fn decode_never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..300), ebgp: bool, four: bool) {
        let _ = Update::decode(&b, &DecodeCxt { four_octet_as: four, ebgp });
    }
}
