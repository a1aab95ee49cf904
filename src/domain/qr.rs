//! QR codes of payment link URLs: the module matrix, its SVG, and file names.
//! Pure, so the browser (which draws it) and the tests (which decode it)
//! share one definition.

use qrcode::{EcLevel, QrCode};

/// Modules of light margin around the code, as the QR standard asks.
pub const QUIET_ZONE: usize = 4;

/// A QR code's dark/light modules, without the quiet zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    size: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Error correction M (15 % of the code may be damaged). Link URLs are
    /// ASCII, so the encoder never picks Kanji mode (which scanners misread).
    pub fn encode(text: &str) -> Option<QrMatrix> {
        if !text.is_ascii() {
            return None;
        }
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
        let size = code.width();
        let dark = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
        Some(QrMatrix { size, dark })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.dark[y * self.size + x]
    }

    /// Modules per side including the quiet zone.
    pub fn outer_size(&self) -> usize {
        self.size + 2 * QUIET_ZONE
    }

    /// Horizontal runs of dark modules, `(x, y, length)`, in code coordinates.
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.size {
            let mut x = 0;
            while x < self.size {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.size && self.is_dark(x, y) {
                        x += 1;
                    }
                    runs.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }

    /// A standalone SVG (one path, crisp edges, quiet zone kept), named by
    /// `title` for screen readers. A caption (e.g. "TEST") is written under
    /// the code, outside the quiet zone.
    pub fn svg(&self, title: &str, caption: Option<&str>) -> String {
        let outer = self.outer_size();
        let caption_height = if caption.is_some() { 6 } else { 0 };
        let mut path = String::new();
        for (x, y, len) in self.runs() {
            path.push_str(&format!("M{} {}h{len}v1h-{len}z", x + QUIET_ZONE, y + QUIET_ZONE));
        }
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {outer} {h}\" width=\"{w}\" height=\"{hp}\" \
             shape-rendering=\"crispEdges\" role=\"img\"><title>{title}</title>\
             <rect width=\"{outer}\" height=\"{h}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/>",
            h = outer + caption_height,
            w = outer * 8,
            hp = (outer + caption_height) * 8,
            title = escape(title),
        );
        if let Some(caption) = caption {
            svg.push_str(&format!(
                "<text x=\"{x}\" y=\"{y}\" font-family=\"sans-serif\" font-size=\"5\" font-weight=\"700\" \
                 text-anchor=\"middle\" fill=\"#c0392b\">{}</text>",
                escape(caption),
                x = outer as f32 / 2.0,
                y = outer + 4,
            ));
        }
        svg.push_str("</svg>");
        svg
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A safe file name stem from the product name: ASCII letters and digits,
/// runs of anything else as one `-`, at most 60 characters; names without
/// any (e.g. all Japanese) fall back to the link's slug. Test links say so.
pub fn file_stem(product_name: &str, slug: &str, test: bool) -> String {
    let mut stem = String::new();
    for c in product_name.chars() {
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if !stem.ends_with('-') && !stem.is_empty() {
            stem.push('-');
        }
    }
    let mut stem: String = stem.trim_end_matches('-').chars().take(60).collect();
    stem = stem.trim_end_matches('-').to_owned();
    if stem.is_empty() {
        stem = format!("link-{}", slug.chars().filter(char::is_ascii_alphanumeric).take(12).collect::<String>());
    }
    if test {
        stem.push_str("-test");
    }
    format!("{stem}-qr")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_link_url_with_quiet_zone() {
        let url = "https://pay.example.com/pay/AbCdEfGhIjKlMnOpQrStUv";
        let qr = QrMatrix::encode(url).unwrap();
        assert!(qr.size() >= 21 && (qr.size() - 17).is_multiple_of(4), "a QR version's size");
        // Finder patterns in three corners.
        for (x, y) in [(0, 0), (qr.size() - 7, 0), (0, qr.size() - 7)] {
            assert!(qr.is_dark(x, y) && qr.is_dark(x + 6, y + 6) && !qr.is_dark(x + 1, y + 1) && qr.is_dark(x + 3, y + 3));
        }
        let svg = qr.svg("QR code", None);
        assert!(svg.contains("<title>QR code</title>"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", qr.size() + 8)));
        assert!(svg.contains("M4 4h7v1h-7z"), "first finder row offset by the quiet zone");
    }

    #[test]
    fn test_caption_is_escaped_and_below_the_code() {
        let qr = QrMatrix::encode("https://x.example/pay/a").unwrap();
        let svg = qr.svg("QR & code", Some("TEST <mode>"));
        assert!(svg.contains("<title>QR &amp; code</title>"));
        assert!(svg.contains(">TEST &lt;mode&gt;</text>"));
        assert!(svg.contains(&format!("viewBox=\"0 0 {} {}\"", qr.outer_size(), qr.outer_size() + 6)));
    }

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let qr = QrMatrix::encode("https://x.example/pay/abc").unwrap();
        let dark: usize = (0..qr.size()).flat_map(|y| (0..qr.size()).map(move |x| (x, y))).filter(|(x, y)| qr.is_dark(*x, *y)).count();
        assert_eq!(qr.runs().iter().map(|r| r.2).sum::<usize>(), dark);
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_stem("Matcha Latte (L)", "abc", false), "matcha-latte-l-qr");
        assert_eq!(file_stem("抹茶ラテ", "AbC_d-9", true), "link-AbCd9-test-qr");
        assert_eq!(file_stem("../../etc/passwd", "x", false), "etc-passwd-qr");
        assert_eq!(file_stem(&"a".repeat(100), "x", false).len(), 63);
    }

    #[test]
    fn non_ascii_is_refused() {
        assert!(QrMatrix::encode("https://例え.jp/").is_none());
    }
}
