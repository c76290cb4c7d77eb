//! The `[sandbox]` section, and how a [`Settings`] is pointed at a running sandbox: each
//! portal URL moved to the sandbox host that plays its real host, the captcha service to the
//! sandbox's stand-in.

use super::Settings;
use crate::secret::Secret;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    pub host: String,
    pub port: u16,
    pub render_delay_ms: u64,
    pub captcha_solve_delay_ms: u64,
    pub portal_idle_timeout: u64,
    pub token_ttl: u64,
    pub site_key: String,
    pub seed: u64,
    pub containers_per_account: usize,
    pub page_size: usize,
    /// Which Angular Material markup the pages use: `legacy` (pre-MDC, what the original
    /// project recorded of the real portal) or `mdc` (today's Material).
    pub generation: String,
    /// `instant` (tests) or `realistic`: seeded, jittered delays of the real portal's order.
    pub pace: String,
    /// What the wizard shows after Submit: `confirmation` (a step 4 with a number),
    /// `snackbar` (a message only) or `my_appointments` (the browser is sent there).
    pub after_submit: String,
    /// Serve the portal's hosts (identity, ecp2, account, termops, truckerportal) as separate
    /// origins on consecutive loopback addresses from `host`; false = one host for all.
    pub separate_hosts: bool,
    pub accounts: Vec<SandboxAccount>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxAccount {
    pub username: String,
    pub password: Secret,
}

impl Settings {
    /// Point the portal and the captcha service at a sandbox whose identity host is `base`.
    /// With `sandbox.separate_hosts`, each portal URL goes to its own host's origin (see
    /// [`sandbox_host_urls`]); otherwise every URL keeps only its path on `base`.
    pub fn wire_to_sandbox(&mut self, base: &str) {
        let base = base.trim_end_matches('/');
        let [identity, ecp2, _account, termops, truckerportal] =
            sandbox_host_urls(base, self.sandbox.separate_hosts);
        let p = &mut self.portal;
        for (url, host) in [
            (&mut p.login_url, &identity),
            (&mut p.home_url, &ecp2),
            (&mut p.containers_url, &ecp2),
            (&mut p.keepalive_url, &termops),
            (&mut p.addvisit_url, &termops),
            (&mut p.myappointments_url, &truckerportal),
        ] {
            *url = format!("{host}{}", url_path(url));
        }
        p.ignore_certificate_errors = false;
        self.captcha.base_url = base.to_string();
        // The stand-in solves in `captcha_solve_delay_ms`; polling like the real service
        // (15 s, then every 5 s) would only add waiting.
        self.captcha.first_poll_delay_ms = 0;
        self.captcha.poll_interval_ms = 100;
    }
}

/// The base URLs of the sandbox's hosts, in the order identity, ecp2, account, termops,
/// truckerportal, given the identity host's `base` (`http://127.0.0.1:5011`). The sandbox
/// serves them on consecutive loopback addresses with one port (127.0.0.1, .2, .3, ...), so
/// that cookies and redirects cross origins as on the real portal. When `separate` is false,
/// or `base` is not such an address, every host is `base` itself (one origin).
pub fn sandbox_host_urls(base: &str, separate: bool) -> [String; 5] {
    let base = base.trim_end_matches('/');
    let one = || std::array::from_fn(|_| base.to_string());
    if !separate {
        return one();
    }
    let authority = base.strip_prefix("http://").unwrap_or("");
    let Ok(addr) = authority.parse::<std::net::SocketAddrV4>() else {
        return one();
    };
    let [a, b, c, d] = addr.ip().octets();
    if !addr.ip().is_loopback() || d > 250 {
        return one();
    }
    std::array::from_fn(|i| {
        let ip = std::net::Ipv4Addr::new(a, b, c, d + i as u8);
        format!("http://{ip}:{}", addr.port())
    })
}

/// The path (with query) of an absolute URL: `https://h.example/a/b?c` -> `/a/b?c`.
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/').map_or("/", |i| &rest[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_wiring_keeps_paths() {
        let mut s = Settings::from_overrides(&[("sandbox.separate_hosts", "false")]).unwrap();
        s.wire_to_sandbox("http://127.0.0.1:9/");
        assert_eq!(s.portal.keepalive_url, "http://127.0.0.1:9/trucker/web/");
        assert_eq!(s.portal.home_url, "http://127.0.0.1:9/");
        assert_eq!(
            s.portal.myappointments_url,
            "http://127.0.0.1:9/myappointments"
        );
        assert_eq!(s.captcha.base_url, "http://127.0.0.1:9");
    }

    #[test]
    fn sandbox_wiring_spreads_hosts() {
        let mut s = Settings::from_overrides(&[]).unwrap();
        s.wire_to_sandbox("http://127.0.0.1:9/");
        assert_eq!(s.portal.login_url, "http://127.0.0.1:9/login");
        assert_eq!(s.portal.home_url, "http://127.0.0.2:9/");
        assert_eq!(s.portal.containers_url, "http://127.0.0.2:9/containers");
        assert_eq!(s.portal.keepalive_url, "http://127.0.0.4:9/trucker/web/");
        assert_eq!(
            s.portal.addvisit_url,
            "http://127.0.0.4:9/trucker/web/addvisit"
        );
        assert_eq!(
            s.portal.myappointments_url,
            "http://127.0.0.5:9/myappointments"
        );
        assert_eq!(s.captcha.base_url, "http://127.0.0.1:9");
        // Not a loopback IPv4 address: one origin.
        assert_eq!(
            sandbox_host_urls("http://localhost:9", true)[3],
            "http://localhost:9"
        );
    }
}
