//! Support shared by the linearizability tests (included with `mod support;`; not a test binary
//! of its own).

pub mod oracle;
