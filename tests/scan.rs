//! `autoredeploy scan` against the fake API server on loopback (`autoredeploy::testing::fake_api`,
//! with the cluster's objects and the scan runner in `scan_objects`): the table, the
//! JSON report and one object explained (`scan_table`), `--fix` (`scan_fix`), and PolicyReports
//! checked against their CRD (`scan_policyreport`), the webhook's scope applied to both
//! (`scan_scope`), what scan reports held to what the engine does (`scan_engine`) and to what
//! the webhook answers on the next apply (`scan_agrees`), and what redeploys if an image moves
//! (`scan_image`). One test binary.

mod scan_objects;

mod scan_agrees;
mod scan_engine;
mod scan_fix;
mod scan_image;
mod scan_policyreport;
mod scan_scope;
mod scan_table;
