//! The printable label sheet: an A4 SVG page of QR codes, each with its unit's serial and code.

use qrcode::{Color, EcLevel, QrCode};

/// Labels on one A4 sheet: 4 columns, 6 rows.
pub const PER_SHEET: u32 = 24;
const COLUMNS: u32 = 4;
/// Millimetres.
const CELL_W: f64 = 50.0;
const CELL_H: f64 = 46.0;
const MARGIN_X: f64 = 5.0;
const MARGIN_Y: f64 = 12.0;
const QR: f64 = 30.0;

pub struct Label {
    pub url: String,
    pub serial: u32,
    pub code: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One QR code as an SVG path of its dark modules, `size` millimetres square at (`x`, `y`),
/// without quiet zone (the cell's margin is the quiet zone).
fn qr_path(url: &str, x: f64, y: f64, size: f64) -> Result<String, super::Error> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| super::Error::Corrupt(format!("QR code for {url}: {e}")))?;
    let width = code.width();
    let module = size / width as f64;
    let mut d = String::new();
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let (col, row) = (i % width, i / width);
            d.push_str(&format!(
                "M{:.3} {:.3}h{module:.3}v{module:.3}h-{module:.3}z",
                x + col as f64 * module,
                y + row as f64 * module
            ));
        }
    }
    Ok(format!(r##"<path d="{d}" fill="#000"/>"##))
}

/// The sheet: a title line, then a grid of labels, each its QR code, `No. {serial} / {edition}`
/// and the code in print (so a unit can be looked up by hand).
pub fn sheet(title: &str, edition: u32, labels: &[Label]) -> Result<String, super::Error> {
    let mut svg = String::from(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297" font-family="sans-serif">
<rect width="210" height="297" fill="#fff"/>
"##,
    );
    svg.push_str(&format!(
        r#"<text x="105" y="8" font-size="4" text-anchor="middle">{}</text>
"#,
        escape(title)
    ));
    for (i, label) in labels.iter().enumerate() {
        let (col, row) = (i as u32 % COLUMNS, i as u32 / COLUMNS);
        let x = MARGIN_X + f64::from(col) * CELL_W;
        let y = MARGIN_Y + f64::from(row) * CELL_H;
        svg.push_str(&format!(
            r##"<g data-serial="{}" data-url="{}">
<rect x="{x:.1}" y="{y:.1}" width="{CELL_W:.1}" height="{CELL_H:.1}" fill="none" stroke="#bbb" stroke-width="0.2"/>
"##,
            label.serial,
            escape(&label.url)
        ));
        svg.push_str(&qr_path(&label.url, x + (CELL_W - QR) / 2.0, y + 3.0, QR)?);
        svg.push_str(&format!(
            r#"
<text x="{:.1}" y="{:.1}" font-size="3.5" text-anchor="middle">No. {} / {edition}</text>
<text x="{:.1}" y="{:.1}" font-size="2.6" text-anchor="middle" font-family="monospace">{}</text>
</g>
"#,
            x + CELL_W / 2.0,
            y + QR + 8.0,
            label.serial,
            x + CELL_W / 2.0,
            y + QR + 12.0,
            escape(&label.code)
        ));
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheet_has_one_labelled_qr_code_per_unit_and_escapes_the_title() {
        let labels: Vec<Label> = (1..=3)
            .map(|serial| Label {
                url: format!("https://truffle.kr/u/{serial:0>20}"),
                serial,
                code: format!("{serial:0>20}"),
            })
            .collect();
        let svg = sheet("Nike <덩크> & co", 3, &labels).unwrap();
        assert_eq!(svg.matches("<path d=\"M").count(), 3);
        assert!(svg.contains("No. 2 / 3"));
        assert!(svg.contains("Nike &lt;덩크&gt; &amp; co"));
        assert!(svg.contains(r#"data-url="https://truffle.kr/u/00000000000000000003""#));
        // The QR code of a URL of this length is 25 × 25 or more modules.
        let code =
            QrCode::with_error_correction_level(labels[0].url.as_bytes(), EcLevel::M).unwrap();
        assert!(code.width() >= 25);
    }
}
