//! The two output formats behind one interface: rows go in one at a time and
//! are written as they come (CSV through a buffered writer, XLSX through
//! rust_xlsxwriter's constant-memory worksheets), so memory stays flat
//! however many rows a report has.

use std::io::Write;
use std::path::Path;

use chrono_tz::Tz;
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

use super::cells::{Cell, Column, ColumnType, neutralise};

/// Excel's last row index (1,048,576 rows); the data continues on a new sheet.
const XLSX_MAX_ROW: u32 = 1_048_575;

/// What the summary sheet shows.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub title: String,
    /// (label, value) lines: generated at, time zone, filters, row count;
    /// a count is a number cell, so a spreadsheet can compute with it.
    pub facts: Vec<(String, Cell)>,
    /// Incidents per service (service name, count), for the table and the chart.
    pub incidents_per_service: Vec<(String, i64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write the report file: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write XLSX: {0}")]
    Xlsx(#[from] XlsxError),
    /// A row with another number of cells than the header has columns: a
    /// bug, refused so that no cell lands under no header (or another's).
    #[error("a row of {got} cells under {expected} columns")]
    Width { expected: usize, got: usize },
}

fn check_width(row: &[Cell], expected: usize) -> Result<(), WriteError> {
    if row.len() == expected {
        Ok(())
    } else {
        Err(WriteError::Width {
            expected,
            got: row.len(),
        })
    }
}

/// A report being written.
pub trait Sink: Send {
    fn write_row(&mut self, row: &[Cell]) -> Result<(), WriteError>;
    /// Writes the summary (XLSX) and closes the file.
    fn finish(self: Box<Self>, summary: &Summary) -> Result<(), WriteError>;
}

pub struct CsvSink {
    out: csv::Writer<std::io::BufWriter<std::fs::File>>,
    tz: Tz,
    types: Vec<ColumnType>,
    scratch: String,
    /// `%Y-%m-%dT%H:%M:%S%:z`, parsed once.
    date_items: Vec<chrono::format::Item<'static>>,
}

impl CsvSink {
    /// Creates `path` and writes the header row.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn create(path: &Path, columns: &[Column], tz: Tz) -> Result<Self, WriteError> {
        let file = std::fs::File::create(path)?;
        let mut out = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 16, file));
        out.write_record(columns.iter().map(|c| c.header))?;
        Ok(Self {
            out,
            tz,
            types: columns.iter().map(|c| c.ty).collect(),
            scratch: String::with_capacity(64),
            date_items: chrono::format::StrftimeItems::new("%Y-%m-%dT%H:%M:%S%:z")
                .parse_to_owned()
                .unwrap_or_default(),
        })
    }
}

impl Sink for CsvSink {
    fn write_row(&mut self, row: &[Cell]) -> Result<(), WriteError> {
        use std::fmt::Write as _;
        check_width(row, self.types.len())?;
        // Fields are written one by one from borrowed text or one reused
        // buffer: no allocation per cell.
        for (i, cell) in row.iter().enumerate() {
            let ty = self.types.get(i).copied().unwrap_or(ColumnType::Text);
            self.scratch.clear();
            let text: &str = match cell {
                Cell::Empty => "",
                Cell::Text(s) => {
                    if neutralise(s).len() == s.len() {
                        s
                    } else {
                        self.scratch.push('\'');
                        self.scratch.push_str(s);
                        &self.scratch
                    }
                }
                Cell::Int(v) => {
                    let _ = write!(self.scratch, "{v}");
                    &self.scratch
                }
                Cell::Float(v) if ty == ColumnType::Percent => {
                    let _ = write!(self.scratch, "{v:.4}");
                    &self.scratch
                }
                Cell::Float(v) => {
                    let _ = write!(self.scratch, "{v:.2}");
                    &self.scratch
                }
                Cell::Bool(b) => {
                    if *b {
                        "true"
                    } else {
                        "false"
                    }
                }
                Cell::DateTime(t) => {
                    let _ = write!(
                        self.scratch,
                        "{}",
                        t.with_timezone(&self.tz)
                            .format_with_items(self.date_items.iter())
                    );
                    &self.scratch
                }
            };
            self.out.write_field(text)?;
        }
        self.out.write_record(None::<&[u8]>)?;
        Ok(())
    }

