//! The SAM side: template.yaml matches the code (every function, route, rule and index) and
//! parks every failed event in an encrypted queue that pages the operators, and every file in
//! `events/` gets the right answer from its function's binary (the test command's host build
//! of the same code `cargo lambda build` builds for Lambda), run under the Lambda Runtime
//! Interface Emulator by `scripts/invoke` against moto.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use kickboard_common::adapters::aws::DynamoStore;
use kickboard_common::adapters::aws::items::{AVAILABLE_INDEX, BY_CUSTOMER_INDEX, RIDER_INDEX, RIDING_INDEX};
use kickboard_common::domain::commands::{self, SentCommand};
use kickboard_common::domain::events::Subscriber;
use kickboard_common::domain::geo::Coordinates;
use kickboard_common::domain::ids::{CommandId, CustomerId, KickboardId, PassId, PaymentId, RentalId};
use kickboard_common::domain::kickboard::{Kickboard, Model};
use kickboard_common::domain::pass::Pass;
use kickboard_common::domain::plan::catalogue;
use kickboard_common::domain::vehicle::{BatteryRules, default_vehicle_type_id};
use kickboard_common::handlers::ROUTES;
use kickboard_common::http::idempotency::IDEMPOTENCY_KEY;
use kickboard_common::http::routes::Access;
use kickboard_common::metrics::{self, Metric};
use kickboard_common::ports::{CommandStore, FleetStore, PassStore, RentRequest, RentalStore};
use kickboard_local::aws_setup::rule_pattern;
use kickboard_tests::moto::{Moto, deploy};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    workspace().join(".venv/bin/python")
}

