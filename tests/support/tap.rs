//! A tap under the AWS SDK: an HTTP client that passes every request through to the emulator
//! and records what it asked for, by service and operation, and for DynamoDB by partition
//! key (of the table and of the `available` index), with the capacity it would be billed.
//! The benchmarks read hot keys and the cost of a ride from it.

use super::under_sdk::{self, Stand};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use kickboard_common::adapters::aws::items::AVAILABLE_INDEX;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// What the tap saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Requests by `service.operation`.
    pub requests: BTreeMap<String, u64>,
    /// Writes by partition: `<table>:<pk>`, and `available:<cell>` for the index.
    pub writes: HashMap<String, u64>,
    /// Reads by partition, the same way.
    pub reads: HashMap<String, u64>,
    /// Write and read request units DynamoDB would bill (items of at most 1 KB written,
    /// reads rounded up to 4 KB of answer).
    pub write_units: f64,
    pub read_units: f64,
    /// The bytes of the `Query` and `Scan` answers (DynamoDB's JSON on the wire).
    pub bytes_read: u64,
    /// The `TraceHeader` of every `PutEvents` entry that had one.
    pub trace_headers: Vec<String>,
    /// `PutEvents` entries and SNS messages.
    pub events_put: u64,
    pub sms: u64,
    pub push: u64,
    /// Items read by `Query` on the `available` index, and those queries.
    pub index_queries: u64,
    pub index_items_read: u64,
}

impl Tally {
    pub fn total_writes(&self) -> u64 {
        self.writes.values().sum()
    }

    pub fn total_reads(&self) -> u64 {
        self.reads.values().sum()
    }

    /// The most written partition and its writes.
    pub fn hottest_write(&self) -> Option<(&str, u64)> {
        self.writes.iter().max_by_key(|(_, count)| **count).map(|(key, count)| (key.as_str(), *count))
    }

    pub fn hottest_read(&self) -> Option<(&str, u64)> {
        self.reads.iter().max_by_key(|(_, count)| **count).map(|(key, count)| (key.as_str(), *count))
    }
}

#[derive(Default)]
struct State {
    tally: Tally,
    /// The area cell each board is indexed under, learned from the writes that set it, so a
    /// write that removes or restores a board's index entry is counted on its cell.
    board_cells: HashMap<String, String>,
}

/// What the tap counts with.
#[derive(Default)]
struct Counter(Arc<Mutex<State>>);

/// The tap, and what it counted so far.
#[derive(Clone, Default)]
pub struct Tap {
    state: Arc<Mutex<State>>,
}

impl Tap {
    /// An HTTP client for the emulator that counts as it goes.
    pub fn http_client(&self) -> SharedHttpClient {
        under_sdk::client(Arc::new(Counter(Arc::clone(&self.state))))
    }

    pub fn tally(&self) -> Tally {
        self.state.lock().unwrap().tally.clone()
    }

    /// Starts counting afresh (after setting a city up, say).
    pub fn reset(&self) {
        self.state.lock().unwrap().tally = Tally::default();
    }
}

fn string(value: &Value) -> Option<String> {
    value["S"].as_str().map(str::to_owned)
}

impl State {
    fn write(&mut self, table: &str, pk: &str, units: f64) {
        *self.tally.writes.entry(format!("{table}:{pk}")).or_default() += 1;
        self.tally.write_units += units;
    }

    fn index_write(&mut self, cell: &str) {
        *self.tally.writes.entry(format!("{AVAILABLE_INDEX}:{cell}")).or_default() += 1;
    }

    fn read(&mut self, table: &str, pk: &str) {
        *self.tally.reads.entry(format!("{table}:{pk}")).or_default() += 1;
    }

    /// A put of a whole item: its index entry, when it has one, is written too.
    fn put(&mut self, table: &str, item: &Value, units: f64) {
        let Some(pk) = string(&item["pk"]) else { return };
        self.write(table, &pk, units);
        if let Some(cell) = string(&item["availablePk"]) {
            self.board_cells.insert(pk, cell.clone());
            self.index_write(&cell);
        }
    }

