//! Publishing immutable tables to workers without locks on the read side (QSBR).
//!
//! ```text
//!  control (one Publisher)                      worker i (one Subscriber each)
//!  publish(T):                                  snapshot(), once per burst:
//!    live.push((v, Arc<T>))                       v = version            (SeqCst)
//!    current = ptr(T)         (SeqCst)            if v changed:
//!    version = v              (SeqCst)              observed[i] = v      (SeqCst)  <- quiescent point
//!    reclaim: drop every live entry older           ptr = current        (SeqCst)
//!      than min(observed[*]), except current     &*ptr  (valid until the next call)
//! ```
//!
//! Why it is safe: a worker announces `observed = v` only when it no longer uses what it read
//! before (the borrow of the previous `snapshot()` has ended, `&mut self` enforces that), and
//! what it reads afterwards is at least version `v`, because `current` is stored before
//! `version`. So nothing older than the minimum observed version can be in use, and the
//! publisher drops it, on the control thread: workers never run a destructor or free memory.
//! An exited worker announces `u64::MAX`. The model check is `tests/snapshot_loom.rs`.

#[cfg(loom)]
use loom::sync::{
    atomic::{AtomicPtr, AtomicU64, Ordering::SeqCst},
    Arc, Mutex,
};
#[cfg(not(loom))]
use std::sync::{
    atomic::{AtomicPtr, AtomicU64, Ordering::SeqCst},
    Arc, Mutex,
};

#[cfg(loom)]
type Guard<'a, T> = loom::sync::MutexGuard<'a, T>;
#[cfg(not(loom))]
type Guard<'a, T> = std::sync::MutexGuard<'a, T>;

const OFFLINE: u64 = u64::MAX;

struct Shared<T> {
    current: AtomicPtr<T>, // publisher: w, subscribers: r
    version: AtomicU64,    // publisher: w, subscribers: r
    observed: Box<[crossbeam::utils::CachePadded<AtomicU64>]>, // subscriber i: w, publisher: r
    /// Published values not yet reclaimed, oldest first; the last is current.
    /// Locked by the publisher only.
    live: Mutex<Vec<(u64, Arc<T>)>>,
}

pub struct Publisher<T> {
    shared: Arc<Shared<T>>,
    next: u64,
}

pub struct Subscriber<T> {
    shared: Arc<Shared<T>>,
    slot: usize,
    version: u64,
    cached: *const T,
}

// SAFETY: the raw pointer is only dereferenced under the QSBR protocol above; T is shared
// immutably between threads, so it must be Sync, and it is dropped by the publisher.
unsafe impl<T: Send + Sync> Send for Subscriber<T> {}

impl<T: Send + Sync> Publisher<T> {
    /// A publisher with an initial value and room for `readers` subscribers.
    pub fn new(initial: T, readers: usize) -> Publisher<T> {
        let first = Arc::new(initial);
        let shared = Arc::new(Shared {
            current: AtomicPtr::new(Arc::as_ptr(&first) as *mut T),
            version: AtomicU64::new(1),
            observed: (0..readers)
                .map(|_| crossbeam::utils::CachePadded::new(AtomicU64::new(OFFLINE)))
                .collect(),
            live: Mutex::new(vec![(1, first)]),
        });
        Publisher { shared, next: 2 }
    }

    /// A reader handle; `None` when all slots are taken.
    pub fn subscribe(&mut self) -> Option<Subscriber<T>> {
        // A free slot reads OFFLINE; a dropped subscriber gives its slot back that way.
        // The new reader pins nothing older than the current version.
        let v = self.shared.version.load(SeqCst);
        let slot = self
            .shared
            .observed
            .iter()
            .position(|o| o.compare_exchange(OFFLINE, v, SeqCst, SeqCst).is_ok())?;
        let cached = self.shared.current.load(SeqCst);
        Some(Subscriber {
            shared: self.shared.clone(),
            slot,
            version: v,
            cached,
        })
    }

