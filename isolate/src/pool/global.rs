//! Installing a configuration as the process's shared pool: the one place
//! that knows both the configuration (`config`) and the pool (`threads`), so
//! that neither imports the other.

use crate::pool::config::{PoolBuildError, PoolBuilder};
use crate::pool::threads;

impl PoolBuilder {
    /// Installs the configuration as the process's shared pool.
    ///
    /// # Errors
    ///
    /// [`PoolBuildError::AlreadyBuilt`] if the pool was configured before or
    /// an isolate already started (which builds it with the defaults);
    /// [`PoolBuildError::InvalidVariable`] if a setting left unset comes from
    /// an environment variable that does not parse;
    /// [`PoolBuildError::InvalidThreadName`] if the thread name holds a NUL
    /// byte.
    ///
    /// # Examples
    ///
    /// ```
    /// isolate::PoolBuilder::new().max_threads(4).build_global().unwrap();
    /// let again = isolate::PoolBuilder::new().build_global();
    /// assert!(matches!(again, Err(isolate::PoolBuildError::AlreadyBuilt)));
    /// ```
    pub fn build_global(self) -> Result<(), PoolBuildError> {
        let config = self.resolve()?;
        if threads::install(config) {
            Ok(())
        } else {
            Err(PoolBuildError::AlreadyBuilt)
        }
    }
}
