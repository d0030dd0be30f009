//! Running blocking work (diesel calls, Argon2) off the async workers, inside the caller's span.

use gatehouse_domain::DomainError;

/// Runs `work` on tokio's blocking pool, within the current tracing span so that its logs keep the
/// request's fields. A panic or cancellation of the task is [`DomainError::Unexpected`].
pub(crate) async fn spawn_blocking_in_span<T, F>(work: F) -> Result<T, DomainError>
where
    F: FnOnce() -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(DomainError::unexpected)?
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::thread::{self, ThreadId};

    use tracing::{Dispatch, Event, Instrument, Metadata, Subscriber, span};

    use super::*;

    /// Records on which thread each span is entered, and keeps each thread's current span as
    /// real subscribers do, so that `Span::current()` works.
    #[derive(Clone, Default)]
    struct Recorder {
        entered: Arc<Mutex<Vec<(u64, ThreadId)>>>,
        stacks: Arc<Mutex<HashMap<ThreadId, Vec<u64>>>>,
        metadata: Arc<Mutex<Option<&'static Metadata<'static>>>>,
    }

    impl Subscriber for Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, attributes: &span::Attributes<'_>) -> span::Id {
            *self.metadata.lock().unwrap() = Some(attributes.metadata());
            span::Id::from_u64(7)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, span: &span::Id) {
            let thread = thread::current().id();
            self.entered.lock().unwrap().push((span.into_u64(), thread));
            let mut stacks = self.stacks.lock().unwrap();
            stacks.entry(thread).or_default().push(span.into_u64());
        }
        fn exit(&self, _: &span::Id) {
            let mut stacks = self.stacks.lock().unwrap();
            stacks.entry(thread::current().id()).or_default().pop();
        }
        fn current_span(&self) -> tracing_core::span::Current {
            let stacks = self.stacks.lock().unwrap();
            let top = stacks
                .get(&thread::current().id())
                .and_then(|stack| stack.last());
            match (top, *self.metadata.lock().unwrap()) {
                (Some(&id), Some(metadata)) => {
                    tracing_core::span::Current::new(span::Id::from_u64(id), metadata)
                }
                _ => tracing_core::span::Current::none(),
            }
        }
    }

    #[tokio::test]
    async fn blocking_work_runs_on_another_thread_inside_the_callers_span() {
        let recorder = Recorder::default();
        let _guard = tracing::dispatcher::set_default(&Dispatch::new(recorder.clone()));
        let caller = thread::current().id();
        let worker = async { spawn_blocking_in_span(|| Ok(thread::current().id())).await }
            .instrument(tracing::info_span!("request"))
            .await
            .unwrap();
        assert_ne!(worker, caller);
        assert!(recorder.entered.lock().unwrap().contains(&(7, worker)));
    }

    #[tokio::test]
    async fn a_panic_in_blocking_work_is_unexpected() {
        let result: Result<(), _> = spawn_blocking_in_span(|| panic!("boom")).await;
        assert!(matches!(result, Err(DomainError::Unexpected(_))));
    }
}
