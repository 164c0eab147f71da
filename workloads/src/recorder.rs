//! Where workers report invocations and completions (the harness's journal).

use crate::{Completion, Invocation};

/// Receives every invocation before it is sent and every completion after it is known. The
/// implementation stamps the time, so a recorded invocation is never later than the request and a
/// recorded completion never earlier than the response.
pub trait Recorder: Send + Sync + 'static {
    fn invoke(&self, process: u64, inv: &Invocation);
    fn complete(&self, process: u64, inv: &Invocation, done: &Completion);
}
