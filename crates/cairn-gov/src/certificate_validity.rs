//! Certificate renewal arguments (CCF's `set_service_certificate_validity`,
//! `set_node_certificate_validity`, `set_all_nodes_certificate_validity`): `valid_from` in the
//! ASN.1 time forms CCF's docs and tests use, and the period checked against the service's
//! configured maximum.
//!
//! - `valid_from`: `YYMMDDHHMMSSZ` (UTCTime: `YY` < 50 is 20YY, else 19YY) or `YYYYMMDDHHMMSSZ`
//!   (GeneralizedTime), UTC;
//! - `validity_period_days`: optional; omitted means the configured maximum
//!   (`maximum_service_certificate_validity_days` / `maximum_node_certificate_validity_days` of
//!   `public:ccf.gov.service.config`, [`DEFAULT_MAXIMUM_VALIDITY_DAYS`] when absent); it must be
//!   between 1 and that maximum.
use crate::GovError;
use crate::service_config::ServiceConfig;
use time::PrimitiveDateTime;
use time::macros::format_description;

/// 9999-12-31T23:59:59Z: the last time an X.509 certificate can state.
pub const LATEST_CERTIFICATE_TIME: i64 = 253_402_300_799;

/// CCF's default for both maximums (`service_configuration.maximum_*_validity_days`).
pub const DEFAULT_MAXIMUM_VALIDITY_DAYS: u64 = 365;

/// Which certificate a renewal is for (its maximum differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateKind {
    Service,
    Node,
}

impl CertificateKind {
    /// The configuration field holding this kind's maximum.
    pub fn maximum_field(self) -> &'static str {
        match self {
            CertificateKind::Service => "maximum_service_certificate_validity_days",
            CertificateKind::Node => "maximum_node_certificate_validity_days",
        }
    }
}

/// A renewal's validity: from `valid_from_unix_s` for `validity_period_days` (`None`: the
/// configured maximum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateValidity {
    pub valid_from_unix_s: i64,
    pub validity_period_days: Option<u64>,
}

impl CertificateValidity {
    /// The period to issue: the one given or the maximum, checked against the maximum.
    pub fn days(&self, kind: CertificateKind, config: &ServiceConfig) -> Result<u64, GovError> {
        let maximum = config.maximum_validity_days(kind);
        let days = self.validity_period_days.unwrap_or(maximum);
        if days == 0 || days > maximum {
            return Err(GovError::InvalidInput(format!(
                "validity_period_days {days} must be between 1 and {} ({maximum})",
                kind.maximum_field()
            )));
        }
        let ends = i64::try_from(days)
            .ok()
            .and_then(|d| d.checked_mul(86_400))
            .and_then(|s| self.valid_from_unix_s.checked_add(s));
        if !ends.is_some_and(|end| (0..=LATEST_CERTIFICATE_TIME).contains(&end)) || self.valid_from_unix_s < 0 {
            return Err(GovError::InvalidInput(format!(
                "a certificate valid from {} for {days} days does not end between 1970 and 9999",
                format_valid_from(self.valid_from_unix_s.max(0))
            )));
        }
        Ok(days)
    }
}

/// Parses `valid_from` (module documentation) into unix seconds.
pub fn parse_valid_from(text: &str) -> Result<i64, String> {
    let digits = text
        .strip_suffix('Z')
        .filter(|d| (d.len() == 12 || d.len() == 14) && d.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("{text:?} is not YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ (UTC)"))?;
    let full = match digits.len() {
        12 => {
            let yy: u32 = digits[..2].parse().expect("digits");
            format!("{}{digits}", if yy < 50 { "20" } else { "19" })
        }
        _ => digits.to_string(),
    };
    let format = format_description!("[year][month][day][hour][minute][second]");
    let at = PrimitiveDateTime::parse(&full, format).map_err(|e| format!("{text:?} is not a valid time: {e}"))?;
    Ok(at.assume_utc().unix_timestamp())
}

/// `unix_s` as GeneralizedTime text (`YYYYMMDDHHMMSSZ`), what `cairn member
/// renew-certificates` proposes.
pub fn format_valid_from(unix_s: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(unix_s).expect("a time in range");
    let format = format_description!("[year][month][day][hour][minute][second]Z");
    at.format(format).expect("formats")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_asn1_forms_parse_to_the_same_instant_and_others_are_refused() {
        let t = parse_valid_from("20261204120000Z").unwrap();
        assert_eq!(t, 1_796_385_600);
        assert_eq!(parse_valid_from("261204120000Z").unwrap(), t);
        assert_eq!(parse_valid_from("991231235959Z").unwrap(), 946_684_799, "YY ≥ 50 is 19YY");
        assert_eq!(format_valid_from(t), "20261204120000Z");
        for bad in ["", "20261204120000", "2026-12-04T12:00:00Z", "20261304120000Z", "261232120000Z", "2612041200Z"] {
            let err = parse_valid_from(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }

    #[test]
    fn the_period_defaults_to_the_maximum_and_must_stay_within_it() {
        let mut config = ServiceConfig { recovery_threshold: 1, other: Default::default() };
        let v = |days| CertificateValidity { valid_from_unix_s: 0, validity_period_days: days };
        assert_eq!(v(None).days(CertificateKind::Service, &config).unwrap(), DEFAULT_MAXIMUM_VALIDITY_DAYS);
        assert_eq!(v(Some(30)).days(CertificateKind::Node, &config).unwrap(), 30);
        config.other.insert("maximum_node_certificate_validity_days".into(), 10.into());
        let err = v(Some(30)).days(CertificateKind::Node, &config).unwrap_err().to_string();
        assert!(err.contains("between 1 and maximum_node_certificate_validity_days (10)"), "{err}");
        assert!(v(Some(0)).days(CertificateKind::Service, &config).is_err());
        assert_eq!(v(None).days(CertificateKind::Node, &config).unwrap(), 10);
        // A huge configured maximum does not let a certificate end past year 9999.
        config.other.insert("maximum_service_certificate_validity_days".into(), u64::MAX.into());
        let late =
            CertificateValidity { valid_from_unix_s: parse_valid_from("99991215000000Z").unwrap(), ..v(Some(30)) };
        assert!(late.days(CertificateKind::Service, &config).unwrap_err().to_string().contains("9999"));
        assert!(v(Some(u64::MAX)).days(CertificateKind::Service, &config).is_err());
        assert_eq!(v(Some(3650)).days(CertificateKind::Service, &config).unwrap(), 3650);
    }
}
