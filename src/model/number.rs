//! Numbers as Swedish readers and Excel expect them: decimal comma.

/// `1234.5` → `1234,5`; the shortest form that reads back to the same number.
pub fn format_number_sv(x: f64) -> String {
    format!("{x}").replace('.', ",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals_get_a_comma_and_whole_numbers_none() {
        assert_eq!(super::format_number_sv(1234.5), "1234,5");
        assert_eq!(super::format_number_sv(7.0), "7");
    }
}
