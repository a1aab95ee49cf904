//! Product images: JPG or PNG, at most 2 MB, accepted only if they decode.

use super::db::{now_ms, Db};
use crate::domain::fields::FieldError;
use crate::error::{AppError, AppResult};
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::io::Cursor;

pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Larger pictures are refused before decoding (decompression bombs).
pub const MAX_DIMENSION: u32 = 6_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedImage {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Checks the bytes themselves, never the file name or the browser's type:
/// a PNG or JPEG signature, sane dimensions, and a complete decode.
pub fn check(bytes: &[u8]) -> Result<CheckedImage, FieldError> {
    if bytes.is_empty() {
        return Err(FieldError::ImageEmpty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(FieldError::ImageTooLarge);
    }
    let format = image::guess_format(bytes).map_err(|_| FieldError::ImageType)?;
    let content_type = match format {
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::Jpeg => "image/jpeg",
        _ => return Err(FieldError::ImageType),
    };
    let reader = || {
        let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_DIMENSION);
        limits.max_image_height = Some(MAX_DIMENSION);
        limits.max_alloc = Some(160 * 1024 * 1024);
        reader.limits(limits);
        reader
    };
    let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| FieldError::ImageCorrupt)?;
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(FieldError::ImageDimensions);
    }
    reader().decode().map_err(|_| FieldError::ImageCorrupt)?;
    Ok(CheckedImage { content_type, width, height })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks and stores an image for the merchant; the same picture twice is stored once.
pub async fn store(db: &Db, account_id: i64, bytes: Vec<u8>) -> AppResult<String> {
    let (bytes, checked) = tokio::task::spawn_blocking(move || {
        let checked = check(&bytes);
        (bytes, checked)
    })
    .await
    .map_err(|e| anyhow::anyhow!(e))?;
    let checked = checked.map_err(|e| AppError::invalid("image", e))?;
    let sha = sha256_hex(&bytes);
    sqlx::query(
        "INSERT INTO images (account_id, sha256, content_type, width, height, bytes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, sha256) DO NOTHING",
    )
    .bind(account_id)
    .bind(&sha)
    .bind(checked.content_type)
    .bind(i64::from(checked.width))
    .bind(i64::from(checked.height))
    .bind(bytes)
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(sha)
}

/// The id of the merchant's image with this hash, if it is theirs.
pub async fn owned(db: &Db, account_id: i64, sha: &str) -> AppResult<Option<i64>> {
    let row = sqlx::query("SELECT id FROM images WHERE account_id = $1 AND sha256 = $2")
        .bind(account_id)
        .bind(sha)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

pub fn url(sha: &str) -> String {
    format!("/img/{sha}")
}

/// `GET /img/{sha256}`: content-addressed, so cacheable forever.
pub async fn serve(State(db): State<Db>, Path(sha): Path<String>, headers: HeaderMap) -> Response {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let etag = format!("\"{sha}\"");
    let cache = (header::CACHE_CONTROL, "public, max-age=31536000, immutable");
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag.clone())], [cache]).into_response();
    }
    let row = sqlx::query("SELECT content_type, bytes FROM images WHERE sha256 = $1 LIMIT 1")
        .bind(&sha)
        .fetch_optional(db.pool())
        .await;
    match row {
        Ok(Some(row)) => {
            let content_type: String = row.try_get(0).unwrap_or_default();
            let bytes: Vec<u8> = row.try_get(1).unwrap_or_default();
            (
                [(header::CONTENT_TYPE, content_type), (header::ETAG, etag)],
                [cache, (header::X_CONTENT_TYPE_OPTIONS, "nosniff")],
                bytes,
            )
                .into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "image read failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::new(width, height)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    fn jpeg() -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::from_pixel(8, 8, image::Rgb([200, 30, 30]))
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
            .unwrap();
        out
    }

    #[test]
    fn accepts_png_and_jpeg() {
        assert_eq!(check(&png(4, 3)).unwrap(), CheckedImage { content_type: "image/png", width: 4, height: 3 });
        assert_eq!(check(&jpeg()).unwrap().content_type, "image/jpeg");
    }

    #[test]
    fn refuses_by_content() {
        assert_eq!(check(b""), Err(FieldError::ImageEmpty));
        assert_eq!(check(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"), Err(FieldError::ImageType));
        assert_eq!(check(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"), Err(FieldError::ImageType));
        let full = png(64, 64);
        assert_eq!(check(&full[..full.len() / 2]), Err(FieldError::ImageCorrupt), "truncated PNG");
        assert_eq!(check(&vec![0u8; MAX_BYTES + 1]), Err(FieldError::ImageTooLarge));
    }

    #[test]
    fn refuses_huge_dimensions_without_decoding() {
        // A valid PNG header claiming 100000 x 100000 pixels.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(matches!(check(&bomb), Err(FieldError::ImageDimensions | FieldError::ImageCorrupt)));
    }
}
