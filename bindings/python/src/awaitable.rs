//! asyncio awaitables of the service's futures.
//!
//! Each call makes an `asyncio.Future` on the running loop and spawns the Rust future on
//! the binding's tokio runtime. Finished calls go through a channel to one thread that
//! takes the GIL once for everything finished meanwhile and hands the results to each
//! loop with a single `call_soon_threadsafe` per batch. (pyo3-async-runtimes' generic
//! bridge takes the GIL on a blocking thread, and wakes the loop, once per call: with
//! thousands of calls in flight that was most of the binding's cost.)
//!
//! The Rust call runs to completion even if its awaitable is cancelled; a cancelled
//! future's result is dropped. A panic in Rust fails its own call with a `RuntimeError`,
//! never the completing thread.

use std::future::Future;
use std::sync::mpsc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple};
use pyo3::IntoPyObjectExt;

/// The result of a finished call, converted under the GIL.
type Outcome = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// A finished call on its way to its event loop.
struct Done {
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
    outcome: Outcome,
}

/// A spawned call: sends its outcome when it finishes, or (dropped unfinished, a panic)
/// an error, so no awaitable waits forever.
struct Pending {
    done: mpsc::Sender<Done>,
    parts: Option<(Py<PyAny>, Py<PyAny>)>,
}

impl Pending {
    fn finish(mut self, outcome: Outcome) {
        if let Some((event_loop, future)) = self.parts.take() {
            // The completer lives as long as the process; a failed send drops the
            // references (pyo3 defers that until it holds the GIL).
            let _ = self.done.send(Done {
                event_loop,
                future,
                outcome,
            });
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some((event_loop, future)) = self.parts.take() {
            let _ = self.done.send(Done {
                event_loop,
                future,
                outcome: Box::new(|_| {
                    Err(PyRuntimeError::new_err(
                        "the call stopped before it finished (a panic in Rust)",
                    ))
                }),
            });
        }
    }
}

static COMPLETER: PyOnceLock<mpsc::Sender<Done>> = PyOnceLock::new();
static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SETTLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The channel to the completing thread (started on first use).
fn completer(py: Python<'_>) -> PyResult<&'static mpsc::Sender<Done>> {
    COMPLETER.get_or_try_init(py, || {
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("mdmkit-asyncio".into())
            .spawn(move || complete(receiver))
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start a thread: {e}")))?;
        Ok(sender)
    })
}

/// An asyncio awaitable of `future`, whose output is converted to Python under the GIL by
/// `convert`. Must be called with a running event loop (from a coroutine).
pub(crate) fn awaitable_with<'py, T, F, C>(
    py: Python<'py>,
    future: F,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    let get_running_loop = GET_RUNNING_LOOP.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    let event_loop = get_running_loop.bind(py).call0()?;
    let py_future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let pending = Pending {
        done: completer(py)?.clone(),
        parts: Some((event_loop.unbind(), py_future.clone().unbind())),
    };
    pyo3_async_runtimes::tokio::get_runtime().spawn(async move {
        let output = future.await;
        pending.finish(Box::new(move |py| convert(py, output)));
    });
    Ok(py_future)
}

/// The completing thread: per batch of finished calls, one GIL acquisition and one
/// `call_soon_threadsafe(settle, [(future, ok, value), ...])` per event loop.
fn complete(receiver: mpsc::Receiver<Done>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        batch.extend(receiver.try_iter().take(16_384));
        Python::attach(|py| {
            let settle = match SETTLE.get_or_try_init(py, || {
                wrap_pyfunction!(settle, py).map(|f| f.into_any().unbind())
            }) {
                Ok(settle) => settle,
                Err(error) => return error.write_unraisable(py, None),
            };
            while let Some(first) = batch.first() {
                let event_loop = first.event_loop.clone_ref(py);
                let (same, rest): (Vec<Done>, Vec<Done>) = batch
                    .into_iter()
                    .partition(|done| done.event_loop.is(&event_loop));
                batch = rest;
                if let Err(error) = hand_over(py, &event_loop, settle, same) {
                    // The loop is closed: nobody awaits these any more.
                    error.write_unraisable(py, None);
                }
            }
        });
    }
}

fn hand_over(
    py: Python<'_>,
    event_loop: &Py<PyAny>,
    settle: &Py<PyAny>,
    batch: Vec<Done>,
) -> PyResult<()> {
    let results = PyList::empty(py);
    for done in batch {
        // A panic while converting one result fails that call only: the completing thread
        // must live on, or every later awaitable would wait forever.
        let outcome = done.outcome;
        let converted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| outcome(py)))
            .unwrap_or_else(|_| {
                Err(PyRuntimeError::new_err(
                    "converting the result to Python failed (a panic in Rust)",
                ))
            });
        let (ok, value) = match converted {
            Ok(value) => (true, value),
            Err(error) => (false, error.into_value(py).into_any()),
        };
        results.append(PyTuple::new(py, [done.future, ok.into_py_any(py)?, value])?)?;
    }
    event_loop.call_method1(
        py,
        pyo3::intern!(py, "call_soon_threadsafe"),
        (settle, results),
    )?;
    Ok(())
}

/// Runs on the event loop: sets each future's result or exception (a cancelled future is
/// left as it is).
#[pyfunction]
fn settle(py: Python<'_>, results: &Bound<'_, PyList>) {
    for item in results.iter() {
        let settled = (|| -> PyResult<()> {
            let (future, ok, value): (Bound<'_, PyAny>, bool, Bound<'_, PyAny>) = item.extract()?;
            if future
                .call_method0(pyo3::intern!(py, "cancelled"))?
                .is_truthy()?
            {
                return Ok(());
            }
            let method = if ok {
                pyo3::intern!(py, "set_result")
            } else {
                pyo3::intern!(py, "set_exception")
            };
            future.call_method1(method, (value,))?;
            Ok(())
        })();
        if let Err(error) = settled {
            error.write_unraisable(py, None);
        }
    }
}
