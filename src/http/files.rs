//! `GET /files/{name}`: only files the service wrote, by their exact generated name.
//!
//! No bearer token: each name carries 128 random bits, so a file URL is a capability the
//! response handed to its caller, and clients (the original's among them) download it with a
//! plain GET.
//!
//! Cluster mode: a name this node did not write is looked up in the cluster's object store
//! (every node puts the files it writes there), so a URL downloads from any node.

use super::Ctx;
use crate::error::ApiError;
use crate::files::valid_name;
use warp::http::{StatusCode, header};
use warp::{Filter, Rejection, Reply};

pub fn routes(
    ctx: Ctx,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path("files")
        .and(warp::path::tail())
        .and(warp::get())
        .then(move |tail: warp::path::Tail| {
            let ctx = ctx.clone();
            async move { super::respond(serve(&ctx, tail.as_str()).await) }
        })
}

async fn serve(ctx: &Ctx, name: &str) -> Result<warp::reply::Response, ApiError> {
    // Percent-encoded dots and slashes are escapes too: decode before judging.
    let decoded = percent_decode(name);
    if !valid_name(&decoded) {
        return Err(ApiError::bad_request("invalid file name"));
    }
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "file not found");
    let local = match ctx.files.path(&decoded) {
        Some(path) => tokio::fs::read(&path).await.ok(),
        None => None,
    };
    // Cluster mode: another node may have written it.
    let bytes = match local {
        Some(bytes) => bytes,
        // Boxed: the object store's futures are large, and warp's poll is deep already.
        None => Box::pin(ctx.files.fetch_mirrored(&decoded))
            .await
            .ok_or_else(not_found)?,
    };
    let content_type = crate::files::content_type(&decoded);
    let mut response = warp::reply::Response::new(bytes.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        content_type.parse().expect("static header"),
    );
    if let Ok(v) = format!("attachment; filename=\"{decoded}\"").parse() {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response.into_response())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
