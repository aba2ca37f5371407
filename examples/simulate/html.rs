//! The HTML report: the text report and SVG charts (plotters).

use plotters::prelude::*;
use throughline::metrics::Report;
use throughline::triage::IrritantReport;

fn bars(
    title: &str,
    labels: &[String],
    values: &[f64],
    color: RGBColor,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let max = values.iter().cloned().fold(1.0_f64, f64::max) * 1.1;
        let n = labels.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..max)?;
        let names = labels.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()?;
        chart.draw_series(
            Histogram::vertical(&chart)
                .style(color.filled())
                .margin(6)
                .data(values.iter().enumerate().map(|(i, v)| (i, *v))),
        )?;
        root.present()?;
    }
    Ok(svg)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn write(
    path: &str,
    text: &str,
    report: &Report,
    irritants: &IrritantReport,
    by_hour: &[u64; 24],
    waits: &[i64],
) -> Result<(), Box<dyn std::error::Error>> {
    let (ch, n): (Vec<String>, Vec<f64>) = report
        .channel_mix
        .iter()
        .map(|(c, n)| (c.clone(), *n as f64))
        .unzip();
    let volume = bars(
        "Conversations by opening channel",
        &ch,
        &n,
        RGBColor(52, 101, 164),
    )?;
    let (il, ic): (Vec<String>, Vec<f64>) = irritants
        .rows
        .iter()
        .map(|r| (r.intent.clone(), r.total_cost))
        .unzip();
    let cost = bars(
        "Irritants: volume × cost per contact",
        &il,
        &ic,
        RGBColor(204, 0, 0),
    )?;
    let (al, ab): (Vec<String>, Vec<f64>) = irritants
        .rows
        .iter()
        .map(|r| (r.intent.clone(), r.absorbed_share * 100.0))
        .unzip();
    let absorbed = bars(
        "Share absorbed by self-service and automation (%)",
        &al,
        &ab,
        RGBColor(78, 154, 6),
    )?;
    let hours: Vec<String> = (0..24).map(|h| format!("{h}")).collect();
    let hv: Vec<f64> = by_hour.iter().map(|v| *v as f64).collect();
    let arrivals = bars(
        "Inbound messages by hour (UTC)",
        &hours,
        &hv,
        RGBColor(117, 80, 123),
    )?;
    let buckets = ["<1m", "1-5m", "5-15m", "15-60m", "1-4h", "4-24h", ">1d"];
    let limits = [60, 300, 900, 3600, 14_400, 86_400, i64::MAX];
    let mut counts = [0f64; 7];
    for w in waits {
        let i = limits.iter().position(|l| w < l).unwrap_or(6);
        counts[i] += 1.0;
    }
    let wait_chart = bars(
        "Queue wait before an agent",
        &buckets.map(String::from),
        &counts,
        RGBColor(196, 160, 0),
    )?;
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>throughline: a simulated month</title>\
         <style>body{{font-family:sans-serif;max-width:760px;margin:2em auto}}pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}</style>\
         </head><body><h1>A simulated month of a support centre</h1>{volume}{arrivals}{wait_chart}{cost}{absorbed}<h2>Report</h2><pre>{}</pre></body></html>",
        escape(text)
    );
    std::fs::write(path, html)?;
    Ok(())
}
