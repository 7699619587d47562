//! Latency files people can look at: HdrHistogram's percentile-distribution text (`.hgrm`, the
//! format of `outputPercentileDistribution`, values in microseconds) and an SVG plot of latency by
//! percentile, one line per run, on the usual log "1/(1-p)" axis.

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;

/// Renders a histogram (values in ns) as `.hgrm` text with values in microseconds.
pub(crate) fn hgrm(h: &Histogram<u64>) -> String {
    let scale = 1000.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        total += v.count_since_last_iteration();
        let q = v.quantile_iterated_to();
        let value = v.value_iterated_to() as f64 / scale;
        if q < 1.0 {
            let _ = writeln!(
                out,
                "{value:12.3} {q:14.12} {total:10} {:14.2}",
                1.0 / (1.0 - q)
            );
        } else {
            let _ = writeln!(out, "{value:12.3} {q:14.12} {total:10}");
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        h.mean() / scale,
        h.stdev() / scale
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        h.max() as f64 / scale,
        h.len()
    );
    // HdrHistogram's sub-bucket count: the power of two that holds 2 x 10^sigfig.
    let sub_buckets = (2 * 10u64.pow(u32::from(h.sigfig()))).next_power_of_two();
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        sub_buckets
    );
    out
}

/// Writes `text` to `path` through a temporary file and a rename.
pub(crate) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// An SVG plot of latency (µs, log scale) by percentile for each `(label, histogram)`.
pub(crate) fn latency_svg(title: &str, series: &[(String, &Histogram<u64>)]) -> String {
    let points: Vec<Vec<(f64, f64)>> = series.iter().map(|(_, h)| percentiles(h)).collect();
    let f = Frame::new(&points);
    let mut s = String::new();
    let (w, h) = (f.w, f.h);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = write!(
        s,
        r#"<text x="{}" y="25" font-size="16" text-anchor="middle">{}</text>"#,
        f.left + f.pw / 2.0,
        escape(title)
    );
    f.grid(&mut s);
    for (i, ((label, _), pts)) in series.iter().zip(&points).enumerate() {
        f.series(&mut s, i, label, pts);
    }
    s.push_str("</svg>\n");
    s
}

/// Where the percentile axis ends: 99.999 %, as `log10(1 / (1 - q))`.
const MAX_X: f64 = 5.0;

/// A histogram's points: x is the percentile as `log10(1 / (1 - q))`, y the latency in µs.
fn percentiles(hist: &Histogram<u64>) -> Vec<(f64, f64)> {
    hist.iter_quantiles(5)
        .filter(|v| v.quantile_iterated_to() < 1.0)
        .map(|v| {
            let x = (1.0 / (1.0 - v.quantile_iterated_to())).log10().min(MAX_X);
            (x, (v.value_iterated_to().max(1) as f64 / 1000.0).max(0.001))
        })
        .collect()
}

/// The plot's geometry: the image, the plot area inside its margins, and the decades of
/// latency the y axis spans.
struct Frame {
    w: f64,
    h: f64,
    left: f64,
    top: f64,
    /// Width and height of the plot area.
    pw: f64,
    ph: f64,
    /// log10 of the lowest and highest latency shown (µs).
    y_min: f64,
    y_max: f64,
}

impl Frame {
    fn new(points: &[Vec<(f64, f64)>]) -> Frame {
        let (w, h) = (900.0, 520.0);
        let (left, right, top, bottom) = (80.0, 220.0, 50.0, 60.0);
        let all_y = points.iter().flatten().map(|p| p.1);
        let y_min = all_y
            .clone()
            .fold(f64::MAX, f64::min)
            .max(0.01)
            .log10()
            .floor();
        let y_max = all_y
            .fold(0.0f64, f64::max)
            .max(1.0)
            .log10()
            .ceil()
            .max(y_min + 1.0);
        Frame {
            w,
            h,
            left,
            top,
            pw: w - left - right,
            ph: h - top - bottom,
            y_min,
            y_max,
        }
    }

    fn sx(&self, x: f64) -> f64 {
        self.left + x / MAX_X * self.pw
    }

    fn sy(&self, y: f64) -> f64 {
        self.top + self.ph - (y.log10() - self.y_min) / (self.y_max - self.y_min) * self.ph
    }

    /// The grid lines, their labels (percentiles across, one line a decade up) and the axis
    /// titles.
    fn grid(&self, s: &mut String) {
        let (left, top, pw, ph) = (self.left, self.top, self.pw, self.ph);
        for (i, label) in ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
            .iter()
            .enumerate()
        {
            let x = self.sx(i as f64);
            let _ = write!(
                s,
                r##"<line x1="{x}" y1="{top}" x2="{x}" y2="{}" stroke="#ddd"/>"##,
                top + ph
            );
            let _ = write!(
                s,
                r#"<text x="{x}" y="{}" text-anchor="middle">{label}</text>"#,
                top + ph + 18.0
            );
        }
        let mut e = self.y_min;
        while e <= self.y_max {
            let y = self.sy(10f64.powf(e));
            let _ = write!(
                s,
                r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/>"##,
                left + pw
            );
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                left - 6.0,
                y + 4.0,
                fmt_us(10f64.powf(e))
            );
            e += 1.0;
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">percentile</text>"#,
            left + pw / 2.0,
            self.h - 15.0
        );
        let _ = write!(
            s,
            r#"<text x="20" y="{}" text-anchor="middle" transform="rotate(-90 20 {})">latency (detection to delivery)</text>"#,
            top + ph / 2.0,
            top + ph / 2.0
        );
    }

    /// Series `i`: its line, and its entry in the legend on the right.
    fn series(&self, s: &mut String, i: usize, label: &str, pts: &[(f64, f64)]) {
        let color = COLORS[i % COLORS.len()];
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", self.sx(*x), self.sy(*y)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        let ly = self.top + 10.0 + i as f64 * 20.0;
        let lx = self.left + self.pw + 15.0;
        let _ = write!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/>"#,
            lx + 20.0
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="{}">{}</text>"#,
            lx + 26.0,
            ly + 4.0,
            escape(label)
        );
    }
}

fn fmt_us(v: f64) -> String {
    if v >= 1000.0 {
        format!("{} ms", v / 1000.0)
    } else {
        format!("{v} µs")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hgrm_has_header_rows_and_footer() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let text = hgrm(&h);
        assert!(text.starts_with("       Value     Percentile"));
        assert!(
            text.contains("#[Max     =     1000.447, Total count    =         1000]"),
            "{text}"
        );
        let last_row = text
            .lines()
            .rfind(|l| !l.starts_with('#') && !l.trim().is_empty())
            .unwrap();
        assert!(last_row.contains("1.000000000000"));
    }

    #[test]
    fn svg_has_one_line_per_series() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for v in 1..=100u64 {
            h.record(v * 100).unwrap();
        }
        let svg = latency_svg("t", &[("a".into(), &h), ("b".into(), &h)]);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.ends_with("</svg>\n"));
    }
}
