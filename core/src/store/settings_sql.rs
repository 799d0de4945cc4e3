//! [`SettingsStore`](super::SettingsStore) for the SQL backends: one table, plain values
//! as text, secret values sealed with the store's key (bound to the setting's name).

/// Implements `SettingsStore` for `$store` (a struct with `pool: sqlx::Pool<$db>` and
/// `key: AtRestKey`), in the module that defines it.
macro_rules! impl_sql_settings {
    ($store:ident, $db:ty) => {
        #[async_trait]
        impl $crate::store::SettingsStore for $store {
            async fn get_setting(&self, name: &str) -> Result<Option<SettingValue>> {
                let row =
                    sqlx::query("SELECT value, sealed FROM mdmkit_server_settings WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)?;
                row.map(|row| self.setting_from_row(name, &row)).transpose()
            }

            async fn put_setting(&self, name: &str, value: &SettingValue) -> Result<()> {
                let (plain, sealed) = match value {
                    SettingValue::Plain(text) => (Some(text.as_str()), None),
                    SettingValue::Secret(secret) => (
                        None,
                        seal(
                            &self.key,
                            Some(secret),
                            "mdmkit_server_settings",
                            "sealed",
                            name,
                        )?,
                    ),
                };
                sqlx::query(
                    "INSERT INTO mdmkit_server_settings (name, value, sealed, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET \
                     value = excluded.value, sealed = excluded.sealed, \
                     updated_at = excluded.updated_at",
                )
                .bind(name)
                .bind(plain)
                .bind(sealed)
                .bind(to_micros(OffsetDateTime::now_utc()))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn delete_setting(&self, name: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM mdmkit_server_settings WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_settings(&self) -> Result<Vec<(String, SettingValue)>> {
                let rows = sqlx::query(
                    "SELECT name, value, sealed FROM mdmkit_server_settings ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let name: String = row.try_get("name").map_err(backend)?;
                        let value = self.setting_from_row(&name, row)?;
                        Ok((name, value))
                    })
                    .collect()
            }
        }

        impl $store {
            fn setting_from_row(
                &self,
                name: &str,
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<SettingValue> {
                let plain: Option<String> = row.try_get("value").map_err(backend)?;
                let sealed: Option<Vec<u8>> = row.try_get("sealed").map_err(backend)?;
                match (plain, sealed) {
                    (Some(text), None) => Ok(SettingValue::Plain(text)),
                    (None, Some(sealed)) => {
                        let secret = unseal(
                            &self.key,
                            Some(sealed),
                            "mdmkit_server_settings",
                            "sealed",
                            name,
                        )?;
                        secret.map(SettingValue::Secret).ok_or_else(|| {
                            Error::StoreBackend(format!("setting {name:?} has no value"))
                        })
                    }
                    _ => Err(Error::StoreBackend(format!(
                        "setting {name:?} is stored both plain and sealed, or neither"
                    ))),
                }
            }
        }
    };
}

pub(crate) use impl_sql_settings;
