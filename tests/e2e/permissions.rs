//! Permissions as deployed. Every AWS request a function makes in these tests is checked by the
//! emulator against the role SAM will create for that function (`tests/iam_check.py`); a test
//! that ends with a request outside its role fails. Here the check is shown to bite: with an
//! action a function really uses taken out of its role, one at a time, the call is denied as
//! AWS would deny it, the denial names the function, the action and the resource, and the
//! function answers as it must after a deploy that left a permission out: `503` with
//! `Retry-After` (a retry after the fix works), counted in `PermissionsDenied` for the alarm.

use hyper::{Method, StatusCode};
use kickboard_tests::moto::Denial;
use kickboard_tests::{Reply, TestServer};

/// `PermissionsDenied` so far, from `GET /local/metrics`.
async fn denied_count(kb: &TestServer) -> f64 {
    let reply = kb.send_raw(Method::GET, "/local/metrics", None, None, Vec::new()).await;
    let text = reply.body.as_str().expect("metrics are text").to_owned();
    text.lines().find_map(|line| line.strip_prefix("kickboard_permissions_denied_total ")?.parse().ok()).unwrap_or(0.0)
}

fn assert_unavailable(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {reply:?}");
    assert_eq!(reply.problem(), "service-unavailable", "{what}: {reply:?}");
    assert!(reply.retry_after.is_some(), "{what}: {reply:?}");
}

/// The denials of a test server's emulator, each as `(function, action)`, with the resources
/// checked to be the deployment's own.
fn denied(kb: &TestServer) -> Vec<Denial> {
    let aws = kb.aws.as_ref().expect("on moto");
    let denials = aws.moto.denials();
    for denial in &denials {
        // An ARN of the deployment, or a phone number (what IAM checks a text against).
        assert!(denial.resource.starts_with("arn:aws:") || denial.resource.starts_with('+'), "{denial:?}");
    }
    denials
}

async fn customer_with_paid_pass(kb: &TestServer, name: &str) -> (String, String) {
    let token = kb.customer_token(name);
    let pass = kb.paid_pass(&token, "basic-60").await;
    (token, pass)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_update_grant_rent_is_denied_and_answers_503() {
    let kb = TestServer::start_on_moto_without_grants(&[("rent-kickboard", "dynamodb:UpdateItem")]).await;
    kb.register_board("kb-1").await;
    let (alice, pass) = customer_with_paid_pass(&kb, "alice").await;
    let before = denied_count(&kb).await;

    let rented = kb.rent(&alice, &pass, "kb-1").await;
    assert_unavailable(&rented, "rent");
    assert!(denied_count(&kb).await > before, "the denial is counted");
    let denials = denied(&kb);
    let state_table = &kb.aws.as_ref().unwrap().deployment.tables.state;
    assert!(
        denials.iter().any(|d| d.function == "rent-kickboard"
            && d.action == "dynamodb:UpdateItem"
            && d.resource.ends_with(&format!(":table/{state_table}"))),
        "{denials:?}"
    );
    assert!(denials.iter().all(|d| d.function == "rent-kickboard"), "only the changed role is short: {denials:?}");
    // Nothing was taken: the board is still there to rent.
    let listed = kb.get("/kickboards?near=37.5665,126.978&radiusM=100", &alice).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_query_grant_a_search_is_denied_on_the_index() {
    let kb = TestServer::start_on_moto_without_grants(&[("list-kickboards", "dynamodb:Query")]).await;
    kb.register_board("kb-1").await;
    let alice = kb.customer_token("alice");

    let near = kb.get("/kickboards?near=37.5665,126.978&radiusM=100", &alice).await;
    assert_unavailable(&near, "a search near a place");
    let denials = denied(&kb);
    assert!(
        denials.iter().any(|d| d.function == "list-kickboards"
            && d.action == "dynamodb:Query"
            && d.resource.ends_with("/index/available")),
        "{denials:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_read_grant_a_payment_is_denied_before_the_provider_is_called() {
    let kb = TestServer::start_on_moto_without_grants(&[("pay-pass", "dynamodb:GetItem")]).await;
    let alice = kb.customer_token("alice");
    let pass = kb.unpaid_pass(&alice, "basic-60").await;

    let paid = kb.call(Method::POST, &format!("/passes/{pass}/payment"), Some(&alice), None).await;
    assert_unavailable(&paid, "payment");
    assert_eq!(kb.get(&format!("/passes/{pass}"), &alice).await.body["status"], "PENDING_PAYMENT");
    assert_eq!(kb.simulator().charge_count(), 0, "the provider was not called");
    let denials = denied(&kb);
    let tables = &kb.aws.as_ref().unwrap().deployment.tables;
    assert!(
        denials.iter().any(|d| d.function == "pay-pass"
            && d.action == "dynamodb:GetItem"
            && [&tables.state, &tables.views].iter().any(|table| d.resource.ends_with(&format!(":table/{table}")))),
        "{denials:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_sms_grant_the_notifier_is_denied_and_keeps_the_alert() {
    let kb = TestServer::start_on_moto_without_grants(&[("notifier", "sns:Publish")]).await;
    let alice = kb.customer_token("alice");
    kb.set_phone(&alice, "+821012345678").await;
    let pass = kb.unpaid_pass(&alice, "basic-60").await;
    let paid = kb.call(Method::POST, &format!("/passes/{pass}/payment"), Some(&alice), None).await;
    assert_eq!(paid.status, StatusCode::OK, "{paid:?}");

    // The alert is retried, never marked sent: wait for the denial rather than for the relay.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let denials = loop {
        let denials = denied(&kb);
        if !denials.is_empty() || std::time::Instant::now() > deadline {
            break denials;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        denials.iter().any(|d| d.function == "notifier" && d.action == "sns:Publish" && d.resource == "+821012345678"),
        "a text is authorised against the phone number: {denials:?}"
    );
    assert!(kb.alerts("alice").await.is_empty(), "nothing was sent");
}
