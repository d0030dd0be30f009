//! Usage per day: every UTC day of a period with its totals (zero on a day without calls), drawn
//! as the bars of a server-rendered SVG chart and listed in a table with the exact figures.
//!
//! Written here rather than with a charting crate: a few rectangles in a `viewBox` are all it
//! takes, and the page stays within the CSP (no script, no inline style; colours are classes).

use gatehouse_api::dto::money::Amount;
use gatehouse_domain::chrono::{DateTime, Utc};
use gatehouse_domain::{Cost, UsageTotal};

use crate::page::{date_value, money};

/// The most days a chart shows: a year, leap day included.
pub const MAX_DAYS: i64 = 366;

const SECONDS_PER_DAY: i64 = 86_400;
/// The drawing's width and height, in `viewBox` units.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 220.0;
/// Where the bars stand, and how tall the tallest is.
const BASELINE: f64 = 190.0;
const TALLEST: f64 = 172.0;

/// One day's totals, as the table shows them.
#[derive(Debug, Clone)]
pub struct DayRow {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// How many calls.
    pub requests: i64,
    /// Their prompt tokens.
    pub prompt_tokens: i64,
    /// Their completion tokens.
    pub completion_tokens: i64,
    /// What they cost, as the API writes it.
    pub cost: String,
}

/// One day's bar, in `viewBox` units.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Its left edge.
    pub x: String,
    /// Its top.
    pub y: String,
    /// Its width.
    pub width: String,
    /// Its height (zero on a day without calls).
    pub height: String,
    /// What a pointer over it reads.
    pub label: String,
}

/// The chart of a period.
#[derive(Debug, Clone)]
pub struct Chart {
    /// "Cost per day, 2030-06-01 to 2030-06-30": the image's accessible name.
    pub title: String,
    /// The drawing's `viewBox`.
    pub view_box: String,
    /// The baseline's height.
    pub baseline: String,
    /// Where the day labels go.
    pub label_y: String,
    /// The drawing's width, where the last day's label ends.
    pub width: String,
    /// One bar per day, in order.
    pub bars: Vec<Bar>,
    /// The first day.
    pub first: String,
    /// The last day.
    pub last: String,
    /// "Most in a day: 0.5".
    pub peak: String,
}

/// Usage per day over a period.
#[derive(Debug, Clone, Default)]
pub struct PerDay {
    /// Every day, in order, with its totals.
    pub rows: Vec<DayRow>,
    /// The bars; `None` when there is no day to draw.
    pub chart: Option<Chart>,
    /// Whether the period is longer than [`MAX_DAYS`]: then neither is shown.
    pub too_long: bool,
}

/// The days from `from` (inclusive) to `to` (exclusive), with the totals of `totals` (grouped by
/// day: each group the UTC day's first second). A bound left open is the first or last day with
/// calls.
pub fn per_day(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    totals: &[UsageTotal],
) -> PerDay {
    let days_with_calls = || totals.iter().filter_map(|total| total.group);
    let start = from
        .map(|from| day_start(from.timestamp()))
        .or_else(|| days_with_calls().min());
    let end = to
        .map(|to| day_start(to.timestamp() + SECONDS_PER_DAY - 1))
        .or_else(|| days_with_calls().max().map(|last| last + SECONDS_PER_DAY));
    let (Some(start), Some(end)) = (start, end) else {
        return PerDay::default();
    };
    let count = (end - start).div_euclid(SECONDS_PER_DAY).max(0);
    if count > MAX_DAYS {
        return PerDay {
            too_long: true,
            ..PerDay::default()
        };
    }
    let days: Vec<(i64, Option<&UsageTotal>)> = (0..count)
        .map(|index| {
            let day = start + index * SECONDS_PER_DAY;
            (day, totals.iter().find(|total| total.group == Some(day)))
        })
        .collect();
    let rows: Vec<DayRow> = days
        .iter()
        .map(|&(day, total)| DayRow {
            date: date_value(day),
            requests: total.map_or(0, |total| total.requests),
            prompt_tokens: total.map_or(0, |total| total.prompt_tokens),
            completion_tokens: total.map_or(0, |total| total.completion_tokens),
            cost: cost_text(total.map_or(Cost::ZERO, |total| total.cost)),
        })
        .collect();
    let chart = chart(&days, &rows);
    PerDay {
        rows,
        chart,
        too_long: false,
    }
}

/// The first second of the UTC day of `seconds`.
fn day_start(seconds: i64) -> i64 {
    seconds - seconds.rem_euclid(SECONDS_PER_DAY)
}

fn cost_text(cost: Cost) -> String {
    money(Some(&Amount::from(cost)), "0")
}

