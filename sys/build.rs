//! Binds Debian's DPDK 22.11: pkg-config for the link lines, the raw `--cflags` for the shim and
//! bindgen (they carry `-march=corei7` and `-include rte_config.h`, which `rte_memcpy.h` needs).
use std::{env, path::PathBuf, process::Command};

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=shim.h");
    println!("cargo:rerun-if-changed=shim.c");
    let out = Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .expect("pkg-config is not installed (apt-get install pkg-config libdpdk-dev)");
    assert!(
        out.status.success(),
        "pkg-config cannot find libdpdk: apt-get install libdpdk-dev"
    );
    let cflags: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(Into::into)
        .collect();
    pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
        .expect("libdpdk >= 22.11");
    // PMD-specific API used by tests (wires between two ports in one process).
    println!("cargo:rustc-link-lib=dylib=rte_net_ring");
    // rte_vdev_init: probing vdevs at runtime (ports and host TAPs).
    println!("cargo:rustc-link-lib=dylib=rte_bus_vdev");
    // rte_eth_bond_*: the DPDK bonding driver as an independent LACP partner in tests.
    println!("cargo:rustc-link-lib=dylib=rte_net_bond");

    let mut cc = cc::Build::new();
    cc.file("shim.c").include(".").opt_level(3).warnings(false);
    for f in &cflags {
        cc.flag(f);
    }
    cc.compile("dpdk_shim");

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(&cflags)
        .clang_arg("-I.")
        .allowlist_function("rte_.*|shim_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*|RING_F_.*|SOCKET_ID_ANY")
        .opaque_type("rte_arp_ipv4")
        .opaque_type("rte_arp_hdr")
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        .opaque_type("port_params") // packed, holds the aligned rte_ether_addr (E0588)
        .derive_default(true)
        .derive_debug(false)
        .prepend_enum_name(false)
        .generate_comments(false)
        .layout_tests(false)
        .generate()
        .expect("bindgen over wrapper.h")
        .write_to_file(out_dir.join("bindings.rs"))
        .expect("write bindings.rs");
}
