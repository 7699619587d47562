//! [`Link`]: the state of one live connection that a feed drives from its own thread, one poll at
//! a time: down until a retry time, an attempt under way until its deadline, or up. The
//! WebSocket feed (its attempt: resolving, TCP connect, handshake), the gRPC feed and the
//! JetStream feed (their attempt: a future on the feed's runtime) share it, with
//! [`READ_SLICE`], the longest any of them waits in one poll (`read_slice`: the gRPC feeds'
//! read, which under busy-polling does not wait at all).
//!
//! Each poll asks one question of the state: is a down link due for its next attempt
//! ([`Link::due`]), how far has the attempt come ([`Link::drive`] for a future), or what does
//! the open connection say. A failure goes back to `Down` with the delay the feed's
//! [`Backoff`](super::backoff::Backoff) gives.

use std::time::{Duration, Instant};

/// Longest a feed waits for its connection in one poll (a read in the kernel, a future on its
/// runtime) before it looks at its timers and the engine at the shutdown flag.
pub(crate) const READ_SLICE: Duration = Duration::from_millis(5);

/// The state of one live connection: `A` is an attempt under way, `U` the open connection.
#[derive(Debug)]
pub(crate) enum Link<A, U> {
    /// Not connected; the next attempt starts at `retry_at`.
    Down { retry_at: Instant },
    /// An attempt under way, given up at `deadline`.
    Connecting { attempt: A, deadline: Instant },
    /// Connected.
    Up(U),
}

impl<A, U> Link<A, U> {
    /// Down, the first attempt due at once.
    pub(crate) fn new() -> Self {
        Link::Down {
            retry_at: Instant::now(),
        }
    }

    /// Down, the next attempt due after `delay`.
    pub(crate) fn down(delay: Duration) -> Self {
        Link::Down {
            retry_at: Instant::now() + delay,
        }
    }

    /// An attempt that may take `timeout`.
    pub(crate) fn connecting(attempt: A, timeout: Duration) -> Self {
        Link::Connecting {
            attempt,
            deadline: Instant::now() + timeout,
        }
    }

    /// Down, and the next attempt is due at `now`.
    pub(crate) fn due(&self, now: Instant) -> bool {
        matches!(self, Link::Down { retry_at } if now >= *retry_at)
    }

    /// The open connection.
    pub(crate) fn up_mut(&mut self) -> Option<&mut U> {
        match self {
            Link::Up(u) => Some(u),
            _ => None,
        }
    }

    /// The state, leaving `Down` (due at once) in its place: for a step that consumes the
    /// attempt (a handshake that moves on) and puts the next state back.
    // The futures of the gRPC and JetStream feeds are driven in place (`drive`).
    #[cfg_attr(not(feature = "ws"), allow(dead_code))]
    pub(crate) fn take(&mut self) -> Self {
        std::mem::replace(self, Link::new())
    }
}

/// How far an attempt driven by a future has come in one poll.
#[cfg(any(feature = "geyser", feature = "shredstream", feature = "nats"))]
#[derive(Debug)]
pub(crate) enum Progress<T> {
    /// Not finished, deadline not reached.
    Pending,
    /// Not finished, and the deadline has passed.
    TimedOut,
    /// Finished with this outcome.
    Done(T),
}

#[cfg(any(feature = "geyser", feature = "shredstream", feature = "nats"))]
impl<A: std::future::Future + Unpin, U> Link<A, U> {
    /// Runs the attempt on `rt` for at most [`READ_SLICE`]; `None` when no attempt is under way.
    pub(crate) fn drive(&mut self, rt: &tokio::runtime::Runtime) -> Option<Progress<A::Output>> {
        let Link::Connecting { attempt, deadline } = self else {
            return None;
        };
        let r = rt.block_on(async { tokio::time::timeout(READ_SLICE, attempt).await });
        Some(match r {
            Ok(out) => Progress::Done(out),
            Err(_) if Instant::now() >= *deadline => Progress::TimedOut,
            Err(_) => Progress::Pending,
        })
    }
}