    /// An update. The `available` index projects every attribute, so an update of a board
    /// that is in the index rewrites its entry there too, whatever it changes (one write); one
    /// that changes the entry's key (`availablePk`, `availableSk`) deletes it and puts it again
    /// (two); one that removes `availablePk` takes the board out of the index.
    fn update(&mut self, table: &str, operation: &Value, units: f64) {
        let Some(pk) = string(&operation["Key"]["pk"]) else { return };
        self.write(table, &pk, units);
        let expression = operation["UpdateExpression"].as_str().unwrap_or_default();
        let (set, remove) = expression.split_once("REMOVE").unwrap_or((expression, ""));
        let names = operation["ExpressionAttributeNames"].as_object();
        let placeholder = |attribute: &str| {
            names
                .and_then(|names| names.iter().find(|(_, name)| name.as_str() == Some(attribute)))
                .map(|(placeholder, _)| placeholder.clone())
        };
        let assigned = |placeholder: &str| {
            set.split(',').find_map(|assignment| {
                let (target, value) = assignment.split_once('=')?;
                (target.trim().trim_start_matches("SET").trim() == placeholder).then(|| value.trim().to_owned())
            })
        };
        let was = self.board_cells.get(&pk).cloned();
        if let Some(cell_name) = placeholder("availablePk") {
            if remove.contains(cell_name.as_str()) {
                if let Some(cell) = self.board_cells.remove(&pk) {
                    self.index_write(&cell);
                }
                return;
            }
            let cell = assigned(&cell_name).and_then(|value| string(&operation["ExpressionAttributeValues"][&value]));
            if let Some(cell) = cell {
                self.board_cells.insert(pk.clone(), cell);
            }
        }
        let rekeyed = ["availablePk", "availableSk"]
            .iter()
            .any(|attribute| placeholder(attribute).is_some_and(|name| assigned(&name).is_some()));
        match (was, self.board_cells.get(&pk).cloned()) {
            (Some(old), Some(new)) if rekeyed => {
                self.index_write(&old);
                self.index_write(&new);
            }
            (_, Some(cell)) => self.index_write(&cell),
            (_, None) => {}
        }
    }

    fn record(&mut self, service: &str, operation: &str, body: &Value) {
        *self.tally.requests.entry(format!("{service}.{operation}")).or_default() += 1;
        let table = body["TableName"].as_str().unwrap_or_default().to_owned();
        match operation {
            "PutItem" => self.put(&table, &body["Item"], 1.0),
            "UpdateItem" => self.update(&table, body, 1.0),
            "BatchWriteItem" => {
                for (table, requests) in body["RequestItems"].as_object().into_iter().flatten() {
                    for request in requests.as_array().into_iter().flatten() {
                        self.put(table, &request["PutRequest"]["Item"], 1.0);
                    }
                }
            }
            "DeleteItem" => {
                if let Some(pk) = string(&body["Key"]["pk"]) {
                    self.write(&table, &pk, 1.0);
                }
            }
            "TransactWriteItems" => {
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    if let Some(put) = item.get("Put") {
                        self.put(put["TableName"].as_str().unwrap_or_default(), &put["Item"], 2.0);
                    } else if let Some(update) = item.get("Update") {
                        self.update(update["TableName"].as_str().unwrap_or_default(), update, 2.0);
                    } else if let Some(other) = item.get("Delete").or_else(|| item.get("ConditionCheck"))
                        && let Some(pk) = string(&other["Key"]["pk"])
                    {
                        self.write(other["TableName"].as_str().unwrap_or_default(), &pk, 2.0);
                    }
                }
            }
            "GetItem" => {
                if let Some(pk) = string(&body["Key"]["pk"]) {
                    self.read(&table, &pk);
                }
                self.tally.read_units += if body["ConsistentRead"].as_bool() == Some(true) { 1.0 } else { 0.5 };
            }
            "TransactGetItems" => {
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    if let Some(pk) = string(&item["Get"]["Key"]["pk"]) {
                        self.read(item["Get"]["TableName"].as_str().unwrap_or_default(), &pk);
                    }
                    self.tally.read_units += 2.0;
                }
            }
            "BatchGetItem" => {
                for (table, request) in body["RequestItems"].as_object().into_iter().flatten() {
                    for key in request["Keys"].as_array().into_iter().flatten() {
                        if let Some(pk) = string(&key["pk"]) {
                            self.read(table, &pk);
                        }
                        self.tally.read_units += 1.0;
                    }
                }
            }
            "Query" => {
                let values = &body["ExpressionAttributeValues"];
                let partition = values.as_object().and_then(|values| values.values().find_map(string));
                let index = body["IndexName"].as_str().unwrap_or(&table).to_owned();
                if let Some(partition) = partition {
                    self.read(&index, &partition);
                }
                if index == AVAILABLE_INDEX {
                    self.tally.index_queries += 1;
                }
            }
            "PutEvents" => {
                let entries = body["Entries"].as_array().cloned().unwrap_or_default();
                self.tally.events_put += entries.len() as u64;
                let traced = entries.iter().filter_map(|entry| entry["TraceHeader"].as_str().map(str::to_owned));
                self.tally.trace_headers.extend(traced);
            }
            _ => {}
        }
    }

    /// What an answer tells: the items a query read, and its size in read units.
    fn answered(&mut self, operation: &str, index: Option<&str>, answer: &[u8]) {
        if !matches!(operation, "Query" | "Scan") {
            return;
        }
        // Eventually consistent: half a unit per 4 KB read.
        self.tally.read_units += (answer.len() as f64 / 4096.0).ceil().max(1.0) / 2.0;
        self.tally.bytes_read += answer.len() as u64;
        if index == Some(AVAILABLE_INDEX) {
            let body: Value = serde_json::from_slice(answer).unwrap_or_default();
            self.tally.index_items_read += body["ScannedCount"].as_u64().unwrap_or(0);
        }
    }
}

