//! The console's stylesheet, script and icon, embedded in the binary so that the console needs
//! nothing but the server (no CDN, no files beside it).

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use rust_embed::Embed;

/// The files of `assets/`.
#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

/// Mounts `assets/{file}`.
pub fn configure(config: &mut web::ServiceConfig) {
    config.route("/assets/{file}", web::get().to(asset));
}

/// One asset, with its type, an `ETag` from its hash, and a day of caching: pages link them by
/// name, so a new version is seen within a day, or at once after a revalidation.
async fn asset(request: actix_web::HttpRequest, file: web::Path<String>) -> HttpResponse {
    let Some(asset) = Assets::get(&file) else {
        return crate::pages::not_found().await;
    };
    let etag = format!("\"{}\"", hex::encode(&asset.metadata.sha256_hash()[..16]));
    let fresh = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value.as_bytes() == etag.as_bytes());
    let mut answer = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header((header::ETAG, etag))
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(86_400),
        ]));
    if fresh {
        return answer.finish();
    }
    answer
        .content_type(asset.metadata.mimetype())
        .body(asset.data.into_owned())
}
