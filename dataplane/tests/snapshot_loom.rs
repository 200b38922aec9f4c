//! Test description: loom explores every interleaving of one publisher publishing twice and
//! reclaiming, against a worker reading snapshots. A retired value's destructor writes to it;
//! if reclaim could ever free a value a worker is still reading, loom reports the data race.
//! Run: RUSTFLAGS="--cfg loom" cargo test -p tandem-dataplane --test snapshot_loom --release
#![cfg(loom)]

use dataplane::snapshot::Publisher;
use loom::cell::UnsafeCell;

struct Table(UnsafeCell<u32>);

// SAFETY: readers only read the cell and the destructor is the only writer; whether those can
// overlap is exactly what loom checks here.
unsafe impl Sync for Table {}

impl Drop for Table {
    fn drop(&mut self) {
        self.0.with_mut(|p| unsafe { *p = 0xdead }); // a write that races any concurrent read
    }
}

#[test]
fn reclaim_never_frees_what_a_worker_reads() {
    loom::model(|| {
        let mut p = Publisher::new(Table(UnsafeCell::new(1)), 1);
        let mut sub = p.subscribe().expect("slot");
        let worker = loom::thread::spawn(move || {
            for _ in 0..2 {
                let t = sub.snapshot();
                let v = t.0.with(|p| unsafe { *p });
                assert!((1..=3).contains(&v), "read a freed table: {v:#x}");
            }
        });
        p.publish(Table(UnsafeCell::new(2)));
        p.publish(Table(UnsafeCell::new(3)));
        p.reclaim();
        worker.join().expect("worker");
        p.reclaim();
    });
}
