//! `/__sandbox/whoami`: what a browser looks like to the portal. Not a portal page: a test
//! page for the driver's disguise, because a portal that refuses or flags headless or
//! automated browsers would see exactly these things (the request headers of the page, of a
//! script and of a worker, and what page scripts can read of `navigator`, the window and the
//! screen).
//!
//! The page fills `window.__whoami` (and a `<pre id="whoami">`) with one JSON object once its
//! worker has answered; `__whoami.done` is then true. `worker.js` is the same idea inside a
//! dedicated worker, whose requests a page-level override would not reach.

use super::request::{Req, Resp, html, script_json};
use serde_json::{Value, json};
use warp::http::{Response, StatusCode, header};

/// Route `/__sandbox/whoami` and its worker.
pub fn handle(req: &Req) -> Resp {
    match req.path.as_str() {
        "/__sandbox/whoami/worker.js" => worker(req),
        _ => page(req),
    }
}

/// The headers that tell a browser's identity, as this request carried them.
fn seen(req: &Req) -> Value {
    let h = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map_or(Value::Null, |v| Value::String(v.to_string()))
    };
    json!({
        "user_agent": h("user-agent"),
        "accept_language": h("accept-language"),
        "sec_ch_ua": h("sec-ch-ua"),
        "sec_ch_ua_mobile": h("sec-ch-ua-mobile"),
        "sec_ch_ua_platform": h("sec-ch-ua-platform"),
    })
}

fn page(req: &Req) -> Resp {
    let headers = script_json(&seen(req));
    html(
        StatusCode::OK,
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>whoami</title></head>
<body><pre id="whoami">waiting for the worker</pre>
<script>
(function () {{
  var n = navigator;
  var brands = n.userAgentData ? n.userAgentData.brands.map(function (b) {{ return b.brand; }}) : null;
  var out = {{
    done: false,
    headers: {headers},
    navigator: {{
      user_agent: n.userAgent,
      app_version: n.appVersion,
      webdriver: n.webdriver,
      language: n.language,
      languages: Array.from(n.languages || []),
      platform: n.platform,
      brands: brands,
      plugins: n.plugins ? n.plugins.length : null
    }},
    window: {{
      inner_width: window.innerWidth,
      inner_height: window.innerHeight,
      outer_width: window.outerWidth,
      outer_height: window.outerHeight,
      screen_width: screen.width,
      screen_height: screen.height,
      device_pixel_ratio: window.devicePixelRatio
    }},
    worker: null
  }};
  window.__whoami = out;
  function finish(worker) {{
    out.worker = worker;
    out.done = true;
    document.getElementById('whoami').textContent = JSON.stringify(out, null, 2);
  }}
  try {{
    var w = new Worker('/__sandbox/whoami/worker.js');
    w.onmessage = function (e) {{ finish(e.data); }};
    w.onerror = function (e) {{ finish({{error: String(e.message || 'worker failed')}}); }};
  }} catch (e) {{
    finish({{error: String(e)}});
  }}
}})();
</script></body></html>
"#
        ),
    )
}

/// The worker: the headers its own request carried, and its `navigator`.
fn worker(req: &Req) -> Resp {
    let headers = script_json(&seen(req));
    let body = format!(
        "postMessage({{headers: {headers}, user_agent: navigator.userAgent, \
         languages: Array.from(navigator.languages || []), webdriver: navigator.webdriver}});\n"
    );
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}
