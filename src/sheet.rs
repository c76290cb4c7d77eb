//! Excel sheets for `get_containers` and `get_appointments`: one sheet, a styled header row,
//! one row per record, as the original produced them.

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook};

/// An `.xlsx` with one sheet named `sheet_name`. Synchronous and CPU-bound (it compresses the
/// workbook in memory, no files, no I/O): call it inside `tokio::task::spawn_blocking`, with the
/// owned columns and rows moved into the closure.
pub fn xlsx(sheet_name: &str, columns: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(|e| e.to_string())?;
    let header = Format::new()
        .set_bold()
        .set_font_color(Color::White)
        .set_background_color(Color::RGB(0x1F4E78))
        .set_border(FormatBorder::Thin);
    for (c, name) in columns.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, name, &header)
            .map_err(|e| e.to_string())?;
        let widest = rows
            .iter()
            .filter_map(|r| r.get(c))
            .map(|v| v.len())
            .max()
            .unwrap_or(0)
            .max(name.len());
        sheet
            .set_column_width(c as u16, (widest as f64 + 2.0).min(60.0))
            .map_err(|e| e.to_string())?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            sheet
                .write_string(r as u32 + 1, c as u16, value)
                .map_err(|e| e.to_string())?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(|e| e.to_string())?;
    book.save_to_buffer().map_err(|e| e.to_string())
}
