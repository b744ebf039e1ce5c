//! Reading a query or a scan to its end, one page after another: the one pagination loop.

use crate::adapters::aws::items::Item;
use crate::adapters::aws::sdk_error;
use crate::ports::PortResult;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;

/// A read DynamoDB answers a page at a time: a query or a scan.
pub(super) trait Paginated: Clone + Send {
    /// The page that starts at `start` (the first when `None`), and the key the next one
    /// starts at, if any.
    fn page(self, start: Option<Item>) -> impl Future<Output = PortResult<(Vec<Item>, Option<Item>)>> + Send;
}

macro_rules! paginated {
    ($($builder:ty),*) => {$(
        impl Paginated for $builder {
            async fn page(self, start: Option<Item>) -> PortResult<(Vec<Item>, Option<Item>)> {
                let output = self.set_exclusive_start_key(start).send().await.map_err(sdk_error)?;
                Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
            }
        }
    )*};
}

paginated!(QueryFluentBuilder, ScanFluentBuilder);

/// Every item `request` reads, page after page.
pub(super) async fn all_pages(request: impl Paginated) -> PortResult<Vec<Item>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let (page, next) = request.clone().page(start).await?;
        items.extend(page);
        match next {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}
