//! The bar chart ([`super::SVG`]), drawn with `plotters`' SVG backend: for
//! every call, horizontal bars of ns/call (ours, Linux's, syscall; whiskers
//! from min to max, cut at the axis' end) and, in a second panel,
//! instructions per call (ours, Linux's).
//!
//! The SVG backend writes text as `<text>` elements that the viewer sets
//! in its own sans-serif font, so drawing needs no font files.

use anyhow::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::Results;
use super::run::Stats;
use super::{IMAGES, VARIANTS};

/// The bars' colours: ours, Linux's, syscall.
const COLORS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x8c, 0x8c, 0x8c),
];
/// The legend's names of the variants.
const LEGEND: [&str; 3] = ["ours", "Linux's", "syscall"];
/// Grey for the subtitle, the grid values and the axes; a light grey for
/// the grid lines.
const GREY: RGBColor = RGBColor(0x44, 0x44, 0x44);
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);

/// The layout, in pixels: across, the call names' column, the two panels,
/// the gap between them and a right margin; down, the title block, the
/// panels' captions, one row per call, the value axis and a bottom margin.
const LABEL_W: u32 = 260;
const NS_W: u32 = 440;
const GAP: u32 = 60;
const INSTR_W: u32 = 240;
const RIGHT: u32 = 50;
const HEADER: u32 = 84;
const CAPTION: u32 = 24;
const AXIS: u32 = 24;
const BOTTOM: u32 = 16;
/// A row is a 7-pixel margin, three bars of `BAR` pixels and a margin.
const ROW_H: u32 = 3 * BAR + 14;
const BAR: u32 = 11;

/// One row of the chart.
struct Row {
    label: String,
    /// ours, Linux's, syscall.
    ns: [Stats; 3],
    /// ours, Linux's.
    instructions: [Option<u64>; 2],
}

/// A panel's coordinates: value across, rows down. Row `r` of `n` is
/// centred on `n - 1 - r` (the first on top, the axis from -0.5 to
/// `n - 0.5`), so that plotters' grid points on the row axis, the whole
/// numbers, are the rows' centres, where their names go.
type Coords = Cartesian2d<RangedCoordf64, RangedCoordf64>;
type Panel<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Coords>;
type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;

/// The chart of `results` as an SVG document.
pub(super) fn svg(results: &Results) -> Result<String> {
    let t = &results.timing;
    let vm = results.vm.as_ref().map(|vm| &vm.timing);
    let rows: Vec<Row> = [(t, ""), (vm.unwrap_or(t), " in Linux 6.12")]
        .into_iter()
        .take(1 + usize::from(vm.is_some()))
        .flat_map(|(t, suffix)| {
            t.rows.iter().map(move |row| Row {
                label: format!("{row}{suffix}"),
                ns: VARIANTS.map(|(v, _)| t.stats(row, v)),
                instructions: IMAGES.map(|image| results.instructions(row, image)),
            })
        })
        .collect();
    let width = LABEL_W + NS_W + GAP + INSTR_W + RIGHT;
    let height = HEADER + CAPTION + ROW_H * rows.len() as u32 + AXIS + BOTTOM;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(HEADER);
        draw_header(&header, &subtitle(results))?;
        let (ns, instructions) = body.split_horizontally(LABEL_W + NS_W + GAP);
        draw_ns(&ns, &rows)?;
        draw_instructions(&instructions, &rows)?;
        root.present()?;
    }
    Ok(svg)
}

/// The two lines under the title: the emulator, and what was measured.
fn subtitle(results: &Results) -> [String; 2] {
    let t = &results.timing;
    [
        format!("{}, -cpu {}", results.qemu, results.cpu),
        format!(
            "ns: median (whiskers min–max) of {} samples of {} calls; images: ours {} bytes, \
             Linux's {} bytes ({})",
            t.repeats,
            t.calls,
            results.size("ours"),
            results.size("linux"),
            results.linux_package
        ),
    ]
}

