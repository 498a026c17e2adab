//! What goes wrong, how JetStream's answers are read, and how what is transient is retried.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, stream};

use crate::config::debug;

/// What went wrong talking to NATS or reading a document.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A NATS or JetStream request failed.
    Nats(Box<dyn std::error::Error + Send + Sync>),
    /// A stored snapshot or change could not be read or written as JSON.
    Json(serde_json::Error),
    /// A document or stream name that is not letters, digits, `-` and `_`.
    InvalidName(String),
    /// No such document.
    NotFound(String),
    /// The document exists already.
    Exists(String),
    /// A wait ended before what it waited for happened.
    Timeout(&'static str),
    /// The store a document is kept in (see [`DocumentBuilder::persist`]) failed, or holds
    /// something that does not read as this document.
    ///
    /// [`DocumentBuilder::persist`]: crate::DocumentBuilder::persist
    Persist(immer::sync::PersistError),
}

impl Error {
    /// Wraps an error from `async-nats`.
    pub fn nats(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Nats(Box::new(error))
    }

    /// Whether trying again later may succeed: a time-out, or a NATS failure other than a
    /// JetStream answer that refuses the request for good (a JetStream answer of 503, or
    /// one that says the cluster is unavailable or has no leader, is waited out).
    fn is_transient(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Nats(error) => jetstream_answer(&**error).is_none_or(|answer| {
                answer.code() == 503
                    || answer.code() == 408
                    || [CLUSTER_NOT_AVAILABLE, CLUSTER_NOT_LEADER].contains(&answer.error_code())
            }),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Nats(error) => write!(f, "NATS: {error}"),
            Error::Json(error) => write!(f, "JSON: {error}"),
            Error::InvalidName(name) => write!(
                f,
                "{name:?} is not a valid name: {}",
                immer::sync::DOCUMENT_NAME_RULE
            ),
            Error::NotFound(name) => write!(f, "no document {name:?}"),
            Error::Exists(name) => write!(f, "document {name:?} exists already"),
            Error::Timeout(what) => write!(f, "timed out waiting for {what}"),
            Error::Persist(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Nats(error) => Some(&**error),
            Error::Json(error) => Some(error),
            Error::Persist(error) => error.source(),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Error::Json(error)
    }
}

/// JetStream's "wrong last sequence" with the subject's last sequence (a single server, and
/// a cluster's stream leader when it could check).
const WRONG_LAST_SEQUENCE: jetstream::ErrorCode = jetstream::ErrorCode::STREAM_WRONG_LAST_SEQUENCE;
/// JetStream's "wrong last sequence" without it (`JSStreamWrongLastSequenceConstantErr` in
/// nats-server's `server/errors.json`): a clustered stream of nats-server 2.10 and later
/// answers it to an append with an expected subject sequence while another such append to the
/// same subject is in process, which `async-nats` 0.46 reports as an unknown error.
const WRONG_LAST_SEQUENCE_IN_PROCESS: jetstream::ErrorCode = jetstream::ErrorCode(10164);
/// "JetStream system temporarily unavailable".
const CLUSTER_NOT_AVAILABLE: jetstream::ErrorCode = jetstream::ErrorCode::CLUSTER_NOT_AVAILABLE;
/// "JetStream cluster can not handle request": no leader yet.
const CLUSTER_NOT_LEADER: jetstream::ErrorCode = jetstream::ErrorCode::CLUSTER_NOT_LEADER;

/// The JetStream API's answer inside an error of `async-nats`, if the server answered: as
/// the error's source, or inside the kind of the errors that carry it there.
fn jetstream_answer(error: &(dyn std::error::Error + 'static)) -> Option<jetstream::Error> {
    let mut next = Some(error);
    while let Some(error) = next {
        let answer = if let Some(answer) = error.downcast_ref::<jetstream::Error>() {
            Some(answer.clone())
        } else if let Some(error) = error.downcast_ref::<stream::LastRawMessageError>() {
            match error.kind() {
                stream::LastRawMessageErrorKind::JetStream(answer) => Some(answer),
                _ => None,
            }
        } else if let Some(error) = error.downcast_ref::<jetstream::context::CreateStreamError>() {
            match error.kind() {
                jetstream::context::CreateStreamErrorKind::JetStream(answer) => Some(answer),
                _ => None,
            }
        } else if let Some(error) = error.downcast_ref::<jetstream::context::GetStreamError>() {
            match error.kind() {
                jetstream::context::GetStreamErrorKind::JetStream(answer) => Some(answer),
                _ => None,
            }
        } else if let Some(error) = error.downcast_ref::<stream::ConsumerError>() {
            match error.kind() {
                stream::ConsumerErrorKind::JetStream(answer) => Some(answer),
                _ => None,
            }
        } else {
            None
        };
        if answer.is_some() {
            return answer;
        }
        next = error.source();
    }
    None
}

/// Whether JetStream refused an append because the subject's last message is no longer the
/// one it expected: someone appended first (10071), or is appending now (10164, see
/// [`WRONG_LAST_SEQUENCE_IN_PROCESS`]).
pub(crate) fn is_wrong_last_sequence(error: &jetstream::context::PublishError) -> bool {
    error.kind() == jetstream::context::PublishErrorKind::WrongLastSequence
        || jetstream_answer(error).is_some_and(|answer| {
            [WRONG_LAST_SEQUENCE, WRONG_LAST_SEQUENCE_IN_PROCESS].contains(&answer.error_code())
        })
}

/// Runs `attempt` until it succeeds, fails for good, or `timeout` has passed since the first
/// try; then returns the last error (see [`Config::join_timeout`]). An attempt in progress
/// at the deadline is cut short.
pub(crate) async fn retry_transient<R, F, A>(
    timeout: Duration,
    what: &'static str,
    mut attempt: A,
) -> Result<R, Error>
where
    A: FnMut() -> F,
    F: Future<Output = Result<R, Error>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(50);
    let mut last = None;
    loop {
        let result = if last.is_none() {
            // The first attempt runs to its end, however short the time allowed.
            attempt().await
        } else {
            tokio::time::timeout_at(deadline, attempt())
                .await
                .unwrap_or_else(|_| Err(last.take().unwrap_or(Error::Timeout(what))))
        };
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) if !error.is_transient() => return Err(error),
            Err(error) => error,
        };
        if tokio::time::Instant::now() + pause >= deadline {
            return Err(error);
        }
        debug(&format!("{what}: {error}; trying again"));
        last = Some(error);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// A JetStream API error as the server sends it.
    fn answer(code: usize, err_code: u64, description: &str) -> jetstream::Error {
        serde_json::from_value(serde_json::json!({
            "code": code,
            "err_code": err_code,
            "description": description,
        }))
        .expect("an API error")
    }

