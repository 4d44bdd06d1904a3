//! Value parsers of the numeric flags: every subcommand lets negative numbers through as values
//! ([`allow_negative_numbers`]), and these refuse what breaks a flag's rule, naming the rule.
use clap::{Arg, Command};

/// `cmd` and all its subcommands with negative numbers accepted as the values of their flags, so
/// that `--trials -1` reaches the flag's parser instead of being taken for an unknown flag `-1`.
pub fn allow_negative_numbers(cmd: Command) -> Command {
    cmd.mut_args(allow_negative).mut_subcommands(allow_negative_numbers)
}

fn allow_negative(arg: Arg) -> Arg {
    if arg.get_action().takes_values() {
        arg.allow_negative_numbers(true)
    } else {
        arg
    }
}

/// The integer types of the flags, with their largest value.
pub trait WholeNumber: TryFrom<i128> {
    const MAX: i128;
}

impl WholeNumber for usize {
    const MAX: i128 = usize::MAX as i128;
}

impl WholeNumber for u64 {
    const MAX: i128 = u64::MAX as i128;
}

impl WholeNumber for u32 {
    const MAX: i128 = u32::MAX as i128;
}

impl WholeNumber for i64 {
    const MAX: i128 = i64::MAX as i128;
}

/// A whole number ≥ `MIN` (and within `T`).
pub fn whole<T: WholeNumber, const MIN: i64>(text: &str) -> Result<T, String> {
    let rule = || format!("must be a whole number ≥ {MIN}");
    let n: i128 = text.trim().parse().map_err(|_| rule())?;
    if n < MIN as i128 {
        return Err(rule());
    }
    if n > T::MAX {
        return Err(format!("{}, at most {}", rule(), T::MAX));
    }
    T::try_from(n).map_err(|_| rule())
}

/// A finite number > 0.
pub fn positive(text: &str) -> Result<f64, String> {
    let rule = "must be a finite number > 0";
    text.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0).ok_or_else(|| rule.into())
}

/// A finite number ≥ 0.
pub fn non_negative(text: &str) -> Result<f64, String> {
    let rule = "must be a finite number ≥ 0";
    text.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| rule.into())
}

/// A fraction `0 < f ≤ 1`.
pub fn fraction(text: &str) -> Result<f64, String> {
    let rule = "must be a number with 0 < fraction ≤ 1";
    text.trim().parse::<f64>().ok().filter(|x| *x > 0.0 && *x <= 1.0).ok_or_else(|| rule.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_name_their_rule() {
        assert_eq!(whole::<usize, 1>("3"), Ok(3));
        assert_eq!(whole::<usize, 1>("-1").unwrap_err(), "must be a whole number ≥ 1");
        assert_eq!(whole::<u64, 0>("1.5").unwrap_err(), "must be a whole number ≥ 0");
        assert!(whole::<u32, 1>("99999999999").unwrap_err().contains("at most 4294967295"));
        assert_eq!(positive("-0.1").unwrap_err(), "must be a finite number > 0");
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(fraction("nan").is_err() && fraction("1").is_ok());
    }
}
