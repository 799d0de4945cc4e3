//! The portal's branding (name, colours, logo), checked before it is stored.
//!
//! Colours are `#RRGGBB`; the logo is PNG, JPEG or SVG, recognised by its content (not by
//! a file name or a caller's claim) and at most [`MAX_LOGO_BYTES`]. The store keeps the
//! result ([`Branding`]); [`Portal::branding`](crate::Portal::branding) reads it without a
//! sign-in, for the portal's front end.

use mdmkit_core::store::{now_micros, AuditEvent, Branding, SharedStore};

use crate::{Error, Result};

/// The largest logo accepted, in bytes (512 KiB).
pub const MAX_LOGO_BYTES: usize = 512 * 1024;

/// The longest portal name accepted, in characters.
const MAX_NAME_CHARS: usize = 200;

/// Checks a colour: `#` and six hexadecimal digits. Returns it in uppercase.
pub fn check_colour(value: &str) -> Result<String> {
    let digits = value.strip_prefix('#').unwrap_or_default();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(format!("#{}", digits.to_ascii_uppercase()))
    } else {
        Err(Error::InvalidInput(format!(
            "colour {value:?} is not #RRGGBB"
        )))
    }
}

/// The media type of a logo, recognised by its first bytes: `image/png`, `image/jpeg` or
/// `image/svg+xml`. Anything else, an empty file or one larger than [`MAX_LOGO_BYTES`] is
/// [`Error::InvalidInput`].
pub fn logo_content_type(bytes: &[u8]) -> Result<&'static str> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(Error::InvalidInput(format!(
            "the logo is {} bytes; at most {MAX_LOGO_BYTES} are accepted",
            bytes.len()
        )));
    }
    image_type(bytes)
        .or_else(|| is_svg(bytes).then_some("image/svg+xml"))
        .ok_or_else(|| Error::InvalidInput("the logo must be a PNG, JPEG or SVG image".into()))
}

/// `image/png` or `image/jpeg` by signature, for formats with one.
pub(crate) fn image_type(bytes: &[u8]) -> Option<&'static str> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF];
    if bytes.starts_with(PNG) {
        Some("image/png")
    } else if bytes.starts_with(JPEG) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// SVG has no signature: UTF-8 text whose first element (after an optional byte-order
/// mark, XML declaration, comments and doctype) is `<svg`.
fn is_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<svg") {
            let next = after.chars().next();
            return next.is_some_and(|c| c.is_whitespace() || c == '>' || c == '/');
        }
        let skip_to = if rest.starts_with("<?") {
            rest.find("?>").map(|end| end + 2)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|end| end + 3)
        } else if rest.starts_with("<!") {
            rest.find('>').map(|end| end + 1)
        } else {
            None
        };
        match skip_to {
            Some(end) => rest = rest[end..].trim_start(),
            None => return false,
        }
    }
}