    fn finish(self: Box<Self>, _: &Summary) -> Result<(), WriteError> {
        let mut inner = self
            .out
            .into_inner()
            .map_err(|e| WriteError::Io(std::io::Error::other(e.to_string())))?;
        inner.flush()?;
        Ok(())
    }
}

struct Formats {
    header: Format,
    datetime: Format,
    decimal: Format,
    percent: Format,
    int: Format,
}

pub struct XlsxSink {
    workbook: Workbook,
    path: std::path::PathBuf,
    /// The report's title, in the printed page header.
    title: String,
    sheet_name: String,
    columns: Vec<Column>,
    formats: Formats,
    tz: Tz,
    /// Index of the worksheet being written and its next row.
    sheet: usize,
    row: u32,
    sheets: u32,
}

impl XlsxSink {
    /// Starts a workbook with a summary sheet (filled at the end) and a
    /// constant-memory data sheet named `sheet_name`.
    ///
    /// # Errors
    /// The workbook cannot be set up.
    pub fn create(
        path: &Path,
        title: &str,
        sheet_name: &str,
        columns: &[Column],
        tz: Tz,
    ) -> Result<Self, WriteError> {
        let mut workbook = Workbook::new();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            workbook.set_tempdir(dir)?;
        }
        workbook.add_worksheet().set_name("Summary")?;
        let formats = Formats {
            header: Format::new().set_bold(),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            decimal: Format::new().set_num_format("0.0"),
            percent: Format::new().set_num_format("0.0%"),
            int: Format::new().set_num_format("0"),
        };
        let mut sink = Self {
            workbook,
            path: path.to_owned(),
            title: title.to_owned(),
            sheet_name: sheet_name.chars().take(25).collect(),
            columns: columns.to_vec(),
            formats,
            tz,
            sheet: 0,
            row: 0,
            sheets: 0,
        };
        sink.new_data_sheet()?;
        Ok(sink)
    }

    fn new_data_sheet(&mut self) -> Result<(), WriteError> {
        self.sheets += 1;
        let name = if self.sheets == 1 {
            self.sheet_name.clone()
        } else {
            format!("{} ({})", self.sheet_name, self.sheets)
        };
        let ws = self.workbook.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        // Printed: landscape, one page wide, the header row on every page,
        // the report's title above and the page number below.
        ws.set_landscape();
        ws.set_print_fit_to_pages(1, 0);
        ws.set_repeat_rows(0, 0)?;
        ws.set_header(format!("&C&\"-,Bold\"{}", page_text(&self.title)));
        ws.set_footer("&CPage &P of &N");
        for (i, c) in self.columns.iter().enumerate() {
            let col = col_num(i);
            ws.set_column_width(col, c.width())?;
            ws.write_string_with_format(0, col, c.header, &self.formats.header)?;
        }
        ws.set_freeze_panes(1, 0)?;
        self.sheet = usize::try_from(self.sheets).unwrap_or(1);
        self.row = 1;
        Ok(())
    }

    fn close_data_sheet(&mut self) -> Result<(), WriteError> {
        let last_row = self.row.saturating_sub(1);
        let last_col = col_num(self.columns.len().saturating_sub(1));
        let ws = self.workbook.worksheet_from_index(self.sheet)?;
        ws.autofilter(0, 0, last_row, last_col)?;
        Ok(())
    }
}

/// Text for a printed page header or footer, where `&` starts a code.
fn page_text(s: &str) -> String {
    s.replace('&', "&&")
}

