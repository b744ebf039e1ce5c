//! Creates the AWS resources the service expects, for an emulator such as moto: the two
//! tables with their indexes and stream, the event bus, and per subscriber an SQS queue with
//! the rule that routes its events there (standing in for the Lambda target).

use crate::aws_flow::EventQueues;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use kickboard_common::adapters::aws::items::{AVAILABLE_INDEX, BY_CUSTOMER_INDEX, RIDER_INDEX, RIDING_INDEX, attr};
use kickboard_common::adapters::aws::{PushApplications, Tables};
use kickboard_common::domain::events::{EVENT_SOURCE, Subscriber};
use serde_json::{Value, json};

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("all required fields are set")
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("all required fields are set")
}

fn index(name: &str, partition: &str, sort: &str) -> GlobalSecondaryIndex {
    index_of(name, partition, sort, ProjectionType::All)
}

fn index_of(name: &str, partition: &str, sort: &str, projection: ProjectionType) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(partition, KeyType::Hash))
        .key_schema(key(sort, KeyType::Range))
        .projection(Projection::builder().projection_type(projection).build())
        .build()
        .unwrap()
}

/// The rule pattern that routes a subscriber's events.
pub fn rule_pattern(subscriber: Subscriber) -> Value {
    json!({ "source": [EVENT_SOURCE], "detail-type": subscriber.detail_types() })
}

/// Creates the state table (with its stream), the view table, the bus, and per subscriber a
/// queue and the rule that routes its events there; returns the queues.
pub async fn create_resources(config: &SdkConfig, tables: &Tables, bus: &str) -> Result<EventQueues, String> {
    let dynamo = aws_sdk_dynamodb::Client::new(config);
    dynamo
        .create_table()
        .table_name(&tables.state)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(attr::PK, KeyType::Hash))
        .key_schema(key(attr::SK, KeyType::Range))
        .attribute_definitions(string_attribute(attr::PK))
        .attribute_definitions(string_attribute(attr::SK))
        .attribute_definitions(string_attribute(attr::AVAILABLE_PK))
        .attribute_definitions(string_attribute(attr::AVAILABLE_SK))
        .attribute_definitions(string_attribute(attr::RIDER_PK))
        .attribute_definitions(string_attribute(attr::RIDER_SK))
        .attribute_definitions(string_attribute(attr::RIDING_PK))
        .attribute_definitions(string_attribute(attr::RIDING_SK))
        .global_secondary_indexes(index(AVAILABLE_INDEX, attr::AVAILABLE_PK, attr::AVAILABLE_SK))
        .global_secondary_indexes(index(RIDER_INDEX, attr::RIDER_PK, attr::RIDER_SK))
        .global_secondary_indexes(index_of(RIDING_INDEX, attr::RIDING_PK, attr::RIDING_SK, ProjectionType::KeysOnly))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .map_err(|error| failed("state table", error))?;
    dynamo
        .create_table()
        .table_name(&tables.views)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(attr::PK, KeyType::Hash))
        .key_schema(key(attr::SK, KeyType::Range))
        .attribute_definitions(string_attribute(attr::PK))
        .attribute_definitions(string_attribute(attr::SK))
        .attribute_definitions(string_attribute(attr::CUSTOMER_PK))
        .global_secondary_indexes(index(BY_CUSTOMER_INDEX, attr::CUSTOMER_PK, attr::PK))
        .send()
        .await
        .map_err(|error| failed("view table", error))?;

    let events = aws_sdk_eventbridge::Client::new(config);
    events.create_event_bus().name(bus).send().await.map_err(|error| failed("bus", error))?;
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut urls = Vec::new();
    for subscriber in Subscriber::ALL {
        let name = format!("{bus}-{}", subscriber.name());
        let queue = sqs.create_queue().queue_name(&name).send().await.map_err(|error| failed("queue", error))?;
        let url = queue.queue_url.ok_or("no queue url")?;
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|error| failed("queue arn", error))?;
        let arn =
            attributes.attributes.and_then(|mut all| all.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn));
        events
            .put_rule()
            .name(&name)
            .event_bus_name(bus)
            .event_pattern(rule_pattern(subscriber).to_string())
            .send()
            .await
            .map_err(|error| failed("rule", error))?;
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id(subscriber.name())
            .arn(arn.ok_or("no queue arn")?)
            .build()
            .map_err(|error| failed("target", error))?;
        events
            .put_targets()
            .rule(&name)
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .map_err(|error| failed("target", error))?;
        urls.push(url);
    }
    let [notifier, balance_view, mds_view] = <[String; 3]>::try_from(urls).map_err(|_| "one queue per subscriber")?;
    Ok(EventQueues { notifier, balance_view, mds_view })
}

/// The crew's SNS topic (on an emulator), which crew alerts are published to.
pub async fn create_crew_topic(config: &SdkConfig) -> Result<String, String> {
    let created = aws_sdk_sns::Client::new(config)
        .create_topic()
        .name("kickboard-crew")
        .send()
        .await
        .map_err(|error| failed("crew topic", error))?;
    created.topic_arn.ok_or_else(|| "the crew topic has no ARN".into())
}

/// A platform application per push platform (on an emulator, which takes no credentials),
/// named as SNS names them: `GCM` serves FCM.
pub async fn create_push_applications(config: &SdkConfig) -> Result<PushApplications, String> {
    let sns = aws_sdk_sns::Client::new(config);
    let mut created = Vec::new();
    for platform in ["GCM", "APNS"] {
        let application = sns
            .create_platform_application()
            .name("kickboard")
            .platform(platform)
            .attributes("PlatformCredential", "emulated")
            .send()
            .await
            .map_err(|error| failed("platform application", error))?;
        created.push(application.platform_application_arn.ok_or("a platform application without an ARN")?);
    }
    let [fcm, apns] = <[String; 2]>::try_from(created).map_err(|_| "one application per platform")?;
    Ok(PushApplications { fcm: Some(fcm), apns: Some(apns) })
}

fn failed(what: &str, error: impl std::error::Error) -> String {
    format!("cannot create the {what}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(error))
}
