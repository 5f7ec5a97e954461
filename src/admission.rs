//! The pure admission adapter: AdmissionReview bytes in, AdmissionReview out. The only reader
//! of [`crate::config::Mode`].
