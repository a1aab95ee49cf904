//! Product images: JPG or PNG, at most 2 MB, accepted only if they decode,
//! and stored re-encoded from their pixels: whatever else the file carried
//! (EXIF with GPS position, camera serials, comments, trailing data) is gone.

use super::db::{now_ms, Db};
use crate::domain::fields::FieldError;
use crate::error::{AppError, AppResult};
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use std::io::Cursor;

pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Larger pictures are refused before decoding (decompression bombs).
pub const MAX_DIMENSION: u32 = 6_000;
/// At most this many pixels (16 MP): a decode then needs ≤ 64 MiB (RGBA).
pub const MAX_PIXELS: u64 = 16_000_000;
/// What one decode may allocate, whatever the file says.
const DECODE_ALLOC_MAX: u64 = 80 * 1024 * 1024;
/// Images one merchant may keep, in stored bytes.
pub const QUOTA_BYTES: i64 = 200 * 1024 * 1024;
/// Decodes at once (each up to `DECODE_ALLOC_MAX`): memory stays bounded
/// however many uploads arrive together.
fn decode_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(2))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedImage {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Checks the bytes themselves, never the file name or the browser's type:
/// a PNG or JPEG signature, sane dimensions, and a complete decode; returns
/// the picture re-encoded (upright, without metadata).
pub fn clean(bytes: &[u8]) -> Result<(CheckedImage, Vec<u8>), FieldError> {
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
        limits.max_alloc = Some(DECODE_ALLOC_MAX);
        reader.limits(limits);
        reader
    };
    let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().map_err(|_| FieldError::ImageCorrupt)?;
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(FieldError::ImageDimensions);
    }
    use image::ImageDecoder;
    let mut decoder = reader().into_decoder().map_err(|_| FieldError::ImageCorrupt)?;
    // EXIF orientation goes with the metadata: turn the pixels instead.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = image::DynamicImage::from_decoder(decoder).map_err(|_| FieldError::ImageCorrupt)?;
    picture.apply_orientation(orientation);
    let mut out = Vec::new();
    let encoded = match format {
        image::ImageFormat::Jpeg => {
            let rgb = image::DynamicImage::ImageRgb8(picture.to_rgb8());
            rgb.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90))
        }
        _ => picture.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png),
    };
    encoded.map_err(|_| FieldError::ImageCorrupt)?;
    Ok((CheckedImage { content_type, width: picture.width(), height: picture.height() }, out))
}

/// [`clean`] without keeping the result.
pub fn check(bytes: &[u8]) -> Result<CheckedImage, FieldError> {
    clean(bytes).map(|(checked, _)| checked)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks, cleans and stores an image for the merchant; the same picture
/// twice is stored once. Refused past the merchant's storage quota.
pub async fn store(db: &Db, account_id: i64, bytes: Vec<u8>) -> AppResult<String> {
    let slot = tokio::time::timeout(std::time::Duration::from_secs(10), decode_slots().acquire())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or(AppError::Busy { retry_after_secs: 10 })?;
    let cleaned = tokio::task::spawn_blocking(move || clean(&bytes)).await.map_err(|e| anyhow::anyhow!(e))?;
    drop(slot);
    let (checked, bytes) = cleaned.map_err(|e| AppError::invalid("image", e))?;
    let used: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(LENGTH(bytes)), 0) AS BIGINT) FROM images WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(db.pool())
        .await?;
    if used + bytes.len() as i64 > QUOTA_BYTES {
        return Err(AppError::invalid("image", FieldError::ImageQuota { max_mb: (QUOTA_BYTES / (1024 * 1024)) as u32 }));
    }
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
    Ok(sqlx::query_scalar("SELECT id FROM images WHERE account_id = $1 AND sha256 = $2").bind(account_id).bind(sha).fetch_optional(db.pool()).await?)
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
    let row: Result<Option<(String, Vec<u8>)>, _> =
        sqlx::query_as("SELECT content_type, bytes FROM images WHERE sha256 = $1 LIMIT 1").bind(&sha).fetch_optional(db.pool()).await;
    match row {
        Ok(Some((content_type, bytes))) => {
            ([(header::CONTENT_TYPE, content_type), (header::ETAG, etag)], [cache, (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], bytes).into_response()
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
        image::RgbImage::new(width, height).write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    fn jpeg() -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::from_pixel(8, 8, image::Rgb([200, 30, 30])).write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg).unwrap();
        out
    }

    #[test]
    fn accepts_png_and_jpeg() {
        assert_eq!(check(&png(4, 3)).unwrap(), CheckedImage { content_type: "image/png", width: 4, height: 3 });
        assert_eq!(check(&jpeg()).unwrap().content_type, "image/jpeg");
    }

    /// A JPEG carrying an EXIF segment (GPS position, "rotate 90°") after its start marker.
    fn jpeg_with_exif() -> Vec<u8> {
        let plain = {
            let mut out = Vec::new();
            image::RgbImage::from_fn(8, 4, |x, _| if x < 4 { image::Rgb([250, 0, 0]) } else { image::Rgb([0, 0, 250]) })
                .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
                .unwrap();
            out
        };
        // TIFF, big-endian: one IFD with Orientation = 6 (rotate 90° clockwise)
        // and an ASCII tag holding a GPS-looking string.
        let secret = b"GPS 35.6586N 139.7454E\0";
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&2u16.to_be_bytes());
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
        let offset = 8 + 2 + 12 * 2 + 4;
        tiff.extend_from_slice(&[0x01, 0x0e, 0, 2]);
        tiff.extend_from_slice(&(secret.len() as u32).to_be_bytes());
        tiff.extend_from_slice(&(offset as u32).to_be_bytes());
        tiff.extend_from_slice(&0u32.to_be_bytes());
        tiff.extend_from_slice(secret);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xff, 0xe1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&plain[2..]);
        out
    }

    #[test]
    fn metadata_is_stripped_and_orientation_applied() {
        let original = jpeg_with_exif();
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(contains(&original, b"GPS 35.6586N"));
        let (checked, stored) = clean(&original).unwrap();
        assert!(!contains(&stored, b"GPS 35.6586N") && !contains(&stored, b"Exif"), "metadata gone");
        assert_eq!((checked.width, checked.height), (4, 8), "turned upright as the EXIF orientation said");
        // A PNG with a text chunk keeps its pixels and loses the chunk.
        let mut with_text = png(3, 2);
        let chunk = {
            let data = b"Comment\0taken at home";
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(b"tEXt");
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]); // CRC: the decoder is lenient about ancillary chunks
            c
        };
        with_text.splice(33..33, chunk);
        if let Ok((_, stored)) = clean(&with_text) {
            assert!(!contains(&stored, b"taken at home"));
        }
    }

    #[test]
    fn pixel_count_is_capped_below_the_side_limit() {
        // 5000 × 5000 passes the side limit but not the pixel count (25 MP).
        let mut big = png(1, 1);
        big[16..20].copy_from_slice(&5_000u32.to_be_bytes());
        big[20..24].copy_from_slice(&5_000u32.to_be_bytes());
        assert!(matches!(check(&big), Err(FieldError::ImageDimensions | FieldError::ImageCorrupt)));
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