/// Runs `read` on `rt` for one poll of a feed: at most [`READ_SLICE`], or, when `busy`, without
/// waiting at all. `None`: nothing came.
///
/// Busy, `read` is polled once; if it is not ready, the runtime runs its ready tasks (the
/// connection's task moves what the socket had into the stream), polls its I/O driver with a
/// zero timeout (waking the tasks whose sockets have bytes: they run at the start of the next
/// poll) and `read` is polled once more. `read` is dropped when nothing came, so it must be
/// cancel-safe (tonic's `Streaming::message` keeps its state in the stream).
#[cfg(any(feature = "geyser", feature = "shredstream"))]
pub(crate) fn read_slice<F: std::future::Future>(
    rt: &tokio::runtime::Runtime,
    busy: bool,
    read: F,
) -> Option<F::Output> {
    if busy {
        rt.block_on(poll_now(read))
    } else {
        rt.block_on(async { tokio::time::timeout(READ_SLICE, read).await.ok() })
    }
}

/// `f`'s output if it is ready now, or once the runtime has had one turn without waiting
/// (`yield_now` hands the task to the scheduler, which runs its other ready tasks and polls its
/// driver with a zero timeout before it polls this task again).
#[cfg(any(feature = "geyser", feature = "shredstream"))]
async fn poll_now<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    if let Some(v) = poll_once(f.as_mut()).await {
        return Some(v);
    }
    tokio::task::yield_now().await;
    poll_once(f).await
}

/// Polls `f` once: its output, or `None` if it is pending (its waker stays registered).
#[cfg(any(feature = "geyser", feature = "shredstream"))]
fn poll_once<'a, F: std::future::Future>(
    mut f: std::pin::Pin<&'a mut F>,
) -> impl std::future::Future<Output = Option<F::Output>> + 'a {
    std::future::poll_fn(move |cx| {
        std::task::Poll::Ready(match f.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_links_are_due_at_their_retry_time_only() {
        let now = Instant::now();
        let l: Link<(), ()> = Link::Down { retry_at: now };
        assert!(l.due(now));
        assert!(!l.due(now - Duration::from_millis(1)));
        let mut l: Link<(), u8> = Link::connecting((), Duration::from_secs(60));
        assert!(!l.due(now + Duration::from_secs(3600)));
        assert!(l.up_mut().is_none());
        assert!(matches!(l.take(), Link::Connecting { .. }));
        assert!(l.due(Instant::now()));
        let mut l: Link<(), u8> = Link::Up(7);
        assert_eq!(l.up_mut(), Some(&mut 7));
        assert!(!Link::<(), ()>::down(Duration::from_secs(60)).due(Instant::now()));
    }

    /// Busy, a read with nothing there is `None` at once, and one that another task of the
    /// runtime completes (as the connection task fills a stream) is `Some` in the same poll:
    /// the runtime ran that task before the read was polled again.
    #[cfg(any(feature = "geyser", feature = "shredstream"))]
    #[test]
    fn a_busy_read_never_waits_and_lets_the_runtime_take_its_turn() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
        assert_eq!(read_slice(&rt, true, rx.recv()), None);
        rt.spawn(async move { tx.send(7).unwrap() });
        assert_eq!(read_slice(&rt, true, rx.recv()), Some(Some(7)));
        // The sender is gone: the channel says so at once.
        assert_eq!(read_slice(&rt, true, rx.recv()), Some(None));
        // Not busy, an empty read gives up after the slice.
        let (_tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
        assert_eq!(read_slice(&rt, false, rx.recv()), None);
    }

    #[cfg(any(feature = "geyser", feature = "shredstream", feature = "nats"))]
    #[test]
    fn drive_reports_done_pending_and_timed_out() {
        use std::future::{pending, ready, Ready};
        use std::pin::Pin;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut l: Link<Ready<u8>, ()> = Link::connecting(ready(3), Duration::from_secs(60));
        assert!(matches!(l.drive(&rt), Some(Progress::Done(3))));
        type Never = Pin<Box<std::future::Pending<()>>>;
        let mut l: Link<Never, ()> = Link::connecting(Box::pin(pending()), Duration::from_secs(60));
        assert!(matches!(l.drive(&rt), Some(Progress::Pending)));
        let mut l: Link<Never, ()> = Link::Connecting {
            attempt: Box::pin(pending()),
            deadline: Instant::now(),
        };
        assert!(matches!(l.drive(&rt), Some(Progress::TimedOut)));
        let mut l: Link<Never, ()> = Link::Up(());
        assert!(l.drive(&rt).is_none());
    }
}
