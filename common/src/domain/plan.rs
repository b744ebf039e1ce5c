//! The pass catalogue: what a customer can buy, priced in integer won.

use super::ids::PlanId;
use serde::{Deserialize, Serialize};

/// An amount of Korean won. Won has no minor unit, so an integer is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Won(pub u64);

/// A pass plan: minutes of riding, a price, and how long the pass stays valid once paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub plan_id: PlanId,
    pub name: String,
    pub minutes: u32,
    pub price_won: Won,
    pub valid_days: u32,
}

/// The plans on sale. Fixed in code: a price change is a reviewed change.
pub fn catalogue() -> Vec<Plan> {
    let plan = |id: &str, name: &str, minutes, price, valid_days| Plan {
        plan_id: PlanId::try_from(id).expect("catalogue ids are valid"),
        name: name.to_owned(),
        minutes,
        price_won: Won(price),
        valid_days,
    };
    vec![plan("basic-60", "Basic 60 minutes", 60, 6_000, 30), plan("plus-120", "Plus 120 minutes", 120, 10_800, 30)]
}

pub fn find_plan(plan_id: &PlanId) -> Option<Plan> {
    catalogue().into_iter().find(|plan| &plan.plan_id == plan_id)
}
