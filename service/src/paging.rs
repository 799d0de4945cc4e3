//! Pages of the lists the service returns: at most [`MAX_PAGE`] items after a cursor.
//!
//! Devices are paged by the store (the cursor is an enrollment identifier); the shorter
//! lists (push certificates, their history, invitations, enrollment links, settings) are
//! paged here, with an opaque cursor the previous page returned.

use serde::Serialize;

use crate::{Error, Result};

/// The largest page any list returns.
pub const MAX_PAGE: u32 = 500;

/// One page of a list; `next` is the cursor of the following page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page, in the list's order.
    pub items: Vec<T>,
    /// Pass it as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// The page of `all` after the cursor `after` (from a previous page's `next`), at most
/// `limit` items (clamped to 1..=[`MAX_PAGE`]). A cursor that is not one this function made
/// is `invalid_input`.
pub(crate) fn page<T>(all: Vec<T>, after: Option<&str>, limit: u32) -> Result<Page<T>> {
    let limit = limit.clamp(1, MAX_PAGE) as usize;
    let start = match after {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|start| *start > 0)
            .ok_or_else(|| Error::input(format!("the cursor {cursor:?} is not a page cursor")))?,
    };
    let total = all.len();
    let items: Vec<T> = all.into_iter().skip(start).take(limit).collect();
    let end = start + items.len();
    let next = (end < total).then(|| end.to_string());
    Ok(Page { items, next })
}

impl crate::PushCerts {
    /// A page of [`status`](crate::PushCerts::status), ordered by topic.
    pub async fn status_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::push_certs::PushCertStatus>> {
        page(self.status().await?, after, limit)
    }

    /// A page of a topic's [`history`](crate::PushCerts::history), oldest first.
    pub async fn history_page(
        &self,
        topic: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::push_certs::HistoryEntry>> {
        page(self.history(topic).await?, after, limit)
    }

    /// A page of the [enrollments whose topic matches no
    /// certificate](crate::PushCerts::mismatched_enrollments).
    pub async fn mismatched_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::push_certs::TopicMismatchEntry>> {
        page(self.mismatched_enrollments().await?, after, limit)
    }
}

impl crate::Settings {
    /// A page of [`list`](crate::Settings::list): every known setting, secrets shown as set
    /// or not, never their value.
    pub async fn list_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::SettingEntry>> {
        page(self.list().await?, after, limit)
    }
}

impl crate::Expiry {
    /// A page of the [dashboard](crate::Expiry::dashboard) of the credentials the store
    /// holds (push certificates), soonest expiry first.
    pub async fn dashboard_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::DashboardEntry>> {
        let others = crate::OtherCredentials::default();
        page(self.dashboard(&others).await?, after, limit)
    }
}

impl crate::PushCerts {
    /// A page of the [deleted topics](crate::PushCerts::deleted), with what is kept of them.
    pub async fn deleted_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::push_certs::DeletedTopic>> {
        page(self.deleted().await?, after, limit)
    }
}

impl crate::Devices {
    /// A page of an enrollment's [queue](crate::Devices::queue), in delivery order.
    pub async fn queue_page(
        &self,
        enrollment_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::PendingCommandEntry>> {
        page(self.queue(enrollment_id).await?, after, limit)
    }

    /// A page of a command's [state on each enrollment](crate::Devices::command_status).
    pub async fn command_status_page(
        &self,
        command_uuid: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::CommandStatusEntry>> {
        page(self.command_status(command_uuid).await?, after, limit)
    }
}

impl crate::UserCerts {
    /// A page of certificate [kinds](crate::UserCerts::kinds), ordered by id.
    pub async fn kinds_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::CertKindView>> {
        page(self.kinds().await?, after, limit)
    }

    /// A page of one user's [certificates](crate::UserCerts::list), oldest upload first.
    pub async fn list_page(
        &self,
        owner: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<crate::UserCertView>> {
        page(self.list(owner).await?, after, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::page;

    #[test]
    fn pages_follow_each_other_and_bad_cursors_are_refused() {
        let all: Vec<u32> = (0..7).collect();
        let first = page(all.clone(), None, 3).unwrap();
        assert_eq!(
            (first.items.as_slice(), first.next.as_deref()),
            (&[0, 1, 2][..], Some("3"))
        );
        let second = page(all.clone(), first.next.as_deref(), 3).unwrap();
        assert_eq!(second.items, [3, 4, 5]);
        let last = page(all.clone(), second.next.as_deref(), 3).unwrap();
        assert_eq!((last.items.as_slice(), last.next), (&[6][..], None));
        let past = page(all.clone(), Some("40"), 3).unwrap();
        assert!(past.items.is_empty() && past.next.is_none());
        assert_eq!(page(all.clone(), None, 0).unwrap().items, [0]);
        assert_eq!(page(all.clone(), None, 10_000).unwrap().items.len(), 7);
        for bad in ["", "x", "-1", "0"] {
            assert_eq!(
                page(all.clone(), Some(bad), 3).unwrap_err().code(),
                "invalid_input"
            );
        }
    }
}
