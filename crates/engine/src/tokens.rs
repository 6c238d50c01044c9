//! Task tokens of in-process executions.
//!
//! `aslan run` has no store and no API of its own: a `.waitForTaskToken` task registers its
//! token here while it waits, and `SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat`
//! (from the run's callback endpoint, or from an `aws-sdk:sfn` task in the same process) reach
//! the execution through [`TaskTokens::answer`]. `aslan serve` keeps its tokens in the durable
//! engine instead, so they survive restarts.

use std::collections::HashMap;
use std::sync::Mutex;

use aslan_interp::TaskId;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::TaskError;
use crate::durable::EngineError;

/// What a worker says about the task behind a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// `SendTaskSuccess` with the task's output.
    Succeeded(Value),
    /// `SendTaskFailure` with an error and a cause.
    Failed(TaskError),
    /// `SendTaskHeartbeat`: the worker is alive.
    Heartbeat,
}

/// Where a token's answer goes: the run loop waiting on it, and the task there.
pub(crate) type Waiter = (TaskId, UnboundedSender<(TaskId, Callback)>);

/// The tokens that executions of this process wait on.
#[derive(Debug, Default)]
pub struct TaskTokens {
    waiting: Mutex<HashMap<String, Waiter>>,
}

impl TaskTokens {
    /// No tokens yet.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn register(&self, token: &str, waiter: Waiter) {
        self.lock().insert(token.to_owned(), waiter);
    }

    pub(crate) fn forget(&self, token: &str) {
        self.lock().remove(token);
    }

    /// Hands a worker's answer to the execution waiting on `token`. A token nobody waits on
    /// any more gets `TaskTimedOut` when it is one of an execution's tokens (the task ended,
    /// or the token was used already), `InvalidToken` otherwise, as AWS answers.
    pub fn answer(&self, token: &str, callback: Callback) -> Result<(), EngineError> {
        let mut waiting = self.lock();
        let Some((task, sender)) = waiting.get(token) else {
            return Err(unknown_token(token));
        };
        let task = *task;
        let delivered = sender.send((task, callback.clone())).is_ok();
        if !delivered || callback != Callback::Heartbeat {
            waiting.remove(token);
        }
        if delivered {
            Ok(())
        } else {
            Err(EngineError::TaskTimedOut(token.to_owned()))
        }
    }

    /// How many tokens are waited on now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no token is waited on.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiter>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The error for a token no task waits on. A token is `EXECUTION_ARN:TASK:RANDOM` (see the
/// interpreter); a well-formed one of an execution is a task that is over.
pub(crate) fn unknown_token(token: &str) -> EngineError {
    let known = token
        .rsplitn(3, ':')
        .nth(2)
        .is_some_and(|arn| arn.contains(":execution:") || arn.contains(":express:"));
    if known {
        EngineError::TaskTimedOut(token.to_owned())
    } else {
        EngineError::InvalidToken(token.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "arn:aws:states:us-east-1:1:execution:m:e:4:8213";

    #[test]
    fn answers_reach_the_waiter_once() {
        let tokens = TaskTokens::new();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        tokens.register(TOKEN, (TaskId(3), sender));
        assert_eq!(tokens.answer(TOKEN, Callback::Heartbeat), Ok(()));
        assert_eq!(tokens.len(), 1, "a heartbeat keeps the token");
        assert_eq!(
            tokens.answer(TOKEN, Callback::Succeeded(Value::Null)),
            Ok(())
        );
        assert_eq!(receiver.try_recv(), Ok((TaskId(3), Callback::Heartbeat)));
        assert_eq!(
            receiver.try_recv(),
            Ok((TaskId(3), Callback::Succeeded(Value::Null)))
        );
        assert_eq!(
            tokens.answer(TOKEN, Callback::Succeeded(Value::Null)),
            Err(EngineError::TaskTimedOut(TOKEN.into())),
            "a token used twice"
        );
        assert_eq!(
            tokens.answer("nonsense", Callback::Heartbeat),
            Err(EngineError::InvalidToken("nonsense".into()))
        );
    }

    #[test]
    fn a_token_whose_execution_ended_has_timed_out() {
        let tokens = TaskTokens::new();
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        tokens.register(TOKEN, (TaskId(1), sender));
        drop(receiver);
        assert_eq!(
            tokens.answer(TOKEN, Callback::Heartbeat),
            Err(EngineError::TaskTimedOut(TOKEN.into()))
        );
        assert!(tokens.is_empty());
    }
}
