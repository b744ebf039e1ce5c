//! End-to-end scenarios over HTTP against a Kickboard server started in-process.
//!
//! The contract scenarios run once per adapter set (the embedded SQLite store, and the AWS
//! adapters on moto): the same requests must get the same answers from both.

mod aws;
mod city_rules;
mod commands;
mod concurrency;
mod delivery;
mod durability;
mod events;
mod faults;
mod flow;
mod fuzz;
mod gbfs;
mod idempotency;
mod identity;
mod input;
mod lambda_build;
mod licence;
mod mds;
mod migration;
mod observability;
mod openapi;
mod operations;
mod payments;
mod permissions;
mod provision;
mod push;
mod redrive;
mod rules;
mod sam;
mod samples;
mod vehicles;
mod zones;

/// Runs each listed scenario on every adapter set, as `on_sqlite::…` and `on_moto::…`.
macro_rules! contract {
    ($($module:ident :: $scenario:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::$module::$scenario(kickboard_tests::Backend::Sqlite).await
                }
            )*
        }
        mod on_moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::$module::$scenario(kickboard_tests::Backend::Moto).await
                }
            )*
        }
    };
}

contract!(
    flow::a_customer_buys_pays_rents_and_returns_with_alerts_and_balance,
    flow::admins_register_and_retire_boards_and_customers_cannot,
    rules::renting_needs_your_own_paid_unexpired_pass_with_minutes,
    rules::one_open_rental_per_pass_and_one_renter_per_board,
    rules::returns_bill_whole_minutes_record_overage_and_exhaust_the_pass,
    rules::payment_is_taken_once_and_refusals_leave_the_pass_payable,
    rules::the_payment_simulator_is_set_over_http,
    rules::a_customer_sees_only_their_own_rides_newest_first_a_page_at_a_time,
    concurrency::a_hundred_customers_race_for_one_board_and_exactly_one_rents_it,
    events::events_still_flow_after_a_race_a_refused_rent_and_a_restart,
    input::bad_requests_get_problems_and_write_nothing,
    idempotency::retries_with_a_key_get_the_first_answer_and_write_nothing,
    idempotency::a_key_is_held_while_its_request_runs_and_answers_expire,
    idempotency::a_failed_request_gives_its_key_back_at_once,
    licence::a_rider_verifies_once_and_the_number_is_kept_nowhere,
    licence::guessing_is_stopped_after_five_failures_a_day,
    licence::the_provider_down_refuses_the_unverified_and_spares_the_recently_verified,
    licence::with_licences_off_anyone_with_a_pass_rides,
    mds::rides_appear_once_as_trips_and_events_in_their_hours,
    commands::a_rung_board_acknowledges_and_the_command_reads_acked,
    commands::a_silent_board_times_out_and_a_late_ack_changes_nothing,
    commands::a_rent_begins_when_the_board_acknowledges_its_unlock,
    commands::a_silent_board_undoes_the_rent_and_the_next_try_after_it_is_back_rides,
    commands::three_missed_unlocks_in_a_row_tell_the_crew_once,
    commands::a_return_stands_when_the_lock_goes_unanswered_and_the_board_leaves_service,
    commands::a_ride_outlives_a_restart_of_the_server_and_its_broker,
    commands::a_hold_left_by_a_rent_that_died_is_undone_by_the_next_rent,
    commands::an_acknowledgement_delivered_twice_at_once_settles_its_command_once,
    vehicles::low_batteries_are_not_rented_nor_listed_and_the_crew_hears_once,
    vehicles::maintenance_takes_a_board_out_of_service_until_it_is_back,
    vehicles::racing_reports_and_a_rent_keep_the_newest_report,
    vehicles::after_a_restart_and_redeliveries_the_crew_hears_once_and_zones_hold,
    vehicles::a_parked_board_that_moves_by_itself_tells_the_crew_once_until_it_is_parked_anew,
    vehicles::a_rented_board_silent_for_ten_minutes_tells_the_crew_once_per_silence,
    gbfs::the_public_feed_is_valid_gbfs_and_never_shows_a_ride,
    zones::rides_start_and_end_only_where_the_zones_allow,
    zones::the_zones_are_published_as_gbfs_geofencing_zones,
    observability::each_counter_moves_by_one_with_what_happens,
    push::a_registered_device_gets_pushes_and_a_dead_endpoint_falls_back_to_sms,
    push::a_device_reaches_only_its_last_customer,
    operations::operators_see_the_fleet_the_rides_the_crew_alerts_and_the_day_once,
    city_rules::a_citys_kickboard_free_streets_refuse_returns_only_while_closed,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rides_trace_survives_the_outbox_and_the_relay() {
    observability::a_rides_trace_survives_the_outbox_and_the_relay().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gbfs_fleet_is_read_once_per_ttl_and_the_files_say_how_old_they_are() {
    gbfs::the_fleet_is_read_once_per_ttl_and_the_files_say_how_old_they_are().await;
}