fn template() -> Value {
    let output = Command::new(python())
        .arg(workspace().join("tests/template_json.py"))
        .arg(workspace().join("template.yaml"))
        .output()
        .expect("python runs (./scripts/test creates .venv)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The workspace's Lambda binaries: one file per function in functions/src/bin.
fn binaries() -> BTreeSet<String> {
    std::fs::read_dir(workspace().join("functions/src/bin"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "rs"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Template functions by the binary they build.
fn functions(template: &Value) -> Vec<(String, &Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|resource| resource["Type"] == "AWS::Serverless::Function")
        .map(|function| {
            let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().expect("a Binary per function");
            (binary.to_owned(), function)
        })
        .collect()
}

#[test]
fn every_binary_is_a_template_function_with_its_sample_event() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Handler"], "bootstrap");
    assert!(workspace().join(globals["CodeUri"].as_str().unwrap()).join("Cargo.toml").exists());
    let in_template: BTreeSet<String> = functions(&template).into_iter().map(|(binary, _)| binary).collect();
    assert_eq!(in_template, binaries(), "template functions and functions/src/bin differ");
    for (binary, function) in functions(&template) {
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda", "{binary}");
        assert!(workspace().join(format!("events/{binary}.json")).exists(), "events/{binary}.json is missing");
    }
}

#[test]
fn every_route_is_in_the_template_behind_the_authorizer() {
    let template = template();
    let api = &template["Resources"]["HttpApi"]["Properties"]["Auth"];
    assert_eq!(api["DefaultAuthorizer"], "CognitoJwt");
    assert!(api["Authorizers"]["CognitoJwt"]["JwtConfiguration"]["issuer"].is_object());
    let functions = functions(&template);
    for route in ROUTES {
        let (_, function) = functions
            .iter()
            .find(|(binary, _)| binary == route.function)
            .unwrap_or_else(|| panic!("no function {} for {} {}", route.function, route.method, route.path));
        let events: Vec<&Value> = function["Properties"]["Events"].as_object().unwrap().values().collect();
        let api_event = events
            .iter()
            .find(|event| {
                event["Type"] == "HttpApi"
                    && event["Properties"]["Method"] == route.method.as_str()
                    && event["Properties"]["Path"] == route.path
            })
            .unwrap_or_else(|| panic!("{} {} is not routed to {}", route.method, route.path, route.function));
        let open = api_event["Properties"]["Auth"]["Authorizer"] == "NONE";
        assert_eq!(open, route.access == Access::Anyone, "{} {}: authorizer", route.method, route.path);
    }
}

#[test]
fn rules_tables_and_policies_match_the_code() {
    let template = template();
    for (binary, function) in functions(&template) {
        if let Some(subscriber) = Subscriber::ALL.into_iter().find(|subscriber| subscriber.name() == binary) {
            let rule = function["Properties"]["Events"].as_object().unwrap().values().next().unwrap();
            assert_eq!(rule["Type"], "EventBridgeRule");
            assert_eq!(rule["Properties"]["Pattern"], rule_pattern(subscriber), "{binary}'s rule");
            assert!(rule["Properties"]["DeadLetterConfig"]["Arn"].is_object(), "{binary} has a DLQ");
        }
        let statements = function["Properties"]["Policies"].as_array().into_iter().flatten();
        for statement in statements.flat_map(|policy| policy["Statement"].as_array().cloned().unwrap_or_default()) {
            // A statement the template adds only under a condition: its granting branch.
            let statement = statement.get("Fn::If").map_or(statement.clone(), |branches| branches[1].clone());
            let actions = match &statement["Action"] {
                Value::Array(actions) => actions.clone(),
                action => vec![action.clone()],
            };
            assert!(actions.iter().all(|action| !action.as_str().unwrap().contains('*')), "{binary}: {statement}");
            assert_ne!(statement["Resource"], "*", "{binary}: every grant names its resources: {statement}");
            if !statement["NotResource"].is_null() {
                // SMS: a phone number is no ARN, so "every SNS ARN but" is how it is granted.
                assert_eq!(actions, [Value::from("sns:Publish")], "{binary}: {statement}");
                let excluded = serde_json::json!({ "Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*" });
                assert_eq!(statement["NotResource"], excluded, "{binary}: {statement}");
            }
        }
    }
    let relay = functions(&template).into_iter().find(|(binary, _)| binary == "event-relay").unwrap().1;
    let stream = &relay["Properties"]["Events"]["Outbox"]["Properties"];
    assert_eq!(stream["FunctionResponseTypes"], serde_json::json!(["ReportBatchItemFailures"]));
    assert_eq!(stream["BisectBatchOnFunctionError"], true);
    assert!(stream["DestinationConfig"]["OnFailure"]["Destination"].is_object());
    let filter: Value =
        serde_json::from_str(stream["FilterCriteria"]["Filters"][0]["Pattern"].as_str().unwrap()).unwrap();
    assert_eq!(filter["dynamodb"]["NewImage"]["kind"]["S"][0], "outbox");

    let resources = &template["Resources"];
    let index_names = |table: &str| -> Vec<Value> {
        let indexes = resources[table]["Properties"]["GlobalSecondaryIndexes"].as_array().unwrap();
        indexes.iter().map(|index| index["IndexName"].clone()).collect()
    };
    let state_indexes = [Value::from(AVAILABLE_INDEX), Value::from(RIDER_INDEX), Value::from(RIDING_INDEX)];
    assert_eq!(index_names("StateTable"), state_indexes);
    assert_eq!(index_names("ViewTable"), [Value::from(BY_CUSTOMER_INDEX)]);
    assert_eq!(resources["StateTable"]["Properties"]["StreamSpecification"]["StreamViewType"], "NEW_IMAGE");
    for table in ["StateTable", "ViewTable"] {
        assert_eq!(resources[table]["Properties"]["TimeToLiveSpecification"]["AttributeName"], "ttl");
    }
}

/// The logical id a `Ref` or `Fn::GetAtt` points at.
fn target(value: &Value) -> Option<&str> {
    value["Ref"].as_str().or_else(|| value["Fn::GetAtt"][0].as_str())
}

/// The template's resources of one type, by logical id.
fn resources_of<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    let resources = template["Resources"].as_object().unwrap().iter();
    resources.filter(|(_, resource)| resource["Type"] == kind).map(|(id, resource)| (id.as_str(), resource)).collect()
}

fn ensure(condition: bool, failure: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(failure()) }
}

const OPERATORS_TOPIC: &str = "OperatorsTopic";

/// Issue 11: an event a function fails on is parked in a queue of its own, every queue is
/// encrypted and kept 14 days, and a message in any of them pages the operators with what to
/// do. The queues, functions and alarms checked are the template's own, not a fixed list.
fn failed_events_are_parked_and_page_the_operators(template: &Value) -> Result<(), String> {
    let resources = &template["Resources"];
    let functions = functions(template);
    let mut failure_queues = BTreeSet::new();
    for subscriber in Subscriber::ALL {
        let name = subscriber.name();
        let (_, function) = functions.iter().find(|(binary, _)| binary == name).ok_or(format!("no {name} function"))?;
        let config = &function["Properties"]["EventInvokeConfig"];
        let retries = config["MaximumRetryAttempts"].as_u64();
        ensure(retries.is_some_and(|retries| retries <= 2), || format!("{name}: MaximumRetryAttempts {retries:?}"))?;
        let age = config["MaximumEventAgeInSeconds"].as_u64();
        ensure(age.is_some_and(|age| (60..=21600).contains(&age)), || {
            format!("{name}: MaximumEventAgeInSeconds {age:?}")
        })?;
        let on_failure = &config["DestinationConfig"]["OnFailure"];
        ensure(on_failure["Type"] == "SQS", || format!("{name}: no SQS OnFailure destination: {config}"))?;
        let queue = target(&on_failure["Destination"]).unwrap_or_default();
        ensure(resources[queue]["Type"] == "AWS::SQS::Queue", || {
            format!("{name}: OnFailure is not a queue in the template: {on_failure}")
        })?;
        ensure(failure_queues.insert(queue), || format!("{name} shares its failure queue {queue}"))?;
        // Failure records wrap the event (requestPayload); the rule's dead letters are bare events.
        let rules = function["Properties"]["Events"].as_object().into_iter().flat_map(|events| events.values());
        let dead_letters: Vec<Option<&str>> =
            rules.map(|rule| target(&rule["Properties"]["DeadLetterConfig"]["Arn"])).collect();
        ensure(!dead_letters.contains(&Some(queue)), || {
            format!("{name}: {queue} is also its rule's dead-letter queue")
        })?;
    }

    let topic = &resources[OPERATORS_TOPIC];
    ensure(topic["Type"] == "AWS::SNS::Topic", || format!("no {OPERATORS_TOPIC}"))?;
    // CloudWatch cannot use the AWS-managed aws/sns key: an alarm on such a topic notifies no one.
    let key = &topic["Properties"]["KmsMasterKeyId"];
    ensure(!key.is_null() && *key != "alias/aws/sns", || format!("{OPERATORS_TOPIC} key {key}"))?;
    if let Some(key) = target(key) {
        let statements = resources[key]["Properties"]["KeyPolicy"]["Statement"].as_array().cloned().unwrap_or_default();
        let for_alarms = statements.iter().any(|statement| {
            statement["Effect"] == "Allow"
                && statement["Principal"]["Service"] == "cloudwatch.amazonaws.com"
                && statement["Action"].as_array().is_some_and(|actions| {
                    actions.contains(&Value::from("kms:Decrypt"))
                        && actions.contains(&Value::from("kms:GenerateDataKey*"))
                })
        });
        ensure(for_alarms, || format!("{key} does not let CloudWatch alarms publish to {OPERATORS_TOPIC}"))?;
    }
    for (id, subscription) in resources_of(template, "AWS::SNS::Subscription") {
        let condition = subscription["Condition"].as_str().unwrap_or_default();
        ensure(template["Conditions"][condition].is_object(), || format!("{id} is not conditional on an address"))?;
    }

    let outputs: Vec<&Value> =
        template["Outputs"].as_object().into_iter().flat_map(|outputs| outputs.values()).collect();
    let output_of =
        |reference: &str| outputs.iter().any(|output| output["Value"] == serde_json::json!({ "Ref": reference }));
    ensure(output_of(OPERATORS_TOPIC), || format!("no output with the {OPERATORS_TOPIC} ARN"))?;
    let alarms = resources_of(template, "AWS::CloudWatch::Alarm");
    let queues = resources_of(template, "AWS::SQS::Queue");
    ensure(queues.len() > failure_queues.len(), || "the rules' and the relay's queues are missing".to_owned())?;
    for (queue, resource) in queues {
        let properties = &resource["Properties"];
        let encrypted = properties["SqsManagedSseEnabled"] == true || !properties["KmsMasterKeyId"].is_null();
        ensure(encrypted, || format!("{queue} is not encrypted at rest"))?;
        ensure(properties["MessageRetentionPeriod"] == 1_209_600, || {
            format!("{queue} does not keep messages 14 days")
        })?;
        let dimension = serde_json::json!({ "Name": "QueueName", "Value": { "Fn::GetAtt": [queue, "QueueName"] } });
        let alarm = alarms
            .iter()
            .map(|(_, alarm)| &alarm["Properties"])
            .find(|alarm| {
                alarm["Namespace"] == "AWS/SQS"
                    && alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
                    && alarm["Dimensions"].as_array().is_some_and(|dimensions| dimensions.contains(&dimension))
            })
            .ok_or(format!("no alarm on the depth of {queue}"))?;
        let on_first_message = alarm["Statistic"] == "Maximum"
            && alarm["Period"] == 60
            && alarm["EvaluationPeriods"] == 1
            && alarm["ComparisonOperator"] == "GreaterThanThreshold"
            && alarm["Threshold"] == 0
            && alarm["TreatMissingData"] == "notBreaching";
        ensure(on_first_message, || format!("{queue}'s alarm does not fire on its first message: {alarm}"))?;
        for actions in ["AlarmActions", "OKActions"] {
            let notified = alarm[actions]
                .as_array()
                .is_some_and(|actions| actions.iter().any(|action| target(action) == Some(OPERATORS_TOPIC)));
            ensure(notified, || format!("{queue}'s alarm {actions} do not notify {OPERATORS_TOPIC}"))?;
        }
        let description = alarm["AlarmDescription"]["Fn::Sub"].as_str().unwrap_or_default();
        ensure(description.contains(&format!("scripts/redrive ${{{queue}}}")), || {
            format!("{queue}'s alarm does not say how to redrive it")
        })?;
        ensure(output_of(queue), || format!("no output with the URL of {queue}"))?;
    }
    Ok(())
}

#[test]
fn failed_events_are_parked_in_encrypted_queues_that_page_the_operators() {
    let template = template();
    failed_events_are_parked_and_page_the_operators(&template).unwrap();

    // The check catches each weakening of the template.
    let mut weakened: Vec<(String, Value)> = Vec::new();
    for (queue, _) in resources_of(&template, "AWS::SQS::Queue") {
        let mut plain = template.clone();
        let properties = plain["Resources"][queue]["Properties"].as_object_mut().unwrap();
        properties.remove("SqsManagedSseEnabled");
        properties.remove("KmsMasterKeyId");
        weakened.push((format!("{queue} unencrypted"), plain));
        let mut unwatched = template.clone();
        unwatched["Resources"].as_object_mut().unwrap().retain(|_, resource| {
            let dimensions = resource["Properties"]["Dimensions"].as_array().cloned().unwrap_or_default();
            !dimensions.iter().any(|dimension| dimension["Value"]["Fn::GetAtt"][0] == queue)
        });
        weakened.push((format!("{queue} without an alarm"), unwatched));
    }
    for subscriber in Subscriber::ALL {
        let mut discarding = template.clone();
        let mut resources = discarding["Resources"].as_object_mut().unwrap().values_mut();
        let function =
            resources.find(|resource| resource["Metadata"]["BuildProperties"]["Binary"] == subscriber.name()).unwrap();
        function["Properties"].as_object_mut().unwrap().remove("EventInvokeConfig");
        weakened.push((format!("{} without EventInvokeConfig", subscriber.name()), discarding));
    }
    for (weakening, template) in weakened {
        assert!(failed_events_are_parked_and_page_the_operators(&template).is_err(), "not caught: {weakening}");
    }
}

/// What `scripts/invoke` printed: the function's answer to its sample event.
fn invoke(function: &str, env: &[(&str, String)]) -> Value {
    invoke_with(function, None, env)
}

/// What `scripts/invoke` printed: the function's answer to `event` (a file).
fn invoke_with(function: &str, event: Option<&Path>, env: &[(&str, String)]) -> Value {
    let output = Command::new(workspace().join("scripts/invoke"))
        .arg(function)
        .args(event)
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        // Signed as the function itself, so the emulator checks each call against its role.
        .env("AWS_ACCESS_KEY_ID", function)
        .env("KICKBOARD_INVOKE_HOST_BUILD", "1")
        .output()
        .expect("scripts/invoke runs");
    assert!(output.status.success(), "{function}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{function} answered {}", String::from_utf8_lossy(&output.stdout)))
}

