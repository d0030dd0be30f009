//! The state of the database pool as Prometheus gauges, read at each scrape.

use gatehouse_infrastructure::PgPool;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Opts};

/// Reports how many connections the pool holds, how many are idle, and its maximum size.
pub struct PoolCollector {
    pool: PgPool,
    connections: IntGauge,
    idle: IntGauge,
    max: IntGauge,
}

impl PoolCollector {
    /// A collector for `pool`.
    ///
    /// # Errors
    /// When a gauge's options are invalid (they are constants, so never in practice).
    pub fn new(pool: PgPool) -> prometheus::Result<Self> {
        Ok(Self {
            pool,
            connections: IntGauge::with_opts(Opts::new(
                "gatehouse_db_pool_connections",
                "Connections the database pool holds, busy or idle.",
            ))?,
            idle: IntGauge::with_opts(Opts::new(
                "gatehouse_db_pool_idle_connections",
                "Idle connections in the database pool.",
            ))?,
            max: IntGauge::with_opts(Opts::new(
                "gatehouse_db_pool_max_connections",
                "Most connections the database pool opens.",
            ))?,
        })
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        [&self.connections, &self.idle, &self.max]
            .into_iter()
            .flat_map(Collector::desc)
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let state = self.pool.state();
        self.connections.set(i64::from(state.connections));
        self.idle.set(i64::from(state.idle_connections));
        self.max.set(i64::from(self.pool.max_size()));
        [&self.connections, &self.idle, &self.max]
            .into_iter()
            .flat_map(Collector::collect)
            .collect()
    }
}
