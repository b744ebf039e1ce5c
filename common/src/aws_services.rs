//! The services on the AWS adapters: what every Lambda function's handler runs on, and what
//! the benches run handlers on against an emulator.

use crate::adapters::aws::{DynamoStore, IotVehicleLink, SnsPushRegistry};
use crate::adapters::http_licences::HttpLicenceVerifier;
use crate::adapters::http_payments::HttpPaymentProvider;
use crate::adapters::licence_simulator::LicenceSimulator;
use crate::adapters::payment_simulator::PaymentSimulator;
use crate::handlers::gbfs::FleetSnapshots;
use crate::http::cursor::CursorKey;
use crate::http::{Problem, ProblemType};
use crate::licences::{GuardedLicenceChecks, LicenceKey};
use crate::payments::GuardedPayments;
use crate::ports::{
    BalanceView, BreakerStore, Clock, ContactStore, CrewLog, DayLedger, FleetStore, IdempotencyStore, LicenceStore,
    LicenceVerifier, MdsView, PassStore, PaymentProvider, PushRegistry, RentalStore, RideWatch, SystemClock, ZoneStore,
};
use crate::services::{Services, Vehicles};
use crate::settings::{LicenceProviderSetting, PaymentProviderSetting, Settings};
use crate::zone_cache::ZoneCache;
use aws_config::SdkConfig;
use std::sync::{Arc, OnceLock};

/// The services a Lambda function's handler runs on: the DynamoDB store behind every store
/// port, built at start; SNS and the payment provider built at first use, so only the
/// functions whose handler uses them link and make them.
pub struct AwsServices {
    settings: Settings,
    config: SdkConfig,
    store: Arc<DynamoStore>,
    zone_cache: ZoneCache,
    snapshots: FleetSnapshots,
    push: OnceLock<SnsPushRegistry>,
    cursor_key: Option<CursorKey>,
    payments: OnceLock<Result<GuardedPayments, NoPayments>>,
    licence_checks: OnceLock<Result<GuardedLicenceChecks, String>>,
    /// The link to the vehicles through IoT Core, when the settings name its endpoint.
    vehicle_link: OnceLock<Option<IotVehicleLink>>,
}

/// Why this function has no payments to offer.
enum NoPayments {
    /// Neither a provider URL nor the simulator was chosen: refused, never approved for free.
    NotConfigured,
    /// The provider's client could not be made.
    ClientFailed(String),
}

impl AwsServices {
    /// The services on the tables the settings name, with clients made from `config`.
    pub fn new(settings: Settings, config: SdkConfig) -> Result<Self, String> {
        let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), settings.aws.tables()?));
        Ok(Self {
            zone_cache: ZoneCache::new(settings.zone_check_interval, settings.city_context()),
            cursor_key: settings.cursor_secret.as_ref().map(|secret| CursorKey::new(&secret.0)),
            settings,
            config,
            store,
            snapshots: FleetSnapshots::default(),
            push: OnceLock::new(),
            payments: OnceLock::new(),
            licence_checks: OnceLock::new(),
            vehicle_link: OnceLock::new(),
        })
    }

    /// Licence checks as the settings say; `Err` says what is missing.
    fn make_licence_checks(&self) -> Result<GuardedLicenceChecks, String> {
        let licence = &self.settings.licence;
        let key = licence.hash_secret.as_ref().ok_or("KICKBOARD_LICENCE_HASH_KEY is not set")?;
        let verifier: Arc<dyn LicenceVerifier> = match &licence.provider {
            LicenceProviderSetting::NotConfigured => {
                return Err("no LICENCE_PROVIDER_URL, and LICENCE_MODE is not simulator".to_owned());
            }
            LicenceProviderSetting::Simulator => Arc::new(LicenceSimulator::default()),
            LicenceProviderSetting::Url(url) => {
                Arc::new(HttpLicenceVerifier::new(url, licence.timeout).map_err(|error| error.to_string())?)
            }
        };
        Ok(GuardedLicenceChecks::new(
            verifier,
            self.store.clone(),
            licence.breaker,
            Arc::new(SystemClock),
            LicenceKey::new(&key.0),
        ))
    }

    fn make_payments(&self) -> Result<GuardedPayments, NoPayments> {
        let payments = &self.settings.payments;
        let provider: Arc<dyn PaymentProvider> = match &payments.provider {
            PaymentProviderSetting::NotConfigured => return Err(NoPayments::NotConfigured),
            PaymentProviderSetting::Simulator(settings) => Arc::new(PaymentSimulator::new(*settings)),
            PaymentProviderSetting::Url(url) => Arc::new(
                HttpPaymentProvider::new(url, payments.timeouts)
                    .map_err(|error| NoPayments::ClientFailed(error.to_string()))?,
            ),
        };
        Ok(GuardedPayments::new(provider, self.store.clone(), payments.breaker, Arc::new(SystemClock)))
    }
}

