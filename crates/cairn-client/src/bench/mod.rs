//! The write load driver behind `cairn bench write`: closed-loop clients that each write a
//! record, wait until it is committed, and record both latencies; and the exact percentile
//! summary of what they measured.
pub mod etcd;
mod latency_summary;
mod write_bench;

pub use latency_summary::LatencySummary;
pub use write_bench::{
    ERROR_PAUSE, LogWriter, WriteBenchConfig, WriteBenchReport, WriteTarget, record_id, record_value, run_write_bench,
};
