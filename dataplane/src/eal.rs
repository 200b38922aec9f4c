//! EAL initialisation and the packet mempool. `rte_errno` and negative returns become
//! `EalError` here, at the FFI boundary.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;

#[derive(Debug, thiserror::Error)]
pub enum EalError {
    #[error("rte_eal_init failed (rte_errno {errno}: {msg}); see the EAL log above")]
    Init { errno: i32, msg: String },
    #[error("cannot create mempool {name}: {msg}")]
    Mempool { name: String, msg: String },
    #[error("port {name}: {what} failed: {msg}")]
    Port {
        name: String,
        what: &'static str,
        msg: String,
    },
    #[error("argument contains a NUL byte: {0:?}")]
    Nul(String),
}

pub fn strerror(errno: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local string.
    unsafe { CStr::from_ptr(sys::rte_strerror(errno)) }
        .to_string_lossy()
        .into_owned()
}

pub fn errno() -> i32 {
    // SAFETY: reads the calling thread's rte_errno.
    unsafe { sys::shim_rte_errno() }
}

/// Runs `rte_eal_init` once per process. `args[0]` is the program name.
pub fn init(args: &[String]) -> Result<(), EalError> {
    let c: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| EalError::Nul(a.clone())))
        .collect::<Result<_, _>>()?;
    let mut argv: Vec<*mut c_char> = c.iter().map(|s| s.as_ptr() as *mut c_char).collect();
    argv.push(std::ptr::null_mut());
    // SAFETY: argv is NULL-terminated and its strings outlive the call; EAL may permute argv
    // (not the strings). `c` is leaked on purpose: EAL keeps pointers into it.
    let r = unsafe { sys::rte_eal_init((argv.len() - 1) as i32, argv.as_mut_ptr()) };
    std::mem::forget(c);
    std::mem::forget(argv);
    if r < 0 {
        let e = errno();
        return Err(EalError::Init {
            errno: e,
            msg: strerror(e),
        });
    }
    Ok(())
}

/// The CPUs of EAL's worker lcores (every lcore of `-l` but the main one), in lcore order:
/// where workers run, away from the main lcore's control thread. Empty with one lcore.
pub fn worker_cpus() -> Vec<usize> {
    let mut cpus = Vec::new();
    // SAFETY: plain EAL queries after init (RTE_LCORE_FOREACH_WORKER).
    unsafe {
        let mut i = sys::rte_get_next_lcore(u32::MAX, 1, 0);
        while i < sys::RTE_MAX_LCORE {
            if let Ok(c) = usize::try_from(sys::rte_lcore_to_cpu_id(i as i32)) {
                cpus.push(c);
            }
            i = sys::rte_get_next_lcore(i, 1, 0);
        }
    }
    cpus
}

/// Pins the calling thread to `cpu`; false if the kernel refused.
pub fn pin_to(cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is empty; CPU_SET stays within it for cpu < CPU_SETSIZE.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= libc::CPU_SETSIZE as usize {
            return false;
        }
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Registers the calling (non-EAL) thread with EAL so it gets an lcore id and mempool cache.
pub fn register_thread() -> bool {
    // SAFETY: plain EAL call; fails harmlessly when no lcore id is free.
    unsafe { sys::rte_thread_register() == 0 }
}

/// A packet mbuf pool; lives for the whole process.
#[derive(Clone, Copy)]
pub struct Mempool(pub(crate) *mut sys::rte_mempool);

// SAFETY: DPDK mempools are thread-safe (lock-free ring per pool, per-lcore caches).
unsafe impl Send for Mempool {}
unsafe impl Sync for Mempool {}

impl Mempool {
    pub fn create(name: &str, n: u32) -> Result<Mempool, EalError> {
        let cname = CString::new(name).map_err(|_| EalError::Nul(name.into()))?;
        // SAFETY: valid name; EAL is initialised.
        let p = unsafe {
            sys::rte_pktmbuf_pool_create(
                cname.as_ptr(),
                n,
                256,
                0,
                sys::shim_rte_mbuf_default_buf_size(),
                sys::SOCKET_ID_ANY,
            )
        };
        if p.is_null() {
            return Err(EalError::Mempool {
                name: name.into(),
                msg: strerror(errno()),
            });
        }
        Ok(Mempool(p))
    }

    pub fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.0
    }

    /// Mbufs currently free in the pool (approximate under concurrency).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is valid for the process lifetime.
        unsafe { sys::rte_mempool_avail_count(self.0) }
    }
}

pub fn tsc_hz() -> u64 {
    // SAFETY: plain EAL call.
    unsafe { sys::shim_rte_get_tsc_hz() }
}

pub fn rdtsc() -> u64 {
    // SAFETY: reads the TSC.
    unsafe { sys::shim_rte_rdtsc() }
}
