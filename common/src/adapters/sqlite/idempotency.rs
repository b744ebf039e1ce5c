//! `IdempotencyStore` on SQLite, and the answer a guarded write stores over its key.

use super::store::{SqliteStore, exec, load, to_json};
use crate::domain::error::RuleViolation;
use crate::ports::{IdempotencyStore, IdempotentAnswer, KeyClaim, KeyClaimed, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

/// An `Idempotency-Key`'s row: held by a request in progress, or answered.
#[derive(Debug, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum KeyRow {
    Answered(IdempotentAnswer),
    InProgress(HeldKeyRow),
}

#[derive(Debug, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeldKeyRow {
    scope: String,
    request: String,
    token: String,
    in_progress_until: DateTime<Utc>,
}

fn load_key(conn: &Connection, scope: &str) -> PortResult<Option<KeyRow>> {
    load(conn, "SELECT item FROM idempotency WHERE scope = ?1", scope)
}

/// Stores a guarded write's answer over the key its request holds; if the request no longer
/// holds it (its claim expired and another took it), the write is refused as a duplicate.
pub(super) fn claim_answer(tx: &Connection, answer: Option<&IdempotentAnswer>) -> PortResult<()> {
    let Some(answer) = answer else { return Ok(()) };
    match load_key(tx, &answer.scope)? {
        Some(KeyRow::InProgress(held)) if held.token == answer.token => {
            exec(tx, "UPDATE idempotency SET item = ?2 WHERE scope = ?1", params![answer.scope, to_json(answer)?])?;
            Ok(())
        }
        _ => Err(RuleViolation::DuplicateRequest.into()),
    }
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim_key(&self, claim: &KeyClaim) -> PortResult<KeyClaimed> {
        let claim = claim.clone();
        self.write(move |tx| {
            match load_key(tx, &claim.scope)? {
                Some(KeyRow::Answered(answer)) if answer.is_kept_at(claim.now) => {
                    return Ok(KeyClaimed::Answered(answer));
                }
                Some(KeyRow::InProgress(held)) if held.in_progress_until > claim.now && held.token != claim.token => {
                    return Ok(KeyClaimed::InProgress { until: held.in_progress_until });
                }
                _ => {}
            }
            let row = KeyRow::InProgress(HeldKeyRow {
                scope: claim.scope.clone(),
                request: claim.request.clone(),
                token: claim.token.clone(),
                in_progress_until: claim.until,
            });
            exec(
                tx,
                "INSERT INTO idempotency (scope, item) VALUES (?1, ?2)
                 ON CONFLICT (scope) DO UPDATE SET item = excluded.item",
                params![claim.scope, to_json(&row)?],
            )?;
            Ok(KeyClaimed::Claimed)
        })
        .await
    }

    async fn release_key(&self, claim: &KeyClaim) -> PortResult<()> {
        let claim = claim.clone();
        self.write(move |tx| {
            if matches!(load_key(tx, &claim.scope)?, Some(KeyRow::InProgress(held)) if held.token == claim.token) {
                exec(tx, "DELETE FROM idempotency WHERE scope = ?1", [&claim.scope])?;
            }
            Ok(())
        })
        .await
    }

    async fn find_answer(&self, scope: &str, now: DateTime<Utc>) -> PortResult<Option<IdempotentAnswer>> {
        let scope = scope.to_owned();
        self.run(move |conn| {
            Ok(match load_key(conn, &scope)? {
                Some(KeyRow::Answered(answer)) if answer.is_kept_at(now) => Some(answer),
                _ => None,
            })
        })
        .await
    }
}
