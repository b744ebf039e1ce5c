//! `CrewLog` and `DayLedger` on DynamoDB, in the view table: the crew's log by UTC day, and
//! each city day's figures in shards added to, each event counted once by its mark; and
//! `CapMarks`, in the state table beside the outbox its alerts go to.

use super::client::{DynamoStore, from_item, n, names, s, to_item, unavailable, values};
use crate::adapters::aws::items::attr::{MINUTES_BILLED, OVER, PK, REVENUE_WON, RIDES_ENDED, SK};
use crate::adapters::aws::items::operations::{crew_sk, crew_sk_bound};
use crate::adapters::aws::items::{CapMarkItem, CountedItem, CrewAlertItem, DAY_SHARDS, crew_pk, day_key, day_shard};
use crate::adapters::aws::sdk_error;
use crate::domain::alerts::CrewAlert;
use crate::domain::events::EventEnvelope;
use crate::domain::ids::EventId;
use crate::domain::operations::DayFigures;
use crate::invocation;
use crate::ports::{CapMarks, CrewLog, DayLedger, PortResult};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Days, NaiveDate, Utc};

#[async_trait]
impl CrewLog for DynamoStore {
    async fn log_crew_alert(&self, alert: &CrewAlert) -> PortResult<()> {
        // The same alert makes the same item: a redelivery writes it again, unchanged.
        self.client
            .put_item()
            .table_name(&self.tables.views)
            .set_item(Some(to_item(&CrewAlertItem::new(alert)?)?))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn crew_alerts(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<CrewAlert>> {
        let limit_i32 = i32::try_from(limit).map_err(unavailable)?;
        // Each UTC day from `since`'s to `until`'s, newest first: at most `limit` from each.
        let mut days = Vec::new();
        let mut day = since.date_naive();
        while day <= until.date_naive() {
            days.push(day);
            day = day.checked_add_days(Days::new(1)).ok_or_else(|| unavailable(format!("no day after {day}")))?;
        }
        let mut reads = tokio::task::JoinSet::new();
        for day in days {
            let request = self
                .client
                .query()
                .table_name(&self.tables.views)
                .key_condition_expression(format!("{PK} = :pk AND {SK} BETWEEN :from AND :until"))
                .expression_attribute_values(":pk", s(crew_pk(day)))
                .expression_attribute_values(":from", s(crew_sk_bound(since)))
                .expression_attribute_values(":until", s(crew_sk_bound(until + chrono::Duration::milliseconds(1))))
                .scan_index_forward(false)
                .limit(limit_i32);
            reads.spawn(invocation::carried(async move {
                let output = request.send().await.map_err(sdk_error)?;
                Ok::<_, crate::ports::PortError>(output.items.unwrap_or_default())
            }));
        }
        let mut alerts = Vec::new();
        for read in reads.join_all().await {
            for item in read? {
                let item: CrewAlertItem = from_item(item)?;
                alerts.push(serde_json::from_str::<CrewAlert>(&item.item).map_err(unavailable)?);
            }
        }
        alerts.sort_by_cached_key(|alert| std::cmp::Reverse(crew_sk(alert.occurred_at, &alert.alert_id)));
        alerts.truncate(limit);
        Ok(alerts)
    }
}

#[async_trait]
impl DayLedger for DynamoStore {
    async fn count_day(&self, event_id: &EventId, day: NaiveDate, figures: &DayFigures) -> PortResult<bool> {
        let mark = self.put(
            &self.tables.views,
            to_item(&CountedItem::new(event_id, day))?,
            Some(&format!("attribute_not_exists({PK})")),
        )?;
        let add = Update::builder()
            .table_name(&self.tables.views)
            .set_key(Some(day_key(day, day_shard(event_id))))
            .update_expression("ADD #rides :rides, #minutes :minutes, #revenue :revenue")
            .expression_attribute_names("#rides", RIDES_ENDED)
            .expression_attribute_names("#minutes", MINUTES_BILLED)
            .expression_attribute_names("#revenue", REVENUE_WON)
            .expression_attribute_values(":rides", n(figures.rides_ended))
            .expression_attribute_values(":minutes", n(figures.minutes_billed))
            .expression_attribute_values(":revenue", n(figures.revenue_won))
            .build()
            .map_err(unavailable)?;
        // Only the mark has a condition: a cancelled transaction means the event was counted.
        Ok(self.transact(vec![mark, TransactWriteItem::builder().update(add).build()]).await?.is_ok())
    }

    async fn day_figures(&self, day: NaiveDate) -> PortResult<DayFigures> {
        let keys: Vec<_> = (0..DAY_SHARDS).map(|shard| day_key(day, shard)).collect();
        let shards = self.batch_get(&self.tables.views, &keys, None, true).await?;
        let count = |shard: &crate::adapters::aws::items::Item, name: &str| -> PortResult<u64> {
            match shard.get(name) {
                Some(AttributeValue::N(number)) => number.parse().map_err(unavailable),
                _ => Ok(0),
            }
        };
        shards.iter().try_fold(DayFigures::default(), |total, shard| {
            Ok(total.plus(DayFigures {
                rides_ended: count(shard, RIDES_ENDED)?,
                minutes_billed: count(shard, MINUTES_BILLED)?,
                revenue_won: count(shard, REVENUE_WON)?,
            }))
        })
    }
}

#[async_trait]
impl CapMarks for DynamoStore {
    async fn mark_cap(&self, key: &str, over: bool, event: Option<&EventEnvelope>) -> PortResult<bool> {
        // `over` is one of DynamoDB's reserved words: named through `#over`.
        let condition = format!("attribute_not_exists({PK}) OR #over <> :over");
        let mut mark = self.put(&self.tables.state, to_item(&CapMarkItem::new(key, over))?, Some(&condition))?;
        if let Some(put) = mark.put.as_mut() {
            put.expression_attribute_names = Some(names([("#over", OVER)]));
            put.expression_attribute_values = Some(values([(":over", AttributeValue::Bool(over))]));
        }
        let mut items = vec![mark];
        if let Some(event) = event {
            items.push(self.put_outbox(event)?);
        }
        // Only the mark has a condition: a cancelled transaction means it was marked so already.
        Ok(self.transact(items).await?.is_ok())
    }
}