/// The bars of `days`: heights by cost, or by calls when nothing cost anything.
fn chart(days: &[(i64, Option<&UsageTotal>)], rows: &[DayRow]) -> Option<Chart> {
    let (first, last) = (rows.first()?, rows.last()?);
    let by_cost = days
        .iter()
        .any(|(_, total)| total.is_some_and(|total| total.cost > Cost::ZERO));
    let measure = |total: Option<&UsageTotal>| {
        total.map_or(0, |total| {
            if by_cost {
                total.cost.micros()
            } else {
                total.requests
            }
        })
    };
    let peak = days.iter().map(|(_, total)| measure(*total)).max()?;
    #[allow(clippy::cast_precision_loss)] // Only a bar's height: a hair off is invisible.
    let slot = WIDTH / days.len() as f64;
    let bars = days
        .iter()
        .zip(rows)
        .enumerate()
        .map(|(index, ((_, total), row))| {
            #[allow(clippy::cast_precision_loss)]
            let height = if peak > 0 {
                TALLEST * measure(*total) as f64 / peak as f64
            } else {
                0.0
            };
            #[allow(clippy::cast_precision_loss)]
            let x = slot * index as f64 + slot * 0.1;
            Bar {
                x: format!("{x:.2}"),
                y: format!("{:.2}", BASELINE - height),
                width: format!("{:.2}", slot * 0.8),
                height: format!("{height:.2}"),
                label: format!(
                    "{}: {} requests, {} tokens, cost {}",
                    row.date,
                    row.requests,
                    row.prompt_tokens.saturating_add(row.completion_tokens),
                    row.cost
                ),
            }
        })
        .collect();
    let (measured, peak) = if by_cost {
        let peak = Cost::from_micros(peak).unwrap_or(Cost::ZERO);
        ("Cost", cost_text(peak))
    } else {
        ("Requests", peak.to_string())
    };
    Some(Chart {
        title: format!("{measured} per day, {} to {}", first.date, last.date),
        view_box: format!("0 0 {WIDTH} {HEIGHT}"),
        baseline: format!("{BASELINE}"),
        label_y: format!("{}", HEIGHT - 6.0),
        width: format!("{WIDTH}"),
        bars,
        first: first.date.clone(),
        last: last.date.clone(),
        peak: format!("Most in a day: {peak}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 6, d, 0, 0, 0).unwrap()
    }

    fn total(d: u32, requests: i64, cost_micros: i64) -> UsageTotal {
        UsageTotal {
            group: Some(day(d).timestamp()),
            requests,
            prompt_tokens: 10 * requests,
            completion_tokens: requests,
            cost: Cost::from_micros(cost_micros).unwrap(),
        }
    }

    #[test]
    fn every_day_of_the_period_has_a_row_and_a_bar_zero_included() {
        let shown = per_day(
            Some(day(10)),
            Some(day(15)),
            &[total(11, 2, 500_000), total(13, 1, 1_000_000)],
        );
        let dates: Vec<&str> = shown.rows.iter().map(|row| row.date.as_str()).collect();
        assert_eq!(
            dates,
            [
                "2030-06-10",
                "2030-06-11",
                "2030-06-12",
                "2030-06-13",
                "2030-06-14"
            ]
        );
        assert_eq!(shown.rows[1].requests, 2);
        assert_eq!(shown.rows[1].cost, "0.5");
        assert_eq!(shown.rows[0].cost, "0.0");
        let chart = shown.chart.unwrap();
        let heights: Vec<&str> = chart.bars.iter().map(|bar| bar.height.as_str()).collect();
        // By cost: the 1.0 day is the tallest, the 0.5 day half as tall.
        assert_eq!(heights, ["0.00", "86.00", "0.00", "172.00", "0.00"]);
        assert_eq!(chart.title, "Cost per day, 2030-06-10 to 2030-06-14");
        assert_eq!(chart.peak, "Most in a day: 1.0");
    }

    #[test]
    fn without_any_cost_bars_count_calls() {
        let shown = per_day(Some(day(1)), Some(day(3)), &[total(2, 4, 0)]);
        let chart = shown.chart.unwrap();
        assert!(chart.title.starts_with("Requests per day"));
        assert_eq!(chart.bars[1].height, "172.00");
        assert_eq!(chart.peak, "Most in a day: 4");
    }

    #[test]
    fn an_open_bound_is_the_first_or_last_day_with_calls() {
        let shown = per_day(None, None, &[total(3, 1, 0), total(5, 1, 0)]);
        assert_eq!(shown.rows.len(), 3);
        assert!(per_day(None, None, &[]).chart.is_none());
    }

    #[test]
    fn a_period_longer_than_a_year_is_not_drawn() {
        let from = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap();
        let shown = per_day(Some(from), Some(day(1)), &[]);
        assert!(shown.too_long && shown.rows.is_empty() && shown.chart.is_none());
    }
}