/// What the local event pump asks for on its own: the Streams and SQS calls that stand in for
/// Lambda's event source mapping and asynchronous invocation, and its stream checkpoints. On
/// AWS, Lambda does these, unbilled; they are not counted.
fn local_wiring(service: &str, body: &Value) -> bool {
    let checkpoint = [&body["Key"]["pk"], &body["Item"]["pk"]]
        .into_iter()
        .any(|pk| pk["S"].as_str().is_some_and(|pk| pk.starts_with("CHECKPOINT#")));
    service.starts_with("DynamoDBStreams") || service == "AmazonSQS" || checkpoint
}

impl Stand for Counter {
    fn call(&self, inner: &SharedHttpConnector, request: HttpRequest) -> HttpConnectorFuture {
        let (service, operation) = under_sdk::operation(&request);
        let body: Value =
            request.body().bytes().and_then(|bytes| serde_json::from_slice(bytes).ok()).unwrap_or_default();
        if local_wiring(&service, &body) {
            return inner.call(request);
        }
        let index = body["IndexName"].as_str().map(str::to_owned);
        {
            let mut state = self.0.lock().unwrap();
            if service == "SNS" {
                *state.tally.requests.entry(format!("SNS.{operation}")).or_default() += 1;
                let form = request.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
                if operation == "Publish" {
                    if form.contains("PhoneNumber=") {
                        state.tally.sms += 1;
                    } else {
                        state.tally.push += 1;
                    }
                }
            } else {
                state.record(&service, &operation, &body);
            }
        }
        if !matches!(operation.as_str(), "Query" | "Scan") {
            return inner.call(request);
        }
        let (inner, state) = (inner.clone(), Arc::clone(&self.0));
        HttpConnectorFuture::new(async move {
            let mut response = inner.call(request).await?;
            let body = std::mem::replace(response.body_mut(), SdkBody::empty());
            let bytes =
                ByteStream::new(body).collect().await.map_err(|error| ConnectorError::io(error.into()))?.into_bytes();
            state.lock().unwrap().answered(&operation, index.as_deref(), &bytes);
            *response.body_mut() = SdkBody::from(bytes);
            Ok(response)
        })
    }
}
