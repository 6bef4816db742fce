//! The `tracing` feature: an isolate's events are recorded under the caller's
//! subscriber, inside a span `isolate { name }` whose parent is the caller's
//! span.

use std::sync::{Arc, Mutex};

use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// What the recording layer saw of one event: its message and the names of
/// the spans around it, innermost first, with the isolate span's `name`.
#[derive(Debug, Default, Clone)]
struct Seen {
    message: String,
    scope: Vec<String>,
}

#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<Seen>>>,
    isolate_names: Arc<Mutex<Vec<String>>>,
}

struct FieldText(String, &'static str);

impl tracing::field::Visit for FieldText {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == self.1 {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() == "isolate" {
            let mut name = FieldText(String::new(), "name");
            attrs.record(&mut name);
            self.isolate_names.lock().unwrap().push(name.0);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut message = FieldText(String::new(), "message");
        event.record(&mut message);
        let scope = ctx
            .event_scope(event)
            .map(|scope| scope.map(|span| span.name().to_owned()).collect())
            .unwrap_or_default();
        self.events.lock().unwrap().push(Seen {
            message: message.0,
            scope,
        });
    }
}

#[test]
fn an_isolate_logs_inside_its_span_under_the_callers_span_and_subscriber() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    // A thread-local subscriber: the isolate's thread sees it only because
    // the crate carries the caller's dispatcher across.
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request", id = 7);
        let _entered = request.enter();
        isolate::Builder::new()
            .name("parse")
            .run(|| tracing::info!("parsing"))
            .join()
            .unwrap();
        isolate::run(isolate::Async(|| async { tracing::info!("async work") }))
            .join()
            .unwrap();
    });
    let events = recorder.events.lock().unwrap().clone();
    let parsing = events
        .iter()
        .find(|e| e.message == "parsing")
        .expect("the event was recorded");
    assert_eq!(parsing.scope, ["isolate", "request"]);
    let async_work = events
        .iter()
        .find(|e| e.message == "async work")
        .expect("recorded");
    assert_eq!(async_work.scope, ["isolate", "request"]);
    let names = recorder.isolate_names.lock().unwrap().clone();
    assert_eq!(names, ["parse", "<unnamed>"]);
}

#[test]
fn without_a_caller_span_the_isolate_span_is_a_root() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    tracing::subscriber::with_default(subscriber, || {
        isolate::run(|| tracing::info!("alone")).join().unwrap();
    });
    let events = recorder.events.lock().unwrap().clone();
    assert_eq!(events[0].scope, ["isolate"]);
}