    fn refused(answer: jetstream::Error) -> jetstream::context::PublishError {
        // As async-nats 0.46 reports an answer it does not know.
        jetstream::context::PublishError::with_source(
            jetstream::context::PublishErrorKind::Other,
            answer,
        )
    }

    #[test]
    fn both_wrong_last_sequence_answers_are_recognised() {
        let known = jetstream::context::PublishError::with_source(
            jetstream::context::PublishErrorKind::WrongLastSequence,
            answer(400, 10071, "wrong last sequence: 7"),
        );
        assert!(is_wrong_last_sequence(&known));
        // nats-server 2.15 in a cluster.
        assert!(is_wrong_last_sequence(&refused(answer(
            400,
            10164,
            "wrong last sequence"
        ))));
        assert!(!is_wrong_last_sequence(&refused(answer(
            400,
            10070,
            "wrong last msg ID: x"
        ))));
        assert!(!is_wrong_last_sequence(
            &jetstream::context::PublishError::new(jetstream::context::PublishErrorKind::TimedOut)
        ));
    }

    #[test]
    fn unavailability_is_waited_out_and_refusals_are_not() {
        let no_responders = jetstream::context::RequestError::new(
            jetstream::context::RequestErrorKind::NoResponders,
        );
        assert!(Error::nats(no_responders).is_transient());
        assert!(Error::Timeout("JetStream").is_transient());
        let not_ready =
            stream::LastRawMessageError::new(stream::LastRawMessageErrorKind::JetStream(answer(
                503,
                10008,
                "JetStream system temporarily unavailable",
            )));
        assert!(Error::nats(not_ready).is_transient());
        let no_leader = answer(500, 10009, "JetStream cluster can not handle request");
        assert!(Error::nats(no_leader).is_transient());
        let no_stream = stream::LastRawMessageError::new(
            stream::LastRawMessageErrorKind::JetStream(answer(404, 10059, "stream not found")),
        );
        assert!(!Error::nats(no_stream).is_transient());
        assert!(!Error::NotFound("board".into()).is_transient());
        assert!(!Error::InvalidName("a b".into()).is_transient());
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_is_retried_until_the_deadline_and_the_last_is_returned() {
        let mut attempts = 0;
        let result: Result<(), Error> = retry_transient(Duration::from_secs(2), "a test", || {
            attempts += 1;
            let n = attempts;
            async move { Err(Error::Nats(format!("attempt {n}").into())) }
        })
        .await;
        let last = format!("NATS: attempt {attempts}");
        assert!(attempts > 3, "{attempts} attempts");
        assert_eq!(result.unwrap_err().to_string(), last);
        let mut attempts = 0;
        let result = retry_transient(Duration::from_secs(2), "a test", || {
            attempts += 1;
            let n = attempts;
            async move {
                if n < 3 {
                    Err(Error::Timeout("a test"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
        let mut attempts = 0;
        let result: Result<(), Error> = retry_transient(Duration::from_secs(2), "a test", || {
            attempts += 1;
            async { Err(Error::NotFound("board".into())) }
        })
        .await;
        assert!(matches!(result, Err(Error::NotFound(_))));
        assert_eq!(attempts, 1, "a refusal is returned at once");
    }
}