/// A sans-serif font of `size` (plotters' unit: the SVG's `font-size` is
/// `size / 1.24`).
fn font(size: f64) -> TextStyle<'static> {
    ("sans-serif", size).into_font().into()
}

/// The title, the subtitle and the legend.
fn draw_header(area: &Area, subtitle: &[String]) -> Result<()> {
    let title = "vDSO calls under qemu-aarch64: our image, Linux's, the raw syscall";
    let bold = ("sans-serif", 20.0).into_font().style(FontStyle::Bold);
    area.draw(&Text::new(title, (10, 8), bold))?;
    for (n, line) in subtitle.iter().enumerate() {
        let y = 30 + 14 * n as i32;
        area.draw(&Text::new(line.as_str(), (10, y), font(13.6).color(&GREY)))?;
    }
    for (i, name) in LEGEND.iter().enumerate() {
        let x = 10 + 90 * i as i32;
        area.draw(&Rectangle::new([(x, 64), (x + 12, 76)], COLORS[i].filled()))?;
        let centred = font(15.0).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(*name, (x + 16, 70), centred))?;
    }
    Ok(())
}

/// An axis from 0 to a round end past the largest value, with a grid line
/// every round step.
struct Axis {
    step: f64,
    end: f64,
}

impl Axis {
    /// The axis for values up to `max`, with a tenth to spare.
    fn past(max: f64) -> Axis {
        let step = axis_step(max * 1.1);
        Axis {
            step,
            end: (max * 1.1 / step).ceil() * step,
        }
    }

    /// The number of grid lines.
    fn lines(&self) -> usize {
        (self.end / self.step).round() as usize + 1
    }

    /// `v`, cut at the axis' end.
    fn cut(&self, v: f64) -> f64 {
        v.min(self.end)
    }
}

/// A round axis step for values up to `max`: 1, 2 or 5 times a power of
/// ten, giving about five grid lines.
fn axis_step(max: f64) -> f64 {
    let rough = (max / 5.0).max(f64::MIN_POSITIVE);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= rough)
        .unwrap_or(10.0 * power)
}

/// A bar: where it lies across its row, which variant it shows (its
/// colour), and its value.
struct Bar<T> {
    bottom: f64,
    middle: f64,
    top: f64,
    variant: usize,
    value: T,
}

impl<T> Bar<T> {
    /// The bar drawn from 0 to `end`.
    fn rect(&self, end: f64) -> Rectangle<(f64, f64)> {
        let colour = COLORS[self.variant].filled();
        Rectangle::new([(0.0, self.bottom), (end, self.top)], colour)
    }
}

/// Every bar of a panel, row by row: `values` gives a row's bars in the
/// variants' order, `None` where a variant has no bar. Each row is a
/// 7-pixel margin and then the bars, one pixel apart.
fn bars<T>(rows: &[Row], values: impl Fn(&Row) -> Vec<Option<T>>) -> Vec<Bar<T>> {
    let n = rows.len();
    let row_h = f64::from(ROW_H);
    let mut bars = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for (variant, value) in values(row).into_iter().enumerate() {
            let Some(value) = value else { continue };
            let top = (n - r) as f64 - 0.5 - f64::from(7 + variant as u32 * BAR) / row_h;
            let bottom = top - f64::from(BAR - 1) / row_h;
            let middle = (bottom + top) / 2.0;
            bars.push(Bar {
                bottom,
                middle,
                top,
                variant,
                value,
            });
        }
    }
    bars
}

