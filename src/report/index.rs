//! The report's text: one section per run (heading, numbers tables in markdown, figures), written as
//! `report.md` and as a self-contained `index.html` (tables converted, figures linked as PNG and SVG).
use super::figure::Figure;

/// One run's part of the report.
pub struct Section {
    pub heading: String,
    /// Markdown: paragraphs and pipe tables.
    pub text: String,
    pub figures: Vec<Figure>,
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Section {
    /// The section as markdown (figures relative to the report directory).
    pub fn markdown(&self) -> String {
        let mut out = format!("## {}\n\n{}\n", self.heading, self.text.trim_end());
        for f in &self.figures {
            out.push_str(&format!(
                "\n![{}]({})\n\n*{}* {} ([SVG]({}))\n",
                f.title,
                file_name(&f.png),
                f.title,
                f.caption,
                file_name(&f.svg)
            ));
        }
        out.push('\n');
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Inline markdown (code spans, emphasis-free) to HTML.
fn inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(s).split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<code>{part}</code>"));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Markdown paragraphs, headings and pipe tables to HTML.
pub fn markdown_to_html(text: &str) -> String {
    let mut out = String::new();
    let mut table: Vec<Vec<String>> = vec![];
    let flush = |table: &mut Vec<Vec<String>>, out: &mut String| {
        if table.is_empty() {
            return;
        }
        out.push_str("<table>\n");
        for (i, row) in table.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            out.push_str("<tr>");
            for cell in row {
                out.push_str(&format!("<{tag}>{}</{tag}>", inline(cell.trim())));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        table.clear();
    };
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('|') {
            let cells: Vec<String> = t.trim_matches('|').split('|').map(String::from).collect();
            if !cells.iter().all(|c| c.trim().chars().all(|ch| ch == '-' || ch == ':')) {
                table.push(cells);
            }
            continue;
        }
        flush(&mut table, &mut out);
        if let Some(h) = t.strip_prefix("# ") {
            out.push_str(&format!("<h3>{}</h3>\n", inline(h)));
        } else if let Some(item) = t.strip_prefix("- ") {
            out.push_str(&format!("<li>{}</li>\n", inline(item)));
        } else if !t.is_empty() {
            out.push_str(&format!("<p>{}</p>\n", inline(t)));
        }
    }
    flush(&mut table, &mut out);
    out
}

/// The whole report as one HTML page.
pub fn html(title: &str, sections: &[Section], skipped: &[String]) -> String {
    let mut body = format!("<h1>{}</h1>\n", escape(title));
    for s in sections {
        body.push_str(&format!("<h2>{}</h2>\n{}", inline(&s.heading), markdown_to_html(&s.text)));
        for f in &s.figures {
            let png = file_name(&f.png);
            body.push_str(&format!(
                "<figure><a href=\"{svg}\"><img src=\"{png}\" width=\"{w}\" alt=\"{t}\"></a><figcaption><b>{t}</b> {c} (<a href=\"{svg}\">SVG</a>)</figcaption></figure>\n",
                svg = file_name(&f.svg),
                w = f.size.0.min(1000),
                t = escape(&f.title),
                c = escape(&f.caption)
            ));
        }
    }
    if !skipped.is_empty() {
        body.push_str("<h2>Not drawn</h2>\n<ul>\n");
        for s in skipped {
            body.push_str(&format!("<li>{}</li>\n", escape(s)));
        }
        body.push_str("</ul>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>body{{font-family:sans-serif;max-width:1040px;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}img{{max-width:100%;height:auto}}figure{{margin:1.5em 0}}</style>\n</head><body>\n{body}</body></html>\n",
        t = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_become_html() {
        let h = markdown_to_html("A `x` < b\n\n| m | K=1 |\n|---|---|\n| onehot | 1 ± 2 |\n");
        assert!(h.contains("<p>A <code>x</code> &lt; b</p>"), "{h}");
        assert!(h.contains("<tr><th>m</th><th>K=1</th></tr>") && h.contains("<td>1 ± 2</td>"), "{h}");
        assert!(!h.contains("---"));
    }
}
