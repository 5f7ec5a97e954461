//! Faults under load against the real server: abuse, soak, SIGTERM and certificate rotation under
//! load. One test binary.

mod fault_support;

mod fault_abuse;
mod fault_soak;
mod fault_under_load;