impl Services for AwsServices {
    fn licences(&self) -> &dyn LicenceStore {
        self.store.as_ref()
    }
    fn licence_checks(&self) -> Result<&GuardedLicenceChecks, Problem> {
        self.licence_checks.get_or_init(|| self.make_licence_checks()).as_ref().map_err(|missing| {
            tracing::error!(%missing, "licence verification refused: not configured");
            Problem::new(ProblemType::LicenceCheckUnavailable)
                .with_detail("the operator has not configured licence verification")
                .retry_after(60)
        })
    }
    fn settings(&self) -> &Settings {
        &self.settings
    }
    fn clock(&self) -> &dyn Clock {
        &SystemClock
    }
    fn passes(&self) -> &dyn PassStore {
        self.store.as_ref()
    }
    fn answers(&self) -> &dyn IdempotencyStore {
        self.store.as_ref()
    }
    fn rentals(&self) -> &dyn RentalStore {
        self.store.as_ref()
    }
    fn fleet(&self) -> &dyn FleetStore {
        self.store.as_ref()
    }
    fn zones(&self) -> &dyn ZoneStore {
        self.store.as_ref()
    }
    fn contacts(&self) -> &dyn ContactStore {
        self.store.as_ref()
    }
    fn balances(&self) -> &dyn BalanceView {
        self.store.as_ref()
    }
    fn mds(&self) -> &dyn MdsView {
        self.store.as_ref()
    }
    fn crew_log(&self) -> &dyn CrewLog {
        self.store.as_ref()
    }
    fn days(&self) -> &dyn DayLedger {
        self.store.as_ref()
    }
    fn breakers(&self) -> &dyn BreakerStore {
        self.store.as_ref()
    }
    fn ride_watch(&self) -> &dyn RideWatch {
        self.store.as_ref()
    }
    fn push(&self) -> &dyn PushRegistry {
        self.push.get_or_init(|| {
            SnsPushRegistry::new(aws_sdk_sns::Client::new(&self.config), self.settings.aws.push_applications.clone())
        })
    }
    fn payments(&self) -> Result<&GuardedPayments, Problem> {
        match self.payments.get_or_init(|| self.make_payments()) {
            Ok(payments) => Ok(payments),
            Err(NoPayments::NotConfigured) => {
                tracing::error!("payment refused: no PAYMENT_PROVIDER_URL, and PAYMENT_MODE is not simulator");
                Err(Problem::new(ProblemType::PaymentNotConfigured)
                    .with_detail("the operator has not configured a payment provider"))
            }
            Err(NoPayments::ClientFailed(reason)) => {
                tracing::error!(%reason, "the payment provider client could not be made");
                Err(Problem::new(ProblemType::ServiceUnavailable))
            }
        }
    }
    fn zone_cache(&self) -> &ZoneCache {
        &self.zone_cache
    }
    fn snapshots(&self) -> &FleetSnapshots {
        &self.snapshots
    }
    fn vehicles(&self) -> Option<Vehicles<'_>> {
        let link = self.vehicle_link.get_or_init(|| {
            let endpoint = self.settings.aws.iot_data_endpoint.as_deref()?;
            Some(IotVehicleLink::new(&self.config, endpoint, self.store.clone(), Arc::new(SystemClock)))
        });
        let link = link.as_ref()?;
        Some(Vehicles { link, commands: self.store.as_ref(), rides: self.store.as_ref() })
    }

    fn cursor_key(&self) -> Result<&CursorKey, Problem> {
        self.cursor_key.as_ref().ok_or_else(|| {
            tracing::error!("KICKBOARD_CURSOR_KEY is not set");
            Problem::new(ProblemType::Internal)
        })
    }
}
