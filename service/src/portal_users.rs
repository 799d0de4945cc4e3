//! Portal users as an administrator manages them: list, look up, create, set a password.
//! (What a signed-in user does is [`Portal`](crate::Portal).)

use crate::paging::{page, Page};
use crate::{Error, Mdm, PortalAccount, Result};

impl Mdm {
    /// Portal users, for administrators.
    pub fn portal_users(&self) -> PortalUsers {
        PortalUsers { mdm: self.clone() }
    }
}

/// Portal users of a deployment (`Mdm::portal_users`).
#[derive(Debug, Clone)]
pub struct PortalUsers {
    mdm: Mdm,
}

impl PortalUsers {
    /// A page of portal users, ordered by id.
    pub async fn list(&self, after: Option<&str>, limit: u32) -> Result<Page<PortalAccount>> {
        let mut users = self.mdm.store().list_portal_users().await?;
        users.sort_by(|a, b| a.id.cmp(&b.id));
        page(
            users.into_iter().map(PortalAccount::from).collect(),
            after,
            limit,
        )
    }

    /// One portal user; `not_found` when unknown.
    pub async fn get(&self, id: &str) -> Result<PortalAccount> {
        self.mdm
            .store()
            .get_portal_user(id)
            .await?
            .map(PortalAccount::from)
            .ok_or_else(|| {
                Error::Core(mdmkit_core::Error::NotFound {
                    kind: "portal user",
                    id: id.to_owned(),
                })
            })
    }

    /// Creates a portal user without a password (an invitation or
    /// [`set_password`](Self::set_password) gives one). An id or address already used is
    /// refused.
    pub async fn add(&self, id: &str, email: &str, name: Option<&str>) -> Result<PortalAccount> {
        let user = mdmkit_enrollment::add_user(self.mdm.store(), id, email, name).await?;
        Ok(user.into())
    }

    /// Sets a portal user's password (audited as the administrator's).
    pub async fn set_password(&self, id: &str, password: &str) -> Result<()> {
        Ok(mdmkit_enrollment::set_password(self.mdm.store(), id, password).await?)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Mdm, MdmConfig};

    #[tokio::test]
    async fn portal_users_are_added_listed_in_pages_and_looked_up() {
        let mdm = Mdm::open(MdmConfig::new("memory:")).await.unwrap();
        let users = mdm.portal_users();
        for id in ["carol", "alice", "bob"] {
            users
                .add(id, &format!("{id}@example.test"), None)
                .await
                .unwrap();
        }
        let first = users.list(None, 2).await.unwrap();
        let ids: Vec<&str> = first.items.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["alice", "bob"]);
        let rest = users.list(first.next.as_deref(), 2).await.unwrap();
        assert_eq!(rest.items[0].id, "carol");
        assert!(rest.next.is_none());
        assert_eq!(users.get("bob").await.unwrap().email, "bob@example.test");
        assert_eq!(users.get("dave").await.unwrap_err().code(), "not_found");
        let again = users.add("alice", "other@example.test", None).await;
        assert!(again.is_err());
        users
            .set_password("alice", "a long passphrase")
            .await
            .unwrap();
        assert_eq!(
            users
                .set_password("dave", "a long passphrase")
                .await
                .unwrap_err()
                .code(),
            "not_found"
        );
    }
}
