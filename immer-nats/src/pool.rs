//! The threads that do the documents' CPU work: a few for the whole process, shared by every
//! open document, instead of one per document.
//!
//! Each document has a [`Mailbox`]: its async task hands jobs to it without waiting (a short
//! lock, never held while work is done), and the mailbox, when it has jobs and is not queued
//! already, queues itself for the pool. A pool thread takes the first mailbox queued, does
//! one step of its work (one run of the log, at most 1,024 messages, or one append to
//! order), and queues it again at the back when more waits: one document's work is done in
//! order, never by two threads at once, and a busy document does not keep the others
//! waiting for longer than a step.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::config::debug;

/// A document's work, as the pool runs it.
pub(crate) trait Work: Send + 'static {
    /// What the document's async task hands over.
    type Job: Send + 'static;

    /// Takes the jobs handed over since the last step (to keep, in order).
    fn receive(&mut self, jobs: &mut VecDeque<Self::Job>);

    /// Does the next piece of the work received. Returns whether the document is still
    /// open (its task listens).
    fn step(&mut self) -> bool;

    /// Whether work received waits for another step.
    fn has_more(&self) -> bool;
}

/// Where a document's async task leaves jobs for its work.
pub(crate) struct Mailbox<W: Work> {
    incoming: Mutex<Incoming<W::Job>>,
    /// Locked by the one pool thread that runs a step (never by the async task).
    work: Mutex<W>,
}

struct Incoming<J> {
    jobs: VecDeque<J>,
    /// Queued for the pool, or being run by one of its threads.
    scheduled: bool,
    /// The document's work ended (its task stopped listening, or a step panicked).
    closed: bool,
}

impl<W: Work> Mailbox<W> {
    /// A mailbox for `work`; its first job starts the pool's threads if need be.
    ///
    /// # Errors
    ///
    /// When the pool has no thread and cannot start one.
    pub(crate) fn new(work: W) -> std::io::Result<Arc<Self>> {
        pool().ensure_thread()?;
        Ok(Arc::new(Mailbox {
            incoming: Mutex::new(Incoming {
                jobs: VecDeque::new(),
                scheduled: false,
                closed: false,
            }),
            work: Mutex::new(work),
        }))
    }

    fn incoming(&self) -> MutexGuard<'_, Incoming<W::Job>> {
        self.incoming.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a job over. Returns `false` when the work has ended.
    pub(crate) fn send(self: &Arc<Self>, job: W::Job) -> bool {
        let mut incoming = self.incoming();
        if incoming.closed {
            return false;
        }
        incoming.jobs.push_back(job);
        if !incoming.scheduled {
            incoming.scheduled = true;
            drop(incoming);
            pool().schedule(Arc::clone(self) as Arc<dyn Runnable>);
        }
        true
    }
}

/// Runs `job` on one of the pool's threads (a document's work before it has a mailbox:
/// decoding its snapshot when it joins), and returns what it returns.
///
/// # Errors
///
/// When the pool has no thread and cannot start one, or `job` panicked.
pub(crate) async fn run<R: Send + 'static>(
    job: impl FnOnce() -> R + Send + 'static,
) -> std::io::Result<R> {
    pool().ensure_thread()?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let once = Once(Mutex::new(Some(Box::new(move || {
        // Nobody waits any more: the join was given up.
        let _ = sender.send(job());
    }))));
    pool().schedule(Arc::new(once));
    receiver
        .await
        .map_err(|_| std::io::Error::other("a document's work panicked"))
}

/// A job to run once.
struct Once(Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl Runnable for Once {
    fn run(self: Arc<Self>) {
        let job = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(job) = job {
            // A panic drops the sender: the caller learns of it.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
        }
    }
}

/// A mailbox, with its type of work forgotten, as the pool queues it.
trait Runnable: Send + Sync {
    /// One step of the work; queues the mailbox again when more waits.
    fn run(self: Arc<Self>);
}

impl<W: Work> Runnable for Mailbox<W> {
    fn run(self: Arc<Self>) {
        let mut work = self.work.lock().unwrap_or_else(PoisonError::into_inner);
        work.receive(&mut self.incoming().jobs);
        // A panic in one document's work ends that document, not the pool's thread.
        let open =
            std::panic::catch_unwind(AssertUnwindSafe(|| work.step())).unwrap_or_else(|_| {
                debug("a document's work panicked; the document stops");
                false
            });
        let more = work.has_more();
        drop(work);
        let mut incoming = self.incoming();
        if !open {
            incoming.closed = true;
            incoming.jobs.clear();
            incoming.scheduled = false;
            return;
        }
        if more || !incoming.jobs.is_empty() {
            drop(incoming);
            pool().schedule(self);
        } else {
            incoming.scheduled = false;
        }
    }
}

/// The process's threads for documents' work, and the mailboxes waiting for one.
struct Pool {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// How many threads it starts at most.
    size: usize,
}

struct Queue {
    waiting: VecDeque<Arc<dyn Runnable>>,
    threads: usize,
    idle: usize,
}

/// The pool: as many threads as the machine has cores, at least 2 (a thread that reloads a
/// snapshot waits for the network meanwhile) and at most 8, started as work comes.
fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        queue: Mutex::new(Queue {
            waiting: VecDeque::new(),
            threads: 0,
            idle: 0,
        }),
        ready: Condvar::new(),
        size: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)),
    })
}

impl Pool {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a first thread, unless one runs.
    fn ensure_thread(&'static self) -> std::io::Result<()> {
        let mut queue = self.queue();
        if queue.threads == 0 {
            self.spawn(&mut queue)?;
        }
        Ok(())
    }

    fn spawn(&'static self, queue: &mut Queue) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("immer-nats".to_owned())
            .spawn(move || self.serve())?;
        queue.threads += 1;
        Ok(())
    }

    /// Queues a mailbox, and wakes (or, under the bound, starts) a thread for it.
    fn schedule(&'static self, mailbox: Arc<dyn Runnable>) {
        let mut queue = self.queue();
        queue.waiting.push_back(mailbox);
        if queue.idle > 0 {
            self.ready.notify_one();
        } else if queue.threads < self.size {
            // When it cannot start, the threads there are take the work.
            if let Err(error) = self.spawn(&mut queue) {
                debug(&format!("a thread for documents' work: {error}"));
            }
        }
    }

    /// A thread's life: run what is queued, sleep when nothing is.
    fn serve(&self) {
        loop {
            let mailbox = {
                let mut queue = self.queue();
                loop {
                    if let Some(mailbox) = queue.waiting.pop_front() {
                        break mailbox;
                    }
                    queue.idle += 1;
                    queue = self
                        .ready
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner);
                    queue.idle -= 1;
                }
            };
            mailbox.run();
        }
    }
}
