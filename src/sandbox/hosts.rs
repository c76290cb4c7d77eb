//! The portal's hosts as separate origins.
//!
//! The real portal spreads over an identity host (login, OIDC), `ecp2` (`/`, `/containers`),
//! `account` (`/Home/Welcome`), `termops` (`/trucker/web/`, the wizard) and `truckerportal`
//! (`/myappointments`) (facts §1, §3). The sandbox binds one listener per host on consecutive
//! loopback addresses (127.0.0.1-5, one port), so the browser keeps a cookie jar per host and
//! every hop between hosts is a real cross-origin redirect. With `sandbox.separate_hosts =
//! false` one listener plays every host ([`Role::All`]).

use warp::http::Method;

/// Which host a listener plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Identity,
    Ecp2,
    Account,
    Termops,
    TruckerPortal,
    /// One host serving everything (`separate_hosts = false`).
    All,
}

impl Role {
    /// The separate hosts, in address order (127.0.0.1, .2, ...).
    pub const SEPARATE: [Role; 5] = [
        Role::Identity,
        Role::Ecp2,
        Role::Account,
        Role::Termops,
        Role::TruckerPortal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Identity => "identity",
            Role::Ecp2 => "ecp2",
            Role::Account => "account",
            Role::Termops => "termops",
            Role::TruckerPortal => "truckerportal",
            Role::All => "all",
        }
    }

    fn index(self) -> usize {
        Role::SEPARATE.iter().position(|r| *r == self).unwrap_or(0)
    }

    /// The OIDC client id an app host signs in as.
    pub fn client_id(self) -> &'static str {
        match self {
            Role::Ecp2 | Role::All => "ecp2",
            Role::Account => "account",
            Role::Termops => "termops",
            Role::TruckerPortal => "truckerportal",
            Role::Identity => "identity",
        }
    }

    /// Where a host's `/signin-oidc` goes when its `state` names no page of that host.
    pub fn landing(self) -> &'static str {
        match self {
            Role::Ecp2 => "/",
            Role::Termops => "/trucker/web/",
            Role::TruckerPortal => "/myappointments",
            Role::Account | Role::All | Role::Identity => "/Home/Welcome",
        }
    }

    /// Does this host serve `method path` (apart from the controls and the 2captcha stand-in,
    /// which answer everywhere)? A path on the wrong host is that host's 404.
    pub fn serves(self, method: &Method, path: &str) -> bool {
        let get = method == Method::GET;
        match self {
            Role::All => true,
            Role::Identity => matches!(
                path,
                "/login"
                    | "/Account/Login"
                    | "/Account/Logout"
                    | "/identity/Account/Continue"
                    | "/connect/authorize"
                    | "/recaptcha/api2/anchor"
            ),
            Role::Ecp2 => {
                (get && matches!(path, "/" | "/containers" | "/signin-oidc"))
                    || path.starts_with("/api/containers")
            }
            Role::Account => get && matches!(path, "/Home/Welcome" | "/signin-oidc"),
            Role::Termops => {
                (get && matches!(
                    path,
                    "/trucker/web/" | "/trucker/web" | "/trucker/web/addvisit" | "/signin-oidc"
                )) || path.starts_with("/api/wizard/")
            }
            Role::TruckerPortal => {
                (get && matches!(path, "/myappointments" | "/signin-oidc"))
                    || path.starts_with("/api/appointments")
            }
        }
    }
}

/// The base URL of every host (`http://ip:port`), known once the listeners are bound.
#[derive(Debug, Clone)]
pub struct Hosts {
    /// false: one origin plays every host, and links stay relative as they always were.
    pub separate: bool,
    urls: [String; 5],
}

impl Hosts {
    pub fn single(base: String) -> Hosts {
        Hosts {
            separate: false,
            urls: std::array::from_fn(|_| base.clone()),
        }
    }

    pub fn separate(urls: [String; 5]) -> Hosts {
        Hosts {
            separate: true,
            urls,
        }
    }

    pub fn base(&self, role: Role) -> &str {
        &self.urls[role.index()]
    }

    /// A link to `path` on `role`'s host: absolute across origins, relative on one host.
    pub fn url(&self, role: Role, path: &str) -> String {
        if self.separate {
            format!("{}{path}", self.base(role))
        } else {
            path.to_string()
        }
    }

    /// `(role name, base URL)` for each host.
    pub fn list(&self) -> Vec<(&'static str, String)> {
        Role::SEPARATE
            .iter()
            .map(|r| (r.name(), self.base(*r).to_string()))
            .collect()
    }

    /// Is `url` one of our app hosts' `/signin-oidc` (with its query)? Relative
    /// `/signin-oidc?...` counts on one host. Used to refuse open redirects.
    pub fn is_signin_url(&self, url: &str) -> bool {
        if !self.separate {
            return url.starts_with("/signin-oidc?");
        }
        Role::SEPARATE[1..]
            .iter()
            .any(|r| url.starts_with(&format!("{}/signin-oidc?", self.base(*r))))
    }

    /// The app host whose `/signin-oidc` is `redirect_uri` (exactly), if any.
    pub fn signin_role(&self, redirect_uri: &str) -> Option<Role> {
        if !self.separate {
            let own = format!("{}/signin-oidc", self.base(Role::All));
            return (redirect_uri == "/signin-oidc" || redirect_uri == own).then_some(Role::All);
        }
        Role::SEPARATE[1..]
            .iter()
            .copied()
            .find(|r| redirect_uri == format!("{}/signin-oidc", self.base(*r)))
    }
}