fn col_num(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

impl Sink for XlsxSink {
    fn write_row(&mut self, row: &[Cell]) -> Result<(), WriteError> {
        check_width(row, self.columns.len())?;
        if self.row > XLSX_MAX_ROW {
            self.close_data_sheet()?;
            self.new_data_sheet()?;
        }
        let r = self.row;
        let tz = self.tz;
        let (formats, columns) = (&self.formats, &self.columns);
        let ws: &mut Worksheet = self.workbook.worksheet_from_index(self.sheet)?;
        for (i, cell) in row.iter().enumerate() {
            let c = col_num(i);
            let ty = columns.get(i).map_or(ColumnType::Text, |c| c.ty);
            match cell {
                Cell::Empty => {}
                Cell::Text(s) => {
                    ws.write_string(r, c, neutralise(s))?;
                }
                Cell::Int(v) => {
                    ws.write_number_with_format(r, c, *v as f64, &formats.int)?;
                }
                Cell::Float(v) => {
                    let f = if ty == ColumnType::Percent {
                        &formats.percent
                    } else {
                        &formats.decimal
                    };
                    ws.write_number_with_format(r, c, *v, f)?;
                }
                Cell::Bool(b) => {
                    ws.write_boolean(r, c, *b)?;
                }
                Cell::DateTime(t) => {
                    ws.write_datetime_with_format(
                        r,
                        c,
                        t.with_timezone(&tz).naive_local(),
                        &formats.datetime,
                    )?;
                }
            }
        }
        self.row += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>, summary: &Summary) -> Result<(), WriteError> {
        self.close_data_sheet()?;
        let bold = self.formats.header.clone();
        let int = self.formats.int.clone();
        let title = Format::new().set_bold().set_font_size(14);
        let ws = self.workbook.worksheet_from_index(0)?;
        // Printed on one landscape page wide, the chart beside the table.
        ws.set_landscape();
        ws.set_print_fit_to_pages(1, 0);
        ws.set_header(format!("&C&\"-,Bold\"{}", page_text(&summary.title)));
        ws.set_column_width(0, 24)?;
        ws.set_column_width(1, 30)?;
        ws.set_column_width(2, 2)?;
        ws.write_string_with_format(0, 0, neutralise(&summary.title), &title)?;
        let mut r = 2u32;
        for (label, value) in &summary.facts {
            ws.write_string_with_format(r, 0, neutralise(label), &bold)?;
            match value {
                Cell::Int(n) => {
                    ws.write_number_with_format(r, 1, *n as f64, &int)?;
                }
                Cell::Float(v) => {
                    ws.write_number(r, 1, *v)?;
                }
                Cell::Bool(b) => {
                    ws.write_boolean(r, 1, *b)?;
                }
                Cell::Text(t) => {
                    ws.write_string(r, 1, neutralise(t))?;
                }
                Cell::DateTime(t) => {
                    ws.write_datetime_with_format(
                        r,
                        1,
                        t.with_timezone(&self.tz).naive_local(),
                        &self.formats.datetime,
                    )?;
                }
                Cell::Empty => {}
            }
            r += 1;
        }
        r += 1;
        ws.write_string_with_format(r, 0, "Service", &bold)?;
        ws.write_string_with_format(r, 1, "Incidents", &bold)?;
        let first = r + 1;
        for (name, count) in &summary.incidents_per_service {
            r += 1;
            ws.write_string(r, 0, neutralise(name))?;
            ws.write_number_with_format(r, 1, *count as f64, &int)?;
        }
        if !summary.incidents_per_service.is_empty() {
            let mut chart = Chart::new(ChartType::Column);
            chart
                .add_series()
                .set_name("Incidents")
                .set_categories(("Summary", first, 0, r, 0))
                .set_values(("Summary", first, 1, r, 1));
            chart.title().set_name("Incidents per service");
            chart.legend().set_hidden();
            // Bars drawn from zero: an axis from 120 would make 20 % more
            // look like 2.5 times as many.
            chart.y_axis().set_min(0).set_name("Incidents");
            chart.set_width(560).set_height(320);
            // Beside the facts, from the title row down: on the first page.
            ws.insert_chart(2, 3, &chart)?;
        }
        self.workbook.save(&self.path)?;
        Ok(())
    }
}