/// A panel over `area`: its caption, the grid of `axis`, and the call
/// names on the left in a column `label_w` wide.
fn panel<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    axis: &Axis,
    rows: &[Row],
    label_w: u32,
) -> Result<Panel<'a, 'b>> {
    let n = rows.len();
    let bold = ("sans-serif", 15.0).into_font().style(FontStyle::Bold);
    let mut panel = ChartBuilder::on(area)
        .caption(caption, bold)
        .y_label_area_size(label_w)
        .x_label_area_size(AXIS)
        // The gap between the panels is the left one's right margin.
        .margin_right(if label_w == 0 { RIGHT } else { GAP })
        .build_cartesian_2d(0.0..axis.end, -0.5..n as f64 - 0.5)?;
    let label = |y: &f64| {
        let r = n as f64 - 1.0 - y;
        let whole = (r - r.round()).abs() < 1e-6 && r >= 0.0;
        rows.get(r.round() as usize)
            .filter(|_| whole)
            .map_or(String::new(), |row| row.label.clone())
    };
    let value = |v: &f64| format!("{v}");
    panel
        .configure_mesh()
        .disable_y_mesh()
        .x_labels(axis.lines())
        .y_labels(n + 1)
        .max_light_lines(0)
        .bold_line_style(GRID)
        .axis_style(GREY)
        .x_label_formatter(&value)
        .y_label_formatter(&label)
        .x_label_style(font(12.4).color(&GREY))
        .y_label_style(font(15.0))
        .draw()?;
    Ok(panel)
}

/// The ns/call panel, with the call names.
fn draw_ns(area: &Area, rows: &[Row]) -> Result<()> {
    let max = rows.iter().flat_map(|r| r.ns.map(|s| s.median));
    let axis = Axis::past(max.fold(0.0, f64::max));
    let mut panel = panel(area, "ns per call", &axis, rows, LABEL_W)?;
    let bars = bars(rows, |row| row.ns.map(Some).to_vec());
    panel.draw_series(bars.iter().map(|b| b.rect(axis.cut(b.value.median))))?;
    panel.draw_series(bars.iter().map(|b| {
        let whisker = [b.value.min, b.value.max].map(|v| (axis.cut(v), b.middle));
        PathElement::new(whisker, BLACK)
    }))?;
    panel.draw_series(bars.iter().map(|b| {
        let end = axis.cut(b.value.max.max(b.value.median));
        let median = format!("{:.1}", b.value.median);
        EmptyElement::at((end, b.middle)) + Text::new(median, (3, 0), small())
    }))?;
    Ok(())
}

/// The instructions-per-call panel (no names: they are on the left).
fn draw_instructions(area: &Area, rows: &[Row]) -> Result<()> {
    let max = rows.iter().flat_map(|r| r.instructions.iter().flatten());
    let axis = Axis::past(max.copied().max().unwrap_or(1) as f64);
    let mut panel = panel(area, "instructions per call", &axis, rows, 0)?;
    let bars = bars(rows, |row| row.instructions.to_vec());
    panel.draw_series(bars.iter().map(|b| b.rect(axis.cut(b.value as f64))))?;
    panel.draw_series(bars.iter().map(|b| {
        let end = axis.cut(b.value as f64);
        EmptyElement::at((end, b.middle)) + Text::new(b.value.to_string(), (3, 0), small())
    }))?;
    Ok(())
}

/// The font of the values written next to the bars.
fn small() -> TextStyle<'static> {
    font(11.2).pos(Pos::new(HPos::Left, VPos::Center))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(axis_step(180.0), 50.0);
        assert_eq!(axis_step(70.0), 20.0);
        assert_eq!(axis_step(9.0), 2.0);
        // The slowest median of a run: the axis ends at 200 ns, past it by
        // more than a tenth, with grid lines at 0, 50, …, 200.
        let axis = Axis::past(142.9);
        assert_eq!((axis.step, axis.end), (50.0, 200.0));
        assert_eq!(axis.lines(), 5);
        assert_eq!(axis.cut(316.8), 200.0);
    }

    #[test]
    fn the_chart_names_every_call_and_writes_its_numbers() {
        let svg = svg(&crate::bench::report::tests::results()).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        // plotters writes each text on a line of its own.
        let has = |text: &str| svg.matches(&format!(">\n{text}\n</text>")).count();
        for text in [
            "gettimeofday",
            "x",
            "getrandom(32) in Linux 6.12",
            "ns per call",
            "instructions per call",
            "Linux&apos;s",
            // The median of ours, and its instruction count.
            "50.0",
            "51",
        ] {
            assert_eq!(has(text), 1, "no single {text:?} in {svg}");
        }
    }
}
