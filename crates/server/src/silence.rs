//! Connections that the server drops once it has had nothing to say on them for too long.
//!
//! actix-web bounds the head of the first request on a connection
//! ([`REQUEST_HEAD_TIMEOUT`](crate::startup::REQUEST_HEAD_TIMEOUT)) and the wait for a next one
//! ([`KEEP_ALIVE`](crate::startup::KEEP_ALIVE)), but nothing else: once the first byte of a later
//! request has arrived on a kept-alive connection, a client may send the rest a byte a minute, or
//! never, and hold the connection for ever. [`Watched`] closes a connection on which the server
//! has written nothing for [`SILENCE_TIMEOUT`] while it waits for the client: with every other
//! bound shorter, only a client that stalls (or a server that hangs) meets it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::rt::time::{Instant, Sleep, sleep};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long the server may have written nothing on a connection before it stops reading from it
/// and closes it. Longer than any request may legitimately take between its first byte and its
/// answer (head 5 s, body 10 s, the database pool waits 2 s), so that only a stalled client meets
/// it.
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection whose reads fail with `TimedOut` once nothing has been written on it for
/// `timeout`; the HTTP dispatcher then drops it.
#[derive(Debug)]
pub struct Watched<T> {
    io: T,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<T> Watched<T> {
    /// Watches `io`, from now on.
    pub fn new(io: T, timeout: Duration) -> Self {
        Self {
            io,
            timeout,
            deadline: Box::pin(sleep(timeout)),
        }
    }

    /// Something was written: the silence starts again.
    fn spoke(&mut self) {
        let next = Instant::now() + self.timeout;
        self.deadline.as_mut().reset(next);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Polling the deadline also wakes the dispatcher when it passes, if it waits to read.
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was silent for too long",
            )));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.spoke();
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.spoke();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    const TIMEOUT: Duration = Duration::from_millis(300);

    // Tokio's clock is paused in these tests: it jumps to the next timer whenever every task
    // waits, so that the timeouts pass at once and to the millisecond.

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_stops_being_read_once_the_timeout_passes() {
        let (server, mut client) = duplex(64);
        let mut watched = Watched::new(server, TIMEOUT);
        client.write_all(b"GET /").await.unwrap();
        let mut buffer = [0_u8; 16];
        assert_eq!(watched.read(&mut buffer).await.unwrap(), 5);
        // The client sends nothing more: the read fails when the timeout passes.
        let started = Instant::now();
        let error = watched.read(&mut buffer).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let waited = started.elapsed();
        assert!(
            TIMEOUT <= waited && waited < TIMEOUT + Duration::from_millis(2),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn writing_starts_the_silence_again() {
        let (server, mut client) = duplex(64);
        let mut watched = Watched::new(server, TIMEOUT);
        for _ in 0..3 {
            tokio::time::sleep(TIMEOUT * 2 / 3).await;
            watched.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        }
        tokio::time::sleep(TIMEOUT * 2 / 3).await;
        client.write_all(b"GET /").await.unwrap();
        let mut buffer = [0_u8; 16];
        assert_eq!(watched.read(&mut buffer).await.unwrap(), 5);
    }
}
