//! Where workers report invocations and completions (the harness's journal).

use histories::Event;

/// Receives every invocation before it is sent and every completion after it is known. The
/// implementation stamps `index` and `time`, so a recorded invocation is never later than the
/// request and a recorded completion never earlier than the response.
pub trait Recorder: Send + Sync + 'static {
    fn append(&self, ev: Event);
}