/// `function`'s answer to its sample event, which sends `board` a command and waits for it,
/// while the test plays the board: it finds the command the function recorded (the one not
/// there before) and
/// acknowledges it through `vehicle-acks`, as IoT Core's rule on the acks topic would.
async fn invoke_acknowledged(
    function: &'static str,
    board: &str,
    env: &[(&'static str, String)],
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Value {
    let commands = || async {
        let scan = client
            .scan()
            .table_name(table)
            .filter_expression("begins_with(pk, :command) AND kickboardId = :board")
            .expression_attribute_values(":command", AttributeValue::S("COMMAND#".into()))
            .expression_attribute_values(":board", AttributeValue::S(board.into()))
            .send()
            .await
            .unwrap();
        scan.items().iter().map(|item| item["commandId"].as_s().unwrap().clone()).collect::<BTreeSet<_>>()
    };
    let before = commands().await;
    let owned = env.to_vec();
    let invoked = tokio::task::spawn_blocking(move || invoke(function, &owned));
    let command_id = loop {
        if let Some(sent) = commands().await.difference(&before).next() {
            break sent.clone();
        }
        assert!(!invoked.is_finished(), "{function} finished without sending {board} a command");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let ack = std::env::temp_dir().join(format!("kickboard-ack-{command_id}.json"));
    std::fs::write(&ack, serde_json::json!({"kickboardId": board, "commandId": command_id, "ok": true}).to_string())
        .unwrap();
    let settled = invoke_with("vehicle-acks", Some(&ack), env);
    std::fs::remove_file(&ack).unwrap();
    assert_eq!(settled["settled"], "ACKED", "{settled}");
    invoked.await.unwrap()
}

fn functions_built() {
    let missing: Vec<String> = binaries()
        .into_iter()
        .filter(|binary| !Path::new(&workspace().join(format!("target/debug/{binary}"))).exists())
        .collect();
    assert!(missing.is_empty(), "no build of {missing:?}: ./scripts/test builds them (cargo build --all-targets)");
}

/// The records the sample events refer to.
async fn seed(store: &DynamoStore) {
    let now = Utc::now();
    let customer = CustomerId::try_from("customer-1").unwrap();
    let plan = &catalogue()[0];
    let location = Coordinates::new(37.5665, 126.978).unwrap();
    let model = Model::try_from("Ninebot Max".to_owned()).unwrap();
    for id in ["kb-seoul-1", "kb-retire-1", "kb-riding-1", "kb-repair-1"] {
        let (board, event) = Kickboard::register(
            KickboardId::try_from(id).unwrap(),
            model.clone(),
            default_vehicle_type_id(),
            location,
            now,
        );
        store.register_kickboard(&board, &event).await.unwrap();
    }
    for id in ["p-pending", "p-active", "p-riding"] {
        let (pass, event) = Pass::purchase(PassId::try_from(id).unwrap(), customer.clone(), plan, now);
        store.record_purchase(&pass, &event, None).await.unwrap();
        if id != "p-pending" {
            store.activate_pass(&pass, PaymentId::random(), now, None).await.unwrap();
        }
    }
    let rent = RentRequest {
        customer,
        pass_id: PassId::try_from("p-riding").unwrap(),
        kickboard_id: KickboardId::try_from("kb-riding-1").unwrap(),
        rental_id: RentalId::try_from("p-riding.0a1b2c3d").unwrap(),
        now,
        answer: None,
        rules: BatteryRules::default(),
        zones: Default::default(),
        licence_since: None,
    };
    store.start_rental(rent).await.unwrap();
    // The commands the sample events of get-command and vehicle-acks name.
    for id in ["c-1", "c-sample-ring"] {
        let board = KickboardId::try_from("kb-seoul-1").unwrap();
        let ring = SentCommand::send(
            CommandId::try_from(id).unwrap(),
            board,
            commands::Command::Ring,
            now,
            Duration::minutes(10),
        );
        store.record_command(&ring).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_gets_its_answer_from_its_function_under_the_rie() {
    functions_built();
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let deployment = deploy(&config).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    seed(&DynamoStore::new(client.clone(), deployment.tables.clone())).await;
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("KICKBOARD_STATE_TABLE", deployment.tables.state.clone()),
        ("KICKBOARD_VIEW_TABLE", deployment.tables.views.clone()),
        ("KICKBOARD_EVENT_BUS", deployment.bus.clone()),
        ("PAYMENT_MODE", "simulator".to_owned()),
        ("LICENCE_MODE", "simulator".to_owned()),
        ("KICKBOARD_LICENCE_HASH_KEY", "the test stack's licence key".to_owned()),
        // On AWS, CloudFormation puts the template's generated secret here.
        ("KICKBOARD_CURSOR_KEY", "the test stack's cursor key".to_owned()),
        // Commands go to moto's IoT data plane, which takes them and relays nothing: the test
        // acknowledges them itself (`invoke_acknowledged`).
        ("KICKBOARD_IOT_DATA_ENDPOINT", moto.endpoint.clone()),
        // The acknowledgement's own invocation starts the emulator anew, which takes seconds.
        ("KICKBOARD_COMMAND_TIMEOUT_MS", "20000".to_owned()),
    ];
    // Without a provider or the simulator chosen, payment is refused, never free.
    let unconfigured: Vec<_> = env.iter().filter(|(name, _)| *name != "PAYMENT_MODE").cloned().collect();
    let refused = invoke("pay-pass", &unconfigured);
    assert_eq!(refused["statusCode"], 503, "{refused}");
    assert!(refused["body"].as_str().unwrap().contains("payment-not-configured"), "{refused}");

    // In an order where each sample finds what it needs: the contact before the alert, the
    // balance event before the balance reads, kb-seoul-1's report (80 %) before it is rented.
    let http = [
        ("list-plans", 200),
        ("list-vehicle-types", 200),
        ("put-contact", 200),
        ("get-contact", 200),
        ("put-licence", 200), // LICENCE_MODE=simulator: customer-1 may ride
        ("get-licence", 200),
        ("purchase-pass", 201),
        ("pay-pass", 200), // PAYMENT_MODE=simulator, below
        ("get-pass", 200),
        ("register-kickboard", 201),
        ("report-telemetry", 200),     // kb-seoul-1, a vehicle token
        ("set-kickboard-status", 200), // kb-repair-1 into MAINTENANCE
        ("list-kickboards", 200),
        ("gbfs-feed", 200), // vehicle_status.json
        ("get-global-rules", 200),
        ("put-global-rules", 200), // all allowed, 25 km/h
        ("put-zone", 200),         // zone-city-hall, no parking: kb-seoul-1 and the return point lie outside it
        ("list-zones", 200),
    ];
    for (function, status) in http {
        let answer = invoke(function, &env);
        assert_eq!(answer["statusCode"], status, "{function}: {answer}");
    }
    // The rent answers once kb-seoul-1 acknowledged its unlock; the return locks kb-riding-1.
    let state = &deployment.tables.state;
    let rented = invoke_acknowledged("rent-kickboard", "kb-seoul-1", &env, &client, state).await;
    assert_eq!(rented["statusCode"], 201, "{rented}");
    assert!(rented["body"].as_str().unwrap().contains("unlockedAt"), "{rented}");
    // Two boards are ridden now (kb-seoul-1 and the seeded kb-riding-1), neither silent.
    let watched = invoke("watch-rides", &env);
    assert_eq!((watched["ridden"].as_u64(), watched["silent"].as_u64()), (Some(2), Some(0)), "{watched}");
    // A report of the rented board: its speed cap follows the zones (none crossed here).
    let ingested = invoke("ingest-telemetry", &env);
    assert!(ingested["errorType"].is_null(), "{ingested}");
    let returned = invoke_acknowledged("return-kickboard", "kb-riding-1", &env, &client, state).await;
    assert_eq!(returned["statusCode"], 200, "{returned}");
    let http = [
        ("get-rental", 200),
        ("list-rentals", 200),
        ("delete-zone", 204), // zone-city-hall, after the ride it let start and end
        ("delete-kickboard", 204),
        ("send-command", 202), // ring kb-seoul-1, published to moto's IoT data plane
        ("get-command", 200),  // c-1, seeded
        ("delete-licence", 204),
    ];
    for (function, status) in http {
        let answer = invoke(function, &env);
        assert_eq!(answer["statusCode"], status, "{function}: {answer}");
    }
    // The sample acknowledgement, of the seeded ring c-sample-ring.
    assert_eq!(invoke("vehicle-acks", &env)["settled"], "ACKED");
    assert_eq!(invoke("balance-view", &env), Value::Null);
    for (function, status) in [("get-balance", 200), ("list-balances", 200)] {
        let answer = invoke(function, &env);
        assert_eq!(answer["statusCode"], status, "{function}: {answer}");
    }
    let balances: Value = serde_json::from_str(invoke("list-balances", &env)["body"].as_str().unwrap()).unwrap();
    assert_eq!(balances[0]["minutesLeft"], 52, "the sample balance event was projected");

    // The sample return, in the cities' view: its hour (2026-11-25T09) has its trip and event.
    assert_eq!(invoke("mds-view", &env), Value::Null);
    let http = [
        ("mds-trips", 200),
        ("mds-events-historical", 200),
        ("mds-events-recent", 400), // its fixed range is more than two weeks back by now
        ("mds-telemetry", 200),
        ("mds-vehicles", 200),
        ("mds-vehicles-status", 200),
        ("mds-vehicle", 200),        // kb-seoul-1's device id
        ("mds-vehicle-status", 200), // and its state: the sample return's trip end
        ("mds-report", 200),         // 2026-11: the sample return's trip began before the view kept starts
    ];
    for (function, status) in http {
        let answer = invoke(function, &env);
        assert_eq!(answer["statusCode"], status, "{function}: {answer}");
    }
    let trips: Value = serde_json::from_str(invoke("mds-trips", &env)["body"].as_str().unwrap()).unwrap();
    assert_eq!(trips["trips"].as_array().map(Vec::len), Some(1), "{trips}");
    let report = invoke("mds-report", &env);
    let csv = report["body"].as_str().unwrap_or_default();
    assert!(csv.starts_with("provider_id,start_date,duration,") && csv.lines().count() == 4, "{report}");
    let status: Value = serde_json::from_str(invoke("mds-vehicle-status", &env)["body"].as_str().unwrap()).unwrap();
    assert_eq!(status["vehicles_status"][0]["last_event"]["event_types"][0], "trip_end", "{status}");

    // The operators' console's reads: kb-seoul-1 is on the road (rented above).
    let http = [("list-fleet", 200), ("list-active-rentals", 200), ("list-crew-alerts", 200), ("get-summary", 200)];
    for (function, status) in http {
        let answer = invoke(function, &env);
        assert_eq!(answer["statusCode"], status, "{function}: {answer}");
    }
    let body =
        |function: &str| -> Value { serde_json::from_str(invoke(function, &env)["body"].as_str().unwrap()).unwrap() };
    let rides = body("list-active-rentals");
    assert!(rides["rentals"].as_array().unwrap().iter().any(|ride| ride["kickboardId"] == "kb-seoul-1"), "{rides}");
    let fleet = body("list-fleet");
    let seoul = fleet["kickboards"].as_array().unwrap().iter().find(|board| board["kickboardId"] == "kb-seoul-1");
    assert_eq!(seoul.map(|board| board["status"].clone()), Some(Value::from("RENTED")), "{fleet}");
    assert_eq!(body("get-summary")["paymentBreaker"], "CLOSED");

    // A city's Red Road and its kickboard-free policy; a repeated import reads what was kept.
    let http = [("put-geography", 201), ("put-geography", 200), ("list-geographies", 200), ("put-policy", 201)];
    let more = [("put-policy", 200), ("list-policies", 200), ("mds-compliance", 200)];
    for (function, status) in http.into_iter().chain(more) {
        let answer = invoke(function, &env);
        assert_eq!(answer["statusCode"], status, "{function}: {answer}");
    }
    assert_eq!(body("put-policy")["rules"][0]["zone_rules"]["rideEndAllowed"], false);

    assert_eq!(invoke("notifier", &env), Value::Null);
    let sms = moto.sms().await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(sms[0].1.contains("kb-seoul-1 대여 시작"), "{sms:?}");

    let relayed = invoke("event-relay", &env);
    assert_eq!(relayed["batchItemFailures"], serde_json::json!([]), "{relayed}");
}

/// The metric an alarm watches, with its namespace and dimension names: the alarm's own, or
/// each `MetricStat` of its metric math.
fn watched_metrics(alarm: &Value) -> Vec<(String, String, BTreeSet<String>)> {
    let dimension_names = |dimensions: &Value| -> BTreeSet<String> {
        dimensions.as_array().into_iter().flatten().filter_map(|d| d["Name"].as_str().map(str::to_owned)).collect()
    };
    let properties = &alarm["Properties"];
    let mut watched = Vec::new();
    if let Some(name) = properties["MetricName"].as_str() {
        let namespace = properties["Namespace"].as_str().unwrap_or_default().to_owned();
        watched.push((namespace, name.to_owned(), dimension_names(&properties["Dimensions"])));
    }
    for query in properties["Metrics"].as_array().into_iter().flatten() {
        let metric = &query["MetricStat"]["Metric"];
        if let Some(name) = metric["MetricName"].as_str() {
            let namespace = metric["Namespace"].as_str().unwrap_or_default().to_owned();
            watched.push((namespace, name.to_owned(), dimension_names(&metric["Dimensions"])));
        }
    }
    watched
}

/// Issue 15: every alarm on a `Kickboard` metric names one the code writes, under a dimension
/// set it writes it with (an alarm on a metric nothing writes would never fire), and every
/// alarm notifies the operators.
fn alarms_watch_what_the_code_emits(template: &Value) -> Result<(), String> {
    let alarms = resources_of(template, "AWS::CloudWatch::Alarm");
    ensure(!alarms.is_empty(), || "no alarms".to_owned())?;
    let mut watched_ours = 0;
    for (id, alarm) in alarms {
        let notified = alarm["Properties"]["AlarmActions"]
            .as_array()
            .is_some_and(|actions| actions.iter().any(|action| target(action) == Some(OPERATORS_TOPIC)));
        ensure(notified, || format!("{id} does not notify {OPERATORS_TOPIC}"))?;
        for (namespace, name, dimensions) in watched_metrics(alarm) {
            if namespace != metrics::NAMESPACE {
                continue;
            }
            watched_ours += 1;
            let metric = Metric::ALL.into_iter().find(|metric| metric.name() == name);
            let metric = metric.ok_or_else(|| format!("{id} watches {name}, which no code writes"))?;
            let written = metric
                .dimension_sets()
                .iter()
                .any(|set| set.iter().map(|name| name.to_string()).collect::<BTreeSet<_>>() == dimensions);
            ensure(written, || {
                format!("{id} watches {name} by {dimensions:?}, not a dimension set it is written with")
            })?;
        }
    }
    ensure(watched_ours > 0, || "no alarm watches a Kickboard metric".to_owned())
}

#[test]
fn every_alarm_watches_a_metric_the_code_emits_and_notifies_the_operators() {
    let template = template();
    alarms_watch_what_the_code_emits(&template).unwrap();

    // The check catches an alarm on a metric nothing writes, or by the wrong dimensions.
    let (id, _) = resources_of(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .find(|(_, alarm)| alarm["Properties"]["Namespace"] == metrics::NAMESPACE)
        .expect("an alarm on a Kickboard metric");
    let mut renamed = template.clone();
    renamed["Resources"][id]["Properties"]["MetricName"] = "RidesTeleported".into();
    assert!(alarms_watch_what_the_code_emits(&renamed).is_err());
    let mut redimensioned = template.clone();
    redimensioned["Resources"][id]["Properties"]["Dimensions"] =
        serde_json::json!([{"Name": "Colour", "Value": "red"}]);
    assert!(alarms_watch_what_the_code_emits(&redimensioned).is_err());
}

/// The checks `.checkov.yaml` skips for the whole template, each with the reason written in
/// the comment just above it (or after it on its line).
fn global_checkov_skips(config: &str) -> Vec<(String, String)> {
    let mut skips = Vec::new();
    let mut in_list = false;
    let mut comment: Vec<&str> = Vec::new();
    for line in config.lines() {
        let text = line.trim();
        if !line.starts_with([' ', '#', '-']) && !text.is_empty() {
            in_list = text == "skip-check:";
            comment.clear();
        } else if text.is_empty() {
            comment.clear();
        } else if let Some(note) = text.strip_prefix('#') {
            comment.push(note.trim());
        } else if let Some(item) = text.strip_prefix("- ").filter(|_| in_list) {
            let (check, after) = item.split_once('#').unwrap_or((item, ""));
            let reason = if after.trim().is_empty() { comment.join(" ") } else { after.trim().to_owned() };
            skips.push((check.trim().trim_matches(['"', '\'']).to_owned(), reason));
            comment.clear();
        }
    }
    skips
}

/// Every finding the security scanner is told to skip says why: the checks `.checkov.yaml`
/// skips for every resource (the config `scripts/test` runs checkov with), and any skip left
/// on a single resource of the template.
#[test]
fn every_checkov_skip_gives_its_reason() {
    let config = std::fs::read_to_string(workspace().join(".checkov.yaml")).unwrap();
    let script = std::fs::read_to_string(workspace().join("scripts/test")).unwrap();
    assert!(
        script.contains("checkov --config-file .checkov.yaml -f template.yaml"),
        "scripts/test ignores .checkov.yaml"
    );
    let global = global_checkov_skips(&config);
    for (check, reason) in &global {
        assert!(check.starts_with("CKV_"), ".checkov.yaml: a skip without a check id: {check}");
        assert!(reason.split_whitespace().count() >= 5, ".checkov.yaml skips {check} without a reason");
    }
    let template = template();
    let mut skips = global.len();
    for (id, resource) in template["Resources"].as_object().unwrap() {
        for skip in resource["Metadata"]["checkov"]["skip"].as_array().into_iter().flatten() {
            skips += 1;
            let check = skip["id"].as_str().unwrap_or_default();
            let reason = skip["comment"].as_str().unwrap_or_default();
            assert!(check.starts_with("CKV_"), "{id}: a skip without a check id: {skip}");
            assert!(reason.split_whitespace().count() >= 5, "{id} skips {check} without a reason: {skip}");
            assert!(
                !global.iter().any(|(skipped, _)| skipped == check),
                "{id} skips {check}, skipped everywhere already"
            );
        }
    }
    assert!(skips > 0, "nothing is skipped, or the skips moved");

    // The reader sees a skip without a reason.
    let bare =
        global_checkov_skips("skip-check:\n  # Why.\n\n  - CKV_AWS_1\n  - CKV_AWS_2  # a reason of five words\n");
    assert_eq!(
        bare,
        [("CKV_AWS_1".to_owned(), String::new()), ("CKV_AWS_2".to_owned(), "a reason of five words".to_owned())]
    );
}

/// The two functions capped on purpose keep their caps: checkov's check for a concurrency
/// limit (CKV_AWS_115) is skipped for every function in `.checkov.yaml`, so it no longer sees
/// these two pass. Each cap is its parameter, where 0 reserves none.
#[test]
fn the_notifier_and_pay_pass_keep_their_concurrency_caps() {
    let template = template();
    for (function, condition, parameter) in [
        ("NotifierFunction", "ReservesNotifierConcurrency", "NotifierReservedConcurrency"),
        ("PayPassFunction", "ReservesPayPassConcurrency", "PayPassReservedConcurrency"),
    ] {
        let cap = &template["Resources"][function]["Properties"]["ReservedConcurrentExecutions"];
        let expected = serde_json::json!({"Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]});
        assert_eq!(*cap, expected, "{function}'s concurrency cap");
        assert!(template["Parameters"][parameter].is_object(), "no parameter {parameter}");
    }
}

/// Every log the stack writes is kept for the operator's `LogRetentionDays`, never forever:
/// the log groups carry it, every function logs to one of them (not to Lambda's own group,
/// which has no retention), and so does the API's access log.
fn logs_are_kept_for_the_chosen_retention(template: &Value) -> Result<(), String> {
    let retention = serde_json::json!({"Ref": "LogRetentionDays"});
    let groups = resources_of(template, "AWS::Logs::LogGroup");
    for (id, group) in &groups {
        ensure(group["Properties"]["RetentionInDays"] == retention, || format!("{id} keeps its logs forever"))?;
    }
    let is_group = |value: &Value| target(value).is_some_and(|id| groups.iter().any(|(group, _)| *group == id));
    let global = &template["Globals"]["Function"]["LoggingConfig"]["LogGroup"];
    for (binary, function) in functions(template) {
        let own = &function["Properties"]["LoggingConfig"]["LogGroup"];
        let group = if own.is_null() { global } else { own };
        ensure(is_group(group), || format!("{binary} logs to Lambda's own group, kept forever"))?;
    }
    for (id, api) in resources_of(template, "AWS::Serverless::HttpApi") {
        let destination = &api["Properties"]["AccessLogSettings"]["DestinationArn"];
        ensure(is_group(destination), || format!("{id}'s access log goes to no group of the template"))?;
    }
    Ok(())
}

#[test]
fn every_log_is_kept_for_the_operators_retention() {
    let template = template();
    logs_are_kept_for_the_chosen_retention(&template).unwrap();

    // The check catches a group kept forever and a function logging to Lambda's own group.
    let (group, _) = resources_of(&template, "AWS::Logs::LogGroup")[0];
    let mut forever = template.clone();
    forever["Resources"][group]["Properties"].as_object_mut().unwrap().remove("RetentionInDays");
    assert!(logs_are_kept_for_the_chosen_retention(&forever).is_err());
    let mut lambdas_own = template.clone();
    lambdas_own["Globals"]["Function"]["LoggingConfig"].as_object_mut().unwrap().remove("LogGroup");
    assert!(logs_are_kept_for_the_chosen_retention(&lambdas_own).is_err());
}

/// Every ARN the deployed stack holds names `${AWS::Partition}`, never `aws` itself, SAM's
/// generated resources included: the template translated by SAM for a China region must show
/// no partition written out (AWS managed policies aside, which SAM names per region).
#[test]
fn every_arn_of_the_deployed_stack_takes_the_partition_it_is_deployed_in() {
    let check = |template: &Path| {
        Command::new(python())
            .arg(workspace().join("tests/iam_check.py"))
            .arg("literal-partitions")
            .arg(template)
            .output()
            .expect("python runs (./scripts/test creates .venv)")
    };
    let output = check(&workspace().join("template.yaml"));
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // The check catches a literal partition, in the template or in what SAM generates.
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    let literal = text.replacen("arn:${AWS::Partition}:sns:", "arn:aws:sns:", 1);
    assert_ne!(literal, text, "the template has a partition-agnostic SNS ARN to weaken");
    let weakened = std::env::temp_dir().join(format!("kickboard-partition-{}.yaml", std::process::id()));
    std::fs::write(&weakened, literal).unwrap();
    let output = check(&weakened);
    let _ = std::fs::remove_file(&weakened);
    assert!(!output.status.success(), "a literal arn:aws: went unnoticed");
    assert!(String::from_utf8_lossy(&output.stdout).contains("arn:aws:sns:"));
}

/// A table's keys, attribute definitions and indexes, comparable whatever their order.
#[derive(Debug, PartialEq)]
struct TableShape {
    keys: Vec<(String, String)>,
    attributes: BTreeSet<(String, String)>,
    indexes: BTreeSet<String>,
}

fn table_shape(
    keys: impl IntoIterator<Item = (String, String)>,
    attributes: impl IntoIterator<Item = (String, String)>,
    indexes: impl IntoIterator<Item = (String, Vec<(String, String)>, String)>,
) -> TableShape {
    let indexes = indexes.into_iter().map(|(name, keys, projection)| format!("{name} {keys:?} {projection}")).collect();
    TableShape { keys: keys.into_iter().collect(), attributes: attributes.into_iter().collect(), indexes }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tables_the_local_aws_mode_creates_have_the_templates_shape() {
    // The local AWS mode and the tests create the tables themselves (local/src/aws_setup.rs):
    // a key or an index written there but not in the template would pass every test on the
    // emulator and fail on AWS.
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let deployment = deploy(&config).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let template = template();
    let pairs = |value: &Value, name: &str, kind: &str| -> Vec<(String, String)> {
        value.as_array().map_or_else(Vec::new, |items| {
            items
                .iter()
                .map(|item| (item[name].as_str().unwrap().to_owned(), item[kind].as_str().unwrap().to_owned()))
                .collect()
        })
    };
    for (resource, table) in [("StateTable", &deployment.tables.state), ("ViewTable", &deployment.tables.views)] {
        let declared = &template["Resources"][resource]["Properties"];
        let declared_indexes = declared["GlobalSecondaryIndexes"].as_array().cloned().unwrap_or_default();
        let expected = table_shape(
            pairs(&declared["KeySchema"], "AttributeName", "KeyType"),
            pairs(&declared["AttributeDefinitions"], "AttributeName", "AttributeType"),
            declared_indexes.iter().map(|index| {
                let projection = index["Projection"]["ProjectionType"].as_str().unwrap().to_owned();
                (
                    index["IndexName"].as_str().unwrap().to_owned(),
                    pairs(&index["KeySchema"], "AttributeName", "KeyType"),
                    projection,
                )
            }),
        );
        let described = client.describe_table().table_name(table).send().await.unwrap().table.unwrap();
        let key_pairs = |keys: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
            keys.iter().map(|key| (key.attribute_name.clone(), key.key_type.as_str().to_owned())).collect()
        };
        let created = table_shape(
            key_pairs(described.key_schema()),
            described
                .attribute_definitions()
                .iter()
                .map(|attribute| (attribute.attribute_name.clone(), attribute.attribute_type.as_str().to_owned())),
            described.global_secondary_indexes().iter().map(|index| {
                let projection = index
                    .projection()
                    .and_then(|projection| projection.projection_type())
                    .map_or("", |kind| kind.as_str());
                (
                    index.index_name().unwrap_or_default().to_owned(),
                    key_pairs(index.key_schema()),
                    projection.to_owned(),
                )
            }),
        );
        assert_eq!(created, expected, "{resource}: what aws_setup creates against what the template declares");
    }
}

/// The directives of a Content-Security-Policy, each with its sources.
fn csp_directives(policy: &str) -> Vec<(String, Vec<String>)> {
    let directives = policy.split(';').map(str::trim).filter(|directive| !directive.is_empty());
    directives
        .map(|directive| {
            let mut words = directive.split_whitespace().map(str::to_owned);
            (words.next().unwrap_or_default(), words.collect())
        })
        .collect()
}

/// The console's address as the template writes it: its own domain when it has one, else the
/// distribution's name, followed by `path`.
fn console_address(distribution: &str, path: &str) -> Value {
    serde_json::json!({"Fn::If": [
        "HasConsoleDomain",
        {"Fn::Sub": format!("https://${{ConsoleDomainName}}{path}")},
        {"Fn::Sub": format!("https://${{{distribution}.DomainName}}{path}")},
    ]})
}

/// Issue 24: the console's files are in a private bucket that only its CloudFront
/// distribution reads (origin access control, no public access, TLS only); the distribution
/// answers over HTTPS with a policy that runs no inline script; the console signs in with its
/// own public client, code flow only, back to the distribution; the API takes that client's
/// tokens and the distribution's origin (CORS); and scripts/deploy-console finds every output
/// it reads.
fn console_is_served_privately(template: &Value) -> Result<(), String> {
    let resources = &template["Resources"];
    let distributions = resources_of(template, "AWS::CloudFront::Distribution");
    ensure(distributions.len() == 1, || format!("{} distributions, not the console's one", distributions.len()))?;
    let (distribution, resource) = distributions[0];
    let config = &resource["Properties"]["DistributionConfig"];
    let origins = config["Origins"].as_array().cloned().unwrap_or_default();
    ensure(origins.len() == 1, || format!("{distribution}: origins {origins:?}"))?;
    let origin = &origins[0];
    let bucket = target(&origin["DomainName"]).unwrap_or_default();
    ensure(resources[bucket]["Type"] == "AWS::S3::Bucket", || format!("{distribution}'s origin is no bucket"))?;
    let access_control = target(&origin["OriginAccessControlId"]).unwrap_or_default();
    let signing = &resources[access_control]["Properties"]["OriginAccessControlConfig"];
    ensure(
        resources[access_control]["Type"] == "AWS::CloudFront::OriginAccessControl"
            && signing["OriginAccessControlOriginType"] == "s3"
            && signing["SigningBehavior"] == "always"
            && signing["SigningProtocol"] == "sigv4",
        || format!("{distribution} reads {bucket} without origin access control signing every request: {origin}"),
    )?;
    ensure(origin["S3OriginConfig"]["OriginAccessIdentity"] == "", || format!("{bucket}: a legacy identity"))?;

    let properties = &resources[bucket]["Properties"];
    let block = &properties["PublicAccessBlockConfiguration"];
    let blocked = ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"];
    ensure(blocked.iter().all(|setting| block[setting] == true), || format!("{bucket}: public access {block}"))?;
    ensure(properties["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced", || {
        format!("{bucket}: ACLs are not disabled")
    })?;
    ensure(!properties["BucketEncryption"].is_null(), || format!("{bucket} is not encrypted"))?;
    let policies = resources_of(template, "AWS::S3::BucketPolicy");
    let policy = policies
        .iter()
        .find(|(_, policy)| target(&policy["Properties"]["Bucket"]) == Some(bucket))
        .ok_or(format!("no policy on {bucket}"))?;
    let statements = policy.1["Properties"]["PolicyDocument"]["Statement"].as_array().cloned().unwrap_or_default();
    let source = serde_json::json!({"Fn::Sub": format!(
        "arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{distribution}}}"
    )});
    for statement in statements.iter().filter(|statement| statement["Effect"] == "Allow") {
        let only_the_distribution = statement["Principal"]
            == serde_json::json!({"Service": "cloudfront.amazonaws.com"})
            && statement["Action"] == "s3:GetObject"
            && statement["Condition"] == serde_json::json!({"StringEquals": {"AWS:SourceArn": source}});
        ensure(only_the_distribution, || format!("{bucket} lets more than {distribution} read: {statement}"))?;
    }
    let tls_only = statements.iter().any(|statement| {
        statement["Effect"] == "Deny"
            && statement["Principal"] == "*"
            && statement["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    });
    ensure(tls_only, || format!("{bucket} takes requests without TLS"))?;

    let behaviour = &config["DefaultCacheBehavior"];
    ensure(behaviour["ViewerProtocolPolicy"] == "redirect-to-https", || format!("{distribution} answers over HTTP"))?;
    let custom_domain = &config["ViewerCertificate"]["Fn::If"][1];
    ensure(custom_domain["MinimumProtocolVersion"] == "TLSv1.2_2021", || {
        format!("{distribution}: a console domain without TLS 1.2 at least: {custom_domain}")
    })?;
    ensure(
        target(&config["Logging"]["Bucket"]).is_some_and(|logs| resources[logs]["Type"] == "AWS::S3::Bucket"),
        || format!("{distribution} logs nowhere in the template"),
    )?;
    let headers = target(&behaviour["ResponseHeadersPolicyId"]).unwrap_or_default();
    let security = &resources[headers]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"];
    let csp = &security["ContentSecurityPolicy"];
    let policy_text = csp["ContentSecurityPolicy"]["Fn::Sub"][0].as_str().unwrap_or_default();
    let directives = csp_directives(policy_text);
    let sources = |name: &str| -> Vec<String> {
        directives
            .iter()
            .find(|(directive, _)| directive == name)
            .map(|(_, sources)| sources.clone())
            .unwrap_or_default()
    };
    ensure(csp["Override"] == true, || format!("{headers}: the files' own headers may replace the policy"))?;
    for (directive, wanted) in [
        ("default-src", "'self'"),
        ("script-src", "'self'"),
        ("style-src", "'self'"),
        ("frame-ancestors", "'none'"),
        ("base-uri", "'none'"),
    ] {
        ensure(sources(directive) == [wanted], || {
            format!("{headers}: {directive} {:?} in {policy_text}", sources(directive))
        })?;
    }
    let connect = sources("connect-src");
    ensure(
        connect.iter().any(|source| source.contains(".execute-api.${AWS::Region}."))
            && connect.iter().any(|source| source.contains("amazoncognito.com"))
            && connect.iter().all(|source| source.starts_with("'self'") || source.starts_with("https://")),
        || format!("{headers}: connect-src {connect:?}"),
    )?;
    ensure(
        security["StrictTransportSecurity"]["AccessControlMaxAgeSec"].as_u64().is_some_and(|age| age >= 31_536_000)
            && security["ContentTypeOptions"]["Override"] == true
            && !security["ReferrerPolicy"]["ReferrerPolicy"].is_null(),
        || format!("{headers}: HSTS, nosniff or the referrer policy is missing: {security}"),
    )?;

    let clients = resources_of(template, "AWS::Cognito::UserPoolClient");
    let (client, console_client) = clients
        .iter()
        .find(|(_, client)| client["Properties"]["AllowedOAuthFlowsUserPoolClient"] == true)
        .ok_or("no app client signs in through the hosted UI")?;
    let client_properties = &console_client["Properties"];
    let callback = serde_json::json!([console_address(distribution, "/console/")]);
    ensure(
        client_properties["GenerateSecret"] == false
            && client_properties["AllowedOAuthFlows"] == serde_json::json!(["code"])
            && client_properties["SupportedIdentityProviders"] == serde_json::json!(["COGNITO"])
            && client_properties["CallbackURLs"] == callback
            && client_properties["LogoutURLs"] == callback
            && client_properties["ExplicitAuthFlows"] == serde_json::json!(["ALLOW_REFRESH_TOKEN_AUTH"]),
        || format!("{client} is not a public code-flow client returning to the console: {client_properties}"),
    )?;
    ensure(!resources_of(template, "AWS::Cognito::UserPoolDomain").is_empty(), || "no hosted UI domain".to_owned())?;

    let api = &resources["HttpApi"]["Properties"];
    let audience = &api["Auth"]["Authorizers"]["CognitoJwt"]["JwtConfiguration"]["audience"];
    let accepted = |id: &str| audience.as_array().is_some_and(|ids| ids.contains(&serde_json::json!({"Ref": id})));
    ensure(accepted(client) && accepted("UserPoolClient"), || format!("the authorizer's audience {audience}"))?;
    let cors = &api["CorsConfiguration"];
    ensure(cors["AllowOrigins"] == serde_json::json!([console_address(distribution, "")]), || {
        format!("CORS lets other origins than the console's: {}", cors["AllowOrigins"])
    })?;
    let allowed_headers = cors["AllowHeaders"].as_array().cloned().unwrap_or_default();
    for header in ["authorization", "content-type", IDEMPOTENCY_KEY] {
        ensure(allowed_headers.contains(&Value::from(header)), || format!("CORS does not allow the {header} header"))?;
    }

    let script = std::fs::read_to_string(workspace().join("scripts/deploy-console")).map_err(|e| e.to_string())?;
    let read: Vec<&str> = script.lines().filter_map(|line| line.split("stack_value Outputs ").nth(1)).collect();
    ensure(read.len() >= 5, || format!("scripts/deploy-console reads outputs {read:?}"))?;
    for output in read {
        let output = output.trim_end_matches(')');
        ensure(template["Outputs"][output].is_object(), || {
            format!("scripts/deploy-console reads {output}, no output")
        })?;
    }
    Ok(())
}

#[test]
fn the_console_is_served_privately_behind_cloudfront_and_signs_in_through_cognito() {
    let template = template();
    console_is_served_privately(&template).unwrap();

    // The check catches each weakening of the template.
    let resources = &template["Resources"];
    let (distribution, _) = resources_of(&template, "AWS::CloudFront::Distribution")[0];
    let config = ["Resources", distribution, "Properties", "DistributionConfig"];
    let bucket_policy = resources_of(&template, "AWS::S3::BucketPolicy")
        .into_iter()
        .find(|(_, policy)| policy["Properties"]["PolicyDocument"].to_string().contains("cloudfront.amazonaws.com"))
        .unwrap()
        .0;
    let headers = target(
        &resources[distribution]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]["ResponseHeadersPolicyId"],
    )
    .unwrap();
    let pointer = |path: &[&str]| format!("/{}", path.join("/"));
    let weaken = |path: &[&str], value: Value| {
        let mut weakened = template.clone();
        *weakened.pointer_mut(&pointer(path)).unwrap_or_else(|| panic!("no {}", pointer(path))) = value;
        weakened
    };
    let csp = [
        "Resources",
        headers,
        "Properties",
        "ResponseHeadersPolicyConfig",
        "SecurityHeadersConfig",
        "ContentSecurityPolicy",
        "ContentSecurityPolicy",
        "Fn::Sub",
        "0",
    ];
    let policy_text = template.pointer(&pointer(&csp)).unwrap().as_str().unwrap();
    let weakened = [
        (
            "public bucket",
            weaken(
                &[
                    "Resources",
                    "ConsoleBucket",
                    "Properties",
                    "PublicAccessBlockConfiguration",
                    "RestrictPublicBuckets",
                ],
                false.into(),
            ),
        ),
        (
            "anyone reads",
            weaken(
                &["Resources", bucket_policy, "Properties", "PolicyDocument", "Statement", "0", "Principal"],
                "*".into(),
            ),
        ),
        (
            "any distribution reads",
            weaken(
                &["Resources", bucket_policy, "Properties", "PolicyDocument", "Statement", "0", "Condition"],
                Value::Null,
            ),
        ),
        (
            "no origin access control",
            weaken(&[&config[..], &["Origins", "0", "OriginAccessControlId"]].concat(), Value::Null),
        ),
        (
            "plain HTTP",
            weaken(&[&config[..], &["DefaultCacheBehavior", "ViewerProtocolPolicy"]].concat(), "allow-all".into()),
        ),
        (
            "inline scripts",
            weaken(&csp, policy_text.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").into()),
        ),
        (
            "implicit flow",
            weaken(
                &["Resources", "ConsoleClient", "Properties", "AllowedOAuthFlows"],
                serde_json::json!(["code", "implicit"]),
            ),
        ),
        (
            "callback elsewhere",
            weaken(
                &["Resources", "ConsoleClient", "Properties", "CallbackURLs"],
                serde_json::json!(["https://example.com/"]),
            ),
        ),
        (
            "console tokens refused",
            weaken(
                &[
                    "Resources",
                    "HttpApi",
                    "Properties",
                    "Auth",
                    "Authorizers",
                    "CognitoJwt",
                    "JwtConfiguration",
                    "audience",
                ],
                serde_json::json!([{"Ref": "UserPoolClient"}]),
            ),
        ),
        (
            "any origin",
            weaken(
                &["Resources", "HttpApi", "Properties", "CorsConfiguration", "AllowOrigins"],
                serde_json::json!(["*"]),
            ),
        ),
    ];
    for (weakening, template) in weakened {
        assert!(console_is_served_privately(&template).is_err(), "not caught: {weakening}");
    }
}