    /// Makes `value` current and reclaims what no reader can still see. Returns its version.
    pub fn publish(&mut self, value: T) -> u64 {
        let v = self.next;
        self.next += 1;
        let value = Arc::new(value);
        let ptr = Arc::as_ptr(&value) as *mut T;
        self.lock().push((v, value));
        self.shared.current.store(ptr, SeqCst);
        self.shared.version.store(v, SeqCst);
        self.reclaim();
        v
    }

    /// Drops every retired value older than all readers' observed versions.
    /// Returns how many values are still held.
    pub fn reclaim(&mut self) -> usize {
        let min = self
            .shared
            .observed
            .iter()
            .map(|o| o.load(SeqCst))
            .min()
            .unwrap_or(OFFLINE);
        let mut retired = Vec::new();
        let mut live = self.lock();
        let keep_from = live
            .iter()
            .position(|(v, _)| *v >= min)
            .unwrap_or(live.len() - 1)
            .min(live.len() - 1);
        retired.extend(live.drain(..keep_from));
        let n = live.len();
        drop(live);
        drop(retired); // destructors run here, on the publisher's thread, outside the lock
        n
    }

    /// The current value (control's view).
    pub fn current(&self) -> Arc<T> {
        let live = self.lock();
        live.last()
            .map(|(_, a)| a.clone())
            .expect("a current value always exists")
    }

    /// The lowest version any reader may still use.
    pub fn min_observed(&self) -> u64 {
        self.shared
            .observed
            .iter()
            .map(|o| o.load(SeqCst))
            .min()
            .unwrap_or(OFFLINE)
    }

    fn lock(&self) -> Guard<'_, Vec<(u64, Arc<T>)>> {
        #[cfg(not(loom))]
        return self.shared.live.lock().unwrap_or_else(|e| e.into_inner());
        #[cfg(loom)]
        return self.shared.live.lock().expect("not poisoned");
    }
}

impl<T> Subscriber<T> {
    /// The current value; call once per burst. The quiescent point is this call.
    #[inline]
    pub fn snapshot(&mut self) -> &T {
        let v = self.shared.version.load(SeqCst);
        if v != self.version {
            // Announce first (we hold nothing older than v any more), then read: what we read
            // is at least version v, because the publisher stores `current` before `version`.
            self.shared.observed[self.slot].store(v, SeqCst);
            self.cached = self.shared.current.load(SeqCst);
            self.version = v;
        }
        // SAFETY: the publisher keeps every value of version >= observed[slot] alive, and
        // `cached` is of version >= self.version == observed[slot] (see the module doc).
        unsafe { &*self.cached }
    }

    pub fn version(&self) -> u64 {
        self.version
    }
}

impl<T> Drop for Subscriber<T> {
    fn drop(&mut self) {
        self.shared.observed[self.slot].store(OFFLINE, SeqCst);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Counted(u32, Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn retired_values_wait_for_every_reader() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut p = Publisher::new(Counted(1, drops.clone()), 2);
        let mut a = p.subscribe().expect("slot");
        let mut b = p.subscribe().expect("slot");
        assert_eq!(a.snapshot().0, 1);
        p.publish(Counted(2, drops.clone()));
        assert_eq!(drops.load(SeqCst), 0, "readers still at version 1");
        assert_eq!(a.snapshot().0, 2);
        assert_eq!(p.reclaim(), 2, "b has not moved on");
        assert_eq!(b.snapshot().0, 2);
        assert_eq!(p.reclaim(), 1);
        assert_eq!(drops.load(SeqCst), 1);
        drop(b);
        p.publish(Counted(3, drops.clone()));
        assert_eq!(a.snapshot().0, 3);
        assert_eq!(p.reclaim(), 1);
        assert_eq!(drops.load(SeqCst), 2);
        assert!(p.subscribe().is_some(), "b's slot is free again");
    }
}