/// Builds checked branding: a non-empty name (trimmed), optional `#RRGGBB` colours
/// (stored in uppercase) and an optional logo whose media type is recognised from its
/// bytes.
pub fn branding(
    name: &str,
    primary_colour: Option<&str>,
    accent_colour: Option<&str>,
    logo: Option<Vec<u8>>,
) -> Result<Branding> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::InvalidInput(format!(
            "the portal name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    let mut branding = Branding::new(name);
    branding.primary_colour = primary_colour.map(check_colour).transpose()?;
    branding.accent_colour = accent_colour.map(check_colour).transpose()?;
    if let Some(logo) = logo {
        branding.logo_content_type = Some(logo_content_type(&logo)?.to_owned());
        branding.logo = Some(logo);
    }
    Ok(branding)
}

/// Checks `branding` again (name, colours, logo bytes against its recorded media type),
/// stores it (updated now) and writes `portal.branding_set` by `actor` to the audit log.
pub async fn set_branding(store: &SharedStore, actor: &str, branding: &Branding) -> Result<()> {
    let mut checked = self::branding(
        &branding.name,
        branding.primary_colour.as_deref(),
        branding.accent_colour.as_deref(),
        branding.logo.clone(),
    )?;
    if branding.logo.is_none() && branding.logo_content_type.is_some() {
        return Err(Error::InvalidInput(
            "a logo media type without a logo".into(),
        ));
    }
    if let (Some(claimed), Some(found)) = (&branding.logo_content_type, &checked.logo_content_type)
    {
        if claimed != found {
            return Err(Error::InvalidInput(format!(
                "the logo is {found}, not {claimed}"
            )));
        }
    }
    checked.updated_at = now_micros();
    store.put_branding(&checked).await?;
    let mut event = AuditEvent::new(actor, "portal.branding_set");
    event.detail = Some(
        serde_json::json!({
            "outcome": "ok",
            "name": checked.name,
            "logo_bytes": checked.logo.as_ref().map(Vec::len),
        })
        .to_string(),
    );
    store.append_audit_event(&event).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn colours_must_be_hash_and_six_hex_digits() {
        assert_eq!(check_colour("#a1b2c3").unwrap(), "#A1B2C3");
        for bad in [
            "a1b2c3", "#a1b2c", "#a1b2c3d", "#GGGGGG", "", "#", "red", "#12 456",
        ] {
            let error = check_colour(bad).unwrap_err();
            assert_eq!(error.code(), "invalid_input", "{bad:?}");
        }
    }

    #[test]
    fn logos_are_recognised_by_their_bytes() {
        assert_eq!(logo_content_type(PNG).unwrap(), "image/png");
        assert_eq!(
            logo_content_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).unwrap(),
            "image/jpeg"
        );
        let svg = b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- logo -->\n<!DOCTYPE svg>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
        assert_eq!(logo_content_type(svg).unwrap(), "image/svg+xml");
        assert_eq!(logo_content_type(b"<svg>").unwrap(), "image/svg+xml");
        for bad in [
            &b""[..],
            b"GIF89a....",
            b"<html><svg></svg></html>",
            b"<svgfoo>",
            b"\x89PNG",
            b"\xFF\xD8",
            b"%PDF-1.7",
        ] {
            let error = logo_content_type(bad).unwrap_err();
            assert!(
                error.to_string().contains("PNG, JPEG or SVG"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn a_logo_over_the_limit_is_refused() {
        let mut big = PNG.to_vec();
        big.resize(MAX_LOGO_BYTES, 0);
        assert!(
            logo_content_type(&big).is_ok(),
            "exactly the limit is accepted"
        );
        big.push(0);
        let error = logo_content_type(&big).unwrap_err();
        assert!(error.to_string().contains("at most 524288"), "{error}");
    }

    #[tokio::test]
    async fn set_branding_checks_again_stores_and_audits() {
        use mdmkit_core::store::{AuditQuery, MemoryStore};
        let store: SharedStore = std::sync::Arc::new(MemoryStore::new());
        // Public fields can be set by hand: the stored record is checked all the same.
        let mut forged = Branding::new("Example");
        forged.logo = Some(PNG.to_vec());
        forged.logo_content_type = Some("image/svg+xml".into());
        let error = set_branding(&store, "admin", &forged).await.unwrap_err();
        assert!(
            error.to_string().contains("image/png, not image/svg+xml"),
            "{error}"
        );
        forged.logo = None;
        assert!(set_branding(&store, "admin", &forged).await.is_err());
        forged.logo_content_type = None;
        forged.primary_colour = Some("#12345G".into());
        assert!(set_branding(&store, "admin", &forged).await.is_err());
        assert_eq!(store.get_branding().await.unwrap(), None, "nothing stored");

        let good = branding("Example", Some("#abcdef"), None, Some(PNG.to_vec())).unwrap();
        set_branding(&store, "admin", &good).await.unwrap();
        let stored = store.get_branding().await.unwrap().unwrap();
        assert_eq!(stored.primary_colour.as_deref(), Some("#ABCDEF"));
        assert_eq!(stored.logo.as_deref(), Some(PNG));
        let events = store
            .list_audit_events(&AuditQuery::default())
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "portal.branding_set");
        assert_eq!(events[0].actor, "admin");
    }

    #[test]
    fn branding_checks_every_field() {
        let ok = branding(" Example ", Some("#000000"), None, Some(PNG.to_vec())).unwrap();
        assert_eq!(ok.name, "Example");
        assert_eq!(ok.logo_content_type.as_deref(), Some("image/png"));
        assert!(branding("  ", None, None, None).is_err());
        assert!(branding("x", Some("#00000"), None, None).is_err());
        assert!(branding("x", None, Some("blue"), None).is_err());
        assert!(branding("x", None, None, Some(b"not an image".to_vec())).is_err());
    }
}
