//! Network addresses as CCF writes them: `host:port`, where host is a name (`localhost`,
//! `ccf.example.com`), an IPv4 literal, or a bracketed IPv6 literal (`[::1]:8080`), and port is
//! 0..=65535 (0 = let the OS choose, as in CCF). Checked without name resolution: the text is
//! kept as written and resolved by the node when it binds or connects.
use std::net::Ipv6Addr;

/// `Ok(())` when `text` is a well-formed `host:port`; otherwise what is wrong with it.
pub fn check_host_port(text: &str) -> Result<(), String> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("{text:?} is not host:port (e.g. \"127.0.0.1:8080\")"));
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
        return Err(format!("{text:?}: port {port:?} is not a number from 0 to 65535"));
    }
    if host.is_empty() {
        return Err(format!("{text:?}: host is empty"));
    }
    if let Some(inner) = host.strip_prefix('[') {
        let literal = inner.strip_suffix(']').ok_or_else(|| format!("{text:?}: unclosed '[' in host"))?;
        literal.parse::<Ipv6Addr>().map_err(|_| format!("{text:?}: {literal:?} is not an IPv6 address"))?;
        return Ok(());
    }
    if host.contains(':') {
        return Err(format!("{text:?}: IPv6 literals must be bracketed, e.g. \"[::1]:8080\""));
    }
    if let Some(bad) = host.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))) {
        return Err(format!("{text:?}: character {bad:?} is not allowed in a host name"));
    }
    Ok(())
}

/// The port of a well-formed `host:port` (`None` when `text` is not one).
pub fn port_of(text: &str) -> Option<u16> {
    text.rsplit_once(':')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms_are_checked_without_resolution() {
        let table: [(&str, bool); 16] = [
            ("127.0.0.1:8080", true),
            ("0.0.0.0:0", true),
            ("localhost:443", true),
            ("ccf.dummy-host.example.com:12345", true),
            ("[::1]:8081", true),
            ("[2001:db8::1]:65535", true),
            ("127.0.0.1", false),
            ("127.0.0.1:", false),
            (":8080", false),
            ("127.0.0.1:65536", false),
            ("127.0.0.1:80a", false),
            ("127.0.0.1:-1", false),
            ("::1:8080", false),
            ("[::1:8080", false),
            ("[zz::1]:8080", false),
            ("host name:80", false),
        ];
        for (text, ok) in table {
            assert_eq!(check_host_port(text).is_ok(), ok, "{text:?}: {:?}", check_host_port(text));
        }
    }

    #[test]
    fn port_is_read_from_the_last_colon() {
        assert_eq!(port_of("[::1]:8081"), Some(8081));
        assert_eq!(port_of("localhost:0"), Some(0));
        assert_eq!(port_of("localhost"), None);
    }
}
